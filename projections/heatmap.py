"""``heatmap``: liquidation heatmaps for every window (12h ... 1y) and their top clusters.

Each batch of market events (trades, klines, tickers, liquidation prints) is folded into
5-minute bars (:mod:`helix.strategies.bars`) and merged into ``heatmap_bars``.  Then, per market
the batch touched and per window, the heatmap is recomputed from the bars
(:func:`helix.quant.windows.compute_window`, LHM-1 from an empty state at the window start,
levels consumed when price trades through them) when

* a compute bar of that window closed (the window's end ``E = floor(last event time / compute
  interval)`` moved), or
* the batch changed a bar inside the current window (late data).

The window's rows in ``heatmaps``, ``heatmap_columns`` and ``heatmap_clusters`` are replaced.
Every recompute is a pure function of the bars and ``E``, and any change to them triggers one,
so the read model does not depend on how the log was cut into batches.  Only closed compute
bars are drawn: a 12h map lags the market by at most 5 minutes, a 1y map by 4 hours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import numpy as np

from helix.quant.windows import (
    BASE_INTERVAL_NS,
    WINDOWS,
    BarArrays,
    WindowHeatmap,
    WindowSpec,
    bar_arrays,
    compute_window,
)
from helix.strategies.bars import Bar, fold_bars
from projections.base import EPOCH, Batch, ns_to_dt

TOP_CLUSTERS = 10

UPSERT_BARS = """
INSERT INTO heatmap_bars AS b (venue, symbol, bucket, start_ns, open, high, low, close,
    open_ts, open_seq, close_ts, close_seq, buy_quote, sell_quote, base_volume, trades,
    kline_quote, kline_base, oi, oi_ts, liq_long_usd, liq_short_usd, last_ts)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::float8[],
    $6::float8[], $7::float8[], $8::float8[], $9::bigint[], $10::bigint[], $11::bigint[],
    $12::bigint[], $13::numeric[], $14::numeric[], $15::numeric[], $16::bigint[], $17::numeric[],
    $18::numeric[], $19::float8[], $20::bigint[], $21::numeric[], $22::numeric[], $23::bigint[])
ON CONFLICT (venue, symbol, bucket) DO UPDATE SET
    open = CASE WHEN EXCLUDED.open IS NOT NULL AND (b.open IS NULL
                OR (EXCLUDED.open_ts, EXCLUDED.open_seq) < (b.open_ts, b.open_seq))
           THEN EXCLUDED.open ELSE b.open END,
    open_ts = CASE WHEN EXCLUDED.open IS NOT NULL AND (b.open IS NULL
                OR (EXCLUDED.open_ts, EXCLUDED.open_seq) < (b.open_ts, b.open_seq))
           THEN EXCLUDED.open_ts ELSE b.open_ts END,
    open_seq = CASE WHEN EXCLUDED.open IS NOT NULL AND (b.open IS NULL
                OR (EXCLUDED.open_ts, EXCLUDED.open_seq) < (b.open_ts, b.open_seq))
           THEN EXCLUDED.open_seq ELSE b.open_seq END,
    close = CASE WHEN EXCLUDED.close IS NOT NULL AND (b.close IS NULL
                OR (EXCLUDED.close_ts, EXCLUDED.close_seq) >= (b.close_ts, b.close_seq))
           THEN EXCLUDED.close ELSE b.close END,
    close_ts = CASE WHEN EXCLUDED.close IS NOT NULL AND (b.close IS NULL
                OR (EXCLUDED.close_ts, EXCLUDED.close_seq) >= (b.close_ts, b.close_seq))
           THEN EXCLUDED.close_ts ELSE b.close_ts END,
    close_seq = CASE WHEN EXCLUDED.close IS NOT NULL AND (b.close IS NULL
                OR (EXCLUDED.close_ts, EXCLUDED.close_seq) >= (b.close_ts, b.close_seq))
           THEN EXCLUDED.close_seq ELSE b.close_seq END,
    high = GREATEST(b.high, EXCLUDED.high),
    low = LEAST(b.low, EXCLUDED.low),
    buy_quote = b.buy_quote + EXCLUDED.buy_quote,
    sell_quote = b.sell_quote + EXCLUDED.sell_quote,
    base_volume = b.base_volume + EXCLUDED.base_volume,
    trades = b.trades + EXCLUDED.trades,
    kline_quote = b.kline_quote + EXCLUDED.kline_quote,
    kline_base = b.kline_base + EXCLUDED.kline_base,
    oi = CASE WHEN EXCLUDED.oi IS NOT NULL AND (b.oi IS NULL OR EXCLUDED.oi_ts >= b.oi_ts)
         THEN EXCLUDED.oi ELSE b.oi END,
    oi_ts = CASE WHEN EXCLUDED.oi IS NOT NULL AND (b.oi IS NULL OR EXCLUDED.oi_ts >= b.oi_ts)
         THEN EXCLUDED.oi_ts ELSE b.oi_ts END,
    liq_long_usd = b.liq_long_usd + EXCLUDED.liq_long_usd,
    liq_short_usd = b.liq_short_usd + EXCLUDED.liq_short_usd,
    last_ts = GREATEST(b.last_ts, EXCLUDED.last_ts)
