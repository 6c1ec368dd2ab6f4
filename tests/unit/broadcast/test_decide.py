"""The broadcaster's pure decisions: next step from the last record, what to record."""

from __future__ import annotations

import pytest

from events.broadcast import BroadcastAttempted, BroadcastFailed, BroadcastSent, delivery_id
from helix.broadcast.channel import Delivered, Recovery, Refused
from helix.broadcast.decide import (
    INTERRUPTED,
    NS,
    Attempt,
    DeliveryKey,
    Interrupted,
    Lookup,
    Policy,
    attempted,
    looked_up,
    next_step,
    outcome_event,
)
from tests.unit import _factories as f

POLICY = Policy(max_attempts=3, backoff_s=2.0, backoff_max_s=10.0, unknown="skip")
KEY = DeliveryKey("telegram", f.oi_spike(), 77)
T0 = 1_700_000_000 * NS


def record(result: Delivered | Refused, *, attempt: int = 1, recovery: Recovery = "none",
           policy: Policy = POLICY) -> BroadcastSent | BroadcastFailed:  # fmt: skip
    return outcome_event(
        KEY, result, attempt=attempt, started=T0, now=T0 + NS, policy=policy, recovery=recovery
    )


def test_a_new_delivery_starts_with_attempt_one_now() -> None:
    assert next_step(None, "none") == Attempt(1, 0)


def test_the_delivery_id_is_stable_per_item_and_channel() -> None:
    event = f.oi_spike()
    assert KEY.delivery_id == delivery_id(event.event_id, "telegram")
    assert delivery_id(event.event_id, "x") != KEY.delivery_id


def test_intent_records_ref_digest_and_links() -> None:
    intent = attempted(KEY, 1, ref="0b1c2d3e", digest="d" * 64, now=T0)
    assert isinstance(intent, BroadcastAttempted)
    assert (intent.item_seq, intent.item_type, intent.attempt) == (77, "signal.oi_spike.v1", 1)
    assert intent.causation_id == f.oi_spike().event_id
    assert intent.ts_event == intent.ts_recorded == T0


def test_an_intent_without_outcome_was_interrupted() -> None:
    intent = attempted(KEY, 2, ref="r", digest="d", now=T0)
    assert next_step(intent, "lookup") == Interrupted(2)


def test_sent_is_settled() -> None:
    sent = record(Delivered("42"))
    assert isinstance(sent, BroadcastSent)
    assert sent.remote_id == "42"
    assert next_step(sent, "none") is None


def test_a_retryable_refusal_backs_off_exponentially() -> None:
    first = record(Refused("not_sent", "503", 503), attempt=1)
    second = record(Refused("not_sent", "503", 503), attempt=2)
    assert isinstance(first, BroadcastFailed)
    assert isinstance(second, BroadcastFailed)
    assert first.retry_at == T0 + NS + 2 * NS
    assert second.retry_at == T0 + NS + 4 * NS
    assert next_step(first, "none") == Attempt(2, first.retry_at)


def test_retry_after_wins_when_longer() -> None:
    failed = record(Refused("not_sent", "flood", 429, True, 30.0))
    assert isinstance(failed, BroadcastFailed)
    assert failed.retry_at == T0 + NS + 30 * NS


def test_backoff_is_capped() -> None:
    assert POLICY.backoff_ns(20, None) == 10 * NS


def test_a_permanent_refusal_is_final() -> None:
    failed = record(Refused("not_sent", "chat not found", 400, retryable=False))
    assert isinstance(failed, BroadcastFailed)
    assert failed.final
    assert next_step(failed, "none") is None


def test_attempts_run_out() -> None:
    failed = record(Refused("not_sent", "503", 503), attempt=3)
    assert isinstance(failed, BroadcastFailed)
    assert failed.final


@pytest.mark.parametrize(
    ("recovery", "unknown", "final"),
    [("none", "skip", True), ("none", "resend", False), ("resend", "skip", False)],
)
def test_unknown_outcome_policy(recovery: Recovery, unknown: str, final: bool) -> None:
    policy = Policy(max_attempts=3, backoff_s=1, backoff_max_s=5, unknown=unknown)  # type: ignore[arg-type]
    failed = record(Refused("unknown", INTERRUPTED), recovery=recovery, policy=policy)
    assert isinstance(failed, BroadcastFailed)
    assert failed.outcome == "unknown"
    assert failed.final is final
    if not final:
        assert next_step(failed, recovery) == Attempt(2, failed.retry_at)  # type: ignore[arg-type]


def test_unknown_on_a_lookup_channel_is_looked_up_even_after_the_last_attempt() -> None:
    failed = record(Refused("unknown", "timeout"), attempt=3, recovery="lookup")
    assert isinstance(failed, BroadcastFailed)
    assert not failed.final
    assert next_step(failed, "lookup") == Lookup(3, T0)


def test_a_lookup_that_finds_it_records_sent_reconciled() -> None:
    sent = looked_up(KEY, "SM1", attempt=1, started=T0, now=T0 + NS, policy=POLICY)
    assert isinstance(sent, BroadcastSent)
    assert (sent.remote_id, sent.how) == ("SM1", "reconciled")


def test_a_lookup_that_finds_nothing_retries_or_ends() -> None:
    again = looked_up(KEY, None, attempt=1, started=T0, now=T0 + NS, policy=POLICY)
    assert isinstance(again, BroadcastFailed)
    assert again.outcome == "not_sent"
    assert next_step(again, "lookup") == Attempt(2, again.retry_at)  # type: ignore[arg-type]
    last = looked_up(KEY, None, attempt=3, started=T0, now=T0 + NS, policy=POLICY)
    assert isinstance(last, BroadcastFailed)
    assert last.final
