"""One-way netting: average entry, realised PnL, flips; funding signs; evolve."""

from __future__ import annotations

import uuid
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.positions import PositionState, book_fill, evolve_position, funding_amount, net
from events.base import Envelope
from events.trading import FundingBooked
from tests.unit import _factories as f


@pytest.mark.parametrize(
    ("size", "entry", "qty", "price", "want"),
    [
        (D(0), D(0), D("2"), D("100"), (D("2"), D("100"), D(0))),  # open long
        (D("2"), D("100"), D("2"), D("110"), (D("4"), D("105"), D(0))),  # add: average
        (D("4"), D("105"), D("-1"), D("115"), (D("3"), D("105"), D("10"))),  # reduce a long
        (D("3"), D("105"), D("-3"), D("95"), (D(0), D(0), D("-30"))),  # close at a loss
        (D("1"), D("100"), D("-3"), D("90"), (D("-2"), D("90"), D("-10"))),  # flip to short
        (D("-2"), D("90"), D("1"), D("80"), (D("-1"), D("90"), D("10"))),  # cover a short
        (D("-1"), D("90"), D("-1"), D("100"), (D("-2"), D("95"), D(0))),  # add to a short
    ],
)
def test_netting(size: D, entry: D, qty: D, price: D, want: tuple[D, D, D]) -> None:
    assert net(size, entry, qty, price) == want


@given(
    st.lists(
        st.tuples(st.integers(-50, 50).filter(bool), st.integers(50, 150)), min_size=1, max_size=30
    ),
    st.integers(50, 150),
)
def test_realised_plus_unrealised_equals_cash_flow(fills: list[tuple[int, int]], mark: int) -> None:
    """Whatever the path, realised + unrealised = the cash the fills moved, valued at mark."""
    size, entry, realised, cash = D(0), D(0), D(0), D(0)
    for q, p in fills:
        size, entry, r = net(size, entry, D(q), D(p))
        realised += r
        cash -= D(q) * D(p)
    unrealised = (D(mark) - entry) * size
    # Average entries are rounded to 1e-12, so allow that much per unit traded.
    assert realised + unrealised == pytest.approx(cash + size * D(mark), abs=D("1e-8"))


def test_funding_is_paid_by_longs_when_the_rate_is_positive() -> None:
    assert funding_amount(D("2"), D("100"), D("0.0001")) == D("-0.0200")
    assert funding_amount(D("-2"), D("100"), D("0.0001")) == D("0.0200")
    assert funding_amount(D("2"), D("100"), D("-0.0001")) == D("0.0200")


def test_booked_fills_and_funding_evolve_the_position() -> None:
    env: Envelope = f.envelope()  # type: ignore[assignment]
    state = PositionState("paper", "sim", "BTCUSDT")
    oid = uuid.uuid4()
    e1 = book_fill(state, order_id=oid, exec_id="x1", side="buy", qty=D("2"), price=D("100"),
                   fee=D("0.1"), strategy="s", envelope=env)  # fmt: skip
    s1 = evolve_position(state, e1)
    e2 = book_fill(s1, order_id=oid, exec_id="x2", side="sell", qty=D("1"), price=D("120"),
                   fee=D("0.05"), strategy="s", envelope=env)  # fmt: skip
    s2 = evolve_position(s1, e2)
    assert (e2.realized_pnl, e2.size, e2.entry_price) == (D("20"), D("1"), D("100"))
    fund = FundingBooked(
        **env, account="paper", venue="sim", symbol="BTCUSDT", funding_ts=1, rate=D("0.001"),
        mark_price=D("110"), size=D("1"), amount=D("-0.11"),
    )  # fmt: skip
    s3 = evolve_position(s2, fund)
    assert (s3.size, s3.realized_pnl, s3.fees, s3.funding, s3.fills) == (
        D("1"), D("20"), D("0.15"), D("-0.11"), 2,
    )  # fmt: skip
    assert s3.net_pnl == D("20") - D("0.15") - D("0.11")
    assert s3.unrealized(D("130")) == D("30")
