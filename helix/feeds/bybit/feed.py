"""``helix ingest bybit``: every trade, liquidation, ticker change and closed 1m kline of the
chosen linear perpetuals into the log — without gaps, duplicates or crashes.

Per symbol the feed keeps the trade ids it recently published (idempotence beyond JetStream's
de-duplication window) and the last trade ``seq``.  A reconnect, or a ``seq`` that jumps,
opens a *repair*: that symbol's live trades are held back, the latest trades are fetched from
REST (``/v5/market/recent-trade``), both are merged by (time, seq), and whatever was not
published yet is published in order.  (Bybit's ``seq`` is a cross sequence, so a jump is only
a hint; repairs after a jump are rate-limited per symbol.)  Frames that cannot be parsed go to
``dlq.feed.bybit`` with their reason; nothing stops the feed.  Stopping flushes everything that
was received.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS

from events.market import Kline, Liquidation, Ticker, Trade
from events.ops import DeadLetter
from helix.clock import Clock
from helix.codec import Codec
from helix.errors import HelixError
from helix.feeds.bybit.rest import BybitRest
from helix.feeds.bybit.ws import Inbound, PublicConnection, ThreadInbox
from helix.importers.bybit_ws import parse_frame
from helix.store.market import MarketAppender, event_headers

SEEN_PER_SYMBOL = 20_000


@dataclass
class SymbolState:
    seen: collections.OrderedDict[str, None] = field(default_factory=collections.OrderedDict)
    last_seq: int = 0
    holding: bool = False
    held: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    last_repair: float = 0.0
    trades: int = 0
    liquidations: int = 0
    tickers: int = 0
    klines: int = 0
    repaired: int = 0
    last_event_ns: int = 0

    def remember(self, trade_id: str) -> bool:
        """True if new (and now remembered)."""
        if trade_id in self.seen:
            return False
        self.seen[trade_id] = None
        if len(self.seen) > SEEN_PER_SYMBOL:
            self.seen.popitem(last=False)
        return True


@dataclass
class FeedStats:
    started_ns: int = 0
    reconnects: int = 0
    dead_letters: int = 0
    frames: int = 0
    symbols: dict[str, SymbolState] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        return {
            "started_ns": self.started_ns,
            "reconnects": self.reconnects,
            "dead_letters": self.dead_letters,
            "frames": self.frames,
            "symbols": {
                s: {
                    "trades": st.trades,
                    "liquidations": st.liquidations,
                    "tickers": st.tickers,
                    "klines": st.klines,
                    "repaired": st.repaired,
                    "last_event_ns": st.last_event_ns,
                }
                for s, st in self.symbols.items()
            },
        }


class BybitFeed:
    """See the module docstring."""

    def __init__(
        self,
        *,
        nc: NATS,
        rest: BybitRest,
        ws_url: str,
        symbols: list[str],
        clock: Clock,
        codec: Codec | None = None,
        subject_prefix: str = "mkt",
        dlq_subject: str = "dlq.feed.bybit",
        symbols_per_connection: int = 50,
        repair_min_interval: float = 10.0,
        on_stats: Callable[[FeedStats], None] | None = None,
    ) -> None:
        self.nc = nc
        self.rest = rest
        self.ws_url = ws_url
        self.symbols = symbols
        self.clock = clock
        self.codec = codec or Codec()
        self.subject_prefix = subject_prefix
        self.dlq_subject = dlq_subject
        self.per_connection = max(1, symbols_per_connection)
        self.repair_min_interval = repair_min_interval
        self.on_stats = on_stats
        self.stats = FeedStats(symbols={s: SymbolState() for s in symbols})
        self.connections: list[PublicConnection] = []
        self._repairs: set[asyncio.Task[None]] = set()
        self._app: MarketAppender | None = None
        self._dlq: MarketAppender | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> FeedStats:
        """Ingest until ``stop`` is set, then flush and return the statistics."""
        self.stats.started_ns = self.clock.now_ns()
        inbox = ThreadInbox(asyncio.get_running_loop())
        async with (
            MarketAppender(self.nc, codec=self.codec, subject_prefix=self.subject_prefix) as app,
            MarketAppender(self.nc, codec=self.codec) as dlq,
        ):
            self._app, self._dlq = app, dlq
            chunks = [
                self.symbols[i : i + self.per_connection]
                for i in range(0, len(self.symbols), self.per_connection)
            ]
            for i, chunk in enumerate(chunks):
                conn = PublicConnection(self.ws_url, chunk, index=i, inbox=inbox)
                await asyncio.to_thread(conn.start)
                self.connections.append(conn)
            try:
                while not stop.is_set():
                    waiter = asyncio.ensure_future(inbox.ready.wait())
                    stopper = asyncio.ensure_future(stop.wait())
                    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    stopper.cancel()
                    await self._handle(inbox.drain())
                    if self.on_stats is not None:
                        self.on_stats(self.stats)
            finally:
                for conn in self.connections:
                    await asyncio.to_thread(conn.stop)
                await self._handle(inbox.drain())  # what arrived before the sockets closed
                for task in list(self._repairs):
                    await task
                await app.flush()
                await dlq.flush()
        return self.stats

    # -- frames ------------------------------------------------------------------------------

    async def _handle(self, items: list[Inbound]) -> None:
        for item in items:
            if item.kind == "frame":
                self.stats.frames += 1
                await self._frame(item.payload, item.recv_ns)
            elif item.kind == "garbage":
                await self._dead(str(item.payload), item.reason, item.recv_ns)
            elif item.kind == "reconnect":
                self.stats.reconnects += 1
                for symbol in self.connections[item.payload].symbols:
                    self._start_repair(symbol, force=True)

    async def _frame(self, frame: dict[str, Any], recv_ns: int) -> None:
        topic = str(frame.get("topic", ""))
        kind, _, symbol = topic.partition(".")
        if kind == "publicTrade" and symbol in self.stats.symbols:
            await self._trades(symbol, frame, recv_ns)
            return
        try:
            parsed = parse_frame(frame, recv_ns)
        except HelixError as exc:
            await self._dead(repr(frame), str(exc), recv_ns)
            return
        assert self._app is not None
        for event in parsed.events:
            if isinstance(event, Kline) and not event.closed:
                continue  # one event per closed kline
            st = self.stats.symbols.get(event.symbol)
            if st is not None:
                st.last_event_ns = max(st.last_event_ns, event.ts_event)
                if isinstance(event, Liquidation):
                    st.liquidations += 1
                elif isinstance(event, Ticker):
                    st.tickers += 1
                elif isinstance(event, Kline):
                    st.klines += 1
            await self._app.append(event)

    async def _trades(self, symbol: str, frame: dict[str, Any], recv_ns: int) -> None:
        st = self.stats.symbols[symbol]
        items = frame.get("data")
        if not isinstance(items, list):
            await self._dead(repr(frame), "publicTrade data is not a list", recv_ns)
            return
        if st.holding:
            st.held.extend((it, recv_ns) for it in items)
            return
        first = items[0].get("seq") if items and isinstance(items[0], dict) else None
        if (
            isinstance(first, int)
            and st.last_seq
            and first > st.last_seq + 1
            and self._start_repair(symbol)
        ):
            st.held.extend((it, recv_ns) for it in items)
            return
        await self._publish_trades(symbol, [(it, recv_ns) for it in items])

    async def _publish_trades(self, symbol: str, items: list[tuple[dict[str, Any], int]]) -> int:
        """Publish the trades not published before, in the order given; returns how many."""
        st = self.stats.symbols[symbol]
        assert self._app is not None
        published = 0
        for it, recv_ns in items:
            frame = {"topic": f"publicTrade.{symbol}", "data": [it]}
            try:
                [event] = parse_frame(frame, recv_ns).events
            except (HelixError, ValueError) as exc:
                await self._dead(repr(it), f"trade: {exc}", recv_ns)
                continue
            assert isinstance(event, Trade)
            seq = it.get("seq")
            if isinstance(seq, int) and seq > st.last_seq:
                st.last_seq = seq
            if not st.remember(event.trade_id):
                continue
            st.trades += 1
            st.last_event_ns = max(st.last_event_ns, event.ts_event)
            await self._app.append(event)
            published += 1
        return published

    # -- repairs -----------------------------------------------------------------------------

    def _start_repair(self, symbol: str, *, force: bool = False) -> bool:
        st = self.stats.symbols[symbol]
        now = time.monotonic()
        if st.holding or (not force and now - st.last_repair < self.repair_min_interval):
            return False
        st.holding = True
        st.last_repair = now
        task = asyncio.create_task(self._repair(symbol), name=f"repair-{symbol}")
        self._repairs.add(task)
        task.add_done_callback(self._repairs.discard)
        return True

    async def _repair(self, symbol: str) -> None:
        st = self.stats.symbols[symbol]
        recv = self.clock.now_ns()
        try:
            fetched = await asyncio.to_thread(self.rest.recent_trades, symbol)
        except HelixError as exc:
            await self._dead(f"recent-trade {symbol}", f"gap repair failed: {exc}", recv)
            fetched = []
        merged = {str(it.get("i")): (it, recv) for it in fetched}
        for it, t in st.held:
            merged.setdefault(str(it.get("i")), (it, t))
        ordered = sorted(merged.values(), key=lambda p: (int(p[0].get("T", 0)), p[0].get("seq", 0)))
        st.held = []
        before = st.trades
        await self._publish_trades(symbol, ordered)
        st.repaired += st.trades - before
        st.holding = False
        # Frames that arrived while we were publishing were held too: publish them now.
        if st.held:
            late, st.held = st.held, []
            await self._publish_trades(symbol, late)

    # -- dead letters ------------------------------------------------------------------------

    async def _dead(self, raw: str, reason: str, recv_ns: int) -> None:
        self.stats.dead_letters += 1
        assert self._dlq is not None
        letter = DeadLetter(
            event_id=uuid.uuid4(),
            ts_event=recv_ns,
            ts_recorded=recv_ns,
            source="feed:bybit",
            vertical="ops",
            origin=f"feed:bybit:{self.ws_url}",
            reason=reason,
            raw=raw.encode("utf-8", "replace"),
        )
        await self._dlq.publish_raw(
            self.dlq_subject, self.codec.encode(letter), event_headers(letter)
        )
