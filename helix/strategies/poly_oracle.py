"""The Polymarket oracle: wallet hunter and checklist, market events in, signals out.

Pure and deterministic (no I/O, no clock): it consumes ``MARKET`` Polymarket events in stream
order with their stream sequence (:class:`~events.poly.PolyMarket`,
:class:`~events.poly.PolyResolved`, :class:`~events.poly.PolyTrade`,
:class:`~events.poly.PolyBook` and CLOB :class:`~events.market.Trade` prints on venue
``polymarket``).  "Now" is the newest ``ts_event`` seen.  It keeps a
:class:`~helix.quant.wallets.WalletBook` (quant.md §7.1) and the inputs of the sync graph (§8),
and emits:

* :class:`~events.poly.WalletScored` after a resolution, when a wallet's smart score (§7.4)
  crosses ``smart_score_min``: **up** when ``SS ≥ smart_score_min`` and ``n ≥ smart_n_min``,
  **down** when a smart wallet no longer is.  The pre-news ratio comes from §7.3 on the
  market's hourly price series (BUYs ≥ $500 are kept per open market for that).
* :class:`~events.poly.ClusterSynced` on a cadence of event time (``cluster_every_s``, at the
  first event past each boundary, computed from the data before it): co-entry graph over the
  entries of the last ``sync_days`` (an entry is a wallet's first BUY of an outcome in that
  window with a notional ≥ ``sync_min_notional``; ``Δt``, ``w_min``), components of ≥ 3
  wallets with density > 0.5, emitted when a synced cluster is new (its id is a digest of its
  members, so a membership change is a new cluster).  The graph is rebuilt only when an entry
  was added or left the window.
* :class:`~events.poly.PolySignal` when the §6.6 checklist of an outcome reaches
  ``checklist_min``, evaluated after each trade, print or book of an outcome that a smart
  wallet bought in the last ``smart_window_s``; at most one per (market, outcome) per
  ``cooldown_s``.

**The checklist's measurements** (our definitions; the pass conditions are
:func:`helix.quant.sizing.checklist_items`):

* *smart money*: wallets whose latest status is smart and whose net flow (shares bought −
  sold) on the outcome in the last ``smart_window_s`` (72h) is > 0.
* *price* ``c'``: the outcome token's best ask (else its mid, else the last price) plus
  ``fee_per_share``; the market's own estimate ``p_mkt`` is the mid (else the last price).
* *smart consensus* ``p_smart = c̄ + (1 − c̄)·S̄``: ``c̄`` is the smart wallets'
  size-weighted average BUY price in the window (what they paid), moved toward 1 by ``S̄``,
  their notional-weighted smart score / 100 (their track record; a wallet with SS 40 is
  trusted to close 40% of the distance to certainty).  With no smart wallet it is ``p_mkt``.
* *model* ``p_model = pool_log_odds(p_smart, p_mkt, smart_weight)`` (§6.5, both clipped to
  [0.01, 0.99]), ``edge = p_model − c'``.
* *sync dominance*: the share of the outcome's 24h BUY notional bought by members of the
  currently synced clusters (:func:`helix.quant.syncgraph.cluster_share`).
* *liquidity*: the token's ask depth within 2¢ (``PolyBook.ask_depth``) against the intended
  stake ``min(cap, λ·f*)·bankroll_usd`` (binary Kelly at ``p_model``, §6.3), or
  ``min_stake_usd`` when Kelly says 0.
* *resolution clarity*: ``resolution_clear`` (a config flag, default True).
* *horizon*: ``PolyMarket.end_ts − now`` (unknown end fails).
* *adverse move*: the outcome's price 24h ago (the last observation at or before, else the
  first in the window) minus its price now, floored at 0.

Every signal carries its inputs and a reason sentence built from them; ids are derived from
(strategy, kind, subject, natural key), ``ts_recorded`` is that of the causing event, so the
same log gives byte-identical signals live, after a restart and in a backtest.  The whole
state is plain data (:meth:`PolyOracle.snapshot`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Literal, TypedDict
from uuid import UUID

import msgspec

from events.base import Event, stable_event_id
from events.market import Trade
from events.poly import (
    VENUE,
    ClusterSynced,
    PolyBook,
    PolyMarket,
    PolyResolved,
    PolySignal,
    PolyTrade,
    WalletScored,
)
from events.signals import Signal
from helix.errors import ConfigError, ValidationError
from helix.quant.sizing import (
    CHECKLIST_WEIGHTS,
    binary_kelly,
    checklist_items,
    checklist_score,
    pool_log_odds,
)
from helix.quant.syncgraph import Entry, cluster_share, clusters, co_entry_graph
from helix.quant.wallets import WalletBook, WalletFill, prenews_wallets
from helix.settings import Settings

STRATEGY = "poly_oracle"
SECOND = 1_000_000_000
HOUR = 3600 * SECOND
DAY = 24 * HOUR
PRENEWS_NOTIONAL = Decimal(500)
_LO, _HI = Decimal("0.01"), Decimal("0.99")


class OracleConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Thresholds and windows (defaults from the ``HELIX_POLY_*`` settings and quant.md).

    Attributes:
        smart_score_min / smart_n_min: a smart wallet has ``SS ≥`` and ``n ≥`` these (§7.4).
        smart_window_s: smart wallets count when net long the outcome within this (72h).
        sync_window_s / sync_w_min / sync_min_notional: the co-entry graph's ``Δt``,
            ``w_min`` and minimum BUY notional (§8).
        sync_days: days of BUYs the graph is built on.  sync_min_size: smallest cluster.
        cluster_every_s: cadence of the cluster evaluation (event time).
        checklist_min: the checklist score that emits a signal (§6.6).
        required: checklist items that must pass whatever the score ([OURS]; setting
            ``HELIX_POLY_CHECKLIST_REQUIRED``).  By default ``smart_money``: the oracle follows
            smart wallets, so one smart wallet alone (score 80 when all else passes) is not a
            signal; the second one entering the outcome is.
        kelly_fraction: λ.  cap: per-position cap of bankroll.  bankroll_usd: the bankroll
            the intended stake is a fraction of.  min_stake_usd: the intended stake when
            Kelly says 0.  fee_per_share: added to the price.
        smart_weight: weight of the smart consensus in the log-odds pool with the market.
        resolution_clear: the checklist's manual clarity flag for every market.
        cooldown_s: at most one signal per (market, outcome) in this time.
    """

    smart_score_min: float = 30.0
    smart_n_min: int = 20
    smart_window_s: int = 72 * 3600
    sync_window_s: int = 600
    sync_w_min: int = 2
    sync_min_notional: float = 50.0
    sync_days: int = 30
    sync_min_size: int = 3
    cluster_every_s: int = 3600
    checklist_min: int = 70
    required: tuple[str, ...] = ("smart_money",)
    kelly_fraction: float = 0.5
    cap: float = 0.10
    bankroll_usd: float = 1000.0
    min_stake_usd: float = 10.0
    fee_per_share: float = 0.0
    smart_weight: float = 0.5
    resolution_clear: bool = True
    cooldown_s: int = 24 * 3600

    def __post_init__(self) -> None:
        if self.smart_n_min < 0 or self.smart_window_s <= 0 or self.sync_window_s < 0:
            raise ValueError("smart_n_min >= 0, smart_window_s > 0, sync_window_s >= 0")
        if self.sync_w_min < 1 or self.sync_days < 1 or self.sync_min_size < 2:
            raise ValueError("sync_w_min >= 1, sync_days >= 1, sync_min_size >= 2")
        if self.cluster_every_s < 1 or self.cooldown_s < 0 or not 0 <= self.checklist_min <= 100:
            raise ValueError("cluster_every_s >= 1, cooldown_s >= 0, checklist_min in [0, 100]")
        if unknown := sorted(set(self.required) - set(CHECKLIST_WEIGHTS)):
            raise ValueError(f"unknown checklist items {unknown}: {', '.join(CHECKLIST_WEIGHTS)}")
        if not 0 <= self.kelly_fraction <= 1 or not 0 <= self.cap <= 1:
            raise ValueError("kelly_fraction and cap must be in [0, 1]")
        if not 0 <= self.smart_weight <= 1 or self.bankroll_usd <= 0 or self.min_stake_usd < 0:
            raise ValueError("smart_weight in [0, 1], bankroll_usd > 0, min_stake_usd >= 0")

    @classmethod
    def from_settings(cls, settings: Settings) -> OracleConfig:
        """The ``HELIX_POLY_*`` settings as a config.

        Raises:
            ConfigError: an invalid value.
        """
        s = settings
        try:
            return cls(
                smart_score_min=s.poly_smart_score_min,
                smart_n_min=s.poly_smart_n_min,
                sync_window_s=s.poly_sync_window_s,
                sync_w_min=s.poly_sync_w_min,
                sync_min_notional=s.poly_sync_min_notional,
                checklist_min=s.poly_checklist_min,
                required=tuple(
                    i.strip() for i in s.poly_checklist_required.split(",") if i.strip()
                ),
                kelly_fraction=s.poly_kelly_fraction,
                cap=s.poly_risk_cap,
            )
        except ValueError as exc:
            raise ConfigError(f"HELIX_POLY_* settings: {exc}") from exc


