"""``helix bench orders``: commands through decide + store + paper venue, and their latency.

Concurrent clients send market orders (buys and sells in turn, so the position stays small and
every order passes the risk guardian, fills and books a position event: four events each) to
one execution service whose store is the ``eventsourcing`` JetStream store on a private stream
with the production durability (fsync every write).  Latency is from ``execute()`` to its
result, which includes ``OrderAccepted`` (and the fill) being durable.

The baseline runs the same commands through the same service with the in-memory store: the
cost of deciding and paper-filling alone, so the ratio is what persistence costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from nats.js.errors import NotFoundError

from commands.orders import PlaceOrder
from commands.risk import Instrument, RiskConfig
from commands.store import EventStore, InMemoryEventStore
from events.trading import OrderAccepted
from helix.bench.report import Figure
from helix.clock import SystemClock
from helix.store.connect import connect
from helix.trading.ledger_store import LedgerEventStore
from helix.trading.service import ExecutionService
from helix.venues.paper import PaperVenue

INSTRUMENT = Instrument("BTCUSDT", Decimal("0.1"), Decimal("0.001"), Decimal("0.001"))


def _service(store: EventStore) -> ExecutionService:
    paper = PaperVenue("bench")
    paper.last["BTCUSDT"] = (Decimal("95000.0"), 0)
    svc = ExecutionService(
        store=store,
        venues={("bench", "paper"): paper},
        instruments=lambda v, s: INSTRUMENT,
        risk=RiskConfig(max_open_orders=10_000),
        clock=SystemClock(),
        paper_balance=Decimal("10000000"),
    )
    svc.set_mark("bench", "BTCUSDT", Decimal("95000.0"))
    return svc


async def _drive(svc: ExecutionService, n: int, concurrency: int) -> tuple[float, list[float]]:
    """Run ``n`` commands from ``concurrency`` clients; (seconds, latencies in ms)."""
    latencies: list[float] = []
    counter = iter(range(n))

    async def client() -> None:
        for i in counter:
            cmd = PlaceOrder(
                command_id=uuid.uuid4().hex, account="bench", venue="bench", symbol="BTCUSDT",
                side="buy" if i % 2 else "sell", qty=Decimal("0.001"),
            )  # fmt: skip
            t = time.perf_counter()
            res = await svc.execute(cmd)
            latencies.append((time.perf_counter() - t) * 1000)
            if not any(isinstance(e, OrderAccepted) for e in res.events):
                raise RuntimeError(f"bench order not accepted: {res.events}")

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - t0, latencies


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run_orders_bench(
    nats_url: str,
    database_url: str,
    *,
    commands: int = 6_000,
    concurrency: int = 16,
    progress: Callable[[str], None] = lambda _m: None,
) -> list[Figure]:
    """Measure; see the module docstring."""
    nc = await connect(nats_url, name="helix-bench-orders")
    tag = uuid.uuid4().hex[:8]
    stream = f"BENCH_TRD_{tag}"
    store = await asyncio.to_thread(
        LedgerEventStore.open, nc, nats_url=nats_url, database_url=database_url, stream=stream,
        prefix=f"benchtrd{tag}.es.trading",
    )  # fmt: skip
    try:
        progress("warming up ...")
        svc = _service(store)
        await svc.start()
        await _drive(svc, 500, concurrency)
        progress(f"{commands:,} commands through the JetStream store ...")
        secs, lat = await _drive(svc, commands, concurrency)
        await svc.stop()
        progress("the same through the in-memory store (baseline) ...")
        mem = _service(InMemoryEventStore())
        await mem.start()
        await _drive(mem, 500, concurrency)
        base_secs, base_lat = await _drive(mem, commands, concurrency)
        await mem.stop()
    finally:
        await store.aclose()
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(stream)
        await nc.close()
    return [
        Figure(
            "commands (decide + store + paper fill)",
            commands / secs,
            commands / base_secs,
            "in-memory store",
            "commands/s",
            ">= 2,000 commands/s",
        ),
        Figure(
            "latency to accepted, p50", _pct(lat, 50), _pct(base_lat, 50), "in-memory store", "ms"
        ),
        Figure(
            "latency to accepted, p99",
            _pct(lat, 99),
            _pct(base_lat, 99),
            "in-memory store",
            "ms",
            "<= 10 ms",
        ),
    ]
