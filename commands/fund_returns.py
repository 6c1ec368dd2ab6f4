"""Time- and money-weighted returns for a unitised fund (quant.md §9.3; pure).

* **TWR** of a unitised fund is ``NAV_end / NAV_start − 1`` (flows buy and redeem units at NAV,
  so they do not move it); :func:`chain_twr` links sub-period returns ``Π(1 + r_i) − 1``.
* **MWR** is the IRR of a member's (or the fund's) external flows: deposits negative,
  withdrawals and the terminal value positive.  :func:`irr` solves ``Σ cf_i (1+r)^−t_i = 0``
  by bisection in floats to ``|Δr| ≤ tol`` (default ``1e-12``; ~50 halvings of the bracket).
* **Modified Dietz** ``(V_end − V_start − ΣCF) / (V_start + Σ w_i CF_i)``, ``w_i = (T − t_i)/T``,
  with flows *into* the portfolio positive; computed in ``Decimal`` with the weights
  multiplied through by ``T``, so rational inputs give the exact quotient.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

from commands.fund import FUND_CONTEXT

Flow = tuple[float, float]
"""``(time in periods, amount)`` seen from the investor: paid in < 0, received > 0."""


def nav_returns(navs: Sequence[Decimal]) -> list[Decimal]:
    """Simple returns ``NAV_t / NAV_{t−1} − 1`` of a NAV-per-unit series (§9.1)."""
    ctx = FUND_CONTEXT
    return [ctx.subtract(ctx.divide(b, a), 1) for a, b in itertools.pairwise(navs)]


def twr(nav_start: Decimal, nav_end: Decimal) -> Decimal:
    """The time-weighted return of a unitised fund between two NAVs per unit."""
    return FUND_CONTEXT.subtract(FUND_CONTEXT.divide(nav_end, nav_start), 1)


def chain_twr(returns: Sequence[Decimal]) -> Decimal:
    """Link sub-period returns: ``Π(1 + r_i) − 1``."""
    growth = Decimal(1)
    for r in returns:
        growth = FUND_CONTEXT.multiply(growth, FUND_CONTEXT.add(1, r))
    return FUND_CONTEXT.subtract(growth, 1)


def npv(rate: float, flows: Sequence[Flow]) -> float:
    """``Σ cf · (1 + rate)^−t``."""
    return sum((cf * (1.0 + rate) ** -t for t, cf in flows), 0.0)


def irr(
    flows: Sequence[Flow], *, low: float = -0.99, high: float = 1.0, tol: float = 1e-12
) -> float:
    """The internal rate of return per period, by bisection.

    Args:
        flows: ``(time, amount)`` pairs, investor's view (paid in < 0, received > 0).
        low: lower end of the search bracket (> −1).
        high: upper end; doubled (up to 1e6) until the NPV changes sign.
        tol: the bracket width at which to stop.

    Raises:
        ValueError: the flows' NPV never changes sign in the bracket (no IRR there).
    """
    f_low = npv(low, flows)
    while npv(high, flows) * f_low > 0:
        if high > 1e6:
            raise ValueError("no sign change: the flows have no IRR in the bracket")
        high *= 2
    if f_low == 0:
        return low
    while high - low > tol:
        mid = (low + high) / 2
        f_mid = npv(mid, flows)
        if f_mid == 0:
            return mid
        if (f_mid > 0) == (f_low > 0):
            low, f_low = mid, f_mid
        else:
            high = mid
    return (low + high) / 2


def modified_dietz(
    v_start: Decimal, v_end: Decimal, flows: Sequence[tuple[Decimal, Decimal]], period: Decimal
) -> Decimal:
    """The Modified Dietz return over ``[0, period]``.

    Args:
        v_start: value at the start.
        v_end: value at the end.
        flows: ``(time, amount)`` flows into the portfolio (deposits > 0, withdrawals < 0).
        period: the period's length ``T``.

    Raises:
        ZeroDivisionError: the weighted capital is zero.
    """
    ctx = FUND_CONTEXT
    total = sum((cf for _, cf in flows), Decimal(0))
    weighted = sum((ctx.multiply(cf, period - t) for t, cf in flows), Decimal(0))
    gain = ctx.multiply(v_end - v_start - total, period)
    return ctx.divide(gain, ctx.multiply(v_start, period) + weighted)
