"""Liquidation clusters and the whale-target score (``quant.md`` §3, TV-3).

Pure functions on one heatmap column: ``x[b]`` is the liquidation intensity (notional) of
price bin ``b`` and ``centers[b]`` its centre price. The procedure is:

1. smooth with the binomial kernel ``[1, 2, 1] / 4`` and zero padding;
2. threshold ``theta = mean(y) + std(y)`` (population std, all bins);
3. peaks: ``y[b] > y[b-1]`` and ``y[b] >= y[b+1]`` (outside = 0) and ``y[b] >= theta``;
4. extent: grow left/right while the neighbour is ``>= 0.5 * y_peak`` and not larger than
   the current bin (half-maximum width that never climbs into another peak);
5. size ``S = sum x`` over the extent, price ``P_c = sum x * center / S``, side from
   ``P_c`` vs ``P0``;
6. whale-target score ``100 * share * exp(-d / d0) * g(z_OI) / 2``.

Choices the reference leaves open (all tested in ``tests/unit/quant/test_clusters.py``):

* Input validation: ``x`` must be 1-D, finite and non-negative, and ``centers`` must have the same
  length. NaN/inf or negative intensities raise ``ValueError`` (a heatmap column has no missing
  values, so silently zeroing them would hide upstream bugs).
* Empty input returns no clusters; an all-zero or flat profile yields no peaks.
* Overlapping extents: peaks are processed left to right and a bin belongs to at most one
  cluster. A bin already claimed by a cluster to the left stops the growth of the next one.
* Side: ``LONG`` (long-liquidation, below price) when ``P_c < P0``, otherwise ``SHORT``
  (a cluster exactly at ``P0`` is labelled ``SHORT``).
* A cluster with ``S == 0`` cannot occur (its peak has ``y > 0``, so the extent holds mass).
* ``z_OI`` NaN is treated as 0 (``g = 1``); ``clip`` bounds it to ``[0, 3]``.
* Ties for the target (equal scores) go to the first cluster (lowest price), as ``argmax`` does.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_CLUSTER_CONFIG",
    "KERNEL",
    "Cluster",
    "ClusterConfig",
    "ClusterSide",
    "ScoredCluster",
    "detect_clusters",
    "find_peaks",
    "oi_gain",
    "peak_extent",
    "peak_threshold",
    "smooth",
    "whale_target",
    "whale_target_scores",
]

KERNEL: NDArray[np.float64] = np.array([0.25, 0.5, 0.25])
"""Binomial smoothing kernel ``[1, 2, 1] / 4`` (Appendix A)."""


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """Parameters of §3 (defaults from Appendix A).

    Attributes:
        half_fraction: Extent stops below ``half_fraction * y_peak`` (0.5 = half maximum).
        std_multiplier: Threshold is ``mean + std_multiplier * std`` (population std).
        d0: Proximity scale of the score, as a fraction of price.
        z_clip: ``z_OI`` is clipped to ``[0, z_clip]`` and ``g = 1 + clipped / z_clip``.
    """

    half_fraction: float = 0.5
    std_multiplier: float = 1.0
    d0: float = 0.02
    z_clip: float = 3.0


DEFAULT_CLUSTER_CONFIG = ClusterConfig()


class ClusterSide(enum.StrEnum):
    """Which liquidations a cluster holds."""

    LONG = "long"  # below price: hunt direction is down
    SHORT = "short"  # above price: hunt direction is up


@dataclass(frozen=True, slots=True)
class Cluster:
    """One cluster found on a column.

    Attributes:
        peak: Index of the peak bin.
        start: First bin of the extent (inclusive).
        stop: Last bin of the extent (inclusive).
        size: ``S``, summed raw intensity over the extent.
        price: ``P_c``, intensity-weighted mean centre price.
        side: ``LONG`` if ``price < p0`` else ``SHORT``.
    """

    peak: int
    start: int
    stop: int
    size: float
    price: float
    side: ClusterSide


@dataclass(frozen=True, slots=True)
class ScoredCluster:
    """A cluster with its whale-target score terms.

    Attributes:
        cluster: The cluster.
        distance: ``d = |P_c - P0| / P0``.
        share: ``S_c / sum(S)``.
        proximity: ``exp(-d / d0)``.
        score: ``100 * share * proximity * g / 2`` in ``[0, 100]``.
    """

    cluster: Cluster
    distance: float
    share: float
    proximity: float
    score: float


def _as_profile(x: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"profile must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("profile contains NaN or inf")
    if np.any(arr < 0):
        raise ValueError("profile contains negative intensities")
    return arr


def smooth(x: ArrayLike) -> NDArray[np.float64]:
    """Smooth a profile with ``[1, 2, 1] / 4`` and zero padding (keeps total mass inside).

    Args:
        x: Non-negative 1-D intensity profile.

    Returns:
        ``y[b] = (x[b-1] + 2 x[b] + x[b+1]) / 4`` with ``x`` outside the array = 0.
    """
    arr = _as_profile(x)
    if arr.size == 0:
        return arr.copy()
    return np.convolve(arr, KERNEL, mode="same")


def peak_threshold(y: NDArray[np.float64], std_multiplier: float = 1.0) -> float:
    """Return ``mean(y) + std_multiplier * std(y)`` with population std (ddof=0).

    Args:
        y: Smoothed profile (non-empty).
        std_multiplier: Multiplier of the std.

    Returns:
        The threshold ``theta``.
    """
    return float(np.mean(y) + std_multiplier * np.std(y, ddof=0))


def find_peaks(y: NDArray[np.float64], threshold: float) -> NDArray[np.intp]:
    """Indices of peaks: ``y[b] > y[b-1]``, ``y[b] >= y[b+1]`` (outside = 0), ``y[b] >= threshold``.

    The left-strict/right-weak rule picks the left edge of a plateau.

    Args:
        y: Smoothed profile.
        threshold: Minimum peak height.

    Returns:
        Ascending peak indices.
    """
    if y.size == 0:
        return np.empty(0, dtype=np.intp)
    padded = np.concatenate(([0.0], y, [0.0]))
    mid = padded[1:-1]
    mask = (mid > padded[:-2]) & (mid >= padded[2:]) & (mid >= threshold)
    return np.flatnonzero(mask)


def peak_extent(
    y: NDArray[np.float64], peak: int, half_fraction: float = 0.5, lo: int = 0
) -> tuple[int, int]:
    """Half-maximum extent of one peak that never climbs into another peak.

    Args:
        y: Smoothed profile.
        peak: Peak index.
        half_fraction: Neighbours must be ``>= half_fraction * y[peak]``.
        lo: First bin the extent may use (bins left of it belong to earlier clusters).

    Returns:
        ``(start, stop)``, both inclusive.
    """
    floor = half_fraction * y[peak]
    start = peak
    while start - 1 >= lo and floor <= y[start - 1] <= y[start]:
        start -= 1
    stop = peak
    while stop + 1 < y.size and floor <= y[stop + 1] <= y[stop]:
        stop += 1
    return start, stop


def detect_clusters(
    x: ArrayLike,
    centers: ArrayLike,
    p0: float,
    config: ClusterConfig = DEFAULT_CLUSTER_CONFIG,
) -> list[Cluster]:
    """Detect liquidation clusters on one heatmap column (§3 steps 1-5).

    Args:
        x: Raw intensity per bin (non-negative, finite), e.g. long + short notional.
        centers: Centre price of each bin (same length as ``x``).
        p0: Current price, used for the side.
        config: Parameters.

    Returns:
        Clusters in ascending bin order.

    Raises:
        ValueError: On shape mismatch, NaN/inf or negative intensities.
    """
    arr = _as_profile(x)
    ctr = np.asarray(centers, dtype=np.float64)
    if ctr.shape != arr.shape:
        raise ValueError(f"centers shape {ctr.shape} != profile shape {arr.shape}")
    if arr.size == 0:
        return []
    y = smooth(arr)
    theta = peak_threshold(y, config.std_multiplier)
    clusters: list[Cluster] = []
    lo = 0
    for peak in find_peaks(y, theta).tolist():
        if peak < lo:  # swallowed by the previous extent (cannot happen for strict peaks)
            continue
        start, stop = peak_extent(y, peak, config.half_fraction, lo)
        seg = arr[start : stop + 1]
        size = float(seg.sum())
        if size <= 0.0:
            continue
        price = float(np.dot(seg, ctr[start : stop + 1]) / size)
        side = ClusterSide.LONG if price < p0 else ClusterSide.SHORT
        clusters.append(Cluster(peak, start, stop, size, price, side))
        lo = stop + 1
    return clusters


def oi_gain(z_oi: float, z_clip: float = 3.0) -> float:
    """OI gain ``g(z) = 1 + clip(z, 0, z_clip) / z_clip`` in ``[1, 2]`` (NaN counts as 0).

    Args:
        z_oi: Latest OI z-score (§5); ``+inf`` gives 2.
        z_clip: Clip bound.

    Returns:
        The gain.
    """
    if math.isnan(z_oi):
        return 1.0
    return 1.0 + min(max(z_oi, 0.0), z_clip) / z_clip


def whale_target_scores(
    clusters: list[Cluster],
    p0: float,
    z_oi: float,
    config: ClusterConfig = DEFAULT_CLUSTER_CONFIG,
) -> list[ScoredCluster]:
    """Score every cluster (§3 step 6).

    Args:
        clusters: Clusters from :func:`detect_clusters`.
        p0: Current price (> 0).
        z_oi: Latest OI z-score.
        config: Parameters.

    Returns:
        Scored clusters in the input order (empty for no clusters).
    """
    if p0 <= 0:
        raise ValueError("p0 must be positive")
    if not clusters:
        return []
    sizes = np.array([c.size for c in clusters])
    prices = np.array([c.price for c in clusters])
    share = sizes / sizes.sum()
    dist = np.abs(prices - p0) / p0
    prox = np.exp(-dist / config.d0)
    score = 100.0 * share * prox * oi_gain(z_oi, config.z_clip) / 2.0
    return [
        ScoredCluster(c, float(d), float(s), float(p), float(sc))
        for c, d, s, p, sc in zip(clusters, dist, share, prox, score, strict=True)
    ]


def whale_target(scored: list[ScoredCluster]) -> ScoredCluster | None:
    """Return the highest-scoring cluster (first on ties), or ``None`` if there are none.

    Args:
        scored: Output of :func:`whale_target_scores`.

    Returns:
        The target cluster. Hunt direction: down for ``LONG``, up for ``SHORT``.
    """
    if not scored:
        return None
    return scored[int(np.argmax([s.score for s in scored]))]
