"""Replicated streams: what R3 costs, and the tools the fault tests use to prove nothing is lost.

``helix bench cluster`` starts a private 3-node loopback cluster (:mod:`helix.services.cluster`)
and measures, in one run, market appends (the production :class:`MarketAppender`) and the
candles projection on an R3 stream beside the same on an R1 stream of the same cluster (same
fsync policy, so the difference is replication and quorum acks; runs interleaved, medians), and
the projection by N workers beside one.

:func:`publish_acked` is a sustained publisher that records exactly which events the cluster
acknowledged (re-sending an unacknowledged event with the same ``Nats-Msg-Id`` until it is
acked), and :func:`audit_log` reads a stream back and counts those events: found, missing,
duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import asyncpg
import nats.errors
from nats.aio.client import Client as NATS
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError

from events.market import Trade, market_event_id
from helix.bench.report import Figure
from helix.codec import Codec
from helix.db.migrate import migrate
from helix.errors import StoreError
from helix.services.cluster import NatsCluster
from helix.services.common import StateFile
from helix.store.connect import connect
from helix.store.market import MarketAppender, event_headers, market_subject
from helix.store.reader import PullReader
from helix.store.streams import StreamSpec, ensure_stream
from projections.registry import all_projectors
from projections.runner import reset
from projections.workers import run_workers

T0 = 1_735_689_600_000_000_000
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT", "BNBUSDT", "LTCUSDT")
RETRYABLE = (
    TimeoutError,
    asyncio.TimeoutError,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    APIError,  # 503 no leader / not enough peers while the cluster elects
    NoStreamResponseError,  # the stream has no leader to answer right now
    OSError,
)


def cluster_trades(n: int, *, venue: str = "clu", start: int = 0) -> Iterator[Trade]:
    """Deterministic trades spread over :data:`SYMBOLS`, one second apart."""
    for i in range(start, start + n):
        sym = SYMBOLS[i % len(SYMBOLS)]
        ts = T0 + i * 1_000_000_000
        yield Trade(
            event_id=market_event_id(venue, "trade", sym, str(i)),
            ts_event=ts,
            ts_recorded=ts + 3_000_000,
            source=venue,
            vertical="perps",
            venue=venue,
            symbol=sym,
            trade_id=str(i),
            price=Decimal("100") + Decimal(i % 997) / 10,
            qty=Decimal(1 + i % 13) / 100,
            side="buy" if i % 3 else "sell",
        )


def replicated_spec(name: str, prefix: str, replicas: int) -> StreamSpec:
    """A MARKET-shaped scratch stream with ``replicas`` replicas and the default persist mode."""
    return StreamSpec(name=name, subjects=(f"{prefix}.>",), replicas=replicas)


@dataclass
class AckLog:
    """What a publish run saw: the acknowledged event ids and when each ack came."""

    acked: set[str] = field(default_factory=set)
    ack_times: list[float] = field(default_factory=list)
    sent: int = 0
    retries: int = 0
    gave_up: int = 0

    def longest_stall(self, since: float, until: float) -> float:
        """The longest time without an ack within ``[since, until]`` (the fault's cost)."""
        points = [since, *sorted(t for t in self.ack_times if since <= t <= until), until]
        return max(b - a for a, b in itertools.pairwise(points))


async def publish_acked(
    nc: NATS,
    prefix: str,
    *,
    stop: asyncio.Event,
    concurrency: int = 32,
    ack_timeout: float = 2.0,
    give_up_after: float = 60.0,
    venue: str = "clu",
) -> AckLog:
    """Publish trades with ``concurrency`` in flight until ``stop`` is set; returns the log.

    Each event is re-sent (same ``Nats-Msg-Id``, so the stream stores it once) until acked; one
    not acked within ``give_up_after`` seconds is counted in ``gave_up`` (unknown outcome).
    """
    log = AckLog()
    codec = Codec()
    js = nc.jetstream()
    source = iter(cluster_trades(10**9, venue=venue))

    async def worker() -> None:
        while not stop.is_set():
            event = next(source)
            subject = market_subject(event, prefix)
            data, headers = codec.encode(event), event_headers(event)
            log.sent += 1
            first = time.monotonic()
            while True:
                try:
                    await js.publish(subject, data, headers=headers, timeout=ack_timeout)
                except RETRYABLE:
                    if time.monotonic() - first > give_up_after:
                        log.gave_up += 1
                        break
                    log.retries += 1
                    await asyncio.sleep(0.05)
                    continue
                log.acked.add(str(event.event_id))
                log.ack_times.append(time.monotonic())
                break

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return log


@dataclass(frozen=True)
class Audit:
    """A stream read back against the acknowledged ids."""

    found: int  # acknowledged events present in the stream (counted once)
    duplicates: int  # extra copies of any event
    missing: int  # acknowledged events absent from the stream
    stored: int  # messages in the stream


async def audit_log(nc: NATS, stream: str, filters: list[str], acked: set[str]) -> Audit:
    """Read ``stream`` from the start and count the acknowledged events in it."""
    codec = Codec()
    seen: dict[str, int] = {}
    stored = 0
    async with PullReader(nc, stream, filters, batch=4096) as reader:
        async for chunk in reader.chunks():
            for event in codec.decode_many([d for _s, _subj, d in chunk]):
                key = str(event.event_id)
                seen[key] = seen.get(key, 0) + 1
            stored += len(chunk)
    return Audit(
        found=sum(1 for k in acked if k in seen),
        duplicates=sum(c - 1 for c in seen.values()),
        missing=sum(1 for k in acked if k not in seen),
        stored=stored,
    )


async def wait_stream_healthy(
    nc: NATS, stream: str, replicas: int, *, timeout: float = 60.0
) -> float:
    """Wait until ``stream`` has a leader and every other replica is current; seconds waited."""
    js = nc.jetstream()
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        with contextlib.suppress(*RETRYABLE):
            info = await js.stream_info(stream)
            peers = info.cluster.replicas if info.cluster else None
            if (
                info.cluster is not None
                and info.cluster.leader
                and len(peers or []) == replicas - 1
                and all(p.current and not p.offline for p in peers or [])
            ):
                return time.monotonic() - t
        await asyncio.sleep(0.1)
    raise TimeoutError(f"stream {stream} not healthy after {timeout:.0f}s")


async def stream_leader(nc: NATS, stream: str) -> str:
    """The name of the server leading ``stream`` right now.

    Raises:
        StoreError: the stream is not replicated or has no leader.
    """
    info = await nc.jetstream().stream_info(stream)
    if info.cluster is None or not info.cluster.leader:
        raise StoreError(f"stream {stream} has no leader: {info.cluster}")
    return info.cluster.leader


# -- the benchmark ----------------------------------------------------------------------------


async def _append_rate(nc: NATS, spec: StreamSpec, prefix: str, n: int) -> float:
    js = nc.jetstream()
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(spec.name)
    await ensure_stream(js, spec)
    trades = list(cluster_trades(n, venue="bench"))
    t = time.perf_counter()
    async with MarketAppender(nc, subject_prefix=prefix) as app:
        await app.append_many(trades)
        stats = await app.flush()
    rate = n / (time.perf_counter() - t)
    if stats.stored != n:
        raise RuntimeError(f"bench append stored {stats.stored} of {n}")
    return rate


async def _project_rate(
    nc: NATS, db_url: str, stream: str, prefix: str, n: int, *, workers: int = 1
) -> float:
    projector = all_projectors(stream=stream, prefix=prefix)["candles"]
    conn = await asyncpg.connect(db_url)
    try:
        await reset(conn, projector)
    finally:
        await conn.close()
    t = time.perf_counter()
    applied = await run_workers(nc, db_url, projector, workers)
    wall = time.perf_counter() - t
    if applied != n:
        raise RuntimeError(f"bench projection applied {applied} of {n}")
    return n / wall


async def run_cluster_bench(
    database_url: str,
    *,
    events: int = 50_000,
    repeat: int = 3,
    workers: int = 4,
    progress: Callable[[str], None] = print,
) -> list[Figure]:
    """R3 against R1 on one private loopback cluster: appends/s and candles projection/s
    (medians of ``repeat`` interleaved runs), and the projection from R3 by ``workers`` workers
    against one."""
    root = Path(tempfile.mkdtemp(prefix="helix-bench-cluster-"))
    cluster = NatsCluster.under(root / "nats", 3, StateFile(root / "ports.json"))
    progress("starting a 3-node loopback cluster ...")
    await asyncio.to_thread(cluster.start)
    head, _, _ = database_url.rpartition("/")
    dbname = f"helix_bench_cluster_{uuid.uuid4().hex[:8]}"
    db_url = f"{head}/{dbname}"
    admin = await asyncpg.connect(database_url)
    nc = await connect(cluster.url, name="helix-bench-cluster")
    rates: dict[tuple[str, int], list[float]] = {}
    try:
        await admin.execute(f'CREATE DATABASE "{dbname}"')
        await asyncio.to_thread(migrate, db_url)
        for run in range(1, repeat + 1):
            for replicas in (1, 3):
                name, prefix = f"BENCH_R{replicas}", f"br{replicas}"
                progress(f"run {run}/{repeat}: {events:,} trades into R{replicas}, projected ...")
                spec = replicated_spec(name, prefix, replicas)
                rate = await _append_rate(nc, spec, prefix, events)
                rates.setdefault(("append", replicas), []).append(rate)
                rate = await _project_rate(nc, db_url, name, prefix, events)
                rates.setdefault(("project", replicas), []).append(rate)
        progress(f"candles from R3 by {workers} workers ...")
        for _ in range(repeat):
            rate = await _project_rate(nc, db_url, "BENCH_R3", "br3", events, workers=workers)
            rates.setdefault(("workers", workers), []).append(rate)
    finally:
        with contextlib.suppress(Exception):
            for name in ("BENCH_R1", "BENCH_R3"):
                await nc.jetstream().delete_stream(name)
        with contextlib.suppress(Exception):
            await nc.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await admin.close()
        await asyncio.to_thread(cluster.stop)
        await asyncio.to_thread(_rmtree, root)
    med = {k: statistics.median(v) for k, v in rates.items()}
    return [
        Figure(
            "market append, R3 (quorum acks)",
            med["append", 3],
            med["append", 1],
            "same appender, R1 stream",
        ),
        Figure(
            "log -> candles, from R3",
            med["project", 3],
            med["project", 1],
            "same projector, R1 stream",
        ),
        Figure(
            f"log -> candles, R3, {workers} workers",
            med["workers", workers],
            med["project", 3],
            "one worker, same R3 stream",
        ),
    ]


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
