"""``verify --log`` recomputes every NAV strike from the fund's own history."""

from __future__ import annotations

from decimal import Decimal as D

import msgspec

from audit.navcheck import nav_findings
from events.base import Event
from events.fund import DepositSettled, NavStruck
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
