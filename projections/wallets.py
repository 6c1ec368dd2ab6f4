"""``wallets``: every Polymarket wallet's PnL, record and smart score (quant.md §7).

Projected from ``mkt.polymarket.wtrade|resolved|market|book.>`` in ``MARKET`` with the pure
engine of :mod:`helix.quant.wallets`.  The projector's state lives in tables:

* ``wallet_positions``: one :class:`~helix.quant.wallets.OutcomePosition` per (wallet,
  condition id, outcome), with the wallet's trade count, volume and first/last trade there;
* ``wallet_markets`` (outcomes, and the payouts of the **first** resolution: a later,
  different one is ignored here), ``wallet_tokens`` (token id -> market and outcome, for books);
* ``wallet_marks``: per (market, outcome) the latest book mid (NULL after a one-sided book) and
  the latest wallet trade price; the mark of unrealised PnL is the mid, else the trade price;
* ``poly_prices_hourly``: per (market, outcome, UTC hour of the event time) the last mid and
  the last trade price of that hour;
* ``wallet_entries``: BUYs of ≥ $500 in unresolved markets, the candidates for §7.3.

Per batch, in stream order: a PolyTrade is applied to its position (a trade that reaches the
log after its market's resolution is redeemed at once at the payout, as
:class:`~helix.quant.wallets.WalletBook` does); a PolyResolved redeems every position of the
market at its outcome's payout (an outcome without a payout stays open) and judges the
market's entries against the move events of its hourly YES series (``outcomes[0]``; the point
of an hour is ``coalesce(mid, trade)``, else ``1 −`` the other outcome's of a binary market,
stamped at the end of the hour), setting ``prenews`` on those wallets' positions of that
market.  Then every wallet whose positions changed, or who holds an open position whose mark
changed, gets its ``wallets`` row recomputed from all its positions
(:meth:`~helix.quant.wallets.WalletBook.metrics`).  So each row is a function of the state,
and the tables do not depend on how the log was cut into batches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from typing import Literal

import asyncpg

from events.poly import PolyBook, PolyMarket, PolyResolved, PolyTrade
from helix.quant.wallets import (
    CONTEXT,
    HOUR_NS,
    ONE,
    PRENEWS_MIN_NOTIONAL,
    OutcomePosition,
    WalletBook,
    WalletFill,
    WalletMetrics,
    prenews_wallets,
)
from projections.base import EPOCH, Batch, ns_to_dt
from projections.rows import columns, names, set_all, unnest_insert

ZERO = Decimal(0)
PosKey = tuple[str, str, str]  # (wallet, condition id, outcome)
OutcomeKey = tuple[str, str]  # (condition id, outcome)
HourKey = tuple[str, str, int]  # (condition id, outcome, hour start ns)


@dataclass(slots=True)
class Holding:
    """A row of ``wallet_positions``: the engine's position and the wallet's trading stats."""

    pos: OutcomePosition
    prenews: bool = False
    trades: int = 0
    volume: Decimal = ZERO
    first_ns: int = 0
    last_ns: int = 0


@dataclass(slots=True)
class MarketInfo:
    """A row of ``wallet_markets``."""

    outcomes: tuple[str, ...]
    payouts: tuple[Decimal, ...] | None = None
    resolved_ns: int | None = None

    def payout_of(self, outcome: str) -> Decimal | None:
        """The payout of ``outcome`` (exact name, else case-insensitive), None if unknown."""
        if self.payouts is None:
            return None
        pairs = list(zip(self.outcomes, self.payouts, strict=False))
        for name, p in pairs:
            if name == outcome:
                return p
        folded = outcome.casefold()
        return next((p for name, p in pairs if name.casefold() == folded), None)


@dataclass(slots=True)
class Mark:
    """A row of ``wallet_marks``."""

    mid: Decimal | None = None
    mid_ns: int | None = None
    trade_price: Decimal | None = None
    trade_ns: int | None = None

    @property
    def price(self) -> Decimal | None:
        """The mark of unrealised PnL: the mid, else the last trade price."""
        return self.mid if self.mid is not None else self.trade_price


@dataclass(frozen=True, slots=True)
class EntryRow:
    """A row of ``wallet_entries``: a BUY that may be a pre-news entry."""

    condition_id: str
    outcome: str
    wallet: str
    ts_ns: int
    size: Decimal
    price: Decimal
    seq: int


@dataclass
class WalletState:
    """What a batch reads (from the tables) and changes; :func:`fold_wallets` fills the
    ``changed_*`` sets and ``touched``."""

    markets: dict[str, MarketInfo] = field(default_factory=dict)
    tokens: dict[str, OutcomeKey] = field(default_factory=dict)
    holdings: dict[PosKey, Holding] = field(default_factory=dict)
    marks: dict[OutcomeKey, Mark] = field(default_factory=dict)
    entries: dict[str, list[EntryRow]] = field(default_factory=dict)  # of markets resolving
    prices: dict[HourKey, tuple[Decimal | None, Decimal | None]] = field(default_factory=dict)
    # what the batch changed
    hourly: dict[HourKey, tuple[Decimal | None, Decimal | None]] = field(default_factory=dict)
    new_entries: list[EntryRow] = field(default_factory=list)
    changed_markets: set[str] = field(default_factory=set)
    changed_tokens: set[str] = field(default_factory=set)
    changed_holdings: set[PosKey] = field(default_factory=set)
    changed_marks: set[OutcomeKey] = field(default_factory=set)
    resolved: set[str] = field(default_factory=set)
    touched: set[str] = field(default_factory=set)


def _hour(ns: int) -> int:
    return ns - ns % HOUR_NS


def _merge(
    old: tuple[Decimal | None, Decimal | None] | None, mid: Decimal | None, trade: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """The last non-NULL mid and trade price of an hour."""
    o_mid, o_trade = old or (None, None)
    return (o_mid if mid is None else mid, o_trade if trade is None else trade)


def yes_series(state: WalletState, cid: str) -> list[tuple[int, Decimal]]:
    """The hourly YES series of a market (see the module docstring), sorted by time."""
    outcomes = state.markets[cid].outcomes
    if not outcomes:
        return []
    per_hour: dict[int, dict[str, Decimal]] = {}
    for (c, outcome, hour), (mid, trade) in state.prices.items():
        px = mid if mid is not None else trade
        if c == cid and px is not None:
            per_hour.setdefault(hour, {})[outcome] = px
    out: list[tuple[int, Decimal]] = []
    for hour in sorted(per_hour):
        px = per_hour[hour].get(outcomes[0])
        if px is None and len(outcomes) == 2 and outcomes[1] in per_hour[hour]:
            with localcontext(CONTEXT):
                px = ONE - per_hour[hour][outcomes[1]]
        if px is not None:
            out.append((hour + HOUR_NS, px))
    return out


def _resolve(state: WalletState, seq: int, e: PolyResolved) -> None:
    info = state.markets.get(e.condition_id)
    if info is None:
        info = state.markets[e.condition_id] = MarketInfo(e.outcomes)
    if info.payouts is not None:  # the first resolution counts
        return
    info.outcomes, info.payouts = e.outcomes, e.payouts  # the resolution's names win
    info.resolved_ns = e.ts_event
    state.changed_markets.add(e.condition_id)
    state.resolved.add(e.condition_id)
    entries = state.entries.get(e.condition_id, [])
    fills = [WalletFill(x.wallet, x.condition_id, x.outcome, "buy", x.size, x.price, x.ts_ns)
             for x in entries]  # fmt: skip
    early = prenews_wallets(fills, yes_series(state, e.condition_id), info.outcomes[0])
    for key, h in state.holdings.items():
        wallet, cid, outcome = key
        if cid != e.condition_id:
            continue
        payout = info.payout_of(outcome)
        if payout is not None:
            h.pos.resolve(payout)
        h.prenews = h.prenews or wallet in early
        state.changed_holdings.add(key)
        state.touched.add(wallet)


def _trade(state: WalletState, seq: int, e: PolyTrade) -> None:
    cid = e.condition_id
    if e.token_id and e.token_id not in state.tokens:
        state.tokens[e.token_id] = (cid, e.outcome)
        state.changed_tokens.add(e.token_id)
    fill = WalletFill(e.wallet, cid, e.outcome, e.side, e.size, e.price, e.ts_event)
    key = (e.wallet, cid, e.outcome)
    h = state.holdings.get(key)
    if h is None:
        h = state.holdings[key] = Holding(OutcomePosition(), first_ns=e.ts_event)
    info = state.markets.get(cid)
    payout = None if info is None else info.payout_of(e.outcome)
    h.pos.apply_fill(fill, payout)  # a market that already resolved redeems at once
    if payout is None and fill.is_buy and fill.notional >= PRENEWS_MIN_NOTIONAL:
        row = EntryRow(cid, e.outcome, e.wallet, e.ts_event, e.size, e.price, seq)
        state.entries.setdefault(cid, []).append(row)
        state.new_entries.append(row)
    with localcontext(CONTEXT):
        h.volume += fill.notional
    h.trades += 1
    h.first_ns = min(h.first_ns, e.ts_event)
    h.last_ns = max(h.last_ns, e.ts_event)
    state.changed_holdings.add(key)
    state.touched.add(e.wallet)
    _price(state, cid, e.outcome, e.ts_event, None, e.price, "trade")


def _price(state: WalletState, cid: str, outcome: str, ts: int, mid: Decimal | None,
           trade: Decimal | None, kind: Literal["mid", "trade"]) -> None:  # fmt: skip
    mark = state.marks.setdefault((cid, outcome), Mark())
    if kind == "mid":
        mark.mid, mark.mid_ns = mid, ts
    else:
        mark.trade_price, mark.trade_ns = trade, ts
    state.changed_marks.add((cid, outcome))
    if mid is None and trade is None:
        return
    hk = (cid, outcome, _hour(ts))
    state.hourly[hk] = _merge(state.hourly.get(hk), mid, trade)
    state.prices[hk] = _merge(state.prices.get(hk), mid, trade)


def fold_wallets(state: WalletState, batch: Batch) -> WalletState:
    """Apply a batch to the state it read, in stream order (pure: no I/O; mutates ``state``).

    Raises:
        ValidationError: a wallet trade with a bad side, size or price.
    """
    for seq, e in batch:
        if isinstance(e, PolyTrade):
            _trade(state, seq, e)
        elif isinstance(e, PolyResolved):
            _resolve(state, seq, e)
        elif isinstance(e, PolyMarket):
            info = state.markets.get(e.condition_id)
            if info is None:
                state.markets[e.condition_id] = MarketInfo(e.outcomes)
            elif info.payouts is None:
                info.outcomes = e.outcomes
            state.changed_markets.add(e.condition_id)
            for tid, outcome in zip(e.token_ids, e.outcomes, strict=False):
                state.tokens[tid] = (e.condition_id, outcome)
                state.changed_tokens.add(tid)
        elif isinstance(e, PolyBook):
            known = state.tokens.get(e.symbol)
            if known is not None:  # a book of a token no listing named yet has no outcome
                _price(state, known[0], known[1], e.ts_event, e.mid, None, "mid")
    return state


# -- the wallets rows ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WalletRow:
    """A row of ``wallets`` (without its generated ``total_pnl``)."""

    wallet: str
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    cost: Decimal
    roi: float
    n_markets: int
    n_resolved: int
    win_rate: float | None
    brier: float | None
    z: float
    roi_realized: float
    prenews_ratio: float
    smart_score: float
    smart: bool
    insider_watch: bool
    trades: int
    volume: Decimal
    first_trade_ts: datetime
    last_trade_ts: datetime


def wallet_metrics(
    wallet: str, holdings: dict[OutcomeKey, Holding], marks: dict[OutcomeKey, Decimal]
) -> WalletMetrics:
    """Pure: §7 metrics of one wallet from all its positions and the marks of the open ones."""
    book = WalletBook.from_positions({wallet: {k: h.pos for k, h in holdings.items()}})
    prenews = {cid for (cid, _), h in holdings.items() if h.prenews}
    return book.metrics(wallet, marks, prenews)


def wallet_row(
    wallet: str, holdings: dict[OutcomeKey, Holding], marks: dict[OutcomeKey, Decimal]
) -> WalletRow:
    """Pure: the ``wallets`` row of one wallet."""
    m = wallet_metrics(wallet, holdings, marks)
    with localcontext(CONTEXT):
        volume = sum((h.volume for _, h in sorted(holdings.items())), ZERO)
    return WalletRow(
        wallet, m.realized_pnl, m.unrealized_pnl, m.cost, m.roi, m.n_markets, m.n_resolved,
        m.win_rate, m.brier, m.z, m.roi_realized, m.prenews_ratio, m.smart_score, m.smart,
        m.insider_watch, sum(h.trades for h in holdings.values()), volume,
        ns_to_dt(min(h.first_ns for h in holdings.values())),
        ns_to_dt(max(h.last_ns for h in holdings.values())),
    )  # fmt: skip


# -- SQL -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionRow:
    """A row of ``wallet_positions``."""

    wallet: str
    condition_id: str
    outcome: str
    amount: Decimal
    avg_price: Decimal
    realized: Decimal
    total_bought: Decimal
    cost: Decimal
    first_buy_ns: int | None
    payout: Decimal | None
    redeemed: Decimal
    redeemed_basis: Decimal
    prenews: bool
    trades: int
    volume: Decimal
    first_ns: int
    last_ns: int


SELECT_POS = f"SELECT {', '.join(names(PositionRow))} FROM wallet_positions"
UPSERT_POS = unnest_insert(
    "wallet_positions", PositionRow,
    "text text text numeric numeric numeric numeric numeric bigint numeric numeric numeric"
    " boolean integer numeric bigint bigint",
    "ON CONFLICT (wallet, condition_id, outcome) DO UPDATE SET "
    + set_all(names(PositionRow)[3:]),
)  # fmt: skip
UPSERT_WALLETS = unnest_insert(
    "wallets", WalletRow,
    "text numeric numeric numeric float8 integer integer float8 float8 float8 float8 float8"
    " float8 boolean boolean integer numeric timestamptz timestamptz",
    "ON CONFLICT (wallet) DO UPDATE SET " + set_all(names(WalletRow)[1:]),
)  # fmt: skip
INSERT_ENTRIES = unnest_insert(
    "wallet_entries", EntryRow, "text text text bigint numeric numeric bigint"
)


def holding_of(r: asyncpg.Record) -> tuple[PosKey, Holding]:
    """A fetched ``wallet_positions`` row as the engine's position."""
    x = PositionRow(*r.values())
    pos = OutcomePosition(x.amount, x.avg_price, x.realized, x.total_bought, x.cost,
                          x.first_buy_ns, x.payout, x.redeemed, x.redeemed_basis)  # fmt: skip
    key = (x.wallet, x.condition_id, x.outcome)
    return key, Holding(pos, x.prenews, x.trades, x.volume, x.first_ns, x.last_ns)


