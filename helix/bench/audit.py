"""``helix bench audit``: sealing and verifying a ledger of N events, beside the bare read floor.

The bench fills its own stream (``BENCH_AUDIT``) with N encoded ``orders.filled`` events, then:

1. ``seal``: read every stored payload, build the RFC 6962 tree, sign, append the seal
   (:func:`audit.ledger.seal`);
2. ``verify --log``: read every seal and every message they cover, recompute each root and
   consistency proof, check each signature (:func:`audit.ledger.verify_log`);
3. the Merkle tree alone over the payloads already in memory, beside hashing the payloads
   (``sha256`` per leaf) and nothing else.

The baseline of 1 and 2 is a bare nats-py ordered consumer that only counts the same messages:
no Merkle code can read the log faster than that.  The stream is removed afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from eth_account import Account
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from audit.ledger import read_stream, seal, verify_log
from audit.merkle import MerkleTree
from audit.signing import FundKey
from events.trading import OrderFilled
from helix.bench.baselines import bare_ordered_read
from helix.bench.report import Figure
from helix.codec import Codec
from helix.store.connect import connect
from helix.store.streams import StreamSpec, ensure_stream

BENCH_AUDIT = "BENCH_AUDIT"
PREFIX = "bau"
T0 = 1_732_000_000_000_000_000
TARGET = "verify --log >= 100,000 events/s"


def ledger_payloads(n: int) -> list[bytes]:
    """N encoded fills: the size and shape of a real ledger's commonest event."""
    codec = Codec()
    order = uuid.uuid4()
    return [
        codec.encode(
            OrderFilled(
                event_id=uuid.uuid4(),
                ts_event=T0 + i,
                ts_recorded=T0 + i + 5,
                source="bench",
                vertical="perps",
                order_id=order,
                exec_id=f"e{i}",
                qty=Decimal("0.013"),
                price=Decimal("65000.1") + Decimal(i % 1000) / 10,
                fee=Decimal("0.0507"),
                liquidity="taker",
                leaves_qty=Decimal(0),
                cum_qty=Decimal("0.013"),
                avg_price=Decimal("65000.1"),
            )
        )
        for i in range(n)
    ]


async def _fill(nc: NATS, payloads: list[bytes]) -> None:
    js = nc.jetstream(publish_async_max_pending=16_384)
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(BENCH_AUDIT)
    await ensure_stream(
        js, StreamSpec(name=BENCH_AUDIT, subjects=(f"{PREFIX}.>",), persist_async=True)
    )
    for data in payloads:
        await js.publish_async(f"{PREFIX}.orders.filled", data, wait_stall=30)
    await js.publish_async_completed()


async def run_audit_bench(
    nats_url: str, *, events: int = 1_000_000, progress: Callable[[str], None] = print
) -> list[Figure]:
    key = FundKey.from_private_key(Account.create().key.hex())
    subject = f"{PREFIX}.audit.sealed"
    nc = await connect(nats_url, name="helix-bench-audit")
    try:
        progress(f"encoding and appending {events:,} ledger events ...")
        payloads = ledger_payloads(events)
        await _fill(nc, payloads)

        progress("bare read ...")
        floor = await bare_ordered_read(nc, BENCH_AUDIT, f"{PREFIX}.>", events)

        progress("seal ...")
        t = time.perf_counter()
        sealed = await seal(nc, key, now_ns=time.time_ns(), stream=BENCH_AUDIT, subject=subject)
        seal_rate = events / (time.perf_counter() - t)
        if sealed.last_seq != events:
            raise AssertionError(f"sealed {sealed.last_seq}, expected {events}")

        progress("verify --log ...")
        t = time.perf_counter()
        findings, seals, checked = await verify_log(
            nc, key.address, stream=BENCH_AUDIT, subject=subject
        )
        verify_rate = checked / (time.perf_counter() - t)
        if findings or seals != 1 or checked != events:
            raise AssertionError(f"verification failed: {findings[:3]} ({seals}, {checked})")

        progress("in-memory tree ...")
        stored = [data for _seq, data in await read_stream(nc, BENCH_AUDIT, up_to=events)]
        t = time.perf_counter()
        MerkleTree.from_leaves(stored).root()
        tree_rate = events / (time.perf_counter() - t)
        sha = hashlib.sha256
        t = time.perf_counter()
        for data in stored:
            sha(b"\x00" + data).digest()
        hash_rate = events / (time.perf_counter() - t)
    finally:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(BENCH_AUDIT)
        await nc.close()
    return [
        Figure("seal (read + tree + sign + append)", seal_rate, floor, "bare ordered read"),
        Figure(
            "verify --log (read + recompute + check)",
            verify_rate,
            floor,
            "bare ordered read",
            target=TARGET,
        ),
        Figure("Merkle tree in memory", tree_rate, hash_rate, "sha256 of each leaf only"),
    ]
