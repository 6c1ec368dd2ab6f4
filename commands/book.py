"""The trading book: every order, position and account folded from their events (pure).

The execution service keeps one book in memory, rebuilt from the ledger when it starts and
updated with every event it writes; decisions read it (through :meth:`TradingBook.risk_view`)
and writes carry the versions it holds, so a second writer is caught by the store's optimistic
concurrency.  Aggregate ids: an order's UUID, ``<account>:<venue>:<symbol>`` for a position,
the account's name for an account.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from commands.account import AccountState, evolve_account
from commands.orders import OrderState, evolve_order
from commands.positions import PositionState, evolve_position
from commands.risk import Instrument, RiskView
from events.base import Event
from events.trading import (
    AccountOpened,
    CommandRejected,
    FillBooked,
    FundingBooked,
    TradingHalted,
    TradingResumed,
    position_id,
)

AggregateId = uuid.UUID | str
ZERO = Decimal(0)
NS_PER_DAY = 86_400_000_000_000
MarketKey = tuple[str, str]  # (venue, symbol)


@dataclass
class TradingBook:
    """See the module docstring."""

    orders: dict[uuid.UUID, OrderState] = field(default_factory=dict)
    positions: dict[str, PositionState] = field(default_factory=dict)
    accounts: dict[str, AccountState] = field(default_factory=dict)
    versions: dict[AggregateId, int] = field(default_factory=dict)
    daily_pnl: dict[tuple[str, int], Decimal] = field(default_factory=dict)
    funding_seen: dict[str, int] = field(default_factory=dict)
    open_ids: dict[str, dict[uuid.UUID, None]] = field(default_factory=dict)  # account -> open

    def version(self, aggregate_id: AggregateId) -> int:
        return self.versions.get(aggregate_id, 0)

    def apply(self, aggregate_id: AggregateId, event: Event) -> None:
        """Fold one event of ``aggregate_id`` (its next version)."""
        self.versions[aggregate_id] = self.versions.get(aggregate_id, 0) + 1
        if isinstance(event, FillBooked | FundingBooked):
            key = position_id(event.account, event.venue, event.symbol)
            pos = self.positions.get(key) or PositionState(event.account, event.venue, event.symbol)
            self.positions[key] = evolve_position(pos, event)
            day = (event.account, event.ts_event // NS_PER_DAY)
            if isinstance(event, FillBooked):
                delta = event.realized_pnl - event.fee
            else:
                delta = event.amount
                self.funding_seen[key] = max(self.funding_seen.get(key, 0), event.funding_ts)
            self.daily_pnl[day] = self.daily_pnl.get(day, ZERO) + delta
        elif isinstance(event, AccountOpened | TradingHalted | TradingResumed):
            acct = self.accounts.get(event.account) or AccountState(event.account)
            self.accounts[event.account] = evolve_account(acct, event)
        else:
            assert isinstance(aggregate_id, uuid.UUID), aggregate_id
            if aggregate_id not in self.orders and isinstance(event, CommandRejected):
                return  # a cancel/modify of an order that never existed: only the rejection
            order = evolve_order(self.orders.get(aggregate_id), event)  # type: ignore[arg-type]
            self.orders[aggregate_id] = order
            index = self.open_ids.setdefault(order.placed.account, {})
            if order.is_open:
                index[aggregate_id] = None
            else:
                index.pop(aggregate_id, None)

    def apply_all(self, items: Iterable[tuple[AggregateId, Event]]) -> None:
        for aggregate_id, event in items:
            self.apply(aggregate_id, event)

    # -- views -------------------------------------------------------------------------------

    def account(self, name: str) -> AccountState:
        return self.accounts.get(name) or AccountState(name)

    def position(self, account: str, venue: str, symbol: str) -> PositionState:
        key = position_id(account, venue, symbol)
        return self.positions.get(key) or PositionState(account, venue, symbol)

    def open_orders(self, account: str | None = None) -> list[OrderState]:
        """Open orders (of one account, or all), oldest first."""
        accounts = self.open_ids.values() if account is None else [self.open_ids.get(account, {})]
        return [self.orders[i] for ids in accounts for i in ids]

    def equity(self, account: str, marks: Mapping[MarketKey, Decimal]) -> Decimal:
        """Balance + net realised PnL + unrealised PnL at ``marks``."""
        total = self.account(account).balance
        for p in self.positions.values():
            if p.account != account:
                continue
            total += p.net_pnl
            mark = marks.get((p.venue, p.symbol))
            if mark is not None:
                total += p.unrealized(mark)
        return total

    def risk_view(
        self,
        account: str,
        venue: str,
        symbol: str,
        *,
        instrument: Instrument,
        marks: Mapping[MarketKey, Decimal],
        now_ns: int,
        exclude: uuid.UUID | None = None,
    ) -> RiskView:
        """What the guardian needs to check an order on ``venue``/``symbol``.

        Args:
            exclude: an order left out of the open orders (the one being modified).
        """
        open_buy = open_sell = gross = ZERO
        count = 0
        for o in self.open_orders(account):
            if o.order_id == exclude:
                continue
            count += 1
            p = o.placed
            rest = o.qty - o.cum_qty
            if (p.venue, p.symbol) == (venue, symbol):
                if p.side == "buy":
                    open_buy += rest
                else:
                    open_sell += rest
            elif not p.reduce_only:
                gross += rest * marks.get((p.venue, p.symbol), o.limit_price or ZERO)
        for pos in self.positions.values():
            if pos.account == account and (pos.venue, pos.symbol) != (venue, symbol):
                gross += pos.notional(marks.get((pos.venue, pos.symbol), pos.entry_price))
        acct = self.account(account)
        return RiskView(
            equity=self.equity(account, marks),
            mark=marks.get((venue, symbol)),
            instrument=instrument,
            position=self.position(account, venue, symbol).size,
            open_buy=open_buy,
            open_sell=open_sell,
            gross_notional=gross,
            open_orders=count,
            daily_pnl=self.daily_pnl.get((account, now_ns // NS_PER_DAY), ZERO),
            halted=acct.halted,
        )
