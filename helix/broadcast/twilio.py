"""Twilio Programmable Messaging: one SMS per delivery, settled by listing what was sent.

What Twilio offers for exactly-once: its Messages API takes no idempotency key for a create,
but it **lists** an account's messages (``GET .../Messages.json?To=&From=``, newest first).
Every SMS ends with the item's reference (``#1a2b3c4d``), so an attempt whose answer was lost
is settled by finding a message to the same number, from the same sender, created since the
attempt, whose body carries that reference: found means sent (its SID is recorded), not found
means not sent and the next attempt goes out.  ``recovery = "lookup"``: exactly once, as long as
the listing answers (a failed listing is retried, never guessed).

A 5xx on create is ``unknown`` (Twilio may have queued the message), and so settled the same
way; a 429 (error 20429) is retried after ``Retry-After`` if given; other 4xx (21211: bad
number, 21602: empty body, 20003: bad credentials) are final.
"""

from __future__ import annotations

import base64
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import aiohttp

from events.broadcast import Channel
from helix.broadcast.channel import (
    ChannelError,
    Delivered,
    Recovery,
    Refused,
    Result,
    classify_status,
    retry_after_from_headers,
)
from helix.broadcast.http import Answer, call, new_session
from helix.broadcast.render import Message

PAGE_SIZE = 50
MAX_PAGES = 20
CLOCK_SLACK_NS = 300 * 1_000_000_000  # Twilio's clock vs ours


class TwilioClient:
    """Sends SMS from ``from_`` to ``to`` with one account."""

    channel: Channel = "sms"
    takes_images = False
    recovery: Recovery = "lookup"

    def __init__(
        self,
        *,
        api_url: str,
        account_sid: str,
        auth_token: str,
        from_: str,
        to: str,
        timeout_s: float,
    ) -> None:
        self._api = api_url.rstrip("/")
        self._path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        basic = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._auth = {"Authorization": f"Basic {basic}"}  # HTTP Basic, as Twilio wants
        self._from, self._to = from_, to
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"TwilioClient(from={self._from!r}, to={self._to!r})"

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session(self._timeout_s)
        return self._session

    async def send(self, message: Message, image: bytes | None, *, key: str) -> Result:
        form = {"To": self._to, "From": self._from, "Body": message.text}
        answer = await call(
            self._http(), "POST", self._api + self._path, data=form, headers=self._auth
        )
        if isinstance(answer, Refused):
            return answer
        body: Any = answer.body if isinstance(answer.body, dict) else {}
        if answer.status in (200, 201) and body.get("sid"):
            return Delivered(str(body["sid"]))
        if 200 <= answer.status < 300:
            return Refused("unknown", "unreadable answer", answer.status)
        reason = _reason(answer, body)
        if answer.status >= 500:
            return Refused("unknown", reason, answer.status, True, None)
        return classify_status(answer.status, reason, retry_after_from_headers(answer.headers))

    async def lookup(self, message: Message, since_ns: int) -> str | None:
        """Walk the messages to the number (newest first) back to ``since_ns``.

        Raises:
            ChannelError: the listing failed.
        """
        url: str | None = self._api + self._path
        params: dict[str, str] | None = {
            "To": self._to,
            "From": self._from,
            "PageSize": str(PAGE_SIZE),
        }
        needle = f"#{message.ref}"
        for _ in range(MAX_PAGES):
            if url is None:
                return None
            answer = await call(self._http(), "GET", url, params=params, headers=self._auth)
            if isinstance(answer, Refused) or answer.status != 200:
                status = answer.status if isinstance(answer, Answer) else None
                raise ChannelError(f"Twilio message list failed (status {status})")
            body: Any = answer.body if isinstance(answer.body, dict) else {}
            messages = body.get("messages") or []
            older = False
            for m in messages:
                if needle in str(m.get("body", "")):
                    return str(m.get("sid", ""))
                if _created_ns(m) < since_ns - CLOCK_SLACK_NS:
                    older = True
            nxt = body.get("next_page_uri")
            if older or not nxt:
                return None
            url, params = urljoin(self._api + "/", str(nxt).lstrip("/")), None
        return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _reason(answer: Answer, body: dict[str, Any]) -> str:
    code, text = body.get("code"), body.get("message")
    return f"{code}: {text}" if code or text else f"HTTP {answer.status}"


def _created_ns(m: dict[str, Any]) -> int:
    raw = m.get("date_created")
    if not raw:
        return 2**63  # not dated yet: treat as new
    try:
        dt: datetime = parsedate_to_datetime(str(raw))
    except (TypeError, ValueError):
        return 2**63
    return int(dt.timestamp() * 1e9)
