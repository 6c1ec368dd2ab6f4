"""The private (trading) side of ``helix.testing.FakeBybit`` against the real pybit clients:
signed REST, the private WebSocket, matching, and the faults a live trader must survive
(loopback only; no NATS/PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal as D
from typing import Any

import pytest
import requests
import websocket
from pybit import unified_trading
from pybit.exceptions import InvalidRequestError

from helix.testing import FakeBybit

pytestmark = pytest.mark.integration

BTC = "BTCUSDT"
ORDER_FIELDS = {
    "category", "symbol", "orderId", "orderLinkId", "side", "orderType", "price", "qty",
    "timeInForce", "orderStatus", "cumExecQty", "cumExecValue", "avgPrice", "cumExecFee",
    "leavesQty", "leavesValue", "reduceOnly", "positionIdx", "createdTime", "updatedTime",
    "rejectReason", "stopOrderType", "triggerPrice", "takeProfit", "stopLoss", "closeOnTrigger",
    "cancelType", "feeCurrency",
}  # fmt: skip
EXECUTION_FIELDS = {
    "category", "symbol", "execId", "orderId", "orderLinkId", "side", "execPrice", "execQty",
    "execValue", "execFee", "feeRate", "execType", "execTime", "isMaker", "orderPrice",
    "orderQty", "orderType", "leavesQty", "closedSize", "markPrice", "execPnl", "seq",
    "createType", "feeCurrency",
}  # fmt: skip
POSITION_FIELDS = {
    "category", "symbol", "side", "size", "positionIdx", "leverage", "entryPrice", "markPrice",
    "liqPrice", "positionValue", "positionIM", "positionMM", "unrealisedPnl", "curRealisedPnl",
    "cumRealisedPnl", "takeProfit", "stopLoss", "positionStatus", "adlRankIndicator", "riskId",
    "riskLimitValue", "createdTime", "updatedTime", "seq", "isReduceOnly",
}  # fmt: skip
NOT_STRINGS = {"reduceOnly", "closeOnTrigger", "isMaker", "isReduceOnly", "positionIdx", "seq",
               "adlRankIndicator", "riskId", "tradeMode", "autoAddMargin", "triggerDirection",
               "smpGroup", "marginCollateral", "collateralSwitch", "coin"}  # fmt: skip


@pytest.fixture
def fake() -> Iterator[FakeBybit]:
    with FakeBybit(symbols=(BTC, "ETHUSDT"), seed=7) as f:
        f.set_price(BTC, D("93500"))
        yield f


@pytest.fixture
def http(fake: FakeBybit) -> Iterator[Any]:
    session = fake.pybit_http(auth=True)
    try:
        yield session
    finally:
        session.client.close()


class Frames:
    """A pybit callback keeping every private frame."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames: list[dict[str, Any]] = []

    def __call__(self, message: dict[str, Any]) -> None:
        with self.lock:
            self.frames.append(message)

    def items(self, topic: str) -> list[dict[str, Any]]:
        with self.lock:
            return [i for f in self.frames if f["topic"] == topic for i in f["data"]]


@contextmanager
def private_ws(fake: FakeBybit, *topics: str, **kwargs: Any) -> Iterator[tuple[Any, Frames]]:
    """A pybit private WebSocket subscribed to ``topics``; on exit all of its threads are gone."""
    kwargs.setdefault("ping_timeout", 1)
    before = set(threading.enumerate())
    ws = fake.pybit_private_ws(**kwargs)
    got = Frames()
    try:
        for topic in topics:
            getattr(ws, f"{topic}_stream")(callback=got)
        fake.wait_private_subscribed(*topics)
        yield ws, got
    finally:
        ws.exit()
        deadline = time.monotonic() + 5
        for t in set(threading.enumerate()) - before:
            t.join(max(0.0, deadline - time.monotonic()))
        leaked = [t for t in set(threading.enumerate()) - before if t.is_alive()]
        assert not leaked, leaked


def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def buy(http: Any, qty: str = "0.010", **kwargs: Any) -> dict[str, Any]:
    params = {"category": "linear", "symbol": BTC, "side": "Buy", "orderType": "Market"}
    params.update(kwargs)
    reply: dict[str, Any] = http.place_order(qty=qty, **params)
    return reply


