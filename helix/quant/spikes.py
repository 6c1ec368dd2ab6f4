"""Open-interest and volume spike detection (``quant.md`` §5, TV-5).

* ``pct_k(t) = X_t / X_{t-k} - 1``.
* Rolling z-score over a window of ``n`` bars that **excludes** the current bar:
  ``z_t = (X_t - mean(X_{t-n..t-1})) / std_ddof1(X_{t-n..t-1})``; if the std is 0,
  ``z = +inf`` when ``X_t > mean`` else 0.
* Relative volume ``RVOL_t = V_t / mean(V_{t-n..t-1})``.
* OI spike: ``z >= 2.5`` and ``|pct_1| >= p_min(interval)``; volume spike: ``z_V >= 2.5`` and
  ``RVOL >= 2``.

Choices the reference leaves open (tested in ``tests/unit/quant/test_spikes.py``):

* Min periods: a window needs at least ``min_periods`` non-NaN values (default ``n``, the pandas
  ``rolling`` default); otherwise the output is NaN. So the first ``n`` bars are always NaN.
  NaN values inside a window are skipped (pandas-style); ``min_periods`` must be ``>= 2``
  because of ``ddof = 1``.
* A NaN current value gives a NaN z, RVOL and pct.
* ``pct_k`` with ``X_{t-k} == 0`` is NaN (undefined), as are the first ``k`` bars.
* ``RVOL`` with a zero window mean is ``+inf`` when ``V_t > 0`` and 1.0 when ``V_t == 0``
  (mirrors the std-0 rule of the z-score: an unchanged value is "normal").
* Spike flags are False wherever an input is NaN (NaN comparisons are False).
* Regime labels: a zero change in OI or price gives ``NEUTRAL``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_SPIKE_CONFIG",
    "OI_PCT_MIN",
    "OiRegime",
    "SpikeConfig",
    "SpikeReport",
    "detect_spikes",
    "oi_regime",
    "oi_spikes",
    "pct_change",
    "relative_volume",
    "rolling_z",
    "volume_spikes",
]

OI_PCT_MIN: MappingProxyType[str, float] = MappingProxyType(
    {"5m": 0.005, "15m": 0.01, "30m": 0.01, "1h": 0.02, "4h": 0.05, "1d": 0.10}
)
"""Minimum ``|pct_1|`` for an OI spike, by bar interval (§5.1)."""


@dataclass(frozen=True, slots=True)
class SpikeConfig:
    """Parameters of §5 (defaults from Appendix A: production ``n = 48``).

    Attributes:
        window: Rolling window ``n`` (current bar excluded).
        min_periods: Non-NaN values needed in a window; None means ``window``.
        z_min: z threshold for both spike kinds.
        rvol_min: Minimum relative volume for a volume spike.
        interval: Bar interval, a key of :data:`OI_PCT_MIN`.
    """

    window: int = 48
    min_periods: int | None = None
    z_min: float = 2.5
    rvol_min: float = 2.0
    interval: str = "1h"

    @property
    def pct_min(self) -> float:
        """Minimum ``|pct_1|`` for an OI spike at this interval."""
        return OI_PCT_MIN[self.interval]


DEFAULT_SPIKE_CONFIG = SpikeConfig()

_F = NDArray[np.float64]


def _series(x: ArrayLike) -> _F:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"series must be 1-D, got shape {arr.shape}")
    return arr


def _window_stats(x: _F, n: int, min_periods: int | None) -> tuple[_F, _F]:
    """Mean and ddof=1 std of ``x[t-n..t-1]`` for every t (NaN when too few values)."""
    if n < 2:
        raise ValueError("window must be >= 2 (ddof = 1)")
    mp = n if min_periods is None else min_periods
    if not 2 <= mp <= n:
        raise ValueError("min_periods must be in [2, window]")
    mean = np.full(x.size, np.nan)
    std = np.full(x.size, np.nan)
    if x.size <= n:
        return mean, std
    win = sliding_window_view(x, n)[: x.size - n]  # win[i] = x[i:i+n] -> bar t = i + n
    valid = ~np.isnan(win)
    cnt = valid.sum(axis=1)
    vals = np.where(valid, win, 0.0)
    ok = cnt >= mp
    safe = np.where(ok, cnt, 2)
    m = vals.sum(axis=1) / safe
    dev = np.where(valid, win - m[:, None], 0.0)
    s = np.sqrt((dev * dev).sum(axis=1) / (safe - 1))
    mean[n:] = np.where(ok, m, np.nan)
    std[n:] = np.where(ok, s, np.nan)
    return mean, std


def rolling_z(x: ArrayLike, window: int, min_periods: int | None = None) -> _F:
    """Rolling z-score excluding the current bar (ddof = 1).

    Args:
        x: Series (OI or volume).
        window: Window length ``n``.
        min_periods: Non-NaN values needed in the window (default ``window``).

    Returns:
        z per bar; NaN where the window is short; ``+inf``/0 when the window std is 0.
    """
    arr = _series(x)
    mean, std = _window_stats(arr, window, min_periods)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (arr - mean) / std
    flat = std == 0
    z[flat] = np.where(arr[flat] > mean[flat], np.inf, 0.0)
    z[np.isnan(arr) | np.isnan(std)] = np.nan
    return z


def relative_volume(v: ArrayLike, window: int, min_periods: int | None = None) -> _F:
    """``RVOL_t = V_t / mean(V_{t-n..t-1})``.

    Args:
        v: Volume series.
        window: Window length ``n``.
        min_periods: Non-NaN values needed in the window (default ``window``).

    Returns:
        RVOL per bar (NaN where the window is short; see module doc for a zero mean).
    """
    arr = _series(v)
    mean, _ = _window_stats(arr, window, min_periods)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = arr / mean
    zero = mean == 0
    r[zero] = np.where(arr[zero] > 0, np.inf, 1.0)
    r[np.isnan(arr) | np.isnan(mean)] = np.nan
    return r


def pct_change(x: ArrayLike, k: int = 1) -> _F:
    """``pct_k(t) = X_t / X_{t-k} - 1`` (NaN for the first ``k`` bars and a zero base).

    Args:
        x: Series.
        k: Lag in bars (>= 1).

    Returns:
        Percent change as a fraction.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    arr = _series(x)
    out = np.full(arr.size, np.nan)
    if arr.size > k:
        base = arr[:-k]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[k:] = np.where(base == 0, np.nan, arr[k:] / base - 1.0)
    return out


