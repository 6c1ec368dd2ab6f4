"""The fake Gamma and Data API (no auth, real query parameters, real shapes).

Gamma ``GET /markets`` (``limit``, ``offset``, ``active``, ``closed``, ``condition_ids``,
``clob_token_ids``, ``slug``, ``id``: a bare JSON array), ``GET /markets/keyset`` (the SDK's
``{"markets", "next_cursor"}``), ``GET /events`` (markets grouped by their first event).
Data API v1 ``GET /trades`` (``user``, ``market`` comma list, ``side``, ``start``, ``end``,
``limit``, ``offset``), ``/activity`` (``user``, ``type``, ``start``), ``/positions`` (``user``),
``/holders`` (``market``): bare arrays, camelCase, newest first.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.lower() == "true"


def _many(request: web.Request, key: str) -> set[str]:
    out: set[str] = set()
    for value in request.query.getall(key, []):
        out.update(v for v in value.split(",") if v)
    return out


def _page(request: web.Request, rows: list[Any], *, default: int = 100) -> list[Any]:
    try:
        limit = int(request.query.get("limit", default))
        offset = int(request.query.get("offset", 0))
    except ValueError:
        raise web.HTTPBadRequest(text='{"error":"bad limit/offset"}') from None
    return rows[offset : offset + limit]


class DataApis:
    """State and routes of Gamma and the Data API."""

    def __init__(self) -> None:
        self.markets: dict[str, dict[str, Any]] = {}  # condition id -> Gamma market
        self.trades: list[dict[str, Any]] = []
        self.positions: list[dict[str, Any]] = []
        self.holders: dict[str, list[dict[str, Any]]] = {}  # condition id -> groups
        self.requests: list[str] = []

    def add_gamma_routes(self, app: web.Application) -> None:
        app.router.add_get("/markets", self.gamma_markets)
        app.router.add_get("/markets/keyset", self.gamma_keyset)
        app.router.add_get("/events", self.gamma_events)

    def add_data_routes(self, app: web.Application) -> None:
        app.router.add_get("/trades", self.data_trades)
        app.router.add_get("/activity", self.data_activity)
        app.router.add_get("/positions", self.data_positions)
        app.router.add_get("/holders", self.data_holders)

    def _filtered_markets(self, request: web.Request) -> list[dict[str, Any]]:
        self.requests.append(f"gamma {request.path_qs}")
        q = request.query
        active, closed = _flag(q.get("active")), _flag(q.get("closed"))
        cids = _many(request, "condition_ids")
        tokens = _many(request, "clob_token_ids")
        slugs = _many(request, "slug")
        ids = _many(request, "id")
        out = []
        for m in self.markets.values():
            if active is not None and bool(m.get("active")) != active:
                continue
            if closed is not None and bool(m.get("closed")) != closed:
                continue
            if cids and m.get("conditionId") not in cids:
                continue
            if slugs and m.get("slug") not in slugs:
                continue
            if ids and str(m.get("id")) not in ids:
                continue
            if tokens:
                try:
                    mine = set(json.loads(m.get("clobTokenIds") or "[]"))
                except (ValueError, TypeError):
                    mine = set()
                if not mine & tokens:
                    continue
            out.append(m)
        return out

    async def gamma_markets(self, request: web.Request) -> web.Response:
        return web.json_response(_page(request, self._filtered_markets(request), default=20))

    async def gamma_keyset(self, request: web.Request) -> web.Response:
        rows = self._filtered_markets(request)
        start = int(request.query.get("after_cursor", "0") or 0)
        limit = int(request.query.get("limit", 20))
        page = rows[start : start + limit]
        nxt = str(start + limit) if start + limit < len(rows) else None
        return web.json_response({"markets": page, "next_cursor": nxt})

    async def gamma_events(self, request: web.Request) -> web.Response:
        events: dict[str, dict[str, Any]] = {}
        for m in self._filtered_markets(request):
            ev = (m.get("events") or [{}])[0]
            slug = ev.get("slug") or m.get("slug") or ""
            entry = events.setdefault(
                slug,
                {**{k: v for k, v in ev.items() if k != "markets"}, "slug": slug, "markets": []},
            )
            entry["markets"].append(m)
        return web.json_response(_page(request, list(events.values()), default=20))

    def _trades(self, request: web.Request) -> list[dict[str, Any]]:
        self.requests.append(f"data {request.path_qs}")
        q = request.query
        user = q.get("user", "").lower()
        markets = _many(request, "market")
        side = q.get("side", "").upper()
        start = int(q["start"]) if q.get("start", "").isdigit() else None
        end = int(q["end"]) if q.get("end", "").isdigit() else None
        rows = [
            t
            for t in self.trades
            if (not user or str(t.get("proxyWallet", "")).lower() == user)
            and (not markets or t.get("conditionId") in markets)
            and (not side or t.get("side") == side)
            and (start is None or int(t.get("timestamp", 0)) >= start)
            and (end is None or int(t.get("timestamp", 0)) <= end)
        ]
        return sorted(rows, key=lambda t: -int(t.get("timestamp", 0)))

    async def data_trades(self, request: web.Request) -> web.Response:
        if int(request.query.get("limit", 100)) > 10_000:
            return web.json_response({"error": "limit too large"}, status=400)
        return web.json_response(_page(request, self._trades(request)))

    async def data_activity(self, request: web.Request) -> web.Response:
        if not request.query.get("user"):
            return web.json_response({"error": "user is required"}, status=400)
        types = _many(request, "type")
        rows = [
            {**t, "type": "TRADE", "usdcSize": float(t["size"]) * float(t["price"])}
            for t in self._trades(request)
        ]
        if types and "TRADE" not in types:
            rows = []
        return web.json_response(_page(request, rows))

    async def data_positions(self, request: web.Request) -> web.Response:
        user = request.query.get("user", "").lower()
        if not user:
            return web.json_response({"error": "user is required"}, status=400)
        rows = [p for p in self.positions if str(p.get("proxyWallet", "")).lower() == user]
        return web.json_response(_page(request, rows))

    async def data_holders(self, request: web.Request) -> web.Response:
        markets = _many(request, "market")
        if not markets:
            return web.json_response({"error": "market is required"}, status=400)
        out: list[dict[str, Any]] = []
        for cid in sorted(markets):
            out.extend(self.holders.get(cid, []))
        return web.json_response(out)
