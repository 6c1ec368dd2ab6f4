"""The strategies' shell: feed a scanner from the market log, publish its signals exactly once.

The scanner is pure; this module does the I/O:

1. **Resume.** The scanner's state is a snapshot in the ``helix_strategies`` object store,
   taken after the signals of everything up to its stream position were acknowledged.  With no
   snapshot the scanner starts from the first market event.
2. **Feed.** Market events are read in stream order from the position after the snapshot.
3. **Publish.** The signals caused by one market event go out as **one atomic batch** on
   ``LEDGER`` (``ldg.signal.<kind>.<venue>.<symbol>``), so a crash never leaves half of them.
   Signals whose ``source_seq`` is not beyond the ``source_seq`` of the last signal already in
   the ledger are not published again: after a crash between a publish and the next snapshot,
   the replay from the older snapshot recomputes exactly the same signals (the scanner is
   deterministic) and skips those already there.  Event ids are deterministic as well, so the
   server's de-duplication catches a retried batch too.
4. **Snapshot** every ``snapshot_every`` events and at the end.

A restart therefore neither repeats nor drops a signal.  The runtime never reads the wall clock
for decisions; time comes from the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError

from events.base import Event
from events.signals import SIGNAL_KINDS, Signal, signal_subject
from helix.codec import Codec
from helix.errors import StoreError
from helix.store.jsraw import OutMsg, direct_get_last, publish_atomic
from helix.store.market import event_headers
from helix.store.replay import replay_batches
from helix.store.streams import LEDGER, MARKET
from helix.strategies.scanner import STRATEGY, PerpsScanner, ScannerConfig

BUCKET = "helix_strategies"


@dataclass
class ScanStats:
    """What one run did."""

    events: int = 0
    signals: int = 0
    published: int = 0
    skipped: int = 0
    position: int = 0
    seconds: float = 0.0
    resumed_from: int = 0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def last_signal_seq(
    nc: NATS,
    prefix: str = "ldg.signal",
    *,
    ledger: str = LEDGER,
    codec: Codec | None = None,
    kinds: Sequence[str] = SIGNAL_KINDS,
    strategy: str | None = STRATEGY,
) -> int:
    """The scanner's highest ``source_seq`` in the ledger under ``prefix`` (0 if none).

    Other machines (the Polymarket oracle, the hybrid fuser) publish signals under the same
    prefix with ``source_seq`` of other streams, so only the newest signal of each of the
    scanner's ``kinds`` by ``strategy`` counts; a machine publishes in ``source_seq`` order, so
    the newest message of each kind holds that kind's highest ``source_seq``.
    """
    codec = codec or Codec()
    best = 0
    for kind in kinds:
        msg = await direct_get_last(nc, ledger, f"{prefix}.{kind}.>")
        if msg is None:
            continue
        event = codec.decode(msg.data)
        if isinstance(event, Signal) and (strategy is None or event.strategy == strategy):
            best = max(best, event.source_seq)
    return best


async def _store(nc: NATS):  # type: ignore[no-untyped-def]
    js = nc.jetstream()
    try:
        return await js.object_store(BUCKET)
    except (BucketNotFoundError, NotFoundError):
        return await js.create_object_store(BUCKET)


async def load_snapshot(nc: NATS, name: str) -> bytes | None:
    store = await _store(nc)
    try:
        result = await store.get(name)
    except (ObjectNotFoundError, NotFoundError):
        return None
    return bytes(result.data) if result.data is not None else None


async def save_snapshot(nc: NATS, name: str, data: bytes) -> None:
    store = await _store(nc)
    await store.put(name, data)


async def delete_snapshot(nc: NATS, name: str) -> None:
    store = await _store(nc)
    with contextlib.suppress(ObjectNotFoundError, NotFoundError):
        await store.delete(name)


async def publish_signals(nc: NATS, signals: list[Signal], *, prefix: str, codec: Codec) -> None:
    """One atomic batch on the ledger.

    Raises:
        StoreError: the ledger rejected the batch.
    """
    msgs = [OutMsg(signal_subject(s, prefix), codec.encode(s), event_headers(s)) for s in signals]
    ack = await publish_atomic(nc, msgs)
    if ack.error is not None:
        raise StoreError(f"ledger refused {len(msgs)} signal(s): {ack.description}")


@dataclass(frozen=True, slots=True)
class SignalMachine:
    """A pure signal machine as :func:`run_signal_machine` drives it.

    Attributes:
        step: feed one event (in log order); returns the signals it caused.
        snapshot: the machine's state as bytes.
        position: stream sequence of the last event it was fed.
    """

    step: Callable[[int, Event], Sequence[Signal]]
    snapshot: Callable[[], bytes]
    position: Callable[[], int]


async def run_signal_machine(
    nc: NATS,
    *,
    restore: Callable[[bytes | None], SignalMachine],
    kinds: Sequence[str],
    strategy: str,
    name: str,
    until_caught_up: bool,
    stream: str,
    subjects: Sequence[str],
    prefix: str,
    ledger: str,
    snapshot_every: int,
    stop: asyncio.Event | None,
    on_progress: Callable[[ScanStats], None] | None,
    codec: Codec | None,
) -> ScanStats:
    """Run one signal machine over a log and publish its signals exactly once.

    Resume from the snapshot ``name`` (``restore`` gets ``None`` when there is none), replay
    ``stream``/``subjects`` in order from the position after it, publish the signals of each
    event as one atomic batch, skip those whose ``source_seq`` is not beyond the newest of the
    machine's own ``kinds`` by ``strategy`` already in ``ledger``, and snapshot every
    ``snapshot_every`` events and at the end.

    Args:
        nc: NATS connection.
        restore: builds the machine from its snapshot (or fresh from ``None``).
        kinds / strategy: the machine's own signals in the ledger (for the de-duplication).
        name: snapshot name.
        until_caught_up: stop at the head instead of following new events.
        stream / subjects: where the machine's input is read.
        prefix / ledger: where the signals go.
        snapshot_every: events between snapshots.
        stop: set it to stop after the current chunk.
        on_progress: called after every chunk.
        codec: the event codec (a default one if ``None``).

    Raises:
        StoreError: the ledger refused a batch of signals.
    """
    codec = codec or Codec()
    t0 = time.perf_counter()
    machine = restore(await load_snapshot(nc, name))
    stats = ScanStats(resumed_from=machine.position())
    already = await last_signal_seq(
        nc, prefix, ledger=ledger, codec=codec, kinds=kinds, strategy=strategy
    )
    since_snapshot = 0
    async for chunk in replay_batches(
        nc,
        subjects=list(subjects),
        stream=stream,
        start_seq=machine.position() + 1,
        live=not until_caught_up,
        codec=codec,
    ):
        for seq, event in chunk:
            signals = list(machine.step(seq, event))
            if not signals:
                continue
            stats.signals += len(signals)
            if seq <= already:
                stats.skipped += len(signals)
                continue
            await publish_signals(nc, signals, prefix=prefix, codec=codec)
            stats.published += len(signals)
        stats.events += len(chunk)
        stats.position = machine.position()
        since_snapshot += len(chunk)
        if since_snapshot >= snapshot_every:
            await save_snapshot(nc, name, machine.snapshot())
            since_snapshot = 0
        stats.seconds = time.perf_counter() - t0
        if on_progress is not None:
            on_progress(stats)
        if stop is not None and stop.is_set():
            break
    if since_snapshot:
        await save_snapshot(nc, name, machine.snapshot())
    stats.position = machine.position()
    stats.seconds = time.perf_counter() - t0
    return stats


async def run_scanner(
    nc: NATS,
    config: ScannerConfig,
    *,
    until_caught_up: bool = True,
    stream: str = MARKET,
    subjects: tuple[str, ...] = ("mkt.>",),
    prefix: str = "ldg.signal",
    ledger: str = LEDGER,
    name: str = STRATEGY,
    snapshot_every: int = 200_000,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[ScanStats], None] | None = None,
    codec: Codec | None = None,
) -> ScanStats:
    """Run the perps scanner over the log (to the head, or following it live).

    Args:
        nc: NATS connection.
        config: thresholds and windows.
        until_caught_up: stop at the head instead of following new events.
        stream / subjects: where market events are read.
        prefix: subject prefix of the published signals.
        ledger: the stream that holds them.
        name: snapshot name (one per scanner configuration that runs).
        snapshot_every: events between snapshots.
        stop: set it to stop after the current chunk.
        on_progress: called after every chunk.

    Raises:
        StoreError: the ledger refused a batch of signals.
    """

    def restore(snap: bytes | None) -> SignalMachine:
        scanner = PerpsScanner.restore(config, snap) if snap else PerpsScanner(config)
        return SignalMachine(
            step=scanner.on_event,
            snapshot=scanner.snapshot,
            position=lambda: scanner.state.position,
        )

    return await run_signal_machine(
        nc,
        restore=restore,
        kinds=SIGNAL_KINDS,
        strategy=STRATEGY,
        name=name,
        until_caught_up=until_caught_up,
        stream=stream,
        subjects=subjects,
        prefix=prefix,
        ledger=ledger,
        snapshot_every=snapshot_every,
        stop=stop,
        on_progress=on_progress,
        codec=codec,
    )
