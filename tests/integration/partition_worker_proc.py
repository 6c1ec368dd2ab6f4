"""One projector worker in its own process, for kill -9 tests:
``python -m tests.integration.partition_worker_proc STREAM PREFIX DB NATS PROJECTOR PART N BATCH``.
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from helix.store.connect import connect
from projections.runner import ProjectionRunner
from tests.integration.projection_support import Lab


async def main(args: list[str]) -> None:
    stream, prefix, db_url, nats_url, name, part, n, batch = args
    nc = await connect(nats_url)
    conn = await asyncpg.connect(db_url)
    p = Lab(stream, prefix, db_url).projectors()[name]
    runner = ProjectionRunner(
        nc=nc, conn=conn, projector=p, part=int(part), partitions=int(n), batch=int(batch)
    )
    await runner.run()
    await conn.close()
    await nc.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:9]))
