"""Start, report and stop the embedded services described by :class:`~helix.settings.Settings`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from helix.services.common import StateFile
from helix.services.nats import EmbeddedNats
from helix.services.postgres import EmbeddedPostgres, find_pg_bindir, timescaledb_available
from helix.settings import Settings


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    url: str
    running: bool
    pid: int | None
    detail: str


@dataclass(frozen=True)
class Endpoints:
    nats_url: str
    database_url: str


class Services:
    """The embedded pair (or the external URLs, when configured)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        home = Path(settings.home)
        state = StateFile(home / "services.json")
        self._state = state
        self.nats = EmbeddedNats(
            root=home / "nats",
            port=state.port("nats", settings.nats_port),
            http_port=state.port("nats_http", 0),
            sync=settings.sync,
        )
        self.postgres = EmbeddedPostgres(
            root=home / "postgres", port=state.port("postgres", settings.pg_port)
        )

    @property
    def embedded_nats(self) -> bool:
        return not self.settings.nats_url

    @property
    def embedded_postgres(self) -> bool:
        return not self.settings.database_url

    def endpoints(self) -> Endpoints:
        return Endpoints(
            nats_url=self.settings.nats_url or self.nats.url,
            database_url=self.settings.database_url or self.postgres.url,
        )

    def up(self) -> Endpoints:
        """Start whatever embedded service is not running; reuse what runs."""
        if self.embedded_nats:
            self.nats.start()
        if self.embedded_postgres:
            self.postgres.start()
        return self.endpoints()

    def down(self) -> list[str]:
        stopped = []
        if self.embedded_nats and self.nats.stop():
            stopped.append("nats")
        if self.embedded_postgres and self.postgres.stop():
            stopped.append("postgres")
        return stopped

    def status(self) -> list[ServiceStatus]:
        out = []
        if self.embedded_nats:
            pid = self.nats.pid()
            healthy = pid is not None and self.nats.healthy()
            out.append(
                ServiceStatus(
                    "nats",
                    self.nats.url,
                    healthy,
                    pid,
                    f"embedded, store {self.nats.root / 'jetstream'}, sync {self.settings.sync}",
                )
            )
        else:
            out.append(ServiceStatus("nats", self.settings.nats_url or "", True, None, "external"))
        if self.embedded_postgres:
            pid = self.postgres.pid()
            try:
                tsdb = timescaledb_available(find_pg_bindir())
            except Exception:
                tsdb = False
            out.append(
                ServiceStatus(
                    "postgres",
                    self.postgres.url,
                    pid is not None,
                    pid,
                    f"embedded, data {self.postgres.datadir}, "
                    f"timescaledb {'preloaded' if tsdb else 'not installed'}",
                )
            )
        else:
            out.append(
                ServiceStatus("postgres", self.settings.database_url or "", True, None, "external")
            )
        return out
