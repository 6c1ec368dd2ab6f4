"""``helix sim``: the simulator's ground truth against the signals in the ledger."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from helix.cli.app import group, out, settings

sim_app = group("sim", "The market simulator: what it planted, and what the signals found.")


async def sim_signals(nc: object, venue: str) -> list[object]:
    """Every signal of ``venue`` in the ledger."""
    from events.signals import Signal
    from helix.store.replay import replay_batches
    from helix.store.streams import LEDGER

    found: list[object] = []
    async for batch in replay_batches(
        nc,  # type: ignore[arg-type]
        subjects=f"ldg.signal.*.{venue}.*",
        stream=LEDGER,
    ):
        found.extend(e for _, e in batch if isinstance(e, Signal))
    return found


def scorecard_for(seed: int, hours: int, signals: list[object]) -> object:
    """The scorecard of the demo's simulated market against ``signals``."""
    from events.signals import Signal
    from helix.sim.market import SimConfig
    from helix.sim.scorecard import score
    from helix.sim.truth import planted

    truth = planted(SimConfig(seed=seed, duration_s=hours * 3600))
    return score(truth, [s for s in signals if isinstance(s, Signal)])


@sim_app.command("scorecard")
def scorecard(
    seed: Annotated[int, typer.Option(help="simulator seed (as given to helix demo)")] = 7,
    hours: Annotated[int, typer.Option(help="hours simulated (as given to helix demo)")] = 24,
    venue: Annotated[str, typer.Option(help="venue of the simulated events")] = "sim",
    every: Annotated[bool, typer.Option("--all", help="list every planted hunt")] = False,
) -> None:
    """Which planted stop hunts produced a stop_hunt / liquidation_cluster_targeted signal."""
    from helix.bootstrap import runtime
    from helix.sim.scorecard import Scorecard
    from projections.base import ns_to_dt

    async def run() -> list[object]:
        async with runtime(settings()) as rt:
            return await sim_signals(rt.nc, venue)

    signals = asyncio.run(run())
    card = scorecard_for(seed, hours, signals)
    assert isinstance(card, Scorecard)
    title = f"planted stop hunts (seed {seed}, {hours}h)"
    table = Table("start", "symbol", "hunt", "level", "moved", "cascade", "outcome",
                  "stop_hunt at", "targeted at", title=title)  # fmt: skip
    for m in card.matches:
        h = m.hunt
        if not every and not m.found and m.cascade < 10:
            continue
        moved = abs(float(h.extreme_price) / float(h.start_price) - 1)
        table.add_row(
            f"{ns_to_dt(h.start_ns):%m-%d %H:%M}", h.symbol, h.direction, f"{h.level_price:,}",
            f"{moved:.2%}", str(m.cascade or ""), h.outcome,
            " ".join(f"{ns_to_dt(s.ts_event):%H:%M}" for s in m.stop_hunts) or "-",
            " ".join(f"{ns_to_dt(s.ts_event):%H:%M}" for s in m.targeted) or "-",
        )  # fmt: skip
    out.print(table)
    if not every:
        out.print(
            "(hunts found, or followed by a cascade of 10+ liquidations; --all for every one)"
        )
    n = len(card.matches)
    big, big_found = card.subset(10)
    out.print(
        f"found {card.found.either:.0f} of {n} planted hunts "
        f"(stop_hunt {card.found.stop_hunt:.0f}, targeted {card.found.targeted:.0f}); "
        f"by chance (hunts moved in time): {card.chance.either:.1f} "
        f"(stop_hunt {card.chance.stop_hunt:.1f}, targeted {card.chance.targeted:.1f}); "
        f"hunts with a 10+ liquidation cascade: {big_found} of {big}"
    )
