"""The market fast path on a real nats-server: idempotence, acks, back-pressure, replay, tail."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal

import pytest
from nats.aio.client import Client as NATS

from events.market import Trade, market_event_id
from helix.settings import Settings
from helix.store.market import MarketAppender
from helix.store.replay import replay, tail
from helix.store.streams import MARKET, ensure_streams

pytestmark = pytest.mark.integration

T0 = 1_732_000_000_000_000_000  # 2024-11-19 UTC, ns


def a_trade(i: int, *, venue: str = "t1", symbol: str = "BTCUSDT", ts: int | None = None) -> Trade:
    trade_id = f"T{i}"
    return Trade(
        event_id=market_event_id(venue, "trade", symbol, trade_id),  # type: ignore[arg-type]
        ts_event=ts if ts is not None else T0 + i * 1_000_000,
        ts_recorded=T0 + i * 1_000_000 + 5,
        source=venue,
        vertical="perps",
        venue=venue,
        symbol=symbol,
        trade_id=trade_id,
        price=Decimal("65000.5") + i,
        qty=Decimal("0.001"),
        side="buy" if i % 2 else "sell",
    )


@pytest.fixture
async def streams(nc: NATS) -> None:
    await ensure_streams(nc.jetstream(), Settings(home="/tmp/unused"))


def fresh_venue() -> str:
    return "v" + uuid.uuid4().hex[:10]


async def count(nc: NATS, subject: str) -> int:
    info = await nc.jetstream().stream_info(MARKET, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


@pytest.mark.usefixtures("streams")
async def test_resending_trades_adds_nothing(nc: NATS) -> None:
    venue = fresh_venue()
    trades = [a_trade(i, venue=venue) for i in range(500)]
    async with MarketAppender(nc) as app:
        await app.append_many(trades)
        first = await app.flush()
        await app.append_many(trades[:200])
        second = await app.flush()
    assert first.stored == 500
    assert second.duplicates == 200
    assert await count(nc, f"mkt.{venue}.>") == 500


@pytest.mark.usefixtures("streams")
async def test_back_pressure_bounds_in_flight(nc: NATS) -> None:
    venue = fresh_venue()
    peak = 0
    async with MarketAppender(nc, window=64) as app:
        for i in range(2_000):
            await app.append(a_trade(i, venue=venue))
            peak = max(peak, app.in_flight)
        stats = await app.flush()
    assert peak <= 64
    assert stats.stored == 2_000


@pytest.mark.usefixtures("streams")
async def test_replay_by_subject_filter(nc: NATS) -> None:
    venue = fresh_venue()
    btc = [a_trade(i, venue=venue, symbol="BTCUSDT") for i in range(300)]
    eth = [a_trade(i, venue=venue, symbol="ETHUSDT") for i in range(300, 400)]
    async with MarketAppender(nc) as app:
        await app.append_many([*btc[:150], *eth, *btc[150:]])
        await app.flush()
    assert [e async for _, e in replay(nc, subjects=f"mkt.{venue}.trade.BTCUSDT")] == btc
    assert [e async for _, e in replay(nc, subjects=f"mkt.{venue}.*.ETHUSDT")] == eth


@pytest.mark.usefixtures("streams")
async def test_replay_from_start_time(nc: NATS) -> None:
    venue = fresh_venue()
    before = [a_trade(i, venue=venue) for i in range(100)]
    after = [a_trade(i, venue=venue) for i in range(100, 250)]
    async with MarketAppender(nc) as app:
        await app.append_many(before)
        await app.flush()
        await asyncio.sleep(0.05)
        cut = time.time_ns()
        await asyncio.sleep(0.05)
        await app.append_many(after)
        await app.flush()
    got = [e async for _, e in replay(nc, subjects=f"mkt.{venue}.>", start_time_ns=cut)]
    assert got == after


@pytest.mark.usefixtures("streams")
async def test_tail_sees_new_events(nc: NATS) -> None:
    venue = fresh_venue()
    got: list[object] = []

    async def follow() -> None:
        async for _, e in tail(nc, subjects=f"mkt.{venue}.>"):
            got.append(e)
            if len(got) == 3:
                return

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.3)
    async with MarketAppender(nc) as app:
        await app.append_many([a_trade(i, venue=venue) for i in range(3)])
        await app.flush()
    await asyncio.wait_for(task, 10)
    assert [e.trade_id for e in got] == ["T0", "T1", "T2"]  # type: ignore[attr-defined]


async def test_a_rejected_publish_is_an_error_not_a_hang(nc: NATS) -> None:
    """nats-py's publish_async never resolves a rejected message (nats.py#985); ours raises."""
    from nats.js import api

    from helix.errors import StoreError

    js = nc.jetstream()
    name = "REJECTS_" + uuid.uuid4().hex[:8]
    prefix = "rj" + uuid.uuid4().hex[:8]
    await js.add_stream(
        name=name,
        subjects=[f"{prefix}.>"],
        max_msgs=10,
        discard=api.DiscardPolicy.NEW,  # the 11th message is refused by the server
    )
    try:
        async with MarketAppender(nc, subject_prefix=prefix) as app:
            await app.append_many(a_trade(i) for i in range(25))
            with pytest.raises(StoreError, match="maximum messages"):
                await asyncio.wait_for(app.flush(), 10)
        assert app.stats.stored == 10
    finally:
        await js.delete_stream(name)
