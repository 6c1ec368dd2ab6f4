"""The Order aggregate: commands, pure decisions and the order's state machine.

::

    (PlaceOrder) ──risk ok──▶ placed ──▶ sent ──▶ accepted ──▶ partially_filled ──▶ filled
         │                      │           │          │                 │
         └─risk fails─▶ rejected◀───venue───┘          └──cancel/expire──┴──▶ cancelled | expired

Decisions take the order's current state (``None`` for a new one), the command, the guardian's
verdict inputs and the time, and return events; nothing here reads a clock or does I/O.
A command id makes a retry idempotent: the order id of a placement is derived from it, so a
repeated ``PlaceOrder`` finds its order already there and decides nothing new.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

import msgspec

from commands.risk import OrderIntent
from events.base import Envelope
from events.trading import (
    CommandRejected,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRequested,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRequested,
    OrderPlaced,
    OrderRejected,
    OrderSent,
    OrderSide,
    OrderType,
    TimeInForce,
)

ZERO = Decimal(0)
PRICE_QUANTUM = Decimal("1e-12")
"""Average prices are rounded (half even) to 12 decimal places: far below any tick, and it
keeps PnL figures from carrying 28-digit quotients."""
COMMAND_NAMESPACE = uuid.UUID("2f5b8f0e-57a4-4a53-9d3c-6f0a2b9c1e77")

Status = Literal[
    "rejected", "placed", "sent", "accepted", "partially_filled", "filled", "cancelled", "expired"
]
OPEN: frozenset[str] = frozenset({"placed", "sent", "accepted", "partially_filled"})


class PlaceOrder(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Place an order (market, limit or stop) on a venue's symbol."""

    command_id: str
    account: str
    venue: str
    symbol: str
    side: OrderSide
    qty: Decimal
    order_type: OrderType = "market"
    limit_price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = "gtc"
    reduce_only: bool = False
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    parent_id: uuid.UUID | None = None
    strategy: str = "manual"
    live: bool = False

    @property
    def order_id(self) -> uuid.UUID:
        """Derived from the command id: the same command always names the same order."""
        return uuid.uuid5(COMMAND_NAMESPACE, f"place:{self.command_id}")

    def intent(self) -> OrderIntent:
        return OrderIntent(
            side=self.side,
            qty=self.qty,
            order_type=self.order_type,
            limit_price=self.limit_price,
            trigger_price=self.trigger_price,
            reduce_only=self.reduce_only,
        )


