"""``helix events``: read the event log."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from helix.cli.app import group, out, settings

events_app = group("events", "Read the event log: tail and replay.")


@events_app.command("tail")
def events_tail(
    subject: Annotated[
        str, typer.Argument(help="subject filter, e.g. mkt.bybit.trade.>")
    ] = "mkt.>",
    stream: Annotated[str, typer.Option(help="stream to follow")] = "MARKET",
    limit: Annotated[int, typer.Option(help="stop after this many events (0 = follow)")] = 0,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="replay from the first event")
    ] = False,
) -> None:
    """Follow events live as they are recorded."""
    from helix.bootstrap import runtime
    from helix.store.market import tail

    async def run() -> None:
        async with runtime(settings()) as rt:
            n = 0
            async for pos, event in tail(
                rt.nc, subjects=subject, stream=stream, start_seq=1 if from_start else None
            ):
                out.print(f"{pos.seq:>10} {event!r}")
                n += 1
                if limit and n >= limit:
                    return

    asyncio.run(run())
