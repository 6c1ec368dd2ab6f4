"""The market fast path: pipelined, acked, idempotent appends and subject/time replays.

:class:`MarketAppender` publishes each event with its own reply subject on one wildcard ack
subscription, so every ack is checked (a rejection is an error, never a hang), with at most
``window`` events in flight (back-pressure: ``append`` waits instead of buffering without
bound).  ``Nats-Msg-Id`` is the event id, which for venue facts is derived from the venue's own
id: re-sending a trade within the stream's duplicate window stores nothing and is counted as a
duplicate.  Events whose ack does not arrive (server restart, lost connection) are re-sent with
the same id until acked or ``deadline`` passes.

:func:`replay` reads a stream by subject filter and start time/sequence with an ordered
consumer and decodes events; :func:`tail` is the same, live, forever.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import api

from events.base import Event
from events.market import MarketEvent
from helix.codec import Codec
from helix.errors import StoreError, ValidationError
from helix.store.jsraw import parse_ack
from helix.store.streams import MARKET

_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")

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


@dataclass
class AppendStats:
    published: int = 0
    stored: int = 0
    duplicates: int = 0
    resent: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _InFlight:
    subject: str
    data: bytes
    headers: dict[str, str]
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
        self.subject_prefix = subject_prefix
        self.codec = codec or Codec()
        self.window = window
        self.ack_timeout = ack_timeout
        self.deadline = deadline
        self.stats = AppendStats()
        self._inflight: dict[int, _InFlight] = {}
        self._next = 0
        self._prefix = ""
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
        self._sub = await self.nc.subscribe(
            f"{self._prefix}.*", cb=self._on_ack, pending_msgs_limit=-1, pending_bytes_limit=-1
        )
        self._watchdog = asyncio.create_task(self._resend_loop(), name="market-appender-resend")

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            try:
                await self._watchdog
            except asyncio.CancelledError:
                pass
            self._watchdog = None
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()  # type: ignore[attr-defined]
            except nats.errors.Error:
                pass
            self._sub = None

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    # -- publishing --------------------------------------------------------------------------

    async def append(self, event: MarketEvent) -> None:
        """Publish one event; waits while ``window`` events await their acks."""
        await self.publish_raw(
            market_subject(event, self.subject_prefix), self.codec.encode(event), event_headers(event)
        )

    async def append_many(self, events: Iterable[MarketEvent]) -> None:
        for event in events:
            await self.append(event)

    async def publish_raw(self, subject: str, data: bytes, headers: dict[str, str]) -> None:
        if self._fatal is not None:
            raise self._fatal
        while len(self._inflight) >= self.window:
            self._room.clear()
            await self._room.wait()
            if self._fatal is not None:
                raise self._fatal
        token = self._next
        self._next += 1
        self._inflight[token] = _InFlight(subject, data, headers, time.monotonic())
        self._drained.clear()
        self.stats.published += 1
        await self.nc.publish(subject, data, reply=f"{self._prefix}.{token}", headers=headers)

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

    async def _on_ack(self, msg: Msg) -> None:
        try:
            token = int(msg.subject[len(self._prefix) + 1 :])
        except ValueError:
            return
        pending = self._inflight.pop(token, None)
        if pending is None:
            return  # ack of a re-sent copy already settled
        data = msg.data
        if b'"error"' in data or not data:
            ack = parse_ack(data) if data else None
            reason = ack.description if ack is not None else "no-responders"
            if not data:  # 503 no responders: the stream is not there (yet); retry later
                pending.sent = time.monotonic()
                self._inflight[token] = pending
                return
            self.stats.errors.append(f"{pending.subject}: {reason}")
            self._fatal = StoreError(f"JetStream rejected {pending.subject}: {reason}")
        elif b'"duplicate"' in data:
            self.stats.duplicates += 1
        else:
            self.stats.stored += 1
        self._settled()

    def _settled(self) -> None:
        if len(self._inflight) < self.window // 2 or self._fatal is not None:
            self._room.set()
        if not self._inflight or self._fatal is not None:
            self._drained.set()

    async def _resend_loop(self) -> None:
        oldest_unacked = time.monotonic()
        while True:
            await asyncio.sleep(min(1.0, self.ack_timeout / 2))
            if not self._inflight:
                oldest_unacked = time.monotonic()
                continue
            now = time.monotonic()
            stale = [(t, f) for t, f in self._inflight.items() if now - f.sent > self.ack_timeout]
            if not stale:
                oldest_unacked = now
                continue
            if now - oldest_unacked > self.deadline:
                self._fatal = StoreError(
                    f"{len(stale)} market events unacked for {self.deadline:.0f}s"
                )
                self._settled()
                return
            if not self.nc.is_connected:
                continue  # nats-py buffers while reconnecting; re-send once connected
            for token, f in stale:
                f.sent = now
                self.stats.resent += 1
                try:
                    await self.nc.publish(
                        f.subject, f.data, reply=f"{self._prefix}.{token}", headers=f.headers
                    )
                except nats.errors.Error:
                    break


# -- reading -------------------------------------------------------------------------------


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
    batch_hint: int = 4096,
) -> AsyncIterator[tuple[Position, Event]]:
    """Replay a stream from a sequence or time up to its head at the time of the call.

    Args:
        subjects: one subject filter or several (``mkt.bybit.trade.>``).
        start_seq / start_time_ns: where to begin (default: the first message).
    """
    codec = codec or Codec()
    async for pos, data in replay_raw(
        nc,
        subjects=subjects,
        stream=stream,
        start_seq=start_seq,
        start_time_ns=start_time_ns,
        batch_hint=batch_hint,
    ):
        yield pos, codec.decode(data)


async def replay_raw(
    nc: NATS,
    *,
    subjects: str | list[str] = "mkt.>",
    stream: str = MARKET,
    start_seq: int | None = None,
    start_time_ns: int | None = None,
    live: bool = False,
    batch_hint: int = 4096,
) -> AsyncIterator[tuple[Position, bytes]]:
    """Raw payloads with positions, through an ordered push consumer (callback-driven).

    With ``live=False`` it stops at the stream's last sequence when the replay began.
    """
    js = nc.jetstream()
    filters = [subjects] if isinstance(subjects, str) else list(subjects)
    info = await js.stream_info(stream)
    head = info.state.last_seq
    if not live and (head == 0 or (start_seq is not None and start_seq > head)):
        return
    cfg = api.ConsumerConfig(
        filter_subjects=filters if len(filters) > 1 else None,
        filter_subject=filters[0] if len(filters) == 1 else None,
        headers_only=False,
    )
    if start_seq is not None:
        cfg.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
        cfg.opt_start_seq = start_seq
    elif start_time_ns is not None:
        cfg.deliver_policy = api.DeliverPolicy.BY_START_TIME
        secs, ns = divmod(start_time_ns, 1_000_000_000)
        cfg.opt_start_time = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ns:09d}Z"
        )
    else:
        cfg.deliver_policy = api.DeliverPolicy.ALL

    queue: asyncio.Queue[list[tuple[Position, bytes]] | None] = asyncio.Queue(maxsize=64)
    chunk: list[tuple[Position, bytes]] = []
    done = False

    async def cb(msg: Msg) -> None:
        nonlocal chunk, done
        if done:
            return
        seq = stream_seq(msg.reply)
        chunk.append((Position(stream, seq), msg.data))
        if len(chunk) >= batch_hint or (not live and seq >= head):
            out, chunk = chunk, []
            await queue.put(out)
            if not live and seq >= head:
                done = True
                await queue.put(None)

    sub = await js.subscribe(
        filters[0],
        stream=stream,
        cb=cb,
        ordered_consumer=True,
        config=cfg,
        deliver_policy=cfg.deliver_policy,
        pending_msgs_limit=-1,
        pending_bytes_limit=-1,
    )
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=1.0 if not live else None)
            except TimeoutError:
                # Nothing matched beyond here (filters may exclude the head message).
                if not live and await _caught_up(sub):
                    if chunk:
                        out, chunk = chunk, []
                        for pair in out:
                            yield pair
                    return
                continue
            if item is None:
                return
            for pair in item:
                yield pair
            if live and chunk and queue.empty():
                out, chunk = chunk, []
                for pair in out:
                    yield pair
    finally:
        done = True
        try:
            await sub.unsubscribe()
        except nats.errors.Error:
            pass


def stream_seq(reply: str) -> int:
    """The stream sequence from a JetStream delivery's reply subject.

    ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`` (v1) or
    ``$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>...`` (v2).
    """
    tokens = reply.split(".")
    if len(tokens) == 9:
        return int(tokens[5])
    if len(tokens) >= 12:
        return int(tokens[7])
    raise StoreError(f"not a JetStream delivery: {reply!r}")


async def _caught_up(sub: object) -> bool:
    try:
        info = await sub.consumer_info()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an ordered consumer may be mid-reset
        return False
    return bool(info.num_pending == 0)


async def tail(
    nc: NATS,
    *,
    subjects: str | list[str] = "mkt.>",
    stream: str = MARKET,
    start_seq: int | None = None,
    codec: Codec | None = None,
) -> AsyncIterator[tuple[Position, Event]]:
    """Follow a stream live (from ``start_seq``, default: new events only)."""
    codec = codec or Codec()
    if start_seq is None:
        info = await nc.jetstream().stream_info(stream)
        start_seq = info.state.last_seq + 1
    async for pos, data in replay_raw(
        nc, subjects=subjects, stream=stream, start_seq=start_seq, live=True, batch_hint=1
    ):
        yield pos, codec.decode(data)