class MarketInfo(msgspec.Struct, kw_only=True):
    """What the oracle knows of one market (from its latest listing)."""

    question: str
    outcomes: tuple[str, ...]
    token_ids: tuple[str, ...]
    end_ts: int | None = None
    resolved: bool = False


class Quote(msgspec.Struct, kw_only=True):
    """The top of one outcome token's book."""

    best_bid: Decimal | None
    best_ask: Decimal | None
    mid: Decimal | None
    ask_depth: Decimal
    ts: int


class WalletStatus(msgspec.Struct, frozen=True):
    """A wallet's smart status after the latest resolution it took part in."""

    smart: bool
    score: float
    n: int


class OracleState(msgspec.Struct, kw_only=True):
    """Everything the oracle remembers (persistable with msgspec).

    Outcome keys are ``"<condition id>:<outcome>"`` (condition ids hold no ``:``).
    """

    book: WalletBook = msgspec.field(default_factory=WalletBook)
    markets: dict[str, MarketInfo] = msgspec.field(default_factory=dict)
    tokens: dict[str, str] = msgspec.field(default_factory=dict)  # token -> outcome key
    quotes: dict[str, Quote] = msgspec.field(default_factory=dict)  # outcome key -> quote
    paths: dict[str, list[tuple[int, Decimal]]] = msgspec.field(default_factory=dict)
    hourly: dict[str, dict[int, Decimal]] = msgspec.field(default_factory=dict)  # cid -> YES
    big_buys: dict[str, list[WalletFill]] = msgspec.field(default_factory=dict)  # cid
    flows: dict[str, list[WalletFill]] = msgspec.field(default_factory=dict)  # outcome key
    # qualifying BUYs of the sync window per "wallet:outcome key", oldest first (entry = [0])
    entries: dict[str, list[Entry]] = msgspec.field(default_factory=dict)
    entries_changed: bool = False  # an entry changed since the last cluster evaluation
    oldest_entry: int | None = None  # ts of the oldest BUY kept at the last evaluation
    status: dict[str, WalletStatus] = msgspec.field(default_factory=dict)
    prenews: dict[str, list[str]] = msgspec.field(default_factory=dict)  # wallet -> markets
    synced: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)  # id -> members
    signalled: dict[str, int] = msgspec.field(default_factory=dict)  # outcome key -> ts
    n_smart: int = 0  # wallets whose status is smart
    next_cluster: int = 0
    now: int = 0
    position: int = 0  # stream sequence of the last event seen


