"""``helix services``: the embedded NATS and PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from helix.cli.app import group, out, settings

services_app = group("services", "Embedded NATS and PostgreSQL: up, status, down, env.")


@services_app.command("up")
def services_up(
    cluster: Annotated[
        int | None,
        typer.Option(
            "--cluster",
            help="run NATS as a loopback cluster of N nodes (3 for R3 streams; 1 = one server)",
        ),
    ] = None,
) -> None:
    """Start the embedded services (reusing any that already run)."""
    from helix.errors import ConfigError
    from helix.services.manager import Services

    svc = Services(settings())
    if cluster is not None and cluster != svc.cluster_nodes:
        if cluster < 1:
            raise ConfigError("--cluster needs 1 or more nodes")
        running = svc.nats.pid() is not None or (
            svc.cluster is not None and bool(svc.cluster.running())
        )
        if running:
            raise ConfigError(
                f"embedded NATS runs with {svc.cluster_nodes} node(s); its streams stay in its "
                "store. Run `helix services down` first to switch"
            )
        svc.use_cluster(cluster)
    ends = svc.up()
    nodes = f"  ({svc.cluster_nodes} nodes, streams R{ends.stream_replicas})"
    out.print(f"[green]NATS[/]       {ends.nats_url}{nodes if svc.cluster else ''}")
    out.print(f"[green]PostgreSQL[/] {ends.database_url}")


@services_app.command("status")
def services_status() -> None:
    """Report each service: URL, pid, state."""
    from helix.services.manager import Services

    table = Table("service", "state", "pid", "url", "detail")
    all_up = True
    for st in Services(settings()).status():
        all_up &= st.running
        table.add_row(
            st.name,
            "[green]running[/]" if st.running else "[red]stopped[/]",
            str(st.pid or "-"),
            st.url,
            st.detail,
        )
    out.print(table)
    if not all_up:
        raise typer.Exit(1)


@services_app.command("down")
def services_down() -> None:
    """Stop the embedded services."""
    from helix.services.manager import Services

    stopped = Services(settings()).down()
    out.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@services_app.command("env")
def services_env() -> None:
    """Print ``export`` lines for other shells and tools (starts nothing)."""
    from helix.services.manager import Services

    ends = Services(settings()).endpoints()
    print(f"export HELIX_NATS_URL={ends.nats_url}")
    print(f"export HELIX_DATABASE_URL={ends.database_url}")
