"""Real NATS and PostgreSQL for the test-suite.

Where a Docker engine answers, testcontainers runs the ``nats`` and ``timescale/timescaledb``
images; elsewhere (CI and the dev machines here) the same embedded services a new user gets are
started under a throw-away ``HELIX_HOME``.  ``HELIX_TEST_NATS_URL`` / ``HELIX_TEST_DATABASE_URL``
point the suite at servers you already run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from helix.services.manager import Services
from helix.settings import load_settings


@dataclass(frozen=True)
class RunningServices:
    nats_url: str
    database_url: str
    home: Path | None
    services: Services | None


def docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        res = subprocess.run(["docker", "info"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


@contextlib.contextmanager
def _containers() -> Iterator[RunningServices]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.postgres import PostgresContainer

    with (
        DockerContainer("nats:2.12").with_command("-js").with_exposed_ports(4222) as nats_c,
        PostgresContainer("timescale/timescaledb:latest-pg15", driver=None) as pg_c,
    ):
        nats_url = f"nats://{nats_c.get_container_host_ip()}:{nats_c.get_exposed_port(4222)}"
        yield RunningServices(nats_url, pg_c.get_connection_url(), None, None)


@contextlib.contextmanager
def _embedded() -> Iterator[RunningServices]:
    home = Path(tempfile.mkdtemp(prefix="helix-test-"))
    os.chmod(home, 0o755)  # the unprivileged PostgreSQL account must reach its data dir
    settings = load_settings({"HELIX_HOME": str(home)}, dotenv=Path("/nonexistent"))
    services = Services(settings)
    ends = services.up()
    try:
        yield RunningServices(ends.nats_url, ends.database_url, home, services)
    finally:
        services.down()
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def running_services() -> Iterator[RunningServices]:
    nats_url = os.environ.get("HELIX_TEST_NATS_URL")
    db_url = os.environ.get("HELIX_TEST_DATABASE_URL")
    if nats_url and db_url:
        yield RunningServices(nats_url, db_url, None, None)
    elif docker_available():
        with _containers() as s:
            yield s
    else:
        with _embedded() as s:
            yield s
