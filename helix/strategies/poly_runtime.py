"""Shells of the Polymarket oracle and the hybrid fuser: read a log in order, publish once.

Both run through :func:`helix.strategies.runtime.run_signal_machine`, the perps scanner's shell:

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
from collections.abc import Callable

from nats.aio.client import Client as NATS

from events.poly import ClusterSynced, HybridSignal, PolySignal, WalletScored
from helix.codec import Codec
from helix.store.streams import LEDGER, MARKET
from helix.strategies.hybrid import STRATEGY as FUSER
from helix.strategies.hybrid import HybridConfig, HybridFuser
from helix.strategies.poly_oracle import STRATEGY as ORACLE
from helix.strategies.poly_oracle import OracleConfig, PolyOracle
from helix.strategies.runtime import ScanStats, SignalMachine, run_signal_machine

ORACLE_KINDS: tuple[str, ...] = (WalletScored.KIND, ClusterSynced.KIND, PolySignal.KIND)
FUSER_KINDS: tuple[str, ...] = (HybridSignal.KIND,)


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

    def restore(snap: bytes | None) -> SignalMachine:
        oracle = PolyOracle.restore(config, snap) if snap else PolyOracle(config)
        return SignalMachine(
            step=oracle.on_event,
            snapshot=oracle.snapshot,
            position=lambda: oracle.state.position,
        )

    return await run_signal_machine(
        nc,
        restore=restore,
        kinds=ORACLE_KINDS,
        strategy=ORACLE,
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

    def restore(snap: bytes | None) -> SignalMachine:
        fuser = HybridFuser.restore(config, snap) if snap else HybridFuser(config)
        return SignalMachine(
            step=fuser.on_signal,
            snapshot=fuser.snapshot,
            position=lambda: fuser.state.position,
        )

    return await run_signal_machine(
        nc,
        restore=restore,
        kinds=FUSER_KINDS,
        strategy=FUSER,
        name=name,
        until_caught_up=until_caught_up,
        stream=ledger,
        subjects=(f"{prefix}.>",),
        prefix=prefix,
        ledger=ledger,
        snapshot_every=snapshot_every,
        stop=stop,
        on_progress=on_progress,
        codec=codec,
    )