@dataclass(frozen=True, slots=True)
class Assessment:
    """The §6.6 checklist of one outcome at one time, with every measurement behind it."""

    key: str
    price: Decimal
    p_mkt: float
    p_smart: float
    p_model: float
    edge: float
    smart_wallets: tuple[str, ...]
    cluster_share: float
    depth_usd: Decimal
    stake_usd: Decimal
    kelly_fraction: float
    horizon_s: int | None
    adverse_move: float
    items: dict[str, bool]
    score: int

    @property
    def checks(self) -> tuple[str, ...]:
        return tuple(f"{k}:{'pass' if self.items[k] else 'fail'}" for k in CHECKLIST_WEIGHTS)


def _clip(p: Decimal) -> Decimal:
    return min(_HI, max(_LO, p))


def _f(x: Decimal | float) -> float:
    v = float(x)
    return float(round(v, 10)) if math.isfinite(v) else v


def _interval(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


class PolyOracle:
    """See the module docstring.  ``on_event`` is the only entry point while running."""

    def __init__(self, config: OracleConfig, state: OracleState | None = None) -> None:
        self.cfg = config
        self.state = state or OracleState()
        self.smart_window = config.smart_window_s * SECOND
        self.every = config.cluster_every_s * SECOND

    # -- persistence ---------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.state)

    @classmethod
    def restore(cls, config: OracleConfig, data: bytes) -> PolyOracle:
        return cls(config, msgspec.msgpack.decode(data, type=OracleState))

    # -- the loop ------------------------------------------------------------------------------

    def on_event(self, seq: int, event: Event) -> list[Signal]:
        """Feed one market event (in log order); returns the signals it caused."""
        self.state.position = seq
        if not isinstance(event, PolyMarket | PolyResolved | PolyTrade | PolyBook | Trade):
            return []
        if event.venue != VENUE:
            return []
        out: list[Signal] = list(self._cadence(seq, event))
        self.state.now = max(self.state.now, event.ts_event)
        if isinstance(event, PolyTrade):
            out.extend(self._on_trade(seq, event))
        elif isinstance(event, PolyBook):
            out.extend(self._on_book(seq, event))
        elif isinstance(event, Trade):
            key = self.state.tokens.get(event.symbol)
            if key is not None:
                self._observe(key, event.ts_event, event.price)
                out.extend(self._maybe_signal(key, seq, event))
        elif isinstance(event, PolyMarket):
            self._on_market(event)
        else:
            out.extend(self._on_resolved(seq, event))
        return out

    # -- intake --------------------------------------------------------------------------------

    def _on_market(self, e: PolyMarket) -> None:
        st = self.state
        prev = st.markets.get(e.condition_id)
        st.markets[e.condition_id] = MarketInfo(
            question=e.question,
            outcomes=e.outcomes,
            token_ids=e.token_ids,
            end_ts=e.end_ts,
            resolved=prev.resolved if prev is not None else False,
        )
        for token, outcome in zip(e.token_ids, e.outcomes, strict=False):
            st.tokens[token] = f"{e.condition_id}:{outcome}"
        for outcome, price in zip(e.outcomes, e.prices, strict=False):
            self._observe(f"{e.condition_id}:{outcome}", e.ts_event, price)

    def _on_book(self, seq: int, e: PolyBook) -> list[Signal]:
        key = self.state.tokens.get(e.symbol)
        if key is None:
            return []
        self.state.quotes[key] = Quote(
            best_bid=e.best_bid,
            best_ask=e.best_ask,
            mid=e.mid,
            ask_depth=e.ask_depth,
            ts=e.ts_event,
        )
        if e.mid is not None:
            self._observe(key, e.ts_event, e.mid)
        return self._maybe_signal(key, seq, e)

    def _on_trade(self, seq: int, e: PolyTrade) -> list[Signal]:
        st = self.state
        try:
            fill = WalletFill(
                e.wallet, e.condition_id, e.outcome, e.side, e.size, e.price, e.ts_event
            )
            st.book.apply(fill)
        except ValidationError:
            return []  # a fill the engine cannot take (a bad price, an unknown outcome)
        key = f"{e.condition_id}:{e.outcome}"
        if e.token_id and e.token_id not in st.tokens:
            st.tokens[e.token_id] = key
        self._observe(key, e.ts_event, e.price)
        info = st.markets.get(e.condition_id)
        if info is not None and info.resolved:
            return []
        flows = st.flows.setdefault(key, [])
        flows.append(fill)
        horizon = st.now - max(self.smart_window, DAY)
        if flows[0].ts < horizon:
            st.flows[key] = [f for f in flows if f.ts >= horizon]
        if fill.is_buy:
            if fill.notional >= Decimal(repr(self.cfg.sync_min_notional)):
                self._enter(fill)
            if fill.notional >= PRENEWS_NOTIONAL:
                st.big_buys.setdefault(e.condition_id, []).append(fill)
        return self._maybe_signal(key, seq, e)

    def _observe(self, key: str, ts: int, price: Decimal) -> None:
        """Record a price of one outcome: its 24h path and the market's hourly YES series."""
        if not Decimal(0) <= price <= Decimal(1):
            return
        st = self.state
        path = st.paths.setdefault(key, [])
        path.append((ts, price))
        if len(path) > 1 and path[-2][0] > ts:
            path.sort(key=lambda x: x[0])
        cut = st.now - DAY
        if len(path) > 2 and path[1][0] <= cut:
            keep = [i for i, (t, _) in enumerate(path) if t <= cut][-1]
            del path[:keep]
        cid, _, outcome = key.partition(":")
        info = st.markets.get(cid)
        if info is None or info.resolved or not info.outcomes:
            return
        if outcome == info.outcomes[0]:
            yes = price
        elif len(info.outcomes) == 2:
            yes = Decimal(1) - price
        else:
            return
        st.hourly.setdefault(cid, {})[(ts // HOUR + 1) * HOUR] = yes

    def _enter(self, fill: WalletFill) -> None:
        """Keep a qualifying BUY: the first one in the window is the wallet's entry (§8.1)."""
        st = self.state
        key = f"{fill.wallet}:{fill.market}:{fill.outcome}"
        entry = Entry(fill.wallet, fill.market, fill.outcome, fill.ts, fill.notional)
        xs = st.entries.get(key)
        if xs is None:
            st.entries[key] = [entry]
            st.entries_changed = True
            return
        xs.append(entry)
        if fill.ts < xs[-2].ts:  # out of order: keep them sorted (ties: the larger notional)
            xs.sort(key=lambda x: (x.ts, -x.notional))
            st.entries_changed = st.entries_changed or xs[0] is entry

    # -- resolutions -> WalletScored -----------------------------------------------------------

    def _on_resolved(self, seq: int, e: PolyResolved) -> list[Signal]:
        st = self.state
        payouts = dict(zip(e.outcomes, e.payouts, strict=False))
        info = st.markets.get(e.condition_id)
        series = sorted(st.hourly.get(e.condition_id, {}).items())
        yes = info.outcomes[0] if info is not None and info.outcomes else e.outcomes[0]
        fills = st.big_buys.get(e.condition_id, [])
        try:
            early = prenews_wallets(fills, series, yes) if series and fills else set()
            touched = st.book.resolve(e.condition_id, payouts, e.ts_event)
        except ValidationError:
            return []  # payouts that contradict an earlier resolution: the book keeps the first
        for w in sorted(early):
            markets = st.prenews.setdefault(w, [])
            if e.condition_id not in markets:
                markets.append(e.condition_id)
        if info is not None:
            info.resolved = True
        st.hourly.pop(e.condition_id, None)
        st.big_buys.pop(e.condition_id, None)
        for k in [k for k in st.flows if k.startswith(e.condition_id + ":")]:
            del st.flows[k]
        out: list[Signal] = []
        for w in sorted(touched):
            m = st.book.metrics(
                w,
                prenews_markets=set(st.prenews.get(w, ())),
                smart_threshold=self.cfg.smart_score_min,
                smart_min_resolved=self.cfg.smart_n_min,
            )
            prev = st.status.get(w)
            was = prev is not None and prev.smart
            st.status[w] = WalletStatus(m.smart, m.smart_score, m.n_resolved)
            st.n_smart += int(m.smart) - int(was)
            if m.smart == was:
                continue
            crossed: Literal["up", "down"] = "up" if m.smart else "down"
            verb = (
                f"rose to {m.smart_score:.1f} ≥ {self.cfg.smart_score_min:g} with "
                f"{m.n_resolved} resolved markets (≥ {self.cfg.smart_n_min})"
                if m.smart
                else f"fell to {m.smart_score:.1f} < {self.cfg.smart_score_min:g}"
            )
            reason = (
                f"wallet {w} smart score {verb} after {e.condition_id} resolved "
                f"{e.winner}: z {m.z:.2f}, realized ROI {m.roi_realized:+.1%}, pre-news ratio "
                f"{m.prenews_ratio:.0%}, realized PnL ${m.realized_pnl:,.2f} on "
                f"${m.cost:,.2f} deployed"
            )
            out.append(
                WalletScored(
                    **_envelope(
                        WalletScored.KIND,
                        w,
                        "resolution",
                        e.ts_event,
                        e.ts_event,
                        seq,
                        e,
                        key=f"{e.condition_id}:{crossed}",
                    ),
                    reason=reason,
                    wallet=w,
                    crossed=crossed,
                    smart_score=_f(m.smart_score),
                    threshold=self.cfg.smart_score_min,
                    n_resolved=m.n_resolved,
                    z=_f(m.z),
                    roi_realized=_f(m.roi_realized),
                    prenews_ratio=_f(m.prenews_ratio),
                    win_rate=None if m.win_rate is None else _f(m.win_rate),
                    brier=None if m.brier is None else _f(m.brier),
                    realized_pnl=m.realized_pnl,
                    cost=m.cost,
                )
            )
        return out

    # -- cadence -> ClusterSynced --------------------------------------------------------------

    def _cadence(self, seq: int, e: Event) -> list[Signal]:
        st = self.state
        if st.next_cluster == 0:
            st.next_cluster = (e.ts_event // self.every + 1) * self.every
            return []
        if e.ts_event < st.next_cluster:
            return []
        boundary = e.ts_event // self.every * self.every
        st.next_cluster = boundary + self.every
        return self.evaluate_clusters(boundary, seq, e)

    def evaluate_clusters(self, boundary: int, seq: int, cause: Event) -> list[Signal]:
        """Build the sync graph as of ``boundary`` and emit the synced clusters that are new."""
        st = self.state
        since = boundary - self.cfg.sync_days * DAY
        if not st.entries_changed and (st.oldest_entry is None or st.oldest_entry >= since):
            return []  # the graph is the one of the last evaluation
        kept: dict[str, list[Entry]] = {}
        for k, xs in st.entries.items():
            if xs[0].ts < since:
                xs = [x for x in xs if x.ts >= since]  # the next BUY becomes the entry
            if xs:
                kept[k] = xs
        st.entries = kept
        entries = [xs[0] for xs in kept.values() if xs[0].ts < boundary]
        st.entries_changed = len(entries) < len(kept)  # later ones wait for their hour
        st.oldest_entry = min((xs[0].ts for xs in kept.values()), default=None)
        graph = co_entry_graph(entries, self.cfg.sync_window_s * SECOND, self.cfg.sync_w_min)
        synced = [c for c in clusters(graph, self.cfg.sync_min_size) if c.synced]
        out: list[Signal] = []
        interval = _interval(self.cfg.cluster_every_s)
        for c in synced:
            if c.cluster_id in st.synced:
                continue
            reason = (
                f"{len(c.members)} wallets entered the same outcomes within "
                f"{self.cfg.sync_window_s}s of each other on ≥ {self.cfg.sync_w_min} outcomes "
                f"in {self.cfg.sync_days} days: {c.edges} edges, density {c.density:.2f} > 0.5, "
                f"2-core {len(c.core)} wallets, {len(c.markets)} shared outcomes"
            )
            out.append(
                ClusterSynced(
                    **_envelope(
                        ClusterSynced.KIND,
                        c.cluster_id,
                        interval,
                        boundary - self.every,
                        boundary,
                        seq,
                        cause,
                        key=str(boundary),
                    ),
                    reason=reason,
                    cluster_id=c.cluster_id,
                    members=c.members,
                    markets=c.markets,
                    density=_f(c.density),
                    edges=c.edges,
                    core=c.core,
                    delta_t_s=self.cfg.sync_window_s,
                    w_min=self.cfg.sync_w_min,
                )
            )
        st.synced = {c.cluster_id: c.members for c in synced}
        return out

    # -- the checklist -> PolySignal -----------------------------------------------------------

    def _smart_long(self, key: str) -> dict[str, list[WalletFill]]:
        """Smart wallets net long ``key`` in the smart window, with their BUYs there."""
        st = self.state
        since = st.now - self.smart_window
        by: dict[str, list[WalletFill]] = {}
        for f in st.flows.get(key, ()):
            status = st.status.get(f.wallet)
            if f.ts >= since and status is not None and status.smart:
                by.setdefault(f.wallet, []).append(f)
        out: dict[str, list[WalletFill]] = {}
        for w in sorted(by):
            net = sum((f.size if f.is_buy else -f.size for f in by[w]), Decimal(0))
            buys = [f for f in by[w] if f.is_buy]
            if net > 0 and buys:
                out[w] = buys
        return out

    def _price(self, key: str) -> tuple[Decimal | None, Decimal | None]:
        """``(c, p_mkt)``: the price paid (best ask, mid, last) and the market's estimate."""
        q = self.state.quotes.get(key)
        path = self.state.paths.get(key)
        last = path[-1][1] if path else None
        mid = q.mid if q is not None and q.mid is not None else last
        ask = q.best_ask if q is not None and q.best_ask is not None else mid
        return ask, mid

    def _adverse(self, key: str, now_price: Decimal) -> Decimal:
        path = self.state.paths.get(key, [])
        cut = self.state.now - DAY
        before = [p for t, p in path if t <= cut]
        ref = before[-1] if before else (path[0][1] if path else now_price)
        return max(Decimal(0), ref - now_price)

    def assess(self, key: str) -> Assessment | None:
        """The checklist of one outcome now (``None``: no market, no price, or resolved)."""
        st = self.state
        cid, _, outcome = key.partition(":")
        info = st.markets.get(cid)
        price, mid = self._price(key)
        if info is None or info.resolved or price is None or mid is None:
            return None
        c = price + Decimal(repr(self.cfg.fee_per_share))
        if not Decimal(0) < c < Decimal(1):
            return None
        smart = self._smart_long(key)
        p_mkt = _clip(mid)
        if smart:
            notional = {w: sum((f.notional for f in fs), Decimal(0)) for w, fs in smart.items()}
            size = sum((f.size for fs in smart.values() for f in fs), Decimal(0))
            total = sum(notional.values(), Decimal(0))
            c_bar = total / size if size > 0 else p_mkt
            weighted = sum(
                (notional[w] * Decimal(repr(st.status[w].score)) for w in smart), Decimal(0)
            )
            trust = weighted / (100 * total) if total > 0 else Decimal(0)
            trust = min(Decimal(1), max(Decimal(0), trust))
            p_smart = _clip(c_bar + (1 - c_bar) * trust)
        else:
            p_smart = p_mkt
        p_model = pool_log_odds(p_smart, p_mkt, Decimal(repr(self.cfg.smart_weight)))
        edge = p_model - c
        f_star = binary_kelly(p_model, c)
        lam, cap = Decimal(repr(self.cfg.kelly_fraction)), Decimal(repr(self.cfg.cap))
        frac = min(cap, lam * f_star)
        stake = (frac * Decimal(repr(self.cfg.bankroll_usd))).quantize(
            Decimal("0.01"), rounding=ROUND_DOWN
        )
        if stake <= 0:
            stake = Decimal(repr(self.cfg.min_stake_usd))
        members = {w for ms in st.synced.values() for w in ms}
        share = cluster_share(st.flows.get(key, ()), members, cid, outcome, st.now - DAY)
        q = st.quotes.get(key)
        depth = q.ask_depth if q is not None else Decimal(0)
        horizon = None if info.end_ts is None else (info.end_ts - st.now) // SECOND
        adverse = self._adverse(key, mid)
        items = checklist_items(
            edge=edge,
            smart_wallets=len(smart),
            sync_share=_f(share),
            depth=depth,
            stake=stake,
            resolution_clear=self.cfg.resolution_clear,
            days_to_resolution=horizon / 86400 if horizon is not None else 10**9,
            adverse_move=adverse,
        )
        return Assessment(
            key=key,
            price=c,
            p_mkt=_f(p_mkt),
            p_smart=_f(p_smart),
            p_model=_f(p_model),
            edge=_f(edge),
            smart_wallets=tuple(smart),
            cluster_share=_f(share),
            depth_usd=depth,
            stake_usd=stake,
            kelly_fraction=_f(frac),
            horizon_s=horizon,
            adverse_move=_f(adverse),
            items=items,
            score=checklist_score(items),
        )

    def _maybe_signal(self, key: str, seq: int, cause: Event) -> list[Signal]:
        st = self.state
        last = st.signalled.get(key)
        if last is not None and st.now - last < self.cfg.cooldown_s * SECOND:
            return []
        if not st.n_smart or not self._smart_long(key):
            return []  # without a smart wallet the checklist cannot pass (no edge, no money)
        a = self.assess(key)
        if a is None or a.score < self.cfg.checklist_min:
            return []
        if not all(a.items[k] for k in self.cfg.required):
            return []
        st.signalled[key] = st.now
        cid, _, outcome = key.partition(":")
        info = st.markets[cid]
        token = ""
        for t, o in zip(info.token_ids, info.outcomes, strict=False):
            if o == outcome:
                token = t
        days = "unknown" if a.horizon_s is None else f"{a.horizon_s / 86400:.1f}d"
        failed = [k for k in CHECKLIST_WEIGHTS if not a.items[k]]
        reason = (
            f"{outcome} on “{info.question}” at {a.price}: checklist {a.score} ≥ "
            f"{self.cfg.checklist_min}; {len(a.smart_wallets)} smart wallet(s) net long in "
            f"{self.cfg.smart_window_s // 3600}h, consensus p {a.p_smart:.3f} pooled with mid "
            f"{a.p_mkt:.3f} → p {a.p_model:.3f}, edge {a.edge:+.3f}; synced-cluster share "
            f"{a.cluster_share:.0%}; ask depth ${a.depth_usd:,.0f} vs stake ${a.stake_usd:,.2f}; "
            f"resolves in {days}; adverse move {a.adverse_move:.2f}"
            + (f"; failed: {', '.join(failed)}" if failed else "")
        )
        return [
            PolySignal(
                **_envelope(
                    PolySignal.KIND,
                    cid,
                    "event",
                    cause.ts_event,
                    cause.ts_event,
                    seq,
                    cause,
                    key=f"{outcome}:{cause.ts_event}",
                ),
                reason=reason,
                condition_id=cid,
                token_id=token,
                outcome=outcome,
                question=info.question,
                price=a.price,
                p_model=a.p_model,
                p_smart=a.p_smart,
                edge=a.edge,
                score=a.score,
                threshold=self.cfg.checklist_min,
                checks=a.checks,
                smart_wallets=a.smart_wallets,
                cluster_share=a.cluster_share,
                depth_usd=a.depth_usd,
                stake_usd=a.stake_usd,
                horizon_s=a.horizon_s,
                adverse_move=a.adverse_move,
                kelly_fraction=a.kelly_fraction,
            )
        ]


class _Envelope(TypedDict):
    event_id: UUID
    ts_event: int
    ts_recorded: int
    source: str
    vertical: Literal["poly"]
    causation_id: UUID
    strategy: str
    venue: str
    symbol: str
    interval: str
    bar_start: int
    source_seq: int


def _envelope(
    kind: str,
    symbol: str,
    interval: str,
    start: int,
    ts: int,
    seq: int,
    cause: Event,
    *,
    key: str,
) -> _Envelope:
    return {
        "event_id": stable_event_id(STRATEGY, kind, symbol, key),
        "ts_event": ts,
        "ts_recorded": cause.ts_recorded,
        "source": STRATEGY,
        "vertical": "poly",
        "causation_id": cause.event_id,
        "strategy": STRATEGY,
        "venue": VENUE,
        "symbol": symbol,
        "interval": interval,
        "bar_start": start,
        "source_seq": seq,
    }
