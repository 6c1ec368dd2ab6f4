"""Every current event type, as one tagged union for decoding."""

from __future__ import annotations

from events.market import Kline, Liquidation, Ticker, Trade
from events.ops import DeadLetter, ImportCompleted
from events.signals import ClusterTargeted, ImbalanceRanked, OiSpike, StopHunt, VolumeSpike

AnyEvent = (
    Trade
    | Liquidation
    | Ticker
    | Kline
    | DeadLetter
    | ImportCompleted
    | ClusterTargeted
    | OiSpike
    | VolumeSpike
    | StopHunt
    | ImbalanceRanked
)

ALL_EVENT_TYPES = (
    Trade,
    Liquidation,
    Ticker,
    Kline,
    DeadLetter,
    ImportCompleted,
    ClusterTargeted,
    OiSpike,
    VolumeSpike,
    StopHunt,
    ImbalanceRanked,
)
TAGS: dict[str, type] = {str(t.__struct_config__.tag): t for t in ALL_EVENT_TYPES}
