"""``kill -9`` of nats-server in the middle of a publish run, then restart.

Runs on a private nats-server (the session's shared one must survive).  Every acknowledged
event must be in the stream after the restart, and none twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helix.services.common import free_port
from helix.services.nats import EmbeddedNats
from helix.settings import Settings
from helix.store.connect import connect
from helix.store.market import MarketAppender
from helix.store.replay import replay
from helix.store.streams import MARKET, ensure_streams
from tests.integration.test_market_store import a_trade

pytestmark = pytest.mark.integration


@pytest.fixture
def private_nats() -> Iterator[EmbeddedNats]:
    with tempfile.TemporaryDirectory(prefix="helix-crash-") as d:
        server = EmbeddedNats(root=Path(d), port=free_port(), http_port=free_port())
        server.start()
        try:
            yield server
        finally:
            server.stop()


async def test_kill_9_mid_publish_loses_no_acked_event(private_nats: EmbeddedNats) -> None:
    n = 60_000
    nc = await connect(private_nats.url, name="crash-test")
    try:
        await ensure_streams(nc.jetstream(), Settings(home="/tmp/unused"))
        trades = [a_trade(i, venue="crash") for i in range(n)]
        killed_after = 0
        async with MarketAppender(nc, ack_timeout=1.0) as app:
            for i, t in enumerate(trades):
                await app.append(t)
                if i == n // 2:
                    await asyncio.sleep(0.05)  # let acks for the first half arrive
                    killed_after = app.stats.stored
                    pid = private_nats.pid()
                    assert pid is not None
                    os.kill(pid, signal.SIGKILL)
                    await asyncio.sleep(0.3)
                    await asyncio.to_thread(private_nats.start)
            stats = await asyncio.wait_for(app.flush(), 120)
        assert killed_after > 0
        assert stats.stored + stats.duplicates == n
        stored = [e.trade_id async for _, e in replay(nc, subjects="mkt.crash.>")]  # type: ignore[attr-defined]
        assert len(stored) == len(set(stored)) == n
        info = await nc.jetstream().stream_info(MARKET)
        assert info.state.messages == n
    finally:
        await nc.close()
