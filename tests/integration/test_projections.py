"""Projections on real NATS + PostgreSQL: exactly once, equal to a rebuild, failures visible."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from events.market import Trade
from helix.errors import ProjectionError
from projections.runner import ProjectionRunner, reset
from projections.status import projector_status
from tests.integration.projection_support import (
    Lab,
    lab,
    publish,
    synthetic_market,
    table_hashes,
)

pytestmark = pytest.mark.integration


async def run_all(nc: NATS, lab_: Lab, *, batch: int = 8192) -> dict[str, int]:
    conn = await asyncpg.connect(lab_.database_url)
    try:
        counts = {}
        for name, p in lab_.projectors().items():
            runner = ProjectionRunner(nc=nc, conn=conn, projector=p, batch=batch)
            counts[name] = (await runner.run(until_caught_up=True)).events
        return counts
    finally:
        await conn.close()


async def test_replaying_the_log_twice_gives_identical_read_models(
    nc: NATS, database_url: str
) -> None:
    events = synthetic_market(6_000)
    async with lab(nc, database_url) as a, lab(nc, database_url) as b:
        await publish(nc, a, events)
        await publish(nc, b, events)
        counts_a = await run_all(nc, a, batch=1000)
        counts_b = await run_all(nc, b, batch=333)  # cut into batches differently
        hashes_a, hashes_b = await table_hashes(a.database_url), await table_hashes(b.database_url)
    assert counts_a == counts_b
    assert counts_a["candles"] == 6_000
    assert all(hashes_a.values())
    assert hashes_a == hashes_b


async def test_projector_resumes_from_checkpoint_and_applies_nothing_twice(
    nc: NATS, database_url: str
) -> None:
    events = synthetic_market(3_000)
    half = len(events) // 2
    async with lab(nc, database_url) as a:
        await publish(nc, a, events[:half])
        await run_all(nc, a)
        await publish(nc, a, events[half:])
        second = await run_all(nc, a)
        third = await run_all(nc, a)
        incremental = await table_hashes(a.database_url)
        conn = await asyncpg.connect(a.database_url)
        try:
            for p in a.projectors().values():
                await reset(conn, p)
        finally:
            await conn.close()
        await run_all(nc, a)
        rebuilt = await table_hashes(a.database_url)
    later = events[half:]
    tickers = sum(1 for e in later if type(e).__name__ == "Ticker")
    market = {k: v for k, v in second.items() if k not in ("heatmap", "signals")}
    assert sum(market.values()) == len(later) + tickers  # tickers feed two projectors
    assert second["heatmap"] == len(later)  # the heatmap reads every market event
    assert sum(third.values()) == 0
    assert incremental == rebuilt


async def test_candles_match_the_trades(nc: NATS, database_url: str) -> None:
    events = synthetic_market(1_200)
    trades = [e for e in events if isinstance(e, Trade)]
    async with lab(nc, database_url) as a:
        await publish(nc, a, events)
        await run_all(nc, a, batch=97)
        conn = await asyncpg.connect(a.database_url)
        try:
            rows = await conn.fetch(
                "SELECT symbol, sum(volume) v, sum(trades) n, max(high) h, min(low) l"
                " FROM candles_1m GROUP BY symbol ORDER BY symbol"
            )
        finally:
            await conn.close()
    for row in rows:
        mine = [t for t in trades if t.symbol == row["symbol"]]
        assert row["n"] == len(mine)
        assert row["v"] == sum((t.qty for t in mine), Decimal(0))
        assert row["h"] == max(t.price for t in mine)
        assert row["l"] == min(t.price for t in mine)


async def test_an_event_that_cannot_be_applied_stops_the_projector_visibly(
    nc: NATS, database_url: str
) -> None:
    events = synthetic_market(300)
    async with lab(nc, database_url) as a:
        await publish(nc, a, events[:100])
        ack = await nc.request(f"{a.prefix}.syn.trade.BTCUSDT", b"\x93not an event", timeout=5)
        bad_seq = int(ack.data.split(b'"seq":')[1].split(b",")[0].rstrip(b"}"))
        await publish(nc, a, events[100:])
        p = a.projectors()["candles"]
        conn = await asyncpg.connect(a.database_url)
        try:
            with pytest.raises(ProjectionError) as info:
                await ProjectionRunner(nc=nc, conn=conn, projector=p).run()
            status = await projector_status(nc, conn, p)
        finally:
            await conn.close()
    assert info.value.seq == bad_seq
    assert status.state == "failed"
    assert status.error_seq == bad_seq
    assert status.error is not None
    assert "decode" in status.error
    assert status.position == bad_seq - 1
    assert status.lag_events > 0


async def test_two_runners_of_one_projector_do_not_double_apply(
    nc: NATS, database_url: str
) -> None:
    events = synthetic_market(4_000)
    async with lab(nc, database_url) as a:
        await publish(nc, a, events)
        p = a.projectors()["candles"]
        c1, c2 = await asyncpg.connect(a.database_url), await asyncpg.connect(a.database_url)
        try:
            results = await asyncio.gather(
                ProjectionRunner(nc=nc, conn=c1, projector=p, batch=200).run(),
                ProjectionRunner(nc=nc, conn=c2, projector=p, batch=200).run(),
                return_exceptions=True,
            )
            trades = await c1.fetchval("SELECT sum(trades) FROM candles_1m")
        finally:
            await c1.close()
            await c2.close()
    assert trades == 4_000 or any(isinstance(r, ProjectionError) for r in results)
    assert trades <= 4_000
