"""``helix grafana``: publish the dashboards to a Grafana, and check their queries.

``publish`` is for a Grafana that docker compose did not provision (compose mounts
``projections/dashboards`` and ``deploy/grafana/provisioning``).  ``check`` runs every panel,
annotation and variable query the way Grafana would, as the read-only role by default, and
prints the rows each returned.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from helix.cli.app import err, group, out, settings
from helix.grafana.dashboards import (
    DASHBOARDS_DIR,
    DATASOURCE_NAME,
    DATASOURCE_UID,
    READER_ROLE,
)

grafana_app = group("grafana", "Grafana: publish the dashboards and datasource, check queries.")


def _database_url() -> str:
    from helix.bootstrap import endpoints

    return endpoints(settings(), start=False).database_url


@grafana_app.command("publish")
def publish(
    url: Annotated[
        str,
        typer.Option(envvar="GRAFANA_URL", help="Grafana, e.g. http://admin:secret@host:3000"),
    ] = "http://admin:admin@127.0.0.1:3000",
    token: Annotated[
        str | None, typer.Option(envvar="GRAFANA_TOKEN", help="service-account token")
    ] = None,
    datasource_host: Annotated[
        str | None,
        typer.Option(help="host:port of PostgreSQL as Grafana reaches it (default: Helix's)"),
    ] = None,
    database: Annotated[str | None, typer.Option(help="database (default: Helix's)")] = None,
    datasource_user: Annotated[str, typer.Option(help="the read-only role")] = READER_ROLE,
    datasource_password: Annotated[
        str, typer.Option(envvar="HELIX_READER_PASSWORD", help="its password")
    ] = "",
    datasource_name: Annotated[str, typer.Option(help="datasource name")] = DATASOURCE_NAME,
    timescaledb: Annotated[
        bool, typer.Option(help="the database has TimescaleDB (time_bucket for $__timeGroup)")
    ] = True,
    skip_datasource: Annotated[
        bool, typer.Option("--skip-datasource", help="only the folder and dashboards")
    ] = False,
    folder: Annotated[str, typer.Option(help="folder title")] = "Helix",
    dashboards_dir: Annotated[Path, typer.Option(help="dashboard JSON files")] = DASHBOARDS_DIR,
    timeout: Annotated[float, typer.Option(help="seconds per request")] = 10.0,
) -> None:
    """Create or update the PostgreSQL datasource and every dashboard in a running Grafana."""
    from helix.grafana.dashboards import database_parts, datasource_payload, load_dashboards
    from helix.grafana.publish import FOLDER_UID, connect
    from helix.grafana.publish import publish as push

    dashboards = load_dashboards(dashboards_dir)
    payload = None
    if not skip_datasource:
        host, db = datasource_host, database
        if host is None or db is None:
            default_host, default_db, _, _ = database_parts(_database_url())
            host, db = host or default_host, db or default_db
        payload = datasource_payload(
            host=host,
            database=db,
            user=datasource_user,
            password=datasource_password,
            timescaledb=timescaledb,
            name=datasource_name,
            uid=DATASOURCE_UID,
        )
    api = connect(url, token=token, timeout=timeout)
    report = push(api, dashboards, datasource=payload, folder_uid=FOLDER_UID, folder_title=folder)
    if payload is not None:
        out.print(
            f"datasource {datasource_name!r} ({DATASOURCE_UID}): {report.datasource}, "
            f"{datasource_user}@{payload['url']}/{payload['database']}"
        )
    out.print(f"folder {folder!r}: {report.folder}")
    for d in report.dashboards:
        out.print(f"dashboard {d.title!r}: version {d.version} {d.url}")


@grafana_app.command("check")
def check(
    database_url: Annotated[
        str | None,
        typer.Option(help=f"connect with this URL (default: Helix's database as {READER_ROLE})"),
    ] = None,
    dashboards_dir: Annotated[Path, typer.Option(help="dashboard JSON files")] = DASHBOARDS_DIR,
    sql: Annotated[bool, typer.Option("--sql", help="print each expanded query")] = False,
    require_rows: Annotated[
        bool, typer.Option("--require-rows", help="fail when a query returns no rows")
    ] = False,
) -> None:
    """Run every dashboard query as Grafana would (read-only) and show the rows returned."""
    from helix.grafana.check import check_all
    from helix.grafana.dashboards import as_role, load_dashboards

    url = database_url or as_role(_database_url(), READER_ROLE)
    checks = check_all(url, load_dashboards(dashboards_dir), now=datetime.now(UTC))
    table = Table("dashboard", "query", "rows", "error", title="dashboard queries")
    failed = empty = 0
    for c in checks:
        for r in c.results:
            failed += not r.ok
            empty += r.ok and r.rows == 0
            where = f"{r.query.kind} #{r.query.panel_id}" if r.query.panel_id else r.query.kind
            table.add_row(
                c.uid,
                f"{where} {r.query.title}",
                f"{r.rows:,}" if r.ok else "-",
                f"[red]{r.error}[/]" if r.error else "",
            )
            if sql:
                out.print(f"-- {r.query.label}: {r.rows} rows\n{r.sql}\n")
    out.print(table)
    if failed or (require_rows and empty):
        err.print(f"{failed} queries failed, {empty} returned no rows")
        raise typer.Exit(1)
