"""``helix db migrate`` and the two storage paths (hypertables and plain tables)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psycopg
import pytest
from nats.aio.client import Client as NATS

from helix.db.migrate import MIGRATIONS_DIR, discover, migrate
from helix.errors import ConfigError
from projections.candles import QUERY, TIMEFRAMES
from tests.integration.projection_support import lab, publish, synthetic_market, table_hashes
from tests.integration.test_projections import run_all

pytestmark = pytest.mark.integration


@pytest.fixture
def scratch_db(database_url: str) -> Iterator[str]:
    name = f"mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url.rpartition("/")[0] + f"/{name}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrate_is_idempotent_and_recorded(scratch_db: str) -> None:
    first = migrate(scratch_db)
    second = migrate(scratch_db)
    assert first.applied == [f"{m.version:04d}_{m.name}" for m in discover()]
    assert second.applied == []
    assert second.already == len(first.applied)


def test_a_changed_applied_migration_is_refused(scratch_db: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    migrate(scratch_db, folder)
    first = sorted(folder.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after the fact\n")
    with pytest.raises(ConfigError, match="changed after it was applied"):
        migrate(scratch_db, folder)


def test_a_misnamed_migration_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "01-bad name.sql").write_text("SELECT 1;")
    with pytest.raises(ConfigError, match=r"NNNN_name\.sql"):
        discover(tmp_path)


async def test_hypertables_and_plain_tables_give_the_same_read_models(
    nc: NATS, database_url: str
) -> None:
    events = synthetic_market(3_000)
    async with (
        lab(nc, database_url, timescaledb=True) as hyper,
        lab(nc, database_url, timescaledb=False) as plain,
    ):
        for lab_ in (hyper, plain):
            await publish(nc, lab_, events)
            await run_all(nc, lab_)
        conn_h = await asyncpg.connect(hyper.database_url)
        conn_p = await asyncpg.connect(plain.database_url)
        try:
            has_tsdb = await conn_h.fetchval(
                "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
            )
            assert not await conn_p.fetchval(
                "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
            )
            for tf, step in TIMEFRAMES.items():
                args = ("syn", "BTCUSDT", 1000, step, None, None)
                assert await conn_h.fetch(QUERY, *args) == await conn_p.fetch(QUERY, *args), tf
        finally:
            await conn_h.close()
            await conn_p.close()
        assert await table_hashes(hyper.database_url) == await table_hashes(plain.database_url)
    if not has_tsdb:
        pytest.skip("TimescaleDB is not installed here: only the plain-table path ran")
