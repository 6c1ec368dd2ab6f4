"""Request handlers of :class:`~helix.testing.fake_channels.FakeChannels`: Telegram Bot API,
Twilio Messages and X API v2, in their real wire formats (``shared/reference/apis.md`` §5).

Only what the real APIs do is modelled, and nothing they do not: no idempotency keys, no way
for a bot to list its messages.  What is modelled:

* **Telegram** ``/bot<token>/sendMessage`` and ``/sendPhoto`` (JSON, form or multipart): the
  token and chat are checked (401 ``Unauthorized``, 400 ``chat not found``), MarkdownV2 is
  parsed (a bare reserved character or an unclosed entity is a 400 ``can't parse entities``),
  text ≤ 4096 and captions ≤ 1024; ``message_id`` counts up per chat.
* **Twilio** ``POST`` and ``GET /2010-04-01/Accounts/<sid>/Messages.json``: HTTP Basic auth
  (20003), ``To`` in E.164 (21211), a body (21602, ≤ 1600: 21617); the list is newest first,
  filtered by ``To``/``From``, paged by ``PageSize``/``Page`` with ``next_page_uri``.
* **X** ``POST /2/tweets`` and ``POST /2/media/upload`` (JSON, base64 ``media``): OAuth 1.0a
  HMAC-SHA1 signatures are verified with ``oauthlib``; rate-limit headers on every answer; a
  text equal to one of the account's posts is refused (403 duplicate content); media ids must
  exist.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature as oauth_signature

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def check_markdown_v2(text: str) -> str | None:
    """Telegram's complaint about ``text`` as MarkdownV2 (None: it parses).

    Bold ``*``, italic ``_``, underline ``__``, strikethrough ``~``, spoiler ``||`` and inline
    code are entities; every other reserved character must be escaped with ``\\``.
    """
    open_: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        token = text[i : i + 2] if text[i : i + 2] in ("__", "||") else c
        if token in ("*", "_", "__", "~", "||", "`"):
            if open_ and open_[-1] == token:
                open_.pop()
            else:
                open_.append(token)
            i += len(token)
            continue
        if c in _MDV2_RESERVED:
            return (
                f"Bad Request: can't parse entities: Character '{c}' is reserved and must be "
                "escaped with the preceding '\\'"
            )
        i += 1
    if open_:
        entity = open_[-1]
        return f"Bad Request: can't parse entities: Can't find end of the entity {entity!r}"
    return None


def tg_error(status: int, description: str, **params: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if params:
        body["parameters"] = params
    return web.json_response(body, status=status)


def twilio_error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
         "status": status},
        status=status,
    )  # fmt: skip


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"title": title, "detail": detail, "type": "about:blank", "status": status},
        status=status,
        headers=headers,
    )


async def read_params(request: web.Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """Fields and files of a JSON, form or multipart body."""
    ctype = request.content_type
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if ctype == "application/json":
        raw = await request.json()
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    elif ctype == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if getattr(part, "filename", None):
                files[str(part.name)] = bytes(await part.read())  # type: ignore[union-attr]
            else:
                fields[str(part.name)] = await part.text()  # type: ignore[union-attr]
    else:
        fields = {k: str(v) for k, v in (await request.post()).items()}
    return fields, files


@dataclass
class TelegramApi:
    """Bot API state: one bot, chats it may post to."""

    token: str
    chats: set[str]
    messages: list[dict[str, Any]] = field(default_factory=list)
    _next_id: dict[str, itertools.count[int]] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return tg_error(401, "Unauthorized")
        method = request.match_info["method"].lower()
        if method not in ("sendmessage", "sendphoto"):
            return tg_error(404, "Not Found")
        fields, files = await read_params(request)
        chat = fields.get("chat_id", "")
        if chat not in self.chats:
            return tg_error(400, "Bad Request: chat not found")
        photo = files.get("photo")
        text = fields.get("caption" if method == "sendphoto" else "text", "")
        if method == "sendmessage" and not text:
            return tg_error(400, "Bad Request: message text is empty")
        if method == "sendphoto" and not photo:
            return tg_error(400, "Bad Request: there is no photo in the request")
        if len(text) > (1024 if photo else 4096):
            too_long = "message caption is too long" if photo else "message is too long"
            return tg_error(400, f"Bad Request: {too_long}")
        if fields.get("parse_mode") == "MarkdownV2" and (err := check_markdown_v2(text)):
            return tg_error(400, err)
        message_id = next(self._next_id.setdefault(chat, itertools.count(1)))
        record = {"message_id": message_id, "chat_id": chat, "text": text, "photo": photo,
                  "parse_mode": fields.get("parse_mode")}  # fmt: skip
        self.messages.append(record)
        result: dict[str, Any] = {"message_id": message_id, "date": int(time.time()),
                                  "chat": {"id": chat, "type": "channel"}}  # fmt: skip
        if photo:
            result["photo"] = [{"file_id": f"photo-{message_id}", "file_size": len(photo)}]
            result["caption"] = text
        else:
            result["text"] = text
        return web.json_response({"ok": True, "result": result})


@dataclass
class TwilioApi:
    """One account's messages."""

    account_sid: str
    auth_token: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def authorised(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        want = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return auth == f"Basic {want}" and request.match_info["sid"] == self.account_sid

    async def create(self, request: web.Request) -> web.Response:
        if not self.authorised(request):
            return twilio_error(401, 20003, "Authenticate")
        fields, _ = await read_params(request)
        to, from_, body = fields.get("To", ""), fields.get("From", ""), fields.get("Body", "")
        if not _E164.match(to):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not body:
            return twilio_error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return twilio_error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        n = len(self.messages) + 1
        sid = f"SM{n:032x}"
        msg = {
            "sid": sid, "account_sid": self.account_sid, "to": to, "from": from_, "body": body,
            "status": "queued", "num_segments": str(1 + len(body) // 154),
            "direction": "outbound-api", "api_version": "2010-04-01", "price": None,
            "error_code": None, "error_message": None, "date_created": formatdate(usegmt=True),
            "date_sent": None, "date_updated": formatdate(usegmt=True),
            "messaging_service_sid": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }  # fmt: skip
        self.messages.append(msg)
        return web.json_response(msg, status=201)

    async def list(self, request: web.Request) -> web.Response:
        if not self.authorised(request):
            return twilio_error(401, 20003, "Authenticate")
        q = request.query
        size = min(int(q.get("PageSize", "50")), 1000)
        page = int(q.get("Page", "0"))
        hits = [
            m
            for m in reversed(self.messages)
            if q.get("To", m["to"]) == m["to"] and q.get("From", m["from"]) == m["from"]
        ]
        chunk = hits[page * size : (page + 1) * size]
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        keep = {k: v for k, v in q.items() if k in ("To", "From")}

        def uri(p: int) -> str:
            return (
                f"{base}?{urlencode({**keep, 'PageSize': size, 'Page': p, 'PageToken': f'PA{p}'})}"
            )

        more = (page + 1) * size < len(hits)
        return web.json_response({
            "messages": chunk, "page": page, "page_size": size, "start": page * size,
            "end": page * size + max(len(chunk) - 1, 0), "uri": uri(page), "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if more else None,
            "previous_page_uri": uri(page - 1) if page else None,
        })  # fmt: skip


@dataclass
class XApi:
    """One posting account (OAuth 1.0a user context)."""

    api_key: str
    api_secret: str
    access_token: str
    access_token_secret: str
    tweets: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, bytes] = field(default_factory=dict)
    remaining: int = 200
    _ids: itertools.count[int] = field(
        default_factory=lambda: itertools.count(1_900_000_000_000_000_001)
    )

    def rate_headers(self) -> dict[str, str]:
        return {"x-rate-limit-limit": "200", "x-rate-limit-remaining": str(max(self.remaining, 0)),
                "x-rate-limit-reset": str(int(time.time()) + 900)}  # fmt: skip

    def verify(self, request: web.Request) -> bool:
        """Check the ``Authorization: OAuth ...`` signature the way X does."""
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("OAuth "):
            return False
        params = oauth_signature.collect_parameters(
            uri_query=request.query_string,
            headers={"Authorization": auth},
            exclude_oauth_signature=False,
        )
        oauth = dict(params)
        if (
            oauth.get("oauth_consumer_key") != self.api_key
            or oauth.get("oauth_token") != self.access_token
        ):
            return False
        req: Any = OAuthRequest(str(request.url), "POST")
        req.params = [(k, v) for k, v in params if k != "oauth_signature"]
        req.signature = oauth.get("oauth_signature", "")
        return bool(
            oauth_signature.verify_hmac_sha1(req, self.api_secret, self.access_token_secret)
        )

    async def upload(self, request: web.Request) -> web.Response:
        if not self.verify(request):
            return problem(401, "Unauthorized", "Unauthorized", self.rate_headers())
        fields, files = await read_params(request)
        data = files.get("media") or base64.b64decode(fields.get("media", "") or b"")
        if not data.startswith(b"\x89PNG"):
            return problem(400, "Invalid Request", "media is not an image", self.rate_headers())
        media_id = str(next(self._ids))
        self.media[media_id] = data
        body = {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(data),
                         "expires_after_secs": 86400}}  # fmt: skip
        return web.json_response(body, headers=self.rate_headers())

    async def tweet(self, request: web.Request) -> web.Response:
        self.remaining -= 1
        if not self.verify(request):
            return problem(401, "Unauthorized", "Unauthorized", self.rate_headers())
        payload = await request.json()
        text = str(payload.get("text", ""))
        media_ids = list((payload.get("media") or {}).get("media_ids") or [])
        if any(m not in self.media for m in media_ids) or not (text or media_ids):
            return problem(
                400,
                "Invalid Request",
                "One or more parameters to your request was invalid.",
                self.rate_headers(),
            )
        if any(t["text"] == text for t in self.tweets):
            detail = "You are not allowed to create a Tweet with duplicate content."
            return problem(403, "Forbidden", detail, self.rate_headers())
        tweet_id = str(next(self._ids))
        self.tweets.append({"id": tweet_id, "text": text, "media_ids": media_ids})
        body = {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}
        return web.json_response(body, status=201, headers=self.rate_headers())
