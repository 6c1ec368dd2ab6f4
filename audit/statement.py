"""A member's statement, computed from events only (pure): the export writes it and the
offline verifier recomputes it from the proven events and compares.

Which events concern a member (:func:`concerns`): their own fund events (joined, deposits,
withdrawals, their fees, the commissions their fees paid, their refused commands), the fund's
NAV strikes (fund-wide figures, nobody's private data) and the fund accounts' booked fills and
funding (the positions the fund held).  Nothing that names another member qualifies.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import msgspec

from commands.positions import PositionState, evolve_position
from events.base import Event
from events.fund import (
    CommissionAccrued,
    DepositRequested,
    DepositSettled,
    FeesCrystallised,
    FundCommandRejected,
    FundEvent,
    MemberJoined,
    NavStruck,
    WithdrawalRequested,
    WithdrawalSettled,
)
from events.trading import FillBooked, FundingBooked
from helix.codec import Codec
from helix.errors import ValidationError

ZERO = Decimal(0)
CENT = Decimal("0.01")
FUND_TAG = b"fund."
POSITION_TAG = b"positions."
"""Type-tag prefixes of the events a statement or a NAV check reads (an event's msgpack starts
with its ``type``, so other messages are skipped without decoding)."""


def tagged_events(
    messages: Iterable[tuple[int, bytes]], tags: tuple[bytes, ...] = (FUND_TAG, POSITION_TAG)
) -> list[tuple[int, bytes, Event]]:
    """``(sequence, stored bytes, event)`` of the messages whose type starts with one of
    ``tags``; a message that is no event is skipped (the seals still cover it)."""
    codec = Codec()
    out: list[tuple[int, bytes, Event]] = []
    for seq, data in messages:
        head = data[:32]
        if any(t in head for t in tags):
            try:
                out.append((seq, data, codec.decode(data)))
            except ValidationError:
                continue
    return out


class Flow(msgspec.Struct, frozen=True, kw_only=True):
    ts: int
    kind: str  # deposit | withdrawal
    ref: str
    amount: Decimal
    units: Decimal
    nav_per_unit: Decimal


class Fee(msgspec.Struct, frozen=True, kw_only=True):
    ts: int
    kind: str  # performance | management
    ref: str
    amount: Decimal
    units: Decimal


class Commission(msgspec.Struct, frozen=True, kw_only=True):
    ts: int
    affiliate_id: str
    fee_base: Decimal
    rate: Decimal
    amount: Decimal


class Position(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    venue: str
    symbol: str
    size: Decimal
    entry_price: Decimal
    realised_pnl: Decimal
    fees: Decimal
    funding: Decimal


class Statement(msgspec.Struct, frozen=True, kw_only=True):
    """What a member is shown for ``[period_from, period_to]`` (UTC ns)."""

    member_id: str
    fund_id: str
    period_from: int
    period_to: int
    opening_units: Decimal
    closing_units: Decimal
    opening_nav: Decimal
    closing_nav: Decimal
    opening_value: Decimal
    closing_value: Decimal
    flows: tuple[Flow, ...]
    fees: tuple[Fee, ...]
    commissions: tuple[Commission, ...]
    navs: tuple[tuple[int, Decimal], ...]
    positions: tuple[Position, ...]

    @property
    def total_fees(self) -> Decimal:
        return sum((f.amount for f in self.fees), ZERO)


def concerns(event: Event, member_id: str, fund_id: str, accounts: frozenset[str] | None) -> bool:
    """Whether ``event`` belongs in ``member_id``'s export (see the module docstring)."""
    if isinstance(event, FillBooked | FundingBooked):
        return accounts is None or event.account in accounts
    if getattr(event, "fund_id", fund_id) != fund_id:
        return False
    if isinstance(event, NavStruck):
        return True
    if isinstance(event, FeesCrystallised):
        return bool(event.lots) and all(f.member_id == member_id for f in event.lots)
    if isinstance(event, MemberJoined | DepositRequested | DepositSettled | WithdrawalRequested
                  | WithdrawalSettled | CommissionAccrued | FundCommandRejected):  # fmt: skip
        return event.member_id == member_id
    return False


