"""What a venue tells the execution service, and the one interface every venue has.

A venue turns order instructions into **reports**; the execution service turns reports into
events.  ``submit``/``cancel``/``amend`` may answer at once (the paper venue fills a market
order immediately) and later reports arrive through ``on_market`` (paper) or the venue's own
stream (live).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from commands.orders import OrderState
from events.base import Event


@dataclass(frozen=True, slots=True)
class Accepted:
    order_id: uuid.UUID
    venue_order_id: str


@dataclass(frozen=True, slots=True)
class Rejected:
    order_id: uuid.UUID
    reason: str


@dataclass(frozen=True, slots=True)
class Fill:
    order_id: uuid.UUID
    exec_id: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    liquidity: Literal["maker", "taker"]
    ts: int


@dataclass(frozen=True, slots=True)
class Cancelled:
    order_id: uuid.UUID
    reason: str


@dataclass(frozen=True, slots=True)
class Expired:
    order_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Modified:
    order_id: uuid.UUID
    qty: Decimal
    limit_price: Decimal | None


@dataclass(frozen=True, slots=True)
class RequestRejected:
    """A cancel or amend the venue refused."""

    order_id: uuid.UUID
    command: Literal["cancel", "modify"]
    reason: str


@dataclass(frozen=True, slots=True)
class Funding:
    """A funding settlement on ``symbol`` at ``funding_ts`` (applies to open positions)."""

    venue: str
    symbol: str
    funding_ts: int
    rate: Decimal
    mark: Decimal


Report = Accepted | Rejected | Fill | Cancelled | Expired | Modified | RequestRejected | Funding


class Venue(Protocol):
    """One market's execution, paper or live."""

    name: str

    async def submit(self, order: OrderState, *, now_ns: int) -> list[Report]: ...

    async def cancel(self, order: OrderState, *, now_ns: int) -> list[Report]: ...

    async def amend(
        self, order: OrderState, qty: Decimal, limit_price: Decimal | None, *, now_ns: int
    ) -> list[Report]: ...

    async def reconcile(self, open_orders: list[OrderState]) -> list[Report]:
        """After a restart: the truth about orders in doubt (sent, not yet confirmed)."""
        ...

    def on_market(self, seq: int, event: Event) -> list[Report]:
        """A market event of this venue's market (paper venues fill from them)."""
        ...
