"""Bars for the liquidation model: OHLC, taker flow, open interest and liquidation prints.

One :class:`Bar` per (venue, symbol, bucket) folds every market event that falls in it:

* trades: OHLC (open/close are the first/last print by ``(ts_event, stream seq)``, so the fold
  does not depend on how the log was cut into batches), taker buy/sell quote volume, base volume;
* klines (venues or archives that give bars, not prints): OHLC with the kline's start as its
  open key and its last nanosecond as its close key, and its volume/turnover kept apart from
  trade volume, so a bucket with both is not counted twice (trades win, klines fill in);
* tickers: the last open interest (base units) and its time;
* liquidation prints: liquidated long (sell orders) and short (buy orders) notional in USD.

Prices and open interest are floats (taken, never summed); volumes and notionals are exact
``Decimal`` sums, so a bar is the same whichever way the log was cut into batches (float sums
depend on their order).  The same fold serves the heatmap projector (which merges bars into
PostgreSQL ``numeric`` columns) and the live/replay scanners (which keep them in memory), so
both see identical inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from events.base import Event
from events.market import Kline, Liquidation, Ticker, Trade

NS_PER_MINUTE = 60_000_000_000
KLINE_INTERVAL_NS: dict[str, int] = {
    **{str(m): m * NS_PER_MINUTE for m in (1, 3, 5, 15, 30, 60, 120, 240, 360, 720)},
    "D": 1_440 * NS_PER_MINUTE,
    "W": 10_080 * NS_PER_MINUTE,
}
"""Bybit's kline interval names (minutes, ``D``, ``W``) in nanoseconds."""

_ZERO = Decimal(0)
_THREE = Decimal(3)


@dataclass(slots=True)
class Bar:
    """One bucket of one market; see the module docstring.  ``oi`` is NaN until a ticker."""

    venue: str
    symbol: str
    start: int
    open: float = math.nan
    high: float = -math.inf
    low: float = math.inf
    close: float = math.nan
    open_ts: int = 0
    open_seq: int = 0
    close_ts: int = -1
    close_seq: int = 0
    buy_quote: Decimal = _ZERO
    sell_quote: Decimal = _ZERO
    base_volume: Decimal = _ZERO
    trades: int = 0
    kline_quote: Decimal = _ZERO
    kline_base: Decimal = _ZERO
    oi: float = math.nan
    oi_ts: int = -1
    liq_long_usd: Decimal = _ZERO
    liq_short_usd: Decimal = _ZERO
    last_ts: int = -1

    @property
    def has_price(self) -> bool:
        return not math.isnan(self.close)

    @property
    def volumes(self) -> tuple[float, float]:
        """``(quote, base)`` traded volume: from trades when the bucket has any, else klines."""
        if self.trades:
            return float(self.buy_quote + self.sell_quote), float(self.base_volume)
        return float(self.kline_quote), float(self.kline_base)

    def _price(self, px: float, ts: int, seq: int, close_ts: int | None = None) -> None:
        if px > self.high:
            self.high = px
        if px < self.low:
            self.low = px
        if math.isnan(self.open) or (ts, seq) < (self.open_ts, self.open_seq):
            self.open, self.open_ts, self.open_seq = px, ts, seq
        cts = ts if close_ts is None else close_ts
        if (cts, seq) >= (self.close_ts, self.close_seq):
            self.close, self.close_ts, self.close_seq = px, cts, seq

    def add(self, seq: int, event: Event) -> None:
        """Fold one market event into the bar (other events are ignored)."""
        ts = event.ts_event
        if ts > self.last_ts:
            self.last_ts = ts
        kind = type(event)
        if kind is Trade:
            assert isinstance(event, Trade)
            self._price(float(event.price), ts, seq)
            quote = event.price * event.qty
            if event.side == "buy":
                self.buy_quote += quote
            else:
                self.sell_quote += quote
            self.base_volume += event.qty
            self.trades += 1
        elif kind is Ticker:
            assert isinstance(event, Ticker)
            if event.open_interest is not None and ts >= self.oi_ts:
                self.oi, self.oi_ts = float(event.open_interest), ts
        elif kind is Liquidation:
            assert isinstance(event, Liquidation)
            usd = event.price * event.qty
            if event.side == "sell":
                self.liq_long_usd += usd
            else:
                self.liq_short_usd += usd
        elif kind is Kline:
            assert isinstance(event, Kline)
            if not event.closed:
                return
            length = KLINE_INTERVAL_NS.get(event.interval, NS_PER_MINUTE)
            last = event.start + length - 1
            o, h, lo, c = (float(x) for x in (event.open, event.high, event.low, event.close))
            self._price(o, event.start, seq)
            self._price(c, last, seq)
            self.high, self.low = max(self.high, h), min(self.low, lo)
            self.kline_base += event.volume
            turnover = event.turnover
            if turnover is None:  # a typical-price estimate, exact and order-free as a Decimal
                turnover = event.volume * (event.high + event.low + event.close) / _THREE
            self.kline_quote += turnover
            if last > self.last_ts:
                self.last_ts = last

    def merge(self, other: Bar) -> None:
        """Fold a later-read partial bar of the same bucket into this one."""
        if other.has_price:
            if math.isnan(self.open) or (other.open_ts, other.open_seq) < (
                self.open_ts,
                self.open_seq,
            ):
                self.open, self.open_ts, self.open_seq = other.open, other.open_ts, other.open_seq
            if (other.close_ts, other.close_seq) >= (self.close_ts, self.close_seq):
                self.close = other.close
                self.close_ts, self.close_seq = other.close_ts, other.close_seq
            self.high, self.low = max(self.high, other.high), min(self.low, other.low)
        self.buy_quote += other.buy_quote
        self.sell_quote += other.sell_quote
        self.base_volume += other.base_volume
        self.trades += other.trades
        self.kline_quote += other.kline_quote
        self.kline_base += other.kline_base
        if not math.isnan(other.oi) and other.oi_ts >= self.oi_ts:
            self.oi, self.oi_ts = other.oi, other.oi_ts
        self.liq_long_usd += other.liq_long_usd
        self.liq_short_usd += other.liq_short_usd
        self.last_ts = max(self.last_ts, other.last_ts)


BarKey = tuple[str, str, int]


def bar_start(ts: int, interval_ns: int) -> int:
    return ts - ts % interval_ns


def market_key(event: Event) -> tuple[str, str] | None:
    """``(venue, symbol)`` of a market event the bars use, else ``None``."""
    kind = type(event)
    if kind is Trade or kind is Ticker or kind is Liquidation or kind is Kline:
        return event.venue, event.symbol  # type: ignore[attr-defined]
    return None


def event_bucket_ts(event: Event) -> int:
    """The time that places an event in a bucket (a kline's start, else ``ts_event``)."""
    return event.start if type(event) is Kline else event.ts_event  # type: ignore[attr-defined]


def fold_bars(batch: list[tuple[int, Event]], interval_ns: int) -> dict[BarKey, Bar]:
    """Pure: a batch of ``(seq, event)`` -> one partial bar per (venue, symbol, bucket)."""
    bars: dict[BarKey, Bar] = {}
    for seq, event in batch:
        mk = market_key(event)
        if mk is None:
            continue
        start = bar_start(event_bucket_ts(event), interval_ns)
        key = (mk[0], mk[1], start)
        bar = bars.get(key)
        if bar is None:
            bar = bars[key] = Bar(mk[0], mk[1], start)
        bar.add(seq, event)
    return bars
