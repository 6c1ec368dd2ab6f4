"""A projector split over N workers (``helix projections run --workers N``) stays exactly once:
the read models equal one runner's rebuild, across a change of N and a worker killed mid-batch.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from helix.bench.cluster import cluster_trades
from helix.errors import ConfigError
from projections.partitions import ensure_layout, layout
from projections.runner import ProjectionRunner, reset
from projections.workers import run_workers
from tests.integration.projection_support import Lab, lab, publish, table_hashes

pytestmark = pytest.mark.integration

MARKET = ("candles", "open_interest", "funding", "liquidations", "heatmap")


async def run_split(nc: NATS, lab_: Lab, workers: int) -> int:
    every = lab_.projectors()
    total = 0
    for name in MARKET:
        total += await run_workers(nc, lab_.database_url, every[name], workers)
    return total


async def rebuilt(nc: NATS, lab_: Lab, names: tuple[str, ...] = MARKET) -> dict[str, str]:
    conn = await asyncpg.connect(lab_.database_url)
    try:
        for name in names:
            p = lab_.projectors()[name]
            await reset(conn, p)
            await ProjectionRunner(nc=nc, conn=conn, projector=p).run()
    finally:
        await conn.close()
    return await table_hashes(lab_.database_url)


async def test_three_workers_equal_one_runner(nc: NATS, database_url: str) -> None:
    async with lab(nc, database_url) as a:
        await publish(nc, a, cluster_trades(6_000))
        assert await run_split(nc, a, 3) >= 6_000
        split = await table_hashes(a.database_url)
        assert split == await rebuilt(nc, a)


async def test_changing_the_worker_count_applies_each_event_once(
    nc: NATS, database_url: str
) -> None:
    async with lab(nc, database_url) as a:
        await publish(nc, a, cluster_trades(3_000))
        await run_split(nc, a, 3)
        await publish(nc, a, cluster_trades(3_000, start=3_000))
        candles = a.projectors()["candles"]
        # One worker of three runs ahead: the re-split must first align the others.
        conn = await asyncpg.connect(a.database_url)
        try:
            await ProjectionRunner(nc=nc, conn=conn, projector=candles, part=1, partitions=3).run()
            assert len({seq for _n, seq in (await layout(conn, "candles")).values()}) == 2
        finally:
            await conn.close()
        await run_split(nc, a, 2)
        await publish(nc, a, cluster_trades(2_000, start=6_000))
        await run_split(nc, a, 1)
        conn = await asyncpg.connect(a.database_url)
        try:
            assert await layout(conn, "candles") == {}
        finally:
            await conn.close()
        merged = await table_hashes(a.database_url)
        assert merged == await rebuilt(nc, a)


async def test_a_single_runner_refuses_while_split(nc: NATS, database_url: str) -> None:
    async with lab(nc, database_url) as a:
        candles = a.projectors()["candles"]
        conn = await asyncpg.connect(a.database_url)
        try:
            await ensure_layout(conn, candles, 2)
            with pytest.raises(ConfigError, match="several workers"):
                await ProjectionRunner(nc=nc, conn=conn, projector=candles).run()
            with pytest.raises(ConfigError, match="one worker"):
                await ensure_layout(conn, a.projectors()["accounts"], 2)
        finally:
            await conn.close()


@pytest.mark.faults
async def test_kill_9_a_worker_mid_batch_then_restart_equals_rebuild(
    nc: NATS, nats_url: str, database_url: str
) -> None:
    async with lab(nc, database_url) as a:
        await publish(nc, a, cluster_trades(40_000))
        candles = a.projectors()["candles"]
        conn = await asyncpg.connect(a.database_url)
        try:
            await ensure_layout(conn, candles, 2)
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.partition_worker_proc",
                 a.stream, a.prefix, a.database_url, nats_url, "candles", "0", "2", "200"],
                cwd=Path(__file__).resolve().parents[2],
            )  # fmt: skip
            try:
                at_kill = 0
                for _ in range(1500):
                    await asyncio.sleep(0.02)
                    at_kill = (await layout(conn, "candles"))[0][1]
                    if at_kill > 4_000:
                        break
                os.kill(proc.pid, signal.SIGKILL)
            finally:
                proc.wait(timeout=30)
            assert 0 < at_kill < 40_000, "the kill must land mid-run"
        finally:
            await conn.close()
        t = time.monotonic()
        await run_workers(nc, a.database_url, candles, 2)
        recovery_s = time.monotonic() - t
        print(f"\nworker killed at seq {at_kill:,}; both workers caught up in {recovery_s:.2f}s")
        after = await table_hashes(a.database_url)
        assert after == await rebuilt(nc, a, ("candles",))


async def test_workers_started_separately_share_one_split(nc: NATS, database_url: str) -> None:
    # As `helix projections run --workers 2 --part 0` and `... --part 1` in two processes.
    async with lab(nc, database_url) as a:
        await publish(nc, a, cluster_trades(4_000))
        candles = a.projectors()["candles"]
        counts = await asyncio.gather(
            run_workers(nc, a.database_url, candles, 2, parts=[0]),
            run_workers(nc, a.database_url, candles, 2, parts=[1]),
        )
        assert sum(counts) == 4_000
        assert all(counts)
        split = await table_hashes(a.database_url)
        assert split == await rebuilt(nc, a, ("candles",))
