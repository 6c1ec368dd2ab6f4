"""``helix import``: recorded market data files into the log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from helix.cli.app import app, err, out, settings
from helix.errors import ValidationError


@app.command("import")
def import_files(
    paths: Annotated[list[Path], typer.Argument(help="files to import (.gz or plain)")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="binance-ws | bybit-trades-csv | bybit-ws | klines-csv | binance-oi-csv | "
            "polymarket-data-csv | polymarket-midterms-csv",
        ),
    ],
    symbol: Annotated[
        str | None,
        typer.Option("--symbol", help="klines-csv: the symbol of every row (required)"),
    ] = None,
    venue: Annotated[
        str | None,
        typer.Option("--venue", help="klines-csv, binance-oi-csv: the venue (default binance)"),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(
            "--interval", help="klines-csv: bar interval 1m 5m 15m 30m 1h 4h 1d ... (required)"
        ),
    ] = None,
) -> None:
    """Turn recorded files into events; malformed lines go to the dead-letter stream.

    Files that do not name their symbol, venue or interval (klines-csv) take them as
    options; the import ledger keys a file by its bytes, its format and these options.
    """
    from helix.bootstrap import runtime
    from helix.clock import SystemClock
    from helix.importers.formats import get_format
    from helix.importers.run import Importer, ImportSummary

    parser = get_format(fmt, symbol=symbol, venue=venue, interval=interval)
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValidationError(f"no such file: {', '.join(missing)}")

    async def run() -> ImportSummary:
        total = ImportSummary()
        async with runtime(settings()) as rt:
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(),
                console=err,
            ) as progress:
                for path in paths:
                    task = progress.add_task(path.name, counts="")

                    def show(s: ImportSummary, task: TaskID = task) -> None:
                        progress.update(
                            task,
                            counts=f"read {s.read:,}  imported {s.imported:,}  "
                            f"rejected {s.rejected:,}",
                        )

                    importer = Importer(rt.nc, parser, clock=SystemClock(), progress=show)
                    summary = await importer.import_file(path)
                    show(summary)
                    total.add(summary)
        return total

    s = asyncio.run(run())
    table = Table("files", "read", "imported", "duplicate", "rejected", "skipped")
    skipped = ", ".join(f"{k} {v:,}" for k, v in sorted(s.skipped.items())) or "0"
    table.add_row(
        str(s.files), f"{s.read:,}", f"{s.imported:,}", f"{s.duplicates:,}", f"{s.rejected:,}",
        skipped,
    )  # fmt: skip
    out.print(table)
    if s.already:
        out.print(f"already imported earlier (nothing published): {', '.join(s.already)}")
    if s.rejected:
        out.print(
            f"{s.rejected:,} malformed lines are in the DLQ stream: helix events dead-letters"
        )
