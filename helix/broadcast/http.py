"""One HTTP call for the channel clients (aiohttp), with failures sorted by what they mean.

An exception raised before the request could have reached the far side (no connection, a
connect timeout) is ``not_sent``; one raised after (a read timeout, a dropped connection, an
unreadable answer) is ``unknown``.  Reasons carry the exception's class name only: aiohttp's
messages can quote the URL, and a Telegram URL holds the bot token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from helix.broadcast.channel import Refused

# aiohttp >= 3.10 tells a connect timeout (nothing sent) from a read timeout (maybe sent);
# older versions raise one ServerTimeoutError for both, which is then taken as unknown.
_CONNECT_TIMEOUT: type[Exception] = getattr(
    aiohttp, "ConnectionTimeoutError", aiohttp.ClientConnectorError
)


@dataclass(frozen=True)
class Answer:
    """A response that arrived: status, headers and the JSON body (None if not JSON)."""

    status: int
    headers: dict[str, str]
    body: Any


def new_session(timeout_s: float) -> aiohttp.ClientSession:
    """A session with a total timeout per request (call inside a running loop)."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))


async def call(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> Answer | Refused:
    """Make one request; never raises for network trouble (see the module docstring)."""
    try:
        async with session.request(method, url, allow_redirects=False, **kwargs) as resp:
            raw = await resp.read()
            headers = {k: v for k, v in resp.headers.items()}
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            return Answer(resp.status, headers, body)
    except (aiohttp.ClientConnectorError, _CONNECT_TIMEOUT) as exc:
        return Refused("not_sent", f"cannot connect ({type(exc).__name__})", retryable=True)
    except (TimeoutError, aiohttp.ClientError) as exc:
        return Refused("unknown", f"no answer ({type(exc).__name__})", retryable=True)