def limit(http: Any, side: str, qty: str, price: str, **kwargs: Any) -> str:
    reply = http.place_order(
        category="linear", symbol=BTC, side=side, orderType="Limit", qty=qty, price=price,
        **kwargs,
    )  # fmt: skip
    order_id: str = reply["result"]["orderId"]
    return order_id


def open_order(http: Any, **query: Any) -> dict[str, Any]:
    [item] = http.get_open_orders(category="linear", symbol=BTC, **query)["result"]["list"]
    return dict(item)


def error_code(call: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(InvalidRequestError) as err:
        call()
    return err.value.status_code, err.value.message


def signed(fake: FakeBybit, method: str, path: str, payload: str, *, sent: str | None = None,
           ts: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Sign ``payload`` (query or body) as Bybit specifies and send ``sent`` (default: the same)."""
    stamp = str(ts if ts is not None else int(time.time() * 1000))
    text = f"{stamp}{fake.api_key}5000{payload}"
    sign = hmac.new(fake.api_secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    headers = {"X-BAPI-API-KEY": fake.api_key, "X-BAPI-TIMESTAMP": stamp,
               "X-BAPI-RECV-WINDOW": "5000", "X-BAPI-SIGN": sign}  # fmt: skip
    wire = payload if sent is None else sent
    if method == "GET":
        reply = requests.get(f"{fake.url}{path}?{wire}", headers=headers, timeout=5)
    else:
        reply = requests.post(f"{fake.url}{path}", data=wire, headers=headers, timeout=5)
    assert reply.status_code == 200
    body: dict[str, Any] = reply.json()
    return body


# -- auth ----------------------------------------------------------------------------------------


def test_pybit_with_a_wrong_key_or_secret_is_rejected(fake: FakeBybit, http: Any) -> None:
    assert http.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0
    wrong_key = fake.pybit_http(api_key="nope", api_secret=fake.api_secret)
    wrong_secret = fake.pybit_http(auth=True, api_secret="wrong")
    try:
        assert error_code(lambda: buy(wrong_key))[0] == 10003
        code, msg = error_code(lambda: buy(wrong_secret))
        assert code == 10004
        assert msg.startswith("error sign!")
        assert (
            error_code(lambda: wrong_secret.get_positions(category="linear", symbol=BTC))[0]
            == 10004
        )
    finally:
        wrong_key.client.close()
        wrong_secret.client.close()
    assert fake.order_create_calls == 2  # both arrived, neither created an order
    assert fake.orders() == []


def test_the_signature_covers_the_raw_payload_within_the_time_window(fake: FakeBybit) -> None:
    wallet, positions = "/v5/account/wallet-balance", "/v5/position/list"
    now = int(time.time() * 1000)
    assert signed(fake, "GET", wallet, "accountType=UNIFIED")["retCode"] == 0
    stale = signed(fake, "GET", wallet, "accountType=UNIFIED", ts=now - 6000)
    assert stale["retCode"] == 10002
    assert "recv_window" in stale["retMsg"]
    assert signed(fake, "GET", wallet, "accountType=UNIFIED", ts=now + 3000)["retCode"] == 10002
    query = f"category=linear&symbol={BTC}"
    assert signed(fake, "GET", positions, query)["retCode"] == 0
    swapped = f"symbol={BTC}&category=linear"  # same parameters, other bytes
    assert signed(fake, "GET", positions, query, sent=swapped)["retCode"] == 10004
    order = {"category": "linear", "symbol": BTC, "side": "Buy", "orderType": "Market",
             "qty": "0.001"}  # fmt: skip
    spaced, compact = json.dumps(order), json.dumps(order, separators=(",", ":"))
    assert signed(fake, "POST", "/v5/order/create", spaced, sent=compact)["retCode"] == 10004
    assert signed(fake, "POST", "/v5/order/create", compact)["retCode"] == 0
    unsigned = requests.get(f"{fake.url}{positions}?{query}", timeout=5)
    assert unsigned.json()["retCode"] == 10003
    assert fake.order_create_calls == 2
    assert len(fake.orders()) == 1


# -- orders, fills and what the WebSocket pushes --------------------------------------------------


def test_market_order_fill_is_pushed_and_rest_agrees(fake: FakeBybit, http: Any) -> None:
    with private_ws(fake, "order", "execution", "position", "wallet") as (_, got):
        reply = buy(http, "0.020", orderLinkId="mkt-1")
        wait_for(lambda: len(got.items("wallet")) == 1)
        frames = list(got.frames)
    assert reply["retCode"] == 0
    order_id = reply["result"]["orderId"]
    assert reply["result"]["orderLinkId"] == "mkt-1"
    assert [f["topic"] for f in frames] == ["order", "execution", "order", "position", "wallet"]
    for frame in frames:
        assert set(frame) == {"id", "topic", "creationTime", "data"}
        assert isinstance(frame["creationTime"], int)
        for item in frame["data"]:
            assert all(isinstance(v, str) for k, v in item.items() if k not in NOT_STRINGS)
    new, execution, filled, position, wallet = (f["data"][0] for f in frames)
    assert set(new) >= ORDER_FIELDS
    assert set(execution) >= EXECUTION_FIELDS
    assert set(position) >= POSITION_FIELDS
    assert (new["orderStatus"], new["avgPrice"], new["timeInForce"]) == ("New", "", "IOC")
    assert (filled["orderStatus"], filled["orderId"], filled["avgPrice"]) == (
        "Filled", order_id, "93500",
    )  # fmt: skip
    fee = D("0.020") * D("93500") * D("0.00055")
    assert (filled["cumExecQty"], filled["leavesQty"], D(filled["cumExecFee"])) == (
        "0.020", "0.000", fee,
    )  # fmt: skip
    assert (execution["execType"], execution["execPrice"], execution["isMaker"]) == (
        "Trade", "93500.00", False,
    )  # fmt: skip
    assert (D(execution["execValue"]), D(execution["execFee"]), D(execution["feeRate"])) == (
        D("1870"), fee, D("0.00055"),
    )  # fmt: skip
    assert (position["side"], position["size"], D(position["entryPrice"])) == (
        "Buy", "0.020", D("93500"),
    )  # fmt: skip
    assert D(position["curRealisedPnl"]) == -fee
    assert D(wallet["totalWalletBalance"]) == D("100000") - fee

    assert open_order(http, orderLinkId="mkt-1") == filled  # closed orders: by id or link id
    assert http.get_open_orders(category="linear", symbol=BTC)["result"]["list"] == []
    [rest_exec] = http.get_executions(category="linear", symbol=BTC)["result"]["list"]
    assert rest_exec == execution
    [rest_pos] = http.get_positions(category="linear", symbol=BTC)["result"]["list"]
    assert D(rest_pos["avgPrice"]) == D(position["entryPrice"])
    assert {k: v for k, v in rest_pos.items() if k != "avgPrice"} == {
        k: v for k, v in position.items() if k != "entryPrice"
    }
    fake.set_price(BTC, D("94000"))
    [rest_pos] = http.get_positions(category="linear", settleCoin="USDT")["result"]["list"]
    assert D(rest_pos["unrealisedPnl"]) == D("0.020") * 500
    [account] = http.get_wallet_balance(accountType="UNIFIED")["result"]["list"]
    [usdt] = account["coin"]
    assert account["accountType"] == "UNIFIED"
    assert D(account["totalEquity"]) == D("100000") - fee + 10
    assert (D(usdt["walletBalance"]), D(usdt["unrealisedPnl"])) == (D("100000") - fee, D(10))
    assert D(usdt["equity"]) == D(account["totalEquity"])
    assert fake.wallet().equity == D(account["totalEquity"])


def test_limit_order_partial_fill_then_full_fill(fake: FakeBybit, http: Any) -> None:
    with private_ws(fake, "order", "execution") as (_, got):
        order_id = limit(http, "Buy", "0.100", "93000.10", orderLinkId="lim-1")
        assert open_order(http)["orderStatus"] == "New"
        fake.fill("lim-1", D("0.030"))
        partial = open_order(http, orderId=order_id)
        assert (partial["orderStatus"], partial["cumExecQty"], partial["leavesQty"]) == (
            "PartiallyFilled", "0.030", "0.070",
        )  # fmt: skip
        assert D(partial["leavesValue"]) == D("0.070") * D("93000.10")
        fake.fill(order_id, D("0.070"), D("92999.90"))
        # The order and execution topics are separate frames: wait for both to arrive.
        wait_for(lambda: len(got.items("execution")) == 2 and len(got.items("order")) == 3)
        statuses = [i["orderStatus"] for i in got.items("order")]
    assert statuses == ["New", "PartiallyFilled", "Filled"]
    done = open_order(http, orderLinkId="lim-1")
    assert done["orderStatus"] == "Filled"
    avg = (D("0.030") * D("93000.10") + D("0.070") * D("92999.90")) / D("0.100")
    assert D(done["avgPrice"]) == avg
    executions = http.get_executions(category="linear", orderLinkId="lim-1")["result"]["list"]
    assert [(e["execQty"], e["execPrice"], e["isMaker"]) for e in executions] == [
        ("0.070", "92999.90", True), ("0.030", "93000.10", True),
    ]  # newest first  # fmt: skip
    assert sum(D(e["execFee"]) for e in executions) == D(done["cumExecFee"])
    assert D(done["cumExecFee"]) == D(done["cumExecValue"]) * D("0.0002")


def test_set_price_crossing_a_resting_order_fills_it_as_maker(fake: FakeBybit, http: Any) -> None:
    sell = limit(http, "Sell", "0.050", "94000.00")
    buy(http, "0.050")  # long at 93500 first
    fake.set_price(BTC, D("93999.90"))
    assert fake.order(sell).status == "New"
    fake.set_price(BTC, D("94100"))
    order = open_order(http, orderId=sell)
    assert (order["orderStatus"], order["avgPrice"]) == ("Filled", "94000")
    [pos] = http.get_positions(category="linear", symbol=BTC)["result"]["list"]
    assert (pos["side"], pos["size"], pos["unrealisedPnl"]) == ("", "0.000", "0")
    fees = D("0.050") * D("93500") * D("0.00055") + D("0.050") * D("94000") * D("0.0002")
    assert D(pos["cumRealisedPnl"]) == D("0.050") * 500 - fees
    assert http.get_positions(category="linear", settleCoin="USDT")["result"]["list"] == []


def test_amend_and_cancel(fake: FakeBybit, http: Any) -> None:
    order_id = limit(http, "Buy", "0.010", "90000.00", orderLinkId="am-1")
    reply = http.amend_order(category="linear", symbol=BTC, orderLinkId="am-1", qty="0.020",
                             price="91000.50")  # fmt: skip
    assert reply["result"] == {"orderId": order_id, "orderLinkId": "am-1"}
    amended = open_order(http, orderLinkId="am-1")
    assert (amended["qty"], amended["price"], amended["orderStatus"]) == (
        "0.020",
        "91000.50",
        "New",
    )
    assert error_code(
        lambda: http.amend_order(category="linear", symbol=BTC, orderId=order_id, price="91000.55")
    )[0] == 10001  # fmt: skip
    reply = http.cancel_order(category="linear", symbol=BTC, orderLinkId="am-1")
    assert reply["result"]["orderId"] == order_id
    assert http.get_open_orders(category="linear", symbol=BTC)["result"]["list"] == []
    cancelled = open_order(http, orderId=order_id)
    assert (cancelled["orderStatus"], cancelled["cancelType"]) == ("Cancelled", "CancelByUser")
    closed = http.get_open_orders(category="linear", symbol=BTC, openOnly=1)["result"]["list"]
    assert [o["orderId"] for o in closed] == [order_id]
    for call in (
        lambda: http.cancel_order(category="linear", symbol=BTC, orderId=order_id),
        lambda: http.amend_order(category="linear", symbol=BTC, orderId=order_id, qty="0.030"),
        lambda: http.cancel_order(category="linear", symbol=BTC, orderLinkId="never-sent"),
    ):
        assert error_code(call)[0] == 110001
    marketable = limit(http, "Buy", "0.010", "90000.00")
    http.amend_order(category="linear", symbol=BTC, orderId=marketable, price="95000.00")
    taken = open_order(http, orderId=marketable)
    assert (taken["orderStatus"], taken["avgPrice"]) == ("Filled", "93500")  # taker at market


def test_post_only_that_would_cross_is_rejected(fake: FakeBybit, http: Any) -> None:
    with private_ws(fake, "order") as (_, got):
        reply = http.place_order(category="linear", symbol=BTC, side="Buy", orderType="Limit",
                                 qty="0.010", price="93600.00", timeInForce="PostOnly")  # fmt: skip
        wait_for(lambda: len(got.items("order")) == 2)
        rejected = got.items("order")[-1]
    assert reply["retCode"] == 0  # accepted, then rejected by the matching engine
    assert (rejected["orderStatus"], rejected["rejectReason"], rejected["cumExecQty"]) == (
        "Rejected", "EC_PostOnlyWillTakeLiquidity", "0.000",
    )  # fmt: skip
    assert http.get_executions(category="linear")["result"]["list"] == []
    maker = limit(http, "Buy", "0.010", "93400.00", timeInForce="PostOnly")
    assert open_order(http)["orderId"] == maker


def test_ioc_and_fok_against_limited_liquidity(fake: FakeBybit, http: Any) -> None:
    fake.set_price(BTC, D("93500"), liquidity=D("0.015"))
    fok = limit(http, "Buy", "0.020", "93600.00", timeInForce="FOK")
    ioc = limit(http, "Buy", "0.020", "93600.00", timeInForce="IOC")
    assert (fake.order(fok).status, fake.order(fok).cum_exec_qty) == ("Cancelled", D(0))
    order = open_order(http, orderId=ioc)
    assert (order["orderStatus"], order["cumExecQty"], order["leavesQty"]) == (
        "Cancelled", "0.015", "0.000",
    )  # fmt: skip


def test_reduce_only_and_take_profit_stop_loss(fake: FakeBybit, http: Any) -> None:
    assert error_code(lambda: buy(http, side="Sell", reduceOnly=True))[0] == 110017
    buy(http, "0.030", takeProfit="99000", stopLoss="90000.5")
    [pos] = http.get_positions(category="linear", symbol=BTC)["result"]["list"]
    assert (pos["takeProfit"], pos["stopLoss"]) == ("99000.00", "90000.50")
    close = buy(http, "1.000", side="Sell", reduceOnly=True)["result"]["orderId"]
    assert fake.order(close).qty == D("0.030")
    assert fake.positions()[0].qty == 0


def test_duplicate_order_link_id_is_rejected(fake: FakeBybit, http: Any) -> None:
    limit(http, "Buy", "0.010", "90000.00", orderLinkId="dup-1")
    code, msg = error_code(lambda: limit(http, "Buy", "0.010", "90000.00", orderLinkId="dup-1"))
    assert (code, msg) == (110072, "OrderLinkedID is duplicate")
    fake.fill("dup-1", D("0.010"))
    assert error_code(lambda: buy(http, orderLinkId="dup-1"))[0] == 110072  # closed: still unique
    assert fake.order_create_calls == 3
    assert len(fake.orders()) == 1


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"qty": "0.0005"}, "minOrderQty"),
        ({"qty": "0.0105"}, "qtyStep"),
        ({"qty": "0.010", "orderType": "Limit", "price": "93500.05"}, "tickSize"),
        ({"qty": "0.010", "orderType": "Limit"}, "price is required"),
        ({"qty": "0.010", "orderLinkId": "x" * 37}, "36"),
        ({"qty": "0.010", "symbol": "NOPEUSDT"}, "symbol"),
        ({"qty": "0.010", "category": "spot"}, "linear"),
        ({"qty": "0.010", "positionIdx": 1}, "position idx"),
        ({"qty": "0.010", "triggerPrice": "95000"}, "conditional"),
        ({"qty": "abc"}, "not a number"),
    ],
)
def test_invalid_orders_get_10001(
    fake: FakeBybit, http: Any, params: dict[str, Any], text: str
) -> None:
    code, msg = error_code(lambda: buy(http, **params))
    assert code == 10001
    assert text in msg
    assert fake.orders() == []


def test_reject_next_order(fake: FakeBybit, http: Any) -> None:
    fake.reject_next_order(110007, "ab not enough for new order")
    assert error_code(lambda: buy(http, orderLinkId="r-1")) == (
        110007, "ab not enough for new order",
    )  # fmt: skip
    assert buy(http, orderLinkId="r-1")["retCode"] == 0  # nothing was created the first time
    assert fake.order_create_calls == 2


# -- funding and the execution list --------------------------------------------------------------


def test_funding_is_an_execution_but_not_a_fill(fake: FakeBybit, http: Any) -> None:
    buy(http, "0.100")
    with private_ws(fake, "execution", "wallet") as (_, got):
        fake.settle_funding(BTC, D("0.0001"))
        wait_for(lambda: len(got.items("wallet")) == 1)
        [pushed] = got.items("execution")
    fee = D("0.100") * D("93500") * D("0.0001")
    assert (pushed["execType"], D(pushed["execFee"]), pushed["orderId"]) == ("Funding", fee, "")
    rows = http.get_executions(category="linear", symbol=BTC)["result"]["list"]
    assert [r["execType"] for r in rows] == ["Funding", "Trade"]  # newest first
    assert rows[0] == pushed
    funding = http.get_executions(category="linear", execType="Funding")["result"]["list"]
    assert funding == [pushed]
    trades = http.get_executions(category="linear", execType="Trade")["result"]["list"]
    assert [t["execType"] for t in trades] == ["Trade"]
    [pos] = http.get_positions(category="linear", symbol=BTC)["result"]["list"]
    assert pos["size"] == "0.100"  # funding did not change the position
    taker_fee = D("0.100") * D("93500") * D("0.00055")
    assert D(pos["cumRealisedPnl"]) == -taker_fee - fee
    assert fake.wallet().balance == D("100000") - taker_fee - fee


def test_execution_list_pages_newest_first(fake: FakeBybit, http: Any) -> None:
    for _ in range(5):
        buy(http, "0.001")
    fake.settle_funding(BTC, D("-0.0002"))
    everything = [e.exec_id for e in reversed(fake.executions())]
    paged: list[str] = []
    cursor = ""
    while True:
        params: dict[str, Any] = {"category": "linear", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        result = http.get_executions(**params)["result"]
        paged += [e["execId"] for e in result["list"]]
        cursor = result["nextPageCursor"]
        if not cursor:
            break
    assert paged == everything
    assert len(paged) == 6
    later = int(time.time() * 1000) + 60_000
    assert http.get_executions(category="linear", startTime=later)["result"]["list"] == []
    assert error_code(
        lambda: http.get_executions(category="linear", startTime=1, endTime=later)
    )[0] == 10001  # more than 7 days  # fmt: skip


# -- faults --------------------------------------------------------------------------------------


def test_dropped_private_ws_reconnects_reauths_and_resubscribes(fake: FakeBybit, http: Any) -> None:
    with private_ws(fake, "order", "position") as (_, got):
        buy(http, orderLinkId="before")
        wait_for(lambda: len(got.items("position")) == 1)
        fake.drop_private_connections()
        fake.wait_private_connections(2)
        wait_for(lambda: fake.private_stats.subscriptions == 4)
        buy(http, orderLinkId="after")
        wait_for(lambda: len(got.items("position")) == 2)
        links = [i["orderLinkId"] for i in got.items("order")]
    assert links == ["before", "before", "after", "after"]
    stats = fake.private_stats
    assert (stats.connections, stats.auths, stats.drops, stats.auth_failures) == (2, 2, 1, 0)


def test_pybit_private_keepalive_gets_pongs(fake: FakeBybit) -> None:
    # websocket-client pings every second; on each pong frame pybit sends {"op":"ping"}
    with private_ws(fake, "order", ping_interval=1, ping_timeout=0.5):
        wait_for(lambda: fake.private_stats.pings >= 1, timeout=4)
    assert fake.private_stats.connections == 1  # pongs were swallowed by pybit, no reconnect


def test_lost_response_the_order_exists_and_must_be_reconciled(fake: FakeBybit) -> None:
    session = fake.pybit_http(auth=True, timeout=0.5)
    try:
        fake.lose_next_response()  # the connection is aborted after the order was created
        with pytest.raises(requests.exceptions.ConnectionError):
            buy(session, orderLinkId="lost-1")
        found = open_order(session, orderLinkId="lost-1")
        assert found["orderStatus"] == "Filled"

        fake.lose_next_response(hang=True)  # no answer until pybit's timeout
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            limit(session, "Buy", "0.010", "90000.00", orderLinkId="lost-2")
        assert time.monotonic() - started < 3
        assert open_order(session, orderLinkId="lost-2")["orderStatus"] == "New"
    finally:
        session.client.close()
    assert fake.order_create_calls == 2  # each was sent once
    assert [o.order_link_id for o in fake.orders()] == ["lost-1", "lost-2"]


def test_blind_resend_after_a_lost_response_is_a_duplicate(fake: FakeBybit) -> None:
    session = fake.pybit_http(auth=True, force_retry=True, retry_delay=0, max_retries=2)
    try:
        fake.lose_next_response()
        assert error_code(lambda: buy(session, orderLinkId="again"))[0] == 110072
    finally:
        session.client.close()
    assert fake.order_create_calls == 2
    assert len(fake.orders()) == 1


def test_paused_private_ws_holds_frames_until_resumed(fake: FakeBybit, http: Any) -> None:
    with private_ws(fake, "order") as (_, got):
        fake.pause_private_ws()
        buy(http, orderLinkId="held")
        sent = fake.private_stats.frames_sent  # frames go out before the REST answer
        assert (sent, got.items("order")) == (0, [])
        fake.resume_private_ws()
        wait_for(lambda: len(got.items("order")) == 2)
    assert [i["orderStatus"] for i in got.items("order")] == ["New", "Filled"]


# -- the private WebSocket on the wire -----------------------------------------------------------


def test_private_ws_control_messages_on_the_wire(fake: FakeBybit, http: Any) -> None:
    def auth(conn: websocket.WebSocket, expires: int, secret: str) -> dict[str, Any]:
        sign = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256)
        conn.send(json.dumps({"op": "auth", "args": [fake.api_key, expires, sign.hexdigest()]}))
        reply: dict[str, Any] = json.loads(conn.recv())
        return reply

    def send(conn: websocket.WebSocket, msg: dict[str, Any]) -> dict[str, Any]:
        conn.send(json.dumps(msg))
        reply: dict[str, Any] = json.loads(conn.recv())
        return reply

    conn = websocket.create_connection(fake.private_ws_url, timeout=5)
    try:
        early = send(conn, {"op": "subscribe", "req_id": "s0", "args": ["order"]})
        assert (early["success"], early["req_id"]) == (False, "s0")
        expires = int(time.time() * 1000) + 5000
        assert auth(conn, expires, "wrong")["success"] is False
        assert auth(conn, int(time.time() * 1000) - 1, fake.api_secret)["success"] is False
        ok = auth(conn, expires, fake.api_secret)
        assert (ok["op"], ok["success"], ok["ret_msg"]) == ("auth", True, "")
        assert ok["conn_id"]
        sub = send(conn, {"op": "subscribe", "req_id": "s1", "args": ["order", "wallet"]})
        assert (sub["op"], sub["success"], sub["req_id"]) == ("subscribe", True, "s1")
        bad = send(conn, {"op": "subscribe", "req_id": "s2", "args": ["publicTrade.BTCUSDT"]})
        assert bad["success"] is False
        pong = send(conn, {"op": "ping", "req_id": "p1"})
        assert (pong["op"], pong["req_id"], pong["conn_id"]) == ("pong", "p1", ok["conn_id"])
        assert int(pong["args"][0]) > 0
        buy(http)
        frames = [json.loads(conn.recv()) for _ in range(3)]
        assert [f["topic"] for f in frames] == ["order", "order", "wallet"]
        assert len({f["id"] for f in frames}) == 3
        unsub = send(conn, {"op": "unsubscribe", "req_id": "u1", "args": ["wallet"]})
        assert (unsub["op"], unsub["success"]) == ("unsubscribe", True)
    finally:
        conn.close()
    assert fake.private_stats.auth_failures == 2


def test_patch_pybit_private_restores_the_url(fake: FakeBybit) -> None:
    saved = unified_trading.PRIVATE_WSS
    with fake.patch_pybit_private():
        assert fake.private_ws_url == unified_trading.PRIVATE_WSS
    assert saved == unified_trading.PRIVATE_WSS
