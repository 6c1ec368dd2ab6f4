"""X API v2: ``POST /2/tweets`` (with the heatmap from ``POST /2/media/upload``), OAuth 1.0a.

Requests are signed in user context with ``oauthlib`` (HMAC-SHA1 over method, URL and query;
JSON bodies are not part of an OAuth 1.0a signature, as in ``requests-oauthlib``).

What X offers for exactly-once: no idempotency key, but it **refuses a post whose text
duplicates a recent post of the same account** (403, "You are not allowed to create a Tweet
with duplicate content.").  Messages are rendered deterministically and carry the item's
reference, so the text of a delivery is unique and the same at every attempt; an attempt whose
answer was lost is settled by sending again: a 201 means the first never landed, the duplicate
refusal means it did (recorded as sent with ``how="duplicate"``; X does not say the id).
``recovery = "resend"``.  The limit: X does not document how far back it looks for duplicates,
so the guarantee holds for a restart within that window (minutes to hours, not weeks).

Rate limits: a 429 waits until ``x-rate-limit-reset``; a 5xx or a lost answer is ``unknown``
(and so resent, safely).  A failed image upload that X will not take sends the post without
the picture; a 429/5xx/lost upload retries the attempt (nothing was posted).
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import aiohttp
from oauthlib.oauth1 import Client as OAuth1Client

from events.broadcast import Channel
from helix.broadcast.channel import (
    Delivered,
    Recovery,
    Refused,
    Result,
    classify_status,
    retry_after_from_headers,
)
from helix.broadcast.credentials import XSecrets
from helix.broadcast.http import Answer, call, new_session
from helix.broadcast.render import Message

DUPLICATE = "duplicate content"


class XClient:
    """Posts as the account the access token belongs to."""

    channel: Channel = "x"
    takes_images = True
    recovery: Recovery = "resend"

    def __init__(self, *, api_url: str, secrets: XSecrets, timeout_s: float) -> None:
        self._api = api_url.rstrip("/")
        self._oauth = OAuth1Client(
            secrets.api_key,
            client_secret=secrets.api_secret,
            resource_owner_key=secrets.access_token,
            resource_owner_secret=secrets.access_token_secret,
        )
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None
        # oauthlib logs each signature base string (consumer key, access token) at DEBUG.
        logging.getLogger("oauthlib").setLevel(max(logging.INFO, logging.getLogger().level))

    def __repr__(self) -> str:
        return f"XClient(api={self._api!r})"

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session(self._timeout_s)
        return self._session

    async def _post_json(self, path: str, payload: dict[str, Any]) -> Answer | Refused:
        url = self._api + path
        _, headers, _ = self._oauth.sign(url, http_method="POST")
        headers = {**headers, "Content-Type": "application/json"}
        return await call(
            self._http(), "POST", url, data=json.dumps(payload).encode(), headers=headers
        )

    async def upload(self, image: bytes) -> str | Refused | None:
        """The media id of ``image``; None if X will not take it (post without it)."""
        answer = await self._post_json(
            "/2/media/upload",
            {
                "media": base64.b64encode(image).decode(),
                "media_category": "tweet_image",
                "media_type": "image/png",
            },
        )
        if isinstance(answer, Refused):  # nothing was posted yet: retry the attempt
            return Refused("not_sent", f"media upload: {answer.reason}")
        data = answer.body.get("data") if isinstance(answer.body, dict) else None
        if answer.status in (200, 201) and isinstance(data, dict) and data.get("id"):
            return str(data["id"])
        if answer.status == 429 or answer.status >= 500:
            wait = retry_after_from_headers(answer.headers)
            return Refused(
                "not_sent", f"media upload: HTTP {answer.status}", answer.status, True, wait
            )
        return None

    async def send(self, message: Message, image: bytes | None, *, key: str) -> Result:
        payload: dict[str, Any] = {"text": message.text}
        if image is not None:
            media = await self.upload(image)
            if isinstance(media, Refused):
                return media
            if media is not None:
                payload["media"] = {"media_ids": [media]}
        answer = await self._post_json("/2/tweets", payload)
        if isinstance(answer, Refused):
            return answer
        body: Any = answer.body if isinstance(answer.body, dict) else {}
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        if answer.status in (200, 201) and data.get("id"):
            return Delivered(str(data["id"]))
        reason = _reason(answer, body)
        if answer.status == 403 and DUPLICATE in reason.lower():
            return Delivered("", how="duplicate")
        if 200 <= answer.status < 300 or answer.status >= 500:
            return Refused("unknown", reason, answer.status, True, None)
        return classify_status(answer.status, reason, retry_after_from_headers(answer.headers))

    async def lookup(self, message: Message, since_ns: int) -> str | None:
        raise NotImplementedError("X settles unknown outcomes by resending (duplicate refusal)")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _reason(answer: Answer, body: dict[str, Any]) -> str:
    """X's own words: problem details (``detail``/``title``) or v1-style ``errors``."""
    if body.get("detail") or body.get("title"):
        return str(body.get("detail") or body.get("title"))
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message") or errors[0].get("detail") or errors[0])
    return f"HTTP {answer.status}"
