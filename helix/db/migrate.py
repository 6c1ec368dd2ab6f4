"""Numbered SQL migrations from ``migrations/``, recorded in ``helix_migrations``.

``NNNN_name.sql`` files are applied in order, each in its own transaction, under an advisory
lock (two migrators never interleave).  An applied file whose content changed is refused:
write a new migration instead.  TimescaleDB is enabled first when the server has it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from helix.errors import ConfigError, InfrastructureError, ServiceUnavailable

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x48454C4958  # "HELIX"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationReport:
    applied: list[str]
    already: int
    timescaledb: bool


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in ``directory``, in order.

    Raises:
        ConfigError: a file name does not follow ``NNNN_name.sql`` or a version repeats.
    """
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise ConfigError(f"migration file {path.name} is not named NNNN_name.sql")
        version = int(m.group(1))
        if version in found:
            raise ConfigError(f"two migrations with version {version:04d}")
        found[version] = Migration(version, m.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def enable_timescaledb(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """``CREATE EXTENSION timescaledb`` when the server can load it; True if it is on."""
    row = conn.execute(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    preload = conn.execute("SHOW shared_preload_libraries").fetchone()
    if row and row[0] and preload and "timescaledb" in str(preload[0]):
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    on = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return on is not None


def _up_to_date(
    conn: psycopg.Connection[tuple[object, ...]], migrations: list[Migration]
) -> MigrationReport | None:
    """The report when every migration is applied unchanged (None: there is work, or doubt)."""
    if conn.execute("SELECT to_regclass('helix_migrations')").fetchone() == (None,):
        return None
    done = {
        int(v): str(c)  # type: ignore[call-overload]
        for v, c in conn.execute("SELECT version, checksum FROM helix_migrations")
    }
    if any(done.get(m.version) != m.checksum for m in migrations):
        return None  # pending or changed: the locked path applies or refuses
    on = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return MigrationReport(applied=[], already=len(done), timescaledb=on is not None)


def migrate(
    database_url: str, directory: Path = MIGRATIONS_DIR, *, timescaledb: bool = True
) -> MigrationReport:
    """Apply pending migrations (``timescaledb=False`` keeps plain tables even where the
    extension could be enabled: tests use it to check both paths give the same results).

    Raises:
        ConfigError: an applied migration's file changed, or files are misnamed.
        ServiceUnavailable: PostgreSQL cannot be reached.
        InfrastructureError: a migration failed (its transaction is rolled back).
    """
    migrations = discover(directory)
    try:
        conn = psycopg.connect(database_url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise ServiceUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    with conn:
        up_to_date = _up_to_date(conn, migrations)
        if up_to_date is not None:  # nothing to do: no DDL, so a role without it may call this
            return up_to_date
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            tsdb = enable_timescaledb(conn) if timescaledb else False
            conn.execute(
                "CREATE TABLE IF NOT EXISTS helix_migrations ("
                " version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                int(v): str(c)
                for v, c in conn.execute("SELECT version, checksum FROM helix_migrations")
            }
            applied = []
            for m in migrations:
                if m.version in done:
                    if done[m.version] != m.checksum:
                        raise ConfigError(
                            f"migration {m.version:04d}_{m.name} was changed after it was "
                            "applied; add a new migration instead"
                        )
                    continue
                try:
                    with conn.transaction():
                        conn.execute(m.sql.encode())  # type: ignore[arg-type]
                        conn.execute(
                            "INSERT INTO helix_migrations (version, name, checksum)"
                            " VALUES (%s, %s, %s)",
                            (m.version, m.name, m.checksum),
                        )
                except psycopg.Error as exc:
                    raise InfrastructureError(
                        f"migration {m.version:04d}_{m.name} failed: {exc}"
                    ) from exc
                applied.append(f"{m.version:04d}_{m.name}")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return MigrationReport(applied=applied, already=len(done), timescaledb=tsdb)
