"""A booked Polymarket fill whose trade later failed goes to the DLQ with its reason."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal as D

import pytest
from nats.aio.client import Client as NATS

from events.ops import DeadLetter
from helix.codec import Codec
from helix.settings import load_settings
from helix.store.jsraw import direct_get_last
from helix.store.replay import replay
from helix.store.streams import DLQ, ensure_streams
from helix.trading.runtime import FAILED_FILLS_SUBJECT, failed_fill_reporter
from helix.venues.polymarket import FailedFill

pytestmark = pytest.mark.integration


async def test_a_failed_fill_is_a_dead_letter_with_its_reason(nc: NATS) -> None:
    await ensure_streams(nc.jetstream(), load_settings(environ={}))
    codec = Codec()
    trade_id = f"t-{uuid.uuid4().hex[:8]}"
    failed = FailedFill(
        order_id=uuid.uuid4(), venue_order_id="0xabc", trade_id=trade_id, qty=D("20"),
        price=D("0.50"), liquidity="maker", reason="trade status FAILED",
    )  # fmt: skip
    report = failed_fill_reporter(nc, codec)
    report(failed)
    report(failed)  # reported twice (a restart): one dead letter
    for _ in range(50):
        msg = await direct_get_last(nc, DLQ, FAILED_FILLS_SUBJECT)
        if msg is not None and trade_id in codec.decode(msg.data).origin:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.1)
    assert msg is not None
    letter = codec.decode(msg.data)
    assert isinstance(letter, DeadLetter)
    assert letter.origin == f"venue:polymarket:trade:{trade_id}"
    assert "trade status FAILED" in letter.reason
    assert "20 @ 0.50" in letter.reason
    await asyncio.sleep(0.3)  # the second report's publish has landed (or been dropped)
    ours = [
        e
        async for _, e in replay(nc, stream=DLQ, subjects=FAILED_FILLS_SUBJECT)
        if isinstance(e, DeadLetter) and e.origin.endswith(trade_id)
    ]
    assert len(ours) == 1  # the same failure reported twice is one dead letter
