"""``helix bench feed``: trades/s the Bybit adapter parses and appends from one connection.

A local fake Bybit (:mod:`helix.testing.fake_bybit`, in its own process, as the exchange
would be) pushes trades as fast as it can over one
WebSocket in frames of up to 200 (Bybit sends up to 1,024); the clock runs from the first
trade served to the last one acknowledged by JetStream.  The baseline is bare ``pybit`` on the
same fake: a callback that only counts trades (JSON decoding and pybit's routing included).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable

from nats.js.errors import NotFoundError
from pybit import unified_trading

from helix.bench.report import Figure
from helix.clock import SystemClock
from helix.feeds.bybit.feed import BybitFeed
from helix.feeds.bybit.rest import BybitRest
from helix.store.connect import connect
from helix.store.streams import StreamSpec, ensure_stream
from helix.testing.fake_bybit_process import FakeBybitProcess

STREAM, PREFIX = "BENCH_FEED", "bf"


def bare_pybit_rate(fake: FakeBybitProcess, n: int) -> float:
    """Trades/s a pybit callback that only counts them receives from the fake."""
    got = 0
    done = threading.Event()
    first: list[float] = []

    def on_trades(frame: dict[str, object]) -> None:
        nonlocal got
        if not first:
            first.append(time.perf_counter())
        got += len(frame["data"])  # type: ignore[arg-type]
        if got >= n:
            done.set()

    saved = unified_trading.PUBLIC_WSS
    unified_trading.PUBLIC_WSS = fake.ws_url
    try:
        ws = unified_trading.WebSocket(channel_type="linear", testnet=False)
    finally:
        unified_trading.PUBLIC_WSS = saved
    try:
        ws.trade_stream(symbol="BTCUSDT", callback=on_trades)
        time.sleep(0.3)
        fake.play(n, per_frame=200)
        done.wait(120)
        return got / (time.perf_counter() - first[0])
    finally:
        ws.exit()


async def run_feed_bench(
    nats_url: str, *, trades: int = 200_000, progress: Callable[[str], None] = print
) -> list[Figure]:
    nc = await connect(nats_url, name="helix-bench-feed")
    js = nc.jetstream()
    try:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(STREAM)
        await ensure_stream(
            js, StreamSpec(name=STREAM, subjects=(f"{PREFIX}.>",), persist_async=True)
        )
        with FakeBybitProcess() as fake:
            progress(f"feed: {trades:,} trades through pybit + Helix ...")
            feed = BybitFeed(
                nc=nc, rest=BybitRest(fake.url), ws_url=fake.ws_url, symbols=["BTCUSDT"],
                clock=SystemClock(), subject_prefix=PREFIX, dlq_subject="dlq.bench.feed",
            )  # fmt: skip
            stop = asyncio.Event()
            st = feed.stats.symbols["BTCUSDT"]
            feed.on_stats = lambda _s: stop.set() if st.trades >= trades else None
            task = asyncio.create_task(feed.run(stop))
            for _ in range(400):  # subscribed within 20 s
                if await asyncio.to_thread(fake.subscriptions) >= 4:
                    break
                await asyncio.sleep(0.05)
            t = time.perf_counter()
            fake.play(trades, per_frame=200)
            await task  # flushes: every trade acked by JetStream
            ours = trades / (time.perf_counter() - t)
        with FakeBybitProcess() as fake:
            progress("baseline: bare pybit callback ...")
            bare = await asyncio.to_thread(bare_pybit_rate, fake, trades)
    finally:
        with contextlib.suppress(Exception):
            await js.delete_stream(STREAM)
        await nc.close()
    return [
        Figure(
            "feed: trades parsed + appended (1 connection)",
            ours,
            bare,
            "bare pybit callback, count only",
            "trades/s",
            ">= 50,000/s",
        )
    ]
