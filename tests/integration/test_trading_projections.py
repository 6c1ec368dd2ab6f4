"""The trading read models on real NATS + PostgreSQL, from a log the execution service wrote.

The log comes from :func:`tests.trading_session.trading_session` (the real service, in memory);
it is published to a lab stream as the ``eventsourcing`` store lays it out
(``<prefix>.es.trading.e.<aggregate token>``), with the market it traded on, and projected.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from decimal import Decimal as D
from typing import TypeVar

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from commands.positions import PositionState
from commands.store import AggregateId
from events.base import Event
from events.trading import CommandRejected, FillBooked, FundingBooked, OrderPlaced, OrderRejected
from helix.codec import Codec
from helix.eventstore.subjects import encode_id
from helix.store.connect import connect
from projections.orders import open_orders, recent_orders, rejected_commands
from projections.pnl import EXACT, pnl
from projections.positions import positions, recent_fills
from projections.runner import reset
from tests.integration.projection_support import (
    TRADING_READ_MODELS,
    Lab,
    lab,
    publish,
    run_projectors,
    table_hashes,
)
from tests.services import RunningServices
from tests.trading_session import Session, trading_session

pytestmark = pytest.mark.integration

TRADING = ("orders", "positions", "pnl", "accounts")
E = TypeVar("E", bound=Event)


async def publish_log(nc: NATS, lab_: Lab, log: Sequence[tuple[AggregateId, Event]]) -> None:
    """Plain JetStream publishes, one subject per aggregate (as the ledger store writes)."""
    js, codec = nc.jetstream(), Codec()
    for aggregate_id, event in log:
        subject = f"{lab_.prefix}.es.trading.e.{encode_id(aggregate_id)}"
        await js.publish(subject, codec.encode(event))


async def project(
    nc: NATS, lab_: Lab, *, batch: int = 1000, names: tuple[str, ...] = TRADING
) -> dict[str, int]:
    return await run_projectors(nc, lab_, names, batch=batch)


async def trading_hashes(database_url: str) -> dict[str, str]:
    return await table_hashes(database_url, TRADING_READ_MODELS)


@pytest.fixture(scope="module")
async def session() -> Session:
    return await trading_session()


@pytest.fixture(scope="module")
async def projected(services: RunningServices, session: Session) -> AsyncIterator[Lab]:
    """The session's market and log in one lab, projected by candles and the trading models."""
    nc = await connect(services.nats_url, name="helix-test-trading")
    try:
        async with lab(nc, services.database_url) as a:
            await publish(nc, a, session.market)
            await publish_log(nc, a, session.log)
            await project(nc, a, names=("candles", *TRADING), batch=50)
            yield a
    finally:
        await nc.close()


@pytest.fixture
async def db(projected: Lab) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(projected.database_url)
    try:
        yield conn
    finally:
        await conn.close()


def of_type(session: Session, cls: type[E]) -> list[E]:
    return [e for _, e in session.log if isinstance(e, cls)]


def exact_sum(values: Iterable[D]) -> D:
    total = D(0)
    for v in values:
        total = EXACT.add(total, v)
    return total


def unrealized(p: PositionState, mark: D) -> D:
    """``PositionState.unrealized`` without rounding (SQL numeric is exact)."""
    return EXACT.multiply(EXACT.subtract(mark, p.entry_price), p.size)


# -- equal to the book -----------------------------------------------------------------------


async def test_positions_equal_the_service_s_book(db: asyncpg.Connection, session: Session) -> None:
    rows = await db.fetch(
        "SELECT account, venue, symbol, size, entry_price, realized_pnl, fees, funding, fills,"
        " net_pnl FROM positions"
    )
    book = session.svc.book.positions
    assert {f"{r[0]}:{r[1]}:{r[2]}": tuple(r[3:]) for r in rows} == {
        k: (p.size, p.entry_price, p.realized_pnl, p.fees, p.funding, p.fills, p.net_pnl)
        for k, p in book.items()
    }