def foreign(event: Event, member_id: str) -> bool:
    """Whether ``event`` names another member (must never be in an export)."""
    if isinstance(event, FeesCrystallised):
        return any(f.member_id != member_id for f in event.lots)
    other = getattr(event, "member_id", None)
    return other is not None and other != member_id


def _units_delta(event: FundEvent, member_id: str) -> Decimal:
    if isinstance(event, DepositSettled) and event.member_id == member_id:
        return event.units
    if isinstance(event, WithdrawalSettled) and event.member_id == member_id:
        return -event.units_redeemed
    if isinstance(event, FeesCrystallised):
        return -sum((f.units_redeemed for f in event.lots if f.member_id == member_id), ZERO)
    return ZERO


def statement(
    events: Iterable[Event], *, member_id: str, fund_id: str, period_from: int, period_to: int
) -> Statement:
    """Replay ``events`` (the export's, in log order) into the member's statement."""
    units_open = units_close = ZERO
    nav_open = nav_close = ZERO
    flows: list[Flow] = []
    fees: list[Fee] = []
    commissions: list[Commission] = []
    navs: list[tuple[int, Decimal]] = []
    positions: dict[tuple[str, str, str], PositionState] = {}
    for e in events:
        ts = e.ts_event
        if ts > period_to:
            continue
        inside = ts >= period_from
        if isinstance(e, FillBooked | FundingBooked):
            key = (e.account, e.venue, e.symbol)
            positions[key] = evolve_position(
                positions.get(key) or PositionState(e.account, e.venue, e.symbol), e
            )
            continue
        if isinstance(e, NavStruck):
            nav_close = e.nav_per_unit
            if e.ts_event < period_from:
                nav_open = e.nav_per_unit
            else:
                navs.append((e.as_of, e.nav_per_unit))
            continue
        delta = _units_delta(e, member_id)  # type: ignore[arg-type]
        units_close += delta
        if not inside:
            units_open += delta
            continue
        if isinstance(e, DepositSettled):
            flows.append(Flow(ts=ts, kind="deposit", ref=e.deposit_id, amount=e.amount,
                              units=e.units, nav_per_unit=e.nav_per_unit))  # fmt: skip
        elif isinstance(e, WithdrawalSettled):
            flows.append(Flow(ts=ts, kind="withdrawal", ref=e.withdrawal_id,
                              amount=-e.amount_paid, units=-e.units_redeemed,
                              nav_per_unit=e.nav_per_unit))  # fmt: skip
            if e.performance_fee:
                fees.append(Fee(ts=ts, kind="performance", ref=e.withdrawal_id,
                                amount=e.performance_fee, units=e.fee_units))  # fmt: skip
        elif isinstance(e, FeesCrystallised):
            for f in e.lots:
                if f.performance_fee:
                    fees.append(Fee(ts=ts, kind="performance", ref=f.lot_id,
                                    amount=f.performance_fee, units=ZERO))  # fmt: skip
                if f.management_fee:
                    fees.append(Fee(ts=ts, kind="management", ref=f.lot_id,
                                    amount=f.management_fee, units=ZERO))  # fmt: skip
        elif isinstance(e, CommissionAccrued):
            c = Commission(ts=ts, affiliate_id=e.affiliate_id, fee_base=e.fee_base, rate=e.rate,
                           amount=e.amount)  # fmt: skip
            commissions.append(c)
    return Statement(
        member_id=member_id, fund_id=fund_id, period_from=period_from, period_to=period_to,
        opening_units=units_open, closing_units=units_close, opening_nav=nav_open,
        closing_nav=nav_close, opening_value=(units_open * nav_open).quantize(CENT),
        closing_value=(units_close * nav_close).quantize(CENT), flows=tuple(flows),
        fees=tuple(fees), commissions=tuple(commissions), navs=tuple(navs),
        positions=tuple(
            Position(account=p.account, venue=p.venue, symbol=p.symbol, size=p.size,
                     entry_price=p.entry_price, realised_pnl=p.realized_pnl, fees=p.fees,
                     funding=p.funding)
            for p in positions.values()
        ),
    )  # fmt: skip
