"""The projection runtime: exactly-once application of the log to a read model.

For each chunk read from the projector's subjects (a durable pull consumer starting right after
the checkpoint), one PostgreSQL transaction applies the batch and moves
``projection_checkpoints.seq`` from the position it was read at to the chunk's last sequence
(``WHERE seq = <previous>``: a second runner of the same projector fails instead of double
applying); after the commit the chunk is acked.  A crash anywhere replays from the committed
checkpoint, so nothing is skipped and nothing applied twice.

Run as worker ``part`` of ``partitions`` (:mod:`projections.partitions`), the runner applies
only its partition's events and keeps its position in ``projection_partitions`` instead, with
the same guard; a single runner refuses to start while the projector is split.

An event that cannot be decoded or applied stops the projector: the events before it are
committed one by one, then the checkpoint row records ``failed``, the event's sequence and
the reason, and :class:`~helix.errors.ProjectionError` is raised.  Lost connections are not
"bad events": they raise :class:`~helix.errors.ServiceUnavailable` and change nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from nats.aio.client import Client as NATS

from events.base import Event
from helix.codec import Codec
from helix.errors import ConfigError, HelixError, ProjectionError, ServiceUnavailable
from helix.store.reader import Delivery, PullReader
from projections.base import Batch, Projector
from projections.partitions import is_split, partition_of

CONNECTION_ERRORS = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncio.TimeoutError,
)


@dataclass
class RunStats:
    events: int = 0
    batches: int = 0
    seconds: float = 0.0
    position: int = 0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def ensure_checkpoint(conn: asyncpg.Connection, p: Projector) -> int:
    await conn.execute(
        "INSERT INTO projection_checkpoints (name, stream) VALUES ($1, $2)"
        " ON CONFLICT (name) DO NOTHING",
        p.name,
        p.stream,
    )
    seq = await conn.fetchval("SELECT seq FROM projection_checkpoints WHERE name = $1", p.name)
    return int(seq)


async def reset(conn: asyncpg.Connection, p: Projector) -> None:
    """Empty the projector's tables and checkpoint, in one transaction (for a rebuild)."""
    async with conn.transaction():
        await conn.execute(f"TRUNCATE {', '.join(p.tables)}")
        await conn.execute(
            "INSERT INTO projection_checkpoints (name, stream) VALUES ($1, $2)"
            " ON CONFLICT (name) DO UPDATE SET seq = 0, events = 0, last_event_ns = NULL,"
            " state = 'idle', error = NULL, error_seq = NULL, updated_at = now()",
            p.name,
            p.stream,
        )
        await conn.execute("DELETE FROM projection_partitions WHERE name = $1", p.name)


