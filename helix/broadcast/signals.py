"""Signals as broadcast items, and the registry the broadcaster runs with.

The **score** routing compares with a minimum (``HELIX_BROADCAST_ROUTES``) is the number each
rule itself thresholds, so a minimum reads in the rule's own units:

============================== =============================================================
kind                           score
============================== =============================================================
liquidation_cluster_targeted   the cluster's whale-target score (``score``, quant.md §3)
stop_hunt                      the swept level's cluster score (``level_score``)
oi_spike                       the open-interest z-score (``z``)
volume_spike                   the volume z-score (``z``; may be ``inf``)
liquidation_imbalance          ``|imbalance|`` of the top-ranked market (0 … 1)
============================== =============================================================
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from events.signals import (
    ClusterTargeted,
    ImbalanceRanked,
    OiSpike,
    Signal,
    StopHunt,
    VolumeSpike,
)
from helix.broadcast.items import Item, Registry, ref_of

SIGNAL_SUBJECTS = ("ldg.signal.>",)


def usd(x: Decimal | float) -> str:
    """``$16.0M``, ``$950K``, ``$120``."""
    v = float(x)
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(v) >= div:
            return f"${v / div:.1f}{unit}"
    return f"${v:,.0f}"


def price(x: Decimal) -> str:
    """Thousands separators, the event's own decimals."""
    return f"{x:,}"


def when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _market(s: Signal) -> str:
    return "all markets" if s.symbol == "*" else f"{s.venue} {s.symbol}"


def _base(s: Signal, **kw: object) -> Item:
    return Item(
        kind=s.KIND,
        ref=ref_of(s),
        market=_market(s),
        reason=s.reason,
        ts_event=s.ts_event,
        venue=None if s.venue == "*" else s.venue,
        symbol=None if s.symbol == "*" else s.symbol,
        **kw,  # type: ignore[arg-type]
    )


def describe_cluster(s: ClusterTargeted) -> Item:
    return _base(
        s,
        title=f"{s.side.capitalize()} liquidations targeted",
        headline=(
            f"{s.side} cluster {price(s.price)} ({usd(s.size_usd)}), {s.distance:.2%} away: "
            f"hunt {s.direction}, score {s.score:.1f}"
        ),
        score=s.score,
        facts=(
            ("Cluster", f"{price(s.price_low)} - {price(s.price_high)}"),
            ("Size", usd(s.size_usd)),
            ("Price now", price(s.reference_price)),
            ("Share of levels", f"{s.share:.0%}"),
            ("OI z", "n/a" if s.oi_z is None else f"{s.oi_z:.2f}"),
            ("Score", f"{s.score:.1f} (threshold {s.threshold:g})"),
            ("Window", s.window),
            ("Bar end", when(s.ts_event)),
        ),
        window=s.window,
    )


def describe_stop_hunt(s: StopHunt) -> Item:
    return _base(
        s,
        title=f"Stop hunt ({s.direction})",
        headline=(
            f"swept {s.level_side} liquidations at {price(s.level_price)} "
            f"({usd(s.level_size_usd)}), closed back at {price(s.close)}"
        ),
        score=s.level_score,
        facts=(
            ("Level", f"{price(s.level_price)} ({usd(s.level_size_usd)})"),
            ("Candle", f"O {price(s.open)} H {price(s.high)} L {price(s.low)} C {price(s.close)}"),
            ("Wick", f"{s.wick_ratio:.0%} (min {s.ratio_min:.0%})"),
            ("Level score", f"{s.level_score:.1f}"),
            ("Bar end", when(s.ts_event)),
        ),
    )


def describe_oi_spike(s: OiSpike) -> Item:
    return _base(
        s,
        title="Open interest spike",
        headline=f"OI {s.pct_1:+.2%} to {price(s.open_interest)} (z {s.z:.1f}), {s.regime}",
        score=s.z,
        facts=(
            ("Open interest", f"{price(s.previous)} -> {price(s.open_interest)}"),
            ("z-score", f"{s.z:.2f} (min {s.z_min:g})"),
            ("Price change", f"{s.price_change:+.2%}"),
            ("Regime", s.regime),
            ("Bar end", when(s.ts_event)),
        ),
    )


def describe_volume_spike(s: VolumeSpike) -> Item:
    return _base(
        s,
        title="Volume spike",
        headline=f"volume {usd(s.volume_usd)}, {s.rvol:.1f}x normal (z {s.z:.1f})",
        score=s.z,
        facts=(
            ("Volume", usd(s.volume_usd)),
            ("Relative volume", f"{s.rvol:.2f}x (min {s.rvol_min:g})"),
            ("z-score", f"{s.z:.2f} (min {s.z_min:g})"),
            ("Bar end", when(s.ts_event)),
        ),
    )


def describe_imbalance(s: ImbalanceRanked) -> Item:
    top = s.ranking[:3]
    lines = tuple(
        (f"{e.venue} {e.symbol}", f"{e.imbalance:+.0%} ({e.side_at_risk}s at risk)") for e in top
    )
    return _base(
        s,
        title="Liquidation imbalance",
        headline=", ".join(f"{e.symbol} {e.imbalance:+.0%}" for e in top) or "no levels",
        score=abs(top[0].imbalance) if top else None,
        facts=(*lines, ("Window", s.window), ("As of", when(s.ts_event))),
        window=s.window,
    )


def default_registry() -> Registry:
    """The signal kinds (fund seals and NAV strikes register here when they exist)."""
    registry = Registry()
    registry.register(
        ClusterTargeted,
        subjects=SIGNAL_SUBJECTS,
        describe=describe_cluster,
        kind=ClusterTargeted.KIND,
    )
    registry.register(
        StopHunt, subjects=SIGNAL_SUBJECTS, describe=describe_stop_hunt, kind=StopHunt.KIND
    )
    registry.register(
        OiSpike, subjects=SIGNAL_SUBJECTS, describe=describe_oi_spike, kind=OiSpike.KIND
    )
    registry.register(
        VolumeSpike, subjects=SIGNAL_SUBJECTS, describe=describe_volume_spike, kind=VolumeSpike.KIND
    )
    registry.register(
        ImbalanceRanked,
        subjects=SIGNAL_SUBJECTS,
        describe=describe_imbalance,
        kind=ImbalanceRanked.KIND,
    )
    return registry
