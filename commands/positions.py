"""The Position aggregate: one-way netting of fills, realised PnL, fees and funding (pure).

A position is signed (long > 0).  A fill in the position's direction (or on a flat position)
adds to it at a size-weighted average entry (rounded half even to 12 decimal places); a fill
against it realises ``closed × (price − entry) × sign(position)`` and, if larger than the
position, flips it with the rest entered at the fill price.  Fees are kept apart from
realised PnL (a booked fill carries both) and funding payments are booked as their own events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from events.base import Envelope
from events.trading import FillBooked, FundingBooked, OrderSide, PositionEvent

ZERO = Decimal(0)
PRICE_QUANTUM = Decimal("1e-12")  # average entries are rounded half even to 12 places


@dataclass(frozen=True, slots=True)
class PositionState:
    """A position's state after its events.

    Attributes:
        size: signed quantity (long > 0, short < 0, 0 flat).
        entry_price: average entry of the open size (0 when flat).
        realized_pnl: PnL realised by reducing fills, fees excluded.
        fees: fees paid (positive) or rebates received (negative).
        funding: funding received (positive) or paid (negative).
        fills: fills booked.
    """

    account: str
    venue: str
    symbol: str
    size: Decimal = ZERO
    entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    funding: Decimal = ZERO
    fills: int = 0

    @property
    def net_pnl(self) -> Decimal:
        """Realised PnL after fees and funding."""
        return self.realized_pnl - self.fees + self.funding

    def unrealized(self, mark: Decimal) -> Decimal:
        """Unrealised PnL at ``mark``."""
        return (mark - self.entry_price) * self.size if self.size else ZERO

    def notional(self, mark: Decimal) -> Decimal:
        """Absolute position value at ``mark``."""
        return abs(self.size) * mark


def net(
    size: Decimal, entry: Decimal, signed_qty: Decimal, price: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """One-way netting: ``(new size, new entry, realised PnL)`` after a signed fill.

    Args:
        size: signed position before.
        entry: its average entry (ignored when flat).
        signed_qty: the fill, positive for a buy.
        price: the fill price.
    """
    if size == 0 or (size > 0) == (signed_qty > 0):
        new = size + signed_qty
        avg = ((abs(size) * entry + abs(signed_qty) * price) / abs(new)).quantize(PRICE_QUANTUM)
        return new, avg, ZERO
    closed = min(abs(size), abs(signed_qty))
    realized = closed * (price - entry) * (1 if size > 0 else -1)
    new = size + signed_qty
    if new == 0:
        return ZERO, ZERO, realized
    if (new > 0) != (size > 0):  # flipped: the rest opens at the fill price
        return new, price, realized
    return new, entry, realized


def book_fill(
    state: PositionState,
    *,
    order_id: uuid.UUID,
    exec_id: str,
    side: OrderSide,
    qty: Decimal,
    price: Decimal,
    fee: Decimal,
    strategy: str,
    envelope: Envelope,
) -> FillBooked:
    """The event booking one fill on this position (pure).

    Args:
        state: the position before the fill.
        envelope: the event envelope fields (id, times, source, vertical, causation).
    """
    signed = qty if side == "buy" else -qty
    size, entry, realized = net(state.size, state.entry_price, signed, price)
    return FillBooked(
        **envelope,
        account=state.account,
        venue=state.venue,
        symbol=state.symbol,
        order_id=order_id,
        exec_id=exec_id,
        side=side,
        qty=qty,
        price=price,
        fee=fee,
        realized_pnl=realized,
        size=size,
        entry_price=entry,
        strategy=strategy,
    )


def funding_amount(size: Decimal, mark: Decimal, rate: Decimal) -> Decimal:
    """Funding received (> 0) or paid (< 0): longs pay a positive rate to shorts."""
    return -size * mark * rate


def evolve_position(state: PositionState, event: PositionEvent) -> PositionState:
    """Apply one event (pure)."""
    if isinstance(event, FillBooked):
        return PositionState(
            state.account,
            state.venue,
            state.symbol,
            size=event.size,
            entry_price=event.entry_price,
            realized_pnl=state.realized_pnl + event.realized_pnl,
            fees=state.fees + event.fee,
            funding=state.funding,
            fills=state.fills + 1,
        )
    if isinstance(event, FundingBooked):
        return PositionState(
            state.account,
            state.venue,
            state.symbol,
            size=state.size,
            entry_price=state.entry_price,
            realized_pnl=state.realized_pnl,
            fees=state.fees,
            funding=state.funding + event.amount,
            fills=state.fills,
        )
    return state
