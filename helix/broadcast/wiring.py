"""Channel clients from :class:`~helix.settings.Settings` and the broadcast secrets.

A channel is **on** when everything it needs is configured, and off otherwise (with the names
of what is missing, never their values):

========= ==========================================================================
channel   needs
========= ==========================================================================
telegram  ``HELIX_TELEGRAM_BOT_TOKEN``, ``HELIX_TELEGRAM_CHAT_ID``
x         ``HELIX_X_API_KEY``, ``HELIX_X_API_SECRET``, ``HELIX_X_ACCESS_TOKEN``,
          ``HELIX_X_ACCESS_TOKEN_SECRET``
sms       ``HELIX_TWILIO_ACCOUNT_SID``, ``HELIX_TWILIO_AUTH_TOKEN``, ``HELIX_TWILIO_FROM``,
          ``HELIX_SMS_TO``
email     ``HELIX_SMTP_HOST``, ``HELIX_EMAIL_FROM``, ``HELIX_EMAIL_TO`` (a login with
          ``HELIX_SMTP_USER``/``HELIX_SMTP_PASSWORD`` when both are set)
========= ==========================================================================
"""

from __future__ import annotations

from events.broadcast import CHANNELS, Channel
from helix.broadcast.channel import ChannelClient
from helix.broadcast.credentials import BroadcastSecrets
from helix.broadcast.smtp import SmtpClient
from helix.broadcast.telegram import TelegramClient
from helix.broadcast.twilio import TwilioClient
from helix.broadcast.x import XClient
from helix.errors import ConfigError
from helix.settings import Settings


def missing(channel: Channel, s: Settings, secrets: BroadcastSecrets) -> list[str]:
    """The variables ``channel`` still needs (empty: it is on)."""
    need: list[tuple[str, object]]
    if channel == "telegram":
        need = [
            ("HELIX_TELEGRAM_BOT_TOKEN", secrets.telegram),
            ("HELIX_TELEGRAM_CHAT_ID", s.telegram_chat_id),
        ]
    elif channel == "x":
        need = [("HELIX_X_API_KEY / _API_SECRET / _ACCESS_TOKEN / _ACCESS_TOKEN_SECRET", secrets.x)]
    elif channel == "sms":
        need = [
            ("HELIX_TWILIO_ACCOUNT_SID / HELIX_TWILIO_AUTH_TOKEN", secrets.twilio),
            ("HELIX_TWILIO_FROM", s.twilio_from),
            ("HELIX_SMS_TO", s.sms_to),
        ]
    else:
        need = [("HELIX_SMTP_HOST", s.smtp_host), ("HELIX_EMAIL_FROM", s.email_from),
                ("HELIX_EMAIL_TO", s.email_to)]  # fmt: skip
    return [name for name, value in need if not value]


def channel_status(s: Settings, secrets: BroadcastSecrets) -> dict[Channel, list[str]]:
    """Per channel, what it is missing (an empty list: on)."""
    return {c: missing(c, s, secrets) for c in CHANNELS}


def build_client(channel: Channel, s: Settings, secrets: BroadcastSecrets) -> ChannelClient:
    """The client of one channel.

    Raises:
        ConfigError: the channel is off (says which variables are missing).
    """
    gaps = missing(channel, s, secrets)
    if gaps:
        raise ConfigError(f"{channel} is off: set {', '.join(gaps)}")
    timeout = s.broadcast_timeout_s
    if channel == "telegram":
        assert secrets.telegram is not None
        return TelegramClient(
            api_url=s.telegram_api_url, bot_token=secrets.telegram.bot_token,
            chat_id=s.telegram_chat_id, timeout_s=timeout,
        )  # fmt: skip
    if channel == "x":
        assert secrets.x is not None
        return XClient(api_url=s.x_api_url, secrets=secrets.x, timeout_s=timeout)
    if channel == "sms":
        assert secrets.twilio is not None
        return TwilioClient(
            api_url=s.twilio_api_url, account_sid=secrets.twilio.account_sid,
            auth_token=secrets.twilio.auth_token, from_=s.twilio_from, to=s.sms_to,
            timeout_s=timeout,
        )  # fmt: skip
    return SmtpClient(
        host=s.smtp_host, port=s.smtp_port, starttls=s.smtp_starttls, secrets=secrets.smtp,
        from_=s.email_from, to=[a.strip() for a in s.email_to.split(",") if a.strip()],
        timeout_s=timeout, ca_file=s.smtp_ca_file,
    )  # fmt: skip


def build_clients(
    s: Settings, secrets: BroadcastSecrets, channels: list[Channel] | None = None
) -> list[ChannelClient]:
    """Clients of the channels that are on (of ``channels``, if given).

    Raises:
        ConfigError: a channel asked for by name is off.
    """
    if channels:
        return [build_client(c, s, secrets) for c in channels]
    return [build_client(c, s, secrets) for c in CHANNELS if not missing(c, s, secrets)]
