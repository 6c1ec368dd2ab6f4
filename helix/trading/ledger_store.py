"""The write side's :class:`~commands.store.EventStore` on the ``eventsourcing`` JetStream store.

Aggregates of the ``trading`` application live on ``ldg.es.trading.e.<id>`` in ``LEDGER``, one
subject per aggregate, written through :class:`helix.eventstore.JetStreamAggregateRecorder`
(atomic batches, ``Nats-Expected-Last-Subject-Sequence`` concurrency, ``Nats-Msg-Id``
de-duplication of a retried command).  The recorder is synchronous (it owns a loop thread),
so this store builds the recorder's messages (same subjects, versions and headers: the
library reads what it writes) and sends them through its own :class:`GroupWriter` on the
caller's connection and event loop, with no thread hop per write.  Reading everything back at
start-up streams the subjects through a pull consumer on the same connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from eventsourcing.persistence import InfrastructureFactory, IntegrityError, StoredEvent
from eventsourcing.utils import Environment
from nats.aio.client import Client as NATS

from commands.store import AggregateId, Write
from events.base import Event
from helix.codec import Codec
from helix.errors import ConcurrencyError, DuplicateError
from helix.eventstore.subjects import decode_id
from helix.eventstore.writer import GroupWriter
from helix.store.reader import PullReader
from helix.store.streams import LEDGER

PREFIX = "ldg.es.trading"


class LedgerEventStore:
    """See the module docstring; build it with :meth:`open` and close it when done."""

    def __init__(self, factory: Any, nc: NATS, *, stream: str, prefix: str) -> None:
        self.factory = factory
        self.recorder = factory.aggregate_recorder()
        self.writer = GroupWriter(nc, stream)
        self.nc = nc
        self.stream = stream
        self.prefix = prefix
        self.codec = Codec()

    @classmethod
    def open(
        cls,
        nc: NATS,
        *,
        nats_url: str,
        database_url: str,
        stream: str = LEDGER,
        prefix: str = PREFIX,
    ) -> LedgerEventStore:
        env = Environment("trading")
        env["PERSISTENCE_MODULE"] = "helix.eventstore"
        env["NATS_STREAM"] = stream
        env["NATS_SUBJECT_PREFIX"] = prefix
        env["HELIX_NATS_URL"] = nats_url
        env["HELIX_DATABASE_URL"] = database_url
        factory = InfrastructureFactory.construct(env)
        return cls(factory, nc, stream=stream, prefix=prefix)

    def close(self) -> None:
        self.factory.close()

    async def aclose(self) -> None:
        """Stop this store's writer (on the caller's loop), then the recorder's resources."""
        await self.writer.close()
        await asyncio.to_thread(self.factory.close)

    async def append(self, writes: Sequence[Write], *, command_id: str) -> bool:
        stored = [
            StoredEvent(
                originator_id=w.aggregate_id,
                originator_version=w.expected_version + i,
                topic=e.type,
                state=self.codec.encode(e),
            )
            for w in writes
            for i, e in enumerate(w.events, start=1)
        ]
        if not stored:
            return True
        try:
            msgs, subjects = self.recorder.messages(stored, command_id)
            await self.writer.write(msgs, subjects)
        except (IntegrityError, DuplicateError) as exc:
            raise ConcurrencyError(f"trading write refused: {exc}") from exc
        return True

    async def load_all(self) -> AsyncIterator[tuple[AggregateId, Event]]:
        async with PullReader(self.nc, self.stream, [f"{self.prefix}.e.>"]) as reader:
            async for chunk in reader.chunks():
                events = self.codec.decode_many([data for _seq, _subject, data in chunk])
                for (_seq, subject, _data), event in zip(chunk, events, strict=True):
                    token = subject.decode().rsplit(".", 1)[-1]
                    yield decode_id(token), event

    async def load(self, aggregate_id: AggregateId) -> list[Event]:
        stored = await asyncio.to_thread(self.recorder.select_events, aggregate_id)
        return [self.codec.decode(s.state) for s in stored]
