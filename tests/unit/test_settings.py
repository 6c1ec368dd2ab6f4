"""Settings: HELIX_* variables from an explicit environment and a ``.env`` file."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from helix.errors import ConfigError
from helix.settings import Settings, default_home, load_settings, read_dotenv


@pytest.fixture
def no_dotenv(tmp_path: Path) -> Path:
    """A ``.env`` path that does not exist."""
    return tmp_path / "missing.env"


def _dotenv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return path


def test_explicit_environ_is_used(no_dotenv: Path) -> None:
    s = load_settings({"HELIX_HOME": "/srv/helix", "HELIX_NATS_PORT": "4222"}, dotenv=no_dotenv)
    assert s.home == "/srv/helix"
    assert s.nats_port == 4222


def test_values_are_read_from_dotenv(tmp_path: Path) -> None:
    path = _dotenv(tmp_path, "HELIX_HOME=/from/dotenv\nHELIX_PG_PORT=5433\n")
    s = load_settings({}, dotenv=path)
    assert (s.home, s.pg_port) == ("/from/dotenv", 5433)


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    path = _dotenv(tmp_path, "HELIX_HOME=/from/dotenv\nHELIX_LOG_LEVEL=DEBUG\n")
    s = load_settings({"HELIX_HOME": "/from/env"}, dotenv=path)
    assert s.home == "/from/env"
    assert s.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('HELIX_LOG_LEVEL="WARNING"', "WARNING"),
        ("HELIX_LOG_LEVEL='ERROR'", "ERROR"),
        ("export HELIX_LOG_LEVEL=DEBUG", "DEBUG"),
        ('export HELIX_LOG_LEVEL="CRITICAL"', "CRITICAL"),
        ("  HELIX_LOG_LEVEL = INFO  ", "INFO"),
    ],
)
def test_dotenv_quotes_and_export_prefix(tmp_path: Path, line: str, expected: str) -> None:
    assert load_settings({}, dotenv=_dotenv(tmp_path, line + "\n")).log_level == expected


def test_dotenv_skips_comments_blank_and_malformed_lines(tmp_path: Path) -> None:
    path = _dotenv(tmp_path, "# a comment\n\nnot a pair\nHELIX_SYNC=1s\n")
    assert read_dotenv(path) == {"HELIX_SYNC": "1s"}


def test_dotenv_value_may_contain_equals(tmp_path: Path) -> None:
    path = _dotenv(tmp_path, "HELIX_DATABASE_URL=postgresql://h/db?sslmode=require\n")
    assert read_dotenv(path)["HELIX_DATABASE_URL"] == "postgresql://h/db?sslmode=require"


def test_missing_dotenv_gives_defaults(no_dotenv: Path) -> None:
    s = load_settings({"HELIX_HOME": "/h"}, dotenv=no_dotenv)
    assert s == Settings(home="/h")


def test_unknown_helix_variables_are_ignored(no_dotenv: Path) -> None:
    env = {"HELIX_HOME": "/h", "HELIX_BYBIT_API_KEY": "k", "HELIX_NOT_A_SETTING": "x"}
    assert load_settings(env, dotenv=no_dotenv) == Settings(home="/h")


def test_non_helix_variables_are_ignored(no_dotenv: Path) -> None:
    env = {"HELIX_HOME": "/h", "NATS_PORT": "abc", "HOME": "/root"}
    assert load_settings(env, dotenv=no_dotenv) == Settings(home="/h")


def test_types_are_coerced_from_strings(no_dotenv: Path) -> None:
    env = {"HELIX_HOME": "/h", "HELIX_LIVE_TRADING": "true", "HELIX_MARKET_MAX_BYTES": "1024"}
    s = load_settings(env, dotenv=no_dotenv)
    assert s.live_trading is True
    assert s.market_max_bytes == 1024


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("HELIX_NATS_PORT", "abc"),
        ("HELIX_DUPLICATE_WINDOW_S", "2m"),
        ("HELIX_LIVE_TRADING", "maybe"),
        ("HELIX_MARKET_PERSIST", "sometimes"),
    ],
)
def test_bad_value_raises_config_error(no_dotenv: Path, key: str, value: str) -> None:
    with pytest.raises(ConfigError):
        load_settings({"HELIX_HOME": "/h", key: value}, dotenv=no_dotenv)


def test_bad_value_in_dotenv_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_settings({}, dotenv=_dotenv(tmp_path, "HELIX_NATS_PORT=abc\n"))


def test_empty_url_means_unset(no_dotenv: Path) -> None:
    s = load_settings({"HELIX_HOME": "/h", "HELIX_NATS_URL": ""}, dotenv=no_dotenv)
    assert s.nats_url is None


def test_empty_int_value_means_default(no_dotenv: Path) -> None:
    s = load_settings({"HELIX_HOME": "/h", "HELIX_NATS_PORT": ""}, dotenv=no_dotenv)
    assert s.nats_port == 0


def test_default_home_when_helix_home_missing(no_dotenv: Path) -> None:
    s = load_settings({}, dotenv=no_dotenv)
    assert s.home
    assert s.home == default_home()


def test_default_home_when_helix_home_empty(no_dotenv: Path) -> None:
    assert load_settings({"HELIX_HOME": ""}, dotenv=no_dotenv).home == default_home()


def test_home_path_is_a_path() -> None:
    assert Settings(home="/tmp/x").home_path == Path("/tmp/x")


def test_settings_are_frozen() -> None:
    s = Settings(home="/h")
    with pytest.raises(AttributeError):
        s.home = "/other"  # type: ignore[misc]


def test_settings_reject_unknown_fields() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"home": "/h", "bogus": 1}, Settings)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:secret@h/db",
        "postgresql://u:secret@h:5432/db?sslmode=require",
        "postgresql://u:p@secret@h/db",
        "nats://u:secret@127.0.0.1:4222",
    ],
)
def test_repr_redacts_password_in_url(no_dotenv: Path, url: str) -> None:
    s = load_settings({"HELIX_HOME": "/h", "HELIX_DATABASE_URL": url}, dotenv=no_dotenv)
    assert "secret" not in repr(s)
    assert "secret" not in str(s)


def test_repr_keeps_user_and_host(no_dotenv: Path) -> None:
    env = {"HELIX_HOME": "/h", "HELIX_DATABASE_URL": "postgresql://u:secret@dbhost/db"}
    assert "postgresql://u:***@dbhost/db" in repr(load_settings(env, dotenv=no_dotenv))


def test_repr_leaves_credential_free_url_alone() -> None:
    assert "nats://127.0.0.1:4222" in repr(Settings(home="/h", nats_url="nats://127.0.0.1:4222"))


def test_redacted_repr_does_not_change_the_value() -> None:
    url = "postgresql://u:secret@h/db"
    assert Settings(home="/h", database_url=url).database_url == url


def test_repr_redacts_nats_token() -> None:
    assert "s3cr3t" not in repr(Settings(home="/h", nats_url="nats://s3cr3t@127.0.0.1:4222"))


def test_repr_redacts_password_query_parameter() -> None:
    s = Settings(home="/h", database_url="postgresql://u@h/db?password=secret")
    assert "secret" not in repr(s)
