"""The private WebSocket (``/v5/private``) of :class:`helix.testing.fake_bybit.FakeBybit`.

Control messages as on Bybit: ``{"op":"auth","args":[key, expires_ms, sign]}`` where
``sign = hex(HMAC_SHA256(secret, "GET/realtime" + str(expires_ms)))`` and ``expires_ms`` is in
the future; ``subscribe``/``unsubscribe`` (only after auth) to ``order``, ``execution``,
``position`` and ``wallet`` (the all-in-one topics; ``order.linear`` and the like are not
served), echoing ``req_id``; ``{"op":"ping"}`` answered with
``{"op":"pong","args":["<ms>"],...}``.  Replies to auth and (un)subscribe are sent
``reply_delay_s`` after the request, like the public hub, because pybit registers a topic's
callback only after sending the request.

Data frames: ``{"id":..,"topic":..,"creationTime":ms,"data":[item]}``, one per state change,
in the order the account produced them, to every authenticated connection subscribed to the
topic.  There is no snapshot on subscribe.  Faults: :meth:`PrivateHub.abort_all` (no close
frame: pybit reconnects, re-authenticates and resubscribes) and ``paused`` (frames are held
and sent on :meth:`PrivateHub.resume` to whoever is subscribed then).  Runs on the fake's
event loop.  The ``ret_msg`` texts of failures are the fake's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TOPICS = ("order", "execution", "position", "wallet")


def ws_signature(secret: str, expires_ms: int) -> str:
    """Bybit's private WebSocket auth signature."""
    return hmac.new(
        secret.encode(), f"GET/realtime{expires_ms}".encode(), hashlib.sha256
    ).hexdigest()


