"""The fake CLOB WebSocket: ``/ws/market`` (public) and ``/ws/user`` (API-key auth).

Market: the first message ``{"type": "market", "assets_ids": [...]}`` subscribes and is answered
with one JSON *array* of ``book`` snapshots (one per known asset); later
``{"operation": "subscribe"|"unsubscribe", "assets_ids": [...]}`` change the set; the text
``PING`` is answered with ``PONG``.  User: the first message
``{"auth": {"apiKey", "secret", "passphrase"}, "markets": [...], "type": "user"}`` must carry an
issued key (else the socket is closed with 4001); ``order``/``trade`` frames of that key's
owner (and markets, when given) follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web


@dataclass(eq=False)
class MarketConn:
    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    assets: set[str] = field(default_factory=set)


@dataclass(eq=False)
class UserConn:
    ws: web.WebSocketResponse
    api_key: str
    markets: set[str] = field(default_factory=set)


class WsHubs:
    """Connections of both channels; every method runs on the fake's loop."""

    def __init__(
        self,
        *,
        snapshots: Callable[[list[str]], list[dict[str, Any]]],
        check_key: Callable[[str, str, str], bool],
    ) -> None:
        self.snapshots = snapshots
        self.check_key = check_key
        self.market: list[MarketConn] = []
        self.user: list[UserConn] = []
        self.market_connections = 0
        self.user_connections = 0
        self.pings = 0
        self.received: list[str] = []

    async def market_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = MarketConn(ws, request.transport)
        self.market.append(conn)
        self.market_connections += 1
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                self.received.append(msg.data)
                if msg.data == "PING":
                    self.pings += 1
                    await ws.send_str("PONG")
                    continue
                try:
                    body = json.loads(msg.data)
                except ValueError:
                    continue
                assets = [str(a) for a in body.get("assets_ids") or []]
                op = body.get("operation") or ("subscribe" if body.get("type") else "")
                if op == "unsubscribe":
                    conn.assets.difference_update(assets)
                elif op == "subscribe":
                    conn.assets.update(assets)
                    snaps = self.snapshots(assets)
                    if snaps:
                        await ws.send_str(json.dumps(snaps))
        finally:
            if conn in self.market:
                self.market.remove(conn)
        return ws

    async def user_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.user_connections += 1
        conn: UserConn | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                if msg.data == "PING":
                    await ws.send_str("PONG")
                    continue
                try:
                    body = json.loads(msg.data)
                    auth = body["auth"]
                    key, secret, phrase = auth["apiKey"], auth["secret"], auth["passphrase"]
                except (ValueError, KeyError, TypeError):
                    await ws.close(code=4000, message=b"bad subscribe")
                    break
                if not self.check_key(key, secret, phrase):
                    await ws.close(code=4001, message=b"unauthorized")
                    break
                if conn is None:
                    conn = UserConn(ws, key, set(body.get("markets") or []))
                    self.user.append(conn)
                else:
                    conn.markets.update(body.get("markets") or [])
        finally:
            if conn is not None and conn in self.user:
                self.user.remove(conn)
        return ws

    async def push_market(self, frame: Mapping[str, Any] | list[Any], assets: set[str]) -> int:
        """Send ``frame`` to market connections subscribed to any of ``assets`` (all when
        empty); returns how many got it."""
        text = json.dumps(frame)
        sent = 0
        for conn in list(self.market):
            if assets and not (conn.assets & assets):
                continue
            if not conn.ws.closed:
                await conn.ws.send_str(text)
                sent += 1
        return sent

    async def push_user(self, frame: Mapping[str, Any], *, api_key: str, market: str) -> int:
        text = json.dumps(frame)
        sent = 0
        for conn in list(self.user):
            if conn.api_key != api_key or (conn.markets and market not in conn.markets):
                continue
            if not conn.ws.closed:
                await conn.ws.send_str(text)
                sent += 1
        return sent

    def drop_market(self) -> int:
        """Abort every market connection (no close frame); returns how many."""
        n = 0
        for conn in list(self.market):
            if isinstance(conn.transport, asyncio.Transport):
                conn.transport.abort()
                n += 1
            self.market.remove(conn)
        return n

    async def close_all(self) -> None:
        for ws in [c.ws for c in self.market] + [c.ws for c in self.user]:
            with contextlib.suppress(TimeoutError, OSError, RuntimeError):
                await asyncio.wait_for(ws.close(code=1001, message=b"fake stopping"), 2.0)
        await asyncio.sleep(0)
