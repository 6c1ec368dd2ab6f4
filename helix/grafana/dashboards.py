"""The dashboards in ``projections/dashboards/`` and the datasource they read through.

Each ``*.json`` file there is one dashboard model, as Grafana's file provisioning reads it (the
docker-compose stack mounts the folder) and as ``helix grafana publish`` posts it.  Every panel
reads the PostgreSQL datasource with uid :data:`DATASOURCE_UID` (``deploy/grafana/provisioning``
creates it; ``publish`` creates or updates it), which connects as the read-only ``helix_reader``
role.  Their default time range is the demo's simulated day (2025-01-01 UTC) except trading,
whose orders and fills are stamped with the wall clock (the last 7 days).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

from helix.errors import ConfigError

DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "projections" / "dashboards"
DATASOURCE_UID = "helix-pg"
DATASOURCE_TYPE = "grafana-postgresql-datasource"
DATASOURCE_NAME = "Helix"
READER_ROLE = "helix_reader"
PROJECTOR_ROLE = "helix_projector"

Dashboard = dict[str, Any]


@dataclass(frozen=True)
class Query:
    """One SQL query of a dashboard: a panel target, an annotation or a query variable."""

    dashboard: str
    kind: Literal["variable", "annotation", "panel"]
    panel_id: int | None
    title: str
    ref_id: str
    sql: str
    format: str

    @property
    def label(self) -> str:
        where = f"#{self.panel_id} " if self.panel_id is not None else ""
        return f"{self.dashboard} {self.kind} {where}{self.title} [{self.ref_id}]"


def load_dashboards(directory: Path = DASHBOARDS_DIR) -> list[Dashboard]:
    """Every dashboard in ``directory``, by file name.

    Raises:
        ConfigError: a file is not JSON, or is not a dashboard (``uid``, ``title``, ``panels``).
    """
    out = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigError(f"{path.name} is not JSON: {exc}") from exc
        if not isinstance(data, dict) or not {"uid", "title", "panels"} <= data.keys():
            raise ConfigError(f"{path.name} is not a Grafana dashboard (uid, title, panels)")
        out.append(data)
    if not out:
        raise ConfigError(f"no dashboards (*.json) in {directory}")
    return out


def iter_panels(dashboard: Dashboard) -> Iterator[dict[str, Any]]:
    """Panels, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def variable_sql(variable: dict[str, Any]) -> str | None:
    """The SQL of a query variable (stored as a string or as ``{"rawSql": ...}``)."""
    if variable.get("type") != "query":
        return None
    q = variable.get("query")
    if isinstance(q, dict):
        q = q.get("rawSql")
    return q if isinstance(q, str) and q.strip() else None


def queries(dashboard: Dashboard) -> list[Query]:
    """Every SQL query of ``dashboard``: variables (in order), annotations, panel targets."""
    uid = str(dashboard["uid"])
    out: list[Query] = []
    for var in dashboard.get("templating", {}).get("list", []):
        sql = variable_sql(var)
        if sql is not None:
            out.append(Query(uid, "variable", None, str(var["name"]), "var", sql, "table"))
    for ann in dashboard.get("annotations", {}).get("list", []):
        target = ann.get("target") or {}
        if ann.get("builtIn") or "rawSql" not in target:
            continue
        out.append(
            Query(uid, "annotation", None, str(ann["name"]), target.get("refId", "Anno"),
                  target["rawSql"], target.get("format", "table"))
        )  # fmt: skip
    for panel in iter_panels(dashboard):
        for target in panel.get("targets", []):
            if "rawSql" not in target:
                continue
            out.append(
                Query(uid, "panel", int(panel["id"]), str(panel.get("title", "")),
                      str(target.get("refId", "A")), target["rawSql"],
                      str(target.get("format", "table")))
            )  # fmt: skip
    return out


def datasource_payload(
    *,
    host: str,
    database: str,
    user: str = READER_ROLE,
    password: str = "",
    timescaledb: bool = True,
    name: str = DATASOURCE_NAME,
    uid: str = DATASOURCE_UID,
) -> dict[str, Any]:
    """The PostgreSQL datasource as Grafana's HTTP API takes it (the database name is set both
    at the top level and in ``jsonData``, which Grafana versions read differently)."""
    payload: dict[str, Any] = {
        "name": name,
        "type": DATASOURCE_TYPE,
        "uid": uid,
        "access": "proxy",
        "url": host,
        "user": user,
        "database": database,
        "isDefault": True,
        "jsonData": {
            "database": database,
            "sslmode": "disable",
            "postgresVersion": 1500,
            "timescaledb": timescaledb,
            "maxOpenConns": 10,
        },
    }
    if password:
        payload["secureJsonData"] = {"password": password}
    return payload


def database_parts(url: str) -> tuple[str, str, str, str]:
    """``(host:port, database, user, password)`` of a ``postgresql://`` URL.

    Raises:
        ConfigError: not a PostgreSQL URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ConfigError(f"not a PostgreSQL URL: {parts.scheme}://...")
    host = f"{parts.hostname or '127.0.0.1'}:{parts.port or 5432}"
    database = (parts.path or "/").lstrip("/") or "postgres"
    return host, database, unquote(parts.username or ""), unquote(parts.password or "")


def as_role(url: str, role: str, password: str = "") -> str:
    """``url`` with its user (and password) replaced by ``role``: the embedded cluster trusts
    local connections, so the read-only role needs no password there."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    auth = f"{quote(role, safe='')}:{quote(password, safe='')}@" if password else f"{role}@"
    return parts._replace(netloc=auth + netloc).geturl()
