"""``helix backfill bybit``: history through REST, resumable, idempotent.

Klines (1m), open interest (5 min) and funding history for one symbol over ``[from, to)`` are
fetched in windows oldest first and appended as events (the same event ids as the live feed
would give them, so overlaps store nothing new).  Progress is kept in the ``helix_backfill``
key-value bucket per (symbol, kind, range): re-running the same command continues after the
last window that was acknowledged by the store.  Bybit's rate-limit headers are respected
(:meth:`BybitRest._respect_limits`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nats.aio.client import Client as NATS
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from events.market import Kline, MarketEvent, Ticker, market_event_id
from helix.clock import Clock
from helix.feeds.bybit.rest import BybitRest
from helix.store.market import MarketAppender

BUCKET = "helix_backfill"
MINUTE_MS = 60_000
KINDS = ("klines", "oi", "funding")
# (window length in ms per request, REST method)
WINDOWS = {
    "klines": 1000 * MINUTE_MS,
    "oi": 200 * 5 * MINUTE_MS,
    "funding": 200 * 8 * 60 * MINUTE_MS,
}


@dataclass
class BackfillResult:
    kind: str
    events: int = 0
    stored: int = 0
    resumed_from_ms: int = 0
    windows: int = 0


async def progress_bucket(nc: NATS) -> KeyValue:
    js = nc.jetstream()
    try:
        return await js.key_value(BUCKET)
    except (BucketNotFoundError, NotFoundError):
        return await js.create_key_value(bucket=BUCKET, history=1)


def _key(symbol: str, kind: str, start_ms: int, end_ms: int) -> str:
    return f"bybit.{symbol}.{kind}.{start_ms}.{end_ms}"


def _envelope(kind: str, symbol: str, key: str, ts_ns: int, now_ns: int) -> dict[str, Any]:
    return {
        "event_id": market_event_id("bybit", kind, symbol, key),
        "ts_event": ts_ns,
        "ts_recorded": now_ns,
        "source": "bybit-rest",
        "vertical": "perps",
        "venue": "bybit",
        "symbol": symbol,
    }


def klines_to_events(symbol: str, rows: list[list[str]], now_ns: int) -> list[MarketEvent]:
    """``/v5/market/kline`` rows (newest first) -> closed 1m :class:`Kline` events, oldest first."""
    out: list[MarketEvent] = []
    for start, o, h, lo, c, vol, turnover in sorted(rows, key=lambda r: int(r[0])):
        start_ns = int(start) * 1_000_000
        close_ns = start_ns + MINUTE_MS * 1_000_000
        out.append(
            Kline(
                **_envelope("kline", symbol, f"1:{start_ns}:1", close_ns, now_ns),
                interval="1",
                start=start_ns,
                open=Decimal(o),
                high=Decimal(h),
                low=Decimal(lo),
                close=Decimal(c),
                volume=Decimal(vol),
                turnover=Decimal(turnover),
                closed=True,
            )
        )
    return out


def oi_to_events(symbol: str, items: list[dict[str, Any]], now_ns: int) -> list[MarketEvent]:
    out: list[MarketEvent] = []
    for it in sorted(items, key=lambda i: int(i["timestamp"])):
        ts = int(it["timestamp"]) * 1_000_000
        out.append(
            Ticker(
                **_envelope("ticker", symbol, f"oi:{ts}", ts, now_ns),
                open_interest=Decimal(it["openInterest"]),
            )
        )
    return out


def funding_to_events(symbol: str, items: list[dict[str, Any]], now_ns: int) -> list[MarketEvent]:
    out: list[MarketEvent] = []
    for it in sorted(items, key=lambda i: int(i["fundingRateTimestamp"])):
        ts = int(it["fundingRateTimestamp"]) * 1_000_000
        out.append(
            Ticker(
                **_envelope("ticker", symbol, f"funding:{ts}", ts, now_ns),
                funding_rate=Decimal(it["fundingRate"]),
            )
        )
    return out


def fetch_window(
    rest: BybitRest, kind: str, symbol: str, start_ms: int, end_ms: int, now_ns: int
) -> list[MarketEvent]:
    """One window of history as events (blocking: run it in a thread)."""
    if kind == "klines":
        r = rest.get(
            "get_kline", category="linear", symbol=symbol, interval="1",
            start=start_ms, end=end_ms - 1, limit=1000,
        )  # fmt: skip
        return klines_to_events(symbol, r.get("list", []), now_ns)
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        params: dict[str, Any] = {
            "category": "linear", "symbol": symbol, "startTime": start_ms,
            "endTime": end_ms - 1, "limit": 200,
        }  # fmt: skip
        if kind == "oi":
            params["intervalTime"] = "5min"
            if cursor:
                params["cursor"] = cursor
            r = rest.get("get_open_interest", **params)
            items += r.get("list", [])
            cursor = r.get("nextPageCursor") or ""
            if not cursor or not r.get("list"):
                return oi_to_events(symbol, items, now_ns)
        else:
            r = rest.get("get_funding_rate_history", **params)
            return funding_to_events(symbol, r.get("list", []), now_ns)


async def backfill(
    nc: NATS,
    rest: BybitRest,
    *,
    symbol: str,
    kind: str,
    start_ms: int,
    end_ms: int,
    clock: Clock,
    subject_prefix: str = "mkt",
    on_window: Callable[[int, int], None] | None = None,
) -> BackfillResult:
    """Backfill one kind for one symbol; resumes from the bucket's progress for this range."""
    kv = await progress_bucket(nc)
    key = _key(symbol, kind, start_ms, end_ms)
    cursor = start_ms
    try:
        entry = await kv.get(key)
        if entry.value:
            cursor = max(start_ms, int(entry.value))
    except (KeyNotFoundError, NotFoundError):
        pass
    result = BackfillResult(kind=kind, resumed_from_ms=cursor)
    step = WINDOWS[kind]
    async with MarketAppender(nc, subject_prefix=subject_prefix) as app:
        while cursor < end_ms:
            window_end = min(cursor + step, end_ms)
            events = await asyncio.to_thread(
                fetch_window, rest, kind, symbol, cursor, window_end, clock.now_ns()
            )
            await app.append_many(events)
            stats = await app.flush()  # acked before the progress moves
            result.events += len(events)
            result.stored = stats.stored
            result.windows += 1
            cursor = window_end
            await kv.put(key, str(cursor).encode())
            if on_window is not None:
                on_window(cursor - start_ms, end_ms - start_ms)
    return result
