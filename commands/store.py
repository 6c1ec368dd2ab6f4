"""The event store port the write side uses, and its in-memory implementation.

``append`` writes events to one or more aggregates **atomically**, each with the version the
writer expects the aggregate to be at; a different current version raises
:class:`~helix.errors.ConcurrencyError` and nothing is written.  A ``command_id`` seen before
makes the append a no-op (a retried command writes nothing twice).  ``load_all`` yields every
aggregate's events in order, for rebuilding the in-memory book.

The JetStream implementation is :class:`helix.trading.ledger_store.LedgerEventStore` (the
``eventsourcing`` recorders); both pass the same contract tests.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from events.base import Event
from helix.errors import ConcurrencyError

AggregateId = uuid.UUID | str


@dataclass(frozen=True, slots=True)
class Write:
    """Events for one aggregate, starting after ``expected_version``."""

    aggregate_id: AggregateId
    expected_version: int
    events: Sequence[Event]


class EventStore(Protocol):
    async def append(self, writes: Sequence[Write], *, command_id: str) -> bool:
        """Write atomically; False if ``command_id`` was already written (nothing new).

        Raises:
            ConcurrencyError: an aggregate is not at its expected version.
        """
        ...

    def load_all(self) -> AsyncIterator[tuple[AggregateId, Event]]:
        """Every stored event as ``(aggregate id, event)``, each aggregate's in version order."""
        ...

    async def load(self, aggregate_id: AggregateId) -> list[Event]:
        """One aggregate's events in version order."""
        ...


@dataclass
class InMemoryEventStore:
    """A dict-backed :class:`EventStore` (tests, benchmarks' baseline, backtests)."""

    streams: dict[AggregateId, list[Event]] = field(default_factory=dict)
    log: list[tuple[AggregateId, Event]] = field(default_factory=list)
    commands: set[str] = field(default_factory=set)

    async def append(self, writes: Sequence[Write], *, command_id: str) -> bool:
        if command_id in self.commands:
            return False
        for w in writes:
            current = len(self.streams.get(w.aggregate_id, ()))
            if current != w.expected_version:
                raise ConcurrencyError(
                    f"aggregate {w.aggregate_id} is at version {current}, "
                    f"expected {w.expected_version}"
                )
        for w in writes:
            self.streams.setdefault(w.aggregate_id, []).extend(w.events)
            self.log.extend((w.aggregate_id, e) for e in w.events)
        self.commands.add(command_id)
        return True

    async def load_all(self) -> AsyncIterator[tuple[AggregateId, Event]]:
        for item in list(self.log):
            yield item

    async def load(self, aggregate_id: AggregateId) -> list[Event]:
        return list(self.streams.get(aggregate_id, ()))
