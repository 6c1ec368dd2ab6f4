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
from decimal import Decimal
from typing import Any

from nats.aio.client import Client as NATS

from events.base import event_id_for
from events.market import Kline, Liquidation, MarketEvent, Ticker, Trade
from events.ops import DeadLetter
from helix.clock import Clock
from helix.codec import Codec
from helix.errors import HelixError
from helix.feeds.bybit.backfill import funding_to_events, klines_to_events, oi_to_events
from helix.feeds.bybit.rest import BybitRest
from helix.feeds.bybit.ws import Inbound, PublicConnection, ThreadInbox
from helix.importers.bybit_ws import parse_frame
from helix.store.market import MarketAppender, event_headers

SEEN_PER_SYMBOL = 20_000
_TAKER = {"Buy": "buy", "Sell": "sell"}


def fast_trade(symbol: str, it: dict[str, Any], recv_ns: int) -> Trade:
    """One ``publicTrade`` item as a :class:`Trade`, equal to what the strict parser
    (:func:`helix.importers.bybit_ws.parse_frame`) builds; raises on anything unexpected, and
    the caller then lets the strict parser find the item and the reason."""
    price, qty = Decimal(it["p"]), Decimal(it["v"])
    if not (price.is_finite() and qty.is_finite() and price > 0 and qty > 0):
        raise ValueError("price and size must be finite and positive")
    ms = it["T"]
    if type(ms) is not int:
        raise TypeError("T")
    trade_id = it["i"]
    if type(trade_id) is not str or not trade_id:
        raise TypeError("i")
    return Trade(
        event_id=event_id_for(f"bybit:trade:{symbol}:{trade_id}"),  # = market_event_id(...)
        ts_event=ms * 1_000_000,
        ts_recorded=recv_ns,
        source="bybit",
        vertical="perps",
        venue="bybit",
        symbol=symbol,
        trade_id=trade_id,
        price=price,
        qty=qty,
        side=_TAKER[it["S"]],  # type: ignore[arg-type]
    )


