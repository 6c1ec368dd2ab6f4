"""Polymarket events: markets, resolutions, books and wallet trades (stream ``MARKET``), and the
wallet hunter's and oracle's findings (stream ``LEDGER``).

Market facts are ``mkt.polymarket.<kind>.<id>``: ``market`` and ``resolved`` per condition id,
``wtrade`` (a wallet's trade, from the Data API or an import) per condition id, ``book`` per
outcome token.  A CLOB ``last_trade_price`` is an ordinary :class:`events.market.Trade` on
``mkt.polymarket.trade.<token id>``, so the paper venue fills Polymarket orders from the log
exactly as it fills perps orders.

Findings subclass :class:`events.signals.Signal` and go to ``ldg.signal.<kind>.polymarket.<id>``,
so the ``signals`` read model, ``helix signals`` and the audit see them like any signal.  Prices
of outcome tokens are probabilities in [0, 1] (``Decimal``); sizes are shares.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from events.base import Event, stable_event_id
from events.signals import Signal

VENUE = "polymarket"
PolySide = Literal["buy", "sell"]


class PolyMarket(Event, frozen=True, kw_only=True, tag="poly.market.v1"):
    """A market as Gamma lists it (a listing or an update; the latest one wins).

    ``outcomes``, ``token_ids`` and ``prices`` are index-aligned (Gamma sends them as
    JSON-encoded strings).  ``end_ts`` is the scheduled resolution time (UTC ns).
    """

    venue: str = VENUE
    symbol: str  # the condition id
    condition_id: str
    market_id: str = ""
    question: str
    slug: str = ""
    event_slug: str = ""
    outcomes: tuple[str, ...]
    token_ids: tuple[str, ...]
    prices: tuple[Decimal, ...] = ()
    end_ts: int | None = None
    active: bool = True
    closed: bool = False
    neg_risk: bool = False
    tick_size: Decimal | None = None
    min_size: Decimal | None = None
    volume: Decimal | None = None
    liquidity: Decimal | None = None

    KIND = "market"

    @property
    def natural_key(self) -> str:
        """The content that matters: a re-listing with nothing new gets the same id."""
        return ":".join(
            [
                self.condition_id,
                str(int(self.active)),
                str(int(self.closed)),
                ",".join(str(p) for p in self.prices),
                str(self.end_ts or ""),
                str(self.tick_size or ""),
            ]
        )


class PolyResolved(Event, frozen=True, kw_only=True, tag="poly.resolved.v1"):
    """A market resolved: ``payouts`` per outcome (1 for the winner, 0 for the others in a
    binary market; fractions for a split resolution).

    ``origin`` says who declared it: ``gamma`` (the listing says closed with final prices),
    ``clob`` (a ``market_resolved`` frame), ``manual`` (``helix poly resolve``) or ``import``.
    """

    venue: str = VENUE
    symbol: str  # the condition id
    condition_id: str
    outcomes: tuple[str, ...]
    token_ids: tuple[str, ...] = ()
    payouts: tuple[Decimal, ...]
    winner: str
    origin: Literal["gamma", "clob", "manual", "import"]
    note: str = ""

    KIND = "resolved"

    @property
    def natural_key(self) -> str:
        return self.condition_id

    def payout_of(self, outcome: str) -> Decimal | None:
        for name, payout in zip(self.outcomes, self.payouts, strict=False):
            if name == outcome:
                return payout
        return None


class PolyTrade(Event, frozen=True, kw_only=True, tag="poly.trade.v1"):
    """One wallet's trade on one outcome token (Data API ``/trades``/``/activity``, an import).

    ``trade_key`` is the natural key: the transaction hash plus what tells the fills of one
    transaction apart, or a digest of the row when the source has no hash.
    """

    venue: str = VENUE
    symbol: str  # the condition id
    condition_id: str
    token_id: str = ""
    outcome: str
    wallet: str
    side: PolySide
    size: Decimal
    price: Decimal
    tx_hash: str = ""
    trade_key: str
    title: str = ""
    origin: str = "data-api"

    KIND = "wtrade"

    @property
    def natural_key(self) -> str:
        return self.trade_key

    @property
    def notional(self) -> Decimal:
        return self.size * self.price


class PolyBook(Event, frozen=True, kw_only=True, tag="poly.book.v1"):
    """The top of one outcome token's CLOB book, after a ``book`` snapshot or a change.

    ``bid_depth`` / ``ask_depth`` are the USD value resting within ``depth_band`` (2¢) of the
    mid: the liquidity check of quant.md §6.6.  ``mid`` is the mark of unrealised PnL (§7.1).
    """

    venue: str = VENUE
    symbol: str  # the token id
    condition_id: str
    best_bid: Decimal | None
    best_ask: Decimal | None
    mid: Decimal | None
    bid_depth: Decimal = Decimal(0)
    ask_depth: Decimal = Decimal(0)
    depth_band: Decimal = Decimal("0.02")
    tick_size: Decimal | None = None
    book_hash: str = ""

    KIND = "book"

    @property
    def natural_key(self) -> str:
        return f"{self.ts_event}:{self.book_hash}"


def poly_event_id(kind: str, symbol: str, natural_key: str) -> uuid.UUID:
    """The stable id of a Polymarket fact (same fact from the same source -> same id)."""
    return stable_event_id(VENUE, kind, symbol, natural_key)


# -- findings (LEDGER) ---------------------------------------------------------------------------


class WalletScored(Signal, frozen=True, kw_only=True, tag="poly.wallet_scored.v1"):
    """A wallet's smart score (quant.md §7.4) crossed ``threshold`` (``crossed`` up or down).

    ``symbol`` is the wallet address; ``interval`` is ``"resolution"`` and ``bar_start`` the
    time of the resolution (or trade) that moved the score.
    """

    wallet: str
    crossed: Literal["up", "down"]
    smart_score: float
    threshold: float
    n_resolved: int
    z: float
    roi_realized: float
    prenews_ratio: float
    win_rate: float | None
    brier: float | None
    realized_pnl: Decimal
    cost: Decimal

    KIND = "wallet_scored"


class ClusterSynced(Signal, frozen=True, kw_only=True, tag="poly.cluster_synced.v1"):
    """A cluster of ≥ 3 wallets entering the same outcomes together (quant.md §8).

    ``symbol`` is ``cluster_id`` (a digest of the sorted members); ``markets`` are the
    ``condition_id:outcome`` pairs where members co-entered.
    """

    cluster_id: str
    members: tuple[str, ...]
    markets: tuple[str, ...]
    density: float
    edges: int
    core: tuple[str, ...]
    delta_t_s: int
    w_min: int

    KIND = "cluster_synced"


class PolySignal(Signal, frozen=True, kw_only=True, tag="poly.signal.v1"):
    """The oracle's checklist (quant.md §6.6) reached ``threshold`` on one outcome.

    ``checks`` names every item with its verdict (``edge:pass`` ...), ``smart_wallets`` are
    the wallets with a smart score ≥ 30 net long the outcome, ``p_model`` the pooled
    probability the edge was measured with, ``price`` the effective price paid (``c'``).
    """

    condition_id: str
    token_id: str
    outcome: str
    question: str
    price: Decimal
    p_model: float
    p_smart: float
    edge: float
    score: int
    threshold: int
    checks: tuple[str, ...]
    smart_wallets: tuple[str, ...]
    cluster_share: float
    depth_usd: Decimal
    stake_usd: Decimal
    horizon_s: int | None
    adverse_move: float
    kelly_fraction: float

    KIND = "poly_signal"


class HybridSignal(Signal, frozen=True, kw_only=True, tag="hybrid.signal.v1"):
    """A Polymarket signal and a perps signal on a related coin that agree within ``window_s``.

    Sized with the hybrid Kelly of quant.md §6.5 on the binary: ``p_a`` is the perps side's
    probability, ``p_b`` the Polymarket side's, ``p_hybrid`` their log-odds pool with weight
    ``w``; ``fraction`` = ``min(cap, λ·f*)`` of bankroll.
    """

    poly_signal_id: str
    perps_signal_id: str
    perps_kind: str
    perps_symbol: str
    direction: Literal["up", "down"]
    condition_id: str
    token_id: str
    outcome: str
    price: Decimal
    p_a: float
    p_b: float
    w: float
    p_hybrid: float
    f_star: float
    fraction: float
    window_s: int

    KIND = "hybrid_signal"


PolyMarketEvent = PolyMarket | PolyResolved | PolyTrade | PolyBook
POLY_MARKET_TYPES: tuple[type[Event], ...] = (PolyMarket, PolyResolved, PolyTrade, PolyBook)
POLY_SIGNAL_TYPES: tuple[type[Signal], ...] = (
    WalletScored,
    ClusterSynced,
    PolySignal,
    HybridSignal,
)