def position_row(key: PosKey, h: Holding) -> PositionRow:
    p = h.pos
    return PositionRow(*key, p.amount, p.avg_price, p.realized, p.total_bought, p.cost,
                       p.first_buy_ts, p.payout, p.redeemed,
                       p.redeemed_basis, h.prenews, h.trades, h.volume, h.first_ns,
                       h.last_ns)  # fmt: skip


def _dt_ns(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(microseconds=1) * 1000


async def load_state(conn: asyncpg.Connection, batch: Batch) -> WalletState | None:
    """The rows a batch needs (None: nothing in it for this read model)."""
    cids: set[str] = set()
    books: set[str] = set()
    keys: set[PosKey] = set()
    resolving: set[str] = set()
    for _, e in batch:
        if isinstance(e, PolyTrade):
            keys.add((e.wallet, e.condition_id, e.outcome))
        elif isinstance(e, PolyResolved):
            resolving.add(e.condition_id)
        elif isinstance(e, PolyBook):
            books.add(e.symbol)
        if isinstance(e, PolyTrade | PolyResolved | PolyMarket | PolyBook):
            cids.add(e.condition_id)
    if not cids:
        return None
    s = WalletState()
    for r in await conn.fetch(
        "SELECT condition_id, outcomes, payouts, resolved_ns FROM wallet_markets"
        " WHERE condition_id = ANY($1::text[])",
        list(cids),
    ):
        s.markets[r[0]] = MarketInfo(tuple(r[1]), None if r[2] is None else tuple(r[2]), r[3])
    for r in await conn.fetch(
        "SELECT token_id, condition_id, outcome FROM wallet_tokens WHERE token_id = ANY($1)",
        list(books),
    ):
        s.tokens[r[0]] = (r[1], r[2])
    w, c, o = (list(x) for x in zip(*keys, strict=True)) if keys else ([], [], [])
    for r in await conn.fetch(
        f"{SELECT_POS} WHERE (wallet, condition_id, outcome) IN"
        " (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))"
        " OR condition_id = ANY($4::text[])",
        w, c, o, list(resolving),
    ):  # fmt: skip
        key, h = holding_of(r)
        s.holdings[key] = h
    for r in await conn.fetch(
        "SELECT condition_id, outcome, mid, mid_ns, trade_price, trade_ns FROM wallet_marks"
        " WHERE condition_id = ANY($1::text[])",
        list(cids),
    ):
        s.marks[(r[0], r[1])] = Mark(r[2], r[3], r[4], r[5])
    if resolving:
        for r in await conn.fetch(
            f"SELECT {', '.join(names(EntryRow))} FROM wallet_entries"
            " WHERE condition_id = ANY($1::text[]) ORDER BY condition_id, seq",
            list(resolving),
        ):
            s.entries.setdefault(r[0], []).append(EntryRow(*r.values()))
        for r in await conn.fetch(
            "SELECT condition_id, outcome, hour, mid, trade_price FROM poly_prices_hourly"
            " WHERE condition_id = ANY($1::text[])",
            list(resolving),
        ):
            s.prices[(r[0], r[1], _dt_ns(r[2]))] = (r[3], r[4])
    return s


def _market_values(cid: str, m: MarketInfo) -> tuple[object, ...]:
    return (cid, list(m.outcomes), None if m.payouts is None else list(m.payouts), m.resolved_ns)


async def write_state(conn: asyncpg.Connection, s: WalletState) -> None:
    """Write what :func:`fold_wallets` changed."""
    if s.changed_markets:
        await conn.executemany(
            "INSERT INTO wallet_markets (condition_id, outcomes, payouts, resolved_ns)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (condition_id) DO UPDATE SET"
            " outcomes = EXCLUDED.outcomes, payouts = EXCLUDED.payouts,"
            " resolved_ns = EXCLUDED.resolved_ns",
            [_market_values(cid, s.markets[cid]) for cid in sorted(s.changed_markets)],
        )
    if s.changed_tokens:
        tids = sorted(s.changed_tokens)
        await conn.execute(
            "INSERT INTO wallet_tokens AS t (token_id, condition_id, outcome) SELECT * FROM"
            " unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT (token_id) DO UPDATE SET"
            " condition_id = EXCLUDED.condition_id, outcome = EXCLUDED.outcome",
            tids, [s.tokens[t][0] for t in tids], [s.tokens[t][1] for t in tids],
        )  # fmt: skip
    if s.changed_holdings:
        rows = [position_row(k, s.holdings[k]) for k in sorted(s.changed_holdings)]
        await conn.execute(UPSERT_POS, *columns(rows, PositionRow))
    if s.changed_marks:
        ks = sorted(s.changed_marks)
        marks = [s.marks[k] for k in ks]
        await conn.execute(
            "INSERT INTO wallet_marks AS t (condition_id, outcome, mid, mid_ns, trade_price,"
            " trade_ns) SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[],"
            " $4::bigint[], $5::numeric[], $6::bigint[]) ON CONFLICT (condition_id, outcome)"
            " DO UPDATE SET mid = EXCLUDED.mid, mid_ns = EXCLUDED.mid_ns,"
            " trade_price = EXCLUDED.trade_price, trade_ns = EXCLUDED.trade_ns",
            [k[0] for k in ks], [k[1] for k in ks], [m.mid for m in marks],
            [m.mid_ns for m in marks], [m.trade_price for m in marks],
            [m.trade_ns for m in marks],
        )  # fmt: skip
    if s.hourly:
        hk = sorted(s.hourly)
        await conn.execute(
            "INSERT INTO poly_prices_hourly AS t (condition_id, outcome, hour, mid, trade_price)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::numeric[],"
            " $5::numeric[]) ON CONFLICT (condition_id, outcome, hour) DO UPDATE SET"
            " mid = coalesce(EXCLUDED.mid, t.mid),"
            " trade_price = coalesce(EXCLUDED.trade_price, t.trade_price)",
            [k[0] for k in hk], [k[1] for k in hk], [ns_to_dt(k[2]) for k in hk],
            [s.hourly[k][0] for k in hk], [s.hourly[k][1] for k in hk],
        )  # fmt: skip
    if s.resolved:
        await conn.execute(
            "DELETE FROM wallet_entries WHERE condition_id = ANY($1::text[])", sorted(s.resolved)
        )
    entries = [x for x in s.new_entries if x.condition_id not in s.resolved]
    if entries:
        await conn.execute(INSERT_ENTRIES, *columns(entries, EntryRow))


async def recompute(conn: asyncpg.Connection, wallets: Iterable[str]) -> int:
    """Rewrite the ``wallets`` rows of ``wallets`` from ``wallet_positions`` and the marks."""
    chosen = sorted(set(wallets))
    if not chosen:
        return 0
    per: dict[str, dict[OutcomeKey, Holding]] = {}
    for r in await conn.fetch(f"{SELECT_POS} WHERE wallet = ANY($1::text[])", chosen):
        (w, cid, outcome), h = holding_of(r)
        per.setdefault(w, {})[(cid, outcome)] = h
    open_keys = sorted({k for hs in per.values() for k, h in hs.items() if h.pos.payout is None})
    marks: dict[OutcomeKey, Decimal] = {}
    if open_keys:
        for r in await conn.fetch(
            "SELECT condition_id, outcome, coalesce(mid, trade_price) FROM wallet_marks"
            " WHERE (condition_id, outcome) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            [k[0] for k in open_keys], [k[1] for k in open_keys],
        ):  # fmt: skip
            if r[2] is not None:
                marks[(r[0], r[1])] = r[2]
    rows = [wallet_row(w, dict(sorted(per[w].items())), marks) for w in chosen if w in per]
    if rows:
        await conn.execute(UPSERT_WALLETS, *columns(rows, WalletRow))
    return len(rows)


@dataclass(frozen=True)
class WalletsProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "wallets"
    stream: str = "MARKET"
    subjects: tuple[str, ...] = (
        "mkt.polymarket.wtrade.>",
        "mkt.polymarket.resolved.>",
        "mkt.polymarket.market.>",
        "mkt.polymarket.book.>",
    )
    tables: tuple[str, ...] = (
        "wallets", "wallet_positions", "wallet_entries", "wallet_markets", "wallet_tokens",
        "wallet_marks", "poly_prices_hourly",
    )  # fmt: skip

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        state = await load_state(conn, batch)
        if state is None:
            return
        before = {k: m.price for k, m in state.marks.items()}
        fold_wallets(state, batch)
        await write_state(conn, state)
        moved = sorted(k for k in state.changed_marks if state.marks[k].price != before.get(k))
        touched = set(state.touched)
        if moved:
            rows = await conn.fetch(
                "SELECT DISTINCT wallet FROM wallet_positions WHERE (condition_id, outcome) IN"
                " (SELECT * FROM unnest($1::text[], $2::text[]))"
                " AND amount > 0 AND payout IS NULL",
                [k[0] for k in moved], [k[1] for k in moved],
            )  # fmt: skip
            touched.update(r[0] for r in rows)
        await recompute(conn, touched)


# -- queries (the CLI) -----------------------------------------------------------------------

ORDER = {"pnl": "total_pnl DESC", "score": "smart_score DESC", "roi": "roi DESC"}


async def top_wallets(
    conn: asyncpg.Connection, n: int = 20, *, by: str = "pnl", min_resolved: int = 0
) -> list[WalletRow]:
    """The ``n`` best wallets by total PnL (realised + unrealised), smart score or ROI.

    Args:
        by: ``"pnl"``, ``"score"`` or ``"roi"``.
        min_resolved: only wallets with at least this many resolved markets.

    Raises:
        ValueError: an unknown ordering.
    """
    if by not in ORDER:
        raise ValueError(f"order by {by!r}: expected one of {', '.join(ORDER)}")
    rows = await conn.fetch(
        f"SELECT {', '.join(names(WalletRow))} FROM wallets WHERE n_resolved >= $2"
        f" ORDER BY {ORDER[by]}, wallet LIMIT $1",
        n,
        min_resolved,
    )
    return [WalletRow(*r.values()) for r in rows]
