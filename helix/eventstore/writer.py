"""Group-committing writer of aggregate events into one JetStream stream.

Each save becomes a :class:`WriteRequest`: its messages, the subjects (aggregates) it touches
with the lowest new version per subject, and a future for the stream sequences it gets.
Concurrent saves on *different* aggregates are merged into one atomic batch (one fsync for
all), up to 1,000 messages; saves on the same aggregate go in successive batches.

Optimistic concurrency: the first message for each aggregate carries
``Nats-Expected-Last-Subject-Sequence`` from a cache of what this writer last saw on the
subject (0 for an unseen aggregate: the common "create" case costs no lookup).  When a merged
batch is rejected, each save is retried alone; a save that fails alone is resolved by reading
the aggregate's last message:

* its ``Nats-Msg-Id`` is the save's own -> the save was already stored (a retried command):
  return the original sequences, write nothing new;
* a stored version is >= a version being written -> :class:`DuplicateError` (the caller's
  conflict);
* otherwise the cache was stale -> retry with the fresh sequence.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from dataclasses import dataclass, field

import nats.errors
from nats.aio.client import Client as NATS

from helix.errors import DuplicateError, StoreError
from helix.store.jsraw import (
    ERR_DUPLICATE_MSG_ID_IN_BATCH,
    ERR_WRONG_LAST_SEQUENCE,
    MAX_ATOMIC_BATCH,
    Ack,
    OutMsg,
    direct_get_last,
    publish_atomic,
)

VERSION_HEADER = "Helix-Version"
EXPECTED = "Nats-Expected-Last-Subject-Sequence"


@dataclass
class SubjectWrite:
    """What one save writes on one subject."""

    min_version: int
    max_version: int
    last_msg_id: str
    kind: str = "events"  # "events" (versions) or "tracking" (notification ids)


@dataclass
class WriteRequest:
    msgs: list[OutMsg]
    subjects: dict[str, SubjectWrite]
    future: asyncio.Future[list[int]] = field(repr=False)


@dataclass
class _Last:
    seq: int
    version: int


class GroupWriter:
    """Serialises atomic batches on one stream; see the module docstring."""

    def __init__(
        self,
        nc: NATS,
        stream: str,
        *,
        ack_timeout: float = 10.0,
        deadline: float = 60.0,
        linger: float = 0.0005,
    ) -> None:
        self.nc = nc
        self.stream = stream
        self.ack_timeout = ack_timeout
        self.deadline = deadline
        self._pending: collections.deque[WriteRequest] = collections.deque()
        self._wakeup = asyncio.Event()
        self._last: dict[str, _Last] = {}
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy: set[str] = set()
        self._batch_in_flight = False
        self._last_group = 0
        self._lingered = False
        self.linger = linger
        self.batches = 0

    def forget(self) -> None:
        """Drop cached subject positions (e.g. after the stream was recreated)."""
        self._last.clear()

    async def write(self, msgs: list[OutMsg], subjects: dict[str, SubjectWrite]) -> list[int]:
        if len(msgs) > MAX_ATOMIC_BATCH:
            raise StoreError(f"one save holds at most {MAX_ATOMIC_BATCH} events, got {len(msgs)}")
        fut: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._pending.append(WriteRequest(msgs, subjects, fut))
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"group-writer-{self.stream}")
        return await fut

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        """Dispatch pending saves, keeping per-aggregate order.

        A save whose aggregates are untouched by anything in flight (or queued before it) is
        dispatched now: a one-message save as its own publish (many in flight: JetStream
        pipelines plain publishes), multi-message saves merged into the one atomic batch in
        flight (the server serialises atomic commits per stream, ~3 ms each, so merging is
        what makes them scale).
        """
        while True:
            group, singles = self._dispatchable(batch=not self._should_linger())
            for req in singles:
                self._spawn([req], single=True)
            if group:
                self._spawn(group, single=False)
                self._last_group = len(group)
            elif self._should_linger():
                # Writers are saving concurrently (the last batch merged several saves): give
                # the ones just woken by that batch's ack a moment to join the next one.
                self._lingered = True
                await asyncio.sleep(self.linger)
                continue
            self._lingered = False
            self._wakeup.clear()
            if not self._pending and not self._busy:
                await self._wakeup.wait()
                continue
            await self._wakeup.wait()

    def _should_linger(self) -> bool:
        return (
            self.linger > 0
            and not self._lingered
            and not self._batch_in_flight
            and self._last_group > 1
            and any(len(r.msgs) > 1 for r in self._pending)
        )

    def _dispatchable(self, *, batch: bool = True) -> tuple[list[WriteRequest], list[WriteRequest]]:
        group: list[WriteRequest] = []
        singles: list[WriteRequest] = []
        blocked = set(self._busy)
        size = 0
        keep: collections.deque[WriteRequest] = collections.deque()
        batch_free = batch and not self._batch_in_flight
        for req in self._pending:
            if req.future.done():
                continue
            subjects = req.subjects.keys()
            multi = len(req.msgs) > 1
            if blocked & subjects or (
                multi and (not batch_free or size + len(req.msgs) > MAX_ATOMIC_BATCH)
            ):
                keep.append(req)
                blocked |= subjects
                continue
            blocked |= subjects
            if multi:
                group.append(req)
                size += len(req.msgs)
            else:
                singles.append(req)
        self._pending = keep
        return group, singles

    def _spawn(self, reqs: list[WriteRequest], *, single: bool) -> None:
        subjects = {s for r in reqs for s in r.subjects}
        self._busy |= subjects
        if not single:
            self._batch_in_flight = True

        async def run() -> None:
            try:
                await self._commit_group(reqs)
            except Exception as exc:  # never let one bad batch kill the writer
                for req in reqs:
                    if not req.future.done():
                        req.future.set_exception(exc)
            finally:
                self._busy -= subjects
                if not single:
                    self._batch_in_flight = False
                self._wakeup.set()

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _with_checks(self, req: WriteRequest) -> list[OutMsg]:
        seen: set[str] = set()
        out = []
        for m in req.msgs:
            if m.subject not in seen:
                seen.add(m.subject)
                last = self._last.get(m.subject)
                m = OutMsg(m.subject, m.data, {**m.headers, EXPECTED: str(last.seq if last else 0)})
            out.append(m)
        return out

    def _cached_conflict(self, req: WriteRequest) -> bool:
        for subject, sw in req.subjects.items():
            last = self._last.get(subject)
            if last is not None and sw.min_version <= last.version:
                return True
        return False

    async def _commit_group(self, group: list[WriteRequest]) -> None:
        if not group:
            return
        # A save the cache already knows conflicts is settled alone (the server only checks
        # sequences, so a stale-version write with a current sequence must not ride along).
        doubtful = [r for r in group if self._cached_conflict(r)]
        group = [r for r in group if not self._cached_conflict(r)]
        for req in doubtful:
            await self._commit_single(req)
        if len(group) <= 1:
            for req in group:
                await self._commit_single(req)
            return
        msgs = [m for req in group for m in self._with_checks(req)]
        try:
            ack = await publish_atomic(self.nc, msgs, timeout=self.ack_timeout)
        except (TimeoutError, nats.errors.Error):
            ack = None
        if ack is not None and ack.error is None:
            self.batches += 1
            self._resolve_from_ack(group, ack)
            return
        # Someone conflicted, was a retry, or the ack was lost: settle each save alone.
        for req in group:
            await self._commit_single(req)

    def _resolve_from_ack(self, group: list[WriteRequest], ack: Ack) -> None:
        total = sum(len(r.msgs) for r in group)
        seq = ack.seq - total + 1
        for req in group:
            seqs = list(range(seq, seq + len(req.msgs)))
            seq += len(req.msgs)
            self._remember(req, seqs)
            req.future.set_result(seqs)

    def _remember(self, req: WriteRequest, seqs: list[int]) -> None:
        for m, s in zip(req.msgs, seqs, strict=True):
            sw = req.subjects[m.subject]
            self._last[m.subject] = _Last(s, sw.max_version)

    async def _commit_single(self, req: WriteRequest) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.deadline
        if self._cached_conflict(req):
            already = await self._refresh(req)
            if already is not None:  # a retried command: report what it stored the first time
                req.future.set_result(already)
                return
        while not req.future.done():
            if self._cached_conflict(req):
                req.future.set_exception(self._duplicate(req))
                return
            try:
                ack = await publish_atomic(
                    self.nc, self._with_checks(req), timeout=self.ack_timeout
                )
            except (TimeoutError, nats.errors.Error) as exc:
                if loop.time() > give_up:
                    req.future.set_exception(
                        StoreError(f"no ack from JetStream for {self.deadline:.0f}s: {exc!r}")
                    )
                    return
                await asyncio.sleep(0.2)
                already = await self._refresh(req)
                if already is not None:
                    req.future.set_result(already)
                continue
            if ack.error is None and not ack.duplicate:
                self.batches += 1
                seqs = list(range(ack.seq - len(req.msgs) + 1, ack.seq + 1))
                self._remember(req, seqs)
                req.future.set_result(seqs)
                return
            if ack.duplicate or ack.err_code in (
                ERR_WRONG_LAST_SEQUENCE,
                ERR_DUPLICATE_MSG_ID_IN_BATCH,
            ):
                already = await self._refresh(req)
                if already is not None:
                    req.future.set_result(already)
                    return
                if ack.duplicate or ack.err_code == ERR_DUPLICATE_MSG_ID_IN_BATCH:
                    req.future.set_exception(
                        DuplicateError(f"message id reused for different events: {ack.description}")
                    )
                    return
                continue  # stale cache: _refresh updated it; the version check runs again
            req.future.set_exception(
                StoreError(f"JetStream rejected the write: {ack.err_code} {ack.description}")
            )
            return

    async def _refresh(self, req: WriteRequest) -> list[int] | None:
        """Re-read the last message of each subject; if this save is already stored, its seqs."""
        stored_by_us = True
        last_seqs: dict[str, int] = {}
        for subject, sw in req.subjects.items():
            last = await direct_get_last(self.nc, self.stream, subject)
            if last is None:
                self._last.pop(subject, None)
                stored_by_us = False
                continue
            version = int(last.headers.get(VERSION_HEADER, "-1"))
            self._last[subject] = _Last(last.seq, version)
            last_seqs[subject] = last.seq
            if last.headers.get("Nats-Msg-Id") != sw.last_msg_id:
                stored_by_us = False
        if not stored_by_us:
            return None
        # An atomic batch stores a save's messages contiguously, in order.
        end = max(last_seqs.values())
        return list(range(end - len(req.msgs) + 1, end + 1))

    def _duplicate(self, req: WriteRequest) -> DuplicateError:
        for subject, sw in req.subjects.items():
            last = self._last.get(subject)
            if last is not None and sw.min_version <= last.version:
                return DuplicateError(
                    f"{subject} already has version {last.version}; "
                    f"cannot write version {sw.min_version}",
                    subject=subject,
                    expected=last.seq,
                )
        return DuplicateError("conflict")
