"""Running a projector as N workers (see :mod:`projections.partitions` for the split itself)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import asyncpg
from nats.aio.client import Client as NATS

from projections.base import Projector
from projections.partitions import ensure_layout, layout
from projections.runner import ProjectionRunner, RunStats


async def align(nc: NATS, conn: asyncpg.Connection, database_url: str, p: Projector) -> int:
    """Move every worker of ``p``'s current split up to the furthest one's position (so the
    split can change); returns that position (0 when not split)."""
    current = await layout(conn, p.name)
    if not current:
        return 0
    target = max(seq for _n, seq in current.values())
    for part, (partitions, seq) in sorted(current.items()):
        if seq < target:
            worker = await asyncpg.connect(database_url)
            try:
                runner = ProjectionRunner(
                    nc=nc, conn=worker, projector=p, part=part, partitions=partitions
                )
                await runner.run(until_seq=target)
            finally:
                await worker.close()
    return target


async def run_workers(
    nc: NATS,
    database_url: str,
    p: Projector,
    workers: int,
    *,
    until_caught_up: bool = True,
    on_batch: Callable[[int], None] | None = None,
    batch: int = 8192,
    parts: Sequence[int] | None = None,
) -> int:
    """Run ``p`` as ``workers`` workers (one PostgreSQL connection each), re-splitting first
    when the number changed; returns the events applied.  A failing worker stops the others.

    ``parts`` runs only those workers here (the others in other processes or machines: the
    workers share one event loop, so only their PostgreSQL work runs in parallel in one process).

    Raises:
        ConfigError: ``p`` cannot be split.
        ProjectionError: a worker stopped on an event it cannot apply.
        ServiceUnavailable: PostgreSQL or NATS went away.
    """
    conn = await asyncpg.connect(database_url)
    try:
        current = {n for n, _seq in (await layout(conn, p.name)).values()}
        if current and current != {workers}:  # re-split: only then, never under live workers
            await align(nc, conn, database_url, p)
        await ensure_layout(conn, p, workers)
    finally:
        await conn.close()
    applied = [0] * workers

    def progress(part: int) -> Callable[[RunStats], None]:
        def update(stats: RunStats) -> None:
            applied[part] = stats.events
            if on_batch is not None:
                on_batch(sum(applied))

        return update

    async def one(part: int) -> RunStats:
        worker = await asyncpg.connect(database_url)
        try:
            runner = ProjectionRunner(
                nc=nc, conn=worker, projector=p, part=part, partitions=workers, batch=batch
            )
            return await runner.run(until_caught_up=until_caught_up, on_batch=progress(part))
        finally:
            await worker.close()

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(part)) for part in (parts or range(workers))]
    return sum(t.result().events for t in tasks)
