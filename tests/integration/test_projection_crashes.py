"""Crashes mid-projection: ``kill -9`` of the projector, and of PostgreSQL mid-batch.

After each, finishing the run must leave the read models row-for-row equal to a rebuild.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from helix.errors import ServiceUnavailable
from helix.services.common import free_port
from helix.services.postgres import EmbeddedPostgres
from projections.runner import ProjectionRunner, reset
from tests.integration.projection_support import (
    Lab,
    lab,
    publish,
    synthetic_market,
    table_hashes,
)
from tests.integration.test_projections import run_all

pytestmark = pytest.mark.integration


async def checkpoint(db_url: str, name: str = "candles") -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT coalesce(max(seq), 0) FROM projection_checkpoints WHERE name = $1", name
            )
            or 0
        )
    finally:
        await conn.close()


async def rebuild_hashes(nc: NATS, lab_: Lab) -> dict[str, str]:
    conn = await asyncpg.connect(lab_.database_url)
    try:
        for p in lab_.projectors().values():
            await reset(conn, p)
    finally:
        await conn.close()
    await run_all(nc, lab_)
    return await table_hashes(lab_.database_url)


async def test_kill_9_projector_then_restart_equals_rebuild(
    nc: NATS, nats_url: str, database_url: str
) -> None:
    events = synthetic_market(40_000)
    async with lab(nc, database_url) as a:
        last_seq = await publish(nc, a, events)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.projector_proc",
             a.stream, a.prefix, a.database_url, nats_url, "100"],
            cwd=Path(__file__).resolve().parents[2],
        )  # fmt: skip
        try:
            at_kill = 0
            for _ in range(600):
                await asyncio.sleep(0.02)
                at_kill = await checkpoint(a.database_url)
                if at_kill > 2_000:
                    break
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        assert 0 < at_kill < last_seq, "the kill must land mid-run"
        await run_all(nc, a)
        after_restart = await table_hashes(a.database_url)
        assert await checkpoint(a.database_url) > at_kill
        rebuilt = await rebuild_hashes(nc, a)
    assert after_restart == rebuilt


async def test_postgres_killed_mid_batch_then_restart_equals_rebuild(nc: NATS) -> None:
    events = synthetic_market(30_000)
    with tempfile.TemporaryDirectory(prefix="helix-pgcrash-") as d:
        os.chmod(d, 0o755)
        pg = EmbeddedPostgres(root=Path(d), port=free_port())
        await asyncio.to_thread(pg.start)
        try:
            async with lab(nc, pg.url) as a:
                await publish(nc, a, events)
                conn = await asyncpg.connect(a.database_url)
                runner = ProjectionRunner(
                    nc=nc, conn=conn, projector=a.projectors()["candles"], batch=100
                )
                task = asyncio.create_task(runner.run())
                at_kill = 0
                while at_kill < 1_500 and not task.done():
                    await asyncio.sleep(0.01)
                    at_kill = await checkpoint(a.database_url)
                await asyncio.to_thread(pg.crash)  # all server processes quit mid-batch
                with pytest.raises(ServiceUnavailable):
                    await task
                await asyncio.to_thread(pg.start)
                await run_all(nc, a)
                after_restart = await table_hashes(a.database_url)
                assert await checkpoint(a.database_url) > at_kill
                rebuilt = await rebuild_hashes(nc, a)
        finally:
            await asyncio.to_thread(pg.stop)
    assert after_restart == rebuilt
