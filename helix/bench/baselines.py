"""Baselines several benchmarks share."""

from __future__ import annotations

import asyncio
import time

from nats.aio.client import Client as NATS
from nats.js import api


async def bare_ordered_read(nc: NATS, stream: str, subjects: str, n: int) -> float:
    """Messages/s of a bare nats-py ordered push consumer that only counts ``n`` messages: the
    floor no reader of the stream can beat."""
    seen = 0
    done = asyncio.get_running_loop().create_future()

    async def cb(_msg: object) -> None:
        nonlocal seen
        seen += 1
        if seen == n and not done.done():
            done.set_result(None)

    t = time.perf_counter()
    sub = await nc.jetstream().subscribe(
        subjects, stream=stream, cb=cb, ordered_consumer=True,
        deliver_policy=api.DeliverPolicy.ALL, pending_msgs_limit=-1, pending_bytes_limit=-1,
    )  # fmt: skip
    await done
    rate = n / (time.perf_counter() - t)
    await sub.unsubscribe()
    return rate
