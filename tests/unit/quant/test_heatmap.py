"""LHM-1 (``quant.md`` §2.2): TV-2 worked example, properties and a one-year size check."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pytest

from helix.quant.heatmap import _first_at_or_below, default_edges, levels_now, lhm1

H = np.array([101, 103, 102.5, 104], dtype=np.float64)
L = np.array([99, 101, 98, 99.5], dtype=np.float64)
C = np.array([100, 102, 99.5, 100], dtype=np.float64)
DN = np.array([100_000, 50_000, -30_000, -33_740.4])
S = np.array([0.60, 0.80, 0.25, 0.50])
TS = np.arange(4, dtype=np.int64) * 60_000_000_000
EDGES = np.arange(90, 113, dtype=np.float64)  # Δ = 1: bin i covers [90 + i, 91 + i)

# TV-2 heatmap, {bin: (t0, t1, t2, t3)}; positive = long, negative = short notional.
TV2_LONG: dict[int, tuple[float, ...]] = {
    90: (24_000, 24_000, 25_776, 23_198.4),
    92: (0, 19_840, 19_840, 17_856),
    96: (18_000, 18_000, 19_332, 17_398.8),
    98: (12_000, 26_880, 888, 799.2),
    99: (6_000, 6_000, 444, 0),
    100: (0, 9_920, 0, 0),
    101: (0, 4_960, 0, 0),
}
TV2_SHORT: dict[int, tuple[float, ...]] = {
    100: (4_000, 0, 1_332, 0),
    101: (8_000, 0, 2_664, 0),
    102: (0, 1_240, 1_240, 0),
    103: (12_000, 14_480, 18_476, 0),
    105: (0, 3_720, 3_720, 3_348),
    109: (16_000, 16_000, 21_328, 19_195.2),
    111: (0, 4_960, 4_960, 4_464),
}


def _close(a: npt.ArrayLike, b: npt.ArrayLike) -> None:
    """Reference tolerance: ``|a − b| ≤ 1e-9·max(1, |b|)``."""
    bb = np.asarray(b, dtype=np.float64)
    assert np.all(np.abs(np.asarray(a) - bb) <= 1e-9 * np.maximum(1.0, np.abs(bb)))


def _expected(table: Mapping[int, tuple[float, ...]]) -> npt.NDArray[np.float64]:
    out = np.zeros((4, EDGES.size - 1))
    for b, vals in table.items():
        out[:, b - 90] = vals
    return out


def test_tv2_worked_example() -> None:
    r = lhm1(TS, H, L, C, delta_notional=DN, long_share=S, edges=EDGES)
    _close(r.consumed, [0, 12_000, 47_760, 24_156])
    _close(r.net, [100_000, 62_000, 17_760, -9_584.4])
    _close(r.active, [100_000, 150_000, 120_000, 86_259.6])
    _close(r.long, _expected(TV2_LONG))
    _close(r.short, _expected(TV2_SHORT))
    _close(r.total.sum(axis=1), [100_000, 150_000, 120_000, 86_259.6])
    assert r.column_index.tolist() == [0, 1, 2, 3]
    now = levels_now(r)
    _close(now.long, _expected(TV2_LONG)[-1])
    _close(now.short, _expected(TV2_SHORT)[-1])


def test_tv2_edge_cases_strict_and_inclusive() -> None:
    r = lhm1(TS, H, L, C, delta_notional=DN, long_share=S, edges=EDGES)
    # Short 102.51 survives t2 (H = 102.5 < 102.51); long 99.5 is consumed at L = 99.5.
    assert r.short[2, 102 - 90] == pytest.approx(1_240)
    assert r.long[3, 99 - 90] == 0.0
    # Levels outside explicit edges stay in the state but are not drawn.
    narrow = lhm1(TS, H, L, C, delta_notional=DN, long_share=S, edges=EDGES[:10])
    _close(narrow.active, r.active)
    _close(narrow.long.sum(axis=1), r.long[:, :9].sum(axis=1))


def test_display_every_takes_last_snapshot() -> None:
    full = lhm1(TS, H, L, C, delta_notional=DN, long_share=S, edges=EDGES)
    r = lhm1(TS, H, L, C, delta_notional=DN, long_share=S, edges=EDGES, display_every=3)
    assert r.column_index.tolist() == [2, 3]
    assert r.column_ts.tolist() == TS[[2, 3]].tolist()
    _close(r.long, full.long[[2, 3]])
    _close(r.short, full.short[[2, 3]])


def test_net_without_consumed_flag() -> None:
    r = lhm1(TS, H, L, C, delta_notional=DN, long_share=S, edges=EDGES, net_uses_consumed=False)
    _close(r.net, DN)
    _close(r.consumed[:2], [0, 12_000])


def test_oi_base_units_first_delta_zero_and_share_default() -> None:
    oi = np.array([10.0, 11.0, 11.0, 12.0])
    r = lhm1(TS, H, L, C, open_interest=oi)
    p = (H + L + C) / 3
    assert r.net[0] == 0.0  # window starts empty: ΔN_0 = 0 unless prev_open_interest is given
    _close(r.net[1], 1.0 * p[1])
    r2 = lhm1(TS, H, L, C, open_interest=oi, prev_open_interest=9.0)
    _close(r2.net[0], p[0])
    # no taker volume → 0.5 split
    _close(r2.long[0].sum(), r2.short[0].sum())
    r3 = lhm1(
        TS,
        H,
        L,
        C,
        open_interest=oi,
        prev_open_interest=9.0,
        taker_buy_quote=np.array([3.0, 0, 0, 0]),
        taker_sell_quote=np.array([1.0, 0, 0, 0]),
    )
    _close(r3.long[0].sum(), 0.75 * p[0])


def test_default_edges_contain_all_levels() -> None:
    e = default_edges(L, H)
    assert e.size == 251
    _close([e[0], e[-1]], [0.88 * 98, 1.12 * 104])
    r = lhm1(TS, H, L, C, delta_notional=DN, long_share=S)
    _close(r.total.sum(axis=1), r.active)  # nothing falls outside the default axis


def test_decay_half_life() -> None:
    dn = np.array([1000.0, 0, 0, 0])
    flat_h, flat_l = np.full(4, 100.0), np.full(4, 100.0)
    r = lhm1(TS, flat_h, flat_l, flat_h, delta_notional=dn, half_life_ns=60_000_000_000)
    _close(r.active, [1000, 500, 250, 125])  # 2^(−Δt/half_life) per candle


def test_wipe_when_closes_exceed_active() -> None:
    dn = np.array([1000.0, -5000.0, 200.0, 0.0])
    flat = np.full(4, 100.0)
    r = lhm1(TS, flat, flat, flat, delta_notional=dn)
    _close(r.active, [1000, 0, 200, 200])
    _close(r.total.sum(axis=1), [1000, 0, 200, 200])


def _walk(n: int, seed: int = 7) -> tuple[npt.NDArray[np.float64], ...]:
    rng = np.random.default_rng(seed)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.0008, n)))
    open_ = np.append(close[0], close[:-1])
    wig = np.abs(rng.normal(0, 0.0005, (2, n)))
    high = np.maximum(open_, close) * (1 + wig[0])
    low = np.minimum(open_, close) * (1 - wig[1])
    oi = 1e5 + np.cumsum(rng.normal(5, 100, n))
    buy, sell = rng.uniform(1e5, 1e6, (2, n))
    return high, low, close, oi, buy, sell


def test_properties_conservation_and_consumption() -> None:
    n = 3_000
    high, low, close, oi, buy, sell = _walk(n, seed=3)
    ts = np.arange(n, dtype=np.int64) * 60_000_000_000
    r = lhm1(ts, high, low, close, open_interest=oi, taker_buy_quote=buy, taker_sell_quote=sell)
    # Conservation: A_t = A_{t−1} − C_t + max(net_t, 0) + (proportional-close loss ≤ 0).
    prev = np.append(0.0, r.active[:-1])
    opened = np.maximum(r.net, 0.0)
    closed = np.where(r.net < 0, np.minimum(-r.net, prev - r.consumed), 0.0)
    _close(r.active, prev - r.consumed + opened - closed)
    _close(r.total.sum(axis=1), r.active)  # the grid holds every active level
    assert np.all(r.consumed >= 0)
    assert np.all(r.active >= 0)
    # Consumption: after candle t, old longs sit below Low_t and new ones at ≤ 0.995·P_t, so no
    # long bin starting above both is filled; symmetric for shorts.
    p = (high + low + close) / 3
    for t in range(1, n, 7):
        long_top = max(low[t], 0.995 * p[t])
        assert r.long[t][r.edges[:-1] > long_top].sum() == 0.0
        short_bottom = min(high[t], 1.005 * p[t])
        assert r.short[t][r.edges[1:] <= short_bottom].sum() == 0.0


def _naive(
    h: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    dn: npt.NDArray[np.float64],
    s: npt.NDArray[np.float64],
    decay: float,
) -> tuple[list[float], list[float]]:
    """Literal per-level transcription of §2.2 (oracle for the vectorised engine)."""
    levels: list[list[float]] = []  # [side(+1 long/-1 short), liq, notional]
    consumed, active = [], []
    p = (h + lo + h) / 3
    for t in range(h.size):
        for lv in levels:
            lv[2] *= decay if t else 1.0
        hit = [
            lv for lv in levels if (lv[0] > 0 and lo[t] <= lv[1]) or (lv[0] < 0 and h[t] >= lv[1])
        ]
        c = sum(lv[2] for lv in hit)
        levels = [lv for lv in levels if lv not in hit]
        net = dn[t] + c
        if net > 0:
            for lev, w in zip((10, 25, 50, 100), (0.4, 0.3, 0.2, 0.1), strict=True):
                levels.append([1, p[t] * (1 - 1 / lev + 0.005), net * s[t] * w])
                levels.append([-1, p[t] * (1 + 1 / lev - 0.005), net * (1 - s[t]) * w])
        elif net < 0:
            a = sum(lv[2] for lv in levels)
            if a > 0:
                k = max(0.0, 1 - abs(net) / a)
                for lv in levels:
                    lv[2] *= k
        consumed.append(c)
        active.append(sum(lv[2] for lv in levels))
    return consumed, active


@pytest.mark.parametrize("half_life", [None, 30])
def test_matches_literal_transcription(half_life: int | None) -> None:
    n = 400
    rng = np.random.default_rng(11)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    high = close * (1 + np.abs(rng.normal(0, 0.003, n)))
    low = close * (1 - np.abs(rng.normal(0, 0.003, n)))
    dn = rng.normal(0, 1_000, n)
    dn[::50] = -1e7  # occasional wipe-out
    s = rng.uniform(0, 1, n)
    ts = np.arange(n, dtype=np.int64) * 10
    r = lhm1(ts, high, low, high, delta_notional=dn, long_share=s, half_life_ns=half_life)
    decay = 1.0 if half_life is None else 2 ** (-10 / half_life)
    consumed, active = _naive(high, low, dn, s, decay)
    _close(r.consumed, consumed)
    _close(r.active, active)
    _close(r.total.sum(axis=1), active)


def test_renormalisation_keeps_tiny_notionals_exact() -> None:
    """Closing half of everything per candle drives ``F`` below 1e-200 (internal rescale)."""
    n = 720
    dn = np.zeros(n)
    dn[0] = 2.0**20
    dn[1:701] = -(2.0 ** (19 - np.arange(700)))  # A_t = 2^(20 − t), exact in binary
    dn[710] = 500.0
    flat = np.full(n, 100.0)
    r = lhm1(np.arange(n, dtype=np.int64), flat, flat, flat, delta_notional=dn)
    consumed, active = _naive(flat, flat, dn, np.full(n, 0.5), 1.0)
    np.testing.assert_allclose(r.active, active, rtol=1e-9, atol=0)
    np.testing.assert_allclose(r.total.sum(axis=1), active, rtol=1e-9, atol=0)
    _close(r.consumed, consumed)


@pytest.mark.parametrize("n", [1, 2, 3, 8, 17, 100])
def test_first_at_or_below_matches_brute_force(n: int) -> None:
    rng = np.random.default_rng(n)
    v = rng.normal(size=n)
    start = rng.integers(0, n + 1, 500)
    thresh = rng.normal(size=500) * 1.5
    got = _first_at_or_below(v, start, thresh)
    exp = [
        next((t for t in range(s0, n) if v[t] <= x), n) for s0, x in zip(start, thresh, strict=True)
    ]
    assert got.tolist() == exp


def test_one_year_of_minute_candles_gives_a_daily_grid() -> None:
    """Shape and bookkeeping on a year of 1m candles (speed is `helix bench quant`'s job)."""
    n = 525_600
    high, low, close, oi, buy, sell = _walk(n)
    ts = np.arange(n, dtype=np.int64) * 60_000_000_000
    r = lhm1(
        ts,
        high,
        low,
        close,
        open_interest=oi,
        taker_buy_quote=buy,
        taker_sell_quote=sell,
        display_every=1440,
    )
    assert r.long.shape == (365, 250)
    assert r.column_index[-1] == n - 1
    assert np.all(r.long >= 0)
    assert np.all(r.short >= 0)
    assert np.isclose(r.long[-1].sum() + r.short[-1].sum(), r.active[-1], rtol=1e-9)
