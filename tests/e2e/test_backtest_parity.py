"""Parity: a live paper session with the auto-trader (the execution service following the market
as it is recorded) and a backtest of the same recorded events decide the same orders and fills."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time

import pytest

from events.base import Event
from events.trading import FillBooked, OrderFilled, OrderPlaced
from helix.settings import load_settings
from helix.sim.market import SimConfig, simulate
from helix.store.connect import connect
from helix.store.market import MarketAppender
from helix.store.replay import replay_batches
from helix.store.streams import LEDGER, ensure_streams
from tests.e2e.test_cli import helix

pytestmark = pytest.mark.integration

PARAMS = ["--params", "trader.account=auto", "--params", "scanner.interval=1m",
          "--params", "scanner.window=12h"]  # fmt: skip


async def record_live(nats_url: str) -> int:
    """Publish three simulated hours into MARKET, a minute of market time at a time."""
    events = list(simulate(SimConfig(seed=3, duration_s=3 * 3600, symbols=("BTCUSDT",))))
    nc = await connect(nats_url)
    try:
        await ensure_streams(nc.jetstream(), load_settings({"HELIX_HOME": "/tmp"}))
        async with MarketAppender(nc) as app:
            for i in range(0, len(events), 500):
                await app.append_many(events[i : i + 500])
                await app.flush()
        return len(events)
    finally:
        await nc.close()


async def followed(nats_url: str) -> int:
    from helix.trading.runtime import _position

    nc = await connect(nats_url)
    try:
        return await _position(nc)
    finally:
        await nc.close()


async def trading(nats_url: str, subjects: str, account: str) -> list[tuple[object, ...]]:
    """The orders and fills in the ledger, without their envelope times."""
    nc = await connect(nats_url)
    out: list[tuple[object, ...]] = []
    try:
        async for batch in replay_batches(nc, subjects=subjects, stream=LEDGER):
            for _, e in batch:
                out.extend(_essence(e, account))
    finally:
        await nc.close()
    return out


def _essence(e: Event, account: str) -> list[tuple[object, ...]]:
    if isinstance(e, OrderPlaced) and e.account == account:
        return [
            ("placed", e.order_id, e.side, e.order_type, e.qty, e.limit_price,
             e.trigger_price, e.stop_loss, e.take_profit, e.parent_id, e.reduce_only)
        ]  # fmt: skip
    if isinstance(e, OrderFilled):
        return [("filled", e.order_id, e.exec_id, e.qty, e.price, e.fee, e.leaves_qty)]
    if isinstance(e, FillBooked) and e.account == account:
        return [("booked", e.order_id, e.exec_id, e.size, e.entry_price, e.realized_pnl)]
    return []


def test_a_backtest_of_a_recorded_paper_session_reproduces_its_orders_and_fills(
    home: dict[str, str],
) -> None:
    assert helix("services", "up", env=home).returncode == 0
    url = re.search(r"HELIX_NATS_URL=(\S+)", helix("services", "env", env=home).stdout)
    assert url is not None
    nats_url = url.group(1)
    serve = subprocess.Popen(
        [sys.executable, "-m", "helix.cli", "trade", "serve", "--autotrade", *PARAMS],
        env={**os.environ, "COLUMNS": "200", **home}, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert serve.stderr is not None
        assert "ready" in serve.stderr.readline()
        n = asyncio.run(record_live(nats_url))
        deadline = time.time() + 120
        while asyncio.run(followed(nats_url)) < n:  # the service saves how far it got
            assert time.time() < deadline, "the service did not follow the market in time"
            time.sleep(0.5)
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    live = asyncio.run(trading(nats_url, "ldg.es.trading.e.>", "auto"))
    assert sum(1 for x in live if x[0] == "filled") >= 2, "the session should have traded"

    bt = helix("backtest", "run", "--strategy", "stop_hunt_autotrader", *PARAMS, env=home,
               timeout=300)  # fmt: skip
    assert bt.returncode == 0, bt.stderr
    assert f"{n:,} market events" in bt.stdout
    run_id = re.search(r"^run (\S+):", bt.stdout, flags=re.MULTILINE)
    assert run_id is not None
    replayed = asyncio.run(trading(nats_url, f"ldg.bt.{run_id.group(1)}.trading.>", "auto"))
    assert replayed == live
