"""The private REST endpoints of :class:`helix.testing.fake_bybit.FakeBybit` (signed, as Bybit).

``POST /v5/order/{create,amend,cancel}``, ``GET /v5/order/realtime``, ``GET /v5/position/list``,
``GET /v5/execution/list`` and ``GET /v5/account/wallet-balance`` (category ``linear``,
account ``UNIFIED``) over a :class:`~helix.testing.fake_bybit_account.FakeAccount`, with state
changes pushed to the :class:`~helix.testing.fake_bybit_private_ws.PrivateHub`.

Every request must be signed: ``X-BAPI-SIGN = hex(HMAC_SHA256(secret, timestamp + api_key +
recv_window + payload))`` where the payload is the *raw* query string (GET) or the raw body
bytes (POST) exactly as received.  Wrong key: 10003; timestamp outside
``[now - recv_window, now + 1000)``: 10002; wrong signature: 10004.  Every answer is HTTP 200
in Bybit's envelope, errors with a non-zero ``retCode``.

Queries: ``order/realtime`` lists open orders, newest first (``limit`` <= 50, cursor paging),
closed ones with ``openOnly=1``, and any order when ``orderId``/``orderLinkId`` is given (the
fake keeps every closed order).  ``position/list`` by ``symbol`` (flat positions included) or
``settleCoin`` (open positions only).  ``execution/list`` is newest first over a window of at
most 7 days (default: the last 7 days), filtered by ``symbol``/``orderId``/``orderLinkId``/
``execType``, ``limit`` <= 100, cursor paging; ``Funding`` rows appear next to ``Trade`` rows.

Faults (set through FakeBybit): ``reject_next`` answers the next order creations with a given
error and creates nothing; ``lose_next`` processes the next order create/amend/cancel requests
but never answers them (the connection is aborted, or held until the client gives up).
Not modelled: rate limits on private endpoints, batch endpoints, ``cancel-all``, order
history, closed PnL, transaction log, set-leverage/trading-stop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from helix.testing.fake_bybit_account import FakeAccount
from helix.testing.fake_bybit_ledger import (
    Execution,
    Order,
    OrderError,
    OrderRequest,
    Position,
    Update,
    params_error,
)
from helix.testing.fake_bybit_private_ws import PrivateHub
from helix.testing.fake_bybit_wire import execution_item, order_item, position_item, wallet_item

WEEK_MS = 7 * 24 * 3_600_000
CREATE = "/v5/order/create"
Params = dict[str, Any]
Reply = tuple[dict[str, Any], list[Update]]  # (result, account updates to push)
Handler = Callable[[Params, int], Reply]


def now_ms() -> int:
    return int(time.time() * 1000)


def rest_signature(secret: str, timestamp: str, api_key: str, recv_window: str, raw: bytes) -> str:
    """Bybit's REST HMAC signature over the raw payload."""
    payload = f"{timestamp}{api_key}{recv_window}".encode() + raw
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


