"""Heatmap windows (quant.md §2.2 "Timeframes"): bars in, a heatmap and its clusters out.

========= ========= ========= =========
window    compute   display   columns
========= ========= ========= =========
12h       5m        5m        144
24h       5m        5m        288
3d        5m        15m       288
7d        15m       30m       336
30d       1h        2h        360
90d       1h        6h        360
180d      4h        12h       360
1y        4h        1d        365
========= ========= ========= =========

:func:`compute_window` aggregates base bars (any interval that divides the compute interval,
5 minutes in Helix) to the compute interval, runs LHM-1 from an empty state at the window start,
keeps the last snapshot of each display bucket, and finds the §3 clusters of the last column
with their whale-target scores.  Choices ([OURS], tested):

* Buckets without a price (only a ticker arrived) contribute their open interest, not a candle.
  Missing buckets are not invented: LHM-1 runs over the buckets that exist, and a display column
  is shown for every display bucket that holds at least one.
* Open interest is carried forward from the last known value; before the first value in the
  window it is that first value, so the window starts with ``ΔN = 0`` (levels opened before the
  window are not drawn, as the window rule says).  With no open interest at all in the window
  nothing can be attributed and the heatmap is empty (``has_oi`` is false).
* Long share: taker buy / (buy + sell) quote volume; 0.5 where a bucket has no trades (klines).
* Entry proxy: the bucket's VWAP (quote / base volume), else the typical price.
* ``z_OI`` for the score is the §5 rolling z of the compute-interval OI over the previous 48
  buckets (NaN, hence ``g = 1``, until 49 buckets exist).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from helix.quant.clusters import ScoredCluster, detect_clusters, whale_target_scores
from helix.quant.heatmap import default_edges, lhm1
from helix.quant.spikes import rolling_z

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MINUTE = 60_000_000_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
OI_Z_WINDOW = 48


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """A heatmap range with its compute and display intervals (ns)."""

    name: str
    range_ns: int
    compute_ns: int
    display_ns: int

    @property
    def columns(self) -> int:
        return self.range_ns // self.display_ns


WINDOWS: dict[str, WindowSpec] = {
    w.name: w
    for w in (
        WindowSpec("12h", 12 * HOUR, 5 * MINUTE, 5 * MINUTE),
        WindowSpec("24h", DAY, 5 * MINUTE, 5 * MINUTE),
        WindowSpec("3d", 3 * DAY, 5 * MINUTE, 15 * MINUTE),
        WindowSpec("7d", 7 * DAY, 15 * MINUTE, 30 * MINUTE),
        WindowSpec("30d", 30 * DAY, HOUR, 2 * HOUR),
        WindowSpec("90d", 90 * DAY, HOUR, 6 * HOUR),
        WindowSpec("180d", 180 * DAY, 4 * HOUR, 12 * HOUR),
        WindowSpec("1y", 365 * DAY, 4 * HOUR, DAY),
    )
}
BASE_INTERVAL_NS = 5 * MINUTE
"""The bar length the projector and scanners keep; every compute interval is a multiple."""


@dataclass(frozen=True, slots=True)
class BarArrays:
    """Bars as columns, ascending by ``start``; priceless buckets have NaN OHLC.

    ``quote``/``base`` are the traded volumes the VWAP comes from; ``buy``/``sell`` the taker
    quote volumes (zero for kline-only buckets); ``oi`` is NaN where no ticker arrived.
    """

    start: I64
    open: F64
    high: F64
    low: F64
    close: F64
    quote: F64
    base: F64
    buy: F64
    sell: F64
    oi: F64
    liq_long: F64
    liq_short: F64

    def __len__(self) -> int:
        return int(self.start.shape[0])

    def select(self, mask: npt.NDArray[np.bool_]) -> BarArrays:
        return BarArrays(*(getattr(self, f)[mask] for f in _FIELDS))


_FIELDS = BarArrays.__slots__


def bar_arrays(rows: Sequence[Sequence[float]]) -> BarArrays:
    """Columns from rows ordered as :class:`BarArrays` fields (``start`` first)."""
    if not rows:
        empty = np.zeros(0)
        return BarArrays(np.zeros(0, dtype=np.int64), *([empty] * (len(_FIELDS) - 1)))
    cols = list(zip(*rows, strict=True))
    start = np.asarray(cols[0], dtype=np.int64)
    rest = [np.asarray(c, dtype=np.float64) for c in cols[1:]]
    return BarArrays(start, *rest)


def aggregate(bars: BarArrays, interval_ns: int) -> BarArrays:
    """Group bars into ``interval_ns`` buckets (first/max/min/last/sum, last known OI)."""
    n = len(bars)
    if n == 0:
        return bars
    key = bars.start - bars.start % interval_ns
    starts, _first = np.unique(key, return_index=True)
    if starts.shape[0] == n:
        return BarArrays(starts, *(getattr(bars, f) for f in _FIELDS[1:]))
    group = np.searchsorted(starts, key)
    m = starts.shape[0]
    priced = ~np.isnan(bars.close)

    def last_valid(values: F64, valid: npt.NDArray[np.bool_]) -> F64:
        out = np.full(m, np.nan)
        idx = np.nonzero(valid)[0]
        out[group[idx]] = values[idx]  # later indices overwrite earlier ones
        return out

    def first_valid(values: F64, valid: npt.NDArray[np.bool_]) -> F64:
        out = np.full(m, np.nan)
        idx = np.nonzero(valid)[0][::-1]
        out[group[idx]] = values[idx]
        return out

    high = np.full(m, -np.inf)
    np.maximum.at(high, group[priced], bars.high[priced])
    low = np.full(m, np.inf)
    np.minimum.at(low, group[priced], bars.low[priced])
    has = np.bincount(group[priced], minlength=m) > 0
    high[~has], low[~has] = np.nan, np.nan

    def total(values: F64) -> F64:
        return np.asarray(np.bincount(group, weights=values, minlength=m), dtype=np.float64)

    return BarArrays(
        starts,
        first_valid(bars.open, priced),
        high,
        low,
        last_valid(bars.close, priced),
        total(bars.quote),
        total(bars.base),
        total(bars.buy),
        total(bars.sell),
        last_valid(bars.oi, ~np.isnan(bars.oi)),
        total(bars.liq_long),
        total(bars.liq_short),
    )


def forward_fill(values: F64) -> tuple[F64, bool]:
    """Carry the last known value forward; leading NaNs take the first known value."""
    valid = ~np.isnan(values)
    if not valid.any():
        return np.zeros_like(values), False
    idx = np.where(valid, np.arange(values.shape[0]), 0)
    np.maximum.accumulate(idx, out=idx)
    out = values[idx]
    out[: int(np.argmax(valid))] = values[int(np.argmax(valid))]
    return out, True


@dataclass(frozen=True, slots=True)
class WindowHeatmap:
    """One window's heatmap, its candles per display column and the scored clusters.

    Attributes:
        spec: The window.
        start_ns / end_ns: ``[start, end)`` of the window (end = the last closed compute bar).
        column_ts: Start of each display bucket shown, shape ``(M,)``.
        edges: Price bin edges, shape ``(B + 1,)``.
        long / short: Notional per column and bin, shape ``(M, B)``.
        open / high / low / close: Price per display column.
        consumed: Estimated liquidated notional per display column (LHM-1 ``C_t``).
        liq_long / liq_short: Liquidation prints per display column (USD), for comparison.
        clusters: Scored clusters of the last column, best score first.
        price: ``P0``, the last close.
        oi_z: ``z_OI`` used for the scores.
        bars: Compute-interval buckets the model ran over.
        has_oi: Whether any open interest was known (else the map is empty).
    """

    spec: WindowSpec
    start_ns: int
    end_ns: int
    column_ts: I64
    edges: F64
    long: F64
    short: F64
    open: F64
    high: F64
    low: F64
    close: F64
    consumed: F64
    liq_long: F64
    liq_short: F64
    clusters: list[ScoredCluster]
    price: float
    oi_z: float
    bars: int
    has_oi: bool

    @property
    def centers(self) -> F64:
        return np.asarray((self.edges[:-1] + self.edges[1:]) / 2.0, dtype=np.float64)

    @property
    def long_total(self) -> float:
        return float(self.long[-1].sum()) if self.long.shape[0] else 0.0

    @property
    def short_total(self) -> float:
        return float(self.short[-1].sum()) if self.short.shape[0] else 0.0


def _sums(group: npt.NDArray[np.intp], values: F64, m: int) -> F64:
    return np.asarray(np.bincount(group, weights=values, minlength=m), dtype=np.float64)


def compute_window(
    bars: BarArrays,
    spec: WindowSpec,
    end_ns: int,
    *,
    bins: int = 250,
    last_only: bool = False,
    reach: float | None = None,
) -> WindowHeatmap | None:
    """The heatmap of ``[end_ns - range, end_ns)`` from base bars (``None`` without prices).

    Args:
        bars: Base bars, ascending (bars outside the window are ignored).
        spec: The window.
        end_ns: Exclusive end; a multiple of the compute interval.
        bins: Price bins.
        last_only: Build only the last display column (what scanners need; much cheaper).
        reach: Find clusters only among bins within this fraction of the price (the levels
            a hunt can reach); ``None`` uses the whole column.
    """
    start_ns = end_ns - spec.range_ns
    inside = (bars.start >= start_ns) & (bars.start < end_ns)
    agg = aggregate(bars.select(inside), spec.compute_ns)
    oi, has_oi = forward_fill(agg.oi)
    priced = ~np.isnan(agg.close)
    if not priced.any():
        return None
    c = agg.select(priced)
    oi = oi[priced]
    vwap = np.where(c.base > 0, c.quote / np.where(c.base > 0, c.base, 1.0), np.nan)
    typical = (c.high + c.low + c.close) / 3.0
    vwap = np.where(np.isfinite(vwap) & (vwap > 0), vwap, typical)
    kwargs: dict[str, object] = (
        {"open_interest": oi} if has_oi else {"delta_notional": np.zeros(len(c))}
    )
    res = lhm1(
        c.start,
        c.high,
        c.low,
        c.close,
        vwap=vwap,
        taker_buy_quote=c.buy,
        taker_sell_quote=c.sell,
        edges=default_edges(c.low, c.high, bins),
        display_every=len(c) if last_only else 1,
        **kwargs,  # type: ignore[arg-type]
    )
    dkey = c.start - c.start % spec.display_ns
    if last_only:
        dkey = np.full(len(c), dkey[-1])
    cols, first = np.unique(dkey, return_index=True)
    last = np.append(first[1:], len(c)) - 1
    group = np.searchsorted(cols, dkey)
    m = cols.shape[0]
    high = np.full(m, -np.inf)
    np.maximum.at(high, group, c.high)
    low = np.full(m, np.inf)
    np.minimum.at(low, group, c.low)
    z = rolling_z(oi, OI_Z_WINDOW) if has_oi else np.full(len(c), np.nan)
    oi_z = float(z[-1])
    p0 = float(c.close[-1])
    column = res.long[-1] + res.short[-1]
    centers = (res.edges[:-1] + res.edges[1:]) / 2.0
    if reach is not None:
        column = np.where(np.abs(centers - p0) <= reach * p0, column, 0.0)
    scored = whale_target_scores(detect_clusters(column, centers, p0), p0, oi_z)
    scored.sort(key=lambda s: (-s.score, s.cluster.price))
    return WindowHeatmap(
        spec=spec,
        start_ns=start_ns,
        end_ns=end_ns,
        column_ts=cols,
        edges=res.edges,
        long=res.long[[-1] * m] if last_only else res.long[last],
        short=res.short[[-1] * m] if last_only else res.short[last],
        open=c.open[first],
        high=high,
        low=low,
        close=c.close[last],
        consumed=_sums(group, res.consumed, m),
        liq_long=_sums(group, c.liq_long, m),
        liq_short=_sums(group, c.liq_short, m),
        clusters=scored,
        price=p0,
        oi_z=oi_z,
        bars=len(c),
        has_oi=has_oi,
    )
