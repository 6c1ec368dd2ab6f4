"""Backtest metrics: quant.md TV-9a, drawdowns, trades."""

from __future__ import annotations

import math
import uuid
from decimal import Decimal as D

import pytest

from events.trading import FillBooked
from helix.backtest.metrics import (
    NS_PER_DAY,
    compute,
    daily_returns,
    max_drawdown,
    sharpe,
    sortino,
)
from tests.unit import _factories as f

NAV = [10.00, 10.20, 10.10, 10.40, 10.30, 10.50]  # TV-9a
CURVE = [(i * NS_PER_DAY, v) for i, v in enumerate(NAV)]


def test_tv_9a() -> None:
    r = daily_returns(CURVE)
    assert r == pytest.approx([0.02, -0.009804, 0.029703, -0.009615, 0.019417], abs=1e-6)
    assert sharpe(r, periods=1) == pytest.approx(0.540310, abs=1e-6)
    assert sharpe(r) == pytest.approx(10.322613, abs=1e-5)
    assert sortino(r, periods=1) == pytest.approx(1.618610, abs=1e-6)
    assert sortino(r) == pytest.approx(30.923497, abs=1e-5)
    mdd, days = max_drawdown(CURVE)
    assert mdd == pytest.approx(-0.009804, abs=1e-6)
    assert days == 2.0  # peak on day 1, recovered on day 3
    assert math.fsum(math.log1p(x) for x in r) == pytest.approx(0.048790, abs=1e-6)


def test_undefined_ratios_are_zero_and_an_open_drawdown_lasts_to_the_end() -> None:
    assert sharpe([0.01]) == 0.0
    assert sortino([0.01, 0.02]) == 0.0  # no downside
    mdd, days = max_drawdown([(0, 10.0), (NS_PER_DAY, 12.0), (3 * NS_PER_DAY, 9.0)])
    assert mdd == pytest.approx(-0.25)
    assert days == 2.0


def fill(size: str, realized: str, fee: str, qty: str = "1", price: str = "100") -> FillBooked:
    return FillBooked(
        **f.envelope(), account="a", venue="sim", symbol="BTCUSDT", order_id=uuid.uuid4(),
        exec_id=uuid.uuid4().hex, side="buy", qty=D(qty), price=D(price), fee=D(fee),
        realized_pnl=D(realized), size=D(size), entry_price=D("100"),
    )  # fmt: skip


def test_round_trips_win_rate_profit_factor_and_turnover() -> None:
    fills = [
        fill("1", "0", "0.1"), fill("0", "5", "0.1"),  # +4.8
        fill("-2", "0", "0.2"), fill("0", "-3", "0.2"),  # -3.4
        fill("1", "0", "0.1"), fill("0", "2", "0.1"),  # +1.8
        fill("1", "0", "0.1"),  # still open: not a trade
    ]  # fmt: skip
    m = compute(CURVE, fills, [], [True, False, True, True])
    assert m.trades == 3
    assert m.win_rate == pytest.approx(2 / 3)
    assert m.profit_factor == pytest.approx((4.8 + 1.8) / 3.4)
    assert m.exposure == 0.75
    assert m.turnover == pytest.approx(700 / (sum(NAV) / len(NAV)))
    assert m.fees == pytest.approx(0.9)
    assert m.by_symbol["sim:BTCUSDT"]["fills"] == 7
    assert m.total_return == pytest.approx(0.05)
