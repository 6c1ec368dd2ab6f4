"""Healthchecks of the Helix containers (docker-compose.yml); exit 0 when healthy.

``python deploy/healthcheck.py nats``         NATS at ``HELIX_NATS_URL`` answers with INFO
``python deploy/healthcheck.py projections``  PostgreSQL answers and no projector has failed
``python deploy/healthcheck.py metrics``      the Prometheus endpoint (``HELIX_METRICS_PORT``)
                                              of a feed answers
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request
from urllib.parse import urlsplit


def nats_ok(url: str) -> bool:
    parts = urlsplit(url.split(",")[0].strip())
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), 5) as s:
        return s.recv(4).startswith(b"INFO")


def projections_ok(url: str) -> bool:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT count(*) FROM projection_checkpoints WHERE state = 'failed'"
        ).fetchone()
    return row is not None and row[0] == 0


def metrics_ok(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return bool(resp.status == 200)


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) > 1 else ""
    try:
        if what == "nats":
            ok = nats_ok(os.environ["HELIX_NATS_URL"])
        elif what == "projections":
            ok = projections_ok(os.environ["HELIX_DATABASE_URL"])
        elif what == "metrics":
            ok = metrics_ok(int(os.environ.get("HELIX_METRICS_PORT") or 9464))
        else:
            print("usage: healthcheck.py nats|projections|metrics", file=sys.stderr)
            return 2
    except Exception as exc:  # any failure is "unhealthy", with the reason in docker inspect
        print(f"unhealthy: {exc!r}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
