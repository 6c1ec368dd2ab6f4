"""Polymarket's trading rules: instruments from listings, its own order checks, zero-fee paper."""

from __future__ import annotations

import uuid
from decimal import Decimal as D
from typing import Any

from commands.orders import PlaceOrder
from commands.risk import Instrument
from events.poly import PolyMarket
from helix.trading.instruments import (
    paper_config,
    polymarket_instruments,
    venue_checks,
)


def listing(**kw: Any) -> PolyMarket:
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(), "ts_event": 1, "ts_recorded": 1, "source": "t",
        "vertical": "poly", "symbol": "0xc", "condition_id": "0xc", "question": "q",
        "outcomes": ("Yes", "No"), "token_ids": ("11", "22"),
    }  # fmt: skip
    fields.update(kw)
    return PolyMarket(**fields)


def order(side: str, price: str, **kw: Any) -> PlaceOrder:
    return PlaceOrder(command_id="c", account="a", venue=kw.pop("venue", "polymarket"),
                      symbol="11", side=side, qty=D(10), order_type="limit",  # type: ignore[arg-type]
                      limit_price=D(price), **kw)  # fmt: skip


def test_tokens_get_the_default_tick_lot_and_minimum_unless_listed() -> None:
    rules = polymarket_instruments([listing()])
    assert rules[("polymarket", "11")] == Instrument("11", D("0.01"), D("0.01"), D(5))
    assert set(rules) == {("polymarket", "11"), ("polymarket", "22")}
    fine = polymarket_instruments([listing(tick_size=D("0.001"), min_size=D(15))])
    assert fine[("polymarket", "22")] == Instrument("22", D("0.001"), D("0.01"), D(15))


def test_a_sell_must_be_reduce_only_and_prices_lie_inside_0_1() -> None:
    [short] = venue_checks(order("sell", "0.5"))
    assert short.startswith("no_short:")
    assert venue_checks(order("sell", "0.5", reduce_only=True)) == ()
    assert venue_checks(order("buy", "0.99")) == ()
    [edge] = venue_checks(order("buy", "1"))
    assert edge.startswith("price_range:")
    assert venue_checks(order("sell", "1.5", venue="bybit")) == ()  # other venues: no rule


def test_the_polymarket_paper_venue_charges_nothing() -> None:
    cfg = paper_config("polymarket")
    assert (cfg.taker_fee, cfg.maker_fee, cfg.slippage) == (D(0), D(0), D(0))
    assert paper_config("bybit").taker_fee > 0
