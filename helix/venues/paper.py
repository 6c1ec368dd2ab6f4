"""The paper venue: orders filled from the market events in the log, deterministically.

One instance per market (``sim``, ``bybit``...).  Rules ([OURS], configurable):

* **Acceptance** is immediate; the venue order id ``paper:<market seq>`` records the last market
  event the venue had seen, and only later market events can fill the order.  So a restarted
  service re-creates its resting orders from the log and replays the market from there, with
  the same fills (execution ids ``<order>:<market seq>``).
* **Market orders** fill at once, whole, at the last trade price moved ``slippage`` against
  the taker (the log records trades, not books); no price known yet → rejected.
* **Limit orders**: marketable at placement (a buy at or above the last price) fill at once as
  taker at the last price with slippage, capped at the limit; post-only orders that would do
  so are rejected.  Otherwise they rest (IOC/FOK expire instead) and fill as maker at their
  limit price from later trades that trade *through* it (strictly below a buy, above a sell;
  ``fill_on_touch`` also counts equal prices), at most the traded quantity per trade, so large
  orders fill partially.
* **Stop orders** trigger when a trade reaches the trigger price and then fill as market
  orders at that trade's price with slippage.
* **Fees**: taker / maker rates of the notional.
* **Funding**: a ticker whose time reaches the ``next_funding_ts`` announced by the previous
  ticker settles funding at that time with the previous ticker's rate and mark.

The venue is pure state plus these rules; the same code fills live paper sessions and replays.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from commands.orders import OrderState
from events.base import Event
from events.market import Ticker, Trade
from helix.venues.base import (
    Accepted,
    Cancelled,
    Expired,
    Fill,
    Funding,
    Modified,
    Rejected,
    Report,
    RequestRejected,
)

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PaperConfig:
    taker_fee: Decimal = Decimal("0.00055")
    maker_fee: Decimal = Decimal("0.0002")
    slippage: Decimal = Decimal("0.0002")
    fill_on_touch: bool = False


@dataclass(slots=True)
class Resting:
    order_id: uuid.UUID
    symbol: str
    side: str
    left: Decimal
    limit: Decimal | None
    trigger: Decimal | None
    accept_seq: int


@dataclass
class PaperVenue:
    """See the module docstring.  ``position`` is the last market sequence seen."""

    name: str
    config: PaperConfig = field(default_factory=PaperConfig)
    resting: dict[uuid.UUID, Resting] = field(default_factory=dict)
    last: dict[str, tuple[Decimal, int]] = field(default_factory=dict)  # symbol -> (px, ts)
    funding: dict[str, tuple[int, Decimal, Decimal]] = field(default_factory=dict)
    position: int = 0

    # -- helpers -------------------------------------------------------------------------------

    def _taker_price(self, side: str, px: Decimal) -> Decimal:
        slip = self.config.slippage
        return px * (1 + slip) if side == "buy" else px * (1 - slip)

    def _fill(
        self, order_id: uuid.UUID, qty: Decimal, price: Decimal, maker: bool, seq: int, ts: int
    ) -> Fill:
        rate = self.config.maker_fee if maker else self.config.taker_fee
        return Fill(
            order_id=order_id,
            exec_id=f"{order_id}:{seq}",
            qty=qty,
            price=price,
            fee=qty * price * rate,
            liquidity="maker" if maker else "taker",
            ts=ts,
        )

    def restore(self, order: OrderState) -> None:
        """Re-create a resting order from its events (after a restart)."""
        p = order.placed
        if not order.is_open or not order.venue_order_id.startswith("paper:"):
            return
        seq = int(order.venue_order_id.split(":", 1)[1])
        self.resting[order.order_id] = Resting(
            order.order_id, p.symbol, p.side, order.qty - order.cum_qty, order.limit_price,
            p.trigger_price, seq,
        )  # fmt: skip

    # -- instructions --------------------------------------------------------------------------

    async def submit(self, order: OrderState, *, now_ns: int) -> list[Report]:
        p = order.placed
        last = self.last.get(p.symbol)
        oid = order.order_id
        if last is None and p.order_type != "limit":
            return [Rejected(oid, f"no trade of {p.symbol} on {self.name} yet: no price to fill")]
        out: list[Report] = [Accepted(oid, f"paper:{self.position}")]
        left = order.qty - order.cum_qty
        if p.order_type == "market":
            assert last is not None
            out.append(self._fill(oid, left, self._taker_price(p.side, last[0]), False,
                                  self.position, now_ns))  # fmt: skip
            return out
        if p.order_type == "limit":
            limit = order.limit_price
            assert limit is not None
            marketable = last is not None and (
                last[0] <= limit if p.side == "buy" else last[0] >= limit
            )
            if marketable and p.time_in_force == "post_only":
                return [Rejected(oid, "post-only order would take liquidity")]
            if marketable:
                assert last is not None
                px = self._taker_price(p.side, last[0])
                px = min(px, limit) if p.side == "buy" else max(px, limit)
                out.append(self._fill(oid, left, px, False, self.position, now_ns))
                return out
            if p.time_in_force in ("ioc", "fok"):
                out.append(Expired(oid))
                return out
        self.resting[oid] = Resting(
            oid, p.symbol, p.side, left, order.limit_price, p.trigger_price, self.position
        )
        return out

    async def cancel(self, order: OrderState, *, now_ns: int) -> list[Report]:
        if self.resting.pop(order.order_id, None) is None:
            return [RequestRejected(order.order_id, "cancel", "order is not resting")]
        return [Cancelled(order.order_id, "cancelled")]

    async def amend(
        self, order: OrderState, qty: Decimal, limit_price: Decimal | None, *, now_ns: int
    ) -> list[Report]:
        r = self.resting.get(order.order_id)
        if r is None:
            return [RequestRejected(order.order_id, "modify", "order is not resting")]
        r.left = qty - order.cum_qty
        r.limit = limit_price
        return [Modified(order.order_id, qty, limit_price)]

    async def reconcile(self, open_orders: list[OrderState]) -> list[Report]:
        for o in open_orders:
            self.restore(o)
        return []

    # -- market --------------------------------------------------------------------------------

    def on_market(self, seq: int, event: Event) -> list[Report]:
        self.position = max(self.position, seq)
        if isinstance(event, Trade):
            self.last[event.symbol] = (event.price, event.ts_event)
            return self._match(seq, event)
        if isinstance(event, Ticker):
            return self._funding(event)
        return []

    def _match(self, seq: int, t: Trade) -> list[Report]:
        out: list[Report] = []
        budget = t.qty
        touch = self.config.fill_on_touch
        for r in list(self.resting.values()):
            if r.symbol != t.symbol or r.accept_seq >= seq or budget <= 0:
                continue
            px = t.price
            if r.trigger is not None and r.limit is None:  # stop: triggers, then fills as taker
                hit = px >= r.trigger if r.side == "buy" else px <= r.trigger
                if hit:
                    del self.resting[r.order_id]
                    out.append(self._fill(r.order_id, r.left, self._taker_price(r.side, px),
                                          False, seq, t.ts_event))  # fmt: skip
                continue
            assert r.limit is not None
            if r.side == "buy":
                crossed = px < r.limit or (touch and px == r.limit)
            else:
                crossed = px > r.limit or (touch and px == r.limit)
            if not crossed:
                continue
            qty = min(r.left, budget)
            budget -= qty
            r.left -= qty
            out.append(self._fill(r.order_id, qty, r.limit, True, seq, t.ts_event))
            if r.left <= 0:
                del self.resting[r.order_id]
        return out

    def _funding(self, t: Ticker) -> list[Report]:
        out: list[Report] = []
        prev = self.funding.get(t.symbol)
        if prev is not None and t.ts_event >= prev[0] > 0:
            out.append(Funding(self.name, t.symbol, prev[0], prev[1], prev[2]))
        if t.next_funding_ts is not None and t.funding_rate is not None:
            mark = t.mark_price or t.last_price or (prev[2] if prev else ZERO)
            self.funding[t.symbol] = (t.next_funding_ts, t.funding_rate, mark)
        elif prev is not None and t.ts_event >= prev[0]:
            del self.funding[t.symbol]
        return out
