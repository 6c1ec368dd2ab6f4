"""Start, report and stop the embedded services described by :class:`~helix.settings.Settings`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from helix.services.cluster import NatsCluster
from helix.services.common import StateFile
from helix.services.nats import EmbeddedNats
from helix.services.postgres import EmbeddedPostgres, find_pg_bindir, timescaledb_available
from helix.settings import Settings
from helix.store.streams import replicas_for


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
    stream_replicas: int = 1


class Services:
    """The embedded pair (or the external URLs, when configured).

    NATS is one server, or a loopback cluster of ``cluster_nodes`` (``--cluster N``, remembered
    in ``services.json`` so later commands find the same cluster).
    """

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
        self.cluster_nodes = settings.nats_cluster or state.load().get("nats_cluster", 1)
        self.cluster = self._cluster(self.cluster_nodes)
        self.postgres = EmbeddedPostgres(
            root=home / "postgres", port=state.port("postgres", settings.pg_port)
        )

    def _cluster(self, nodes: int) -> NatsCluster | None:
        if nodes <= 1:
            return None
        home = Path(self.settings.home)
        return NatsCluster.under(home / "nats-cluster", nodes, self._state, sync=self.settings.sync)

    def use_cluster(self, nodes: int) -> None:
        """Switch the embedded NATS to a cluster of ``nodes`` (1 = the single server), and
        remember the choice for later commands."""
        state = self._state.load()
        state["nats_cluster"] = nodes
        self._state.path.parent.mkdir(parents=True, exist_ok=True)
        self._state.path.write_text(json.dumps(state, indent=2))
        self.cluster_nodes = nodes
        self.cluster = self._cluster(nodes)

    @property
    def nats_url(self) -> str:
        return self.cluster.url if self.cluster is not None else self.nats.url

    @property
    def embedded_nats(self) -> bool:
        return not self.settings.nats_url

    @property
    def embedded_postgres(self) -> bool:
        return not self.settings.database_url

    def endpoints(self) -> Endpoints:
        nodes = self.cluster_nodes if self.embedded_nats else 1
        return Endpoints(
            nats_url=self.settings.nats_url or self.nats_url,
            database_url=self.settings.database_url or self.postgres.url,
            stream_replicas=replicas_for(self.settings, cluster_nodes=nodes),
        )

    def up(self) -> Endpoints:
        """Start whatever embedded service is not running; reuse what runs."""
        if self.embedded_nats:
            if self.cluster is not None:
                self.cluster.start()
            else:
                self.nats.start()
        if self.embedded_postgres:
            self.postgres.start()
        return self.endpoints()

    def down(self) -> list[str]:
        stopped = []
        if self.embedded_nats:
            if self.nats.stop():
                stopped.append("nats")
            if self.cluster is not None:
                stopped += [f"nats {name}" for name in self.cluster.stop()]
        if self.embedded_postgres and self.postgres.stop():
            stopped.append("postgres")
        return stopped

    def status(self) -> list[ServiceStatus]:
        out = []
        if self.embedded_nats and self.cluster is not None:
            for node in self.cluster.nodes:
                pid = node.pid()
                out.append(
                    ServiceStatus(
                        f"nats {node.server_name}",
                        node.url,
                        pid is not None and node.healthy(),
                        pid,
                        f"cluster node, store {node.root / 'jetstream'}, sync {self.settings.sync}",
                    )
                )
        elif self.embedded_nats:
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
