"""Every dashboard query against the real read models, filled the way a user fills them.

A fresh ``HELIX_HOME`` gets ``helix demo --hours 3`` (embedded NATS and PostgreSQL, three
simulated hours of 2025-01-01 and the simulated Polymarket month before it, projections,
perps, Polymarket and hybrid signals, the copy-trader's paper fills), a few paper trades
through ``helix trade`` and ``helix strategies run``.  Then each variable, annotation and panel
query is expanded the way Grafana expands it (helix/grafana/macros.py) and run as
``helix_reader``: it must succeed and return rows.  The roles of migrations/0007_roles.sql are
checked on the same database, and the compose stack's start-up job (deploy/init.py) and
healthchecks run against it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from helix.grafana.check import DashboardCheck, QueryResult, check_all, connect
from helix.grafana.dashboards import as_role, load_dashboards, queries
from tests.e2e.test_cli import helix

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = load_dashboards()
LABELS = [q.label for d in DASHBOARDS for q in queries(d)]

READ_MODELS = {
    "projection_checkpoints", "candles_1m", "open_interest", "funding", "liquidations",
    "liquidations_1m", "heatmap_bars", "heatmaps", "heatmap_columns", "heatmap_clusters",
    "heatmap_cells", "signals", "orders", "order_commands_rejected", "fills", "positions",
    "funding_payments", "pnl_daily", "accounts", "position_marks", "pnl_daily_with_unrealized",
    "backtest_runs", "backtest_equity", "fund_nav", "fund_members", "fund_affiliates",
    "fund_member_equity", "poly_markets", "poly_tokens", "wallet_positions",
    "poly_prices_hourly", "wallets", "wallet_clusters", "wallet_scores", "poly_positions",
    "poly_position_marks", "hybrid_roi", "projection_partitions",
}  # fmt: skip
PRIVATE = {
    "helix_migrations", "heatmap_markets", "wallet_entries", "wallet_markets", "wallet_tokens",
    "wallet_marks", "hybrid_position_strategy",
}  # fmt: skip


@dataclass(frozen=True)
class Demo:
    env: dict[str, str]
    nats_url: str
    owner_url: str

    @property
    def reader_url(self) -> str:
        return as_role(self.owner_url, "helix_reader")

    @property
    def projector_url(self) -> str:
        return as_role(self.owner_url, "helix_projector")


def _ok(*args: str, env: dict[str, str]) -> str:
    res = helix(*args, env=env, timeout=300)
    assert res.returncode == 0, f"helix {' '.join(args)}: {res.stderr}"
    return res.stdout


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    home = tempfile.mkdtemp(prefix="helix-grafana-")
    os.chmod(home, 0o755)
    env = {"HELIX_HOME": home, "HELIX_NATS_URL": "", "HELIX_DATABASE_URL": ""}
    try:
        _ok("demo", "--hours", "3", env=env)
        _ok("trade", "buy", "sim", "BTCUSDT", "0.01", "--sl", "92000", "--tp", "98000",
            "--strategy", "trend", env=env)  # fmt: skip
        _ok("trade", "buy", "sim", "ETHUSDT", "0.5", "--strategy", "meanrev", env=env)
        _ok("trade", "sell", "sim", "ETHUSDT", "0.2", "--strategy", "meanrev", env=env)
        _ok("trade", "buy", "sim", "BTCUSDT", "0.01", "--limit", "93000", env=env)
        _ok("strategies", "run", "--until-caught-up", env=env)
        _ok("fund", "member", "add", "alice", "--kyc", "K1", "--affiliate", "carol", env=env)
        _ok("fund", "deposit", "alice", "10000", env=env)
        _ok("fund", "nav", "--strike", env=env)
        _ok("fund", "fees", "--crystallise", "--days", "30", env=env)
        _ok("projections", "run", "--until-caught-up", env=env)
        lines = _ok("services", "env", env=env).splitlines()
        nats_url = lines[0].split("=", 1)[1]
        database_url = lines[1].split("=", 1)[1]
        yield Demo(env, nats_url, database_url)
    finally:
        helix("services", "down", env=env)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def checks(demo: Demo) -> list[DashboardCheck]:
    return check_all(demo.reader_url, DASHBOARDS, now=datetime.now(UTC))


def _result(checks: list[DashboardCheck], label: str) -> QueryResult:
    return next(r for c in checks for r in c.results if r.query.label == label)


@pytest.mark.parametrize("label", LABELS)
def test_query_returns_rows_as_the_read_only_role(checks: list[DashboardCheck], label: str) -> None:
    r = _result(checks, label)
    assert r.ok, f"{r.error}\n{r.sql}"
    assert r.rows > 0, f"no rows:\n{r.sql}"
    assert "$" not in r.sql, r.sql  # every variable and macro was expanded


def test_variables_take_the_demo_values(checks: list[DashboardCheck]) -> None:
    by_uid = {c.uid: c for c in checks}
    heatmap = by_uid["helix-heatmap"].variables
    assert (heatmap["venue"].values, heatmap["symbol"].values) == (("sim",), ("BTCUSDT",))
    assert heatmap["window"].values == ("24h",)
    kinds = by_uid["helix-signals"].variables["kind"]
    assert kinds.selected_all
    assert set(kinds.values) >= {"stop_hunt", "liquidation_imbalance"}
    # the demo's copy-trader accounts (helix/cli/demo.py DEMO_ACCOUNTS) and the paper trades
    accounts = ("hybrid-demo", "paper", "poly-demo")
    assert by_uid["helix-trading"].variables["account"].values == accounts
    assert by_uid["helix-hybrid"].variables["account"].values == accounts
    strategies = by_uid["helix-hybrid"].variables["strategy"].values
    assert {"hybrid_copy", "poly_copy", "trend", "meanrev"} <= set(strategies)
    poly = by_uid["helix-polymarket"].variables
    assert set(poly["kind"].values) == {"wallet_scored", "cluster_synced", "poly_signal",
                                        "hybrid_signal"}  # fmt: skip
    assert poly["account"].values == ("hybrid-demo", "poly-demo")


def test_time_groups_also_run_on_plain_postgresql(demo: Demo) -> None:
    """The datasource's timescaledb switch only changes $__timeGroup (time_bucket vs floor)."""
    plain = check_all(demo.reader_url, DASHBOARDS, now=datetime.now(UTC), timescaledb=False)
    grouped = [r for c in plain for r in c.results if "$__timeGroup" in r.query.sql]
    assert grouped
    for r in grouped:
        assert "floor(extract(epoch from" in r.sql
        assert r.ok, f"{r.query.label}: {r.error}"
        assert r.rows > 0, r.query.label