"""

# Compute-interval bars of one market in [from, to): the Python aggregation of
# helix.quant.windows.aggregate, done by the database so a 1y window reads 2,190 rows.
WINDOW_BARS = """
SELECT start_ns - start_ns % $5 AS k,
       (array_agg(open ORDER BY open_ts, open_seq) FILTER (WHERE open IS NOT NULL))[1],
       max(high), min(low),
       (array_agg(close ORDER BY close_ts DESC, close_seq DESC)
            FILTER (WHERE close IS NOT NULL))[1],
       sum(CASE WHEN trades > 0 THEN buy_quote + sell_quote ELSE kline_quote END),
       sum(CASE WHEN trades > 0 THEN base_volume ELSE kline_base END),
       sum(buy_quote), sum(sell_quote),
       (array_agg(oi ORDER BY oi_ts DESC) FILTER (WHERE oi IS NOT NULL))[1],
       sum(liq_long_usd), sum(liq_short_usd)
FROM heatmap_bars
WHERE venue = $1 AND symbol = $2 AND bucket >= $3 AND bucket < $4
GROUP BY 1 ORDER BY 1
"""


def _f(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else x


def bar_row(b: Bar) -> tuple[Any, ...]:
    """A bar as the row UPSERT_BARS takes (NaN/inf prices become NULL)."""
    return (
        b.venue, b.symbol, ns_to_dt(b.start), b.start, _f(b.open), _f(b.high), _f(b.low),
        _f(b.close), b.open_ts, b.open_seq, max(b.close_ts, 0), b.close_seq, b.buy_quote,
        b.sell_quote, b.base_volume, b.trades, b.kline_quote, b.kline_base, _f(b.oi),
        max(b.oi_ts, 0), b.liq_long_usd, b.liq_short_usd, b.last_ts,
    )  # fmt: skip


def window_end(last_ts: int, spec: WindowSpec) -> int:
    """Exclusive end of the closed compute bars, given the latest event time."""
    return last_ts - last_ts % spec.compute_ns


async def load_window_bars(
    conn: asyncpg.Connection, venue: str, symbol: str, spec: WindowSpec, end_ns: int
) -> BarArrays:
    rows = await conn.fetch(
        WINDOW_BARS,
        venue,
        symbol,
        ns_to_dt(end_ns - spec.range_ns),
        ns_to_dt(end_ns),
        spec.compute_ns,
    )
    nan = math.nan
    return bar_arrays(
        [tuple(nan if v is None else float(v) for v in r) for r in rows]  # type: ignore[misc]
    )


async def write_window(
    conn: asyncpg.Connection, venue: str, symbol: str, hm: WindowHeatmap | None, spec: WindowSpec
) -> None:
    """Replace one window's rows (none are left when there is nothing to draw)."""
    key = (venue, symbol, spec.name)
    for table in ("heatmap_columns", "heatmap_clusters", "heatmaps"):
        await conn.execute(
            f"DELETE FROM {table} WHERE venue = $1 AND symbol = $2 AND win = $3",
            *key,
        )
    if hm is None:
        return
    await conn.execute(
        "INSERT INTO heatmaps (venue, symbol, win, start_ts, end_ts, compute_interval,"
        " display_interval, edges, price, oi_z, bars, has_oi, long_usd, short_usd)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        *key,
        ns_to_dt(hm.start_ns),
        ns_to_dt(hm.end_ns),
        timedelta(microseconds=spec.compute_ns // 1000),
        timedelta(microseconds=spec.display_ns // 1000),
        hm.edges.tolist(),
        hm.price,
        _f(hm.oi_z),
        hm.bars,
        hm.has_oi,
        hm.long_total,
        hm.short_total,
    )
    records = [
        (
            *key,
            ns_to_dt(int(ts)),
            o,
            h,
            lo,
            c,
            cons,
            ll,
            ls,
            lg,
            sh,
        )
        for ts, o, h, lo, c, cons, ll, ls, lg, sh in zip(
            hm.column_ts.tolist(),
            hm.open.tolist(),
            hm.high.tolist(),
            hm.low.tolist(),
            hm.close.tolist(),
            hm.consumed.tolist(),
            hm.liq_long.tolist(),
            hm.liq_short.tolist(),
            hm.long.tolist(),
            hm.short.tolist(),
            strict=True,
        )
    ]
    await conn.copy_records_to_table("heatmap_columns", records=records)
    edges = hm.edges
    clusters = [
        (
            *key,
            rank,
            str(s.cluster.side),
            s.cluster.price,
            float(edges[s.cluster.start]),
            float(edges[s.cluster.stop + 1]),
            s.cluster.size,
            s.distance,
            s.share,
            s.proximity,
            s.score,
        )
        for rank, s in enumerate(hm.clusters[:TOP_CLUSTERS], start=1)
    ]
    if clusters:
        await conn.copy_records_to_table("heatmap_clusters", records=clusters)


@dataclass(frozen=True)
class HeatmapProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "heatmap"
    stream: str = "MARKET"
    subjects: tuple[str, ...] = (
        "mkt.*.trade.>",
        "mkt.*.kline.>",
        "mkt.*.ticker.>",
        "mkt.*.liq.>",
    )
    tables: tuple[str, ...] = (
        "heatmap_bars",
        "heatmap_markets",
        "heatmaps",
        "heatmap_columns",
        "heatmap_clusters",
    )
    windows: tuple[str, ...] = tuple(WINDOWS)

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        bars = fold_bars(list(batch), BASE_INTERVAL_NS)
        if not bars:
            return
        rows = [bar_row(b) for b in bars.values()]
        await conn.execute(UPSERT_BARS, *(list(col) for col in zip(*rows, strict=True)))
        touched: dict[tuple[str, str], tuple[int, int]] = {}  # market -> (min bucket, max ts)
        for (venue, symbol, start), bar in bars.items():
            lo, hi = touched.get((venue, symbol), (start, bar.last_ts))
            touched[(venue, symbol)] = (min(lo, start), max(hi, bar.last_ts))
        for (venue, symbol), (first_bucket, batch_last) in sorted(touched.items()):
            last_ts = await conn.fetchval(
                "INSERT INTO heatmap_markets AS m (venue, symbol, last_ts) VALUES ($1, $2, $3)"
                " ON CONFLICT (venue, symbol) DO UPDATE"
                " SET last_ts = GREATEST(m.last_ts, EXCLUDED.last_ts) RETURNING last_ts",
                venue,
                symbol,
                batch_last,
            )
            ends = {
                r["win"]: int(r["end_ns"])
                for r in await conn.fetch(
                    "SELECT win, (extract(epoch FROM end_ts) * 1e9)::bigint AS end_ns"
                    " FROM heatmaps WHERE venue = $1 AND symbol = $2",
                    venue,
                    symbol,
                )
            }
            for name in self.windows:
                spec = WINDOWS[name]
                end = window_end(int(last_ts), spec)
                prev = ends.get(name, -1)
                late = prev - spec.range_ns <= first_bucket < prev
                if end > prev or late:
                    await self.recompute(conn, venue, symbol, spec, end)

    async def recompute(
        self, conn: asyncpg.Connection, venue: str, symbol: str, spec: WindowSpec, end: int
    ) -> None:
        arrays = await load_window_bars(conn, venue, symbol, spec, end)
        hm = compute_window(arrays, spec, end) if len(arrays) else None
        await write_window(conn, venue, symbol, hm, spec)


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredHeatmap:
    """A window's heatmap as the read model holds it."""

    venue: str
    symbol: str
    window: str
    start_ns: int
    end_ns: int
    edges: np.ndarray
    price: float
    oi_z: float | None
    column_ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    long: np.ndarray
    short: np.ndarray
    consumed: np.ndarray
    clusters: list[dict[str, Any]]


def _ns(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(microseconds=1) * 1000


async def markets(conn: asyncpg.Connection, symbol: str | None = None) -> list[tuple[str, str]]:
    """``(venue, symbol)`` pairs that have a heatmap."""
    rows = await conn.fetch(
        "SELECT DISTINCT venue, symbol FROM heatmaps WHERE $1::text IS NULL OR symbol = $1"
        " ORDER BY 1, 2",
        symbol,
    )
    return [(r["venue"], r["symbol"]) for r in rows]


async def load_heatmap(
    conn: asyncpg.Connection, venue: str, symbol: str, window: str
) -> StoredHeatmap | None:
    """One window of one market from the read model (``None`` if it has none)."""
    head = await conn.fetchrow(
        "SELECT * FROM heatmaps WHERE venue = $1 AND symbol = $2 AND win = $3",
        venue,
        symbol,
        window,
    )
    if head is None:
        return None
    cols = await conn.fetch(
        "SELECT * FROM heatmap_columns WHERE venue = $1 AND symbol = $2 AND win = $3 ORDER BY ts",
        venue,
        symbol,
        window,
    )
    clusters = await conn.fetch(
        "SELECT * FROM heatmap_clusters WHERE venue = $1 AND symbol = $2 AND win = $3"
        " ORDER BY rank",
        venue,
        symbol,
        window,
    )

    def arr(name: str) -> np.ndarray:
        return np.asarray([r[name] for r in cols], dtype=np.float64)

    nb = len(head["edges"]) - 1
    return StoredHeatmap(
        venue=venue,
        symbol=symbol,
        window=window,
        start_ns=_ns(head["start_ts"]),
        end_ns=_ns(head["end_ts"]),
        edges=np.asarray(head["edges"], dtype=np.float64),
        price=float(head["price"]),
        oi_z=head["oi_z"],
        column_ts=np.asarray([_ns(r["ts"]) for r in cols], dtype=np.int64),
        open=arr("open"),
        high=arr("high"),
        low=arr("low"),
        close=arr("close"),
        long=np.asarray([r["long_usd"] for r in cols], dtype=np.float64).reshape(-1, nb),
        short=np.asarray([r["short_usd"] for r in cols], dtype=np.float64).reshape(-1, nb),
        consumed=arr("consumed_usd"),
        clusters=[dict(r) for r in clusters],
    )


def summarize(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One line per cluster row, for logs and the CLI."""
    return [
        f"#{r['rank']} {r['side']:<5} {r['price']:,.2f} ({r['price_low']:,.2f}-"
        f"{r['price_high']:,.2f}) ${r['size_usd']:,.0f} d={r['distance']:.2%} "
        f"score {r['score']:.1f}"
        for r in rows
    ]
