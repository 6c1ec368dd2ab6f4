"""Price and position processes for the market simulator, one symbol, one second at a time.

The log price of a perpetual is split into parts so that the market has the structure a signal
stack looks for:

* ``f``: the fair (spot) log price, a GBM-like walk driven by a market-wide factor shared by all
  symbols plus an idiosyncratic one, scaled by a clustered volatility multiplier and an intraday
  seasonality curve.  Liquidation flow leaves a permanent share of its impact here.
* ``j_fast`` / ``j_slow``: transient impact that decays back to zero.  Random wick shocks go to the
  fast part (seconds), liquidation impact to the slow part (minutes), so cascades leave wicks.
* ``j_hunt``: the push of a "stop hunt" toward a liquidation cluster.  When the hunt ends it either
  decays (a sweep and reversal, i.e. a wick) or becomes permanent (a breakout / breakdown).
* ``b``: the perp premium over spot, an OU process whose target follows long/short crowding.

Spot (index) follows most, but not all, of the perp's impact, so cascades dent the premium and
therefore the funding rate.

``PositionBook`` holds the simulated leveraged positions: heaps by liquidation price (so a mark
move finds every crossed position in O(log n)) and a histogram of liquidation notional in 0.1%
log-price bins (what a liquidation heatmap would show; stop hunts aim at its peaks).

Everything here is pure: the random generators are passed in.  ``PricePath`` also keeps a
:class:`HuntRecord` of each stop hunt it ran (the ground truth of :mod:`helix.sim.truth`);
recording draws no random numbers and changes no state the prices depend on.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass
from typing import Literal

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class SymbolSpec:
    """Static parameters of one simulated perpetual.

    Attributes:
        start_price: first fair price (quote per unit).
        price_decimals: the tick is ``10 ** -price_decimals``.
        qty_decimals: the quantity step is ``10 ** -qty_decimals``.
        daily_vol: standard deviation of the daily log return before clustering.
        beta: loading on the market-wide factor (the correlation between symbols).
        median_trade_usd: median notional of one public trade.
        base_oi_usd: open interest held outside the simulated leveraged population.
        depth_usd: impact scale: forced flow of ``q`` USD in one second moves the log price by
            ``sqrt(q / depth_usd)`` (square-root impact, so cascades stay bounded).
    """

    start_price: float
    price_decimals: int
    qty_decimals: int
    daily_vol: float
    beta: float
    median_trade_usd: float
    base_oi_usd: float
    depth_usd: float


SPECS: dict[str, SymbolSpec] = {
    "BTCUSDT": SymbolSpec(95_000.0, 1, 3, 0.0095, 0.90, 3_000.0, 150e6, 2.5e12),
    "ETHUSDT": SymbolSpec(3_400.0, 2, 2, 0.0125, 0.85, 2_000.0, 60e6, 1.2e12),
    "SOLUSDT": SymbolSpec(190.0, 3, 1, 0.017, 0.80, 1_200.0, 20e6, 4.0e11),
}

MMR = 0.005  # maintenance margin rate (quant.md §1.3 default)
LEVERAGES: tuple[int, ...] = (5, 10, 20, 25, 50, 100)
LEVERAGE_WEIGHTS: tuple[float, ...] = (0.08, 0.22, 0.15, 0.20, 0.20, 0.15)
HOLD_MEAN_S: dict[int, float] = {
    5: 21_600,
    10: 14_400,
    20: 10_800,
    25: 9_000,
    50: 5_400,
    100: 3_600,
}
_BIN = 1_000.0  # liquidation-level histogram bins: 0.1% of log price
_VOL_HALF_LIFE_S = 2_400.0
_VOL_STD = 0.45  # stationary std of the log volatility multiplier
_VOL_THETA_10S = 10.0 * math.log(2.0) / _VOL_HALF_LIFE_S
_VOL_NOISE_10S = _VOL_STD * math.sqrt(2.0 * _VOL_THETA_10S)
_WICK_RATE_PER_S = 1.0 / 4_000.0
_J_FAST_DECAY = 0.5 ** (1.0 / 25.0)
_J_SLOW_DECAY = 0.5 ** (1.0 / 150.0)
_J_HUNT_DECAY = 0.5 ** (1.0 / 240.0)
_SHOCK_DECAY = 0.5 ** (1.0 / 900.0)
_BASIS_THETA_10S = 10.0 / 600.0
_BASIS_NOISE_10S = 0.00008 * math.sqrt(2.0 * _BASIS_THETA_10S)  # stationary std 0.8 bp
_PERMANENT_SHARE = 0.2  # of liquidation impact
_INDEX_SHARE = 0.85  # of transient impact that spot follows
_MARK_SHARE = 0.95  # of transient impact that the mark price follows


def seasonality(second_of_day: int) -> float:
    """Intraday activity multiplier (mean about 1): busiest around the US open, 14:30 UTC."""
    hour = second_of_day / 3_600.0
    return (
        0.9
        + 0.45 * math.exp(-(((hour - 14.5) / 2.5) ** 2))
        - 0.1 * math.exp(-(((hour - 4.0) / 3.0) ** 2))
    )


class MarketFactor:
    """The shared driver of all symbols: a common shock and a common volatility regime.

    Each symbol builds its own copy from the same seed, so the copies stay identical without any
    shared mutable state between the per-symbol generators.
    """

    __slots__ = ("_n", "_rng", "h", "vol", "z")

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._n = 0
        self.h = 0.0
        self.vol = math.exp(-0.5 * _VOL_STD**2)
        self.z = 0.0

    def step(self) -> None:
        """Draw the next second's common shock; update the volatility regime every 10 s."""
        self._n += 1
        if self._n % 10 == 0:
            self.h += -_VOL_THETA_10S * self.h + _VOL_NOISE_10S * self._rng.gauss(0.0, 1.0)
            self.vol = math.exp(self.h - 0.5 * _VOL_STD**2)
        self.z = self._rng.gauss(0.0, 1.0)