class PrivateApi:
    """The private REST handlers, the faults and WS publishing (on the fake's event loop)."""

    def __init__(
        self, account: FakeAccount, hub: PrivateHub, *, api_key: str, api_secret: str
    ) -> None:
        self.account = account
        self.hub = hub
        self.api_key = api_key
        self.api_secret = api_secret
        self.create_calls = 0  # POST /v5/order/create requests received, whatever became of them
        self.reject_next: list[tuple[int, str]] = []
        self.lose_next = 0
        self.lose_by_hanging = False

    def add_routes(self, app: web.Application) -> None:
        for path, fn in (
            (CREATE, self._create),
            ("/v5/order/amend", self._amend),
            ("/v5/order/cancel", self._cancel),
        ):
            app.router.add_post(path, self._route(fn, trading=True))
        for path, fn in (
            ("/v5/order/realtime", self._realtime),
            ("/v5/position/list", self._positions),
            ("/v5/execution/list", self._executions),
            ("/v5/account/wallet-balance", self._wallet),
        ):
            app.router.add_get(path, self._route(fn, trading=False))

    async def publish(self, updates: list[Update]) -> None:
        """Render the account's updates and push them to the private WebSocket."""
        items: list[tuple[str, dict[str, Any]]] = []
        for topic, obj in updates:
            if isinstance(obj, Order):
                items.append((topic, order_item(obj, self.account.rules[obj.symbol])))
            elif isinstance(obj, Execution):
                items.append((topic, execution_item(obj, self.account.rules[obj.symbol])))
            elif isinstance(obj, Position):
                rules = self.account.rules[obj.symbol]
                items.append((topic, position_item(obj, rules, ws=True)))
            else:
                items.append((topic, wallet_item(obj)))
        await self.hub.publish(items)

    # -- orders -------------------------------------------------------------------------------

    def _create(self, p: Params, now: int) -> Reply:
        if self.reject_next:
            code, msg = self.reject_next.pop(0)
            raise OrderError(code, msg)
        _linear(p)
        if p.get("positionIdx") not in (None, 0, "0"):
            raise params_error("position idx not match position mode (one-way only)")
        if _dec(p, "triggerPrice"):
            raise params_error("conditional orders (triggerPrice) are not modelled by the fake")
        order_type = str(p.get("orderType", ""))
        req = OrderRequest(
            symbol=str(p.get("symbol", "")),
            side=str(p.get("side", "")),
            order_type=order_type,
            qty=_dec(p, "qty") or Decimal(0),
            price=_dec(p, "price") if order_type == "Limit" else None,
            time_in_force=str(p.get("timeInForce") or "GTC"),
            order_link_id=str(p.get("orderLinkId") or ""),
            reduce_only=_bool(p, "reduceOnly"),
            take_profit=_dec(p, "takeProfit") or None,  # "0": none
            stop_loss=_dec(p, "stopLoss") or None,
        )
        order, updates = self.account.place(req, now)
        return _ids(order), updates

    def _amend(self, p: Params, now: int) -> Reply:
        order = self._find(p)
        return _ids(order), self.account.amend(order, _dec(p, "qty"), _dec(p, "price"), now)

    def _cancel(self, p: Params, now: int) -> Reply:
        order = self._find(p)
        return _ids(order), self.account.cancel(order, now)

    def _find(self, p: Params) -> Order:
        _linear(p)
        oid, link = str(p.get("orderId") or ""), str(p.get("orderLinkId") or "")
        if not oid and not link:
            raise params_error("orderId or orderLinkId is required")
        if not p.get("symbol"):
            raise params_error("symbol is required")
        order = self.account.find(oid or None, link or None)
        if order.symbol != p["symbol"]:
            raise OrderError(110001, "order not exists or too late to cancel")
        return order

    # -- queries ------------------------------------------------------------------------------

    def _realtime(self, p: Params, now: int) -> Reply:
        _linear(p)
        symbol, base, settle = p.get("symbol"), p.get("baseCoin"), p.get("settleCoin")
        oid, link = p.get("orderId"), p.get("orderLinkId")
        if not (symbol or base or settle or oid or link):
            raise params_error("symbol, baseCoin, settleCoin, orderId or orderLinkId is required")
        open_only = p.get("openOnly", "0")
        if open_only not in ("0", "1"):
            raise params_error("openOnly must be 0 (open orders) or 1 (closed orders)")
        closed: list[Order] = []
        rows: list[Order] = []
        for o in reversed(self.account.orders.values()):
            if (
                (symbol and o.symbol != symbol)
                or (base and o.symbol != f"{base}USDT")
                or (settle and settle != "USDT")
                or (oid and o.order_id != oid)
                or (link and o.order_link_id != link)
            ):
                continue
            if oid or link or (o.is_open and open_only == "0"):
                rows.append(o)
            elif not o.is_open and open_only == "1" and len(closed) < 500:
                closed.append(o)
        page, cursor = _page(rows + closed, p, default=20, maximum=50)
        items = [order_item(o, self.account.rules[o.symbol]) for o in page]
        return {"category": "linear", "list": items, "nextPageCursor": cursor}, []

    def _positions(self, p: Params, now: int) -> Reply:
        _linear(p)
        symbol, settle = p.get("symbol"), p.get("settleCoin")
        if symbol:
            if symbol not in self.account.rules:
                raise params_error(f"symbol invalid: {symbol!r}")
            positions = [self.account.position(symbol)]
        elif settle:
            positions = [
                self.account.position(s)
                for s, pos in self.account.positions.items()
                if pos.qty != 0 and settle == "USDT"
            ]
        else:
            raise params_error("symbol or settleCoin is required")
        page, cursor = _page(positions, p, default=20, maximum=200)
        items = [position_item(x, self.account.rules[x.symbol], ws=False) for x in page]
        return {"category": "linear", "list": items, "nextPageCursor": cursor}, []

    def _executions(self, p: Params, now: int) -> Reply:
        _linear(p)
        start_at, end_at = _int(p, "startTime"), _int(p, "endTime")
        if start_at is None:
            end = now if end_at is None else end_at
            start = end - WEEK_MS
        else:
            start = start_at
            end = start + WEEK_MS if end_at is None else end_at
        if not 0 <= end - start <= WEEK_MS:
            raise params_error("startTime <= endTime and at most 7 days apart")
        limit = _int(p, "limit") or 50
        if not 1 <= limit <= 100:
            raise params_error("limit must be in [1, 100]")
        cursor = str(p.get("cursor") or "")
        if cursor and not (cursor.startswith("seq:") and cursor[4:].isdigit()):
            raise params_error("invalid cursor")
        before = int(cursor[4:]) if cursor else None
        filters = {k: p.get(k) for k in ("symbol", "orderId", "orderLinkId", "execType")}
        rows = [
            e
            for e in reversed(self.account.executions)
            if start <= e.exec_time <= end
            and (before is None or e.seq < before)
            and all(not v or _field(e, k) == v for k, v in filters.items())
        ]
        page = rows[:limit]
        items = [execution_item(e, self.account.rules[e.symbol]) for e in page]
        next_cursor = f"seq:{page[-1].seq}" if len(rows) > limit else ""
        return {"category": "linear", "list": items, "nextPageCursor": next_cursor}, []

    def _wallet(self, p: Params, now: int) -> Reply:
        if p.get("accountType") != "UNIFIED":
            raise params_error("accountType only support UNIFIED")
        item = wallet_item(self.account.wallet())
        coins = p.get("coin")
        if coins and "USDT" not in str(coins).split(","):
            item["coin"] = []
        return {"list": [item]}, []

    # -- plumbing -----------------------------------------------------------------------------

    def _route(self, fn: Handler, *, trading: bool) -> Callable[[web.Request], Awaitable[Any]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            if request.path == CREATE:
                self.create_calls += 1
            raw = await request.read() if trading else request.rel_url.raw_query_string.encode()
            now = now_ms()
            updates: list[Update] = []
            try:
                self._authenticate(request, raw, now)
                result, updates = fn(self._params(raw, trading), now)
                code, msg = 0, "OK"
            except OrderError as exc:
                result, code, msg = {}, exc.code, exc.msg
            await self.publish(updates)
            if trading and self.lose_next > 0:
                self.lose_next -= 1
                await self._lose(request)
            body = {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now}
            return web.Response(
                text=json.dumps(body, separators=(",", ":")), content_type="application/json"
            )

        return handle

    async def _lose(self, request: web.Request) -> None:
        transport = request.transport
        if not self.lose_by_hanging:
            if transport is not None:
                transport.abort()
            return
        for _ in range(60_000):  # hold until the client gives up (at most ~10 minutes)
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            await asyncio.sleep(0.01)

    def _authenticate(self, request: web.Request, raw: bytes, now: int) -> None:
        headers = request.headers
        key = headers.get("X-BAPI-API-KEY", "")
        if key != self.api_key:
            raise OrderError(10003, "API key is invalid.")
        ts, recv = headers.get("X-BAPI-TIMESTAMP", ""), headers.get("X-BAPI-RECV-WINDOW", "5000")
        try:
            ts_ms, window = int(ts), int(recv)
        except ValueError:
            raise OrderError(10002, "invalid X-BAPI-TIMESTAMP or X-BAPI-RECV-WINDOW") from None
        if not now - window <= ts_ms < now + 1000:
            raise OrderError(
                10002,
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{ts_ms}],server_timestamp[{now}],recv_window[{window}]",
            )
        expected = rest_signature(self.api_secret, ts, key, recv, raw)
        if not hmac.compare_digest(headers.get("X-BAPI-SIGN", ""), expected):
            origin = f"{ts}{key}{recv}{raw.decode(errors='replace')}"
            raise OrderError(10004, f"error sign! origin_string[{origin}]")

    @staticmethod
    def _params(raw: bytes, post: bool) -> Params:
        if not post:
            return dict(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
        try:
            params = json.loads(raw or b"{}")
        except ValueError:
            raise params_error("request body is not JSON") from None
        if not isinstance(params, dict):
            raise params_error("request body must be a JSON object")
        return params


def _linear(p: Params) -> None:
    if p.get("category") != "linear":
        raise params_error(f"category {p.get('category')!r} not served (linear only)")


def _dec(p: Params, name: str) -> Decimal | None:
    value = p.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise params_error(f"{name} must be a decimal string")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise params_error(f"{name} {value!r} is not a number") from None
    if not number.is_finite():
        raise params_error(f"{name} {value!r} is not a number")
    return number


def _int(p: Params, name: str) -> int | None:
    value = p.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise params_error(f"{name} must be an integer") from None


def _bool(p: Params, name: str) -> bool:
    value = p.get(name, False)
    if value in (True, "true", "True"):
        return True
    if value in (False, None, "", "false", "False"):
        return False
    raise params_error(f"{name} must be true or false")


def _page(rows: list[Any], p: Params, *, default: int, maximum: int) -> tuple[list[Any], str]:
    limit = _int(p, "limit") or default
    if not 1 <= limit <= maximum:
        raise params_error(f"limit must be in [1, {maximum}]")
    cursor = str(p.get("cursor") or "")
    if cursor and not (cursor.startswith("page:") and cursor[5:].isdigit()):
        raise params_error("invalid cursor")
    offset = int(cursor[5:]) if cursor else 0
    more = offset + limit < len(rows)
    return rows[offset : offset + limit], f"page:{offset + limit}" if more else ""


def _field(e: Execution, name: str) -> str:
    return {
        "symbol": e.symbol,
        "orderId": e.order_id,
        "orderLinkId": e.order_link_id,
        "execType": e.exec_type,
    }[name]


def _ids(order: Order) -> dict[str, Any]:
    return {"orderId": order.order_id, "orderLinkId": order.order_link_id}
