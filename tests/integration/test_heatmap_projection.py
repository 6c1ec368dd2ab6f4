"""The heatmap read model on real NATS + PostgreSQL: equal to the pure model, late data."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import numpy as np
import pytest
from nats.aio.client import Client as NATS

from events.base import Event
from events.market import Trade, market_event_id
from helix.quant.windows import BASE_INTERVAL_NS, WINDOWS, bar_arrays, compute_window
from helix.sim.market import SimConfig, simulate
from helix.strategies.bars import fold_bars
from projections.heatmap import load_heatmap, window_end
from projections.runner import ProjectionRunner
from tests.integration.projection_support import lab, publish

pytestmark = pytest.mark.integration


def reference(events: list[Event], symbol: str, window: str):  # type: ignore[no-untyped-def]
    """The heatmap computed in memory from the same events, without the database."""
    bars = fold_bars(list(enumerate(events, start=1)), BASE_INTERVAL_NS)
    mine = sorted((b for b in bars.values() if b.symbol == symbol), key=lambda b: b.start)
    rows = [
        (b.start, b.open, b.high, b.low, b.close, *b.volumes, float(b.buy_quote),
         float(b.sell_quote), b.oi, float(b.liq_long_usd), float(b.liq_short_usd))
        for b in mine
    ]  # fmt: skip
    spec = WINDOWS[window]
    last = max(b.last_ts for b in mine)
    return compute_window(bar_arrays(rows), spec, window_end(last, spec))


async def project(nc: NATS, url: str, projector: object, batch: int) -> int:
    conn = await asyncpg.connect(url)
    try:
        runner = ProjectionRunner(nc=nc, conn=conn, projector=projector, batch=batch)  # type: ignore[arg-type]
        return (await runner.run(until_caught_up=True)).events
    finally:
        await conn.close()


async def stored(url: str, venue: str, symbol: str, window: str):  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(url)
    try:
        return await load_heatmap(conn, venue, symbol, window)
    finally:
        await conn.close()


async def test_the_read_model_equals_the_model_and_follows_late_data(
    nc: NATS, database_url: str
) -> None:
    events: list[Event] = list(simulate(SimConfig(seed=3, duration_s=5 * 3600)))
    async with lab(nc, database_url) as a:
        p = a.projectors()["heatmap"]
        await publish(nc, a, events)  # type: ignore[arg-type]
        assert await project(nc, a.database_url, p, batch=1500) == len(events)
        for window in ("12h", "3d", "30d"):
            got = await stored(a.database_url, "sim", "BTCUSDT", window)
            want = reference(events, "BTCUSDT", window)
            assert got is not None
            assert want is not None
            assert got.end_ns == want.end_ns
            assert got.start_ns == want.start_ns
            np.testing.assert_array_equal(got.column_ts, want.column_ts)
            np.testing.assert_allclose(got.long, want.long, rtol=1e-12, atol=1e-6)
            np.testing.assert_allclose(got.short, want.short, rtol=1e-12, atol=1e-6)
            np.testing.assert_array_equal(got.close, want.close)
            assert [c["price"] for c in got.clusters] == pytest.approx(
                [c.cluster.price for c in want.clusters[:10]]
            )
            assert got.long.sum() > 0

        # A print for an early, already-drawn bar arrives late: a wick far below everything.
        first = next(e for e in events if isinstance(e, Trade) and e.symbol == "BTCUSDT")
        ts = first.ts_event + 60_000_000_000
        low = Decimal("80000.0")
        late = Trade(
            event_id=market_event_id("sim", "trade", "BTCUSDT", "late-1"),
            ts_event=ts, ts_recorded=ts, source="test", vertical="perps", venue="sim",
            symbol="BTCUSDT", trade_id="late-1", price=low, qty=Decimal("0.001"), side="sell",
        )  # fmt: skip
        before = await stored(a.database_url, "sim", "BTCUSDT", "12h")
        await publish(nc, a, [late])
        assert await project(nc, a.database_url, p, batch=1500) == 1
        after = await stored(a.database_url, "sim", "BTCUSDT", "12h")
        want = reference([*events, late], "BTCUSDT", "12h")
        assert before is not None
        assert after is not None
        assert want is not None
        assert after.low.min() == float(low) != before.low.min()
        assert after.edges[0] == pytest.approx(0.88 * float(low))  # the price axis followed
        np.testing.assert_allclose(after.long, want.long, rtol=1e-12, atol=1e-6)
        assert not np.array_equal(after.long, before.long)  # re-binned on the new axis
