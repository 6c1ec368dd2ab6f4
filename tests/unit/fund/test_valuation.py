"""The trading book's valuation for a NAV strike (``helix.fund.valuation``)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from commands.positions import PositionState
from helix.errors import DomainError
from helix.fund.valuation import value_book


def pos(account: str, symbol: str, size: str, entry: str, **kw: str) -> PositionState:
    return PositionState(account, "bybit", symbol, size=D(size), entry_price=D(entry),
                         **{k: D(v) for k, v in kw.items()})  # type: ignore[arg-type]  # fmt: skip


MARKS = {("bybit", "BTCUSDT"): D("61000"), ("bybit", "ETHUSDT"): D("2900")}


def test_long_and_short_marked_to_the_log() -> None:
    book = value_book(
        [pos("f", "BTCUSDT", "0.5", "60000", realized_pnl="120", fees="12.5", funding="-3"),
         pos("f", "ETHUSDT", "-2", "3000", fees="4")],
        MARKS,
    )  # fmt: skip
    assert book.unrealised_pnl == D("0.5") * 1000 + D(-2) * D(-100)  # 500 + 200
    assert (book.realised_pnl, book.trading_fees, book.funding) == (D(120), D("16.5"), D(-3))
    assert book.pnl == D(120) - D("16.5") - 3 + 700


def test_only_the_fund_accounts_count() -> None:
    positions = [pos("fund", "BTCUSDT", "1", "60000"), pos("other", "BTCUSDT", "5", "10000")]
    assert value_book(positions, MARKS, accounts=frozenset({"fund"})).unrealised_pnl == 1000
    assert value_book(positions, MARKS).unrealised_pnl == 1000 + 5 * 51000


def test_flat_positions_need_no_mark_but_open_ones_do() -> None:
    flat = pos("f", "SOLUSDT", "0", "0", realized_pnl="7")
    assert value_book([flat], MARKS).pnl == 7
    with pytest.raises(DomainError, match="SOLUSDT"):
        value_book([pos("f", "SOLUSDT", "1", "150")], MARKS)
