"""The risk guardian: pure, configurable checks of an order against the account's state.

Every check that fails is named in the result (and so in the rejection event), with the
numbers that made it fail, e.g. ``max_position: 12,400 > 10% of equity 100,000``.  Checks:

============== ==========================================================================
trading_halted the account is halted (reduce-only orders still pass: they only cut risk)
daily_loss     today's net PnL (realised − fees + funding, UTC day) ≤ −limit × equity
no_price       no mark/last price known to value the order
tick_size      a limit/trigger price off the instrument's tick
lot_size       a quantity off the instrument's quantity step
min_size       a quantity below the instrument's minimum (or notional below its minimum)
price_band     a limit/trigger price further than ``price_band`` from the mark (reduce-only
               stops are exempt: a protective stop may be far away)
reduce_only    a reduce-only order that would open or grow a position
max_open       ``max_open_orders`` already open on the account
max_position   the symbol's exposure after the order (position + same-side open orders +
               this order) above ``max_position_pct`` of equity
max_leverage   the account's gross exposure after the order above ``max_leverage`` × equity
============== ==========================================================================

Reduce-only orders skip the exposure checks (they cannot add exposure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

ZERO = Decimal(0)


class RiskConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Limits (settings ``HELIX_RISK_*``).

    Attributes:
        max_position_pct: one symbol's exposure as a share of equity.
        max_leverage: gross exposure of all symbols over equity.
        max_open_orders: open orders per account.
        price_band: how far a limit or trigger price may sit from the mark (fraction).
        daily_loss_pct: the day's net loss, as a share of equity, that stops new risk.
    """

    max_position_pct: Decimal = Decimal("0.10")
    max_leverage: Decimal = Decimal("3")
    max_open_orders: int = 50
    price_band: Decimal = Decimal("0.05")
    daily_loss_pct: Decimal = Decimal("0.03")


@dataclass(frozen=True, slots=True)
class Instrument:
    """Trading rules of a symbol on a venue (Bybit's instruments-info, or the simulator's)."""

    symbol: str
    tick_size: Decimal
    qty_step: Decimal
    min_qty: Decimal
    min_notional: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What the guardian checks: a new order, or an order as it would be after a change."""

    side: str  # "buy" | "sell"
    qty: Decimal
    order_type: str  # "market" | "limit" | "stop"
    limit_price: Decimal | None = None
    trigger_price: Decimal | None = None
    reduce_only: bool = False

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.side == "buy" else -self.qty


@dataclass(frozen=True, slots=True)
class RiskView:
    """The account as the guardian sees it when the order arrives.

    Attributes:
        equity: balance + realised + unrealised PnL − fees + funding (quote currency).
        mark: the reference price of the order's symbol (mark, else last trade); None unknown.
        position: the symbol's signed position.
        open_buy / open_sell: quantity of open orders on the symbol by side (excluding the
            order being changed).
        gross_notional: the account's exposure in all other symbols (positions and open
            orders at their marks).
        open_orders: open orders on the account (excluding the order being changed).
        daily_pnl: today's net PnL.
        halted: the kill switch.
    """

    equity: Decimal
    mark: Decimal | None
    instrument: Instrument
    position: Decimal = ZERO
    open_buy: Decimal = ZERO
    open_sell: Decimal = ZERO
    gross_notional: Decimal = ZERO
    open_orders: int = 0
    daily_pnl: Decimal = ZERO
    halted: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def _fmt(x: Decimal) -> str:
    return f"{x:,.2f}" if abs(x) >= 1 else f"{x:,.6g}"


def _off_grid(value: Decimal, step: Decimal) -> bool:
    return step > 0 and value % step != 0


def check(intent: OrderIntent, view: RiskView, cfg: RiskConfig) -> tuple[str, ...]:
    """Every failed check as ``"<name>: <why>"`` (empty: the order may go).

    Args:
        intent: the order (or the order as modified).
        view: the account's state.
        cfg: the limits.
    """
    failed: list[str] = []
    inst = view.instrument
    reduce = intent.reduce_only
    if view.halted and not reduce:
        failed.append("trading_halted: the account is halted (only reduce-only orders pass)")
    loss_limit = cfg.daily_loss_pct * view.equity
    if not reduce and view.daily_pnl <= -loss_limit:
        failed.append(
            f"daily_loss: today's PnL {_fmt(view.daily_pnl)} ≤ −{_fmt(loss_limit)} "
            f"({cfg.daily_loss_pct:%} of equity)"
        )
    if intent.qty <= 0:
        failed.append(f"min_size: quantity {intent.qty} must be positive")
    if _off_grid(intent.qty, inst.qty_step):
        failed.append(f"lot_size: quantity {intent.qty} is not a multiple of {inst.qty_step}")
    if 0 < intent.qty < inst.min_qty:
        failed.append(f"min_size: quantity {intent.qty} < minimum {inst.min_qty}")
    for name, price in (("limit", intent.limit_price), ("trigger", intent.trigger_price)):
        if price is None:
            continue
        if price <= 0:
            failed.append(f"tick_size: {name} price {price} must be positive")
        elif _off_grid(price, inst.tick_size):
            failed.append(f"tick_size: {name} price {price} is not a multiple of {inst.tick_size}")
    mark = view.mark
    if mark is None or mark <= 0:
        failed.append("no_price: no mark or last price for the symbol yet")
        return tuple(failed)
    value_px = intent.limit_price or intent.trigger_price or mark
    if inst.min_notional and intent.qty * value_px < inst.min_notional:
        failed.append(
            f"min_size: notional {_fmt(intent.qty * value_px)} < minimum {inst.min_notional}"
        )
    for name, price in (("limit", intent.limit_price), ("trigger", intent.trigger_price)):
        if name == "trigger" and reduce:  # a protective stop may sit anywhere on the loss side
            continue
        if price is not None and price > 0 and abs(price / mark - 1) > cfg.price_band:
            failed.append(
                f"price_band: {name} price {_fmt(price)} is {abs(price / mark - 1):.2%} from "
                f"mark {_fmt(mark)} (band {cfg.price_band:.0%})"
            )
    position = view.position
    if reduce:
        after = position + intent.signed_qty
        if (
            position == 0
            or (after != 0 and (after > 0) != (position > 0))
            or (abs(after) > abs(position))
        ):
            failed.append(
                f"reduce_only: a {intent.side} of {intent.qty} would not reduce the position "
                f"{position}"
            )
        return tuple(failed)
    if view.open_orders >= cfg.max_open_orders:
        failed.append(f"max_open: {view.open_orders} orders open (limit {cfg.max_open_orders})")
    if view.equity <= 0:
        failed.append(f"max_position: equity {_fmt(view.equity)} leaves no room for risk")
        return tuple(failed)
    same_side = view.open_buy if intent.side == "buy" else view.open_sell
    worst = position + (same_side + intent.qty) * (1 if intent.side == "buy" else -1)
    exposure = abs(worst) * mark
    cap = cfg.max_position_pct * view.equity
    if exposure > cap:
        failed.append(
            f"max_position: {_fmt(exposure)} in the symbol > {cfg.max_position_pct:.0%} of "
            f"equity {_fmt(view.equity)} = {_fmt(cap)}"
        )
    gross = view.gross_notional + exposure
    if gross > cfg.max_leverage * view.equity:
        failed.append(
            f"max_leverage: gross exposure {_fmt(gross)} = {gross / view.equity:.2f}× equity "
            f"> {cfg.max_leverage}×"
        )
    return tuple(failed)
