"""``helix signals`` (read them from the ledger) and ``helix strategies`` (run the scanners)."""

from __future__ import annotations

import asyncio
import collections
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from events.poly import POLY_SIGNAL_TYPES
from events.signals import SIGNAL_KINDS, Signal
from helix.cli.app import app, err, group, out, settings
from helix.cli.market import iso
from helix.errors import ValidationError

ALL_KINDS: tuple[str, ...] = (*SIGNAL_KINDS, *(t.KIND for t in POLY_SIGNAL_TYPES))

strategies_app = group("strategies", "Strategies: scanners that turn market events into signals.")


def _symbol_token(symbol: str) -> str:
    """Perps symbols are upper case; Polymarket ids (``0x…`` condition ids, wallets, digits)
    are kept as given."""
    return symbol if symbol.startswith("0x") or symbol.isdigit() else symbol.upper()


def signal_filter(kind: str | None, venue: str | None, symbol: str | None) -> str:
    """The ledger subject filter for these options.

    Raises:
        ValidationError: an unknown kind.
    """
    if kind is not None and kind not in ALL_KINDS:
        raise ValidationError(f"unknown signal kind {kind!r}; kinds: {', '.join(ALL_KINDS)}")
    parts = [kind or "*", venue or "*", _symbol_token(symbol) if symbol else "*"]
    return "ldg.signal." + ".".join(parts)


def describe(s: Signal) -> tuple[str, str, str, str, str]:
    """``(time, kind, market, headline, reason)`` columns of one signal."""
    from projections.signals import headline

    side, price, score = headline(s)
    head = " ".join(
        x
        for x in (
            side or "",
            f"@{price:,.2f}" if price is not None and s.KIND != "volume_spike" else "",
            f"score {score:.1f}" if score is not None and s.KIND == "liquidation_cluster_targeted"
            else "",
        )
        if x
    )  # fmt: skip
    market = "all" if s.symbol == "*" else f"{s.venue}:{s.symbol}"
    from projections.base import ns_to_dt

    return iso(ns_to_dt(s.ts_event)), s.KIND, market, head, s.reason


@app.command("signals")
def signals(
    tail: Annotated[bool, typer.Option("--tail", help="keep following new signals")] = False,
    symbol: Annotated[str | None, typer.Option(help="only this symbol")] = None,
    kind: Annotated[
        str | None, typer.Option(help=f"only this kind: {', '.join(ALL_KINDS)}")
    ] = None,
    venue: Annotated[str | None, typer.Option(help="only this venue")] = None,
    limit: Annotated[int, typer.Option(help="latest N (0 = all)")] = 50,
) -> None:
    """Signals from the ledger, newest last, each with the reason it was emitted."""
    from helix.bootstrap import runtime
    from helix.store.replay import replay_batches
    from helix.store.replay import tail as tail_log
    from helix.store.streams import LEDGER

    subject = signal_filter(kind, venue, symbol)

    async def run() -> None:
        async with runtime(settings()) as rt:
            keep: collections.deque[Signal] = collections.deque(maxlen=limit or None)
            async for batch in replay_batches(rt.nc, subjects=subject, stream=LEDGER):
                keep.extend(e for _, e in batch if isinstance(e, Signal))
            table = Table("time (bar end)", "kind", "market", "signal", "reason",
                          title=f"signals ({subject})")  # fmt: skip
            for s in keep:
                table.add_row(*describe(s))
            out.print(table)
            if not keep:
                out.print("no signals yet: `helix strategies run` scans the market log")
            if not tail:
                return
            async for _pos, event in tail_log(rt.nc, subjects=subject, stream=LEDGER):
                if isinstance(event, Signal):
                    t, k, m, h, r = describe(event)
                    out.print(f"{t}  [bold]{k}[/]  {m}  {h}\n    {r}")

    asyncio.run(run())


@strategies_app.command("run")
def strategies_run(
    until_caught_up: Annotated[
        bool, typer.Option("--until-caught-up", help="stop at the head instead of following")
    ] = False,
) -> None:
    """Run the perps scanner over the market log (resuming where it stopped); signals go to the
    ledger exactly once."""
    from helix.bootstrap import runtime
    from helix.strategies.runtime import ScanStats, run_scanner
    from helix.strategies.scanner import ScannerConfig

    s = settings()
    config = ScannerConfig.from_settings(s)

    async def run() -> ScanStats:
        async with runtime(s) as rt:
            with Progress(
                SpinnerColumn(),
                TextColumn("scanning"),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=err,
            ) as progress:
                task = progress.add_task("scan", info="")

                def show(st: ScanStats) -> None:
                    progress.update(
                        task,
                        info=f"{st.events:,} events  {st.rate:,.0f}/s  "
                        f"{st.published:,} signals published",
                    )

                return await run_scanner(
                    rt.nc, config, until_caught_up=until_caught_up, on_progress=show
                )

    st = asyncio.run(run())
    out.print(
        f"scanned {st.events:,} market events (from #{st.resumed_from + 1:,} to "
        f"#{st.position:,}): {st.published:,} signals published"
        + (f", {st.skipped:,} already in the ledger" if st.skipped else "")
    )


@strategies_app.command("list")
def strategies_list() -> None:
    """The strategies and their current settings."""
    from helix.strategies.scanner import STRATEGY, ScannerConfig

    config = ScannerConfig.from_settings(settings())
    table = Table("strategy", "setting", "value", title="strategies (HELIX_SIGNAL_* settings)")
    for name in config.__struct_fields__:
        table.add_row(STRATEGY, name, str(getattr(config, name)))
    out.print(table)