class CancelOrder(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    command_id: str
    order_id: uuid.UUID
    reason: str = "requested"


class ModifyOrder(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Change an open limit (or stop) order's total quantity and/or price."""

    command_id: str
    order_id: uuid.UUID
    qty: Decimal | None = None
    limit_price: Decimal | None = None


class Halt(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    command_id: str
    account: str
    reason: str


class Resume(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    command_id: str
    account: str
    reason: str = ""


TradingCommand = PlaceOrder | CancelOrder | ModifyOrder | Halt | Resume


@dataclass(frozen=True, slots=True)
class OrderState:
    """An order after its events."""

    placed: OrderPlaced
    status: Status
    qty: Decimal
    limit_price: Decimal | None
    cum_qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    fees: Decimal = ZERO
    venue_order_id: str = ""
    reject_reason: str = ""
    pending_cancel: bool = False
    pending_modify: tuple[Decimal, Decimal | None] | None = None
    exec_ids: frozenset[str] = frozenset()

    @property
    def order_id(self) -> uuid.UUID:
        return self.placed.order_id

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def leaves_qty(self) -> Decimal:
        return self.qty - self.cum_qty if self.is_open else ZERO

    def intent(self, qty: Decimal | None = None, price: Decimal | None = None) -> OrderIntent:
        """The order as the guardian sees it (optionally as modified; only the rest counts)."""
        p = self.placed
        total = self.qty if qty is None else qty
        return OrderIntent(
            side=p.side,
            qty=total - self.cum_qty,
            order_type=p.order_type,
            limit_price=self.limit_price if price is None else price,
            trigger_price=p.trigger_price if p.order_type == "stop" and price is None else None,
            reduce_only=p.reduce_only,
        )


def rejected_state(event: OrderRejected) -> OrderState:
    """The state of an order whose only event is its rejection by the guardian."""
    e = event
    placed = OrderPlaced(
        event_id=e.event_id, ts_event=e.ts_event, ts_recorded=e.ts_recorded, source=e.source,
        vertical=e.vertical, order_id=e.order_id, account=e.account, venue=e.venue,
        symbol=e.symbol, side=e.side or "buy", order_type=e.order_type or "market",
        qty=e.qty or ZERO, limit_price=e.limit_price, trigger_price=e.trigger_price,
        strategy=e.strategy or "manual", mode=e.mode or "paper", command_id=e.command_id,
    )  # fmt: skip
    return OrderState(placed, "rejected", placed.qty, e.limit_price, reject_reason=e.reason)


def evolve_order(state: OrderState | None, event: OrderEvent) -> OrderState:
    """Apply one event to an order (pure).

    Raises:
        ValueError: an event that cannot follow the order's history.
    """
    if isinstance(event, OrderPlaced):
        return OrderState(event, "placed", event.qty, event.limit_price)
    if state is None:
        if isinstance(event, OrderRejected):
            return rejected_state(event)
        raise ValueError(f"{type(event).__name__} before the order was placed")
    if isinstance(event, OrderRejected):
        return replace(state, status="rejected", reject_reason=event.reason)
    if isinstance(event, OrderSent):
        return replace(state, status="sent") if state.status == "placed" else state
    if isinstance(event, OrderAccepted):
        status: Status = "accepted" if state.status in ("placed", "sent") else state.status
        return replace(state, status=status, venue_order_id=event.venue_order_id)
    if isinstance(event, OrderFilled):
        done = event.leaves_qty == 0
        return replace(
            state,
            status="filled" if done else "partially_filled",
            cum_qty=event.cum_qty,
            avg_price=event.avg_price,
            fees=state.fees + event.fee,
            exec_ids=state.exec_ids | {event.exec_id},
        )
    if isinstance(event, OrderModifyRequested):
        return replace(state, pending_modify=(event.qty, event.limit_price))
    if isinstance(event, OrderModified):
        return replace(state, qty=event.qty, limit_price=event.limit_price, pending_modify=None)
    if isinstance(event, OrderCancelRequested):
        return replace(state, pending_cancel=True)
    if isinstance(event, OrderCancelled):
        return replace(state, status="cancelled", pending_cancel=False)
    if isinstance(event, OrderExpired):
        return replace(state, status="expired")
    if isinstance(event, CommandRejected):
        if event.command == "modify":
            return replace(state, pending_modify=None)
        return replace(state, pending_cancel=False)
    return state


def fill_event(
    state: OrderState,
    *,
    exec_id: str,
    qty: Decimal,
    price: Decimal,
    fee: Decimal,
    liquidity: Literal["maker", "taker"],
    envelope: Envelope,
) -> OrderFilled | None:
    """The fill of ``qty`` at ``price`` (None if this execution was booked before).

    Raises:
        ValueError: a fill larger than what is left, or on a closed order.
    """
    if exec_id in state.exec_ids:
        return None
    if not state.is_open or qty <= 0 or qty > state.qty - state.cum_qty:
        raise ValueError(
            f"fill of {qty} on order {state.order_id} ({state.status}, "
            f"{state.qty - state.cum_qty} left)"
        )
    cum = state.cum_qty + qty
    avg = ((state.avg_price * state.cum_qty + price * qty) / cum).quantize(PRICE_QUANTUM)
    return OrderFilled(
        **envelope,
        order_id=state.order_id,
        exec_id=exec_id,
        qty=qty,
        price=price,
        fee=fee,
        liquidity=liquidity,
        leaves_qty=state.qty - cum,
        cum_qty=cum,
        avg_price=avg,
    )


def decide_place(
    cmd: PlaceOrder,
    failed_checks: tuple[str, ...],
    *,
    reference_price: Decimal | None,
    envelope: Envelope,
) -> list[OrderEvent]:
    """Placement: rejected with every failed check named, else placed."""
    if failed_checks:
        names = tuple(c.split(":", 1)[0] for c in failed_checks)
        return [
            OrderRejected(
                **envelope,
                order_id=cmd.order_id,
                account=cmd.account,
                venue=cmd.venue,
                symbol=cmd.symbol,
                stage="risk",
                reason="; ".join(failed_checks),
                checks=names,
                command_id=cmd.command_id,
                side=cmd.side,
                order_type=cmd.order_type,
                qty=cmd.qty,
                limit_price=cmd.limit_price,
                trigger_price=cmd.trigger_price,
                strategy=cmd.strategy,
                mode="live" if cmd.live else "paper",
            )
        ]
    return [
        OrderPlaced(
            **envelope,
            order_id=cmd.order_id,
            account=cmd.account,
            venue=cmd.venue,
            symbol=cmd.symbol,
            side=cmd.side,
            order_type=cmd.order_type,
            qty=cmd.qty,
            limit_price=cmd.limit_price,
            trigger_price=cmd.trigger_price,
            time_in_force=cmd.time_in_force,
            reduce_only=cmd.reduce_only,
            stop_loss=cmd.stop_loss,
            take_profit=cmd.take_profit,
            parent_id=cmd.parent_id,
            strategy=cmd.strategy,
            mode="live" if cmd.live else "paper",
            command_id=cmd.command_id,
            reference_price=reference_price,
        )
    ]


def validate_place(cmd: PlaceOrder) -> tuple[str, ...]:
    """Checks of the command's own shape (before any state is looked at)."""
    failed = []
    if cmd.order_type == "limit" and cmd.limit_price is None:
        failed.append("order_shape: a limit order needs a limit price")
    if cmd.order_type == "market" and cmd.limit_price is not None:
        failed.append("order_shape: a market order takes no limit price")
    if cmd.order_type == "stop" and cmd.trigger_price is None:
        failed.append("order_shape: a stop order needs a trigger price")
    if cmd.order_type == "market" and cmd.time_in_force == "post_only":
        failed.append("order_shape: a market order cannot be post-only")
    ref = cmd.limit_price
    if ref is not None and cmd.stop_loss is not None:
        wrong = cmd.stop_loss >= ref if cmd.side == "buy" else cmd.stop_loss <= ref
        if wrong:
            failed.append("order_shape: the stop-loss must lie on the losing side of the entry")
    if ref is not None and cmd.take_profit is not None:
        wrong = cmd.take_profit <= ref if cmd.side == "buy" else cmd.take_profit >= ref
        if wrong:
            failed.append("order_shape: the take-profit must lie on the winning side of the entry")
    return tuple(failed)


def decide_cancel(
    state: OrderState | None, cmd: CancelOrder, *, envelope: Envelope
) -> list[OrderEvent]:
    """A cancel request for an open order, else a rejected command."""
    if state is None or not state.is_open:
        why = "unknown order" if state is None else f"order is {state.status}"
        return [
            CommandRejected(
                **envelope,
                order_id=cmd.order_id,
                command="cancel",
                reason=why,
                command_id=cmd.command_id,
            )
        ]
    if state.pending_cancel:
        return []
    return [
        OrderCancelRequested(
            **envelope,
            order_id=cmd.order_id,
            reason=cmd.reason,
            command_id=cmd.command_id,
        )
    ]


def decide_modify(
    state: OrderState | None,
    cmd: ModifyOrder,
    failed_checks: tuple[str, ...],
    *,
    envelope: Envelope,
) -> list[OrderEvent]:
    """A modify request for an open limit/stop order that passes the guardian."""

    def reject(reason: str, checks: tuple[str, ...] = ()) -> list[OrderEvent]:
        return [
            CommandRejected(
                **envelope,
                order_id=cmd.order_id,
                command="modify",
                reason=reason,
                checks=checks,
                command_id=cmd.command_id,
            )
        ]

    if state is None or not state.is_open:
        return reject("unknown order" if state is None else f"order is {state.status}")
    if state.placed.order_type == "market":
        return reject("a market order cannot be modified")
    if cmd.qty is None and cmd.limit_price is None:
        return reject("nothing to change: give a quantity and/or a price")
    if cmd.qty is not None and cmd.qty <= state.cum_qty:
        return reject(f"quantity {cmd.qty} ≤ already filled {state.cum_qty}")
    if failed_checks:
        names = tuple(c.split(":", 1)[0] for c in failed_checks)
        return reject("; ".join(failed_checks), names)
    return [
        OrderModifyRequested(
            **envelope,
            order_id=cmd.order_id,
            qty=cmd.qty if cmd.qty is not None else state.qty,
            limit_price=cmd.limit_price if cmd.limit_price is not None else state.limit_price,
            command_id=cmd.command_id,
        )
    ]
