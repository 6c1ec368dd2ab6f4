"""Broadcast events (stream ``LEDGER``, subjects ``ldg.broadcast.<channel>.<delivery>``).

The broadcaster (:mod:`helix.broadcast`) sends signals (and, later, seals and NAV strikes) to
followers on Telegram, X, email and SMS.  Every step it takes is a fact in the ledger, and the
ledger is its only memory: its position and its exactly-once bookkeeping are derived from
these events, never from a local file.

A *delivery* is one item (a signal event) on one channel; its id is deterministic
(:func:`delivery_id`), so a restart finds the same delivery again.  Each try at it is an
*attempt*: :class:`BroadcastAttempted` is written **before** the far side is called (the
write-ahead intent), then :class:`BroadcastSent` or :class:`BroadcastFailed` records what came
back.  An attempt with an intent and no outcome is one the broadcaster was killed in the middle
of; what happens to it depends on what the channel can tell us (see :mod:`helix.broadcast`).

:class:`BroadcastOpened` marks where a channel began: signals older than it are never sent
(switching a channel on does not flood followers with history).
"""

from __future__ import annotations

import uuid
from typing import Literal

from events.base import Event, event_id_for

Channel = Literal["telegram", "x", "email", "sms"]
CHANNELS: tuple[Channel, ...] = ("telegram", "x", "email", "sms")

Outcome = Literal["not_sent", "unknown"]
"""``not_sent``: the far side said no (or was never reached); ``unknown``: it may have it."""

SentHow = Literal["sent", "duplicate", "reconciled"]
"""``sent``: the far side answered with its id; ``duplicate``: it refused a copy of a message
it already has (X); ``reconciled``: found by asking the far side after an unknown outcome."""


def delivery_id(item_id: uuid.UUID, channel: str) -> uuid.UUID:
    """The deterministic id of one item's delivery on one channel."""
    return event_id_for(f"broadcast:{item_id}:{channel}")


class BroadcastOpened(Event, frozen=True, kw_only=True, tag="broadcast.opened.v1"):
    """A channel starts broadcasting at LEDGER sequence ``from_seq`` (earlier items are not
    sent)."""

    channel: Channel
    from_seq: int


class BroadcastRecord(Event, frozen=True, kw_only=True):
    """Fields of every step of a delivery (subclasses set the tag).

    Attributes:
        channel: where it goes.
        delivery_id: :func:`delivery_id` of (item, channel).
        item_id / item_type / item_seq: the broadcast event, its tag and LEDGER sequence.
        attempt: 1 for the first try, then 2, 3, ...

    ``ts_event`` is when the attempt started (the earliest the message can have left; a lookup
    after a crash searches from there) and ``ts_recorded`` when this step was written.
    """

    channel: Channel
    delivery_id: uuid.UUID
    item_id: uuid.UUID
    item_type: str
    item_seq: int
    attempt: int


class BroadcastAttempted(BroadcastRecord, frozen=True, kw_only=True, tag="broadcast.attempted.v1"):
    """Written before the far side is called: "attempt N of this delivery is going out".

    ``ref`` is the short reference printed in the message (how it is found again);
    ``digest`` the SHA-256 of the rendered message, so an audit can see a resend was identical.
    """

    ref: str
    digest: str


class BroadcastSent(BroadcastRecord, frozen=True, kw_only=True, tag="broadcast.sent.v1"):
    """The far side has the message: ``remote_id`` is its id there (``""`` when unknown)."""

    remote_id: str
    how: SentHow = "sent"


class BroadcastFailed(BroadcastRecord, frozen=True, kw_only=True, tag="broadcast.failed.v1"):
    """The attempt did not (knowingly) deliver.

    Attributes:
        outcome: ``not_sent`` or ``unknown`` (the far side may have it).
        reason: what happened, for people (never a secret).
        status: HTTP status or SMTP reply code, if there was one.
        retry_at: UTC ns from which the next attempt may go; ``None``: this delivery is over.
    """

    outcome: Outcome
    reason: str
    status: int | None = None
    retry_at: int | None = None

    @property
    def final(self) -> bool:
        return self.retry_at is None


BroadcastEvent = BroadcastOpened | BroadcastAttempted | BroadcastSent | BroadcastFailed
BROADCAST_TYPES: tuple[type[Event], ...] = (
    BroadcastOpened,
    BroadcastAttempted,
    BroadcastSent,
    BroadcastFailed,
)


def broadcast_subject(
    event: BroadcastOpened | BroadcastRecord, prefix: str = "ldg.broadcast"
) -> str:
    """``<prefix>.<channel>.opened`` or ``<prefix>.<channel>.<delivery id hex>``.

    One subject per delivery, so ``Nats-Expected-Last-Subject-Sequence`` orders its steps and
    makes two broadcasters racing for the same delivery conflict instead of both sending.
    """
    if isinstance(event, BroadcastOpened):
        return f"{prefix}.{event.channel}.opened"
    return f"{prefix}.{event.channel}.{event.delivery_id.hex}"
