"""Builders for valid event instances, shared by the unit tests (no I/O)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import msgspec

from events import trading as t
from events.audit import Sealed
from events.backtest import BacktestCompleted
from events.base import Event
from events.fund import FUND_EVENT_TYPES
from events.market import Kline, Liquidation, Ticker, Trade
from events.ops import DeadLetter, ImportCompleted
from events.poly import POLY_MARKET_TYPES, POLY_SIGNAL_TYPES
from events.signals import (
    ClusterTargeted,
    ImbalanceEntry,
    ImbalanceRanked,
    OiSpike,
    StopHunt,
    VolumeSpike,
)

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


def signal_fields(**overrides: Any) -> dict[str, Any]:
    """Fields every signal carries."""
    fields: dict[str, Any] = {
        **envelope(source="perps_scanner", causation_id=CAUSE_ID),
        "strategy": "perps_scanner",
        "venue": "bybit",
        "symbol": "BTCUSDT",
        "interval": "5m",
        "bar_start": 1_699_999_700_000_000_000,
        "source_seq": 42,
        "reason": "because the numbers said so",
    }
    fields.update(overrides)
    return fields


def cluster_targeted(**overrides: Any) -> ClusterTargeted:
    fields = signal_fields(
        window="24h", side="short", direction="up", price=Decimal("95931.25"),
        price_low=Decimal("95800"), price_high=Decimal("96100"), size_usd=Decimal("16000000"),
        reference_price=Decimal("95650"), distance=0.00294041, share=0.516129,
        proximity=0.863276, oi_z=16.525653, score=44.5562, threshold=35.0, clusters=2,
        runner_up_score=41.5084,
    )  # fmt: skip
    fields.update(overrides)
    return ClusterTargeted(**fields)


def oi_spike(**overrides: Any) -> OiSpike:
    fields = signal_fields(
        open_interest=Decimal("530"), previous=Decimal("506"), pct_1=0.047431, mean=503.5,
        std=1.603567, z=16.525653, window=8, z_min=2.5, pct_min=0.02, price_change=0.01,
        regime="new longs",
    )  # fmt: skip
    fields.update(overrides)
    return OiSpike(**fields)


def volume_spike(**overrides: Any) -> VolumeSpike:
    fields = signal_fields(
        volume_usd=Decimal("95"), mean=39.75, std=1.9, z=float("inf"), rvol=2.389937,
        window=8, z_min=2.5, rvol_min=2.0,
    )  # fmt: skip
    fields.update(overrides)
    return VolumeSpike(**fields)


def stop_hunt(**overrides: Any) -> StopHunt:
    fields = signal_fields(
        direction="bull", level_side="long", level_price=Decimal("95400"),
        level_size_usd=Decimal("15000000"), level_score=41.5, sweep_start=1_699_999_700_000_000_000,
        bars=1, open=Decimal("96600"),
        high=Decimal("96650"), low=Decimal("95300"), close=Decimal("96400"),
        wick_ratio=0.814815, ratio_min=0.5, depth=0.001048, volume_z=None,
    )  # fmt: skip
    fields.update(overrides)
    return StopHunt(**fields)


def imbalance_ranked(**overrides: Any) -> ImbalanceRanked:
    entry = ImbalanceEntry(
        venue="bybit", symbol="BTCUSDT", price=Decimal("95650"), long_usd=Decimal("15"),
        short_usd=Decimal("16"), imbalance=1 / 31,
    )  # fmt: skip
    fields = signal_fields(venue="*", symbol="*", window="24h", ranking=(entry,))
    fields.update(overrides)
    return ImbalanceRanked(**fields)


ORDER_ID = uuid.UUID("9e1b7c7a-2f6e-5d0b-8c3a-1d2e3f4a5b6c")


def trading_samples() -> list[Event]:
    """One instance of every trading event type."""
    e = envelope(source="helix-execution")
    o: dict[str, Any] = {"order_id": ORDER_ID}
    acct: dict[str, Any] = {"account": "paper", "venue": "sim", "symbol": "BTCUSDT"}
    return [
        t.OrderPlaced(**e, **o, **acct, side="buy", order_type="limit", qty=Decimal("0.010"),
                      limit_price=Decimal("95000.5"), stop_loss=Decimal("94000"),
                      command_id="c-1", reference_price=Decimal("95010.0")),
        t.OrderRejected(**e, **o, **acct, stage="risk", reason="max_position: too big",
                        checks=("max_position",), side="sell", qty=Decimal("3"),
                        order_type="market", mode="paper", strategy="s"),
        t.OrderSent(**e, **o, client_order_id=ORDER_ID.hex),
        t.OrderAccepted(**e, **o, venue_order_id="paper:12"),
        t.OrderFilled(**e, **o, exec_id="x-1", qty=Decimal("0.004"), price=Decimal("95000.5"),
                      fee=Decimal("0.0760004"), liquidity="maker", leaves_qty=Decimal("0.006"),
                      cum_qty=Decimal("0.004"), avg_price=Decimal("95000.5")),
        t.OrderModifyRequested(**e, **o, qty=Decimal("0.02"), limit_price=Decimal("95100")),
        t.OrderModified(**e, **o, qty=Decimal("0.02"), limit_price=None),
        t.OrderCancelRequested(**e, **o, reason="requested", command_id="c-2"),
        t.OrderCancelled(**e, **o, reason="cancelled", leaves_qty=Decimal("0.016")),
        t.OrderExpired(**e, **o, leaves_qty=Decimal("0.016")),
        t.CommandRejected(**e, **o, command="modify", reason="order is filled"),
        t.FillBooked(**e, **acct, order_id=ORDER_ID, exec_id="x-1", side="buy",
                     qty=Decimal("0.004"), price=Decimal("95000.5"), fee=Decimal("0.07"),
                     realized_pnl=Decimal("-1.25"), size=Decimal("0.004"),
                     entry_price=Decimal("95000.5")),
        t.FundingBooked(**e, **acct, funding_ts=1_700_006_400_000_000_000,
                        rate=Decimal("0.0001"), mark_price=Decimal("95000"),
                        size=Decimal("0.004"), amount=Decimal("-0.038")),
        t.AccountOpened(**e, account="paper", balance=Decimal("100000")),
        t.TradingHalted(**e, account="paper", reason="drill"),
        t.TradingResumed(**e, account="paper"),
    ]  # fmt: skip


def _value(t: msgspec.inspect.Type) -> Any:
    """A plain valid value of a msgspec type (for events sampled by introspection)."""
    mi = msgspec.inspect
    if isinstance(t, mi.UnionType):
        return _value(next(x for x in t.types if not isinstance(x, mi.NoneType)))
    if isinstance(t, mi.LiteralType):
        return t.values[0]
    if isinstance(t, mi.StructType):
        return t.cls(**{f.name: _value(f.type) for f in t.fields if f.required})
    simple: dict[type, Any] = {
        mi.StrType: "s-1", mi.IntType: 7, mi.BoolType: True, mi.FloatType: 0.5,
        mi.DecimalType: Decimal("12.34"), mi.UUIDType: ORDER_ID, mi.BytesType: b"\x01",
    }  # fmt: skip
    for kind, v in simple.items():
        if isinstance(t, kind):
            return v
    if isinstance(t, mi.TupleType | mi.VarTupleType):
        inner = t.item_type if isinstance(t, mi.VarTupleType) else t.item_types[0]
        return (_value(inner),)
    if isinstance(t, mi.ListType):
        return [_value(t.item_type)]
    if isinstance(t, mi.DictType):
        return {_value(t.key_type): _value(t.value_type)}
    raise TypeError(f"no sample value for {t!r}")


def introspected(cls: type[Event]) -> Event:
    """An instance of ``cls`` with every required field set to a plain valid value."""
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    fields = {f.name: _value(f.type) for f in info.fields if f.required}
    fields.update(envelope())
    return cls(**fields)


def all_samples() -> list[Event]:
    """One instance of every current event type."""
    return [
        trade(), liquidation(), ticker(), kline(), dead_letter(), import_completed(),
        cluster_targeted(), oi_spike(), volume_spike(), stop_hunt(), imbalance_ranked(),
        *trading_samples(),
        *broadcast_samples(), backtest_completed(),
        *(introspected(cls) for cls in FUND_EVENT_TYPES), introspected(Sealed),
        *(introspected(cls) for cls in (*POLY_MARKET_TYPES, *POLY_SIGNAL_TYPES)),
    ]  # fmt: skip


DELIVERY_ID = uuid.UUID("5d1e2c3b-4a59-5687-9a0b-1c2d3e4f5a6b")


def broadcast_record(**overrides: Any) -> dict[str, Any]:
    """Fields of every step of a broadcast delivery."""
    fields: dict[str, Any] = {
        **envelope(source="broadcaster", vertical="ops", causation_id=EVENT_ID),
        "channel": "telegram",
        "delivery_id": DELIVERY_ID,
        "item_id": EVENT_ID,
        "item_type": "signal.oi_spike.v1",
        "item_seq": 77,
        "attempt": 1,
    }
    fields.update(overrides)
    return fields


def backtest_completed(**overrides: Any) -> BacktestCompleted:
    fields: dict[str, Any] = {
        **envelope(source="helix-backtest"),
        "run_id": "20261201-120000-abcdef",
        "strategy": "stop_hunt_autotrader",
        "manifest": '{"input_events":3}',
        "manifest_sha256": "ab" * 32,
        "input_events": 3,
        "output_events": 2,
    }
    fields.update(overrides)
    return BacktestCompleted(**fields)


def broadcast_samples() -> list[Event]:
    """One instance of every broadcast event type."""
    from events.broadcast import (
        BroadcastAttempted,
        BroadcastFailed,
        BroadcastOpened,
        BroadcastSent,
    )

    return [
        BroadcastOpened(**envelope(source="broadcaster", vertical="ops"), channel="sms",
                        from_seq=12),
        BroadcastAttempted(**broadcast_record(), ref="0b1c2d3e", digest="ab" * 32),
        BroadcastSent(**broadcast_record(), remote_id="4711", how="sent"),
        BroadcastFailed(**broadcast_record(attempt=2), outcome="unknown", reason="no answer",
                        status=502, retry_at=1_700_000_000_200_000_000),
    ]  # fmt: skip
