"""Tests for ``helix.quant.wicks`` (quant.md §4, TV-4).

R, B, U, Lw, U/B, Lw/B, the events and levels are exact; the printed ratios and depths are compared
to half a unit of their last printed digit and to their closed forms at ``1e-9``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from helix.quant.clusters import ClusterSide
from helix.quant.wicks import (
    DEFAULT_WICK_CONFIG,
    Level,
    SweepKind,
    detect_stop_hunts,
    wick_metrics,
)

LONG, SHORT = ClusterSide.LONG, ClusterSide.SHORT
OPEN = [96_500, 96_600, 96_400, 97_700, 97_650]
HIGH = [96_700, 96_650, 97_750, 98_300, 97_700]
LOW = [96_300, 95_300, 96_350, 97_600, 94_700]
CLOSE = [96_600, 96_400, 97_700, 97_650, 94_750]
LEVELS = [Level(95_400.0, LONG), Level(94_800.0, LONG), Level(97_800.0, SHORT)]


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def printed(a: float, b: float, decimals: int) -> bool:
    return abs(a - b) <= 0.5 * 10.0**-decimals + 1e-12


def test_default_ratio_is_half() -> None:
    assert DEFAULT_WICK_CONFIG.wick_ratio == 0.5


def test_tv4_metrics() -> None:
    m = wick_metrics(OPEN, HIGH, LOW, CLOSE)
    assert m.range.tolist() == [400, 1_350, 1_400, 700, 3_000]
    assert m.body.tolist() == [100, 200, 1_300, 50, 2_900]
    assert m.upper.tolist() == [100, 50, 50, 600, 50]
    assert m.lower.tolist() == [200, 1_100, 50, 50, 50]
    u = [0.25, 0.037037, 0.035714, 0.857143, 0.016667]
    lr = [0.5, 0.814815, 0.035714, 0.071429, 0.016667]
    ub = [1, 0.25, 0.038462, 12, 0.017241]
    lb = [2, 5.5, 0.038462, 1, 0.017241]
    for got, exp in (
        (m.upper_ratio, u),
        (m.lower_ratio, lr),
        (m.upper_to_body, ub),
        (m.lower_to_body, lb),
    ):
        assert all(printed(float(g), e, 6) for g, e in zip(got, exp, strict=True))
    assert close(float(m.lower_ratio[1]), 1_100 / 1_350)
    assert close(float(m.upper_ratio[3]), 600 / 700)
    assert m.upper_to_body[3] == 12.0
    assert m.lower_to_body[1] == 5.5


def test_tv4_events() -> None:
    events, remaining = detect_stop_hunts(OPEN, HIGH, LOW, CLOSE, LEVELS)
    assert remaining == []
    assert [(e.index, e.level.price, e.kind) for e in events] == [
        (1, 95_400.0, SweepKind.BULL_STOP_HUNT),
        (3, 97_800.0, SweepKind.BEAR_STOP_HUNT),
        (4, 94_800.0, SweepKind.BREAKDOWN),
    ]
    bull, bear, _ = events
    assert printed(bull.depth, 0.001048, 6)
    assert close(bull.depth, 100 / 95_400)
    assert printed(bear.depth, 0.005112, 6)
    assert close(bear.depth, 500 / 97_800)
    assert all(e.volume_confirmed is None for e in events)


def test_tv4_consumed_level_is_not_reused() -> None:
    # Candle 5 also pierces 95,400, but it was consumed by candle 2.
    events, _ = detect_stop_hunts(OPEN[4:], HIGH[4:], LOW[4:], CLOSE[4:], LEVELS)
    assert [(e.level.price, e.kind) for e in events] == [
        (95_400.0, SweepKind.BREAKDOWN),
        (94_800.0, SweepKind.BREAKDOWN),
    ]


def test_candle_one_pierces_nothing() -> None:
    events, remaining = detect_stop_hunts(OPEN[:1], HIGH[:1], LOW[:1], CLOSE[:1], LEVELS)
    assert events == []
    assert remaining == LEVELS


def test_zero_range_and_zero_body() -> None:
    m = wick_metrics([100, 100], [100, 101], [100, 99], [100, 100])
    assert m.upper_ratio.tolist() == [0.0, 0.5]
    assert m.lower_ratio.tolist() == [0.0, 0.5]
    assert m.upper_to_body.tolist() == [math.inf, math.inf]  # inf when B = 0, even for U = 0
    assert m.lower_to_body.tolist() == [math.inf, math.inf]


def test_nan_candle_is_skipped() -> None:
    m = wick_metrics([math.nan], [1.0], [0.0], [0.5])
    assert all(math.isnan(float(a[0])) for a in (m.upper_ratio, m.lower_to_body))
    events, remaining = detect_stop_hunts([math.nan], [200.0], [50.0], [100.0], LEVELS[:1])
    assert events == []
    assert remaining == LEVELS[:1]


def test_empty_input() -> None:
    m = wick_metrics([], [], [], [])
    assert m.range.size == 0
    assert detect_stop_hunts([], [], [], [], LEVELS) == ([], LEVELS)


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="equal length"):
        wick_metrics([1.0], [1.0, 2.0], [1.0], [1.0])
    with pytest.raises(ValueError, match="volume_z"):
        detect_stop_hunts(OPEN, HIGH, LOW, CLOSE, LEVELS, volume_z=[1.0])


@pytest.mark.parametrize(
    ("o", "h", "low", "c", "kind"),
    [
        (105.0, 106.0, 100.0, 100.0, SweepKind.TOUCH_NO_REJECTION),  # long level, close at level
        (101.0, 110.0, 99.0, 109.0, SweepKind.TOUCH_NO_REJECTION),  # back inside, l < 0.5
        (105.0, 106.0, 99.0, 105.5, SweepKind.BULL_STOP_HUNT),
    ],
)
def test_long_level_outcomes(o: float, h: float, low: float, c: float, kind: SweepKind) -> None:
    events, _ = detect_stop_hunts([o], [h], [low], [c], [Level(100.0, LONG)])
    assert [e.kind for e in events] == [kind]


@pytest.mark.parametrize(
    ("c", "kind"),
    [(100.0, SweepKind.TOUCH_NO_REJECTION), (101.0, SweepKind.BREAKOUT)],
)
def test_short_level_outcomes(c: float, kind: SweepKind) -> None:
    events, _ = detect_stop_hunts([99.0], [102.0], [98.0], [c], [Level(100.0, SHORT)])
    assert [e.kind for e in events] == [kind]


def test_low_exactly_at_level_is_pierced() -> None:
    events, _ = detect_stop_hunts([105.0], [106.0], [100.0], [105.5], [Level(100.0, LONG)])
    assert [(e.kind, e.depth) for e in events] == [(SweepKind.BULL_STOP_HUNT, 0.0)]


def test_multi_level_candle_sweep_order() -> None:
    levels = [Level(95.0, LONG), Level(104.0, SHORT), Level(98.0, LONG), Level(102.0, SHORT)]
    events, remaining = detect_stop_hunts([100.0], [105.0], [94.0], [100.0], levels)
    assert [e.level.price for e in events] == [98.0, 95.0, 102.0, 104.0]
    assert remaining == []


def test_volume_confirmation_flag() -> None:
    vz = np.array([0.0, 0.4, 0.0, math.nan, 3.0])
    events, _ = detect_stop_hunts(OPEN, HIGH, LOW, CLOSE, LEVELS, volume_z=vz)
    assert [e.volume_confirmed for e in events] == [False, False, None]
    events, _ = detect_stop_hunts(OPEN, HIGH, LOW, CLOSE, LEVELS, volume_z=np.full(5, 1.0))
    assert [e.volume_confirmed for e in events] == [True, True, None]
