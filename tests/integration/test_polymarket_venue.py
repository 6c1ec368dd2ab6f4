"""Polymarket through the execution service: paper orders filled from recorded CLOB trades on
the real log, and the live venue against the fake Polymarket (real SDK signatures): fills from
the user channel, cancels, and a reconcile after a restart."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from eth_account import Account

from commands.orders import CancelOrder, PlaceOrder
from commands.risk import RiskConfig
from commands.store import InMemoryEventStore
from events.market import Trade, market_event_id
from events.poly import PolyMarket
from events.trading import FillBooked, OrderFilled, OrderRejected
from helix.bootstrap import runtime
from helix.clock import SystemClock
from helix.settings import Settings, load_settings
from helix.store.connect import connect
from helix.store.market import MarketAppender
from helix.store.streams import ensure_streams
from helix.testing.fake_polymarket import FakePolymarket
from helix.trading.instruments import polymarket_instrument
from helix.trading.runtime import decode_events, execute_once
from helix.trading.service import ExecutionService
from helix.venues.credentials import PolymarketKeys
from helix.venues.polymarket import PolymarketVenue
from helix.venues.polymarket_sdk import PolymarketGateway

pytestmark = pytest.mark.integration


def token() -> str:
    return "".join(random.choice("0123456789") for _ in range(77))


# -- paper, on the real log ----------------------------------------------------------------------


async def publish(nats_url: str, events: list[Any]) -> None:
    nc = await connect(nats_url)
    try:
        await ensure_streams(nc.jetstream(), load_settings())
        async with MarketAppender(nc) as app:
            for e in events:
                await app.append(e)
            await app.flush()
    finally:
        await nc.close()


def listing(cid: str, yes: str, no: str) -> PolyMarket:
    ts = time.time_ns()
    return PolyMarket(event_id=uuid.uuid4(), ts_event=ts, ts_recorded=ts, source="test",
                      vertical="poly", symbol=cid, condition_id=cid, question="Will it?",
                      slug=f"will-{cid[2:10]}", outcomes=("Yes", "No"), token_ids=(yes, no),
                      prices=(D("0.50"), D("0.50")))  # fmt: skip


def clob_trade(tok: str, price: str, qty: str) -> Trade:
    ts, tid = time.time_ns(), uuid.uuid4().hex
    return Trade(event_id=market_event_id("polymarket", "trade", tok, tid), ts_event=ts,
                 ts_recorded=ts, source="test", vertical="poly", venue="polymarket", symbol=tok,
                 trade_id=tid, price=D(price), qty=D(qty), side="sell")  # fmt: skip


async def run(cmd: PlaceOrder) -> list[Any]:
    s = load_settings()
    async with runtime(s) as rt:
        reply = await execute_once(rt, s, cmd)
        assert reply.error is None, reply.error
        return decode_events(reply, rt.codec)


def place(account: str, tok: str, side: str, qty: str, price: str, **kw: Any) -> PlaceOrder:
    return PlaceOrder(command_id=uuid.uuid4().hex, account=account, venue="polymarket",
                      symbol=tok, side=side, qty=D(qty), order_type="limit",  # type: ignore[arg-type]
                      limit_price=D(price), **kw)  # fmt: skip


async def test_paper_orders_fill_from_recorded_clob_trades(
    nats_url: str, database_url: str
) -> None:
    cid, yes, no = "0x" + uuid.uuid4().hex * 2, token(), token()
    account = f"poly{uuid.uuid4().hex[:6]}"
    await publish(nats_url, [listing(cid, yes, no), clob_trade(yes, "0.50", "100")])

    taken = await run(place(account, yes, "buy", "10", "0.50"))
    [booked] = [e for e in taken if isinstance(e, FillBooked)]
    assert (booked.venue, booked.symbol, booked.size) == ("polymarket", yes, D(10))
    assert booked.fee == 0

    resting = await run(place(account, yes, "buy", "20", "0.49"))
    assert not any(isinstance(e, OrderFilled) for e in resting)
    await publish(nats_url, [clob_trade(yes, "0.48", "15")])  # trades through 0.49
    shorting = await run(place(account, no, "sell", "5", "0.50"))
    [rejected] = [e for e in shorting if isinstance(e, OrderRejected)]
    assert "no_short" in rejected.reason
    exit_ = await run(place(account, yes, "sell", "5", "0.48", reduce_only=True))
    assert [e.size for e in exit_ if isinstance(e, FillBooked)] == [D(20)]  # 10 + 15 − 5
    # The resting buy filled 15 of 20 from the recorded trade, as maker at its limit, while the
    # service caught up before the sell.
    s = load_settings()
    async with runtime(s) as rt:
        from helix.trading.runtime import running_service

        async with running_service(rt, s) as svc:
            pos = svc.book.position(account, "polymarket", yes)
            assert pos.size == D(20)
            fills = [o for o in svc.book.orders.values() if o.placed.account == account
                     and o.placed.limit_price == D("0.49")]  # fmt: skip
            assert [(o.cum_qty, o.avg_price) for o in fills] == [(D(15), D("0.49"))]


# -- live, against the fake ----------------------------------------------------------------------

CID = "0x" + "cd" * 32
YES, NO = "7" * 40, "8" * 40


@pytest.fixture
def fake() -> Iterator[FakePolymarket]:
    with FakePolymarket() as f:
        f.add_market({"id": "1", "question": "Will it?", "conditionId": CID, "slug": "will-it",
                      "outcomes": '["Yes", "No"]', "outcomePrices": '["0.5", "0.5"]',
                      "clobTokenIds": json.dumps([YES, NO]), "active": True, "closed": False,
                      "orderPriceMinTickSize": 0.01, "orderMinSize": 5})  # fmt: skip
        f.set_book(YES, bids=[("0.48", "100")], asks=[("0.52", "50")])
        yield f


def settings_for(fake: FakePolymarket) -> Settings:
    env = fake.settings_overrides()
    return Settings(
        home="/tmp/unused",
        live_trading=True,
        polymarket_clob_url=env["HELIX_POLYMARKET_CLOB_URL"],
        polymarket_gamma_url=env["HELIX_POLYMARKET_GAMMA_URL"],
        polymarket_data_url=env["HELIX_POLYMARKET_DATA_URL"],
        polymarket_ws_url=env["HELIX_POLYMARKET_WS_URL"],
        polymarket_chain_id=int(env["HELIX_POLYMARKET_CHAIN_ID"]),
    )


async def build(
    fake: FakePolymarket,
    store: InMemoryEventStore,
    keys: PolymarketKeys,
    *,
    stream: bool,
    collateral: str | None = "1000",
) -> tuple[ExecutionService, PolymarketVenue]:
    if collateral is not None:
        fake.set_collateral(Account.from_key(keys.private_key).address, collateral)
    gw = PolymarketGateway(settings_for(fake), keys, ping_s=0.05, reconnect_s=(0.05, 0.2))
    venue = PolymarketVenue(gw, opener=gw)
    await venue.open()
    svc = ExecutionService(
        store=store, venues={("polymarket", "live"): venue},
        instruments=lambda v, s: polymarket_instrument(s), risk=RiskConfig(), clock=SystemClock(),
        live_allowed=True,
    )  # fmt: skip
    svc.set_mark("polymarket", YES, D("0.52"))
    venue.sink = svc.sink
    await svc.start()
    if stream:
        venue.connect()
        await asyncio.to_thread(fake.wait_user_connected, 1, 15.0)
    return svc, venue


def live_buy(cid: str, qty: str, price: str) -> PlaceOrder:
    return PlaceOrder(command_id=cid, account="live", venue="polymarket", symbol=YES, side="buy",
                      qty=D(qty), order_type="limit", limit_price=D(price),
                      live=True)  # fmt: skip


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_live_submit_fill_from_the_user_channel_and_cancel(fake: FakePolymarket) -> None:
    keys = PolymarketKeys(private_key=Account.create().key.hex())
    svc, venue = await build(fake, InMemoryEventStore(), keys, stream=True)
    try:
        taking = (await svc.execute(live_buy("take", "10", "0.52"))).order_id
        assert taking is not None
        await until(lambda: svc.book.orders[taking].status == "filled")
        order = svc.book.orders[taking]
        assert (order.cum_qty, order.avg_price) == (D(10), D("0.52"))
        assert fake.orders[-1].order_id == order.venue_order_id
        assert svc.book.position("live", "polymarket", YES).size == D(10)

        resting = (await svc.execute(live_buy("rest", "10", "0.50"))).order_id
        assert resting is not None
        await until(lambda: svc.book.orders[resting].status == "accepted")
        await svc.execute(CancelOrder(command_id="c1", order_id=resting))
        await until(lambda: svc.book.orders[resting].status == "cancelled")
        assert len(fake.orders) == 2  # each order sent once
    finally:
        await svc.stop()
        await venue.aclose()


async def test_a_restart_reconciles_fills_it_missed(fake: FakePolymarket) -> None:
    keys = PolymarketKeys(private_key=Account.create().key.hex())
    store = InMemoryEventStore()
    svc, venue = await build(fake, store, keys, stream=False)  # nobody listens to the channel
    try:
        oid = (await svc.execute(live_buy("missed", "10", "0.52"))).order_id
        assert oid is not None
        await until(lambda: svc.book.orders[oid].status == "accepted")
        assert svc.book.orders[oid].cum_qty == 0
    finally:
        await svc.stop()
        await venue.aclose()
    again, venue2 = await build(fake, store, keys, stream=False)
    try:
        order = again.book.orders[oid]
        assert (order.status, order.cum_qty, order.avg_price) == ("filled", D(10), D("0.52"))
        assert again.book.position("live", "polymarket", YES).size == D(10)
        assert len(fake.orders) == 1
    finally:
        await again.stop()
        await venue2.aclose()


async def test_the_live_account_opens_with_the_wallets_collateral(fake: FakePolymarket) -> None:
    keys = PolymarketKeys(private_key=Account.create().key.hex())
    svc, venue = await build(fake, InMemoryEventStore(), keys, stream=True, collateral="1000")
    try:
        assert svc.live_balance["polymarket"] == D(1000)  # GET /balance-allowance, L2
        res = await svc.execute(live_buy("ok", "10", "0.52"))  # 5.20 of 1,000: within 10%
        assert res.order_id is not None
        await until(lambda: svc.book.orders[res.order_id].status == "filled")  # type: ignore[index]
        assert svc.equity("live", "live") == D(1000)
        assert len(fake.orders) == 1
    finally:
        await svc.stop()
        await venue.aclose()
    poor = PolymarketKeys(private_key=Account.create().key.hex())
    svc, venue = await build(fake, InMemoryEventStore(), poor, stream=False, collateral="20")
    try:
        assert svc.live_balance["polymarket"] == D(20)
        res = await svc.execute(live_buy("too-big", "10", "0.52"))  # 5.20 > 10% of 20
        [rejected] = [e for e in res.events if isinstance(e, OrderRejected)]
        assert "position" in rejected.reason
        assert len(fake.orders) == 1  # the guardian stopped it: nothing sent
    finally:
        await svc.stop()
        await venue.aclose()


async def test_two_resting_orders_hit_by_one_taker_order(fake: FakePolymarket) -> None:
    keys = PolymarketKeys(private_key=Account.create().key.hex())
    svc, venue = await build(fake, InMemoryEventStore(), keys, stream=True, collateral="10000")
    other = PolymarketKeys(private_key=Account.create().key.hex())
    try:
        ids = []
        for cid, qty in (("a", "20"), ("b", "30")):  # two bids at 0.50, above the book's 0.48
            oid = (await svc.execute(live_buy(cid, qty, "0.50"))).order_id
            assert oid is not None
            ids.append(oid)
        await until(lambda: all(svc.book.orders[i].status == "accepted" for i in ids))
        async with PolymarketGateway(settings_for(fake), other) as taker:
            ack = await taker.place_order(
                token_id=YES, side="sell", size=D(35), price=D("0.49"), order_type="FAK"
            )
        assert ack.success
        [tid] = ack.trade_ids  # one trade at 0.50 with both of our orders as makers
        a, b = ids
        await until(lambda: svc.book.orders[b].cum_qty == D(15))
        first, second = svc.book.orders[a], svc.book.orders[b]
        assert (first.status, first.cum_qty, first.avg_price) == ("filled", D(20), D("0.50"))
        assert (second.status, second.cum_qty) == ("partially_filled", D(15))
        assert first.exec_ids == second.exec_ids == frozenset({tid})
        assert svc.book.position("live", "polymarket", YES).size == D(35)
        wallet = Account.from_key(keys.private_key).address
        assert fake.collateral(wallet) == D(10000) - D("17.5")  # 35 x 0.50 paid to the taker
        assert fake.tokens(wallet, YES) == D(35)
    finally:
        await svc.stop()
        await venue.aclose()


async def test_a_booked_fill_whose_trade_fails_is_flagged_and_never_rebooked(
    fake: FakePolymarket,
) -> None:
    keys = PolymarketKeys(private_key=Account.create().key.hex())
    store = InMemoryEventStore()
    svc, venue = await build(fake, store, keys, stream=True)
    flagged: list[Any] = []
    venue.on_failed = flagged.append
    try:
        oid = (await svc.execute(live_buy("fails", "10", "0.52"))).order_id
        assert oid is not None
        await until(lambda: svc.book.orders[oid].status == "filled")
        [tid] = svc.book.orders[oid].exec_ids
        fake.set_trade_status(tid, "FAILED")
        await until(lambda: bool(flagged))
        [failed] = flagged
        assert (failed.order_id, failed.trade_id, failed.qty, failed.price) == (
            oid, tid, D(10), D("0.52"),
        )  # fmt: skip
        assert "not reversed" in failed.reason
        assert venue.failed_fills == flagged
        assert svc.book.orders[oid].cum_qty == D(10)  # the Venue protocol has no bust

        missed = (await svc.execute(live_buy("missed", "5", "0.52"))).order_id
        assert missed is not None
        await until(lambda: svc.book.orders[missed].status == "filled")
    finally:
        await svc.stop()
        await venue.aclose()
    # A trade that fails before Helix saw it is never booked, not even by a reconcile.
    svc2, venue2 = await build(fake, store, keys, stream=False)
    try:
        late = (await svc2.execute(live_buy("late", "5", "0.52"))).order_id
        assert late is not None
        await until(lambda: svc2.book.orders[late].status == "accepted")
        [trade] = [t for t in fake.trades if t["id"] not in svc2.book.orders[missed].exec_ids
                   and t["id"] != tid and t["side"] == "BUY" and t["size"] == "5"]  # fmt: skip
        fake.set_trade_status(trade["id"], "FAILED")
    finally:
        await svc2.stop()
        await venue2.aclose()
    svc3, venue3 = await build(fake, store, keys, stream=False)
    try:
        order = svc3.book.orders[late]
        assert order.cum_qty == 0
        assert order.status == "cancelled"  # no longer open at Polymarket, nothing filled
        assert venue3.failed_fills == []
    finally:
        await svc3.stop()
        await venue3.aclose()
