"""ATR (Wilder) and stop-loss / take-profit placement from liquidation clusters.

``quant.md`` does not specify SL/TP placement or ATR, so this module is our design [OURS],
built on §3 (clusters are liquidity "magnets") and §4 (stop hunts sweep a cluster and close back):

* **True range** ``TR_t = max(H_t − L_t, |H_t − C_{t−1}|, |L_t − C_{t−1}|)``; ``TR_0 = H_0 − L_0``.
* **ATR (Wilder)**, period ``n``: ``ATR_{n−1} = mean(TR_0..TR_{n−1})`` (simple-mean seed),
  then ``ATR_t = ATR_{t−1} + (TR_t − ATR_{t−1})/n``; ``NaN`` before index ``n−1``. The
  recursion is evaluated with numpy in closed form per block
  (``ATR_{s+j} = β^j·(ATR_s + α·Σ_{i≤j} β^{−i}·TR_{s+i})``, ``α = 1/n``, ``β = 1 − α``),
  with blocks short enough that ``β^{−j}`` stays below ``1e150``.
* **Stop-loss**: a hunt sweeps the nearest *adverse* cluster (for a long, the nearest cluster
  below entry; for a short, above) and reverses, so the stop sits *beyond* it by a buffer:
  ``SL = P_c − k_sl·ATR`` (long) / ``P_c + k_sl·ATR`` (short), default ``k_sl = 0.5``.
* **Take-profit**: price is drawn toward the nearest *favourable* cluster but may turn just
  before it, so the target sits *in front of* it: ``TP = P_c − k_tp·ATR`` (long) /
  ``P_c + k_tp·ATR`` (short), default ``k_tp = 0.25``. A cluster so close that its TP would not
  be beyond entry by ``min_tp_atr·ATR`` (default 0.5) is skipped for the next one out.
* Clusters with ``size < min_share·Σ size`` (default 0: any positive size) are ignored, as are
  clusters exactly at entry. With no usable cluster on a side the fallback is
  ``entry ∓ fallback_sl_atr·ATR`` (1.5) for the stop and ``entry ± fallback_tp_atr·ATR`` (3.0)
  for the target; the result records which levels came from clusters.
* Prices are floats (market data); the distances returned as fractions of entry feed
  ``helix.quant.sizing.perp_position`` after ``Decimal`` conversion.

Invalid input (shape mismatch, non-finite values, ``H < L``, negative sizes, ``ATR <= 0``,
period < 1, a stop at or below zero) raises :class:`~helix.errors.ValidationError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from helix.errors import ValidationError

__all__ = ["DEFAULT_ATR_PERIOD", "Levels", "atr", "place_levels", "true_range"]

Side = Literal["long", "short"]
FloatArray = NDArray[np.float64]

DEFAULT_ATR_PERIOD = 14
DEFAULT_SL_ATR = 0.5
DEFAULT_TP_ATR = 0.25
DEFAULT_MIN_TP_ATR = 0.5
DEFAULT_FALLBACK_SL_ATR = 1.5
DEFAULT_FALLBACK_TP_ATR = 3.0
_MAX_GROWTH_LOG10 = 150.0


def _ohlc(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> tuple[FloatArray, ...]:
    h, lo, c = (np.asarray(a, dtype=np.float64) for a in (high, low, close))
    if h.ndim != 1 or h.shape != lo.shape or h.shape != c.shape:
        raise ValidationError("high, low and close must be 1-D arrays of the same length")
    if not (np.isfinite(h).all() and np.isfinite(lo).all() and np.isfinite(c).all()):
        raise ValidationError("OHLC values must be finite")
    if (h < lo).any():
        raise ValidationError("high must be >= low on every bar")
    return h, lo, c


def true_range(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> FloatArray:
    """Wilder's true range per bar (the first bar uses ``H − L``).

    Args:
        high: bar highs.  low: bar lows.  close: bar closes (1-D, same length).

    Returns:
        ``TR`` as a float64 array of the same length.
    """
    h, lo, c = _ohlc(high, low, close)
    tr = h - lo
    if tr.size > 1:
        prev = c[:-1]
        tr[1:] = np.maximum.reduce([tr[1:], np.abs(h[1:] - prev), np.abs(lo[1:] - prev)])
    return tr


def atr(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = DEFAULT_ATR_PERIOD
) -> FloatArray:
    """Wilder's average true range (RMA of :func:`true_range`, simple-mean seed).

    Args:
        high: bar highs.  low: bar lows.  close: bar closes.
        period: smoothing period ``n`` ≥ 1.

    Returns:
        float64 array, ``NaN`` for the first ``n − 1`` bars (all ``NaN`` if fewer than ``n``).
    """
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise ValidationError(f"period must be an int >= 1, got {period!r}")
    tr = true_range(high, low, close)
    out = np.full(tr.shape, np.nan)
    if tr.size < period:
        return out
    out[period - 1] = tr[:period].mean()
    if period == 1:
        out[:] = tr
        return out
    alpha = 1.0 / period
    beta = 1.0 - alpha
    block = max(1, int(_MAX_GROWTH_LOG10 / -math.log10(beta)))
    start = period - 1  # index of the last known ATR value
    while start < tr.size - 1:
        seg = tr[start + 1 : start + 1 + block]
        j = np.arange(1, seg.size + 1, dtype=np.float64)
        grow = beta**-j
        out[start + 1 : start + 1 + seg.size] = (out[start] + alpha * np.cumsum(seg * grow)) / grow
        start += seg.size
    return out


@dataclass(frozen=True, slots=True)
class Levels:
    """Stop-loss and take-profit for one entry.

    Attributes:
        side: ``"long"`` or ``"short"``.  entry: entry price.
        stop_loss / take_profit: the levels.
        sl_cluster / tp_cluster: price of the cluster each level was placed from, or ``None``
            when the ATR fallback was used.
        sl_distance / tp_distance: ``|level − entry|/entry`` (the ``sl``/``tp`` of §6.2).
    """

    side: Side
    entry: float
    stop_loss: float
    take_profit: float
    sl_cluster: float | None
    tp_cluster: float | None
    sl_distance: float
    tp_distance: float


def _finite_positive(x: float, name: str) -> float:
    v = float(x)
    if not math.isfinite(v) or v <= 0:
        raise ValidationError(f"{name} must be finite and > 0, got {x!r}")
    return v


def _finite_non_negative(x: float, name: str) -> float:
    v = float(x)
    if not math.isfinite(v) or v < 0:
        raise ValidationError(f"{name} must be finite and >= 0, got {x!r}")
    return v


def place_levels(
    entry: float,
    side: Side,
    cluster_prices: ArrayLike,
    cluster_sizes: ArrayLike,
    atr_value: float,
    *,
    sl_atr: float = DEFAULT_SL_ATR,
    tp_atr: float = DEFAULT_TP_ATR,
    min_tp_atr: float = DEFAULT_MIN_TP_ATR,
    min_share: float = 0.0,
    fallback_sl_atr: float = DEFAULT_FALLBACK_SL_ATR,
    fallback_tp_atr: float = DEFAULT_FALLBACK_TP_ATR,
) -> Levels:
    """Place SL beyond the nearest adverse cluster and TP before the nearest favourable one.

    Args:
        entry: entry price (> 0).
        side: ``"long"`` or ``"short"``.
        cluster_prices: cluster prices ``P_c`` (e.g. from §3), any order.
        cluster_sizes: cluster sizes ``S_c`` (≥ 0), same length.
        atr_value: current ATR (> 0), e.g. ``atr(...)[-1]``.
        sl_atr: stop buffer beyond the adverse cluster, in ATRs.
        tp_atr: how far in front of the favourable cluster the target sits, in ATRs.
        min_tp_atr: minimum target distance from entry, in ATRs (closer clusters are skipped).
        min_share: ignore clusters smaller than this share of the total size.
        fallback_sl_atr: stop distance in ATRs when no adverse cluster qualifies.
        fallback_tp_atr: target distance in ATRs when no favourable cluster qualifies.

    Returns:
        :class:`Levels`.

    Raises:
        ValidationError: on invalid input or a long stop at or below zero.
    """
    if side not in ("long", "short"):
        raise ValidationError(f"side must be 'long' or 'short', got {side!r}")
    e = _finite_positive(entry, "entry")
    a = _finite_positive(atr_value, "atr_value")
    k_sl, k_tp = _finite_non_negative(sl_atr, "sl_atr"), _finite_non_negative(tp_atr, "tp_atr")
    k_min = _finite_non_negative(min_tp_atr, "min_tp_atr")
    share = _finite_non_negative(min_share, "min_share")
    fb_sl = _finite_positive(fallback_sl_atr, "fallback_sl_atr")
    fb_tp = _finite_positive(fallback_tp_atr, "fallback_tp_atr")
    prices = np.asarray(cluster_prices, dtype=np.float64)
    sizes = np.asarray(cluster_sizes, dtype=np.float64)
    if prices.ndim != 1 or prices.shape != sizes.shape:
        raise ValidationError("cluster_prices and cluster_sizes must be 1-D, same length")
    if not (np.isfinite(prices).all() and np.isfinite(sizes).all()):
        raise ValidationError("cluster prices and sizes must be finite")
    if (sizes < 0).any() or (prices <= 0).any():
        raise ValidationError("cluster sizes must be >= 0 and prices > 0")

    total = sizes.sum()
    keep = (sizes > 0) & (sizes >= share * total)
    sign = 1.0 if side == "long" else -1.0  # +1: favourable direction is up
    # signed distance in the favourable direction: > 0 favourable, < 0 adverse
    dist = sign * (prices - e)

    adverse = keep & (dist < 0)
    if adverse.any():
        p_sl = float(prices[adverse][np.argmax(dist[adverse])])
        sl_cluster: float | None = p_sl
        stop = p_sl - sign * k_sl * a
    else:
        sl_cluster, stop = None, e - sign * fb_sl * a

    targets = prices - sign * k_tp * a
    favourable = keep & (dist > 0) & (sign * (targets - e) >= k_min * a)
    if favourable.any():
        i = int(np.argmin(np.where(favourable, dist, np.inf)))
        tp_cluster: float | None = float(prices[i])
        take = float(targets[i])
    else:
        tp_cluster, take = None, e + sign * fb_tp * a

    if stop <= 0:
        raise ValidationError(f"stop-loss {stop} is not a positive price")
    return Levels(
        side=side,
        entry=e,
        stop_loss=float(stop),
        take_profit=take,
        sl_cluster=sl_cluster,
        tp_cluster=tp_cluster,
        sl_distance=abs(float(stop) - e) / e,
        tp_distance=abs(take - e) / e,
    )
