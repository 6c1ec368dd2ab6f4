"""Broadcast secrets: read from the environment or ``.env`` only, never logged or echoed.

Like :mod:`helix.venues.credentials`, they are not fields of :class:`~helix.settings.Settings`
(which is printed in diagnostics).  Every ``repr`` here shows ``***`` instead of a secret, and
the channel clients never put one in an error message (a Telegram token is part of the URL, so
their errors never quote the URL).

=============================== ==============================================================
variable                        what
=============================== ==============================================================
``HELIX_TELEGRAM_BOT_TOKEN``    the bot's token from @BotFather
``HELIX_X_API_KEY``             X app consumer key (OAuth 1.0a)
``HELIX_X_API_SECRET``          X app consumer secret
``HELIX_X_ACCESS_TOKEN``        the posting account's access token
``HELIX_X_ACCESS_TOKEN_SECRET`` and its secret
``HELIX_TWILIO_ACCOUNT_SID``    Twilio account SID (``AC...``)
``HELIX_TWILIO_AUTH_TOKEN``     Twilio auth token
``HELIX_SMTP_USER``             SMTP login (optional: a relay may not need one)
``HELIX_SMTP_PASSWORD``         SMTP password (an app password for Gmail)
=============================== ==============================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from helix.settings import read_dotenv


class _Secret:
    """A dataclass mixin whose ``repr`` hides every field."""

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}='***'" for f in fields(self))  # type: ignore[arg-type]
        return f"{type(self).__name__}({shown})"

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class TelegramSecrets(_Secret):
    bot_token: str


@dataclass(frozen=True, repr=False)
class XSecrets(_Secret):
    """The four OAuth 1.0a keys of the posting account (user context)."""

    api_key: str
    api_secret: str
    access_token: str
    access_token_secret: str


@dataclass(frozen=True, repr=False)
class TwilioSecrets(_Secret):
    account_sid: str
    auth_token: str


@dataclass(frozen=True, repr=False)
class SmtpSecrets(_Secret):
    user: str
    password: str


@dataclass(frozen=True, repr=False)
class BroadcastSecrets(_Secret):
    """Whatever is configured; ``None`` where a channel's secrets are missing or incomplete."""

    telegram: TelegramSecrets | None = None
    x: XSecrets | None = None
    twilio: TwilioSecrets | None = None
    smtp: SmtpSecrets | None = None


def broadcast_secrets(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None
) -> BroadcastSecrets:
    """Read the broadcast secrets (the environment wins over ``.env``)."""
    env = dict(read_dotenv(dotenv if dotenv is not None else Path.cwd() / ".env"))
    env.update(environ if environ is not None else os.environ)

    def get(*names: str) -> list[str] | None:
        values = [env.get(f"HELIX_{n}", "").strip() for n in names]
        return values if all(values) else None

    tg = get("TELEGRAM_BOT_TOKEN")
    x = get("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
    tw = get("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
    smtp = get("SMTP_USER", "SMTP_PASSWORD")
    return BroadcastSecrets(
        telegram=TelegramSecrets(*tg) if tg else None,
        x=XSecrets(*x) if x else None,
        twilio=TwilioSecrets(*tw) if tw else None,
        smtp=SmtpSecrets(*smtp) if smtp else None,
    )


def secret_values(secrets: BroadcastSecrets) -> list[str]:
    """Every secret string (for scrubbing text that might quote one, and for tests)."""
    out: list[str] = []
    for part in (secrets.telegram, secrets.x, secrets.twilio, secrets.smtp):
        if part is not None:
            out.extend(str(getattr(part, f.name)) for f in fields(part))
    return [v for v in out if v]


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret replaced by ``***`` (a last line of defence for reasons)."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text
