"""The ``eventsourcing`` library's own recorder test cases, run on JetStream + PostgreSQL.

Only the hooks the library's classes expect are overridden: ``setUp`` (fresh stream/table, as
the library's PostgreSQL tests drop their tables), ``create_recorder`` and the factory classes.
"""

from __future__ import annotations

import contextlib
import os
import uuid

import psycopg
import pytest
from eventsourcing import postgres as es_postgres
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment
from nats.js.errors import NotFoundError

from helix.eventstore import (
    JetStreamAggregateRecorder,
    JetStreamApplicationRecorder,
    JetStreamFactory,
    JetStreamProcessRecorder,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("services")]


def _env(stream: str) -> Environment:
    env = Environment("TestApp")
    env["PERSISTENCE_MODULE"] = "helix.eventstore"
    env["NATS_STREAM"] = stream
    env["NATS_SUBJECT_PREFIX"] = f"estest.{stream.lower()}"
    return env


class _FreshStream:
    """Mixin: a factory per test on a freshly deleted stream."""

    STREAM = "ESTEST"
    factory: JetStreamFactory

    def setUp(self) -> None:
        self.factory = InfrastructureFactory.construct(_env(self.STREAM))  # type: ignore[assignment]
        js = self.factory.nc.jetstream()

        async def drop() -> None:
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(self.STREAM)

        self.factory.loop.run(drop())
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        self.factory.close()
        super().tearDown()  # type: ignore[misc]


class TestJetStreamAggregateRecorder(_FreshStream, AggregateRecorderTestCase):
    STREAM = "ESTEST_AGG"

    def create_recorder(self) -> JetStreamAggregateRecorder:
        return self.factory.aggregate_recorder()  # type: ignore[return-value]


class TestJetStreamAggregateRecorderStrIds(TestJetStreamAggregateRecorder):
    def new_originator_id(self) -> str:
        return f"account/{uuid.uuid4()}.with spaces*"


class TestJetStreamApplicationRecorder(_FreshStream, ApplicationRecorderTestCase):
    STREAM = "ESTEST_APP"

    def create_recorder(self) -> JetStreamApplicationRecorder:
        return self.factory.application_recorder()  # type: ignore[return-value]

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestJetStreamProcessRecorder(_FreshStream, ProcessRecorderTestCase):
    STREAM = "ESTEST_PROC"

    def create_recorder(self) -> JetStreamProcessRecorder:
        return self.factory.process_recorder()  # type: ignore[return-value]


def _drop_tracking_table(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS testapp_tracking")


class TestPostgresTrackingRecorder(TrackingRecorderTestCase):
    def setUp(self) -> None:
        _drop_tracking_table(os.environ["HELIX_DATABASE_URL"])
        self.factory = InfrastructureFactory.construct(_env("ESTEST_TRK"))
        super().setUp()

    def tearDown(self) -> None:
        self.factory.close()
        super().tearDown()

    def create_recorder(self) -> es_postgres.PostgresTrackingRecorder:
        return self.factory.tracking_recorder()  # type: ignore[return-value]


class _TrackingSubclass(es_postgres.PostgresTrackingRecorder):
    pass


class TestJetStreamInfrastructureFactory(InfrastructureFactoryTestCase[JetStreamFactory]):
    def setUp(self) -> None:
        self.env = _env("ESTEST_FACTORY")
        _drop_tracking_table(os.environ["HELIX_DATABASE_URL"])
        super().setUp()

    def expected_factory_class(self) -> type[JetStreamFactory]:
        return JetStreamFactory

    def expected_aggregate_recorder_class(self) -> type[JetStreamAggregateRecorder]:
        return JetStreamAggregateRecorder

    def expected_application_recorder_class(self) -> type[JetStreamApplicationRecorder]:
        return JetStreamApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[es_postgres.PostgresTrackingRecorder]:
        return es_postgres.PostgresTrackingRecorder

    def tracking_recorder_subclass(self) -> type[es_postgres.PostgresTrackingRecorder]:
        return _TrackingSubclass

    def expected_process_recorder_class(self) -> type[JetStreamProcessRecorder]:
        return JetStreamProcessRecorder
