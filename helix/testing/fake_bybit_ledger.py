"""Records and pure arithmetic of the private side of :class:`helix.testing.fake_bybit.FakeBybit`.

Orders, executions, positions and the wallet as plain dataclasses (money is ``Decimal``), the
request validation Bybit answers with ``retCode`` 10001, and :func:`apply_fill`, the one-way
position netting.  :mod:`helix.testing.fake_bybit_account` drives them; see its docstring for
what the fake models and what it does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

BUY, SELL = "Buy", "Sell"
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PostOnly")
OPEN = ("New", "PartiallyFilled")
ZERO = Decimal(0)
LEVERAGE = Decimal(10)
MM_RATE = Decimal("0.005")


class OrderError(Exception):
    """A request Bybit answers with a non-zero ``retCode`` (HTTP 200)."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg


@dataclass(frozen=True, kw_only=True)
class Rules:
    """An instrument's trading rules (from ``/v5/market/instruments-info``)."""

    symbol: str
    tick: Decimal
    qty_step: Decimal
    min_qty: Decimal
    max_qty: Decimal


@dataclass(frozen=True, kw_only=True)
class OrderRequest:
    """A validated-shape ``/v5/order/create`` request (values still to be checked)."""

    symbol: str
    side: str
    order_type: str
    qty: Decimal
    price: Decimal | None = None
    time_in_force: str = "GTC"
    order_link_id: str = ""
    reduce_only: bool = False
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None


@dataclass(kw_only=True)
class Order:
    order_id: str
    order_link_id: str
    symbol: str
    side: str
    order_type: str
    price: Decimal | None  # None for Market orders
    qty: Decimal
    time_in_force: str
    reduce_only: bool
    take_profit: Decimal | None
    stop_loss: Decimal | None
    created_ms: int
    updated_ms: int
    last_price_on_created: Decimal
    status: str = "New"
    cum_exec_qty: Decimal = ZERO
    cum_exec_value: Decimal = ZERO
    cum_exec_fee: Decimal = ZERO
    reject_reason: str = "EC_NoError"
    cancel_type: str = "UNKNOWN"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def leaves_qty(self) -> Decimal:
        return self.qty - self.cum_exec_qty if self.is_open else ZERO

    @property
    def avg_price(self) -> Decimal | None:
        return self.cum_exec_value / self.cum_exec_qty if self.cum_exec_qty else None


@dataclass(frozen=True, kw_only=True)
class Execution:
    exec_id: str
    exec_type: str  # "Trade" | "Funding"
    symbol: str
    order_id: str
    order_link_id: str
    side: str
    exec_price: Decimal
    exec_qty: Decimal
    exec_value: Decimal
    exec_fee: Decimal  # > 0 paid, < 0 received
    fee_rate: Decimal  # the funding rate for Funding rows
    exec_time: int
    is_maker: bool
    order_price: Decimal | None
    order_qty: Decimal
    order_type: str
    leaves_qty: Decimal
    closed_size: Decimal
    mark_price: Decimal
    exec_pnl: Decimal  # price PnL of the closed part (fees excluded)
    seq: int


@dataclass(kw_only=True)
class Position:
    symbol: str
    qty: Decimal = ZERO  # signed: > 0 long, < 0 short
    entry_price: Decimal = ZERO
    mark_price: Decimal = ZERO  # as of the last snapshot
    cur_realised_pnl: Decimal = ZERO
    cum_realised_pnl: Decimal = ZERO
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    created_ms: int = 0
    updated_ms: int = 0
    seq: int = 0

    @property
    def side(self) -> str:
        return BUY if self.qty > 0 else SELL if self.qty < 0 else ""

    @property
    def size(self) -> Decimal:
        return abs(self.qty)

    @property
    def value(self) -> Decimal:
        return self.size * self.entry_price

    @property
    def unrealised_pnl(self) -> Decimal:
        return self.qty * (self.mark_price - self.entry_price) if self.qty else ZERO


@dataclass(frozen=True, kw_only=True)
class Wallet:
    balance: Decimal
    unrealised_pnl: Decimal
    cum_realised_pnl: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal

    @property
    def equity(self) -> Decimal:
        return self.balance + self.unrealised_pnl


Update = tuple[str, Order | Execution | Position | Wallet]  # (private WS topic, snapshot)


def params_error(msg: str) -> OrderError:
    return OrderError(10001, f"params error: {msg}")


def check_request(req: OrderRequest, rules: Rules | None) -> Rules:
    """The instrument's rules if ``req`` is well formed (raises :class:`OrderError` 10001)."""
    if rules is None:
        raise params_error(f"symbol invalid: {req.symbol!r} (USDT linear perpetuals only)")
    if req.side not in (BUY, SELL):
        raise params_error(f"side must be Buy or Sell, not {req.side!r}")
    if req.order_type not in ("Market", "Limit"):
        raise params_error(f"orderType must be Market or Limit, not {req.order_type!r}")
    if req.time_in_force not in TIME_IN_FORCE:
        raise params_error(f"timeInForce must be one of {', '.join(TIME_IN_FORCE)}")
    if len(req.order_link_id) > 36:
        raise params_error("orderLinkId is longer than 36 characters")
    check_qty(req.qty, rules)
    if req.order_type == "Limit":
        if req.price is None:
            raise params_error("price is required for a Limit order")
        check_price(req.price, rules)
    for name, value in (("takeProfit", req.take_profit), ("stopLoss", req.stop_loss)):
        if value is not None and (value <= 0 or value % rules.tick != 0):
            raise params_error(
                f"{name} {value} is not a positive multiple of tickSize {rules.tick}"
            )
    return rules


def check_qty(qty: Decimal, rules: Rules) -> None:
    if qty < rules.min_qty:
        raise params_error(f"qty {qty} is below minOrderQty {rules.min_qty}")
    if qty > rules.max_qty:
        raise params_error(f"qty {qty} is above maxOrderQty {rules.max_qty}")
    if qty % rules.qty_step != 0:
        raise params_error(f"qty {qty} is not a multiple of qtyStep {rules.qty_step}")


def check_price(price: Decimal, rules: Rules) -> None:
    if price <= 0 or price % rules.tick != 0:
        raise params_error(f"price {price} is not a positive multiple of tickSize {rules.tick}")


def apply_fill(
    pos: Position, side: str, qty: Decimal, price: Decimal, now_ms: int
) -> tuple[Decimal, Decimal]:
    """Net a fill into a one-way position; returns ``(closed size, price PnL of it)``.

    Adding averages the entry price; reducing realises ``closed x (price - entry)`` (sign by
    side); a fill larger than the position closes it and opens the rest at ``price``."""
    signed = qty if side == BUY else -qty
    if pos.qty == 0:
        pos.cur_realised_pnl = ZERO  # a new position starts its own realised PnL
        pos.take_profit = pos.stop_loss = None
        pos.created_ms = now_ms
    pos.updated_ms = now_ms
    if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
        size = pos.size + qty
        pos.entry_price = (pos.size * pos.entry_price + qty * price) / size
        pos.qty += signed
        return ZERO, ZERO
    closed = min(qty, pos.size)
    pnl = closed * (price - pos.entry_price) * (1 if pos.qty > 0 else -1)
    pos.qty += signed
    if pos.qty == 0:
        pos.entry_price = ZERO
    elif qty > closed:  # flipped: the rest opened a new position at this price
        pos.entry_price = price
        pos.created_ms = now_ms
    return closed, pnl
