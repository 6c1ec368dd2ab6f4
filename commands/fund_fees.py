"""Fund decisions about value: NAV strike, fee crystallisation, affiliate commissions (pure).

* **Strike** (daily or on demand): fund equity from the trading book's cumulative PnL plus the
  fund's net contributions; the members' net assets (equity less fees and commissions payable)
  over the units outstanding give the NAV per unit (8 dp, half even); the residue is the new
  rounding balance.
* **Crystallise** (period end, at the last struck NAV: strike first): per lot, the performance
  fee over its own HWM (§9.4) and the management fee pro-rated per day, both paid by redeeming
  ``fee / NAV`` units from that lot, so NAV per unit is unchanged and other members unaffected.
* **Commissions**: each referred member's fees not yet commissioned earn their affiliate the
  rate of the tier its referred AUM reaches; the commission comes out of the manager's fees.

A decision that yields several events gives the first the envelope's ``event_id`` and each next
one an id derived from it (:func:`nth_envelope`), so decisions stay pure and replay the same.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import msgspec

from commands.fund import (
    CENT,
    DAYS_PER_YEAR,
    FUND_CONTEXT,
    NAV_QUANTUM,
    UNIT,
    ZERO,
    FundConfig,
    FundState,
)
from commands.fund_flows import reject
from events.base import Envelope, event_id_for
from events.fund import CommissionAccrued, FeesCrystallised, FundEvent, LotFee, NavStruck


class BookValuation(msgspec.Struct, frozen=True, kw_only=True):
    """The trading book's cumulative results for the fund (from the log's fills, funding and
    marks): ``pnl = realised − fees + funding + unrealised``."""

    realised_pnl: Decimal
    unrealised_pnl: Decimal
    trading_fees: Decimal = ZERO
    funding: Decimal = ZERO

    @property
    def pnl(self) -> Decimal:
        return self.realised_pnl - self.trading_fees + self.funding + self.unrealised_pnl


def nth_envelope(envelope: Envelope, n: int) -> Envelope:
    """The envelope of a decision's ``n``-th event (0: the envelope itself)."""
    if n == 0:
        return envelope
    return {**envelope, "event_id": event_id_for(f"{envelope['event_id']}:{n}")}


def decide_strike_nav(
    state: FundState, book: BookValuation, *, as_of: int, envelope: Envelope
) -> list[FundEvent]:
    """Strike the NAV per unit from the trading book's valuation.

    With no units outstanding the NAV per unit stays where it was and the whole net assets sit
    in the rounding account until units are issued again.  A strike that leaves the members
    nothing (or less) is refused: ``non_positive_nav``.
    """
    ctx = FUND_CONTEXT
    equity = ctx.add(state.net_contributions, book.pnl)
    commissions = state.total_commissions_payable
    net_assets = ctx.subtract(ctx.subtract(equity, state.fees_payable), commissions)
    units = state.units_outstanding
    nav = state.nav_per_unit
    if units:
        nav = ctx.divide(net_assets, units).quantize(NAV_QUANTUM, ROUND_HALF_EVEN)
        if nav <= 0:
            return reject(state, "strike", "non_positive_nav", envelope=envelope)
    event = NavStruck(
        **envelope,
        fund_id=state.fund_id,
        as_of=as_of,
        net_contributions=state.net_contributions,
        realised_pnl=book.realised_pnl,
        unrealised_pnl=book.unrealised_pnl,
        trading_fees=book.trading_fees,
        funding=book.funding,
        fund_equity=equity,
        fees_payable=state.fees_payable,
        commissions_payable=commissions,
        net_assets=net_assets,
        units_outstanding=units,
        nav_per_unit=nav,
        rounding_balance=ctx.subtract(net_assets, ctx.multiply(units, nav)),
    )
    return [event]


