"""The scanner runtime on real NATS: signals reach the ledger once, whatever stops it."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.client import Client as NATS

from events.signals import Signal
from helix.codec import Codec
from helix.sim.market import SimConfig, simulate
from helix.store.market import MarketAppender
from helix.strategies.runtime import (
    ScanStats,
    delete_snapshot,
    load_snapshot,
    run_scanner,
    save_snapshot,
)
from helix.strategies.scanner import PerpsScanner, ScannerConfig
from tests.integration._signals_support import Streams, ledger_signals, streams

pytestmark = pytest.mark.integration

CONFIG = ScannerConfig(cluster_score_min=2.0)


@pytest.fixture(scope="module")
def market_events() -> list[object]:
    return list(simulate(SimConfig(seed=11, duration_s=6 * 3600)))


async def scan(nc: NATS, s: Streams, **kwargs: object) -> ScanStats:
    return await run_scanner(
        nc,
        CONFIG,
        stream=s.market,
        subjects=(f"{s.market_prefix}.>",),
        prefix=f"{s.ledger_prefix}.signal",
        ledger=s.ledger,
        name=s.snapshot("scanner"),
        **kwargs,  # type: ignore[arg-type]
    )


def expected(events: list[object]) -> list[Signal]:
    scanner = PerpsScanner(CONFIG)
    out: list[Signal] = []
    for seq, e in enumerate(events, start=1):
        out.extend(scanner.on_event(seq, e))  # type: ignore[arg-type]
    return out


async def test_a_stopped_and_resumed_scan_publishes_every_signal_once(
    nc: NATS, market_events: list[object]
) -> None:
    want = expected(market_events)
    assert len(want) > 20
    async with streams(nc, "scanner") as s:
        async with MarketAppender(nc, subject_prefix=s.market_prefix) as app:
            await app.append_many(market_events)  # type: ignore[arg-type]
            await app.flush()
        stop = asyncio.Event()
        stop.set()  # stop after the first chunk
        first = await scan(nc, s, stop=stop)
        assert 0 < first.position < len(market_events)
        partial = await ledger_signals(nc, s)
        second = await scan(nc, s)
        assert second.resumed_from == first.position
        assert second.position == len(market_events)
        got = await ledger_signals(nc, s)
        assert [x.event_id for x in got] == [x.event_id for x in want]
        assert Codec().encode(got[-1]) == Codec().encode(want[-1])
        assert first.published == len(partial)
        assert first.published + second.published == len(want)


async def test_a_crash_before_the_snapshot_publishes_nothing_twice(
    nc: NATS, market_events: list[object]
) -> None:
    want = expected(market_events)
    async with streams(nc, "scanner") as s:
        async with MarketAppender(nc, subject_prefix=s.market_prefix) as app:
            await app.append_many(market_events)  # type: ignore[arg-type]
            await app.flush()
        stop = asyncio.Event()
        stop.set()
        await scan(nc, s, stop=stop)
        older = await load_snapshot(nc, s.snapshot("scanner"))
        assert older is not None
        await scan(nc, s)  # everything published, newest snapshot saved
        # As if the process died after publishing but before its next snapshot:
        await save_snapshot(nc, s.snapshot("scanner"), older)
        replayed = await scan(nc, s)
        assert replayed.published == 0
        assert replayed.skipped > 0
        # ... and as if no snapshot had ever been written:
        await delete_snapshot(nc, s.snapshot("scanner"))
        from_scratch = await scan(nc, s)
        assert from_scratch.resumed_from == 0
        assert from_scratch.published == 0
        assert from_scratch.skipped == len(want)
        got = await ledger_signals(nc, s)
        assert [x.event_id for x in got] == [x.event_id for x in want]
