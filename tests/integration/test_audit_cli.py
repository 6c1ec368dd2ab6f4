"""``helix audit seal | verify --log`` as a user runs them (real processes, real NATS)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS

from audit.signing import FundKey
from helix.settings import load_settings
from helix.store.streams import ensure_streams
from tests.e2e.test_cli import helix as run_helix
from tests.services import RunningServices

pytestmark = pytest.mark.integration

KEY = "0x" + "33" * 32
OTHER = FundKey.from_private_key("0x" + "44" * 32).address


def helix(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_helix("audit", *args, env=env)


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

    again = helix("seal", env=env)  # only the seal itself is new: nothing is written
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing new since the last seal" in again.stdout

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


async def test_the_schedule_seals_new_events_and_skips_an_idle_ledger(
    nc: NATS, services: RunningServices, tmp_path: Path
) -> None:
    from audit.ledger import all_seals, verify_log

    env = {
        **os.environ, "HELIX_HOME": str(tmp_path), "HELIX_NATS_URL": services.nats_url,
        "HELIX_DATABASE_URL": services.database_url, "HELIX_FUND_PRIVATE_KEY": KEY,
    }  # fmt: skip
    await ensure_streams(nc.jetstream(), load_settings({}, dotenv=Path("/nonexistent")))
    before = len(await all_seals(nc))
    proc = subprocess.Popen(
        [sys.executable, "-m", "helix.cli", "audit", "seal", "--every", "1s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        await nc.jetstream().publish("ldg.test.audit", b"scheduled 0")
        for _ in range(120):  # the process starts (imports, connects) before its first tick
            if len(await all_seals(nc)) > before:
                break
            await asyncio.sleep(0.5)
        for round_ in (1, 2):
            await nc.jetstream().publish("ldg.test.audit", f"scheduled {round_}".encode())
            await asyncio.sleep(1.5)
        await asyncio.sleep(3)  # idle: at least one tick finds nothing new
    finally:
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stdout + stderr
    assert "nothing new since the last seal" in stdout
    written = len(await all_seals(nc)) - before
    assert 1 <= written <= 3, stdout
    assert stdout.count("sealed LEDGER") == written
    findings, _, _ = await verify_log(nc, FundKey.from_private_key(KEY).address)
    assert findings == []
