"""Polymarket wire payloads -> Helix events and rows (pure: no I/O, no clock, no randomness).

Every function takes the decoded JSON the venue sent (``Mapping``/``list``) plus ``now_ns`` (the
time Helix received it) and returns an event, a row, or :class:`Malformed` for an item it cannot
read; none raises on bad input.  Shapes (docs/reference apis.md §3):

* Gamma ``/markets`` item -> :class:`~events.poly.PolyMarket` (``outcomes``, ``outcomePrices``,
  ``clobTokenIds`` are JSON-encoded strings); :func:`resolution_of` -> :class:`PolyResolved`.
* Data API ``/trades`` / ``/activity`` row (v1 camelCase or v2 snake_case) -> :class:`PolyTrade`.
* CLOB ``/book`` and market-channel frames -> :class:`PolyBook`, :class:`events.market.Trade`
  (``last_trade_price``), :class:`PolyResolved` (``market_resolved``): :class:`MarketFrames`
  keeps each token's book so a ``price_change`` delta yields a full top-of-book.
* CLOB user-channel frames and ``/data/*`` rows -> :class:`UserOrderUpdate`, :class:`OwnTradeRow`,
  :class:`OpenOrderRow`; Data API ``/positions`` / ``/holders`` -> rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

from msgspec import structs

from events.market import Trade, market_event_id
from events.poly import (
    VENUE,
    PolyBook,
    PolyMarket,
    PolyResolved,
    PolySide,
    PolyTrade,
    poly_event_id,
)

SOURCE = "polymarket"
DEPTH_BAND = Decimal("0.02")
_ONE, _ZERO = Decimal(1), Decimal(0)
_SIDES: dict[str, PolySide] = {"buy": "buy", "sell": "sell"}


@dataclass(frozen=True)
class Malformed:
    """An input item Helix could not read: it goes to the dead-letter queue, never raises."""

    source: str
    raw: str
    reason: str


class _Bad(Exception):
    """Internal: a field could not be read (turned into :class:`Malformed`)."""


# -- rows (not events: what the trading side and the CLI read) ---------------------------------


@dataclass(frozen=True)
class WalletPositionRow:
    """One Data API ``/positions`` row: a wallet's holding of one outcome token."""

    wallet: str
    market: str  # condition id
    token_id: str
    outcome: str
    size: Decimal
    avg_price: Decimal
    initial_value: Decimal
    current_value: Decimal
    cash_pnl: Decimal
    realized_pnl: Decimal
    cur_price: Decimal
    total_bought: Decimal
    redeemable: bool = False
    title: str = ""


@dataclass(frozen=True)
class HolderRow:
    """One Data API ``/holders`` entry: a top holder of one outcome token."""

    token_id: str
    wallet: str
    amount: Decimal
    outcome_index: int | None = None
    name: str = ""


@dataclass(frozen=True)
class OrderAck:
    """The venue's answer to ``POST /order`` (``success`` False: rejected, ``error`` says why)."""

    order_id: str
    status: str  # live | matched | delayed | unmatched | rejected
    success: bool
    error: str = ""
    trade_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CancelAck:
    canceled: tuple[str, ...]
    not_canceled: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OpenOrderRow:
    order_id: str
    market: str
    token_id: str
    side: Literal["buy", "sell"]
    price: Decimal
    original_size: Decimal
    size_matched: Decimal
    outcome: str
    order_type: str
    status: str
    created_ts: int | None = None  # ns


@dataclass(frozen=True)
class MakerFill:
    """One resting order a trade filled (an item of a trade's ``maker_orders``).

    ``matched_amount`` shares of that order traded at ``price``, the order's own limit price,
    which is on the order's own token (``token_id``): a maker on the complementary outcome
    trades at ``1 - price`` of the trade's token.
    """

    order_id: str
    matched_amount: Decimal
    price: Decimal
    owner: str = ""  # the order's API key
    token_id: str = ""
    side: str = ""  # BUY | SELL (absent from user-channel frames)
    outcome: str = ""
    maker_address: str = ""
    fee_rate_bps: Decimal = Decimal(0)


