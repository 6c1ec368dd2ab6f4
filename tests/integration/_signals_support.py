"""Helpers for the signal machines' runtime tests: a private market stream and ledger on real
NATS, the snapshots the machines leave, and the signals the ledger holds."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from events.signals import Signal
from helix.store.replay import replay_batches
from helix.store.streams import StreamSpec, ensure_stream
from helix.strategies.runtime import delete_snapshot


@dataclass(frozen=True)
class Streams:
    """A market stream and a ledger private to one test."""

    market: str
    market_prefix: str
    ledger: str
    ledger_prefix: str
    tag: str

    def snapshot(self, machine: str) -> str:
        """The snapshot name of ``machine`` in this test."""
        return f"{machine}-{self.tag}"


@contextlib.asynccontextmanager
async def streams(nc: NATS, *machines: str) -> AsyncIterator[Streams]:
    """The streams, deleted at the end with the snapshots of ``machines``."""
    tag = uuid.uuid4().hex[:8]
    s = Streams(f"MKT_{tag}", f"m{tag}", f"LDG_{tag}", f"l{tag}", tag)
    js = nc.jetstream()
    await ensure_stream(js, StreamSpec(name=s.market, subjects=(f"{s.market_prefix}.>",)))
    await ensure_stream(
        js, StreamSpec(name=s.ledger, subjects=(f"{s.ledger_prefix}.>",), allow_atomic=True)
    )
    try:
        yield s
    finally:
        for name in (s.market, s.ledger):
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(name)
        for machine in machines:
            await delete_snapshot(nc, s.snapshot(machine))


async def ledger_signals(nc: NATS, s: Streams) -> list[Signal]:
    """Every signal in the ledger, in order."""
    out: list[Signal] = []
    async for batch in replay_batches(nc, subjects=f"{s.ledger_prefix}.>", stream=s.ledger):
        out.extend(e for _, e in batch if isinstance(e, Signal))
    return out
