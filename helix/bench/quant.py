"""``helix bench quant``: a year of 1m candles for one symbol through LHM-1 and the §3 clusters.

The model is :func:`helix.quant.heatmap.lhm1` over ``candles`` 1-minute candles, with one display
column per day (365 × 250 for a year), followed by :func:`helix.quant.clusters.detect_clusters`
and the whale-target score on the last column (long + short, ``P0`` = the last close). The clock
covers both. The candles come from :func:`simulated_candles`, which is seeded and does no I/O.

numba compiles the kernels on their first call, or loads them from its cache in
``helix/quant/__pycache__``. That one-off cost is paid on a small warm-up window. It is reported
separately and kept out of the timed runs.

The baseline is measured in the same run, so the ratio survives a noisy machine. It is a single
``np.histogram2d`` of all ``8n`` level prices into the same (column, bin) grid, with the prices and
column indices computed before the clock starts. That is the static heatmap numpy gives for one
call: every level is counted once, with no consumption, no OI attribution and no decay. It is a
reference point, not a floor: on the 2-core development VM the whole model runs about 1.5 times
faster than this one call. Both figures are the median of ``repeat`` runs.

Peak memory is the tracemalloc peak of one extra, untimed model run. numba's allocations go
through numpy's allocator, so tracemalloc sees them.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from helix.bench.report import Figure
from helix.quant._lhm_kernels import cache_misses
from helix.quant.clusters import ScoredCluster, detect_clusters, whale_target, whale_target_scores
from helix.quant.heatmap import DEFAULT_LEVERAGES, HeatmapResult, lhm1
from helix.quant.liquidation import simplified_liquidation_prices
from helix.quant.spikes import rolling_z

F64 = npt.NDArray[np.float64]

MINUTE_NS = 60_000_000_000
YEAR_OF_MINUTES = 525_600
DAY_OF_MINUTES = 1_440
WARMUP_CANDLES = 2_000
TARGET = 5_000_000  # candles/s


@dataclass(frozen=True, slots=True)
class Candles:
    """One symbol's 1m candles with open interest (base units) and taker quote volumes."""

    ts: npt.NDArray[np.int64]
    high: F64
    low: F64
    close: F64
    open_interest: F64
    taker_buy_quote: F64
    taker_sell_quote: F64

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def head(self, n: int) -> Candles:
        """The first ``n`` candles."""
        return Candles(
            self.ts[:n], self.high[:n], self.low[:n], self.close[:n], self.open_interest[:n],
            self.taker_buy_quote[:n], self.taker_sell_quote[:n],
        )  # fmt: skip


