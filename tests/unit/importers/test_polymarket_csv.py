"""``polymarket-data-csv`` and ``polymarket-midterms-csv``: rows -> PolyTrade/PolyMarket, and
the official 2022 results table."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from events.poly import PolyMarket, PolyTrade, poly_event_id
from helix.errors import ValidationError
from helix.importers.formats import Parsed, get_format
from helix.importers.midterms_2022 import (
    RESULTS,
    market_token,
    official_resolution,
    result_for,
)
from tests.unit.importers._support import SHARED_DATA, write_lines

DATA = get_format("polymarket-data-csv")
MID = get_format("polymarket-midterms-csv")

W1 = "0x4add0b25c30d0b7b6e294b69b0d2da27ebcc8f36"
CID = "0xba258964438918d2b24f39ca621ed5b2423ab3b62db13ab443c0310428e4c645"
TOKEN = "15021889545079495848739846890023281680218813652196836971125934620663712152882"
DATA_HEADER = (
    b"proxyWallet,side,asset,conditionId,size,price,timestamp,title,eventSlug,outcome,name,"
    b"cost,datetime"
)


def data_row(
    *,
    side: str = "BUY",
    size: str = "3454.2765",
    price: str = "0.99",
    ts: str = "1767504071",
    wallet: str = W1.upper().replace("0X", "0x"),
) -> bytes:
    return (
        f"{wallet},{side},{TOKEN},{CID},{size},{price},{ts},"
        f'"Will BTC be above $88,000 on January 4?",btc-above,Yes,borderx,1.0,'
        f"2026-01-04 08:15:21+00:00"
    ).encode()


def only(parsed: Parsed) -> PolyTrade:
    [event] = parsed.events
    assert isinstance(event, PolyTrade)
    return event


def records(parser: object, path: Path) -> list[tuple[int, bytes]]:
    return list(parser.records(path))  # type: ignore[attr-defined]


# -- polymarket-data-csv -------------------------------------------------------------------------


def test_data_row_fields_exact_with_a_quoted_title(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.csv", [DATA_HEADER, data_row()], gz=False)
    [(line_no, raw)] = records(DATA, path)
    trade = only(DATA.parse(raw))
    assert line_no == 2
    assert (trade.symbol, trade.condition_id, trade.token_id) == (CID, CID, TOKEN)
    assert trade.wallet == W1  # lower-cased
    assert (trade.side, trade.outcome) == ("buy", "Yes")
    assert (trade.size, trade.price) == (Decimal("3454.2765"), Decimal("0.99"))
    assert trade.ts_event == trade.ts_recorded == 1_767_504_071_000_000_000
    assert trade.title == "Will BTC be above $88,000 on January 4?"
    assert (trade.vertical, trade.venue, trade.origin, trade.tx_hash) == (
        "poly", "polymarket", "import", "",
    )  # fmt: skip
    assert trade.event_id == poly_event_id("wtrade", CID, trade.trade_key)


def test_identical_rows_in_one_file_are_distinct_and_stable(tmp_path: Path) -> None:
    row = data_row()
    path = write_lines(tmp_path / "t.csv", [DATA_HEADER, row, data_row(side="SELL"), row], gz=True)
    first = [only(DATA.parse(raw)) for _, raw in records(DATA, path)]
    again = [only(DATA.parse(raw)) for _, raw in records(DATA, path)]
    assert [t.event_id for t in first] == [t.event_id for t in again]
    assert len({t.event_id for t in first}) == 3
    assert first[2].trade_key == first[0].trade_key + "#1"


def test_transaction_hash_column_keys_the_trade(tmp_path: Path) -> None:
    header = DATA_HEADER + b",transactionHash"
    path = write_lines(tmp_path / "t.csv", [header, data_row() + b",0xabc"], gz=False)
    [(_, raw)] = records(DATA, path)
    trade = only(DATA.parse(raw))
    assert trade.tx_hash == "0xabc"
    assert trade.trade_key == f"0xabc:{TOKEN}:buy:3454.2765:0.99"  # = the live feed's key


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (data_row(side="HOLD"), "side"),
        (data_row(price="1.5"), "probability"),
        (data_row(price="abc"), "price"),
        (data_row(ts="yesterday"), "timestamp"),
        (data_row(size="-1"), "size"),
        (data_row(wallet="0x4add0b25"), "proxyWallet"),
        (data_row().replace(CID.encode(), b"0x12"), "conditionId"),
        (data_row().rsplit(b",", 1)[0], "columns"),
        (b'"unterminated,' + data_row(), "not CSV"),
    ],
)
def test_malformed_data_rows_say_why(tmp_path: Path, row: bytes, reason: str) -> None:
    path = write_lines(tmp_path / "t.csv", [DATA_HEADER, row], gz=False)
    [(_, raw)] = records(DATA, path)
    with pytest.raises(ValidationError, match=reason):
        DATA.parse(raw)


def test_zero_size_rows_are_skipped_not_rejected(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.csv", [DATA_HEADER, data_row(size="0")], gz=False)
    [(_, raw)] = records(DATA, path)
    assert DATA.parse(raw) == Parsed([], skipped="zero-size")


def test_a_file_without_the_data_api_header_is_refused(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.csv", [b"a,b,c", data_row()], gz=False)
    with pytest.raises(ValidationError, match="lacks proxyWallet"):
        records(DATA, path)


def test_real_data_api_exports_parse_in_full() -> None:
    files = sorted((SHARED_DATA / "polymarket-trades-asommerhauser").glob("*.csv"))
    if not files:
        pytest.skip("shared data not available: polymarket-trades-asommerhauser")
    for path in files:
        trades = [only(DATA.parse(raw)) for _, raw in records(DATA, path)]
        rows = len(path.read_text(encoding="utf-8").splitlines()) - 1
        assert len(trades) == rows
        assert len({t.event_id for t in trades}) == rows  # identical rows stay apart
        assert all(t.condition_id.startswith("0x") and 0 <= t.price <= 1 for t in trades)


# -- polymarket-midterms-csv ---------------------------------------------------------------------

MID_HEADER = (
    b'"","Timestamp","Account","Type","Outcome","Direction","Amount","Shares","Price",'
    b'"Var.9","Var.10"'
)
W2 = "0x8c2fa256c8690a6651d4db04ee7c1d08031564fa"


def mid_row(
    index: int,
    *,
    ts: str = "2022-11-13 15:34:26",
    kind: str = "Sell",
    outcome: str = "Republican",
    shares: str = "153251.64",
    price: str = "0",
    wallet: str = W2,
) -> bytes:
    return (
        f'"{index}",{ts},"{wallet}","{kind}","{outcome}","🔵",0.37,{shares},{price},"","Tx"'
    ).encode()


def midterms_file(tmp_path: Path, rows: list[bytes], name: str = "nevada_senate.csv") -> Path:
    return write_lines(tmp_path / name, [MID_HEADER, *rows], gz=False)


def test_midterms_file_yields_its_market_first_then_trades(tmp_path: Path) -> None:
    path = midterms_file(
        tmp_path,
        [
            mid_row(1),
            mid_row(2, ts="2022-10-01 09:00:00", kind="Buy", outcome="Democrat", price="0.42"),
        ],
    )
    parsed = [(n, MID.parse(raw)) for n, raw in records(MID, path)]
    assert [n for n, _ in parsed] == [1, 2, 3]
    [market] = parsed[0][1].events
    assert isinstance(market, PolyMarket)
    cid = "midterms-2022-nevada_senate"
    assert (market.symbol, market.condition_id) == (cid, cid)
    assert market.outcomes == ("Democrat", "Republican")
    assert market.token_ids == (f"{cid}-democrat", f"{cid}-republican")
    assert market.ts_event == int(datetime(2022, 10, 1, 9, tzinfo=UTC).timestamp()) * 10**9
    assert "Nevada Senate" in market.question
    assert market.event_id == poly_event_id("market", cid, market.natural_key)
    late, early = (only(p) for _, p in parsed[1:])
    assert (late.price, late.side, late.outcome, late.wallet) == (
        Decimal(0), "sell", "Republican", W2,
    )  # fmt: skip  # price 0: a real post-resolution dump
    assert late.ts_event == int(datetime(2022, 11, 13, 15, 34, 26, tzinfo=UTC).timestamp()) * 10**9
    assert (early.side, early.size, early.price) == ("buy", Decimal("153251.64"), Decimal("0.42"))
    assert early.token_id == f"{cid}-democrat"
    assert late.trade_key.startswith("1:")


def test_identical_looking_midterms_rows_differ_by_index(tmp_path: Path) -> None:
    a, b = mid_row(7), mid_row(8)
    path = midterms_file(tmp_path, [a, b])
    trades = [only(MID.parse(raw)) for n, raw in records(MID, path) if n > 1]
    assert trades[0].event_id != trades[1].event_id
    again = [only(MID.parse(raw)) for n, raw in records(MID, path) if n > 1]
    assert [t.event_id for t in trades] == [t.event_id for t in again]


def test_zero_share_rows_are_skipped_even_without_a_price(tmp_path: Path) -> None:
    path = midterms_file(tmp_path, [mid_row(1, shares="0", price="NA")])
    [_, (_, raw)] = records(MID, path)
    assert MID.parse(raw).skipped == "zero-size"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (mid_row(1, ts="13/11/2022"), "Timestamp"),
        (mid_row(1, kind="Hold"), "Type"),
        (mid_row(1, wallet="0xnope"), "Account"),
        (mid_row(1, price="1.2"), "probability"),
        (mid_row(1, price="NA"), "Price"),
        (mid_row(1, outcome=" "), "Outcome"),
        (mid_row(1).replace(b'"1"', b'"x"'), "index"),
        (mid_row(1).rsplit(b",", 2)[0], "columns"),
    ],
)
def test_malformed_midterms_rows_say_why(tmp_path: Path, row: bytes, reason: str) -> None:
    path = midterms_file(tmp_path, [row])
    raw = next(raw for n, raw in records(MID, path) if n == 2)
    with pytest.raises(ValidationError, match=reason):
        MID.parse(raw)


def test_midterms_header_and_file_name_are_checked(tmp_path: Path) -> None:
    bad_header = write_lines(tmp_path / "x.csv", [DATA_HEADER, mid_row(1)], gz=False)
    with pytest.raises(ValidationError, match="not a Polymarket midterms export"):
        records(MID, bad_header)
    bad_name = midterms_file(tmp_path, [mid_row(1)], name="nevada senate!.csv")
    with pytest.raises(ValidationError, match="file name"):
        records(MID, bad_name)


def test_real_midterms_files_match_the_results_table() -> None:
    folder = SHARED_DATA / "polymarket-midterms-2022"
    files = sorted(folder.glob("*.csv"))
    if not files:
        pytest.skip("shared data not available: polymarket-midterms-2022")
    assert {p.stem for p in files} == set(RESULTS)
    for path in files:
        result = result_for(path.stem)
        parsed = [MID.parse(raw) for _, raw in records(MID, path)]
        [market] = parsed[0].events
        assert isinstance(market, PolyMarket)
        assert set(market.outcomes) <= set(result.outcomes), path.name
        assert result.winner in result.outcomes
        trades = [e for p in parsed[1:] for e in p.events]
        skipped = sum(1 for p in parsed if p.skipped)
        rows = len(path.read_text(encoding="utf-8").splitlines()) - 1
        assert len(trades) + skipped == rows, path.name
        assert len({t.event_id for t in trades}) == len(trades)


# -- official results ----------------------------------------------------------------------------


def test_official_resolution_pays_the_winner_after_the_last_trade() -> None:
    last = int(datetime(2022, 11, 19, 20, 19, 54, tzinfo=UTC).timestamp()) * 10**9
    georgia = official_resolution(result_for("georgia_senate"), last_trade_ns=last, now_ns=5)
    assert georgia.payout_of("Democrat") == 1
    assert georgia.payout_of("Republican") == 0
    assert georgia.winner == "Democrat"
    assert (georgia.origin, georgia.ts_recorded) == ("import", 5)
    assert georgia.note.startswith("official 2022 result: Raphael Warnock")
    # The runoff was on 6 Dec: the payout cannot precede it, whatever the file's last trade.
    assert georgia.ts_event == int(datetime(2022, 12, 7, tzinfo=UTC).timestamp()) * 10**9
    cid = market_token("georgia_senate")
    assert georgia.event_id == poly_event_id("resolved", cid, cid)
    late = last + 30 * 86_400 * 10**9
    again = official_resolution(result_for("georgia_senate"), last_trade_ns=late, now_ns=6)
    assert again.ts_event == late + 10**9
    assert again.event_id == georgia.event_id


def test_one_sided_export_still_resolves_both_outcomes() -> None:
    pa = official_resolution(result_for("pa_08_house"), last_trade_ns=None, now_ns=1)
    assert (pa.payout_of("Republican"), pa.payout_of("Democrat")) == (Decimal(0), Decimal(1))
    senate = official_resolution(result_for("us_senate_overall"), last_trade_ns=None, now_ns=1)
    assert senate.winner == "Democratic"
    combo = official_resolution(
        result_for("republican_house_and_democratic_senate"), last_trade_ns=None, now_ns=1
    )
    assert (combo.payout_of("Yes"), combo.payout_of("No")) == (Decimal(1), Decimal(0))


def test_unknown_race_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="no official 2022 result"):
        result_for("texas_governor")


def test_a_row_with_a_hash_gets_the_id_the_live_feed_gives_the_same_trade(tmp_path: Path) -> None:
    from helix.feeds.polymarket.convert import trade_from_data_api

    header = DATA_HEADER + b",transactionHash"
    path = write_lines(tmp_path / "t.csv", [header, data_row(size="10.50") + b",0xabc"], gz=False)
    [(_, raw)] = records(DATA, path)
    imported = only(DATA.parse(raw))
    live = trade_from_data_api(
        {"proxyWallet": W1, "side": "BUY", "asset": TOKEN, "conditionId": CID, "size": 10.5,
         "price": 0.99, "timestamp": 1767504071, "outcome": "Yes", "transactionHash": "0xabc"},
        now_ns=1,
    )  # fmt: skip
    assert isinstance(live, PolyTrade)
    assert (live.trade_key, live.event_id) == (imported.trade_key, imported.event_id)
