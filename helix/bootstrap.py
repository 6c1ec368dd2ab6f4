"""The composition root: settings -> services -> connections, handed to whoever needs them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from nats.aio.client import Client as NATS

from helix.codec import Codec
from helix.services.manager import Endpoints, Services
from helix.settings import Settings
from helix.store.connect import connect
from helix.store.streams import ensure_streams


def endpoints(settings: Settings, *, start: bool = True) -> Endpoints:
    """URLs of NATS and PostgreSQL; starts the embedded ones when configured URLs are absent."""
    services = Services(settings)
    return services.up() if start else services.endpoints()


@dataclass
class Runtime:
    settings: Settings
    endpoints: Endpoints
    nc: NATS
    codec: Codec


@asynccontextmanager
async def runtime(settings: Settings, *, streams: bool = True) -> AsyncIterator[Runtime]:
    """Services up, NATS connected, streams ensured; closes the connection on exit.

    ``stream_replicas`` 0 (automatic) is resolved here from the services: 3 on an embedded
    cluster, else 1.
    """
    import asyncio

    import msgspec

    ends = await asyncio.to_thread(endpoints, settings)
    if settings.stream_replicas <= 0:
        settings = msgspec.structs.replace(settings, stream_replicas=ends.stream_replicas)
    nc = await connect(ends.nats_url, name="helix")
    try:
        if streams:
            await ensure_streams(nc.jetstream(), settings)
        yield Runtime(settings=settings, endpoints=ends, nc=nc, codec=Codec())
    finally:
        await nc.close()
