"""``helix db`` and ``helix projections``: migrations and the read-side runtime."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from helix.cli.app import err, group, out, settings
from helix.errors import ConfigError

db_app = group("db", "The read-model database: migrations.")
proj_app = group("projections", "Projectors: run, status, rebuild.")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending SQL migrations (idempotent; refuses a changed applied file)."""
    from helix.bootstrap import endpoints
    from helix.db.migrate import migrate

    report = migrate(endpoints(settings()).database_url)
    tsdb = "TimescaleDB hypertables" if report.timescaledb else "plain tables (no TimescaleDB)"
    applied = ", ".join(report.applied) if report.applied else "nothing new"
    out.print(f"applied: {applied}; {report.already} already applied; {tsdb}")


def _select(names: list[str] | None) -> list[str]:
    from projections.registry import all_projectors

    known = all_projectors()
    chosen = names or list(known)
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise ConfigError(f"unknown projector(s) {unknown}; known: {', '.join(known)}")
    return chosen


async def run_projectors(
    names: list[str],
    *,
    until_caught_up: bool,
    show_progress: bool = True,
    workers: int = 1,
    parts: list[int] | None = None,
) -> dict[str, int]:
    """Run projectors concurrently (one connection each); returns events applied per name.

    With ``workers`` > 1 each splittable projector runs as that many workers (by symbol, see
    :mod:`projections.partitions`); the others run as one.
    """
    from helix.bootstrap import runtime
    from helix.db.connect import connect_pg
    from helix.db.migrate import migrate
    from projections.base import Projector
    from projections.partitions import PARTITIONABLE
    from projections.registry import all_projectors
    from projections.runner import ProjectionRunner
    from projections.workers import run_workers

    projectors = all_projectors()
    s = settings()
    async with runtime(s) as rt:
        await asyncio.to_thread(migrate, rt.endpoints.database_url)
        progress = Progress(
            TextColumn("{task.description:>14}"),
            TextColumn("{task.completed:>12,} events"),
            TextColumn("{task.fields[rate]:>10,.0f}/s"),
            TimeElapsedColumn(),
            console=err,
            disable=not show_progress,
        )

        async def one(name: str) -> int:
            p = projectors[name]
            n = workers if p.name in PARTITIONABLE else 1
            if n > 1 or await _split(rt.endpoints.database_url, p.name):
                return await split_run(name, p, n)
            conn = await connect_pg(rt.endpoints.database_url)
            task = progress.add_task(name, total=None, rate=0.0)
            try:
                runner = ProjectionRunner(nc=rt.nc, conn=conn, projector=projectors[name])
                stats = await runner.run(
                    until_caught_up=until_caught_up,
                    on_batch=lambda st: progress.update(task, completed=st.events, rate=st.rate),
                )
                progress.update(task, completed=stats.events, rate=stats.rate)
                return stats.events
            finally:
                await conn.close()

        async def split_run(name: str, p: Projector, n: int) -> int:
            task = progress.add_task(f"{name} x{n}", total=None, rate=0.0)
            t0 = time.perf_counter()

            def update(events: int) -> None:
                rate = events / max(time.perf_counter() - t0, 1e-9)
                progress.update(task, completed=events, rate=rate)

            applied = await run_workers(
                rt.nc,
                rt.endpoints.database_url,
                p,
                n,
                until_caught_up=until_caught_up,
                on_batch=update,
                parts=parts if n > 1 else None,
            )
            update(applied)
            return applied

        with progress:
            counts = await asyncio.gather(*(one(n) for n in names))
    return dict(zip(names, counts, strict=True))


async def _split(database_url: str, name: str) -> bool:
    """Whether ``name`` is split now (run it through the workers path, which merges it)."""
    from helix.db.connect import connect_pg
    from projections.partitions import is_split

    conn = await connect_pg(database_url)
    try:
        return await is_split(conn, name)
    finally:
        await conn.close()


@proj_app.command("run")
def projections_run(
    names: Annotated[list[str] | None, typer.Argument(help="projectors (default: all)")] = None,
    until_caught_up: Annotated[
        bool, typer.Option("--until-caught-up", help="stop at the head instead of following")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="workers per market projector, splitting its symbols (ledger ones run as one)",
        ),
    ] = 1,
    part: Annotated[
        list[int] | None,
        typer.Option(
            "--part",
            help="run only these workers (0 .. N-1) here, the others in other processes",
        ),
    ] = None,
) -> None:
    """Apply the log to the read models, exactly once, from each projector's checkpoint."""
    if part and any(not 0 <= k < workers for k in part):
        raise ConfigError(f"--part must be within 0 .. {workers - 1}")
    counts = asyncio.run(
        run_projectors(_select(names), until_caught_up=until_caught_up, workers=workers, parts=part)
    )
    for name, n in counts.items():
        out.print(f"{name}: applied {n:,} events")


@proj_app.command("status")
def projections_status() -> None:
    """Position, lag (events and seconds) and state of every projector."""
    from helix.bootstrap import runtime
    from helix.db.connect import connect_pg
    from helix.db.migrate import migrate
    from projections.registry import all_projectors
    from projections.status import ProjectorStatus, projector_status

    async def run() -> list[ProjectorStatus]:
        async with runtime(settings()) as rt:
            await asyncio.to_thread(migrate, rt.endpoints.database_url)
            conn = await connect_pg(rt.endpoints.database_url)
            try:
                return [await projector_status(rt.nc, conn, p) for p in all_projectors().values()]
            finally:
                await conn.close()

    table = Table("projector", "position", "applied", "lag events", "lag s", "state", "error")
    failed = False
    for st in asyncio.run(run()):
        failed |= st.state == "failed"
        err_text = f"#{st.error_seq}: {st.error}" if st.error else ""
        table.add_row(
            st.name,
            f"{st.position:,}",
            f"{st.events:,}",
            f"{st.lag_events:,}",
            f"{st.lag_seconds:,.1f}",
            "[red]failed[/]" if st.state == "failed" else st.state,
            err_text,
        )
    out.print(table)
    if failed:
        raise typer.Exit(1)


@proj_app.command("rebuild")
def projections_rebuild(
    name: Annotated[str, typer.Argument(help="the projector to rebuild")],
) -> None:
    """Truncate a read model and replay the whole log into it (with a progress bar)."""
    from helix.bootstrap import runtime
    from helix.db.connect import connect_pg
    from projections.registry import all_projectors
    from projections.runner import ProjectionRunner, reset
    from projections.status import pending_after

    [name] = _select([name])
    p = all_projectors()[name]

    async def run() -> int:
        async with runtime(settings()) as rt:
            from helix.db.migrate import migrate

            await asyncio.to_thread(migrate, rt.endpoints.database_url)
            conn = await connect_pg(rt.endpoints.database_url)
            try:
                await reset(conn, p)
                total = await pending_after(rt.nc, p.stream, p.subjects, 0)
                with Progress(
                    TextColumn(f"rebuild {name}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=err,
                ) as progress:
                    task = progress.add_task(name, total=total)
                    runner = ProjectionRunner(nc=rt.nc, conn=conn, projector=p)
                    stats = await runner.run(
                        until_caught_up=True,
                        on_batch=lambda st: progress.update(task, completed=st.events),
                    )
                return stats.events
            finally:
                await conn.close()

    n = asyncio.run(run())
    out.print(f"{name}: rebuilt from {n:,} events")
