"""Reading the log: replay by subject filter and start sequence/time, and live tails.

Built on :class:`~helix.store.reader.PullReader`: chunks come in stream order, never skipping
and never repeating.  :func:`replay_batches` is the fast way (a chunk at a time);
:func:`replay` and :func:`tail` hand out one event at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.aio.client import Client as NATS

from events.base import Event
from helix.codec import Codec
from helix.store.reader import PullReader
from helix.store.streams import MARKET


@dataclass(frozen=True)
class Position:
    """Where an event sits in its stream."""

    stream: str
    seq: int


async def replay(
    nc: NATS,
    *,
    subjects: str | list[str] = "mkt.>",
    stream: str = MARKET,
    start_seq: int | None = None,
    start_time_ns: int | None = None,
    codec: Codec | None = None,
) -> AsyncIterator[tuple[Position, Event]]:
    """Replay a stream from a sequence or time up to its head, one event at a time.

    Args:
        subjects: one subject filter or several (``mkt.bybit.trade.>``).
        start_seq / start_time_ns: where to begin (default: the first message).
    """
    async for batch in replay_batches(
        nc,
        subjects=subjects,
        stream=stream,
        start_seq=start_seq,
        start_time_ns=start_time_ns,
        codec=codec,
    ):
        for item in batch:
            yield Position(stream, item[0]), item[1]


async def replay_batches(
    nc: NATS,
    *,
    subjects: str | list[str] = "mkt.>",
    stream: str = MARKET,
    start_seq: int | None = None,
    start_time_ns: int | None = None,
    live: bool = False,
    codec: Codec | None = None,
    batch: int = 8192,
) -> AsyncIterator[list[tuple[int, Event]]]:
    """Decoded events in chunks of ``(stream sequence, event)``: the fast way to read a stream.

    Raises:
        ValidationError: a stored payload is not a known event (the log is corrupt or newer
            than this Helix: never skipped silently).
    """
    decode_many = (codec or Codec()).decode_many
    filters = [subjects] if isinstance(subjects, str) else list(subjects)
    async with PullReader(
        nc,
        stream,
        filters,
        start_seq=start_seq,
        start_time_ns=start_time_ns,
        live=live,
        batch=batch,
    ) as reader:
        async for chunk in reader.chunks():
            events = decode_many([data for _seq, _subject, data in chunk])
            yield [(d[0], e) for d, e in zip(chunk, events, strict=True)]


async def tail(
    nc: NATS,
    *,
    subjects: str | list[str] = "mkt.>",
    stream: str = MARKET,
    start_seq: int | None = None,
    codec: Codec | None = None,
) -> AsyncIterator[tuple[Position, Event]]:
    """Follow a stream live (from ``start_seq``, default: new events only)."""
    if start_seq is None:
        info = await nc.jetstream().stream_info(stream)
        start_seq = info.state.last_seq + 1
    async for batch in replay_batches(
        nc, subjects=subjects, stream=stream, start_seq=start_seq, live=True, codec=codec, batch=256
    ):
        for seq, event in batch:
            yield Position(stream, seq), event
