"""The fake Bybit account's arithmetic and matching: average entry, realised/unrealised PnL,
fees, funding, flips, time-in-force and validation, all exact with Decimal (no I/O)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from helix.testing.fake_bybit_account import FakeAccount
from helix.testing.fake_bybit_ledger import (
    Order,
    OrderError,
    OrderRequest,
    Position,
    Rules,
    Update,
    apply_fill,
)
from helix.testing.fake_bybit_wire import amount, order_item, position_item, price, wallet_item

BTC = Rules(symbol="BTCUSDT", tick=D("0.10"), qty_step=D("0.001"), min_qty=D("0.001"),
            max_qty=D("100"))  # fmt: skip
NOW = 1_700_000_000_000


def account(taker_fee: D = D("0.00055"), maker_fee: D = D("0.0002")) -> FakeAccount:
    acct = FakeAccount(
        {"BTCUSDT": BTC}, balance=D("10000"), taker_fee=taker_fee, maker_fee=maker_fee
    )
    acct.set_price("BTCUSDT", D("100"), None, NOW)
    return acct


def req(side: str = "Buy", qty: str = "1", px: str | None = None, **kwargs: object) -> OrderRequest:
    fields: dict[str, object] = {
        "symbol": "BTCUSDT", "side": side, "qty": D(qty),
        "order_type": "Market" if px is None else "Limit", "price": None if px is None else D(px),
    }  # fmt: skip
    fields.update(kwargs)
    return OrderRequest(**fields)  # type: ignore[arg-type]


def place(acct: FakeAccount, *args: object, **kwargs: object) -> Order:
    order, _ = acct.place(req(*args, **kwargs), NOW)  # type: ignore[arg-type]
    return order


def topics(updates: list[Update]) -> list[str]:
    return [t for t, _ in updates]


# -- position arithmetic -------------------------------------------------------------------------


def test_adding_averages_the_entry_and_reducing_realises_against_it() -> None:
    pos = Position(symbol="BTCUSDT")
    assert apply_fill(pos, "Buy", D("1"), D("100"), NOW) == (D(0), D(0))
    assert apply_fill(pos, "Buy", D("3"), D("120"), NOW) == (D(0), D(0))
    assert (pos.qty, pos.entry_price) == (D("4"), D("115"))
    assert apply_fill(pos, "Sell", D("1.5"), D("125"), NOW) == (D("1.5"), D("15"))
    assert (pos.qty, pos.entry_price) == (D("2.5"), D("115"))  # reducing keeps the entry
    pos.mark_price = D("110")
    assert pos.unrealised_pnl == D("-12.5")


def test_a_short_gains_when_the_price_falls_and_a_flip_reopens_at_the_fill_price() -> None:
    pos = Position(symbol="BTCUSDT")
    apply_fill(pos, "Sell", D("2"), D("100"), NOW)
    pos.mark_price = D("90")
    assert (pos.side, pos.size, pos.unrealised_pnl) == ("Sell", D("2"), D("20"))
    assert apply_fill(pos, "Buy", D("5"), D("90"), NOW + 1) == (D("2"), D("20"))
    assert (pos.side, pos.size, pos.entry_price, pos.created_ms) == (
        "Buy",
        D("3"),
        D("90"),
        NOW + 1,
    )
    assert apply_fill(pos, "Sell", D("3"), D("80"), NOW) == (D("3"), D("-30"))
    assert (pos.side, pos.qty, pos.entry_price, pos.value) == ("", D(0), D(0), D(0))


def test_fees_are_taker_or_maker_on_value_and_realised_pnl_includes_them() -> None:
    acct = account()
    buy = place(acct, "Buy", "2")  # taker at 100: fee 200 x 0.00055
    assert (buy.status, buy.avg_price, buy.cum_exec_fee) == ("Filled", D("100"), D("0.11"))
    sell = place(acct, "Sell", "2", "110")  # rests: price 100 < 110
    assert sell.status == "New"
    acct.set_price("BTCUSDT", D("111"), None, NOW)  # crosses: maker at its limit, 220 x 0.0002
    assert (sell.status, sell.avg_price, sell.cum_exec_fee) == ("Filled", D("110"), D("0.044"))
    [open_exec, close_exec] = acct.executions
    assert (open_exec.is_maker, open_exec.fee_rate, open_exec.closed_size) == (
        False,
        D("0.00055"),
        D(0),
    )
    assert (close_exec.is_maker, close_exec.exec_pnl, close_exec.closed_size) == (True, D(20), D(2))
    pos = acct.position("BTCUSDT")
    assert pos.cum_realised_pnl == D("20") - D("0.11") - D("0.044")
    assert acct.balance == D("10000") + pos.cum_realised_pnl
    assert acct.wallet().equity == acct.balance


def test_settable_fees_and_wallet_margin() -> None:
    acct = account(taker_fee=D("0.001"), maker_fee=D("-0.0001"))
    place(acct, "Buy", "1.5")
    acct.set_price("BTCUSDT", D("104"), None, NOW)
    w = acct.wallet()
    assert w.balance == D("10000") - D("0.15")
    assert (w.unrealised_pnl, w.equity) == (D("6"), D("10005.85"))
    assert (w.initial_margin, w.maintenance_margin) == (D("15"), D("0.75"))  # 10x, 0.5%
    resting = place(acct, "Sell", "1", "105")
    acct.fill(resting, D("0.4"), None, NOW)  # maker rebate: -0.0001 x 42
    assert resting.cum_exec_fee == D("-0.0042")


def test_funding_longs_pay_a_positive_rate_shorts_receive_it() -> None:
    acct = account()
    assert acct.settle_funding("BTCUSDT", D("0.0001"), NOW) == []  # flat: nothing to book
    place(acct, "Buy", "3")
    acct.set_price("BTCUSDT", D("200"), None, NOW)
    before = acct.balance
    updates = acct.settle_funding("BTCUSDT", D("0.0001"), NOW)
    assert topics(updates) == ["execution", "position", "wallet"]
    funding = acct.executions[-1]
    assert (funding.exec_type, funding.exec_fee, funding.exec_value) == (
        "Funding",
        D("0.06"),
        D(600),
    )
    assert (funding.order_id, funding.side, funding.exec_qty) == ("", "Buy", D(3))
    assert acct.balance == before - D("0.06")
    place(acct, "Sell", "5")  # now short 2
    acct.settle_funding("BTCUSDT", D("0.0001"), NOW)
    assert acct.executions[-1].exec_fee == D("-0.04")
    # bought 3 at 100 (fee 0.165), paid 0.06, sold 5 at 200 (+300, fee 0.55), received 0.04
    assert acct.position("BTCUSDT").cum_realised_pnl == D("299.265")
    assert acct.balance == D("10000") + D("299.265")


# -- matching ------------------------------------------------------------------------------------


def test_market_order_updates_in_order() -> None:
    acct = account()
    order, updates = acct.place(req("Buy", "1"), NOW)
    assert topics(updates) == ["order", "execution", "order", "position", "wallet"]
    first, last = updates[0][1], updates[2][1]
    assert isinstance(first, Order)
    assert isinstance(last, Order)
    assert (first.status, last.status, order.time_in_force) == ("New", "Filled", "IOC")


def test_limit_partial_fill_then_full_and_avg_price() -> None:
    acct = account()
    order = place(acct, "Buy", "1", "99.90")
    acct.fill(order, D("0.4"), D("99.80"), NOW)
    assert (order.status, order.leaves_qty) == ("PartiallyFilled", D("0.6"))
    acct.fill(order, D("0.6"), None, NOW)
    assert (order.status, order.leaves_qty) == ("Filled", D(0))
    assert order.avg_price == (D("0.4") * D("99.80") + D("0.6") * D("99.90"))
    with pytest.raises(ValueError, match="Filled"):
        acct.fill(order, D("0.1"), None, NOW)


def test_set_price_fills_best_price_first_then_oldest() -> None:
    acct = account()
    a = place(acct, "Buy", "1", "95")
    b = place(acct, "Buy", "1", "97")
    c = place(acct, "Buy", "1", "95")
    far = place(acct, "Buy", "1", "90")
    acct.set_price("BTCUSDT", D("94"), None, NOW)
    assert [e.order_id for e in acct.executions] == [b.order_id, a.order_id, c.order_id]
    assert far.status == "New"


def test_time_in_force_with_limited_liquidity() -> None:
    acct = account()
    acct.set_price("BTCUSDT", D("100"), D("1.5"), NOW)
    fok = place(acct, "Buy", "2", "101", time_in_force="FOK")
    assert (fok.status, fok.cum_exec_qty) == ("Cancelled", D(0))
    ioc = place(acct, "Buy", "2", "101", time_in_force="IOC")
    assert (ioc.status, ioc.cum_exec_qty, ioc.avg_price) == ("Cancelled", D("1.5"), D(100))
    gtc = place(acct, "Buy", "1", "101")  # no liquidity left: rests
    assert gtc.status == "New"
    mkt = place(acct, "Sell", "0.5")  # the other side is not limited separately
    assert (mkt.status, mkt.cum_exec_qty) == ("Cancelled", D(0))
    far = place(acct, "Buy", "1", "90", time_in_force="IOC")
    assert (far.status, far.cum_exec_qty) == ("Cancelled", D(0))


def test_post_only_crossing_is_rejected_not_filled() -> None:
    acct = account()
    order = place(acct, "Sell", "1", "99", time_in_force="PostOnly")
    assert (order.status, order.reject_reason, order.cum_exec_qty) == (
        "Rejected", "EC_PostOnlyWillTakeLiquidity", D(0),
    )  # fmt: skip
    maker = place(acct, "Sell", "1", "101", time_in_force="PostOnly")
    assert maker.status == "New"
    with pytest.raises(OrderError) as err:
        acct.amend(maker, None, D("99"), NOW)
    assert err.value.code == 110079


def test_amend_to_marketable_price_trades_and_cancel_closes() -> None:
    acct = account()
    order = place(acct, "Buy", "1", "90")
    acct.amend(order, D("2"), None, NOW)
    assert order.qty == D(2)
    acct.amend(order, None, D("100.50"), NOW)  # now marketable: taker at 100
    assert (order.status, order.avg_price) == ("Filled", D(100))
    other = place(acct, "Buy", "1", "90")
    acct.cancel(other, NOW)
    assert (other.status, other.cancel_type, other.leaves_qty) == (
        "Cancelled",
        "CancelByUser",
        D(0),
    )
    with pytest.raises(OrderError) as err:
        acct.cancel(other, NOW)
    assert err.value.code == 110001
    with pytest.raises(OrderError) as err:
        acct.amend(other, D(3), None, NOW)
    assert err.value.code == 110001


def test_reduce_only_cannot_open_and_is_capped_to_the_position() -> None:
    acct = account()
    with pytest.raises(OrderError) as err:
        place(acct, "Sell", "1", reduce_only=True)
    assert err.value.code == 110017
    place(acct, "Buy", "1")
    with pytest.raises(OrderError):
        place(acct, "Buy", "1", reduce_only=True)
    close = place(acct, "Sell", "3", reduce_only=True)
    assert (close.qty, close.status) == (D(1), "Filled")
    assert acct.position("BTCUSDT").qty == 0


def test_validation_and_duplicate_link_ids() -> None:
    acct = account()
    place(acct, "Buy", "1", "90", order_link_id="a")
    cases: list[tuple[OrderRequest, int, str]] = [
        (req("Buy", "1", "90", order_link_id="a"), 110072, "duplicate"),
        (req("Buy", "0.0005"), 10001, "minOrderQty"),
        (req("Buy", "0.0015"), 10001, "qtyStep"),
        (req("Buy", "101"), 10001, "maxOrderQty"),
        (req("Buy", "1", "90.05"), 10001, "tickSize"),
        (req("Buy", "1", order_type="Limit"), 10001, "price is required"),
        (req("Hold", "1"), 10001, "side"),
        (req("Buy", "1", "90", time_in_force="GTD"), 10001, "timeInForce"),
        (req("Buy", "1", order_link_id="x" * 37), 10001, "36"),
        (req("Buy", "1", symbol="ETHUSDT"), 10001, "symbol"),
        (req("Buy", "1", take_profit=D("120.01")), 10001, "takeProfit"),
    ]
    for request, code, text in cases:
        with pytest.raises(OrderError) as err:
            acct.place(request, NOW)
        assert (err.value.code, text in err.value.msg) == (code, True), request
    assert len(acct.orders) == 1


# -- wire formatting -----------------------------------------------------------------------------


def test_wire_numbers_are_exact_strings() -> None:
    assert [amount(D(x)) for x in ("1.2300", "-0.0", "1E+2", "0.000055")] == [
        "1.23", "0", "100", "0.000055",
    ]  # fmt: skip
    assert (price(D("93500"), BTC), price(None, BTC), price(D("1.234"), BTC)) == (
        "93500.00", "0.00", "1.234",
    )  # fmt: skip
    acct = account()
    order = place(acct, "Buy", "1", "90", take_profit=D("120"))
    item = order_item(order, BTC)
    assert (item["avgPrice"], item["qty"], item["price"], item["takeProfit"]) == (
        "", "1.000", "90.00", "120.00",
    )  # fmt: skip
    acct.fill(order, D("1"), None, NOW)
    pos = position_item(acct.position("BTCUSDT"), BTC, ws=True)
    assert (pos["entryPrice"], pos["size"], pos["takeProfit"], "avgPrice" in pos) == (
        "90", "1.000", "120.00", False,
    )  # fmt: skip
    wallet = wallet_item(acct.wallet())
    assert wallet["coin"][0]["walletBalance"] == amount(acct.balance)
    assert all(isinstance(v, str) for k, v in wallet.items() if k not in ("coin", "accountType"))
