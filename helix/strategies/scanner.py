"""The perps scanner: market events in, signal events out, with no I/O and no clock.

Per market it folds events into bars (:mod:`helix.strategies.bars`; a bar closes when an event
of a later bucket arrives, so time comes only from events), and on every closed bar it runs, in
this order:

1. **stop hunt** (quant.md §4.2): the bar against the clusters found at the *previous* close
   (levels taken before the candle); a wick that swept a cluster and closed back inside with a
   wick ratio ≥ ``wick_ratio`` emits :class:`~events.signals.StopHunt`.  Pierced clusters are
   gone (the model consumes them too).
2. **OI spike / volume spike** (§5): rolling z over the previous ``spike_window`` bars (excluding
   this one) plus the percent-change / RVOL condition.
3. **heatmap and whale target** (§2-3): LHM-1 over the ``window`` (24h of 5-minute bars by
   default) ending at this bar, clusters of the last column and their scores.  When the best
   score reaches ``cluster_score_min`` a :class:`~events.signals.ClusterTargeted` is emitted,
   unless the same side's target was signalled within ``cooldown`` at a price inside this
   cluster's extent (one signal per target, not one per bar).
4. **imbalance ranking**: when a bar closes past a multiple of ``rank_every``, the markets are
   ranked by ``|short − long| / (short + long)`` of their open levels (:class:`ImbalanceRanked`).

Every signal carries its inputs and a reason.  Its id is derived from (strategy, kind, market,
bar, level), ``ts_event`` is the bar's end and ``ts_recorded`` the recording time of the event
that closed the bar, so the same log gives byte-identical signals live, after a restart and in
a backtest.  The whole state is plain data (:meth:`PerpsScanner.snapshot`), so a runtime can
persist it and resume exactly where it stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, TypedDict
from uuid import UUID

import msgspec
import numpy as np

from events.base import Event, stable_event_id
from events.signals import (
    ClusterTargeted,
    ImbalanceEntry,
    ImbalanceRanked,
    OiSpike,
    PositionSide,
    Signal,
    StopHunt,
    VolumeSpike,
)
from helix.errors import ConfigError
from helix.quant.clusters import ClusterSide, ScoredCluster
from helix.quant.spikes import oi_regime, relative_volume, rolling_z
from helix.quant.wicks import Level, SweepKind, WickConfig, detect_stop_hunts
from helix.quant.windows import WINDOWS, bar_arrays, compute_window
from helix.settings import Settings
from helix.strategies.bars import Bar, bar_start, event_bucket_ts, market_key

NOT_PERPS = frozenset({"polymarket"})
"""Venues whose markets are not perpetuals: their trades (outcome tokens) make no perps bars."""

STRATEGY = "perps_scanner"
MINUTE = 60_000_000_000
INTERVALS = {"1m": MINUTE, "5m": 5 * MINUTE, "15m": 15 * MINUTE, "1h": 60 * MINUTE}


class ScannerConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Thresholds and windows (settings ``HELIX_SIGNAL_*``; defaults from quant.md App. A).

    Attributes:
        interval: bar length (``1m``, ``5m``, ``15m``, ``1h``); the heatmap window's compute
            interval must be a multiple of it.
        window: heatmap window the clusters come from (``12h``, ``24h``, ``3d``...).
        cluster_score_min: whale-target score that makes a cluster "targeted" (0-100).  The
            score's share term is relative to the clusters within ``reach``, so the default
            (12) was set on simulated days: about one target per symbol-hour.
        cooldown_min: minutes before the same target may be signalled again.
        spike_window: bars in the rolling z windows (n).
        oi_z_min / oi_pct_min: OI spike needs ``z ≥ oi_z_min`` and ``|pct_1| ≥ oi_pct_min``.
        volume_z_min / rvol_min: volume spike needs ``z_V ≥ volume_z_min`` and RVOL ≥ rvol_min.
        wick_ratio: minimum wick share of the range for a stop hunt.
        sweep_bars: bars a pierced cluster has to be reclaimed in; the stop-hunt rule runs on
            the candle merged from the piercing bar to the reclaiming one (1 = quant.md §4.2
            exactly: one candle).
        reach: clusters are looked for among levels within this fraction of the price (the
            liquidity a hunt can reach); ``None`` = the whole heatmap column.
        rank_every_min: minutes between imbalance rankings.
        rank_size: markets in a ranking.
    """

    interval: str = "5m"
    window: str = "24h"
    cluster_score_min: float = 12.0
    cooldown_min: int = 60
    spike_window: int = 48
    oi_z_min: float = 2.5
    oi_pct_min: float = 0.005
    volume_z_min: float = 2.5
    rvol_min: float = 2.0
    wick_ratio: float = 0.5
    rank_every_min: int = 60
    rank_size: int = 20
    reach: float | None = 0.02
    sweep_bars: int = 3

    def __post_init__(self) -> None:
        if self.interval not in INTERVALS:
            raise ValueError(f"interval must be one of {', '.join(INTERVALS)}")
        if self.window not in WINDOWS:
            raise ValueError(f"window must be one of {', '.join(WINDOWS)}")
        if WINDOWS[self.window].compute_ns % INTERVALS[self.interval]:
            raise ValueError(f"window {self.window} computes on a coarser grid than bars allow")
        if self.spike_window < 2 or self.rank_every_min < 1 or self.cooldown_min < 0:
            raise ValueError("spike_window >= 2, rank_every_min >= 1, cooldown_min >= 0")
        if self.sweep_bars < 1 or (self.reach is not None and self.reach <= 0):
            raise ValueError("sweep_bars >= 1 and reach > 0")

    @property
    def interval_ns(self) -> int:
        return INTERVALS[self.interval]

    @classmethod
    def from_settings(cls, settings: Settings) -> ScannerConfig:
        """The ``HELIX_SIGNAL_*`` settings as a config.

        Raises:
            ConfigError: an invalid combination (unknown interval or window, ...).
        """
        s = settings
        try:
            return cls(
                interval=s.signal_interval,
                window=s.signal_window,
                cluster_score_min=s.signal_cluster_score_min,
                cooldown_min=s.signal_cooldown_min,
                spike_window=s.signal_spike_window,
                oi_z_min=s.signal_oi_z_min,
                oi_pct_min=s.signal_oi_pct_min,
                volume_z_min=s.signal_volume_z_min,
                rvol_min=s.signal_rvol_min,
                wick_ratio=s.signal_wick_ratio,
                rank_every_min=s.signal_rank_every_min,
                reach=s.signal_reach if s.signal_reach > 0 else None,
                sweep_bars=s.signal_sweep_bars,
            )
        except ValueError as exc:
            raise ConfigError(f"HELIX_SIGNAL_* settings: {exc}") from exc


