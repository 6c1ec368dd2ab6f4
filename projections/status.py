"""Where each projector stands: position, lag in events and seconds, state."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import asyncpg
from nats.aio.client import Client as NATS
from nats.js import api

from helix.store.jsraw import direct_get_last, direct_get_seq, stored_ns
from projections.base import Projector


@dataclass(frozen=True)
class ProjectorStatus:
    name: str
    position: int
    events: int
    lag_events: int
    lag_seconds: float
    state: str
    error: str | None
    error_seq: int | None


async def pending_after(nc: NATS, stream: str, subjects: tuple[str, ...], seq: int) -> int:
    """How many messages on ``subjects`` come after ``seq`` (a throw-away consumer counts)."""
    js = nc.jetstream()
    cfg = api.ConsumerConfig(
        ack_policy=api.AckPolicy.NONE,
        deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=seq + 1,
        inactive_threshold=5.0,
        mem_storage=True,
    )
    if len(subjects) == 1:
        cfg.filter_subject = subjects[0]
    else:
        cfg.filter_subjects = list(subjects)
    info = await js.add_consumer(stream, cfg)
    with contextlib.suppress(Exception):
        await js.delete_consumer(stream, info.name)
    return int(info.num_pending or 0)


async def projector_status(nc: NATS, conn: asyncpg.Connection, p: Projector) -> ProjectorStatus:
    # A projector split over workers (projection_partitions) stands where its slowest worker
    # stands; its events are those applied before the split plus each worker's.
    row = await conn.fetchrow(
        "SELECT coalesce(min(w.seq), c.seq) AS seq, c.events + coalesce(sum(w.events), 0)"
        " AS events, CASE WHEN bool_or(w.state = 'failed') THEN 'failed'"
        " WHEN bool_or(w.state = 'running') THEN 'running' ELSE c.state END AS state,"
        " coalesce(min(w.error), c.error) AS error,"
        " coalesce(min(w.error_seq), c.error_seq) AS error_seq"
        " FROM projection_checkpoints c LEFT JOIN projection_partitions w ON w.name = c.name"
        " WHERE c.name = $1 GROUP BY c.name, c.seq, c.events, c.state, c.error, c.error_seq",
        p.name,
    )
    seq = int(row["seq"]) if row else 0
    lag = await pending_after(nc, p.stream, p.subjects, seq)
    lag_s = 0.0
    if lag:
        newest = [await direct_get_last(nc, p.stream, s) for s in p.subjects]
        newest_ns = max((stored_ns(m) for m in newest if m is not None), default=0)
        applied = await direct_get_seq(nc, p.stream, seq) if seq else None
        first_ns = stored_ns(applied) if applied else 0
        lag_s = max(0.0, (newest_ns - first_ns) / 1e9) if first_ns else float("nan")
    return ProjectorStatus(
        name=p.name,
        position=seq,
        events=int(row["events"]) if row else 0,
        lag_events=lag,
        lag_seconds=lag_s,
        state=str(row["state"]) if row else "new",
        error=row["error"] if row else None,
        error_seq=row["error_seq"] if row else None,
    )
