"""The live Bybit venue: orders through ``pybit`` HTTP, updates from the private WebSocket.

* **Submit** sends ``/v5/order/create`` with ``orderLinkId`` = the order's UUID (hex), so the
  order is findable at Bybit under our id.  A business error (non-zero ``retCode``) is a venue
  rejection, except ``110072`` (that link id exists: an earlier attempt did arrive), which is
  reconciled.  A network error or timeout raises: the service then reconciles instead of
  sending again (an order is sent at most once).
* **Reconcile** (on start, and whenever a call's outcome is in doubt) asks
  ``/v5/order/realtime`` by link id and ``/v5/execution/list`` for the order's executions, and
  reports what Bybit knows: accepted, every fill (by execution id, so nothing is booked twice),
  cancelled or rejected.  An order Bybit does not know, for which it never acknowledged
  receipt, is reported rejected ("not received").  A query that fails raises: it is an error,
  never "flat".
* **The private WebSocket** (``order``, ``execution``) reports fills, acceptances, cancels and
  rejections as they happen.  ``execType`` ``Funding`` rows are funding payments, never fills.
  Executions of orders Helix did not place are not booked; they are listed in ``foreign``.
* Cancels and amends are requested over HTTP; a cancel is recorded when Bybit's order stream
  (or a reconcile) says the order is cancelled, so a fill racing the cancel is not lost.

``pybit`` is synchronous: HTTP calls run in worker threads; WebSocket callbacks arrive on
pybit's thread and are handed to the service's loop through ``sink``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from commands.orders import OrderState
from events.base import Event
from helix.venues.base import (
    Accepted,
    Cancelled,
    Fill,
    Funding,
    Modified,
    Rejected,
    Report,
    RequestRejected,
)

DUPLICATE_LINK_ID = 110072
_TIF = {"gtc": "GTC", "ioc": "IOC", "fok": "FOK", "post_only": "PostOnly"}
MS = 1_000_000


def link_id(order: OrderState) -> str:
    return order.order_id.hex


def order_of(link: str) -> uuid.UUID | None:
    """Our order id from a Bybit ``orderLinkId`` (None: not one of ours)."""
    try:
        return uuid.UUID(hex=link) if len(link) == 32 else None
    except ValueError:
        return None


class BybitVenue:
    """See the module docstring."""

    def __init__(
        self,
        http: Any,
        *,
        name: str = "bybit",
        sink: Callable[[list[Report]], None] | None = None,
    ) -> None:
        self.http = http
        self.name = name
        self.sink = sink
        self.foreign: list[dict[str, Any]] = []
        self.ws: Any = None

    # -- HTTP ----------------------------------------------------------------------------------

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        reply = await asyncio.to_thread(getattr(self.http, method), **params)
        result = reply.get("result") if isinstance(reply, dict) else None
        return result if isinstance(result, dict) else {}

    async def submit(self, order: OrderState, *, now_ns: int) -> list[Report]:
        from pybit.exceptions import InvalidRequestError

        p = order.placed
        params: dict[str, Any] = {
            "category": "linear",
            "symbol": p.symbol,
            "side": "Buy" if p.side == "buy" else "Sell",
            "orderType": "Limit" if p.order_type == "limit" else "Market",
            "qty": str(order.qty - order.cum_qty),
            "orderLinkId": link_id(order),
            "timeInForce": _TIF[p.time_in_force] if p.order_type == "limit" else "IOC",
        }
        if p.order_type == "limit" and order.limit_price is not None:
            params["price"] = str(order.limit_price)
        if p.order_type == "stop" and p.trigger_price is not None:
            params["triggerPrice"] = str(p.trigger_price)
            params["triggerDirection"] = 1 if p.side == "buy" else 2
        if p.reduce_only:
            params["reduceOnly"] = True
        try:
            result = await self._call("place_order", **params)
        except InvalidRequestError as exc:
            if getattr(exc, "status_code", None) == DUPLICATE_LINK_ID:
                return await self.reconcile([order])
            return [Rejected(order.order_id, f"bybit {getattr(exc, 'status_code', '?')}: "
                                             f"{getattr(exc, 'message', exc)}")]  # fmt: skip
        return [Accepted(order.order_id, str(result.get("orderId", "")))]

    async def balance(self) -> Decimal:
        """The unified account's USDT equity (what a new live account opens with).

        Raises:
            Exception: the query failed (an error, never a zero balance).
        """
        result = await self._call("get_wallet_balance", accountType="UNIFIED", coin="USDT")
        for acct in result.get("list", []):
            for coin in acct.get("coin", []):
                if coin.get("coin") == "USDT":
                    return Decimal(coin.get("equity") or coin.get("walletBalance") or "0")
            if acct.get("totalEquity"):
                return Decimal(acct["totalEquity"])
        raise ValueError(f"no USDT balance in Bybit's wallet answer: {str(result)[:200]}")

    async def cancel(self, order: OrderState, *, now_ns: int) -> list[Report]:
        from pybit.exceptions import InvalidRequestError

        try:
            await self._call(
                "cancel_order", category="linear", symbol=order.placed.symbol,
                orderLinkId=link_id(order),
            )  # fmt: skip
        except InvalidRequestError as exc:
            return [RequestRejected(order.order_id, "cancel", str(getattr(exc, "message", exc)))]
        return []  # recorded when Bybit reports the order cancelled

    async def amend(
        self, order: OrderState, qty: Decimal, limit_price: Decimal | None, *, now_ns: int
    ) -> list[Report]:
        from pybit.exceptions import InvalidRequestError

        params: dict[str, Any] = {"category": "linear", "symbol": order.placed.symbol,
                                  "orderLinkId": link_id(order), "qty": str(qty)}  # fmt: skip
        if limit_price is not None:
            params["price"] = str(limit_price)
        try:
            await self._call("amend_order", **params)
        except InvalidRequestError as exc:
            return [RequestRejected(order.order_id, "modify", str(getattr(exc, "message", exc)))]
        return [Modified(order.order_id, qty, limit_price)]

    async def reconcile(self, open_orders: list[OrderState]) -> list[Report]:
        out: list[Report] = []
        for order in open_orders:
            if order.placed.mode != "live" or order.status == "placed":
                continue
            found = await self._call(
                "get_open_orders", category="linear", symbol=order.placed.symbol,
                orderLinkId=link_id(order), openOnly=0,
            )  # fmt: skip
            items = [i for i in found.get("list", []) if i.get("orderLinkId") == link_id(order)]
            if not items:
                if order.status == "sent":
                    out.append(Rejected(order.order_id, "not received by bybit"))
                continue
            item = items[0]
            out.append(Accepted(order.order_id, str(item.get("orderId", ""))))
            out += await self._executions(order)
            status = item.get("orderStatus", "")
            if status in ("Cancelled", "Deactivated", "PartiallyFilledCanceled"):
                out.append(Cancelled(order.order_id, item.get("cancelType") or "cancelled"))
            elif status == "Rejected":
                out.append(Rejected(order.order_id, item.get("rejectReason") or "rejected"))
        return out

    async def _executions(self, order: OrderState) -> list[Report]:
        fills: list[Report] = []
        cursor = ""
        while True:
            params: dict[str, Any] = {"category": "linear", "symbol": order.placed.symbol,
                                      "orderLinkId": link_id(order), "limit": 100}  # fmt: skip
            if cursor:
                params["cursor"] = cursor
            page = await self._call("get_executions", **params)
            for item in page.get("list", []):
                report = self._execution(item)
                if isinstance(report, Fill):
                    fills.append(report)
            cursor = page.get("nextPageCursor") or ""
            if not cursor:
                break
        fills.sort(key=lambda f: (f.ts, f.exec_id) if isinstance(f, Fill) else (0, ""))
        return fills

    # -- WebSocket -----------------------------------------------------------------------------

    def _execution(self, item: dict[str, Any]) -> Report | None:
        kind = item.get("execType", "")
        ts = int(item.get("execTime") or 0) * MS
        if kind == "Funding":
            return Funding(self.name, item["symbol"], ts, Decimal(item.get("feeRate") or "0"),
                           Decimal(item.get("execPrice") or "0"))  # fmt: skip
        if kind != "Trade":
            return None
        oid = order_of(item.get("orderLinkId") or "")
        if oid is None:
            self.foreign.append(item)
            return None
        return Fill(
            order_id=oid,
            exec_id=str(item["execId"]),
            qty=Decimal(item["execQty"]),
            price=Decimal(item["execPrice"]),
            fee=Decimal(item.get("execFee") or "0"),
            liquidity="maker" if item.get("isMaker") in (True, "true") else "taker",
            ts=ts,
        )

    def on_ws_execution(self, frame: dict[str, Any]) -> None:
        reports = [r for r in (self._execution(i) for i in frame.get("data", [])) if r]
        if reports and self.sink is not None:
            self.sink(reports)

    def on_ws_order(self, frame: dict[str, Any]) -> None:
        out: list[Report] = []
        for item in frame.get("data", []):
            oid = order_of(item.get("orderLinkId") or "")
            if oid is None:
                continue
            status = item.get("orderStatus", "")
            if status in ("New", "PartiallyFilled", "Untriggered"):
                out.append(Accepted(oid, str(item.get("orderId", ""))))
            elif status in ("Cancelled", "Deactivated", "PartiallyFilledCanceled"):
                out.append(Cancelled(oid, item.get("cancelType") or "cancelled"))
            elif status == "Rejected":
                out.append(Rejected(oid, item.get("rejectReason") or "rejected"))
        if out and self.sink is not None:
            self.sink(out)

    def connect(self, make_ws: Callable[[], Any]) -> None:
        """Open the private WebSocket (``make_ws`` builds an authenticated pybit client)."""
        self.ws = make_ws()
        self.ws.execution_stream(callback=self.on_ws_execution)
        self.ws.order_stream(callback=self.on_ws_order)

    def close(self) -> None:
        if self.ws is not None:
            self.ws.exit()
            self.ws = None

    def on_market(self, seq: int, event: Event) -> list[Report]:
        return []
