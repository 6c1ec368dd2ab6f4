"""The oracle's and the fuser's shells on real NATS: each signal reaches the ledger once,
across restarts, crashes before a snapshot, and other strategies' signals in the ledger."""

from __future__ import annotations

import uuid

import pytest
from nats.aio.client import Client as NATS

from events.base import Event
from events.poly import ClusterSynced, HybridSignal, PolySignal, WalletScored
from events.signals import Signal
from helix.codec import Codec
from helix.store.market import MarketAppender
from helix.store.replay import replay_batches
from helix.strategies.hybrid import HybridConfig
from helix.strategies.poly_oracle import OracleConfig, PolyOracle
from helix.strategies.poly_runtime import run_fuser, run_oracle
from helix.strategies.runtime import (
    ScanStats,
    delete_snapshot,
    last_signal_seq,
    load_snapshot,
    publish_signals,
    save_snapshot,
)
from tests.integration._signals_support import Streams, ledger_signals, streams
from tests.unit import _factories as f
from tests.unit.strategies.test_poly_oracle import (
    HOUR,
    MIN,
    QUESTION,
    T0,
    A,
    B,
    book,
    history,
    market,
    trade,
)

pytestmark = pytest.mark.integration

CONFIG = OracleConfig()
FUSER = HybridConfig()


def scenario() -> list[Event]:
    """20 resolved markets make A, B, C smart and a synced cluster; then A and B buy Yes on a
    Bitcoin market: one PolySignal (score 85).  A Bybit trade in between is not the oracle's."""
    t = T0 + 50 * HOUR
    return [
        *history(),
        f.trade(ts_event=t, ts_recorded=t),
        market("m", t, QUESTION, price="0.48"),
        book("m", t + MIN, "0.50"),
        trade("m", t + 2 * MIN, A, "200", "0.50"),
        trade("m", t + 3 * MIN, B, "200", "0.50"),
    ]


def expected(events: list[Event]) -> list[Signal]:
    oracle = PolyOracle(CONFIG)
    out: list[Signal] = []
    for seq, e in enumerate(events, start=1):
        out.extend(oracle.on_event(seq, e))
    return out


async def append(nc: NATS, s: Streams, events: list[Event]) -> None:
    async with MarketAppender(nc, subject_prefix=s.market_prefix) as app:
        await app.append_many(events)  # type: ignore[arg-type]
        await app.flush()


async def oracle(nc: NATS, s: Streams) -> ScanStats:
    return await run_oracle(
        nc,
        CONFIG,
        stream=s.market,
        subjects=(f"{s.market_prefix}.polymarket.>",),
        prefix=f"{s.ledger_prefix}.signal",
        ledger=s.ledger,
        name=s.snapshot("oracle"),
    )


async def fuser(nc: NATS, s: Streams) -> ScanStats:
    return await run_fuser(
        nc, FUSER, prefix=f"{s.ledger_prefix}.signal", ledger=s.ledger, name=s.snapshot("fuser")
    )


async def ledger_seqs(nc: NATS, s: Streams) -> list[tuple[int, Event]]:
    out: list[tuple[int, Event]] = []
    async for batch in replay_batches(nc, subjects=f"{s.ledger_prefix}.>", stream=s.ledger):
        out.extend(batch)
    return out


async def test_the_oracle_publishes_every_signal_once_across_restarts(nc: NATS) -> None:
    events = scenario()
    want = expected(events)
    assert [type(x) for x in want] == [ClusterSynced, *[WalletScored] * 3, PolySignal]
    async with streams(nc, "oracle", "fuser") as s:
        # Another strategy's signal with a far higher source_seq must not hide ours.
        other = f.cluster_targeted(source_seq=10**9)
        await publish_signals(nc, [other], prefix=f"{s.ledger_prefix}.signal", codec=Codec())
        await append(nc, s, events[:30])
        first = await oracle(nc, s)
        assert first.position == 30
        assert first.published == 1  # the cluster, synced at 03:00
        await append(nc, s, events[30:])
        second = await oracle(nc, s)
        assert second.resumed_from == 30
        assert second.published == len(want) - 1
        got = [x for x in await ledger_signals(nc, s) if x.strategy == "poly_oracle"]
        assert [x.event_id for x in got] == [x.event_id for x in want]
        assert Codec().encode(got[-1]) == Codec().encode(want[-1])
        assert await last_signal_seq(
            nc, f"{s.ledger_prefix}.signal", ledger=s.ledger, kinds=["poly_signal"], strategy=None
        ) == len(events)
        # A crash after publishing, before the snapshot: the older snapshot comes back.
        older = await load_snapshot(nc, s.snapshot("oracle"))
        assert older is not None
        await delete_snapshot(nc, s.snapshot("oracle"))
        from_scratch = await oracle(nc, s)
        assert (from_scratch.resumed_from, from_scratch.published) == (0, 0)
        assert from_scratch.skipped == len(want)
        await save_snapshot(nc, s.snapshot("oracle"), older)
        again = await oracle(nc, s)
        assert (again.events, again.published) == (0, 0)
        assert [x.event_id for x in await ledger_signals(nc, s) if x.strategy == "poly_oracle"] == [
            x.event_id for x in want
        ]


async def test_the_fuser_publishes_a_hybrid_once_across_restarts(nc: NATS) -> None:
    events = scenario()
    [poly] = [x for x in expected(events) if isinstance(x, PolySignal)]
    async with streams(nc, "oracle", "fuser") as s:
        prefix = f"{s.ledger_prefix}.signal"
        await append(nc, s, events)
        await oracle(nc, s)
        up = f.cluster_targeted(
            event_id=uuid.uuid4(), ts_event=poly.ts_event + 10 * MIN, direction="up"
        )
        down = f.stop_hunt(
            event_id=uuid.uuid4(), ts_event=poly.ts_event - 5 * HOUR, direction="bear"
        )
        await publish_signals(nc, [down], prefix=prefix, codec=Codec())  # too early to matter
        first = await fuser(nc, s)
        assert first.published == 0
        await publish_signals(nc, [up], prefix=prefix, codec=Codec())
        second = await fuser(nc, s)
        assert second.published == 1
        hybrids = [x for x in await ledger_signals(nc, s) if isinstance(x, HybridSignal)]
        [h] = hybrids
        assert (h.poly_signal_id, h.perps_signal_id) == (str(poly.event_id), str(up.event_id))
        [up_seq] = [q for q, e in await ledger_seqs(nc, s) if e.event_id == up.event_id]
        assert h.source_seq == up_seq  # the ledger sequence of the signal completing the pair
        # from scratch: the same pair is recomputed and recognised as published
        await delete_snapshot(nc, s.snapshot("fuser"))
        replay = await fuser(nc, s)
        assert (replay.resumed_from, replay.published, replay.skipped) == (0, 0, 1)
        assert [x.event_id for x in await ledger_signals(nc, s) if isinstance(x, HybridSignal)] == [
            h.event_id
        ]
