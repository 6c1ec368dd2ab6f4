"""The test-facing control API of the fake's private (trading) side, mixed into ``FakeBybit``.

Every method is safe to call from any thread: it runs on the server's event loop and waits for
the result (before :meth:`FakeBybit.start` it runs in the caller's thread).  State changes made
here (prices crossing resting orders, fills, funding) are pushed to private WebSocket
subscribers like those made over REST.  Inspection methods return copies/snapshots of the
ledger records (:mod:`helix.testing.fake_bybit_ledger`), never live objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

from helix.testing.fake_bybit_ledger import Execution, Order, OrderError, Position, Update, Wallet
from helix.testing.fake_bybit_private import PrivateApi, now_ms
from helix.testing.fake_bybit_private_ws import PrivateStats
from helix.testing.server_thread import ServerThread

T = TypeVar("T")


def _decimal(name: str, value: object) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{name} must be a finite Decimal, not {value!r}")
    return value


class PrivateControls:
    """Mixin for :class:`helix.testing.fake_bybit.FakeBybit` (see the module docstring)."""

    api_key: str
    api_secret: str
    _private: PrivateApi
    _server: ServerThread
    _port: int

    # -- pybit --------------------------------------------------------------------------------

    @property
    def private_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/v5/private"

    @contextmanager
    def patch_pybit_private(self) -> Iterator[None]:
        """Point ``pybit.unified_trading.PRIVATE_WSS`` here (construct ``WebSocket`` inside)."""
        from pybit import unified_trading

        saved = unified_trading.PRIVATE_WSS
        unified_trading.PRIVATE_WSS = self.private_ws_url
        try:
            yield
        finally:
            unified_trading.PRIVATE_WSS = saved

    def pybit_private_ws(self, **kwargs: Any) -> Any:
        """A connected, authenticating pybit ``WebSocket(channel_type="private")`` using the
        fake's key unless ``api_key``/``api_secret`` are given (call its ``exit()``)."""
        from pybit.unified_trading import WebSocket

        kwargs.setdefault("api_key", self.api_key)
        kwargs.setdefault("api_secret", self.api_secret)
        with self.patch_pybit_private():
            return WebSocket(channel_type="private", testnet=False, **kwargs)

    # -- prices and matching ------------------------------------------------------------------

    def set_price(self, symbol: str, price: Decimal, *, liquidity: Decimal | None = None) -> None:
        """Set ``symbol``'s price: market orders and marketable limit orders fill at it (at
        most ``liquidity`` in total until the next call; None: any size), and resting orders
        it crosses fill now as makers at their limit price.  Before the first call a symbol's
        price is the public fake market's last trade price."""
        px = _decimal("price", price)
        liq = None if liquidity is None else _decimal("liquidity", liquidity)
        account = self._private.account
        self._apply(lambda now: account.set_price(symbol, px, liq, now))

    def price(self, symbol: str) -> Decimal:
        return self._call(lambda: self._private.account.price(symbol))

    def fill(self, order: str, qty: Decimal, price: Decimal | None = None) -> None:
        """A maker fill of ``qty`` of a resting order (by orderId, else orderLinkId), at its
        limit price unless ``price`` is given.  Raises ValueError if it cannot fill."""
        q = _decimal("qty", qty)
        px = None if price is None else _decimal("price", price)
        account = self._private.account
        self._apply(lambda now: account.fill(self._order(order), q, px, now))

    def settle_funding(self, symbol: str, rate: Decimal) -> None:
        """Settle funding at ``rate`` on ``symbol``'s position (nothing if flat): a ``Funding``
        execution, the balance and the realised PnL change, WS frames are pushed."""
        r = _decimal("rate", rate)
        account = self._private.account
        self._apply(lambda now: account.settle_funding(symbol, r, now))

    def set_fees(self, *, taker: Decimal | None = None, maker: Decimal | None = None) -> None:
        """Change the fee rates (defaults: taker 0.00055, maker 0.0002) for later fills."""

        def change() -> None:
            if taker is not None:
                self._private.account.taker_fee = _decimal("taker", taker)
            if maker is not None:
                self._private.account.maker_fee = _decimal("maker", maker)

        self._call(change)

    # -- faults -------------------------------------------------------------------------------

    def reject_next_order(self, ret_code: int, ret_msg: str) -> None:
        """Answer the next ``/v5/order/create`` (after auth) with this error; no order is
        created.  Calls queue up."""
        self._call(lambda: self._private.reject_next.append((ret_code, ret_msg)))

    def lose_next_response(self, n: int = 1, *, hang: bool = False) -> None:
        """Process the next ``n`` order create/amend/cancel requests normally (the order IS
        created, WS frames are pushed) but never answer them: abort the connection (the
        client sees a connection error), or with ``hang=True`` hold the response until the
        client gives up (its timeout)."""
        if n < 0:
            raise ValueError("n >= 0")

        def arm() -> None:
            self._private.lose_next = n
            self._private.lose_by_hanging = hang

        self._call(arm)

    def drop_private_connections(self) -> None:
        """Abort every private WebSocket connection now (no close frame)."""
        self._call(self._private.hub.abort_all)

    def pause_private_ws(self) -> None:
        """Hold private data frames (control replies still flow) until resume_private_ws."""
        self._call(lambda: setattr(self._private.hub, "paused", True))

    def resume_private_ws(self) -> None:
        """Send the held frames, in order, to the connections subscribed now."""
        if self._server.loop is None:
            self._private.hub.paused = False
            return
        self._server.run(self._private.hub.resume())

    # -- inspection ---------------------------------------------------------------------------

    @property
    def order_create_calls(self) -> int:
        """``POST /v5/order/create`` requests received so far, whatever their outcome
        (bad signature, rejected, duplicate, response lost)."""
        return self._private.create_calls

    @property
    def private_stats(self) -> PrivateStats:
        return self._private.hub.stats

    def orders(self, symbol: str | None = None) -> list[Order]:
        """Every order ever accepted (open and closed), oldest first."""
        return self._call(
            lambda: [
                replace(o)
                for o in self._private.account.orders.values()
                if symbol is None or o.symbol == symbol
            ]
        )

    def order(self, order: str) -> Order:
        """One order by orderId, else orderLinkId (KeyError if unknown)."""
        return self._call(lambda: replace(self._order(order)))

    def executions(self, symbol: str | None = None) -> list[Execution]:
        """Every execution (``Trade`` and ``Funding``), oldest first."""
        return self._call(
            lambda: [
                e for e in self._private.account.executions if symbol is None or e.symbol == symbol
            ]
        )

    def positions(self) -> list[Position]:
        """Snapshots (mark = current price) of every symbol ever traded, flat ones included."""
        account = self._private.account
        return self._call(lambda: [account.position(s) for s in account.positions])

    def wallet(self) -> Wallet:
        return self._call(self._private.account.wallet)

    def wait_private_subscribed(self, *topics: str, timeout: float = 5.0) -> None:
        """Block until each topic has an authenticated subscriber."""
        hub = self._private.hub
        self._poll(lambda: set(topics) <= hub.subscribed_topics(), timeout, f"{topics}")

    def wait_private_connections(self, n: int, timeout: float = 5.0) -> None:
        """Block until ``n`` private connections were accepted in total."""
        stats = self._private.hub.stats
        self._poll(lambda: stats.connections >= n, timeout, f"{n} private connections")

    # -- plumbing -----------------------------------------------------------------------------

    def _order(self, ref: str) -> Order:
        account = self._private.account
        try:
            return account.find(order_id=ref) if ref in account.orders else account.find(None, ref)
        except OrderError:
            raise KeyError(f"no order with orderId or orderLinkId {ref!r}") from None

    def _call(self, fn: Callable[[], T]) -> T:
        if self._server.loop is None:
            return fn()
        return self._server.call(fn)

    def _apply(self, fn: Callable[[int], list[Update]]) -> None:
        if self._server.loop is None:
            fn(now_ms())  # nobody can be subscribed
            return

        async def run() -> None:
            await self._private.publish(fn(now_ms()))

        self._server.run(run())

    def _poll(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        self._server.wait(cond, timeout, what, poll=0.002)
