"""A private stream shaped like MARKET for benchmarks: created fresh, removed afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable

from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from events.market import MarketEvent
from helix.store.market import MarketAppender
from helix.store.streams import StreamSpec, ensure_stream


@contextlib.asynccontextmanager
async def scratch_stream(
    nc: NATS, name: str, prefix: str, events: Iterable[MarketEvent] = ()
) -> AsyncIterator[None]:
    """Stream ``name`` on ``<prefix>.>`` (replacing a leftover one), filled with ``events``."""
    js = nc.jetstream()
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(name)
    await ensure_stream(js, StreamSpec(name=name, subjects=(f"{prefix}.>",), persist_async=True))
    try:
        batch = list(events)
        if batch:
            async with MarketAppender(nc, subject_prefix=prefix) as app:
                await app.append_many(batch)
                await app.flush()
        yield
    finally:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(name)
