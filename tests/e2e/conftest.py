"""Fixtures for driving the CLI as a user does."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from tests.e2e.test_cli import helix


@pytest.fixture
def home() -> Iterator[dict[str, str]]:
    """A fresh HELIX_HOME with the embedded default services (stopped afterwards)."""
    d = tempfile.mkdtemp(prefix="helix-e2e-")
    os.chmod(d, 0o755)
    env = {"HELIX_HOME": d, "HELIX_NATS_URL": "", "HELIX_DATABASE_URL": ""}
    try:
        yield env
    finally:
        helix("services", "down", env=env)
        shutil.rmtree(d, ignore_errors=True)
