"""Upcasters: retired event versions are rewritten into the current schema on decode."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from events.market import Trade
from events.upcast import Raw, Upcasters, default_upcasters
from helix.codec import Codec
from helix.errors import ValidationError
from tests.unit._factories import trade

V0_TAG = "market.trade.v0"


def _trade_v0_to_v1(raw: Raw) -> Raw:
    """v0 called the quantity ``size`` and had no ``vertical``."""
    raw["qty"] = raw.pop("size")
    raw.setdefault("vertical", "perps")
    return raw


def _v0_upcasters() -> Upcasters:
    ups = Upcasters()
    ups.register(V0_TAG, "market.trade.v1")(_trade_v0_to_v1)
    return ups


def _raw_v0(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "type": V0_TAG,
        "event_id": "6f1c0c7e-1d2b-4c3a-9e8f-0a1b2c3d4e5f",
        "ts_event": 1_700_000_000_000_000_000,
        "ts_recorded": 1_700_000_000_000_000_001,
        "source": "legacy",
        "venue": "bybit",
        "symbol": "BTCUSDT",
        "trade_id": "77",
        "price": "64000.5",
        "size": "0.10",
        "side": "sell",
    }
    raw.update(overrides)
    return raw


def test_retired_tag_decodes_to_current_trade() -> None:
    codec = Codec(upcasters=_v0_upcasters())
    event = codec.decode(msgspec.msgpack.encode(_raw_v0()))
    assert isinstance(event, Trade)
    assert event.type == "market.trade.v1"


def test_upcast_renames_field_and_keeps_decimal_exact() -> None:
    event = Codec(upcasters=_v0_upcasters()).decode(msgspec.msgpack.encode(_raw_v0()))
    assert isinstance(event, Trade)
    assert str(event.qty) == "0.10"
    assert str(event.price) == "64000.5"


def test_upcast_fills_missing_field() -> None:
    event = Codec(upcasters=_v0_upcasters()).decode(msgspec.msgpack.encode(_raw_v0()))
    assert event.vertical == "perps"
    assert event.event_id == uuid.UUID("6f1c0c7e-1d2b-4c3a-9e8f-0a1b2c3d4e5f")


def test_retired_tag_without_upcaster_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Codec().decode(msgspec.msgpack.encode(_raw_v0()))


def test_upcaster_output_that_does_not_validate_is_rejected() -> None:
    ups = Upcasters()
    ups.register(V0_TAG, "market.trade.v1")(lambda raw: raw)  # leaves `size`, no `qty`
    with pytest.raises(ValidationError):
        Codec(upcasters=ups).decode(msgspec.msgpack.encode(_raw_v0()))


def test_current_events_bypass_upcasters() -> None:
    calls: list[Raw] = []

    def spy(raw: Raw) -> Raw:
        calls.append(raw)
        return raw

    ups = Upcasters()
    ups.register("market.trade.v1", "market.trade.v2")(spy)
    codec = Codec(upcasters=ups)
    assert codec.decode(codec.encode(trade())) == trade()
    assert calls == []


def test_chain_of_upcasters_is_applied_in_order() -> None:
    ups = Upcasters()
    ups.register("market.trade.v-1", V0_TAG)(lambda raw: {**raw, "size": raw.pop("amount")})
    ups.register(V0_TAG, "market.trade.v1")(_trade_v0_to_v1)
    raw = _raw_v0(type="market.trade.v-1", amount="3")
    del raw["size"]
    event = Codec(upcasters=ups).decode(msgspec.msgpack.encode(raw))
    assert isinstance(event, Trade)
    assert str(event.qty) == "3"


def test_upcast_sets_the_new_tag_even_if_the_step_does_not() -> None:
    ups = Upcasters()
    ups.register("a.v1", "a.v2")(lambda raw: {"x": 1})
    assert ups.upcast({"type": "a.v1"}) == {"x": 1, "type": "a.v2"}


def test_upcast_does_not_mutate_its_input() -> None:
    raw = _raw_v0()
    before = dict(raw)
    _v0_upcasters().upcast(raw)
    assert raw == before


def test_upcast_leaves_unknown_tags_alone() -> None:
    raw = {"type": "other.v1", "k": 1}
    assert _v0_upcasters().upcast(raw) == raw


def test_register_returns_the_function_unchanged() -> None:
    ups = Upcasters()
    assert ups.register(V0_TAG, "market.trade.v1")(_trade_v0_to_v1) is _trade_v0_to_v1
    assert ups.knows(V0_TAG)
    assert not ups.knows("market.trade.v1")


def test_upcaster_cycle_raises_value_error() -> None:
    ups = Upcasters()
    ups.register("a.v1", "a.v2")(lambda raw: raw)
    ups.register("a.v2", "a.v1")(lambda raw: raw)
    with pytest.raises(ValueError, match="cycle"):
        ups.upcast({"type": "a.v1"})


def test_upcaster_cycle_through_codec_is_a_validation_error() -> None:
    ups = Upcasters()
    ups.register(V0_TAG, "market.trade.v0b")(lambda raw: raw)
    ups.register("market.trade.v0b", V0_TAG)(lambda raw: raw)
    with pytest.raises(ValidationError, match="cycle"):
        Codec(upcasters=ups).decode(msgspec.msgpack.encode(_raw_v0()))


def test_default_upcasters_know_no_retired_tags_yet() -> None:
    assert not default_upcasters().knows(V0_TAG)


def test_decode_many_equals_decoding_one_by_one_and_upcasts() -> None:
    from tests.unit import _factories as f

    codec = Codec(upcasters=_v0_upcasters())
    samples = f.all_samples()
    payloads = [codec.encode(e) for e in samples] + [msgspec.msgpack.encode(_raw_v0())]
    decoded = codec.decode_many(payloads)
    assert decoded[: len(samples)] == samples
    assert decoded[-1] == codec.decode(payloads[-1])
    with pytest.raises(ValidationError):
        codec.decode_many([*payloads, b"\xc1garbage"])
