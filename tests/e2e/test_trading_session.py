"""A scripted trading session through the CLI and a running execution service: place, fill
partially from the market, modify, cancel, halt. The events, the read models and the CLI agree,
and a rebuild of the read models reproduces them exactly."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import asyncpg
import pytest

from events.market import Trade, market_event_id
from events.trading import FillBooked, OrderFilled, OrderPlaced
from helix.settings import load_settings
from helix.store.connect import connect
from helix.store.market import MarketAppender
from helix.store.replay import replay_batches
from helix.store.streams import LEDGER, ensure_streams
from tests.e2e.test_cli import helix
from tests.services import RunningServices

pytestmark = pytest.mark.integration

TABLES = ("orders", "fills", "positions", "pnl_daily", "accounts", "order_commands_rejected")


async def publish_trades(nats_url: str, venue: str, prints: list[tuple[str, str]]) -> None:
    nc = await connect(nats_url)
    try:
        await ensure_streams(nc.jetstream(), load_settings())
        async with MarketAppender(nc) as app:
            for price, qty in prints:
                ts = time.time_ns()
                tid = uuid.uuid4().hex
                await app.append(Trade(
                    event_id=market_event_id(venue, "trade", "BTCUSDT", tid), ts_event=ts,
                    ts_recorded=ts, source="e2e", vertical="perps", venue=venue,
                    symbol="BTCUSDT", trade_id=tid, price=Decimal(price), qty=Decimal(qty),
                    side="sell",
                ))  # fmt: skip
            await app.flush()
    finally:
        await nc.close()


async def ledger_events(nats_url: str, account: str) -> list[object]:
    nc = await connect(nats_url)
    out: list[object] = []
    try:
        async for batch in replay_batches(nc, subjects="ldg.es.trading.e.>", stream=LEDGER):
            out.extend(e for _, e in batch if getattr(e, "account", account) == account
                       or not hasattr(e, "account"))  # fmt: skip
    finally:
        await nc.close()
    return out


async def hashes(database_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(database_url)
    try:
        return {
            t: await conn.fetchval(
                f"SELECT coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM {t} x"
            )
            for t in TABLES
        }
    finally:
        await conn.close()


def order_id(stdout: str) -> str:
    m = re.search(r"order ([0-9a-f-]{36})", stdout)
    assert m, stdout
    return m.group(1)


def test_a_scripted_session_agrees_everywhere(services: RunningServices) -> None:
    venue = f"e2e{uuid.uuid4().hex[:6]}"
    account = f"acct{uuid.uuid4().hex[:6]}"
    env = {"HELIX_NATS_URL": services.nats_url, "HELIX_DATABASE_URL": services.database_url}
    asyncio.run(publish_trades(services.nats_url, venue, [("50000.0", "1.000")]))
    serve = subprocess.Popen(
        [sys.executable, "-m", "helix.cli", "trade", "serve"],
        env={**os.environ, **env}, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert serve.stderr is not None
        assert "ready" in serve.stderr.readline()
        placed = helix("trade", "buy", venue, "BTCUSDT", "0.05", "--limit", "49900",
                       "--account", account, env=env)  # fmt: skip
        assert placed.returncode == 0, placed.stderr
        oid = order_id(placed.stdout)
        assert "OrderAccepted" in placed.stdout
        # The market trades through the limit: 0.02 of the 0.05 fill (maker, at the limit).
        asyncio.run(publish_trades(services.nats_url, venue, [("49899.0", "0.020")]))
        deadline = time.time() + 10
        while time.time() < deadline:
            shown = helix("orders", "--open", "--account", account, env=env)
            if "partially_filled" in shown.stdout:
                break
            time.sleep(0.2)
        assert "partially_filled" in shown.stdout, shown.stdout
        modified = helix("trade", "modify", oid, "--qty", "0.04", "--limit", "49950", env=env)
        assert modified.returncode == 0, modified.stderr
        assert "OrderModified: qty 0.04 limit 49950" in modified.stdout
        cancelled = helix("trade", "cancel", oid, env=env)
        assert "OrderCancelled" in cancelled.stdout
        again = helix("trade", "cancel", oid, env=env)
        assert again.returncode == 3
        assert "order is cancelled" in again.stdout
        halted = helix("halt", "--reason", "end of session", "--account", account, env=env)
        assert "TradingHalted" in halted.stdout
        refused = helix("trade", "buy", venue, "BTCUSDT", "0.01", "--account", account, env=env)
        assert refused.returncode == 3
        assert "trading_halted" in refused.stdout
    finally:
        serve.terminate()
        serve.wait(timeout=20)

    # The ledger says what happened ...
    events = asyncio.run(ledger_events(services.nats_url, account))
    fills = [e for e in events if isinstance(e, OrderFilled) and str(e.order_id) == oid]
    assert [(f.qty, f.price, f.liquidity) for f in fills] == [
        (Decimal("0.020"), Decimal("49900"), "maker"),
    ]  # fmt: skip
    booked = [e for e in events if isinstance(e, FillBooked) and e.account == account]
    assert [b.size for b in booked] == [Decimal("0.020")]
    assert any(isinstance(e, OrderPlaced) and str(e.order_id) == oid for e in events)
    # ... the CLI shows the same ...
    orders = helix("orders", "--account", account, env=env).stdout
    assert "cancelled" in orders
    assert "trading_halted" in orders
    positions = helix("positions", "--account", account, env=env).stdout
    assert f"{venue}:BTCUSDT" in positions
    assert "0.02" in positions
    pnl = helix("pnl", "--account", account, env=env).stdout
    fee = fills[0].fee
    assert f"{fee:,.2f}" in pnl
    # ... and a rebuild of the read models reproduces them exactly.
    before = asyncio.run(hashes(services.database_url))
    for name in ("orders", "positions", "pnl", "accounts"):
        rebuilt = helix("projections", "rebuild", name, env=env, timeout=300)
        assert rebuilt.returncode == 0, rebuilt.stderr
    assert asyncio.run(hashes(services.database_url)) == before
