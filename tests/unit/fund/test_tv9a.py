"""quant.md TV-9a: returns and risk on the NAV per unit (reusing helix.backtest.metrics)."""

from __future__ import annotations

import math
from decimal import Decimal as D

import pytest

from commands.fund_returns import chain_twr, nav_returns, twr
from helix.backtest.metrics import NS_PER_DAY, max_drawdown, sharpe, sortino

NAVS = [D("10.00"), D("10.20"), D("10.10"), D("10.40"), D("10.30"), D("10.50")]


def returns() -> list[float]:
    return [float(r) for r in nav_returns(NAVS)]


def test_simple_returns() -> None:
    want = [0.02, -0.009804, 0.029703, -0.009615, 0.019417]
    assert returns() == pytest.approx(want, abs=5e-7)
    r = returns()
    mean = sum(r) / len(r)
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / (len(r) - 1))
    assert (mean, sd) == pytest.approx((0.009940228, 0.018397260), abs=5e-10)


def test_sharpe_daily_and_annualised() -> None:
    assert sharpe(returns(), periods=1) == pytest.approx(0.540310, abs=5e-7)
    assert sharpe(returns()) == pytest.approx(10.322613, abs=5e-6)


def test_sortino_daily_and_annualised() -> None:
    r = returns()
    dd = math.sqrt(sum(min(0.0, x) ** 2 for x in r) / len(r))
    assert dd == pytest.approx(0.006141213, abs=5e-10)
    assert sortino(r, periods=1) == pytest.approx(1.618610, abs=5e-7)
    assert sortino(r) == pytest.approx(30.923497, abs=5e-6)


def test_max_drawdown_total_and_log_returns() -> None:
    curve = [(i * NS_PER_DAY, float(v)) for i, v in enumerate(NAVS)]
    worst, _ = max_drawdown(curve)
    assert worst == pytest.approx(-0.009804, abs=5e-7)  # 10.20 → 10.10
    assert twr(NAVS[0], NAVS[-1]) == D("0.05")
    assert chain_twr(nav_returns(NAVS)) == pytest.approx(D("0.05"), abs=D("1e-55"))
    logs = sum(math.log(1 + x) for x in returns())
    assert logs == pytest.approx(0.048790, abs=5e-7)
    assert logs == pytest.approx(math.log(1.05), abs=1e-12)
