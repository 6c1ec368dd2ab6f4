"""A projector in its own process, for kill -9 tests: ``python -m ... STREAM PREFIX DB NATS``."""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from helix.store.connect import connect
from projections.runner import ProjectionRunner
from tests.integration.projection_support import Lab


async def main(stream: str, prefix: str, db_url: str, nats_url: str, batch: int) -> None:
    nc = await connect(nats_url)
    conn = await asyncpg.connect(db_url)
    lab_ = Lab(stream, prefix, db_url)
    for p in lab_.projectors().values():
        await ProjectionRunner(nc=nc, conn=conn, projector=p, batch=batch).run()
    await conn.close()
    await nc.close()


if __name__ == "__main__":
    stream, prefix, db_url, nats_url, batch = sys.argv[1:6]
    asyncio.run(main(stream, prefix, db_url, nats_url, int(batch)))
