"""``poly_markets`` and ``poly_tokens``: Polymarket markets, their resolutions and the top of
each outcome token's book.

Projected from ``mkt.polymarket.market|resolved|book|trade.>`` in ``MARKET``:

* :class:`~events.poly.PolyMarket` replaces a market's listing columns (the latest listing
  wins) and names its tokens (condition id, outcome, index);
* :class:`~events.poly.PolyResolved` sets the winner, payouts, origin and time, marks the
  market closed and inactive, and creates the row if no listing came first (empty question);
  the first resolution stands (a later one is ignored, as :mod:`projections.wallets` does);
* :class:`~events.poly.PolyBook` sets a token's best bid/ask, mid and depths;
* a CLOB last trade (:class:`events.market.Trade` with venue ``polymarket``, symbol = token id)
  sets the token's last trade price.

Each batch reads the rows it touches, folds the batch into them in stream order and upserts
whole rows, so the result does not depend on how the log was cut into batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from events.market import Trade
from events.poly import VENUE, PolyBook, PolyMarket, PolyResolved
from projections.base import Batch, ns_to_dt
from projections.rows import names, set_all


@dataclass(frozen=True, slots=True)
class MarketRow:
    """A row of ``poly_markets``."""

    condition_id: str
    market_id: str
    question: str
    slug: str
    event_slug: str
    outcomes: tuple[str, ...]
    token_ids: tuple[str, ...]
    prices: tuple[Decimal, ...]
    end_ts: datetime | None
    active: bool
    closed: bool
    neg_risk: bool
    tick_size: Decimal | None
    min_size: Decimal | None
    volume: Decimal | None
    liquidity: Decimal | None
    listed_ts: datetime | None
    winner: str | None
    payouts: tuple[Decimal, ...] | None
    resolution_origin: str | None
    resolution_note: str | None
    resolved_ts: datetime | None
    updated_ts: datetime
    last_seq: int


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A row of ``poly_tokens``."""

    token_id: str
    condition_id: str | None
    outcome: str | None
    outcome_index: int | None
    best_bid: Decimal | None
    best_ask: Decimal | None
    mid: Decimal | None
    bid_depth: Decimal | None
    ask_depth: Decimal | None
    book_ts: datetime | None
    last_trade_price: Decimal | None
    last_trade_ts: datetime | None
    updated_ts: datetime
    last_seq: int


@dataclass
class MarketChanges:
    markets: dict[str, MarketRow] = field(default_factory=dict)
    tokens: dict[str, TokenRow] = field(default_factory=dict)


def is_poly_event(e: object) -> bool:
    """The events this read model consumes."""
    if isinstance(e, PolyMarket | PolyResolved | PolyBook):
        return True
    return isinstance(e, Trade) and e.venue == VENUE


def touched(batch: Batch) -> tuple[set[str], set[str]]:
    """Pure: the condition ids and token ids a batch changes."""
    markets: set[str] = set()
    tokens: set[str] = set()
    for _, e in batch:
        if isinstance(e, PolyMarket | PolyResolved):
            markets.add(e.condition_id)
            tokens.update(e.token_ids)
        elif isinstance(e, PolyBook) or (isinstance(e, Trade) and e.venue == VENUE):
            tokens.add(e.symbol)
    return markets, tokens


def _empty_token(token_id: str, ts: datetime, seq: int) -> TokenRow:
    return TokenRow(token_id, None, None, None, None, None, None, None, None, None, None, None,
                    ts, seq)  # fmt: skip


def fold_markets(
    markets: Mapping[str, MarketRow], tokens: Mapping[str, TokenRow], batch: Batch
) -> MarketChanges:
    """Pure: the market and token rows a batch changes, from the current ones."""
    out = MarketChanges()

    def token(token_id: str, ts: datetime, seq: int) -> TokenRow:
        return out.tokens.get(token_id) or tokens.get(token_id) or _empty_token(token_id, ts, seq)

    def name_tokens(cid: str, ids: tuple[str, ...], outcomes: tuple[str, ...], ts: datetime,
                    seq: int) -> None:  # fmt: skip
        for i, (tid, outcome) in enumerate(zip(ids, outcomes, strict=False)):
            row = token(tid, ts, seq)
            out.tokens[tid] = replace(row, condition_id=cid, outcome=outcome, outcome_index=i,
                                      updated_ts=ts, last_seq=seq)  # fmt: skip

    for seq, e in batch:
        ts = ns_to_dt(e.ts_event)
        if isinstance(e, PolyMarket):
            prev = out.markets.get(e.condition_id) or markets.get(e.condition_id)
            listing = MarketRow(
                e.condition_id, e.market_id, e.question, e.slug, e.event_slug, e.outcomes,
                e.token_ids, e.prices, None if e.end_ts is None else ns_to_dt(e.end_ts),
                e.active, e.closed, e.neg_risk, e.tick_size, e.min_size, e.volume, e.liquidity,
                ts, None, None, None, None, None, ts, seq,
            )  # fmt: skip
            if prev is not None and prev.winner is not None:  # a resolution outlives listings
                listing = replace(
                    listing, closed=True, active=False, winner=prev.winner,
                    payouts=prev.payouts, resolution_origin=prev.resolution_origin,
                    resolution_note=prev.resolution_note, resolved_ts=prev.resolved_ts,
                )  # fmt: skip
            out.markets[e.condition_id] = listing
            name_tokens(e.condition_id, e.token_ids, e.outcomes, ts, seq)
        elif isinstance(e, PolyResolved):
            prev = out.markets.get(e.condition_id) or markets.get(e.condition_id)
            if prev is not None and prev.winner is not None:
                continue  # the first resolution stands (as in the wallets read model)
            if prev is None:
                prev = MarketRow(e.condition_id, "", "", "", "", e.outcomes, e.token_ids, (),
                                 None, False, True, False, None, None, None, None, None, None,
                                 None, None, None, None, ts, seq)  # fmt: skip
            out.markets[e.condition_id] = replace(
                prev, active=False, closed=True, winner=e.winner, payouts=e.payouts,
                resolution_origin=e.origin, resolution_note=e.note, resolved_ts=ts,
                updated_ts=ts, last_seq=seq,
            )  # fmt: skip
            if e.token_ids:
                name_tokens(e.condition_id, e.token_ids, e.outcomes, ts, seq)
        elif isinstance(e, PolyBook):
            row = token(e.symbol, ts, seq)
            out.tokens[e.symbol] = replace(
                row, condition_id=row.condition_id or e.condition_id, best_bid=e.best_bid,
                best_ask=e.best_ask, mid=e.mid, bid_depth=e.bid_depth, ask_depth=e.ask_depth,
                book_ts=ts, updated_ts=ts, last_seq=seq,
            )  # fmt: skip
        elif isinstance(e, Trade) and e.venue == VENUE:
            row = token(e.symbol, ts, seq)
            out.tokens[e.symbol] = replace(row, last_trade_price=e.price, last_trade_ts=ts,
                                           updated_ts=ts, last_seq=seq)  # fmt: skip
    return out


