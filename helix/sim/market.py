"""A seeded, deterministic, pure simulator of crypto-perpetual market data.

``simulate(SimConfig())`` yields a day of ``Trade``, ``Liquidation`` and ``Ticker`` events for a few
USDT perpetuals, in non-decreasing ``ts_event`` order.  There is no I/O, no wall clock and no global
random state: the same config always gives the same events.

Each symbol is simulated on a one-second grid (see :mod:`helix.sim.paths` for the price model).
A population of leveraged positions is opened by the trade flow itself (a taker buy that opens a
position opens a long), with leverage drawn from {5, 10, 20, 25, 50, 100}x and an isolated-margin
liquidation price ``entry * (1 -/+ 1/L +/- MMR)`` (quant.md §1.3, MMR 0.5%).  Entries bunch where price
lingers, so the liquidation prices form clusters per leverage bucket.  When the mark price crosses a
cluster the positions are liquidated: ``Liquidation`` prints (a long is closed by a sell), forced
``Trade`` prints in the same direction, and price impact that reaches further levels, i.e. a
cascade.  "Stop hunts" now and then push price toward the largest nearby cluster.  Open interest
rises as positions open and drops when they are flushed; funding follows the premium, which
follows long/short crowding.
"""

from __future__ import annotations

import heapq
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import cast

from events.market import Liquidation, MarketEvent, Side, Ticker, Trade, market_event_id
from helix.sim.paths import SPECS, MarketFactor, PricePath, SymbolSpec, seasonality

NS = 1_000_000_000
FUNDING_PERIOD_NS = 8 * 3_600 * NS  # funding at 00:00, 08:00 and 16:00 UTC
MMR = 0.005  # maintenance margin rate (quant.md §1.3 default)
LEVERAGES: tuple[int, ...] = (5, 10, 20, 25, 50, 100)
_LEV_WEIGHTS: tuple[float, ...] = (0.10, 0.24, 0.16, 0.20, 0.18, 0.12)
_HOLD_MEAN_S: dict[int, float] = {
    5: 6 * 3600,
    10: 4 * 3600,
    20: 3 * 3600,
    25: 9000,
    50: 5400,
    100: 3600,
}
_BIN = 1_000.0  # liquidation-level histogram bins: 0.1% of log price
_SOURCE = "sim"


@dataclass(frozen=True)
class SimConfig:
    """What to simulate.

    Attributes:
        seed: seed of every random draw; the same config gives the same events.
        start_ns: UTC time of the first event (ns); default 2025-01-01T00:00:00Z.
        duration_s: simulated seconds.
        symbols: perpetuals to simulate (``BTCUSDT``, ``ETHUSDT``, ``SOLUSDT``).
        venue: venue name on every event.
        trades_per_minute: average regular trades per minute per symbol (cascades add more).
        ticker_every_s: seconds between ticker snapshots.
    """

    seed: int = 7
    start_ns: int = 1_735_689_600_000_000_000
    duration_s: int = 86_400
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    venue: str = "sim"
    trades_per_minute: float = 60.0
    ticker_every_s: int = 60

    def __post_init__(self) -> None:
        if self.duration_s <= 0 or self.ticker_every_s <= 0 or self.trades_per_minute <= 0:
            raise ValueError("duration_s, ticker_every_s and trades_per_minute must be positive")
        if not self.symbols or len(set(self.symbols)) != len(self.symbols):
            raise ValueError("symbols must be non-empty and distinct")
        unknown = [s for s in self.symbols if s not in SPECS]
        if unknown:
            raise ValueError(f"unknown symbols {unknown}; known: {sorted(SPECS)}")


def simulate(config: SimConfig) -> Iterator[MarketEvent]:
    """Yield the simulated market events of every symbol, merged by ``ts_event``.

    Args:
        config: what to simulate.

    Returns:
        An iterator of ``Trade``, ``Liquidation`` and ``Ticker`` events in non-decreasing
        ``ts_event`` order (strictly increasing within a symbol).
    """
    streams = [_SymbolSim(config, symbol).run() for symbol in config.symbols]
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=attrgetter("ts_event"))


def count_estimate(config: SimConfig) -> int:
    """A rough expected number of events, e.g. for a progress bar."""
    per_symbol = config.duration_s / 60.0 * config.trades_per_minute * 1.08
    per_symbol += config.duration_s / config.ticker_every_s + 1
    return int(per_symbol * len(config.symbols))


def _latency_ns(ts: int) -> int:
    """A deterministic recording latency of 1-20 ms, scrambled from the event time."""
    return 1_000_000 + ((ts * 2_654_435_761) >> 11) % 19_000_000


