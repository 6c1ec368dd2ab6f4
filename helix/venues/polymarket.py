"""The live Polymarket venue: orders through the SDK gateway (:mod:`helix.venues.polymarket_sdk`).

An outcome token is a market on venue ``polymarket`` whose symbol is the token id.

* **Submit** signs and posts a limit order: ``GTC`` for a resting limit, ``FAK`` for IOC and
  for market orders (at a protective price: the reference price moved ``protect`` against the
  taker, on the tick, inside (0, 1)), ``FOK`` for fill-or-kill.  Polymarket names an order by
  the hash of the signed order, so the order id it returns is mapped to ours.  An answer with
  ``success`` false is a venue rejection; a rejection the gateway raises as a Helix
  :class:`~helix.errors.DomainError` too.  Any other error propagates: the service then
  reconciles instead of sending again (an order is sent at most once).  An IOC/FOK order's
  fills are read back at once (its trade ids) and the unfilled rest expires.
* **Cancel** asks for the cancel; once Polymarket confirms, the order's fills so far are read
  (so a fill racing the cancel is booked first) and the cancel is reported.  **Amend** is
  refused (Polymarket has no amend: cancel and place again).
* **Reconcile** (on start, and when a call's outcome is in doubt) reads the open orders and the
  account's trades since the order was placed: accepted, every fill (execution id = trade id,
  so nothing is booked twice), and cancelled when the order is no longer open and not filled.
  An order sent but never acknowledged is found among the open orders by token, side, price
  and size, or among the trades as an unclaimed taker order of that token and side after it was
  sent; else it is reported rejected ("not received").
* **The user channel** reports placements, cancellations and trades as they happen.  Trades of
  orders not (yet) known are kept until the order's id is known (a fill can overtake the
  answer to the placement).
* **Maker fills**: a trade's ``side``/``size``/``price`` are the taker's.  When our resting
  order is hit, our fill is our entry in the trade's ``maker_orders``: its ``matched_amount``
  at its ``price`` (one taker order hitting two of our orders is one trade and two fills, one
  per order, both with the trade id as execution id).
* **Balance**: the live account opens with the wallet's pUSD (``gateway.balance()``), read by
  the execution service when it starts, as for Bybit.
* **Failed trades**: Polymarket reports a match at once (``MATCHED``) and settles it on chain
  later (``MINED``, ``CONFIRMED``); a settlement that fails ends ``FAILED`` and nothing moved.
  Fills are booked at ``MATCHED`` (waiting for ``CONFIRMED`` would blind the risk guardian for
  blocks).  A trade whose latest status is ``FAILED`` is never booked: on the user channel,
  in the trades kept for unknown orders, and when reconciling from ``/data/trades``.  The
  Venue protocol has no bust, so a fill already booked whose trade later fails is **not
  reversed**: the venue logs a warning, records a :class:`FailedFill` in ``failed_fills`` and
  passes it to ``on_failed`` (e.g. a dead-letter publisher); the position must then be
  corrected by hand (it shows in the next ``helix poly positions`` against the wallet).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Protocol

from commands.orders import OrderState
from events.base import Event
from events.poly import VENUE
from helix.errors import ConfigError, DomainError
from helix.feeds.polymarket.convert import (
    CancelAck,
    OpenOrderRow,
    OrderAck,
    OwnTradeRow,
    UserOrderUpdate,
)
from helix.settings import Settings
from helix.venues.base import (
    Accepted,
    Cancelled,
    Expired,
    Fill,
    Rejected,
    Report,
    RequestRejected,
)

log = logging.getLogger(__name__)

NS = 1_000_000_000
TICK = Decimal("0.01")
BPS = Decimal(10_000)
ZERO = Decimal(0)
_TYPES = {"gtc": "GTC", "ioc": "FAK", "fok": "FOK"}


@dataclass(frozen=True, slots=True)
class FailedFill:
    """A fill Helix booked whose trade later failed on chain (not reversed: see the module
    docstring)."""

    order_id: uuid.UUID
    venue_order_id: str
    trade_id: str
    qty: Decimal
    price: Decimal
    liquidity: str
    reason: str


class Gateway(Protocol):
    """What the venue uses of :class:`~helix.venues.polymarket_sdk.PolymarketGateway`."""

    async def place_order(
        self, *, token_id: str, side: str, size: Decimal, price: Decimal, order_type: str = "GTC"
    ) -> OrderAck: ...

    async def cancel_order(self, order_id: str) -> CancelAck: ...

    async def open_orders(self, *, market: str | None = None) -> list[OpenOrderRow]: ...

    async def own_trades(self, *, after_s: int | None = None) -> list[OwnTradeRow]: ...

    def user_stream(
        self, markets: Sequence[str]
    ) -> AsyncIterator[UserOrderUpdate | OwnTradeRow]: ...


def protective_price(
    side: str, reference: Decimal, protect: Decimal, tick: Decimal = TICK
) -> Decimal:
    """The worst price a market order accepts: ``reference`` moved ``protect`` (a fraction)
    against the taker, on the tick, inside (0, 1)."""
    if side == "buy":
        px = (reference * (1 + protect) / tick).to_integral_value(rounding=ROUND_CEILING) * tick
    else:
        px = (reference * (1 - protect) / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
    return min(max(px, tick), 1 - tick)


class PolymarketVenue:
    """See the module docstring."""

    name = VENUE

    def __init__(
        self,
        gateway: Gateway,
        *,
        sink: Callable[[list[Report]], None] | None = None,
        protect: Decimal = Decimal("0.05"),
        opener: Any = None,
        on_failed: Callable[[FailedFill], None] | None = None,
    ) -> None:
        self.gateway = gateway
        self.sink = sink
        self.protect = protect
        self.opener = opener  # the gateway as an async context manager (entered by open())
        self.on_failed = on_failed
        self.orders: dict[str, OrderState] = {}  # Polymarket order id -> our order
        self.unclaimed: dict[str, list[Any]] = {}  # trades of orders not known yet
        self.booked: dict[tuple[str, str], Fill] = {}  # (venue order id, trade id) -> fill
        self._warned: set[tuple[str, str]] = set()
        self.failed_fills: list[FailedFill] = []
        self._task: asyncio.Task[None] | None = None
        balance = getattr(gateway, "balance", None)
        if balance is not None:  # the live account opens with the wallet's collateral
            self.balance = balance

    # -- lifecycle ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Enter the gateway and authenticate now (bad keys fail at start, not at the first
        order)."""
        if self.opener is not None:
            await self.opener.__aenter__()
        authenticate = getattr(self.gateway, "authenticate", None)
        if authenticate is not None:
            await authenticate()

    def connect(self) -> None:
        """Follow the user channel (every market of the account) in a task."""
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="polymarket-user")

    async def _follow(self) -> None:
        async for item in self.gateway.user_stream([]):
            reports = self.on_user(item)
            if reports and self.sink is not None:
                self.sink(reports)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self.opener is not None:
            await self.opener.__aexit__(None, None, None)

    # -- instructions -------------------------------------------------------------------------

    async def submit(self, order: OrderState, *, now_ns: int) -> list[Report]:
        p = order.placed
        oid = order.order_id
        if p.order_type == "stop" or p.time_in_force == "post_only":
            return [Rejected(oid, f"polymarket takes no {p.order_type} {p.time_in_force} orders")]
        if p.order_type == "market":
            if not p.reference_price:
                return [Rejected(oid, "a market order needs a reference price to protect")]
            price = protective_price(p.side, p.reference_price, self.protect)
            kind = "FAK"
        else:
            assert order.limit_price is not None
            price, kind = order.limit_price, _TYPES[p.time_in_force]
        size = order.qty - order.cum_qty
        try:
            ack = await self.gateway.place_order(
                token_id=p.symbol, side=p.side.upper(), size=size, price=price, order_type=kind
            )
        except DomainError as exc:
            return [Rejected(oid, f"polymarket: {exc}")]
        if not ack.success:
            return [Rejected(oid, f"polymarket: {ack.error or ack.status or 'not accepted'}")]
        venue_id = ack.order_id
        self.orders[venue_id] = order
        out: list[Report] = [Accepted(oid, venue_id)]
        pending: list[OwnTradeRow] = self.unclaimed.pop(venue_id, [])
        if kind != "GTC":
            after = p.ts_event // NS - 60
            trades = await self.gateway.own_trades(after_s=after)
            pending += [t for t in trades if t.trade_id in set(ack.trade_ids)]
        fills = self._fills(venue_id, order, pending)
        out += fills
        if kind != "GTC" and sum((f.qty for f in fills), ZERO) < size:
            out.append(Expired(oid))
        return out

    async def cancel(self, order: OrderState, *, now_ns: int) -> list[Report]:
        venue_id = order.venue_order_id
        if not venue_id:
            return [RequestRejected(order.order_id, "cancel", "not acknowledged by polymarket yet")]
        try:
            ack = await self.gateway.cancel_order(venue_id)
        except DomainError as exc:
            return [RequestRejected(order.order_id, "cancel", f"polymarket: {exc}")]
        if venue_id not in ack.canceled:
            why = ack.not_canceled.get(venue_id, "not cancelled")
            return [RequestRejected(order.order_id, "cancel", f"polymarket: {why}")]
        trades = await self.gateway.own_trades(after_s=order.placed.ts_event // NS - 60)
        return [*self._fills(venue_id, order, trades), Cancelled(order.order_id, "cancelled")]

    async def amend(
        self, order: OrderState, qty: Decimal, limit_price: Decimal | None, *, now_ns: int
    ) -> list[Report]:
        why = "polymarket orders cannot be amended: cancel and place again"
        return [RequestRejected(order.order_id, "modify", why)]

    async def reconcile(self, open_orders: list[OrderState]) -> list[Report]:
        mine = [o for o in open_orders if o.placed.mode == "live" and o.status != "placed"]
        if not mine:
            return []
        live = {r.order_id: r for r in await self.gateway.open_orders()}
        since = min(o.placed.ts_event for o in mine) // NS - 60
        everything = await self.gateway.own_trades(after_s=since)
        trades = [t for t in everything if t.status != "FAILED"]
        for t in everything:
            if t.status == "FAILED":
                self._failed(t, mine)
        claimed = {o.venue_order_id for o in mine if o.venue_order_id}
        out: list[Report] = []
        for order in mine:
            oid = order.order_id
            venue_id = order.venue_order_id or self._find(order, live, trades, claimed)
            if venue_id is None:
                out.append(Rejected(oid, "not received by polymarket"))
                continue
            claimed.add(venue_id)
            self.orders[venue_id] = order
            out.append(Accepted(oid, venue_id))
            fills = self._fills(venue_id, order, trades)
            out += fills
            new = sum((f.qty for f in fills if f.exec_id not in order.exec_ids), ZERO)
            if venue_id not in live and order.cum_qty + new < order.qty:
                out.append(Cancelled(oid, "no longer open at polymarket"))
        return out

    def _find(
        self,
        order: OrderState,
        live: dict[str, OpenOrderRow],
        trades: list[OwnTradeRow],
        claimed: set[str],
    ) -> str | None:
        """The Polymarket id of an order sent but never acknowledged (None: not received)."""
        p = order.placed
        for vid, r in live.items():
            if vid in claimed:
                continue
            if (r.token_id, r.side, r.original_size) == (p.symbol, p.side, order.qty) and (
                order.limit_price is None or r.price == order.limit_price
            ):
                return vid
        for t in trades:
            vid = t.taker_order_id
            if (
                vid
                and vid not in claimed
                and vid not in self.orders
                and (t.token_id, t.side) == (p.symbol, p.side)
                and (t.match_ts or 0) >= p.ts_event - 60 * NS
            ):
                return vid
        return None

    # -- fills --------------------------------------------------------------------------------

    def _fills(self, venue_id: str, order: OrderState, trades: Iterable[OwnTradeRow]) -> list[Fill]:
        """Our order's fills in ``trades``, oldest first.  A trade seen several times counts
        with its last status; one whose last status is FAILED is no fill."""
        latest: dict[str, OwnTradeRow] = {}
        for t in trades:
            latest[t.trade_id] = t
        out: list[Fill] = []
        for t in latest.values():
            fill = fill_of(venue_id, order.order_id, t) if t.status != "FAILED" else None
            if fill is not None:
                self.booked[(venue_id, t.trade_id)] = fill
                out.append(fill)
        out.sort(key=lambda f: (f.ts, f.exec_id))
        return out

    def _failed(self, t: OwnTradeRow, orders: Iterable[OrderState] = ()) -> None:
        """A trade that FAILED: warn about each fill of it Helix booked (reported by this
        venue, or among a reconciled order's executions)."""
        hits: dict[str, Fill] = {}
        for vid in (t.taker_order_id, *t.maker_order_ids):
            fill = self.booked.pop((vid, t.trade_id), None)
            if fill is not None:
                hits[vid] = fill
        for order in orders:
            vid = order.venue_order_id
            if vid and vid not in hits and t.trade_id in order.exec_ids:
                fill = fill_of(vid, order.order_id, t)
                if fill is not None:
                    hits[vid] = fill
        for vid, fill in hits.items():
            if (vid, t.trade_id) in self._warned:
                continue
            self._warned.add((vid, t.trade_id))
            failed = FailedFill(
                order_id=fill.order_id, venue_order_id=vid, trade_id=t.trade_id, qty=fill.qty,
                price=fill.price, liquidity=fill.liquidity,
                reason="polymarket trade FAILED on chain after Helix booked its fill: "
                       "not reversed, correct the position by hand",
            )  # fmt: skip
            log.warning(
                "polymarket: trade %s FAILED after its fill of %s @ %s on order %s (%s) was "
                "booked; the fill is NOT reversed", t.trade_id, fill.qty, fill.price,
                fill.order_id, vid,
            )  # fmt: skip
            self.failed_fills.append(failed)
            if self.on_failed is not None:
                self.on_failed(failed)

    def on_user(self, item: UserOrderUpdate | OwnTradeRow) -> list[Report]:
        """One user-channel update: an order placed or cancelled, or a trade."""
        if isinstance(item, OwnTradeRow):
            return self._trade(item)
        order = self.orders.get(item.order_id)
        if order is None:
            return []
        oid = order.order_id
        kind = item.type.upper()
        if kind == "PLACEMENT":
            return [Accepted(oid, item.order_id)]
        if kind == "CANCELLATION":
            return [Cancelled(oid, "cancelled at polymarket")]
        return []

    def _trade(self, t: OwnTradeRow) -> list[Report]:
        out: list[Report] = []
        ids = [t.taker_order_id, *t.maker_order_ids]
        known = [vid for vid in ids if vid in self.orders]
        if t.status == "FAILED":
            self._failed(t)
        else:
            for vid in known:
                if (vid, t.trade_id) not in self.booked:  # MINED, CONFIRMED: booked already
                    out += self._fills(vid, self.orders[vid], [t])
        if not known:
            for vid in ids:
                if vid:
                    self.unclaimed.setdefault(vid, []).append(t)
        return out

    def on_market(self, seq: int, event: Event) -> list[Report]:
        return []


def fill_of(venue_id: str, order_id: uuid.UUID, t: OwnTradeRow) -> Fill | None:
    """Our order ``venue_id``'s fill in trade ``t`` whatever its status (None: not ours).

    As taker the fill is the trade (size, price, fee at the trade's rate); as a maker it is our
    entries in ``maker_orders`` (matched amount at our order's price, fee at its rate).
    """
    ts = t.match_ts or 0
    if t.taker_order_id == venue_id:
        fee = t.size * t.price * t.fee_rate_bps / BPS
        return Fill(order_id, t.trade_id, t.size, t.price, fee, "taker", ts)
    mine = [m for m in t.maker_orders if m.order_id == venue_id]
    if not mine:
        return None
    qty = sum((m.matched_amount for m in mine), ZERO)
    fee = sum((m.matched_amount * m.price * m.fee_rate_bps / BPS for m in mine), ZERO)
    return Fill(order_id, t.trade_id, qty, mine[0].price, fee, "maker", ts)


def live_polymarket(settings: Settings) -> PolymarketVenue | None:
    """The live Polymarket venue when live trading is switched on and a wallet key is set.

    Returns None when live trading is off or no key is configured (``helix poly trade --live``
    says why before it gets here).

    Raises:
        ConfigError: the SDK gateway cannot be built from the settings.
    """
    if not settings.live_trading:
        return None
    from helix.venues.credentials import polymarket_keys

    keys = polymarket_keys()
    if keys is None:
        return None
    try:
        from helix.venues.polymarket_sdk import PolymarketGateway
    except ImportError as exc:  # pragma: no cover - the gateway ships with Helix
        raise ConfigError(f"the Polymarket gateway is not available: {exc}") from exc
    gateway = PolymarketGateway(settings, keys)
    return PolymarketVenue(gateway, opener=gateway)
