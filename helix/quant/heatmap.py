"""LHM-1 liquidation heatmap (``quant.md`` §2.2): numpy input handling and numba kernels.

Every candle ``t`` opens 4 long and 4 short levels (one per leverage bucket) at the §1.3 estimator
``P_t(1 ∓ 1/L ± m)``. A long level is consumed by the first later candle with ``Low ≤ liq``, a
short one by the first later candle with ``High ≥ liq`` (inclusive, never by its own candle).

Implementation (an exact restatement of §2.2, not an approximation). This module checks the
inputs and prepares the per-candle series with numpy: entry price, ``ΔN_t``, long share and decay.
Two compiled passes in :mod:`helix.quant._lhm_kernels` then do the rest. numba compiles them on
their first call (several seconds) and caches them in ``__pycache__`` for later processes.

* **Consumption times** do not depend on notionals, so every level's is found before the
  recurrence runs, in one backward sweep. The strict prefix-minimum records of the later lows
  (and, negated, of the later highs) are kept on a monotonic stack. Each level is one short
  search on that stack, started from the previous candle's answer for the same leverage.
* **Recurrence and display columns**, in one forward loop. Steps 6 and 8 scale *every* active
  level by the same factor, so a level's notional is ``u × F`` with one running product ``F``,
  and the sequential part is a scalar recurrence over ``C_t``, ``net_t``, ``A_t`` and ``F_t``.
  Each new level adds its ``u`` to the slot of the candle that will consume it. The current
  display column is kept in the same ``u`` space, with a live-level count per bin. Each level's
  removal is booked on the column in which it is consumed, and every column is written out at
  its last candle. ``F`` never underflows: when a factor would take it below 1e-200, the old
  value moves into a "frame" that later reads apply lazily. A wipe is a frame with factor 0, so
  it costs ``O(1)``.

Output memory is ``O(columns × bins)``, and the removals booked per column need 3 times as much
again. Transient memory is one ``(n, 8)`` int32 array of consumption times plus ``O(n)``
per-candle arrays: about 65 MB at peak for a year of 1m candles. On the 2-core development VM,
that year (525,600 candles, 365 × 250 grid) takes 0.08–0.1 s once compiled, 5–6.5 million
candles/s. ``helix bench quant`` measures it.

Choices where §2.2 leaves room ([OURS], tested):

* ``ΔN_0`` uses ``prev_open_interest`` (default ``OI_0``, so ``ΔN_0 = 0``: the window starts empty).
* ``ΔN_t`` may be given directly in USD (``delta_notional``, as TV-2 does).
* Decay (step 8, off by default) is applied at the start of candle ``t ≥ 1`` to levels opened
  before ``t``, with ``Δt = ts_t − ts_{t−1}``. Consumed notional ``C_t`` is measured after decay.
* ``net_t < 0`` with nothing active (``A_t = 0``) does nothing. A factor of 0 wipes all levels.
* Bins: ``edges`` are ascending. A level at ``edges[i] ≤ p < edges[i+1]`` goes to bin ``i`` (for
  ``Δ = 1`` edges at integers this is ``b = floor(p)``). Levels outside the edges stay in the state
  (they are consumed and scaled normally) but are not drawn. Default edges: 250 equal bins over
  ``[0.88·min(Low), 1.12·max(High)]``, which always contains every level (10x lies 9.5% away).
* Display: column ``j`` is the snapshot at candle ``(j+1)·display_every − 1``, plus the last candle
  when ``n`` is not a multiple of ``display_every``. A year of 1m candles with
  ``display_every=1440`` gives 365 × 250.
* Float cancellation residues in the incremental grid: negatives are clipped to 0, and bins with
  no live level are set to exactly 0 (a per-bin live-level count is kept).
* NaN prices never consume a level and are never drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from helix.quant._lhm_kernels import (
    MAX_CANDLES,
    first_at_or_below,
    lhm_run,
    liquidation_deaths,
)
from helix.quant.liquidation import simplified_liquidation_prices

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

DEFAULT_LEVERAGES: tuple[float, ...] = (10.0, 25.0, 50.0, 100.0)
DEFAULT_WEIGHTS: tuple[float, ...] = (0.40, 0.30, 0.20, 0.10)
DEFAULT_BINS = 250

__all__ = ["HeatmapResult", "LevelsNow", "default_edges", "levels_now", "lhm1"]


@dataclass(frozen=True, slots=True)
class HeatmapResult:
    """LHM-1 output.

    Attributes:
        column_index: Candle index of each display column, shape ``(M,)``.
        column_ts: Timestamp (int ns) of each display column.
        edges: Price bin edges, shape ``(B + 1,)``.
        long: Long notional per column and bin (USD), shape ``(M, B)``.
        short: Short notional per column and bin (USD), shape ``(M, B)``.
        consumed: ``C_t`` per candle (realized-liquidation estimate), shape ``(n,)``.
        net: ``net_t`` per candle, shape ``(n,)``.
        active: Total active notional after each candle (drawn or not), shape ``(n,)``.
    """

    column_index: I64
    column_ts: I64
    edges: F64
    long: F64
    short: F64
    consumed: F64
    net: F64
    active: F64

    @property
    def total(self) -> F64:
        """Long + short notional per column and bin."""
        return np.asarray(self.long + self.short, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class LevelsNow:
    """The current heatmap column: levels still open after the last candle.

    Attributes:
        edges: Price bin edges, shape ``(B + 1,)``.
        long: Long notional per bin.
        short: Short notional per bin.
    """

    edges: F64
    long: F64
    short: F64


def default_edges(low: npt.ArrayLike, high: npt.ArrayLike, bins: int = DEFAULT_BINS) -> F64:
    """Default y axis: ``bins`` equal bins over ``[0.88·min(Low), 1.12·max(High)]`` (§2.2)."""
    lo = 0.88 * float(np.min(low))
    hi = 1.12 * float(np.max(high))
    return np.linspace(lo, hi, bins + 1, dtype=np.float64)


def _first_at_or_below(values: F64, start: I64, thresh: F64) -> I64:
    """First ``t ≥ start`` with ``values[t] ≤ thresh`` (``len(values)`` if none), per query.

    The same monotonic-stack search that :func:`lhm1` uses for consumption times, for arbitrary
    queries.
    """
    return first_at_or_below(
        np.ascontiguousarray(values, dtype=np.float64),
        np.ascontiguousarray(start, dtype=np.int64),
        np.ascontiguousarray(thresh, dtype=np.float64),
    )


def _column_indices(n: int, every: int) -> I64:
    idx = np.arange(every - 1, n, every, dtype=np.int64)
    if idx.size == 0 or idx[-1] != n - 1:
        idx = np.append(idx, np.int64(n - 1))
    return idx


def lhm1(
    ts: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    *,
    open_interest: npt.ArrayLike | None = None,
    prev_open_interest: float | None = None,
    delta_notional: npt.ArrayLike | None = None,
    vwap: npt.ArrayLike | None = None,
    taker_buy_quote: npt.ArrayLike | None = None,
    taker_sell_quote: npt.ArrayLike | None = None,
    long_share: npt.ArrayLike | None = None,
    mark_high: npt.ArrayLike | None = None,
    mark_low: npt.ArrayLike | None = None,
    leverages: tuple[float, ...] = DEFAULT_LEVERAGES,
    weights: tuple[float, ...] = DEFAULT_WEIGHTS,
    mmr: float = 0.005,
    net_uses_consumed: bool = True,
    half_life_ns: int | None = None,
    edges: npt.ArrayLike | None = None,
    display_every: int = 1,
) -> HeatmapResult:
    """Run LHM-1 over one window of candles (state starts empty at the window start).

    Open is not used by LHM-1 and is therefore not an argument.

    Args:
        ts: Candle open timestamps, int ns, ascending, shape ``(n,)``.
        high: Last-price highs.
        low: Last-price lows.
        close: Closes.
        open_interest: OI in base units per candle (used unless ``delta_notional`` is given).
        prev_open_interest: OI before the first candle; default ``OI_0`` (so ``ΔN_0 = 0``).
        delta_notional: ``ΔN_t`` directly in USD (overrides ``open_interest``).
        vwap: Candle VWAP (entry proxy); default typical price ``(H+L+C)/3``.
        taker_buy_quote: Taker buy quote volume per candle.
        taker_sell_quote: Taker sell quote volume per candle.
        long_share: Long share ``s_t`` directly (overrides taker volumes); default 0.5.
        mark_high: Mark-price highs, used for consumption when given.
        mark_low: Mark-price lows, used for consumption when given.
        leverages: Leverage buckets.
        weights: Bucket weights (sum 1).
        mmr: Maintenance rate ``m`` of the §1.3 estimator.
        net_uses_consumed: ``net_t = ΔN_t + C_t`` if true, else ``ΔN_t``.
        half_life_ns: Optional decay half-life in ns (step 8); ``None`` disables decay.
        edges: Ascending price bin edges; default :func:`default_edges`.
        display_every: Candles per display column (last snapshot of each group is shown).

    Returns:
        The heatmap and per-candle series.

    Raises:
        ValueError: On inconsistent shapes, missing OI input or more than ``MAX_CANDLES``
            candles.
    """
    t_ns = np.ascontiguousarray(ts, dtype=np.int64)
    n = t_ns.shape[0]
    if n == 0 or t_ns.shape != (n,):
        raise ValueError("ts/high/low/close must be non-empty 1-D arrays of equal length")
    if n > MAX_CANDLES:
        raise ValueError(f"at most {MAX_CANDLES} candles per window")
    h = _series(high, n, "high")
    lo = _series(low, n, "low")
    c = _series(close, n, "close")
    if len(leverages) != len(weights) or display_every < 1:
        raise ValueError("leverages/weights length mismatch or display_every < 1")

    price = (h + lo + c) / 3.0 if vwap is None else _series(vwap, n, "vwap")
    if delta_notional is not None:
        dn = _series(delta_notional, n, "delta_notional")
    elif open_interest is not None:
        oi = _series(open_interest, n, "open_interest")
        first = oi[0] if prev_open_interest is None else prev_open_interest
        dn = np.diff(oi, prepend=first) * price
    else:
        raise ValueError("open_interest or delta_notional is required")
    if long_share is not None:
        share = _series(long_share, n, "long_share")
    elif taker_buy_quote is not None and taker_sell_quote is not None:
        buy = _series(taker_buy_quote, n, "taker_buy_quote")
        tot = buy + _series(taker_sell_quote, n, "taker_sell_quote")
        share = np.divide(buy, tot, out=np.full(n, 0.5), where=tot > 0)
    else:
        share = np.full(n, 0.5)
    trig_h = h if mark_high is None else _series(mark_high, n, "mark_high")
    trig_l = lo if mark_low is None else _series(mark_low, n, "mark_low")
    decay = np.ones(n)
    if half_life_ns is not None:
        decay[1:] = np.exp2(-np.diff(t_ns).astype(np.float64) / float(half_life_ns))
    w = np.ascontiguousarray(weights, dtype=np.float64)
    # Level price = P_t·k with the §1.3 multiplier k, the same product the estimator computes.
    k_long = simplified_liquidation_prices(
        "long", 1.0, np.asarray(leverages, dtype=np.float64), mmr
    )
    k_short = simplified_liquidation_prices(
        "short", 1.0, np.asarray(leverages, dtype=np.float64), mmr
    )
    e = default_edges(lo, h) if edges is None else np.ascontiguousarray(edges, dtype=np.float64)
    if e.ndim != 1:
        raise ValueError("edges must be 1-D")

    death = liquidation_deaths(trig_l, trig_h, price, k_long, k_short)
    net, consumed, active, long_g, short_g = lhm_run(
        dn, share, decay, death, w, net_uses_consumed, price, k_long, k_short, display_every,
        e, _uniform(e),
    )  # fmt: skip
    cols = _column_indices(n, display_every)
    return HeatmapResult(cols, t_ns[cols], e, long_g, short_g, consumed, net, active)


def _series(x: npt.ArrayLike, n: int, name: str) -> F64:
    """A per-candle input as a contiguous float64 array of shape ``(n,)``.

    The kernels do not check bounds, so every per-candle input is checked here.
    """
    arr = np.ascontiguousarray(x, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    return arr


def _uniform(edges: F64) -> bool:
    """Whether ``edges`` are equally spaced (as ``np.linspace`` makes them).

    Any edges give the same bins; equal spacing only lets the kernel guess a bin arithmetically
    instead of bisecting.
    """
    if edges.shape[0] < 2:
        return False
    d = np.diff(edges)
    return bool(d.min() > 0 and d.max() - d.min() <= 1e-6 * d.min())


def levels_now(result: HeatmapResult) -> LevelsNow:
    """Levels remaining after the last candle (the current heatmap column).

    Args:
        result: Output of :func:`lhm1` (its last column is always the last candle).

    Returns:
        Long and short notional per bin with the bin edges.
    """
    return LevelsNow(result.edges, result.long[-1].copy(), result.short[-1].copy())
