"""The ``eventsourcing`` infrastructure factory for Helix's JetStream event store.

Select it with ``PERSISTENCE_MODULE=helix.eventstore``.  Environment (application-prefixed
keys such as ``MYAPP_NATS_STREAM`` win, as everywhere in ``eventsourcing``):

``HELIX_NATS_URL``       NATS server (unset: the embedded one, started on demand)
``HELIX_DATABASE_URL``   PostgreSQL for tracking recorders (unset: the embedded one)
``NATS_STREAM``          stream holding the application's events (default ``LEDGER``)
``NATS_SUBJECT_PREFIX``  subject prefix (default ``ldg.es.<application name>``)
``CREATE_TABLE``         create the stream / tracking table if missing (default yes)
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from eventsourcing import postgres as es_postgres
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic, strtobool
from nats.aio.client import Client as NATS

from helix.errors import ConfigError
from helix.eventstore.recorders import (
    JetStreamAggregateRecorder,
    JetStreamApplicationRecorder,
    JetStreamProcessRecorder,
)
from helix.eventstore.subjects import safe_token
from helix.eventstore.writer import GroupWriter
from helix.settings import Settings, load_settings
from helix.store.connect import connect
from helix.store.loop import LoopThread
from helix.store.streams import LEDGER, ensure_stream, ledger_spec


def pg_datastore_kwargs(url: str) -> dict[str, Any]:
    """``eventsourcing`` PostgresDatastore arguments from a ``postgresql://`` URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ConfigError(f"not a PostgreSQL URL: {parts.scheme}://...")
    return {
        "dbname": (parts.path or "/postgres").lstrip("/") or "postgres",
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
    }


class JetStreamFactory(InfrastructureFactory[TrackingRecorder]):
    """Builds JetStream recorders (events) and PostgreSQL tracking recorders."""

    NATS_STREAM = "NATS_STREAM"
    NATS_SUBJECT_PREFIX = "NATS_SUBJECT_PREFIX"
    CREATE_TABLE = "CREATE_TABLE"

    aggregate_recorder_class = JetStreamAggregateRecorder
    application_recorder_class = JetStreamApplicationRecorder
    process_recorder_class = JetStreamProcessRecorder
    tracking_recorder_class = es_postgres.PostgresTrackingRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        self.settings = self._settings()
        self.nats_url, self.database_url = self._endpoints()
        self.stream = self.env.get(self.NATS_STREAM) or LEDGER
        self.loop = LoopThread(name=f"helix-es-{self.env.name or 'default'}")
        self.nc: NATS = self.loop.run(connect(self.nats_url, name="helix-eventstore"))
        self.writer = GroupWriter(self.nc, self.stream)
        self._stream_ready = False
        self._datastore: es_postgres.PostgresDatastore | None = None

    # -- configuration -----------------------------------------------------------------------

    def _settings(self) -> Settings:
        """Helix settings from the process environment, overridden by the application's."""
        environ = {k: v for k, v in os.environ.items() if k.startswith("HELIX_")}
        environ.update({k: v for k, v in self.env.items() if k.startswith("HELIX_")})
        return load_settings(environ)

    def _endpoints(self) -> tuple[str, str]:
        nats_url = self.env.get("HELIX_NATS_URL") or self.settings.nats_url
        db_url = self.env.get("HELIX_DATABASE_URL") or self.settings.database_url
        if not nats_url or not db_url:
            from helix.services.manager import Services

            ends = Services(self.settings).up()
            nats_url = nats_url or ends.nats_url
            db_url = db_url or ends.database_url
        return nats_url, db_url

    def env_create_table(self) -> bool:
        return bool(strtobool(self.env.get(self.CREATE_TABLE) or "yes"))

    def subject_prefix(self, purpose: str = "events") -> str:
        base = self.env.get(self.NATS_SUBJECT_PREFIX) or (
            f"ldg.es.{safe_token((self.env.name or 'default').lower())}"
        )
        return base if purpose == "events" else f"{base}.{safe_token(purpose)}"

    def ensure_stream(self) -> None:
        if self._stream_ready or not self.env_create_table():
            return
        subjects = ("ldg.>",) if self.stream == LEDGER else (f"{self.subject_prefix()}.>",)
        spec = ledger_spec(self.settings, name=self.stream, subjects=subjects)
        js = self.nc.jetstream()
        self.loop.run(ensure_stream(js, spec))
        self._stream_ready = True

    def _recorder_args(self, purpose: str = "events") -> dict[str, Any]:
        self.ensure_stream()
        return {
            "loop": self.loop,
            "nc": self.nc,
            "stream": self.stream,
            "prefix": self.subject_prefix(purpose),
            "writer": self.writer,
        }

    # -- recorders ---------------------------------------------------------------------------

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        return type(self).aggregate_recorder_class(**self._recorder_args(purpose))

    def application_recorder(self) -> ApplicationRecorder:
        topic = self.env.get(self.APPLICATION_RECORDER_TOPIC)
        cls = resolve_topic(topic) if topic else type(self).application_recorder_class
        return cast(ApplicationRecorder, cls(**self._recorder_args()))

    def process_recorder(self) -> ProcessRecorder:
        topic = self.env.get(self.PROCESS_RECORDER_TOPIC)
        cls = resolve_topic(topic) if topic else type(self).process_recorder_class
        return cast(ProcessRecorder, cls(**self._recorder_args()))

    @property
    def datastore(self) -> es_postgres.PostgresDatastore:
        if self._datastore is None:
            self._datastore = es_postgres.PostgresDatastore(
                **pg_datastore_kwargs(self.database_url), pool_size=2, max_overflow=8
            )
        return self._datastore

    def tracking_recorder(
        self, tracking_recorder_class: type[TrackingRecorder] | None = None
    ) -> TrackingRecorder:
        if tracking_recorder_class is None:
            topic = self.env.get(self.TRACKING_RECORDER_TOPIC)
            tracking_recorder_class = (
                resolve_topic(topic) if topic else type(self).tracking_recorder_class
            )
        assert tracking_recorder_class is not None
        prefix = (self.env.name or "notification").lower()
        recorder = tracking_recorder_class(  # type: ignore[call-arg]
            datastore=self.datastore, tracking_table_name=f"{prefix}_tracking"
        )
        if self.env_create_table():
            recorder.create_table()  # type: ignore[union-attr]
        return recorder

    # -- inspection and lifecycle ------------------------------------------------------------

    def close(self) -> None:
        if self.loop.running:
            with contextlib.suppress(Exception):
                self.loop.run(self.writer.close(), timeout=5)
            with contextlib.suppress(Exception):
                self.loop.run(self.nc.close(), timeout=5)
            self.loop.stop()
        if self._datastore is not None:
            self._datastore.close()
            self._datastore = None
        super().close()
