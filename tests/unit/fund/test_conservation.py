"""Every cent accounted for: members + fees + commissions + rounding = fund equity, exactly,
after every event of random histories (hypothesis) and of a simulated year of 20 members."""

from __future__ import annotations

import random
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from commands.fund import CENT, FundConfig
from commands.fund_fees import (
    BookValuation,
    decide_commissions,
    decide_crystallise,
    decide_strike_nav,
)
from commands.fund_flows import (
    decide_deposit,
    decide_join,
    decide_payout,
    decide_request_deposit,
    decide_request_withdrawal,
    decide_withdraw,
)
from events.fund import CommissionAccrued, NavStruck
from tests.unit.fund._driver import Driver

CONFIG = FundConfig()
AFFILIATES = (None, "aff-1", "aff-2")


class Sim:
    """Drives a fund from small integer choices (shared by the property and the year)."""

    def __init__(self) -> None:
        self.fund = Driver(CONFIG)
        self.n = 0

    def ref(self) -> str:
        self.n += 1
        return f"r{self.n}"

    def join(self, member: int, affiliate: int) -> None:
        f = self.fund
        f.apply(
            decide_join(
                f.state, member_id=f"m{member}", kyc_ref=f"kyc-{member}",
                affiliate_id=AFFILIATES[affiliate % 3], envelope=f.env(),
            )
        )  # fmt: skip

    def deposit(self, member: int, cents: int) -> None:
        f, ref = self.fund, self.ref()
        f.apply(
            decide_request_deposit(
                f.state, deposit_id=ref, member_id=f"m{member}", amount=D(cents) * CENT,
                envelope=f.env(),
            )
        )  # fmt: skip
        f.apply(decide_deposit(f.state, deposit_id=ref, envelope=f.env()))

    def withdraw(self, member: int, percent: int, by_amount: bool) -> None:
        f, ref = self.fund, self.ref()
        held = f.state.member_units(f"m{member}")
        units = (held * percent / 100).quantize(D("1e-8"))
        amount = (units * f.state.nav_per_unit).quantize(CENT) if by_amount else None
        f.apply(
            decide_request_withdrawal(
                f.state, withdrawal_id=ref, member_id=f"m{member}", envelope=f.env(),
                amount=amount, units=None if by_amount else units,
            )
        )  # fmt: skip
        f.apply(decide_withdraw(f.state, CONFIG, withdrawal_id=ref, envelope=f.env()))

    def move(self, percent: D) -> None:
        """The book gains or loses ``percent`` of the members' net assets, then NAV is struck."""
        f = self.fund
        base = f.state.equity - f.state.fees_payable - f.state.total_commissions_payable
        f.pnl += (base * percent / 100).quantize(D("0.000001"))
        book = BookValuation(realised_pnl=f.pnl, unrealised_pnl=D(0))
        [struck] = f.apply(decide_strike_nav(f.state, book, as_of=0, envelope=f.env()))
        assert isinstance(struck, NavStruck)
        assert abs(struck.rounding_balance) <= struck.units_outstanding * D("0.5e-8") or not (
            struck.units_outstanding
        )

    def crystallise(self, days: int) -> None:
        f = self.fund
        f.apply(decide_crystallise(f.state, CONFIG, period_end=0, days=D(days), envelope=f.env()))

    def commissions_and_payouts(self) -> None:
        f = self.fund
        f.apply(decide_commissions(f.state, CONFIG, envelope=f.env()))
        for aff, owed in list(f.state.commissions_payable.items()):
            if owed:
                f.apply(
                    decide_payout(
                        f.state, payout_id=self.ref(), payee="affiliate", payee_id=aff,
                        amount=owed, envelope=f.env(),
                    )
                )  # fmt: skip
        if f.state.fees_payable:
            f.apply(
                decide_payout(
                    f.state, payout_id=self.ref(), payee="manager", payee_id="mgr",
                    amount=f.state.fees_payable, envelope=f.env(),
                )
            )  # fmt: skip
        assert f.state.fees_payable == 0


OPS = st.one_of(
    st.tuples(st.just("join"), st.integers(0, 5), st.integers(0, 2)),
    st.tuples(st.just("deposit"), st.integers(0, 5), st.integers(1, 10_000_000)),
    st.tuples(st.just("withdraw"), st.integers(0, 5), st.integers(1, 100), st.booleans()),
    st.tuples(st.just("move"), st.integers(-40, 60)),
    st.tuples(st.just("crystallise"), st.integers(0, 366)),
    st.tuples(
        st.just("commissions"),
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(OPS, max_size=40))
def test_conservation_over_random_histories(ops: list[tuple[object, ...]]) -> None:
    sim = Sim()
    for op in ops:
        name, args = op[0], op[1:]
        if name == "join":
            sim.join(*args)  # type: ignore[arg-type]
        elif name == "deposit":
            sim.deposit(*args)  # type: ignore[arg-type]
        elif name == "withdraw":
            sim.withdraw(*args)  # type: ignore[arg-type]
        elif name == "move":
            sim.move(D(args[0]))  # type: ignore[arg-type]
        elif name == "crystallise":
            sim.crystallise(*args)  # type: ignore[arg-type]
        else:
            sim.commissions_and_payouts()
    sim.fund.check()


def test_simulated_year_with_20_members() -> None:
    """Daily NAV moves and flows, monthly fees, commissions and payouts; checked every event."""
    rng = random.Random(20240909)
    sim = Sim()
    for m in range(20):
        sim.join(m, rng.randrange(3))
        sim.deposit(m, rng.randrange(100_000, 10_000_000))
    for day in range(1, 366):
        sim.move(D(str(round(rng.gauss(0.05, 1.5), 4))))
        for _ in range(rng.randrange(3)):
            member = rng.randrange(20)
            if rng.random() < 0.5:
                sim.deposit(member, rng.randrange(1_000, 5_000_000))
            else:
                sim.withdraw(member, rng.randrange(1, 60), rng.random() < 0.5)
        if day % 30 == 0:
            sim.crystallise(30)
            sim.commissions_and_payouts()
    state, events = sim.fund.state, sim.fund.events
    assert len(state.members) == 20
    assert sum(isinstance(e, CommissionAccrued) and e.amount > 0 for e in events) > 10
    assert sum(m.fees_paid for m in state.members.values()) > 0
    assert abs(state.rounding) < D("0.01")
    sim.fund.check()