def decide_crystallise(
    state: FundState,
    config: FundConfig,
    *,
    period_end: int,
    days: Decimal,
    envelope: Envelope,
) -> list[FundEvent]:
    """Crystallise the period's fees on every lot at the last struck NAV.

    Args:
        state: the fund (struck at ``period_end`` by the caller).
        config: the fee rates.
        period_end: the period's end (UTC ns), recorded.
        days: the period's length in days (the management fee is ``rate · days / 365``).
        envelope: the event envelope.

    Returns:
        One ``FeesCrystallised`` event per member holding units (their lots only), in join
        order; none when the fund holds no units.
    """
    ctx, nav = FUND_CONTEXT, state.nav_per_unit
    mgmt_rate = ctx.divide(ctx.multiply(config.management_fee_rate, days), DAYS_PER_YEAR)
    fees: list[LotFee] = []
    for lot in state.lots.values():
        if not lot.units:
            continue
        gain = max(ZERO, nav - lot.hwm)
        perf = ctx.multiply(ctx.multiply(config.performance_fee_rate, gain), lot.units)
        perf = perf.quantize(CENT, ROUND_HALF_EVEN)
        mgmt = ctx.multiply(ctx.multiply(mgmt_rate, lot.units), nav).quantize(CENT, ROUND_HALF_EVEN)
        redeemed = min(lot.units, ctx.divide(perf + mgmt, nav).quantize(UNIT, ROUND_HALF_EVEN))
        fees.append(
            LotFee(
                lot_id=lot.lot_id,
                member_id=lot.member_id,
                units_before=lot.units,
                hwm_before=lot.hwm,
                hwm_after=nav if perf > 0 else lot.hwm,
                performance_fee=perf,
                management_fee=mgmt,
                units_redeemed=redeemed,
            )
        )
    by_member: dict[str, list[LotFee]] = {}
    for f in fees:
        by_member.setdefault(f.member_id, []).append(f)
    # one event per member (in join order), so a member's audit export proves its own fees
    # without revealing another member's lots
    events: list[FundEvent] = []
    for member_id in (m for m in state.members if m in by_member):
        lots = by_member[member_id]
        perf_total = sum((f.performance_fee for f in lots), ZERO)
        mgmt_total = sum((f.management_fee for f in lots), ZERO)
        units = sum((f.units_redeemed for f in lots), ZERO)
        events.append(
            FeesCrystallised(
                **nth_envelope(envelope, len(events)),
                fund_id=state.fund_id,
                period_end=period_end,
                nav_per_unit=nav,
                days=days,
                lots=tuple(lots),
                performance_fee=perf_total,
                management_fee=mgmt_total,
                units_redeemed=units,
                # members lose units × NAV, the manager gains the fees
                rounding=ctx.subtract(ctx.multiply(units, nav), perf_total + mgmt_total),
            )
        )
    return events


def referred_aum(state: FundState, affiliate_id: str) -> Decimal:
    """What the members an affiliate referred hold, at the last NAV."""
    units = sum(
        (
            lot.units
            for lot in state.lots.values()
            if state.members[lot.member_id].affiliate_id == affiliate_id
        ),
        ZERO,
    )
    return FUND_CONTEXT.multiply(units, state.nav_per_unit)


def commission_tier(config: FundConfig, aum: Decimal) -> int:
    """The index of the highest tier whose threshold ``aum`` reaches."""
    return max(i for i, t in enumerate(config.commission_tiers) if aum >= t.min_referred_aum)


def decide_commissions(
    state: FundState, config: FundConfig, *, envelope: Envelope
) -> list[FundEvent]:
    """Accrue each affiliate's commission on the fees its referred members paid since the last
    accrual: ``fee_base × rate`` of its tier, rounded down to cents (the manager keeps the
    fraction).  One event per member with a fee base, in join order."""
    events: list[FundEvent] = []
    for m in state.members.values():
        if m.affiliate_id is None or m.fee_base_pending <= 0:
            continue
        tier = commission_tier(config, referred_aum(state, m.affiliate_id))
        rate = config.commission_tiers[tier].rate
        amount = FUND_CONTEXT.multiply(m.fee_base_pending, rate).quantize(CENT, ROUND_DOWN)
        events.append(
            CommissionAccrued(
                **nth_envelope(envelope, len(events)),
                fund_id=state.fund_id,
                affiliate_id=m.affiliate_id,
                member_id=m.member_id,
                fee_base=m.fee_base_pending,
                tier=tier,
                rate=rate,
                amount=amount,
            )
        )
    return events
