"""Pre-built NATS ``HPUB`` frames, written through nats-py's own send path.

nats-py's ``publish`` re-encodes and validates the header dict of every message: about 7 µs
with five headers, which alone would cap the market fast path near 110k events/s on this
machine.  Market events always carry the same header *names*, so we format the header block
with one bytes ``%`` and hand the finished frame to the client's send queue — the same two
calls ``publish`` itself ends with (``_send_command`` then ``_flush_pending``).  This relies on
those two private methods; nats-py is pinned, and the integration tests exercise this path.
"""

from __future__ import annotations

from nats import errors as nats_errors
from nats.aio.client import Client as NATS


def hpub_frame(subject: bytes, reply: bytes | None, headers: bytes, payload: bytes) -> bytes:
    """One ``HPUB`` frame; ``headers`` is a full block (``NATS/1.0\\r\\n...\\r\\n\\r\\n``)."""
    hl = len(headers)
    total = hl + len(payload)
    if reply:
        return b"HPUB %s %s %d %d\r\n%s%s\r\n" % (subject, reply, hl, total, headers, payload)
    return b"HPUB %s %d %d\r\n%s%s\r\n" % (subject, hl, total, headers, payload)


async def send_frame(nc: NATS, frame: bytes) -> None:
    """Queue a frame on the connection like ``publish`` does (buffered while reconnecting).

    Raises:
        nats.errors.ConnectionClosedError: the connection was closed.
        nats.errors.OutboundBufferLimitError: reconnecting and the buffer is full.
    """
    if nc.is_closed:
        raise nats_errors.ConnectionClosedError
    if not nc.is_connected and (
        nc._max_pending_size <= 0 or len(frame) + nc._pending_data_size > nc._max_pending_size
    ):
        raise nats_errors.OutboundBufferLimitError
    await nc._send_command(frame)
    if nc._flush_queue is not None and nc._flush_queue.empty():
        await nc._flush_pending()
