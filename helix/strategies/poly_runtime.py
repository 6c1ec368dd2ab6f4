"""Shells of the Polymarket oracle and the hybrid fuser: read a log in order, publish once.

The same pattern as :mod:`helix.strategies.runtime` (the perps scanner's shell):

1. **Resume** from the machine's snapshot in the ``helix_strategies`` object store (its own
   object name: ``poly_oracle`` / ``hybrid_fuser``), or from the start of the log.
2. **Feed** events in stream order: the oracle reads ``MARKET`` ``mkt.polymarket.>``, the fuser
   reads ``LEDGER`` ``ldg.signal.>`` (it ignores the hybrid signals it writes there itself).
3. **Publish** the signals caused by one event as **one atomic batch** on ``LEDGER``.  A batch
   whose ``source_seq`` is not beyond the newest ``source_seq`` already in the ledger among
   **this machine's own kinds** is skipped: a replay after a crash between a publish and the
   next snapshot recomputes exactly the same signals and publishes none twice.  (Only the own
   kinds: the oracle's ``source_seq`` is a ``MARKET`` sequence, the fuser's a ``LEDGER`` one,
   and other strategies' signals live in the same subjects.)  Event ids are deterministic, so
   the server's de-duplication also catches a retried batch.
4. **Snapshot** every ``snapshot_every`` events and at the end.

Time comes from the events only; the wall clock measures throughput and nothing else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from nats.aio.client import Client as NATS

from events.base import Event
from events.poly import ClusterSynced, HybridSignal, PolySignal, WalletScored
from events.signals import Signal
from helix.codec import Codec
from helix.store.replay import replay_batches
from helix.store.streams import LEDGER, MARKET
from helix.strategies.hybrid import STRATEGY as FUSER
from helix.strategies.hybrid import HybridConfig, HybridFuser
from helix.strategies.poly_oracle import STRATEGY as ORACLE
from helix.strategies.poly_oracle import OracleConfig, PolyOracle
from helix.strategies.runtime import (
    ScanStats,
    last_signal_seq,
    load_snapshot,
    publish_signals,
    save_snapshot,
)

ORACLE_KINDS: tuple[str, ...] = (WalletScored.KIND, ClusterSynced.KIND, PolySignal.KIND)
FUSER_KINDS: tuple[str, ...] = (HybridSignal.KIND,)


async def last_seq_of(
    nc: NATS,
    kinds: Sequence[str],
    *,
    prefix: str = "ldg.signal",
    ledger: str = LEDGER,
    strategy: str | None = None,
    codec: Codec | None = None,
) -> int:
    """The highest ``source_seq`` among the newest signal of each of ``kinds`` (0 if none)."""
    return await last_signal_seq(
        nc, prefix, ledger=ledger, codec=codec, kinds=kinds, strategy=strategy
    )


async def _run(
    nc: NATS,
    *,
    step: Callable[[int, Event], Sequence[Signal]],
    snapshot: Callable[[], bytes],
    position: Callable[[], int],
    kinds: Sequence[str],
    strategy: str,
    until_caught_up: bool,
    stream: str,
    subjects: Sequence[str],
    prefix: str,
    ledger: str,
    name: str,
    snapshot_every: int,
    stop: asyncio.Event | None,
    on_progress: Callable[[ScanStats], None] | None,
    codec: Codec,
    t0: float,
) -> ScanStats:
    stats = ScanStats(resumed_from=position())
    already = await last_seq_of(
        nc, kinds, prefix=prefix, ledger=ledger, strategy=strategy, codec=codec
    )
    since_snapshot = 0
    async for chunk in replay_batches(
        nc,
        subjects=list(subjects),
        stream=stream,
        start_seq=position() + 1,
        live=not until_caught_up,
        codec=codec,
    ):
        for seq, event in chunk:
            signals = list(step(seq, event))
            if not signals:
                continue
            stats.signals += len(signals)
            if seq <= already:
                stats.skipped += len(signals)
                continue
            await publish_signals(nc, signals, prefix=prefix, codec=codec)
            stats.published += len(signals)
        stats.events += len(chunk)
        stats.position = position()
        since_snapshot += len(chunk)
        if since_snapshot >= snapshot_every:
            await save_snapshot(nc, name, snapshot())
            since_snapshot = 0
        stats.seconds = time.perf_counter() - t0
        if on_progress is not None:
            on_progress(stats)
        if stop is not None and stop.is_set():
            break
    if since_snapshot:
        await save_snapshot(nc, name, snapshot())
    stats.position = position()
    stats.seconds = time.perf_counter() - t0
    return stats


async def run_oracle(
    nc: NATS,
    config: OracleConfig,
    *,
    until_caught_up: bool = True,
    stream: str = MARKET,
    subjects: tuple[str, ...] = ("mkt.polymarket.>",),
    prefix: str = "ldg.signal",
    ledger: str = LEDGER,
    name: str = ORACLE,
    snapshot_every: int = 100_000,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[ScanStats], None] | None = None,
    codec: Codec | None = None,
) -> ScanStats:
    """Run the Polymarket oracle over the market log (to the head, or following it live).

    Args:
        nc: NATS connection.
        config: the oracle's thresholds.
        until_caught_up: stop at the head instead of following new events.
        stream / subjects: where the Polymarket market events are read.
        prefix / ledger: where the signals go.
        name: snapshot name (one per oracle configuration that runs).
        snapshot_every: events between snapshots.
        stop: set it to stop after the current chunk.
        on_progress: called after every chunk.

    Raises:
        StoreError: the ledger refused a batch of signals.
    """
    codec = codec or Codec()
    t0 = time.perf_counter()
    snap = await load_snapshot(nc, name)
    oracle = PolyOracle.restore(config, snap) if snap else PolyOracle(config)
    return await _run(
        nc,
        step=oracle.on_event,
        snapshot=oracle.snapshot,
        position=lambda: oracle.state.position,
        kinds=ORACLE_KINDS,
        strategy=ORACLE,
        until_caught_up=until_caught_up,
        stream=stream,
        subjects=subjects,
        prefix=prefix,
        ledger=ledger,
        name=name,
        snapshot_every=snapshot_every,
        stop=stop,
        on_progress=on_progress,
        codec=codec,
        t0=t0,
    )


async def run_fuser(
    nc: NATS,
    config: HybridConfig,
    *,
    until_caught_up: bool = True,
    prefix: str = "ldg.signal",
    ledger: str = LEDGER,
    name: str = FUSER,
    snapshot_every: int = 100_000,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[ScanStats], None] | None = None,
    codec: Codec | None = None,
) -> ScanStats:
    """Run the hybrid fuser over the ledger's signals; its hybrid signals go to the same ledger.

    ``source_seq`` of a hybrid signal is the ``LEDGER`` sequence of the signal that completed
    its pair.  Arguments as :func:`run_oracle` (the signals are read from ``ledger`` under
    ``prefix``).

    Raises:
        StoreError: the ledger refused a batch of signals.
    """
    codec = codec or Codec()
    t0 = time.perf_counter()
    snap = await load_snapshot(nc, name)
    fuser = HybridFuser.restore(config, snap) if snap else HybridFuser(config)

    def step(seq: int, event: Event) -> list[Signal]:
        return list(fuser.on_signal(seq, event))

    return await _run(
        nc,
        step=step,
        snapshot=fuser.snapshot,
        position=lambda: fuser.state.position,
        kinds=FUSER_KINDS,
        strategy=FUSER,
        until_caught_up=until_caught_up,
        stream=ledger,
        subjects=(f"{prefix}.>",),
        prefix=prefix,
        ledger=ledger,
        name=name,
        snapshot_every=snapshot_every,
        stop=stop,
        on_progress=on_progress,
        codec=codec,
        t0=t0,
    )