def _fails(url: str, sql: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute(sql.encode())
        except psycopg.Error as exc:
            return type(exc).__name__
    return ""


def test_the_reader_cannot_write_nor_read_what_is_not_granted(demo: Demo) -> None:
    url = demo.reader_url
    assert _fails(url, "INSERT INTO accounts SELECT * FROM accounts") == "ReadOnlySqlTransaction"
    for sql in (
        "BEGIN READ WRITE; DELETE FROM signals",
        "BEGIN READ WRITE; UPDATE orders SET fees = 0",
        "BEGIN READ WRITE; TRUNCATE candles_1m",
        "BEGIN READ WRITE; CREATE TABLE grafana_was_here (x int)",
        "BEGIN READ WRITE; DROP VIEW heatmap_cells",
        "SELECT * FROM helix_migrations",
        "SELECT * FROM heatmap_markets",
        "SELECT helix_grant_read_model('helix_migrations')",
    ):
        assert _fails(url, sql) == "InsufficientPrivilege", sql
    with connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM position_marks").fetchone() is not None


def test_the_projector_writes_read_models_but_owns_and_creates_nothing(demo: Demo) -> None:
    with psycopg.connect(demo.projector_url) as conn:
        conn.execute(
            "INSERT INTO candles_1m VALUES ('test', 'X', '2031-01-01', 1, 1, 1, 1, 1, 1, 1, 1,"
            " 1, 1, 1, 1)"
        )  # a new hypertable chunk, too
        conn.execute("UPDATE projection_checkpoints SET events = events")
        conn.execute("DELETE FROM heatmap_markets WHERE false")
        conn.execute("TRUNCATE order_commands_rejected")
        assert conn.execute("SELECT count(*) FROM helix_migrations").fetchone() is not None
        conn.rollback()
    for sql in (
        "CREATE TABLE x (a int)",
        "ALTER TABLE signals ADD COLUMN x int",
        "DROP TABLE fills",
        "CREATE INDEX ON orders (status)",
        "CREATE OR REPLACE VIEW heatmap_cells AS SELECT 1",
    ):
        assert _fails(demo.projector_url, sql) == "InsufficientPrivilege", sql


def test_every_table_is_a_granted_read_model_or_private(demo: Demo) -> None:
    """A new table must be classified: granted (helix_grant_read_model) or kept private."""
    with psycopg.connect(demo.owner_url) as conn:
        rows = conn.execute(
            "SELECT c.relname, has_table_privilege('helix_reader', c.oid, 'SELECT'),"
            "       has_table_privilege('helix_projector', c.oid, 'INSERT'),"
            "       pg_get_userbyid(c.relowner)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p')"
        ).fetchall()
    readable = {name for name, r, _, _ in rows if r}
    assert readable == READ_MODELS
    tables = {name for name, *_ in rows}
    assert tables - READ_MODELS <= PRIVATE, sorted(tables - READ_MODELS - PRIVATE)
    owners = {owner for *_, owner in rows}
    assert owners == {"helix"}  # the migrating superuser only
    writable = {name for name, _, w, _ in rows if w}
    assert "helix_migrations" not in writable
    assert "heatmap_markets" in writable


def test_helix_grafana_check_runs_every_query_as_the_reader(demo: Demo) -> None:
    res = helix("grafana", "check", "--require-rows", env=demo.env, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    for title in ("Open interest", "Signals", "PnL by strategy", "Projectors"):
        assert title in res.stdout


def _python(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "deploy" / script), *args],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, **env}, cwd=ROOT,
    )  # fmt: skip


