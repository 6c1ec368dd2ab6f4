"""Estimated liquidation prices for USDT linear perpetuals (isolated margin), ``quant.md`` §1.

Two families of functions, chosen by use:

* **Decimal-exact** (``liquidation_price``, ``select_tier``, ``tier_deductions``,
  ``simplified_liquidation_price``): single prices used by the risk code. They accept ``Decimal``
  (or ``int``/``str`` convertible exactly); floats are converted through ``str`` so that ``0.005``
  means exactly ``Decimal("0.005")``. Results are exact ``Decimal`` values (TV-1 is exact).
* **float64 numpy** (``simplified_liquidation_prices``): vectorised estimators for heatmaps
  (LHM-1, ``helix.quant.heatmap``), where millions of levels are priced at once.

Fees to close are ignored in the estimator (reference §1.1, [OURS]).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import numpy as np
import numpy.typing as npt

Side = Literal["long", "short"]
Number = Decimal | int | float | str

__all__ = [
    "BYBIT_BTCUSDT_TIERS",
    "LiquidationBreakdown",
    "RiskTier",
    "Side",
    "bankruptcy_price",
    "liquidation_breakdown",
    "liquidation_price",
    "select_tier",
    "simplified_liquidation_price",
    "simplified_liquidation_prices",
    "tier_deductions",
]


def _d(x: Number) -> Decimal:
    """Convert to ``Decimal`` exactly as written (floats go through ``str``)."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, float):
        return Decimal(repr(x))
    return Decimal(x)


@dataclass(frozen=True, slots=True)
class RiskTier:
    """One risk-limit tier (Bybit ``/v5/market/risk-limit`` row).

    Attributes:
        risk_limit_value: Upper bound of position value (USDT) for this tier, inclusive.
        max_leverage: Highest leverage allowed in this tier.
        mmr: Maintenance margin rate (fraction).
        mm_deduction: Maintenance margin deduction (USDT).
    """

    risk_limit_value: Decimal
    max_leverage: Decimal
    mmr: Decimal
    mm_deduction: Decimal


#: Frozen BTCUSDT snapshot from ``quant.md`` §1.2 (a test fixture; reload from the API at run time).
BYBIT_BTCUSDT_TIERS: tuple[RiskTier, ...] = (
    RiskTier(Decimal(2_000_000), Decimal(100), Decimal("0.005"), Decimal(0)),
    RiskTier(Decimal(2_600_000), Decimal(90), Decimal("0.0056"), Decimal(1200)),
    RiskTier(Decimal(3_200_000), Decimal(80), Decimal("0.0063"), Decimal(3020)),
    RiskTier(Decimal(3_800_000), Decimal(75), Decimal("0.0067"), Decimal(4300)),
)


def tier_deductions(risk_limits: Sequence[Number], mmrs: Sequence[Number]) -> list[Decimal]:
    """Recompute MM deductions: ``Ded_n = RiskLimit_{n-1}·(MMR_n − MMR_{n-1}) + Ded_{n-1}``.

    Args:
        risk_limits: ``riskLimitValue`` per tier, ascending.
        mmrs: Maintenance margin rate per tier.

    Returns:
        Exact deductions per tier, ``Ded_1 = 0``.

    Raises:
        ValueError: If the sequences differ in length or are empty.
    """
    if len(risk_limits) != len(mmrs) or not mmrs:
        raise ValueError("risk_limits and mmrs must be non-empty and of equal length")
    out = [Decimal(0)]
    for n in range(1, len(mmrs)):
        out.append(_d(risk_limits[n - 1]) * (_d(mmrs[n]) - _d(mmrs[n - 1])) + out[-1])
    return out


def select_tier(
    position_value: Number, leverage: Number, tiers: Sequence[RiskTier] = BYBIT_BTCUSDT_TIERS
) -> RiskTier:
    """Pick the lowest tier with ``PV ≤ riskLimitValue`` (§1.2, [OURS]).

    Args:
        position_value: ``Qty × Entry`` in USDT.
        leverage: Requested leverage.
        tiers: Tier table sorted by ``risk_limit_value`` ascending.

    Returns:
        The matching tier.

    Raises:
        ValueError: If PV exceeds the last tier or leverage exceeds the tier's ``max_leverage``.
    """
    pv, lev = _d(position_value), _d(leverage)
    for tier in tiers:
        if pv <= tier.risk_limit_value:
            if lev > tier.max_leverage:
                raise ValueError(f"leverage {lev} exceeds tier max {tier.max_leverage}")
            return tier
    raise ValueError(f"position value {pv} exceeds the largest risk limit")


@dataclass(frozen=True, slots=True)
class LiquidationBreakdown:
    """Intermediate values of the exchange formula (§1.1), all exact.

    Attributes:
        position_value: ``Qty × Entry``.
        initial_margin: ``PV / L``.
        maintenance_margin: ``PV × MMR − MMDeduction``.
        liquidation_price: The estimated liquidation price.
    """

    position_value: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    liquidation_price: Decimal