@dataclass
class PrivateStats:
    """Counters of the private WebSocket (updated on the server thread; read from anywhere)."""

    connections: int = 0  # accepted, ever
    auths: int = 0  # successful auth requests
    auth_failures: int = 0
    subscriptions: int = 0  # topics subscribed, ever (resubscribes count again)
    frames_sent: int = 0  # data frames, all connections
    pings: int = 0
    drops: int = 0  # connections aborted by abort_all


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    conn_id: str
    authed: bool = False
    topics: set[str] = field(default_factory=set)
    alive: bool = True
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class PrivateHub:
    """Connections, auth, subscriptions and data frames (see the module docstring)."""

    def __init__(self, *, api_key: str, api_secret: str, reply_delay_s: float) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.reply_delay_s = reply_delay_s
        self.stats = PrivateStats()
        self.conns: list[_Conn] = []
        self.paused = False
        self._held: list[tuple[str, str]] = []  # (topic, frame) while paused
        self._frame_id = 0

    def subscribed_topics(self) -> set[str]:
        return {t for c in list(self.conns) if c.alive and c.authed for t in c.topics}

    # -- connections --------------------------------------------------------------------------

    async def handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(timeout=1.0, compress=False, autoping=True)
        await ws.prepare(request)
        self.stats.connections += 1
        conn = _Conn(ws, request.transport, f"fake-private-{self.stats.connections}")
        self.conns.append(conn)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(conn, msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        except (ConnectionError, OSError, RuntimeError):
            pass
        finally:
            conn.alive = False
            if conn in self.conns:
                self.conns.remove(conn)
        return ws

    def abort_all(self) -> None:
        """Abort every connection (no close frame)."""
        for conn in list(self.conns):
            if conn.alive:
                conn.alive = False
                self.stats.drops += 1
                if conn.transport is not None:
                    conn.transport.abort()

    async def close_all(self) -> None:
        for conn in list(self.conns):
            conn.alive = False
            try:
                await asyncio.wait_for(conn.ws.close(code=1001, message=b"fake stopping"), 2.0)
            except (TimeoutError, OSError, RuntimeError):
                if conn.transport is not None:
                    conn.transport.abort()

    # -- control messages ---------------------------------------------------------------------

    async def _on_text(self, conn: _Conn, text: str) -> None:
        try:
            msg = json.loads(text)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError:
            await self._reply(conn, {"success": False, "ret_msg": "error:invalid message"})
            return
        op = msg.get("op")
        req_id = str(msg.get("req_id") or "")
        args = msg.get("args")
        if op == "ping":
            self.stats.pings += 1
            pong = {"req_id": req_id, "op": "pong", "args": [str(_now_ms())]}
            await self._reply(conn, pong)
            return
        if op not in ("auth", "subscribe", "unsubscribe"):
            await self._reply(conn, _result(False, f"error:unsupported op {op!r}", req_id, op))
            return
        if self.reply_delay_s > 0:
            await asyncio.sleep(self.reply_delay_s)
        if op == "auth":
            error = self._auth_error(conn, args)
            if error:
                self.stats.auth_failures += 1
            else:
                conn.authed = True
                self.stats.auths += 1
            await self._reply(conn, _result(not error, error, req_id, "auth"))
        elif not conn.authed:
            await self._reply(conn, _result(False, "error:request not authorized", req_id, op))
        elif not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            await self._reply(conn, _result(False, "error:args must be topics", req_id, op))
        elif op == "subscribe":
            bad = [a for a in args if a not in TOPICS or a in conn.topics]
            errors = ";".join(f"error:topic {a} unknown or already subscribed" for a in bad)
            async with conn.lock:  # the reply goes out before any frame of these topics
                conn.topics.update(a for a in args if a not in bad)
                self.stats.subscriptions += len(args) - len(bad)
                await self._send(conn, _text(conn, _result(not bad, errors, req_id, op)))
        else:
            conn.topics.difference_update(args)
            await self._reply(conn, _result(True, "", req_id, op))

    def _auth_error(self, conn: _Conn, args: Any) -> str:
        if conn.authed:
            return "error:already authenticated"
        if not isinstance(args, list) or len(args) != 3:
            return "error:params error, args must be [api_key, expires, signature]"
        key, expires, sign = args
        if key != self.api_key:
            return "error:invalid api_key"
        if not isinstance(expires, int) or isinstance(expires, bool):
            return "error:params error, expires must be an integer (ms)"
        if expires <= _now_ms():
            return "error:request expired"
        if not isinstance(sign, str) or not hmac.compare_digest(
            sign, ws_signature(self.api_secret, expires)
        ):
            return "error:signature verification failed"
        return ""

    async def _reply(self, conn: _Conn, body: dict[str, Any]) -> None:
        async with conn.lock:
            await self._send(conn, _text(conn, body))

    async def _send(self, conn: _Conn, text: str) -> bool:
        if not conn.alive:
            return False
        try:
            await conn.ws.send_str(text)
        except (ConnectionError, OSError, RuntimeError):
            conn.alive = False
            return False
        return True

    # -- data ---------------------------------------------------------------------------------

    async def publish(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """One frame per ``(topic, item)``, in order (held while paused)."""
        for topic, item in items:
            self._frame_id += 1
            frame = {
                "id": f"fake-{self._frame_id}",
                "topic": topic,
                "creationTime": _now_ms(),
                "data": [item],
            }
            text = json.dumps(frame, separators=(",", ":"))
            if self.paused:
                self._held.append((topic, text))
            else:
                await self._broadcast(topic, text)

    async def resume(self) -> None:
        self.paused = False
        held, self._held = self._held, []
        for topic, text in held:
            await self._broadcast(topic, text)

    async def _broadcast(self, topic: str, text: str) -> None:
        for conn in [c for c in self.conns if c.alive and c.authed and topic in c.topics]:
            async with conn.lock:
                if await self._send(conn, text):
                    self.stats.frames_sent += 1


def _result(success: bool, ret_msg: str, req_id: str, op: Any) -> dict[str, Any]:
    return {"success": success, "ret_msg": ret_msg, "op": str(op or ""), "req_id": req_id}


def _text(conn: _Conn, body: dict[str, Any]) -> str:
    return json.dumps({**body, "conn_id": conn.conn_id}, separators=(",", ":"))


def _now_ms() -> int:
    return int(time.time() * 1000)