@dataclass(frozen=True)
class OwnTradeRow:
    """One of our own CLOB trades (``/data/trades`` or a user-channel ``trade`` frame).

    ``side``, ``size`` and ``price`` are the taker's; when we are a maker (``trader_side``
    ``MAKER``) our part is our entries in ``maker_orders``.  ``status`` moves MATCHED ->
    MINED -> CONFIRMED, or to RETRYING and FAILED (the match did not settle on chain).
    """

    trade_id: str
    market: str
    token_id: str
    side: Literal["buy", "sell"]
    size: Decimal
    price: Decimal
    status: str
    outcome: str = ""
    taker_order_id: str = ""
    trader_side: str = ""
    maker_order_ids: tuple[str, ...] = ()
    fee_rate_bps: Decimal = Decimal(0)
    match_ts: int | None = None  # ns
    tx_hash: str = ""
    maker_orders: tuple[MakerFill, ...] = ()  # same order as maker_order_ids


@dataclass(frozen=True)
class UserOrderUpdate:
    """A user-channel ``order`` frame: PLACEMENT, UPDATE or CANCELLATION of one of our orders."""

    order_id: str
    type: str
    status: str
    market: str
    token_id: str
    side: Literal["buy", "sell"]
    price: Decimal
    original_size: Decimal
    size_matched: Decimal
    outcome: str = ""
    order_type: str = ""
    associate_trades: tuple[str, ...] = ()
    ts: int | None = None  # ns


# -- field readers -----------------------------------------------------------------------------


def _raw(raw: object) -> str:
    try:
        return json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        return repr(raw)


def _obj(raw: object) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise _Bad(f"expected an object, got {type(raw).__name__}")
    return cast(Mapping[str, Any], raw)


