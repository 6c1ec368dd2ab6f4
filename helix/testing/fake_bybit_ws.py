"""The public linear WebSocket of :class:`helix.testing.fake_bybit.FakeBybit`.

Connections, subscriptions and control replies, and the publisher that turns queued plays into
frames (with the WebSocket faults applied on the way out).  Runs on the fake's event loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from helix.testing.fake_bybit_market import KLINE_INTERVALS, Batch, FakeMarket, FakeTrade

_TOPIC_KINDS = ("publicTrade", "tickers", "allLiquidation")
_GARBAGE_KINDS = 3


@dataclass
class FakeStats:
    """Counters (updated on the server thread; read them from anywhere)."""

    connections: int = 0  # WebSocket connections accepted, ever
    subscriptions: int = 0  # topics successfully subscribed, ever (resubscribes count again)
    frames_sent: int = 0  # data frames (with a topic) sent, all connections
    rest_calls: int = 0
    rate_limited: int = 0  # REST calls answered with retCode 10006
    pings: int = 0  # text {"op":"ping"} answered
    drops: int = 0  # connections aborted by drop_connections_after
    garbage_sent: int = 0
    trades_withheld: int = 0


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    conn_id: str
    topics: set[str] = field(default_factory=set)
    alive: bool = True
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class WsHub:
    """WebSocket state and the publisher (see the module docstring)."""

    def __init__(
        self,
        market: FakeMarket,
        stats: FakeStats,
        *,
        seed: int,
        reply_delay_s: float,
        served: list[FakeTrade],
        errors: list[BaseException],
    ) -> None:
        self.market = market
        self.symbols = market.symbols
        self.stats = stats
        self.seed = seed
        self.reply_delay_s = reply_delay_s
        self.served_trades = served
        self.errors = errors
        self.conns: list[_Conn] = []
        self.jobs: asyncio.Queue[tuple[int, int, float]] | None = None
        self.jobs_pending = 0
        self.jobs_lock = threading.Lock()
        self.withhold = 0  # trades still to keep off the wire
        self.garbage = 0  # malformed frames still to send
        self.drop_after: int | None = None  # data frames until every connection is aborted
        self._rr = 0  # round-robin position over symbols
        self._garbage_kind = 0

    def subscribed_topics(self) -> set[str]:
        return {t for c in list(self.conns) if c.alive for t in c.topics}

    async def close_all(self) -> None:
        """Close every connection with a close frame (1001), aborting it if that hangs."""
        for conn in list(self.conns):
            conn.alive = False
            try:
                await asyncio.wait_for(conn.ws.close(code=1001, message=b"fake stopping"), 2.0)
            except (TimeoutError, OSError, RuntimeError):
                if conn.transport is not None:
                    conn.transport.abort()

    # -- WebSocket ----------------------------------------------------------------------------

    async def handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(timeout=1.0, compress=False, autoping=True)
        await ws.prepare(request)
        self.stats.connections += 1
        conn = _Conn(ws, request.transport, f"fake-{self.seed}-{self.stats.connections}")
        self.conns.append(conn)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(conn, msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        except (ConnectionError, OSError, RuntimeError):
            conn.alive = False
        finally:
            conn.alive = False
            if conn in self.conns:
                self.conns.remove(conn)
        return ws

    async def _on_text(self, conn: _Conn, text: str) -> None:
        try:
            msg = json.loads(text)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError:
            await self._reply(conn, False, "error:invalid message", "", "")
            return
        op = msg.get("op")
        req_id = msg.get("req_id") or ""
        if not isinstance(req_id, str):
            req_id = str(req_id)
        if op == "ping":
            self.stats.pings += 1
            await self._reply(conn, True, "pong", req_id, "ping")
        elif op in ("subscribe", "unsubscribe"):
            args = msg.get("args")
            if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
                await self._reply(conn, False, "error:args must be a list of topics", req_id, op)
                return
            if self.reply_delay_s > 0:
                await asyncio.sleep(self.reply_delay_s)
            if op == "subscribe":
                await self._subscribe(conn, args, req_id)
            else:
                async with conn.lock:
                    conn.topics.difference_update(args)
                    await self._send(conn, self._reply_text(conn, True, "", req_id, op))
        else:
            await self._reply(conn, False, f"error:unsupported op {op!r}", req_id, str(op or ""))

    def _topic_error(self, conn: _Conn, topic: str) -> str | None:
        parts = topic.split(".")
        if len(parts) == 2 and parts[0] in _TOPIC_KINDS:
            symbol = parts[1]
        elif len(parts) == 3 and parts[0] == "kline" and parts[1] in KLINE_INTERVALS:
            symbol = parts[2]
        else:
            return f"error:handler not found,topic:{topic}"
        if symbol not in self.market.markets:
            return f"Invalid symbol :[{topic}]"
        if topic in conn.topics:
            return f"error:already subscribed,topic:{topic}"
        return None

    async def _subscribe(self, conn: _Conn, topics: list[str], req_id: str) -> None:
        async with conn.lock:  # reply and ticker snapshots go out before any data frame
            ok: list[str] = []
            errors: list[str] = []
            for topic in topics:
                error = self._topic_error(conn, topic)
                if error is None:
                    conn.topics.add(topic)
                    ok.append(topic)
                else:
                    errors.append(error)
            self.stats.subscriptions += len(ok)
            reply = self._reply_text(conn, not errors, ";".join(errors), req_id, "subscribe")
            await self._send(conn, reply)
            for topic in ok:
                if topic.startswith("tickers."):
                    snapshot = self.market.ticker_snapshot(topic.split(".", 1)[1])
                    if await self._send(conn, snapshot):
                        self._count_frame()

    @staticmethod
    def _reply_text(conn: _Conn, success: bool, ret_msg: str, req_id: str, op: str) -> str:
        body = {
            "success": success,
            "ret_msg": ret_msg,
            "conn_id": conn.conn_id,
            "req_id": req_id,
            "op": op,
        }
        return json.dumps(body, separators=(",", ":"))

    async def _reply(self, conn: _Conn, success: bool, ret_msg: str, req_id: str, op: str) -> None:
        async with conn.lock:
            await self._send(conn, self._reply_text(conn, success, ret_msg, req_id, op))

    async def _send(self, conn: _Conn, text: str) -> bool:
        if not conn.alive:
            return False
        try:
            await conn.ws.send_str(text)
        except (ConnectionError, OSError, RuntimeError):
            conn.alive = False
            return False
        return True

    def _count_frame(self) -> None:
        self.stats.frames_sent += 1
        if self.drop_after is not None:
            self.drop_after -= 1
            if self.drop_after <= 0:
                self.drop_after = None
                self.abort_all()

    def abort_all(self) -> None:
        for conn in list(self.conns):
            if conn.alive:
                conn.alive = False
                self.stats.drops += 1
                if conn.transport is not None:
                    conn.transport.abort()

    # -- publishing ---------------------------------------------------------------------------

    async def publish_loop(self) -> None:
        assert self.jobs is not None
        loop = asyncio.get_running_loop()
        while True:
            n, per_frame, interval = await self.jobs.get()
            try:
                deadline = loop.time()
                while n > 0:
                    symbol = self.symbols[self._rr % len(self.symbols)]
                    self._rr += 1
                    batch = self.market.generate(symbol, min(per_frame, n))
                    n -= len(batch.trades)
                    self.served_trades.extend(batch.trades)
                    await self._publish_batch(batch)
                    if interval > 0:
                        deadline += interval
                        await asyncio.sleep(max(0.0, deadline - loop.time()))
                    else:
                        await asyncio.sleep(0)
            except Exception as exc:  # surfaced by the wait_* methods
                self.errors.append(exc)
            finally:
                with self.jobs_lock:
                    self.jobs_pending -= 1

    async def _publish_batch(self, batch: Batch) -> None:
        items = batch.items
        if self.withhold:
            w = min(self.withhold, len(items))
            self.withhold -= w
            self.stats.trades_withheld += w
            items = items[w:]
        if items:
            topic = f"publicTrade.{batch.symbol}"
            head = f'{{"topic":"{topic}","type":"snapshot","ts":{batch.ts},"data":['
            text = head + ",".join(items) + "]}"
            for conn in [c for c in self.conns if c.alive and topic in c.topics]:
                if self.garbage > 0:
                    self.garbage -= 1
                    await self._send_locked(conn, self._garbage_frame(batch))
                    self.stats.garbage_sent += 1
                if await self._send_locked(conn, text):
                    self._count_frame()
        for topic, text in batch.extra:
            for conn in [c for c in self.conns if c.alive and topic in c.topics]:
                if await self._send_locked(conn, text):
                    self._count_frame()

    async def _send_locked(self, conn: _Conn, text: str) -> bool:
        async with conn.lock:
            return await self._send(conn, text)

    def _garbage_frame(self, batch: Batch) -> str:
        kind = self._garbage_kind % _GARBAGE_KINDS
        self._garbage_kind += 1
        if kind == 0:
            return '{"topic":"publicTrade.' + batch.symbol + '","data":[{"T":'  # truncated
        if kind == 1:
            return json.dumps({"type": "snapshot", "ts": batch.ts, "conn_id": "garbage"})
        t = batch.trades[0]
        item = {
            "T": t.ts_ms, "s": t.symbol, "S": t.side, "v": t.size, "p": "12,34.5x",
            "L": "PlusTick", "i": "garbage-" + t.trade_id, "BT": False, "RPI": False, "seq": 0,
        }  # fmt: skip
        topic = f"publicTrade.{batch.symbol}"
        return json.dumps({"topic": topic, "type": "snapshot", "ts": batch.ts, "data": [item]})
