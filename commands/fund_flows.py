"""Fund decisions about members and money: join, deposit, withdraw, pay out (pure).

Deposits and withdrawals settle at the NAV per unit of the fund's last strike (strike first,
then settle: §9.2 values the fund *before* the flows).  A withdrawal crystallises the
performance fee of the units it redeems before paying (§9.4), oldest lots first.  Business
refusals are ``FundCommandRejected`` events; every decision returns a list of events.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal
from typing import Literal

from commands.fund import CENT, FUND_CONTEXT, UNIT, ZERO, FundConfig, FundState, is_cents
from events.base import Envelope
from events.fund import (
    DepositRequested,
    DepositSettled,
    FundCommand,
    FundCommandRejected,
    FundEvent,
    LotRedemption,
    MemberJoined,
    PayoutMade,
    WithdrawalRequested,
    WithdrawalSettled,
)


def reject(
    state: FundState,
    command: FundCommand,
    reason: str,
    *,
    envelope: Envelope,
    member_id: str | None = None,
    ref_id: str | None = None,
) -> list[FundEvent]:
    """The one-event answer to a refused command."""
    return [
        FundCommandRejected(
            **envelope,
            fund_id=state.fund_id,
            command=command,
            reason=reason,
            member_id=member_id,
            ref_id=ref_id,
        )
    ]


def decide_join(
    state: FundState,
    *,
    member_id: str,
    kyc_ref: str,
    affiliate_id: str | None,
    envelope: Envelope,
) -> list[FundEvent]:
    """Admit a member (idempotent refusal if already one)."""
    if member_id in state.members:
        return reject(state, "join", "already_member", envelope=envelope, member_id=member_id)
    if not kyc_ref:
        return reject(state, "join", "missing_kyc", envelope=envelope, member_id=member_id)
    if affiliate_id == member_id:
        return reject(state, "join", "self_referral", envelope=envelope, member_id=member_id)
    event = MemberJoined(
        **envelope,
        fund_id=state.fund_id,
        member_id=member_id,
        kyc_ref=kyc_ref,
        affiliate_id=affiliate_id,
    )
    return [event]


def decide_request_deposit(
    state: FundState, *, deposit_id: str, member_id: str, amount: Decimal, envelope: Envelope
) -> list[FundEvent]:
    """Record a member's subscription request (whole cents, positive)."""
    why = (
        "unknown_member"
        if member_id not in state.members
        else "duplicate_id"
        if deposit_id in state.used_ids
        else "non_positive_amount"
        if amount <= 0
        else "amount_not_in_cents"
        if not is_cents(amount)
        else ""
    )
    if why:
        kw = {"member_id": member_id, "ref_id": deposit_id}
        return reject(state, "request_deposit", why, envelope=envelope, **kw)
    event = DepositRequested(
        **envelope, fund_id=state.fund_id, deposit_id=deposit_id, member_id=member_id, amount=amount
    )
    return [event]


def decide_deposit(
    state: FundState, *, deposit_id: str, lot_id: str | None = None, envelope: Envelope
) -> list[FundEvent]:
    """Settle a requested deposit at the last struck NAV: a new lot, HWM = that NAV.

    Args:
        state: the fund.
        deposit_id: the request to settle.
        lot_id: the new lot's id (default: the deposit id).
        envelope: the event envelope.
    """
    lot = lot_id or deposit_id
    flow = state.deposits.get(deposit_id)
    if flow is None or flow.amount is None:
        return reject(state, "deposit", "unknown_deposit", envelope=envelope, ref_id=deposit_id)
    nav = state.nav_per_unit
    units = (flow.amount / nav).quantize(UNIT, ROUND_DOWN)
    why = "duplicate_lot" if lot != deposit_id and lot in state.used_ids else ""
    why = why or ("units_round_to_zero" if units <= 0 else "")
    if why:
        kw = {"member_id": flow.member_id, "ref_id": deposit_id}
        return reject(state, "deposit", why, envelope=envelope, **kw)
    event = DepositSettled(
        **envelope,
        fund_id=state.fund_id,
        deposit_id=deposit_id,
        member_id=flow.member_id,
        lot_id=lot,
        amount=flow.amount,
        nav_per_unit=nav,
        nav_ts=state.nav_ts,
        units=units,
        rounding=FUND_CONTEXT.subtract(flow.amount, FUND_CONTEXT.multiply(units, nav)),
    )
    return [event]


