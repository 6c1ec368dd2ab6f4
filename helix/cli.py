"""``helix``: the operator's command line.

Every command builds :class:`~helix.settings.Settings` once and passes it down.  Errors from the
:mod:`helix.errors` tree become a one-line message on stderr and a non-zero exit code.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from helix.errors import HelixError
from helix.settings import Settings, load_settings

app = typer.Typer(
    name="helix",
    help="Helix: the event-sourced trading, research and fund platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
services_app = typer.Typer(
    help="Embedded NATS and PostgreSQL: up, status, down, env.", no_args_is_help=True
)
streams_app = typer.Typer(help="JetStream streams: create/check and inspect.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks, each beside a baseline measured in the same run.", no_args_is_help=True
)
events_app = typer.Typer(help="Read the event log: tail and replay.", no_args_is_help=True)
app.add_typer(services_app, name="services")
app.add_typer(streams_app, name="streams")
app.add_typer(events_app, name="events")
app.add_typer(bench_app, name="bench")

out = Console()
err = Console(stderr=True)


def settings() -> Settings:
    return load_settings()


# -- services --------------------------------------------------------------------------------


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


# -- streams ---------------------------------------------------------------------------------


@streams_app.command("init")
def streams_init() -> None:
    """Create MARKET, LEDGER and DLQ, or check that the existing ones are compatible."""
    from helix.bootstrap import runtime

    async def run() -> None:
        async with runtime(settings()) as rt:
            js = rt.nc.jetstream()
            for name in ("MARKET", "LEDGER", "DLQ"):
                info = await js.stream_info(name)
                out.print(f"{name}: ok ({info.state.messages:,} messages)")

    asyncio.run(run())


@streams_app.command("info")
def streams_info() -> None:
    """Messages, bytes and sequences of each Helix stream."""
    from helix.bootstrap import runtime

    async def run() -> None:
        async with runtime(settings()) as rt:
            js = rt.nc.jetstream()
            table = Table("stream", "messages", "bytes", "first seq", "last seq", "subjects")
            for name in ("MARKET", "LEDGER", "DLQ"):
                info = await js.stream_info(name)
                st = info.state
                table.add_row(
                    name,
                    f"{st.messages:,}",
                    f"{st.bytes:,}",
                    str(st.first_seq),
                    str(st.last_seq),
                    ", ".join(info.config.subjects or []),
                )
            out.print(table)

    asyncio.run(run())


# -- events ----------------------------------------------------------------------------------


@events_app.command("tail")
def events_tail(
    subject: Annotated[
        str, typer.Argument(help="subject filter, e.g. mkt.bybit.trade.>")
    ] = "mkt.>",
    stream: Annotated[str, typer.Option(help="stream to follow")] = "MARKET",
    limit: Annotated[int, typer.Option(help="stop after this many events (0 = follow)")] = 0,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="replay from the first event")
    ] = False,
) -> None:
    """Follow events live as they are recorded."""
    from helix.bootstrap import runtime
    from helix.store.market import tail

    async def run() -> None:
        async with runtime(settings()) as rt:
            n = 0
            async for pos, event in tail(
                rt.nc, subjects=subject, stream=stream, start_seq=1 if from_start else None
            ):
                out.print(f"{pos.seq:>10} {event!r}")
                n += 1
                if limit and n >= limit:
                    return

    asyncio.run(run())


# -- bench -----------------------------------------------------------------------------------


@bench_app.command("store")
def bench_store(
    events: Annotated[int, typer.Option(help="market events to append and replay")] = 200_000,
    saves: Annotated[int, typer.Option(help="aggregate saves")] = 3_000,
    threads: Annotated[int, typer.Option(help="concurrent writer threads for saves")] = 8,
    events_per_save: Annotated[int, typer.Option(help="events in each save")] = 2,
) -> None:
    """Market append, aggregate saves and replay, each beside a baseline from the same run."""
    from helix.bench.report import print_figures
    from helix.bench.store import run_store_bench
    from helix.bootstrap import endpoints

    ends = endpoints(settings())
    figures = asyncio.run(
        run_store_bench(
            ends.nats_url,
            ends.database_url,
            events=events,
            saves=saves,
            threads=threads,
            events_per_save=events_per_save,
            progress=lambda m: err.print(f"[dim]{m}[/]"),
        )
    )
    print_figures("helix bench store", figures, out)


def main() -> None:
    """Console entry point: run the app, mapping Helix errors to messages and exit codes."""
    try:
        app()
    except HelixError as exc:
        err.print(f"[red]error:[/] {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
