"""Connecting to NATS with Helix's options, errors translated."""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client as NATS

from helix.errors import ServiceUnavailable
from helix.store.parser import install as install_parser


async def connect(url: str, *, name: str = "helix", **options: Any) -> NATS:
    """Connect with reconnects on, large pending buffers and short waits.

    Raises:
        ServiceUnavailable: the server cannot be reached.
    """
    opts: dict[str, Any] = {
        "name": name,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.25,
        "connect_timeout": 5,
        "pending_size": 64 * 1024 * 1024,
        "flush_timeout": 30,
        "allow_reconnect": True,
    }
    opts.update(options)

    async def _quiet(
        exc: Exception,
    ) -> None:  # reconnect noise is expected; errors surface elsewhere
        return None

    opts.setdefault("error_cb", _quiet)
    nc = NATS()
    install_parser(nc)
    try:
        await nc.connect(url, **opts)
    except Exception as exc:  # nats raises a zoo of types (OSError, NoServersError, timeouts)
        raise ServiceUnavailable(f"cannot connect to NATS at {url}: {exc!r}") from exc
    return nc