async def test_orders_equal_the_service_s_book(db: asyncpg.Connection, session: Session) -> None:
    rows = {r["order_id"]: r for r in await db.fetch("SELECT * FROM orders")}
    book = session.svc.book.orders
    assert rows.keys() == book.keys()
    for oid, o in book.items():
        r = rows[oid]
        assert (r["status"], r["cum_qty"], r["avg_price"], r["fees"]) == (
            o.status, o.cum_qty, o.avg_price, o.fees,
        ), oid  # fmt: skip
        assert (r["venue_order_id"], r["reject_reason"]) == (o.venue_order_id, o.reject_reason)
        if r["qty"] is not None:
            assert (r["qty"], r["limit_price"]) == (o.qty, o.limit_price)
    statuses = {r["status"] for r in rows.values()}
    assert statuses >= {"filled", "partially_filled", "accepted", "cancelled", "expired",
                        "rejected"}  # fmt: skip
    risk = rows[session.orders["risk_rejected"]]
    assert (risk["reject_stage"], risk["checks"]) == ("risk", ["max_position", "max_leverage"])
    assert rows[session.orders["resting"]]["qty"] == D("0.02")  # modified from 0.01


async def test_fills_funding_and_refused_commands_are_one_row_per_event(
    db: asyncpg.Connection, session: Session
) -> None:
    fills = of_type(session, FillBooked)
    assert await db.fetchval("SELECT count(*) FROM fills") == len(fills)
    assert sum(p.fills for p in session.svc.book.positions.values()) == len(fills)
    funding = {(e.account, e.amount) for e in of_type(session, FundingBooked)}
    assert {tuple(r) for r in await db.fetch("SELECT account, amount FROM funding_payments")} == (
        funding
    )
    refused = [(e.order_id, e.command, e.reason) for e in of_type(session, CommandRejected)]
    rows = await db.fetch("SELECT order_id, command, reason FROM order_commands_rejected")
    assert sorted(tuple(r) for r in rows) == sorted(refused)


async def test_accounts_equal_the_service_s_book(db: asyncpg.Connection, session: Session) -> None:
    rows = await db.fetch("SELECT account, balance, mode, halted, halt_reason FROM accounts")
    assert {r[0]: tuple(r[1:]) for r in rows} == {
        a: (s.balance, s.mode, s.halted, s.halt_reason)
        for a, s in session.svc.book.accounts.items()
    }


async def test_daily_pnl_adds_up_to_realised_minus_fees_plus_funding(
    db: asyncpg.Connection, session: Session
) -> None:
    rows = await db.fetch(
        "SELECT account, sum(realized_pnl) r, sum(fees) f, sum(funding) u, sum(net_pnl) n,"
        " sum(fills) k, count(DISTINCT day) d FROM pnl_daily GROUP BY account"
    )
    for r in rows:
        mine = r["account"]
        exact = exact_sum(
            [EXACT.subtract(e.realized_pnl, e.fee) for e in of_type(session, FillBooked)
             if e.account == mine]
            + [e.amount for e in of_type(session, FundingBooked) if e.account == mine]
        )  # fmt: skip
        assert r["n"] == r["r"] - r["f"] + r["u"] == exact
        position = session.svc.book.position(r["account"], "sim", "BTCUSDT")
        assert abs(r["n"] - position.net_pnl) < D("1e-20")  # the book rounds to 28 digits
        assert r["k"] == position.fills
        assert r["d"] == 2  # 23:45 .. 00:15 UTC


# -- the CLI's queries -----------------------------------------------------------------------


async def test_open_and_recent_orders(db: asyncpg.Connection, session: Session) -> None:
    book = session.svc.book
    assert [o.order_id for o in await open_orders(db)] == [o.order_id for o in book.open_orders()]
    assert await open_orders(db, account="alpha") == []
    firsts = [e.order_id for _, e in session.log if isinstance(e, OrderPlaced | OrderRejected)]
    newest_first = list(dict.fromkeys(firsts))[::-1]
    recent = await recent_orders(db, 3)
    assert [o.order_id for o in recent] == newest_first[:3]
    late = next(o for o in recent if o.order_id == session.orders["late_bid"])
    assert late.status == "partially_filled"
    assert late.leaves_qty == book.orders[late.order_id].leaves_qty > 0
    assert len(await recent_orders(db, 100, account="alpha")) == sum(
        1 for o in book.orders.values() if o.placed.account == "alpha"
    )


async def test_refused_commands_of_an_order(db: asyncpg.Connection, session: Session) -> None:
    refused = await rejected_commands(db, session.orders["resting"])
    assert [(r.command, r.reason.split(":")[0]) for r in refused] == [
        ("cancel", "order is cancelled"),
        ("modify", "max_position"),
    ]
    assert refused[1].checks == ("max_position", "max_leverage")


