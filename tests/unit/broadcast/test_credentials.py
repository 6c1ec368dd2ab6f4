"""Broadcast secrets: read from the environment or .env, never shown; channel on/off."""

from __future__ import annotations

from pathlib import Path

import pytest

from helix.broadcast.channel import retry_after_from_headers
from helix.broadcast.credentials import broadcast_secrets, scrub, secret_values
from helix.broadcast.wiring import build_client, build_clients, channel_status
from helix.errors import ConfigError
from helix.settings import load_settings
from helix.testing.fake_channels import FakeChannels

NO_DOTENV = Path("/nonexistent/.env")


def fake_env() -> dict[str, str]:
    return {**FakeChannels().environ(), "HELIX_HOME": "/h"}


def test_secrets_come_from_the_environment() -> None:
    secrets = broadcast_secrets(fake_env(), dotenv=NO_DOTENV)
    assert secrets.telegram is not None
    assert secrets.x is not None
    assert secrets.twilio is not None
    assert secrets.smtp is None


def test_secrets_come_from_dotenv_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("HELIX_SMTP_USER=u\nHELIX_SMTP_PASSWORD=from-file\n", encoding="utf-8")
    secrets = broadcast_secrets({"HELIX_SMTP_PASSWORD": "from-env"}, dotenv=dotenv)
    assert secrets.smtp is not None
    assert secrets.smtp.password == "from-env"


def test_incomplete_x_keys_leave_x_off() -> None:
    env = {k: v for k, v in fake_env().items() if k != "HELIX_X_ACCESS_TOKEN_SECRET"}
    assert broadcast_secrets(env, dotenv=NO_DOTENV).x is None


def test_no_repr_or_str_shows_a_secret() -> None:
    secrets = broadcast_secrets(fake_env(), dotenv=NO_DOTENV)
    shown = repr(secrets) + str(secrets) + repr(secrets.x) + str(secrets.telegram)
    values = secret_values(secrets)
    assert len(values) == 7
    assert not [v for v in values if v in shown]
    assert "***" in shown


def test_clients_do_not_show_secrets() -> None:
    env = fake_env()
    settings = load_settings(env, dotenv=NO_DOTENV)
    secrets = broadcast_secrets(env, dotenv=NO_DOTENV)
    shown = " ".join(repr(c) for c in build_clients(settings, secrets))
    assert not [v for v in secret_values(secrets) if v in shown]


def test_settings_repr_holds_no_broadcast_secret() -> None:
    env = fake_env()
    shown = repr(load_settings(env, dotenv=NO_DOTENV))
    assert not [v for v in secret_values(broadcast_secrets(env, dotenv=NO_DOTENV)) if v in shown]


def test_scrub_replaces_secrets() -> None:
    assert scrub("bad token abcd1234 here", ["abcd1234"]) == "bad token *** here"


def test_a_channel_without_credentials_is_off_and_says_what_is_missing() -> None:
    settings = load_settings({"HELIX_HOME": "/h"}, dotenv=NO_DOTENV)
    secrets = broadcast_secrets({}, dotenv=NO_DOTENV)
    status = channel_status(settings, secrets)
    assert all(status.values())
    assert "HELIX_TELEGRAM_BOT_TOKEN" in status["telegram"]
    assert build_clients(settings, secrets) == []
    with pytest.raises(ConfigError, match="telegram is off: set HELIX_TELEGRAM_BOT_TOKEN"):
        build_client("telegram", settings, secrets)


def test_configured_channels_are_on() -> None:
    env = fake_env()
    status = channel_status(
        load_settings(env, dotenv=NO_DOTENV), broadcast_secrets(env, dotenv=NO_DOTENV)
    )
    assert status == {"telegram": [], "x": [], "sms": [], "email": status["email"]}
    assert status["email"] == ["HELIX_SMTP_HOST", "HELIX_EMAIL_FROM", "HELIX_EMAIL_TO"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1030"}, 30.0),
        ({"x-rate-limit-remaining": "5", "x-rate-limit-reset": "1030"}, None),
        ({"Retry-After": "Thu, 01 Jan 1970 00:17:00 GMT"}, 20.0),
        ({}, None),
    ],
)
def test_retry_after_headers(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_from_headers(headers, now_s=1000.0) == expected
