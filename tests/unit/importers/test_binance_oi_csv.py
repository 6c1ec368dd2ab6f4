"""``binance-oi-csv``: saved ``openInterestHist`` rows -> open-interest Tickers (synthetic rows,
plus the real file when ``../shared/data`` is there)."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from events.market import Ticker, market_event_id
from helix.errors import ValidationError
from helix.importers.formats import RecordParser, get_format
from tests.unit.importers._samples import OI_HEADER, OI_ROW, OI_ROW_SHORT
from tests.unit.importers._support import parse_all, shared_file, write_lines

P = get_format("binance-oi-csv")
TS = 1_772_553_600_000_000_000  # 2026-03-03T16:00:00Z


def _ticker(raw: bytes, parser: RecordParser = P) -> Ticker:
    [event] = parser.parse(raw).events
    assert isinstance(event, Ticker)
    return event


def test_row_fields_exact() -> None:
    t = _ticker(OI_ROW)
    assert (t.venue, t.source, t.vertical, t.symbol) == ("binance", "binance", "perps", "BTCUSDT")
    assert (t.ts_event, t.ts_recorded) == (TS, TS)
    assert str(t.open_interest) == "78942.34400000"
    assert str(t.open_interest_value) == "5346644423.51064300"
    assert (t.mark_price, t.index_price, t.last_price, t.funding_rate, t.next_funding_ts) == (
        None, None, None, None, None,
    )  # fmt: skip
    assert t.event_id == market_event_id("binance", "ticker", "BTCUSDT", str(TS))


def test_the_layout_without_circulating_supply() -> None:
    t = _ticker(OI_ROW_SHORT)
    assert (t.symbol, t.ts_event) == ("ETHUSDT", TS + 4 * 3_600_000_000_000)
    assert (t.open_interest, t.open_interest_value) == (
        Decimal("1200000.5"),
        Decimal("2400001000.25"),
    )


def test_venue_option_and_key() -> None:
    p = get_format("binance-oi-csv", venue="binance-archive")
    assert p.key == "binance-oi-csv:binance-archive"
    t = _ticker(OI_ROW, p)
    assert t.venue == "binance-archive"
    assert t.event_id != _ticker(OI_ROW).event_id


@pytest.mark.parametrize(
    ("options", "reason"),
    [({"symbol": "BTCUSDT"}, "takes no --symbol"), ({"interval": "4h"}, "takes no --interval")],
)
def test_options_it_does_not_use_are_refused(options: dict[str, str], reason: str) -> None:
    with pytest.raises(ValidationError, match=f"format 'binance-oi-csv' {reason}"):
        get_format("binance-oi-csv", **options)


def _row(**changes: str) -> bytes:
    names = OI_HEADER.decode().split(",")
    values = dict(zip(names, OI_ROW.decode().split(","), strict=True))
    values.update(changes)
    return ",".join(values[n] for n in names).encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty row"),
        (b"BTCUSDT,1,2", "at least 4 columns"),
        (OI_ROW + b",extra", "expected 4 or 5 columns, got 6"),
        (_row(symbol=""), "symbol: '' is not a symbol"),
        (_row(symbol="BTC/USDT"), "not a symbol"),
        (_row(sumOpenInterest="-1"), "sumOpenInterest: '-1' must not be negative"),
        (_row(sumOpenInterest="NaN"), "sumOpenInterest: 'NaN' is not a finite decimal"),
        (_row(sumOpenInterestValue="1e"), "sumOpenInterestValue: '1e' is not a finite decimal"),
        (_row(sumOpenInterestValue="-5"), "sumOpenInterestValue: '-5' must not be negative"),
        (_row(timestamp="1772553600"), "does not look like epoch milliseconds"),  # seconds
        (_row(timestamp="2026-03-03T16:00:00"), "expected a non-negative integer"),
        (_row(timestamp=""), "expected a non-negative integer"),
        (_row(symbol="BTCUSDT\u00e9"), "not ASCII"),
    ],
)
def test_malformed_rows_raise_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        P.parse(raw)


def test_zero_open_interest_is_a_value() -> None:
    t = _ticker(_row(sumOpenInterest="0", sumOpenInterestValue="0.0"))
    assert (t.open_interest, t.open_interest_value) == (Decimal(0), Decimal(0))


@pytest.mark.parametrize("gz", [False, True])
def test_records_skip_the_header(tmp_path: Path, gz: bool) -> None:
    path = write_lines(tmp_path / "oi.csv", [OI_HEADER, OI_ROW, b"", OI_ROW_SHORT], gz=gz)
    assert list(P.records(path)) == [(2, OI_ROW), (4, OI_ROW_SHORT)]
    short = b"symbol,sumOpenInterest,sumOpenInterestValue,timestamp"
    path = write_lines(tmp_path / "old.csv", [short, OI_ROW_SHORT], gz=gz, eol=b"\r\n")
    assert list(P.records(path)) == [(2, OI_ROW_SHORT)]


def test_headerless_file_starts_at_line_one(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "oi.csv", [OI_ROW, OI_ROW_SHORT], gz=False)
    assert [n for n, _ in P.records(path)] == [1, 2]


def test_another_binance_history_is_refused_at_the_header(tmp_path: Path) -> None:
    ratio = b"symbol,longAccount,longShortRatio,shortAccount,timestamp"
    path = write_lines(tmp_path / "ls.csv", [ratio, b"BTCUSDT,0.6,1.5,0.4,1772553600000"], gz=False)
    with pytest.raises(ValidationError, match="not Binance open-interest history"):
        list(P.records(path))


def test_deterministic_ids() -> None:
    assert P.parse(OI_ROW) == P.parse(OI_ROW)
    a, b = parse_all(P, [OI_ROW, OI_ROW_SHORT])
    assert a.event_id != b.event_id


def test_the_real_file() -> None:
    path = shared_file("btcusdt-structure-trading/btcusdt_futures_oi.csv")
    records = list(P.records(path))
    tickers = parse_all(P, [raw for _, raw in records])
    assert len(tickers) == len(records) == 186
    assert records[0][0] == 2  # the header is line 1
    assert {t.symbol for t in tickers} == {"BTCUSDT"}
    stamps = [t.ts_event for t in tickers]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    assert {(b - a) % (4 * 3_600_000_000_000) for a, b in pairwise(stamps)} == {0}
    for t in tickers:
        assert isinstance(t, Ticker)
        assert t.open_interest is not None
        assert t.open_interest_value is not None
        assert t.open_interest > 0
        assert t.open_interest_value > t.open_interest  # USDT per BTC is far above 1
