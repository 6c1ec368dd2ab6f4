"""``helix audit seal | verify --log`` as a user runs them (real processes, real NATS)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS

from audit.signing import FundKey
from helix.settings import load_settings
from helix.store.streams import ensure_streams
from tests.services import RunningServices

pytestmark = pytest.mark.integration

KEY = "0x" + "33" * 32
OTHER = FundKey.from_private_key("0x" + "44" * 32).address


def helix(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", **env}
    return subprocess.run(
        [sys.executable, "-m", "helix.cli", "audit", *args],
        capture_output=True, text=True, timeout=120, env=full, check=False,
    )  # fmt: skip


async def test_seal_then_verify(nc: NATS, services: RunningServices, tmp_path: Path) -> None:
    await ensure_streams(nc.jetstream(), load_settings({}, dotenv=Path("/nonexistent")))
    for i in range(3):  # the session's LEDGER may be empty when this runs first
        await nc.jetstream().publish("ldg.test.audit", f"event {i}".encode())
    env = {
        "HELIX_HOME": str(tmp_path), "HELIX_NATS_URL": services.nats_url,
        "HELIX_DATABASE_URL": services.database_url, "HELIX_FUND_PRIVATE_KEY": KEY,
    }  # fmt: skip
    sealed = helix("seal", env=env)
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    assert "sealed LEDGER 1.." in sealed.stdout
    assert FundKey.from_private_key(KEY).address in sealed.stdout
    assert KEY not in sealed.stdout + sealed.stderr
    assert KEY[2:] not in sealed.stdout

    again = helix("seal", env=env)
    assert again.returncode == 0, again.stdout + again.stderr

    ok = helix("verify", "--log", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    wrong = helix("verify", "--log", "--address", OTHER, env=env)
    assert wrong.returncode == 3, wrong.stdout + wrong.stderr
    assert "signature" in wrong.stdout.lower()


def test_seal_without_a_key_says_what_is_missing(services: RunningServices, tmp_path: Path) -> None:
    env = {
        "HELIX_HOME": str(tmp_path), "HELIX_NATS_URL": services.nats_url,
        "HELIX_DATABASE_URL": services.database_url, "HELIX_FUND_PRIVATE_KEY": "",
    }  # fmt: skip
    res = helix("seal", env=env)
    assert res.returncode != 0
    assert "HELIX_FUND_PRIVATE_KEY" in res.stdout + res.stderr
