"""The hybrid pipeline end to end, as an operator runs it on a fresh embedded install:

perps OI spike (scanner) + two smart wallets entering a Bitcoin market (oracle)
-> ``hybrid.signal`` (fuser) -> the copy-trader's paper order -> its fill -> a ``hybrid_roi``
row.  Market data is appended to the log the way the feeds do (``MarketAppender``); every step
after that is a ``helix`` command in its own process.
"""

from __future__ import annotations

import asyncio
import re
import time
from decimal import Decimal as D

import pytest

from events.base import Event
from events.market import Ticker, Trade, market_event_id
from helix.bootstrap import runtime
from helix.settings import load_settings
from helix.store.market import MarketAppender, MarketEvent
from helix.store.replay import replay
from helix.store.streams import LEDGER
from tests.e2e.test_cli import helix
from tests.unit.strategies.test_poly_oracle import HOUR, MIN, A, B, book, history, market, trade

pytestmark = pytest.mark.integration

FIVE = 5 * MIN
QUESTION = "Will Bitcoin be above $100,000 on Friday?"


def perps_bars(start: int) -> list[Event]:
    """13 five-minute bars of BTCUSDT (trades + a ticker with open interest each); bar 10's OI
    jumps 4.7% while its price closes 1% up: an OI spike with a rising price (quant.md TV-5)."""
    oi = [500, 502, 501, 503, 504, 502, 503, 505, 504, 506, 530, 528, 529]
    out: list[Event] = []
    for i, level in enumerate(oi):
        t = start + i * FIVE
        close = 101.0 if i >= 10 else 100.0
        for k, px in enumerate((100.0, 100.0, 100.0, close)):  # no wicks: no stop hunts
            ts = t + (k + 1) * MIN
            tid = f"e2e-{start}-{i}-{k}"
            out.append(Trade(event_id=market_event_id("bybit", "trade", "BTCUSDT", tid),
                             ts_event=ts, ts_recorded=ts, source="e2e", vertical="perps",
                             venue="bybit", symbol="BTCUSDT", trade_id=tid, price=D(repr(px)),
                             qty=D("0.1"), side="buy" if k % 2 else "sell"))  # fmt: skip
        ts = t + 4 * MIN + 30_000_000_000
        out.append(Ticker(event_id=market_event_id("bybit", "ticker", "BTCUSDT", str(ts)),
                          ts_event=ts, ts_recorded=ts, source="e2e", vertical="perps",
                          venue="bybit", symbol="BTCUSDT", mark_price=D(repr(close)),
                          open_interest=D(level)))  # fmt: skip
    return out


def poly_events(now: int) -> list[Event]:
    """Wallets A and B win 20 resolved markets (smart: score 40 over n = 20), then both buy
    Yes on the Bitcoin market at the 0.50 ask with $5,000 of depth; a CLOB print at 0.50."""
    t = now - 20 * MIN
    out = history((A, B), 20, start=now - 3 * 24 * HOUR)
    out += [
        market("btc", t, QUESTION, price="0.48"),
        book("btc", t + MIN, "0.50"),
        trade("btc", t + 2 * MIN, A, "200", "0.50"),
        trade("btc", t + 3 * MIN, B, "200", "0.50"),
        Trade(event_id=market_event_id("polymarket", "trade", "btc1", "e2e-print"),
              ts_event=t + 4 * MIN, ts_recorded=t + 4 * MIN, source="e2e", vertical="poly",
              venue="polymarket", symbol="btc1", trade_id="e2e-print", price=D("0.50"),
              qty=D("40"), side="buy"),
    ]  # fmt: skip
    return out


async def append(env: dict[str, str], events: list[Event]) -> None:
    async with runtime(load_settings(environ=env)) as rt, MarketAppender(rt.nc) as app:
        await app.append_many(e for e in events if isinstance(e, MarketEvent))  # type: ignore[misc,arg-type]
        stats = await app.flush()
        assert not stats.errors


async def ledger(env: dict[str, str], subjects: str) -> list[Event]:
    async with runtime(load_settings(environ=env)) as rt:
        return [e async for _, e in replay(rt.nc, stream=LEDGER, subjects=subjects)]


@pytest.fixture
def pipeline_env(home: dict[str, str]) -> dict[str, str]:
    return {
        **home,
        # a short OI window so 13 bars are enough (TV-5), and no hourly rankings
        "HELIX_SIGNAL_SPIKE_WINDOW": "8",
        "HELIX_SIGNAL_OI_PCT_MIN": "0.02",
        "HELIX_SIGNAL_RANK_EVERY_MIN": "100000",
        "HELIX_SIGNAL_CLUSTER_SCORE_MIN": "1e9",  # the OI spike is the only perps signal
        # the copy-trader enters only what a perps signal confirmed
        "HELIX_POLY_COPY_KINDS": "hybrid_signal",
    }


def test_oi_spike_and_two_smart_wallets_become_a_hybrid_trade(
    pipeline_env: dict[str, str],
) -> None:
    env = pipeline_env
    now = time.time_ns()
    bars_start = (now // FIVE) * FIVE - 12 * FIVE
    asyncio.run(append(env, perps_bars(bars_start) + poly_events(now)))

    scan = helix("strategies", "run", "--until-caught-up", env=env)
    assert scan.returncode == 0, scan.stderr
    oracle = helix("strategies", "poly", env=env)
    assert oracle.returncode == 0, oracle.stderr
    fuse = helix("strategies", "hybrid", env=env)
    assert fuse.returncode == 0, fuse.stderr

    [spike] = asyncio.run(ledger(env, "ldg.signal.oi_spike.bybit.BTCUSDT"))
    [poly] = asyncio.run(ledger(env, "ldg.signal.poly_signal.polymarket.>"))
    [hybrid] = asyncio.run(ledger(env, "ldg.signal.hybrid_signal.>"))
    assert hybrid.perps_signal_id == str(spike.event_id)  # type: ignore[attr-defined]
    assert hybrid.poly_signal_id == str(poly.event_id)  # type: ignore[attr-defined]
    assert (hybrid.direction, hybrid.outcome, hybrid.token_id) == ("up", "Yes", "btc1")  # type: ignore[attr-defined]
    assert poly.smart_wallets == (A, B)  # type: ignore[attr-defined]
    assert 0 < hybrid.fraction <= 0.10  # type: ignore[attr-defined]

    copy = helix("auto", "poly-copy", "--account", "hyb", env=env)
    assert copy.returncode == 0, copy.stderr
    fills = [
        e for e in asyncio.run(ledger(env, "ldg.es.trading.>")) if type(e).__name__ == "FillBooked"
    ]
    [fill] = fills
    assert (fill.venue, fill.symbol, fill.side, fill.strategy) == (  # type: ignore[attr-defined]
        "polymarket",
        "btc1",
        "buy",
        "hybrid_copy",
    )
    assert fill.price == D("0.50")  # type: ignore[attr-defined]
    # stake = fraction x the paper balance (100,000), in shares at 0.50
    expected_qty = (D(repr(hybrid.fraction)) * 100_000 / D("0.50")).quantize(D("0.01"))  # type: ignore[attr-defined]
    assert abs(fill.qty - expected_qty) <= D("0.01")  # type: ignore[attr-defined]

    roi = helix("poly", "roi", "--account", "hyb", env=env)
    assert roi.returncode == 0, roi.stderr
    row = next(line for line in roi.stdout.splitlines() if "hybrid_copy" in line)
    cost = fill.qty * fill.price  # type: ignore[attr-defined]
    assert re.search(rf"\b{int(cost):,}", row), row  # poly cost deployed in the row
