"""Fund decisions: rejections, withdrawal fees per lot, management fee, commissions, payouts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal as D

import pytest

from commands.fund import CommissionTier, FundConfig
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
from events.fund import CommissionAccrued, FeesCrystallised, FundCommandRejected, WithdrawalSettled
from tests.unit.fund._driver import Driver

CONFIG = FundConfig(
    management_fee_rate=D("0.0365"),
    commission_tiers=(
        CommissionTier(min_referred_aum=D(0), rate=D("0.10")),
        CommissionTier(min_referred_aum=D(1000), rate=D("0.25")),
    ),
)


def a_fund(deposit: D = D(1000)) -> Driver:
    """Alice (referred by aff-1) holds one lot of ``deposit`` at NAV 10."""
    fund = Driver(CONFIG)
    fund.apply(
        decide_join(
            fund.state, member_id="alice", kyc_ref="kyc-a", affiliate_id="aff-1",
            envelope=fund.env(),
        )
    )  # fmt: skip
    fund.apply(
        decide_request_deposit(
            fund.state, deposit_id="d1", member_id="alice", amount=deposit, envelope=fund.env()
        )
    )
    fund.apply(decide_deposit(fund.state, deposit_id="d1", envelope=fund.env()))
    return fund


def strike(fund: Driver, pnl: D) -> None:
    book = BookValuation(realised_pnl=pnl, unrealised_pnl=D(0))
    fund.apply(decide_strike_nav(fund.state, book, as_of=1, envelope=fund.env()))


def reason(events: Sequence[object]) -> str:
    [event] = events
    assert isinstance(event, FundCommandRejected)
    return event.reason


def test_join_rejections() -> None:
    fund = a_fund()
    env = fund.env()
    again = decide_join(fund.state, member_id="alice", kyc_ref="k", affiliate_id=None, envelope=env)
    assert reason(again) == "already_member"
    selfref = decide_join(
        fund.state, member_id="bob", kyc_ref="k", affiliate_id="bob", envelope=env
    )
    assert reason(selfref) == "self_referral"
    no_kyc = decide_join(fund.state, member_id="bob", kyc_ref="", affiliate_id=None, envelope=env)
    assert reason(no_kyc) == "missing_kyc"


@pytest.mark.parametrize(
    ("member", "deposit_id", "amount", "why"),
    [
        ("zoe", "d9", D(10), "unknown_member"),
        ("alice", "d1", D(10), "duplicate_id"),
        ("alice", "d9", D(0), "non_positive_amount"),
        ("alice", "d9", D("10.001"), "amount_not_in_cents"),
    ],
)
def test_deposit_request_rejections(member: str, deposit_id: str, amount: D, why: str) -> None:
    fund = a_fund()
    events = decide_request_deposit(
        fund.state, deposit_id=deposit_id, member_id=member, amount=amount, envelope=fund.env()
    )
    assert reason(events) == why


def test_settling_an_unknown_deposit_is_refused() -> None:
    fund = a_fund()
    assert reason(decide_deposit(fund.state, deposit_id="nope", envelope=fund.env())) == (
        "unknown_deposit"
    )


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        ({"member_id": "zoe", "units": D(1)}, "unknown_member"),
        ({"member_id": "alice", "units": D(101)}, "insufficient_units"),
        ({"member_id": "alice", "amount": D("1000.01")}, "insufficient_units"),
        ({"member_id": "alice", "amount": D(1), "units": D(1)}, "amount_or_units"),
        ({"member_id": "alice"}, "amount_or_units"),
        ({"member_id": "alice", "units": D(-1)}, "non_positive_amount"),
    ],
)
def test_withdrawal_request_rejections(kw: dict[str, object], why: str) -> None:
    fund = a_fund()
    events = decide_request_withdrawal(
        fund.state,
        withdrawal_id="w1",
        envelope=fund.env(),
        **kw,  # type: ignore[arg-type]
    )
    assert reason(events) == why


def test_withdrawing_more_than_held_at_settlement_is_refused_and_ends_the_request() -> None:
    fund = a_fund()
    for wid in ("w1", "w2"):
        fund.apply(
            decide_request_withdrawal(
                fund.state, withdrawal_id=wid, member_id="alice", units=D(60), envelope=fund.env()
            )
        )
    fund.apply(decide_withdraw(fund.state, CONFIG, withdrawal_id="w1", envelope=fund.env()))
    refused = fund.apply(
        decide_withdraw(fund.state, CONFIG, withdrawal_id="w2", envelope=fund.env())
    )
    assert reason(refused) == "insufficient_units"
    assert "w2" not in fund.state.withdrawals
    assert fund.state.member_units("alice") == D(40)


def test_withdrawal_crystallises_fees_on_redeemed_units_only_oldest_lot_first() -> None:
    fund = a_fund()  # lot d1: 100 units, HWM 10
    strike(fund, D(1000))  # NAV 20
    fund.apply(
        decide_request_deposit(
            fund.state, deposit_id="d2", member_id="alice", amount=D(200), envelope=fund.env()
        )
    )
    fund.apply(decide_deposit(fund.state, deposit_id="d2", envelope=fund.env()))  # 10 @ HWM 20
    fund.apply(
        decide_request_withdrawal(
            fund.state, withdrawal_id="w1", member_id="alice", units=D(105), envelope=fund.env()
        )
    )
    [e] = fund.apply(decide_withdraw(fund.state, CONFIG, withdrawal_id="w1", envelope=fund.env()))
    assert isinstance(e, WithdrawalSettled)
    first, second = e.lots
    assert (first.lot_id, first.units, first.performance_fee, first.fee_units) == (
        "d1", D(100), D(200), D(10)
    )  # fmt: skip
    assert (second.lot_id, second.units, second.performance_fee) == ("d2", D(5), D(0))
    assert e.amount_paid == D(1900)  # (105 − 10) × 20
    [left] = fund.state.lots.values()
    assert (left.lot_id, left.units, left.hwm) == ("d2", D(5), D(20))
    assert fund.state.fees_payable == D(200)


def test_management_fee_is_pro_rated_per_day_and_paid_in_units() -> None:
    fund = a_fund()  # 1,000 at NAV 10; 3.65% a year = 0.01% a day
    [e] = fund.apply(
        decide_crystallise(fund.state, CONFIG, period_end=1, days=D(30), envelope=fund.env())
    )
    assert isinstance(e, FeesCrystallised)
    [lot] = e.lots
    assert (lot.management_fee, lot.performance_fee, lot.units_redeemed) == (D(3), D(0), D("0.3"))
    assert lot.hwm_after == D(10)
    assert fund.state.member_units("alice") == D("99.7")


def test_commission_uses_the_tier_of_the_referred_aum_and_blocks_early_manager_payouts() -> None:
    fund = a_fund(D(2000))  # referred AUM reaches the 25% tier
    strike(fund, D(200))  # NAV 11: fee 0.2 × 1 × 200 = 40
    fund.apply(decide_crystallise(fund.state, CONFIG, period_end=1, days=D(0), envelope=fund.env()))
    assert fund.state.fees_payable == D(40)
    early = decide_payout(
        fund.state,
        payout_id="p0",
        payee="manager",
        payee_id="mgr",
        amount=D(1),
        envelope=fund.env(),
    )
    assert reason(early) == "commissions_pending"
    [c] = fund.apply(decide_commissions(fund.state, CONFIG, envelope=fund.env()))
    assert isinstance(c, CommissionAccrued)
    assert (c.affiliate_id, c.fee_base, c.tier, c.rate, c.amount) == (
        "aff-1", D(40), 1, D("0.25"), D(10)
    )  # fmt: skip
    assert fund.state.fees_payable == D(30)
    assert decide_commissions(fund.state, CONFIG, envelope=fund.env()) == []
    too_much = decide_payout(
        fund.state, payout_id="p1", payee="affiliate", payee_id="aff-1", amount=D(11),
        envelope=fund.env(),
    )  # fmt: skip
    assert reason(too_much) == "exceeds_payable"
    fund.apply(
        decide_payout(
            fund.state, payout_id="p1", payee="affiliate", payee_id="aff-1", amount=D(10),
            envelope=fund.env(),
        )
    )  # fmt: skip
    fund.apply(
        decide_payout(
            fund.state, payout_id="p2", payee="manager", payee_id="mgr", amount=D(30),
            envelope=fund.env(),
        )
    )  # fmt: skip
    assert (fund.state.fees_payable, fund.state.commissions_payable) == (D(0), {"aff-1": D(0)})


def test_strike_leaving_members_nothing_is_refused() -> None:
    fund = a_fund()
    book = BookValuation(realised_pnl=D(-1000), unrealised_pnl=D(0))
    assert reason(decide_strike_nav(fund.state, book, as_of=1, envelope=fund.env())) == (
        "non_positive_nav"
    )


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="fee rates"):
        FundConfig(performance_fee_rate=D(1))
    with pytest.raises(ValueError, match="start at 0"):
        FundConfig(commission_tiers=(CommissionTier(min_referred_aum=D(1), rate=D("0.1")),))
