"""The execution service with the in-memory store and paper venues: a whole trading session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal as D

import pytest

from commands.book import TradingBook
from commands.orders import CancelOrder, Halt, ModifyOrder, PlaceOrder, Resume
from commands.risk import Instrument, RiskConfig
from commands.store import InMemoryEventStore
from events.base import Event
from events.market import Ticker, Trade, market_event_id
from events.trading import (
    CommandRejected,
    FillBooked,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderPlaced,
    OrderRejected,
)
from helix.clock import FixedClock
from helix.trading.service import ExecutionService
from helix.venues.paper import PaperVenue

T0 = 1_735_689_600_000_000_000
SEC = 1_000_000_000
INST = {("sim", "BTCUSDT"): Instrument("BTCUSDT", D("0.1"), D("0.001"), D("0.001"))}


def trade(i: int, price: str, qty: str = "0.01", side: str = "buy") -> Trade:
    ts = T0 + i * SEC
    return Trade(event_id=market_event_id("sim", "trade", "BTCUSDT", str(i)), ts_event=ts,
                 ts_recorded=ts, source="t", vertical="perps", venue="sim", symbol="BTCUSDT",
                 trade_id=str(i), price=D(price), qty=D(qty), side=side)  # type: ignore[arg-type]  # fmt: skip


def ticker(i: int, mark: str, rate: str, next_funding: int) -> Ticker:
    ts = T0 + i * SEC
    return Ticker(
        event_id=market_event_id("sim", "ticker", "BTCUSDT", str(i)), ts_event=ts,
        ts_recorded=ts, source="t", vertical="perps", venue="sim", symbol="BTCUSDT",
        mark_price=D(mark), funding_rate=D(rate), next_funding_ts=next_funding,
    )  # fmt: skip


def service(store: InMemoryEventStore | None = None) -> ExecutionService:
    return ExecutionService(
        store=store or InMemoryEventStore(),
        venues={("sim", "paper"): PaperVenue("sim")},
        instruments=lambda v, s: INST.get((v, s)),
        risk=RiskConfig(),
        clock=FixedClock(T0 + 10 * SEC, 1000),
    )


def place(cid: str, side: str = "buy", qty: str = "0.05", **kw: object) -> PlaceOrder:
    fields: dict[str, object] = {"command_id": cid, "account": "paper", "venue": "sim",
                                 "symbol": "BTCUSDT", "side": side, "qty": D(qty)}  # fmt: skip
    fields.update(kw)
    return PlaceOrder(**fields)  # type: ignore[arg-type]


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


@pytest.fixture
async def svc() -> Iterator[ExecutionService]:  # type: ignore[misc]
    s = service()
    await s.start()
    await s.market(1, trade(1, "95000.0"))
    yield s
    await s.stop()


async def test_a_market_order_fills_at_once_with_slippage_and_taker_fee(
    svc: ExecutionService,
) -> None:
    res = await svc.execute(place("m1"))
    assert kinds(res.events) == [
        "AccountOpened", "OrderPlaced", "OrderAccepted", "OrderFilled", "FillBooked",
    ]  # fmt: skip
    fill = next(e for e in res.events if isinstance(e, OrderFilled))
    assert fill.price == D("95000.0") * D("1.0002")
    assert fill.fee == D("0.05") * fill.price * D("0.00055")
    assert svc.book.position("paper", "sim", "BTCUSDT").size == D("0.05")


async def test_a_retried_command_writes_nothing_new(svc: ExecutionService) -> None:
    first = await svc.execute(place("same"))
    again = await svc.execute(place("same"))
    assert again.duplicate
    assert again.events == []
    assert again.order_id == first.order_id


async def test_a_resting_limit_fills_partially_then_is_modified_and_fills(
    svc: ExecutionService,
) -> None:
    res = await svc.execute(place("l1", qty="0.05", order_type="limit", limit_price=D("94000.0")))
    oid = res.order_id
    assert oid is not None
    assert kinds(res.events)[-2:] == ["OrderPlaced", "OrderAccepted"]
    await svc.market(2, trade(2, "94000.0", "1"))  # touches the limit: no fill
    await svc.market(3, trade(3, "93999.9", "0.02"))  # through it: 0.02 of 0.05
    await svc.queue.join()
    order = svc.book.orders[oid]
    assert (order.status, order.cum_qty, order.avg_price) == ("partially_filled", D("0.02"),
                                                             D("94000.0"))  # fmt: skip
    mod = await svc.execute(ModifyOrder(command_id="mod", order_id=oid, qty=D("0.04"),
                                        limit_price=D("94100.0")))  # fmt: skip
    assert kinds(mod.events) == ["OrderModifyRequested", "OrderModified"]
    await svc.market(4, trade(4, "94050.0", "1"))  # through the new price: fills the rest
    await svc.queue.join()
    order = svc.book.orders[oid]
    assert (order.status, order.cum_qty) == ("filled", D("0.04"))
    cancel = await svc.execute(CancelOrder(command_id="c", order_id=oid))
    [rejected] = cancel.events
    assert isinstance(rejected, CommandRejected)
    assert rejected.reason == "order is filled"


async def test_cancel_an_open_order(svc: ExecutionService) -> None:
    res = await svc.execute(place("l2", order_type="limit", limit_price=D("91000.0")))
    assert res.order_id is not None
    cancel = await svc.execute(CancelOrder(command_id="c2", order_id=res.order_id))
    assert kinds(cancel.events) == ["OrderCancelRequested", "OrderCancelled"]
    assert isinstance(cancel.events[-1], OrderCancelled)
    assert not svc.book.orders[res.order_id].is_open


async def test_time_in_force_and_post_only(svc: ExecutionService) -> None:
    ioc = await svc.execute(place("ioc", order_type="limit", limit_price=D("94000.0"),
                                  time_in_force="ioc"))  # fmt: skip
    assert isinstance(ioc.events[-1], OrderExpired)
    post = await svc.execute(place("po", order_type="limit", limit_price=D("95500.0"),
                                   time_in_force="post_only"))  # fmt: skip
    assert isinstance(post.events[-1], OrderRejected)
    assert post.events[-1].stage == "venue"
    assert "post-only" in post.events[-1].reason


async def test_stop_loss_and_take_profit_children_one_cancels_the_other(
    svc: ExecutionService,
) -> None:
    res = await svc.execute(place("e", qty="0.05", stop_loss=D("93000.0"),
                                  take_profit=D("97000.0")))  # fmt: skip
    children = [e for e in res.events if isinstance(e, OrderPlaced) and e.parent_id]
    assert [(c.order_type, c.side, c.reduce_only) for c in children] == [
        ("stop", "sell", True), ("limit", "sell", True),
    ]  # fmt: skip
    await svc.market(5, trade(5, "97000.1", "1"))  # the take-profit fills
    await svc.queue.join()
    tp, sl = children[1].order_id, children[0].order_id
    assert svc.book.orders[tp].status == "filled"
    assert svc.book.orders[sl].status == "cancelled"
    pos = svc.book.position("paper", "sim", "BTCUSDT")
    assert pos.size == 0
    assert pos.realized_pnl == D("0.05") * (D("97000.0") - D("95000.0") * D("1.0002"))


async def test_the_risk_guardian_rejects_with_reasons_and_the_halt_blocks_new_risk(
    svc: ExecutionService,
) -> None:
    big = await svc.execute(place("big", qty="1"))
    [rej] = [e for e in big.events if isinstance(e, OrderRejected)]
    assert rej.checks == ("max_position",)
    assert rej.stage == "risk"
    await svc.execute(Halt(command_id="h", account="paper", reason="drill"))
    halted = await svc.execute(place("after-halt"))
    assert isinstance(halted.events[-1], OrderRejected)
    assert halted.events[-1].checks == ("trading_halted",)
    await svc.execute(Resume(command_id="r", account="paper"))
    ok = await svc.execute(place("after-resume"))
    assert isinstance(ok.events[-1], FillBooked)


async def test_funding_is_booked_once_at_the_funding_time(svc: ExecutionService) -> None:
    await svc.execute(place("f", qty="0.05"))
    boundary = T0 + 100 * SEC
    await svc.market(6, ticker(6, "95000", "0.0001", boundary))
    await svc.market(7, ticker(7, "95100", "0.0002", boundary))
    await svc.market(8, ticker(101, "95200", "0.0003", boundary + 8 * 3600 * SEC))
    await svc.market(9, ticker(102, "95200", "0.0003", boundary + 8 * 3600 * SEC))
    await svc.queue.join()
    pos = svc.book.position("paper", "sim", "BTCUSDT")
    assert pos.funding == -D("0.05") * D("95100") * D("0.0002")


async def test_rebuilding_the_book_from_the_store_gives_the_same_state() -> None:
    store = InMemoryEventStore()
    s = service(store)
    await s.start()
    await s.market(1, trade(1, "95000.0"))
    await s.execute(place("a", qty="0.03", stop_loss=D("94000.0")))
    res = await s.execute(place("b", qty="0.02", order_type="limit", limit_price=D("94500.0")))
    await s.market(2, trade(2, "94400.0", "0.01"))
    await s.queue.join()
    await s.stop()
    rebuilt = TradingBook()
    async for aggregate_id, event in store.load_all():
        rebuilt.apply(aggregate_id, event)
    assert rebuilt.orders == s.book.orders
    assert rebuilt.positions == s.book.positions
    assert rebuilt.versions == s.book.versions
    # A restarted service restores its resting paper orders and fills them from later trades.
    again = service(store)
    await again.start()
    assert res.order_id is not None
    await again.market(3, trade(3, "94400.0", "0.05"))
    await again.queue.join()
    assert again.book.orders[res.order_id].status == "filled"
    await again.stop()


async def test_unknown_markets_and_live_orders_are_refused_clearly(svc: ExecutionService) -> None:
    from helix.errors import ValidationError

    with pytest.raises(ValidationError, match="live trading is off"):
        await svc.execute(place("live", live=True))
    with pytest.raises(ValidationError, match="no paper venue for market 'nowhere'"):
        await svc.execute(place("x", venue="nowhere"))
    res = await svc.execute(place("y", symbol="DOGEUSDT"))
    assert isinstance(res.events[-1], OrderRejected)
    assert res.events[-1].checks[0] == "no_instrument"
    assert uuid.UUID(str(res.order_id))
    assert not any(isinstance(e, OrderModified) for e in res.events)


async def test_commands_for_unknown_orders_are_rejected_and_the_service_goes_on(
    svc: ExecutionService,
) -> None:
    ghost = uuid.uuid4()
    res = await svc.execute(CancelOrder(command_id="ghost", order_id=ghost))
    [rej] = res.events
    assert isinstance(rej, CommandRejected)
    assert rej.reason == "unknown order"
    mod = await svc.execute(ModifyOrder(command_id="ghost2", order_id=ghost, qty=D("1")))
    assert isinstance(mod.events[0], CommandRejected)
    assert ghost not in svc.book.orders
    ok = await svc.execute(place("after"))
    assert isinstance(ok.events[-1], FillBooked)


class FaultyVenue(PaperVenue):
    """A venue with a bug: submitting raises (what the service must survive)."""

    async def submit(self, order: object, *, now_ns: int) -> list[object]:  # type: ignore[override]
        raise RuntimeError("venue bug")


async def test_an_unexpected_error_drops_one_command_not_the_service() -> None:
    inst = {**INST, ("bad", "BTCUSDT"): INST[("sim", "BTCUSDT")]}
    s = ExecutionService(
        store=InMemoryEventStore(),
        venues={("sim", "paper"): PaperVenue("sim"), ("bad", "paper"): FaultyVenue("bad")},  # type: ignore[dict-item]
        instruments=lambda v, sym: inst.get((v, sym)), risk=RiskConfig(),
        clock=FixedClock(T0 + 10 * SEC, 1000),
    )  # fmt: skip
    await s.start()
    await s.market(1, trade(1, "95000.0"))
    s.set_mark("bad", "BTCUSDT", D("95000.0"))
    with pytest.raises(RuntimeError, match="venue bug"):
        await s.execute(place("boom", venue="bad"))
    assert not s.book.orders  # the half-decided order was rolled back with its batch
    ok = await s.execute(place("fine"))
    assert isinstance(ok.events[-1], FillBooked)
    assert "venue bug" in s.errors[-1]
    await s.stop()
