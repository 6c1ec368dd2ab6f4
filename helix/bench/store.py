"""``helix bench store``: the event store's three speeds, each beside a baseline.

1. market append (encode, publish, every ack checked) vs a bare nats-py ``publish_async`` loop
   and a bare raw publish-with-ack-callback loop over the same pre-encoded bytes;
2. aggregate saves (``eventsourcing`` ApplicationRecorder on JetStream) vs the library's own
   PostgreSQL recorder, both fsyncing every commit (nats ``sync_interval: always``, PostgreSQL
   ``fsync=on, synchronous_commit=on``), same number of writer threads;
3. replay (read + decode into events) vs a bare ordered-consumer loop that only counts.

Benchmarks use their own streams/tables and remove them afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from eventsourcing import postgres as es_postgres
from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.utils import Environment
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from events.market import Trade, market_event_id
from helix.bench.baselines import bare_ordered_read
from helix.bench.report import Figure
from helix.codec import Codec
from helix.eventstore.factory import JetStreamFactory, pg_datastore_kwargs
from helix.store.connect import connect
from helix.store.market import MarketAppender, event_headers
from helix.store.replay import replay_batches
from helix.store.streams import StreamSpec, ensure_stream

BENCH_MARKET = "BENCH_MARKET"
BENCH_BASE = "BENCH_BASELINE"
BENCH_LEDGER = "BENCH_LEDGER"
T0 = 1_732_000_000_000_000_000


def bench_trades(n: int, venue: str = "bench") -> list[Trade]:
    return [
        Trade(
            event_id=market_event_id(venue, "trade", "BTCUSDT", f"{i}"),  # type: ignore[arg-type]
            ts_event=T0 + i * 1_000_000,
            ts_recorded=T0 + i * 1_000_000 + 7,
            source=venue,
            vertical="perps",
            venue=venue,
            symbol="BTCUSDT",
            trade_id=f"{i}",
            price=Decimal("65000.1") + Decimal(i % 1000) / 10,
            qty=Decimal("0.013"),
            side="buy" if i % 3 else "sell",
        )
        for i in range(n)
    ]


async def _fresh_stream(nc: NATS, spec: StreamSpec) -> None:
    js = nc.jetstream()
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(spec.name)
    await ensure_stream(js, spec)


async def _drop(nc: NATS, *names: str) -> None:
    js = nc.jetstream()
    for name in names:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(name)


def _market_spec(name: str, prefix: str) -> StreamSpec:
    return StreamSpec(name=name, subjects=(f"{prefix}.>",), persist_async=True)


# -- 1. market append ------------------------------------------------------------------------


async def market_append(nc: NATS, n: int) -> tuple[float, float, float]:
    trades = bench_trades(n)
    await _fresh_stream(nc, _market_spec(BENCH_MARKET, "bm"))
    t = time.perf_counter()
    async with MarketAppender(nc, subject_prefix="bm") as app:
        await app.append_many(trades)
        stats = await app.flush()
    ours = n / (time.perf_counter() - t)
    assert stats.stored == n, stats

    codec = Codec()
    payloads = [(codec.encode(tr), event_headers(tr)) for tr in trades]
    await _fresh_stream(nc, _market_spec(BENCH_BASE, "bb"))
    js = nc.jetstream(publish_async_max_pending=16_384)
    t = time.perf_counter()
    for data, headers in payloads:
        await js.publish_async("bb.bench.trade.BTCUSDT", data, headers=headers, wait_stall=30)
    await js.publish_async_completed()
    bare_async = n / (time.perf_counter() - t)

    await _fresh_stream(nc, _market_spec(BENCH_BASE, "bb"))
    raw = await _raw_publish_loop(nc, payloads)
    await _drop(nc, BENCH_BASE)
    return ours, bare_async, raw


async def _raw_publish_loop(nc: NATS, payloads: list[tuple[bytes, dict[str, str]]]) -> float:
    n = len(payloads)
    acks = 0
    done = asyncio.get_running_loop().create_future()

    async def cb(_msg: object) -> None:
        nonlocal acks
        acks += 1
        if acks == n:
            done.set_result(None)

    prefix = nc.new_inbox()
    sub = await nc.subscribe(f"{prefix}.*", cb=cb, pending_msgs_limit=-1, pending_bytes_limit=-1)
    t = time.perf_counter()
    for i, (data, headers) in enumerate(payloads):
        await nc.publish("bb.bench.trade.BTCUSDT", data, reply=f"{prefix}.{i}", headers=headers)
        if i % 4096 == 0:
            await asyncio.sleep(0)
    await done
    rate = n / (time.perf_counter() - t)
    await sub.unsubscribe()
    return rate


# -- 3. replay -------------------------------------------------------------------------------


async def replay_speed(nc: NATS, n: int) -> tuple[float, float]:
    """Requires BENCH_MARKET filled by :func:`market_append`."""
    t = time.perf_counter()
    count = 0
    async for batch in replay_batches(nc, subjects="bm.>", stream=BENCH_MARKET):
        count += len(batch)
    ours = count / (time.perf_counter() - t)
    assert count == n, count

    bare = await bare_ordered_read(nc, BENCH_MARKET, "bm.>", n)
    return ours, bare


# -- 2. aggregate saves ----------------------------------------------------------------------


def _saves_per_second(
    recorder: ApplicationRecorder, saves: int, threads: int, events_per_save: int
) -> float:
    def one() -> None:
        oid = uuid.uuid4()
        recorder.insert_events(
            [
                StoredEvent(originator_id=oid, originator_version=v, topic="bench:E", state=b"{}")
                for v in range(1, events_per_save + 1)
            ]
        )

    for _ in range(20):  # warm up
        one()
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for f in [pool.submit(one) for _ in range(saves)]:
            f.result()
    return saves / (time.perf_counter() - t)


SAVE_SCENARIOS: tuple[tuple[int, int], ...] = ((1, 1), (1, 8), (2, 8), (2, 32))
"""(events per save, writer threads) pairs measured on both stores."""


def aggregate_saves(
    nats_url: str, database_url: str, saves: int, scenarios: tuple[tuple[int, int], ...]
) -> list[tuple[int, int, float, float]]:
    """Saves/s on JetStream and on the PostgreSQL recorder for each scenario."""
    env = Environment(
        "bench",
        {
            "HELIX_NATS_URL": nats_url,
            "HELIX_DATABASE_URL": database_url,
            "NATS_STREAM": BENCH_LEDGER,
            "NATS_SUBJECT_PREFIX": "bench.ledger",
        },
    )
    ours: list[float] = []
    factory = JetStreamFactory(env)
    try:
        factory.loop.run(_drop(factory.nc, BENCH_LEDGER))
        rec = factory.application_recorder()
        ours = [_saves_per_second(rec, saves, threads, eps) for eps, threads in scenarios]
        factory.loop.run(_drop(factory.nc, BENCH_LEDGER))
    finally:
        factory.close()

    top = max(t for _, t in scenarios)
    datastore = es_postgres.PostgresDatastore(
        **pg_datastore_kwargs(database_url), pool_size=top, max_overflow=top
    )
    try:
        with datastore.transaction(commit=False) as curs:
            curs.execute("SHOW synchronous_commit")
            row = curs.fetchone()
            assert row is not None, "no answer to SHOW synchronous_commit"
            assert next(iter(row.values())) == "on", "PostgreSQL must fsync every commit"
        with datastore.transaction(commit=True) as curs:
            curs.execute("DROP TABLE IF EXISTS bench_events")
        pg = es_postgres.PostgresApplicationRecorder(datastore, events_table_name="bench_events")
        pg.create_table()
        baseline = [_saves_per_second(pg, saves, threads, eps) for eps, threads in scenarios]
        with datastore.transaction(commit=True) as curs:
            curs.execute("DROP TABLE IF EXISTS bench_events")
    finally:
        datastore.close()
    return [
        (eps, threads, o, b) for (eps, threads), o, b in zip(scenarios, ours, baseline, strict=True)
    ]


# -- driver ----------------------------------------------------------------------------------


async def run_store_bench(
    nats_url: str,
    database_url: str,
    *,
    events: int = 200_000,
    saves: int = 2_000,
    scenarios: tuple[tuple[int, int], ...] = SAVE_SCENARIOS,
    repeat: int = 3,
    progress: Callable[[str], None] = print,
) -> list[Figure]:
    """Each streaming figure is the median of ``repeat`` runs (ours and baselines alike):
    a shared VM's CPU speed swings by half from one second to the next."""
    nc = await connect(nats_url, name="helix-bench")
    appends: list[tuple[float, float, float]] = []
    replays: list[tuple[float, float]] = []
    try:
        for i in range(repeat):
            progress(f"market append + replay: {events:,} trades, run {i + 1}/{repeat} ...")
            appends.append(await market_append(nc, events))
            replays.append(await replay_speed(nc, events))
        await _drop(nc, BENCH_MARKET)
    finally:
        await nc.close()
    ours_a, bare_async, raw = (statistics.median(col) for col in zip(*appends, strict=True))
    ours_r, bare_r = (statistics.median(col) for col in zip(*replays, strict=True))
    progress(f"aggregate saves: {saves:,} saves per scenario on each store ...")
    saves_rows = await asyncio.to_thread(aggregate_saves, nats_url, database_url, saves, scenarios)
    figures = [
        Figure(
            "market append (acked)",
            ours_a,
            bare_async,
            "nats-py publish_async loop",
            target=">= 100,000/s",
        ),
        Figure("market append (acked)", ours_a, raw, "raw publish+ack callback, pre-encoded"),
        Figure(
            "replay read+decode",
            ours_r,
            bare_r,
            "bare ordered consumer, count only",
            target=">= 150,000/s",
        ),
    ]
    for eps, threads, o, b in saves_rows:
        figures.append(
            Figure(
                f"aggregate saves ({eps} event{'s' if eps > 1 else ''}, {threads} threads)",
                o,
                b,
                "eventsourcing PostgreSQL recorder, same threads",
                "saves/s",
                ">= 2x",
            )
        )
    return figures
