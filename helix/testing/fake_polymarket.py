"""A local fake of Polymarket: Gamma, the Data API, the CLOB (REST + WebSocket), real wire
formats and real signature checks, so the official SDK and Helix's gateway run against it::

    with FakePolymarket() as fake:
        fake.add_market(gamma_market_dict)            # registers its tokens on the CLOB too
        fake.set_book(token, bids=[("0.48", "100")], asks=[("0.52", "50")])
        settings = Settings(**{k.removeprefix("HELIX_").lower(): v
                               for k, v in fake.settings_overrides().items()})
        async with PolymarketGateway(settings, keys) as gw:
            await gw.place_order(token_id=token, side="buy", size=Decimal(10),
                                 price=Decimal("0.52"))
        fake.orders                                    # the verified orders
        fake.set_collateral(address, "250")            # the wallet's pUSD (/balance-allowance)
        fake.set_trade_status(trade_id, "FAILED")      # a match that did not settle

Three HTTP sites on three ports (Gamma, Data API, CLOB; the CLOB port also serves the
WebSocket at ``/ws/market`` and ``/ws/user``), all on one aiohttp loop in its own thread: every
public method is safe to call from any thread (synchronous tests and async tests alike).
What the CLOB checks and how it matches: :mod:`helix.testing.fake_polymarket_clob` and
:mod:`helix.testing.fake_polymarket_auth`; the WebSocket: :mod:`helix.testing.fake_polymarket_ws`;
Gamma / Data API: :mod:`helix.testing.fake_polymarket_data`.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from helix.testing.fake_polymarket_clob import ClobApi, ClobState, FakeOrder, PostedOrder
from helix.testing.fake_polymarket_data import DataApis
from helix.testing.fake_polymarket_ws import WsHubs
from helix.testing.server_thread import ServerThread

__all__ = ["FakePolymarket", "PostedOrder", "load_samples"]

_T = TypeVar("_T")
_SITES = ("clob", "gamma", "data")  # one port each
Level = tuple[Decimal | str, Decimal | str]


class FakePolymarket:
    """See the module docstring.  Use as a context manager or call start()/stop()."""

    def __init__(
        self, *, chain_id: int = 137, default_collateral: Decimal = Decimal(10_000)
    ) -> None:
        self.chain_id = chain_id
        self.clob = ClobState(chain_id=chain_id, default_collateral=default_collateral)
        self.data = DataApis()
        self.hubs = WsHubs(snapshots=self._snapshots, check_key=self.clob.check_key)
        self._api = ClobApi(self.clob, self._notify)
        self._server = ServerThread("FakePolymarket", thread_name="fake-polymarket")
        self._runners: list[web.AppRunner] = []
        self._ports: dict[str, int] = {}
        self.errors: list[BaseException] = []

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> FakePolymarket:
        try:
            ports = self._server.start(self._startup, sockets=len(_SITES))
        except BaseException as exc:
            self.errors.append(exc)
            raise
        self._ports = dict(zip(_SITES, ports, strict=True))
        return self

    def stop(self) -> None:
        self._server.stop(self._shutdown)

    def __enter__(self) -> FakePolymarket:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------------------

    @property
    def clob_url(self) -> str:
        return f"http://127.0.0.1:{self._ports['clob']}"

    @property
    def gamma_url(self) -> str:
        return f"http://127.0.0.1:{self._ports['gamma']}"

    @property
    def data_url(self) -> str:
        return f"http://127.0.0.1:{self._ports['data']}"

    @property
    def ws_url(self) -> str:
        """The WebSocket base: ``ws_url + "/market"`` and ``ws_url + "/user"``."""
        return f"ws://127.0.0.1:{self._ports['clob']}/ws"

    def settings_overrides(self) -> dict[str, str]:
        """``HELIX_POLYMARKET_*`` environment values that point Helix here."""
        return {
            "HELIX_POLYMARKET_CLOB_URL": self.clob_url,
            "HELIX_POLYMARKET_GAMMA_URL": self.gamma_url,
            "HELIX_POLYMARKET_DATA_URL": self.data_url,
            "HELIX_POLYMARKET_WS_URL": self.ws_url,
            "HELIX_POLYMARKET_CHAIN_ID": str(self.chain_id),
        }

    # -- state setters (any thread) ---------------------------------------------------------------

    def add_market(self, market: Mapping[str, Any]) -> None:
        """A Gamma market dict (``outcomes``/``clobTokenIds`` JSON-encoded strings); its tokens
        get an empty CLOB book (tick ``orderPriceMinTickSize``, ``negRisk``)."""

        def apply() -> None:
            m = dict(market)
            cid = str(m["conditionId"])
            self.data.markets[cid] = m
            try:
                tokens = json.loads(m.get("clobTokenIds") or "[]")
                outcomes = json.loads(m.get("outcomes") or "[]")
            except (ValueError, TypeError):
                return  # a malformed listing: Gamma serves it, the CLOB does not know it
            tick = Decimal(str(m.get("orderPriceMinTickSize") or "0.01"))
            for i, token in enumerate(tokens):
                outcome = outcomes[i] if i < len(outcomes) else ""
                self.clob.register_token(
                    str(token),
                    market=cid,
                    outcome=str(outcome),
                    neg_risk=bool(m.get("negRisk")),
                    tick=tick,
                )

        self._server.call(apply)

    def add_trade(self, trade: Mapping[str, Any]) -> None:
        """A Data API v1 trade row (camelCase, ``timestamp`` in seconds)."""
        self._server.call(lambda: self.data.trades.append(dict(trade)))

    def add_position(self, position: Mapping[str, Any]) -> None:
        self._server.call(lambda: self.data.positions.append(dict(position)))

    def add_holders(self, condition_id: str, groups: Iterable[Mapping[str, Any]]) -> None:
        """``/holders`` groups ``{"token", "holders": [...]}`` of one market."""
        self._server.call(
            lambda: self.data.holders.setdefault(condition_id, []).extend(map(dict, groups))
        )

    def set_book(self, token_id: str, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Replace one token's book and push a ``book`` frame to its subscribers."""

        async def apply() -> None:
            self.clob.bids[token_id] = {Decimal(str(p)): Decimal(str(s)) for p, s in bids}
            self.clob.asks[token_id] = {Decimal(str(p)): Decimal(str(s)) for p, s in asks}
            await self.hubs.push_market(self.clob.book_frame(token_id), {token_id})

        self._server.run(apply())

    def push_market(self, frame: Mapping[str, Any] | list[Any]) -> int:
        """Send one market-channel frame (an object or an array) as is to every market
        connection subscribed to one of its assets (every connection when it names none)."""
        items = frame if isinstance(frame, list) else [frame]
        assets: set[str] = set()
        for item in items:
            if isinstance(item, Mapping):
                if item.get("asset_id"):
                    assets.add(str(item["asset_id"]))
                for change in item.get("price_changes") or []:
                    assets.add(str(change.get("asset_id")))
                assets.update(str(a) for a in item.get("assets_ids") or [])
        return self._server.run(self.hubs.push_market(frame, assets))

    def push_raw(self, text: str) -> int:
        """Send any text (garbage included) to every market connection."""

        async def send() -> int:
            n = 0
            for conn in list(self.hubs.market):
                if not conn.ws.closed:
                    await conn.ws.send_str(text)
                    n += 1
            return n

        return self._server.run(send())

    def resolve(self, condition_id: str, winner_outcome: str) -> None:
        """Close the market on Gamma (final prices 1/0) and push ``market_resolved``."""

        async def apply() -> None:
            m = self.data.markets[condition_id]
            outcomes = json.loads(m["outcomes"])
            tokens = [str(t) for t in json.loads(m["clobTokenIds"])]
            if winner_outcome not in outcomes:
                raise ValueError(f"{winner_outcome!r} is not one of {outcomes}")
            win = outcomes.index(winner_outcome)
            m["closed"] = True
            m["outcomePrices"] = json.dumps(
                ["1" if i == win else "0" for i in range(len(outcomes))]
            )
            frame = {
                "event_type": "market_resolved",
                "id": str(m.get("id", "")),
                "market": condition_id,
                "assets_ids": tokens,
                "winning_asset_id": tokens[win],
                "winning_outcome": winner_outcome,
                "timestamp": str(int(time.time() * 1000)),
            }
            await self.hubs.push_market(frame, set(tokens))

        self._server.run(apply())

    def set_collateral(self, address: str, amount: Decimal | str) -> None:
        """The pUSD balance of a wallet (an API key's address), served by
        ``GET /balance-allowance`` and moved by trades (until set: ``default_collateral``)."""
        self._server.call(
            lambda: self.clob.collateral.__setitem__(address.lower(), Decimal(amount))
        )

    def collateral(self, address: str) -> Decimal:
        return self._server.call(lambda: self.clob.collateral_of(address))

    def tokens(self, address: str, token_id: str) -> Decimal:
        """The outcome tokens a wallet holds from the fake's trades."""
        return self._server.call(lambda: self.clob.tokens_of(address, token_id))

    def set_trade_status(self, trade_id: str, status: str) -> None:
        """Move a trade to MINED, CONFIRMED, RETRYING or FAILED (FAILED returns the wallets'
        collateral and tokens) and push the ``trade`` frame to its taker and makers."""

        async def apply() -> None:
            trade = self.clob.set_trade_status(trade_id, status)
            await self._push_trade(trade, str(int(time.time() * 1000)))

        self._server.run(apply())

    @property
    def trades(self) -> list[dict[str, Any]]:
        """Every CLOB trade, as its taker sees it."""
        return self._server.call(lambda: [dict(t) for t in self.clob.trades])

    # -- faults and observation --------------------------------------------------------------------

    def drop_market_connections(self) -> int:
        """Abort every market-channel connection (no close frame); returns how many."""
        return self._server.call(self.hubs.drop_market)

    def wait_market_subscribed(self, *tokens: str, timeout: float = 5.0) -> None:
        def done() -> bool:
            live = {a for c in list(self.hubs.market) for a in c.assets}
            return all(t in live for t in tokens)

        self._server.wait(done, timeout, f"market subscriptions to {tokens}")

    def wait_user_connected(self, n: int = 1, timeout: float = 5.0) -> None:
        self._server.wait(lambda: len(self.hubs.user) >= n, timeout, f"{n} user connections")

    @property
    def orders(self) -> list[PostedOrder]:
        """The ``POST /order`` calls whose L2 HMAC and order signature were verified."""
        return [p for p in list(self.clob.posted) if p.verified]

    @property
    def posted(self) -> list[PostedOrder]:
        """Every ``POST /order`` call, verified or not (raw body and POLY_* headers)."""
        return list(self.clob.posted)

    @property
    def market_connections(self) -> int:
        return self.hubs.market_connections

    # -- internals ---------------------------------------------------------------------------------

    async def _notify(self, order: FakeOrder, trades: list[dict[str, Any]], kind: str) -> None:
        """User-channel frames to the order's owner and to the owner of every resting order
        its trades hit (``order`` UPDATE and their view of each ``trade``), market-channel
        ``last_trade_price`` per trade and a fresh ``book``."""
        now_ms = str(int(time.time() * 1000))
        await self._push_order(
            order, kind if not (trades and kind == "PLACEMENT") else "UPDATE", now_ms
        )
        makers: dict[str, FakeOrder] = {}
        for t in trades:
            for m in t["maker_orders"]:
                resting = self.clob.orders.get(m["order_id"])
                if resting is not None:
                    makers[resting.order_id] = resting
        for resting in makers.values():
            await self._push_order(resting, "UPDATE", now_ms)
        for t in trades:
            await self._push_trade(t, now_ms)
            await self.hubs.push_market(
                {
                    "event_type": "last_trade_price",
                    "asset_id": t["asset_id"],
                    "market": t["market"],
                    "price": t["price"],
                    "size": t["size"],
                    "side": t["side"],
                    "fee_rate_bps": "0",
                    "timestamp": now_ms,
                    "transaction_hash": t["transaction_hash"],
                },
                {t["asset_id"]},
            )
        await self.hubs.push_market(self.clob.book_frame(order.token_id), {order.token_id})

    async def _push_order(self, order: FakeOrder, kind: str, now_ms: str) -> None:
        frame = {
            "event_type": "order",
            "type": kind,
            **order.row(),
            "created_at": str(order.created_s),
            "timestamp": now_ms,
        }
        await self.hubs.push_user(frame, api_key=order.owner, market=order.market)

    async def _push_trade(self, trade: dict[str, Any], now_ms: str) -> None:
        """The trade frame to the taker and to each maker (each its own view)."""
        owners = [trade["owner"], *(m["owner"] for m in trade["maker_orders"])]
        for owner in dict.fromkeys(o for o in owners if o):
            view = self.clob.view(trade, owner)
            if view is not None:
                frame = {"event_type": "trade", "type": "TRADE", **view, "timestamp": now_ms}
                await self.hubs.push_user(frame, api_key=owner, market=trade["market"])

    def _snapshots(self, assets: list[str]) -> list[dict[str, Any]]:
        return [self.clob.book_frame(a) for a in assets if a in self.clob.market_of]

    async def _startup(self, socks: list[socket.socket]) -> None:
        clob = web.Application()
        self._api.add_routes(clob)
        clob.router.add_get("/ws/market", self.hubs.market_handler)
        clob.router.add_get("/ws/user", self.hubs.user_handler)
        gamma = web.Application()
        self.data.add_gamma_routes(gamma)
        data = web.Application()
        self.data.add_data_routes(data)
        for sock, app in zip(socks, (clob, gamma, data), strict=True):  # in the order of _SITES
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            self._runners.append(runner)

    async def _shutdown(self) -> None:
        await self.hubs.close_all()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()


def load_samples(directory: Path) -> dict[str, Any]:
    """The nautilus-polymarket sample payloads (``crates_test_data/*.json``) by file stem;
    empty when the directory is absent."""
    if not directory.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}
