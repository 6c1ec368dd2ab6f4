"""``helix poly trade`` and ``helix auto poly-copy`` as a user runs them: paper orders on a
Polymarket outcome resolved from the log, the live switch, and the copy-trader placing a
signal's entry once."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal as D

import pytest

from events.base import stable_event_id
from events.poly import PolySignal
from helix.bootstrap import runtime
from helix.codec import Codec
from helix.settings import load_settings
from helix.store.connect import connect
from helix.strategies.runtime import publish_signals
from helix.trading.runtime import running_service
from tests.e2e.test_cli import helix
from tests.integration.test_polymarket_venue import clob_trade, listing, publish, token
from tests.services import RunningServices

pytestmark = pytest.mark.integration


def market(services: RunningServices) -> tuple[str, str, str, dict[str, str]]:
    cid, yes, no = "0x" + uuid.uuid4().hex * 2, token(), token()
    env = {"HELIX_NATS_URL": services.nats_url, "HELIX_DATABASE_URL": services.database_url,
           "HELIX_LIVE_TRADING": "false"}  # fmt: skip
    asyncio.run(publish(services.nats_url, [listing(cid, yes, no), clob_trade(yes, "0.50", "50")]))
    return cid, yes, no, env


def test_buy_sell_by_condition_id_and_slug_paper(services: RunningServices) -> None:
    cid, _yes, _no, env = market(services)
    account = f"cli{uuid.uuid4().hex[:6]}"
    bought = helix("poly", "trade", "buy", cid, "yes", "10", "--price", "0.50",
                   "--account", account, env=env)  # fmt: skip
    assert bought.returncode == 0, bought.stderr
    assert "FillBooked" in bought.stdout
    assert "polymarket" in bought.stdout
    sold = helix("poly", "trade", "sell", f"will-{cid[2:10]}", "Yes", "5", "--price", "0.50",
                 "--account", account, env=env)  # fmt: skip
    assert sold.returncode == 0, sold.stderr
    assert "reduce-only" in sold.stdout
    assert "now 5" in sold.stdout
    short = helix("poly", "trade", "sell", cid, "No", "5", "--price", "0.50",
                  "--account", account, env=env)  # fmt: skip
    assert short.returncode == 3
    assert "reduce_only" in short.stdout
    unknown = helix("poly", "trade", "buy", cid, "Maybe", "5", "--price", "0.5", env=env)
    assert unknown.returncode == 3
    assert "has no outcome 'Maybe'" in unknown.stderr


def test_live_without_the_switch_is_a_clear_error(services: RunningServices) -> None:
    cid, _yes, _no, env = market(services)
    res = helix("poly", "trade", "buy", cid, "Yes", "10", "--price", "0.50", "--live", env=env)
    assert res.returncode == 2
    assert "HELIX_LIVE_TRADING" in res.stderr
    keyless = helix("poly", "trade", "buy", cid, "Yes", "10", "--price", "0.50", "--live",
                    env={**env, "HELIX_LIVE_TRADING": "true",
                         "HELIX_POLYMARKET_PRIVATE_KEY": ""})  # fmt: skip
    assert keyless.returncode == 2
    assert "HELIX_POLYMARKET_PRIVATE_KEY" in keyless.stderr


async def publish_signal(nats_url: str, cid: str, yes: str) -> PolySignal:
    ts = time.time_ns()
    sig = PolySignal(
        event_id=stable_event_id("e2e-poly-signal", cid), ts_event=ts, ts_recorded=ts,
        source="e2e", vertical="poly", strategy="poly_oracle", venue="polymarket", symbol=yes,
        interval="event", bar_start=ts, source_seq=1, reason="e2e", condition_id=cid,
        token_id=yes, outcome="Yes", question="Will it?", price=D("0.50"), p_model=0.606613,
        p_smart=0.6, edge=0.106613, score=85, threshold=70, checks=("edge:pass",),
        smart_wallets=("0xabc",), cluster_share=0.0, depth_usd=D(1_000_000), stake_usd=D(0),
        horizon_s=None, adverse_move=0.0, kelly_fraction=0.5,
    )  # fmt: skip
    nc = await connect(nats_url)
    try:
        await publish_signals(nc, [sig], prefix="ldg.signal", codec=Codec())
    finally:
        await nc.close()
    return sig


async def position(account: str, symbol: str) -> D:
    s = load_settings()
    async with runtime(s) as rt, running_service(rt, s) as svc:
        return svc.book.position(account, "polymarket", symbol).size


def test_poly_copy_enters_a_signal_once(services: RunningServices) -> None:
    cid, yes, _no, env = market(services)
    account = f"copy{uuid.uuid4().hex[:6]}"
    asyncio.run(publish_signal(services.nats_url, cid, yes))
    first = helix("auto", "poly-copy", "--account", account, env=env)
    assert first.returncode == 0, first.stderr
    # paper balance 100,000: stake 10% = 10,000 at 0.50 -> 20,000 shares, filled at the last trade
    assert asyncio.run(position(account, yes)) == D(20000)
    again = helix("auto", "poly-copy", "--account", account, env=env)
    assert again.returncode == 0, again.stderr
    assert asyncio.run(position(account, yes)) == D(20000)  # the same signal: nothing new
