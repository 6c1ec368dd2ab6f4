"""Tests for ``helix.quant.levels``: Wilder ATR and cluster-based SL/TP placement [OURS]."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from helix.errors import ValidationError
from helix.quant import levels as lv
from helix.quant import sizing as sz

H = [10.0, 11.0, 12.0, 11.0, 13.0, 12.0]
L = [9.0, 10.0, 10.0, 9.0, 11.0, 10.0]
C = [9.5, 10.5, 11.5, 10.0, 12.5, 11.0]

# TV-3 clusters (quant.md §3): A long-liq below P0, B short-liq above
P0 = 95_650.0
PA, SA = 95_356.666666666667, 15.0
PB, SB = 95_931.25, 16.0


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


def _naive_atr(h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
    tr = [h[0] - lo[0]]
    for t in range(1, len(h)):
        tr.append(max(h[t] - lo[t], abs(h[t] - c[t - 1]), abs(lo[t] - c[t - 1])))
    out = [math.nan] * len(h)
    if len(h) >= n:
        out[n - 1] = sum(tr[:n]) / n
        for t in range(n, len(h)):
            out[t] = (out[t - 1] * (n - 1) + tr[t]) / n
    return np.array(out)


# --- ATR --------------------------------------------------------------------------------------


def test_true_range_hand_vector() -> None:
    np.testing.assert_allclose(lv.true_range(H, L, C), [1.0, 1.5, 2.0, 2.5, 3.0, 2.5])


def test_atr_hand_vector() -> None:
    out = lv.atr(H, L, C, period=3)
    assert np.isnan(out[:2]).all()
    np.testing.assert_allclose(out[2:], [1.5, 5.5 / 3, 20 / 9, 62.5 / 27], rtol=1e-12)


@pytest.mark.parametrize(("n", "period"), [(5000, 14), (3000, 2), (50, 1), (40, 40), (10, 20)])
def test_atr_matches_naive_recursion(n: int, period: int) -> None:
    rng = np.random.default_rng(7)
    c = 100 + np.cumsum(rng.normal(0, 1, n))
    h = c + rng.uniform(0, 2, n)
    lo = c - rng.uniform(0, 2, n)
    got = lv.atr(h, lo, c, period)
    want = _naive_atr(h, lo, c, period)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    mask = ~np.isnan(want)
    np.testing.assert_allclose(got[mask], want[mask], rtol=1e-9)


def test_atr_empty_and_constant() -> None:
    assert lv.atr([], [], [], 14).size == 0
    out = lv.atr([5.0] * 20, [5.0] * 20, [5.0] * 20, 14)
    np.testing.assert_array_equal(out[13:], 0.0)


@pytest.mark.parametrize("period", [0, -1, 2.5, True])
def test_atr_bad_period(period: object) -> None:
    with pytest.raises(ValidationError):
        lv.atr(H, L, C, period)  # type: ignore[arg-type]


def test_ohlc_validation() -> None:
    with pytest.raises(ValidationError):
        lv.true_range(H, L[:-1], C)
    with pytest.raises(ValidationError):
        lv.true_range([1.0, math.nan], [0.5, 0.5], [1.0, 1.0])
    with pytest.raises(ValidationError):
        lv.true_range([1.0], [2.0], [1.5])


# --- SL / TP placement -----------------------------------------------------------------------


def test_long_from_tv3_clusters() -> None:
    lev = lv.place_levels(P0, "long", [PB, PA], [SB, SA], 100.0)
    assert lev.sl_cluster == PA
    assert lev.tp_cluster == PB
    assert close(lev.stop_loss, PA - 50.0)
    assert close(lev.take_profit, PB - 25.0)
    assert close(lev.sl_distance, (P0 - PA + 50.0) / P0)
    assert close(lev.tp_distance, (PB - 25.0 - P0) / P0)


def test_short_from_tv3_clusters() -> None:
    lev = lv.place_levels(P0, "short", [PA, PB], [SA, SB], 100.0)
    assert lev.sl_cluster == PB
    assert lev.tp_cluster == PA
    assert close(lev.stop_loss, PB + 50.0)
    assert close(lev.take_profit, PA + 25.0)


def test_nearest_cluster_is_used_and_too_close_target_skipped() -> None:
    lev = lv.place_levels(100.0, "long", [95.0, 98.0, 100.5, 103.0, 110.0], [1] * 5, 1.0)
    assert lev.stop_loss == 97.5  # nearest adverse 98, minus 0.5 ATR
    # 100.5 would give TP 100.25, only 0.25 ATR from entry (< 0.5): skipped for 103
    assert lev.tp_cluster == 103.0
    assert lev.take_profit == 102.75


def test_fallback_without_clusters() -> None:
    lev = lv.place_levels(100.0, "long", [], [], 2.0)
    assert (lev.stop_loss, lev.take_profit) == (97.0, 106.0)
    assert lev.sl_cluster is None
    assert lev.tp_cluster is None
    lev = lv.place_levels(100.0, "short", [], [], 2.0)
    assert (lev.stop_loss, lev.take_profit) == (103.0, 94.0)


def test_min_share_and_zero_size_filter() -> None:
    prices, sizes = [99.0, 97.0, 101.0, 104.0], [1.0, 50.0, 0.0, 49.0]
    lev = lv.place_levels(100.0, "long", prices, sizes, 1.0)
    assert lev.sl_cluster == 99.0  # tiny but positive: kept by default
    assert lev.tp_cluster == 104.0  # zero size ignored
    lev = lv.place_levels(100.0, "long", prices, sizes, 1.0, min_share=0.05)
    assert lev.sl_cluster == 97.0


def test_cluster_at_entry_is_ignored() -> None:
    lev = lv.place_levels(100.0, "long", [100.0], [10.0], 1.0)
    assert lev.sl_cluster is None
    assert lev.tp_cluster is None


def test_levels_feed_perp_sizing() -> None:
    lev = lv.place_levels(P0, "long", [PA, PB], [SA, SB], 100.0)
    b = sz.perp_odds(Decimal(repr(lev.sl_distance)), Decimal(repr(lev.tp_distance)), "0.001")
    assert b > 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"entry": 0.0},
        {"entry": math.inf},
        {"atr_value": 0.0},
        {"side": "up"},
        {"cluster_sizes": [-1.0]},
        {"cluster_prices": [math.nan]},
        {"cluster_sizes": [1.0, 2.0]},
        {"sl_atr": -1.0},
    ],
)
def test_place_levels_validation(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "entry": 100.0,
        "side": "long",
        "cluster_prices": [99.0],
        "cluster_sizes": [1.0],
        "atr_value": 1.0,
    }
    args.update(kwargs)
    with pytest.raises(ValidationError):
        lv.place_levels(**args)  # type: ignore[arg-type]


def test_long_stop_must_stay_positive() -> None:
    with pytest.raises(ValidationError):
        lv.place_levels(1.0, "long", [0.1], [1.0], 1.0)