HuntEnd = Literal["target", "timeout", "liquidation"]
"""Why a stop hunt ended: the mark reached its target, its time ran out, or a liquidation."""


@dataclass(slots=True)
class HuntRecord:
    """What one stop hunt did, as :class:`PricePath` ran it (all prices are log mark prices).

    Times are the simulation's seconds (``t_s``): the hunt was started after second
    ``start_s`` and pushed from second ``start_s + 1`` on; it ended in second ``end_s``.

    Attributes:
        start_s: the second after which the hunt started.
        direction: -1 (down, through long liquidation levels) or +1 (up, through shorts).
        level_log: the far edge of the liquidation-level bin the hunt aims at.
        target_log: where the push aims: the level plus a small overshoot.
        start_log: the mark when the hunt started.
        extreme_log: the furthest mark in ``direction`` at the end of any second of the hunt
            (``start_log`` if it never got further).
        end_s: the second in which it ended (``None`` while it runs).
        ended_by: why it ended (``None`` while it runs).
        stuck: whether the push became permanent (``None`` while it runs).
    """

    start_s: int
    direction: int
    level_log: float
    target_log: float
    start_log: float
    extreme_log: float
    end_s: int | None = None
    ended_by: HuntEnd | None = None
    stuck: bool | None = None


class PricePath:
    """Mutable price state of one symbol; all logs are natural logs of quote prices.

    After each ``step`` the observables ``log_mid`` (last traded), ``log_mark`` (triggers
    liquidations), ``log_index`` (spot) and ``vm`` (volatility multiplier, mean about 1) are fresh.
    """

    __slots__ = (
        "_hunt_drift",
        "_hunt_end",
        "_hunt_target",
        "_idio",
        "_pending",
        "_rng",
        "_sigma",
        "b",
        "crowd",
        "f",
        "hunting",
        "hunts",
        "j_fast",
        "j_hunt",
        "j_slow",
        "log_index",
        "log_mark",
        "log_mid",
        "shock",
        "spec",
        "vm",
    )

    def __init__(self, spec: SymbolSpec, rng: random.Random) -> None:
        self.spec = spec
        self._rng = rng
        self._sigma = spec.daily_vol / math.sqrt(SECONDS_PER_DAY)
        self._idio = math.sqrt(1.0 - spec.beta**2)
        self.f = math.log(spec.start_price)
        self.j_fast = 0.0
        self.j_slow = 0.0
        self.j_hunt = 0.0
        self.b = 0.0001
        self.shock = 0.0  # extra log-vol after cascades (volatility clustering)
        self.crowd = 0.0  # (long - short) / (long + short) of the leveraged population
        self.vm = 1.0
        self.hunting = 0  # direction of the stop hunt in progress: -1 down, +1 up, 0 none
        self._pending = 0.0
        self._hunt_drift = 0.0
        self._hunt_end = 0
        self._hunt_target = 0.0
        self.hunts: list[HuntRecord] = []  # every hunt started, in order (the ground truth)
        self.log_mid = self.log_mark = self.log_index = self.f
        self._refresh()

    def _refresh(self) -> None:
        j = self.j_fast + self.j_slow + self.j_hunt
        self.log_mid = self.f + j + self.b
        self.log_mark = self.f + _MARK_SHARE * j + self.b
        self.log_index = self.f + _INDEX_SHARE * j

    def step(self, t_s: int, factor: MarketFactor, season: float) -> None:
        """Advance every component by one second.

        Args:
            t_s: seconds since the start of the simulation, after this step.
            factor: the shared market factor, already stepped to this second.
            season: intraday activity multiplier.
        """
        rng = self._rng
        self.vm = vm = factor.vol * math.exp(self.shock) if self.shock else factor.vol
        sigma = self._sigma * vm * season
        z = self.spec.beta * factor.z + self._idio * rng.gauss(0.0, 1.0)
        f = self.f + sigma * z - 0.5 * sigma * sigma
        # Forced flow lands over a few seconds, so a cascade unfolds instead of jumping.
        release = 0.5 * self._pending
        self._pending -= release
        self.f = f + _PERMANENT_SHARE * release
        self.j_slow = self.j_slow * _J_SLOW_DECAY + (1.0 - _PERMANENT_SHARE) * release
        self.j_fast *= _J_FAST_DECAY
        if rng.random() < _WICK_RATE_PER_S:
            size = rng.uniform(0.0015, 0.006) * (1.0 + self.shock)
            self.j_fast += size if rng.random() < 0.5 else -size
        self.shock *= _SHOCK_DECAY
        if t_s % 10 == 0:
            target = 0.0001 + 0.003 * self.crowd
            self.b += _BASIS_THETA_10S * (target - self.b) + _BASIS_NOISE_10S * rng.gauss(0.0, 1.0)
        if self.hunting:
            self.j_hunt += self._hunt_drift
        else:
            self.j_hunt *= _J_HUNT_DECAY
        self._refresh()
        if self.hunting:
            hunt = self.hunts[-1]
            if (self.log_mark - hunt.extreme_log) * self.hunting > 0.0:
                hunt.extreme_log = self.log_mark
            reached = (self.log_mark - self._hunt_target) * self.hunting >= 0.0
            if reached or t_s >= self._hunt_end:
                self.end_hunt(t_s, "target" if reached else "timeout")

    def impact(self, signed_usd: float) -> None:
        """Queue the price impact of forced flow (positive = buying pressure)."""
        size = math.sqrt(abs(signed_usd) / self.spec.depth_usd)
        self._pending += size if signed_usd > 0 else -size

    def cascade_shock(self, n_liquidations: int) -> None:
        """Raise volatility after liquidations (volatility clustering around flushes)."""
        self.shock = min(0.4, self.shock + 0.015 * math.sqrt(n_liquidations))

    def start_hunt(self, t_s: int, target_log: float, duration_s: int, level_log: float) -> None:
        """Push the mark toward ``target_log`` over ``duration_s`` seconds.

        Args:
            t_s: the current second; the push starts with the next step.
            target_log: where to push the log mark.
            duration_s: seconds until the hunt times out.
            level_log: the liquidation level aimed at (recorded only).
        """
        gap = target_log - self.log_mark
        self.hunting = 1 if gap > 0 else -1
        self._hunt_target = target_log
        self._hunt_drift = gap / max(1, duration_s)
        self._hunt_end = t_s + duration_s
        mark = self.log_mark
        self.hunts.append(HuntRecord(t_s, self.hunting, level_log, target_log, mark, mark))

    def end_hunt(self, t_s: int, ended_by: HuntEnd) -> None:
        """Stop hunting: sometimes the move sticks (breakout), else it fades (a wick).

        Args:
            t_s: the current second.
            ended_by: why the hunt ends (recorded only).
        """
        stuck = bool(self.hunting) and self._rng.random() < 0.3
        if stuck:
            self.f += self.j_hunt
            self.j_hunt = 0.0
            self._refresh()
        if self.hunting:
            hunt = self.hunts[-1]
            hunt.end_s, hunt.ended_by, hunt.stuck = t_s, ended_by, stuck
        self.hunting = 0
        self._hunt_drift = 0.0


