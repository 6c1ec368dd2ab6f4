"""Market data events (stream ``MARKET``): trades, liquidations, tickers, klines.

Subjects are ``mkt.<venue>.<kind>.<symbol>`` so a consumer picks venue, kind and symbol by
wildcard (``mkt.bybit.trade.>``, ``mkt.*.liq.BTCUSDT``).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from events.base import Event, stable_event_id

Side = Literal["buy", "sell"]


class Trade(Event, frozen=True, kw_only=True, tag="market.trade.v1"):
    """One public trade print.  ``side`` is the aggressor (taker) side."""

    venue: str
    symbol: str
    trade_id: str
    price: Decimal
    qty: Decimal
    side: Side

    KIND = "trade"

    @property
    def natural_key(self) -> str:
        return self.trade_id


class Liquidation(Event, frozen=True, kw_only=True, tag="market.liquidation.v1"):
    """A forced liquidation print.

    ``side`` is the side of the liquidation *order*: a long position is liquidated by a sell.
    ``key`` is the venue's id when it has one, else a digest of the print's own fields.
    """

    venue: str
    symbol: str
    key: str
    price: Decimal
    qty: Decimal
    side: Side

    KIND = "liq"

    @property
    def natural_key(self) -> str:
        return self.key

    @property
    def position_side(self) -> Literal["long", "short"]:
        return "long" if self.side == "sell" else "short"


class Ticker(Event, frozen=True, kw_only=True, tag="market.ticker.v1"):
    """Derivatives ticker snapshot or delta: fields a venue did not send are ``None``."""

    venue: str
    symbol: str
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    last_price: Decimal | None = None
    open_interest: Decimal | None = None
    open_interest_value: Decimal | None = None
    funding_rate: Decimal | None = None
    next_funding_ts: int | None = None

    KIND = "ticker"

    @property
    def natural_key(self) -> str:
        return str(self.ts_event)


class Kline(Event, frozen=True, kw_only=True, tag="market.kline.v1"):
    """An OHLCV bar from the venue.  ``start`` is the bar's open time (UTC ns)."""

    venue: str
    symbol: str
    interval: str
    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    turnover: Decimal | None = None
    closed: bool = True

    KIND = "kline"

    @property
    def natural_key(self) -> str:
        return f"{self.interval}:{self.start}:{int(self.closed)}"


MarketEvent = Trade | Liquidation | Ticker | Kline
MARKET_EVENT_TYPES: tuple[type[Event], ...] = (Trade, Liquidation, Ticker, Kline)


def market_event_id(venue: str, kind: str, symbol: str, natural_key: str) -> uuid.UUID:
    """The stable id of a market fact (same print from the same venue -> same id)."""
    return stable_event_id(venue, kind, symbol, natural_key)