def liquidation_breakdown(
    side: Side,
    qty: Number,
    entry: Number,
    leverage: Number,
    mmr: Number,
    mm_deduction: Number = 0,
    extra_margin: Number = 0,
) -> LiquidationBreakdown:
    """Bybit isolated-margin liquidation price with its intermediate values (§1.1).

    ``Long: LP = Entry − (IM − MM)/Qty − Extra/Qty``;
    ``Short: LP = Entry + (IM − MM)/Qty + Extra/Qty``.

    Args:
        side: ``"long"`` or ``"short"``.
        qty: Position size in base units (> 0).
        entry: Entry price.
        leverage: Leverage ``L`` (IMR = 1/L).
        mmr: Maintenance margin rate.
        mm_deduction: Tier MM deduction (USDT).
        extra_margin: Margin added beyond IM (USDT).

    Returns:
        Exact breakdown.

    Raises:
        ValueError: On non-positive qty, entry or leverage, or an unknown side.
    """
    q, p, lev = _d(qty), _d(entry), _d(leverage)
    if q <= 0 or p <= 0 or lev <= 0:
        raise ValueError("qty, entry and leverage must be positive")
    pv = q * p
    im = pv / lev
    mm = pv * _d(mmr) - _d(mm_deduction)
    shift = (im - mm) / q + _d(extra_margin) / q
    if side == "long":
        lp = p - shift
    elif side == "short":
        lp = p + shift
    else:
        raise ValueError(f"unknown side {side!r}")
    return LiquidationBreakdown(pv, im, mm, lp)


def liquidation_price(
    side: Side,
    qty: Number,
    entry: Number,
    leverage: Number,
    *,
    mmr: Number | None = None,
    mm_deduction: Number | None = None,
    extra_margin: Number = 0,
    tiers: Sequence[RiskTier] = BYBIT_BTCUSDT_TIERS,
) -> Decimal:
    """Exact liquidation price; MMR/deduction come from the tier table unless given.

    Args:
        side: ``"long"`` or ``"short"``.
        qty: Position size in base units.
        entry: Entry price.
        leverage: Leverage.
        mmr: Explicit maintenance rate; if ``None`` the tier of ``PV`` is looked up.
        mm_deduction: Explicit deduction; defaults to the tier's (or 0 when ``mmr`` is given).
        extra_margin: Extra margin (USDT).
        tiers: Risk-limit tiers used for the lookup.

    Returns:
        The liquidation price as an exact ``Decimal``.
    """
    if mmr is None:
        tier = select_tier(_d(qty) * _d(entry), leverage, tiers)
        mmr = tier.mmr
        if mm_deduction is None:
            mm_deduction = tier.mm_deduction
    ded = 0 if mm_deduction is None else mm_deduction
    return liquidation_breakdown(
        side, qty, entry, leverage, mmr, ded, extra_margin
    ).liquidation_price


def bankruptcy_price(side: Side, entry: Number, leverage: Number) -> Decimal:
    """Bankruptcy price (0% margin): long ``E(1 − 1/L)``, short ``E(1 + 1/L)`` (§1.1)."""
    return simplified_liquidation_price(side, entry, leverage, 0)


def simplified_liquidation_price(
    side: Side, price: Number, leverage: Number, mmr: Number = Decimal("0.005")
) -> Decimal:
    """§1.3 estimator ``P(1 ∓ 1/L ± m)``, exact. ``mmr=0`` gives the "1/L" version.

    Args:
        side: ``"long"`` or ``"short"``.
        price: Entry proxy ``P``.
        leverage: Leverage ``L``.
        mmr: Maintenance rate ``m`` (default 0.005, Appendix A).

    Returns:
        Exact estimated liquidation price.

    Raises:
        ValueError: On an unknown side.
    """
    p, inv, m = _d(price), 1 / _d(leverage), _d(mmr)
    if side == "long":
        return p * (1 - inv + m)
    if side == "short":
        return p * (1 + inv - m)
    raise ValueError(f"unknown side {side!r}")


def simplified_liquidation_prices(
    side: Side,
    price: npt.ArrayLike,
    leverage: npt.ArrayLike,
    mmr: float = 0.005,
) -> npt.NDArray[np.float64]:
    """Vectorised float64 version of :func:`simplified_liquidation_price` (broadcasting).

    The multiplier ``1 ∓ 1/L ± m`` is computed first and then multiplied by ``P``, the same
    order the heatmap uses, so both agree bit-for-bit.

    Args:
        side: ``"long"`` or ``"short"``.
        price: Entry prices.
        leverage: Leverages (broadcast against ``price``).
        mmr: Maintenance rate ``m``.

    Returns:
        Liquidation prices, float64.

    Raises:
        ValueError: On an unknown side.
    """
    p = np.asarray(price, dtype=np.float64)
    inv = 1.0 / np.asarray(leverage, dtype=np.float64)
    if side == "long":
        k = 1.0 - inv + mmr
    elif side == "short":
        k = 1.0 + inv - mmr
    else:
        raise ValueError(f"unknown side {side!r}")
    return np.asarray(p * k, dtype=np.float64)
