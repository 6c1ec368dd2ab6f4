"""quant.md TV-9b: two members, three cash flows, per-lot HWM fee at 20%, TWR/MWR/Dietz."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from commands.fund import FUND_CONTEXT, FundConfig
from commands.fund_fees import BookValuation, decide_crystallise, decide_strike_nav
from commands.fund_flows import (
    decide_deposit,
    decide_join,
    decide_request_deposit,
    decide_request_withdrawal,
    decide_withdraw,
)
from commands.fund_returns import irr, modified_dietz, twr
from events.fund import FeesCrystallised, LotRedemption, NavStruck, WithdrawalSettled
from tests.unit.fund._driver import Driver, value

SIX = D("0.000001")
CONFIG = FundConfig(performance_fee_rate=D("0.20"), management_fee_rate=D(0))


def strike(fund: Driver, pnl: D, day: int) -> None:
    book = BookValuation(realised_pnl=pnl, unrealised_pnl=D(0))
    fund.apply(decide_strike_nav(fund.state, book, as_of=day, envelope=fund.env(day)))


def deposit(fund: Driver, member: str, amount: D, ref: str, day: int) -> None:
    s = fund.state
    fund.apply(
        decide_request_deposit(
            s, deposit_id=ref, member_id=member, amount=amount, envelope=fund.env(day)
        )
    )
    fund.apply(decide_deposit(fund.state, deposit_id=ref, envelope=fund.env(day)))


def tv9b() -> tuple[Driver, WithdrawalSettled]:
    """Days 0-3 of the table (PnL chosen so that the pre-flow AUM matches each row)."""
    fund = Driver(CONFIG)
    for member in ("alice", "bob"):
        fund.apply(
            decide_join(
                fund.state, member_id=member, kyc_ref=f"kyc-{member}", affiliate_id=None,
                envelope=fund.env(),
            )
        )  # fmt: skip
    strike(fund, D(0), 0)  # no units yet: NAV stays at the initial 10.00
    deposit(fund, "alice", D(1000), "a-0", 0)
    strike(fund, D(100), 1)  # AUM 1,100 → NAV 11.00
    deposit(fund, "bob", D(550), "b-1", 1)
    strike(fund, D(-50), 2)  # AUM 1,500 → NAV 10.00
    fund.apply(
        decide_request_withdrawal(
            fund.state, withdrawal_id="a-2", member_id="alice", amount=D(300), envelope=fund.env(2)
        )
    )
    [settled] = fund.apply(
        decide_withdraw(fund.state, CONFIG, withdrawal_id="a-2", envelope=fund.env(2))
    )
    assert isinstance(settled, WithdrawalSettled)
    strike(fund, D(70), 3)  # AUM 1,320 → NAV 11.00
    return fund, settled


def test_units_and_aum_follow_the_table() -> None:
    fund, _ = tv9b()
    navs = [e.nav_per_unit for e in fund.events if isinstance(e, NavStruck)]
    assert navs == [D(10), D(11), D(10), D(11)]
    s = fund.state
    assert (s.member_units("alice"), s.member_units("bob")) == (D(70), D(50))
    assert s.units_outstanding == D(120)
    assert value(s.units_outstanding, s.nav_per_unit) == D(1320)
    assert value(s.member_units("alice"), s.nav_per_unit) == D(770)
    assert value(s.member_units("bob"), s.nav_per_unit) == D(550)
    assert s.rounding == 0


def test_withdrawal_at_the_hwm_pays_no_fee() -> None:
    _, settled = tv9b()
    assert settled.lots == (
        LotRedemption(lot_id="a-0", units=D(30), hwm=D(10), performance_fee=D(0), fee_units=D(0)),
    )
    assert (settled.amount_paid, settled.nav_per_unit, settled.rounding) == (D(300), D(10), D(0))


def test_day3_crystallisation_charges_alice_14_and_bob_nothing() -> None:
    fund, _ = tv9b()
    for_alice, for_bob = fund.apply(
        decide_crystallise(fund.state, CONFIG, period_end=3, days=D(1), envelope=fund.env(3))
    )
    assert isinstance(for_alice, FeesCrystallised)
    assert isinstance(for_bob, FeesCrystallised)
    # one event per member: a member's export proves its own fees and nobody else's
    [alice], [bob] = for_alice.lots, for_bob.lots
    assert (alice.member_id, alice.performance_fee, alice.hwm_after) == ("alice", D("14.00"), D(11))
    assert alice.units_redeemed == D("1.27272727")  # 14 / 11 to 8 dp
    assert alice.units_redeemed.quantize(SIX) == D("1.272727")
    assert (bob.member_id, bob.performance_fee, bob.units_redeemed) == ("bob", D(0), D(0))
    assert bob.hwm_after == D(11)

    s = fund.state
    alice_units = s.member_units("alice")
    assert alice_units.quantize(SIX) == D("68.727273")
    assert value(alice_units, s.nav_per_unit) == D("756.00")
    assert [lot.hwm for lot in s.lots.values()] == [D(11), D(11)]
    assert s.units_outstanding.quantize(SIX) == D("118.727273")
    assert value(s.units_outstanding, s.nav_per_unit) == D(1306)
    assert s.fees_payable == D("14.00")
    assert s.rounding == D("-0.00000003")  # 1.27272727 × 11 − 14, kept in the books

    strike(fund, D(70), 3)  # re-striking on the same book: NAV per unit still 11.00
    assert fund.state.nav_per_unit == D("11.00000000")


def test_single_fund_hwm_would_overcharge() -> None:
    """The contrast in TV-9b: one fund-level HWM of 10 charges 24, Bob 10 of it."""
    assert D("0.2") * (D(11) - D(10)) * D(120) == D(24)
    assert D("0.2") * (D(11) - D(10)) * D(50) == D(10)


def test_twr_of_the_fund_and_of_bob() -> None:
    assert twr(D(10), D(11)) == D("0.1")
    assert twr(D(11), D(11)) == 0


def test_mwr_irrs_per_day() -> None:
    alice = [(0.0, -1000.0), (2.0, 300.0), (3.0, 770.0)]
    bob = [(1.0, -550.0), (3.0, 550.0)]
    fund = [(0.0, -1000.0), (1.0, -550.0), (2.0, 300.0), (3.0, 1320.0)]
    assert irr(alice) == pytest.approx(0.025213626, abs=5e-10)
    assert irr(bob) == pytest.approx(0.0, abs=1e-11)
    assert irr(fund) == pytest.approx(0.018112993, abs=5e-10)
    assert irr(fund) < 0.1 / 3  # MWR below TWR: Bob bought the peak, Alice sold the trough


def test_modified_dietz_is_21_over_380() -> None:
    flows = [(D(0), D(1000)), (D(1), D(550)), (D(2), D(-300))]
    r = modified_dietz(D(0), D(1320), flows, D(3))
    assert r == FUND_CONTEXT.divide(D(21), D(380))  # exact to the context's 60 digits
    assert round(r, 9) == D("0.055263158")


def test_irr_without_a_sign_change_is_refused() -> None:
    with pytest.raises(ValueError, match="no sign change"):
        irr([(0.0, -100.0), (1.0, -5.0)])
