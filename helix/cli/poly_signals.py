"""``helix strategies poly`` and ``helix strategies hybrid``: run the Polymarket oracle and the
hybrid fuser (their signals are read with ``helix signals --kind ...``).

``helix signals`` is a command (it lists signals), not a group, so these runners sit next to
``helix strategies run`` (the perps scanner).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from helix.cli.app import err, out, settings
from helix.cli.signals import strategies_app
from helix.strategies.runtime import ScanStats

Follow = Annotated[
    bool, typer.Option("--follow", help="keep following new events instead of stopping at the head")
]


def _run(
    label: str,
    what: str,
    start: Callable[[Callable[[ScanStats], None]], Awaitable[ScanStats]],
) -> ScanStats:
    """Run a machine with a progress line on stderr."""

    async def run() -> ScanStats:
        with Progress(
            SpinnerColumn(),
            TextColumn(label),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task(label, info="")

            def show(st: ScanStats) -> None:
                progress.update(
                    task,
                    info=f"{st.events:,} {what}  {st.rate:,.0f}/s  {st.published:,} published",
                )

            return await start(show)

    return asyncio.run(run())


def _report(st: ScanStats, what: str) -> None:
    out.print(
        f"read {st.events:,} {what} (from #{st.resumed_from + 1:,} to #{st.position:,}): "
        f"{st.published:,} signals published"
        + (f", {st.skipped:,} already in the ledger" if st.skipped else "")
    )


@strategies_app.command("poly")
def strategies_poly(follow: Follow = False) -> None:
    """Run the Polymarket oracle over the market log (mkt.polymarket.>, resuming where it
    stopped): wallet_scored, cluster_synced and poly_signal go to the ledger exactly once."""
    from helix.bootstrap import runtime
    from helix.strategies.poly_oracle import OracleConfig
    from helix.strategies.poly_runtime import run_oracle

    s = settings()
    config = OracleConfig.from_settings(s)

    async def start(show: Callable[[ScanStats], None]) -> ScanStats:
        async with runtime(s) as rt:
            return await run_oracle(rt.nc, config, until_caught_up=not follow, on_progress=show)

    _report(_run("oracle", "market events", start), "Polymarket market events")


@strategies_app.command("hybrid")
def strategies_hybrid(follow: Follow = False) -> None:
    """Run the hybrid fuser over the ledger's signals (resuming where it stopped): a poly_signal
    and a perps signal on the same coin that agree within HELIX_HYBRID_WINDOW_S become one
    hybrid_signal, exactly once."""
    from helix.bootstrap import runtime
    from helix.strategies.hybrid import HybridConfig
    from helix.strategies.poly_runtime import run_fuser

    s = settings()
    config = HybridConfig.from_settings(s)

    async def start(show: Callable[[ScanStats], None]) -> ScanStats:
        async with runtime(s) as rt:
            return await run_fuser(rt.nc, config, until_caught_up=not follow, on_progress=show)

    _report(_run("fuser", "signals", start), "ledger signals")
