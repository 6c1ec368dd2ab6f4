"""TV-1 (``quant.md`` §1): exchange formula, tiers and simplified estimators (all exact)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from helix.quant.liquidation import (
    BYBIT_BTCUSDT_TIERS,
    bankruptcy_price,
    liquidation_breakdown,
    liquidation_price,
    select_tier,
    simplified_liquidation_price,
    simplified_liquidation_prices,
    tier_deductions,
)

D = Decimal


def test_tv1_a_b_bybit_example() -> None:
    b = liquidation_breakdown("long", 1, 20_000, 50, D("0.005"))
    assert (b.initial_margin, b.maintenance_margin, b.liquidation_price) == (
        D(400),
        D(100),
        D(19_700),
    )
    assert liquidation_price("short", 1, 20_000, 50, mmr=D("0.005")) == D(20_300)


def test_tv1_c_extra_margin() -> None:
    assert liquidation_price("long", 1, 20_000, 50, mmr=0.005, extra_margin=100) == D(19_600)


def test_tv1_d_e_tier_two() -> None:
    tier = select_tier(30 * 80_000, 50)
    assert (tier.mmr, tier.mm_deduction) == (D("0.0056"), D(1200))
    b = liquidation_breakdown("long", 30, 80_000, 50, tier.mmr, tier.mm_deduction)
    assert (b.position_value, b.initial_margin, b.maintenance_margin) == (
        D(2_400_000),
        D(48_000),
        D(12_240),
    )
    assert b.liquidation_price == D(78_808)
    assert liquidation_price("long", 30, 80_000, 50) == D(78_808)
    assert liquidation_price("short", 30, 80_000, 50) == D(81_192)


def test_tv1_f_ignoring_deduction() -> None:
    b = liquidation_breakdown("long", 30, 80_000, 50, D("0.0056"), 0)
    assert (b.maintenance_margin, b.liquidation_price) == (D(13_440), D(78_848))
    assert liquidation_price("long", 30, 80_000, 50, mm_deduction=0) == D(78_848)


def test_tv1_g_tier_deductions() -> None:
    limits = [t.risk_limit_value for t in BYBIT_BTCUSDT_TIERS]
    mmrs = [t.mmr for t in BYBIT_BTCUSDT_TIERS]
    assert tier_deductions(limits, mmrs) == [0, 1200, 3020, 4300]
    assert [t.mm_deduction for t in BYBIT_BTCUSDT_TIERS] == [0, 1200, 3020, 4300]


LEVS = [10, 25, 50, 100]


def test_tv1_h_simplified() -> None:
    longs = [simplified_liquidation_price("long", 100, x) for x in LEVS]
    shorts = [simplified_liquidation_price("short", 100, x) for x in LEVS]
    assert longs == [D("90.5"), D("96.5"), D("98.5"), D("99.5")]
    assert shorts == [D("109.5"), D("103.5"), D("101.5"), D("100.5")]
    arr = simplified_liquidation_prices("long", 100.0, np.array(LEVS))
    assert arr.tolist() == [90.5, 96.5, 98.5, 99.5]
    # float64 version: exact TV-1 lives in the Decimal API; floats agree to 1e-9 relative.
    short = simplified_liquidation_prices("short", 100.0, np.array(LEVS))
    np.testing.assert_allclose(short, [109.5, 103.5, 101.5, 100.5], rtol=1e-9, atol=0)


def test_tv1_i_one_over_l() -> None:
    assert [simplified_liquidation_price("long", 100, x, 0) for x in LEVS] == [90, 96, 98, 99]
    assert [bankruptcy_price("short", 100, x) for x in LEVS] == [110, 104, 102, 101]
    assert simplified_liquidation_prices("long", 100.0, np.array(LEVS), 0.0).tolist() == [
        90.0,
        96.0,
        98.0,
        99.0,
    ]


def test_tier_rejections() -> None:
    with pytest.raises(ValueError, match="leverage"):
        select_tier(2_400_000, 95)
    with pytest.raises(ValueError, match="exceeds"):
        select_tier(10_000_000, 10)
    assert select_tier(2_000_000, 100).mmr == D("0.005")  # PV ≤ limit is inclusive
    with pytest.raises(ValueError, match="positive"):
        liquidation_breakdown("long", 0, 1, 1, 0)