def oi_spikes(
    z: ArrayLike, pct_1: ArrayLike, config: SpikeConfig = DEFAULT_SPIKE_CONFIG
) -> NDArray[np.bool_]:
    """OI spike flags: ``z >= z_min`` and ``|pct_1| >= p_min`` (False where NaN)."""
    za, pa = _series(z), _series(pct_1)
    return np.asarray((za >= config.z_min) & (np.abs(pa) >= config.pct_min), dtype=np.bool_)


def volume_spikes(
    z_v: ArrayLike, rvol: ArrayLike, config: SpikeConfig = DEFAULT_SPIKE_CONFIG
) -> NDArray[np.bool_]:
    """Volume spike flags: ``z_V >= z_min`` and ``RVOL >= rvol_min`` (False where NaN)."""
    za, ra = _series(z_v), _series(rvol)
    return np.asarray((za >= config.z_min) & (ra >= config.rvol_min), dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class SpikeReport:
    """All §5 series for one symbol (arrays aligned with the input bars)."""

    oi_mean: _F
    oi_std: _F
    oi_z: _F
    oi_pct_1: _F
    oi_spike: NDArray[np.bool_]
    volume_rvol: _F
    volume_z: _F
    volume_spike: NDArray[np.bool_]


def detect_spikes(
    oi: ArrayLike, volume: ArrayLike, config: SpikeConfig = DEFAULT_SPIKE_CONFIG
) -> SpikeReport:
    """Compute OI and volume spike series (§5.1 rules).

    Args:
        oi: Open interest per bar (USD).
        volume: Volume per bar, aligned with ``oi``.
        config: Parameters.

    Returns:
        The full report.
    """
    oa, va = _series(oi), _series(volume)
    if oa.shape != va.shape:
        raise ValueError("oi and volume must have the same length")
    mean, std = _window_stats(oa, config.window, config.min_periods)
    z = rolling_z(oa, config.window, config.min_periods)
    pct = pct_change(oa, 1)
    zv = rolling_z(va, config.window, config.min_periods)
    rv = relative_volume(va, config.window, config.min_periods)
    return SpikeReport(
        mean, std, z, pct, oi_spikes(z, pct, config), rv, zv, volume_spikes(zv, rv, config)
    )


class OiRegime(enum.StrEnum):
    """Market-convention reading of OI and price changes."""

    NEW_LONGS = "new_longs"  # OI up, price up
    NEW_SHORTS = "new_shorts"  # OI up, price down
    SHORT_COVERING = "short_covering"  # OI down, price up
    LONG_UNWINDING = "long_unwinding"  # OI down, price down
    NEUTRAL = "neutral"  # either change is zero or NaN


def oi_regime(d_oi: float, d_price: float) -> OiRegime:
    """Label one bar from the sign of its OI and price changes.

    Args:
        d_oi: OI change.
        d_price: Price change.

    Returns:
        The regime; ``NEUTRAL`` when either change is 0 or NaN.
    """
    if not (d_oi > 0 or d_oi < 0) or not (d_price > 0 or d_price < 0):
        return OiRegime.NEUTRAL
    if d_oi > 0:
        return OiRegime.NEW_LONGS if d_price > 0 else OiRegime.NEW_SHORTS
    return OiRegime.SHORT_COVERING if d_price > 0 else OiRegime.LONG_UNWINDING
