"""The fake Polymarket CLOB REST API: public market data, L1/L2 auth and a tiny matching engine.

State (:class:`ClobState`) holds each token's book, the issued API keys, orders and trades.
A BUY limit at or above the best ask (a SELL at or below the best bid) takes liquidity level by
level at the makers' prices: first the anonymous liquidity of ``set_book``, then resting orders
of *other* API keys, oldest first (status ``matched``, trade ids, ``/data/trades`` rows for the
taker and every maker, user-channel ``order`` and ``trade`` frames to each of them,
market-channel ``last_trade_price`` and a fresh ``book``).  One trade per price level crossed;
its ``maker_orders`` list each resting order hit with its ``matched_amount`` and ``price``.  The
unfilled rest of a GTC/GTD order rests (``live``) and shows in the book; a FOK that cannot fill
fully or a FAK that cannot fill at all is refused with the real error messages.  Orders never
match orders of the same API key, nor the complementary token.

Wallets: each API key owner's address has a pUSD balance (``default_collateral`` until set)
served by ``GET /balance-allowance`` in 6-decimal base units; a BUY committing more than the
balance left after its open BUY orders is refused (400 ``not enough balance / allowance``);
trades move collateral and outcome tokens between taker and makers at once, and a trade set
FAILED moves them back.  SELLs are not checked against token holdings.  Every ``POST /order``
is verified (L2 HMAC, order signature, signer = API key owner) and recorded in
:attr:`ClobState.posted`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from helix.testing.fake_polymarket_auth import (
    NEG_RISK_EXCHANGE,
    STANDARD_EXCHANGE,
    hmac_signature,
    order_hash_and_signer,
    recover_clob_auth,
)

FOK_MSG = "order couldn't be fully filled. FOK orders are fully filled or killed."
FAK_MSG = (
    "no orders found to match with FAK order. "
    "FAK orders are partially filled or killed if no match is found."
)
END_CURSOR = "LTE="
BALANCE_MSG = "not enough balance / allowance"
_UNIT = Decimal(1_000_000)


@dataclass
class ApiKey:
    key: str
    secret: str
    passphrase: str
    address: str


@dataclass
class PostedOrder:
    """A ``POST /order`` the fake accepted for checking: raw request and verdict."""

    path: str
    body: str
    headers: dict[str, str]
    verified: bool
    order_id: str = ""
    signer: str = ""
    error: str = ""


@dataclass
class FakeOrder:
    order_id: str
    owner: str
    maker: str
    token_id: str
    market: str
    side: str  # BUY | SELL
    price: Decimal
    size: Decimal
    matched: Decimal
    order_type: str
    status: str  # LIVE | MATCHED | CANCELED
    outcome: str
    created_s: int
    trades: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {
            "id": self.order_id,
            "status": self.status,
            "owner": self.owner,
            "maker_address": self.maker,
            "market": self.market,
            "asset_id": self.token_id,
            "side": self.side,
            "original_size": _s(self.size),
            "size_matched": _s(self.matched),
            "price": _s(self.price),
            "outcome": self.outcome,
            "expiration": "0",
            "order_type": self.order_type,
            "associate_trades": list(self.trades),
            "created_at": self.created_s,
        }


def _s(d: Decimal) -> str:
    return format(d.normalize(), "f")


class ClobState:
    """Everything the CLOB side knows; mutated only on the fake's loop."""

    def __init__(self, *, chain_id: int, default_collateral: Decimal = Decimal(10_000)) -> None:
        self.chain_id = chain_id
        self.default_collateral = default_collateral  # pUSD of a wallet never set
        self.collateral: dict[str, Decimal] = {}  # address (lower) -> pUSD
        self.holdings: dict[tuple[str, str], Decimal] = {}  # (address, token) -> shares
        self.moves: dict[str, list[tuple[str, str, Decimal, Decimal]]] = {}  # trade -> moves
        self.bids: dict[str, dict[Decimal, Decimal]] = {}
        self.asks: dict[str, dict[Decimal, Decimal]] = {}
        self.tick: dict[str, Decimal] = {}
        self.neg_risk: dict[str, bool] = {}
        self.market_of: dict[str, str] = {}  # token -> condition id
        self.outcome_of: dict[str, str] = {}
        self.last_trade: dict[str, tuple[Decimal, str]] = {}
        self.keys: dict[str, ApiKey] = {}  # api key -> creds
        self.key_of: dict[str, str] = {}  # address (lower) -> api key
        self.orders: dict[str, FakeOrder] = {}
        self.trades: list[dict[str, Any]] = []
        self.posted: list[PostedOrder] = []
        self.auth_failures: list[str] = []
        self.requests: list[str] = []

    # -- market data -----------------------------------------------------------------------------

    def register_token(
        self, token: str, *, market: str, outcome: str, neg_risk: bool, tick: Decimal
    ) -> None:
        self.market_of[token] = market
        self.outcome_of[token] = outcome
        self.neg_risk[token] = neg_risk
        self.tick[token] = tick
        self.bids.setdefault(token, {})
        self.asks.setdefault(token, {})

    def levels(self, token: str, side: str) -> dict[Decimal, Decimal]:
        """One side of the book: set_book liquidity plus resting orders' open sizes."""
        out = dict(self.bids.get(token, {}) if side == "BUY" else self.asks.get(token, {}))
        for o in self.resting(token):
            if o.side == side:
                out[o.price] = out.get(o.price, Decimal(0)) + o.size - o.matched
        return out

    def book(self, token: str) -> dict[str, Any]:
        bids = sorted(self.levels(token, "BUY").items())
        asks = sorted(self.levels(token, "SELL").items(), reverse=True)
        body = {
            "market": self.market_of.get(token, ""),
            "asset_id": token,
            "timestamp": str(int(time.time() * 1000)),
            "bids": [{"price": _s(p), "size": _s(s)} for p, s in bids],
            "asks": [{"price": _s(p), "size": _s(s)} for p, s in asks],
            "min_order_size": "5",
            "tick_size": _s(self.tick.get(token, Decimal("0.01"))),
            "neg_risk": self.neg_risk.get(token, False),
            "last_trade_price": _s(self.last_trade[token][0]) if token in self.last_trade else "",
        }
        text = json.dumps([body["bids"], body["asks"]], sort_keys=True)
        body["hash"] = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
        return body

    def book_frame(self, token: str) -> dict[str, Any]:
        return {"event_type": "book", **self.book(token)}

    # -- keys --------------------------------------------------------------------------------------

    def issue_key(self, address: str) -> ApiKey:
        key = ApiKey(
            key=str(uuid.uuid4()),
            secret=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            passphrase=secrets.token_hex(16),
            address=address,
        )
        self.keys[key.key] = key
        self.key_of[address.lower()] = key.key
        return key

    def check_key(self, key: str, secret: str, passphrase: str) -> bool:
        k = self.keys.get(key)
        return k is not None and k.secret == secret and k.passphrase == passphrase

    # -- balances ---------------------------------------------------------------------------------

    def address_of(self, api_key: str) -> str:
        k = self.keys.get(api_key)
        return k.address.lower() if k is not None else ""

    def collateral_of(self, address: str) -> Decimal:
        return self.collateral.get(address.lower(), self.default_collateral)

    def tokens_of(self, address: str, token: str) -> Decimal:
        return self.holdings.get((address.lower(), token), Decimal(0))

    def reserved(self, address: str) -> Decimal:
        """Collateral committed to the address's open BUY orders."""
        return sum(
            (
                (o.size - o.matched) * o.price
                for o in self.orders.values()
                if o.status == "LIVE" and o.side == "BUY" and self.address_of(o.owner) == address
            ),
            Decimal(0),
        )

    def _move(
        self, trade_id: str, address: str, token: str, cash: Decimal, shares: Decimal
    ) -> None:
        if not address:
            return  # the anonymous liquidity of set_book has no wallet
        self.collateral[address] = self.collateral_of(address) + cash
        self.holdings[(address, token)] = self.tokens_of(address, token) + shares
        self.moves.setdefault(trade_id, []).append((address, token, cash, shares))

    def set_trade_status(self, trade_id: str, status: str) -> dict[str, Any]:
        """Move a trade on (MINED, CONFIRMED, RETRYING, FAILED); FAILED gives the wallets
        their collateral and tokens back (the match never settled)."""
        [trade] = [t for t in self.trades if t["id"] == trade_id]
        if trade["status"] == "FAILED":
            raise ValueError(f"trade {trade_id} already failed")
        trade["status"] = status
        trade["last_update"] = str(int(time.time()))
        if status == "FAILED":
            for address, token, cash, shares in self.moves.pop(trade_id, []):
                self.collateral[address] = self.collateral_of(address) - cash
                self.holdings[(address, token)] = self.tokens_of(address, token) - shares
        return trade

    def view(self, trade: dict[str, Any], api_key: str) -> dict[str, Any] | None:
        """``trade`` as ``api_key`` sees it (None: not its trade).  A maker gets the taker's
        side, size and price with ``trader_side`` MAKER: its part is in ``maker_orders``."""
        if trade["owner"] == api_key:
            return trade
        mine = [m for m in trade["maker_orders"] if m["owner"] == api_key]
        if not mine:
            return None
        return {
            **trade,
            "owner": api_key,
            "trader_side": "MAKER",
            "maker_address": mine[0]["maker_address"],
        }

    # -- matching ---------------------------------------------------------------------------------

    def _liquidity(
        self, token: str, side: str, price: Decimal, owner: str
    ) -> list[tuple[Decimal, Decimal, FakeOrder | None]]:
        """What an incoming order can take, best price first, oldest first at a price (the
        anonymous liquidity of set_book before resting orders): (price, size, order)."""
        anon = self.asks.get(token, {}) if side == "BUY" else self.bids.get(token, {})
        out: list[tuple[Decimal, Decimal, FakeOrder | None]] = [
            (p, q, None) for p, q in anon.items()
        ]
        out += [
            (o.price, o.size - o.matched, o)
            for o in self.resting(token)
            if o.side != side and o.owner != owner  # no self-trade
        ]
        out = [x for x in out if (x[0] <= price if side == "BUY" else x[0] >= price)]
        # stable sort: set_book liquidity, then resting orders by age, within a price
        out.sort(key=lambda x: x[0], reverse=side == "SELL")
        return out

    def resting(self, token: str) -> list[FakeOrder]:
        """The token's open resting orders, oldest first."""
        return [
            o
            for o in self.orders.values()
            if o.token_id == token and o.status == "LIVE" and o.size > o.matched
        ]

    def match(
        self, *, owner: ApiKey, order: dict[str, Any], order_id: str, order_type: str
    ) -> tuple[int, dict[str, Any], list[dict[str, Any]], FakeOrder | None]:
        """(HTTP status, response body, new trade rows, the order) for a verified order.

        Takes resting orders of other API keys and the set_book liquidity at the makers'
        prices; one trade per price level crossed, whose ``maker_orders`` list each resting
        order it hit with its ``matched_amount`` and ``price``.  Collateral moves at once
        (taker and maker wallets) and comes back if the trade later FAILS.
        """
        token, side = str(order["tokenId"]), order["side"]
        maker_amt, taker_amt = Decimal(order["makerAmount"]), Decimal(order["takerAmount"])
        if side == "BUY":
            size, price = taker_amt / _UNIT, (maker_amt / taker_amt).quantize(Decimal("0.0001"))
        else:
            size, price = maker_amt / _UNIT, (taker_amt / maker_amt).quantize(Decimal("0.0001"))
        price = price.normalize()
        address = owner.address.lower()
        if side == "BUY":
            free = self.collateral_of(address) - self.reserved(address)
            if maker_amt / _UNIT > free:
                why = f"{BALANCE_MSG}: balance {_s(free)}, order amount {_s(maker_amt / _UNIT)}"
                return 400, {"error": why}, [], None
        liquidity = self._liquidity(token, side, price, owner.key)
        available = sum((q for _, q, _ in liquidity), Decimal(0))
        if order_type == "FOK" and available < size:
            return 200, _refused(FOK_MSG), [], None
        if order_type == "FAK" and available == 0:
            return 200, _refused(FAK_MSG), [], None
        now = int(time.time())
        fake = FakeOrder(
            order_id=order_id,
            owner=owner.key,
            maker=order["maker"],
            token_id=token,
            market=self.market_of.get(token, ""),
            side=side,
            price=price,
            size=size,
            matched=Decimal(0),
            order_type=order_type,
            status="LIVE",
            outcome=self.outcome_of.get(token, ""),
            created_s=now,
        )
        levels: dict[Decimal, list[tuple[Decimal, FakeOrder | None]]] = {}
        left = size
        anon = self.asks.get(token, {}) if side == "BUY" else self.bids.get(token, {})
        for p, avail, maker in liquidity:
            if left <= 0:
                break
            q = min(left, avail)
            levels.setdefault(p, []).append((q, maker))
            left -= q
            if maker is None:
                anon[p] -= q
                if anon[p] <= 0:
                    del anon[p]
            else:
                maker.matched += q
                if maker.matched >= maker.size:
                    maker.status = "MATCHED"
        fake.matched = size - left
        rows = [self._trade(fake, p, fills, now) for p, fills in levels.items()]
        self.trades.extend(rows)
        if left <= 0 or order_type in ("FAK", "FOK"):
            fake.status = "MATCHED" if rows else "CANCELED"
        self.orders[order_id] = fake
        body = {
            "success": True,
            "errorMsg": "",
            "orderID": order_id,
            "status": "matched" if rows else "live",
            "takingAmount": "",
            "makingAmount": "",
            "transactionsHashes": [r["transaction_hash"] for r in rows],
            "tradeIDs": [r["id"] for r in rows],
        }
        return 200, body, rows, fake

    def _trade(
        self,
        taker: FakeOrder,
        price: Decimal,
        fills: list[tuple[Decimal, FakeOrder | None]],
        now: int,
    ) -> dict[str, Any]:
        tid = str(uuid.uuid4())
        token, side = taker.token_id, taker.side
        size = sum((q for q, _ in fills), Decimal(0))
        sign = Decimal(1) if side == "BUY" else Decimal(-1)
        self._move(tid, self.address_of(taker.owner), token, -sign * size * price, sign * size)
        makers: list[dict[str, Any]] = []
        for q, m in fills:
            if m is None:
                oid = "0x" + hashlib.sha256(f"book:{token}:{side}:{price}".encode()).hexdigest()
                owner, address = "", ""
            else:
                oid, owner, address = m.order_id, m.owner, m.maker
                self._move(tid, self.address_of(owner), token, sign * q * price, -sign * q)
                m.trades.append(tid)
            makers.append(
                {
                    "order_id": oid,
                    "owner": owner,
                    "maker_address": address,
                    "asset_id": token,
                    "side": "SELL" if side == "BUY" else "BUY",
                    "matched_amount": _s(q),
                    "price": _s(price),
                    "outcome": taker.outcome,
                    "fee_rate_bps": "0",
                }
            )
        taker.trades.append(tid)
        self.last_trade[token] = (price, side)
        tx = "0x" + hashlib.sha256(f"{taker.order_id}:{tid}".encode()).hexdigest()
        return {
            "id": tid,
            "taker_order_id": taker.order_id,
            "market": taker.market,
            "asset_id": token,
            "side": side,
            "size": _s(size),
            "fee_rate_bps": "0",
            "price": _s(price),
            "status": "MATCHED",
            "match_time": str(now),
            "last_update": str(now),
            "outcome": taker.outcome,
            "bucket_index": 0,
            "owner": taker.owner,
            "maker_address": taker.maker,
            "transaction_hash": tx,
            "trader_side": "TAKER",
            "maker_orders": makers,
        }


