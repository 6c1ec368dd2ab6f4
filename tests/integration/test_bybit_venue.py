"""Live trading on the fake Bybit with the real pybit clients: fills, rejects, lost responses,
restarts; an order is never sent twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from decimal import Decimal as D
from typing import Any

import pytest

from commands.orders import CancelOrder, ModifyOrder, PlaceOrder
from commands.risk import RiskConfig
from commands.store import InMemoryEventStore
from events.trading import OrderPlaced, OrderRejected, OrderSent
from helix.clock import SystemClock
from helix.testing.fake_bybit import FakeBybit
from helix.trading.instruments import bybit_instruments
from helix.trading.service import ExecutionService
from helix.venues.bybit import BybitVenue

pytestmark = pytest.mark.integration


@pytest.fixture
def fake() -> Iterator[FakeBybit]:
    with FakeBybit(symbols=("BTCUSDT",), seed=3) as f:
        f.set_price("BTCUSDT", D("50000"))
        yield f


def build(
    fake: FakeBybit, store: InMemoryEventStore, *, http: Any = None, ws: bool = True
) -> tuple[ExecutionService, BybitVenue]:
    session = http or fake.pybit_http(auth=True, timeout=2, max_retries=1)
    items = session.get_instruments_info(category="linear")["result"]["list"]
    instruments = bybit_instruments(items)
    venue = BybitVenue(session)
    svc = ExecutionService(
        store=store, venues={("bybit", "live"): venue},
        instruments=lambda v, s: instruments.get((v, s)), risk=RiskConfig(), clock=SystemClock(),
        live_allowed=True,
    )  # fmt: skip
    svc.set_mark("bybit", "BTCUSDT", D("50000"))
    venue.sink = svc.sink
    if ws:
        venue.connect(lambda: fake.pybit_private_ws())
        fake.wait_private_subscribed("order", "execution")
    return svc, venue


def order(cid: str, side: str = "buy", qty: str = "0.01", **kw: object) -> PlaceOrder:
    fields: dict[str, object] = {
        "command_id": cid, "account": "live", "venue": "bybit", "symbol": "BTCUSDT",
        "side": side, "qty": D(qty), "live": True,
    }  # fmt: skip
    fields.update(kw)
    return PlaceOrder(**fields)  # type: ignore[arg-type]


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_a_live_market_order_is_sent_once_and_fills_from_bybit(fake: FakeBybit) -> None:
    svc, venue = build(fake, InMemoryEventStore())
    await svc.start()
    try:
        res = await svc.execute(order("m1"))
        assert [type(e) for e in res.events][-2:] == [OrderPlaced, OrderSent]
        oid = res.order_id
        assert oid is not None
        await until(lambda: svc.book.orders[oid].status == "filled")
        o = svc.book.orders[oid]
        assert o.cum_qty == D("0.01")
        assert o.avg_price == D("50000")
        [bybit_order] = fake.orders()
        assert bybit_order.order_link_id == oid.hex
        assert fake.order_create_calls == 1
        pos = svc.book.position("live", "bybit", "BTCUSDT")
        assert pos.size == D("0.01")
        assert pos.fees == D("0.01") * D("50000") * D("0.00055")
    finally:
        await svc.stop()
        venue.close()


async def test_partial_fills_amend_and_cancel_follow_the_private_stream(fake: FakeBybit) -> None:
    svc, venue = build(fake, InMemoryEventStore())
    await svc.start()
    try:
        res = await svc.execute(order("l1", qty="0.02", order_type="limit",
                                      limit_price=D("49500.0")))  # fmt: skip
        oid = res.order_id
        assert oid is not None
        await until(lambda: svc.book.orders[oid].status == "accepted")
        fake.fill(oid.hex, D("0.005"))
        await until(lambda: svc.book.orders[oid].cum_qty == D("0.005"))
        assert svc.book.orders[oid].status == "partially_filled"
        await svc.execute(ModifyOrder(command_id="a", order_id=oid, qty=D("0.03"),
                                      limit_price=D("49600.0")))  # fmt: skip
        await until(lambda: svc.book.orders[oid].qty == D("0.03"))
        assert fake.order(oid.hex).price == D("49600.0")
        await svc.execute(CancelOrder(command_id="c", order_id=oid))
        await until(lambda: svc.book.orders[oid].status == "cancelled")
        assert svc.book.orders[oid].cum_qty == D("0.005")
    finally:
        await svc.stop()
        venue.close()


async def test_a_bybit_rejection_is_an_event_with_its_reason(fake: FakeBybit) -> None:
    svc, venue = build(fake, InMemoryEventStore())
    await svc.start()
    try:
        fake.reject_next_order(110007, "ab not enough for new order")
        res = await svc.execute(order("r1"))
        oid = res.order_id
        assert oid is not None
        await until(lambda: svc.book.orders[oid].status == "rejected")
        assert "110007" in svc.book.orders[oid].reject_reason
    finally:
        await svc.stop()
        venue.close()


async def test_a_lost_response_is_reconciled_not_resent(fake: FakeBybit) -> None:
    svc, venue = build(fake, InMemoryEventStore())
    await svc.start()
    try:
        fake.lose_next_response()
        res = await svc.execute(order("lost"))
        oid = res.order_id
        assert oid is not None
        await until(lambda: svc.book.orders[oid].status == "filled")
        assert fake.order_create_calls == 1
    finally:
        await svc.stop()
        venue.close()


async def test_after_a_restart_orders_in_doubt_are_reconciled_and_never_sent_twice(
    fake: FakeBybit,
) -> None:
    store = InMemoryEventStore()
    # 1. The service dies after recording OrderSent, before Bybit heard of the order: its
    #    venue cannot reach Bybit (closed port), so the send and the reconcile both fail.
    svc1, v1 = build(fake, store, ws=False)
    await svc1.start()
    dead = fake.pybit_http(auth=True, timeout=1, max_retries=1)
    dead.endpoint = "http://127.0.0.1:9"
    v1.http = dead
    never = (await svc1.execute(order("never"))).order_id
    await svc1.stop()
    assert never is not None
    assert svc1.book.orders[never].status == "sent"
    # 2. Bybit got this one, but the answer was lost and the process died before reconciling.
    svc2, v2 = build(fake, store, ws=False)
    await svc2.start()
    fake.lose_next_response(hang=True)
    v2.reconcile = lambda orders: _raise()  # type: ignore[method-assign,assignment,return-value]
    arrived = (await svc2.execute(order("arrived"))).order_id
    await svc2.stop()
    assert arrived is not None
    assert svc2.book.orders[arrived].status == "sent"
    assert fake.order_create_calls == 1
    # 3. Restart: both are reconciled from Bybit's own records; nothing is sent again.
    svc3, v3 = build(fake, store)
    await svc3.start()
    try:
        await until(lambda: svc3.book.orders[arrived].status == "filled")
        assert svc3.book.orders[never].status == "rejected"
        assert svc3.book.orders[never].reject_reason == "not received by bybit"
        assert fake.order_create_calls == 1
        assert [type(e) for e in await store.load(never)][-1] is OrderRejected
    finally:
        await svc3.stop()
        v3.close()


async def _raise() -> list[object]:
    raise ConnectionError("the process died before reconciling")


async def test_fills_after_a_dropped_private_stream_still_arrive(fake: FakeBybit) -> None:
    svc, venue = build(fake, InMemoryEventStore())
    await svc.start()
    try:
        res = await svc.execute(order("d1", qty="0.02", order_type="limit",
                                      limit_price=D("49000.0")))  # fmt: skip
        oid = res.order_id
        assert oid is not None
        await until(lambda: svc.book.orders[oid].status == "accepted")
        fake.drop_private_connections()
        fake.wait_private_connections(2, timeout=10)  # pybit reconnects, re-auths, resubscribes
        fake.wait_private_subscribed("order", "execution")
        fake.fill(oid.hex, D("0.02"))
        await until(lambda: svc.book.orders[oid].status == "filled", timeout=10)
        assert svc.book.position("live", "bybit", "BTCUSDT").size == D("0.02")
    finally:
        await svc.stop()
        venue.close()
