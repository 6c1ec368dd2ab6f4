"""The market fast path: pipelined, acked, idempotent appends and subject/time replays.

:class:`MarketAppender` publishes each event with its own reply subject on one wildcard ack
subscription, so every ack is checked (a rejection is an error, never a hang), with at most
``window`` events in flight (back-pressure: ``append`` waits instead of buffering without
bound).  ``Nats-Msg-Id`` is the event id, which for venue facts is derived from the venue's own
id: re-sending a trade within the stream's duplicate window stores nothing and is counted as a
duplicate.  Events whose ack does not arrive (server restart, lost connection) are re-sent with
the same id until acked or ``deadline`` passes.  Reading is :mod:`helix.store.replay`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import nats.errors
from nats.aio.client import Client as NATS

from events.base import Event
from events.market import MarketEvent as PerpsMarketEvent
from events.poly import PolyMarketEvent
from helix.codec import Codec
from helix.errors import StoreError, ValidationError
from helix.store.fastpath import fast_path
from helix.store.jsraw import parse_ack
from helix.store.wire import hpub_frame, send_frame

_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{1,96}$")  # Polymarket token ids have 77 digits

MarketEvent = PerpsMarketEvent | PolyMarketEvent

TYPE_HEADER = "Helix-Type"
TS_EVENT_HEADER = "Helix-Ts-Event"
TS_RECORDED_HEADER = "Helix-Ts-Recorded"


def market_subject(event: MarketEvent, prefix: str = "mkt") -> str:
    """``mkt.<venue>.<kind>.<symbol>``.

    Raises:
        ValidationError: venue or symbol is not a plain subject token.
    """
    venue, symbol = event.venue, event.symbol
    if not _TOKEN.match(venue) or not _TOKEN.match(symbol):
        raise ValidationError(f"venue/symbol not usable in a subject: {venue!r}/{symbol!r}")
    return f"{prefix}.{venue}.{event.KIND}.{symbol}"


def event_headers(event: Event) -> dict[str, str]:
    return {
        "Nats-Msg-Id": str(event.event_id),
        TYPE_HEADER: event.type,
        TS_EVENT_HEADER: str(event.ts_event),
        TS_RECORDED_HEADER: str(event.ts_recorded),
    }


_HEADER_BLOCK = (
    b"NATS/1.0\r\nNats-Msg-Id: %s\r\n"
    + TYPE_HEADER.encode()
    + b": %s\r\n"
    + TS_EVENT_HEADER.encode()
    + b": %d\r\n"
    + TS_RECORDED_HEADER.encode()
    + b": %d\r\n\r\n"
)


def header_block(event: Event) -> bytes:
    """The same headers as :func:`event_headers`, as a ready ``HPUB`` header block."""
    return _HEADER_BLOCK % (
        str(event.event_id).encode(),
        event.type.encode(),
        event.ts_event,
        event.ts_recorded,
    )


@dataclass
class AppendStats:
    published: int = 0
    stored: int = 0
    duplicates: int = 0
    resent: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _InFlight:
    subject: bytes
    frame: bytes
    sent: float


class MarketAppender:
    """Pipelined, ack-checked publisher for market events (see module docstring)."""

    def __init__(
        self,
        nc: NATS,
        *,
        codec: Codec | None = None,
        window: int = 16_384,
        ack_timeout: float = 5.0,
        deadline: float = 120.0,
        subject_prefix: str = "mkt",
    ) -> None:
        self.nc = nc
        self.codec = codec or Codec()
        self.window = window
        self.ack_timeout = ack_timeout
        self.deadline = deadline
        self.subject_prefix = subject_prefix
        self.stats = AppendStats()
        self._inflight: dict[int, _InFlight] = {}
        self._next = 0
        self._prefix = ""
        self._reply_prefix = b""
        self._subjects: dict[tuple[str, str, str], bytes] = {}
        self._sub: object | None = None
        self._room = asyncio.Event()
        self._drained = asyncio.Event()
        self._room.set()
        self._drained.set()
        self._fatal: StoreError | None = None
        self._watchdog: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MarketAppender:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        self._prefix = self.nc.new_inbox()
        self._reply_prefix = self._prefix.encode() + b"."
        self._sub = await fast_path(self.nc).subscribe(f"{self._prefix}.*", self._on_ack)
        self._watchdog = asyncio.create_task(self._resend_loop(), name="market-appender-resend")

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        if self._sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await fast_path(self.nc).unsubscribe(self._sub)  # type: ignore[arg-type]
            self._sub = None

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    # -- publishing --------------------------------------------------------------------------

    def _subject(self, event: MarketEvent) -> bytes:
        key = (event.venue, event.KIND, event.symbol)
        subject = self._subjects.get(key)
        if subject is None:
            subject = market_subject(event, self.subject_prefix).encode()
            self._subjects[key] = subject
        return subject

    async def append(self, event: MarketEvent) -> None:
        """Publish one event; waits while ``window`` events await their acks.

        Raises:
            ValidationError: the event cannot be addressed (bad venue/symbol token).
            StoreError: an earlier event was rejected, or acks stopped coming.
        """
        subject = self._subject(event)
        await self._publish(subject, header_block(event), self.codec.encode(event))

    async def append_many(self, events: Iterable[MarketEvent], *, chunk: int = 256) -> None:
        """Publish events in order, ``chunk`` frames per socket write (same acks and limits as
        :meth:`append`, less per-event overhead)."""
        batch: list[MarketEvent] = []
        for event in events:
            batch.append(event)
            if len(batch) >= chunk:
                await self._publish_batch(batch)
                batch = []
        if batch:
            await self._publish_batch(batch)

    async def _publish_batch(self, events: list[MarketEvent]) -> None:
        if self._fatal is not None:
            raise self._fatal
        while len(self._inflight) + len(events) > self.window and self._inflight:
            self._room.clear()
            await self._room.wait()
            if self._fatal is not None:
                raise self._fatal
        encode, reply_prefix, now = self.codec.encode, self._reply_prefix, time.monotonic()
        frames = []
        for event in events:
            subject = self._subject(event)
            token = self._next
            self._next += 1
            frame = hpub_frame(
                subject, reply_prefix + b"%d" % token, header_block(event), encode(event)
            )
            self._inflight[token] = _InFlight(subject, frame, now)
            frames.append(frame)
        self._drained.clear()
        self.stats.published += len(frames)
        await send_frame(self.nc, b"".join(frames))

    async def publish_raw(self, subject: str, data: bytes, headers: dict[str, str]) -> None:
        """Publish pre-encoded bytes with arbitrary headers (dead letters, tools)."""
        block = (
            b"NATS/1.0\r\n"
            + b"".join(
                b"%s: %s\r\n" % (k.encode(), v.replace("\r", " ").replace("\n", " ").encode())
                for k, v in headers.items()
            )
            + b"\r\n"
        )
        await self._publish(subject.encode(), block, data)

    async def _publish(self, subject: bytes, headers: bytes, data: bytes) -> None:
        if self._fatal is not None:
            raise self._fatal
        while len(self._inflight) >= self.window:
            self._room.clear()
            await self._room.wait()
            if self._fatal is not None:
                raise self._fatal
        token = self._next
        self._next += 1
        frame = hpub_frame(subject, self._reply_prefix + b"%d" % token, headers, data)
        self._inflight[token] = _InFlight(subject, frame, time.monotonic())
        self._drained.clear()
        self.stats.published += 1
        await send_frame(self.nc, frame)

    async def flush(self) -> AppendStats:
        """Wait until every published event is acked (or re-sent and acked).

        Raises:
            StoreError: the server rejected an event, or no ack came within ``deadline``.
        """
        await self.nc.flush()
        while self._inflight:
            self._drained.clear()
            await self._drained.wait()
            if self._fatal is not None:
                raise self._fatal
        if self._fatal is not None:
            raise self._fatal
        return self.stats

    # -- acks and re-sends -------------------------------------------------------------------

    def _on_ack(self, subject: bytes, _reply: bytes, data: bytes, _hdrs: bytes | None) -> None:
        try:
            token = int(subject[len(self._reply_prefix) :])
        except ValueError:
            return
        pending = self._inflight.pop(token, None)
        if pending is None:
            return  # ack of a re-sent copy already settled
        if not data:  # 503 no responders: no stream (yet); keep it for the re-send loop
            self._inflight[token] = pending
            return
        if b'"error"' in data:
            reason = parse_ack(data).description
            where = pending.subject.decode()
            self.stats.errors.append(f"{where}: {reason}")
            self._fatal = StoreError(f"JetStream rejected {where}: {reason}")
        elif b'"duplicate"' in data:
            self.stats.duplicates += 1
        else:
            self.stats.stored += 1
        if len(self._inflight) < self.window // 2 or self._fatal is not None:
            self._room.set()
        if not self._inflight or self._fatal is not None:
            self._drained.set()

    async def _resend_loop(self) -> None:
        stuck_since: float | None = None
        while True:
            await asyncio.sleep(min(1.0, self.ack_timeout / 2))
            now = time.monotonic()
            stale = [f for f in self._inflight.values() if now - f.sent > self.ack_timeout]
            if not stale:
                stuck_since = None
                continue
            stuck_since = stuck_since or now
            if now - stuck_since > self.deadline:
                self._fatal = StoreError(
                    f"{len(stale)} market events unacked for {self.deadline:.0f}s"
                )
                self._room.set()
                self._drained.set()
                return
            if not self.nc.is_connected:
                continue  # re-send once reconnected
            for f in stale:
                f.sent = now
                self.stats.resent += 1
                try:
                    await send_frame(self.nc, f.frame)
                except nats.errors.Error:
                    break
