"""A local fake of the broadcast channels' HTTP APIs: Telegram Bot API, Twilio and X, on one
loopback port (the paths tell them apart, so each ``HELIX_*_API_URL`` is just :attr:`url`)::

    with FakeChannels() as fake:
        env = fake.environ()                       # HELIX_* settings and secrets pointing here
        fake.fail("telegram", 429, retry_after=1)  # the next sendMessage answers flood control
        fake.hold("sms")                           # the next SMS is taken, its answer held
        ...
        fake.wait_for("telegram", 1, timeout=5)
        assert [m["text"] for m in fake.telegram.messages] == [...]

The server (aiohttp) runs on its own thread and loop
(:class:`~helix.testing.server_thread.ServerThread`), like
:class:`~helix.testing.fake_bybit.FakeBybit`.  Faults apply to the next *sending* requests
(``sendMessage``/``sendPhoto``, a Twilio create, ``POST /2/tweets``) in order:

* :meth:`fail` answers an error status the real API uses (429 with its own rate-limit body and
  headers, 5xx) without acting;
* :meth:`hold` acts (the message is delivered and recorded) and then does not answer until
  :meth:`release`: the window a broadcaster can be killed in, "sent" but not "recorded".

The wire formats are in :mod:`helix.testing.fake_channels_http`; the SMTP server is
:mod:`helix.testing.fake_channels_smtp`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from helix.testing.fake_channels_http import (
    TelegramApi,
    TwilioApi,
    XApi,
    problem,
    tg_error,
    twilio_error,
)
from helix.testing.server_thread import ServerThread

Api = Literal["telegram", "sms", "x"]
Handler = Callable[[web.Request], Awaitable[web.Response]]

BOT_TOKEN = "123456:fake-bot-token-AAAA"  # noqa: S105 - a loopback fake's test secrets
CHAT_ID = "@helix_signals"
TWILIO_SID = "AC" + "0" * 31 + "1"
TWILIO_TOKEN = "fake-twilio-auth-token"  # noqa: S105
TWILIO_FROM = "+15005550006"
SMS_TO = "+15005550010"
X_KEYS = ("fake-x-api-key", "fake-x-api-secret", "fake-x-access-token", "fake-x-access-secret")


@dataclass(frozen=True)
class Fault:
    status: int | None  # None: hold (act, then answer only when released)
    retry_after: int | None = None


class FakeChannels:
    """See the module docstring.  Use as a context manager or call start()/stop()."""

    def __init__(self) -> None:
        self.telegram = TelegramApi(BOT_TOKEN, {CHAT_ID})
        self.twilio = TwilioApi(TWILIO_SID, TWILIO_TOKEN)
        self.x = XApi(*X_KEYS)
        self.requests: list[tuple[str, str, str]] = []  # (api, method, path)
        self._faults: dict[Api, deque[Fault]] = {"telegram": deque(), "sms": deque(), "x": deque()}
        self._lock = threading.Lock()
        self._held = 0
        self._release: asyncio.Event | None = None
        self._server = ServerThread("FakeChannels", thread_name="fake-channels")
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeChannels:
        [self._port] = self._server.start(self._startup)
        return self

    async def _startup(self, socks: list[socket.socket]) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._guard("telegram", self.telegram.handle))
        path = "/2010-04-01/Accounts/{sid}/Messages.json"
        app.router.add_post(path, self._guard("sms", self.twilio.create))
        app.router.add_get(path, self._plain("sms", self.twilio.list))
        app.router.add_post("/2/tweets", self._guard("x", self.x.tweet))
        app.router.add_post("/2/media/upload", self._plain("x", self.x.upload))
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, socks[0]).start()

    def stop(self) -> None:
        self._server.stop(self._runner.cleanup if self._runner is not None else None, timeout=10)

    def __enter__(self) -> FakeChannels:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def environ(self) -> dict[str, str]:
        """``HELIX_*`` settings and secrets for the three HTTP channels, pointing here."""
        return {
            "HELIX_TELEGRAM_API_URL": self.url, "HELIX_TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "HELIX_TELEGRAM_CHAT_ID": CHAT_ID,
            "HELIX_X_API_URL": self.url, "HELIX_X_API_KEY": X_KEYS[0],
            "HELIX_X_API_SECRET": X_KEYS[1], "HELIX_X_ACCESS_TOKEN": X_KEYS[2],
            "HELIX_X_ACCESS_TOKEN_SECRET": X_KEYS[3],
            "HELIX_TWILIO_API_URL": self.url, "HELIX_TWILIO_ACCOUNT_SID": TWILIO_SID,
            "HELIX_TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "HELIX_TWILIO_FROM": TWILIO_FROM,
            "HELIX_SMS_TO": SMS_TO,
        }  # fmt: skip

    # -- faults -------------------------------------------------------------------------------

    def fail(
        self, api: Api, status: int, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        """The next ``times`` sends on ``api`` answer ``status`` without acting."""
        with self._lock:
            self._faults[api].extend(Fault(status, retry_after) for _ in range(times))

    def hold(self, api: Api) -> None:
        """The next send on ``api`` is delivered, then its answer is held until :meth:`release`."""
        with self._lock:
            self._faults[api].append(Fault(None))

    def wait_holding(self, n: int = 1, timeout: float = 10.0) -> None:
        """Block until ``n`` held requests have been delivered (and wait to answer)."""
        deadline = time.monotonic() + timeout
        while self._held < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self._held} requests held, waited for {n}")
            time.sleep(0.01)

    def release(self) -> None:
        """Answer the held requests."""
        self._held = 0
        if self._release is not None:
            self._server.call_soon(self._release.set)

    def count(self, api: Api) -> int:
        return {"telegram": len(self.telegram.messages), "sms": len(self.twilio.messages),
                "x": len(self.x.tweets)}[api]  # fmt: skip

    def wait_for(self, api: Api, n: int, timeout: float = 10.0) -> None:
        """Block until ``api`` holds at least ``n`` delivered messages."""
        deadline = time.monotonic() + timeout
        while self.count(api) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{api}: {self.count(api)} messages, waited for {n}")
            time.sleep(0.01)

    # -- plumbing -----------------------------------------------------------------------------

    def _plain(self, api: Api, handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.Response:
            self.requests.append((api, request.method, request.path))
            return await handler(request)

        return wrapped

    def _guard(self, api: Api, handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.Response:
            self.requests.append((api, request.method, request.path))
            with self._lock:
                fault = self._faults[api].popleft() if self._faults[api] else None
            if fault is None:
                return await handler(request)
            if fault.status is not None:
                return _error(api, fault)
            response = await handler(request)  # delivered; now the answer waits
            self._held += 1
            assert self._release is not None
            await self._release.wait()
            return response

        return wrapped


def _error(api: Api, fault: Fault) -> web.Response:
    status, wait = fault.status or 500, fault.retry_after
    if api == "telegram":
        if status == 429:
            return tg_error(
                429, f"Too Many Requests: retry after {wait or 1}", retry_after=wait or 1
            )
        return tg_error(status, "Internal Server Error" if status >= 500 else "Bad Request")
    if api == "sms":
        if status == 429:  # Twilio documents no Retry-After: the client backs off itself
            return twilio_error(429, 20429, "Too Many Requests")
        return twilio_error(status, 20500, "Internal Server Error")
    headers = {"x-rate-limit-limit": "200", "x-rate-limit-remaining": "0" if status == 429 else "1",
               "x-rate-limit-reset": str(int(time.time()) + (wait or 0))}  # fmt: skip
    if status == 429:
        return problem(429, "Too Many Requests", "Too Many Requests", headers)
    return problem(status, "Service Unavailable", "Service Unavailable", headers)
