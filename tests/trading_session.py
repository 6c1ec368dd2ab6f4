"""A realistic trading history, made by the real execution service in memory (no mocks).

Half an hour of simulated BTCUSDT (23:45 to 00:15 UTC, so it crosses a UTC day and the 00:00
funding) drives a :class:`~helix.venues.paper.PaperVenue`; two accounts place market, limit,
stop, IOC and post-only orders (with attached stop-loss / take-profit), modify and cancel them,
hit the risk guardian, flip a position and halt.  The store's log is what the projection tests
publish; the service's book is what the read models must equal.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from random import Random

from commands.orders import CancelOrder, Halt, ModifyOrder, PlaceOrder, Resume, TradingCommand
from commands.risk import Instrument, RiskConfig
from commands.store import AggregateId, InMemoryEventStore
from events.base import Event
from events.market import MarketEvent, Trade
from helix.clock import FixedClock
from helix.sim.market import SimConfig, simulate
from helix.trading.service import ExecutionService
from helix.venues.paper import PaperVenue

MINUTE = 60_000_000_000
START = 1_735_689_600_000_000_000 - 15 * MINUTE  # 2024-12-31T23:45:00Z
TICK = Decimal("0.1")
INSTRUMENTS = {("sim", "BTCUSDT"): Instrument("BTCUSDT", TICK, Decimal("0.001"), Decimal("0.001"))}


@dataclass
class Session:
    """The service (stopped), its store, the market it saw and the named orders."""

    store: InMemoryEventStore
    svc: ExecutionService
    market: list[MarketEvent]
    orders: dict[str, uuid.UUID] = field(default_factory=dict)

    @property
    def log(self) -> list[tuple[AggregateId, Event]]:
        return self.store.log

    @property
    def last_price(self) -> Decimal:
        return next(e.price for e in reversed(self.market) if isinstance(e, Trade))


class _Driver:
    def __init__(self, seed: int, duration_s: int) -> None:
        self.store = InMemoryEventStore()
        self.clock = FixedClock(START, 1000)
        self.svc = ExecutionService(
            store=self.store,
            venues={("sim", "paper"): PaperVenue("sim")},
            instruments=lambda v, s: INSTRUMENTS.get((v, s)),
            risk=RiskConfig(),
            clock=self.clock,
        )
        cfg = SimConfig(seed=seed, start_ns=START, duration_s=duration_s, symbols=("BTCUSDT",))
        self.market = list(simulate(cfg))
        self.fed = 0
        self.last = Decimal(0)
        self.session = Session(self.store, self.svc, self.market)

    async def until(self, minute: float) -> None:
        """Feed the market up to ``minute`` after the start; the clock follows it."""
        end = START + int(minute * MINUTE)
        while self.fed < len(self.market) and self.market[self.fed].ts_event <= end:
            e = self.market[self.fed]
            self.fed += 1
            if isinstance(e, Trade):
                self.last = e.price
            self.clock.now = max(self.clock.now, e.ts_event)
            await self.svc.market(self.fed, e)
        await self.svc.queue.join()

    def px(self, factor: str) -> Decimal:
        """The last price times ``factor``, on the tick."""
        return (self.last * Decimal(factor) / TICK).quantize(Decimal(1), ROUND_DOWN) * TICK

    async def do(self, cmd: TradingCommand, name: str = "") -> uuid.UUID | None:
        res = await self.svc.execute(cmd)
        if name and res.order_id is not None:
            self.session.orders[name] = res.order_id
        return res.order_id


def place(cid: str, side: str, qty: str, account: str = "paper", **kw: object) -> PlaceOrder:
    fields: dict[str, object] = {
        "command_id": cid, "account": account, "venue": "sim", "symbol": "BTCUSDT",
        "side": side, "qty": Decimal(qty),
    }  # fmt: skip
    fields.update(kw)
    return PlaceOrder(**fields)  # type: ignore[arg-type]


async def trading_session(seed: int = 7, duration_s: int = 1800) -> Session:
    """Run the scripted session (see the module docstring) and return it, service stopped."""
    d = _Driver(seed, duration_s)
    await d.svc.start()
    do = d.do
    await d.until(1)
    await do(place("entry", "buy", "0.03", strategy="trend", stop_loss=d.px("0.997"),
                   take_profit=d.px("1.003")), "entry")  # fmt: skip
    resting = await do(place("rest", "buy", "0.01", order_type="limit",
                             limit_price=d.px("0.98")), "resting")  # fmt: skip
    assert resting is not None
    await do(ModifyOrder(command_id="mod", order_id=resting, qty=Decimal("0.02"),
                         limit_price=d.px("0.985")))  # fmt: skip
    await d.until(2)
    await do(place("postonly", "sell", "0.01", order_type="limit", limit_price=d.px("0.99"),
                   time_in_force="post_only"), "post_only")  # fmt: skip
    await do(place("ioc", "buy", "0.01", order_type="limit", limit_price=d.px("0.99"),
                   time_in_force="ioc"), "ioc")  # fmt: skip
    await do(place("huge", "buy", "5", strategy="yolo"), "risk_rejected")
    await d.until(3)
    await do(place("dip", "buy", "0.03", order_type="limit", limit_price=d.px("0.9995"),
                   strategy="meanrev"), "dip")  # fmt: skip
    await do(place("stop", "sell", "0.01", order_type="stop", trigger_price=d.px("0.999"),
                   strategy="breakout"), "stop")  # fmt: skip
    await d.until(5)
    await do(ModifyOrder(command_id="mod-huge", order_id=resting, qty=Decimal("5")))
    await do(place("scalp", "sell", "0.03", strategy="meanrev"), "scalp")
    await d.until(8)
    await do(CancelOrder(command_id="cancel", order_id=resting))
    await do(CancelOrder(command_id="cancel-again", order_id=resting))
    await do(place("short", "sell", "0.02", account="alpha", strategy="trend"), "short")
    await d.until(8.5)
    await do(place("flip", "buy", "0.05", account="alpha", strategy="trend"), "flip")
    rng = Random(seed)
    minute = 9.0
    for i in range(24):  # churn around the day boundary and the 00:00 funding
        minute += 0.5
        await d.until(minute)
        side = "buy" if rng.random() < 0.5 else "sell"
        await do(place(f"churn-{i}", side, f"0.0{rng.randrange(1, 3)}",
                       account="alpha" if i % 3 else "paper",
                       strategy=("trend", "meanrev")[i % 2]))  # fmt: skip
    await do(place("offer", "sell", "0.09", account="alpha", order_type="limit",
                   limit_price=d.px("1.0003"), strategy="meanrev"), "offer")  # fmt: skip
    await d.until(23)
    await do(Halt(command_id="halt", account="paper", reason="drawdown drill"))
    await do(place("halted", "buy", "0.01"), "halted")
    await do(place("reduce", "buy", "0.01", reduce_only=True), "reduce_while_halted")
    await do(Resume(command_id="resume", account="paper", reason="drill over"))
    await do(Halt(command_id="halt-alpha", account="alpha", reason="end of session"))
    await d.until(27)
    await do(place("far-bid", "buy", "0.01", order_type="limit", limit_price=d.px("0.97")),
             "far_bid")  # fmt: skip
    await d.until(29.5)  # a bid the last trades fill in part
    await do(place("late-bid", "buy", "0.09", order_type="limit", limit_price=d.px("0.99995"),
                   strategy="meanrev"), "late_bid")  # fmt: skip
    await d.until(duration_s / 60)
    await d.svc.stop()
    return d.session


def events_of(session: Session) -> Iterator[Event]:
    return (e for _, e in session.log)
