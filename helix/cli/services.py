"""``helix services``: the embedded NATS and PostgreSQL."""

from __future__ import annotations

import typer
from rich.table import Table

from helix.cli.app import group, out, settings

services_app = group("services", "Embedded NATS and PostgreSQL: up, status, down, env.")


@services_app.command("up")
def services_up() -> None:
    """Start the embedded services (reusing any that already run)."""
    from helix.services.manager import Services

    svc = Services(settings())
    ends = svc.up()
    out.print(f"[green]NATS[/]       {ends.nats_url}")
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
