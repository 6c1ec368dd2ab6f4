"""The Polymarket copy-trader: follows the oracle's signals into outcome tokens, exits gradually.

Pure: it reads signals (:class:`~events.poly.PolySignal`, :class:`~events.poly.HybridSignal`),
Polymarket market events, the trading book and the marks, and returns
:class:`~commands.orders.PlaceOrder` commands; the execution service and its risk guardian
decide the rest.  Rules ([OURS], parameters in :class:`PolyCopyConfig`):

* **Entry**: buy the signal's outcome token with a limit at the signal's price (rounded down to
  the tick), or at the best ask when the book shows one no more than ``price_tolerance`` above
  it.  No entry when the edge at that price (``p − limit``) is below ``min_edge``, when the
  signal is older than ``max_signal_age_s``, or when the account already holds, or is buying,
  the outcome: one position per outcome.
* **Size** (quant.md §6.3–6.5): ``f = min(risk_cap, λ·f*)`` of equity with
  ``f* = (p − c)/(1 − c)`` for a :class:`PolySignal` (``p`` its ``p_model``), or
  ``min(risk_cap, fraction)`` for a :class:`HybridSignal` (already ``λ·f*`` of the pooled
  probability); stake ``f·equity``, shares ``stake/price``
  (:func:`helix.quant.sizing.binary_position`), valued at the mark when the mark is higher so
  the guardian's position limit holds, rounded down to the lot.
* **Exits** are gradual: each trigger sells ``exit_step`` (10%) of the shares the entry
  bought, reduce-only, at the best bid (else the last trade): when a smart wallet of the signal
  sells that outcome (one step per wallet trade), or when the edge is gone (a trade at a price
  with ``p − price < min_edge``, so also ``price ≥ p``; at most one step per
  ``exit_interval_s`` of market time).  A step below the venue's minimum size is raised to it,
  and a rest below it is sold with the step.  On resolution there is nothing to sell: the
  tokens are redeemed, which is booked elsewhere.
* **Idempotent**: the entry's command id is ``poly_copy:<signal id>``, an exit's
  ``poly_copy:<signal id>:exit:<trigger>`` (the wallet trade's id, or the edge interval), so a
  signal or a market event processed twice (a restart, a replay) places nothing twice.  After a
  restart, replaying the signals rebuilds what is followed from the entries in the book.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import msgspec

from commands.book import TradingBook
from commands.orders import PlaceOrder
from commands.risk import Instrument
from events.base import Event
from events.market import Trade
from events.poly import VENUE, HybridSignal, PolyBook, PolyResolved, PolySignal, PolyTrade
from helix.errors import ValidationError
from helix.quant.sizing import binary_kelly, binary_position
from helix.settings import Settings

STRATEGY = "poly_copy"
HYBRID_STRATEGY = "hybrid_copy"
"""Orders follow the strategy of the signal they copy: ``poly_copy`` for a Polymarket signal,
``hybrid_copy`` for a hybrid one (the ``hybrid_roi`` read model compares them per strategy)."""
KINDS: tuple[str, ...] = (PolySignal.KIND, HybridSignal.KIND)
NS = 1_000_000_000
ZERO = Decimal(0)


class PolyCopyConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Parameters (settings ``HELIX_POLY_*`` through :meth:`from_settings`).

    Attributes:
        account: the account it trades.  live: send live orders (else paper).
        risk_cap: at most this fraction of equity staked per outcome.
        kelly_fraction: λ of fractional Kelly (PolySignal sizing).
        exit_step: fraction of the entry's shares sold per exit step.
        min_edge: the smallest ``p − price`` worth holding (and entering).
        price_tolerance: how far above the signal's price the best ask may be taken.
        exit_interval_s: at most one edge-gone exit step per interval of market time.
        max_signal_age_s: older signals are followed for exits but not entered.
        kinds: the signal kinds entered (``poly_signal``, ``hybrid_signal``; setting
            ``HELIX_POLY_COPY_KINDS``): ``hybrid_signal`` alone trades only the Polymarket
            signals a perps signal confirmed.
    """

    account: str = "paper"
    live: bool = False
    risk_cap: float = 0.10
    kelly_fraction: float = 0.5
    exit_step: float = 0.10
    min_edge: float = 0.02
    price_tolerance: float = 0.01
    exit_interval_s: int = 900
    max_signal_age_s: int = 3600
    kinds: tuple[str, ...] = KINDS

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(KINDS))
        if unknown or not self.kinds:
            raise ValidationError(
                f"copy-trader kinds {list(self.kinds)}: choose from {', '.join(KINDS)}"
            )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, account: str | None = None, live: bool = False
    ) -> PolyCopyConfig:
        return cls(
            account=account or ("live" if live else "paper"),
            live=live,
            risk_cap=settings.poly_risk_cap,
            kelly_fraction=settings.poly_kelly_fraction,
            exit_step=settings.poly_exit_step,
            kinds=tuple(k.strip() for k in settings.poly_copy_kinds.split(",") if k.strip()),
        )


