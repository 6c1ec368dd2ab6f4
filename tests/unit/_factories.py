"""Builders for valid event instances, shared by the unit tests (no I/O)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from events.base import Event
from events.market import Kline, Liquidation, Ticker, Trade
from events.ops import DeadLetter, ImportCompleted

EVENT_ID = uuid.UUID("0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b")
CAUSE_ID = uuid.UUID("11111111-2222-4333-8444-555555555555")


def envelope(**overrides: Any) -> dict[str, Any]:
    """Envelope fields common to every event."""
    fields: dict[str, Any] = {
        "event_id": EVENT_ID,
        "ts_event": 1_700_000_000_000_000_000,
        "ts_recorded": 1_700_000_000_123_456_789,
        "source": "unit-test",
        "vertical": "perps",
    }
    fields.update(overrides)
    return fields


def trade(**overrides: Any) -> Trade:
    fields: dict[str, Any] = {
        **envelope(),
        "venue": "bybit",
        "symbol": "BTCUSDT",
        "trade_id": "t-1",
        "price": Decimal("0.1"),
        "qty": Decimal("1.50"),
        "side": "buy",
    }
    fields.update(overrides)
    return Trade(**fields)


def liquidation(**overrides: Any) -> Liquidation:
    fields: dict[str, Any] = {
        **envelope(),
        "venue": "bybit",
        "symbol": "ETHUSDT",
        "key": "liq-9",
        "price": Decimal("3012.45"),
        "qty": Decimal("0.001"),
        "side": "sell",
    }
    fields.update(overrides)
    return Liquidation(**fields)


def ticker(**overrides: Any) -> Ticker:
    fields: dict[str, Any] = {
        **envelope(),
        "venue": "bybit",
        "symbol": "BTCUSDT",
        "mark_price": Decimal("64000.10"),
        "funding_rate": Decimal("-0.000125"),
        "next_funding_ts": 1_700_003_600_000_000_000,
    }
    fields.update(overrides)
    return Ticker(**fields)


def kline(**overrides: Any) -> Kline:
    fields: dict[str, Any] = {
        **envelope(),
        "venue": "bybit",
        "symbol": "BTCUSDT",
        "interval": "1m",
        "start": 1_699_999_940_000_000_000,
        "open": Decimal("1.0"),
        "high": Decimal("1.2"),
        "low": Decimal("0.9"),
        "close": Decimal("1.1"),
        "volume": Decimal("12345.678"),
        "turnover": Decimal("13580.2458"),
        "closed": False,
    }
    fields.update(overrides)
    return Kline(**fields)


def dead_letter(**overrides: Any) -> DeadLetter:
    fields: dict[str, Any] = {
        **envelope(vertical="ops", causation_id=CAUSE_ID),
        "origin": "import:/data/trades.csv.gz:123",
        "reason": "bad price",
        "raw": b"\x00\xffnot utf-8\xfe",
    }
    fields.update(overrides)
    return DeadLetter(**fields)


def import_completed(**overrides: Any) -> ImportCompleted:
    fields: dict[str, Any] = {
        **envelope(vertical="ops"),
        "sha256": "ab" * 32,
        "name": "btcusdt_20240718.gz",
        "format": "binance-ws",
        "read": 10,
        "imported": 7,
        "duplicates": 1,
        "rejected": 1,
        "skipped": 1,
    }
    fields.update(overrides)
    return ImportCompleted(**fields)


def all_samples() -> list[Event]:
    """One instance of every current event type."""
    return [trade(), liquidation(), ticker(), kline(), dead_letter(), import_completed()]