def _upsert(table: str, row_type: type, key: str) -> str:
    cols = names(row_type)
    values = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({values})"
        f" ON CONFLICT ({key}) DO UPDATE SET {set_all(cols[1:])}"
    )


UPSERT_MARKETS = _upsert("poly_markets", MarketRow, "condition_id")
UPSERT_TOKENS = _upsert("poly_tokens", TokenRow, "token_id")
SELECT_MARKETS = (
    f"SELECT {', '.join(names(MarketRow))} FROM poly_markets WHERE condition_id = ANY($1::text[])"
)
SELECT_TOKENS = f"SELECT {', '.join(names(TokenRow))} FROM poly_tokens WHERE token_id = ANY($1)"


def market_row(values: Iterable[Any]) -> MarketRow:
    """A :class:`MarketRow` from a fetched row (arrays come back as lists)."""
    v = list(values)
    for i in (5, 6, 7):
        v[i] = tuple(v[i])
    if v[18] is not None:
        v[18] = tuple(v[18])
    return MarketRow(*v)


@dataclass(frozen=True)
class PolyMarketsProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "poly_markets"
    stream: str = "MARKET"
    subjects: tuple[str, ...] = (
        "mkt.polymarket.market.>",
        "mkt.polymarket.resolved.>",
        "mkt.polymarket.book.>",
        "mkt.polymarket.trade.>",
    )
    tables: tuple[str, ...] = ("poly_markets", "poly_tokens")

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        want_markets, want_tokens = touched(batch)
        if not want_markets and not want_tokens:
            return
        markets = {
            m.condition_id: m
            for m in (
                market_row(r.values()) for r in await conn.fetch(SELECT_MARKETS, list(want_markets))
            )
        }
        tokens = {
            r["token_id"]: TokenRow(*r.values())
            for r in await conn.fetch(SELECT_TOKENS, list(want_tokens))
        }
        changes = fold_markets(markets, tokens, batch)
        if changes.markets:
            await conn.executemany(UPSERT_MARKETS, [_values(r) for r in changes.markets.values()])
        if changes.tokens:
            await conn.executemany(UPSERT_TOKENS, [_values(r) for r in changes.tokens.values()])


def _values(row: object) -> list[object]:
    return [
        list(v) if isinstance(v, tuple) else v for v in (getattr(row, n) for n in names(type(row)))
    ]


# -- queries (the CLI) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketView:
    """A market with the book of each outcome (index-aligned with ``market.outcomes``)."""

    market: MarketRow
    mids: tuple[Decimal | None, ...]
    last_trades: tuple[Decimal | None, ...]


async def list_markets(
    conn: asyncpg.Connection, *, active_only: bool = False, limit: int = 50
) -> list[MarketView]:
    """Markets, soonest to end first (markets with no end last), with each outcome's mid.

    Args:
        active_only: only markets listed as active and not closed.
        limit: at most this many.
    """
    rows = await conn.fetch(
        f"SELECT {', '.join('m.' + n for n in names(MarketRow))},"
        " (SELECT array_agg(t.mid ORDER BY o.i) FROM unnest(m.token_ids) WITH ORDINALITY"
        "    AS o(tid, i) LEFT JOIN poly_tokens t ON t.token_id = o.tid) AS mids,"
        " (SELECT array_agg(t.last_trade_price ORDER BY o.i) FROM unnest(m.token_ids)"
        "    WITH ORDINALITY AS o(tid, i) LEFT JOIN poly_tokens t ON t.token_id = o.tid)"
        "    AS last_trades"
        " FROM poly_markets m WHERE (NOT $1 OR (m.active AND NOT m.closed))"
        " ORDER BY m.end_ts ASC NULLS LAST, m.condition_id LIMIT $2",
        active_only,
        limit,
    )
    n = len(names(MarketRow))
    return [
        MarketView(
            market_row(list(r.values())[:n]), tuple(r["mids"] or ()), tuple(r["last_trades"] or ())
        )
        for r in rows
    ]