class ProjectionRunner:
    """Runs one projector, or one worker of it (``part`` of ``partitions``); see the module
    docstring."""

    def __init__(
        self,
        *,
        nc: NATS,
        conn: asyncpg.Connection,
        projector: Projector,
        codec: Codec | None = None,
        batch: int = 8192,
        part: int = 0,
        partitions: int = 1,
    ) -> None:
        self.nc = nc
        self.conn = conn
        self.p = projector
        self.codec = codec or Codec()
        self.batch = batch
        self.position = 0
        self.part = part
        self.partitions = partitions
        self.split = partitions > 1
        # The position row: projection_checkpoints(name) or projection_partitions(name, part).
        self._table = "projection_partitions" if self.split else "projection_checkpoints"
        self._where = "name = $1 AND part = " + str(int(part)) if self.split else "name = $1"
        self._label = f"{projector.name}[{part}/{partitions}]" if self.split else projector.name

    async def _load_position(self) -> int:
        if not self.split:
            if await is_split(self.conn, self.p.name):
                raise ConfigError(
                    f"projector {self.p.name} runs as several workers; run it with --workers"
                )
            return await ensure_checkpoint(self.conn, self.p)
        seq = await self.conn.fetchval(
            f"SELECT seq FROM projection_partitions WHERE {self._where} AND partitions = $2",
            self.p.name,
            self.partitions,
        )
        if seq is None:
            raise ConfigError(
                f"projector {self.p.name} is not split into {self.partitions} workers"
                " (projections.partitions.ensure_layout)"
            )
        return int(seq)

    async def run(
        self,
        *,
        until_caught_up: bool = True,
        stop: asyncio.Event | None = None,
        on_batch: Callable[[RunStats], None] | None = None,
        until_seq: int | None = None,
    ) -> RunStats:
        """Apply the log from the checkpoint on; returns when caught up (or ``stop`` is set, or
        the position reached ``until_seq``).

        Raises:
            ProjectionError: an event could not be applied (the projector is now ``failed``).
            ServiceUnavailable: PostgreSQL or NATS went away (nothing half-applied).
        """
        stats = RunStats()
        t0 = time.perf_counter()
        try:
            self.position = await self._load_position()
            if until_seq is not None and self.position >= until_seq:
                stats.position = self.position
                return stats
            await self._set_state("running")
            durable = f"helix-projection-{self.p.name}"
            if self.split:
                durable += f"-{self.part}of{self.partitions}"
            reader = PullReader(
                self.nc,
                self.p.stream,
                list(self.p.subjects),
                start_seq=self.position + 1,
                live=not until_caught_up and until_seq is None,
                batch=self.batch,
                durable=durable,
            )
            async with reader:
                async for chunk in reader.chunks():
                    if until_seq is not None:
                        chunk = [d for d in chunk if d[0] <= until_seq]
                    await self._apply_chunk(chunk, stats)
                    await reader.ack()
                    stats.seconds = time.perf_counter() - t0
                    if on_batch is not None:
                        on_batch(stats)
                    if stop is not None and stop.is_set():
                        break
                    if until_seq is not None and self.position >= until_seq:
                        break
            await self._set_state("idle")
        except CONNECTION_ERRORS as exc:
            raise ServiceUnavailable(
                f"projector {self._label}: lost a connection: {exc!r}"
            ) from exc
        stats.seconds = time.perf_counter() - t0
        stats.position = self.position
        return stats

    async def _set_state(self, state: str) -> None:
        await self.conn.execute(
            f"UPDATE {self._table} SET state = $2, updated_at = now()"
            + (", error = NULL, error_seq = NULL" if state == "running" else "")
            + f" WHERE {self._where}",
            self.p.name,
            state,
        )

    def _decode(
        self, chunk: list[Delivery]
    ) -> tuple[list[tuple[int, Event]], Delivery | None, str]:
        """Decoded events up to the first undecodable one (returned with its reason)."""
        decode = self.codec.decode
        try:  # the common case, in one decoder call
            events = self.codec.decode_many([data for _seq, _subject, data in chunk])
            return [(d[0], e) for d, e in zip(chunk, events, strict=True)], None, ""
        except HelixError:
            pass
        out: list[tuple[int, Event]] = []
        for d in chunk:
            try:
                out.append((d[0], decode(d[2])))
            except HelixError as exc:
                return out, d, f"cannot decode event: {exc}"
        return out, None, ""

    async def _apply_chunk(self, chunk: list[Delivery], stats: RunStats) -> None:
        if chunk and chunk[0][0] <= self.position:  # redelivered after a restart
            chunk = [d for d in chunk if d[0] > self.position]
        if not chunk:
            return
        last_seq = chunk[-1][0]
        if self.split:  # only this worker's symbols; the position still moves past the rest
            chunk = [d for d in chunk if partition_of(d[1], self.partitions) == self.part]
        events, bad, reason = self._decode(chunk)
        if bad is None:
            try:
                await self._commit(events, last_seq)
            except CONNECTION_ERRORS:
                raise
            except Exception:  # find the event that broke it, one by one
                await self._apply_one_by_one(events, stats)
            else:
                stats.events += len(events)
                stats.batches += 1
                return
        else:
            await self._apply_one_by_one(events, stats)
        await self._fail(bad[0] if bad else self.position + 1, reason)

    async def _commit(self, events: Batch, last_seq: int) -> None:
        last_ns = events[-1][1].ts_recorded if events else None
        async with self.conn.transaction():
            if events:
                await self.p.apply(self.conn, events)
            status = await self.conn.execute(
                f"UPDATE {self._table} SET seq = $2, events = events + $3,"
                " last_event_ns = COALESCE($4, last_event_ns), updated_at = now()"
                f" WHERE {self._where} AND seq = $5",
                self.p.name,
                last_seq,
                len(events),
                last_ns,
                self.position,
            )
            if status != "UPDATE 1":
                raise ProjectionError(
                    f"projector {self._label}: checkpoint moved under us (another runner?)",
                    projector=self.p.name,
                )
        self.position = last_seq

    async def _apply_one_by_one(self, events: list[tuple[int, Event]], stats: RunStats) -> None:
        for seq, event in events:
            try:
                await self._commit([(seq, event)], seq)
            except CONNECTION_ERRORS:
                raise
            except ProjectionError:
                raise
            except Exception as exc:  # recorded as the projector's failure
                await self._fail(seq, f"{type(exc).__name__}: {exc}")
            stats.events += 1

    async def _fail(self, seq: int, reason: str) -> None:
        await self.conn.execute(
            f"UPDATE {self._table} SET state = 'failed', error = $2, error_seq = $3,"
            f" updated_at = now() WHERE {self._where}",
            self.p.name,
            reason[:2000],
            seq,
        )
        raise ProjectionError(
            f"projector {self._label} stopped at sequence {seq}: {reason}",
            projector=self.p.name,
            seq=seq,
        )
