"""Hot subscriptions handled straight from nats-py's protocol parser.

nats-py turns every incoming message into a ``Msg`` (parsing its headers), puts it on an
``asyncio.Queue`` and hands it to a per-subscription task: ~6 µs of Python per message, more
than our whole replay budget.  For the two hottest streams of messages Helix receives — publish
acks and bulk replay deliveries — we register a plain synchronous handler for the
subscription's sid in :class:`~helix.store.parser.OffsetParser`, which calls it directly
instead of ``Client._process_msg``; every other subscription goes through nats-py untouched.
Handlers get raw bytes: ``handler(subject, reply, payload, header_block_or_None)``.
"""

from __future__ import annotations

from nats.aio.client import Client as NATS
from nats.aio.subscription import Subscription

from helix.store.parser import Handler, OffsetParser


class FastPath:
    """Fast-path subscriptions of one connection (see :func:`fast_path`)."""

    def __init__(self, nc: NATS) -> None:
        self.nc = nc
        ps = nc._ps
        if not isinstance(ps, OffsetParser):
            if ps.buf:
                raise RuntimeError("fast path needs a connection made by helix.store.connect")
            ps = OffsetParser(nc)
            nc._ps = ps
        self._handlers = ps.handlers

    async def subscribe(self, subject: str, handler: Handler) -> Subscription:
        sub = await self.nc.subscribe(subject, pending_msgs_limit=-1, pending_bytes_limit=-1)
        self._handlers[sub._id] = handler
        return sub

    async def unsubscribe(self, sub: Subscription) -> None:
        self._handlers.pop(sub._id, None)
        await sub.unsubscribe()


def fast_path(nc: NATS) -> FastPath:
    """The connection's :class:`FastPath`, created on first use."""
    fp = getattr(nc, "_helix_fast_path", None)
    if fp is None:
        fp = FastPath(nc)
        nc._helix_fast_path = fp  # type: ignore[attr-defined]
    return fp


def status_of(headers: bytes | None) -> int | None:
    """The inline status of a message (``NATS/1.0 404 No Messages``), or None."""
    if headers and headers[8:9] == b" ":
        try:
            return int(headers[9:12])
        except ValueError:
            return None
    return None