class Target(msgspec.Struct, frozen=True):
    """The last signalled whale target of one side."""

    price: float
    low: float
    high: float
    ts: int


@dataclass(slots=True)
class Sweep:
    """A cluster the price pierced without closing back yet (it has ``sweep_bars`` bars)."""

    level: ScoredCluster
    start: int
    open: float
    high: float
    low: float
    bars: int


_HUNTS = (SweepKind.BULL_STOP_HUNT, SweepKind.BEAR_STOP_HUNT)
_BREAKS = (SweepKind.BREAKDOWN, SweepKind.BREAKOUT)


@dataclass(slots=True)
class MarketState:
    """One market's bars (closed, within the window) and the clusters of the last close."""

    venue: str
    symbol: str
    bar: Bar | None = None
    history: list[Bar] = field(default_factory=list)
    levels: list[ScoredCluster] = field(default_factory=list)
    sweeps: list[Sweep] = field(default_factory=list)
    edges: tuple[float, float] = (0.0, 0.0)  # price of bin 0 and bin width, for extents
    targets: dict[str, Target] = field(default_factory=dict)
    long_usd: float = 0.0
    short_usd: float = 0.0
    price: float = math.nan


class ScannerState(msgspec.Struct, kw_only=True):
    """Everything the scanner remembers (persistable with msgspec)."""

    markets: dict[str, MarketState] = msgspec.field(default_factory=dict)
    last_rank: int = 0
    position: int = 0  # stream sequence of the last event seen


