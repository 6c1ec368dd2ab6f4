"""Tests for ``helix.quant.clusters`` (quant.md §3, TV-3).

Values printed rounded in the reference are compared to half a unit of their last printed digit;
values that follow from closed forms are also compared with the default ``1e-9`` relative rule.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from helix.quant.clusters import (
    DEFAULT_CLUSTER_CONFIG,
    Cluster,
    ClusterSide,
    detect_clusters,
    find_peaks,
    oi_gain,
    peak_threshold,
    smooth,
    whale_target,
    whale_target_scores,
)
from helix.quant.spikes import SpikeConfig, detect_spikes

X = [0, 1, 3, 8, 4, 1, 0, 2, 6, 7, 3, 0]
CENTERS = 95_050.0 + 100.0 * np.arange(12)
P0 = 95_650.0
Z_OI = 16.525653


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def printed(a: float, b: float, decimals: int) -> bool:
    return abs(a - b) <= 0.5 * 10.0**-decimals + 1e-12


def test_defaults_match_appendix_a() -> None:
    assert DEFAULT_CLUSTER_CONFIG.d0 == 0.02
    assert DEFAULT_CLUSTER_CONFIG.std_multiplier == 1.0
    assert DEFAULT_CLUSTER_CONFIG.half_fraction == 0.5


def test_tv3_smoothing_exact() -> None:
    y = smooth(X)
    expected = [0.25, 1.25, 3.75, 5.75, 4.25, 1.5, 0.75, 2.5, 5.25, 5.75, 3.25, 0.75]
    assert y.tolist() == expected  # exact (quarters are representable)
    assert y.sum() == sum(X) - 0.25 * (X[0] + X[-1])  # zero padding keeps inner mass


def test_tv3_threshold_and_peaks() -> None:
    y = smooth(X)
    assert printed(float(np.mean(y)), 2.916667, 6)
    assert printed(float(np.std(y)), 1.948112, 6)
    theta = peak_threshold(y)
    assert printed(theta, 4.864778, 6)
    assert find_peaks(y, theta).tolist() == [3, 9]


def test_tv3_clusters() -> None:
    a, b = detect_clusters(X, CENTERS, P0)
    assert (a.peak, a.start, a.stop, a.size, a.side) == (3, 2, 4, 15.0, ClusterSide.LONG)
    assert (b.peak, b.start, b.stop, b.size, b.side) == (9, 8, 10, 16.0, ClusterSide.SHORT)
    assert close(a.price, 1_430_350 / 15)
    assert printed(a.price, 95_356.666667, 6)
    assert b.price == 95_931.25  # exact


def test_tv3_scores_and_target() -> None:
    clusters = detect_clusters(X, CENTERS, P0)
    assert oi_gain(Z_OI) == 2.0
    sa, sb = whale_target_scores(clusters, P0, Z_OI)
    assert printed(sa.distance, 0.00306674, 8)
    assert printed(sa.share, 0.483871, 6)
    assert printed(sa.proximity, 0.857841, 6)
    assert printed(sa.score, 41.5084, 4)
    assert printed(sb.distance, 0.00294041, 8)
    assert printed(sb.share, 0.516129, 6)
    assert printed(sb.proximity, 0.863276, 6)
    assert printed(sb.score, 44.5562, 4)
    d_a = (P0 - 1_430_350 / 15) / P0
    assert close(sa.score, 100 * (15 / 31) * math.exp(-d_a / 0.02) * 2 / 2)
    target = whale_target([sa, sb])
    assert target is sb
    assert target.cluster.side is ClusterSide.SHORT  # hunt upward


def test_tv3_z_from_tv5_gives_same_target() -> None:
    oi = [500, 502, 501, 503, 504, 502, 503, 505, 504, 506, 530, 528]
    v = [40, 42, 38, 41, 39, 40, 43, 37, 41, 39, 95, 60]
    z = float(detect_spikes(oi, v, SpikeConfig(window=8)).oi_z[10])
    scored = whale_target_scores(detect_clusters(X, CENTERS, P0), P0, z)
    assert [printed(s.score, e, 4) for s, e in zip(scored, [41.5084, 44.5562], strict=True)] == [
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("z", "g"), [(-1.0, 1.0), (0.0, 1.0), (1.5, 1.5), (3.0, 2.0), (math.inf, 2.0), (math.nan, 1.0)]
)
def test_oi_gain_clip_and_nan(z: float, g: float) -> None:
    assert oi_gain(z) == g


def test_empty_profile() -> None:
    assert smooth([]).size == 0
    assert detect_clusters([], [], P0) == []
    assert whale_target_scores([], P0, 1.0) == []
    assert whale_target([]) is None


@pytest.mark.parametrize("level", [0.0, 5.0])
def test_flat_profile_has_no_clusters(level: float) -> None:
    x = np.full(12, level)
    assert detect_clusters(x, CENTERS, P0) == []


def test_plateau_picks_left_edge_and_spans_plateau() -> None:
    x = [0, 0, 0, 4, 4, 4, 0, 0, 0, 0]
    y = smooth(x)  # [0, 0, 1, 3, 4, 3, 1, 0, 0, 0]
    assert find_peaks(y, peak_threshold(y)).tolist() == [4]
    (c,) = detect_clusters(x, np.arange(10.0), 100.0)
    assert (c.start, c.stop, c.size, c.price) == (3, 5, 12.0, 4.0)
    flat_top = np.array([0.0, 2.0, 2.0, 2.0, 0.0])
    assert find_peaks(flat_top, 1.0).tolist() == [1]


def test_overlapping_extents_bin_claimed_once() -> None:
    # y = [0, 2, 4, 3, 2, 3, 4, 2, 0, ...]: bin 4 (y = 2 = half max) is reachable from both peaks.
    x = np.array([0, 0, 8, 0, 4, 0, 8, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    clusters = detect_clusters(x, np.arange(x.size, dtype=float), 100.0)
    assert [(c.start, c.stop) for c in clusters] == [(1, 4), (5, 7)]
    assert sum(c.size for c in clusters) == x.sum()


def test_side_at_price_is_short() -> None:
    x = [0, 0, 8, 0, 0, 0, 0]
    (c,) = detect_clusters(x, np.arange(7.0) * 10 + 100, 120.0)
    assert c.price == 120.0
    assert c.side is ClusterSide.SHORT


def test_ties_pick_first_cluster() -> None:
    c1 = Cluster(0, 0, 0, 1.0, 99.0, ClusterSide.LONG)
    c2 = Cluster(2, 2, 2, 1.0, 101.0, ClusterSide.SHORT)
    s1, s2 = whale_target_scores([c1, c2], 100.0, 0.0)
    assert s1.score == s2.score
    assert whale_target([s1, s2]) is s1


@pytest.mark.parametrize(
    "bad", [[1.0, math.nan, 2.0], [1.0, math.inf, 2.0], [1.0, -1.0, 2.0], [[1.0, 2.0]]]
)
def test_invalid_profiles_raise(bad: object) -> None:
    with pytest.raises(ValueError, match="profile"):
        detect_clusters(bad, [1.0, 2.0, 3.0], 2.0)  # type: ignore[arg-type]


def test_shape_mismatch_and_bad_price_raise() -> None:
    with pytest.raises(ValueError, match="centers"):
        detect_clusters([1.0, 2.0], [1.0], 2.0)
    with pytest.raises(ValueError, match="p0"):
        whale_target_scores([], 0.0, 0.0)


def test_large_profile_vectorised() -> None:
    rng = np.random.default_rng(0)
    x = rng.gamma(1.0, 1.0, 10_000)
    x[5_000] = 500.0
    clusters = detect_clusters(x, np.arange(x.size, dtype=float), 4_000.0)
    assert any(c.start <= 5_000 <= c.stop for c in clusters)
    scored = whale_target_scores(clusters, 4_000.0, 0.0)
    assert math.isclose(sum(s.share for s in scored), 1.0)
    assert all(0.0 <= s.score <= 100.0 for s in scored)
