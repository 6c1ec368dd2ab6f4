"""Pure parts of the Bybit feed: frame parsing never escapes, LRU idempotence, backfill
conversions, rate-limit pacing."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from events.market import Kline, Ticker
from helix.codec import Codec
from helix.errors import ValidationError
from helix.feeds.bybit.backfill import funding_to_events, klines_to_events, oi_to_events
from helix.feeds.bybit.feed import SEEN_PER_SYMBOL, SymbolState
from helix.feeds.bybit.rest import BybitRest
from helix.importers.bybit_ws import parse_frame

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
    st.sampled_from(["Buy", "Sell", "0.5", "-1", "1e400", "NaN", "", "BTCUSDT", "1700000000000"]),
)  # fmt: skip
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "T",
                    "s",
                    "S",
                    "v",
                    "p",
                    "i",
                    "seq",
                    "start",
                    "open",
                    "high",
                    "low",
                    "close",
                    "volume",
                    "turnover",
                    "confirm",
                    "interval",
                    "markPrice",
                    "fundingRate",
                    "openInterest",
                    "nextFundingTime",
                    "symbol",
                    "x",
                ]
            ),
            inner,
            max_size=8,
        )
    ),
    max_leaves=20,
)
topics = st.sampled_from(
    ["publicTrade.BTCUSDT", "tickers.BTCUSDT", "allLiquidation.BTCUSDT", "kline.1.BTCUSDT",
     "liquidation.BTCUSDT", "orderbook.50.BTCUSDT", "kline..X", "weird", "publicTrade.", ""]
)  # fmt: skip
frames = st.fixed_dictionaries(
    {"topic": topics, "data": json_value},
    optional={"ts": st.one_of(st.integers(), st.text(max_size=5)), "type": st.text(max_size=8)},
)


@settings(max_examples=400, deadline=None)
@given(frames)
def test_any_frame_parses_to_valid_events_or_is_rejected_with_a_reason(
    frame: dict[str, Any],
) -> None:
    try:
        parsed = parse_frame(frame, 1_700_000_000_000_000_000)
    except ValidationError as exc:
        reason = str(exc)
        assert reason, "a rejection names its reason"
        return
    codec = Codec()
    for event in parsed.events:
        assert codec.decode(codec.encode(event)) == event


def test_symbol_state_remembers_recent_trade_ids_only() -> None:
    st_ = SymbolState()
    assert st_.remember("a")
    assert not st_.remember("a")
    for i in range(SEEN_PER_SYMBOL):
        st_.remember(f"t{i}")
    assert st_.remember("a")  # evicted after SEEN_PER_SYMBOL newer ids


def test_kline_rows_become_closed_bars_oldest_first() -> None:
    rows = [
        ["1700000060000", "43000", "43010", "42990", "43005", "12.3", "528000.1"],
        ["1700000000000", "42990", "43001", "42980", "43000", "10.1", "434000.2"],
    ]
    events = klines_to_events("BTCUSDT", rows, now_ns=1)
    assert [e.start for e in events if isinstance(e, Kline)] == [
        1_700_000_000_000_000_000,
        1_700_000_060_000_000_000,
    ]
    first = events[0]
    assert isinstance(first, Kline)
    assert (first.open, first.close, first.closed) == (Decimal("42990"), Decimal("43000"), True)
    assert first.ts_event == first.start + 60_000_000_000
    again = klines_to_events("BTCUSDT", rows, now_ns=2)
    assert [e.event_id for e in again] == [e.event_id for e in events]  # idempotent ids


def test_open_interest_and_funding_become_tickers() -> None:
    [oi] = oi_to_events("BTCUSDT", [{"openInterest": "5.5", "timestamp": "1700000000000"}], 1)
    [fr] = funding_to_events(
        "BTCUSDT", [{"fundingRate": "-0.0001", "fundingRateTimestamp": "1700006400000"}], 1
    )
    assert isinstance(oi, Ticker)
    assert isinstance(fr, Ticker)
    assert oi.open_interest == Decimal("5.5")
    assert fr.funding_rate == Decimal("-0.0001")
    assert fr.ts_event == 1_700_006_400_000_000_000


def test_rest_waits_for_the_rate_limit_window_when_the_budget_is_spent() -> None:
    slept: list[float] = []
    rest = BybitRest("http://127.0.0.1:9", sleep=slept.append)
    reset = str(int((time.time() + 0.5) * 1000))
    rest._respect_limits({"X-Bapi-Limit-Status": "5", "X-Bapi-Limit-Reset-Timestamp": reset})
    assert slept == []
    rest._respect_limits({"X-Bapi-Limit-Status": "1", "X-Bapi-Limit-Reset-Timestamp": reset})
    assert len(slept) == 1
    assert 0 < slept[0] <= 0.5


def test_the_fast_trade_path_builds_what_the_strict_parser_builds() -> None:
    from helix.feeds.bybit.feed import fast_trade

    item = {
        "T": 1700000000120, "s": "BTCUSDT", "S": "Buy", "v": "0.010", "p": "43000.10",
        "L": "PlusTick", "i": "9b1c5e2a-0000-4000-8000-000000000001", "seq": 12345678,
    }  # fmt: skip
    [strict] = parse_frame({"topic": "publicTrade.BTCUSDT", "data": [item]}, 7).events
    assert fast_trade("BTCUSDT", item, 7) == strict


@given(st.dictionaries(st.sampled_from(["T", "S", "v", "p", "i"]), json_leaf, max_size=5))
def test_the_fast_trade_path_refuses_what_the_strict_parser_refuses(item: dict[str, Any]) -> None:
    from helix.feeds.bybit.feed import fast_trade

    try:
        fast = fast_trade("BTCUSDT", item, 7)
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return  # the feed then asks the strict parser, which dead-letters with a reason
    [strict] = parse_frame({"topic": "publicTrade.BTCUSDT", "data": [item]}, 7).events
    assert fast == strict
