"""``helix broadcast test | log`` as a user runs them (real processes, the fakes, real NATS)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS

from helix.broadcast.credentials import broadcast_secrets, secret_values
from helix.testing.fake_channels import FakeChannels
from tests.integration.test_broadcast import NO_DOTENV, bed_for
from tests.services import RunningServices
from tests.unit import _factories as f

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def helix(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", **env}
    return subprocess.run(
        [sys.executable, "-m", "helix.cli", "broadcast", *args],
        capture_output=True, text=True, timeout=120, env=full, check=False,
    )  # fmt: skip


@pytest.fixture
def fake() -> Iterator[FakeChannels]:
    with FakeChannels() as server:
        yield server


@pytest.fixture
def env(fake: FakeChannels, services: RunningServices, tmp_path: Path) -> dict[str, str]:
    return {
        **fake.environ(), "HELIX_HOME": str(tmp_path), "HELIX_NATS_URL": services.nats_url,
        "HELIX_DATABASE_URL": services.database_url,
    }  # fmt: skip


def secrets_in(text: str, env: dict[str, str]) -> list[str]:
    return [s for s in secret_values(broadcast_secrets(env, dotenv=NO_DOTENV)) if s in text]


def test_without_a_channel_it_shows_which_are_on(env: dict[str, str]) -> None:
    res = helix("test", env={**env, "HELIX_X_API_KEY": ""})
    assert res.returncode == 0, res.stderr
    lines = {line.split("│")[1].strip(): line for line in res.stdout.splitlines() if "│" in line}
    assert " on " in lines["telegram"]
    assert "off: set HELIX_X_API_KEY" in lines["x"]
    assert "off: set HELIX_SMTP_HOST" in lines["email"]
    assert "score>=30" in lines["sms"]
    assert secrets_in(res.stdout + res.stderr, env) == []


def test_a_channel_without_credentials_says_so(env: dict[str, str]) -> None:
    res = helix("test", "sms", env={**env, "HELIX_TWILIO_AUTH_TOKEN": ""})
    assert res.returncode == 2
    assert "sms is off: set HELIX_TWILIO_ACCOUNT_SID / HELIX_TWILIO_AUTH_TOKEN" in res.stderr


def test_test_sends_one_message(env: dict[str, str], fake: FakeChannels, tmp_path: Path) -> None:
    png = tmp_path / "h.png"
    png.write_bytes(PNG)
    res = helix("test", "telegram", "--png", str(png), env=env)
    assert res.returncode == 0, res.stderr
    assert "telegram: sent #" in res.stdout
    [message] = fake.telegram.messages
    assert message["photo"] == PNG
    assert "Helix broadcast test" in message["text"]
    res = helix("test", "x", env=env)
    assert res.returncode == 0, res.stderr
    assert fake.count("x") == 1
    assert secrets_in(res.stdout + res.stderr, env) == []


def test_a_refused_test_is_an_error_with_the_far_sides_words(
    env: dict[str, str], fake: FakeChannels
) -> None:
    res = helix("test", "telegram", env={**env, "HELIX_TELEGRAM_CHAT_ID": "@nobody"})
    assert res.returncode == 5
    assert "chat not found" in res.stderr
    assert secrets_in(res.stdout + res.stderr, env) == []


async def test_log_lists_deliveries(env: dict[str, str], nc: NATS, fake: FakeChannels) -> None:
    async with bed_for(nc, fake, None) as bed:
        signal = bed.signal(f.stop_hunt)
        await bed.publish(signal)
        fake.fail("telegram", 429, retry_after=0)
        await bed.run(["telegram"])
    res = helix("log", "--limit", "0", env=env)
    assert res.returncode == 0, res.stderr
    [row] = [line for line in res.stdout.splitlines() if signal.event_id.hex[:8] in line]
    assert "telegram" in row
    assert "stop_hunt" in row
    assert "sent (sent)" in row


async def test_run_starts_at_the_head_then_sends_new_signals_once(
    env: dict[str, str], nc: NATS, fake: FakeChannels
) -> None:
    """``helix broadcast run`` on the live prefixes of the test server (its first run there opens
    every channel at the head, so signals of other tests published before are never sent)."""
    async with bed_for(nc, fake, None) as bed:
        first = helix("run", "--until-caught-up", "--channel", "telegram", env=env)
        assert first.returncode == 0, first.stderr
        signal = bed.signal(f.oi_spike)
        await bed.publish(signal)
        ref = signal.event_id.hex[:8]
        for _ in range(2):
            res = helix("run", "--until-caught-up", "--channel", "telegram", env=env)
            assert res.returncode == 0, res.stderr
            assert "telegram:" in res.stdout
        assert len([m for m in fake.telegram.messages if ref in m["text"]]) == 1
        assert secrets_in(res.stdout + res.stderr, env) == []
