"""The Bybit feed with the real pybit clients against a local fake Bybit, into real NATS."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NATS

from events.market import Kline, Trade
from events.ops import DeadLetter
from helix.clock import SystemClock
from helix.feeds.bybit.feed import BybitFeed
from helix.feeds.bybit.rest import BybitRest
from helix.settings import Settings
from helix.store.replay import replay_batches
from helix.store.streams import DLQ, ensure_streams
from helix.testing.fake_bybit import FakeBybit
from tests.integration.projection_support import Lab, lab

pytestmark = pytest.mark.integration


@pytest.fixture
async def lab_stream(nc: NATS, database_url: str) -> AsyncIterator[Lab]:
    await ensure_streams(nc.jetstream(), Settings(home="/tmp/unused"))  # DLQ
    async with lab(nc, database_url) as a:
        yield a


async def wait_for(cond: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def logged_trades(nc: NATS, a: Lab) -> list[Trade]:
    out: list[Trade] = []
    async for batch in replay_batches(nc, subjects=f"{a.prefix}.bybit.trade.>", stream=a.stream):
        out.extend(e for _, e in batch if isinstance(e, Trade))
    return out


def start_feed(
    nc: NATS, a: Lab, fake: FakeBybit, symbols: list[str]
) -> tuple[BybitFeed, asyncio.Event, asyncio.Task[object]]:
    feed = BybitFeed(
        nc=nc,
        rest=BybitRest(fake.url),
        ws_url=fake.ws_url,
        symbols=symbols,
        clock=SystemClock(),
        subject_prefix=a.prefix,
        dlq_subject=f"dlq.test_{a.prefix}",
        repair_min_interval=0.5,
    )
    stop = asyncio.Event()
    task: asyncio.Task[object] = asyncio.create_task(feed.run(stop))
    return feed, stop, task


async def test_three_dropped_connections_leave_exactly_the_served_trades_in_order(
    nc: NATS, lab_stream: Lab
) -> None:
    with FakeBybit(symbols=("BTCUSDT",), seed=3) as fake:
        feed, stop, task = start_feed(nc, lab_stream, fake, ["BTCUSDT"])
        await wait_for(lambda: fake.stats.subscriptions >= 4, 20, "subscriptions")
        fake.play(1_500, per_frame=1, interval_s=0.002)
        for round_ in range(3):
            await wait_for(
                lambda f=200 * (round_ + 1): feed.stats.symbols["BTCUSDT"].trades > f, 30, "trades"
            )
            connections = fake.stats.connections
            fake.drop_connections_after(20)
            await wait_for(lambda c=connections: fake.stats.connections > c, 30, "a reconnect")
        await asyncio.to_thread(fake.wait_served, 1_500, 60)
        await wait_for(lambda: feed.stats.symbols["BTCUSDT"].trades >= 1_500, 60, "every trade")
        stop.set()
        stats = await task
        served = [t.trade_id for t in fake.served_trades]
        rest_bars = BybitRest(fake.url).get(
            "get_kline", category="linear", symbol="BTCUSDT", interval="1", limit=1000
        )["list"]
    logged = [t.trade_id for t in await logged_trades(nc, lab_stream)]
    assert logged == served
    klines = [
        e.start
        async for batch in replay_batches(
            nc, subjects=f"{lab_stream.prefix}.bybit.kline.>", stream=lab_stream.stream
        )
        for _, e in batch
        if isinstance(e, Kline)
    ]
    assert len(klines) == len(set(klines)) > 0  # every closed minute once
    starts = sorted(int(r[0]) * 1_000_000 for r in rest_bars)[:-1]  # the newest may be open
    assert set(klines) == {s for s in starts if s >= min(klines)}
    assert stats.reconnects == 3  # type: ignore[attr-defined]
    assert stats.symbols["BTCUSDT"].repaired > 0  # type: ignore[attr-defined]


async def test_a_silent_gap_is_repaired_and_garbage_is_dead_lettered(
    nc: NATS, lab_stream: Lab
) -> None:
    with FakeBybit(symbols=("ETHUSDT",), seed=4) as fake:
        feed, stop, task = start_feed(nc, lab_stream, fake, ["ETHUSDT"])
        await wait_for(lambda: fake.stats.subscriptions >= 4, 20, "subscriptions")
        fake.play(600, per_frame=2, interval_s=0.002)
        await wait_for(lambda: feed.stats.symbols["ETHUSDT"].trades > 100, 30, "trades")
        fake.withhold_next(40)
        fake.send_garbage(3)
        await asyncio.to_thread(fake.wait_served, 600, 60)
        await wait_for(lambda: feed.stats.symbols["ETHUSDT"].trades >= 600, 60, "every trade")
        stop.set()
        stats = await task
        served = [t.trade_id for t in fake.served_trades]
    logged = [t.trade_id for t in await logged_trades(nc, lab_stream)]
    assert logged == served
    assert stats.dead_letters >= 3  # type: ignore[attr-defined]
    letters = [
        e
        async for batch in replay_batches(nc, subjects=f"dlq.test_{lab_stream.prefix}", stream=DLQ)
        for _, e in batch
        if isinstance(e, DeadLetter)
    ]
    assert len(letters) >= 3
    assert all(letter.reason for letter in letters)


def test_all_means_every_trading_usdt_perpetual() -> None:
    with FakeBybit(symbols=("BTCUSDT",)) as fake:
        symbols = BybitRest(fake.url).linear_usdt_perps()
    assert "BTCUSDT" in symbols
    assert "ETHUSDT" in symbols
    assert "HLXUSDT" not in symbols  # pre-launch
    assert "BTCPERP" not in symbols  # USDC-settled


async def test_symbols_are_spread_over_several_connections(nc: NATS, lab_stream: Lab) -> None:
    with FakeBybit(symbols=("BTCUSDT", "ETHUSDT"), seed=5) as fake:
        feed = BybitFeed(
            nc=nc,
            rest=BybitRest(fake.url),
            ws_url=fake.ws_url,
            symbols=["BTCUSDT", "ETHUSDT"],
            clock=SystemClock(),
            subject_prefix=lab_stream.prefix,
            dlq_subject=f"dlq.test_{lab_stream.prefix}",
            symbols_per_connection=1,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        await wait_for(lambda: fake.stats.subscriptions >= 8, 20, "subscriptions")
        fake.play(300, per_frame=3, interval_s=0.002)
        await asyncio.to_thread(fake.wait_served, 300, 60)
        await wait_for(
            lambda: sum(s.trades for s in feed.stats.symbols.values()) >= 300, 60, "every trade"
        )
        stop.set()
        await task
        connections = fake.stats.connections
    assert len(feed.connections) == 2
    assert connections == 2
    logged = await logged_trades(nc, lab_stream)
    assert {t.symbol for t in logged} == {"BTCUSDT", "ETHUSDT"}
    assert len(logged) == 300
