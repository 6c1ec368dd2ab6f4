"""The copy-trader's shell: signals from ``LEDGER``, Polymarket events from ``MARKET``, orders
through the execution service.

``helix auto poly-copy`` runs :func:`run_copy`:

* without ``--follow`` it builds the service in-process (as a ``helix trade`` command does
  when no service runs), reads every Polymarket and hybrid signal in the ledger and the
  Polymarket market events since its last run, places what the copy-trader decides, and stops;
* with ``--follow`` it runs the execution service itself (:func:`helix.trading.runtime.serve`:
  commands over NATS, paper fills from the live market) and keeps following both logs, like
  ``helix trade serve --autotrade`` does for the perps auto-trader.  Do not run it next to a
  separate ``helix trade serve``: the ledger has one writer.

Signals are always read from the start of the ledger: the trader is rebuilt from the entries
already in the book, and command ids derived from the signals make every repeat a duplicate
the service ignores.  The market position (the last Polymarket event seen) is kept in the
``helix_poly_copy`` key-value bucket, so a smart wallet's sell while the trader was stopped
still causes its exit step.  Before each decision the service's queue is drained, so the
trader decides on the book as of that event.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError

from commands.orders import PlaceOrder
from events.base import Event
from helix.bootstrap import Runtime
from helix.settings import Settings
from helix.store.replay import replay_batches
from helix.store.streams import LEDGER, MARKET
from helix.strategies.poly_copy import PolyCopyConfig, PolyCopyTrader
from helix.trading.runtime import running_service, serve
from helix.trading.service import ExecutionService

BUCKET = "helix_poly_copy"
SIGNAL_SUBJECTS = ["ldg.signal.poly_signal.>", "ldg.signal.hybrid_signal.>"]
MARKET_SUBJECTS = [
    "mkt.polymarket.wtrade.>",
    "mkt.polymarket.trade.>",
    "mkt.polymarket.book.>",
    "mkt.polymarket.resolved.>",
]


@dataclass
class CopyStats:
    """What one run did."""

    signals: int = 0
    market: int = 0
    orders: int = 0
    duplicates: int = 0
    ledger_seq: int = 0
    market_seq: int = 0


class CopyFollower:
    """The copy-trader wired to one execution service (signals and market events in)."""

    def __init__(self, svc: ExecutionService, trader: PolyCopyTrader) -> None:
        self.svc = svc
        self.trader = trader
        self.stats = CopyStats()

    async def _execute(self, cmds: list[PlaceOrder]) -> None:
        for cmd in cmds:
            res = await self.svc.execute(cmd)
            if res.duplicate:
                self.stats.duplicates += 1
            else:
                self.stats.orders += 1

    async def on_signal(self, seq: int, event: Event, *, now_ns: int) -> None:
        svc, cfg = self.svc, self.trader.cfg
        self.stats.signals += 1
        self.stats.ledger_seq = seq
        await svc.queue.join()
        cmds = self.trader.on_signal(
            event, book=svc.book, marks=svc.marks, instruments=svc.instruments,
            equity=svc.equity(cfg.account, "live" if cfg.live else "paper"), now_ns=now_ns,
        )  # fmt: skip
        await self._execute(cmds)

    async def on_market(self, seq: int, event: Event) -> None:
        svc = self.svc
        self.stats.market += 1
        self.stats.market_seq = seq
        await svc.queue.join()
        cmds = self.trader.on_market(
            event, book=svc.book, marks=svc.marks, instruments=svc.instruments
        )
        await self._execute(cmds)


def _key(account: str) -> str:
    return "market." + re.sub(r"[^A-Za-z0-9_-]", "_", account)


async def load_position(nc: NATS, account: str) -> int | None:
    """The last ``MARKET`` sequence the copy-trader of ``account`` saw (None: never ran)."""
    try:
        kv = await nc.jetstream().key_value(BUCKET)
        entry = await kv.get(_key(account))
    except (BucketNotFoundError, KeyNotFoundError, NotFoundError):
        return None
    return int(entry.value or b"0")


async def save_position(nc: NATS, account: str, seq: int) -> None:
    js = nc.jetstream()
    try:
        kv = await js.key_value(BUCKET)
    except (BucketNotFoundError, NotFoundError):
        kv = await js.create_key_value(bucket=BUCKET, history=1)
    await kv.put(_key(account), str(seq).encode())


async def catch_up(
    follower: CopyFollower, nc: NATS, *, market_start: int, now_ns: int
) -> tuple[int, int]:
    """Every signal in the ledger, then the Polymarket events from ``market_start`` to the head;
    returns the next (ledger, market) sequences to read."""
    ledger_next = 1
    async for batch in replay_batches(nc, subjects=SIGNAL_SUBJECTS, stream=LEDGER):
        for seq, event in batch:
            await follower.on_signal(seq, event, now_ns=now_ns)
            ledger_next = seq + 1
    market_next = market_start
    async for batch in replay_batches(
        nc, subjects=MARKET_SUBJECTS, stream=MARKET, start_seq=market_start
    ):
        for seq, event in batch:
            await follower.on_market(seq, event)
            market_next = seq + 1
    return ledger_next, market_next


async def follow_live(
    follower: CopyFollower, nc: NATS, *, ledger_start: int, market_start: int, account: str
) -> None:
    """Both logs live (one consumer, so decisions never interleave) until cancelled."""
    queue: asyncio.Queue[tuple[str, list[tuple[int, Event]]]] = asyncio.Queue(maxsize=16)

    async def read(tag: str, stream: str, subjects: list[str], start: int) -> None:
        async for batch in replay_batches(
            nc, subjects=subjects, stream=stream, start_seq=start, live=True
        ):
            await queue.put((tag, batch))

    readers = [
        asyncio.create_task(read("ledger", LEDGER, SIGNAL_SUBJECTS, ledger_start)),
        asyncio.create_task(read("market", MARKET, MARKET_SUBJECTS, market_start)),
    ]
    try:
        while True:
            tag, batch = await queue.get()
            for seq, event in batch:
                if tag == "ledger":
                    await follower.on_signal(seq, event, now_ns=time.time_ns())
                else:
                    await follower.on_market(seq, event)
            if tag == "market":
                await save_position(nc, account, batch[-1][0])
    finally:
        for r in readers:
            r.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


async def _start(nc: NATS, account: str) -> int:
    saved = await load_position(nc, account)
    if saved is not None:
        return saved + 1
    info = await nc.jetstream().stream_info(MARKET)
    return info.state.last_seq + 1  # first run: from now on


async def run_copy(
    rt: Runtime,
    settings: Settings,
    config: PolyCopyConfig,
    *,
    follow: bool = False,
    stop: asyncio.Event | None = None,
) -> CopyStats:
    """Run the copy-trader once (to the heads of both logs) or, with ``follow``, until ``stop``.

    Raises:
        HelixError: the service could not start (e.g. live trading without keys).
    """
    trader = PolyCopyTrader(config)
    market_start = await _start(rt.nc, config.account)
    if not follow:
        async with running_service(rt, settings) as svc:
            follower = CopyFollower(svc, trader)
            _, market_next = await catch_up(
                follower, rt.nc, market_start=market_start, now_ns=time.time_ns()
            )
            await svc.queue.join()
        await save_position(rt.nc, config.account, market_next - 1)
        return follower.stats

    stop = stop or asyncio.Event()
    holder: dict[str, CopyFollower] = {}
    tasks: list[asyncio.Task[None]] = []

    async def ready(svc: ExecutionService) -> None:
        follower = holder["f"] = CopyFollower(svc, trader)

        async def run() -> None:
            ledger_next, market_next = await catch_up(
                follower, rt.nc, market_start=market_start, now_ns=time.time_ns()
            )
            await save_position(rt.nc, config.account, market_next - 1)
            await follow_live(follower, rt.nc, ledger_start=ledger_next,
                              market_start=market_next, account=config.account)  # fmt: skip

        task = asyncio.create_task(run(), name="poly-copy")
        task.add_done_callback(lambda _t: stop.set())  # a failure stops the service too
        tasks.append(task)

    try:
        await serve(rt, settings, stop=stop, on_ready=ready)
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
    return holder["f"].stats if holder else CopyStats()
