"""Every current event type, as one tagged union for decoding."""

from __future__ import annotations

from events.market import Kline, Liquidation, Ticker, Trade
from events.ops import DeadLetter, ImportCompleted

AnyEvent = Trade | Liquidation | Ticker | Kline | DeadLetter | ImportCompleted

ALL_EVENT_TYPES = (Trade, Liquidation, Ticker, Kline, DeadLetter, ImportCompleted)
TAGS: dict[str, type] = {str(t.__struct_config__.tag): t for t in ALL_EVENT_TYPES}
