"""Splitting one projector over N workers, exactly once (``helix projections run --workers N``).

Worker ``part`` of ``n`` reads all of the projector's subjects but applies only the events whose
partition key (the subject's last token: the symbol of ``mkt.<venue>.<kind>.<symbol>``) hashes
to ``part`` (CRC-32, the same in every process), and advances its own position in
``projection_partitions`` in the same transaction as its writes (migration 0010).  Every event
belongs to exactly one worker, and each worker's read model rows are its own symbols', so the
workers never write the same row and the result equals one runner's.

Only projectors whose rows are all keyed by symbol may be split (:data:`PARTITIONABLE`: the
market read models); ledger projectors (accounts, positions, PnL, fund) fold events across
symbols and run as one worker.

Changing the number of workers re-splits the log at one position, so it needs every worker at
the same sequence: :func:`ensure_layout` moves the old layout's workers up to the furthest one's
position first (:func:`align`), then starts the new layout there.
"""

from __future__ import annotations

import zlib

import asyncpg

from helix.errors import ConfigError
from projections.base import Projector

PARTITIONABLE = frozenset({"candles", "open_interest", "funding", "liquidations", "heatmap"})


def partition_of(subject: bytes, partitions: int) -> int:
    """The worker (0 .. partitions-1) that owns the events on ``subject``."""
    return zlib.crc32(subject.rpartition(b".")[2]) % partitions


def check_partitionable(p: Projector, workers: int) -> None:
    """
    Raises:
        ConfigError: ``workers`` is below 1, or above 1 for a projector that cannot be split.
    """
    if workers < 1:
        raise ConfigError("--workers needs 1 or more")
    if workers > 1 and p.name not in PARTITIONABLE:
        raise ConfigError(
            f"projector {p.name} folds events across symbols and runs as one worker; "
            f"splittable: {', '.join(sorted(PARTITIONABLE))}"
        )


async def layout(conn: asyncpg.Connection, name: str) -> dict[int, tuple[int, int]]:
    """The current split of ``name``: part -> (partitions, seq); empty when not split."""
    rows = await conn.fetch(
        "SELECT part, partitions, seq FROM projection_partitions WHERE name = $1", name
    )
    return {int(r["part"]): (int(r["partitions"]), int(r["seq"])) for r in rows}


async def ensure_layout(conn: asyncpg.Connection, p: Projector, workers: int) -> bool:
    """Make ``p`` split into ``workers`` parts (or not split, for 1), in one transaction.

    Returns True when the layout already was that, False when it was changed.  The old layout's
    workers must stand at one position (see :func:`align`).

    Raises:
        ConfigError: the projector cannot be split, or its workers stand at different positions.
    """
    check_partitionable(p, workers)
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO projection_checkpoints (name, stream) VALUES ($1, $2)"
            " ON CONFLICT (name) DO NOTHING",
            p.name,
            p.stream,
        )
        base = int(
            await conn.fetchval(
                "SELECT seq FROM projection_checkpoints WHERE name = $1 FOR UPDATE", p.name
            )
        )
        current = await layout(conn, p.name)
        counts = {n for n, _seq in current.values()}
        if (not current and workers == 1) or counts == {workers}:
            return True
        if current:
            positions = {seq for _n, seq in current.values()}
            if len(positions) != 1:
                raise ConfigError(
                    f"projector {p.name}: its {len(current)} workers stand at different "
                    f"positions {sorted(positions)}; align them first"
                )
            [base] = positions
            events = await conn.fetchval(
                "SELECT coalesce(sum(events), 0) FROM projection_partitions WHERE name = $1",
                p.name,
            )
            await conn.execute("DELETE FROM projection_partitions WHERE name = $1", p.name)
            await conn.execute(
                "UPDATE projection_checkpoints SET seq = $2, events = events + $3,"
                " updated_at = now() WHERE name = $1",
                p.name,
                base,
                int(events),
            )
        if workers > 1:
            await conn.executemany(
                "INSERT INTO projection_partitions (name, partitions, part, seq)"
                " VALUES ($1, $2, $3, $4)",
                [(p.name, workers, part, base) for part in range(workers)],
            )
    return False


async def is_split(conn: asyncpg.Connection, name: str) -> bool:
    """Whether ``name`` runs as several workers now (a single runner must not run then)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM projection_partitions WHERE name = $1)", name
        )
    )
