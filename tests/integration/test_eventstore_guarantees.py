"""What the ledger promises, shown on a real nats-server: races, atomicity, retries."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, StoredEvent
from eventsourcing.utils import Environment
from nats.js.errors import NotFoundError

from helix.eventstore import JetStreamApplicationRecorder, JetStreamFactory

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("services")]

STREAM = "ESTEST_GUARANTEES"


def _factory() -> JetStreamFactory:
    env = Environment("Guarantees")
    env["PERSISTENCE_MODULE"] = "helix.eventstore"
    env["NATS_STREAM"] = STREAM
    env["NATS_SUBJECT_PREFIX"] = "estest.guarantees"
    return InfrastructureFactory.construct(env)  # type: ignore[return-value]


@pytest.fixture
def factories() -> Iterator[tuple[JetStreamFactory, JetStreamFactory]]:
    """Two writers with their own connections (as two processes would have)."""
    a = _factory()

    async def drop() -> None:
        with contextlib.suppress(NotFoundError):
            await a.nc.jetstream().delete_stream(STREAM)

    a.loop.run(drop())
    b = _factory()
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def ev(oid: uuid.UUID, version: int, topic: str = "t") -> StoredEvent:
    return StoredEvent(originator_id=oid, originator_version=version, topic=topic, state=b"{}")


def stream_count(f: JetStreamFactory) -> int:
    info = f.loop.run(f.nc.jetstream().stream_info(STREAM))
    return int(info.state.messages)


def _race_write(
    rec: JetStreamApplicationRecorder,
    oid: uuid.UUID,
    version: int,
    name: str,
    barrier: threading.Barrier,
    results: list[str],
) -> None:
    barrier.wait()
    try:
        rec.insert_events([ev(oid, version, topic=name)])
        results.append("won")
    except IntegrityError:
        results.append("conflict")


def test_two_writers_racing_exactly_one_wins(
    factories: tuple[JetStreamFactory, JetStreamFactory],
) -> None:
    rec_a, rec_b = (f.application_recorder() for f in factories)
    oid = uuid.uuid4()
    rec_a.insert_events([ev(oid, 1)])
    rec_b.select_events(oid)  # both writers have seen version 1
    outcomes: dict[str, list[str]] = {}
    for round_ in range(2, 22):
        barrier = threading.Barrier(2)
        results: list[str] = []

        threads = [
            threading.Thread(target=_race_write, args=(rec, oid, round_, name, barrier, results))
            for rec, name in ((rec_a, "a"), (rec_b, "b"))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes[str(round_)] = sorted(results)
    assert all(r == ["conflict", "won"] for r in outcomes.values()), outcomes
    versions = [e.originator_version for e in rec_a.select_events(oid)]
    assert versions == list(range(1, 22))


def test_multi_event_save_rejected_half_way_leaves_nothing(
    factories: tuple[JetStreamFactory, JetStreamFactory],
) -> None:
    rec = factories[0].application_recorder()
    taken, fresh = uuid.uuid4(), uuid.uuid4()
    rec.insert_events([ev(taken, 1)])
    before = stream_count(factories[0])
    with pytest.raises(IntegrityError):
        # fresh v1, fresh v2 are fine; taken v1 conflicts: the whole save must fail.
        rec.insert_events([ev(fresh, 1), ev(fresh, 2), ev(taken, 1)])
    assert rec.select_events(fresh) == []
    assert stream_count(factories[0]) == before


def test_concurrent_saves_merged_into_one_batch_keep_their_own_fate(
    factories: tuple[JetStreamFactory, JetStreamFactory],
) -> None:
    rec = factories[0].application_recorder()
    taken = uuid.uuid4()
    rec.insert_events([ev(taken, 1)])
    oids = [uuid.uuid4() for _ in range(40)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(41)

    def save(oid: uuid.UUID) -> None:
        barrier.wait()
        rec.insert_events([ev(oid, 1), ev(oid, 2)])

    def conflicting() -> None:
        barrier.wait()
        try:
            rec.insert_events([ev(taken, 1)])
        except IntegrityError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(o,)) for o in oids]
    threads.append(threading.Thread(target=conflicting))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 1
    assert all(len(rec.select_events(o)) == 2 for o in oids)
    assert len(rec.select_events(taken)) == 1


def test_duplicate_command_id_writes_nothing_new(
    factories: tuple[JetStreamFactory, JetStreamFactory],
) -> None:
    rec_a, rec_b = (f.application_recorder() for f in factories)
    oid = uuid.uuid4()
    events = [ev(oid, 1), ev(oid, 2), ev(oid, 3)]
    first = rec_a.insert_events(events, command_id="cmd-42")
    count = stream_count(factories[0])
    # The same command retried, on the same and on another connection:
    again = rec_a.insert_events(events, command_id="cmd-42")
    elsewhere = rec_b.insert_events(events, command_id="cmd-42")
    assert first == again == elsewhere
    assert stream_count(factories[0]) == count
    # A *different* command writing the same versions is a conflict, not a duplicate.
    with pytest.raises(IntegrityError):
        rec_a.insert_events(events, command_id="cmd-43")


class Account(Aggregate):
    @event("Opened")
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.balance = 0

    @event("Credited")
    def credit(self, amount: int) -> None:
        self.balance += amount


class Bank(Application[uuid.UUID]):
    pass


def test_an_eventsourcing_application_runs_on_the_store(
    factories: tuple[JetStreamFactory, JetStreamFactory],
) -> None:
    env = {
        "PERSISTENCE_MODULE": "helix.eventstore",
        "NATS_STREAM": STREAM,
        "NATS_SUBJECT_PREFIX": "estest.guarantees",
    }
    app = Bank(env=env)
    try:
        acct = Account("ada")
        acct.credit(5)
        acct.credit(7)
        app.save(acct)
        copy: Account = app.repository.get(acct.id)
        assert (copy.owner, copy.balance, copy.version) == ("ada", 12, 3)
        notes = app.recorder.select_notifications(start=None, limit=10)
        assert [n.topic.rsplit(".", 1)[-1] for n in notes][-3:] == [
            "Opened",
            "Credited",
            "Credited",
        ]
    finally:
        app.close()
