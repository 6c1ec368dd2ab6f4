"""Polymarket gateway: the one place Helix talks to Polymarket (and imports the official SDK).

* Trading goes through ``polymarket-client`` (``AsyncSecureClient``): L1 API-key derivation
  from the wallet key, L2 HMAC headers, EIP-712 V2 order signing, ``POST /order``,
  ``DELETE /order``, ``/data/orders``, ``/data/trades``.  The SDK only knows Polymarket's
  production hosts, so :func:`sdk_environment` builds an environment from :class:`Settings`.
* Public data (Gamma ``/markets``, Data API v1 ``/trades`` ``/activity`` ``/positions``
  ``/holders``, CLOB ``/book``) and both WebSocket channels are read raw with aiohttp and
  converted by :mod:`helix.feeds.polymarket.convert`: the SDK parses whole pages into its own
  models (one bad item fails the page, non-binary markets and malformed frames are dropped
  silently), while Helix must send each bad item to the dead-letter queue as
  :class:`Malformed`.
* SDK and HTTP errors become Helix errors here: 401/403 and signing problems
  :class:`~helix.errors.ConfigError`; other 4xx :class:`PolymarketRejected` (a
  :class:`~helix.errors.ValidationError`); transport, 5xx, 429 and unreadable answers
  :class:`~helix.errors.ServiceUnavailable`.  A venue refusing an order is not an error:
  :meth:`PolymarketGateway.place_order` returns ``OrderAck(success=False, error=...)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp

from events.market import Trade
from events.poly import PolyBook, PolyMarket, PolyResolved, PolyTrade
from helix.errors import ConfigError, ServiceUnavailable, ValidationError
from helix.feeds.polymarket.convert import (
    CancelAck,
    HolderRow,
    MakerFill,
    Malformed,
    MarketFrames,
    OpenOrderRow,
    OrderAck,
    OwnTradeRow,
    UserOrderUpdate,
    WalletPositionRow,
    book_from_snapshot,
    holders_from_data_api,
    market_from_gamma,
    position_from_data_api,
    trade_from_data_api,
    user_items,
)
from helix.settings import Settings
from helix.venues.credentials import PolymarketKeys

__all__ = [
    "CancelAck",
    "HolderRow",
    "MakerFill",
    "Malformed",
    "OpenOrderRow",
    "OrderAck",
    "OwnTradeRow",
    "PolymarketGateway",
    "PolymarketRejected",
    "UserOrderUpdate",
    "WalletPositionRow",
    "sdk_environment",
]

log = logging.getLogger(__name__)

MarketStreamItem = PolyBook | Trade | PolyResolved | Malformed
_PAGE = 500
COLLATERAL_UNIT = Decimal(1_000_000)  # pUSD (and outcome tokens) have 6 decimals on chain
_ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")


class PolymarketRejected(ValidationError):
    """Polymarket refused a request (a 4xx other than auth); ``status`` is the HTTP status."""

    def __init__(self, message: str, *, status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def sdk_environment(settings: Settings) -> Any:
    """The SDK ``Environment`` for the configured hosts and chain.

    PRIVATE SDK API (polymarket-client 0.14.0): ``polymarket.environments`` only exposes
    ``PRODUCTION``; an environment is its private ``_EnvironmentConfig`` (a frozen dataclass)
    wrapped by ``_create_environment``.  Everything else (contract addresses, relayer, RPC) is
    production's.  If an SDK upgrade moves these, this function is the only thing to fix.
    """
    from polymarket import environments

    ws = settings.polymarket_ws_url.rstrip("/")
    config = dataclasses.replace(
        environments.PRODUCTION._config,
        chain_id=settings.polymarket_chain_id,
        clob_url=settings.polymarket_clob_url.rstrip("/"),
        gamma_url=settings.polymarket_gamma_url.rstrip("/"),
        data_url=settings.polymarket_data_url.rstrip("/"),
        clob_market_ws_url=f"{ws}/market",
        clob_user_ws_url=f"{ws}/user",
    )
    return environments._create_environment(name="helix", config=config)


def _translate(exc: BaseException, what: str) -> Exception:
    """An SDK / aiohttp error -> the Helix error to raise (``from exc``)."""
    from polymarket import errors as sdk

    if isinstance(exc, sdk.RequestRejectedError):
        if exc.status in (401, 403):
            return ConfigError(f"Polymarket refused the credentials ({what}): {exc}")
        if exc.status >= 500:
            return ServiceUnavailable(f"Polymarket {what} failed ({exc.status}): {exc}")
        return PolymarketRejected(f"Polymarket {what}: {exc}", status=exc.status, code=exc.code)
    if isinstance(exc, sdk.UserInputError):
        return ValidationError(f"Polymarket {what}: {exc}")
    if isinstance(exc, sdk.SigningError):
        return ConfigError(f"Polymarket {what}: cannot sign ({exc})")
    if isinstance(exc, sdk.RateLimitError):
        return ServiceUnavailable(f"Polymarket {what}: rate limited")
    return ServiceUnavailable(f"Polymarket {what} failed: {exc}")


def _iso_ns(value: datetime | None) -> int | None:
    if value is None:
        return None
    return int(value.timestamp()) * 1_000_000_000 + value.microsecond * 1_000


class PolymarketGateway:
    """Async context manager; see the module docstring.

    Args:
        settings: hosts (``polymarket_*_url``), chain id.
        keys: the wallet key (and API creds if already created); required for trading only.
        ping_s: how often the WebSocket sends ``PING`` (Polymarket drops silent clients).
        reconnect_s: (first, max) reconnect delay after a WebSocket drop (doubling).
    """

    def __init__(
        self,
        settings: Settings,
        keys: PolymarketKeys | None = None,
        *,
        ping_s: float = 10.0,
        reconnect_s: tuple[float, float] = (0.2, 10.0),
        http_timeout_s: float = 15.0,
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.ping_s = ping_s
        self.reconnect_s = reconnect_s
        self.http_timeout_s = http_timeout_s
        self.reconnects = 0  # WebSocket reconnects over the gateway's life
        self.outcomes: dict[str, str] = {}  # token id -> outcome name (learned from markets())
        self._http: aiohttp.ClientSession | None = None
        self._secure: Any = None
        self._secure_lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.http_timeout_s))
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._secure is not None:
            with contextlib.suppress(Exception):
                await self._secure.close()
            self._secure = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    # -- raw public HTTP --------------------------------------------------------------------------

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise RuntimeError("PolymarketGateway is not open (use `async with`)")
        return self._http

    async def _get(self, base: str, path: str, params: Sequence[tuple[str, str]]) -> Any:
        url = base.rstrip("/") + path
        try:
            async with self._session().get(url, params=list(params)) as resp:
                text = await resp.text()
                if resp.status in (401, 403):
                    raise ConfigError(f"Polymarket refused GET {path} ({resp.status})")
                if resp.status == 429 or resp.status >= 500:
                    raise ServiceUnavailable(f"Polymarket GET {path}: {resp.status} {text[:200]}")
                if resp.status >= 400:
                    raise PolymarketRejected(f"GET {path}: {text[:300]}", status=resp.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceUnavailable(f"Polymarket GET {path} failed: {exc!r}") from exc
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ServiceUnavailable(f"Polymarket GET {path}: not JSON: {text[:200]}") from exc

    async def _pages(
        self, base: str, path: str, params: list[tuple[str, str]], limit: int
    ) -> list[Any]:
        """Offset pagination over a bare JSON array, up to ``limit`` items."""
        out: list[Any] = []
        while len(out) < limit:
            page_size = min(_PAGE, limit - len(out))
            page = await self._get(
                base, path, [*params, ("limit", str(page_size)), ("offset", str(len(out)))]
            )
            if not isinstance(page, list):
                raise ServiceUnavailable(f"Polymarket {path}: expected an array")
            out.extend(page)
            if len(page) < page_size:
                break
        return out

    # -- public data -------------------------------------------------------------------------------

    async def markets(
        self,
        *,
        now_ns: int,
        active: bool | None = None,
        closed: bool | None = None,
        condition_ids: Sequence[str] = (),
        limit: int = 500,
    ) -> list[PolyMarket | Malformed]:
        """Gamma ``/markets`` -> :class:`PolyMarket` (bad items as :class:`Malformed`)."""
        params: list[tuple[str, str]] = []
        if active is not None:
            params.append(("active", str(active).lower()))
        if closed is not None:
            params.append(("closed", str(closed).lower()))
        params.extend(("condition_ids", c) for c in condition_ids)
        rows = await self._pages(self.settings.polymarket_gamma_url, "/markets", params, limit)
        out = [market_from_gamma(r, now_ns=now_ns) for r in rows]
        for m in out:
            if isinstance(m, PolyMarket):
                self.outcomes.update(zip(m.token_ids, m.outcomes, strict=False))
        return out

    async def wallet_trades(
        self,
        *,
        now_ns: int,
        market: str | None = None,
        user: str | None = None,
        start_s: int | None = None,
        limit: int = 500,
    ) -> list[PolyTrade | Malformed]:
        """Data API ``/trades`` (newest first) by market and/or wallet."""
        params: list[tuple[str, str]] = [("takerOnly", "false")]
        if market:
            params.append(("market", market))
        if user:
            params.append(("user", user))
        if start_s is not None:
            params.append(("start", str(start_s)))
        rows = await self._pages(self.settings.polymarket_data_url, "/trades", params, limit)
        return [trade_from_data_api(r, now_ns=now_ns) for r in rows]

    async def activity(
        self, *, now_ns: int, user: str, start_s: int | None = None, limit: int = 500
    ) -> list[PolyTrade | Malformed]:
        """Data API ``/activity?type=TRADE`` of one wallet (its trades, maker fills included)."""
        params = [("user", user), ("type", "TRADE")]
        if start_s is not None:
            params.append(("start", str(start_s)))
        rows = await self._pages(self.settings.polymarket_data_url, "/activity", params, limit)
        return [trade_from_data_api(r, now_ns=now_ns, origin="activity") for r in rows]

    async def positions(self, user: str) -> list[WalletPositionRow]:
        """Data API ``/positions`` of one wallet (unreadable rows are logged and skipped)."""
        rows = await self._pages(
            self.settings.polymarket_data_url, "/positions", [("user", user)], 10_000
        )
        return _good([position_from_data_api(r) for r in rows], "positions")

    async def holders(self, market: str) -> list[HolderRow]:
        """Data API ``/holders`` of one market (top holders of each outcome token)."""
        raw = await self._get(self.settings.polymarket_data_url, "/holders", [("market", market)])
        return _good(holders_from_data_api(raw), "holders")

    async def book(self, token_id: str, *, now_ns: int) -> PolyBook:
        """CLOB ``/book`` -> :class:`PolyBook`.

        Raises:
            PolymarketRejected: unknown token (404).  ServiceUnavailable: unreadable answer.
        """
        raw = await self._get(self.settings.polymarket_clob_url, "/book", [("token_id", token_id)])
        book = book_from_snapshot(raw, now_ns=now_ns)
        if isinstance(book, Malformed):
            raise ServiceUnavailable(f"Polymarket /book for {token_id}: {book.reason}")
        return book

    # -- WebSocket ---------------------------------------------------------------------------------

    async def market_stream(
        self, token_ids: Sequence[str]
    ) -> AsyncIterator[list[MarketStreamItem]]:
        """The CLOB market channel for ``token_ids``: one list of items per frame, forever
        (reconnects and resubscribes after a drop; the fresh ``book`` snapshots repair the
        books).  ``market_resolved`` needs ``custom_feature_enabled``, which is sent."""
        frames = MarketFrames(outcomes=self.outcomes)
        subscribe = {
            "type": "market",
            "assets_ids": list(token_ids),
            "custom_feature_enabled": True,
        }
        url = self.settings.polymarket_ws_url.rstrip("/") + "/market"
        async for text in self._ws_texts(url, subscribe):
            items = frames.decode(text, now_ns=time.time_ns())
            if items:
                yield items

    async def user_stream(
        self, markets: Sequence[str]
    ) -> AsyncIterator[UserOrderUpdate | OwnTradeRow]:
        """The CLOB user channel (our orders and trades in ``markets``; all when empty)."""
        client = await self._client()
        creds = client.credentials
        subscribe = {
            "auth": {"apiKey": creds.key, "secret": creds.secret, "passphrase": creds.passphrase},
            "markets": list(markets),
            "type": "user",
        }
        url = self.settings.polymarket_ws_url.rstrip("/") + "/user"
        async for text in self._ws_texts(url, subscribe):
            for item in user_items(text, now_ns=time.time_ns()):
                if isinstance(item, Malformed):
                    log.warning("polymarket user channel: unreadable frame (%s)", item.reason)
                else:
                    yield item

    async def _ws_texts(self, url: str, subscribe: Mapping[str, Any]) -> AsyncIterator[str]:
        delay, max_delay = self.reconnect_s
        first = True
        while True:
            if not first:
                self.reconnects += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_delay)
            first = False
            try:
                async with self._session().ws_connect(url, autoping=True, heartbeat=None) as ws:
                    await ws.send_str(json.dumps(subscribe))
                    pinger = asyncio.create_task(self._ping(ws))
                    try:
                        async for msg in ws:
                            if msg.type == aiohttp.WSMsgType.TEXT:
                                if msg.data == "PONG":
                                    continue
                                delay = self.reconnect_s[0]
                                yield msg.data
                            elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                                break
                        if ws.close_code in (4000, 4001):
                            raise ConfigError(f"Polymarket closed {url}: unauthorized")
                    finally:
                        pinger.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await pinger
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("polymarket websocket %s: %r; reconnecting", url, exc)

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not ws.closed:
                await asyncio.sleep(self.ping_s)
                await ws.send_str("PING")

    # -- trading -----------------------------------------------------------------------------------

    async def authenticate(self) -> str:
        """Create the SDK's secure client now (L1-deriving API creds when the keys have none)
        and return the API key in use.  Trading calls do this lazily; note the SDK builds a
        dozen HTTP clients, which blocks the event loop for a second or two.

        Raises:
            ConfigError: no or invalid keys, or credentials refused.
        """
        client = await self._client()
        return str(client.credentials.key)

    async def _client(self) -> Any:
        """The SDK's secure client (created once: L1 derives API creds if the keys have none)."""
        if self.keys is None:
            raise ConfigError("Polymarket trading needs HELIX_POLYMARKET_PRIVATE_KEY")
        async with self._secure_lock:
            if self._secure is None:
                from eth_account import Account
                from polymarket import AsyncSecureClient
                from polymarket.models import ApiKeyCreds

                keys = self.keys
                try:
                    signer = Account.from_key(keys.private_key).address
                except (ValueError, TypeError):
                    raise ConfigError("HELIX_POLYMARKET_PRIVATE_KEY is not a valid key") from None
                creds = None
                if keys.api_key:
                    creds = ApiKeyCreds(
                        key=keys.api_key, secret=keys.api_secret, passphrase=keys.api_passphrase
                    )
                try:
                    self._secure = await AsyncSecureClient.create(
                        private_key=keys.private_key,
                        wallet=keys.funder or signer,
                        environment=sdk_environment(self.settings),
                        credentials=creds,
                    )
                except Exception as exc:
                    raise _translate(exc, "authentication") from exc
        return self._secure

    async def place_order(
        self,
        *,
        token_id: str,
        side: str,
        size: Decimal,
        price: Decimal,
        order_type: str = "GTC",
        expiration_s: int | None = None,
        post_only: bool = False,
    ) -> OrderAck:
        """Sign (EIP-712 V2, by the SDK) and post one order.

        GTC/GTD are limit orders of ``size`` shares at ``price`` (GTD needs ``expiration_s``,
        ≥ 3 min ahead).  FOK/FAK are the SDK's market orders bounded by ``price``: a BUY spends
        ``size × price`` USDC at prices ≤ ``price``; a SELL sells ``size`` shares at ≥ ``price``.

        Returns:
            The venue's answer; a refused order is ``OrderAck(success=False, error=...)``.

        Raises:
            ValidationError: bad arguments.  ConfigError: keys refused.
            ServiceUnavailable: the venue cannot be reached.
        """
        side_u = side.upper()
        order_type = order_type.upper()
        if side_u not in ("BUY", "SELL"):
            raise ValidationError(f"side must be buy or sell, not {side!r}")
        if order_type not in _ORDER_TYPES:
            raise ValidationError(f"order_type must be one of {_ORDER_TYPES}, not {order_type!r}")
        if order_type == "GTD" and expiration_s is None:
            raise ValidationError("a GTD order needs expiration_s")
        client = await self._client()
        sdk_side: Literal["BUY", "SELL"] = "BUY" if side_u == "BUY" else "SELL"
        from polymarket import errors as sdk
        from polymarket.models.clob.order_response import AcceptedOrder

        try:
            if order_type in ("GTC", "GTD"):
                signed = await client.create_limit_order(
                    token_id=token_id,
                    price=price,
                    size=size,
                    side=sdk_side,
                    post_only=post_only,
                    expiration=expiration_s if order_type == "GTD" else None,
                )
            elif sdk_side == "BUY":
                signed = await client.create_market_order(
                    token_id=token_id,
                    side="BUY",
                    amount=size * price,
                    max_price=price,
                    order_type=order_type,
                )
            else:
                signed = await client.create_market_order(
                    token_id=token_id,
                    side="SELL",
                    shares=size,
                    min_price=price,
                    order_type=order_type,
                )
            answer = await client.post_order(signed)
        except sdk.RequestRejectedError as exc:
            if exc.status in (400, 404, 422):
                return OrderAck(order_id="", status="rejected", success=False, error=str(exc))
            raise _translate(exc, "order") from exc
        except sdk.PolymarketError as exc:
            raise _translate(exc, "order") from exc
        if isinstance(answer, AcceptedOrder):
            return OrderAck(
                order_id=str(answer.order_id),
                status=str(answer.status),
                success=True,
                trade_ids=tuple(answer.trade_ids),
            )
        return OrderAck(
            order_id="", status=str(answer.code), success=False, error=str(answer.message)
        )

    async def cancel_order(self, order_id: str) -> CancelAck:
        client = await self._client()
        from polymarket import errors as sdk

        try:
            answer = await client.cancel_order(order_id=order_id)
        except sdk.PolymarketError as exc:
            raise _translate(exc, "cancel") from exc
        return CancelAck(
            canceled=tuple(str(o) for o in answer.canceled),
            not_canceled={str(k): str(v) for k, v in answer.not_canceled.items()},
        )

    async def open_orders(self, *, market: str | None = None) -> list[OpenOrderRow]:
        client = await self._client()
        from polymarket import errors as sdk

        rows: list[OpenOrderRow] = []
        try:
            async for o in client.list_open_orders(market=market).iter_items():
                rows.append(
                    OpenOrderRow(
                        order_id=str(o.id),
                        market=str(o.condition_id),
                        token_id=str(o.asset_id),
                        side="buy" if o.side == "BUY" else "sell",
                        price=Decimal(o.price),
                        original_size=Decimal(o.original_size),
                        size_matched=Decimal(o.size_matched),
                        outcome=str(o.outcome),
                        order_type=str(o.order_type),
                        status=str(o.status),
                        created_ts=_iso_ns(o.created_at),
                    )
                )
        except sdk.PolymarketError as exc:
            raise _translate(exc, "open orders") from exc
        return rows

    async def balance(self) -> Decimal:
        """The wallet's collateral (pUSD) balance: what a live Polymarket account opens with.

        ``GET /balance-allowance?asset_type=COLLATERAL&signature_type=..`` (L2) through the
        SDK; the venue answers in 6-decimal base units (``"1000000000"`` = 1,000 pUSD).  The
        allowances granted to the exchanges are not checked here (the SDK approves and retries
        when an order is refused for allowance).

        Raises:
            ConfigError: keys refused.  ServiceUnavailable: unreachable or unreadable answer
                (never a zero balance).
        """
        client = await self._client()
        from polymarket import errors as sdk

        try:
            answer = await client.get_balance_allowance(asset_type="COLLATERAL")
        except sdk.PolymarketError as exc:
            raise _translate(exc, "balance") from exc
        return Decimal(int(answer.balance)) / COLLATERAL_UNIT

    async def own_trades(self, *, after_s: int | None = None) -> list[OwnTradeRow]:
        """Our CLOB trades (``/data/trades``), optionally matched at or after ``after_s``."""
        client = await self._client()
        from polymarket import errors as sdk

        rows: list[OwnTradeRow] = []
        after = str(after_s) if after_s is not None else None
        try:
            async for t in client.list_account_trades(after=after).iter_items():
                rows.append(
                    OwnTradeRow(
                        trade_id=str(t.id),
                        market=str(t.condition_id),
                        token_id=str(t.asset_id),
                        side="buy" if t.side == "BUY" else "sell",
                        size=Decimal(t.size),
                        price=Decimal(t.price),
                        status=str(t.status),
                        outcome=str(t.outcome),
                        taker_order_id=str(t.taker_order_id),
                        trader_side=str(t.trader_side),
                        maker_order_ids=tuple(str(m.order_id) for m in t.maker_orders),
                        fee_rate_bps=Decimal(t.fee_rate_bps),
                        match_ts=_iso_ns(t.matched_at),
                        tx_hash=str(t.transaction_hash or ""),
                        maker_orders=tuple(
                            MakerFill(
                                order_id=str(m.order_id),
                                matched_amount=Decimal(m.matched_amount),
                                price=Decimal(m.price),
                                owner=str(m.owner),
                                token_id=str(m.asset_id),
                                side=str(m.side),
                                outcome=str(m.outcome),
                                maker_address=str(m.maker_address),
                                fee_rate_bps=Decimal(m.fee_rate_bps or 0),
                            )
                            for m in t.maker_orders
                        ),
                    )
                )
        except sdk.PolymarketError as exc:
            raise _translate(exc, "trades") from exc
        return rows


def _good(items: Sequence[Any], what: str) -> list[Any]:
    bad = [i for i in items if isinstance(i, Malformed)]
    if bad:
        log.warning("polymarket %s: %d unreadable rows skipped (%s)", what, len(bad), bad[0].reason)
    return [i for i in items if not isinstance(i, Malformed)]
