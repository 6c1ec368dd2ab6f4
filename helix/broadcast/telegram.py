"""Telegram Bot API: ``sendMessage`` (MarkdownV2) or ``sendPhoto`` with the heatmap.

What Telegram offers for exactly-once: nothing beyond the ``message_id`` in its answer.  The Bot
API takes no idempotency key and a bot cannot list the messages it sent, so an attempt whose
answer was lost (a timeout, or the broadcaster killed after the request left) cannot be
settled: ``recovery = "none"`` and ``HELIX_BROADCAST_UNKNOWN`` decides (``skip``: at most once,
the default; ``resend``: at least once).  Everything else is exact: a 429 carries
``parameters.retry_after`` (honoured), a 5xx is taken as not sent (the Bot API answers 5xx when
it failed to act), any other error is final.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from events.broadcast import Channel
from helix.broadcast.channel import Delivered, Recovery, Refused, Result, classify_status
from helix.broadcast.http import Answer, call, new_session
from helix.broadcast.render import Message


class TelegramClient:
    """Posts to one chat (a channel ``@name``, a group or a user id)."""

    channel: Channel = "telegram"
    takes_images = True
    recovery: Recovery = "none"

    def __init__(self, *, api_url: str, bot_token: str, chat_id: str, timeout_s: float) -> None:
        self._base = f"{api_url.rstrip('/')}/bot{bot_token}"
        self._chat_id = chat_id
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # the base URL holds the token
        return f"TelegramClient(chat_id={self._chat_id!r})"

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session(self._timeout_s)
        return self._session

    async def send(self, message: Message, image: bytes | None, *, key: str) -> Result:
        if image is not None:
            form = aiohttp.FormData()
            form.add_field("chat_id", self._chat_id)
            form.add_field("caption", message.text)
            form.add_field("parse_mode", "MarkdownV2")
            form.add_field(
                "photo", image, filename=f"heatmap-{message.ref}.png", content_type="image/png"
            )
            answer = await call(self._http(), "POST", f"{self._base}/sendPhoto", data=form)
        else:
            payload = {
                "chat_id": self._chat_id,
                "text": message.text,
                "parse_mode": "MarkdownV2",
                "link_preview_options": {"is_disabled": True},
            }
            answer = await call(self._http(), "POST", f"{self._base}/sendMessage", json=payload)
        if isinstance(answer, Refused):
            return answer
        return _result(answer)

    async def lookup(self, message: Message, since_ns: int) -> str | None:
        raise NotImplementedError("a Telegram bot cannot list the messages it sent")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _result(answer: Answer) -> Result:
    body: Any = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 200 and body.get("ok") is True:
        return Delivered(str(body.get("result", {}).get("message_id", "")))
    if answer.status == 200:  # 200 without ok: not the Bot API we know; it may have acted
        return Refused("unknown", "unreadable answer", answer.status)
    description = str(body.get("description") or f"HTTP {answer.status}")
    params = body.get("parameters") or {}
    retry_after = params.get("retry_after")
    if "migrate_to_chat_id" in params:
        description += f" (the chat moved to {params['migrate_to_chat_id']}: update the chat id)"
    return classify_status(
        answer.status, description, float(retry_after) if retry_after is not None else None
    )
