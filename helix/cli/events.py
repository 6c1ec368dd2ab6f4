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
    from helix.store.replay import tail

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


@events_app.command("dead-letters")
def dead_letters(
    limit: Annotated[int, typer.Option(help="show the last N (0 = all)")] = 20,
) -> None:
    """Input that could not become an event, with where it came from and why."""
    from rich.table import Table

    from events.ops import DeadLetter
    from helix.bootstrap import runtime
    from helix.store.replay import replay_batches
    from helix.store.streams import DLQ

    async def run() -> list[tuple[int, DeadLetter]]:
        found: list[tuple[int, DeadLetter]] = []
        async with runtime(settings()) as rt:
            async for batch in replay_batches(rt.nc, subjects="dlq.>", stream=DLQ):
                found.extend((seq, e) for seq, e in batch if isinstance(e, DeadLetter))
        return found[-limit:] if limit else found

    table = Table("seq", "origin", "reason", "raw")
    for seq, letter in asyncio.run(run()):
        raw = letter.raw[:60].decode("utf-8", "replace")
        table.add_row(str(seq), letter.origin, letter.reason, raw)
    out.print(table)