def _d(x: float) -> Decimal:
    """A float rounded for display in an event (deterministic: shortest repr, 8 places)."""
    return Decimal(repr(round(x, 8))) if math.isfinite(x) else Decimal(0)


def _f(x: float) -> float:
    """A statistic rounded to 10 places (inf stays inf)."""
    return float(round(x, 10)) if math.isfinite(x) else x


def _opt(x: float) -> float | None:
    """A statistic that may not exist yet: NaN becomes ``None``."""
    return None if math.isnan(x) else _f(x)


class PerpsScanner:
    """See the module docstring.  ``on_event`` is the only entry point while running."""

    def __init__(self, config: ScannerConfig, state: ScannerState | None = None) -> None:
        self.cfg = config
        self.state = state or ScannerState()
        self.interval = config.interval_ns
        self.spec = WINDOWS[config.window]
        self.keep = max(
            self.spec.range_ns // self.interval, config.spike_window + 1
        )  # closed bars kept per market
        self.wick = WickConfig(wick_ratio=config.wick_ratio)

    # -- persistence ---------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.state)

    @classmethod
    def restore(cls, config: ScannerConfig, data: bytes) -> PerpsScanner:
        return cls(config, msgspec.msgpack.decode(data, type=ScannerState))

    # -- the loop ------------------------------------------------------------------------------

    def on_event(self, seq: int, event: Event) -> list[Signal]:
        """Feed one market event (in log order); returns the signals it caused."""
        self.state.position = seq
        mk = market_key(event)
        if mk is None or mk[0] in NOT_PERPS:
            return []
        key = f"{mk[0]}:{mk[1]}"
        st = self.state.markets.get(key)
        if st is None:
            st = self.state.markets[key] = MarketState(mk[0], mk[1])
        bucket = bar_start(event_bucket_ts(event), self.interval)
        out: list[Signal] = []
        if st.bar is None:
            st.bar = Bar(mk[0], mk[1], bucket)
        elif bucket > st.bar.start:
            out = self._close(st, seq, event)
            st.bar = Bar(mk[0], mk[1], bucket)
        elif bucket < st.bar.start:  # late: fold into its closed bar if still kept
            for old in reversed(st.history):
                if old.start == bucket:
                    old.add(seq, event)
                    break
                if old.start < bucket:
                    break
            return out
        st.bar.add(seq, event)
        return out

    def _close(self, st: MarketState, seq: int, cause: Event) -> list[Signal]:
        bar = st.bar
        assert bar is not None
        st.history.append(bar)
        if len(st.history) > self.keep:
            del st.history[: len(st.history) - self.keep]
        end = bar.start + self.interval
        ctx = _Ctx(self.cfg.interval, bar.start, end, seq, cause)
        out: list[Signal] = []
        if bar.has_price:
            out.extend(self._stop_hunts(st, bar, ctx))
            out.extend(self._spikes(st, ctx))
            out.extend(self._heatmap(st, ctx))
        rank_every = self.cfg.rank_every_min * MINUTE
        if end // rank_every > self.state.last_rank:
            self.state.last_rank = end // rank_every
            ranked = self._ranking(ctx)
            if ranked is not None:
                out.append(ranked)
        return out

    # -- rules ---------------------------------------------------------------------------------

    def _stop_hunts(self, st: MarketState, bar: Bar, ctx: _Ctx) -> list[Signal]:
        out: list[Signal] = []
        waiting: list[Sweep] = []
        for sw in st.sweeps:  # levels pierced earlier that may still be reclaimed
            sw.high, sw.low, sw.bars = max(sw.high, bar.high), min(sw.low, bar.low), sw.bars + 1
            kind, depth = self._classify(sw.level, sw.open, sw.high, sw.low, bar.close)
            if kind in _HUNTS:
                out.append(self._hunt(st, ctx, sw, bar.close, kind, depth))
            elif kind in _BREAKS and sw.bars < self.cfg.sweep_bars:
                waiting.append(sw)
        kept: list[ScoredCluster] = []
        for level in st.levels:
            kind, depth = self._classify(level, bar.open, bar.high, bar.low, bar.close)
            if kind is None:
                kept.append(level)
                continue
            sw = Sweep(level, bar.start, bar.open, bar.high, bar.low, 1)
            if kind in _HUNTS:
                out.append(self._hunt(st, ctx, sw, bar.close, kind, depth))
            elif kind in _BREAKS and self.cfg.sweep_bars > 1:
                waiting.append(sw)
        st.levels, st.sweeps = kept, waiting
        return out

    def _classify(
        self, level: ScoredCluster, o: float, h: float, lo: float, c: float
    ) -> tuple[SweepKind | None, float]:
        """§4.2 on one (possibly merged) candle against one level."""
        lv = Level(level.cluster.price, level.cluster.side)
        events, _ = detect_stop_hunts([o], [h], [lo], [c], [lv], config=self.wick)
        return (events[0].kind, events[0].depth) if events else (None, 0.0)

    def _hunt(
        self, st: MarketState, ctx: _Ctx, sw: Sweep, close: float, kind: SweepKind, depth: float
    ) -> StopHunt:
        sc = sw.level
        bull = kind is SweepKind.BULL_STOP_HUNT
        rng = sw.high - sw.low
        wick = min(sw.open, close) - sw.low if bull else sw.high - max(sw.open, close)
        ratio = wick / rng if rng > 0 else 0.0
        side: PositionSide = "long" if sc.cluster.side is ClusterSide.LONG else "short"
        span = f"{sw.bars} {ctx.interval} bars" if sw.bars > 1 else f"{ctx.interval} bar"
        reason = (
            f"{st.symbol} {span} {'swept' if bull else 'spiked through'} the "
            f"{side}-liquidation cluster at {sc.cluster.price:,.2f} "
            f"(${sc.cluster.size:,.0f}, score {sc.score:.1f}) to "
            f"{sw.low if bull else sw.high:,.2f} and closed back at {close:,.2f}: "
            f"{'lower' if bull else 'upper'} wick {ratio:.0%} of the range "
            f"≥ {self.cfg.wick_ratio:.0%}, depth {depth:.3%}"
        )
        return StopHunt(
            **ctx.envelope(StopHunt.KIND, st, f"{sc.cluster.price:.8g}"),
            reason=reason,
            direction="bull" if bull else "bear",
            level_side=side,
            level_price=_d(sc.cluster.price),
            level_size_usd=_d(sc.cluster.size),
            level_score=_f(sc.score),
            sweep_start=sw.start,
            bars=sw.bars,
            open=_d(sw.open),
            high=_d(sw.high),
            low=_d(sw.low),
            close=_d(close),
            wick_ratio=_f(ratio),
            ratio_min=self.cfg.wick_ratio,
            depth=_f(depth),
            volume_z=_opt(self._volume_z(st)),
        )

    def _series(self, st: MarketState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """OI (carried forward), quote volume and close of the last ``spike_window + 1`` bars."""
        bars = list(st.history)[-(self.cfg.spike_window + 1) :]
        oi = np.array([b.oi for b in bars])
        valid = ~np.isnan(oi)
        if valid.any():
            idx = np.where(valid, np.arange(oi.size), 0)
            np.maximum.accumulate(idx, out=idx)
            oi = np.where(np.maximum.accumulate(valid), oi[idx], np.nan)
        vol = np.array([b.volumes[0] for b in bars])
        close = np.array([b.close for b in bars])
        return oi, vol, close

    def _volume_z(self, st: MarketState) -> float:
        _, vol, _ = self._series(st)
        if vol.size <= self.cfg.spike_window:
            return math.nan
        return float(rolling_z(vol, self.cfg.spike_window)[-1])

    def _spikes(self, st: MarketState, ctx: _Ctx) -> list[Signal]:
        n = self.cfg.spike_window
        oi, vol, close = self._series(st)
        if vol.size <= n:
            return []
        out: list[Signal] = []
        z = float(rolling_z(oi, n)[-1])
        prev, cur = float(oi[-2]), float(oi[-1])
        pct = cur / prev - 1.0 if prev > 0 else math.nan
        window = oi[-n - 1 : -1]
        if z >= self.cfg.oi_z_min and abs(pct) >= self.cfg.oi_pct_min:
            dp = float(close[-1] / close[-2] - 1.0) if close[-2] > 0 else 0.0
            regime = str(oi_regime(cur - prev, dp))
            out.append(
                OiSpike(
                    **ctx.envelope(OiSpike.KIND, st),
                    reason=(
                        f"{st.symbol} open interest {pct:+.2%} in one {ctx.interval} bar "
                        f"({prev:,.2f} → {cur:,.2f}); z {z:.2f} ≥ {self.cfg.oi_z_min} over {n} "
                        f"bars and |Δ| ≥ {self.cfg.oi_pct_min:.2%}; price {dp:+.2%}: {regime}"
                    ),
                    open_interest=_d(cur),
                    previous=_d(prev),
                    pct_1=_f(pct),
                    mean=_f(float(np.mean(window))),
                    std=_f(float(np.std(window, ddof=1))),
                    z=_f(z),
                    window=n,
                    z_min=self.cfg.oi_z_min,
                    pct_min=self.cfg.oi_pct_min,
                    price_change=_f(dp),
                    regime=regime,
                )
            )
        zv = float(rolling_z(vol, n)[-1])
        rvol = float(relative_volume(vol, n)[-1])
        if zv >= self.cfg.volume_z_min and rvol >= self.cfg.rvol_min:
            vw = vol[-n - 1 : -1]
            out.append(
                VolumeSpike(
                    **ctx.envelope(VolumeSpike.KIND, st),
                    reason=(
                        f"{st.symbol} traded ${vol[-1]:,.0f} in one {ctx.interval} bar: "
                        f"{rvol:.1f}× the {n}-bar mean (≥ {self.cfg.rvol_min}), z {zv:.2f} ≥ "
                        f"{self.cfg.volume_z_min}"
                    ),
                    volume_usd=_d(float(vol[-1])),
                    mean=_f(float(np.mean(vw))),
                    std=_f(float(np.std(vw, ddof=1))),
                    z=_f(zv),
                    rvol=_f(rvol),
                    window=n,
                    z_min=self.cfg.volume_z_min,
                    rvol_min=self.cfg.rvol_min,
                )
            )
        return out

    def _heatmap(self, st: MarketState, ctx: _Ctx) -> list[Signal]:
        lo = ctx.end - self.spec.range_ns
        rows = [
            (b.start, b.open, b.high, b.low, b.close, *b.volumes, float(b.buy_quote),
             float(b.sell_quote), b.oi, float(b.liq_long_usd), float(b.liq_short_usd))
            for b in st.history
            if b.start >= lo
        ]  # fmt: skip
        hm = compute_window(
            bar_arrays(rows), self.spec, ctx.end, last_only=True, reach=self.cfg.reach
        )
        if hm is None:
            return []
        st.levels = list(hm.clusters)
        st.long_usd, st.short_usd, st.price = hm.long_total, hm.short_total, hm.price
        width = float(hm.edges[1] - hm.edges[0])
        if not hm.clusters or hm.clusters[0].score < self.cfg.cluster_score_min:
            return []
        best = hm.clusters[0]
        c = best.cluster
        side: PositionSide = "long" if c.side is ClusterSide.LONG else "short"
        low, high = float(hm.edges[c.start]), float(hm.edges[c.stop + 1])
        prev = st.targets.get(side)
        cooldown = self.cfg.cooldown_min * MINUTE
        recent = prev is not None and ctx.end - prev.ts < cooldown
        if recent and prev is not None and prev.low - width <= c.price <= prev.high + width:
            return []
        st.targets[side] = Target(c.price, low, high, ctx.end)
        runner_up = hm.clusters[1].score if len(hm.clusters) > 1 else 0.0
        direction: Literal["down", "up"] = "down" if side == "long" else "up"
        reason = (
            f"{st.symbol} {self.cfg.window} heatmap: {side}-liquidation cluster at "
            f"{c.price:,.2f} ({low:,.2f}-{high:,.2f}) holds ${c.size:,.0f} "
            f"({best.share:.0%} of clustered levels), {best.distance:.2%} "
            f"{'below' if side == 'long' else 'above'} {hm.price:,.2f}; OI z {hm.oi_z:.2f}; "
            f"score {best.score:.1f} ≥ {self.cfg.cluster_score_min} (next {runner_up:.1f}) "
            f"→ likely hunted {direction}"
        )
        return [
            ClusterTargeted(
                **ctx.envelope(ClusterTargeted.KIND, st, f"{side}:{c.price:.8g}"),
                reason=reason,
                window=self.cfg.window,
                side=side,
                direction=direction,
                price=_d(c.price),
                price_low=_d(low),
                price_high=_d(high),
                size_usd=_d(c.size),
                reference_price=_d(hm.price),
                distance=_f(best.distance),
                share=_f(best.share),
                proximity=_f(best.proximity),
                oi_z=_opt(hm.oi_z),
                score=_f(best.score),
                threshold=self.cfg.cluster_score_min,
                clusters=len(hm.clusters),
                runner_up_score=_f(runner_up),
            )
        ]

    def _ranking(self, ctx: _Ctx) -> ImbalanceRanked | None:
        entries = []
        for st in self.state.markets.values():
            total = st.long_usd + st.short_usd
            if total <= 0 or math.isnan(st.price):
                continue
            entries.append(
                ImbalanceEntry(
                    venue=st.venue,
                    symbol=st.symbol,
                    price=_d(st.price),
                    long_usd=_d(st.long_usd),
                    short_usd=_d(st.short_usd),
                    imbalance=_f((st.short_usd - st.long_usd) / total),
                )
            )
        if not entries:
            return None
        entries.sort(key=lambda e: (-abs(e.imbalance), e.venue, e.symbol))
        ranking = tuple(entries[: self.cfg.rank_size])
        top = ranking[0]
        reason = (
            f"{len(entries)} markets ranked by liquidation imbalance of their {self.cfg.window} "
            f"levels; most lopsided: {top.symbol} ({top.venue}) {top.imbalance:+.0%} "
            f"(${top.long_usd:,.0f} long below vs ${top.short_usd:,.0f} short above)"
        )
        env = ctx.envelope(ImbalanceRanked.KIND, None, str(ctx.end))
        return ImbalanceRanked(**env, reason=reason, window=self.cfg.window, ranking=ranking)


class _Envelope(TypedDict):
    event_id: UUID
    ts_event: int
    ts_recorded: int
    source: str
    vertical: Literal["perps"]
    causation_id: UUID
    strategy: str
    venue: str
    symbol: str
    interval: str
    bar_start: int
    source_seq: int


@dataclass(frozen=True, slots=True)
class _Ctx:
    interval: str
    start: int
    end: int
    seq: int
    cause: Event

    def envelope(self, kind: str, st: MarketState | None, extra: str = "") -> _Envelope:
        venue, symbol = (st.venue, st.symbol) if st is not None else ("*", "*")
        return {
            "event_id": stable_event_id(STRATEGY, kind, venue, symbol, self.start, extra),
            "ts_event": self.end,
            "ts_recorded": self.cause.ts_recorded,
            "source": STRATEGY,
            "vertical": "perps",
            "causation_id": self.cause.event_id,
            "strategy": STRATEGY,
            "venue": venue,
            "symbol": symbol,
            "interval": self.interval,
            "bar_start": self.start,
            "source_seq": self.seq,
        }
