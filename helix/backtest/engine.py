"""The replay engine: market events of a range, in log order, through the live code.

For each market event (time taken from the event, never the wall clock):

1. the execution service sees it (marks, paper fills of resting orders, funding);
2. the strategy's scanner sees it and may emit signals;
3. the auto-trader turns signals into commands, which the execution service decides with the
   risk guardian and fills on the paper venue.

Everything is built here, in memory, for this run only: an in-memory event store, paper venues,
the scanner, the auto-trader; the service is not allowed live orders and no live venue exists,
nothing is broadcast, nothing reaches the live read models.  The output (signals and trading
events) is a deterministic function of the input events and the parameters: event ids come
from aggregate versions and signal inputs, times from the market, and the service decides in
queue order.  :func:`run` returns it with the manifest's hashes; :mod:`helix.backtest.runs`
stores it under the run's own subjects and tables.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from commands.risk import Instrument, RiskConfig
from commands.store import InMemoryEventStore
from events.base import Event
from events.market import Trade
from events.signals import Signal
from events.trading import FillBooked, FundingBooked
from helix.backtest.metrics import Metrics, compute
from helix.codec import Codec
from helix.errors import ValidationError
from helix.strategies.autotrader import AutoTrader, AutoTraderConfig
from helix.strategies.bars import market_key
from helix.strategies.pipeline import TradingPipeline
from helix.strategies.scanner import PerpsScanner, ScannerConfig
from helix.trading.instruments import inferred, paper_config, sim_instruments
from helix.trading.service import ExecutionService
from helix.venues.paper import PaperVenue

HOUR = 3_600_000_000_000
FLUSH_EVERY = 4_096


class EventClock:
    """The clock of a replay: the time of the market event being replayed."""

    def __init__(self) -> None:
        self.now = 0

    def now_ns(self) -> int:
        return self.now


@dataclass(frozen=True)
class Strategy:
    """A named combination of a scanner and (optionally) the auto-trader."""

    name: str
    description: str
    trades: bool


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            "stop_hunt_autotrader",
            "perps scanner signals; the auto-trader trades stop "
            "hunts with a stop, a target and Kelly sizing on the paper venue",
            True,
        ),
        Strategy("scanner", "perps scanner signals only (no trading)", False),
    )
}


def parameters() -> dict[str, dict[str, object]]:
    """Every parameter a strategy takes, with its default: ``scanner.*`` and ``trader.*``
    fields, plus ``balance``."""
    out: dict[str, dict[str, object]] = {}
    for prefix, cls in (("scanner", ScannerConfig), ("trader", AutoTraderConfig)):
        default = cls()
        out[prefix] = {f: getattr(default, f) for f in cls.__struct_fields__}
    out["run"] = {"balance": "100000"}
    return out


@dataclass(frozen=True)
class Spec:
    """What to replay and how."""

    strategy: str
    params: dict[str, str] = field(default_factory=dict)
    start_ns: int | None = None
    end_ns: int | None = None
    symbols: tuple[str, ...] = ()

    def configs(self) -> tuple[ScannerConfig, AutoTraderConfig, Decimal]:
        """The configs the parameters describe.

        Raises:
            ValidationError: an unknown strategy or parameter, or a bad value.
        """
        if self.strategy not in STRATEGIES:
            raise ValidationError(
                f"unknown strategy {self.strategy!r}; strategies: {', '.join(STRATEGIES)}"
            )
        known = parameters()
        scan: dict[str, str] = {}
        trade: dict[str, str] = {}
        balance = Decimal(known["run"]["balance"])  # type: ignore[arg-type]
        for key, value in sorted(self.params.items()):
            group, _, name = key.partition(".")
            if not name:
                group, name = ("run" if key == "balance" else _group_of(key, known)), key
            if group not in known or name not in known[group]:
                raise ValidationError(f"unknown parameter {key!r} (see helix backtest strategies)")
            if group == "run":
                balance = Decimal(value)
            else:
                (scan if group == "scanner" else trade)[name] = value
        try:
            return (
                msgspec.convert(scan, ScannerConfig, strict=False),
                msgspec.convert(trade, AutoTraderConfig, strict=False),
                balance,
            )
        except (msgspec.ValidationError, ValueError) as exc:
            raise ValidationError(f"bad parameter: {exc}") from exc


def _group_of(name: str, known: dict[str, dict[str, object]]) -> str:
    groups = [g for g, fields in known.items() if name in fields]
    return groups[0] if len(groups) == 1 else ""


@dataclass
class Outcome:
    """What a run produced."""

    signals: list[Signal]
    trading: list[tuple[str, Event]]
    curve: list[tuple[int, float]]
    metrics: Metrics
    input_events: int
    input_hash: str
    output_hash: str
    seconds: float
    errors: list[str]

    @property
    def output_events(self) -> int:
        return len(self.signals) + len(self.trading)


async def run(
    events: AsyncIterator[list[tuple[int, Event]]],
    spec: Spec,
    *,
    on_progress: Callable[[int, float], None] | None = None,
) -> Outcome:
    """Replay ``events`` (chunks in log order) through the strategy; see the module docstring."""
    scan_cfg, trade_cfg, balance = spec.configs()
    strategy = STRATEGIES[spec.strategy]
    codec = Codec()
    clock = EventClock()
    store = InMemoryEventStore()
    instruments: dict[tuple[str, str], Instrument] = sim_instruments()
    venues: dict[tuple[str, str], PaperVenue] = {}
    svc = ExecutionService(
        store=store, venues=venues, instruments=lambda v, s: instruments.get((v, s)),  # type: ignore[arg-type]
        risk=RiskConfig(), clock=clock, paper_balance=balance, live_allowed=False,
    )  # fmt: skip
    await svc.start()
    pipeline = TradingPipeline(
        svc, PerpsScanner(scan_cfg), AutoTrader(trade_cfg) if strategy.trades else None
    )
    symbols = set(spec.symbols)
    in_hash = hashlib.sha256()
    signals: list[Signal] = []
    curve: list[tuple[int, float]] = []
    exposure: list[bool] = []
    n = 0
    next_sample = 0
    t0 = time.perf_counter()
    account = trade_cfg.account
    async for chunk in events:
        for seq, event in chunk:
            ts = event.ts_event
            if (spec.start_ns is not None and ts < spec.start_ns) or (
                spec.end_ns is not None and ts >= spec.end_ns
            ):
                continue
            mk = market_key(event)
            if mk is None or (symbols and mk[1] not in symbols):
                continue
            if (mk[0], "paper") not in svc.venues:
                venue = PaperVenue(mk[0], paper_config(mk[0]))
                venues[(mk[0], "paper")] = venue
                svc.venues[(mk[0], "paper")] = venue
            if isinstance(event, Trade) and mk not in instruments:
                instruments[mk] = inferred(mk[1], event.price, event.qty)
            n += 1
            in_hash.update(event.event_id.bytes)
            clock.now = ts
            signals.extend(await pipeline.on_market(seq, event))
            if n % FLUSH_EVERY == 0:
                await svc.queue.join()
            if ts >= next_sample:
                await svc.queue.join()
                curve.append((ts, float(svc.equity(account))))
                exposure.append(any(p.size != 0 for p in svc.book.positions.values()))
                next_sample = ts - ts % HOUR + HOUR
        if on_progress is not None:
            on_progress(n, time.perf_counter() - t0)
    await svc.stop()
    if curve and n:
        curve.append((clock.now, float(svc.equity(account))))
    trading = [(str(a), e) for a, e in store.log]
    out_hash = hashlib.sha256()
    for s in signals:
        out_hash.update(codec.encode(s))
    for a, e in trading:
        out_hash.update(a.encode())
        out_hash.update(codec.encode(e))
    fills = [e for _, e in trading if isinstance(e, FillBooked)]
    funding = [e for _, e in trading if isinstance(e, FundingBooked)]
    return Outcome(
        signals=signals,
        trading=trading,
        curve=curve,
        metrics=compute(curve, fills, funding, exposure),
        input_events=n,
        input_hash=in_hash.hexdigest(),
        output_hash=out_hash.hexdigest(),
        seconds=time.perf_counter() - t0,
        errors=list(svc.errors),
    )
