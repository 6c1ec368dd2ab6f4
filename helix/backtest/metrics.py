"""Performance of a run from its equity curve and its booked fills (quant.md §9.1).

* Returns are daily (UTC days, the last equity of each day; when the first day holds several
  samples, the run's first equity opens it): ``r_t = V_t / V_{t−1} − 1``.
* **Sharpe** = ``mean(r)/std_ddof1(r)``, **Sortino** = ``mean(r)/DD`` with
  ``DD = sqrt(Σ min(0, r)² / N)`` over all N days (TradingView's definition), both annualised
  by ``√365`` (crypto trades every day).  Undefined (fewer than 2 days, zero dispersion) → 0.
* **Max drawdown** = ``min(V/max(V) − 1)`` over the sampled curve, with its duration (peak to
  recovery, or to the end when it never recovered).
* **Trades** are round trips of a position (flat → open → flat): win rate = share with positive
  net PnL (realised − fees), profit factor = gross wins / gross losses.
* **Exposure** = share of the sampled time a position was open; **turnover** = traded notional
  over average equity.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from events.trading import FillBooked, FundingBooked

NS_PER_DAY = 86_400_000_000_000


@dataclass(frozen=True, slots=True)
class Metrics:
    total_return: float
    annualized_return: float
    sharpe: float
    sortino: float
    max_drawdown: float
    max_drawdown_days: float
    trades: int
    win_rate: float
    profit_factor: float
    exposure: float
    turnover: float
    fees: float
    funding: float
    realized_pnl: float
    days: float
    by_symbol: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


def daily_returns(curve: Sequence[tuple[int, float]]) -> list[float]:
    """Daily simple returns from ``(ts ns, equity)`` samples."""
    if not curve:
        return []
    closes: dict[int, float] = {}
    counts: dict[int, int] = {}
    for ts, eq in curve:
        day = ts // NS_PER_DAY
        closes[day] = eq
        counts[day] = counts.get(day, 0) + 1
    days = sorted(closes)
    values = [closes[d] for d in days]
    if counts[days[0]] > 1:  # the first day moved after the run began: count its return too
        values.insert(0, curve[0][1])
    return [b / a - 1.0 for a, b in itertools.pairwise(values) if a]


def sharpe(returns: Sequence[float], periods: int = 365) -> float:
    n = len(returns)
    if n < 2:
        return 0.0
    mean = sum(returns) / n
    sd = math.sqrt(sum((r - mean) ** 2 for r in returns) / (n - 1))
    return mean / sd * math.sqrt(periods) if sd > 0 else 0.0


def sortino(returns: Sequence[float], periods: int = 365, target: float = 0.0) -> float:
    n = len(returns)
    if n < 2:
        return 0.0
    dd = math.sqrt(sum(min(0.0, r - target) ** 2 for r in returns) / n)
    mean = sum(returns) / n - target
    return mean / dd * math.sqrt(periods) if dd > 0 else 0.0


def max_drawdown(curve: Sequence[tuple[int, float]]) -> tuple[float, float]:
    """``(max drawdown ≤ 0, its duration in days)``."""
    peak, peak_ts = -math.inf, 0
    worst, worst_dur = 0.0, 0.0
    dd_start: int | None = None
    for ts, eq in curve:
        if eq >= peak:
            if dd_start is not None:
                worst_dur = max(worst_dur, (ts - dd_start) / NS_PER_DAY)
                dd_start = None
            peak, peak_ts = eq, ts
            continue
        if dd_start is None:
            dd_start = peak_ts
        worst = min(worst, eq / peak - 1.0)
    if dd_start is not None and curve:
        worst_dur = max(worst_dur, (curve[-1][0] - dd_start) / NS_PER_DAY)
    return worst, worst_dur


def _empty() -> dict[str, float]:
    return {"realized_pnl": 0.0, "fees": 0.0, "funding": 0.0, "fills": 0.0, "volume": 0.0}


def compute(
    curve: Sequence[tuple[int, float]],
    fills: Sequence[FillBooked],
    funding: Sequence[FundingBooked],
    exposure_samples: Sequence[bool],
) -> Metrics:
    """All metrics of a run; see the module docstring."""
    start, end = (curve[0][1], curve[-1][1]) if curve else (0.0, 0.0)
    days = (curve[-1][0] - curve[0][0]) / NS_PER_DAY if len(curve) > 1 else 0.0
    total = end / start - 1.0 if start else 0.0
    annual = (1 + total) ** (365 / days) - 1 if days >= 1 and total > -1 else total
    rets = daily_returns(curve)
    mdd, mdd_days = max_drawdown(curve)
    trades: list[float] = []
    open_pnl: dict[str, float] = {}
    by_symbol: dict[str, dict[str, float]] = {}
    traded = 0.0
    for f in fills:
        key = f"{f.venue}:{f.symbol}"
        net = float(f.realized_pnl - f.fee)
        open_pnl[key] = open_pnl.get(key, 0.0) + net
        if f.size == 0:
            trades.append(open_pnl.pop(key))
        s = by_symbol.setdefault(key, _empty())
        s["realized_pnl"] += float(f.realized_pnl)
        s["fees"] += float(f.fee)
        s["fills"] += 1
        s["volume"] += float(f.qty * f.price)
        traded += float(f.qty * f.price)
    for fb in funding:
        key = f"{fb.venue}:{fb.symbol}"
        by_symbol.setdefault(key, _empty())["funding"] += float(fb.amount)
    wins = [t for t in trades if t > 0]
    losses = [-t for t in trades if t < 0]
    avg_equity = sum(e for _, e in curve) / len(curve) if curve else 0.0
    return Metrics(
        total_return=total,
        annualized_return=annual,
        sharpe=sharpe(rets),
        sortino=sortino(rets),
        max_drawdown=mdd,
        max_drawdown_days=mdd_days,
        trades=len(trades),
        win_rate=len(wins) / len(trades) if trades else 0.0,
        profit_factor=sum(wins) / sum(losses) if losses else (math.inf if wins else 0.0),
        exposure=(sum(exposure_samples) / len(exposure_samples)) if exposure_samples else 0.0,
        turnover=traded / avg_equity if avg_equity else 0.0,
        fees=float(sum((f.fee for f in fills), Decimal(0))),
        funding=float(sum((fb.amount for fb in funding), Decimal(0))),
        realized_pnl=float(sum((f.realized_pnl for f in fills), Decimal(0))),
        days=days,
        by_symbol=by_symbol,
    )