def simulated_candles(n: int = YEAR_OF_MINUTES, *, seed: int = 7) -> Candles:
    """A seeded random walk shaped like a liquid perpetual's 1m candles.

    The price starts at 60,000 and follows Student-t returns (df 4), scaled by a volatility that
    changes every day (lognormal) and follows an intraday cycle. Wicks add half a candle's
    volatility on each side. The open interest starts near 50,000 (base units) and follows a
    mean-reverting log walk with a 3-day memory. Large moves add to it. Candles below −4σ flush
    part of it, as liquidation cascades do, and it slowly rebuilds between them. Taker buys lead
    on up-candles. The quote volume is about 0.1% of the open interest per minute, and higher when
    volatility is high.

    Args:
        n: Number of candles.
        seed: Seed of the generator.

    Returns:
        The candles, with timestamps one minute apart from 0.
    """
    rng = np.random.default_rng(seed)
    minute = np.arange(n)
    day_vol = np.exp(rng.normal(0.0, 0.35, n // DAY_OF_MINUTES + 1))[minute // DAY_OF_MINUTES]
    sigma = 0.0008 * day_vol * (1.0 + 0.3 * np.sin(2 * np.pi * minute / DAY_OF_MINUTES))
    ret = rng.standard_t(4, n) * sigma / np.sqrt(2.0)  # a t(4) variable has variance 2
    close = 60_000.0 * np.exp(np.cumsum(ret))
    open_ = np.append(60_000.0, close[:-1])
    wick = np.abs(rng.normal(0.0, 0.5, (2, n))) * sigma
    high = np.maximum(open_, close) * (1.0 + wick[0])
    low = np.minimum(open_, close) * (1.0 - wick[1])

    big = np.abs(ret) / sigma
    shock = rng.normal(0.0, 3e-4, n) + 2e-4 * (big - big.mean())
    flush = np.where(ret < -4.0 * sigma, 5.0 * np.abs(ret), 0.0)  # cascades flush longs ...
    shock -= flush - flush.mean()  # ... and open interest rebuilds between them
    log_oi = np.empty(n)
    x, phi = 0.0, 1.0 - 1.0 / (3 * DAY_OF_MINUTES)
    for t, s in enumerate(shock.tolist()):  # AR(1): sequential, and cheap at this size
        x = phi * x + s
        log_oi[t] = x
    open_interest = 50_000.0 * np.exp(log_oi)

    quote = open_interest * close * 1e-3 * day_vol * np.exp(rng.normal(0.0, 0.5, n))
    buy_share = np.clip(0.5 + 0.25 * np.tanh(ret / sigma) + rng.normal(0.0, 0.05, n), 0.02, 0.98)
    return Candles(
        minute.astype(np.int64) * MINUTE_NS, high, low, close, open_interest,
        quote * buy_share, quote * (1.0 - buy_share),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ModelOutput:
    """What one model run produces: the heatmap and the scored clusters of its last column."""

    heatmap: HeatmapResult
    clusters: list[ScoredCluster]
    target: ScoredCluster | None


def run_model(c: Candles, *, display_every: int = DAY_OF_MINUTES) -> ModelOutput:
    """LHM-1 over the candles, then the §3 clusters of the last column (long + short).

    Args:
        c: Candles.
        display_every: Candles per display column.

    Returns:
        The heatmap, the scored clusters and the whale target.
    """
    hm = lhm1(
        c.ts, c.high, c.low, c.close, open_interest=c.open_interest,
        taker_buy_quote=c.taker_buy_quote, taker_sell_quote=c.taker_sell_quote,
        display_every=display_every,
    )  # fmt: skip
    p0 = float(c.close[-1])
    centers = 0.5 * (hm.edges[:-1] + hm.edges[1:])
    z = rolling_z(c.open_interest[-49:], 48)[-1] if len(c) > 48 else float("nan")
    scored = whale_target_scores(detect_clusters(hm.total[-1], centers, p0), p0, float(z))
    return ModelOutput(hm, scored, whale_target(scored))


def level_grid_inputs(c: Candles, *, display_every: int = DAY_OF_MINUTES) -> tuple[F64, F64]:
    """Column index and price of each of the ``8n`` levels, as the baseline bins them."""
    price = (c.high + c.low + c.close) / 3.0
    lev = np.asarray(DEFAULT_LEVERAGES)
    k = np.concatenate(
        [
            simplified_liquidation_prices("long", 1.0, lev),
            simplified_liquidation_prices("short", 1.0, lev),
        ]
    )
    prices = (price[:, None] * k).ravel()
    cols = np.repeat(np.arange(len(c)) // display_every, k.shape[0]).astype(np.float64)
    return cols, prices


@dataclass(frozen=True, slots=True)
class QuantBench:
    """Figures of ``helix bench quant``.

    Attributes:
        figures: The candles/s figure beside its baseline, for :func:`print_figures`.
        candles: Candles per run.
        shape: Heatmap shape (columns, bins).
        model_s: Model seconds per run (all runs, in order).
        baseline_s: Baseline seconds per run.
        first_call_s: The warm-up call (numba compile, or load from its cache).
        compiled: Whether the warm-up compiled (False: every kernel came from the cache).
        peak_mb: tracemalloc peak of one model run, MB.
        clusters: Clusters found on the last column.
        target: The whale target of the last run, if any.
    """

    figures: list[Figure]
    candles: int
    shape: tuple[int, int]
    model_s: list[float]
    baseline_s: list[float]
    first_call_s: float
    compiled: bool
    peak_mb: float
    clusters: int
    target: ScoredCluster | None

    def details(self) -> list[str]:
        """Lines printed under the table: seconds, compile time, memory, clusters."""
        model, base = sorted(self.model_s), sorted(self.baseline_s)
        how = "compiled" if self.compiled else "loaded from numba's cache"
        target = self.target
        where = (
            f"{target.cluster.side} cluster at {target.cluster.price:,.0f}"
            f" (score {target.score:.1f})"
            if target
            else "none"
        )
        return [
            f"model    : median {statistics.median(model):.3f} s (min {model[0]:.3f},"
            f" max {model[-1]:.3f}, {len(model)} runs), {self.candles:,} candles"
            f" -> {self.shape[0]}x{self.shape[1]} grid",
            f"baseline : median {statistics.median(base):.3f} s (min {base[0]:.3f},"
            f" max {base[-1]:.3f}): one np.histogram2d of the 8n level prices, no consumption",
            f"first call, not timed above: {self.first_call_s:.2f} s (kernels {how})",
            f"peak memory of one model run (tracemalloc): {self.peak_mb:,.0f} MB",
            f"clusters on the last column: {self.clusters}, whale target: {where}",
        ]


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run_quant_bench(
    *,
    candles: int = YEAR_OF_MINUTES,
    repeat: int = 5,
    seed: int = 7,
    display_every: int = DAY_OF_MINUTES,
    progress: Callable[[str], None] = print,
) -> QuantBench:
    """Time the model and the baseline on the same simulated candles.

    Args:
        candles: Number of 1m candles (a year by default).
        repeat: Timed runs of each (the median is reported).
        seed: Seed of :func:`simulated_candles`.
        display_every: Candles per display column (a day by default).
        progress: Receives one line per stage.

    Returns:
        The figures and the details printed beside them.
    """
    progress(f"simulating {candles:,} 1m candles ...")
    c = simulated_candles(candles, seed=seed)
    progress("warm-up (numba compiles or loads its cache) ...")
    misses = cache_misses()
    first_call_s = _timed(lambda: run_model(c.head(min(WARMUP_CANDLES, candles))))
    compiled = cache_misses() > misses

    progress(f"model x{repeat} ...")
    model_s = []
    out: ModelOutput | None = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = run_model(c, display_every=display_every)
        model_s.append(time.perf_counter() - t)
    assert out is not None

    progress(f"baseline x{repeat} ...")
    cols, prices = level_grid_inputs(c, display_every=display_every)
    m = out.heatmap.column_index.shape[0]
    bins = (np.arange(m + 1, dtype=np.float64), out.heatmap.edges)
    baseline_s = [_timed(lambda: np.histogram2d(cols, prices, bins=bins)) for _ in range(repeat)]

    progress("peak memory ...")
    tracemalloc.start()
    try:
        run_model(c, display_every=display_every)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    model = statistics.median(model_s)
    base = statistics.median(baseline_s)
    figure = Figure(
        "LHM-1 heatmap + clusters, one symbol",
        candles / model,
        candles / base,
        "one np.histogram2d of the 8n level prices into the same grid",
        "candles/s",
        f">= {TARGET:,}/s",
    )
    return QuantBench(
        [figure], candles, (m, out.heatmap.edges.size - 1), model_s, baseline_s, first_call_s,
        compiled, peak / 1e6, len(out.clusters), out.target,
    )  # fmt: skip