class _Book:
    """The open leveraged positions of one symbol, indexed for liquidation and hunting."""

    __slots__ = ("alive", "bins", "hist", "long_heap", "lps", "qty", "short_heap", "sides", "usd")

    def __init__(self) -> None:
        self.lps: list[float] = []
        self.qty: list[int] = []  # in quantity steps
        self.usd: list[float] = []
        self.sides: list[int] = []  # +1 long, -1 short
        self.bins: list[int] = []
        self.alive: list[bool] = []
        self.long_heap: list[tuple[float, int]] = []  # (-liq price, id): highest first
        self.short_heap: list[tuple[float, int]] = []  # (liq price, id): lowest first
        self.hist: dict[int, float] = {}  # signed bin (long > 0, short < 0 key) -> notional

    def open(self, side: int, entry: float, lev: int, qty: int, usd: float) -> int:
        lp = entry * (1.0 - side / lev + side * MMR)
        pid = len(self.lps)
        b = math.floor(math.log(lp) * _BIN)
        self.lps.append(lp)
        self.qty.append(qty)
        self.usd.append(usd)
        self.sides.append(side)
        self.bins.append(b)
        self.alive.append(True)
        key = b if side > 0 else -b
        self.hist[key] = self.hist.get(key, 0.0) + usd
        if side > 0:
            heapq.heappush(self.long_heap, (-lp, pid))
        else:
            heapq.heappush(self.short_heap, (lp, pid))
        return pid

    def close(self, pid: int) -> int:
        """Remove a position; returns its signed quantity (0 if it was already gone)."""
        if not self.alive[pid]:
            return 0
        self.alive[pid] = False
        side = self.sides[pid]
        key = self.bins[pid] if side > 0 else -self.bins[pid]
        self.hist[key] -= self.usd[pid]
        return side * self.qty[pid]

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
        """The most attractive nearby liquidation bin as (direction, bin edge log price)."""
        c = math.floor(log_mark * _BIN)
        best: tuple[float, int, float] | None = None
        total, n = 0.0, 0
        for d in range(2, 19):
            for direction, key in ((-1, c - d), (1, -(c + d))):
                usd = self.hist.get(key, 0.0)
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


