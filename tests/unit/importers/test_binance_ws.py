"""``binance-ws``: Binance USDⓈ-M combined-stream captures -> Trade / Liquidation / Ticker."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from events.market import Liquidation, Ticker, Trade, market_event_id
from helix.errors import ValidationError
from helix.importers.formats import get_format
from tests.unit.importers._samples import AGG, FORCE, MARK, RECV, TRADE, binance_line, changed
from tests.unit.importers._support import (
    first_records,
    parse_all,
    record_at,
    shared_file,
    write_lines,
)

P = get_format("binance-ws")


def test_trade_fields() -> None:
    [event] = P.parse(binance_line("btcusdt@trade", TRADE)).events
    assert isinstance(event, Trade)
    assert (event.venue, event.symbol, event.trade_id) == ("binance", "BTCUSDT", "42")
    assert (event.price, str(event.price)) == (Decimal("43000.10"), "43000.10")
    assert str(event.qty) == "0.500"
    assert event.ts_event == 1_700_000_000_099_000_000
    assert event.ts_recorded == RECV
    assert (event.source, event.vertical) == ("binance", "perps")
    assert event.event_id == market_event_id("binance", "trade", "BTCUSDT", "42")


@pytest.mark.parametrize(("buyer_is_maker", "side"), [(True, "sell"), (False, "buy")])
def test_aggressor_side_from_buyer_is_maker(buyer_is_maker: bool, side: str) -> None:
    [event] = P.parse(binance_line("btcusdt@trade", changed(TRADE, m=buyer_is_maker))).events
    assert isinstance(event, Trade)
    assert event.side == side


def test_agg_trade_id_is_prefixed() -> None:
    [event] = P.parse(binance_line("ethusdt@aggTrade", AGG)).events
    assert isinstance(event, Trade)
    assert (event.trade_id, event.side, event.symbol) == ("a777", "buy", "ETHUSDT")
    assert event.ts_event == 1_700_000_000_199_000_000


def test_force_order_is_a_liquidation_with_the_order_side() -> None:
    [event] = P.parse(binance_line("btcusdt@forceOrder", FORCE)).events
    assert isinstance(event, Liquidation)
    assert (event.side, event.position_side) == ("sell", "long")
    assert (event.price, event.qty) == (Decimal("42950.50"), Decimal("0.014"))
    assert event.key == "1700000000985:SELL:42900.00:0.014"
    assert event.ts_event == 1_700_000_000_985_000_000
    assert event.event_id == market_event_id("binance", "liq", "BTCUSDT", event.key)


def test_force_order_without_fill_uses_order_price_and_qty() -> None:
    order = changed(FORCE["o"], S="BUY", ap="0", z=...)
    [event] = P.parse(binance_line("!forceOrder@arr", changed(FORCE, o=order))).events
    assert isinstance(event, Liquidation)
    assert (event.side, event.price, event.qty) == ("buy", Decimal("42900.00"), Decimal("0.014"))


def test_mark_price_is_a_ticker() -> None:
    [event] = P.parse(binance_line("btcusdt@markPrice@1s", MARK)).events
    assert isinstance(event, Ticker)
    assert event.mark_price == Decimal("43001.20")
    assert event.index_price == Decimal("43003.40")
    assert str(event.funding_rate) == "-0.00012500"
    assert event.next_funding_ts == 1_700_006_400_000_000_000
    assert event.ts_event == 1_700_000_001_000_000_000
    assert (event.last_price, event.open_interest) == (None, None)


def test_mark_price_array_gives_one_ticker_per_symbol() -> None:
    items = [MARK, changed(MARK, s="ETHUSDT", p="2250.00", i="2250.10", r="", T=0)]
    events = P.parse(binance_line("!markPrice@arr@1s", items)).events
    assert [e.symbol for e in events] == ["BTCUSDT", "ETHUSDT"]
    eth = events[1]
    assert isinstance(eth, Ticker)
    assert (eth.funding_rate, eth.next_funding_ts) == (None, None)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (binance_line("btcusdt@depth@0ms", {"e": "depthUpdate", "b": [], "a": []}), "depth"),
        (binance_line("btcusdt@depth20@100ms", {"e": "depthUpdate"}), "depth"),
        (binance_line("btcusdt@bookTicker", {"e": "bookTicker", "b": "1", "a": "2"}), "bookTicker"),
        (binance_line("sushiusdt@kline_1m", {"e": "kline", "k": {}}), "kline"),
        (b'%d {"lastUpdateId":1,"E":1,"T":1,"bids":[],"asks":[]}' % RECV, "depth-snapshot"),
        (b'{"result":null,"id":1}', "control"),
        (b"wss://fstream.binance.com/stream?streams=a@aggTrade <-> 1626992740.179554", "control"),
    ],
)
def test_known_kinds_are_skipped(raw: bytes, kind: str) -> None:
    parsed = P.parse(raw)
    assert (parsed.events, parsed.skipped) == ([], kind)


@pytest.mark.parametrize(
    ("prefix", "recorded"),
    [
        (b"%d " % RECV, RECV),  # hftbacktest: integer ns
        (b"1626992742.289739: ", 1_626_992_742_289_739_000),  # cryptofeed: float seconds
        (b"", 1_700_000_000_100_000_000),  # bare frame: falls back to the event time E
    ],
)
def test_receive_time_from_each_capture_shape(prefix: bytes, recorded: int) -> None:
    [event] = P.parse(binance_line("btcusdt@trade", TRADE, prefix=prefix)).events
    assert event.ts_recorded == recorded


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"%d not json" % RECV, "not JSON"),
        (b'%d {"stream":"btcusdt@trade","data":' % RECV, "not JSON"),
        (b"%d [1,2]" % RECV, "JSON object"),
        (binance_line("btcusdt@trade", TRADE, prefix=b"1700000000123 "), "receive time"),
        (binance_line("btcusdt@trade", TRADE, prefix=b"abc "), "receive time"),
        (b'%d {"data":{}}' % RECV, "no 'stream'"),
        (binance_line("btcusdt@trade", changed(TRADE, p=...)), "p: missing"),
        (binance_line("btcusdt@trade", changed(TRADE, p="NaN")), "not a finite decimal"),
        (binance_line("btcusdt@trade", changed(TRADE, p="Infinity")), "not a finite decimal"),
        (binance_line("btcusdt@trade", changed(TRADE, p="inf")), "not a finite decimal"),
        (binance_line("btcusdt@trade", changed(TRADE, p="4_300")), "not a finite decimal"),
        (binance_line("btcusdt@trade", changed(TRADE, p="")), "not a finite decimal"),
        (binance_line("btcusdt@trade", changed(TRADE, q="-0.5")), "must be positive"),
        (binance_line("btcusdt@trade", changed(TRADE, q="0")), "must be positive"),
        (binance_line("btcusdt@trade", changed(TRADE, q=True)), "expected a decimal"),
        (binance_line("btcusdt@trade", changed(TRADE, m="yes")), "m: expected true/false"),
        (binance_line("btcusdt@trade", changed(TRADE, t=-1)), "t: expected a non-negative integer"),
        (binance_line("btcusdt@trade", changed(TRADE, t=...)), "t: missing"),
        (binance_line("btcusdt@trade", changed(TRADE, T=1700000000)), "epoch milliseconds"),
        (binance_line("btcusdt@trade", changed(TRADE, s="BTC USDT")), "not a symbol"),
        (
            binance_line("btcusdt@trade", changed(TRADE, e="aggTrade")),
            "expected event type 'trade'",
        ),
        (binance_line("ethusdt@trade", TRADE), "carries symbol 'BTCUSDT'"),
        (binance_line("btcusdt@trade", 5), "not an object"),
        (binance_line("btcusdt@trade", []), "empty data"),
        (binance_line("btcusdt@forceOrder", changed(FORCE, o=...)), "liquidation order"),
        (
            binance_line("btcusdt@forceOrder", changed(FORCE, o=changed(FORCE["o"], S="LONG"))),
            "o.S",
        ),
        (binance_line("btcusdt@markPrice", changed(MARK, p="-1")), "must be positive"),
        (binance_line("@trade", TRADE), "carries symbol"),
        (binance_line("btcusdt", TRADE), "names no kind"),
        (b'%d {"stream":"btcusdt@trade","data":{"p":NaN}}' % RECV, "not JSON"),
        (b"wss://x/stream -> 1.0: {}", "unrecognised capture line"),
    ],
)
def test_malformed_lines_raise_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        P.parse(raw)


def test_same_line_same_event_and_distinct_prints_distinct_ids() -> None:
    raws = [
        binance_line("btcusdt@trade", TRADE),
        binance_line("btcusdt@trade", changed(TRADE, t=43)),
    ]
    first, second = parse_all(P, raws), parse_all(P, raws)
    assert first == second
    assert first[0].event_id != first[1].event_id
    # A re-recording of the same print (other receive time) is the same fact: same id.
    again = P.parse(binance_line("btcusdt@trade", TRADE, prefix=b"1700000009000000000 ")).events[0]
    assert again.event_id == first[0].event_id


@pytest.mark.parametrize("gz", [False, True])
def test_records_from_gz_and_plain_files(tmp_path: Path, gz: bool) -> None:
    raws = [
        binance_line("btcusdt@trade", TRADE),
        b"",
        binance_line("btcusdt@bookTicker", {"e": "bookTicker"}),
    ]
    path = write_lines(tmp_path / ("cap.gz" if gz else "cap.txt"), raws, gz=gz, eol=b"\r\n")
    records = list(P.records(path))
    assert records == [(1, raws[0]), (3, raws[2])]
    assert [P.parse(raw).skipped for _, raw in records] == [None, "bookTicker"]


# --- real captures (../shared/data), skipped when absent -------------------------------------

HFT = "hftbacktest-binance-usdm-ws/btcusdt_20240718.gz"


def test_known_real_trades() -> None:
    path = shared_file(HFT)
    [sell] = P.parse(record_at(P, path, 18)).events
    assert sell == Trade(
        event_id=market_event_id("binance", "trade", "BTCUSDT", "5182005737"),  # type: ignore[arg-type]
        ts_event=1_721_347_022_956_000_000,
        ts_recorded=1_721_347_021_434_994_132,  # the recorder's clock ran ~1.5 s behind
        source="binance",
        vertical="perps",
        venue="binance",
        symbol="BTCUSDT",
        trade_id="5182005737",
        price=Decimal("63943.90"),
        qty=Decimal("0.003"),
        side="sell",
    )
    [buy] = P.parse(record_at(P, path, 187)).events
    assert isinstance(buy, Trade)
    assert (buy.trade_id, buy.price, buy.qty, buy.side) == (
        "5182005745",
        Decimal("63944.00"),
        Decimal("0.003"),
        "buy",
    )


@pytest.mark.parametrize(
    "name",
    ["btcusdt_20240718.gz", "btcusdt_20240719.gz", "ethusdt_20240718.gz", "ethusdt_20240719.gz"],
)
def test_real_capture_head_parses_cleanly(name: str) -> None:
    path = shared_file(f"hftbacktest-binance-usdm-ws/{name}")
    records = first_records(P, path, 3000)
    assert [n for n, _ in records] == list(range(1, len(records) + 1))
    kinds: Counter[str] = Counter()
    for _, raw in records:
        parsed = P.parse(raw)
        kinds[parsed.skipped or "event"] += 1
        assert parsed.skipped is not None or len(parsed.events) == 1
    assert set(kinds) <= {"event", "depth", "bookTicker", "depth-snapshot"}
    assert kinds["event"] > 0


def test_real_cryptofeed_binance_capture() -> None:
    path = shared_file("cryptofeed-sample/BINANCE_FUTURES.ws.1.0.txt.gz")
    first = P.parse(record_at(P, path, 1))
    assert first.skipped == "control"
    [agg] = P.parse(record_at(P, path, 22)).events
    assert isinstance(agg, Trade)
    assert (agg.symbol, agg.trade_id, agg.price, agg.qty, agg.side) == (
        "CTKUSDT",
        "a16599292",
        Decimal("1.01100"),
        Decimal("10"),
        "buy",
    )
    assert (agg.ts_event, agg.ts_recorded) == (1_626_992_741_421_000_000, 1_626_992_742_289_739_000)
