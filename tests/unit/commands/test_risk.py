"""The risk guardian: each check fails alone, with its numbers, and reduce-only exemptions."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from commands.risk import Instrument, OrderIntent, RiskConfig, RiskView, check

INST = Instrument("BTCUSDT", D("0.1"), D("0.001"), D("0.001"), D("5"))
CFG = RiskConfig()
VIEW = RiskView(equity=D("100000"), mark=D("50000"), instrument=INST)


def names(intent: OrderIntent, view: RiskView = VIEW, cfg: RiskConfig = CFG) -> list[str]:
    return [c.split(":", 1)[0] for c in check(intent, view, cfg)]


def buy(qty: str = "0.1", **kw: object) -> OrderIntent:
    fields: dict[str, object] = {"side": "buy", "qty": D(qty), "order_type": "market"}
    fields.update(kw)
    return OrderIntent(**fields)  # type: ignore[arg-type]


def test_a_small_order_passes() -> None:
    assert check(buy("0.1"), VIEW, CFG) == ()  # 5,000 = 5% of equity


@pytest.mark.parametrize(
    ("intent", "view", "expected"),
    [
        (buy("0.1"), replace(VIEW, halted=True), ["trading_halted"]),
        (buy("0.1"), replace(VIEW, daily_pnl=D("-3000")), ["daily_loss"]),
        (buy("0.1"), replace(VIEW, mark=None), ["no_price"]),
        (buy("0.1", order_type="limit", limit_price=D("50000.05")), VIEW, ["tick_size"]),
        (buy("0.1005"), VIEW, ["lot_size"]),
        (buy("0.0001"), VIEW, ["lot_size", "min_size"]),
        (buy("0.001", order_type="limit", limit_price=D("4000")), VIEW, ["min_size", "price_band"]),
        (buy("0.1", order_type="limit", limit_price=D("53000")), VIEW, ["price_band"]),
        (buy("0.1"), replace(VIEW, open_orders=50), ["max_open"]),
        (buy("0.3"), VIEW, ["max_position"]),
        (buy("0.1"), replace(VIEW, open_buy=D("0.15")), ["max_position"]),
        (buy("0.1"), replace(VIEW, gross_notional=D("296000")), ["max_leverage"]),
        (buy("0.1", reduce_only=True), VIEW, ["reduce_only"]),
    ],
)
def test_each_check(intent: OrderIntent, view: RiskView, expected: list[str]) -> None:
    assert names(intent, view) == expected


def test_failures_carry_their_numbers() -> None:
    [why] = check(buy("0.3"), VIEW, CFG)
    assert why == ("max_position: 15,000.00 in the symbol > 10% of equity 100,000.00 = 10,000.00")


def test_reduce_only_orders_pass_halts_and_exposure_limits_but_must_reduce() -> None:
    long = replace(VIEW, position=D("0.5"), halted=True, daily_pnl=D("-9999"), open_orders=99)
    sell = OrderIntent(side="sell", qty=D("0.5"), order_type="market", reduce_only=True)
    assert check(sell, long, CFG) == ()
    too_much = replace(sell, qty=D("0.6"))
    assert names(too_much, long) == ["reduce_only"]
    same_way = OrderIntent(side="buy", qty=D("0.1"), order_type="market", reduce_only=True)
    assert names(same_way, long) == ["reduce_only"]
    far_stop = replace(sell, order_type="stop", trigger_price=D("30000"))
    assert check(far_stop, long, CFG) == ()  # a protective stop may be far from the mark


def test_selling_into_a_long_counts_net_exposure() -> None:
    long = replace(VIEW, position=D("0.15"))
    assert check(OrderIntent(side="sell", qty=D("0.3"), order_type="market"), long, CFG) == ()
    assert names(OrderIntent(side="sell", qty=D("0.36"), order_type="market"), long) == [
        "max_position"
    ]
