"""Faults on a 3-node loopback cluster under a sustained publish run (issue 12).

Each test publishes trades to a fresh R3 stream (every event re-sent with the same
``Nats-Msg-Id`` until acked), injects one fault, keeps publishing, then checks that every
acknowledged event is in the stream exactly once and that the candles read model, projected
live through the fault and caught up, equals a fresh rebuild.  The longest publish stall after
the fault is reported as the recovery time; ``pytest -m faults -s`` prints the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import asyncpg
import psycopg
import pytest
from nats.aio.client import Client as NATS

from helix.bench.cluster import (
    audit_log,
    publish_acked,
    replicated_spec,
    stream_leader,
    wait_stream_healthy,
)
from helix.db.migrate import migrate
from helix.errors import ServiceUnavailable
from helix.services.cluster import NatsCluster
from helix.services.common import StateFile
from helix.store.connect import connect
from helix.store.streams import ensure_stream
from projections.runner import ProjectionRunner, reset
from tests.integration.projection_support import Lab, table_hashes

pytestmark = [pytest.mark.integration, pytest.mark.faults]

WARMUP_S = 1.5  # publishing before the fault
AFTER_S = 2.0  # publishing after the fault ends


@dataclass(frozen=True)
class FaultRow:
    fault: str
    acked: int
    found: int
    duplicates: int
    missing: int
    recovery_s: float
    heal_s: float


@pytest.fixture(scope="module")
def report() -> Iterator[list[FaultRow]]:
    rows: list[FaultRow] = []
    yield rows
    if rows:
        print("\n| fault | acked | found | duplicates | missing | publish stall s | healed s |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r.fault} | {r.acked:,} | {r.found:,} | {r.duplicates} | {r.missing} "
                f"| {r.recovery_s:.2f} | {r.heal_s:.2f} |"
            )


@pytest.fixture(scope="module")
def cluster() -> Iterator[NatsCluster]:
    root = Path(tempfile.mkdtemp(prefix="helix-cluster-test-"))
    c = NatsCluster.under(root / "nats", 3, StateFile(root / "ports.json"))
    c.start()
    try:
        yield c
    finally:
        for node in c.nodes:  # a test that failed mid-pause must not leave a stopped node
            with contextlib.suppress(ProcessLookupError):
                c.resume(node.server_name)
        c.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def cnc(cluster: NatsCluster) -> AsyncIterator[NATS]:
    conn = await connect(cluster.url, name="helix-fault-test")
    try:
        yield conn
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def r3_lab(nc: NATS, base_database_url: str) -> AsyncIterator[Lab]:
    tag = uuid.uuid4().hex[:10]
    lab_ = Lab(f"R3_{tag}", f"r3{tag}", base_database_url.rpartition("/")[0] + f"/r3_{tag}")
    await ensure_stream(nc.jetstream(), replicated_spec(lab_.stream, lab_.prefix, 3))
    await wait_stream_healthy(nc, lab_.stream, 3)
    with psycopg.connect(base_database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "r3_{tag}"')
    await asyncio.to_thread(migrate, lab_.database_url)
    try:
        yield lab_
    finally:
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(lab_.stream)
        with psycopg.connect(base_database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "r3_{tag}" WITH (FORCE)')


async def live_candles(nats_url: str, lab_: Lab) -> None:
    """The candles projector following the stream through the fault, on its own connection;
    restarted (as a supervisor would) when it loses a connection."""
    nc = await connect(nats_url, name="helix-fault-projector")
    conn = await asyncpg.connect(lab_.database_url)
    try:
        while True:
            runner = ProjectionRunner(nc=nc, conn=conn, projector=lab_.projectors()["candles"])
            with contextlib.suppress(ServiceUnavailable):
                await runner.run(until_caught_up=False)
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
        await nc.close()


async def catch_up_then_rebuild(nc: NATS, lab_: Lab) -> tuple[dict[str, str], dict[str, str]]:
    p = lab_.projectors()["candles"]
    conn = await asyncpg.connect(lab_.database_url)
    try:
        await ProjectionRunner(nc=nc, conn=conn, projector=p).run(until_caught_up=True)
        live = await table_hashes(lab_.database_url)
        await reset(conn, p)
        await ProjectionRunner(nc=nc, conn=conn, projector=p).run(until_caught_up=True)
        rebuilt = await table_hashes(lab_.database_url)
    finally:
        await conn.close()
    return live, rebuilt


T = TypeVar("T")


async def phase(what: str, aw: Awaitable[T], seconds: float) -> T:
    """``aw`` within ``seconds``, else a failure that names the phase (not a silent hang)."""
    try:
        return await asyncio.wait_for(aw, seconds)
    except TimeoutError:
        pytest.fail(f"{what} took more than {seconds:.0f}s after the fault")


async def run_fault(
    name: str,
    cluster: NatsCluster,
    nc: NATS,
    database_url: str,
    fault: Callable[[str], Awaitable[None]],
) -> FaultRow:
    """Publish, inject ``fault(stream leader)``, publish on, then audit and compare."""
    async with r3_lab(nc, database_url) as lab_:
        stop = asyncio.Event()
        publisher = asyncio.create_task(publish_acked(nc, lab_.prefix, stop=stop))
        projector = asyncio.create_task(live_candles(cluster.url, lab_))
        await asyncio.sleep(WARMUP_S)
        leader = await stream_leader(nc, lab_.stream)
        t_fault = time.monotonic()
        await fault(leader)
        await asyncio.sleep(AFTER_S)
        stop.set()
        log = await asyncio.wait_for(publisher, timeout=90)
        t_end = time.monotonic()
        projector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await phase("stopping the live projector", projector, 20)
        heal_s = (t_end - t_fault) + await wait_stream_healthy(nc, lab_.stream, 3)
        audit = await phase(
            "auditing the stream",
            audit_log(nc, lab_.stream, [f"{lab_.prefix}.>"], log.acked),
            60,
        )
        live, rebuilt = await phase("catch-up and rebuild", catch_up_then_rebuild(nc, lab_), 90)
    row = FaultRow(
        name,
        len(log.acked),
        audit.found,
        audit.duplicates,
        audit.missing,
        log.longest_stall(t_fault, t_end),
        heal_s,
    )
    assert len(log.acked) > 500, row  # a sustained run, not a trickle
    assert audit.missing == 0, row
    assert audit.duplicates == 0, row
    assert live == rebuilt
    return row


async def test_kill_9_the_stream_leader_during_publish(
    cluster: NatsCluster, cnc: NATS, database_url: str, report: list[FaultRow]
) -> None:
    async def fault(leader: str) -> None:
        await asyncio.to_thread(cluster.kill, leader)
        await asyncio.sleep(2.0)  # the two others carry on without it
        await asyncio.to_thread(cluster.restart, leader)

    report.append(await run_fault("kill -9 stream leader", cluster, cnc, database_url, fault))


async def test_sigstop_the_stream_leader_then_resume(
    cluster: NatsCluster, cnc: NATS, database_url: str, report: list[FaultRow]
) -> None:
    async def fault(leader: str) -> None:
        cluster.pause(leader)
        try:
            await asyncio.sleep(12.0)
        finally:
            cluster.resume(leader)

    report.append(await run_fault("SIGSTOP leader 12 s", cluster, cnc, database_url, fault))


async def test_rolling_restart_of_every_node(
    cluster: NatsCluster, cnc: NATS, database_url: str, report: list[FaultRow]
) -> None:
    async def fault(_leader: str) -> None:
        for node in cluster.nodes:
            await asyncio.to_thread(cluster.restart, node.server_name)
            await asyncio.sleep(1.0)

    report.append(await run_fault("rolling restart x3", cluster, cnc, database_url, fault))
