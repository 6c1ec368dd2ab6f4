"""``candles_1m``: 1-minute OHLCV, trade count and buy/sell volume from trades.

Higher timeframes are ``date_bin`` queries over the 1-minute rows (:func:`query_candles`), so
they work with or without TimescaleDB.  Within a batch trades are folded per (venue, symbol,
minute) in memory; the folded rows are merged into the table with one set-based upsert whose
open/close keep the first/last trade by (ts_event, stream sequence), so the result does not
depend on how the log was cut into batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import asyncpg

from events.market import Trade
from projections.base import NS_PER_MINUTE, Batch, ns_to_dt

Key = tuple[str, str, int]


@dataclass(slots=True)
class Bar:
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int
    buy_volume: Decimal
    sell_volume: Decimal
    open_ts: int
    open_seq: int
    close_ts: int
    close_seq: int


def fold_trades(batch: Batch) -> dict[Key, Bar]:
    """Pure: trades of a batch -> one bar per (venue, symbol, minute start ns)."""
    bars: dict[Key, Bar] = {}
    zero = Decimal(0)
    for seq, e in batch:
        if type(e) is not Trade:
            continue
        ts = e.ts_event
        key = (e.venue, e.symbol, ts - ts % NS_PER_MINUTE)
        px, qty = e.price, e.qty
        bar = bars.get(key)
        if bar is None:
            buy = e.side == "buy"
            bars[key] = Bar(
                px, px, px, px, qty, 1, qty if buy else zero, zero if buy else qty,
                ts, seq, ts, seq,
            )  # fmt: skip
            continue
        if px > bar.high:
            bar.high = px
        elif px < bar.low:
            bar.low = px
        bar.volume += qty
        bar.trades += 1
        if e.side == "buy":
            bar.buy_volume += qty
        else:
            bar.sell_volume += qty
        if ts < bar.open_ts or (ts == bar.open_ts and seq < bar.open_seq):
            bar.open, bar.open_ts, bar.open_seq = px, ts, seq
        if ts > bar.close_ts or (ts == bar.close_ts and seq >= bar.close_seq):
            bar.close, bar.close_ts, bar.close_seq = px, ts, seq
    return bars


UPSERT = """
INSERT INTO candles_1m AS c (venue, symbol, bucket, open, high, low, close, volume, trades,
                             buy_volume, sell_volume, open_ts, open_seq, close_ts, close_seq)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::numeric[], $5::numeric[],
                     $6::numeric[], $7::numeric[], $8::numeric[], $9::bigint[], $10::numeric[],
                     $11::numeric[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[])
ON CONFLICT (venue, symbol, bucket) DO UPDATE SET
    open = CASE WHEN (EXCLUDED.open_ts, EXCLUDED.open_seq) < (c.open_ts, c.open_seq)
                THEN EXCLUDED.open ELSE c.open END,
    open_seq = CASE WHEN (EXCLUDED.open_ts, EXCLUDED.open_seq) < (c.open_ts, c.open_seq)
                THEN EXCLUDED.open_seq ELSE c.open_seq END,
    open_ts = LEAST(c.open_ts, EXCLUDED.open_ts),
    close = CASE WHEN (EXCLUDED.close_ts, EXCLUDED.close_seq) >= (c.close_ts, c.close_seq)
                THEN EXCLUDED.close ELSE c.close END,
    close_seq = CASE WHEN (EXCLUDED.close_ts, EXCLUDED.close_seq) >= (c.close_ts, c.close_seq)
                THEN EXCLUDED.close_seq ELSE c.close_seq END,
    close_ts = GREATEST(c.close_ts, EXCLUDED.close_ts),
    high = GREATEST(c.high, EXCLUDED.high),
    low = LEAST(c.low, EXCLUDED.low),
    volume = c.volume + EXCLUDED.volume,
    trades = c.trades + EXCLUDED.trades,
    buy_volume = c.buy_volume + EXCLUDED.buy_volume,
    sell_volume = c.sell_volume + EXCLUDED.sell_volume
"""


async def write_bars(conn: asyncpg.Connection, bars: dict[Key, Bar]) -> None:
    if not bars:
        return
    cols: list[list[object]] = [[] for _ in range(15)]
    for (venue, symbol, minute), b in bars.items():
        row = (
            venue, symbol, ns_to_dt(minute), b.open, b.high, b.low, b.close, b.volume,
            b.trades, b.buy_volume, b.sell_volume, b.open_ts, b.open_seq, b.close_ts, b.close_seq,
        )  # fmt: skip
        for col, value in zip(cols, row, strict=True):
            col.append(value)
    await conn.execute(UPSERT, *cols)


@dataclass(frozen=True)
class CandlesProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "candles"
    stream: str = "MARKET"
    subjects: tuple[str, ...] = ("mkt.*.trade.>",)
    tables: tuple[str, ...] = ("candles_1m",)

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        await write_bars(conn, fold_trades(batch))


TIMEFRAMES = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
}

QUERY = """
SELECT date_bin($4::interval, bucket, TIMESTAMPTZ '1970-01-01') AS time,
       (array_agg(open ORDER BY bucket))[1] AS open,
       max(high) AS high,
       min(low) AS low,
       (array_agg(close ORDER BY bucket DESC))[1] AS close,
       sum(volume) AS volume,
       sum(trades)::bigint AS trades,
       sum(buy_volume) AS buy_volume,
       sum(sell_volume) AS sell_volume
FROM candles_1m
WHERE venue = $1 AND symbol = $2
  AND ($5::timestamptz IS NULL OR bucket >= date_bin($4::interval, $5, TIMESTAMPTZ '1970-01-01'))
  AND ($6::timestamptz IS NULL OR bucket < $6)
GROUP BY 1
ORDER BY 1 DESC
LIMIT $3
"""