def liquidation_price(side: int, entry: float, leverage: int, mmr: float = MMR) -> float:
    """Isolated-margin liquidation price without tier deduction (quant.md §1.3).

    Args:
        side: +1 for a long position, -1 for a short.
        entry: entry price.
        leverage: initial leverage L (IMR = 1/L).
        mmr: maintenance margin rate.

    Returns:
        ``entry * (1 - 1/L + mmr)`` for a long, ``entry * (1 + 1/L - mmr)`` for a short.
    """
    return entry * (1.0 - side / leverage + side * mmr)


class PositionBook:
    """The open leveraged positions of one symbol, indexed for liquidation and hunting."""

    __slots__ = (
        "alive",
        "bins",
        "hist_long",
        "hist_short",
        "long_heap",
        "long_qty",
        "lps",
        "qty",
        "short_heap",
        "short_qty",
        "sides",
        "usd",
    )

    def __init__(self) -> None:
        self.lps: list[float] = []
        self.qty: list[int] = []  # in quantity steps
        self.usd: list[float] = []
        self.sides: list[int] = []  # +1 long, -1 short
        self.bins: list[int] = []
        self.alive: list[bool] = []
        self.long_heap: list[tuple[float, int]] = []  # (-liq price, id): highest first
        self.short_heap: list[tuple[float, int]] = []  # (liq price, id): lowest first
        self.hist_long: dict[int, float] = {}  # liquidation bin -> notional (USD)
        self.hist_short: dict[int, float] = {}
        self.long_qty = 0
        self.short_qty = 0

    @property
    def open_qty(self) -> int:
        """Open quantity of all live positions, long plus short (quantity steps)."""
        return self.long_qty + self.short_qty

    def crowding(self) -> float:
        """Long/short crowding ``(long - short) / (long + short)``, in [-1, 1]."""
        total = self.long_qty + self.short_qty
        return (self.long_qty - self.short_qty) / total if total else 0.0

    def open(self, side: int, lp: float, qty: int, usd: float) -> int:
        """Add a position (``side`` +1 long, -1 short) and return its id."""
        pid = len(self.lps)
        b = math.floor(math.log(lp) * _BIN)
        self.lps.append(lp)
        self.qty.append(qty)
        self.usd.append(usd)
        self.sides.append(side)
        self.bins.append(b)
        self.alive.append(True)
        hist = self.hist_long if side > 0 else self.hist_short
        hist[b] = hist.get(b, 0.0) + usd
        if side > 0:
            heapq.heappush(self.long_heap, (-lp, pid))
            self.long_qty += qty
        else:
            heapq.heappush(self.short_heap, (lp, pid))
            self.short_qty += qty
        return pid

    def close(self, pid: int) -> None:
        """Remove a position (closed, expired or liquidated); a no-op if it is already gone."""
        if not self.alive[pid]:
            return
        self.alive[pid] = False
        if self.sides[pid] > 0:
            self.hist_long[self.bins[pid]] -= self.usd[pid]
            self.long_qty -= self.qty[pid]
        else:
            self.hist_short[self.bins[pid]] -= self.usd[pid]
            self.short_qty -= self.qty[pid]

    def crossed(self, mark: float) -> list[int]:
        """Pop the live positions whose liquidation price the mark has reached."""
        out: list[int] = []
        lh, sh = self.long_heap, self.short_heap
        while lh and -lh[0][0] >= mark:
            pid = heapq.heappop(lh)[1]
            if self.alive[pid]:
                out.append(pid)
        while sh and sh[0][0] <= mark:
            pid = heapq.heappop(sh)[1]
            if self.alive[pid]:
                out.append(pid)
        return out

    def hunt_target(self, log_mark: float) -> tuple[int, float] | None:
        """The most attractive liquidation bin within about 2% of the mark, if one stands out.

        Long levels below and short levels above the mark are scored by notional times
        ``exp(-distance / 0.7%)`` (bigger and closer clusters attract, as in quant.md §3).

        Args:
            log_mark: log of the current mark price.

        Returns:
            ``(direction, log price of the bin's far edge)`` with direction -1 (hunt down through
            long levels) or +1 (up through short levels); ``None`` when no bin stands out.
        """
        c = math.floor(log_mark * _BIN)
        best: tuple[float, int, float] | None = None
        total, n = 0.0, 0
        for d in range(2, 19):
            for direction, usd in (
                (-1, self.hist_long.get(c - d, 0.0)),
                (1, self.hist_short.get(c + d, 0.0)),
            ):
                if usd <= 1.0:
                    continue
                total, n = total + usd, n + 1
                score = usd * math.exp(-d / 7.0)
                if best is None or score > best[0]:
                    edge = (c - d) / _BIN if direction < 0 else (c + d + 1) / _BIN
                    best = (score, direction, edge)
        if best is None or n < 4 or best[0] < 1.2 * total / n * math.exp(-0.5):
            return None
        return best[1], best[2]
