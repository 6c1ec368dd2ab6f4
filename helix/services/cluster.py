"""A NATS cluster on loopback: N embedded nats-server nodes with routes, JetStream on each.

For development and tests (``helix services up --cluster 3``); production runs the compose
profile ``cluster`` (``deploy/nats/cluster.conf``) or any NATS cluster named by
``HELIX_NATS_URL``.  Node ``i`` lives under ``<root>/node-<i>`` (its own config, JetStream store,
pid file and log) and is called ``helix-<i>``.  The fault helpers (:meth:`NatsCluster.kill`,
:meth:`pause`, :meth:`resume`, :meth:`restart`) act on one node by name, for failure tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from helix.services.common import StateFile, _reap, terminate, wait_until
from helix.services.nats import EmbeddedNats


def node_name(i: int) -> str:
    return f"helix-{i}"


@dataclass(frozen=True)
class NatsCluster:
    """The nodes of one loopback cluster; ``url`` lists every node's client URL."""

    nodes: tuple[EmbeddedNats, ...]

    @classmethod
    def under(cls, root: Path, size: int, state: StateFile, *, sync: str = "always") -> NatsCluster:
        """The cluster of ``size`` nodes under ``root``; ports kept in ``state``."""
        ports = [
            (
                state.port(f"nats_{i}", 0),
                state.port(f"nats_{i}_http", 0),
                state.port(f"nats_{i}_route", 0),
            )
            for i in range(1, size + 1)
        ]
        routes = tuple(route for _c, _h, route in ports)
        # A name of its own per cluster: a stray node of another loopback cluster (a test run
        # killed mid-way) that dials a reused port is refused as a route, not joined.
        name = "helix-" + hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:10]  # noqa: S324
        return cls(
            tuple(
                EmbeddedNats(
                    root=root / f"node-{i}",
                    port=client,
                    http_port=http,
                    sync=sync,
                    server_name=node_name(i),
                    cluster_port=route,
                    routes=tuple(r for r in routes if r != route),
                    cluster_name=name,
                )
                for i, (client, http, route) in enumerate(ports, start=1)
            )
        )

    @property
    def url(self) -> str:
        return ",".join(n.url for n in self.nodes)

    def node(self, name: str) -> EmbeddedNats:
        for n in self.nodes:
            if n.server_name == name:
                return n
        raise KeyError(name)

    def start(self, *, timeout: float = 60.0) -> list[str]:
        """Start every node that is not running (all at once: they find each other); returns
        the names started, after each answers its health check and the cluster has a JetStream
        meta leader."""
        launched = [(n, n.launch()) for n in self.nodes]
        for n, proc in launched:
            if proc is not None:
                n.wait_ready(proc, timeout=timeout)
        wait_until(self.meta_leader_known, timeout=timeout, what="JetStream meta leader")
        return [n.server_name for n, proc in launched if proc is not None]

    def stop(self, *, timeout: float = 20.0) -> list[str]:
        return [n.server_name for n in self.nodes if n.stop(timeout=timeout)]

    def running(self) -> list[str]:
        return [n.server_name for n in self.nodes if n.pid() is not None]

    def meta_leader_known(self) -> bool:
        """Some running node reports a JetStream meta leader (``/jsz``)."""
        for n in self.nodes:
            if n.pid() is None:
                continue
            meta = (jsz(n) or {}).get("meta_cluster")
            if isinstance(meta, dict) and meta.get("leader"):
                return True
        return False

    # -- faults ---------------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        """``kill -9`` one node: no shutdown, no flush."""
        pid = self.node(name).pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while self.node(name).pid() is not None and time.monotonic() < deadline:
                _reap(pid)
                time.sleep(0.02)

    def pause(self, name: str) -> None:
        """SIGSTOP one node: its sockets stay open but it answers nothing."""
        pid = self.node(name).pid()
        if pid is not None:
            os.kill(pid, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        pid = self.node(name).pid()
        if pid is not None:
            os.kill(pid, signal.SIGCONT)

    def restart(self, name: str, *, graceful: bool = True, timeout: float = 60.0) -> None:
        """Stop one node (SIGTERM, or SIGKILL when not ``graceful``) and start it again."""
        node = self.node(name)
        pid = node.pid()
        if pid is not None:
            if graceful:
                terminate(pid, timeout=timeout)
            else:
                self.kill(name)
        proc = node.launch()
        if proc is not None:
            node.wait_ready(proc, timeout=timeout)


def jsz(node: EmbeddedNats) -> dict[str, object] | None:
    """The node's JetStream monitoring report, or None when it does not answer."""
    url = f"http://127.0.0.1:{node.http_port}/jsz"
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            data = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
