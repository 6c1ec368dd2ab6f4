"""``helix bench backtest``: market events/s through replay + strategy + paper venue.

A private stream shaped like MARKET is filled with a simulated day.  The measured run reads it
back through the backtest engine with the ``stop_hunt_autotrader`` strategy (scanner, auto-trader,
risk guardian, paper venue): read + decode + everything a backtest does, in memory.  The
baseline, in the same run, is the bare replay of the same stream (read + decode only), the
floor any backtest of the log pays.  The stream is removed afterwards.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Callable

from nats.aio.client import Client as NATS

from events.base import Event
from helix.backtest.engine import Spec, run
from helix.bench.projections import simulated_day
from helix.bench.report import Figure
from helix.bench.scratch import scratch_stream
from helix.store.connect import connect
from helix.store.replay import replay_batches

STREAM, PREFIX = "BENCH_BACKTEST", "bbt"


async def _chunks(nc: NATS) -> AsyncIterator[list[tuple[int, Event]]]:
    async for batch in replay_batches(nc, subjects=f"{PREFIX}.>", stream=STREAM):
        yield batch


async def run_backtest_bench(
    nats_url: str,
    *,
    hours: int = 24,
    repeat: int = 3,
    progress: Callable[[str], None] = print,
) -> list[Figure]:
    data = simulated_day(hours)
    nc = await connect(nats_url, name="helix-bench-backtest")
    progress(f"publishing {len(data):,} events ...")
    try:
        async with scratch_stream(nc, STREAM, PREFIX, data):
            return await _measure(nc, repeat, progress)
    finally:
        await nc.close()


async def _measure(nc: NATS, repeat: int, progress: Callable[[str], None]) -> list[Figure]:
    bare: list[float] = []
    full: list[float] = []
    for i in range(repeat):
        progress(f"run {i + 1}/{repeat}: bare replay, then the backtest ...")
        t = time.perf_counter()
        n = 0
        async for batch in _chunks(nc):
            n += len(batch)
        bare.append(n / (time.perf_counter() - t))
        t = time.perf_counter()
        out = await run(_chunks(nc), Spec("stop_hunt_autotrader"))
        full.append(out.input_events / (time.perf_counter() - t))
    return [
        Figure(
            "backtest: replay + scanner + auto-trader + paper venue",
            statistics.median(full),
            statistics.median(bare),
            "bare replay (read + decode)",
            "events/s",
            ">= 100,000 events/s",
        ),
    ]
