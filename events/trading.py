"""Trading events: orders, positions and the trading account (stream ``LEDGER``).

Three kinds of aggregate, each its own event stream in the ``trading`` application of the
``eventsourcing`` store (``ldg.es.trading.e.<id>``):

* **Order** (id: the order's UUID): placed → sent → accepted | rejected → partially filled →
  filled | cancelled | expired; modify and cancel requests with their outcomes.  A rejection by
  the risk guardian is the order's only event (``OrderRejected`` at version 1).
* **Position** (id: ``<account>:<venue>:<symbol>``): every fill booked against it with the
  realised PnL and the position it leaves (netting, one-way mode), and funding payments.
* **TradingAccount** (id: the account name): opening balance, halts and resumes.

The events carry results, not just inputs (a booked fill says what it realised and where the
position stands), so an audit reads the history without re-running our code.  Money and
quantities are ``Decimal``; quantities are positive with the side saying the direction.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from events.base import Event

OrderSide = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "stop"]
TimeInForce = Literal["gtc", "ioc", "fok", "post_only"]
Liquidity = Literal["maker", "taker"]


class OrderPlaced(Event, frozen=True, kw_only=True, tag="orders.placed.v1"):
    """The risk guardian accepted a new order; it will be sent to its venue.

    ``stop_loss`` / ``take_profit`` are attached: when the order fills, reduce-only children
    are placed (a stop at ``stop_loss``, a limit at ``take_profit``), one cancelling the other.
    ``trigger_price`` is set for a stop order (a market order once price reaches it).
    """

    order_id: uuid.UUID
    account: str
    venue: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    qty: Decimal
    limit_price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = "gtc"
    reduce_only: bool = False
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    parent_id: uuid.UUID | None = None
    strategy: str = "manual"
    mode: Literal["paper", "live"] = "paper"
    command_id: str = ""
    reference_price: Decimal | None = None  # the mark/last price the checks used


class OrderRejected(Event, frozen=True, kw_only=True, tag="orders.rejected.v1"):
    """Refused: by the risk guardian (``stage="risk"``, every failed check named in
    ``checks``) or by the venue (``stage="venue"``)."""

    order_id: uuid.UUID
    account: str
    venue: str
    symbol: str
    stage: Literal["risk", "venue"]
    reason: str
    checks: tuple[str, ...] = ()
    command_id: str = ""
    # What was asked for (a risk rejection is the order's only event, so it says it all):
    side: OrderSide | None = None
    order_type: OrderType | None = None
    qty: Decimal | None = None
    limit_price: Decimal | None = None
    trigger_price: Decimal | None = None
    strategy: str | None = None
    mode: Literal["paper", "live"] | None = None


class OrderSent(Event, frozen=True, kw_only=True, tag="orders.sent.v1"):
    """The execution service is about to send the order (written *before* sending: after a
    crash, a sent order is reconciled with the venue, never sent again)."""

    order_id: uuid.UUID
    client_order_id: str


class OrderAccepted(Event, frozen=True, kw_only=True, tag="orders.accepted.v1"):
    """The venue acknowledged the order."""

    order_id: uuid.UUID
    venue_order_id: str


class OrderFilled(Event, frozen=True, kw_only=True, tag="orders.filled.v1"):
    """One execution of the order (partial or final); ``leaves_qty`` is what remains."""

    order_id: uuid.UUID
    exec_id: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    liquidity: Liquidity
    leaves_qty: Decimal
    cum_qty: Decimal
    avg_price: Decimal


class OrderModifyRequested(Event, frozen=True, kw_only=True, tag="orders.modify_requested.v1"):
    """A modification passed the risk guardian and goes to the venue."""

    order_id: uuid.UUID
    qty: Decimal
    limit_price: Decimal | None
    command_id: str = ""


class OrderModified(Event, frozen=True, kw_only=True, tag="orders.modified.v1"):
    """The venue applied a modification (``qty`` is the new total quantity)."""

    order_id: uuid.UUID
    qty: Decimal
    limit_price: Decimal | None


class OrderCancelRequested(Event, frozen=True, kw_only=True, tag="orders.cancel_requested.v1"):
    """A cancel was asked for (by a person, a rule, or an OCO sibling's fill)."""

    order_id: uuid.UUID
    reason: str
    command_id: str = ""


class OrderCancelled(Event, frozen=True, kw_only=True, tag="orders.cancelled.v1"):
    """The venue cancelled what was left of the order."""

    order_id: uuid.UUID
    reason: str
    leaves_qty: Decimal


class OrderExpired(Event, frozen=True, kw_only=True, tag="orders.expired.v1"):
    """What was left expired (the unfilled rest of an IOC/FOK order)."""

    order_id: uuid.UUID
    leaves_qty: Decimal


class CommandRejected(Event, frozen=True, kw_only=True, tag="orders.command_rejected.v1"):
    """A cancel or modify that could not apply (unknown or closed order, risk checks)."""

    order_id: uuid.UUID
    command: Literal["cancel", "modify"]
    reason: str
    checks: tuple[str, ...] = ()
    command_id: str = ""


OrderEvent = (
    OrderPlaced
    | OrderRejected
    | OrderSent
    | OrderAccepted
    | OrderFilled
    | OrderModifyRequested
    | OrderModified
    | OrderCancelRequested
    | OrderCancelled
    | OrderExpired
    | CommandRejected
)


class FillBooked(Event, frozen=True, kw_only=True, tag="positions.fill_booked.v1"):
    """A fill applied to a position (one-way netting).

    ``realized_pnl`` is the PnL of the part that reduced or closed the position (fees not
    included); ``size`` is the signed position after the fill (long > 0) and ``entry_price``
    its average entry (0 when flat).
    """

    account: str
    venue: str
    symbol: str
    order_id: uuid.UUID
    exec_id: str
    side: OrderSide
    qty: Decimal
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal
    size: Decimal
    entry_price: Decimal
    strategy: str = "manual"


class FundingBooked(Event, frozen=True, kw_only=True, tag="positions.funding_booked.v1"):
    """A funding payment: ``amount`` > 0 received, < 0 paid (longs pay a positive rate)."""

    account: str
    venue: str
    symbol: str
    funding_ts: int
    rate: Decimal
    mark_price: Decimal
    size: Decimal
    amount: Decimal


PositionEvent = FillBooked | FundingBooked


class AccountOpened(Event, frozen=True, kw_only=True, tag="accounts.opened.v1"):
    """A trading account with its starting balance (quote currency)."""

    account: str
    balance: Decimal
    mode: Literal["paper", "live"] = "paper"


class TradingHalted(Event, frozen=True, kw_only=True, tag="accounts.halted.v1"):
    """The kill switch: no new orders until resumed (cancels and reduce-only still pass)."""

    account: str
    reason: str


class TradingResumed(Event, frozen=True, kw_only=True, tag="accounts.resumed.v1"):
    """Trading allowed again."""

    account: str
    reason: str = ""


AccountEvent = AccountOpened | TradingHalted | TradingResumed
TradingEvent = OrderEvent | PositionEvent | AccountEvent
TRADING_EVENT_TYPES: tuple[type[Event], ...] = (
    OrderPlaced,
    OrderRejected,
    OrderSent,
    OrderAccepted,
    OrderFilled,
    OrderModifyRequested,
    OrderModified,
    OrderCancelRequested,
    OrderCancelled,
    OrderExpired,
    CommandRejected,
    FillBooked,
    FundingBooked,
    AccountOpened,
    TradingHalted,
    TradingResumed,
)


def position_id(account: str, venue: str, symbol: str) -> str:
    """The Position aggregate's id."""
    return f"{account}:{venue}:{symbol}"
