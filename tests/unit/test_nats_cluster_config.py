"""The loopback cluster's node configs: routes to the other nodes, own store, explicit fsync."""

from __future__ import annotations

from pathlib import Path

from helix.services.cluster import NatsCluster
from helix.services.common import StateFile
from helix.services.manager import Services
from helix.settings import Settings


def test_each_node_routes_to_the_others_with_its_own_store(tmp_path: Path) -> None:
    cluster = NatsCluster.under(tmp_path / "c", 3, StateFile(tmp_path / "s.json"))
    stores = set()
    for node in cluster.nodes:
        text = node.config_text()
        others = [n.cluster_port for n in cluster.nodes if n is not node]
        assert f"server_name: {node.server_name}" in text
        assert f"listen: 127.0.0.1:{node.cluster_port}" in text
        assert all(f"nats-route://127.0.0.1:{p}" in text for p in others)
        assert f"nats-route://127.0.0.1:{node.cluster_port}" not in text
        assert "sync_interval: always" in text
        stores.add(node.root / "jetstream")
    assert len(stores) == 3
    assert cluster.url.count(",") == 2


def test_ports_are_remembered(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "s.json")
    a = NatsCluster.under(tmp_path / "c", 3, state)
    b = NatsCluster.under(tmp_path / "c", 3, state)
    assert a == b


def test_services_remember_the_cluster_and_resolve_r3(tmp_path: Path) -> None:
    settings = Settings(home=str(tmp_path), database_url="postgresql://h/db")
    svc = Services(settings)
    assert svc.endpoints().stream_replicas == 1
    svc.use_cluster(3)
    again = Services(settings)
    assert again.cluster_nodes == 3
    assert again.endpoints().stream_replicas == 3
    assert again.endpoints().nats_url.count("nats://") == 3


def test_sync_setting_reaches_every_node(tmp_path: Path) -> None:
    cluster = NatsCluster.under(tmp_path / "c", 3, StateFile(tmp_path / "s.json"), sync="2m")
    assert all("sync_interval: 2m" in n.config_text() for n in cluster.nodes)


def test_each_cluster_has_a_name_of_its_own_shared_by_its_nodes(tmp_path: Path) -> None:
    """A stray node of another loopback cluster that dials a reused route port is refused."""
    a = NatsCluster.under(tmp_path / "a", 3, StateFile(tmp_path / "a.json"))
    b = NatsCluster.under(tmp_path / "b", 3, StateFile(tmp_path / "b.json"))
    names_a = {n.cluster_name for n in a.nodes}
    names_b = {n.cluster_name for n in b.nodes}
    assert len(names_a) == len(names_b) == 1
    assert names_a != names_b
    again = NatsCluster.under(tmp_path / "a", 3, StateFile(tmp_path / "a.json"))
    assert {n.cluster_name for n in again.nodes} == names_a  # stable across restarts
    assert f"name: {names_a.pop()}" in a.nodes[0].config_text()
