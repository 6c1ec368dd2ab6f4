"""The auto-trader: turns stop-hunt signals into orders with a stop, a target and Kelly sizing.

Pure: it reads the signal, the trading book (equity, positions, open orders) and the marks, and
returns :class:`~commands.orders.PlaceOrder` commands; the execution service and its risk
guardian decide the rest.  The same code follows signals in a live (paper) session and in a
backtest.  Rules ([OURS], parameters in :class:`AutoTraderConfig`):

* A **bull stop hunt** (longs swept, price closed back above the cluster) is bought at market;
  a **bear** one sold.  One position per market: no entry while the market has a position or
  an open entry order of this account.
* **Stop** just beyond the sweep's extreme (``sl_buffer``), **target** at ``reward_risk`` times
  the stop distance, both rounded to the tick away from the entry.
* **Size** by Kelly for a perp with a stop and a target (quant.md §6.2,
  :func:`helix.quant.sizing.perp_position`): the equity fraction lost at the stop is
  ``min(cap, λ·f*(p, b))`` with ``b = (tp − fee)/(sl + fee)``; the notional is capped at
  ``max_notional_pct`` of equity (under the guardian's position limit) and the quantity is
  rounded down to the lot.
* Command ids derive from the signal's id, so a signal processed twice (a restart, a replay)
  places nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import msgspec

from commands.book import TradingBook
from commands.orders import PlaceOrder
from commands.risk import Instrument
from events.signals import Signal, StopHunt
from helix.quant.sizing import perp_position

STRATEGY = "autotrader"


class AutoTraderConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Parameters (``--params`` of a backtest, or settings of a live session).

    Attributes:
        account: the account it trades.
        win_prob: the hit probability Kelly assumes for a stop-hunt trade.
        kelly_fraction: λ of fractional Kelly.
        risk_cap: at most this fraction of equity lost at the stop.
        sl_buffer: stop distance beyond the sweep's extreme (fraction of price).
        reward_risk: target distance over stop distance.
        fee: round-trip fee rate assumed by the sizing.
        max_notional_pct: notional cap as a fraction of equity.
    """

    account: str = "paper"
    win_prob: float = 0.55
    kelly_fraction: float = 0.5
    risk_cap: float = 0.01
    sl_buffer: float = 0.0005
    reward_risk: float = 2.0
    fee: float = 0.0011
    max_notional_pct: float = 0.09


def _round(x: Decimal, step: Decimal, mode: str) -> Decimal:
    return (x / step).to_integral_value(rounding=mode) * step


class AutoTrader:
    """See the module docstring."""

    def __init__(self, config: AutoTraderConfig | None = None) -> None:
        self.cfg = config or AutoTraderConfig()

    def on_signal(
        self,
        signal: Signal,
        *,
        book: TradingBook,
        marks: Mapping[tuple[str, str], Decimal],
        instruments: Callable[[str, str], Instrument | None],
        equity: Decimal,
    ) -> list[PlaceOrder]:
        """Orders for one signal (usually none); ``equity`` is the account's equity now."""
        if not isinstance(signal, StopHunt):
            return []
        cfg = self.cfg
        venue, symbol = signal.venue, signal.symbol
        inst = instruments(venue, symbol)
        if inst is None or book.position(cfg.account, venue, symbol).size != 0:
            return []
        if any(
            (o.placed.venue, o.placed.symbol) == (venue, symbol) and not o.placed.reduce_only
            for o in book.open_orders(cfg.account)
        ):
            return []
        entry = marks.get((venue, symbol), signal.close)
        buy = signal.direction == "bull"
        buffer = Decimal(repr(cfg.sl_buffer))
        if buy:
            stop = _round(signal.low * (1 - buffer), inst.tick_size, ROUND_FLOOR)
            dist = entry - stop
        else:
            stop = _round(signal.high * (1 + buffer), inst.tick_size, ROUND_CEILING)
            dist = stop - entry
        if dist <= 0 or entry <= 0:
            return []
        reward = dist * Decimal(repr(cfg.reward_risk))
        target = (
            _round(entry + reward, inst.tick_size, ROUND_CEILING)
            if buy
            else _round(entry - reward, inst.tick_size, ROUND_FLOOR)
        )
        if equity <= 0:
            return []
        sizing = perp_position(
            cfg.win_prob, dist / entry, reward / entry, cfg.fee, equity,
            fraction=cfg.kelly_fraction, cap=cfg.risk_cap,
        )  # fmt: skip
        notional = min(sizing.notional, equity * Decimal(repr(cfg.max_notional_pct)))
        qty = _round(notional / entry, inst.qty_step, ROUND_FLOOR)
        if qty < inst.min_qty or qty <= 0:
            return []
        return [
            PlaceOrder(
                command_id=f"{STRATEGY}:{signal.event_id}",
                account=cfg.account,
                venue=venue,
                symbol=symbol,
                side="buy" if buy else "sell",
                qty=qty,
                stop_loss=stop,
                take_profit=target,
                strategy=STRATEGY,
            )
        ]
