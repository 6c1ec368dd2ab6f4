"""The broadcaster's memory: its own events in LEDGER, read back and appended with concurrency
checks.

Each delivery has a subject of its own (``ldg.broadcast.<channel>.<delivery hex>``) and every
append names the sequence it expects last on that subject (``Nats-Expected-Last-Subject-
Sequence``): the first intent expects 0.  Two broadcasters reaching the same delivery therefore
cannot both send: the second intent is refused (:class:`~helix.errors.ConcurrencyError`) before
its far side is called.  The last event under ``ldg.broadcast.<channel>.>`` is where a channel
stands (deliveries on a channel are settled one after another, in ledger order).
"""

from __future__ import annotations

from typing import Any

from nats import errors as nats_errors
from nats.aio.client import Client as NATS

from events.broadcast import (
    BroadcastEvent,
    BroadcastOpened,
    BroadcastRecord,
    Channel,
    broadcast_subject,
)
from helix.codec import Codec
from helix.errors import ConcurrencyError, StoreError
from helix.store.jsraw import (
    ERR_WRONG_LAST_SEQUENCE,
    OutMsg,
    direct_get_last,
    direct_get_seq,
    publish_atomic,
)
from helix.store.market import event_headers
from helix.store.replay import replay_batches
from helix.store.streams import LEDGER

EXPECTED = "Nats-Expected-Last-Subject-Sequence"
PREFIX = "ldg.broadcast"


class Journal:
    """Read and append broadcast events (``prefix`` separates test runs on one server)."""

    def __init__(
        self, nc: NATS, *, prefix: str = PREFIX, stream: str = LEDGER, codec: Codec | None = None
    ) -> None:
        self.nc = nc
        self.prefix = prefix
        self.stream = stream
        self.codec = codec or Codec()

    async def last(self, channel: Channel) -> tuple[int, BroadcastOpened | BroadcastRecord] | None:
        """The newest event of ``channel`` and its sequence (None: the channel never ran).

        Raises:
            StoreError: the stream is missing or holds something else there.
        """
        msg = await direct_get_last(self.nc, self.stream, f"{self.prefix}.{channel}.>")
        if msg is None:
            return None
        event = self.codec.decode(msg.data)
        if not isinstance(event, BroadcastOpened | BroadcastRecord):
            raise StoreError(f"{msg.subject} holds a {event.type}, not a broadcast event")
        return msg.seq, event

    async def item(self, seq: int) -> Any:
        """The event at LEDGER sequence ``seq`` (the item a pending delivery is about).

        Raises:
            StoreError: it is gone (LEDGER never deletes, so this is a corrupt or wrong stream).
        """
        msg = await direct_get_seq(self.nc, self.stream, seq)
        if msg is None:
            raise StoreError(f"{self.stream} #{seq} is missing: cannot finish its broadcast")
        return self.codec.decode(msg.data)

    async def append(self, event: BroadcastOpened | BroadcastRecord, *, expect: int) -> int:
        """Append ``event`` if its subject's last sequence is still ``expect``; its sequence.

        Raises:
            ConcurrencyError: someone else wrote on the subject first (another broadcaster).
            StoreError: the ledger refused the write.
        """
        subject = broadcast_subject(event, self.prefix)
        headers = {**event_headers(event), EXPECTED: str(expect)}
        try:
            ack = await publish_atomic(
                self.nc, [OutMsg(subject, self.codec.encode(event), headers)]
            )
        except (TimeoutError, nats_errors.TimeoutError):
            # The ack was lost, not necessarily the write: if ours is the subject's last
            # message it was stored (its event id is unique), and the caller goes on.
            stored = await direct_get_last(self.nc, self.stream, subject)
            if stored is not None and stored.headers.get("Nats-Msg-Id") == str(event.event_id):
                return stored.seq
            raise
        if ack.error is not None:
            if ack.err_code == ERR_WRONG_LAST_SEQUENCE:
                raise ConcurrencyError(
                    f"{subject} moved past #{expect}: another broadcaster is running",
                    subject=subject,
                    expected=expect,
                )
            raise StoreError(f"ledger refused {event.type} on {subject}: {ack.description}")
        return ack.seq

    async def read(self, channel: Channel | None = None) -> list[tuple[int, BroadcastEvent]]:
        """Every broadcast event (of one channel), oldest first (``helix broadcast log``)."""
        subject = f"{self.prefix}.{channel or '*'}.>"
        out: list[tuple[int, BroadcastEvent]] = []
        async for batch in replay_batches(
            self.nc, subjects=subject, stream=self.stream, codec=self.codec
        ):
            out.extend(
                (seq, e)  # type: ignore[misc]
                for seq, e in batch
                if isinstance(e, BroadcastOpened | BroadcastRecord)
            )
        return out
