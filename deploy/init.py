"""The docker compose stack's one-shot start-up job (service ``init``); idempotent.

1. ``helix db migrate`` as the schema owner (``HELIX_DATABASE_URL``, POSTGRES_USER): the
   read models and the roles ``helix_reader`` / ``helix_projector`` (``0007_roles.sql``);
2. the roles' passwords from ``HELIX_READER_PASSWORD`` / ``HELIX_PROJECTOR_PASSWORD`` (set at
   every start, so changing ``.env`` rotates them);
3. the MARKET, LEDGER and DLQ streams with ``HELIX_STREAM_REPLICAS`` replicas (1, or 3 on the
   cluster profile), Helix's own stream config otherwise; existing streams are scaled to that
   many replicas.  While a cluster forms (no meta leader, too few peers) it retries.

The Helix services start after it succeeds (``depends_on: service_completed_successfully``).
Run it by hand with ``python deploy/init.py`` and the same variables.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Mapping

import psycopg
from nats.js.errors import NotFoundError
from psycopg import sql

from helix.db.migrate import migrate
from helix.settings import Settings, load_settings
from helix.store.connect import connect
from helix.store.streams import all_specs, ensure_streams

ROLE_PASSWORDS = {
    "helix_reader": "HELIX_READER_PASSWORD",
    "helix_projector": "HELIX_PROJECTOR_PASSWORD",
}


def set_role_passwords(database_url: str, env: Mapping[str, str]) -> list[str]:
    """``ALTER ROLE ... PASSWORD`` for each role whose variable is set; the roles changed."""
    changed = []
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn:
        for role, var in ROLE_PASSWORDS.items():
            password = env.get(var, "")
            if not password:
                continue
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
            changed.append(role)
    return changed


async def ensure_replicated_streams(
    nats_url: str, settings: Settings, replicas: int, *, timeout: float = 180.0
) -> dict[str, int]:
    """Create or scale MARKET, LEDGER and DLQ to ``replicas``, then check them as Helix does
    (``ensure_streams``); stream name -> replicas."""
    nc = await connect(nats_url, name="helix-init")
    js = nc.jetstream()
    deadline = time.monotonic() + timeout
    out: dict[str, int] = {}
    try:
        for spec in all_specs(settings):
            while True:
                try:
                    try:
                        info = await js.stream_info(spec.name)
                    except NotFoundError:
                        cfg = spec.config()
                        cfg.num_replicas = replicas
                        info = await js.add_stream(cfg)
                    if (info.config.num_replicas or 1) != replicas:
                        info.config.num_replicas = replicas
                        info = await js.update_stream(info.config)
                    out[spec.name] = int(info.config.num_replicas or 1)
                    break
                except Exception as exc:  # a forming cluster answers with many kinds of errors
                    if time.monotonic() > deadline:
                        raise
                    print(f"  {spec.name}: {exc!r}; retrying", flush=True)
                    await asyncio.sleep(2)
        await ensure_streams(js, settings)
    finally:
        await nc.close()
    return out


def main() -> int:
    settings = load_settings()
    if not settings.database_url or not settings.nats_url:
        print("init: set HELIX_DATABASE_URL (the schema owner) and HELIX_NATS_URL", file=sys.stderr)
        return 2
    report = migrate(settings.database_url)
    applied = ", ".join(report.applied) or "nothing new"
    print(f"migrations: applied {applied}; {report.already} already applied", flush=True)
    roles = set_role_passwords(settings.database_url, os.environ)
    print(f"role passwords set: {', '.join(roles) or 'none (no *_PASSWORD variables)'}")
    replicas = int(os.environ.get("HELIX_STREAM_REPLICAS") or 1)
    streams = asyncio.run(ensure_replicated_streams(settings.nats_url, settings, replicas))
    print("streams: " + ", ".join(f"{name} R{n}" for name, n in streams.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
