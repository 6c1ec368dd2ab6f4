"""Sealing and verifying a ledger stream on a real JetStream (``audit.ledger``)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from audit.ledger import all_seals, seal, verify_log
from audit.signing import FundKey
from events.audit import Sealed
from helix.errors import ConcurrencyError
from helix.settings import load_settings
from helix.store.streams import ensure_stream, ledger_spec

pytestmark = pytest.mark.integration

FUND = FundKey.from_private_key("0x" + "11" * 32)
OTHER = FundKey.from_private_key("0x" + "22" * 32)


@contextlib.asynccontextmanager
async def stream(nc: NATS) -> AsyncIterator[tuple[str, str]]:
    tag = uuid.uuid4().hex[:8]
    name, prefix = f"AUD_{tag}", f"aud{tag}"
    settings = load_settings({}, dotenv=Path("/nonexistent"))
    await ensure_stream(nc.jetstream(), ledger_spec(settings, name=name, subjects=(f"{prefix}.>",)))
    try:
        yield name, prefix
    finally:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(name)


async def append(nc: NATS, prefix: str, n: int) -> None:
    for i in range(n):
        await nc.jetstream().publish(f"{prefix}.ev", f"event {uuid.uuid4()} {i}".encode())


async def test_seal_extend_and_verify(nc: NATS) -> None:
    async with stream(nc) as (name, prefix):
        subject = f"{prefix}.audit.sealed"
        await append(nc, prefix, 5)
        first = await seal(nc, FUND, now_ns=1, stream=name, subject=subject)
        assert (first.first_seq, first.last_seq, first.previous_seq) == (1, 5, 0)
        await append(nc, prefix, 3)
        second = await seal(nc, FUND, now_ns=2, stream=name, subject=subject)
        # the first seal itself (sequence 6) is part of what the second one covers
        assert (second.last_seq, second.previous_seq, second.previous_root) == (9, 5, first.root)
        assert second.consistency  # a real proof from the 5-leaf tree to the 9-leaf one

        findings, seals, messages = await verify_log(nc, FUND.address, stream=name, subject=subject)
        assert findings == []
        assert (seals, messages) == (2, 9)


async def test_a_seal_by_another_key_is_named(nc: NATS) -> None:
    async with stream(nc) as (name, prefix):
        subject = f"{prefix}.audit.sealed"
        await append(nc, prefix, 4)
        await seal(nc, FUND, now_ns=1, stream=name, subject=subject)
        await append(nc, prefix, 2)
        forged = await seal(nc, OTHER, now_ns=2, stream=name, subject=subject)
        findings, _, _ = await verify_log(nc, FUND.address, stream=name, subject=subject)
        assert [f.kind for f in findings] == ["bad_signature"]
        assert findings[0].seqs == (forged.last_seq,)


async def test_a_deleted_event_is_named(nc: NATS) -> None:
    async with stream(nc) as (name, prefix):
        subject = f"{prefix}.audit.sealed"
        await append(nc, prefix, 6)
        await seal(nc, FUND, now_ns=1, stream=name, subject=subject)
        await nc.jetstream().delete_msg(name, 3)  # LEDGER itself denies this; a test stream not
        findings, _, _ = await verify_log(nc, FUND.address, stream=name, subject=subject)
        assert any(f.kind == "missing" and 3 in f.seqs for f in findings), findings


async def test_racing_sealers_never_fork_the_chain(nc: NATS) -> None:
    async with stream(nc) as (name, prefix):
        subject = f"{prefix}.audit.sealed"
        await append(nc, prefix, 3)
        await seal(nc, FUND, now_ns=1, stream=name, subject=subject)
        for round_ in range(5):
            await append(nc, prefix, 2)
            results = await asyncio.gather(
                *(seal(nc, FUND, now_ns=10 + round_, stream=name, subject=subject)
                  for _ in range(3)),
                return_exceptions=True,
            )  # fmt: skip
            assert all(isinstance(r, Sealed | ConcurrencyError) for r in results), results
        seals = await all_seals(nc, name, subject=subject)
        previous = [s.previous_seq for s in seals]
        assert len(previous) == len(set(previous))  # every seal extends a different one
        findings, _, _ = await verify_log(nc, FUND.address, stream=name, subject=subject)
        assert findings == []