@dataclass
class SymbolState:
    seen: collections.OrderedDict[str, None] = field(default_factory=collections.OrderedDict)
    last_seq: int = 0
    holding: bool = False
    awaiting_live: bool = False
    again: bool = False  # a reconnect came in during a repair: repair once more after it
    repair_scheduled: bool = False
    kline_starts: set[int] = field(default_factory=set)  # closed 1m bars published (start ns)
    aux_ids: set[uuid.UUID] = field(default_factory=set)  # REST OI/funding points published
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
        live_wait: float = 3.0,
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
        self.live_wait = live_wait
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
                    self._hold_until_live(symbol)

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
                    if event.start in st.kline_starts:
                        continue  # already repaired from REST
                    st.kline_starts.add(event.start)
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
            if st.awaiting_live:  # the stream is back: now REST can cover the whole gap
                st.awaiting_live = False
                self._start_repair(symbol, force=True)
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
        if not items:
            return 0
        st = self.stats.symbols[symbol]
        assert self._app is not None
        topic = f"publicTrade.{symbol}"
        try:  # the common case: every trade well-formed, built without the importer's checks
            pairs = [(it, fast_trade(symbol, it, recv)) for it, recv in items]
        except (KeyError, TypeError, ValueError, ArithmeticError):  # the strict parser says why
            pairs = []
            for it, recv_ns in items:
                try:
                    [event] = parse_frame({"topic": topic, "data": [it]}, recv_ns).events
                except (HelixError, ValueError) as exc:
                    await self._dead(repr(it), f"trade: {exc}", recv_ns)
                    continue
                assert isinstance(event, Trade)
                pairs.append((it, event))
        fresh: list[Trade] = []
        for it, event in pairs:
            seq = it.get("seq")
            if isinstance(seq, int) and seq > st.last_seq:
                st.last_seq = seq
            if st.remember(event.trade_id):
                fresh.append(event)
        if fresh:
            st.trades += len(fresh)
            st.last_event_ns = max(st.last_event_ns, max(e.ts_event for e in fresh))
            await self._app.append_many(fresh)
        return len(fresh)

    # -- repairs -----------------------------------------------------------------------------

    def _hold_until_live(self, symbol: str) -> None:
        """After a reconnect: hold live trades, and fetch REST only once the first live trade
        is in (a fetch before the resubscription took effect could miss trades between the
        two); a symbol that stays quiet is repaired after ``live_wait`` seconds anyway."""
        st = self.stats.symbols[symbol]
        if st.holding:
            st.again = not st.awaiting_live  # a repair is under way: its fetch may be too early
            return
        st.holding = True
        st.awaiting_live = True

        def fallback() -> None:
            if st.awaiting_live:
                st.awaiting_live = False
                self._start_repair(symbol, force=True)

        asyncio.get_running_loop().call_later(self.live_wait, fallback)

    def _start_repair(self, symbol: str, *, force: bool = False) -> bool:
        st = self.stats.symbols[symbol]
        now = time.monotonic()
        if st.holding and not force:
            return False
        wait = st.last_repair + self.repair_min_interval - now
        if not force and wait > 0:
            if not st.repair_scheduled:  # rate-limited, not forgotten: repair when allowed
                st.repair_scheduled = True
                asyncio.get_running_loop().call_later(wait, self._scheduled_repair, symbol)
            return False
        st.holding = True
        st.last_repair = now
        task = asyncio.create_task(self._repair(symbol, aux=force), name=f"repair-{symbol}")
        self._repairs.add(task)
        task.add_done_callback(self._repairs.discard)
        return True

    def _scheduled_repair(self, symbol: str) -> None:
        self.stats.symbols[symbol].repair_scheduled = False
        self._start_repair(symbol)

    async def _repair(self, symbol: str, *, aux: bool = True) -> None:
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
        # Frames that arrived while we were publishing were held too: publish them, then let
        # live trades through again (no await in between, so nothing can overtake them).
        while st.held:
            late, st.held = st.held, []
            await self._publish_trades(symbol, late)
        st.holding = False
        if st.again:
            st.again = False
            self._hold_until_live(symbol)
        if aux:  # trades first (they are held back meanwhile), then bars and tickers
            await self._repair_bars_and_tickers(symbol, recv)

    async def _repair_bars_and_tickers(self, symbol: str, recv_ns: int) -> None:
        """After a reconnect: closed 1m klines of the last hour, open interest (5 min) and the
        latest funding from REST, whichever were not published yet."""
        st = self.stats.symbols[symbol]
        assert self._app is not None
        try:
            bars, oi, funding = await asyncio.to_thread(self._fetch_aux, symbol, recv_ns)
        except HelixError as exc:
            await self._dead(f"kline/oi/funding {symbol}", f"gap repair failed: {exc}", recv_ns)
            return
        newest = max((b.start for b in bars if isinstance(b, Kline)), default=None)
        for bar in bars:
            if isinstance(bar, Kline) and bar.start != newest and bar.start not in st.kline_starts:
                st.kline_starts.add(bar.start)  # the newest REST bar may still be open: skipped
                st.klines += 1
                await self._app.append(bar)
        for ticker in [*oi, *funding]:
            if ticker.event_id not in st.aux_ids:
                st.aux_ids.add(ticker.event_id)
                st.tickers += 1
                await self._app.append(ticker)

    def _fetch_aux(
        self, symbol: str, now_ns: int
    ) -> tuple[list[MarketEvent], list[MarketEvent], list[MarketEvent]]:
        base = {"category": "linear", "symbol": symbol}
        kl = self.rest.get("get_kline", **base, interval="1", limit=60)
        oi = self.rest.get("get_open_interest", **base, intervalTime="5min", limit=12)
        fr = self.rest.get("get_funding_rate_history", **base, limit=1)
        return (
            klines_to_events(symbol, kl.get("list", []), now_ns),
            oi_to_events(symbol, oi.get("list", []), now_ns),
            funding_to_events(symbol, fr.get("list", []), now_ns),
        )

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
