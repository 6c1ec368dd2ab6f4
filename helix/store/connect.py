"""Connecting to NATS with Helix's options, errors translated."""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client as NATS

from helix.errors import ServiceUnavailable
from helix.store.parser import install as install_parser


def server_list(url: str) -> list[str]:
    """The servers in ``url``: one URL, or several comma-separated (the nodes of a cluster)."""
    return [u.strip() for u in url.split(",") if u.strip()]


async def connect(url: str, *, name: str = "helix", **options: Any) -> NATS:
    """Connect with reconnects on, large pending buffers and short waits.

    ``url`` may list several comma-separated servers: the client connects to one and, when it
    goes away, reconnects to another (and to the servers the cluster advertises), so a
    publisher rides through the loss of a node.

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
        # A frozen server (SIGSTOP, a paused VM, a half-open TCP connection) keeps its socket
        # open; pings find it within ~10 s (the default, 2 minutes x 2, is far too slow).
        "ping_interval": 3,
        "max_outstanding_pings": 3,
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
        await nc.connect(server_list(url), **opts)
    except Exception as exc:  # nats raises a zoo of types (OSError, NoServersError, timeouts)
        raise ServiceUnavailable(f"cannot connect to NATS at {url}: {exc!r}") from exc
    return nc
