"""One ``pybit`` public WebSocket for a set of symbols, bridged into asyncio.

pybit runs each connection on its own threads, decodes frames with ``json.loads`` and routes
them by topic; it merges ticker deltas into full snapshots itself and reconnects (and
resubscribes) on its own.  Two things it does that a feed cannot accept are wrapped here:

* a frame that is not JSON, or has no ``topic``, makes pybit close the connection and raise
  in its thread.  ``_on_message`` is replaced on the instance so such a frame is handed over as
  *garbage* (for the dead-letter subject) and the connection carries on;
* reconnects are silent.  ``_on_open`` is replaced on the instance so every reconnect is
  reported (the feed repairs the gap from REST).

Frames go into a :class:`ThreadInbox`: a deque the WebSocket threads append to (blocking when
it is full: back-pressure reaches the socket) and the event loop drains.
"""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pybit import unified_trading
from pybit.unified_trading import WebSocket

_PATCH = threading.Lock()  # pybit reads its URL from a module constant at construction


@dataclass(frozen=True)
class Inbound:
    kind: str  # "frame" | "garbage" | "reconnect"
    payload: Any  # the decoded frame, the raw text, or the connection index
    recv_ns: int
    reason: str = ""


class ThreadInbox:
    """Thread-to-asyncio hand-off with a bound (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, maxlen: int = 50_000) -> None:
        self.loop = loop
        self.maxlen = maxlen
        self._items: collections.deque[Inbound] = collections.deque()
        self._cond = threading.Condition()
        self.ready = asyncio.Event()

    def put(self, item: Inbound) -> None:
        with self._cond:
            while len(self._items) >= self.maxlen:
                self._cond.wait(0.5)
            was_empty = not self._items
            self._items.append(item)
        if was_empty:
            self.loop.call_soon_threadsafe(self.ready.set)

    def drain(self) -> list[Inbound]:
        with self._cond:
            items = list(self._items)
            self._items.clear()
            self._cond.notify_all()
        self.ready.clear()
        return items


class PublicConnection:
    """A linear public connection subscribed to trades, tickers, liquidations and 1m klines."""

    def __init__(
        self,
        url: str,
        symbols: list[str],
        *,
        index: int,
        inbox: ThreadInbox,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.url = url
        self.symbols = symbols
        self.index = index
        self.inbox = inbox
        self.clock = clock
        self.ws: WebSocket | None = None
        self.opens = 0

    def start(self) -> None:
        """Connect and subscribe (blocking: run it in a thread)."""
        with _PATCH:
            saved = unified_trading.PUBLIC_WSS
            unified_trading.PUBLIC_WSS = self.url
            try:
                ws = WebSocket(channel_type="linear", testnet=False, retries=0)
            finally:
                unified_trading.PUBLIC_WSS = saved
        ws._on_message = self._on_message  # type: ignore[method-assign]
        ws._on_open = self._on_open  # type: ignore[method-assign]
        self.ws = ws
        callback = self._on_frame
        ws.trade_stream(symbol=self.symbols, callback=callback)
        ws.ticker_stream(symbol=self.symbols, callback=callback)
        ws.all_liquidation_stream(symbol=self.symbols, callback=callback)
        ws.kline_stream(interval=1, symbol=self.symbols, callback=callback)

    def stop(self) -> None:
        if self.ws is not None:
            self.ws.exit()
            self.ws = None

    # -- called on pybit's threads -----------------------------------------------------------

    def _on_open(self) -> None:
        self.opens += 1
        self.inbox.put(Inbound("reconnect", self.index, self.clock()))

    def _on_frame(self, frame: dict[str, Any]) -> None:
        data = frame.get("data")
        if isinstance(data, dict):  # pybit hands tickers over as its live merged dict: copy it
            frame = {**frame, "data": dict(data)}
        self.inbox.put(Inbound("frame", frame, self.clock()))

    def _on_message(self, message: str) -> None:
        recv = self.clock()
        try:
            decoded = json.loads(message)
        except ValueError as exc:
            self.inbox.put(Inbound("garbage", message, recv, f"not JSON: {exc}"))
            return
        ws = self.ws
        if ws is None or ws._is_custom_pong(decoded):
            return
        try:
            ws.callback(decoded)  # pybit's router: subscription replies, ticker merge, topics
        except Exception as exc:  # pybit would kill the connection here; the feed keeps it
            self.inbox.put(Inbound("garbage", message, recv, f"{type(exc).__name__}: {exc}"))