def _refused(message: str) -> dict[str, Any]:
    return {
        "success": False,
        "errorMsg": message,
        "orderID": "",
        "status": "unmatched",
        "takingAmount": "",
        "makingAmount": "",
        "transactionsHashes": [],
        "tradeIDs": [],
    }


Notify = Callable[[FakeOrder, list[dict[str, Any]], str], Awaitable[None]]


class ClobApi:
    """aiohttp routes of the CLOB REST side (``notify`` pushes WS frames after a change)."""

    def __init__(self, state: ClobState, notify: Notify) -> None:
        self.state = state
        self.notify = notify

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        for path, handler in [
            ("/book", self.book),
            ("/price", self.price),
            ("/midpoint", self.midpoint),
            ("/tick-size", self.tick_size),
            ("/neg-risk", self.neg_risk),
            ("/fee-rate", self.fee_rate),
            ("/version", self.version),
            ("/ok", self.ok),
            ("/", self.ok),
            ("/time", self.time),
            ("/last-trade-price", self.last_trade_price),
            ("/markets-by-token/{token}", self.markets_by_token),
            ("/clob-markets/{cid}", self.clob_market),
            ("/markets/{cid}", self.market),
            ("/auth/derive-api-key", self.derive_key),
            ("/auth/api-keys", self.api_keys),
            ("/data/orders", self.open_orders),
            ("/data/order/{id}", self.get_order),
            ("/data/trades", self.data_trades),
            ("/balance-allowance", self.balance_allowance),
            ("/balance-allowance/update", self.update_balance_allowance),
        ]:
            r.add_get(path, handler)
        r.add_post("/auth/api-key", self.create_key)
        r.add_post("/order", self.post_order)
        r.add_delete("/order", self.cancel)
        r.add_delete("/orders", self.cancel_many)

    # -- public -----------------------------------------------------------------------------------

    def _token(self, request: web.Request) -> str:
        token = request.query.get("token_id", "")
        self.state.requests.append(f"{request.method} {request.path}")
        if token not in self.state.market_of:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "No orderbook exists for the requested token id"}),
                content_type="application/json",
            )
        return token

    async def book(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.book(self._token(request)))

    async def price(self, request: web.Request) -> web.Response:
        token = self._token(request)
        side = request.query.get("side", "BUY").upper()
        levels = self.state.asks[token] if side == "BUY" else self.state.bids[token]
        if not levels:
            raise web.HTTPNotFound(text='{"error":"No orderbook"}', content_type="application/json")
        best = min(levels) if side == "BUY" else max(levels)
        return web.json_response({"price": _s(best)})

    async def midpoint(self, request: web.Request) -> web.Response:
        token = self._token(request)
        bids, asks = self.state.bids[token], self.state.asks[token]
        if not bids or not asks:
            raise web.HTTPNotFound(text='{"error":"No orderbook"}', content_type="application/json")
        return web.json_response({"mid": _s((max(bids) + min(asks)) / 2)})

    async def tick_size(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"minimum_tick_size": float(self.state.tick[self._token(request)])}
        )

    async def neg_risk(self, request: web.Request) -> web.Response:
        return web.json_response({"neg_risk": self.state.neg_risk[self._token(request)]})

    async def fee_rate(self, request: web.Request) -> web.Response:
        self._token(request)
        return web.json_response({"base_fee": 0})

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": 2})

    async def ok(self, request: web.Request) -> web.Response:
        return web.json_response("OK")

    async def time(self, request: web.Request) -> web.Response:
        return web.json_response(int(time.time()))

    async def last_trade_price(self, request: web.Request) -> web.Response:
        token = self._token(request)
        price, side = self.state.last_trade.get(token, (Decimal("0.5"), "BUY"))
        return web.json_response({"price": _s(price), "side": side})

    async def markets_by_token(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if token not in self.state.market_of:
            raise web.HTTPNotFound(
                text='{"error":"market not found"}', content_type="application/json"
            )
        return web.json_response({"condition_id": self.state.market_of[token]})

    def _tokens_of(self, cid: str) -> list[str]:
        tokens = [t for t, c in self.state.market_of.items() if c == cid]
        if not tokens:
            raise web.HTTPNotFound(
                text='{"error":"market not found"}', content_type="application/json"
            )
        return tokens

    async def clob_market(self, request: web.Request) -> web.Response:
        tokens = self._tokens_of(request.match_info["cid"])
        return web.json_response(
            {
                "t": [{"t": t, "o": self.state.outcome_of[t]} for t in tokens],
                "mts": float(self.state.tick[tokens[0]]),
                "nr": self.state.neg_risk[tokens[0]],
                "fd": {"r": 0, "e": 0},
            }
        )

    async def market(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        tokens = self._tokens_of(cid)
        return web.json_response(
            {
                "condition_id": cid,
                "tokens": [{"token_id": t, "outcome": self.state.outcome_of[t]} for t in tokens],
                "minimum_tick_size": float(self.state.tick[tokens[0]]),
                "neg_risk": self.state.neg_risk[tokens[0]],
                "active": True,
                "closed": False,
            }
        )

    # -- L1 ---------------------------------------------------------------------------------

    def _l1(self, request: web.Request) -> str:
        h = request.headers
        try:
            address = h["POLY_ADDRESS"]
            signer = recover_clob_auth(
                address=address,
                timestamp=h["POLY_TIMESTAMP"],
                nonce=int(h.get("POLY_NONCE", "0")),
                signature=h["POLY_SIGNATURE"],
                chain_id=self.state.chain_id,
            )
        except (KeyError, ValueError, TypeError) as exc:
            self.state.auth_failures.append(f"L1 {request.path}: {exc}")
            raise _unauthorized() from None
        if signer.lower() != address.lower():
            self.state.auth_failures.append(f"L1 {request.path}: signer {signer} != {address}")
            raise _unauthorized()
        return address

    async def create_key(self, request: web.Request) -> web.Response:
        address = self._l1(request)
        if address.lower() in self.state.key_of:
            return web.json_response({"error": "Could not create api key"}, status=400)
        k = self.state.issue_key(address)
        return web.json_response({"apiKey": k.key, "secret": k.secret, "passphrase": k.passphrase})

    async def derive_key(self, request: web.Request) -> web.Response:
        address = self._l1(request)
        key = self.state.key_of.get(address.lower())
        k = self.state.keys[key] if key else self.state.issue_key(address)
        return web.json_response({"apiKey": k.key, "secret": k.secret, "passphrase": k.passphrase})

    # -- L2 ---------------------------------------------------------------------------------

    async def _l2(self, request: web.Request) -> tuple[ApiKey, str]:
        body = await request.text()
        h = request.headers
        k = self.state.keys.get(h.get("POLY_API_KEY", ""))
        why = ""
        if k is None:
            why = "unknown api key"
        elif h.get("POLY_PASSPHRASE") != k.passphrase:
            why = "bad passphrase"
        elif h.get("POLY_ADDRESS", "").lower() != k.address.lower():
            why = "address is not the key's owner"
        else:
            ts = h.get("POLY_TIMESTAMP", "")
            expected = hmac_signature(k.secret, ts, request.method, request.path, body)
            if h.get("POLY_SIGNATURE") != expected:
                why = "HMAC mismatch"
            elif not ts.isdigit() or abs(int(ts) - time.time()) > 300:
                why = "stale timestamp"
        if why or k is None:
            self.state.auth_failures.append(f"L2 {request.method} {request.path}: {why}")
            raise _unauthorized()
        return k, body

    async def api_keys(self, request: web.Request) -> web.Response:
        k, _ = await self._l2(request)
        return web.json_response({"apiKeys": [k.key]})

    async def post_order(self, request: web.Request) -> web.Response:
        headers = {key: v for key, v in request.headers.items() if key.upper().startswith("POLY_")}
        try:
            k, body = await self._l2(request)
        except web.HTTPUnauthorized:
            self.state.posted.append(
                PostedOrder(request.path, await request.text(), headers, False, error="L2")
            )
            raise
        record = PostedOrder(request.path, body, headers, False)
        self.state.posted.append(record)
        try:
            payload = json.loads(body)
            order = payload["order"]
            token = str(order["tokenId"])
            exchange = NEG_RISK_EXCHANGE if self.state.neg_risk.get(token) else STANDARD_EXCHANGE
            order_id, signer = order_hash_and_signer(
                order, chain_id=self.state.chain_id, exchange=exchange
            )
        except (ValueError, KeyError, TypeError) as exc:
            record.error = f"bad order: {exc}"
            return web.json_response({"error": "Invalid order payload"}, status=400)
        record.signer, record.order_id = signer, order_id
        if signer.lower() != str(order["signer"]).lower():
            record.error = "invalid signature"
            return web.json_response({"error": "invalid signature"}, status=400)
        if signer.lower() != k.address.lower() or payload.get("owner") != k.key:
            record.error = "the order signer is not the API key's owner"
            return web.json_response(
                {"error": "the order signer address has to be the address of the API KEY"},
                status=400,
            )
        if token not in self.state.market_of:
            record.error = "unknown token"
            return web.json_response({"error": "market not found"}, status=400)
        record.verified = True
        status, answer, rows, fake = self.state.match(
            owner=k, order=order, order_id=order_id, order_type=payload.get("orderType", "GTC")
        )
        if fake is not None:
            await self.notify(fake, rows, "PLACEMENT")
        else:
            record.error = str(answer.get("error") or answer.get("errorMsg") or "")
        return web.json_response(answer, status=status)

    async def cancel(self, request: web.Request) -> web.Response:
        k, body = await self._l2(request)
        try:
            order_id = json.loads(body)["orderID"]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "Invalid order payload"}, status=400)
        return web.json_response(await self._cancel(k, [order_id]))

    async def cancel_many(self, request: web.Request) -> web.Response:
        k, body = await self._l2(request)
        try:
            ids = [str(i) for i in json.loads(body)]
        except (ValueError, TypeError):
            return web.json_response({"error": "Invalid order payload"}, status=400)
        return web.json_response(await self._cancel(k, ids))

    async def _cancel(self, k: ApiKey, ids: list[str]) -> dict[str, Any]:
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        for order_id in ids:
            o = self.state.orders.get(order_id)
            if o is None or o.owner != k.key:
                not_canceled[order_id] = "order not found"
            elif o.status != "LIVE":
                not_canceled[order_id] = "order can't be canceled: already " + o.status.lower()
            else:
                o.status = "CANCELED"
                canceled.append(order_id)
                await self.notify(o, [], "CANCELLATION")
        return {"canceled": canceled, "not_canceled": not_canceled}

    async def open_orders(self, request: web.Request) -> web.Response:
        k, _ = await self._l2(request)
        q = request.query
        rows = [
            o.row()
            for o in self.state.orders.values()
            if o.owner == k.key
            and o.status == "LIVE"
            and (not q.get("market") or o.market == q["market"])
            and (not q.get("asset_id") or o.token_id == q["asset_id"])
            and (not q.get("id") or o.order_id == q["id"])
        ]
        return web.json_response(
            {"limit": 500, "count": len(rows), "next_cursor": END_CURSOR, "data": rows}
        )

    async def get_order(self, request: web.Request) -> web.Response:
        k, _ = await self._l2(request)
        o = self.state.orders.get(request.match_info["id"])
        if o is None or o.owner != k.key:
            return web.json_response({"error": "order not found"}, status=404)
        return web.json_response(o.row())

    async def data_trades(self, request: web.Request) -> web.Response:
        k, _ = await self._l2(request)
        q = request.query
        after = int(q["after"]) if q.get("after", "").isdigit() else None
        views = [self.state.view(t, k.key) for t in self.state.trades]
        rows = [
            t
            for t in views
            if t is not None
            and (not q.get("market") or t["market"] == q["market"])
            and (not q.get("asset_id") or t["asset_id"] == q["asset_id"])
            and (after is None or int(t["match_time"]) >= after)
        ]
        return web.json_response(
            {"limit": 500, "count": len(rows), "next_cursor": END_CURSOR, "data": rows}
        )

    async def balance_allowance(self, request: web.Request) -> web.Response:
        """``GET /balance-allowance?asset_type=COLLATERAL|CONDITIONAL[&token_id=]`` (L2): the
        key owner's pUSD or outcome-token balance in 6-decimal base units; allowances are
        unlimited for both V2 exchanges."""
        k, _ = await self._l2(request)
        kind = request.query.get("asset_type", "")
        if kind == "COLLATERAL":
            amount = self.state.collateral_of(k.address)
        elif kind in ("CONDITIONAL", "CONDITIONAL-V2") and request.query.get("token_id"):
            amount = self.state.tokens_of(k.address, request.query["token_id"])
        else:
            return web.json_response({"error": "invalid asset_type / token_id"}, status=400)
        unlimited = str(2**256 - 1)
        return web.json_response(
            {
                "balance": str(int(amount * _UNIT)),
                "allowances": {STANDARD_EXCHANGE: unlimited, NEG_RISK_EXCHANGE: unlimited},
            }
        )

    async def update_balance_allowance(self, request: web.Request) -> web.Response:
        await self._l2(request)
        return web.json_response("")


def _unauthorized() -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(
        text=json.dumps({"error": "Unauthorized/Invalid api key"}), content_type="application/json"
    )
