"""Trading rules per market: tick size, quantity step, minimum size.

``sim`` instruments come from the simulator's symbol specs; Bybit's from its
``/v5/market/instruments-info`` (read once when the service starts); Polymarket outcome
tokens' from the latest ``PolyMarket`` listing in the log (tick ``0.01`` and a minimum of 5
shares unless the listing says otherwise, quantity step ``0.01``).  Markets that none knows
(recorded archives of other venues) get rules inferred from the prices and quantities seen in
the log, so paper trading works on any recorded market.

Polymarket's own rules, checked before the guardian (:func:`venue_checks`): prices lie strictly
between 0 and 1, and a sell is always reduce-only (outcome tokens cannot be shorted).  Its paper
venue charges no fee and no slippage (:func:`paper_config`).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from commands.orders import PlaceOrder
from commands.risk import Instrument
from events.poly import VENUE as POLYMARKET
from events.poly import PolyMarket
from helix.sim.paths import SPECS
from helix.venues.paper import PaperConfig

POLY_TICK = Decimal("0.01")
POLY_QTY_STEP = Decimal("0.01")
POLY_MIN_SIZE = Decimal(5)


def sim_instruments() -> dict[tuple[str, str], Instrument]:
    """The simulator's symbols on venue ``sim``."""
    out: dict[tuple[str, str], Instrument] = {}
    for symbol, spec in SPECS.items():
        tick = Decimal(1).scaleb(-spec.price_decimals)
        step = Decimal(1).scaleb(-spec.qty_decimals)
        out[("sim", symbol)] = Instrument(symbol, tick, step, step)
    return out


def bybit_instruments(items: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Instrument]:
    """Bybit ``instruments-info`` list items (linear) as instruments on venue ``bybit``."""
    out: dict[tuple[str, str], Instrument] = {}
    for it in items:
        pf, lf = it.get("priceFilter") or {}, it.get("lotSizeFilter") or {}
        try:
            out[("bybit", it["symbol"])] = Instrument(
                it["symbol"],
                Decimal(pf["tickSize"]),
                Decimal(lf["qtyStep"]),
                Decimal(lf["minOrderQty"]),
                Decimal(lf.get("minNotionalValue") or 0),
            )
        except (KeyError, ArithmeticError):
            continue
    return out


def inferred(symbol: str, price: Decimal, qty: Decimal) -> Instrument:
    """Rules read off one recorded trade: the tick and step its printed decimals show
    (a guess for archives of markets Helix has no instrument list for)."""
    tick = Decimal(1).scaleb(_exponent(price, -2))
    step = Decimal(1).scaleb(_exponent(qty, -3))
    tick, step = min(tick, Decimal(1)), min(step, Decimal(1))
    return Instrument(symbol, tick, step, step)


def _exponent(x: Decimal, default: int) -> int:
    """The decimals the venue printed (``1.000`` -> -3: its step, not the value's)."""
    exp = x.as_tuple().exponent if x else default
    return exp if isinstance(exp, int) else default


def polymarket_instrument(token_id: str, market: PolyMarket | None = None) -> Instrument:
    """An outcome token's rules: the listing's tick and minimum size, else the defaults."""
    tick = market.tick_size if market is not None and market.tick_size else POLY_TICK
    min_size = market.min_size if market is not None and market.min_size else POLY_MIN_SIZE
    return Instrument(token_id, tick, POLY_QTY_STEP, min_size)


def polymarket_instruments(markets: Iterable[PolyMarket]) -> dict[tuple[str, str], Instrument]:
    """Every outcome token of ``markets`` (the latest listing of each) on venue ``polymarket``."""
    out: dict[tuple[str, str], Instrument] = {}
    for m in markets:
        for token in m.token_ids:
            out[(POLYMARKET, token)] = polymarket_instrument(token, m)
    return out


def paper_config(venue: str) -> PaperConfig:
    """The paper venue's fee and slippage rules for a market (Polymarket: none)."""
    if venue == POLYMARKET:
        return PaperConfig(taker_fee=Decimal(0), maker_fee=Decimal(0), slippage=Decimal(0))
    return PaperConfig()


def venue_checks(cmd: PlaceOrder) -> tuple[str, ...]:
    """A venue's own order rules, as failed checks (``"<name>: <why>"``; empty: none failed)."""
    if cmd.venue != POLYMARKET:
        return ()
    failed = []
    if cmd.side == "sell" and not cmd.reduce_only:
        failed.append(
            "no_short: a Polymarket sell must be reduce-only (outcome tokens cannot be shorted)"
        )
    for name, price in (("limit", cmd.limit_price), ("trigger", cmd.trigger_price)):
        if price is not None and not Decimal(0) < price < Decimal(1):
            failed.append(f"price_range: {name} price {price} must lie strictly between 0 and 1")
    return tuple(failed)
