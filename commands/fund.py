"""The Fund aggregate: settings, state, rounding helpers and ``evolve_fund`` (pure; quant.md §9).

The decisions live beside it: ``commands.fund_flows`` (join, deposits, withdrawals, payouts),
``commands.fund_fees`` (NAV strike, fee crystallisation, affiliate commissions) and
``commands.fund_returns`` (TWR / MWR).  The rounding rules are stated in ``events.fund``.

The fund's books, all ``Decimal`` and exact:

* ``equity = net_contributions + book_pnl``: money in (settled deposits) less money out
  (withdrawals paid, payouts), plus the trading book's cumulative PnL at the last strike;
* the claims on it: members (``units × nav_per_unit``), the manager (``fees_payable``),
  affiliates (``commissions_payable``) and the ``rounding`` account, which always add up to
  ``equity`` (see :func:`conservation_gap`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Context, Decimal

import msgspec

from events.fund import (
    CommissionAccrued,
    DepositRequested,
    DepositSettled,
    FeesCrystallised,
    FundCommandRejected,
    FundEvent,
    MemberJoined,
    NavStruck,
    PayoutMade,
    WithdrawalRequested,
    WithdrawalSettled,
)

ZERO = Decimal(0)
CENT = Decimal("0.01")
UNIT = Decimal("1e-8")
NAV_QUANTUM = Decimal("1e-8")
DAYS_PER_YEAR = Decimal(365)
FUND_CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN)
"""Decisions compute in this context: products like ``units × NAV`` (16 decimal places) stay
exact for any fund size, so only the explicit ``quantize`` calls ever round."""


class CommissionTier(msgspec.Struct, frozen=True, kw_only=True):
    """An affiliate earns ``rate`` of referred members' fees once the members it referred hold
    at least ``min_referred_aum`` between them."""

    min_referred_aum: Decimal
    rate: Decimal


class FundConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Fund settings (quant.md Appendix A: 20% performance fee over a per-lot HWM)."""

    initial_nav: Decimal = Decimal("10")
    performance_fee_rate: Decimal = Decimal("0.20")
    management_fee_rate: Decimal = Decimal("0.02")  # annual, pro-rated per day
    commission_tiers: tuple[CommissionTier, ...] = (
        CommissionTier(min_referred_aum=ZERO, rate=Decimal("0.10")),
        CommissionTier(min_referred_aum=Decimal("100000"), rate=Decimal("0.15")),
        CommissionTier(min_referred_aum=Decimal("1000000"), rate=Decimal("0.20")),
    )

    def __post_init__(self) -> None:
        if self.initial_nav <= 0:
            raise ValueError("initial_nav must be positive")
        if not (0 <= self.performance_fee_rate < 1 and 0 <= self.management_fee_rate < 1):
            raise ValueError("fee rates must be in [0, 1)")
        tiers = self.commission_tiers
        if not tiers or tiers[0].min_referred_aum != 0:
            raise ValueError("the first commission tier must start at 0")
        if any(b.min_referred_aum <= a.min_referred_aum for a, b in itertools.pairwise(tiers)):
            raise ValueError("commission tiers must be in increasing order")
        if any(not 0 <= t.rate <= 1 for t in tiers):
            raise ValueError("commission rates must be in [0, 1]")


@dataclass(frozen=True, slots=True)
class Member:
    """A member; ``fee_base_pending`` is the fees they paid that no commission has used yet."""

    member_id: str
    kyc_ref: str
    affiliate_id: str | None
    fees_paid: Decimal = ZERO
    fee_base_pending: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Lot:
    """Units from one settled deposit, with their own high-water mark (§9.4)."""

    lot_id: str
    member_id: str
    units: Decimal
    hwm: Decimal
    nav_in: Decimal


@dataclass(frozen=True, slots=True)
class PendingFlow:
    """A requested deposit (``amount``) or withdrawal (``amount`` or ``units``)."""

    member_id: str
    amount: Decimal | None = None
    units: Decimal | None = None