def decide_request_withdrawal(
    state: FundState,
    *,
    withdrawal_id: str,
    member_id: str,
    amount: Decimal | None = None,
    units: Decimal | None = None,
    envelope: Envelope,
) -> list[FundEvent]:
    """Record a redemption request: ``amount`` (gross value, cents) or ``units``, not both."""
    held = state.member_units(member_id)
    asked = units if amount is None else (amount / state.nav_per_unit).quantize(UNIT, ROUND_UP)
    why = (
        "unknown_member"
        if member_id not in state.members
        else "duplicate_id"
        if withdrawal_id in state.used_ids
        else "amount_or_units"
        if (amount is None) == (units is None)
        else "non_positive_amount"
        if asked is None or asked <= 0
        else "amount_not_in_cents"
        if amount is not None and not is_cents(amount)
        else "insufficient_units"
        if asked > held
        else ""
    )
    if why:
        kw = {"member_id": member_id, "ref_id": withdrawal_id}
        return reject(state, "request_withdrawal", why, envelope=envelope, **kw)
    event = WithdrawalRequested(
        **envelope,
        fund_id=state.fund_id,
        withdrawal_id=withdrawal_id,
        member_id=member_id,
        amount=amount,
        units=units,
    )
    return [event]


def decide_withdraw(
    state: FundState, config: FundConfig, *, withdrawal_id: str, envelope: Envelope
) -> list[FundEvent]:
    """Settle a requested withdrawal at the last struck NAV (§9.2, §9.4).

    Units are taken from the member's oldest lots first; on each lot's redeemed units the
    performance fee ``rate · max(0, NAV − HWM) · units`` is crystallised and paid by
    ``fee/NAV`` of those units; the member is paid the value of the rest, rounded down to cents.
    The remaining units of a lot keep their HWM.
    """
    flow = state.withdrawals.get(withdrawal_id)
    if flow is None:
        return reject(
            state, "withdraw", "unknown_withdrawal", envelope=envelope, ref_id=withdrawal_id
        )
    nav = state.nav_per_unit
    want = flow.units
    if want is None:
        want = (Decimal(flow.amount or 0) / nav).quantize(UNIT, ROUND_UP)
    if want > state.member_units(flow.member_id):
        kw = {"member_id": flow.member_id, "ref_id": withdrawal_id}
        return reject(state, "withdraw", "insufficient_units", envelope=envelope, **kw)
    ctx, rate = FUND_CONTEXT, config.performance_fee_rate
    redemptions: list[LotRedemption] = []
    left = want
    for lot in state.member_lots(flow.member_id):
        if not left:
            break
        take = min(left, lot.units)
        gain = max(ZERO, nav - lot.hwm)
        fee = ctx.multiply(ctx.multiply(rate, gain), take).quantize(CENT, ROUND_HALF_EVEN)
        fee_units = min(take, (fee / nav).quantize(UNIT, ROUND_HALF_EVEN))
        redemptions.append(
            LotRedemption(
                lot_id=lot.lot_id, units=take, hwm=lot.hwm, performance_fee=fee, fee_units=fee_units
            )
        )
        left -= take
    fee = sum((r.performance_fee for r in redemptions), ZERO)
    fee_units = sum((r.fee_units for r in redemptions), ZERO)
    paid = ctx.multiply(want - fee_units, nav).quantize(CENT, ROUND_DOWN)
    event = WithdrawalSettled(
        **envelope,
        fund_id=state.fund_id,
        withdrawal_id=withdrawal_id,
        member_id=flow.member_id,
        nav_per_unit=nav,
        nav_ts=state.nav_ts,
        lots=tuple(redemptions),
        units_redeemed=want,
        performance_fee=fee,
        fee_units=fee_units,
        amount_paid=paid,
        # members lose want × NAV; the manager gains the fee, the member is paid `paid`
        rounding=ctx.subtract(ctx.multiply(want, nav), fee + paid),
    )
    return [event]


def decide_payout(
    state: FundState,
    *,
    payout_id: str,
    payee: Literal["manager", "affiliate"],
    payee_id: str,
    amount: Decimal,
    envelope: Envelope,
) -> list[FundEvent]:
    """Pay the manager's fees or an affiliate's commissions out of the fund.

    The manager cannot be paid while referred members have fees no commission has used yet
    (run ``decide_commissions`` first), so an affiliate's share is never paid to the manager.
    """
    if payee == "manager":
        payable = state.fees_payable
        pending = any(
            m.affiliate_id is not None and m.fee_base_pending > 0 for m in state.members.values()
        )
    else:
        payable = state.commissions_payable.get(payee_id, ZERO)
        pending = False
    why = (
        "duplicate_id"
        if payout_id in state.used_ids
        else "non_positive_amount"
        if amount <= 0
        else "amount_not_in_cents"
        if not is_cents(amount)
        else "commissions_pending"
        if pending
        else "exceeds_payable"
        if amount > payable
        else ""
    )
    if why:
        return reject(state, "payout", why, envelope=envelope, ref_id=payout_id)
    event = PayoutMade(
        **envelope,
        fund_id=state.fund_id,
        payout_id=payout_id,
        payee=payee,
        payee_id=payee_id,
        amount=amount,
    )
    return [event]
