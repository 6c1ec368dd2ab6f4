"""``helix ingest polymarket``: Polymarket markets, wallet trades, books and CLOB trades into
the log — without gaps after a restart, without duplicates, without crashing on bad input.

Three sources, through :class:`~helix.venues.polymarket_sdk.PolymarketGateway`:

* **Gamma** ``/markets`` every ``poll_s`` (the chosen condition ids, or every active market):
  a :class:`~events.poly.PolyMarket` whenever the listing's content changed (its id is derived
  from the content, so an unchanged listing is the same event), and a
  :class:`~events.poly.PolyResolved` once a listing is closed with final prices
  (:func:`~helix.feeds.polymarket.convert.resolution_of`).  Before the first publication for
  a market the feed reads that market's last listing and resolution from the log, so a restart
  long after JetStream's duplicate window still publishes nothing twice.
* **Data API** ``/trades`` every ``poll_s``, per batch of markets, since each market's last
  trade minus ``overlap_s``: :class:`~events.poly.PolyTrade`.  After a restart a market's
  cursor resumes from the last ``PolyTrade`` on the log, and the ids already stored in the
  overlap are read back, so the overlap repairs the gap without re-publishing anything.
  (A poll that returns ``trade_limit`` rows may have been cut short: it is counted in
  ``truncated`` and the cursor still moves on — poll more often or raise the limit.)
* **CLOB market channel** for the markets' outcome tokens: :class:`~events.poly.PolyBook`,
  :class:`events.market.Trade` (``last_trade_price``) and ``market_resolved``.  The gateway
  reconnects with backoff when the socket drops (the fresh ``book`` snapshots repair the
  books); should the stream itself fail, the feed restarts it with backoff too.

Unreadable items (:class:`~helix.feeds.polymarket.convert.Malformed`) go to
``dlq.feed.polymarket`` with their reason, once each; nothing stops the feed except a
configuration error (a refused connection) or ``stop``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS

from events.market import Trade
from events.ops import DeadLetter
from events.poly import VENUE, PolyBook, PolyMarket, PolyResolved, PolyTrade
from helix.clock import Clock
from helix.codec import Codec
from helix.errors import ConfigError, HelixError
from helix.feeds.polymarket.convert import Malformed, resolution_of
from helix.feeds.polymarket.resolve import known_market, known_resolution
from helix.store.jsraw import direct_get_last
from helix.store.market import MarketAppender, MarketEvent, event_headers
from helix.store.replay import replay_batches
from helix.store.streams import MARKET
from helix.venues.polymarket_sdk import PolymarketGateway

log = logging.getLogger(__name__)

NS = 1_000_000_000
SEEN_PER_MARKET = 20_000


@dataclass
class MarketState:
    """What the feed knows of one market (keyed by condition id)."""

    tokens: tuple[str, ...] = ()
    listing_id: uuid.UUID | None = None  # the last PolyMarket published (or found on the log)
    resolved: bool = False
    checked_log: bool = False
    cursor_ready: bool = False
    resuming: bool = False  # the first trade poll after resuming from the log (gap repair)
    trades_done: bool = False  # resolved, and polled once more since: no trades will come
    floor_ns: int = 0  # trades older than this are on the log already
    newest_ns: int = 0  # the newest wallet trade seen
    seen: collections.OrderedDict[uuid.UUID, int] = field(default_factory=collections.OrderedDict)
    markets: int = 0
    wallet_trades: int = 0
    clob_trades: int = 0
    books: int = 0
    repaired: int = 0
    last_event_ns: int = 0

    def accept(self, trade: PolyTrade) -> bool:
        """Whether a fetched trade is new (and now remembered); pure bookkeeping."""
        if trade.ts_event < self.floor_ns or trade.event_id in self.seen:
            return False
        self.seen[trade.event_id] = trade.ts_event
        if len(self.seen) > SEEN_PER_MARKET:
            self.seen.popitem(last=False)
        self.newest_ns = max(self.newest_ns, trade.ts_event)
        return True


@dataclass
class PolyFeedStats:
    started_ns: int = 0
    reconnects: int = 0
    dead_letters: int = 0
    polls: int = 0
    poll_errors: int = 0
    stream_restarts: int = 0
    truncated: int = 0
    resolutions: int = 0
    markets: dict[str, MarketState] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        """The status entry (the keys ``helix feeds status`` and the metrics read, and more):
        ``trades`` counts wallet and CLOB trades, ``tickers`` books, ``klines`` listings."""
        return {
            "started_ns": self.started_ns,
            "reconnects": self.reconnects,
            "dead_letters": self.dead_letters,
            "polls": self.polls,
            "poll_errors": self.poll_errors,
            "stream_restarts": self.stream_restarts,
            "truncated": self.truncated,
            "resolutions": self.resolutions,
            "symbols": {
                cid: {
                    "trades": st.wallet_trades + st.clob_trades,
                    "wallet_trades": st.wallet_trades,
                    "clob_trades": st.clob_trades,
                    "liquidations": 0,
                    "tickers": st.books,
                    "klines": st.markets,
                    "repaired": st.repaired,
                    "resolved": st.resolved,
                    "last_event_ns": st.last_event_ns,
                }
                for cid, st in self.markets.items()
            },
        }


class PolymarketFeed:
    """See the module docstring.

    Args:
        nc: the NATS connection (appends go through :class:`MarketAppender`).
        gateway: an open :class:`PolymarketGateway`.
        clock: receive times.
        markets: condition ids to follow (with ``active`` too: these plus the active ones).
        active: follow every active, not closed market Gamma lists (up to ``market_limit``).
        poll_s: Gamma and Data API polling period (``Settings.polymarket_poll_s``).
        overlap_s: how far before a market's last trade each trade poll starts.
        subject_prefix / stream: where market facts go (tests use a private stream).
        dlq_subject: where unreadable items go.
        tokens_per_connection: outcome tokens per market-channel socket.
    """

    def __init__(
        self,
        *,
        nc: NATS,
        gateway: PolymarketGateway,
        clock: Clock,
        markets: Sequence[str] = (),
        active: bool = False,
        poll_s: float = 30.0,
        overlap_s: int = 60,
        trade_limit: int = 1000,
        trade_batch: int = 10,
        market_limit: int = 500,
        tokens_per_connection: int = 200,
        restart_s: tuple[float, float] = (0.5, 30.0),
        codec: Codec | None = None,
        subject_prefix: str = "mkt",
        stream: str = MARKET,
        dlq_subject: str = "dlq.feed.polymarket",
        on_stats: Callable[[PolyFeedStats], None] | None = None,
    ) -> None:
        if not markets and not active:
            raise ConfigError("name the markets to follow (condition ids) or follow --active")
        self.nc = nc
        self.gateway = gateway
        self.clock = clock
        self.chosen = tuple(dict.fromkeys(markets))
        self.active = active
        self.poll_s = poll_s
        self.overlap_s = overlap_s
        self.trade_limit = trade_limit
        self.trade_batch = max(1, trade_batch)
        self.market_limit = market_limit
        self.per_connection = max(1, tokens_per_connection)
        self.restart_s = restart_s
        self.codec = codec or Codec()
        self.prefix = subject_prefix
        self.stream = stream
        self.dlq_subject = dlq_subject
        self.on_stats = on_stats
        self.stats = PolyFeedStats(markets={cid: MarketState() for cid in self.chosen})
        self._subscribed: set[str] = set()
        self._streams: set[asyncio.Task[None]] = set()
        self._dead_seen: set[uuid.UUID] = set()
        self._app: MarketAppender | None = None
        self._dlq: MarketAppender | None = None
        self._fatal: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> PolyFeedStats:
        """Ingest until ``stop`` is set, then flush and return the statistics.

        Raises:
            ConfigError: Polymarket refused us (the stream or a poll); the feed stops.
        """
        self.stats.started_ns = self.clock.now_ns()
        async with (
            MarketAppender(self.nc, codec=self.codec, subject_prefix=self.prefix) as app,
            MarketAppender(self.nc, codec=self.codec) as dlq,
        ):
            self._app, self._dlq = app, dlq
            try:
                while not stop.is_set():
                    await self.poll_once()
                    self._subscribe_new_tokens(stop)
                    self._report()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self.poll_s)
                    if self._fatal is not None:
                        raise self._fatal
            finally:
                for task in list(self._streams):
                    task.cancel()
                for task in list(self._streams):
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await app.flush()
                await dlq.flush()
                self._report()
        return self.stats

    def _report(self) -> None:
        self.stats.reconnects = self.gateway.reconnects
        if self.on_stats is not None:
            self.on_stats(self.stats)

    # -- polling -----------------------------------------------------------------------------

    async def poll_once(self) -> None:
        """One round: listings (and resolutions), then wallet trades of every known market.

        Transport failures are counted and logged (the next round retries); a refusal
        (``ConfigError``) propagates.
        """
        self.stats.polls += 1
        try:
            await self._poll_markets()
        except ConfigError:
            raise
        except HelixError as exc:
            self.stats.poll_errors += 1
            log.warning("polymarket: market poll failed: %s", exc)
        cids = [c for c, st in self.stats.markets.items() if not st.trades_done]
        for i in range(0, len(cids), self.trade_batch):
            batch = cids[i : i + self.trade_batch]
            try:
                await self._poll_trades(batch)
            except ConfigError:
                raise
            except HelixError as exc:
                self.stats.poll_errors += 1
                log.warning("polymarket: trade poll of %s failed: %s", ",".join(batch), exc)

    async def _poll_markets(self) -> None:
        now = self.clock.now_ns()
        items: list[PolyMarket | Malformed] = []
        if self.active:
            items += await self.gateway.markets(
                now_ns=now, active=True, closed=False, limit=self.market_limit
            )
        listed = {m.condition_id for m in items if isinstance(m, PolyMarket)}
        wanted = [c for c, st in self.stats.markets.items() if c not in listed and not st.resolved]
        if wanted:  # chosen markets, and followed ones that left the active list (closing)
            items += await self.gateway.markets(
                now_ns=now, condition_ids=wanted, limit=len(wanted) + 10
            )
        for item in items:
            if isinstance(item, Malformed):
                await self._dead(item, now)
            else:
                await self._listing(item, now)

    async def _listing(self, market: PolyMarket, now: int) -> None:
        st = self.stats.markets.setdefault(market.condition_id, MarketState())
        st.tokens = market.token_ids
        await self._check_log(market.condition_id, st)
        if st.listing_id != market.event_id:
            st.listing_id = market.event_id
            st.markets += 1
            st.last_event_ns = max(st.last_event_ns, market.ts_event)
            await self._append(market)
        resolved = resolution_of(market, now_ns=now)
        if resolved is not None:
            await self._resolved(resolved)

    async def _check_log(self, cid: str, st: MarketState) -> None:
        """Once per market: what the log already holds (the last listing, a resolution)."""
        if st.checked_log:
            return
        listing = await known_market(
            self.nc, cid, prefix=self.prefix, stream=self.stream, codec=self.codec
        )
        if listing is not None:
            st.listing_id = listing.event_id
        resolution = await known_resolution(
            self.nc, cid, prefix=self.prefix, stream=self.stream, codec=self.codec
        )
        st.resolved = st.resolved or resolution is not None
        st.checked_log = True

    async def _resolved(self, resolved: PolyResolved) -> None:
        st = self.stats.markets.setdefault(resolved.condition_id, MarketState())
        await self._check_log(resolved.condition_id, st)
        if st.resolved:
            return
        st.resolved = True
        self.stats.resolutions += 1
        st.last_event_ns = max(st.last_event_ns, resolved.ts_event)
        await self._append(resolved)

    async def _resume(self, cid: str, st: MarketState) -> None:
        """Once per market: start the trade cursor at the log's last trade minus the overlap,
        remembering the ids already stored in that overlap."""
        st.cursor_ready = True
        subject = f"{self.prefix}.{VENUE}.{PolyTrade.KIND}.{cid}"
        last = await direct_get_last(self.nc, self.stream, subject)
        if last is None:
            return
        event = self.codec.decode(last.data)
        if not isinstance(event, PolyTrade):
            return
        st.floor_ns = max(0, event.ts_event - self.overlap_s * NS)
        st.newest_ns = event.ts_event
        st.resuming = True
        # Stored times are never before the trades' own times: reading from the floor in
        # stored time sees every trade of the overlap.
        async for batch in replay_batches(
            self.nc, subjects=subject, stream=self.stream, start_time_ns=st.floor_ns,
            codec=self.codec,
        ):  # fmt: skip
            for _, e in batch:
                if isinstance(e, PolyTrade) and e.ts_event >= st.floor_ns:
                    st.seen[e.event_id] = e.ts_event

    async def _poll_trades(self, cids: list[str]) -> None:
        states = [self.stats.markets[c] for c in cids]
        finished = [st.resolved for st in states]  # resolved before this poll: the last one
        for cid, st in zip(cids, states, strict=True):
            if not st.cursor_ready:
                await self._resume(cid, st)
        starts = [st.newest_ns // NS - self.overlap_s if st.newest_ns else None for st in states]
        start_s = None if None in starts else max(0, min(s for s in starts if s is not None))
        now = self.clock.now_ns()
        rows = await self.gateway.wallet_trades(
            now_ns=now, market=",".join(cids), start_s=start_s, limit=self.trade_limit
        )
        if len(rows) >= self.trade_limit:
            self.stats.truncated += 1
            log.warning("polymarket: %d trades of %s in one poll: older ones may be missing",
                        len(rows), ",".join(cids))  # fmt: skip
        fresh: list[PolyTrade] = []
        for row in rows:
            if isinstance(row, Malformed):
                await self._dead(row, now)
                continue
            owner = self.stats.markets.get(row.condition_id)
            if owner is not None and owner.accept(row):
                fresh.append(row)
        fresh.sort(key=lambda t: (t.ts_event, t.trade_key))  # the Data API lists newest first
        for trade in fresh:
            owner = self.stats.markets[trade.condition_id]
            owner.wallet_trades += 1
            owner.repaired += owner.resuming
            owner.last_event_ns = max(owner.last_event_ns, trade.ts_event)
            await self._append(trade)
        for st, done in zip(states, finished, strict=True):
            st.resuming = False
            st.trades_done = done
            if st.newest_ns:  # older trades are on the log now: forget them
                st.floor_ns = max(st.floor_ns, st.newest_ns - self.overlap_s * NS)
                while st.seen and next(iter(st.seen.values())) < st.floor_ns:
                    st.seen.popitem(last=False)

    # -- the market channel ------------------------------------------------------------------

    def _subscribe_new_tokens(self, stop: asyncio.Event) -> None:
        tokens = [
            t
            for st in self.stats.markets.values()
            if not st.resolved
            for t in st.tokens
            if t not in self._subscribed
        ]
        for i in range(0, len(tokens), self.per_connection):
            chunk = tokens[i : i + self.per_connection]
            self._subscribed.update(chunk)
            task = asyncio.create_task(self._stream(chunk, stop), name="polymarket-market-ws")
            self._streams.add(task)
            task.add_done_callback(self._streams.discard)

    async def _stream(self, tokens: list[str], stop: asyncio.Event) -> None:
        first, most = self.restart_s
        delay = first
        while not stop.is_set():
            try:
                async for items in self.gateway.market_stream(tokens):
                    delay = first
                    await self._items(items)
            except ConfigError as exc:  # refused: stop the whole feed
                self._fatal = exc
                stop.set()
                return
            except HelixError as exc:
                log.warning("polymarket: market stream failed (%s); restarting", exc)
            self.stats.stream_restarts += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, most)

    async def _items(self, items: list[PolyBook | Trade | PolyResolved | Malformed]) -> None:
        now = self.clock.now_ns()
        for item in items:
            if isinstance(item, Malformed):
                await self._dead(item, now)
            elif isinstance(item, PolyResolved):
                await self._resolved(item)
            elif isinstance(item, PolyBook):
                st = self.stats.markets.get(item.condition_id) or self._by_token(item.symbol)
                if st is not None:
                    st.books += 1
                    st.last_event_ns = max(st.last_event_ns, item.ts_event)
                await self._append(item)
            else:
                st = self._by_token(item.symbol)
                if st is not None:
                    st.clob_trades += 1
                    st.last_event_ns = max(st.last_event_ns, item.ts_event)
                await self._append(item)

    def _by_token(self, token: str) -> MarketState | None:
        for st in self.stats.markets.values():
            if token in st.tokens:
                return st
        return None

    # -- output ------------------------------------------------------------------------------

    async def _append(self, event: MarketEvent) -> None:
        assert self._app is not None
        await self._app.append(event)

    async def _dead(self, item: Malformed, now: int) -> None:
        """Dead-letter an unreadable item once (the same listing fails every poll)."""
        digest = hashlib.sha1(f"{item.source}\x1f{item.raw}".encode(), usedforsecurity=False)
        letter_id = uuid.uuid5(uuid.NAMESPACE_URL, f"feed:polymarket:{digest.hexdigest()}")
        if letter_id in self._dead_seen:
            return
        self._dead_seen.add(letter_id)
        self.stats.dead_letters += 1
        assert self._dlq is not None
        letter = DeadLetter(
            event_id=letter_id,
            ts_event=now,
            ts_recorded=now,
            source="feed:polymarket",
            vertical="ops",
            origin=f"feed:polymarket:{item.source}",
            reason=item.reason,
            raw=item.raw.encode("utf-8", "replace"),
        )
        await self._dlq.publish_raw(
            self.dlq_subject, self.codec.encode(letter), event_headers(letter)
        )
