"""Wick metrics and the stop-hunt (liquidity sweep) detector (``quant.md`` §4, TV-4).

Per candle ``(O, H, L, C)``: range ``R = H - L``, body ``B = |C - O|``, upper wick
``U = H - max(O, C)``, lower wick ``Lw = min(O, C) - L``, ratios ``u = U / R`` and ``l = Lw / R``
(0 when ``R = 0``), and wick-to-body ``U / B``, ``Lw / B`` (``inf`` when ``B = 0``).

The detector walks candles in time order against a level set taken *before* each candle:

* long level ``P``: pierced if ``L <= P``; ``C > P`` and ``l >= 0.5`` is ``BULL_STOP_HUNT``;
  ``C < P`` is ``BREAKDOWN``; otherwise ``TOUCH_NO_REJECTION``;
* short level ``P``: pierced if ``H >= P``; ``C < P`` and ``u >= 0.5`` is ``BEAR_STOP_HUNT``;
  ``C > P`` is ``BREAKOUT``; otherwise ``TOUCH_NO_REJECTION``;
* every pierced level is consumed (removed).

Choices the reference leaves open (tested in ``tests/unit/quant/test_wicks.py``):

* Wick-to-body is ``inf`` whenever ``B = 0``, even when the wick is 0 too (the reference's rule,
  taken literally).
* A close exactly *at* the level is neither "back inside" nor "beyond": ``TOUCH_NO_REJECTION``.
* Several levels pierced by one candle give one event each, ordered by the path of the sweep:
  long levels from the highest price down, then short levels from the lowest price up.
* Candles with any NaN price produce no events and consume nothing; their metrics are NaN.
* Optional volume confirmation (off by default): when ``volume_z`` is given, each hunt event
  carries ``volume_confirmed = z >= min_volume_z`` (NaN counts as not confirmed). The event kind
  is not changed; non-hunt events and runs without ``volume_z`` carry ``None``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from helix.quant.clusters import ClusterSide

__all__ = [
    "DEFAULT_WICK_CONFIG",
    "Level",
    "SweepEvent",
    "SweepKind",
    "WickConfig",
    "WickMetrics",
    "detect_stop_hunts",
    "wick_metrics",
]


@dataclass(frozen=True, slots=True)
class WickConfig:
    """Parameters of §4 (defaults from Appendix A).

    Attributes:
        wick_ratio: Minimum ``l`` (bull) or ``u`` (bear) for a stop hunt.
        min_volume_z: Volume z needed for the optional confirmation.
    """

    wick_ratio: float = 0.5
    min_volume_z: float = 1.0


DEFAULT_WICK_CONFIG = WickConfig()


@dataclass(frozen=True, slots=True)
class WickMetrics:
    """Vectorised per-candle wick metrics (arrays of equal length)."""

    range: NDArray[np.float64]
    body: NDArray[np.float64]
    upper: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper_ratio: NDArray[np.float64]
    lower_ratio: NDArray[np.float64]
    upper_to_body: NDArray[np.float64]
    lower_to_body: NDArray[np.float64]


def _arrays(
    o: ArrayLike, h: ArrayLike, low: ArrayLike, c: ArrayLike
) -> tuple[NDArray[np.float64], ...]:
    arrs = tuple(np.asarray(a, dtype=np.float64) for a in (o, h, low, c))
    shape = arrs[0].shape
    if len(shape) != 1 or any(a.shape != shape for a in arrs):
        raise ValueError("open/high/low/close must be 1-D arrays of equal length")
    return arrs


def wick_metrics(o: ArrayLike, h: ArrayLike, low: ArrayLike, c: ArrayLike) -> WickMetrics:
    """Compute §4.1 wick metrics for many candles at once.

    Args:
        o: Open prices.
        h: High prices.
        low: Low prices.
        c: Close prices.

    Returns:
        Range, body, wicks, ``u``/``l`` ratios (0 when range is 0) and wick-to-body ratios
        (``inf`` when body is 0). NaN inputs give NaN outputs.
    """
    oa, ha, la, ca = _arrays(o, h, low, c)
    rng = ha - la
    body = np.abs(ca - oa)
    upper = ha - np.maximum(oa, ca)
    lower = np.minimum(oa, ca) - la
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(rng == 0, 0.0, upper / rng)
        lr = np.where(rng == 0, 0.0, lower / rng)
        ub = np.where(body == 0, np.inf, upper / body)
        lb = np.where(body == 0, np.inf, lower / body)
    nan = np.isnan(rng) | np.isnan(body)
    for arr in (u, lr, ub, lb):
        arr[nan] = np.nan
    return WickMetrics(rng, body, upper, lower, u, lr, ub, lb)


class SweepKind(enum.StrEnum):
    """Outcome of a pierced level."""

    BULL_STOP_HUNT = "BULL_STOP_HUNT"
    BEAR_STOP_HUNT = "BEAR_STOP_HUNT"
    BREAKDOWN = "BREAKDOWN"
    BREAKOUT = "BREAKOUT"
    TOUCH_NO_REJECTION = "TOUCH_NO_REJECTION"


@dataclass(frozen=True, slots=True)
class Level:
    """A liquidation level: ``LONG`` levels sit below price, ``SHORT`` levels above."""

    price: float
    side: ClusterSide


@dataclass(frozen=True, slots=True)
class SweepEvent:
    """One pierced level.

    Attributes:
        index: Candle index.
        level: The consumed level.
        kind: Outcome.
        depth: ``(P - L) / P`` for long levels, ``(H - P) / P`` for short levels.
        volume_confirmed: Confirmation result for hunts when ``volume_z`` was given, else None.
    """

    index: int
    level: Level
    kind: SweepKind
    depth: float
    volume_confirmed: bool | None = None


def _classify(
    level: Level, high: float, low: float, close: float, u: float, lr: float, ratio: float
) -> tuple[SweepKind, float] | None:
    p = level.price
    if level.side is ClusterSide.LONG:
        if not low <= p:
            return None
        depth = (p - low) / p
        if close > p:
            kind = SweepKind.BULL_STOP_HUNT if lr >= ratio else SweepKind.TOUCH_NO_REJECTION
        elif close < p:
            kind = SweepKind.BREAKDOWN
        else:
            kind = SweepKind.TOUCH_NO_REJECTION
        return kind, depth
    if not high >= p:
        return None
    depth = (high - p) / p
    if close < p:
        kind = SweepKind.BEAR_STOP_HUNT if u >= ratio else SweepKind.TOUCH_NO_REJECTION
    elif close > p:
        kind = SweepKind.BREAKOUT
    else:
        kind = SweepKind.TOUCH_NO_REJECTION
    return kind, depth


def _sweep_order(level: Level) -> tuple[int, float]:
    return (0, -level.price) if level.side is ClusterSide.LONG else (1, level.price)


def detect_stop_hunts(
    o: ArrayLike,
    h: ArrayLike,
    low: ArrayLike,
    c: ArrayLike,
    levels: Sequence[Level],
    volume_z: ArrayLike | None = None,
    config: WickConfig = DEFAULT_WICK_CONFIG,
) -> tuple[list[SweepEvent], list[Level]]:
    """Run the §4.2 detector over candles in time order.

    Args:
        o: Open prices.
        h: High prices.
        low: Low prices.
        c: Close prices.
        levels: Levels known before the first candle (e.g. §3 clusters).
        volume_z: Optional per-candle volume z-score (§5) for the confirmation flag.
        config: Parameters.

    Returns:
        ``(events, remaining_levels)``: events in candle order (sweep order within a candle)
        and the levels never pierced, in their input order.
    """
    oa, ha, la, ca = _arrays(o, h, low, c)
    vz = None if volume_z is None else np.asarray(volume_z, dtype=np.float64)
    if vz is not None and vz.shape != oa.shape:
        raise ValueError("volume_z must match the candles")
    wm = wick_metrics(oa, ha, la, ca)
    active = list(levels)
    events: list[SweepEvent] = []
    hunts = (SweepKind.BULL_STOP_HUNT, SweepKind.BEAR_STOP_HUNT)
    for i in range(oa.size):
        hi, lo_, cl = float(ha[i]), float(la[i]), float(ca[i])
        if any(math.isnan(v) for v in (float(oa[i]), hi, lo_, cl)) or not active:
            continue
        u, lr = float(wm.upper_ratio[i]), float(wm.lower_ratio[i])
        pierced: list[tuple[Level, SweepKind, float]] = []
        for level in active:
            res = _classify(level, hi, lo_, cl, u, lr, config.wick_ratio)
            if res is not None:
                pierced.append((level, res[0], res[1]))
        if not pierced:
            continue
        gone = {id(p[0]) for p in pierced}
        active = [lv for lv in active if id(lv) not in gone]
        for level, kind, depth in sorted(pierced, key=lambda p: _sweep_order(p[0])):
            confirmed: bool | None = None
            if vz is not None and kind in hunts:
                confirmed = bool(vz[i] >= config.min_volume_z)
            events.append(SweepEvent(i, level, kind, depth, confirmed))
    return events, active
