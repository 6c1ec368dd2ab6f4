"""``klines-csv``: OHLCV CSV rows -> closed Kline events (synthetic rows, plus the real file's
head when ``../shared/data`` is there)."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from events.market import Kline, market_event_id
from helix.errors import ValidationError
from helix.importers.formats import get_format, iso_or_ms_to_ns
from helix.importers.klines_csv import INTERVALS, KlinesCsvParser
from tests.unit.importers._samples import KLINE_HEADER, KLINE_ISO, KLINE_MS
from tests.unit.importers._support import first_records, parse_all, shared_file, write_lines

P = get_format("klines-csv", symbol="BTCUSDT", interval="1h")
T_0000 = 1_617_408_000_000_000_000  # 2021-04-03T00:00:00Z
HOUR = 3_600_000_000_000


def _kline(raw: bytes, parser: object = P) -> Kline:
    assert isinstance(parser, KlinesCsvParser)
    [event] = parser.parse(raw).events
    assert isinstance(event, Kline)
    return event


def test_row_fields_exact() -> None:
    k = _kline(KLINE_ISO)
    assert (k.venue, k.symbol, k.interval, k.closed, k.turnover) == (
        "binance", "BTCUSDT", "60", True, None,
    )  # fmt: skip
    assert k.start == T_0000
    assert (k.ts_event, k.ts_recorded) == (T_0000 + HOUR, T_0000 + HOUR)  # the bar's close
    assert [str(x) for x in (k.open, k.high, k.low, k.close, k.volume)] == [
        "58950.010000", "59450.080000", "58931.300000", "59387.130000", "1706.898053",
    ]  # fmt: skip
    assert (k.source, k.vertical) == ("binance", "perps")
    assert k.event_id == market_event_id("binance", "kline", "BTCUSDT", f"60:{T_0000}:1")


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2021-04-03T00:00:00", T_0000),  # naive: UTC
        ("2021-04-03 00:00:00", T_0000),
        ("2021-04-03T00:00:00Z", T_0000),
        ("2021-04-03T02:00:00+02:00", T_0000),
        ("2021-04-02T19:00:00-05:00", T_0000),
        ("2021-04-03T00:00:00.000", T_0000),
        ("2021-04-03", T_0000),
        ("1617408000000", T_0000),  # epoch ms
        ("2021-04-03T00:00:00.123456", T_0000 + 123_456_000),
    ],
)
def test_time_forms(stamp: str, expected: int) -> None:
    assert iso_or_ms_to_ns(stamp, "timestamp") == expected


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [
        ("1617408000", "does not look like epoch milliseconds"),  # seconds
        ("1617408000000000", "does not look like epoch milliseconds"),  # microseconds
        ("03/04/2021 00:00", "neither an ISO-8601 time nor epoch milliseconds"),
        ("2021-04-03T25:00:00", "neither"),
        ("-1617408000000", "neither"),
        ("", "neither"),
        ("1960-01-01T00:00:00", "out of range"),
    ],
)
def test_bad_times(stamp: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        iso_or_ms_to_ns(stamp, "timestamp")


def test_epoch_ms_and_zoned_rows_give_the_same_bar_as_naive_ones() -> None:
    naive = _kline(KLINE_MS.replace(b"1617411600000", b"2021-04-03T01:00:00"))
    zoned = _kline(KLINE_MS.replace(b"1617411600000", b"2021-04-03T03:00:00+02:00"))
    assert _kline(KLINE_MS) == naive == zoned
    assert naive.start == T_0000 + HOUR


@pytest.mark.parametrize(
    ("interval", "bybit"),
    [("1m", "1"), ("5m", "5"), ("15m", "15"), ("30m", "30"), ("1h", "60"), ("4h", "240"),
     ("1d", "D")],
)  # fmt: skip
def test_interval_is_stored_in_bybit_vocabulary(interval: str, bybit: str) -> None:
    k = _kline(KLINE_ISO, get_format("klines-csv", symbol="BTCUSDT", interval=interval))
    assert k.interval == bybit
    assert k.ts_event - k.start == INTERVALS[interval][1] * 1_000_000_000


def test_weekly_bars_open_on_mondays() -> None:
    weekly = get_format("klines-csv", symbol="BTCUSDT", interval="1w")
    monday = KLINE_ISO.replace(b"2021-04-03", b"2021-04-05")
    assert _kline(monday, weekly).interval == "W"
    with pytest.raises(ValidationError, match="not the open of a 1w bar"):
        weekly.parse(KLINE_ISO)  # a Saturday


def test_options_symbol_venue_and_the_key() -> None:
    p = get_format("klines-csv", symbol="ethusdt", venue="Bybit", interval="4h")
    assert p.key == "klines-csv:bybit:ETHUSDT:4h"
    k = _kline(KLINE_ISO, p)
    assert (k.venue, k.source, k.symbol) == ("bybit", "bybit", "ETHUSDT")
    assert k.event_id == market_event_id("bybit", "kline", "ETHUSDT", f"240:{T_0000}:1")


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"interval": "1h"}, "format 'klines-csv' needs --symbol"),
        ({"symbol": "BTCUSDT"}, "needs --interval, one of 1m, 3m, 5m"),
        ({"symbol": "BTCUSDT", "interval": "60"}, "--interval: '60' is not one of"),
        ({"symbol": "BTCUSDT", "interval": "1M"}, "--interval: '1M' is not one of"),
        ({"symbol": "BTC/USDT", "interval": "1h"}, "--symbol: 'BTC/USDT' is not a symbol"),
        ({"symbol": "BTCUSDT", "interval": "1h", "venue": "bin ance"}, "not a venue name"),
    ],
)
def test_missing_or_bad_options_are_clear_errors(options: dict[str, str], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        get_format("klines-csv", **options)


def _row(**changes: str) -> bytes:
    names = KLINE_HEADER.decode().split(",")
    values = dict(zip(names, KLINE_ISO.decode().split(","), strict=True))
    values.update(changes)
    return ",".join(values[n] for n in names).encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty row"),
        (b"2021-04-03T00:00:00,1,2,0.5,1.5", "at least 6 columns"),
        (_row(timestamp="2021-04-03T00:30:00"), "not the open of a 1h bar"),
        (_row(timestamp="yesterday"), "neither an ISO-8601 time nor epoch milliseconds"),
        (_row(open="0"), "open: '0' must be positive"),
        (_row(high="-1"), "high: '-1' must be positive"),
        (_row(low="0"), "low: '0' must be positive"),
        (_row(close="NaN"), "close: 'NaN' is not a finite decimal"),
        (_row(open="abc"), "open: 'abc' is not a finite decimal"),
        (_row(volume="-0.1"), "volume: '-0.1' must not be negative"),
        (_row(volume=""), "volume: '' is not a finite decimal"),
        (_row(high="59000"), "high 59000 is below the open 58950.010000 or the close"),
        (_row(high="59387.12"), "high 59387.12 is below"),  # under the close only
        (_row(high="58950.00"), "high 58950.00 is below"),  # under the open too
        (_row(low="58950.02"), "low 58950.02 is above the open 58950.010000"),
        (_row(low="59400"), "low 59400 is above"),
        (_row(open="5895\u00e9"), "not ASCII"),
    ],
)
def test_malformed_rows_raise_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        P.parse(raw)


def test_bounds_are_inclusive_and_zero_volume_is_a_bar() -> None:
    flat = _kline(_row(open="1.5", high="1.5", low="1.5", close="1.5", volume="0"))
    assert flat.high == flat.low == Decimal("1.5")
    assert flat.volume == 0


def test_extra_columns_are_ignored() -> None:
    binance_layout = KLINE_MS + b",1617415199999,76812345.1,1234,600.1,3500000.2,0"
    assert _kline(binance_layout) == _kline(KLINE_MS)


@pytest.mark.parametrize("gz", [False, True])
def test_records_skip_the_header_and_count_lines(tmp_path: Path, gz: bool) -> None:
    path = write_lines(tmp_path / "k.csv", [KLINE_HEADER, KLINE_ISO, b"", KLINE_MS], gz=gz)
    assert list(P.records(path)) == [(2, KLINE_ISO), (4, KLINE_MS)]


def test_headerless_file_and_binance_header(tmp_path: Path) -> None:
    bare = write_lines(tmp_path / "a.csv", [KLINE_MS, KLINE_ISO], gz=False)
    assert [n for n, _ in P.records(bare)] == [1, 2]
    header = b"\xef\xbb\xbfopen_time,open,high,low,close,volume,close_time,quote_volume"
    binance = write_lines(tmp_path / "b.csv", [header, KLINE_MS], gz=False, eol=b"\r\n")
    assert list(P.records(binance)) == [(2, KLINE_MS)]


def test_another_header_is_refused(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.csv", [b"symbol,open,high,low,close,volume"], gz=False)
    with pytest.raises(ValidationError, match="not a klines CSV"):
        list(P.records(path))


def test_deterministic_ids() -> None:
    assert P.parse(KLINE_ISO) == P.parse(KLINE_ISO)
    a, b = parse_all(P, [KLINE_ISO, KLINE_MS])
    assert a.event_id != b.event_id
    other = get_format("klines-csv", symbol="ETHUSDT", interval="1h")
    assert _kline(KLINE_ISO, other).event_id != a.event_id


def test_the_real_hourly_file_head() -> None:
    path = shared_file("btcusdt-structure-trading/btcusdt_1h_5year.csv.gz")
    records = first_records(P, path, 2_000)
    assert records[0] == (2, KLINE_ISO)
    bars = parse_all(P, [raw for _, raw in records])
    assert all(isinstance(b, Kline) for b in bars)
    starts = [b.start for b in bars if isinstance(b, Kline)]
    assert starts[0] == T_0000
    assert all(b - a >= HOUR for a, b in pairwise(starts))  # in order, one bar an hour or more
    assert len({b.event_id for b in bars}) == len(bars) == 2_000