async def test_positions_are_marked_at_the_latest_close(
    db: asyncpg.Connection, session: Session
) -> None:
    marked = await positions(db)
    last = session.last_price
    assert [(m.position.account, m.mark_price) for m in marked] == [
        ("alpha", last),
        ("paper", last),
    ]
    for m in marked:
        p = session.svc.book.position(m.position.account, "sim", "BTCUSDT")
        assert m.unrealized_pnl == unrealized(p, last)
        assert m.net_pnl == p.net_pnl
    assert [m.position.account for m in await positions(db, "paper", open_only=True)] == ["paper"]
    fills = await recent_fills(db, 2, account="paper")
    assert [f.seq for f in fills] == sorted((f.seq for f in fills), reverse=True)
    assert all(f.account == "paper" for f in fills)


async def test_pnl_by_symbol_strategy_and_day(db: asyncpg.Connection, session: Session) -> None:
    book = session.svc.book
    last = session.last_price
    marked = exact_sum(unrealized(p, last) for p in book.positions.values())
    [by_symbol] = await pnl(db, "symbol")
    assert (by_symbol.venue, by_symbol.symbol, by_symbol.unrealized_pnl) == (
        "sim", "BTCUSDT", marked,
    )  # fmt: skip
    by_strategy = await pnl(db, "strategy")
    assert [r.strategy for r in by_strategy] == ["", "breakout", "manual", "meanrev", "trend"]
    assert all(r.unrealized_pnl is None for r in by_strategy)
    days = await pnl(db, "day")
    assert [(str(r.day), r.unrealized_pnl) for r in days] == [
        ("2024-12-31", None),
        ("2025-01-01", marked),
    ]
    for rows in (by_strategy, days):
        assert exact_sum(r.net_pnl for r in rows) == by_symbol.net_pnl
        assert sum(r.fills for r in rows) == by_symbol.fills
    assert days[-1].total_pnl == days[-1].net_pnl + marked
    paper = await pnl(db, "day", account="paper")
    assert paper[-1].unrealized_pnl == unrealized(book.position("paper", "sim", "BTCUSDT"), last)


# -- independent of batching, equal to a rebuild ---------------------------------------------


async def test_replaying_with_different_batch_cuts_gives_identical_read_models(
    nc: NATS, database_url: str, session: Session
) -> None:
    hashes = []
    for batch, timescaledb in ((1000, True), (333, True), (7, False), (1, True)):
        async with lab(nc, database_url, timescaledb=timescaledb) as a:
            await publish_log(nc, a, session.log)
            counts = await project(nc, a, batch=batch)
            hashes.append(await trading_hashes(a.database_url))
        assert counts == dict.fromkeys(TRADING, len(session.log))
    assert all(hashes[0].values())
    assert all(h == hashes[0] for h in hashes[1:])


async def test_a_rebuild_reproduces_an_incremental_projection(
    nc: NATS, database_url: str, session: Session
) -> None:
    half = len(session.log) // 2
    async with lab(nc, database_url) as a:
        await publish_log(nc, a, session.log[:half])
        await project(nc, a, batch=64)
        await publish_log(nc, a, session.log[half:])
        assert await project(nc, a, batch=64) == dict.fromkeys(TRADING, len(session.log) - half)
        incremental = await trading_hashes(a.database_url)
        conn = await asyncpg.connect(a.database_url)
        try:
            every = a.projectors()
            for name in TRADING:
                await reset(conn, every[name])
            assert await conn.fetchval("SELECT count(*) FROM orders") == 0
        finally:
            await conn.close()
        await project(nc, a, batch=1000)
        rebuilt = await trading_hashes(a.database_url)
    assert all(incremental.values())
    assert incremental == rebuilt


async def test_a_refused_cancel_of_an_unknown_order_is_listed_without_an_order_row(
    nc: NATS, database_url: str
) -> None:
    oid = uuid.uuid4()
    refused = CommandRejected(
        event_id=uuid.uuid4(), ts_event=1, ts_recorded=1, source="helix-execution",
        vertical="perps", order_id=oid, command="cancel", reason="unknown order",
        command_id="c-unknown",
    )  # fmt: skip
    async with lab(nc, database_url) as a:
        await publish_log(nc, a, [(oid, refused)])
        await project(nc, a)
        conn = await asyncpg.connect(a.database_url)
        try:
            listed = await rejected_commands(conn, oid)
            orders = await conn.fetchval("SELECT count(*) FROM orders")
        finally:
            await conn.close()
    assert [(r.order_id, r.reason, r.command_id) for r in listed] == [
        (oid, "unknown order", "c-unknown")
    ]
    assert orders == 0
