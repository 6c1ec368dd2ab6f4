"""The hybrid fuser: a Polymarket signal and a perps signal that agree -> one sized bet.

Pure and deterministic (no I/O, no clock): it consumes ``LEDGER`` signals in stream order with
their stream sequence and keeps, per perps symbol, the last ``keep`` Polymarket signals
(:class:`~events.poly.PolySignal`) on markets about that coin and the last ``keep`` perps
signals on it (by count, not by time: the scanner and the oracle each publish in their own
event-time order, and either may run a day ahead of the other).

**Which coin.**  :func:`coin_symbol` maps a market's question to a Bybit symbol by whole-word
aliases (``bitcoin``/``btc`` -> ``BTCUSDT``, ``ethereum``/``eth``/``ether`` -> ``ETHUSDT``,
...).  A question naming two different coins ("will ETH flip BTC") maps to nothing.

**Which way.**  :func:`poly_direction`: an outcome named ``Up``/``Down`` (the crypto up/down
markets) is its own direction; ``Yes`` takes the question's direction (bullish words: *above,
up, reach, hit, over, exceed, high, rise, ...*; bearish: *below, down, dip, drop, fall, under,
low, ...*; both or neither -> unknown) and ``No`` the opposite.  :func:`perps_direction`:
``OiSpike`` by the sign of its bar's price change, ``ClusterTargeted`` by its ``direction``
(``up``/``down``), ``StopHunt`` ``bull`` -> up, ``bear`` -> down.  Volume spikes and
imbalance rankings carry no direction and are ignored.

**When.**  A pair fuses when the two signals' ``ts_event`` are at most ``window_s`` apart, they
agree in direction, and **no** perps signal on the coin within ``window_s`` of the Polymarket
signal disagrees with it (a conflicting perps stack is no second opinion: the guard).  The
signal that completes the pair (the later one in the log) causes the
:class:`~events.poly.HybridSignal`; ``source_seq`` is its ``LEDGER`` sequence.  At most one
hybrid signal per (market, outcome) per ``cooldown_s``.

**How much.**  :func:`helix.quant.sizing.hybrid_binary` (quant.md §6.5) on the Polymarket
outcome at the signal's price ``c'``: ``p_a`` is the perps side's probability, a constant per
perps kind (``p_perps``; there is no calibrated perps model yet), ``p_b`` the oracle's
``p_model``, ``w`` = 0.5 (no Brier history is kept yet, §6.5: equal weights until both sources
have 30 resolved forecasts), ``fraction = min(cap, λ·f*)``.  A pair whose sizing is 0 (the
§6.5 disagreement guard against ``c'``, or a pooled edge below ``min_edge``) emits nothing.

Caveat (quant.md TV-6.p): ``p_a`` is the probability of the coin's *move*, used as the
probability of the outcome; that is only as good as the market's question is about that move.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import msgspec

from events.base import stable_event_id
from events.poly import VENUE, HybridSignal, PolySignal
from events.signals import ClusterTargeted, OiSpike, Signal, StopHunt
from helix.errors import ConfigError, ValidationError
from helix.quant.sizing import hybrid_binary
from helix.settings import Settings

STRATEGY = "hybrid_fuser"
SECOND = 1_000_000_000
Direction = Literal["up", "down"]

COINS: dict[str, tuple[str, ...]] = {
    "BTCUSDT": ("bitcoin", "btc"),
    "ETHUSDT": ("ethereum", "eth", "ether"),
    "SOLUSDT": ("solana", "sol"),
    "XRPUSDT": ("xrp", "ripple"),
    "DOGEUSDT": ("dogecoin", "doge"),
    "BNBUSDT": ("bnb", "binance coin"),
    "ADAUSDT": ("cardano", "ada"),
    "AVAXUSDT": ("avalanche", "avax"),
    "LTCUSDT": ("litecoin", "ltc"),
    "HYPEUSDT": ("hyperliquid", "hype"),
    "SUIUSDT": ("sui",),
}
"""Bybit symbol -> whole-word aliases in a market question (case-insensitive)."""

_COIN_RE = [
    (sym, re.compile(r"\b(?:" + "|".join(re.escape(a) for a in aliases) + r")\b", re.I))
    for sym, aliases in COINS.items()
]
_BULL = re.compile(
    r"\b(?:above|up|reach(?:es)?|hits?|over|exceeds?|higher|high|rises?|greater|ath|"
    r"all[- ]time high|pump|moon|surges?|breaks?)\b",
    re.I,
)
_BEAR = re.compile(
    r"\b(?:below|down|dips?|drops?|falls?|under|lower|low|less than|crash(?:es)?|dumps?|"
    r"plunges?)\b",
    re.I,
)


def coin_symbol(question: str) -> str | None:
    """The Bybit symbol a market question is about, or ``None`` (no coin, or two coins)."""
    found = {sym for sym, rx in _COIN_RE if rx.search(question)}
    return found.pop() if len(found) == 1 else None


def poly_direction(question: str, outcome: str) -> Direction | None:
    """Which way buying ``outcome`` bets the coin moves (see the module docstring)."""
    o = outcome.strip().lower()
    if o in ("up", "higher", "above"):
        return "up"
    if o in ("down", "lower", "below"):
        return "down"
    if o not in ("yes", "no"):
        return None
    bull, bear = bool(_BULL.search(question)), bool(_BEAR.search(question))
    if bull == bear:
        return None
    yes: Direction = "up" if bull else "down"
    if o == "yes":
        return yes
    return "down" if yes == "up" else "up"


def perps_direction(s: Signal) -> Direction | None:
    """The direction a perps signal points to (``None``: it has none)."""
    if isinstance(s, OiSpike):
        if s.price_change > 0:
            return "up"
        return "down" if s.price_change < 0 else None
    if isinstance(s, ClusterTargeted):
        return s.direction
    if isinstance(s, StopHunt):
        return "up" if s.direction == "bull" else "down"
    return None


def _default_p_perps() -> dict[str, float]:
    return {
        OiSpike.KIND: 0.55,
        ClusterTargeted.KIND: 0.60,
        StopHunt.KIND: 0.60,
    }


class HybridConfig(msgspec.Struct, frozen=True, kw_only=True):
    """How the fuser pairs and sizes (defaults from :class:`~helix.settings.Settings`).

    Attributes:
        window_s: the two signals' times at most this far apart (``hybrid_window_s``).
        cooldown_s: at most one hybrid signal per (market, outcome) in this time.
        p_perps: the perps side's probability ``p_a`` per perps signal kind (a kind not here
            is not fused).
        w: weight of the perps side in the log-odds pool (0.5: no Brier history yet).
        kelly_fraction: λ (``poly_kelly_fraction``).  cap: per-position cap of bankroll
            (``poly_risk_cap``).  min_edge: pooled ``p_h − c'`` below this sizes 0.
        fee_per_share: added to the price (``c' = price + fee``).
        keep: signals kept per coin and side (a bound on memory).
    """

    window_s: int = 3600
    cooldown_s: int = 3600
    p_perps: dict[str, float] = msgspec.field(default_factory=_default_p_perps)
    w: float = 0.5
    kelly_fraction: float = 0.5
    cap: float = 0.10
    min_edge: float = 0.02
    fee_per_share: float = 0.0
    keep: int = 4096

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.cooldown_s < 0 or self.keep < 1:
            raise ValueError("window_s > 0, cooldown_s >= 0, keep >= 1")
        if not 0 <= self.w <= 1 or not 0 <= self.kelly_fraction <= 1 or not 0 <= self.cap <= 1:
            raise ValueError("w, kelly_fraction and cap must be in [0, 1]")
        if any(not 0 < p < 1 for p in self.p_perps.values()):
            raise ValueError("p_perps values must be in (0, 1)")

    @classmethod
    def from_settings(cls, settings: Settings) -> HybridConfig:
        """The fuser's config from the settings.

        Raises:
            ConfigError: an invalid value.
        """
        s = settings
        try:
            return cls(
                window_s=s.hybrid_window_s,
                cooldown_s=s.hybrid_window_s,
                kelly_fraction=s.poly_kelly_fraction,
                cap=s.poly_risk_cap,
            )
        except ValueError as exc:
            raise ConfigError(f"hybrid settings: {exc}") from exc


class PolySeen(msgspec.Struct, frozen=True):
    """A Polymarket signal kept for pairing."""

    seq: int
    signal: PolySignal
    direction: Direction


class PerpsSeen(msgspec.Struct, frozen=True):
    """A perps signal kept for pairing."""

    seq: int
    signal: OiSpike | ClusterTargeted | StopHunt
    direction: Direction


class CoinState(msgspec.Struct, kw_only=True):
    poly: list[PolySeen] = msgspec.field(default_factory=list)
    perps: list[PerpsSeen] = msgspec.field(default_factory=list)


class FuserState(msgspec.Struct, kw_only=True):
    """Everything the fuser remembers (persistable with msgspec)."""

    coins: dict[str, CoinState] = msgspec.field(default_factory=dict)
    fused: dict[str, int] = msgspec.field(default_factory=dict)  # "cid:outcome" -> ts
    now: int = 0  # newest ts_event seen
    position: int = 0  # LEDGER sequence of the last signal seen


@dataclass(frozen=True, slots=True)
class _Pair:
    poly: PolySeen
    perps: PerpsSeen


class HybridFuser:
    """See the module docstring.  ``on_signal`` is the only entry point while running."""

    def __init__(self, config: HybridConfig, state: FuserState | None = None) -> None:
        self.cfg = config
        self.state = state or FuserState()
        self.window = config.window_s * SECOND

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.state)

    @classmethod
    def restore(cls, config: HybridConfig, data: bytes) -> HybridFuser:
        return cls(config, msgspec.msgpack.decode(data, type=FuserState))

    def on_signal(self, seq: int, signal: object) -> list[HybridSignal]:
        """Feed one ledger event (in log order); returns the hybrid signals it completed."""
        self.state.position = seq
        if isinstance(signal, PolySignal):
            return self._on_poly(seq, signal)
        if isinstance(signal, OiSpike | ClusterTargeted | StopHunt):
            return self._on_perps(seq, signal)
        return []

    # -- intake --------------------------------------------------------------------------------

    def _coin(self, symbol: str) -> CoinState:
        st = self.state.coins.get(symbol)
        if st is None:
            st = self.state.coins[symbol] = CoinState()
        return st

    def _advance(self, ts: int) -> None:
        if ts <= self.state.now:
            return
        self.state.now = ts
        # No pruning by time: the scanner and the oracle each publish in their own event-time
        # order, and one may be a day ahead of the other (a replay, a backfill), so a signal
        # is kept until ``keep`` newer ones of its coin and side push it out.
        cool = ts - self.cfg.cooldown_s * SECOND
        self.state.fused = {k: t for k, t in self.state.fused.items() if t > cool}

    def _on_poly(self, seq: int, s: PolySignal) -> list[HybridSignal]:
        coin = coin_symbol(s.question)
        direction = poly_direction(s.question, s.outcome)
        self._advance(s.ts_event)
        if coin is None or direction is None:
            return []
        st = self._coin(coin)
        seen = PolySeen(seq, s, direction)
        st.poly.append(seen)
        del st.poly[: -self.cfg.keep]
        near = [p for p in st.perps if self._near(p.signal.ts_event, s.ts_event)]
        if not near or any(p.direction != direction for p in near):
            return []
        best = max(near, key=lambda p: (p.signal.ts_event, p.seq))
        out = self._fuse(_Pair(seen, best), completed_by=s, seq=seq)
        return [out] if out is not None else []

    def _on_perps(self, seq: int, s: OiSpike | ClusterTargeted | StopHunt) -> list[HybridSignal]:
        direction = perps_direction(s)
        self._advance(s.ts_event)
        if direction is None or s.KIND not in self.cfg.p_perps:
            return []
        st = self._coin(s.symbol)
        seen = PerpsSeen(seq, s, direction)
        st.perps.append(seen)
        del st.perps[: -self.cfg.keep]
        out: list[HybridSignal] = []
        for p in sorted(st.poly, key=lambda x: x.seq):
            if p.direction != direction or not self._near(p.signal.ts_event, s.ts_event):
                continue
            near = [q for q in st.perps if self._near(q.signal.ts_event, p.signal.ts_event)]
            if any(q.direction != p.direction for q in near):
                continue
            h = self._fuse(_Pair(p, seen), completed_by=s, seq=seq)
            if h is not None:
                out.append(h)
        return out

    def _near(self, a: int, b: int) -> bool:
        return abs(a - b) <= self.window

    # -- sizing --------------------------------------------------------------------------------

    def _fuse(self, pair: _Pair, *, completed_by: Signal, seq: int) -> HybridSignal | None:
        ps, qs = pair.poly.signal, pair.perps.signal
        key = f"{ps.condition_id}:{ps.outcome}"
        last = self.state.fused.get(key)
        ts = max(ps.ts_event, qs.ts_event)
        if last is not None and ts - last < self.cfg.cooldown_s * SECOND:
            return None
        p_a = self.cfg.p_perps[qs.KIND]
        p_b = ps.p_model
        try:
            res = hybrid_binary(
                p_a,
                p_b,
                ps.price,
                w=self.cfg.w,
                fee_per_share=self.cfg.fee_per_share,
                fraction=self.cfg.kelly_fraction,
                cap=self.cfg.cap,
                min_edge=self.cfg.min_edge,
            )
        except ValidationError:
            return None  # a price of 0 or 1 (or p_model at a bound): nothing to size
        if res.f <= 0:
            return None
        self.state.fused[key] = ts
        direction = pair.poly.direction
        reason = (
            f"{ps.outcome} on “{ps.question}” at {ps.price} (oracle p {p_b:.3f}, checklist "
            f"{ps.score}) and {qs.KIND} on {qs.symbol} ({direction}, p {p_a:.2f}) agree within "
            f"{self.cfg.window_s}s: pooled p {float(res.p_h):.4f} (w {float(res.w):.2f}), "
            f"Kelly f* {float(res.f_star):.4f} → stake {float(res.f):.4f} of bankroll "
            f"(λ {self.cfg.kelly_fraction}, cap {self.cfg.cap})"
        )
        return HybridSignal(
            event_id=stable_event_id(STRATEGY, ps.event_id, qs.event_id),
            ts_event=ts,
            ts_recorded=completed_by.ts_recorded,
            source=STRATEGY,
            vertical="poly",
            causation_id=completed_by.event_id,
            strategy=STRATEGY,
            venue=VENUE,
            symbol=ps.condition_id,
            interval=f"{self.cfg.window_s}s",
            bar_start=min(ps.ts_event, qs.ts_event),
            source_seq=seq,
            reason=reason,
            poly_signal_id=str(ps.event_id),
            perps_signal_id=str(qs.event_id),
            perps_kind=qs.KIND,
            perps_symbol=qs.symbol,
            direction=direction,
            condition_id=ps.condition_id,
            token_id=ps.token_id,
            outcome=ps.outcome,
            price=ps.price,
            p_a=p_a,
            p_b=p_b,
            w=_f(res.w),
            p_hybrid=_f(res.p_h),
            f_star=_f(res.f_star),
            fraction=_f(res.f),
            window_s=self.cfg.window_s,
        )


def _f(x: Decimal) -> float:
    return float(round(x, 10))
