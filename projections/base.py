"""What a projector is: a name, the subjects it reads, its tables, and how it applies a batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

import asyncpg

from events.base import Event

Batch = Sequence[tuple[int, Event]]
"""``(stream sequence, event)`` pairs in stream order."""

NS_PER_MINUTE = 60_000_000_000


class Projector(Protocol):
    """A read model.  ``apply`` runs inside the runner's transaction and must be idempotent
    per batch only in the sense the runner needs: it is never given an event twice."""

    @property
    def name(self) -> str: ...
    @property
    def stream(self) -> str: ...
    @property
    def subjects(self) -> tuple[str, ...]: ...
    @property
    def tables(self) -> tuple[str, ...]: ...

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None: ...


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ns_to_dt(ns: int) -> datetime:
    """UTC datetime (microseconds, exact integer arithmetic) for int nanoseconds."""
    return EPOCH + timedelta(microseconds=ns // 1000)


def minute_floor(ns: int) -> int:
    return ns - ns % NS_PER_MINUTE
