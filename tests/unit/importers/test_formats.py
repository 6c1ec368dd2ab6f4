"""The format registry, shared helpers, file reading and the codec round-trip of all formats."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from helix.codec import Codec
from helix.errors import ValidationError
from helix.importers import FORMATS, Parsed, RecordParser, get_format
from helix.importers.formats import dec, ms_to_ns, read_lines, secs_to_ns, split_capture
from helix.store.market import MarketEvent
from tests.unit.importers import _samples as s
from tests.unit.importers._support import SHARED_DATA, first_records, parse_all, write_lines

PLAIN = ["binance-ws", "bybit-trades-csv", "bybit-ws"]


def test_registry_has_the_seven_formats_by_name() -> None:
    assert sorted(FORMATS) == [
        "binance-oi-csv", "binance-ws", "bybit-trades-csv", "bybit-ws", "klines-csv",
        "polymarket-data-csv", "polymarket-midterms-csv",
    ]  # fmt: skip
    for name in PLAIN:
        parser = get_format(name)
        assert (parser.name, parser.key) == (name, name)
        assert get_format(name) is parser  # formats without options are stateless singletons
    klines = get_format("klines-csv", symbol="btcusdt", interval="1h")
    assert (klines.name, klines.key) == ("klines-csv", "klines-csv:binance:BTCUSDT:1h")
    oi = get_format("binance-oi-csv", venue="Binance")
    assert (oi.name, oi.key) == ("binance-oi-csv", "binance-oi-csv:binance")


def test_unknown_format_lists_the_valid_names() -> None:
    with pytest.raises(
        ValidationError, match="binance-oi-csv, binance-ws, bybit-trades-csv, bybit-ws, klines-csv"
    ):
        get_format("okx-ws")


@pytest.mark.parametrize("name", PLAIN)
def test_formats_without_options_refuse_them(name: str) -> None:
    with pytest.raises(ValidationError, match=f"format '{name}' takes no --symbol, --interval"):
        get_format(name, symbol="BTCUSDT", interval="1h")
    with pytest.raises(ValidationError, match="takes no --venue"):
        get_format(name, venue="binance")


def test_the_ledger_key_tells_options_apart() -> None:
    keys = {
        get_format("klines-csv", symbol=s, interval=i, venue=v).key
        for s in ("BTCUSDT", "ETHUSDT")
        for i in ("1h", "4h")
        for v in ("binance", "bybit")
    }
    keys |= {get_format("binance-oi-csv", venue=v).key for v in ("binance", "bybit")}
    assert len(keys) == 10
    for key in keys:  # one NATS subject token
        assert not set(key) & set(".*> \t")


def test_parsed_defaults_to_not_skipped() -> None:
    assert Parsed([]).skipped is None


def test_read_lines_numbers_every_line_and_drops_blank_ones(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "x", [b"a", b"", b"  ", b"b\r", b"c"], gz=False)
    assert list(read_lines(path)) == [(1, b"a"), (4, b"b"), (5, b"c")]


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "capture.txt", [b"a", b"b"], gz=True)
    assert list(read_lines(path)) == [(1, b"a"), (2, b"b")]


def test_no_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"a\nb")
    assert list(read_lines(path)) == [(1, b"a"), (2, b"b")]


def test_truncated_gzip_is_a_validation_error(tmp_path: Path) -> None:
    body = gzip.compress(b"".join(b"line %d\n" % i for i in range(5000)))
    path = tmp_path / "cut.gz"
    path.write_bytes(body[: len(body) // 2])
    with pytest.raises(ValidationError, match="corrupt gzip"):
        list(read_lines(path))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("63943.90", "63943.90"), ("0.00000001", "1E-8"), ("1E-8", "1E-8"), (4, "4")],
)
def test_dec_is_exact(value: object, expected: str) -> None:
    assert str(dec(value, "x")) == expected


@pytest.mark.parametrize(
    "value", ["NaN", "nan", "sNaN", "Infinity", "-inf", "", " 1", "1_000", "0x10", 1.5, True, None]
)
def test_dec_rejects_non_decimals(value: object) -> None:
    with pytest.raises(ValidationError, match="x: "):
        dec(value, "x")


def test_dec_sign_rules() -> None:
    assert dec("-0.0001", "r", sign="any") == Decimal("-0.0001")
    assert dec("0", "v", sign="non-negative") == 0
    with pytest.raises(ValidationError, match="must not be negative"):
        dec("-1", "v", sign="non-negative")
    with pytest.raises(ValidationError, match="must be positive"):
        dec("0", "p")


def test_time_conversions_are_exact() -> None:
    assert secs_to_ns("1585180700.0647", "t") == 1_585_180_700_064_700_000
    assert secs_to_ns("1618677786.4612951", "t") == 1_618_677_786_461_295_100
    assert secs_to_ns("1585180700.123456789", "t") == 1_585_180_700_123_456_789
    assert ms_to_ns("1673280000000", "t") == 1_673_280_000_000_000_000
    with pytest.raises(ValidationError, match="epoch milliseconds"):
        ms_to_ns(1_673_280_000, "t")  # seconds


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a":1}', (None, b'{"a":1}')),
        (b'1721347020984480942 {"a":1}', (1_721_347_020_984_480_942, b'{"a":1}')),
        (b'1618677786.799668: {"a":1}', (1_618_677_786_799_668_000, b'{"a":1}')),
        (b"wss://h/p <-> 1618677785.4827468", (None, None)),
        (b'wss://h/p <- 1618677786.46: {"op":"ping"}', (None, None)),
    ],
)
def test_capture_line_shapes(raw: bytes, expected: tuple[int | None, bytes | None]) -> None:
    assert split_capture(raw) == expected


def _every_sample_event() -> list[MarketEvent]:
    events = parse_all(
        get_format("binance-ws"),
        [
            s.binance_line("btcusdt@trade", s.TRADE),
            s.binance_line("ethusdt@aggTrade", s.AGG),
            s.binance_line("btcusdt@forceOrder", s.FORCE),
            s.binance_line("btcusdt@markPrice", s.MARK),
        ],
    )
    events += parse_all(get_format("bybit-trades-csv"), [s.ROW_BUY, s.ROW_SELL, s.ROW_LINEAR])
    events += parse_all(_PARSERS["klines-csv"], [s.KLINE_ISO, s.KLINE_MS])
    events += parse_all(_PARSERS["binance-oi-csv"], [s.OI_ROW, s.OI_ROW_SHORT])
    frames = (s.TRADES, s.ALL_LIQ, s.OLD_LIQ, s.TICKER, s.KLINE)
    events += parse_all(get_format("bybit-ws"), [s.bybit_line(f) for f in frames])
    return events


def test_every_event_round_trips_through_the_codec() -> None:
    codec = Codec()
    events = _every_sample_event()
    assert {type(e).__name__ for e in events} == {"Trade", "Liquidation", "Ticker", "Kline"}
    for event in events:
        back = codec.decode(codec.encode(event))
        assert back == event
        assert repr(back) == repr(event)  # Decimals keep their exact digits (63943.90)


def test_real_events_round_trip_through_the_codec() -> None:
    sources = [
        ("binance-ws", "hftbacktest-binance-usdm-ws/btcusdt_20240718.gz"),
        ("binance-ws", "cryptofeed-sample/BINANCE_FUTURES.ws.1.0.txt.gz"),
        ("bybit-ws", "cryptofeed-sample/BYBIT.ws.25.0.txt.gz"),
        ("bybit-ws", "cryptofeed-sample/BYBIT.ws.26.0.txt.gz"),
    ]
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not available: {SHARED_DATA}")
    codec = Codec()
    seen = 0
    for fmt, relative in sources:
        parser = get_format(fmt)
        path = SHARED_DATA / relative
        if not path.is_file():
            continue
        for event in parse_all(parser, [raw for _, raw in first_records(parser, path, 1000)]):
            assert codec.decode(codec.encode(event)) == event
            seen += 1
    if not seen:
        pytest.skip("no shared capture files present")


# --- robustness: whatever a line holds, the answer is a Parsed or a ValidationError ---------

_FRAMES: list[tuple[str, dict[str, Any]]] = [
    ("binance-ws", {"stream": "btcusdt@trade", "data": s.TRADE}),
    ("binance-ws", {"stream": "ethusdt@aggTrade", "data": s.AGG}),
    ("binance-ws", {"stream": "btcusdt@forceOrder", "data": s.FORCE}),
    ("binance-ws", {"stream": "btcusdt@forceOrder", "data": {**s.FORCE, "o": s.FORCE["o"]}}),
    ("binance-ws", {"stream": "btcusdt@markPrice", "data": s.MARK}),
    ("bybit-ws", s.TRADES),
    ("bybit-ws", s.ALL_LIQ),
    ("bybit-ws", s.OLD_LIQ),
    ("bybit-ws", s.TICKER),
    ("bybit-ws", s.KLINE),
]
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["NaN", "inf", "-1", "0", "1e400", "Buy", "SELL", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def _parse_or_reject(parser: RecordParser, raw: bytes) -> None:
    try:
        parsed = parser.parse(raw)
    except ValidationError:
        return
    assert isinstance(parsed, Parsed)
    assert parsed.skipped is not None or parsed.events


@hsettings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_field_value_parses_or_is_rejected(data: st.DataObject) -> None:
    fmt, frame = data.draw(st.sampled_from(_FRAMES))
    outer = data.draw(st.booleans())
    if outer:  # the envelope itself
        target: dict[str, Any] = dict(frame)
        frame = target
    else:
        body = frame["data"][0] if isinstance(frame["data"], list) else frame["data"]
        target = dict(body)
        frame = {**frame, "data": [target] if isinstance(frame["data"], list) else target}
    key = data.draw(st.sampled_from(sorted(target)))
    if data.draw(st.booleans()):
        target[key] = data.draw(_JSON_VALUES)
    else:
        del target[key]
    _parse_or_reject(get_format(fmt), b"1700000000.5: " + json.dumps(frame).encode())


_PARSERS: dict[str, RecordParser] = {
    **{name: get_format(name) for name in PLAIN},
    "klines-csv": get_format("klines-csv", symbol="BTCUSDT", interval="1h"),
    "binance-oi-csv": get_format("binance-oi-csv"),
}


@hsettings(max_examples=400, deadline=None)
@given(
    case=st.sampled_from(
        [("bybit-trades-csv", row) for row in (s.ROW_BUY, s.ROW_SELL, s.ROW_LINEAR)]
        + [("klines-csv", row) for row in (s.KLINE_ISO, s.KLINE_MS)]
        + [("binance-oi-csv", row) for row in (s.OI_ROW, s.OI_ROW_SHORT)]
        + [(fmt, json.dumps(frame).encode()) for fmt, frame in _FRAMES]
    ),
    at=st.integers(min_value=0),
    junk=st.binary(min_size=1, max_size=4),
)
def test_corrupted_bytes_parse_or_are_rejected(
    case: tuple[str, bytes], at: int, junk: bytes
) -> None:
    fmt, raw = case
    at %= len(raw)
    _parse_or_reject(_PARSERS[fmt], raw[:at] + junk + raw[at + len(junk) :])
