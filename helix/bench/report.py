"""Printing benchmark figures beside their baselines."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Figure:
    name: str
    ours: float
    baseline: float
    baseline_name: str
    unit: str = "events/s"
    target: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("inf")


def print_figures(title: str, figures: list[Figure], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=title)
    for col in ("measure", "helix", "baseline", "ratio", "target"):
        table.add_column(col, justify="right" if col in ("helix", "baseline", "ratio") else "left")
    for f in figures:
        table.add_row(
            f.name,
            f"{f.ours:,.0f} {f.unit}",
            f"{f.baseline:,.0f} {f.unit}  ({f.baseline_name})",
            f"{f.ratio:.2f}x",
            f.target,
        )
    console.print(table, width=max(console.width, 160))
