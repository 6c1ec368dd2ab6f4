"""The pure trading state behind the private side of :class:`helix.testing.fake_bybit.FakeBybit`.

No I/O and no clock: callers pass ``now_ms``.  One :class:`FakeAccount` is one Bybit unified
account trading USDT-settled linear perpetuals in one-way mode (``positionIdx`` 0).

What it models:

- Orders: ``Market`` and ``Limit``, ``Buy``/``Sell``, ``timeInForce`` GTC/IOC/FOK/PostOnly,
  ``orderLinkId`` (at most 36 characters, unique per account for ever: error 110072),
  ``reduceOnly`` (rejected with 110017 when it would open or grow a position; its qty is capped
  to the position size), ``takeProfit``/``stopLoss`` stored (and copied to the position) but
  never triggered.  Validation uses the instrument's ``tickSize``/``qtyStep``/``minOrderQty``/
  ``maxOrderQty`` (error 10001).  Statuses: New, PartiallyFilled, Filled, Cancelled, Rejected.
- Matching is deterministic and driven by the test, against one price per symbol
  (:meth:`FakeAccount.set_price`; by default the caller's ``default_price``).  Taker fills
  happen at that price, with unlimited size unless ``liquidity`` was given (consumed by taker
  fills until the next ``set_price``).  A Market order fills at once (remainder Cancelled);
  a marketable Limit order fills as taker at the current price (IOC remainder Cancelled, FOK
  all-or-nothing, GTC remainder rests); a PostOnly order that would cross is Rejected with
  ``EC_PostOnlyWillTakeLiquidity``.  A resting order fills as maker at its limit price when
  ``set_price`` crosses it (a buy when price <= limit), or via :meth:`FakeAccount.fill`.
- Fees: taker/maker rates on ``qty x price``, exact (no rounding).  Positions: net per symbol
  with the average entry price, ``unrealisedPnl`` at the current price, and Bybit's realised
  PnL convention (``curRealisedPnl``/``cumRealisedPnl`` include the fees paid and funding).
  ``settle_funding`` books a ``Funding`` execution (``execFee`` > 0 = paid) on the balance.
- The wallet: one USDT coin; balance = start + realised PnL - fees - funding.

What it does NOT model: an order book or other traders, slippage, conditional/TP-SL
triggering, hedge mode, leverage changes (fixed at 10x: IM = value/10, MM = 0.5% of value),
margin checks (no 110007), liquidation, mark vs last price (one price per symbol), spot,
options, inverse or USDC contracts, fee rounding, and the 500-closed-orders limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal

from helix.testing.fake_bybit_ledger import (
    BUY,
    LEVERAGE,
    MM_RATE,
    SELL,
    ZERO,
    Execution,
    Order,
    OrderError,
    OrderRequest,
    Position,
    Rules,
    Update,
    Wallet,
    apply_fill,
    check_price,
    check_qty,
    check_request,
    params_error,
)


class FakeAccount:
    """Orders, matching, positions, executions and the wallet (see the module docstring).

    Every mutating method returns the private-WS updates it caused, in order (snapshots)."""

    def __init__(
        self,
        rules: Mapping[str, Rules],
        *,
        balance: Decimal,
        taker_fee: Decimal = Decimal("0.00055"),
        maker_fee: Decimal = Decimal("0.0002"),
        default_price: Callable[[str], Decimal] | None = None,
    ) -> None:
        self.rules = dict(rules)
        self.balance = balance
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self.orders: dict[str, Order] = {}  # by orderId, in creation order
        self.by_link: dict[str, str] = {}  # orderLinkId -> orderId
        self.executions: list[Execution] = []  # oldest first
        self.positions: dict[str, Position] = {}
        self.prices: dict[str, Decimal] = {}
        self.liquidity: dict[str, Decimal] = {}  # taker qty left at the price (absent: any)
        self._default_price = default_price
        self._seq = 0
        self._n_exec = 0

    # -- lookups ------------------------------------------------------------------------------

    def price(self, symbol: str) -> Decimal:
        if symbol not in self.prices:
            if self._default_price is None:
                raise OrderError(10001, f"params error: no price for {symbol} (set_price)")
            self.prices[symbol] = self._default_price(symbol)
        return self.prices[symbol]

    def find(self, order_id: str | None = None, order_link_id: str | None = None) -> Order:
        """The order by ``orderId`` (first) or ``orderLinkId``; 110001 if there is none."""
        oid = order_id or self.by_link.get(order_link_id or "")
        order = self.orders.get(oid or "")
        if order is None or (order_link_id and order.order_link_id != order_link_id):
            raise OrderError(110001, "order not exists or too late to cancel")
        return order

    def position(self, symbol: str) -> Position:
        """A snapshot of the symbol's position (flat if never traded)."""
        pos = self.positions.get(symbol) or Position(symbol=symbol)
        known = pos.qty != 0 or symbol in self.prices or self._default_price is not None
        return replace(pos, mark_price=self.price(symbol) if known else ZERO)

    def wallet(self) -> Wallet:
        snaps = [self.position(s) for s in self.positions]
        return Wallet(
            balance=self.balance,
            unrealised_pnl=sum((p.unrealised_pnl for p in snaps), ZERO),
            cum_realised_pnl=sum((p.cum_realised_pnl for p in snaps), ZERO),
            initial_margin=sum((p.value / LEVERAGE for p in snaps), ZERO),
            maintenance_margin=sum((p.value * MM_RATE for p in snaps), ZERO),
        )

    # -- requests -----------------------------------------------------------------------------

    def place(self, req: OrderRequest, now_ms: int) -> tuple[Order, list[Update]]:
        """Validate and accept an order, then match it (raises :class:`OrderError`)."""
        check_request(req, self.rules.get(req.symbol))
        if req.order_link_id and req.order_link_id in self.by_link:
            raise OrderError(110072, "OrderLinkedID is duplicate")
        qty = req.qty
        if req.reduce_only:
            pos = self.positions.get(req.symbol)
            closing = SELL if pos is not None and pos.qty > 0 else BUY
            if pos is None or pos.qty == 0 or req.side != closing:
                raise OrderError(110017, "Reduce-only rule not satisfied")
            qty = min(qty, pos.size)
        market = req.order_type == "Market"
        order = Order(
            order_id=f"fa4e0000-0000-4000-8000-{len(self.orders) + 1:012x}",
            order_link_id=req.order_link_id,
            symbol=req.symbol,
            side=req.side,
            order_type=req.order_type,
            price=None if market else req.price,
            qty=qty,
            time_in_force="IOC" if market else req.time_in_force,
            reduce_only=req.reduce_only,
            take_profit=req.take_profit,
            stop_loss=req.stop_loss,
            created_ms=now_ms,
            updated_ms=now_ms,
            last_price_on_created=self.price(req.symbol),
        )
        self.orders[order.order_id] = order
        if order.order_link_id:
            self.by_link[order.order_link_id] = order.order_id
        updates: list[Update] = [("order", replace(order))]
        updates += self._match_taker(order, now_ms)
        return order, updates

    def amend(
        self, order: Order, qty: Decimal | None, price: Decimal | None, now_ms: int
    ) -> list[Update]:
        """Change an open order's qty and/or limit price; a now marketable price trades."""
        if not order.is_open:
            raise OrderError(110001, "order not exists or too late to amend")
        rules = self.rules[order.symbol]
        if qty is None and price is None:
            raise params_error("nothing to amend (qty or price)")
        if qty is not None:
            check_qty(qty, rules)
            if qty <= order.cum_exec_qty:
                raise params_error("qty must be greater than cumExecQty")
        if price is not None:
            if order.order_type == "Market":
                raise params_error("cannot amend the price of a market order")
            check_price(price, rules)
            if order.time_in_force == "PostOnly" and self._crosses(order.side, price, order.symbol):
                raise OrderError(110079, "PostOnly order would take liquidity; amend refused")
        if qty is not None:
            order.qty = qty
        if price is not None:
            order.price = price
        order.updated_ms = now_ms
        updates: list[Update] = [("order", replace(order))]
        return updates + self._match_taker(order, now_ms)

    def cancel(self, order: Order, now_ms: int) -> list[Update]:
        if not order.is_open:
            raise OrderError(110001, "order not exists or too late to cancel")
        return self._close(order, "Cancelled", now_ms, cancel_type="CancelByUser")

    # -- test controls ------------------------------------------------------------------------

    def set_price(
        self, symbol: str, price: Decimal, liquidity: Decimal | None, now_ms: int
    ) -> list[Update]:
        """Set the symbol's price (and taker liquidity); resting orders it crosses fill as
        makers at their limit price, best price first, then oldest first."""
        if symbol not in self.rules:
            raise ValueError(f"{symbol!r} is not a tradable USDT linear perpetual of the fake")
        if price <= 0:
            raise ValueError("price must be > 0")
        self.prices[symbol] = price
        self.liquidity.pop(symbol, None)
        if liquidity is not None:
            self.liquidity[symbol] = liquidity
        crossed = [
            (-o.price if o.side == BUY else o.price, o.price, o)
            for o in self.orders.values()
            if o.symbol == symbol and o.is_open and o.price is not None
            and (o.price >= price if o.side == BUY else o.price <= price)
        ]  # fmt: skip
        crossed.sort(key=lambda t: t[0])  # stable: oldest first at the same price
        updates: list[Update] = []
        for _, limit, order in crossed:
            if order.is_open:  # a reduce-only order may have been cancelled meanwhile
                updates += self._fill(order, order.leaves_qty, limit, True, now_ms)
        return updates

    def fill(self, order: Order, qty: Decimal, price: Decimal | None, now_ms: int) -> list[Update]:
        """A maker fill of a resting order (at its limit price unless ``price`` is given)."""
        if not order.is_open:
            raise ValueError(f"order {order.order_id} is {order.status}")
        if not 0 < qty <= order.leaves_qty:
            raise ValueError(f"fill qty {qty} not in (0, {order.leaves_qty}]")
        px = price if price is not None else order.price
        if px is None:
            raise ValueError("a market order needs an explicit fill price")
        return self._fill(order, qty, px, True, now_ms)

    def settle_funding(self, symbol: str, rate: Decimal, now_ms: int) -> list[Update]:
        """Book a funding settlement on the open position (none if flat): longs pay a
        positive rate on ``size x price``, shorts receive it."""
        pos = self.positions.get(symbol)
        if pos is None or pos.qty == 0:
            return []
        mark = self.price(symbol)
        value = pos.size * mark
        fee = value * rate if pos.qty > 0 else -value * rate
        pos.cur_realised_pnl -= fee
        pos.cum_realised_pnl -= fee
        self.balance -= fee
        pos.updated_ms = now_ms
        execution = Execution(
            exec_id=self._exec_id(), exec_type="Funding", symbol=symbol, order_id="",
            order_link_id="", side=pos.side, exec_price=mark, exec_qty=pos.size,
            exec_value=value, exec_fee=fee, fee_rate=rate, exec_time=now_ms, is_maker=False,
            order_price=None, order_qty=ZERO, order_type="UNKNOWN", leaves_qty=ZERO,
            closed_size=ZERO, mark_price=mark, exec_pnl=ZERO, seq=self._next_seq(),
        )  # fmt: skip
        self.executions.append(execution)
        pos.seq = execution.seq
        return [
            ("execution", execution),
            ("position", self.position(symbol)),
            ("wallet", self.wallet()),
        ]

    # -- matching -----------------------------------------------------------------------------

    def _crosses(self, side: str, limit: Decimal, symbol: str) -> bool:
        px = self.price(symbol)
        return px <= limit if side == BUY else px >= limit

    def _match_taker(self, order: Order, now_ms: int) -> list[Update]:
        symbol, tif = order.symbol, order.time_in_force
        marketable = order.price is None or self._crosses(order.side, order.price, symbol)
        if tif == "PostOnly":
            if not marketable:
                return []
            order.reject_reason = "EC_PostOnlyWillTakeLiquidity"
            return self._close(order, "Rejected", now_ms)
        available = self.liquidity.get(symbol, order.leaves_qty)
        if tif == "FOK" and (not marketable or available < order.leaves_qty):
            return self._close(order, "Cancelled", now_ms)
        updates: list[Update] = []
        qty = min(order.leaves_qty, available) if marketable else ZERO
        if qty > 0:
            updates += self._fill(order, qty, self.price(symbol), False, now_ms)
        if order.is_open and tif in ("IOC", "FOK"):
            updates += self._close(order, "Cancelled", now_ms)
        return updates

    def _fill(
        self, order: Order, qty: Decimal, price: Decimal, maker: bool, now_ms: int
    ) -> list[Update]:
        pos = self.positions.setdefault(order.symbol, Position(symbol=order.symbol))
        if order.reduce_only:  # the position may have shrunk since the order was placed
            reducible = pos.size if pos.side not in ("", order.side) else ZERO
            if reducible == 0:
                return self._close(order, "Cancelled", now_ms, cancel_type="CancelByReduceOnly")
            qty = min(qty, reducible)
        if not maker and order.symbol in self.liquidity:
            self.liquidity[order.symbol] -= qty
        rate = self.maker_fee if maker else self.taker_fee
        value = qty * price
        fee = value * rate
        closed, pnl = apply_fill(pos, order.side, qty, price, now_ms)
        if order.take_profit is not None and pos.qty != 0:
            pos.take_profit = order.take_profit
        if order.stop_loss is not None and pos.qty != 0:
            pos.stop_loss = order.stop_loss
        pos.cur_realised_pnl += pnl - fee
        pos.cum_realised_pnl += pnl - fee
        self.balance += pnl - fee
        order.cum_exec_qty += qty
        order.cum_exec_value += value
        order.cum_exec_fee += fee
        order.status = "Filled" if order.cum_exec_qty == order.qty else "PartiallyFilled"
        order.updated_ms = now_ms
        execution = Execution(
            exec_id=self._exec_id(), exec_type="Trade", symbol=order.symbol,
            order_id=order.order_id, order_link_id=order.order_link_id, side=order.side,
            exec_price=price, exec_qty=qty, exec_value=value, exec_fee=fee, fee_rate=rate,
            exec_time=now_ms, is_maker=maker, order_price=order.price, order_qty=order.qty,
            order_type=order.order_type, leaves_qty=order.leaves_qty, closed_size=closed,
            mark_price=self.price(order.symbol), exec_pnl=pnl, seq=self._next_seq(),
        )  # fmt: skip
        self.executions.append(execution)
        pos.seq = execution.seq
        updates: list[Update] = [
            ("execution", execution),
            ("order", replace(order)),
            ("position", self.position(order.symbol)),
            ("wallet", self.wallet()),
        ]
        if order.reduce_only and order.is_open and pos.qty == 0:  # nothing left to reduce
            updates += self._close(order, "Cancelled", now_ms, cancel_type="CancelByReduceOnly")
        return updates

    def _close(
        self, order: Order, status: str, now_ms: int, *, cancel_type: str = "UNKNOWN"
    ) -> list[Update]:
        order.status = status
        if status == "Cancelled":
            order.cancel_type = cancel_type
        order.updated_ms = now_ms
        return [("order", replace(order))]

    # -- ids ---------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _exec_id(self) -> str:
        self._n_exec += 1
        return f"fa4e0000-0000-4000-9000-{self._n_exec:012x}"
