"""A seeded, deterministic, pure simulator of a small Polymarket world for ``helix demo``.

``simulate_poly(PolySimConfig())`` yields Polymarket market events in non-decreasing
``ts_event`` order: listings (:class:`~events.poly.PolyMarket`), books
(:class:`~events.poly.PolyBook`), wallet trades (:class:`~events.poly.PolyTrade`), their CLOB
prints (:class:`events.market.Trade` on venue ``polymarket``, symbol = the outcome token) and
resolutions (:class:`~events.poly.PolyResolved`).  No I/O, no wall clock, no global random
state; time is anchored to ``start_ns`` (the start of the perps simulator's day).

**The world.**

* ``resolved_markets`` binary markets listed over the ``history_days`` before ``start_ns``,
  each resolved before it.  The market is calibrated: the YES price starts at ``p0`` and YES
  wins with probability ``p0``; the price drifts to the result as the end nears.
* ``wallets`` wallets in three kinds:

  - *skilled* (``skilled``): enter ~90% of the resolved markets early, on the outcome that
    wins except in exactly ``skilled_misses`` of them, for a few hundred dollars.  After
    20+ resolutions their smart score (quant.md §7.4) is ≥ 30: the oracle calls them smart.
  - *synced* (``synced``): a group that enters the same outcome within minutes of a leader on
    ``synced_markets`` of the markets (quant.md §8: one synced cluster); not skilled.
  - *noise*: the rest; a few random trades on a few markets at the market price.

* Open markets during the simulated day (the first ``day_hours`` hours after ``start_ns``):
  a Bitcoin market whose ``Yes`` is *up* and an Ethereum one whose ``Yes`` is *down*
  (:func:`helix.strategies.hybrid.coin_symbol` maps them to ``BTCUSDT`` / ``ETHUSDT``, the
  symbols of the perps simulator on venue ``sim``), a rates market, and a sports market the
  synced group piles into.  Skilled wallets buy ``Yes`` on the first three a dozen minutes
  apart (two of them make a checklist's ``smart_money``), then a CLOB print at the ask.

With the demo's seed 7 the perps scanner finds a bullish stop hunt on BTCUSDT and a
downward-targeted ETHUSDT cluster in the first hour, so the hybrid fuser pairs both crypto
markets; another seed may give perps signals that disagree (then there is no hybrid signal,
which is the point of the guard).

Ids are :func:`events.poly.poly_event_id` / :func:`events.market.market_event_id` over natural
keys, so the same config re-creates the same ids (and JetStream de-duplicates them).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from events.base import Event
from events.market import Trade, market_event_id
from events.poly import VENUE, PolyBook, PolyMarket, PolyResolved, PolyTrade, poly_event_id
from helix.sim.paths import SPECS

NS = 1_000_000_000
MIN = 60 * NS
HOUR = 60 * MIN
DAY = 24 * HOUR
TICK = Decimal("0.01")
SOURCE = "sim-poly"
OUTCOMES = ("Yes", "No")

_TOPICS = (
    "Will the Fed cut rates at meeting {i}?",
    "Will candidate {i} win the primary?",
    "Will team {i} win the championship game?",
    "Will CPI print above consensus in release {i}?",
    "Will the bill {i} pass the Senate?",
    "Will film {i} top the weekend box office?",
    "Will country {i} hold a snap election this month?",
    "Will storm {i} make landfall as a hurricane?",
)


@dataclass(frozen=True)
class PolySimConfig:
    """What to simulate.

    Attributes:
        seed: seed of every random draw.
        start_ns: start of the simulated day (UTC ns); history lies before it.
        day_hours: hours of the simulated day (open markets trade in its first 3 hours, or
            proportionally earlier in a shorter day).
        wallets: wallets in the world (skilled + synced + noise).
        skilled / skilled_misses: skilled wallets, and how many resolved markets each gets wrong.
        synced / synced_markets: members of the synced group, and markets they co-enter.
        resolved_markets / history_days: markets resolved in the days before ``start_ns``.
    """

    seed: int = 7
    start_ns: int = 1_735_689_600_000_000_000
    day_hours: int = 24
    wallets: int = 150
    skilled: int = 5
    skilled_misses: int = 3
    synced: int = 4
    synced_markets: int = 8
    resolved_markets: int = 30
    history_days: int = 30

    def __post_init__(self) -> None:
        if self.day_hours <= 0 or self.history_days < 2 or self.resolved_markets < 1:
            raise ValueError("day_hours > 0, history_days >= 2, resolved_markets >= 1")
        if self.skilled < 2 or self.synced < 3 or self.synced_markets < 2:
            raise ValueError("skilled >= 2, synced >= 3, synced_markets >= 2")
        if self.wallets < self.skilled + self.synced + 10:
            raise ValueError("wallets must leave at least 10 noise wallets")
        if self.synced_markets > self.resolved_markets:
            raise ValueError("synced_markets <= resolved_markets")


@dataclass(frozen=True)
class Population:
    """The wallets of a config by kind (for tests and the demo's summary)."""

    skilled: tuple[str, ...]
    synced: tuple[str, ...]
    noise: tuple[str, ...]


def wallet_address(seed: int, i: int) -> str:
    """A deterministic 0x-address for wallet ``i`` of a world."""
    return "0x" + hashlib.sha256(f"helix-sim-poly:{seed}:{i}".encode()).hexdigest()[:40]


def population(config: PolySimConfig) -> Population:
    """Which wallets are skilled, synced and noise (shuffled so the kind is not the index)."""
    addrs = [wallet_address(config.seed, i) for i in range(config.wallets)]
    random.Random(f"{config.seed}:population").shuffle(addrs)  # noqa: S311 (a simulation)
    k, s = config.skilled, config.synced
    return Population(tuple(addrs[:k]), tuple(addrs[k : k + s]), tuple(addrs[k + s :]))


def condition_id(seed: int, name: str) -> str:
    return "0x" + hashlib.sha256(f"helix-sim-poly:{seed}:market:{name}".encode()).hexdigest()


def _px(x: float) -> Decimal:
    """A price on the 1¢ tick inside [0.02, 0.98]."""
    return Decimal(round(min(0.98, max(0.02, x)), 2)).quantize(TICK)


class _World:
    """Collects the events; one instance per run."""

    def __init__(self, config: PolySimConfig) -> None:
        self.cfg = config
        self.rng = random.Random(f"{config.seed}:poly")  # noqa: S311 (a simulation)
        self.pop = population(config)
        self.out: list[tuple[int, int, Event]] = []
        self.n = 0

    def _add(self, e: Event) -> None:
        self.n += 1
        self.out.append((e.ts_event, self.n, e))

    @staticmethod
    def _env(event_id: object, ts: int) -> dict[str, object]:
        # a deterministic recording latency of 0.2-1.2 s
        return {"event_id": event_id, "ts_event": ts, "ts_recorded": ts + 200_000_000
                + (ts // 1000) % 1_000_000_000, "source": SOURCE, "vertical": "poly"}  # fmt: skip

    def listing(
        self, name: str, question: str, ts: int, end: int, yes: Decimal, *,
        closed: bool = False, volume: Decimal | None = None,
    ) -> PolyMarket:  # fmt: skip
        cid = condition_id(self.cfg.seed, name)
        prices = (yes, Decimal(1) - yes)
        m = PolyMarket(
            **self._env(poly_event_id(PolyMarket.KIND, cid, f"{cid}:{ts}:{int(closed)}"), ts),  # type: ignore[arg-type]
            symbol=cid, condition_id=cid, market_id=str(int(cid[2:10], 16)), question=question,
            slug=name, event_slug=name.rsplit("-", 1)[0], outcomes=OUTCOMES,
            token_ids=(f"{cid[2:18]}1", f"{cid[2:18]}2"), prices=prices, end_ts=end,
            active=not closed, closed=closed, tick_size=TICK, min_size=Decimal(5),
            volume=volume, liquidity=Decimal(25_000),
        )  # fmt: skip
        self._add(m)
        return m

    def book(self, m: PolyMarket, ts: int, yes: Decimal, depth: Decimal) -> None:
        for token, price in ((m.token_ids[0], yes), (m.token_ids[1], Decimal(1) - yes)):
            bid, ask = max(TICK, price - TICK), min(Decimal(1) - TICK, price + TICK)
            key = f"{ts}:{bid}:{ask}:{depth}"
            self._add(PolyBook(
                **self._env(poly_event_id(PolyBook.KIND, token, f"{ts}:{key}"), ts),  # type: ignore[arg-type]
                symbol=token, condition_id=m.condition_id, best_bid=bid, best_ask=ask,
                mid=(bid + ask) / 2, bid_depth=depth, ask_depth=depth, tick_size=TICK,
                book_hash=hashlib.sha256(key.encode()).hexdigest()[:16],
            ))  # fmt: skip

    def trade(
        self, m: PolyMarket, ts: int, wallet: str, outcome: str, side: str, size: Decimal,
        price: Decimal,
    ) -> None:  # fmt: skip
        i = OUTCOMES.index(outcome)
        token = m.token_ids[i]
        tx = "0x" + hashlib.sha256(f"{m.condition_id}:{wallet}:{ts}:{side}".encode()).hexdigest()
        key = f"{tx}:{i}"
        self._add(PolyTrade(
            **self._env(poly_event_id(PolyTrade.KIND, m.condition_id, key), ts),  # type: ignore[arg-type]
            symbol=m.condition_id, condition_id=m.condition_id, token_id=token, outcome=outcome,
            wallet=wallet, side=side, size=size, price=price, tx_hash=tx, trade_key=key,  # type: ignore[arg-type]
            title=m.question, origin="sim",
        ))  # fmt: skip
        self.print(token, ts + NS, price, size, side, key)

    def print(self, token: str, ts: int, price: Decimal, qty: Decimal, side: str, key: str) -> None:
        tid = f"sim-{key[-24:]}"
        self._add(Trade(
            **self._env(market_event_id(VENUE, Trade.KIND, token, tid), ts),  # type: ignore[arg-type]
            venue=VENUE, symbol=token, trade_id=tid, price=price, qty=qty, side=side,  # type: ignore[arg-type]
        ))  # fmt: skip

    def resolve(self, m: PolyMarket, ts: int, yes_wins: bool) -> None:
        pay = (Decimal(1), Decimal(0)) if yes_wins else (Decimal(0), Decimal(1))
        self.listing(m.slug, m.question, ts, ts, pay[0], closed=True, volume=m.volume)
        self._add(PolyResolved(
            **self._env(poly_event_id(PolyResolved.KIND, m.condition_id, m.condition_id), ts + NS),  # type: ignore[arg-type]
            symbol=m.condition_id, condition_id=m.condition_id, outcomes=OUTCOMES,
            token_ids=m.token_ids, payouts=pay, winner=OUTCOMES[0 if yes_wins else 1],
            origin="gamma",
        ))  # fmt: skip

    def shares(self, usd: float, price: Decimal) -> Decimal:
        return Decimal(max(5, round(usd / float(price)))).quantize(Decimal(1))

    # -- the history -----------------------------------------------------------------------

    def history(self) -> None:
        cfg, rng, pop = self.cfg, self.rng, self.pop
        n = cfg.resolved_markets
        span = cfg.history_days * DAY - 2 * DAY  # every market resolves a day before the start
        t0 = cfg.start_ns - cfg.history_days * DAY
        misses = {w: set(rng.sample(range(n), min(n, cfg.skilled_misses))) for w in pop.skilled}
        synced_on = set(rng.sample(range(n), cfg.synced_markets))
        for i in range(n):
            opened = t0 + i * span // n + rng.randrange(0, 6 * HOUR)
            life = rng.randrange(2 * DAY, 4 * DAY)
            end = min(opened + life, cfg.start_ns - DAY)
            life = end - opened
            p0 = rng.uniform(0.25, 0.75)
            yes_wins = rng.random() < p0
            win = 1.0 if yes_wins else 0.0
            topic = _TOPICS[i % len(_TOPICS)].format(i=100 + i)
            m = self.listing(f"sim-history-{i}", topic, opened, end, _px(p0),
                             volume=Decimal(rng.randrange(20_000, 400_000)))  # fmt: skip

            def price(
                ts: int, p0: float = p0, win: float = win, opened: int = opened, life: int = life
            ) -> float:
                x = (ts - opened) / life
                return p0 + (win - p0) * x**3 + rng.gauss(0, 0.015)

            self.book(m, opened + MIN, _px(p0), Decimal(rng.randrange(2_000, 20_000)))
            for w in pop.skilled:
                if rng.random() < 0.1:
                    continue  # sits this one out
                right = i not in misses[w]
                outcome = "Yes" if yes_wins == right else "No"
                ts = opened + rng.randrange(10 * MIN, max(11 * MIN, life // 3))
                yes = _px(price(ts))
                px = yes if outcome == "Yes" else Decimal(1) - yes
                self.trade(m, ts, w, outcome, "buy", self.shares(rng.uniform(200, 800), px), px)
            if i in synced_on:
                lead = opened + rng.randrange(30 * MIN, max(31 * MIN, life // 2))
                outcome = rng.choice(OUTCOMES)
                for k, w in enumerate(pop.synced):
                    ts = lead + k * rng.randrange(40, 150) * NS
                    yes = _px(price(ts))
                    px = yes if outcome == "Yes" else Decimal(1) - yes
                    self.trade(m, ts, w, outcome, "buy", self.shares(rng.uniform(150, 400), px), px)
            for w in rng.sample(pop.noise, rng.randrange(8, 16)):
                for _ in range(rng.randrange(1, 3)):
                    ts = opened + rng.randrange(5 * MIN, life - 5 * MIN)
                    outcome = rng.choice(OUTCOMES)
                    yes = _px(price(ts))
                    px = yes if outcome == "Yes" else Decimal(1) - yes
                    size = self.shares(rng.lognormvariate(4.3, 0.8), px)
                    self.trade(m, ts, w, outcome, "buy", size, px)
                    if rng.random() < 0.3:  # takes profit or cuts later
                        later = ts + rng.randrange(MIN, max(2 * MIN, end - ts - MIN))
                        yes = _px(price(later))
                        px = yes if outcome == "Yes" else Decimal(1) - yes
                        self.trade(m, later, w, outcome, "sell", size, px)
            self.book(m, end - HOUR, _px(price(end - HOUR)), Decimal(rng.randrange(500, 5_000)))
            self.resolve(m, end, yes_wins)

    # -- the simulated day -----------------------------------------------------------------

    def day(self) -> None:
        cfg, rng, pop = self.cfg, self.rng, self.pop
        start = cfg.start_ns
        scale = min(1.0, cfg.day_hours / 3)  # everything happens in the first 3 hours

        def at(minutes: float) -> int:
            return start + int(minutes * scale * MIN)

        listed = start - 3 * DAY
        tomorrow = start + DAY
        btc = round(SPECS["BTCUSDT"].start_price * 1.01, -3)
        eth = round(SPECS["ETHUSDT"].start_price * 0.97, -2)
        open_markets = [
            # (name, question, YES price, entry minutes of two skilled wallets)
            ("sim-btc-above", f"Will Bitcoin be above ${btc:,.0f} on January 2?", "0.41",
             (18.0, 31.0)),
            ("sim-eth-dip", f"Will Ethereum dip below ${eth:,.0f} on January 2?", "0.33",
             (44.0, 57.0)),
            ("sim-fed-hold", "Will the Fed hold rates in January?", "0.55", (70.0, 84.0)),
        ]  # fmt: skip
        for k, (name, question, yes, entries) in enumerate(open_markets):
            p = Decimal(yes)
            m = self.listing(name, question, listed, tomorrow + k * DAY, p,
                             volume=Decimal(rng.randrange(100_000, 900_000)))  # fmt: skip
            self.book(m, listed + MIN, p, Decimal(6_000))
            for w in rng.sample(pop.noise, 10):  # the crowd before the day
                ts = listed + rng.randrange(HOUR, 3 * DAY - HOUR)
                outcome = rng.choice(OUTCOMES)
                px = p if outcome == "Yes" else Decimal(1) - p
                size = self.shares(rng.lognormvariate(4.3, 0.8), px)
                self.trade(m, ts, w, outcome, "buy", size, px)
            self.book(m, at(entries[0] - 5), p, Decimal(8_000))
            ask = p + TICK
            for w, minute in zip(rng.sample(pop.skilled, len(entries)), entries, strict=True):
                ts = at(minute)
                self.trade(m, ts, w, "Yes", "buy", self.shares(rng.uniform(300, 600), ask), ask)
            last = at(entries[-1]) + 2 * MIN
            self.print(m.token_ids[0], last, ask, Decimal(50), "buy", f"{m.condition_id}:close")
            self.book(m, last + MIN, p + TICK, Decimal(7_500))
        # the synced group piles into a sports market within minutes
        p = Decimal("0.47")
        m = self.listing("sim-final-winner", "Will the home team win the final?", listed,
                         tomorrow, p, volume=Decimal(300_000))  # fmt: skip
        self.book(m, listed + MIN, p, Decimal(5_000))
        lead = at(100.0)
        for k, w in enumerate(pop.synced):
            ts = lead + k * rng.randrange(40, 150) * NS
            self.trade(m, ts, w, "No", "buy", self.shares(rng.uniform(200, 400), 1 - p), 1 - p)
        self.book(m, lead + 10 * MIN, p - TICK, Decimal(4_000))


def simulate_poly(config: PolySimConfig) -> Iterator[Event]:
    """Yield the simulated Polymarket events in non-decreasing ``ts_event`` order.

    Args:
        config: what to simulate.

    Returns:
        An iterator of ``PolyMarket``, ``PolyBook``, ``PolyTrade``, ``Trade`` (venue
        ``polymarket``) and ``PolyResolved`` events.
    """
    world = _World(config)
    world.history()
    world.day()
    world.out.sort(key=lambda x: (x[0], x[1]))
    return (e for _, _, e in world.out)