@dataclass(frozen=True, slots=True)
class FundState:
    """A fund after its events (mappings are never mutated: evolve builds new ones)."""

    fund_id: str
    nav_per_unit: Decimal
    nav_ts: int = 0
    members: Mapping[str, Member] = field(default_factory=dict)
    lots: Mapping[str, Lot] = field(default_factory=dict)  # in subscription order
    deposits: Mapping[str, PendingFlow] = field(default_factory=dict)
    withdrawals: Mapping[str, PendingFlow] = field(default_factory=dict)
    units_outstanding: Decimal = ZERO
    net_contributions: Decimal = ZERO
    book_pnl: Decimal = ZERO
    fees_payable: Decimal = ZERO
    commissions_payable: Mapping[str, Decimal] = field(default_factory=dict)
    rounding: Decimal = ZERO
    used_ids: frozenset[str] = frozenset()  # request, lot and payout ids already taken

    @property
    def equity(self) -> Decimal:
        """Fund equity: net money in plus the trading PnL at the last strike."""
        return self.net_contributions + self.book_pnl

    @property
    def member_equity(self) -> Decimal:
        """What the members' units are worth at the last NAV (exact, unrounded)."""
        return FUND_CONTEXT.multiply(self.units_outstanding, self.nav_per_unit)

    @property
    def total_commissions_payable(self) -> Decimal:
        return sum(self.commissions_payable.values(), ZERO)

    def member_lots(self, member_id: str) -> list[Lot]:
        """The member's lots holding units, oldest first."""
        return [lot for lot in self.lots.values() if lot.member_id == member_id and lot.units]

    def member_units(self, member_id: str) -> Decimal:
        return sum((lot.units for lot in self.member_lots(member_id)), ZERO)


def new_fund(fund_id: str, config: FundConfig) -> FundState:
    """An empty fund at the initial NAV per unit."""
    return FundState(fund_id=fund_id, nav_per_unit=config.initial_nav)


def conservation_gap(state: FundState) -> Decimal:
    """``equity − (members + fees + commissions + rounding)``: always exactly 0."""
    ctx = FUND_CONTEXT
    claims = ctx.add(ctx.add(state.member_equity, state.fees_payable), state.rounding)
    claims = ctx.add(claims, state.total_commissions_payable)
    return ctx.subtract(ctx.add(state.net_contributions, state.book_pnl), claims)


def is_cents(amount: Decimal) -> bool:
    """Whether ``amount`` is a whole number of cents."""
    return amount == amount.quantize(CENT)


def _charge(state: FundState, member_id: str, fee: Decimal) -> dict[str, Member]:
    m = state.members[member_id]
    charged = replace(m, fees_paid=m.fees_paid + fee, fee_base_pending=m.fee_base_pending + fee)
    return {**state.members, member_id: charged}


def _take_units(lots: dict[str, Lot], lot_id: str, units: Decimal, hwm: Decimal | None) -> None:
    lot = lots[lot_id]
    left = lot.units - units
    if left:
        lots[lot_id] = replace(lot, units=left, hwm=lot.hwm if hwm is None else hwm)
    else:
        del lots[lot_id]


