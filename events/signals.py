"""Signal events (stream ``LEDGER``, subjects ``ldg.signal.<kind>.<venue>.<symbol>``).

A signal is a strategy's claim about the market, recorded with **every input that justified
it** (the numbers the rule compared and the thresholds it compared them with) and a ``reason``
sentence built from them, so an audit can explain each signal from the signal alone and a
replay of the market log can reproduce it.  Strategies take time from events only:
``ts_event`` is the end of the bar that triggered the signal and ``source_seq`` the ``MARKET``
stream sequence of the event that closed that bar.

Prices and notionals are ``Decimal``; statistics (z-scores, ratios, scores) are floats (a
z-score of ``inf`` is legal: a flat window followed by a move, quant.md §5).  A statistic that
cannot be computed yet is ``None``, never NaN (NaN would make an event unequal to itself).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from events.base import Event

PositionSide = Literal["long", "short"]
"""Whose liquidations: ``long`` levels sit below price, ``short`` levels above."""


class Signal(Event, frozen=True, kw_only=True):
    """Fields every signal carries (subclasses set the tag).

    Attributes:
        strategy: the strategy that emitted it (``perps_scanner``).
        venue / symbol: the market (``*`` for cross-market signals).
        interval: bar length the rule ran on (``5m``).
        bar_start: start of the bar that triggered it (UTC ns); ``ts_event`` is its end.
        source_seq: ``MARKET`` stream sequence of the event that closed the bar.
        reason: a sentence built from the inputs below.
    """

    strategy: str
    venue: str
    symbol: str
    interval: str
    bar_start: int
    source_seq: int
    reason: str

    KIND = ""


class ClusterTargeted(
    Signal, frozen=True, kw_only=True, tag="signal.liquidation_cluster_targeted.v1"
):
    """The whale-target rule (quant.md §3): the best-scored cluster crossed the threshold."""

    window: str
    side: PositionSide
    direction: Literal["down", "up"]
    price: Decimal
    price_low: Decimal
    price_high: Decimal
    size_usd: Decimal
    reference_price: Decimal
    distance: float
    share: float
    proximity: float
    oi_z: float | None  # None: fewer bars than the z window
    score: float
    threshold: float
    clusters: int
    runner_up_score: float

    KIND = "liquidation_cluster_targeted"


class OiSpike(Signal, frozen=True, kw_only=True, tag="signal.oi_spike.v1"):
    """Open interest jumped (quant.md §5: ``z ≥ z_min`` and ``|pct_1| ≥ pct_min``)."""

    open_interest: Decimal
    previous: Decimal
    pct_1: float
    mean: float
    std: float
    z: float
    window: int
    z_min: float
    pct_min: float
    price_change: float
    regime: str

    KIND = "oi_spike"


class VolumeSpike(Signal, frozen=True, kw_only=True, tag="signal.volume_spike.v1"):
    """Traded volume jumped (quant.md §5: ``z_V ≥ z_min`` and ``RVOL ≥ rvol_min``)."""

    volume_usd: Decimal
    mean: float
    std: float
    z: float
    rvol: float
    window: int
    z_min: float
    rvol_min: float

    KIND = "volume_spike"


class StopHunt(Signal, frozen=True, kw_only=True, tag="signal.stop_hunt.v1"):
    """A wick swept a liquidation cluster and price closed back (quant.md §4.2).

    The candle is merged from the bar that pierced the level (``sweep_start``) to the bar that
    closed back (``bar_start``), ``bars`` bars in all (1: a single candle, as in §4.2).
    """

    direction: Literal["bull", "bear"]
    level_side: PositionSide
    level_price: Decimal
    level_size_usd: Decimal
    level_score: float
    sweep_start: int
    bars: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    wick_ratio: float
    ratio_min: float
    depth: float
    volume_z: float | None  # None: fewer bars than the z window

    KIND = "stop_hunt"


class ImbalanceEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One market's liquidation levels: long (below price) vs short (above)."""

    venue: str
    symbol: str
    price: Decimal
    long_usd: Decimal
    short_usd: Decimal
    imbalance: float  # (short - long) / (short + long): > 0 more shorts to squeeze above

    @property
    def side_at_risk(self) -> PositionSide:
        return "short" if self.imbalance > 0 else "long"


class ImbalanceRanked(Signal, frozen=True, kw_only=True, tag="signal.liquidation_imbalance.v1"):
    """Markets ranked by ``|imbalance|`` of their open liquidation levels (largest first)."""

    window: str
    ranking: tuple[ImbalanceEntry, ...]

    KIND = "liquidation_imbalance"


AnySignal = ClusterTargeted | OiSpike | VolumeSpike | StopHunt | ImbalanceRanked
SIGNAL_TYPES: tuple[type[Signal], ...] = (
    ClusterTargeted,
    OiSpike,
    VolumeSpike,
    StopHunt,
    ImbalanceRanked,
)
SIGNAL_KINDS: tuple[str, ...] = tuple(t.KIND for t in SIGNAL_TYPES)


def signal_subject(signal: Signal, prefix: str = "ldg.signal") -> str:
    """``ldg.signal.<kind>.<venue>.<symbol>`` (``*`` becomes ``all``)."""
    venue = "all" if signal.venue == "*" else signal.venue
    symbol = "all" if signal.symbol == "*" else signal.symbol
    return f"{prefix}.{signal.KIND}.{venue}.{symbol}"
