"""``bybit-ws``: Bybit public WS frames (v5 and legacy captures) -> market events."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from events.market import Kline, Liquidation, Ticker, Trade, market_event_id
from helix.errors import ValidationError
from helix.importers.formats import get_format
from tests.unit.importers._samples import (
    ALL_LIQ,
    KLINE,
    OLD_LIQ,
    TICKER,
    TRADES,
    TS,
    bybit_line,
    changed_frame,
)
from tests.unit.importers._support import first_records, record_at, shared_file, write_lines

P = get_format("bybit-ws")


def test_public_trades() -> None:
    buy, sell = P.parse(bybit_line(TRADES)).events
    assert isinstance(buy, Trade)
    assert isinstance(sell, Trade)
    assert (buy.venue, buy.symbol, buy.side, sell.side) == ("bybit", "BTCUSDT", "buy", "sell")
    assert buy.trade_id == "9b1c5e2a-0000-4000-8000-000000000001"
    assert (str(buy.price), str(buy.qty)) == ("43000.10", "0.010")
    assert buy.ts_event == 1_700_000_000_120_000_000
    assert buy.ts_recorded == TS * 1_000_000  # no receive time on the line: the frame's ts
    assert (buy.source, buy.vertical) == ("bybit", "perps")
    assert buy.event_id == market_event_id("bybit", "trade", "BTCUSDT", buy.trade_id)
    assert buy.event_id != sell.event_id


def test_receive_time_prefix_wins() -> None:
    [event, _] = P.parse(bybit_line(TRADES, prefix=b"1700000000.987654: ")).events
    assert event.ts_recorded == 1_700_000_000_987_654_000


def test_all_liquidation_side_is_the_closing_order() -> None:
    long_liq, short_liq = P.parse(bybit_line(ALL_LIQ)).events
    assert isinstance(long_liq, Liquidation)
    assert isinstance(short_liq, Liquidation)
    # S = Buy: a long position was liquidated, i.e. by a sell order.
    assert (long_liq.side, long_liq.position_side) == ("sell", "long")
    assert (short_liq.side, short_liq.position_side) == ("buy", "short")
    assert long_liq.key == "1700000000990:Buy:42950.50:0.250"
    assert (long_liq.price, long_liq.qty) == (Decimal("42950.50"), Decimal("0.250"))
    assert long_liq.ts_event == 1_700_000_000_990_000_000
    assert long_liq.event_id == market_event_id("bybit", "liq", "BTCUSDT", long_liq.key)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"updatedTime": ..., "updateTime": 1700000000999},
        {"updatedTime": ..., "time": 1700000000999, "size": ..., "qty": "0.003"},
    ],
    ids=["updatedTime", "updateTime", "v2-time-qty"],
)
def test_old_liquidation_topic(fields: dict[str, Any]) -> None:
    [event] = P.parse(bybit_line(changed_frame(OLD_LIQ, **fields))).events
    assert isinstance(event, Liquidation)
    assert (event.side, event.position_side) == ("buy", "short")
    assert (event.price, event.qty) == (Decimal("43511.70"), Decimal("0.003"))
    assert event.ts_event == 1_700_000_000_999_000_000


def test_ticker_snapshot() -> None:
    [event] = P.parse(bybit_line(TICKER)).events
    assert isinstance(event, Ticker)
    assert (event.mark_price, event.index_price) == (Decimal("43001.20"), Decimal("43003.40"))
    assert (event.last_price, event.open_interest) == (Decimal("43000.10"), Decimal("52012.345"))
    assert str(event.open_interest_value) == "2236530835.00"
    assert event.funding_rate == Decimal("-0.0001")
    assert event.next_funding_ts == 1_700_006_400_000_000_000
    assert event.ts_event == 1_700_000_000_500_000_000
    assert event.event_id == market_event_id("bybit", "ticker", "BTCUSDT", str(event.ts_event))


def test_ticker_delta_leaves_absent_fields_none() -> None:
    delta = {**TICKER, "type": "delta", "data": {"symbol": "BTCUSDT", "markPrice": "43002.00"}}
    [event] = P.parse(bybit_line(delta)).events
    assert isinstance(event, Ticker)
    assert event.mark_price == Decimal("43002.00")
    assert (event.index_price, event.funding_rate, event.next_funding_ts) == (None, None, None)


def test_ticker_delta_without_kept_fields_is_skipped() -> None:
    delta = {**TICKER, "type": "delta", "data": {"symbol": "BTCUSDT", "bid1Price": "1"}}
    assert P.parse(bybit_line(delta)).skipped == "ticker-unchanged"
    empty = changed_frame(TICKER, fundingRate="", nextFundingTime="", markPrice="43000")
    [event] = P.parse(bybit_line(empty)).events
    assert isinstance(event, Ticker)
    assert (event.funding_rate, event.next_funding_ts) == (None, None)


def test_kline() -> None:
    [event] = P.parse(bybit_line(KLINE)).events
    assert isinstance(event, Kline)
    assert (event.interval, event.closed, event.symbol) == ("5", False, "BTCUSDT")
    assert event.start == 1_699_999_800_000_000_000
    assert (event.open, event.high, event.low, event.close) == (
        Decimal("42980"),
        Decimal("43010"),
        Decimal("42970"),
        Decimal("43000.1"),
    )
    assert (event.volume, event.turnover) == (Decimal("120.5"), Decimal("5180000.1"))
    assert event.ts_event == 1_700_000_100_000_000_000
    [closed] = P.parse(bybit_line(changed_frame(KLINE, confirm=True))).events
    assert closed.event_id != event.event_id  # the closed bar is a different fact


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ({"topic": "orderbook.50.BTCUSDT", "type": "snapshot", "ts": TS, "data": {}}, "orderbook"),
        ({"topic": "orderBookL2_25.BTCUSD", "type": "delta", "data": {}}, "orderbook"),
        ({"success": True, "ret_msg": "", "conn_id": "c", "op": "subscribe"}, "control"),
        ({"success": True, "ret_msg": "pong", "conn_id": "c", "op": "ping"}, "control"),
        ({"success": True, "request": {"op": "subscribe", "args": ["trade.BTCUSD"]}}, "control"),
        ({"topic": "insurance.USDT", "ts": TS, "data": []}, "insurance"),
    ],
)
def test_known_kinds_are_skipped(frame: dict[str, Any], kind: str) -> None:
    parsed = P.parse(bybit_line(frame))
    assert (parsed.events, parsed.skipped) == ([], kind)


@pytest.mark.parametrize(
    "raw",
    [
        b"wss://stream.bybit.com/realtime_public <-> 1618677785.4827468",
        b'wss://stream.bybit.com/realtime_public <- 1618677786.46: {"op":"subscribe","args":[]}',
    ],
)
def test_capture_control_lines_are_skipped(raw: bytes) -> None:
    assert P.parse(raw).skipped == "control"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty line"),
        (b"{not json", "not JSON"),
        (b'{"topic":"publicTrade.BTCUSDT","data":[{"p":Infinity}]}', "not JSON"),
        (b"[]", "JSON object"),
        (b'{"data":[]}', "no 'topic'"),
        (b"1618677786.79: ", "no JSON"),
        (b"16186e7786: {}", "not epoch seconds"),
        (bybit_line({**TRADES, "data": []}), "non-empty data list"),
        (bybit_line({**TRADES, "data": {}}), "non-empty data list"),
        (bybit_line({**TRADES, "data": [1]}), "not an object"),
        (bybit_line({**TRADES, "topic": "publicTrade."}), "topic symbol"),
        (bybit_line({**TRADES, "topic": "publicTrade.linear.BTCUSDT"}), "topic symbol"),
        (bybit_line({**TRADES, "ts": "soon"}), "ts: expected a non-negative integer"),
        (bybit_line(changed_frame(TRADES, s="ETHUSDT")), "carries symbol 'ETHUSDT'"),
        (bybit_line(changed_frame(TRADES, S="buy")), "S: expected Buy or Sell"),
        (bybit_line(changed_frame(TRADES, i="")), "i: expected a non-empty string"),
        (bybit_line(changed_frame(TRADES, v="-0.010")), "size: '-0.010' must be positive"),
        (bybit_line(changed_frame(TRADES, p="NaN")), "price: 'NaN' is not a finite decimal"),
        (bybit_line(changed_frame(TRADES, p=None)), "price: missing"),
        (bybit_line(changed_frame(TRADES, T=1700000000120000)), "epoch milliseconds"),
        (bybit_line(changed_frame(ALL_LIQ, S="Long")), "side: expected Buy or Sell"),
        (bybit_line(changed_frame(ALL_LIQ, v="0")), "must be positive"),
        (bybit_line(changed_frame(OLD_LIQ, updatedTime=...)), "updatedTime: missing"),
        (bybit_line(changed_frame(TICKER, markPrice="-1")), "markPrice: '-1' must not be"),
        (bybit_line(changed_frame(TICKER, fundingRate="nan")), "fundingRate"),
        (bybit_line({**TICKER, "ts": None}), "frame has no 'ts'"),
        (bybit_line(changed_frame(KLINE, confirm="false")), "confirm: expected true/false"),
        (bybit_line(changed_frame(KLINE, interval="1")), "carries interval '1'"),
        (bybit_line(changed_frame(KLINE, high="")), "high"),
        (bybit_line(changed_frame(KLINE, volume="-1")), "volume"),
        (bybit_line({**KLINE, "topic": "kline"}), "names no interval"),
    ],
)
def test_malformed_frames_raise_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        P.parse(raw)


def test_deterministic() -> None:
    for frame in (TRADES, ALL_LIQ, OLD_LIQ, TICKER, KLINE):
        assert P.parse(bybit_line(frame)) == P.parse(bybit_line(frame))


@pytest.mark.parametrize("gz", [False, True])
def test_records_from_gz_and_plain_files(tmp_path: Path, gz: bool) -> None:
    received = bybit_line(TRADES, prefix=b"1618677786.79: ")
    raws = [b"wss://x <-> 1618677785.48", received, b"", b""]
    path = write_lines(tmp_path / ("b.txt.gz" if gz else "b.txt"), raws, gz=gz)
    assert list(P.records(path)) == [(1, raws[0]), (2, raws[1])]


# --- real captures and fixtures (../shared/data), skipped when absent ------------------------


def test_known_real_legacy_trade() -> None:
    path = shared_file("cryptofeed-sample/BYBIT.ws.25.0.txt.gz")
    assert P.parse(record_at(P, path, 1)).skipped == "control"
    [event] = P.parse(record_at(P, path, 18)).events
    assert isinstance(event, Trade)
    assert (event.symbol, event.side, event.price, event.qty) == (
        "BCHUSDT",
        "buy",
        Decimal("1053.90"),
        Decimal("0.14"),  # a JSON number in the frame, kept exact
    )
    assert event.trade_id == "01cacfe9-8d1c-5ee4-995d-d79a43f955a6"
    assert (event.ts_event, event.ts_recorded) == (
        1_618_677_785_116_000_000,
        1_618_677_786_799_668_000,
    )


def test_real_inverse_trade_with_numeric_fields() -> None:
    path = shared_file("cryptofeed-sample/BYBIT.ws.26.0.txt.gz")
    first = P.parse(record_at(P, path, 55)).events[0]
    assert isinstance(first, Trade)
    assert (first.symbol, first.side, first.price, first.qty) == (
        "BTCUSD",
        "sell",
        Decimal("60621.5"),
        Decimal("4"),
    )
    assert first.trade_id == "5ffb8b77-900c-507d-97a2-0922557ffe54"
    assert first.ts_event == 1_618_677_786_614_000_000


@pytest.mark.parametrize("name", ["BYBIT.ws.25.0.txt.gz", "BYBIT.ws.26.0.txt.gz"])
def test_real_capture_parses_cleanly(name: str) -> None:
    path = shared_file(f"cryptofeed-sample/{name}")
    kinds: Counter[str] = Counter()
    for _, raw in first_records(P, path, 5000):
        parsed = P.parse(raw)
        kinds[parsed.skipped or "trade"] += 1
    assert set(kinds) == {"control", "orderbook", "trade"}


def _fixture(name: str) -> bytes:
    path = shared_file(f"nautilus-bybit/crates_test_data/{name}")
    return json.dumps(json.loads(path.read_text()), separators=(",", ":")).encode()


def test_nautilus_fixtures() -> None:
    [kline] = P.parse(_fixture("ws_kline.json")).events
    assert isinstance(kline, Kline)
    assert (kline.interval, kline.close, kline.closed) == ("5", Decimal("16677"), False)
    [ticker] = P.parse(_fixture("ws_ticker_linear.json")).events
    assert isinstance(ticker, Ticker)
    assert (ticker.funding_rate, ticker.next_funding_ts) == (
        Decimal("-0.000212"),
        1_673_280_000_000_000_000,
    )
    for name in ("ws_subscription_ack.json", "ws_subscription_failure.json"):
        assert P.parse(_fixture(name)).skipped == "control"
    assert P.parse(_fixture("ws_orderbook_delta.json")).skipped == "orderbook"
    # This hand-edited fixture names its topic "trade.linear.BTCUSDT", which Bybit does not
    # publish; with the v5 topic name the same frame parses.
    odd = _fixture("ws_public_trade.json")
    with pytest.raises(ValidationError, match="topic symbol"):
        P.parse(odd)
    [trade] = P.parse(odd.replace(b"trade.linear.", b"publicTrade.")).events
    assert isinstance(trade, Trade)
    assert (trade.side, trade.price) == ("buy", Decimal("27451.00"))


def test_official_orderbook_dump_is_all_skipped() -> None:
    path = shared_file("nautilus-bybit/test_data/xrpusdt-ob500.data.zip")
    with zipfile.ZipFile(path) as archive:
        lines = archive.read(archive.namelist()[0]).splitlines()
    assert {P.parse(raw).skipped for raw in lines if raw.strip()} == {"orderbook"}