def _get(d: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = d.get(key)
        if value is not None and value != "":
            return value
    return None


def _str(d: Mapping[str, Any], *keys: str) -> str:
    value = _get(d, *keys)
    if value is None:
        raise _Bad(f"missing {keys[0]}")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _Bad(f"{keys[0]} is not a string")
    return str(value)


def _opt_str(d: Mapping[str, Any], *keys: str) -> str:
    value = _get(d, *keys)
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _to_dec(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _Bad(f"{name} is not a number: {value!r}")
    try:
        d = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise _Bad(f"{name} is not a number: {value!r}") from None
    if not d.is_finite():
        raise _Bad(f"{name} is not finite: {value!r}")
    return d


def _dec(d: Mapping[str, Any], *keys: str) -> Decimal:
    value = _get(d, *keys)
    if value is None:
        raise _Bad(f"missing {keys[0]}")
    return _to_dec(value, keys[0])


def _opt_dec(d: Mapping[str, Any], *keys: str) -> Decimal | None:
    value = _get(d, *keys)
    return None if value is None else _to_dec(value, keys[0])


def _canon(d: Decimal) -> str:
    """``Decimal`` as plain text without exponent or trailing zeros (stable keys)."""
    text = format(d.normalize(), "f")
    return text


def side_of(value: object) -> PolySide | None:
    """A venue's side (``BUY``, ``sell``, any case) -> ``"buy"``/``"sell"``; else ``None``."""
    return _SIDES.get(value.lower()) if isinstance(value, str) else None


def _side(d: Mapping[str, Any], key: str = "side") -> PolySide:
    value = _get(d, key)
    side = side_of(value)
    if side is None:
        raise _Bad(f"bad {key}: {value!r}")
    return side


def _json_list(d: Mapping[str, Any], key: str) -> list[Any]:
    value = d.get(key)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _Bad(f"{key} is not JSON") from None
    if not isinstance(value, list):
        raise _Bad(f"{key} is not a list")
    return value


def iso_to_ns(text: str) -> int:
    """ISO-8601 (``Z``, offsets, ``+00``, date-only) -> UTC ns; naive means UTC.

    Raises:
        ValueError: not a date.
    """
    s = text.strip().replace(" ", "T", 1)
    if s.endswith(("+00", "-00")):
        s += ":00"
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1_000


def _ts_ns(value: object, *, unit: Literal["s", "ms", "auto"]) -> int:
    """Epoch seconds/milliseconds (number or digit string; ``auto``: ms from 1e11 up) or an
    ISO date -> ns."""
    if isinstance(value, bool):
        raise _Bad(f"bad timestamp {value!r}")
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        n = Decimal(str(value))
        if unit == "auto":
            unit = "ms" if n >= 100_000_000_000 else "s"
        scale = 1_000_000_000 if unit == "s" else 1_000_000
        return int(n * scale)
    if isinstance(value, str):
        try:
            return iso_to_ns(value)
        except ValueError:
            pass
    raise _Bad(f"bad timestamp {value!r}")


def _digest(raw: object) -> str:
    return hashlib.sha1(_raw(raw).encode(), usedforsecurity=False).hexdigest()


# -- Gamma -------------------------------------------------------------------------------------


def market_from_gamma(raw: object, *, now_ns: int, source: str = SOURCE) -> PolyMarket | Malformed:
    """One Gamma ``/markets`` item -> :class:`PolyMarket` (``ts_event`` = ``updatedAt`` or now)."""
    try:
        d = _obj(raw)
        cid = _str(d, "conditionId", "condition_id")
        outcomes = tuple(str(x) for x in _json_list(d, "outcomes"))
        tokens = tuple(str(x) for x in _json_list(d, "clobTokenIds"))
        prices: tuple[Decimal, ...] = ()
        if _get(d, "outcomePrices") is not None:
            prices = tuple(_to_dec(x, "outcomePrices") for x in _json_list(d, "outcomePrices"))
        if not outcomes or len(outcomes) != len(tokens):
            raise _Bad("outcomes and clobTokenIds differ in length")
        if prices and len(prices) != len(outcomes):
            raise _Bad("outcomes and outcomePrices differ in length")
        end = _get(d, "endDate", "endDateIso", "end_date_iso")
        end_ts = iso_to_ns(end) if isinstance(end, str) else None
        updated = _get(d, "updatedAt")
        ts_event = iso_to_ns(updated) if isinstance(updated, str) else now_ns
        events = d.get("events")
        event_slug = ""
        if isinstance(events, list) and events and isinstance(events[0], Mapping):
            event_slug = str(events[0].get("slug") or "")
        market = PolyMarket(
            event_id=poly_event_id("market", cid, ""),  # replaced below (needs natural_key)
            ts_event=ts_event,
            ts_recorded=now_ns,
            source=source,
            vertical="poly",
            symbol=cid,
            condition_id=cid,
            market_id=_opt_str(d, "id"),
            question=_opt_str(d, "question"),
            slug=_opt_str(d, "slug"),
            event_slug=event_slug,
            outcomes=outcomes,
            token_ids=tokens,
            prices=prices,
            end_ts=end_ts,
            active=bool(d.get("active", True)),
            closed=bool(d.get("closed", False)),
            neg_risk=bool(d.get("negRisk") or False),
            tick_size=_opt_dec(d, "orderPriceMinTickSize"),
            min_size=_opt_dec(d, "orderMinSize"),
            volume=_opt_dec(d, "volumeNum", "volume"),
            liquidity=_opt_dec(d, "liquidityNum", "liquidity"),
        )
    except (_Bad, ValueError) as exc:
        return Malformed(f"{source}:gamma:market", _raw(raw), str(exc))
    return structs.replace(
        market, event_id=poly_event_id("market", market.symbol, market.natural_key)
    )


def resolution_of(market: PolyMarket, *, now_ns: int) -> PolyResolved | None:
    """The resolution a closed Gamma listing implies: final prices all 0 or 1 with exactly one
    winner (a ``0/0`` legacy listing or a still-trading market is not resolved)."""
    if not market.closed or len(market.prices) != len(market.outcomes) or not market.prices:
        return None
    if any(p not in (_ZERO, _ONE) for p in market.prices) or market.prices.count(_ONE) != 1:
        return None
    payouts = tuple(_ONE if p == _ONE else _ZERO for p in market.prices)
    winner = market.outcomes[payouts.index(_ONE)]
    return PolyResolved(
        event_id=poly_event_id("resolved", market.condition_id, market.condition_id),
        ts_event=market.end_ts if market.end_ts is not None else now_ns,
        ts_recorded=now_ns,
        source=market.source,
        vertical="poly",
        symbol=market.condition_id,
        condition_id=market.condition_id,
        outcomes=market.outcomes,
        token_ids=market.token_ids,
        payouts=payouts,
        winner=winner,
        origin="gamma",
    )


# -- Data API ----------------------------------------------------------------------------------


def trade_from_data_api(
    raw: object, *, now_ns: int, origin: str = "data-api", source: str = SOURCE
) -> PolyTrade | Malformed:
    """One Data API trade/activity row (v1 camelCase or v2 snake_case) -> :class:`PolyTrade`.

    ``trade_key`` = ``tx:asset:side:size:price`` (a transaction can fill several orders), or a
    sha1 of the row when it has no transaction hash."""
    try:
        d = _obj(raw)
        kind = d.get("type")
        if isinstance(kind, str) and kind.upper() != "TRADE":
            raise _Bad(f"activity type {kind} is not a trade")
        cid = _str(d, "conditionId", "condition_id")
        asset = _opt_str(d, "asset", "token_id", "asset_id")
        wallet = _str(d, "proxyWallet", "proxy_wallet").lower()
        side = _side(d)
        size, price = _dec(d, "size"), _dec(d, "price")
        if size <= 0 or not _ZERO <= price <= _ONE:
            raise _Bad(f"size {size} / price {price} out of range")
        ts = _ts_ns(_get(d, "timestamp"), unit="s")
        tx = _opt_str(d, "transactionHash", "transaction_hash")
        return poly_trade(
            condition_id=cid,
            token_id=asset,
            outcome=_opt_str(d, "outcome"),
            wallet=wallet,
            side=side,
            size=size,
            price=price,
            ts_event=ts,
            ts_recorded=now_ns,
            tx_hash=tx,
            trade_key=data_trade_key(tx, asset, side, size, price) if tx else _digest(raw),
            title=_opt_str(d, "title"),
            origin=origin,
            source=source,
        )
    except _Bad as exc:
        return Malformed(f"{source}:data-api:trade", _raw(raw), str(exc))


def data_trade_key(tx: str, token_id: str, side: str, size: Decimal, price: Decimal) -> str:
    """The natural key of a Data API fill with a transaction hash: ``tx:asset:side:size:price``
    (a transaction can fill several orders; size and price without exponent or trailing zeros,
    so ``1.50`` and ``1.5`` key alike).  Imports key their rows the same way."""
    return f"{tx}:{token_id}:{side}:{_canon(size)}:{_canon(price)}"


def poly_trade(
    *,
    condition_id: str,
    token_id: str,
    outcome: str,
    wallet: str,
    side: PolySide,
    size: Decimal,
    price: Decimal,
    ts_event: int,
    ts_recorded: int,
    trade_key: str,
    tx_hash: str = "",
    title: str = "",
    origin: str,
    source: str = SOURCE,
) -> PolyTrade:
    """A :class:`PolyTrade` with its stable id (from ``condition_id`` and ``trade_key``)."""
    return PolyTrade(
        event_id=poly_event_id(PolyTrade.KIND, condition_id, trade_key),
        ts_event=ts_event,
        ts_recorded=ts_recorded,
        source=source,
        vertical="poly",
        symbol=condition_id,
        condition_id=condition_id,
        token_id=token_id,
        outcome=outcome,
        wallet=wallet,
        side=side,
        size=size,
        price=price,
        tx_hash=tx_hash,
        trade_key=trade_key,
        title=title,
        origin=origin,
    )


def position_from_data_api(raw: object) -> WalletPositionRow | Malformed:
    try:
        d = _obj(raw)

        def num(*keys: str) -> Decimal:
            return _opt_dec(d, *keys) or _ZERO

        return WalletPositionRow(
            wallet=_str(d, "proxyWallet", "proxy_wallet").lower(),
            market=_str(d, "conditionId", "condition_id"),
            token_id=_str(d, "asset", "token_id"),
            outcome=_opt_str(d, "outcome"),
            size=_dec(d, "size"),
            avg_price=num("avgPrice", "avg_price"),
            initial_value=num("initialValue", "initial_value"),
            current_value=num("currentValue", "current_value"),
            cash_pnl=num("cashPnl", "cash_pnl"),
            realized_pnl=num("realizedPnl", "realized_pnl"),
            cur_price=num("curPrice", "cur_price"),
            total_bought=num("totalBought", "total_bought"),
            redeemable=bool(d.get("redeemable") or False),
            title=_opt_str(d, "title"),
        )
    except _Bad as exc:
        return Malformed(f"{SOURCE}:data-api:position", _raw(raw), str(exc))


def holders_from_data_api(raw: object) -> list[HolderRow | Malformed]:
    """The ``/holders`` answer ``[{"token", "holders": [...]}]`` -> one row per holder."""
    out: list[HolderRow | Malformed] = []
    groups = raw if isinstance(raw, list) else [raw]
    for group in groups:
        try:
            g = _obj(group)
            token = _str(g, "token", "token_id")
            holders = g.get("holders")
            if not isinstance(holders, list):
                raise _Bad("holders is not a list")
        except _Bad as exc:
            out.append(Malformed(f"{SOURCE}:data-api:holders", _raw(group), str(exc)))
            continue
        for h in holders:
            try:
                hd = _obj(h)
                idx = hd.get("outcomeIndex", hd.get("outcome_index"))
                out.append(
                    HolderRow(
                        token_id=token,
                        wallet=_str(hd, "proxyWallet", "proxy_wallet").lower(),
                        amount=_dec(hd, "amount"),
                        outcome_index=idx if isinstance(idx, int) else None,
                        name=_opt_str(hd, "name", "pseudonym"),
                    )
                )
            except _Bad as exc:
                out.append(Malformed(f"{SOURCE}:data-api:holder", _raw(h), str(exc)))
    return out


# -- CLOB books and market channel -------------------------------------------------------------


def _levels(value: object, name: str) -> dict[Decimal, Decimal]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise _Bad(f"{name} is not a list")
    levels: dict[Decimal, Decimal] = {}
    for level in value:
        lv = _obj(level)
        price, size = _dec(lv, "price"), _dec(lv, "size")
        if size > 0:
            levels[price] = size
    return levels


@dataclass
class LocalBook:
    """One token's book as the market channel built it (price -> size)."""

    token_id: str
    condition_id: str
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)
    tick_size: Decimal | None = None
    book_hash: str = ""

    def to_event(self, *, ts_event: int, now_ns: int, source: str = SOURCE) -> PolyBook:
        return book_event(self, ts_event=ts_event, now_ns=now_ns, source=source)


def book_event(book: LocalBook, *, ts_event: int, now_ns: int, source: str = SOURCE) -> PolyBook:
    """Top of book, mid and the USD depth within :data:`DEPTH_BAND` of the mid on each side."""
    best_bid = max(book.bids) if book.bids else None
    best_ask = min(book.asks) if book.asks else None
    mid = (best_bid + best_ask) / 2 if best_bid is not None and best_ask is not None else None
    bid_depth = ask_depth = _ZERO
    if mid is not None:
        bid_depth = sum((p * s for p, s in book.bids.items() if p >= mid - DEPTH_BAND), _ZERO)
        ask_depth = sum((p * s for p, s in book.asks.items() if p <= mid + DEPTH_BAND), _ZERO)
    natural = f"{ts_event}:{book.book_hash}"
    return PolyBook(
        event_id=poly_event_id("book", book.token_id, natural),
        ts_event=ts_event,
        ts_recorded=now_ns,
        source=source,
        vertical="poly",
        symbol=book.token_id,
        condition_id=book.condition_id,
        best_bid=best_bid,
        best_ask=best_ask,
        mid=mid,
        bid_depth=bid_depth,
        ask_depth=ask_depth,
        depth_band=DEPTH_BAND,
        tick_size=book.tick_size,
        book_hash=book.book_hash,
    )


def book_from_snapshot(raw: object, *, now_ns: int, source: str = SOURCE) -> PolyBook | Malformed:
    """A CLOB ``GET /book`` answer or a ``book`` frame -> :class:`PolyBook`."""
    try:
        book = _snapshot(raw)
        d = _obj(raw)
        ts = _get(d, "timestamp")
        ts_event = _ts_ns(ts, unit="ms") if ts is not None else now_ns
    except _Bad as exc:
        return Malformed(f"{source}:clob:book", _raw(raw), str(exc))
    return book.to_event(ts_event=ts_event, now_ns=now_ns, source=source)


def _snapshot(raw: object) -> LocalBook:
    d = _obj(raw)
    return LocalBook(
        token_id=_str(d, "asset_id", "token_id"),
        condition_id=_opt_str(d, "market"),
        bids=_levels(d.get("bids", d.get("buys")), "bids"),
        asks=_levels(d.get("asks", d.get("sells")), "asks"),
        tick_size=_opt_dec(d, "tick_size"),
        book_hash=_opt_str(d, "hash"),
    )


MarketItem = PolyBook | Trade | PolyResolved | Malformed
_IGNORED = frozenset({"best_bid_ask", "new_market"})


class MarketFrames:
    """Decodes market-channel frames, keeping each token's book (so deltas give full tops).

    Deterministic and I/O free: the same frames in the same order give the same events.
    ``outcomes`` (token id -> outcome name) names the outcomes of ``market_resolved``.
    """

    def __init__(self, *, outcomes: Mapping[str, str] | None = None, source: str = SOURCE):
        self.books: dict[str, LocalBook] = {}
        self.outcomes = dict(outcomes or {})
        self.source = source

    def decode(self, text: str | bytes, *, now_ns: int) -> list[MarketItem]:
        """One WebSocket text frame (an object or an array of objects) -> items."""
        try:
            payload = json.loads(text)
        except ValueError:
            raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
            return [Malformed(f"{self.source}:clob:ws", raw[:4096], "not JSON")]
        items = payload if isinstance(payload, list) else [payload]
        out: list[MarketItem] = []
        for item in items:
            out.extend(self.apply(item, now_ns=now_ns))
        return out

    def apply(self, frame: object, *, now_ns: int) -> list[MarketItem]:
        """One decoded frame object -> items (never raises)."""
        try:
            d = _obj(frame)
            kind = d.get("event_type")
            if not isinstance(kind, str):
                raise _Bad("missing event_type")
            if kind in _IGNORED:
                return []
            handler = {
                "book": self._book,
                "price_change": self._price_change,
                "last_trade_price": self._last_trade,
                "tick_size_change": self._tick_size,
                "market_resolved": self._resolved,
            }.get(kind)
            if handler is None:
                return []  # a new event type: not ours to judge (and not worth a dead letter)
            ts = _get(d, "timestamp")
            ts_event = _ts_ns(ts, unit="ms") if ts is not None else now_ns
            return handler(d, ts_event, now_ns)
        except _Bad as exc:
            return [Malformed(f"{self.source}:clob:ws", _raw(frame), str(exc))]

    def _book(self, d: Mapping[str, Any], ts_event: int, now_ns: int) -> list[MarketItem]:
        book = _snapshot(d)
        old = self.books.get(book.token_id)
        if book.tick_size is None and old is not None:
            book.tick_size = old.tick_size
        self.books[book.token_id] = book
        return [book.to_event(ts_event=ts_event, now_ns=now_ns, source=self.source)]

    def _price_change(self, d: Mapping[str, Any], ts_event: int, now_ns: int) -> list[MarketItem]:
        changes = d.get("price_changes")
        if changes is None and "changes" in d:  # the pre-2025 form: one asset, changes[]
            asset = _str(d, "asset_id")
            raw_changes = d.get("changes")
            if not isinstance(raw_changes, list):
                raise _Bad("changes is not a list")
            changes = [{**_obj(c), "asset_id": asset} for c in raw_changes]
        if not isinstance(changes, list):
            raise _Bad("price_changes is not a list")
        touched: list[str] = []
        parsed = []
        for change in changes:  # validate all before applying any
            c = _obj(change)
            parsed.append(
                (_str(c, "asset_id"), _side(c), _dec(c, "price"), _dec(c, "size"), c.get("hash"))
            )
        for asset, side, price, size, h in parsed:
            book = self.books.setdefault(asset, LocalBook(asset, _opt_str(d, "market")))
            levels = book.bids if side == "buy" else book.asks
            if size > 0:
                levels[price] = size
            else:
                levels.pop(price, None)
            book.book_hash = str(h) if isinstance(h, str) else ""
            if asset not in touched:
                touched.append(asset)
        return [
            self.books[a].to_event(ts_event=ts_event, now_ns=now_ns, source=self.source)
            for a in touched
        ]

    def _last_trade(self, d: Mapping[str, Any], ts_event: int, now_ns: int) -> list[MarketItem]:
        asset = _str(d, "asset_id")
        price, size = _dec(d, "price"), _dec(d, "size")
        if size <= 0 or not _ZERO <= price <= _ONE:
            raise _Bad(f"size {size} / price {price} out of range")
        trade_id = _opt_str(d, "transaction_hash") or _digest(d)
        return [
            Trade(
                event_id=market_event_id(VENUE, "trade", asset, trade_id),
                ts_event=ts_event,
                ts_recorded=now_ns,
                source=self.source,
                vertical="poly",
                venue=VENUE,
                symbol=asset,
                trade_id=trade_id,
                price=price,
                qty=size,
                side=_side(d),
            )
        ]

    def _tick_size(self, d: Mapping[str, Any], ts_event: int, now_ns: int) -> list[MarketItem]:
        asset = _str(d, "asset_id")
        tick = _dec(d, "new_tick_size")
        book = self.books.setdefault(asset, LocalBook(asset, _opt_str(d, "market")))
        book.tick_size = tick
        return [book.to_event(ts_event=ts_event, now_ns=now_ns, source=self.source)]

    def _resolved(self, d: Mapping[str, Any], ts_event: int, now_ns: int) -> list[MarketItem]:
        cid = _str(d, "market")
        assets = d.get("assets_ids")
        if not isinstance(assets, list) or not assets:
            raise _Bad("assets_ids is not a list")
        tokens = tuple(str(a) for a in assets)
        winner_token = _str(d, "winning_asset_id")
        if winner_token not in tokens:
            raise _Bad("winning_asset_id is not one of assets_ids")
        names = _outcome_names(d, tokens, winner_token, self.outcomes)
        payouts = tuple(_ONE if t == winner_token else _ZERO for t in tokens)
        return [
            PolyResolved(
                event_id=poly_event_id("resolved", cid, cid),
                ts_event=ts_event,
                ts_recorded=now_ns,
                source=self.source,
                vertical="poly",
                symbol=cid,
                condition_id=cid,
                outcomes=names,
                token_ids=tokens,
                payouts=payouts,
                winner=names[tokens.index(winner_token)],
                origin="clob",
            )
        ]


def _outcome_names(
    d: Mapping[str, Any], tokens: Sequence[str], winner: str, known: Mapping[str, str]
) -> tuple[str, ...]:
    listed = d.get("outcomes")
    if isinstance(listed, list) and len(listed) == len(tokens):
        return tuple(str(x) for x in listed)
    win_name = _opt_str(d, "winning_outcome")
    complement = {"Yes": "No", "No": "Yes"}
    names = []
    for t in tokens:
        if t in known:
            names.append(known[t])
        elif t == winner and win_name:
            names.append(win_name)
        elif len(tokens) == 2 and win_name in complement:
            names.append(complement[win_name])
        else:
            names.append(t)
    return tuple(names)


# -- CLOB user channel and authenticated reads -------------------------------------------------


def order_update_from_frame(raw: object, *, now_ns: int) -> UserOrderUpdate | Malformed:
    try:
        d = _obj(raw)
        ts = _get(d, "timestamp")
        return UserOrderUpdate(
            order_id=_str(d, "id"),
            type=_opt_str(d, "type"),
            status=_opt_str(d, "status"),
            market=_opt_str(d, "market"),
            token_id=_str(d, "asset_id"),
            side=_side(d),
            price=_dec(d, "price"),
            original_size=_opt_dec(d, "original_size") or _ZERO,
            size_matched=_opt_dec(d, "size_matched") or _ZERO,
            outcome=_opt_str(d, "outcome"),
            order_type=_opt_str(d, "order_type"),
            associate_trades=tuple(str(x) for x in (d.get("associate_trades") or ())),
            ts=_ts_ns(ts, unit="ms") if ts is not None else now_ns,
        )
    except _Bad as exc:
        return Malformed(f"{SOURCE}:clob:user", _raw(raw), str(exc))


def own_trade_from_row(raw: object) -> OwnTradeRow | Malformed:
    """A ``/data/trades`` item or a user-channel ``trade`` frame -> :class:`OwnTradeRow`."""
    try:
        d = _obj(raw)
        match = _get(d, "match_time", "matchtime")
        makers = d.get("maker_orders") or []
        if not isinstance(makers, list):
            raise _Bad("maker_orders is not a list")
        return OwnTradeRow(
            trade_id=_str(d, "id"),
            market=_opt_str(d, "market"),
            token_id=_str(d, "asset_id"),
            side=_side(d),
            size=_dec(d, "size"),
            price=_dec(d, "price"),
            status=_opt_str(d, "status"),
            outcome=_opt_str(d, "outcome"),
            taker_order_id=_opt_str(d, "taker_order_id"),
            trader_side=_opt_str(d, "trader_side"),
            maker_order_ids=tuple(_opt_str(_obj(m), "order_id") for m in makers),
            fee_rate_bps=_opt_dec(d, "fee_rate_bps") or _ZERO,
            match_ts=_ts_ns(match, unit="auto") if match is not None else None,
            tx_hash=_opt_str(d, "transaction_hash"),
            maker_orders=tuple(maker_fill_from_row(m) for m in makers),
        )
    except _Bad as exc:
        return Malformed(f"{SOURCE}:clob:trade", _raw(raw), str(exc))


def maker_fill_from_row(raw: object) -> MakerFill:
    """One ``maker_orders`` item -> :class:`MakerFill`.

    Raises:
        _Bad: no order id, matched amount or price (the whole trade is then Malformed: a
            maker fill of unknown size must not be booked at a guess).
    """
    m = _obj(raw)
    return MakerFill(
        order_id=_str(m, "order_id"),
        matched_amount=_dec(m, "matched_amount"),
        price=_dec(m, "price"),
        owner=_opt_str(m, "owner"),
        token_id=_opt_str(m, "asset_id", "token_id"),
        side=_opt_str(m, "side").upper(),
        outcome=_opt_str(m, "outcome"),
        maker_address=_opt_str(m, "maker_address"),
        fee_rate_bps=_opt_dec(m, "fee_rate_bps") or _ZERO,
    )


def open_order_from_row(raw: object) -> OpenOrderRow | Malformed:
    try:
        d = _obj(raw)
        created = _get(d, "created_at")
        return OpenOrderRow(
            order_id=_str(d, "id"),
            market=_opt_str(d, "market"),
            token_id=_str(d, "asset_id"),
            side=_side(d),
            price=_dec(d, "price"),
            original_size=_dec(d, "original_size"),
            size_matched=_opt_dec(d, "size_matched") or _ZERO,
            outcome=_opt_str(d, "outcome"),
            order_type=_opt_str(d, "order_type"),
            status=_opt_str(d, "status"),
            created_ts=_ts_ns(created, unit="auto") if created is not None else None,
        )
    except _Bad as exc:
        return Malformed(f"{SOURCE}:clob:order", _raw(raw), str(exc))


def user_items(
    text: str | bytes, *, now_ns: int
) -> list[UserOrderUpdate | OwnTradeRow | Malformed]:
    """One user-channel text frame (object or array) -> order updates and trades."""
    try:
        payload = json.loads(text)
    except ValueError:
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        return [Malformed(f"{SOURCE}:clob:user", raw[:4096], "not JSON")]
    out: list[UserOrderUpdate | OwnTradeRow | Malformed] = []
    for item in payload if isinstance(payload, list) else [payload]:
        kind = item.get("event_type") if isinstance(item, Mapping) else None
        if kind == "order":
            out.append(order_update_from_frame(item, now_ns=now_ns))
        elif kind == "trade":
            out.append(own_trade_from_row(item))
        else:
            out.append(Malformed(f"{SOURCE}:clob:user", _raw(item), "unknown event_type"))
    return out


def only_good(items: Iterable[object]) -> list[Any]:
    """The items that are not :class:`Malformed` (for callers that report them separately)."""
    return [i for i in items if not isinstance(i, Malformed)]
