"""``helix broadcast run | test | log``: signals to followers, exactly once per channel.

The broadcaster runs only when started here (``run``); nothing else starts it, so replays,
backtests, demos and tests never broadcast (see :mod:`helix.broadcast.runner`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from events.broadcast import CHANNELS, BroadcastAttempted, BroadcastRecord, BroadcastSent, Channel
from helix.cli.app import group, out, settings
from helix.errors import ConfigError, InfrastructureError, ValidationError

broadcast_app = group(
    "broadcast", "Broadcast signals to Telegram, X, email and SMS (once per channel)."
)


def _channel(name: str) -> Channel:
    if name not in CHANNELS:
        raise ValidationError(f"unknown channel {name!r}; channels: {', '.join(CHANNELS)}")
    return name


@broadcast_app.command("run")
def broadcast_run(
    channel: Annotated[
        list[str] | None, typer.Option(help="only this channel (repeatable); default: all on")
    ] = None,
    until_caught_up: Annotated[
        bool, typer.Option("--until-caught-up", help="stop at the ledger's head")
    ] = False,
    from_seq: Annotated[
        int | None,
        typer.Option(help="where a channel that never ran starts (default: new signals only)"),
    ] = None,
) -> None:
    """Send new signals to every configured channel; resumes exactly where it stopped."""
    from helix.bootstrap import runtime
    from helix.broadcast.credentials import broadcast_secrets, secret_values
    from helix.broadcast.decide import Policy
    from helix.broadcast.images import HeatmapImages
    from helix.broadcast.routing import parse_routes
    from helix.broadcast.runner import ChannelStats, run_broadcaster
    from helix.broadcast.signals import default_registry
    from helix.broadcast.wiring import build_clients

    s = settings()
    logging.basicConfig(level=s.log_level, format="%(asctime)s %(levelname)s %(message)s")
    secrets = broadcast_secrets()
    registry = default_registry()
    routes = parse_routes(s.broadcast_routes, registry.kind_names())
    clients = build_clients(s, secrets, [_channel(c) for c in channel or []])
    if not clients:
        raise ConfigError("no broadcast channel is configured: see `helix broadcast test`")

    async def run() -> list[ChannelStats]:
        async with runtime(s) as rt:
            images = HeatmapImages.from_database(
                rt.endpoints.database_url, window=s.broadcast_heatmap_window
            )
            out.print(f"broadcasting to {', '.join(c.channel for c in clients)}")
            return await run_broadcaster(
                rt.nc, clients, registry=registry, routes=routes, policy=Policy.from_settings(s),
                images=images, first_seq=from_seq, until_caught_up=until_caught_up,
                secrets=secret_values(secrets),
            )  # fmt: skip

    for st in asyncio.run(run()):
        out.print(
            f"{st.channel}: {st.sent} sent, {st.failed} failed for good, {st.attempts} "
            f"attempts; done up to ledger #{st.position:,}"
        )


@broadcast_app.command("test")
def broadcast_test(
    channel: Annotated[str | None, typer.Argument(help="telegram | x | email | sms")] = None,
    png: Annotated[Path | None, typer.Option(help="attach this PNG (channels with images)")] = None,
) -> None:
    """Send a test message to CHANNEL (not recorded); without one, show which channels are on."""
    from helix.broadcast.credentials import broadcast_secrets
    from helix.broadcast.items import Item
    from helix.broadcast.render import render
    from helix.broadcast.routing import parse_routes
    from helix.broadcast.signals import default_registry
    from helix.broadcast.wiring import build_client, channel_status

    s = settings()
    secrets = broadcast_secrets()
    if channel is None:
        routes = parse_routes(s.broadcast_routes, default_registry().kind_names()).describe()
        table = Table("channel", "state", "routes", title="broadcast channels")
        for name, gaps in channel_status(s, secrets).items():
            state = "[green]on[/]" if not gaps else f"[yellow]off[/]: set {', '.join(gaps)}"
            table.add_row(name, state, "; ".join(routes[name]) or "(nothing routed)")
        out.print(table)
        return
    client = build_client(_channel(channel), s, secrets)  # ConfigError names what is missing
    ref = uuid.uuid4().hex[:8]
    item = Item(
        kind="test", ref=ref, title="Helix broadcast test", market="no market",
        headline="if you can read this, the channel works", score=None,
        facts=(("Channel", channel),), reason="sent by `helix broadcast test`", ts_event=0,
    )  # fmt: skip
    image = png.read_bytes() if png is not None and client.takes_images else None

    async def send() -> object:
        try:
            message = render(client.channel, item, image=image is not None)
            return await client.send(message, image, key=uuid.uuid4().hex)
        finally:
            await client.close()

    from helix.broadcast.channel import Delivered

    result = asyncio.run(send())
    if isinstance(result, Delivered):
        out.print(f"{channel}: sent #{ref} ({result.remote_id or result.how})")
        return
    raise InfrastructureError(f"{channel}: not sent: {getattr(result, 'reason', result)}")


@broadcast_app.command("log")
def broadcast_log(
    channel: Annotated[str | None, typer.Option(help="only this channel")] = None,
    limit: Annotated[int, typer.Option(help="latest N deliveries (0 = all)")] = 50,
) -> None:
    """Deliveries from the ledger: what went where, how many attempts, and what came back."""
    from helix.bootstrap import runtime
    from helix.broadcast.journal import Journal
    from helix.cli.market import iso
    from projections.base import ns_to_dt

    only = _channel(channel) if channel else None

    async def read() -> list[tuple[int, object]]:
        async with runtime(settings()) as rt:
            return await Journal(rt.nc).read(only)  # type: ignore[return-value]

    deliveries: dict[uuid.UUID, list[BroadcastRecord]] = {}
    for _seq, event in asyncio.run(read()):
        if isinstance(event, BroadcastRecord):
            deliveries.setdefault(event.delivery_id, []).append(event)
    rows = list(deliveries.values())[-limit if limit else None :]
    table = Table("first attempt", "channel", "ref", "item", "attempts", "state", "far side / why",
                  title="broadcast deliveries (ldg.broadcast)")  # fmt: skip
    for steps in rows:
        first, last = steps[0], steps[-1]
        ref = next((e.ref for e in steps if isinstance(e, BroadcastAttempted)), "")
        if isinstance(last, BroadcastSent):
            state, detail = f"[green]sent[/] ({last.how})", last.remote_id
        elif isinstance(last, BroadcastAttempted):
            state, detail = "[yellow]in flight[/]", "settled at the next start"
        else:
            final = getattr(last, "retry_at", None) is None
            outcome = getattr(last, "outcome", "")
            state = f"[red]failed[/] ({outcome})" if final else f"retrying ({outcome})"
            detail = getattr(last, "reason", "")
        kind = first.item_type.removeprefix("signal.").rsplit(".v", 1)[0]
        table.add_row(iso(ns_to_dt(first.ts_event)), first.channel, f"#{ref}", kind,
                      str(last.attempt), state, detail)  # fmt: skip
    out.print(table)
    if not rows:
        out.print("no broadcasts yet: `helix broadcast run` sends new signals")
