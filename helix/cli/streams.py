"""``helix streams``: create, check and inspect the JetStream streams."""

from __future__ import annotations

import asyncio

from rich.table import Table

from helix.cli.app import group, out, settings

streams_app = group("streams", "JetStream streams: create/check and inspect.")


@streams_app.command("init")
def streams_init() -> None:
    """Create MARKET, LEDGER and DLQ, or check that the existing ones are compatible."""
    from helix.bootstrap import runtime

    async def run() -> None:
        async with runtime(settings()) as rt:
            js = rt.nc.jetstream()
            for name in ("MARKET", "LEDGER", "DLQ"):
                info = await js.stream_info(name)
                out.print(f"{name}: ok ({info.state.messages:,} messages)")

    asyncio.run(run())


@streams_app.command("info")
def streams_info() -> None:
    """Messages, bytes and sequences of each Helix stream."""
    from helix.bootstrap import runtime

    async def run() -> None:
        async with runtime(settings()) as rt:
            js = rt.nc.jetstream()
            table = Table("stream", "messages", "bytes", "first seq", "last seq", "subjects")
            for name in ("MARKET", "LEDGER", "DLQ"):
                info = await js.stream_info(name)
                st = info.state
                table.add_row(
                    name,
                    f"{st.messages:,}",
                    f"{st.bytes:,}",
                    str(st.first_seq),
                    str(st.last_seq),
                    ", ".join(info.config.subjects or []),
                )
            out.print(table)

    asyncio.run(run())
