"""``verify --log`` recomputes every NAV strike from the fund's own history."""

from __future__ import annotations

import uuid
from decimal import Decimal as D

import msgspec

from audit.navcheck import BookCheck, nav_findings
from events.base import Event
from events.fund import DepositSettled, NavStruck
from events.trading import FillBooked
from tests.unit.fund.test_tv9b import CONFIG, tv9b


def history() -> list[tuple[int, Event]]:
    fund, _ = tv9b()
    return list(enumerate(fund.events, start=1))


def test_an_honest_history_recomputes() -> None:
    findings, checked = nav_findings(history(), CONFIG)
    assert findings == []
    assert checked == 4


def test_an_inflated_nav_is_named_with_its_sequence() -> None:
    events = history()
    seq, strike = [(s, e) for s, e in events if isinstance(e, NavStruck)][-1]
    events[seq - 1] = (seq, msgspec.structs.replace(strike, nav_per_unit=D("11.5")))
    findings, _ = nav_findings(events, CONFIG)
    assert findings[0].seqs == (seq,)
    assert "nav_per_unit 11.5 (history gives 11" in findings[0].message


def test_units_issued_off_the_books_are_named() -> None:
    events = history()
    seq, dep = next((s, e) for s, e in events if isinstance(e, DepositSettled))
    events[seq - 1] = (seq, msgspec.structs.replace(dep, units=dep.units + 10))
    findings, _ = nav_findings(events, CONFIG)
    assert findings
    assert findings[0].seqs == (seq,)
    assert "books off by" in findings[0].message


def booked(account: str, realised: str, fee: str) -> Event:
    return FillBooked(
        event_id=uuid.uuid4(), ts_event=1, ts_recorded=1, source="t", vertical="perps",
        account=account, venue="sim", symbol="BTCUSDT", order_id=uuid.uuid4(), exec_id="x",
        side="sell", qty=D(1), price=D(1), fee=D(fee), realized_pnl=D(realised), size=D(0),
        entry_price=D(0),
    )  # fmt: skip


def test_a_strikes_book_must_be_the_booked_fills_of_the_fund_accounts() -> None:
    fund, _ = tv9b()
    strikes = [e for e in fund.events if isinstance(e, NavStruck)]
    assert [s.realised_pnl for s in strikes] == [D(0), D(100), D(-50), D(70)]
    # before strikes 2-4 the fund account books the gains that make those cumulative figures;
    # another account's fills never count
    gains = {1: "100", 2: "-150", 3: "120"}
    events: list[tuple[int, Event]] = []
    strikes_seen = 0
    for e in fund.events:
        if isinstance(e, NavStruck):
            if strikes_seen in gains:
                events.append((len(events) + 1, booked("fund", gains[strikes_seen], "0")))
                events.append((len(events) + 1, booked("other", "999", "5")))
            strikes_seen += 1
        events.append((len(events) + 1, e))
    check = BookCheck("fund-1", frozenset({"fund"}))
    assert nav_findings(events, CONFIG, book=check)[0] == []
    # a fill the fund booked that the strikes left out is named at every strike after it
    events.insert(0, (0, booked("fund", "1", "0.5")))
    findings, _ = nav_findings(events, CONFIG, book=check)
    assert len(findings) == 4
    assert "realised_pnl 0 (the booked fills give 1)" in findings[0].message
    assert "trading_fees 0 (the booked fills give 0.5)" in findings[0].message
