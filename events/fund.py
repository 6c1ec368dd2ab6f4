"""Fund accounting events (stream ``FUND``, one aggregate per fund id; quant.md §9).

Members join (with a KYC reference and the affiliate who referred them), deposit and withdraw
(requested → settled at a struck NAV per unit), hold **lots** (one per settled deposit, each
with its own high-water mark), pay management and performance fees by redeeming units, and
their fees earn their affiliate a commission.  Payouts send fees to the manager and
commissions to affiliates.

Rounding rules (applied by ``commands.fund*``, recorded in the events):

* **Money** (amounts, fees, commissions, payouts) is in cents (``0.01``): deposits and payouts
  must be whole cents; fees round ``ROUND_HALF_EVEN``; commissions and withdrawal payments
  round ``ROUND_DOWN`` (the fund never pays out a fraction it does not have).
* **Units** have 6 decimal places: issued ``ROUND_DOWN``; redeemed for an amount withdrawal
  ``ROUND_UP``; redeemed to pay a fee ``ROUND_HALF_EVEN``.
* **NAV per unit** has 8 decimal places, ``ROUND_HALF_EVEN``.
* Every residue between the value of units moved (``units × NAV``) and the money moved goes to
  the fund's signed **rounding account** (each event's ``rounding`` field).  A NAV strike gives
  that account back to the members through the NAV and leaves in it only the new strike's
  residue (``rounding_balance``).  So, exactly, at all times::

      Σ units × NAV + fees payable + commissions payable + rounding = fund equity
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from events.base import Event

FundCommand = Literal[
    "join", "request_deposit", "deposit", "request_withdrawal", "withdraw", "strike", "payout"
]


class MemberJoined(Event, frozen=True, kw_only=True, tag="fund.member_joined.v1"):
    """A member was admitted (KYC checked outside Helix; ``kyc_ref`` points to it)."""

    fund_id: str
    member_id: str
    kyc_ref: str
    affiliate_id: str | None = None


class DepositRequested(Event, frozen=True, kw_only=True, tag="fund.deposit_requested.v1"):
    """A member asked to subscribe ``amount``; units are issued when it settles."""

    fund_id: str
    deposit_id: str
    member_id: str
    amount: Decimal


class DepositSettled(Event, frozen=True, kw_only=True, tag="fund.deposit_settled.v1"):
    """The money arrived: ``units = amount / nav_per_unit`` (rounded down) in a new lot whose
    high-water mark starts at ``nav_per_unit``; ``rounding = amount − units × nav``."""

    fund_id: str
    deposit_id: str
    member_id: str
    lot_id: str
    amount: Decimal
    nav_per_unit: Decimal
    nav_ts: int
    units: Decimal
    rounding: Decimal


class WithdrawalRequested(Event, frozen=True, kw_only=True, tag="fund.withdrawal_requested.v1"):
    """A member asked to redeem either ``amount`` (gross value) or ``units``."""

    fund_id: str
    withdrawal_id: str
    member_id: str
    amount: Decimal | None = None
    units: Decimal | None = None


class LotRedemption(msgspec.Struct, frozen=True, kw_only=True):
    """Units taken from one lot by a withdrawal, with the performance fee crystallised on them
    (paid by ``fee_units`` of the redeemed units) and the lot's HWM used."""

    lot_id: str
    units: Decimal
    hwm: Decimal
    performance_fee: Decimal
    fee_units: Decimal


class WithdrawalSettled(Event, frozen=True, kw_only=True, tag="fund.withdrawal_settled.v1"):
    """Units redeemed (oldest lots first) at ``nav_per_unit``; the fee on them is crystallised
    first (§9.4), and the member is paid ``(units_redeemed − fee_units) × nav`` rounded down."""

    fund_id: str
    withdrawal_id: str
    member_id: str
    nav_per_unit: Decimal
    nav_ts: int
    lots: tuple[LotRedemption, ...]
    units_redeemed: Decimal
    performance_fee: Decimal
    fee_units: Decimal
    amount_paid: Decimal
    rounding: Decimal


class NavStruck(Event, frozen=True, kw_only=True, tag="fund.nav_struck.v1"):
    """The fund valued (daily or on demand), with the inputs that justify the figure.

    ``fund_equity = net_contributions + realised_pnl − trading_fees + funding + unrealised_pnl``
    (the PnL figures are cumulative, from the trading book); ``net_assets = fund_equity −
    fees_payable − commissions_payable`` belongs to the members; ``nav_per_unit = net_assets /
    units_outstanding`` (unchanged when no units are out) and ``rounding_balance = net_assets −
    units_outstanding × nav_per_unit``.
    """

    fund_id: str
    as_of: int
    net_contributions: Decimal
    realised_pnl: Decimal
    unrealised_pnl: Decimal
    trading_fees: Decimal
    funding: Decimal
    fund_equity: Decimal
    fees_payable: Decimal
    commissions_payable: Decimal
    net_assets: Decimal
    units_outstanding: Decimal
    nav_per_unit: Decimal
    rounding_balance: Decimal


class LotFee(msgspec.Struct, frozen=True, kw_only=True):
    """Fees one lot paid at a crystallisation, by redeeming ``units_redeemed`` units."""

    lot_id: str
    member_id: str
    units_before: Decimal
    hwm_before: Decimal
    hwm_after: Decimal
    performance_fee: Decimal
    management_fee: Decimal
    units_redeemed: Decimal


class FeesCrystallised(Event, frozen=True, kw_only=True, tag="fund.fees_crystallised.v1"):
    """Period-end fees: per lot, ``rate · max(0, NAV − HWM) · units`` (performance) plus
    ``annual rate · days / 365 · units · NAV`` (management), paid by redeeming fee/NAV units."""

    fund_id: str
    period_end: int
    nav_per_unit: Decimal
    days: Decimal
    lots: tuple[LotFee, ...]
    performance_fee: Decimal
    management_fee: Decimal
    units_redeemed: Decimal
    rounding: Decimal


class CommissionAccrued(Event, frozen=True, kw_only=True, tag="fund.commission_accrued.v1"):
    """An affiliate's share of the fees a referred member paid (moved from the manager's fees
    payable to the affiliate's commission payable)."""

    fund_id: str
    affiliate_id: str
    member_id: str
    fee_base: Decimal
    tier: int
    rate: Decimal
    amount: Decimal


class PayoutMade(Event, frozen=True, kw_only=True, tag="fund.payout_made.v1"):
    """Money paid out of the fund to the manager (fees) or an affiliate (commissions)."""

    fund_id: str
    payout_id: str
    payee: Literal["manager", "affiliate"]
    payee_id: str
    amount: Decimal


class FundCommandRejected(Event, frozen=True, kw_only=True, tag="fund.command_rejected.v1"):
    """A fund command refused for a business reason (unknown member, more than held, ...)."""

    fund_id: str
    command: FundCommand
    reason: str
    member_id: str | None = None
    ref_id: str | None = None


FundEvent = (
    MemberJoined
    | DepositRequested
    | DepositSettled
    | WithdrawalRequested
    | WithdrawalSettled
    | NavStruck
    | FeesCrystallised
    | CommissionAccrued
    | PayoutMade
    | FundCommandRejected
)
FUND_EVENT_TYPES: tuple[type[Event], ...] = (
    MemberJoined,
    DepositRequested,
    DepositSettled,
    WithdrawalRequested,
    WithdrawalSettled,
    NavStruck,
    FeesCrystallised,
    CommissionAccrued,
    PayoutMade,
    FundCommandRejected,
)
