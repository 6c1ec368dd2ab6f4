"""A seeded, deterministic, pure simulator of crypto-perpetual market data.

``simulate(SimConfig())`` yields a day of ``Trade``, ``Liquidation`` and ``Ticker`` events for a few
USDT perpetuals, in non-decreasing ``ts_event`` order.  There is no I/O, no wall clock and no global
random state: the same config always gives the same events.

Each symbol is simulated on a one-second grid (the processes live in :mod:`helix.sim.paths`).
A population of leveraged positions is opened by the trade flow itself (a taker buy that opens a
position opens a long), with leverage drawn from {5, 10, 20, 25, 50, 100}x and the isolated-margin
liquidation price ``entry * (1 -/+ 1/L +/- MMR)`` (quant.md §1.3, MMR 0.5%).  Entries bunch where
price lingers, so liquidation prices form clusters per leverage bucket.  When the mark price
crosses a cluster its positions are liquidated: ``Liquidation`` prints (a long is closed by a
sell), forced ``Trade`` prints in the same direction, and price impact that reaches further levels
(a cascade), then partly fades (a wick).  Now and then a "stop hunt" pushes price toward the
largest nearby cluster.  Open interest rises as positions open and drops when they are flushed;
the funding rate follows the mark-index premium, which follows long/short crowding.

Event ids are ``market_event_id(venue, KIND, symbol, natural_key)``, so a replay of the same config
re-creates the same ids (and JetStream de-duplicates them).

What was planted (each stop hunt, and which hunt each liquidation fell in) is recorded in lists
the simulator objects own, for :mod:`helix.sim.truth`; recording draws no random numbers and
changes no event.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter

from events.market import Liquidation, MarketEvent, Side, Ticker, Trade, market_event_id
from helix.sim.paths import (
    HOLD_MEAN_S,
    LEVERAGE_WEIGHTS,
    LEVERAGES,
    SPECS,
    MarketFactor,
    PositionBook,
    PricePath,
    SymbolSpec,
    liquidation_price,
    seasonality,
)

NS = 1_000_000_000
FUNDING_PERIOD_NS = 8 * 3_600 * NS  # funding at 00:00, 08:00 and 16:00 UTC
_P_OPEN = 0.12  # share of regular trades that open a tracked leveraged position
_OPEN_SIZE = 6.0  # opening trades are this many times larger than the median trade
_WARM_MIN = 480  # minutes of pre-start history whose surviving positions seed the book
_SOURCE = "sim"
_FUNDING_CLAMP = 0.00005  # interest-rate pull toward 0.01% (narrower than Bybit's 0.05%)
_PREM_EMA = 1.0 - 0.5 ** (1.0 / 3_600.0)  # premium index averaged with a 1 h half-life


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
    per_symbol = config.duration_s / 60.0 * config.trades_per_minute
    per_symbol += config.duration_s / config.ticker_every_s + 1
    per_symbol += config.duration_s * 0.03  # liquidations and their forced fills
    return int(per_symbol * len(config.symbols))


def _latency_ns(ts: int) -> int:
    """A deterministic recording latency of 1-20 ms, scrambled from the event time."""
    return 1_000_000 + ((ts * 2_654_435_761) >> 11) % 19_000_000


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
        self.book = PositionBook()
        self.tick = 10.0**-self.spec.price_decimals
        self.step = 10.0**-self.spec.qty_decimals
        self.base_oi = self.spec.base_oi_usd / self.spec.start_price
        self.n_trades = 0
        self.n_liqs = 0
        self.last_ts = -1
        self.expiries: list[tuple[int, int]] = []
        self.forced: list[tuple[int, int, int, int, int]] = []  # (ts, kind, side, px, qty)
        self.liq_hunts: list[int] = []  # per liquidation, in order: its hunt's index, or -1
        self.burst = 1.0
        self.flow_bias = 0.0
        self.sentiment = 0.0
        self.open_mult = 1.0
        self.hold_mult = 1.0
        self.prem_ema = 0.0001
        # The leveraged population must not depend on how finely the flow is printed: at other
        # trade rates, open a different share of trades (and, at very low rates, larger ones).
        share = _P_OPEN * 60.0 / config.trades_per_minute
        self.p_open = min(0.9, share)
        self.open_size = _OPEN_SIZE * share / self.p_open

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> Iterator[MarketEvent]:
        """Yield this symbol's events in strictly increasing ``ts_event`` order."""
        cfg, path, rng, factor, book = self.cfg, self.path, self.rng, self.factor, self.book
        t0 = cfg.start_ns
        rate_base = cfg.trades_per_minute / 60.0
        ema = mid_prev = path.log_mid
        sigma_s = self.spec.daily_vol / math.sqrt(86_400.0)
        season = 1.0
        self._warm_start()
        yield self._ticker(t0)
        for k in range(1, cfg.duration_s + 1):
            if k % 60 == 1:
                season = seasonality((t0 // NS + k) % 86_400)
            if k % 600 == 1:
                self._drift_regime()
            factor.step()
            path.step(k, factor, season)
            mid_now, vm = path.log_mid, path.vm
            ema += (mid_now - ema) * (1.0 / 600.0)
            mom = math.tanh((mid_now - ema) / (sigma_s * 25.0 * vm))
            p_buy = 0.5 + self.sentiment + 0.12 * mom + self.flow_bias + 0.08 * path.hunting
            p_buy = min(0.92, max(0.08, p_buy + 0.2 * math.tanh((mid_now - mid_prev) / sigma_s)))
            rate = rate_base * season * vm**0.7 * self.burst
            # Momentum chasers open more; panic flow during a flush closes rather than opens.
            p_open = self.p_open * self.open_mult * (1.0 + 0.8 * abs(mom)) / self.burst
            records = self._regular_trades(
                t0 + (k - 1) * NS, rate, p_buy, p_open, mid_prev, mid_now, k
            )
            if self.forced:
                records.extend(self.forced)
                records.sort()
                self.forced = []
            for rec in records:
                yield self._emit(rec)
            mid_prev = mid_now
            if self.expiries and self.expiries[0][0] <= k:
                self._expire(k)
            now = t0 + k * NS
            self.prem_ema += (path.log_mark - path.log_index - self.prem_ema) * _PREM_EMA
            if k % cfg.ticker_every_s == 0:
                yield self._ticker(now)
            mark = math.exp(path.log_mark)
            lh, sh = book.long_heap, book.short_heap
            if (lh and -lh[0][0] >= mark) or (sh and sh[0][0] <= mark):
                self._liquidate(now, mark)
            if self.burst > 1.001:
                self.burst = 1.0 + (self.burst - 1.0) * 0.85
                self.flow_bias *= 0.85
            if k % 10 == 0:
                path.crowd = book.crowding()
                if k % 60 == 0 and not path.hunting and rng.random() < 0.04:
                    self._maybe_hunt(k)

    def _warm_start(self) -> None:
        """Seed the book with the survivors of positions opened in the hours before the start.

        A backward random walk stands in for the recent past; a position survives if its holding
        time has not run out and its liquidation price lies beyond the walk's extremes since entry.
        """
        rng, spec = self.rng, self.spec
        sigma = spec.daily_vol / math.sqrt(1_440.0)
        rate = 60.0 * _P_OPEN * 1.7  # opens per minute, with the average live boost (regimes etc.)
        log_p = lo = hi = self.path.log_mid
        for age in range(1, _WARM_MIN + 1):
            log_p += sigma * rng.gauss(0.0, 1.0)
            lo, hi = min(lo, log_p), max(hi, log_p)
            t = rng.expovariate(rate)
            while t < 1.0:
                side = 1 if rng.random() < 0.5 else -1
                entry = math.exp(log_p)
                usd = spec.median_trade_usd * _OPEN_SIZE * math.exp(1.3 * rng.gauss(0.0, 1.0))
                qty = max(1, round(usd / entry / self.step))
                n_before = len(self.book.lps)
                self._open(side, entry, qty, 0, age * 60)
                if len(self.book.lps) > n_before:
                    lp = self.book.lps[-1]
                    if (side > 0 and lp >= math.exp(lo)) or (side < 0 and lp <= math.exp(hi)):
                        self.book.close(n_before)  # its level was swept before the start
                t += rng.expovariate(rate)

    def _drift_regime(self) -> None:
        """Every 10 minutes: move sentiment, and switch between build-up and unwind regimes."""
        rng = self.rng
        self.sentiment = 0.8 * self.sentiment + rng.gauss(0.0, 0.035)
        self.base_oi *= math.exp(rng.gauss(0.0, 0.004))
        self.base_oi += 0.02 * (self.spec.base_oi_usd / self.spec.start_price - self.base_oi)
        if rng.random() < 0.25:
            u = rng.random()
            if u < 0.35:  # build-up: many opens, long holds
                self.open_mult, self.hold_mult = 1.8, 1.3
            elif u < 0.55:  # unwind
                self.open_mult, self.hold_mult = 0.5, 0.6
            else:
                self.open_mult, self.hold_mult = 1.0, 1.0

    def _regular_trades(
        self, t_start: int, rate: float, p_buy: float, p_open: float, lo: float, hi: float, k: int
    ) -> list[tuple[int, int, int, int, int]]:
        """Poisson arrivals over one second, priced along the mid path; some open positions."""
        rng = self.rng
        out: list[tuple[int, int, int, int, int]] = []
        t = rng.expovariate(rate)
        median = self.spec.median_trade_usd
        while t < 1.0:
            side = 1 if rng.random() < p_buy else -1
            opening = rng.random() < p_open
            size = self.open_size if opening else 1.0
            usd = median * size * math.exp(1.3 * rng.gauss(0.0, 1.0))
            mid = math.exp(lo + (hi - lo) * t)
            px = mid * (1.0 + side * (0.00001 + 0.000002 * math.sqrt(usd / median)))
            qty = max(1, round(usd / mid / self.step))
            out.append((t_start + int(t * NS), 0, side, round(px / self.tick), qty))
            if opening:
                self._open(side, px, qty, k)
            t += rng.expovariate(rate)
        return out

    def _open(self, side: int, entry: float, qty: int, k: int, age_s: int = 0) -> None:
        rng = self.rng
        lev = rng.choices(LEVERAGES, LEVERAGE_WEIGHTS)[0]
        hold = rng.expovariate(1.0 / (HOLD_MEAN_S[lev] * self.hold_mult)) - age_s
        if hold <= 0.0:  # a warm-start position that was already closed
            return
        lp = liquidation_price(side, entry, lev)
        pid = self.book.open(side, lp, qty, qty * self.step * entry)
        heapq.heappush(self.expiries, (k + 1 + int(hold), pid))

    def _expire(self, k: int) -> None:
        exp = self.expiries
        while exp and exp[0][0] <= k:
            self.book.close(heapq.heappop(exp)[1])

    def _liquidate(self, now: int, mark: float) -> None:
        """Liquidate every position the mark has crossed; forced prints go out next second."""
        path, book, rng = self.path, self.book, self.rng
        pids = book.crossed(mark)
        if not pids:
            return
        # Ground truth only: a liquidation belongs to the hunt running in its second, or to
        # the one that ended in it (the step that reaches a target comes before this sweep).
        k = (now - self.cfg.start_ns) // NS
        hunts = path.hunts
        in_hunt = len(hunts) - 1 if hunts and (path.hunting or hunts[-1].end_s == k) else -1
        self.liq_hunts.extend([in_hunt] * len(pids))
        mid = math.exp(path.log_mid)
        spacing = min(8_000_000, 900_000_000 // len(pids))
        signed_usd = 0.0
        for i, pid in enumerate(pids):
            side = book.sides[pid]  # position side; the order is the opposite
            qty = book.qty[pid]
            book.close(pid)
            usd = qty * self.step * mid
            signed_usd -= side * usd
            slip = 0.0002 + math.sqrt(abs(signed_usd) / self.spec.depth_usd)
            px = round(mid * (1.0 - side * slip) / self.tick)
            ts = now + 1_000_000 + i * spacing + rng.randrange(spacing // 2 + 1)
            self.forced.append((ts, 1, -side, px, qty))
            if qty >= 4 and rng.random() < 0.5:
                part = qty // 2
                self.forced.append((ts + 1_000, 0, -side, px, part))
                self.forced.append((ts + 2_000, 0, -side, px - side, qty - part))
            else:
                self.forced.append((ts + 1_000, 0, -side, px, qty))
        path.impact(signed_usd)  # forced orders plus the stops they set off
        path.cascade_shock(len(pids))
        self.burst = min(6.0, self.burst + 0.2 * len(pids))
        direction = 1.0 if signed_usd > 0 else -1.0
        self.flow_bias = max(-0.35, min(0.35, self.flow_bias + 0.05 * len(pids) * direction))
        if path.hunting:
            path.end_hunt(k, "liquidation")

    def _maybe_hunt(self, k: int) -> None:
        target = self.book.hunt_target(self.path.log_mark)
        if target is None:
            return
        direction, edge = target
        overshoot = self.rng.uniform(0.0003, 0.0015)
        self.path.start_hunt(k, edge + direction * overshoot, self.rng.randrange(120, 600), edge)

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
        common = {
            "ts_event": ts,
            "ts_recorded": ts + _latency_ns(ts),
            "source": _SOURCE,
            "vertical": "perps",
            "venue": venue,
            "symbol": sym,
            "price": price,
            "qty": amount,
            "side": o_side,
        }
        if kind == 1:
            self.n_liqs += 1
            key = f"{sym}-L{self.n_liqs}"
            event_id = market_event_id(venue, Liquidation.KIND, sym, key)
            return Liquidation(event_id=event_id, key=key, **common)  # type: ignore[arg-type]
        self.n_trades += 1
        trade_id = f"{sym}-{self.n_trades}"
        event_id = market_event_id(venue, Trade.KIND, sym, trade_id)
        return Trade(event_id=event_id, trade_id=trade_id, **common)  # type: ignore[arg-type]

    def _ticker(self, now: int) -> Ticker:
        if now <= self.last_ts:
            now = self.last_ts + 1
        self.last_ts = now
        path, spec, sym = self.path, self.spec, self.symbol
        dec = spec.price_decimals
        mark = Decimal(round(math.exp(path.log_mark) * 10**dec)).scaleb(-dec)
        oi_steps = round(self.base_oi / self.step) + self.book.open_qty
        oi = Decimal(oi_steps).scaleb(-spec.qty_decimals)
        prem = self.prem_ema
        rate = prem + min(_FUNDING_CLAMP, max(-_FUNDING_CLAMP, 0.0001 - prem))
        rate = min(0.0025, max(-0.0025, rate))
        return Ticker(
            event_id=market_event_id(self.cfg.venue, Ticker.KIND, sym, str(now)),
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
