"""Trading rules per market: tick size, quantity step, minimum size.

``sim`` instruments come from the simulator's symbol specs; Bybit's from its
``/v5/market/instruments-info`` (read once when the service starts).  Markets that neither
knows (recorded archives of other venues) get rules inferred from the prices and quantities
seen in the log, so paper trading works on any recorded market.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from commands.risk import Instrument
from helix.sim.paths import SPECS


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
