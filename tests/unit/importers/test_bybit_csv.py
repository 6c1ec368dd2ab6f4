"""``bybit-trades-csv``: Bybit's public trade archive rows -> Trade (synthetic files only)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from events.market import Trade, market_event_id
from helix.errors import ValidationError
from helix.importers.formats import get_format
from tests.unit.importers._samples import HEADER, ROW_BUY, ROW_LINEAR, ROW_SELL
from tests.unit.importers._support import parse_all, write_lines

P = get_format("bybit-trades-csv")


def test_row_fields_exact() -> None:
    [event] = P.parse(ROW_BUY).events
    assert isinstance(event, Trade)
    assert (event.venue, event.symbol, event.side) == ("bybit", "BTCUSD", "buy")
    assert event.trade_id == "8b9f1f6e-6f0a-5ad2-9d1a-1c1b1e1d1f01"
    assert (str(event.price), str(event.qty)) == ("6629.5", "100")
    # Exactly .0647 s: a float would give 1585180700064699904 or similar.
    assert event.ts_event == 1_585_180_700_064_700_000
    assert event.ts_recorded == event.ts_event  # archives have no receive time
    assert (event.source, event.vertical) == ("bybit", "perps")
    assert event.event_id == market_event_id("bybit", "trade", "BTCUSD", event.trade_id)


def test_taker_side_and_whole_second_timestamps() -> None:
    sell, linear = parse_all(P, [ROW_SELL, ROW_LINEAR])
    assert isinstance(sell, Trade)
    assert isinstance(linear, Trade)
    assert (sell.side, sell.ts_event, sell.price) == (
        "sell",
        1_585_180_700_100_000_000,
        Decimal("6629"),
    )
    assert (linear.side, linear.symbol, linear.ts_event) == (
        "buy",
        "BTCUSDT",
        1_651_449_601_000_000_000,
    )
    assert (linear.qty, str(linear.price)) == (Decimal("0.001"), "38408.00")


@pytest.mark.parametrize("gz", [False, True])
def test_records_skip_the_header_and_count_lines(tmp_path: Path, gz: bool) -> None:
    name = "BTCUSD2020-03-26.csv" + (".gz" if gz else "")
    path = write_lines(tmp_path / name, [HEADER, ROW_BUY, ROW_SELL, b"", ROW_LINEAR], gz=gz)
    assert list(P.records(path)) == [(2, ROW_BUY), (3, ROW_SELL), (5, ROW_LINEAR)]


def test_gz_and_plain_give_the_same_events(tmp_path: Path) -> None:
    rows = [HEADER, ROW_BUY, ROW_SELL]
    plain = write_lines(tmp_path / "t.csv", rows, gz=False)
    packed = write_lines(tmp_path / "t.csv.gz", rows, gz=True)
    events = [parse_all(P, [raw for _, raw in P.records(p)]) for p in (plain, packed)]
    assert len(events[0]) == 2
    assert events[0] == events[1]


def test_header_with_bom_and_crlf(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "t.csv", [b"\xef\xbb\xbf" + HEADER, ROW_BUY], gz=False, eol=b"\r\n"
    )
    assert list(P.records(path)) == [(2, ROW_BUY)]


def test_headerless_file_starts_at_line_one(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.csv", [ROW_BUY, ROW_SELL], gz=False)
    assert [n for n, _ in P.records(path)] == [1, 2]


def test_spot_archive_header_is_refused(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "s.csv", [b"id,timestamp,price,volume,side,rpi"], gz=False)
    with pytest.raises(ValidationError, match="not a Bybit derivatives trade archive"):
        list(P.records(path))


def _row(**changes: bytes) -> bytes:
    names = HEADER.split(b",")
    values = dict(zip(names, ROW_BUY.split(b","), strict=True))
    values.update({k.encode(): v for k, v in changes.items()})
    return b",".join(values[n] for n in names)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty row"),
        (b"1585180700.0647,BTCUSD,Buy,100,6629.5", "at least 7 columns"),
        (_row(side=b"buy"), "side: expected Buy or Sell"),
        (_row(side=b""), "side: expected Buy or Sell"),
        (_row(trdMatchID=b""), "trdMatchID: empty"),
        (_row(price=b"NaN"), "price: 'NaN' is not a finite decimal"),
        (_row(price=b"inf"), "not a finite decimal"),
        (_row(price=b"0"), "price: '0' must be positive"),
        (_row(size=b"-100"), "size: '-100' must be positive"),
        (_row(size=b"1 0"), "not a finite decimal"),
        (_row(symbol=b""), "not a symbol"),
        (_row(timestamp=b"abc"), "not epoch seconds"),
        (_row(timestamp=b"1.5e9"), "not epoch seconds"),
        (_row(timestamp=b"-1585180700"), "not epoch seconds"),
        (_row(timestamp=b"1585180700064"), "epoch seconds"),  # milliseconds
        (_row(timestamp=b"12345.5"), "does not look like epoch seconds"),
        (_row(timestamp=b"1585180700.0000000001"), "finer than a nanosecond"),
        (_row(symbol="BTCUSD\u00e9".encode()), "not ASCII"),
    ],
)
def test_malformed_rows_raise_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        P.parse(raw)


def test_deterministic_ids() -> None:
    assert P.parse(ROW_BUY) == P.parse(ROW_BUY)
    a, b = parse_all(P, [ROW_BUY, ROW_SELL])
    assert a.event_id != b.event_id
