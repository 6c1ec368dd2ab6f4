"""LHM-1 numba kernels against literal transcriptions (``quant.md`` §2.2).

The property test runs :func:`lhm1` on random small windows and compares every output with a
per-level transcription of §2.2. That transcription is the ``_naive`` oracle of
``test_heatmap.py``, extended to the display grid, marks, VWAP, custom leverages, edges and
``display_every``. The generated windows are built to hit the cases the kernels treat specially:
ties at the inclusive boundary, wipes, tiny decay factors that start new frames, and levels
outside the edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helix.quant._lhm_kernels import bin_index, liquidation_deaths
from helix.quant.heatmap import (
    DEFAULT_LEVERAGES,
    DEFAULT_WEIGHTS,
    HeatmapResult,
    default_edges,
    lhm1,
)
from helix.quant.liquidation import Side, simplified_liquidation_prices

F64 = npt.NDArray[np.float64]
TINY = 1e-300  # absolute floor: values this small are float noise whatever their scale


@dataclass
class Window:
    """Inputs of one LHM-1 run (the keyword arguments of :func:`lhm1` plus ts/high/low/close)."""

    ts: npt.NDArray[np.int64]
    high: F64
    low: F64
    close: F64
    dn: F64
    share: F64
    vwap: F64 | None = None
    mark_high: F64 | None = None
    mark_low: F64 | None = None
    half_life: int | None = None
    edges: F64 | None = None
    every: int = 1
    net_uses_consumed: bool = True
    leverages: tuple[float, ...] = DEFAULT_LEVERAGES
    weights: tuple[float, ...] = DEFAULT_WEIGHTS

    def entry(self) -> F64:
        return (self.high + self.low + self.close) / 3.0 if self.vwap is None else self.vwap

    def run(self) -> HeatmapResult:
        return lhm1(
            self.ts, self.high, self.low, self.close, delta_notional=self.dn,
            long_share=self.share, vwap=self.vwap, mark_high=self.mark_high,
            mark_low=self.mark_low, half_life_ns=self.half_life, edges=self.edges,
            display_every=self.every, net_uses_consumed=self.net_uses_consumed,
            leverages=self.leverages, weights=self.weights,
        )  # fmt: skip


@dataclass
class Level:
    long: bool
    liq: float
    notional: float
    ghost: float  # the notional without consumption: the scale of float residues it leaves
    opened: float  # levels opened with 0 (a share of 0 or 1) are never drawn
    alive: bool = True


@dataclass
class Literal:
    consumed: list[float] = field(default_factory=list)
    net: list[float] = field(default_factory=list)
    active: list[float] = field(default_factory=list)
    gross: list[float] = field(default_factory=list)  # Σ ghost: scale of the active residue
    long: list[F64] = field(default_factory=list)
    short: list[F64] = field(default_factory=list)
    long_gross: list[F64] = field(default_factory=list)
    short_gross: list[F64] = field(default_factory=list)
    long_empty: list[npt.NDArray[np.bool_]] = field(default_factory=list)  # no live level
    short_empty: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    fragile: bool = False  # a decision was within float noise: implementations may differ


def literal(win: Window) -> Literal:
    """§2.2 one level at a time: steps 1–8 in order, with a snapshot at every column end."""
    with np.errstate(all="ignore"):  # tiny notionals over- and underflow on purpose
        return _literal(win)


def _literal(win: Window) -> Literal:
    n = win.ts.shape[0]
    p = win.entry()
    trig_h = win.high if win.mark_high is None else win.mark_high
    trig_l = win.low if win.mark_low is None else win.mark_low
    edges = default_edges(win.low, win.high) if win.edges is None else win.edges
    nb = edges.shape[0] - 1
    levels: list[Level] = []
    out = Literal()
    for t in range(n):
        if win.half_life is not None and t > 0:
            x = float(np.exp2(-float(win.ts[t] - win.ts[t - 1]) / float(win.half_life)))
            for lv in levels:
                lv.notional *= x
                lv.ghost *= x
        hit = [
            lv
            for lv in levels
            if lv.alive
            and ((lv.long and trig_l[t] <= lv.liq) or (not lv.long and trig_h[t] >= lv.liq))
        ]
        c = sum(lv.notional for lv in hit)
        for lv in hit:
            lv.alive = False
        nt = win.dn[t] + c if win.net_uses_consumed else win.dn[t]
        if nt != 0.0 and abs(nt) < 1e-9 * (abs(win.dn[t]) + c):
            out.fragile = True  # the sign of net_t is float noise
        if nt > 0:
            for lev, w in zip(win.leverages, win.weights, strict=True):
                for side in ("long", "short"):
                    liq = float(simplified_liquidation_prices(side, p[t], lev, 0.005))
                    s = win.share[t] if side == "long" else 1.0 - win.share[t]
                    v = nt * s * w
                    levels.append(Level(side == "long", liq, v, v, v))
        elif nt < 0:
            a = sum(lv.notional for lv in levels if lv.alive)
            if a > 0:
                k = max(0.0, 1.0 - abs(nt) / a)
                gross = sum(lv.ghost for lv in levels)
                if abs(1.0 - abs(nt) / a) < 1e-6 or a < 1e-6 * gross:
                    out.fragile = True  # wipe or not is float noise
                for lv in levels:
                    lv.notional *= k
                    lv.ghost *= k
        out.consumed.append(c)
        out.net.append(nt)
        out.active.append(sum(lv.notional for lv in levels if lv.alive))
        out.gross.append(sum(lv.ghost for lv in levels))
        if t % win.every == win.every - 1 or t == n - 1:
            grids = {True: np.zeros(nb), False: np.zeros(nb)}
            gross_b = {True: np.zeros(nb), False: np.zeros(nb)}
            live = {True: np.zeros(nb, dtype=int), False: np.zeros(nb, dtype=int)}
            for lv in levels:
                b = int(np.searchsorted(edges, lv.liq, side="right")) - 1
                if 0 <= b < nb:
                    gross_b[lv.long][b] += lv.ghost
                    if lv.alive:
                        grids[lv.long][b] += lv.notional
                        live[lv.long][b] += lv.opened > 0
            out.long.append(grids[True])
            out.short.append(grids[False])
            out.long_gross.append(gross_b[True])
            out.short_gross.append(gross_b[False])
            out.long_empty.append(live[True] == 0)
            out.short_empty.append(live[False] == 0)
    return out


def _within(got: npt.ArrayLike, exp: npt.ArrayLike, scale: npt.ArrayLike) -> bool:
    g, e, sc = (np.asarray(a, dtype=np.float64) for a in (got, exp, scale))
    return bool(np.all(np.abs(g - e) <= 1e-9 * (np.abs(e) + sc) + TINY))


def assert_matches_literal(win: Window, ref: Literal) -> None:
    r = win.run()
    assert _within(r.consumed, ref.consumed, 0.0), (r.consumed, ref.consumed)
    assert _within(r.net, ref.net, np.abs(win.dn) + np.asarray(ref.consumed))
    assert _within(r.active, ref.active, ref.gross), (r.active, ref.active)
    assert _within(r.long, ref.long, ref.long_gross), (r.long, ref.long)
    assert _within(r.short, ref.short, ref.short_gross), (r.short, ref.short)
    # Bins without a live level are exactly 0, whatever residue the incremental sums leave.
    assert np.all(r.long[np.array(ref.long_empty)] == 0.0)
    assert np.all(r.short[np.array(ref.short_empty)] == 0.0)


_NET = st.one_of(
    st.floats(1.0, 1e4),  # opens
    st.floats(-1e4, -1.0),  # proportional closes
    st.just(0.0),
    st.just(-1e9),  # wipe: closes beyond everything active
)


@st.composite
def windows(draw: st.DrawFn) -> Window:
    n = draw(st.integers(1, 24))
    rets = np.array(draw(st.lists(st.floats(-0.03, 0.03), min_size=n, max_size=n)))
    wig = np.array(draw(st.lists(st.floats(0.0, 0.02), min_size=2 * n, max_size=2 * n)))
    close = 100.0 * np.exp(np.cumsum(rets))
    open_ = np.append(100.0, close[:-1])
    high = np.maximum(open_, close) * (1.0 + wig[:n])
    low = np.minimum(open_, close) * (1.0 - wig[n:])
    win = Window(
        ts=np.cumsum(draw(st.lists(st.integers(0, 1_000), min_size=n, max_size=n))).astype(
            np.int64
        ),
        high=high,
        low=low,
        close=close,
        dn=np.array(draw(st.lists(_NET, min_size=n, max_size=n))),
        share=np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))),
        every=draw(st.integers(1, 5)),
        net_uses_consumed=draw(st.booleans()),
    )
    if draw(st.booleans()):  # small half-lives make factors down to 2^-1000: new frames
        win.half_life = draw(st.sampled_from([1, 3, 50, 10_000]))
    if draw(st.booleans()):
        win.vwap = (high + low + close) / 3.0 * (1.0 + draw(st.floats(-0.002, 0.002)))
    if draw(st.booleans()):
        win.mark_high = high * (1.0 + draw(st.floats(-0.003, 0.003)))
        win.mark_low = low * (1.0 + draw(st.floats(-0.003, 0.003)))
    if draw(st.booleans()):
        levs = draw(
            st.lists(st.sampled_from([2.0, 5.0, 20.0, 50.0, 125.0]), min_size=1, max_size=6)
        )
        raw = np.array(draw(st.lists(st.floats(0.1, 1.0), min_size=len(levs), max_size=len(levs))))
        win.leverages, win.weights = tuple(levs), tuple((raw / raw.sum()).tolist())
    # Ties at the inclusive boundary: a later trigger equal to an earlier level's price.
    ties = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1), st.integers(0, n - 1), st.integers(0, 5), st.booleans()
            ),
            max_size=4,
        )
    )
    if ties and win.vwap is None and win.mark_low is None:
        win.vwap = win.entry()  # editing a last-price low must not move the entry price
    entry = win.entry()
    trig_l = win.low if win.mark_low is None else win.mark_low
    trig_h = win.high if win.mark_high is None else win.mark_high
    for src, dst, j, is_long in ties:
        if src < dst:
            lev = win.leverages[j % len(win.leverages)]
            side: Side = "long" if is_long else "short"
            liq = float(simplified_liquidation_prices(side, entry[src], lev, 0.005))
            (trig_l if is_long else trig_h)[dst] = liq
    win.edges = draw(_edges(win))
    return win


@st.composite
def _edges(draw: st.DrawFn, win: Window) -> F64 | None:
    kind = draw(st.sampled_from(["default", "narrow", "uneven", "on_levels"]))
    entry = win.entry()
    lo, hi = float(entry.min()) * 0.9, float(entry.max()) * 1.1
    if kind == "default":
        return None
    if kind == "narrow":  # cuts off levels on both sides
        a = draw(st.floats(0.92, 0.99)) * float(entry.min())
        return np.linspace(a, a * draw(st.floats(1.01, 1.12)), draw(st.integers(1, 40)) + 1)
    liqs = np.concatenate(
        [
            simplified_liquidation_prices(
                side, entry[:, None], np.asarray(win.leverages), 0.005
            ).ravel()
            for side in ("long", "short")
        ]
    )
    if kind == "uneven":  # edges exactly on level prices, unequal widths
        picks = draw(st.lists(st.sampled_from(liqs.tolist()), min_size=1, max_size=8))
        return np.unique(np.concatenate([[lo, hi], picks, np.linspace(lo, hi, 7)]))
    # Uniform edges whose first and last edge are level prices: [a, b) keeps a, drops b.
    a, b = sorted(
        draw(st.lists(st.sampled_from(liqs.tolist()), min_size=2, max_size=2, unique=True))
    )
    edges = np.linspace(a, b, draw(st.integers(1, 30)) + 1)
    edges[0], edges[-1] = a, b
    return edges


@settings(
    max_examples=300,
    deadline=None,  # the first example may compile the kernels
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(windows())
def test_matches_literal_transcription(win: Window) -> None:
    ref = literal(win)
    assume(not ref.fragile)
    assert_matches_literal(win, ref)


def test_tv2_shape_through_every_path() -> None:
    """A fixed window that hits a wipe, a tie, narrow edges and display_every > 1 at once."""
    n = 12
    flat = np.full(n, 100.0)
    high, low = flat.copy(), flat.copy()
    low[5] = float(simplified_liquidation_prices("long", 100.0, 100.0, 0.005))  # tie: consumed
    high[7] = 101.0
    dn = np.array([1e4, 5e3, -2e3, 0, 3e3, 0, 0, 0, -1e9, 2e3, 0, -5e2])
    win = Window(
        ts=np.arange(n, dtype=np.int64),
        high=high,
        low=low,
        close=flat,
        dn=dn,
        share=np.linspace(0.2, 0.8, n),
        edges=np.linspace(95.0, 104.0, 19),
        every=3,
    )
    ref = literal(win)
    assert not ref.fragile
    assert ref.consumed[5] > 0  # the scenario does what it says
    assert ref.active[8] == 0.0
    assert_matches_literal(win, ref)


def test_decay_never_underflows_the_scale() -> None:
    """With opens only and a tiny half-life, F alone would underflow within ~1,100 candles."""
    n = 1_500
    flat = np.full(n, 100.0)
    r = lhm1(np.arange(n, dtype=np.int64), flat, flat, flat, delta_notional=np.full(n, 10.0),
             half_life_ns=1)  # fmt: skip
    # Each candle halves what was open and opens 10: A_t = 10 (2 − 2^−t) → 20.
    np.testing.assert_allclose(r.active[-5:], 20.0, rtol=1e-12)
    np.testing.assert_allclose(r.total.sum(axis=1)[-5:], 20.0, rtol=1e-12)
    assert np.all(np.isfinite(r.long))
    assert np.all(np.isfinite(r.short))


def _brute_deaths(lo: F64, hi: F64, p: F64, kl: F64, ks: F64) -> npt.NDArray[np.int64]:
    n, nj = p.shape[0], kl.shape[0]
    out = np.full((n, 2 * nj), n, dtype=np.int64)
    for c in range(n):
        for j in range(nj):
            out[c, j] = next((t for t in range(c + 1, n) if lo[t] <= p[c] * kl[j]), n)
            out[c, nj + j] = next((t for t in range(c + 1, n) if hi[t] >= p[c] * ks[j]), n)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_deaths_match_brute_force_with_ties_and_nan(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    p = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    lo = p * (1 - np.abs(rng.normal(0, 0.01, n)))
    hi = p * (1 + np.abs(rng.normal(0, 0.01, n)))
    kl = simplified_liquidation_prices("long", 1.0, np.array([2.0, 10.0, 50.0]), 0.005)
    ks = simplified_liquidation_prices("short", 1.0, np.array([2.0, 10.0, 50.0]), 0.005)
    for _ in range(60):  # exact ties, both sides
        c, t = sorted(rng.integers(0, n, 2))
        lo[t] = p[c] * kl[rng.integers(0, 3)]
        hi[rng.integers(c, n)] = p[c] * ks[rng.integers(0, 3)]
    lo[rng.integers(0, n, 10)] = np.nan  # a NaN trigger never consumes
    hi[rng.integers(0, n, 10)] = np.nan
    got = liquidation_deaths(lo, hi, p, kl, ks)
    assert got.tolist() == _brute_deaths(lo, hi, p, kl, ks).tolist()


@pytest.mark.parametrize("drift", [-0.002, 0.002])
def test_deaths_on_a_trend_search_deep_stacks(drift: float) -> None:
    """A steady trend keeps thousands of records and makes answers jump far from the last one."""
    rng = np.random.default_rng(1)
    n = 2_500
    p = 100.0 * np.exp(np.cumsum(drift + rng.normal(0, 0.004, n)))
    lo, hi = p * 0.999, p * 1.001
    kl = simplified_liquidation_prices("long", 1.0, np.array(DEFAULT_LEVERAGES), 0.005)
    ks = simplified_liquidation_prices("short", 1.0, np.array(DEFAULT_LEVERAGES), 0.005)
    later = np.arange(n)[None, :] > np.arange(n)[:, None]
    exp = np.empty((n, 8), dtype=np.int64)
    for j in range(4):
        for col, hit in ((j, later & (lo[None, :] <= (p * kl[j])[:, None])),
                         (4 + j, later & (hi[None, :] >= (p * ks[j])[:, None]))):  # fmt: skip
            exp[:, col] = np.where(hit.any(axis=1), hit.argmax(axis=1), n)
    assert liquidation_deaths(lo, hi, p, kl, ks).tolist() == exp.tolist()


@pytest.mark.parametrize("uniform", [True, False])
def test_bins_are_searchsorted(uniform: bool) -> None:
    rng = np.random.default_rng(5)
    for edges in (
        np.linspace(80.0, 120.0, 251),
        np.linspace(0.1, 0.3, 4),
        np.sort(rng.uniform(50, 150, 30)),  # uneven: the arithmetic guess is often wrong
        np.array([1.0, 2.0]),
    ):
        p = np.concatenate(
            [
                rng.uniform(edges[0] - 5, edges[-1] + 5, 2_000),
                edges,  # every edge itself: [a, b) keeps a
                np.nextafter(edges, -np.inf),
                [np.nan, np.inf, -np.inf],
            ]
        )
        exp = np.searchsorted(edges, p, side="right") - 1
        exp[(exp < 0) | (exp >= edges.size - 1)] = -1
        assert bin_index(p, edges, uniform).tolist() == exp.tolist()
