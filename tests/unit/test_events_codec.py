"""Event catalogue and msgpack codec: round-trips, exact Decimals, tags, immutability, ids."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from events import fund, poly
from events import trading as t
from events.audit import Sealed
from events.backtest import BacktestCompleted
from events.base import HELIX_NAMESPACE, Event, stable_event_id
from events.broadcast import BroadcastAttempted, BroadcastFailed, BroadcastOpened, BroadcastSent
from events.catalogue import ALL_EVENT_TYPES, TAGS
from events.market import Kline, Liquidation, Ticker, Trade, market_event_id
from events.ops import DeadLetter, ImportCompleted
from events.signals import ClusterTargeted, ImbalanceRanked, OiSpike, StopHunt, VolumeSpike
from helix.codec import Codec
from helix.errors import ValidationError
from tests.unit import _factories as f

EXPECTED_TAGS: dict[type[Event], str] = {
    Trade: "market.trade.v1",
    Liquidation: "market.liquidation.v1",
    Ticker: "market.ticker.v1",
    Kline: "market.kline.v1",
    DeadLetter: "ops.dead_letter.v1",
    ImportCompleted: "ops.import_completed.v1",
    ClusterTargeted: "signal.liquidation_cluster_targeted.v1",
    OiSpike: "signal.oi_spike.v1",
    VolumeSpike: "signal.volume_spike.v1",
    StopHunt: "signal.stop_hunt.v1",
    ImbalanceRanked: "signal.liquidation_imbalance.v1",
    t.OrderPlaced: "orders.placed.v1",
    t.OrderRejected: "orders.rejected.v1",
    t.OrderSent: "orders.sent.v1",
    t.OrderAccepted: "orders.accepted.v1",
    t.OrderFilled: "orders.filled.v1",
    t.OrderModifyRequested: "orders.modify_requested.v1",
    t.OrderModified: "orders.modified.v1",
    t.OrderCancelRequested: "orders.cancel_requested.v1",
    t.OrderCancelled: "orders.cancelled.v1",
    t.OrderExpired: "orders.expired.v1",
    t.CommandRejected: "orders.command_rejected.v1",
    t.FillBooked: "positions.fill_booked.v1",
    t.FundingBooked: "positions.funding_booked.v1",
    t.AccountOpened: "accounts.opened.v1",
    t.TradingHalted: "accounts.halted.v1",
    t.TradingResumed: "accounts.resumed.v1",
    BroadcastOpened: "broadcast.opened.v1",
    BroadcastAttempted: "broadcast.attempted.v1",
    BroadcastSent: "broadcast.sent.v1",
    BroadcastFailed: "broadcast.failed.v1",
    BacktestCompleted: "backtest.completed.v1",
    fund.MemberJoined: "fund.member_joined.v1",
    fund.DepositRequested: "fund.deposit_requested.v1",
    fund.DepositSettled: "fund.deposit_settled.v1",
    fund.WithdrawalRequested: "fund.withdrawal_requested.v1",
    fund.WithdrawalSettled: "fund.withdrawal_settled.v1",
    fund.NavStruck: "fund.nav_struck.v1",
    fund.FeesCrystallised: "fund.fees_crystallised.v1",
    fund.CommissionAccrued: "fund.commission_accrued.v1",
    fund.PayoutMade: "fund.payout_made.v1",
    fund.FundCommandRejected: "fund.command_rejected.v1",
    Sealed: "audit.sealed.v1",
    poly.PolyMarket: "poly.market.v1",
    poly.PolyResolved: "poly.resolved.v1",
    poly.PolyTrade: "poly.trade.v1",
    poly.PolyBook: "poly.book.v1",
    poly.WalletScored: "poly.wallet_scored.v1",
    poly.ClusterSynced: "poly.cluster_synced.v1",
    poly.PolySignal: "poly.signal.v1",
    poly.HybridSignal: "hybrid.signal.v1",
}

SAMPLES = f.all_samples()
SAMPLE_IDS = [type(e).__name__ for e in SAMPLES]


@pytest.fixture
def codec() -> Codec:
    return Codec()


def _wire_dict(event: Event) -> dict[str, Any]:
    """The msgpack map an event is encoded to, as plain Python values."""
    decoded = msgspec.msgpack.decode(Codec().encode(event))
    assert isinstance(decoded, dict)
    return decoded


@pytest.mark.parametrize("event", SAMPLES, ids=SAMPLE_IDS)
def test_every_event_type_round_trips(codec: Codec, event: Event) -> None:
    decoded = codec.decode(codec.encode(event))
    assert type(decoded) is type(event)
    assert decoded == event


@pytest.mark.parametrize("event", SAMPLES, ids=SAMPLE_IDS)
def test_encoded_type_field_is_the_versioned_tag(event: Event) -> None:
    assert _wire_dict(event)["type"] == EXPECTED_TAGS[type(event)]


@pytest.mark.parametrize(("cls", "tag"), EXPECTED_TAGS.items(), ids=lambda x: str(x))
def test_type_property_is_the_tag(cls: type[Event], tag: str) -> None:
    sample = next(e for e in SAMPLES if type(e) is cls)
    assert sample.type == tag


def test_catalogue_lists_every_type_under_its_tag() -> None:
    assert set(ALL_EVENT_TYPES) == set(EXPECTED_TAGS)
    assert {tag: cls for cls, tag in EXPECTED_TAGS.items()} == TAGS


@pytest.mark.parametrize(
    "text", ["0.1", "0.10", "1E+2", "-0.000125", "123456789012345678901234567890.123456789", "0"]
)
def test_decimal_is_exact_on_the_wire_and_after_decode(codec: Codec, text: str) -> None:
    event = f.trade(price=Decimal(text))
    assert _wire_dict(event)["price"] == text
    decoded = codec.decode(codec.encode(event))
    assert isinstance(decoded, Trade)
    assert isinstance(decoded.price, Decimal)
    assert str(decoded.price) == text


def test_decimal_is_not_encoded_as_float() -> None:
    wire = _wire_dict(f.trade(price=Decimal("0.1")))
    assert not isinstance(wire["price"], float)


def test_optional_ticker_fields_stay_none(codec: Codec) -> None:
    event = f.ticker(mark_price=None, funding_rate=None, next_funding_ts=None)
    decoded = codec.decode(codec.encode(event))
    assert isinstance(decoded, Ticker)
    assert decoded.mark_price is None
    assert decoded.open_interest is None


def test_dead_letter_raw_bytes_survive_verbatim(codec: Codec) -> None:
    raw = bytes(range(256))
    decoded = codec.decode(codec.encode(f.dead_letter(raw=raw)))
    assert isinstance(decoded, DeadLetter)
    assert decoded.raw == raw


def test_envelope_link_ids_round_trip(codec: Codec) -> None:
    corr = uuid.uuid4()
    decoded = codec.decode(codec.encode(f.trade(causation_id=f.CAUSE_ID, correlation_id=corr)))
    assert decoded.causation_id == f.CAUSE_ID
    assert decoded.correlation_id == corr


@pytest.mark.parametrize("event", SAMPLES, ids=SAMPLE_IDS)
def test_events_are_frozen(event: Event) -> None:
    with pytest.raises(AttributeError):
        event.source = "mutated"  # type: ignore[misc]


def test_trade_price_cannot_be_mutated() -> None:
    event = f.trade()
    with pytest.raises(AttributeError):
        event.price = Decimal("2")  # type: ignore[misc]


def test_events_are_hashable_values() -> None:
    assert hash(f.trade()) == hash(f.trade())
    assert f.trade() == f.trade()


def test_stable_event_id_is_deterministic() -> None:
    first = stable_event_id("bybit", "trade", "BTCUSDT", "42")
    assert first == stable_event_id("bybit", "trade", "BTCUSDT", "42")
    assert first.version == 5


def test_stable_event_id_differs_per_key() -> None:
    assert stable_event_id("bybit", "trade", "BTCUSDT", "42") != stable_event_id(
        "bybit", "trade", "BTCUSDT", "43"
    )


def test_stable_event_id_is_uuid5_over_colon_joined_parts() -> None:
    expected = uuid.uuid5(HELIX_NAMESPACE, "bybit:trade:BTCUSDT:42")
    assert stable_event_id("bybit", "trade", "BTCUSDT", 42) == expected


def test_market_event_id_matches_stable_event_id() -> None:
    assert market_event_id("bybit", "liq", "ETHUSDT", "k") == stable_event_id(
        "bybit", "liq", "ETHUSDT", "k"
    )


def test_natural_keys() -> None:
    assert f.trade(trade_id="abc").natural_key == "abc"
    assert f.liquidation(key="k1").natural_key == "k1"
    assert f.ticker(ts_event=7).natural_key == "7"
    assert f.kline(interval="5m", start=10, closed=False).natural_key == "5m:10:0"


@pytest.mark.parametrize(("side", "position"), [("sell", "long"), ("buy", "short")])
def test_liquidation_position_side(side: str, position: str) -> None:
    assert f.liquidation(side=side).position_side == position


def _raw_trade(**overrides: Any) -> dict[str, Any]:
    raw = _wire_dict(f.trade())
    raw.update(overrides)
    return raw


def test_unknown_tag_raises_validation_error(codec: Codec) -> None:
    data = msgspec.msgpack.encode(_raw_trade(type="market.trade.v99"))
    with pytest.raises(ValidationError):
        codec.decode(data)


def test_missing_tag_raises_validation_error(codec: Codec) -> None:
    raw = _raw_trade()
    del raw["type"]
    with pytest.raises(ValidationError):
        codec.decode(msgspec.msgpack.encode(raw))


def test_invalid_field_raises_validation_error(codec: Codec) -> None:
    data = msgspec.msgpack.encode(_raw_trade(price="not-a-number"))
    with pytest.raises(ValidationError):
        codec.decode(data)


def test_invalid_literal_raises_validation_error(codec: Codec) -> None:
    data = msgspec.msgpack.encode(_raw_trade(vertical="crypto"))
    with pytest.raises(ValidationError):
        codec.decode(data)


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc1", b"\x01", b"\x92\x01", b"\x81\xa4type", b"garbage bytes", b"\xa5hello"],
    ids=["empty", "bad-opcode", "int", "truncated-array", "truncated-map", "ascii", "str"],
)
def test_garbage_bytes_raise_validation_error(codec: Codec, data: bytes) -> None:
    with pytest.raises(ValidationError):
        codec.decode(data)


def test_unhashable_type_field_raises_validation_error(codec: Codec) -> None:
    with pytest.raises(ValidationError):
        codec.decode(msgspec.msgpack.encode({"type": ["market.trade.v1"]}))


_decimals = st.builds(
    lambda digits, exp: Decimal(digits).scaleb(exp),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.integers(min_value=-12, max_value=6),
)
_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@hsettings(database=None, max_examples=200, deadline=None)
@given(
    price=_decimals,
    qty=_decimals,
    ts_event=_int64,
    ts_recorded=_int64,
    trade_id=st.text(max_size=40),
    symbol=st.text(max_size=20),
    side=st.sampled_from(["buy", "sell"]),
    vertical=st.sampled_from(["perps", "poly", "fund", "ops"]),
    event_id=st.uuids(),
)
def test_any_trade_round_trips_exactly(
    price: Decimal,
    qty: Decimal,
    ts_event: int,
    ts_recorded: int,
    trade_id: str,
    symbol: str,
    side: str,
    vertical: str,
    event_id: uuid.UUID,
) -> None:
    codec = Codec()
    event = f.trade(
        price=price,
        qty=qty,
        ts_event=ts_event,
        ts_recorded=ts_recorded,
        trade_id=trade_id,
        symbol=symbol,
        side=side,
        vertical=vertical,
        event_id=event_id,
    )
    decoded = codec.decode(codec.encode(event))
    assert decoded == event
    assert isinstance(decoded, Trade)
    assert (str(decoded.price), str(decoded.qty)) == (str(price), str(qty))
