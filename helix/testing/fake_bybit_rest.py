"""The public REST market endpoints of :class:`helix.testing.fake_bybit.FakeBybit`.

``/v5/market/{recent-trade, kline, open-interest, funding/history, tickers, instruments-info,
time}`` (category ``linear`` only), answered from the fake's :class:`FakeMarket` in Bybit's
envelope (``retCode``/``retMsg``/``result``/``retExtInfo``/``time``) with the rate-limit headers
``X-Bapi-Limit``, ``X-Bapi-Limit-Status`` and ``X-Bapi-Limit-Reset-Timestamp`` on every
response.  Bad parameters get ``retCode`` 10001 (HTTP 200, as on Bybit).  The limit headers
count requests in 5-second windows but never refuse one on their own; only
``rate_limit_next`` makes calls fail (10006).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from helix.testing.fake_bybit_market import (
    FUNDING_CAP,
    FUNDING_STEP_MS,
    KLINE_INTERVALS,
    MINUTE_MS,
    OI_INTERVALS,
    OI_STEP_MS,
    QTY_SCALE,
    FakeMarket,
    SymbolMarket,
    ceil_ms,
    floor_ms,
    fmt_rate,
    fmt_units,
    trim,
)


class ParamError(ValueError):
    """A request Bybit would answer with retCode 10001."""


def _lookup(market: FakeMarket, symbol: str | None) -> SymbolMarket:
    if not symbol:
        raise ParamError("params error: symbol is required")
    m = market.markets.get(symbol)
    if m is None:
        raise ParamError("params error: Symbol Is Invalid")
    return m


def recent_trades(market: FakeMarket, symbol: str | None, limit: int) -> dict[str, Any]:
    m = _lookup(market, symbol)
    trades = list(m.trades)[-limit:] if limit else []
    trades.reverse()
    return {
        "category": "linear",
        "list": [
            {
                "execId": t.trade_id,
                "symbol": t.symbol,
                "price": t.price,
                "size": t.size,
                "side": t.side,
                "time": str(t.ts_ms),
                "isBlockTrade": False,
                "isRPITrade": False,
                "seq": str(t.seq),
            }
            for t in trades
        ],
    }


def klines(
    market: FakeMarket,
    symbol: str | None,
    interval: str,
    start: int | None,
    end: int | None,
    limit: int,
) -> dict[str, Any]:
    """Bars whose start is in ``[start, end]``, newest first: with ``start`` the oldest
    ``limit`` from there, otherwise the newest ``limit`` up to ``end`` (default now).
    The current, still open bar is included (as on Bybit)."""
    m = _lookup(market, symbol)
    minutes = KLINE_INTERVALS.get(interval)
    if minutes is None:
        raise ParamError(f"params error: interval {interval!r} is not supported by the fake")
    g = minutes * MINUTE_MS
    n = len(m.bars) + 1
    first_g = ceil_ms(m.bars_start, g)
    last_g = floor_ms(m.bars_start + (n - 1) * MINUTE_MS, g)
    lo = first_g if start is None else max(first_g, ceil_ms(start, g))
    hi = last_g if end is None else min(last_g, floor_ms(end, g))
    rows: list[list[str]] = []
    if lo <= hi:
        if start is not None:
            hi = min(hi, lo + (limit - 1) * g)
        else:
            lo = max(lo, hi - (limit - 1) * g)
        scale = m.spec.scale
        for gs in range(hi, lo - 1, -g):
            i0 = (gs - m.bars_start) // MINUTE_MS
            bars = [m.bar(i) for i in range(i0, min(n, i0 + minutes))]
            rows.append(
                [
                    str(gs),
                    trim(m.fmt_price(bars[0][0])),
                    trim(m.fmt_price(max(b[1] for b in bars))),
                    trim(m.fmt_price(min(b[2] for b in bars))),
                    trim(m.fmt_price(bars[-1][3])),
                    trim(fmt_units(sum(b[4] for b in bars), QTY_SCALE)),
                    trim(fmt_units(sum(b[5] for b in bars), scale + QTY_SCALE)),
                ]
            )
    return {"category": "linear", "symbol": m.symbol, "list": rows}


def open_interest(
    market: FakeMarket,
    symbol: str | None,
    interval_time: str | None,
    start: int | None,
    end: int | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    m = _lookup(market, symbol)
    step = OI_INTERVALS.get(interval_time or "")
    if step is None:
        raise ParamError("params error: intervalTime must be one of " + ",".join(OI_INTERVALS))
    first_t = m.oi_start
    last_t = m.oi_start + (len(m.oi) - 1) * OI_STEP_MS
    lo = ceil_ms(max(first_t, start if start is not None else first_t), step)
    hi = floor_ms(min(last_t, end if end is not None else last_t), step)
    if cursor:
        if not cursor.startswith("oi") or not cursor[2:].isdigit():
            raise ParamError("params error: invalid cursor")
        hi = min(hi, int(cursor[2:]))
    rows: list[dict[str, str]] = []
    next_cursor = ""
    if lo <= hi:
        page_lo = max(lo, hi - (limit - 1) * step)
        for t in range(hi, page_lo - 1, -step):
            v = m.oi[(t - m.oi_start) // OI_STEP_MS]
            rows.append(
                {
                    "openInterest": fmt_units(2 * v * 100_000, 8),
                    "singleOpenInterest": fmt_units(v, QTY_SCALE),
                    "timestamp": str(t),
                }
            )
        if page_lo - step >= lo:
            next_cursor = f"oi{page_lo - step}"
    return {
        "category": "linear",
        "symbol": m.symbol,
        "list": rows,
        "nextPageCursor": next_cursor,
    }


def funding_history(
    market: FakeMarket, symbol: str | None, start: int | None, end: int | None, limit: int
) -> dict[str, Any]:
    m = _lookup(market, symbol)
    if start is not None and end is None:
        raise ParamError("params error: endTime is required when startTime is passed")
    first_t = m.funding_start
    last_t = m.funding_start + (len(m.funding) - 1) * FUNDING_STEP_MS
    lo = ceil_ms(max(first_t, start if start is not None else first_t), FUNDING_STEP_MS)
    hi = floor_ms(min(last_t, end if end is not None else last_t), FUNDING_STEP_MS)
    rows: list[dict[str, str]] = []
    if m.funding and lo <= hi:
        page_lo = max(lo, hi - (limit - 1) * FUNDING_STEP_MS)
        for t in range(hi, page_lo - 1, -FUNDING_STEP_MS):
            rate = m.funding[(t - m.funding_start) // FUNDING_STEP_MS]
            rows.append(
                {
                    "symbol": m.symbol,
                    "fundingRate": fmt_rate(rate),
                    "fundingRateTimestamp": str(t),
                }
            )
    return {"category": "linear", "list": rows}


def tickers(market: FakeMarket, symbol: str | None) -> dict[str, Any]:
    markets = [_lookup(market, symbol)] if symbol else list(market.markets.values())
    return {
        "category": "linear",
        "list": [m.ticker(market.now_ms, market.next_funding) for m in markets],
    }


def instruments(
    market: FakeMarket,
    symbol: str | None,
    status: str | None,
    base_coin: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """Sorted by symbol; by default only ``Trading`` ones (as on Bybit for linear)."""
    wanted = status or "Trading"
    items = [
        instrument_info(m)
        for m in sorted(market.markets.values(), key=lambda m: m.symbol)
        if m.spec.status == wanted
        and (not symbol or m.symbol == symbol)
        and (not base_coin or m.spec.base == base_coin)
    ]
    offset = 0
    if cursor:
        if not cursor.startswith("ix") or not cursor[2:].isdigit():
            raise ParamError("params error: invalid cursor")
        offset = int(cursor[2:])
    page = items[offset : offset + limit]
    more = offset + limit < len(items)
    return {
        "category": "linear",
        "list": page,
        "nextPageCursor": f"ix{offset + limit}" if more else "",
    }


def instrument_info(m: SymbolMarket) -> dict[str, Any]:
    spec = m.spec
    pre = spec.status == "PreLaunch"
    max_qty = fmt_units(spec.mean_qty * 50_000, QTY_SCALE)
    return {
        "symbol": spec.symbol,
        "contractType": "LinearPerpetual",
        "status": spec.status,
        "baseCoin": spec.base,
        "quoteCoin": spec.quote,
        "symbolType": "",
        "launchTime": str(spec.launch_ms),
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(spec.scale),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {
            "minPrice": m.fmt_price(spec.tick),
            "maxPrice": m.fmt_price(spec.price * 20 // spec.tick * spec.tick),
            "tickSize": m.fmt_price(spec.tick),
        },
        "lotSizeFilter": {
            "maxOrderQty": max_qty,
            "minOrderQty": "0.001",
            "qtyStep": "0.001",
            "postOnlyMaxOrderQty": max_qty,
            "maxMktOrderQty": max_qty,
            "minNotionalValue": "5",
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "settleCoin": spec.quote,
        "copyTrading": "none" if pre else "both",
        "upperFundingRate": fmt_rate(FUNDING_CAP),
        "lowerFundingRate": fmt_rate(-FUNDING_CAP),
        "displayName": "",
        "forbidUplWithdrawal": False,
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
        "isPreListing": pre,
        "preListingInfo": (
            {
                "curAuctionPhase": "ContinuousTrading",
                "phases": [],
                "auctionFeeInfo": {
                    "auctionFeeRate": "0",
                    "takerFeeRate": "0.001",
                    "makerFeeRate": "0.0004",
                },
            }
            if pre
            else None
        ),
    }


class RestApi:
    """aiohttp handlers over a :class:`FakeMarket` (state lives on the server's event loop)."""

    def __init__(self, market: FakeMarket, stats: Any, rate_limit: int) -> None:
        self.market = market
        self.stats = stats  # FakeStats: rest_calls, rate_limited
        self.rate_limit = rate_limit
        self.rate_limited_next = 0
        self._window_reset_ms = 0
        self._window_used = 0

    def add_routes(self, app: web.Application) -> None:
        routes: dict[str, Callable[[Any], dict[str, Any]]] = {
            "/v5/market/recent-trade": self._recent_trade,
            "/v5/market/kline": self._kline,
            "/v5/market/open-interest": self._open_interest,
            "/v5/market/funding/history": self._funding,
            "/v5/market/tickers": self._tickers,
            "/v5/market/instruments-info": self._instruments,
            "/v5/market/time": self._time,
        }
        for path, fn in routes.items():
            app.router.add_get(path, self._handler(fn))

    def _handler(
        self, fn: Callable[[Any], dict[str, Any]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            self.stats.rest_calls += 1
            wall = int(time.time() * 1000)
            headers = {"X-Bapi-Limit": str(self.rate_limit)}
            if self.rate_limited_next > 0:
                self.rate_limited_next -= 1
                self.stats.rate_limited += 1
                headers["X-Bapi-Limit-Status"] = "0"
                headers["X-Bapi-Limit-Reset-Timestamp"] = str(wall + 200)
                body = self._envelope(10006, "Too many visits!", {})
            else:
                if wall >= self._window_reset_ms:
                    self._window_reset_ms = wall + 5_000
                    self._window_used = 0
                self._window_used += 1
                remaining = max(0, self.rate_limit - self._window_used)
                headers["X-Bapi-Limit-Status"] = str(remaining)
                headers["X-Bapi-Limit-Reset-Timestamp"] = str(self._window_reset_ms)
                try:
                    body = self._envelope(0, "OK", fn(request.query))
                except ParamError as exc:
                    body = self._envelope(10001, str(exc), {})
            return web.Response(
                text=json.dumps(body, separators=(",", ":")),
                content_type="application/json",
                headers=headers,
            )

        return handle

    def _envelope(self, code: int, msg: str, result: dict[str, Any]) -> dict[str, Any]:
        return {
            "retCode": code,
            "retMsg": msg,
            "result": result,
            "retExtInfo": {},
            "time": self.market.now_ms,
        }

    @staticmethod
    def _int(q: Any, name: str) -> int | None:
        raw = q.get(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            raise ParamError(f"params error: {name} must be an integer") from None

    @classmethod
    def _limit(cls, q: Any, default: int, maximum: int) -> int:
        limit = cls._int(q, "limit")
        if limit is None:
            return default
        if limit < 1:
            raise ParamError("params error: limit must be >= 1")
        return min(limit, maximum)

    @staticmethod
    def _linear(q: Any, default: str | None = None) -> None:
        category = q.get("category", default)
        if category != "linear":
            raise ParamError(f"params error: category {category!r} not served (linear only)")

    def _recent_trade(self, q: Any) -> dict[str, Any]:
        self._linear(q)
        return recent_trades(self.market, q.get("symbol"), self._limit(q, 500, 1000))

    def _kline(self, q: Any) -> dict[str, Any]:
        self._linear(q, "linear")
        return klines(
            self.market,
            q.get("symbol"),
            q.get("interval", ""),
            self._int(q, "start"),
            self._int(q, "end"),
            self._limit(q, 200, 1000),
        )

    def _open_interest(self, q: Any) -> dict[str, Any]:
        self._linear(q)
        return open_interest(
            self.market,
            q.get("symbol"),
            q.get("intervalTime"),
            self._int(q, "startTime"),
            self._int(q, "endTime"),
            self._limit(q, 50, 200),
            q.get("cursor"),
        )

    def _funding(self, q: Any) -> dict[str, Any]:
        self._linear(q)
        return funding_history(
            self.market,
            q.get("symbol"),
            self._int(q, "startTime"),
            self._int(q, "endTime"),
            self._limit(q, 200, 200),
        )

    def _tickers(self, q: Any) -> dict[str, Any]:
        self._linear(q)
        return tickers(self.market, q.get("symbol"))

    def _instruments(self, q: Any) -> dict[str, Any]:
        self._linear(q)
        return instruments(
            self.market,
            q.get("symbol"),
            q.get("status"),
            q.get("baseCoin"),
            self._limit(q, 500, 1000),
            q.get("cursor"),
        )

    def _time(self, q: Any) -> dict[str, Any]:
        now = self.market.now_ms
        return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}
