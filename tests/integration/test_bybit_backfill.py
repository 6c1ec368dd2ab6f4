"""``helix backfill bybit`` against the fake Bybit: counts, rate limits, resuming."""

from __future__ import annotations

import pytest
from nats.aio.client import Client as NATS

from events.market import Kline, Ticker
from helix.clock import SystemClock
from helix.feeds.bybit.backfill import backfill
from helix.feeds.bybit.rest import BybitRest
from helix.store.replay import replay_batches
from helix.testing.fake_bybit import FakeBybit
from tests.integration.projection_support import Lab, lab

pytestmark = pytest.mark.integration

MIN = 60_000
START = 1_735_689_600_000  # the fake's start; it has three days of history before it


async def stored(nc: NATS, a: Lab, kind: str) -> list[object]:
    out: list[object] = []
    async for batch in replay_batches(nc, subjects=f"{a.prefix}.bybit.{kind}.>", stream=a.stream):
        out.extend(e for _, e in batch)
    return out


async def test_a_day_of_history_with_rate_limits(nc: NATS, database_url: str) -> None:
    async with lab(nc, database_url) as a:
        with FakeBybit(symbols=("BTCUSDT",)) as fake:
            rest = BybitRest(fake.url)
            fake.rate_limit_next(2)
            results = {
                kind: await backfill(
                    nc,
                    rest,
                    symbol="BTCUSDT",
                    kind=kind,
                    start_ms=START - 1440 * MIN,
                    end_ms=START,
                    clock=SystemClock(),
                    subject_prefix=a.prefix,
                )
                for kind in ("klines", "oi", "funding")
            }
            limited = fake.stats.rate_limited
        bars = [e for e in await stored(nc, a, "kline") if isinstance(e, Kline)]
        tickers = [e for e in await stored(nc, a, "ticker") if isinstance(e, Ticker)]
    assert limited == 2
    assert results["klines"].events == len(bars) == 1440
    starts = [b.start for b in bars]
    assert starts == sorted(starts)
    assert starts[0] == (START - 1440 * MIN) * 1_000_000
    assert sum(1 for t in tickers if t.open_interest is not None) == results["oi"].events == 288
    assert sum(1 for t in tickers if t.funding_rate is not None) == results["funding"].events == 3


async def test_an_interrupted_backfill_resumes_where_it_stopped(
    nc: NATS, database_url: str
) -> None:
    span = (START - 2000 * MIN, START)

    def interrupt_after_first(done: int, total: int) -> None:
        raise KeyboardInterrupt

    async with lab(nc, database_url) as a:
        with FakeBybit(symbols=("ETHUSDT",)) as fake:
            rest = BybitRest(fake.url)
            with pytest.raises(KeyboardInterrupt):
                await backfill(
                    nc, rest, symbol="ETHUSDT", kind="klines", start_ms=span[0], end_ms=span[1],
                    clock=SystemClock(), subject_prefix=a.prefix, on_window=interrupt_after_first,
                )  # fmt: skip
            again = await backfill(
                nc, rest, symbol="ETHUSDT", kind="klines", start_ms=span[0], end_ms=span[1],
                clock=SystemClock(), subject_prefix=a.prefix,
            )  # fmt: skip
        bars = [e for e in await stored(nc, a, "kline") if isinstance(e, Kline)]
    assert again.resumed_from_ms == span[0] + 1000 * MIN
    assert again.events == 1000
    assert len(bars) == len({b.start for b in bars}) == 2000
