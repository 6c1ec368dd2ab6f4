"""Tests for ``helix.quant.spikes`` (quant.md §5, TV-5).

Means and RVOL values that are exact decimals are compared with the default ``1e-9`` rule; printed
rounded values (sd, z, pct) to half a unit of their last printed digit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from helix.quant.spikes import (
    DEFAULT_SPIKE_CONFIG,
    OI_PCT_MIN,
    OiRegime,
    SpikeConfig,
    detect_spikes,
    oi_regime,
    oi_spikes,
    pct_change,
    relative_volume,
    rolling_z,
    volume_spikes,
)

OI = [500, 502, 501, 503, 504, 502, 503, 505, 504, 506, 530, 528]
V = [40, 42, 38, 41, 39, 40, 43, 37, 41, 39, 95, 60]
TV5 = SpikeConfig(window=8, interval="1h")


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def printed(a: float, b: float, decimals: int) -> bool:
    return abs(a - b) <= 0.5 * 10.0**-decimals + 1e-12


def test_defaults_match_appendix_a() -> None:
    cfg = DEFAULT_SPIKE_CONFIG
    assert (cfg.window, cfg.z_min, cfg.rvol_min) == (48, 2.5, 2.0)
    assert cfg.min_periods is None
    assert dict(OI_PCT_MIN) == {
        "5m": 0.005, "15m": 0.01, "30m": 0.01, "1h": 0.02, "4h": 0.05, "1d": 0.10
    }  # fmt: skip
    assert TV5.pct_min == 0.02


def test_tv5_table() -> None:
    r = detect_spikes(OI, V, TV5)
    rows = [
        (8, 502.5, 1.603567, 0.935414, -0.001980, False, 1.025, 0.5, False),
        (9, 503.0, 1.309307, 2.291288, 0.003968, False, 0.971963, -0.553912, False),
        (10, 503.5, 1.603567, 16.525653, 0.047431, True, 2.389937, 28.947510, True),
        (11, 507.125, 9.326422, 2.238265, -0.003774, False, 1.28, 0.672178, False),
    ]
    for t, mean, sd, z, pct, spike, rvol, zv, vspike in rows:
        assert close(float(r.oi_mean[t]), mean)
        assert printed(float(r.oi_std[t]), sd, 6)
        assert printed(float(r.oi_z[t]), z, 6)
        assert printed(float(r.oi_pct_1[t]), pct, 6)
        assert bool(r.oi_spike[t]) is spike
        assert printed(float(r.volume_rvol[t]), rvol, 6)
        assert printed(float(r.volume_z[t]), zv, 6)
        assert bool(r.volume_spike[t]) is vspike
    assert close(float(r.volume_rvol[8]), 1.025)
    assert close(float(r.volume_z[8]), 0.5)
    assert close(float(r.volume_rvol[11]), 1.28)
    assert close(float(r.oi_pct_1[10]), 530 / 506 - 1)


def test_tv5_first_window_is_nan_and_not_a_spike() -> None:
    r = detect_spikes(OI, V, TV5)
    for arr in (r.oi_mean, r.oi_std, r.oi_z, r.volume_rvol, r.volume_z):
        assert np.isnan(arr[:8]).all()
    assert not r.oi_spike[:8].any()
    assert not r.volume_spike[:8].any()
    assert math.isnan(float(r.oi_pct_1[0]))


def test_window_excludes_current_bar() -> None:
    z = rolling_z([1.0, 2.0, 3.0, 100.0], 3)
    assert close(float(z[3]), (100.0 - 2.0) / 1.0)


def test_zero_std_rule() -> None:
    z = rolling_z([5.0, 5.0, 5.0, 6.0, 5.0, 5.0, 5.0, 5.0], 3)
    assert z[3] == math.inf
    assert z[7] == 0.0
    z2 = rolling_z([5.0, 5.0, 5.0, 4.0], 3)
    assert z2[3] == 0.0


def test_nan_handling_with_min_periods() -> None:
    x = [1.0, math.nan, 3.0, 2.0, 10.0]
    assert np.isnan(rolling_z(x, 3)[3:]).all()  # default min_periods = window
    z = rolling_z(x, 3, min_periods=2)
    assert close(float(z[3]), (2.0 - 2.0) / math.sqrt(2.0))
    assert close(float(z[4]), (10.0 - 2.5) / math.sqrt(0.5))
    assert math.isnan(float(rolling_z([1.0, 2.0, 3.0, math.nan], 3)[3]))


def test_invalid_window_and_min_periods() -> None:
    with pytest.raises(ValueError, match="window"):
        rolling_z([1.0, 2.0], 1)
    with pytest.raises(ValueError, match="min_periods"):
        rolling_z([1.0, 2.0, 3.0], 2, min_periods=3)
    with pytest.raises(ValueError, match="k must"):
        pct_change([1.0], 0)
    with pytest.raises(ValueError, match="same length"):
        detect_spikes([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="1-D"):
        rolling_z([[1.0, 2.0]], 2)


def test_empty_and_short_input() -> None:
    r = detect_spikes([], [], TV5)
    assert r.oi_z.size == 0
    assert r.oi_spike.size == 0
    assert np.isnan(rolling_z([1.0, 2.0], 8)).all()
    assert np.isnan(pct_change([1.0], 1)).all()


def test_pct_change_zero_base_and_lag() -> None:
    p = pct_change([0.0, 1.0, 2.0, 4.0], 2)
    assert math.isnan(float(p[0]))
    assert math.isnan(float(p[1]))
    assert math.isnan(float(p[2]))  # base 0
    assert p[3] == 3.0


def test_rvol_zero_mean() -> None:
    r = relative_volume([0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0], 3)
    assert r[3] == math.inf
    assert r[7] == 1.0


def test_spike_rules_need_both_conditions_and_ignore_nan() -> None:
    z = np.array([3.0, 3.0, 1.0, math.nan])
    pct = np.array([0.03, 0.01, 0.05, 0.05])
    assert oi_spikes(z, pct, TV5).tolist() == [True, False, False, False]
    assert oi_spikes([3.0], [-0.02], TV5).tolist() == [True]  # |pct|, boundary inclusive
    assert volume_spikes([2.5, 2.5, math.nan], [2.0, 1.9, 3.0]).tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("d_oi", "d_price", "regime"),
    [
        (1.0, 1.0, OiRegime.NEW_LONGS),
        (1.0, -1.0, OiRegime.NEW_SHORTS),
        (-1.0, 1.0, OiRegime.SHORT_COVERING),
        (-1.0, -1.0, OiRegime.LONG_UNWINDING),
        (0.0, 1.0, OiRegime.NEUTRAL),
        (1.0, math.nan, OiRegime.NEUTRAL),
    ],
)
def test_oi_regime(d_oi: float, d_price: float, regime: OiRegime) -> None:
    assert oi_regime(d_oi, d_price) is regime


def test_large_series_vectorised() -> None:
    rng = np.random.default_rng(1)
    x = 1_000.0 + rng.normal(0.0, 1.0, 50_000)
    x[40_000] += 50.0
    r = detect_spikes(x, np.abs(x), SpikeConfig(window=48, interval="5m"))
    assert r.oi_z[40_000] > 20
    windows = x[39_952:40_000]
    assert close(float(r.oi_std[40_000]), float(np.std(windows, ddof=1)))
