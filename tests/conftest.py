"""Shared fixtures: one set of real services per test session."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.services import RunningServices, running_services


@pytest.fixture(scope="session")
def services() -> Iterator[RunningServices]:
    with running_services() as s:
        saved = {k: os.environ.get(k) for k in ("HELIX_NATS_URL", "HELIX_DATABASE_URL")}
        os.environ["HELIX_NATS_URL"] = s.nats_url
        os.environ["HELIX_DATABASE_URL"] = s.database_url
        try:
            yield s
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@pytest.fixture
def nats_url(services: RunningServices) -> str:
    return services.nats_url


@pytest.fixture
def database_url(services: RunningServices) -> str:
    return services.database_url


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[object]:
    from helix.store.connect import connect

    conn = await connect(nats_url, name="helix-test")
    try:
        yield conn
    finally:
        await conn.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: kills, pauses and restarts nodes of a loopback NATS cluster"
    )