def test_the_compose_init_job_is_idempotent_and_sets_role_passwords(demo: Demo) -> None:
    env = {
        "HELIX_HOME": demo.env["HELIX_HOME"],
        "HELIX_NATS_URL": demo.nats_url,
        "HELIX_DATABASE_URL": demo.owner_url,
        "HELIX_READER_PASSWORD": "r-secret",
        "HELIX_PROJECTOR_PASSWORD": "p-secret",
        "HELIX_STREAM_REPLICAS": "1",
    }
    for _ in range(2):
        res = _python("init.py", env=env)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "applied nothing new" in res.stdout
        assert "role passwords set: helix_reader, helix_projector" in res.stdout
        assert "streams: MARKET R1, LEDGER R1, DLQ R1" in res.stdout
    with psycopg.connect(demo.owner_url) as conn:
        rows = conn.execute(
            "SELECT rolname, rolpassword IS NOT NULL FROM pg_authid"
            " WHERE rolname IN ('helix_reader', 'helix_projector') ORDER BY 1"
        ).fetchall()
    assert rows == [("helix_projector", True), ("helix_reader", True)]


def test_container_healthchecks(demo: Demo) -> None:
    ok = {"HELIX_NATS_URL": demo.nats_url, "HELIX_DATABASE_URL": demo.projector_url}
    assert _python("healthcheck.py", "nats", env=ok).returncode == 0
    assert _python("healthcheck.py", "projections", env=ok).returncode == 0
    down = _python("healthcheck.py", "metrics", env={"HELIX_METRICS_PORT": "9"})
    assert down.returncode == 1
    assert "unhealthy" in down.stderr
