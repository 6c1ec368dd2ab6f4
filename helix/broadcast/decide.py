"""The broadcaster's decisions, as pure functions of the last recorded step of a delivery.

Given what the ledger says about a delivery (nothing yet, an intent without an outcome, a
failure, a success), :func:`next_step` says what to do; given what a channel answered,
:func:`outcome_event` says what to record.  No I/O and no clock: times are passed in.

Record times: every step of an attempt carries the attempt's start as ``ts_event`` (the
moment the message may have left) and the time it was written as ``ts_recorded``, so a
lookup after a crash knows from when to search.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from events.base import Event
from events.broadcast import (
    BroadcastAttempted,
    BroadcastFailed,
    BroadcastRecord,
    BroadcastSent,
    Channel,
    delivery_id,
)
from helix.broadcast.channel import Delivered, Recovery, Refused, Result
from helix.settings import Settings

NS = 1_000_000_000
INTERRUPTED = "interrupted: the broadcaster stopped before the answer was recorded"


@dataclass(frozen=True)
class Policy:
    """Retries and what to do with unknown outcomes (``HELIX_BROADCAST_*``)."""

    max_attempts: int = 8
    backoff_s: float = 2.0
    backoff_max_s: float = 900.0
    unknown: Literal["skip", "resend"] = "skip"

    @classmethod
    def from_settings(cls, s: Settings) -> Policy:
        return cls(
            max_attempts=max(1, s.broadcast_max_attempts),
            backoff_s=s.broadcast_backoff_s,
            backoff_max_s=s.broadcast_backoff_max_s,
            unknown=s.broadcast_unknown,
        )

    def backoff_ns(self, attempt: int, retry_after_s: float | None) -> int:
        """``backoff_s * 2^(attempt-1)`` capped at ``backoff_max_s``; the far side's
        ``retry_after`` wins when it asks for longer."""
        wait = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))
        return int(max(wait, retry_after_s or 0.0) * NS)


@dataclass(frozen=True)
class Attempt:
    """Send attempt ``number``, not before ``not_before`` (UTC ns)."""

    number: int
    not_before: int


@dataclass(frozen=True)
class Lookup:
    """Ask the far side whether attempt ``attempt`` (started at ``since``) arrived."""

    attempt: int
    since: int


@dataclass(frozen=True)
class Interrupted:
    """An intent without an outcome: the broadcaster died mid-attempt; record it as unknown."""

    attempt: int


Step = Attempt | Lookup | Interrupted | None


def next_step(last: BroadcastRecord | None, recovery: Recovery) -> Step:
    """What to do next for a delivery whose newest step is ``last`` (None: settled)."""
    if last is None:
        return Attempt(1, 0)
    if isinstance(last, BroadcastSent):
        return None
    if isinstance(last, BroadcastAttempted):
        return Interrupted(last.attempt)
    assert isinstance(last, BroadcastFailed)
    if last.retry_at is None:
        return None
    if last.outcome == "unknown" and recovery == "lookup":
        return Lookup(last.attempt, last.ts_event)
    return Attempt(last.attempt + 1, last.retry_at)


@dataclass(frozen=True)
class DeliveryKey:
    """What every step of one delivery shares."""

    channel: Channel
    item: Event
    item_seq: int
    source: str = "broadcaster"

    @property
    def delivery_id(self) -> uuid.UUID:
        return delivery_id(self.item.event_id, self.channel)

    def fields(self, attempt: int, started: int, now: int) -> dict[str, object]:
        return {
            "event_id": uuid.uuid4(),
            "ts_event": started,
            "ts_recorded": now,
            "source": self.source,
            "vertical": "ops",
            "causation_id": self.item.event_id,
            "correlation_id": self.delivery_id,
            "channel": self.channel,
            "delivery_id": self.delivery_id,
            "item_id": self.item.event_id,
            "item_type": self.item.type,
            "item_seq": self.item_seq,
            "attempt": attempt,
        }


def attempted(
    key: DeliveryKey, attempt: int, *, ref: str, digest: str, now: int
) -> BroadcastAttempted:
    return BroadcastAttempted(**key.fields(attempt, now, now), ref=ref, digest=digest)  # type: ignore[arg-type]


def outcome_event(
    key: DeliveryKey,
    result: Result,
    *,
    attempt: int,
    started: int,
    now: int,
    policy: Policy,
    recovery: Recovery,
) -> BroadcastSent | BroadcastFailed:
    """What to record after attempt ``attempt`` came back with ``result``.

    A failure gets ``retry_at`` (the next attempt's earliest time) unless it is final: the far
    side will not change its mind, the attempts are used up, or the outcome is unknown on a
    channel that cannot be asked and the policy is ``skip`` (at most once).  An unknown outcome
    on a ``lookup`` channel is never final: the lookup must settle it first.
    """
    fields = key.fields(attempt, started, now)
    if isinstance(result, Delivered):
        return BroadcastSent(**fields, remote_id=result.remote_id, how=result.how)  # type: ignore[arg-type]
    assert isinstance(result, Refused)
    retry_at: int | None = now + policy.backoff_ns(attempt, result.retry_after_s)
    if not result.retryable or attempt >= policy.max_attempts:
        retry_at = None
    if result.outcome == "unknown":
        if recovery == "lookup":
            retry_at = now
        elif recovery == "none" and policy.unknown == "skip":
            retry_at = None
    return BroadcastFailed(
        **fields,  # type: ignore[arg-type]
        outcome=result.outcome,
        reason=result.reason,
        status=result.status,
        retry_at=retry_at,
    )


def looked_up(
    key: DeliveryKey,
    remote_id: str | None,
    *,
    attempt: int,
    started: int,
    now: int,
    policy: Policy,
) -> BroadcastSent | BroadcastFailed:
    """The record after a lookup: found (sent), or certainly not sent (retry or give up)."""
    fields = key.fields(attempt, started, now)
    if remote_id is not None:
        return BroadcastSent(**fields, remote_id=remote_id, how="reconciled")  # type: ignore[arg-type]
    retry_at = None if attempt >= policy.max_attempts else now + policy.backoff_ns(attempt, None)
    return BroadcastFailed(
        **fields,  # type: ignore[arg-type]
        outcome="not_sent",
        reason="not found on the far side after an unknown outcome",
        retry_at=retry_at,
    )