class _SymbolSim:
    """One symbol's event stream; ``run()`` is the generator."""

    def __init__(self, config: SimConfig, symbol: str) -> None:
        self.cfg = config
        self.symbol = symbol
        self.spec: SymbolSpec = SPECS[symbol]
        self.rng = random.Random(f"helix-sim:{config.seed}:{symbol}")  # noqa: S311
        market_rng = random.Random(f"helix-sim:{config.seed}:market")  # noqa: S311
        self.factor = MarketFactor(market_rng)
        self.path = PricePath(self.spec, self.rng)
        self.book = _Book()
        self.tick = 10.0**-self.spec.price_decimals
        self.step = 10.0**-self.spec.qty_decimals
        self.long_qty = 0
        self.short_qty = 0
        self.base_oi = self.spec.base_oi_usd / self.spec.start_price
        self.n_trades = 0
        self.n_liqs = 0
        self.last_ts = -1
        self.expiries: list[tuple[int, int]] = []
        self.forced: list[tuple[int, int, int, int, int]] = []  # (ts, kind, side, px, qty)
        self.burst = 1.0
        self.flow_bias = 0.0
        self.sentiment = 0.0
        self.open_mult = 1.0
        self.hold_mult = 1.0
        self.prem_sum = 0.0
        self.prem_n = 0

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> Iterator[MarketEvent]:
        cfg, path, rng = self.cfg, self.path, self.rng
        t0 = cfg.start_ns
        rate_base = cfg.trades_per_minute / 60.0
        ema = mid_prev = path.log_mid
        sigma_s = self.spec.daily_vol / math.sqrt(86_400.0)
        yield self._ticker(t0)
        for k in range(1, cfg.duration_s + 1):
            season = seasonality((t0 // NS + k) % 86_400)
            self.factor.step()
            path.step(k, self.factor, season)
            if k % 600 == 1:
                self._drift_regime()
            mid_now = path.log_mid
            ret = mid_now - mid_prev
            ema += (mid_now - ema) / 600.0
            vm = path.vol_multiplier(self.factor)
            mom = math.tanh((mid_now - ema) / (sigma_s * 25.0 * vm))
            p_buy = 0.5 + self.sentiment + 0.12 * mom + 0.2 * math.tanh(ret / (sigma_s * vm))
            p_buy = min(0.92, max(0.08, p_buy + self.flow_bias + 0.08 * path.hunting))
            rate = rate_base * season * vm**0.7 * self.burst
            records = self._regular_trades(t0 + (k - 1) * NS, rate, p_buy, mid_prev, mid_now, k)
            if self.forced:
                records.extend(self.forced)
                records.sort()
                self.forced = []
            for rec in records:
                yield self._emit(rec)
            mid_prev = mid_now
            self._expire(k)
            now = t0 + k * NS
            prem = math.exp(path.log_mark - path.log_index) - 1.0
            self.prem_sum += prem
            self.prem_n += 1
            if k % cfg.ticker_every_s == 0:
                yield self._ticker(now)
            if now % FUNDING_PERIOD_NS == 0:
                self.prem_sum, self.prem_n = 0.0, 0
            self._liquidate(now)
            self.burst = 1.0 + (self.burst - 1.0) * 0.85
            self.flow_bias *= 0.85
            total = self.long_qty + self.short_qty
            path.crowd = (self.long_qty - self.short_qty) / total if total else 0.0
            if k % 60 == 0 and path.hunting == 0 and rng.random() < 0.12:
                self._maybe_hunt(k)

    def _drift_regime(self) -> None:
        """Every 10 minutes: move sentiment, and switch between build-up and unwind regimes."""
        rng = self.rng
        self.sentiment = 0.8 * self.sentiment + rng.gauss(0.0, 0.035)
        self.base_oi *= math.exp(rng.gauss(0.0, 0.004))
        self.base_oi += 0.02 * (self.spec.base_oi_usd / self.spec.start_price - self.base_oi)
        if rng.random() < 0.25:
            u = rng.random()
            if u < 0.35:  # build-up: many opens, long holds
                self.open_mult, self.hold_mult = 2.2, 1.6
            elif u < 0.55:  # unwind
                self.open_mult, self.hold_mult = 0.5, 0.5
            else:
                self.open_mult, self.hold_mult = 1.0, 1.0

    def _regular_trades(
        self, t_start: int, rate: float, p_buy: float, lo: float, hi: float, k: int
    ) -> list[tuple[int, int, int, int, int]]:
        """Poisson arrivals over one second, priced along the mid path; some open positions."""
        rng = self.rng
        out: list[tuple[int, int, int, int, int]] = []
        t = rng.expovariate(rate)
        p_open = 0.22 * self.open_mult
        median = self.spec.median_trade_usd
        while t < 1.0:
            side = 1 if rng.random() < p_buy else -1
            opening = rng.random() < p_open
            usd = median * math.exp(1.3 * rng.gauss(0.0, 1.0)) * (2.5 if opening else 1.0)
            mid = math.exp(lo + (hi - lo) * t)
            px = mid * (1.0 + side * (0.00001 + 0.000002 * math.sqrt(usd / median)))
            qty = max(1, round(usd / mid / self.step))
            out.append((t_start + int(t * NS), 0, side, round(px / self.tick), qty))
            if opening:
                self._open(side, px, qty, k)
            t += rng.expovariate(rate)
        return out

    def _open(self, side: int, entry: float, qty: int, k: int) -> None:
        rng = self.rng
        lev = rng.choices(LEVERAGES, _LEV_WEIGHTS)[0]
        pid = self.book.open(side, entry, lev, qty, qty * self.step * entry)
        hold = rng.expovariate(1.0 / (_HOLD_MEAN_S[lev] * self.hold_mult))
        heapq.heappush(self.expiries, (k + 1 + int(hold), pid))
        if side > 0:
            self.long_qty += qty
        else:
            self.short_qty += qty

    def _expire(self, k: int) -> None:
        exp = self.expiries
        while exp and exp[0][0] <= k:
            self._remove(heapq.heappop(exp)[1])

    def _remove(self, pid: int) -> None:
        signed = self.book.close(pid)
        if signed > 0:
            self.long_qty -= signed
        else:
            self.short_qty += signed

    def _liquidate(self, now: int) -> None:
        """Liquidate every position the mark has crossed; forced prints go out next second."""
        path, book, rng = self.path, self.book, self.rng
        pids = book.crossed(math.exp(path.log_mark))
        if not pids:
            return
        mid = math.exp(path.log_mid)
        spacing = min(8_000_000, 900_000_000 // len(pids))
        signed_usd = 0.0
        for i, pid in enumerate(pids):
            side = book.sides[pid]  # position side; the order is the opposite
            qty = book.qty[pid]
            self._remove(pid)
            usd = qty * self.step * mid
            signed_usd -= side * usd
            slip = 0.0002 + abs(signed_usd) / self.spec.depth_usd
            px = round(mid * (1.0 - side * slip) / self.tick)
            ts = now + 1_000_000 + i * spacing + rng.randrange(spacing // 2 + 1)
            self.forced.append((ts, 1, -side, px, qty))
            if qty >= 4 and rng.random() < 0.5:
                part = qty // 2
                self.forced.append((ts + 1_000, 0, -side, px, part))
                self.forced.append((ts + 2_000, 0, -side, px - side, qty - part))
            else:
                self.forced.append((ts + 1_000, 0, -side, px, qty))
        path.impact(signed_usd * 1.6)  # forced orders plus the stops they set off
        path.cascade_shock(len(pids))
        self.burst = min(10.0, self.burst + 0.35 * len(pids))
        direction = 1.0 if signed_usd > 0 else -1.0
        self.flow_bias = max(-0.35, min(0.35, self.flow_bias + 0.05 * len(pids) * direction))
        if path.hunting:
            path.end_hunt()

    def _maybe_hunt(self, k: int) -> None:
        target = self.book.hunt_target(self.path.log_mark)
        if target is None:
            return
        direction, edge = target
        overshoot = self.rng.uniform(0.0003, 0.0015)
        self.path.start_hunt(k, edge + direction * overshoot, self.rng.randrange(120, 600))

    # -- event building --------------------------------------------------------------------

    def _emit(self, rec: tuple[int, int, int, int, int]) -> MarketEvent:
        ts, kind, side, px, qty = rec
        if ts <= self.last_ts:
            ts = self.last_ts + 1
        self.last_ts = ts
        sym, venue = self.symbol, self.cfg.venue
        o_side: Side = "buy" if side > 0 else "sell"
        price = Decimal(px).scaleb(-self.spec.price_decimals)
        amount = Decimal(qty).scaleb(-self.spec.qty_decimals)
        if kind == 1:
            self.n_liqs += 1
            key = f"{sym}-L{self.n_liqs}"
            return Liquidation(
                event_id=_eid(venue, Liquidation.KIND, sym, key),
                ts_event=ts,
                ts_recorded=ts + _latency_ns(ts),
                source=_SOURCE,
                vertical="perps",
                venue=venue,
                symbol=sym,
                key=key,
                price=price,
                qty=amount,
                side=o_side,
            )
        self.n_trades += 1
        trade_id = f"{sym}-{self.n_trades}"
        return Trade(
            event_id=_eid(venue, Trade.KIND, sym, trade_id),
            ts_event=ts,
            ts_recorded=ts + _latency_ns(ts),
            source=_SOURCE,
            vertical="perps",
            venue=venue,
            symbol=sym,
            trade_id=trade_id,
            price=price,
            qty=amount,
            side=o_side,
        )

    def _ticker(self, now: int) -> Ticker:
        if now <= self.last_ts:
            now = self.last_ts + 1
        self.last_ts = now
        path, spec, sym = self.path, self.spec, self.symbol
        dec = spec.price_decimals
        mark = Decimal(round(math.exp(path.log_mark) * 10**dec)).scaleb(-dec)
        oi_steps = round(self.base_oi / self.step) + self.long_qty + self.short_qty
        oi = Decimal(oi_steps).scaleb(-spec.qty_decimals)
        prem = self.prem_sum / self.prem_n if self.prem_n else path.b
        rate = prem + min(0.0005, max(-0.0005, 0.0001 - prem))
        rate = min(0.0025, max(-0.0025, rate))
        return Ticker(
            event_id=_eid(self.cfg.venue, Ticker.KIND, sym, str(now)),
            ts_event=now,
            ts_recorded=now + _latency_ns(now),
            source=_SOURCE,
            vertical="perps",
            venue=self.cfg.venue,
            symbol=sym,
            mark_price=mark,
            index_price=Decimal(round(math.exp(path.log_index) * 10**dec)).scaleb(-dec),
            last_price=Decimal(round(math.exp(path.log_mid) * 10**dec)).scaleb(-dec),
            open_interest=oi,
            open_interest_value=(oi * mark).quantize(Decimal("0.01")),
            funding_rate=Decimal(round(rate * 1e6)).scaleb(-6),
            next_funding_ts=(now // FUNDING_PERIOD_NS + 1) * FUNDING_PERIOD_NS,
        )


def _eid(venue: str, kind: str, symbol: str, key: str) -> uuid.UUID:
    return cast(uuid.UUID, market_event_id(venue, kind, symbol, key))