def evolve_fund(state: FundState, event: FundEvent) -> FundState:
    """Apply one event (pure).

    Raises:
        KeyError: an event naming a member, lot or request the fund never had.
    """
    with_ctx = FUND_CONTEXT
    if isinstance(event, MemberJoined):
        member = Member(event.member_id, event.kyc_ref, event.affiliate_id)
        return replace(state, members={**state.members, event.member_id: member})
    if isinstance(event, DepositRequested):
        flow = PendingFlow(event.member_id, amount=event.amount)
        return replace(
            state,
            deposits={**state.deposits, event.deposit_id: flow},
            used_ids=state.used_ids | {event.deposit_id},
        )
    if isinstance(event, DepositSettled):
        lot = Lot(
            event.lot_id, event.member_id, event.units, event.nav_per_unit, event.nav_per_unit
        )
        return replace(
            state,
            deposits={k: v for k, v in state.deposits.items() if k != event.deposit_id},
            lots={**state.lots, event.lot_id: lot},
            units_outstanding=state.units_outstanding + event.units,
            net_contributions=state.net_contributions + event.amount,
            rounding=with_ctx.add(state.rounding, event.rounding),
            used_ids=state.used_ids | {event.lot_id},
        )
    if isinstance(event, WithdrawalRequested):
        flow = PendingFlow(event.member_id, amount=event.amount, units=event.units)
        return replace(
            state,
            withdrawals={**state.withdrawals, event.withdrawal_id: flow},
            used_ids=state.used_ids | {event.withdrawal_id},
        )
    if isinstance(event, WithdrawalSettled):
        lots = dict(state.lots)
        for r in event.lots:
            _take_units(lots, r.lot_id, r.units, None)
        return replace(
            state,
            withdrawals={k: v for k, v in state.withdrawals.items() if k != event.withdrawal_id},
            lots=lots,
            members=_charge(state, event.member_id, event.performance_fee),
            units_outstanding=state.units_outstanding - event.units_redeemed,
            net_contributions=state.net_contributions - event.amount_paid,
            fees_payable=state.fees_payable + event.performance_fee,
            rounding=with_ctx.add(state.rounding, event.rounding),
        )
    if isinstance(event, NavStruck):
        return replace(
            state,
            nav_per_unit=event.nav_per_unit,
            nav_ts=event.as_of,
            book_pnl=with_ctx.subtract(event.fund_equity, event.net_contributions),
            rounding=event.rounding_balance,
        )
    if isinstance(event, FeesCrystallised):
        lots = dict(state.lots)
        members = state.members
        for f in event.lots:
            _take_units(lots, f.lot_id, f.units_redeemed, f.hwm_after)
            members = _charge(
                replace(state, members=members), f.member_id, f.performance_fee + f.management_fee
            )
        return replace(
            state,
            lots=lots,
            members=members,
            units_outstanding=state.units_outstanding - event.units_redeemed,
            fees_payable=state.fees_payable + event.performance_fee + event.management_fee,
            rounding=with_ctx.add(state.rounding, event.rounding),
        )
    if isinstance(event, CommissionAccrued):
        m = state.members[event.member_id]
        owed = state.commissions_payable.get(event.affiliate_id, ZERO) + event.amount
        return replace(
            state,
            members={
                **state.members,
                m.member_id: replace(m, fee_base_pending=m.fee_base_pending - event.fee_base),
            },
            fees_payable=state.fees_payable - event.amount,
            commissions_payable={**state.commissions_payable, event.affiliate_id: owed},
        )
    if isinstance(event, PayoutMade):
        paid = replace(
            state,
            net_contributions=state.net_contributions - event.amount,
            used_ids=state.used_ids | {event.payout_id},
        )
        if event.payee == "manager":
            return replace(paid, fees_payable=state.fees_payable - event.amount)
        owed = state.commissions_payable[event.payee_id] - event.amount
        return replace(
            paid, commissions_payable={**state.commissions_payable, event.payee_id: owed}
        )
    if isinstance(event, FundCommandRejected) and event.ref_id is not None:
        # A settlement refused ends its request.
        if event.command == "deposit":
            deposits = {k: v for k, v in state.deposits.items() if k != event.ref_id}
            return replace(state, deposits=deposits)
        if event.command == "withdraw":
            withdrawals = {k: v for k, v in state.withdrawals.items() if k != event.ref_id}
            return replace(state, withdrawals=withdrawals)
    return state


def fold_fund(state: FundState, events: list[FundEvent]) -> FundState:
    """Apply events in order."""
    for event in events:
        state = evolve_fund(state, event)
    return state
