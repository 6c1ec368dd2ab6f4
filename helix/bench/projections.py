"""``helix bench projections``: events/s from the log into the read models, beside a bare COPY.

A private stream shaped like MARKET is filled with a simulated day (trades, liquidations,
tickers), a scratch database is migrated, and every market projector runs to the head
concurrently, as ``helix projections run`` does: that wall time is "log -> read models".
The baseline writes the same events, one row each, with PostgreSQL's ``COPY`` into a table
in the same database — what storing the events costs without reading the log or aggregating.
Stream and database are removed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable

import asyncpg

from events.market import Liquidation, MarketEvent, Ticker, Trade
from helix.bench.report import Figure
from helix.bench.scratch import scratch_stream
from helix.db.migrate import migrate
from helix.store.connect import connect
from projections.base import ns_to_dt
from projections.registry import all_projectors
from projections.runner import ProjectionRunner

STREAM, PREFIX = "BENCH_PROJECTIONS", "bp"


def simulated_day(hours: int = 24) -> list[MarketEvent]:
    from helix.sim.market import SimConfig, simulate

    return list(simulate(SimConfig(duration_s=hours * 3600)))


def _row(e: MarketEvent) -> tuple[object, ...]:
    price = qty = side = None
    if isinstance(e, Trade | Liquidation):
        price, qty, side = e.price, e.qty, e.side
    elif isinstance(e, Ticker):
        price, qty = e.mark_price, e.open_interest
    return (e.venue, e.symbol, e.KIND, ns_to_dt(e.ts_event), price, qty, side)


async def run_projection_bench(
    nats_url: str,
    database_url: str,
    *,
    events: Iterable[MarketEvent] | None = None,
    progress: Callable[[str], None] = print,
) -> list[Figure]:
    data = list(events) if events is not None else simulated_day()
    nc = await connect(nats_url, name="helix-bench-projections")
    dbname = f"helix_bench_{uuid.uuid4().hex[:8]}"
    head, _, _ = database_url.rpartition("/")
    bench_url = f"{head}/{dbname}"
    admin = await asyncpg.connect(database_url)
    stack = contextlib.AsyncExitStack()
    try:
        progress(f"publishing {len(data):,} events ...")
        await stack.enter_async_context(scratch_stream(nc, STREAM, PREFIX, data))
        await admin.execute(f'CREATE DATABASE "{dbname}"')
        await asyncio.to_thread(migrate, bench_url)

        progress("projecting ...")
        conns = [await asyncpg.connect(bench_url) for _ in range(4)]
        try:
            chosen = ("candles", "open_interest", "funding", "liquidations")
            every = all_projectors(stream=STREAM, prefix=PREFIX)
            projectors = [every[n] for n in chosen]
            t = time.perf_counter()
            counts = await asyncio.gather(
                *(
                    ProjectionRunner(nc=nc, conn=c, projector=p).run(until_caught_up=True)
                    for c, p in zip(conns, projectors, strict=True)
                )
            )
            wall = time.perf_counter() - t
        finally:
            for c in conns:
                await c.close()
        applied = sum(s.events for s in counts)
        assert applied >= len(data), (applied, len(data))

        progress("COPY baseline ...")
        conn = await asyncpg.connect(bench_url)
        try:
            await conn.execute(
                "CREATE TABLE bench_copy (venue text, symbol text, kind text, ts timestamptz,"
                " price numeric, qty numeric, side text)"
            )
            rows = [_row(e) for e in data]
            t = time.perf_counter()
            await conn.copy_records_to_table("bench_copy", records=rows)
            copy_wall = time.perf_counter() - t
        finally:
            await conn.close()
    finally:
        await stack.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await admin.close()
        await nc.close()
    return [
        Figure(
            "log -> read models (4 projectors)",
            len(data) / wall,
            len(data) / copy_wall,
            "bare COPY of one row per event",
            target=">= 60,000/s",
        )
    ]