@dataclass(frozen=True, slots=True)
class Followed:
    """An outcome the trader entered: what its exits compare with."""

    signal_id: str
    entry_command_id: str
    condition_id: str
    token_id: str
    outcome: str
    p_model: Decimal
    smart_wallets: frozenset[str]
    strategy: str = STRATEGY

    @property
    def entry_order_id(self) -> uuid.UUID:
        return _place_id(self.entry_command_id)


def _place_id(command_id: str) -> uuid.UUID:
    """The order id a placement with ``command_id`` gets (derived by :class:`PlaceOrder`)."""
    return PlaceOrder(command_id=command_id, account="", venue="", symbol="", side="buy",
                      qty=ZERO).order_id  # fmt: skip


def _dec(x: float) -> Decimal:
    return Decimal(repr(x))


def _floor(x: Decimal, step: Decimal) -> Decimal:
    return (x / step).to_integral_value(rounding=ROUND_FLOOR) * step


Instruments = Callable[[str, str], Instrument | None]


class PolyCopyTrader:
    """See the module docstring.  State: what is followed, the last books and prices seen."""

    def __init__(self, config: PolyCopyConfig | None = None) -> None:
        self.cfg = config or PolyCopyConfig()
        self.followed: dict[str, Followed] = {}  # token id -> followed entry
        self.poly_signals: dict[str, PolySignal] = {}  # event id -> signal (for hybrids)
        self.bids: dict[str, Decimal] = {}
        self.asks: dict[str, Decimal] = {}
        self.last: dict[str, Decimal] = {}
        self.issued: set[str] = set()  # command ids already returned

    # -- entries -------------------------------------------------------------------------------

    def on_signal(
        self,
        signal: Event,
        *,
        book: TradingBook,
        marks: Mapping[tuple[str, str], Decimal],
        instruments: Instruments,
        equity: Decimal,
        now_ns: int,
    ) -> list[PlaceOrder]:
        """The entry for one signal (usually at most one order)."""
        if isinstance(signal, PolySignal):
            self.poly_signals[str(signal.event_id)] = signal
            p = _dec(signal.p_model)
            smart = frozenset(w.lower() for w in signal.smart_wallets)
            strategy = STRATEGY
        elif isinstance(signal, HybridSignal):
            p = _dec(signal.p_hybrid)
            origin = self.poly_signals.get(signal.poly_signal_id)
            smart = frozenset(w.lower() for w in origin.smart_wallets) if origin else frozenset()
            strategy = HYBRID_STRATEGY
        else:
            return []
        cfg = self.cfg
        if signal.KIND not in cfg.kinds:
            return []
        token = signal.token_id
        command_id = f"{STRATEGY}:{signal.event_id}"
        followed = Followed(str(signal.event_id), command_id, signal.condition_id, token,
                            signal.outcome, p, smart, strategy)  # fmt: skip
        if followed.entry_order_id in book.orders:  # entered before (a restart, a replay)
            self.followed.setdefault(token, followed)
            return []
        if token in self.followed or command_id in self.issued:
            return []
        if now_ns - signal.ts_event > cfg.max_signal_age_s * NS:
            return []
        if book.position(cfg.account, VENUE, token).size != 0 or any(
            o.placed.symbol == token and o.placed.venue == VENUE and not o.placed.reduce_only
            for o in book.open_orders(cfg.account)
        ):
            return []
        inst = instruments(VENUE, token)
        if inst is None or equity <= 0:
            return []
        limit = _floor(signal.price, inst.tick_size)
        ask = self.asks.get(token)
        if ask is not None and ask <= signal.price + _dec(cfg.price_tolerance):
            limit = ask
        if not ZERO < limit < 1 or p - limit < _dec(cfg.min_edge):
            return []
        cap = _dec(cfg.risk_cap)
        try:
            if isinstance(signal, PolySignal):
                f = min(cap, _dec(cfg.kelly_fraction) * binary_kelly(p, limit))
            else:
                f = min(cap, max(ZERO, _dec(signal.fraction)))
            sizing = binary_position(f, limit, equity)
        except ValidationError:
            return []
        shares = sizing.shares
        mark = marks.get((VENUE, token))
        if mark is not None and mark > limit:
            shares = min(shares, sizing.stake / mark)
        qty = _floor(shares, inst.qty_step)
        if qty <= 0 or qty < inst.min_qty:
            return []
        self.followed[token] = followed
        self.issued.add(command_id)
        return [
            PlaceOrder(
                command_id=command_id,
                account=cfg.account,
                venue=VENUE,
                symbol=token,
                side="buy",
                qty=qty,
                order_type="limit",
                limit_price=limit,
                strategy=strategy,
                live=cfg.live,
            )
        ]

    # -- market and exits ----------------------------------------------------------------------

    def on_market(
        self,
        event: Event,
        *,
        book: TradingBook,
        marks: Mapping[tuple[str, str], Decimal],
        instruments: Instruments,
    ) -> list[PlaceOrder]:
        """Exits caused by one Polymarket market event (books and prices are remembered);
        ``marks`` price an exit before this trader has seen a book or a trade."""
        if isinstance(event, PolyBook):
            if event.best_bid is not None:
                self.bids[event.symbol] = event.best_bid
            if event.best_ask is not None:
                self.asks[event.symbol] = event.best_ask
            return []
        if isinstance(event, Trade) and event.venue == VENUE:
            self.last[event.symbol] = event.price
            f = self.followed.get(event.symbol)
            if f is None or f.p_model - event.price >= _dec(self.cfg.min_edge):
                return []
            bucket = event.ts_event // (max(1, self.cfg.exit_interval_s) * NS)
            return self._exit(f, f"edge{bucket}", book, marks, instruments)
        if isinstance(event, PolyTrade) and event.side == "sell":
            for f in self.followed.values():
                same = event.token_id == f.token_id if event.token_id else (
                    event.condition_id == f.condition_id and event.outcome == f.outcome
                )  # fmt: skip
                if same and event.wallet.lower() in f.smart_wallets:
                    return self._exit(f, event.event_id.hex, book, marks, instruments)
            return []
        if isinstance(event, PolyResolved):  # redeemed, not sold (booked elsewhere)
            for token in [t for t, f in self.followed.items() if f.condition_id == event.symbol]:
                del self.followed[token]
        return []

    def _exit(
        self,
        f: Followed,
        trigger: str,
        book: TradingBook,
        marks: Mapping[tuple[str, str], Decimal],
        instruments: Instruments,
    ) -> list[PlaceOrder]:
        cfg = self.cfg
        command_id = f"{f.entry_command_id}:exit:{trigger}"
        if command_id in self.issued:
            return []
        entry = book.orders.get(f.entry_order_id)
        inst = instruments(VENUE, f.token_id)
        price = (
            self.bids.get(f.token_id) or self.last.get(f.token_id) or marks.get((VENUE, f.token_id))
        )
        if entry is None or entry.cum_qty <= 0 or inst is None or price is None:
            return []
        held = book.position(cfg.account, VENUE, f.token_id).size
        selling = sum(
            (o.qty - o.cum_qty for o in book.open_orders(cfg.account)
             if o.placed.symbol == f.token_id and o.placed.side == "sell"),
            ZERO,
        )  # fmt: skip
        available = held - selling
        step = max(_floor(entry.cum_qty * _dec(cfg.exit_step), inst.qty_step), inst.min_qty)
        qty = min(step, available)
        if available - qty < inst.min_qty:
            qty = available
        qty = _floor(qty, inst.qty_step)
        if qty <= 0 or qty < inst.min_qty:
            return []
        self.issued.add(command_id)
        return [
            PlaceOrder(
                command_id=command_id,
                account=cfg.account,
                venue=VENUE,
                symbol=f.token_id,
                side="sell",
                qty=qty,
                order_type="limit",
                limit_price=price,
                reduce_only=True,
                strategy=f.strategy,
                live=cfg.live,
            )
        ]
