"""Price processes for the market simulator: one symbol, advanced one second at a time.

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
therefore the funding rate.  Everything here is pure: the random generators are passed in.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

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
        depth_usd: notional of forced flow that moves the log price by 1 (impact scale).
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
    "BTCUSDT": SymbolSpec(95_000.0, 1, 3, 0.018, 0.90, 3_000.0, 450e6, 1.6e9),
    "ETHUSDT": SymbolSpec(3_400.0, 2, 2, 0.024, 0.85, 2_000.0, 180e6, 0.7e9),
    "SOLUSDT": SymbolSpec(190.0, 3, 1, 0.032, 0.80, 1_200.0, 60e6, 0.3e9),
}

_VOL_HALF_LIFE_S = 2_400.0
_VOL_STD = 0.45  # stationary std of the log volatility multiplier
_WICK_RATE_PER_S = 1.0 / 4_000.0
_J_FAST_DECAY = 0.5 ** (1.0 / 25.0)
_J_SLOW_DECAY = 0.5 ** (1.0 / 150.0)
_J_HUNT_DECAY = 0.5 ** (1.0 / 240.0)
_SHOCK_DECAY = 0.5 ** (1.0 / 900.0)
_BASIS_THETA = 1.0 / 600.0
_BASIS_STD = 0.00008
_PERMANENT_SHARE = 0.3  # of liquidation impact
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

    __slots__ = ("_rng", "h", "z")

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.h = 0.0
        self.z = 0.0

    def step(self) -> None:
        """Draw the next second's common shock and update the volatility regime."""
        theta = math.log(2.0) / _VOL_HALF_LIFE_S
        gauss = self._rng.gauss
        self.h += -theta * self.h + _VOL_STD * math.sqrt(2.0 * theta) * gauss(0.0, 1.0)
        self.z = gauss(0.0, 1.0)


class PricePath:
    """Mutable price state of one symbol; all logs are natural logs of quote prices."""

    __slots__ = (
        "_hunt_dir",
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
        "j_fast",
        "j_hunt",
        "j_slow",
        "shock",
        "spec",
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
        self._pending = 0.0
        self._hunt_dir = 0
        self._hunt_drift = 0.0
        self._hunt_end = 0
        self._hunt_target = 0.0

    # -- observables ---------------------------------------------------------------------------

    @property
    def log_mid(self) -> float:
        """Log of the perp's last-traded (mid) price."""
        return self.f + self.j_fast + self.j_slow + self.j_hunt + self.b

    @property
    def log_mark(self) -> float:
        """Log of the mark price, which triggers liquidations."""
        j = self.j_fast + self.j_slow + self.j_hunt
        return self.f + _MARK_SHARE * j + self.b

    @property
    def log_index(self) -> float:
        """Log of the spot index price."""
        return self.f + _INDEX_SHARE * (self.j_fast + self.j_slow + self.j_hunt)

    @property
    def hunting(self) -> int:
        """Direction of the stop hunt in progress: -1 down, +1 up, 0 none."""
        return self._hunt_dir

    def vol_multiplier(self, factor: MarketFactor) -> float:
        """Current volatility multiplier (mean about 1), shared regime plus cascade shock."""
        return math.exp(factor.h - 0.5 * _VOL_STD**2 + self.shock)

    # -- dynamics ------------------------------------------------------------------------------

    def step(self, t_s: int, factor: MarketFactor, season: float) -> None:
        """Advance every component by one second.

        Args:
            t_s: seconds since the start of the simulation, after this step.
            factor: the shared market factor, already stepped to this second.
            season: intraday activity multiplier.
        """
        rng = self._rng
        sigma = self._sigma * self.vol_multiplier(factor) * season
        z = self.spec.beta * factor.z + self._idio * rng.gauss(0.0, 1.0)
        self.f += sigma * z - 0.5 * sigma * sigma
        # Forced flow lands over a few seconds, so a cascade unfolds instead of jumping.
        release = 0.5 * self._pending
        self._pending -= release
        self.f += _PERMANENT_SHARE * release
        self.j_slow = self.j_slow * _J_SLOW_DECAY + (1.0 - _PERMANENT_SHARE) * release
        self.j_fast *= _J_FAST_DECAY
        if rng.random() < _WICK_RATE_PER_S:
            size = rng.uniform(0.0015, 0.006) * (1.0 + self.shock)
            self.j_fast += size if rng.random() < 0.5 else -size
        self.shock *= _SHOCK_DECAY
        target = 0.0001 + 0.0012 * self.crowd
        self.b += _BASIS_THETA * (target - self.b) + _BASIS_STD * math.sqrt(
            2.0 * _BASIS_THETA
        ) * rng.gauss(0.0, 1.0)
        self._step_hunt(t_s)

    def _step_hunt(self, t_s: int) -> None:
        if self._hunt_dir == 0:
            self.j_hunt *= _J_HUNT_DECAY
            return
        self.j_hunt += self._hunt_drift
        reached = (self.log_mark - self._hunt_target) * self._hunt_dir >= 0.0
        if reached or t_s >= self._hunt_end:
            self.end_hunt()

    def impact(self, signed_usd: float) -> None:
        """Queue the price impact of forced flow (positive = buying pressure)."""
        self._pending += signed_usd / self.spec.depth_usd

    def cascade_shock(self, n_liquidations: int) -> None:
        """Raise volatility after liquidations (volatility clustering around flushes)."""
        self.shock = min(1.2, self.shock + 0.02 * n_liquidations)

    def start_hunt(self, t_s: int, target_log: float, duration_s: int) -> None:
        """Push the mark toward ``target_log`` over ``duration_s`` seconds."""
        gap = target_log - self.log_mark
        self._hunt_dir = 1 if gap > 0 else -1
        self._hunt_target = target_log
        self._hunt_drift = gap / max(1, duration_s)
        self._hunt_end = t_s + duration_s

    def end_hunt(self) -> None:
        """Stop hunting: half the time the move sticks (breakout), else it fades (a wick)."""
        if self._hunt_dir != 0 and self._rng.random() < 0.45:
            self.f += self.j_hunt
            self.j_hunt = 0.0
        self._hunt_dir = 0
        self._hunt_drift = 0.0
