"""Run every dashboard query against a database, as Grafana would when the dashboard opens.

For each dashboard: its time range is resolved (``now`` passed in), its query variables run in
order (each may use the ones before it) and take their saved value when it is among the
options, else the first option (Grafana's behaviour on load); then every annotation and panel
query is expanded (:mod:`helix.grafana.macros`) and run.  The session is read-only and each
statement has a timeout, whatever role connects; the tests connect as ``helix_reader``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg

from helix.errors import ServiceUnavailable, ValidationError
from helix.grafana.dashboards import Dashboard, Query, iter_panels, queries, variable_sql
from helix.grafana.macros import (
    ALL,
    TimeRange,
    Variable,
    auto_interval,
    dashboard_time_range,
    expand,
    parse_interval,
)

DEFAULT_WIDTH = 1000
"""``maxDataPoints`` of a panel without one: about a full-width panel's pixels."""


@dataclass(frozen=True)
class QueryResult:
    query: Query
    sql: str
    rows: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class DashboardCheck:
    uid: str
    title: str
    time_range: TimeRange
    variables: dict[str, Variable] = field(default_factory=dict)
    results: list[QueryResult] = field(default_factory=list)


def connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    """A read-only, autocommit session with a 30 s statement timeout.

    Raises:
        ServiceUnavailable: PostgreSQL cannot be reached.
    """
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise ServiceUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    conn.execute("SET default_transaction_read_only = on")
    conn.execute("SET statement_timeout = '30s'")
    return conn


def has_timescaledb(conn: psycopg.Connection[tuple[Any, ...]]) -> bool:
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return row is not None


def _run(conn: psycopg.Connection[tuple[Any, ...]], sql: str) -> tuple[list[tuple[Any, ...]], str]:
    try:
        cur = conn.execute(sql.encode())
        return (cur.fetchall() if cur.description else []), ""
    except psycopg.Error as exc:
        return [], f"{type(exc).__name__}: {str(exc).strip()}"


def _current(var: dict[str, Any]) -> list[str]:
    value = (var.get("current") or {}).get("value")
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _static_options(var: dict[str, Any]) -> list[str]:
    opts = [str(o["value"]) for o in var.get("options", []) if o.get("value") != ALL]
    if not opts and isinstance(var.get("query"), str):
        opts = [o.strip() for o in var["query"].split(",") if o.strip()]
    return opts


def _variable(var: dict[str, Any], options: Sequence[str]) -> Variable:
    name = str(var["name"])
    multi = bool(var.get("multi") or var.get("includeAll"))
    current = _current(var)
    if var.get("includeAll") and current == [ALL]:
        all_value = var.get("allValue") or None
        return Variable(name, tuple(options), True, all_value, selected_all=True)
    chosen = [v for v in current if v in options]
    if not chosen:
        chosen = list(options[:1])  # Grafana selects the first option when the saved one is gone
    return Variable(name, tuple(chosen), multi)


def panel_interval(panel: dict[str, Any], tr: TimeRange) -> timedelta:
    """``$__interval`` for ``panel``: its ``maxDataPoints`` (else about a full-width panel) and
    its min interval (``interval``), as Grafana computes it."""
    width = int(panel.get("maxDataPoints") or DEFAULT_WIDTH)
    minimum = parse_interval(panel["interval"]) if panel.get("interval") else None
    return auto_interval(tr, max_data_points=width, min_interval=minimum)


def check_dashboard(
    conn: psycopg.Connection[tuple[Any, ...]],
    dashboard: Dashboard,
    *,
    now: datetime,
    timescaledb: bool,
) -> DashboardCheck:
    """Resolve the variables and run every query of ``dashboard`` (errors are recorded, not
    raised, so one broken panel does not hide the others)."""
    tr = dashboard_time_range(dashboard["time"], now)
    check = DashboardCheck(str(dashboard["uid"]), str(dashboard["title"]), tr)
    panels = {int(p["id"]): p for p in iter_panels(dashboard)}
    for var in dashboard.get("templating", {}).get("list", []):
        sql = variable_sql(var)
        if sql is None:
            check.variables[var["name"]] = _variable(var, _static_options(var))
            continue
        query = Query(check.uid, "variable", None, str(var["name"]), "var", sql, "table")
        result, rows = _expand_and_run(conn, query, check, tr, None, timescaledb)
        check.results.append(result)
        check.variables[var["name"]] = _variable(var, [str(r[0]) for r in rows])
    for query in queries(dashboard):
        if query.kind == "variable":
            continue
        interval = panel_interval(panels.get(query.panel_id or -1, {}), tr)
        result, _ = _expand_and_run(conn, query, check, tr, interval, timescaledb)
        check.results.append(result)
    return check


def _expand_and_run(
    conn: psycopg.Connection[tuple[Any, ...]],
    query: Query,
    check: DashboardCheck,
    tr: TimeRange,
    interval: timedelta | None,
    timescaledb: bool,
) -> tuple[QueryResult, list[tuple[Any, ...]]]:
    try:
        sql = expand(
            query.sql,
            time_range=tr,
            variables=check.variables,
            interval=interval or auto_interval(tr),
            timescaledb=timescaledb,
        )
    except ValidationError as exc:
        return QueryResult(query, query.sql, 0, f"expansion: {exc}"), []
    rows, error = _run(conn, sql)
    return QueryResult(query, sql, len(rows), error or None), rows


def check_all(
    url: str, dashboards: Sequence[Dashboard], *, now: datetime, timescaledb: bool | None = None
) -> list[DashboardCheck]:
    """Check every dashboard on one read-only connection to ``url`` (``timescaledb`` None: as
    the database has it).

    Raises:
        ServiceUnavailable: PostgreSQL cannot be reached.
    """
    with connect(url) as conn:
        tsdb = has_timescaledb(conn) if timescaledb is None else timescaledb
        return [check_dashboard(conn, d, now=now, timescaledb=tsdb) for d in dashboards]
