"""JetStream layout: spec construction and the incompatibility check on existing streams."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from nats.js import api

from helix.settings import Settings
from helix.store.streams import (
    DAY_S,
    DLQ,
    LEDGER,
    MARKET,
    StreamSpec,
    all_specs,
    dlq_spec,
    incompatibilities,
    ledger_spec,
    market_spec,
    replicas_for,
)

SETTINGS = Settings(home="/tmp/x")
SPECS = all_specs(SETTINGS)
SPEC_IDS = [s.name for s in SPECS]


def _changed(spec: StreamSpec, **changes: Any) -> api.StreamConfig:
    return dataclasses.replace(spec.config(), **changes)


def test_all_specs_are_market_ledger_dlq() -> None:
    assert [s.name for s in SPECS] == [MARKET, LEDGER, DLQ]
    assert [s.subjects for s in SPECS] == [("mkt.>",), ("ldg.>",), ("dlq.>",)]


def test_market_spec_follows_settings() -> None:
    spec = market_spec(Settings(home="/tmp/x", market_max_age_days=3, market_max_bytes=10))
    assert (spec.max_age_s, spec.max_bytes) == (3 * DAY_S, 10)
    assert spec.persist_async


def test_market_persist_default_is_not_async() -> None:
    assert not market_spec(Settings(home="/tmp/x", market_persist="default")).persist_async


def test_ledger_spec_never_expires_and_allows_atomic() -> None:
    spec = ledger_spec(SETTINGS)
    assert spec.max_age_s == 0
    assert spec.max_bytes == -1
    assert spec.allow_atomic
    assert spec.deny_delete
    assert not spec.persist_async


def test_custom_ledger_name_does_not_deny_delete() -> None:
    assert not ledger_spec(SETTINGS, name="T1", subjects=("t1.>",)).deny_delete


def test_dlq_spec_uses_dlq_retention() -> None:
    assert dlq_spec(Settings(home="/tmp/x", dlq_max_age_days=7)).max_age_s == 7 * DAY_S


def test_config_of_market_is_async_file_limits() -> None:
    cfg = market_spec(SETTINGS).config()
    assert cfg.storage == api.StorageType.FILE
    assert cfg.retention == api.RetentionPolicy.LIMITS
    assert cfg.persist_mode == api.PersistMode.ASYNC


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_identical_config_is_compatible(spec: StreamSpec) -> None:
    assert incompatibilities(spec, spec.config()) == []


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_config_echoed_by_server_is_compatible(spec: StreamSpec) -> None:
    echoed = api.StreamConfig.from_response(spec.config().as_dict())
    assert incompatibilities(spec, echoed) == []


def test_subject_order_does_not_matter() -> None:
    spec = ledger_spec(SETTINGS, subjects=("a.>", "b.>"))
    assert incompatibilities(spec, _changed(spec, subjects=["b.>", "a.>"])) == []


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_different_subjects_are_a_problem(spec: StreamSpec) -> None:
    problems = incompatibilities(spec, _changed(spec, subjects=["other.>"]))
    assert len(problems) == 1
    assert "subjects" in problems[0]


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_memory_storage_is_a_problem(spec: StreamSpec) -> None:
    problems = incompatibilities(spec, _changed(spec, storage=api.StorageType.MEMORY))
    assert len(problems) == 1
    assert "storage" in problems[0]


@pytest.mark.parametrize(
    "retention", [api.RetentionPolicy.WORK_QUEUE, api.RetentionPolicy.INTEREST]
)
def test_non_limits_retention_is_a_problem(retention: api.RetentionPolicy) -> None:
    spec = ledger_spec(SETTINGS)
    problems = incompatibilities(spec, _changed(spec, retention=retention))
    assert len(problems) == 1
    assert "retention" in problems[0]


def test_ledger_with_expiry_is_a_problem() -> None:
    spec = ledger_spec(SETTINGS)
    problems = incompatibilities(spec, _changed(spec, max_age=3600.0))
    assert len(problems) == 1
    assert "expire" in problems[0]


@pytest.mark.parametrize("allow_atomic", [False, None])
def test_ledger_without_atomic_batches_is_a_problem(allow_atomic: bool | None) -> None:
    spec = ledger_spec(SETTINGS)
    problems = incompatibilities(spec, _changed(spec, allow_atomic=allow_atomic))
    assert len(problems) == 1
    assert "atomic" in problems[0]


def test_market_does_not_need_atomic_batches() -> None:
    spec = market_spec(SETTINGS)
    assert incompatibilities(spec, _changed(spec, allow_atomic=False)) == []


@pytest.mark.parametrize("field", ["max_msgs_per_subject", "max_msgs"])
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_message_count_limits_are_a_problem(spec: StreamSpec, field: str) -> None:
    problems = incompatibilities(spec, _changed(spec, **{field: 10}))
    assert len(problems) == 1
    assert "message-count" in problems[0]


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_unlimited_message_counts_are_fine(spec: StreamSpec) -> None:
    cfg = _changed(spec, max_msgs=-1, max_msgs_per_subject=-1)
    assert incompatibilities(spec, cfg) == []


def test_discard_new_is_a_problem() -> None:
    spec = ledger_spec(SETTINGS)
    problems = incompatibilities(spec, _changed(spec, discard=api.DiscardPolicy.NEW))
    assert len(problems) == 1
    assert "discard" in problems[0]


def test_market_without_async_persist_is_a_problem() -> None:
    spec = market_spec(SETTINGS)
    problems = incompatibilities(spec, _changed(spec, persist_mode=None))
    assert len(problems) == 1
    assert "persist" in problems[0]


def test_ledger_with_async_persist_is_a_problem() -> None:
    spec = ledger_spec(SETTINGS)
    problems = incompatibilities(spec, _changed(spec, persist_mode=api.PersistMode.ASYNC))
    assert len(problems) == 1
    assert "persist" in problems[0]


def test_every_problem_is_reported() -> None:
    spec = ledger_spec(SETTINGS)
    cfg = _changed(
        spec,
        subjects=["x.>"],
        storage=api.StorageType.MEMORY,
        max_age=60.0,
        allow_atomic=False,
        max_msgs_per_subject=1,
    )
    assert len(incompatibilities(spec, cfg)) == 5


@pytest.mark.parametrize(
    "changes",
    [{"max_bytes": 1 << 30}, {"duplicate_window": 30.0}, {"max_age": 86_400.0}],
    ids=["max_bytes", "duplicate_window", "max_age"],
)
def test_updatable_market_limits_are_not_problems(changes: dict[str, Any]) -> None:
    spec = market_spec(Settings(home="/tmp/x", market_max_age_days=30))
    assert incompatibilities(spec, _changed(spec, **changes)) == []


def test_market_age_can_become_unlimited() -> None:
    spec = market_spec(SETTINGS)  # market_max_age_days=0: keep forever
    assert incompatibilities(spec, _changed(spec, max_age=30.0 * DAY_S)) == []


def test_streams_have_one_replica_by_default_and_three_on_a_cluster() -> None:
    assert {s.replicas for s in SPECS} == {1}
    assert replicas_for(SETTINGS, cluster_nodes=3) == 3
    assert replicas_for(SETTINGS, cluster_nodes=5) == 3
    assert replicas_for(SETTINGS, cluster_nodes=2) == 2
    r3 = Settings(home="/tmp/x", stream_replicas=3)
    assert {s.config().num_replicas for s in all_specs(r3)} == {3}


def test_replicated_market_does_not_ask_for_async_persist() -> None:
    # JetStream refuses async persist on a replicated stream.
    assert market_spec(SETTINGS).persist_async
    r3 = market_spec(Settings(home="/tmp/x", stream_replicas=3))
    assert not r3.persist_async
    assert r3.config().persist_mode is None
