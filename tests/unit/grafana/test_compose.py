"""The production docker compose stack, read as data (PyYAML), and ``docker compose config``
where a Docker CLI with the compose plugin is installed (skipped elsewhere)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from helix.grafana.dashboards import DASHBOARDS_DIR, DATASOURCE_TYPE, DATASOURCE_UID

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
HELIX_SERVICES = (
    "ingest", "projections", "strategies", "execution", "broadcast",
    "poly-ingest", "poly-oracle", "hybrid", "poly-copy",
)  # fmt: skip


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]  # type: ignore[no-any-return]


def test_the_whole_platform_is_there(compose: dict[str, Any]) -> None:
    assert set(services(compose)) == {
        "nats", "nats-2", "nats-3", "timescaledb", "init", "grafana", *HELIX_SERVICES,
    }  # fmt: skip
    assert services(compose)["timescaledb"]["image"].endswith("timescale/timescaledb:2.19.3-pg15}")


def test_long_running_services_have_healthchecks_and_restart_policies(
    compose: dict[str, Any],
) -> None:
    for name, svc in services(compose).items():
        if name == "init":
            assert svc["restart"] == "no"
            continue
        assert svc["restart"] == "unless-stopped", name
        assert svc["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_helix_services_run_the_image_of_this_repo_after_init(compose: dict[str, Any]) -> None:
    for name in (*HELIX_SERVICES, "init"):
        svc = services(compose)[name]
        assert svc["build"] == ".", name
        if name != "init":
            assert svc["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert (ROOT / "Dockerfile").read_text().startswith("# Helix's image")
    assert "FROM python:3.11-slim" in (ROOT / "Dockerfile").read_text()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


def test_roles_least_privilege(compose: dict[str, Any]) -> None:
    svcs = services(compose)
    owner = svcs["init"]["environment"]["HELIX_DATABASE_URL"]
    assert owner.startswith("postgresql://${POSTGRES_USER")
    assert svcs["projections"]["environment"]["HELIX_DATABASE_URL"].startswith(
        "postgresql://helix_projector:"
    )
    for name in ("ingest", "strategies", "execution", "broadcast"):
        assert svcs[name]["environment"]["HELIX_DATABASE_URL"].startswith(
            "postgresql://helix_reader:"
        ), name
    for name, svc in svcs.items():
        if name != "init":
            assert "POSTGRES_PASSWORD" not in str(svc.get("environment", {})) or (
                name == "timescaledb"
            ), name


def test_volumes_are_declared_and_data_lives_in_them(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    assert declared == {"nats-data", "nats-2-data", "nats-3-data", "pg-data", "grafana-data"}
    used = {
        v.split(":")[0]
        for svc in services(compose).values()
        for v in svc.get("volumes", [])
        if not v.startswith(".")
    }
    assert used == declared
    for mount in services(compose)["grafana"]["volumes"]:
        if mount.startswith("."):
            assert (ROOT / mount.split(":")[0]).is_dir(), mount


def test_cluster_profile_three_nats_servers_and_r3(compose: dict[str, Any]) -> None:
    svcs = services(compose)
    assert svcs["nats-2"]["profiles"] == svcs["nats-3"]["profiles"] == ["cluster"]
    assert "profiles" not in svcs["nats"]
    assert svcs["broadcast"]["profiles"] == ["broadcast"]  # needs channels configured
    for name in ("nats-2", "nats-3"):
        assert svcs["init"]["depends_on"][name] == {
            "condition": "service_healthy",
            "required": False,
        }
    cluster = (ROOT / "deploy" / "nats" / "cluster.conf").read_text()
    for host in ("nats", "nats-2", "nats-3"):
        assert f"nats-route://{host}:6222" in cluster
    common = (ROOT / "deploy" / "nats" / "common.conf").read_text()
    assert re.search(r"^\s*sync_interval: always$", common, re.M)
    assert "store_dir: /data" in common
    assert "HELIX_STREAM_REPLICAS" in svcs["init"]["environment"]


def test_every_variable_is_documented_in_env_example(compose: dict[str, Any]) -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    documented = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#") and "=" in line
    }
    assert used, "the compose file uses .env variables"
    assert used <= documented, sorted(used - documented)
    assert "COMPOSE_PROFILES" in documented


def test_grafana_is_provisioned_with_the_reader_datasource_and_the_dashboards(
    compose: dict[str, Any],
) -> None:
    grafana = services(compose)["grafana"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in grafana["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    assert (ROOT / mounts["/var/lib/grafana/dashboards/helix"]).resolve() == DASHBOARDS_DIR
    prov = ROOT / "deploy" / "grafana" / "provisioning"
    [ds] = yaml.safe_load((prov / "datasources" / "helix.yaml").read_text())["datasources"]
    assert (ds["uid"], ds["type"], ds["user"]) == (DATASOURCE_UID, DATASOURCE_TYPE, "helix_reader")
    assert ds["secureJsonData"]["password"] == "${HELIX_READER_PASSWORD}"
    assert "HELIX_READER_PASSWORD" in grafana["environment"]
    [provider] = yaml.safe_load((prov / "dashboards" / "helix.yaml").read_text())["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/helix"


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
    return [docker, "compose"] if probe.returncode == 0 else None


def test_docker_compose_config_validates(tmp_path: Path) -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no docker CLI with the compose plugin here")
    env = tmp_path / "test.env"
    env.write_text(ENV_EXAMPLE.read_text())
    for profile in ("", "cluster"):
        res = subprocess.run(
            [*cli, "--env-file", str(env), "-f", str(COMPOSE), "--profile", profile or "default",
             "config", "--quiet"],
            capture_output=True, text=True, check=False, cwd=ROOT,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
