"""``helix backtest``: run, list, report, compare, strategies (and parameter grids)."""

from __future__ import annotations

import asyncio
import itertools
import json
from concurrent.futures import ProcessPoolExecutor
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from helix.cli.app import err, group, out, settings
from helix.cli.market import parse_time
from helix.errors import ValidationError

backtest_app = group("backtest", "Backtests: replays of the market log through the live code.")


def parse_pairs(items: list[str] | None, what: str) -> dict[str, str]:
    """``k=v`` options into a dict.

    Raises:
        ValidationError: an item without ``=``.
    """
    out_: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"{what} takes key=value, got {item!r}")
        out_[key.strip()] = value.strip()
    return out_


def grid_specs(base: dict[str, Any], grid: dict[str, str]) -> list[dict[str, str]]:
    """The parameter sets of a grid (the cartesian product of its comma lists)."""
    keys = sorted(grid)
    values = [grid[k].split(",") for k in keys]
    return [{**base, **dict(zip(keys, combo, strict=True))} for combo in itertools.product(*values)]


def _ns(text: str | None) -> int | None:
    dt = parse_time(text)
    return None if dt is None else int(dt.timestamp()) * 1_000_000_000


async def _run_one(spec_args: dict[str, Any], show: bool) -> dict[str, Any]:
    from helix.backtest.engine import Spec
    from helix.backtest.runs import run_and_record
    from helix.bootstrap import runtime
    from helix.db.connect import connect_pg
    from helix.db.migrate import migrate

    s = settings()
    spec = Spec(**spec_args)
    spec.configs()  # validate before reading anything
    async with runtime(s) as rt:
        await asyncio.to_thread(migrate, rt.endpoints.database_url)
        conn = await connect_pg(rt.endpoints.database_url)
        try:
            with Progress(SpinnerColumn(), TextColumn("replaying"),
                          TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=err,
                          disable=not show) as progress:  # fmt: skip
                task = progress.add_task("bt", info="")

                def tick(n: int, secs: float) -> None:
                    progress.update(task, info=f"{n:,} events  {n / max(secs, 1e-9):,.0f}/s")

                rec = await run_and_record(rt.nc, conn, spec, home=s.home_path, on_progress=tick)
        finally:
            await conn.close()
    o = rec.outcome
    return {
        "run_id": rec.run_id,
        "manifest": rec.manifest_sha256,
        "params": spec.params,
        "metrics": o.metrics.as_dict(),
        "input": o.input_events,
        "signals": len(o.signals),
        "trading": len(o.trading),
        "seconds": o.seconds,
        "report": str(rec.report_dir),
        "errors": o.errors,
    }


def _worker(spec_args: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_run_one(spec_args, show=False))


@backtest_app.command("run")
def backtest_run(
    strategy: Annotated[str, typer.Option(help="see `helix backtest strategies`")],
    start: Annotated[str | None, typer.Option("--from", help="first event time (UTC)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="end, exclusive (UTC)")] = None,
    symbols: Annotated[str | None, typer.Option(help="comma list (default: all)")] = None,
    params: Annotated[list[str] | None, typer.Option("--params", help="k=v (repeat)")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="k=v1,v2 (repeat): a sweep")] = None,
    workers: Annotated[int, typer.Option(help="processes for a grid")] = 2,
) -> None:
    """Replay a range of the market log through a strategy; ends with `manifest <sha256>`."""
    base: dict[str, Any] = {
        "strategy": strategy,
        "params": parse_pairs(params, "--params"),
        "start_ns": _ns(start),
        "end_ns": _ns(end),
        "symbols": tuple(s.strip().upper() for s in symbols.split(",")) if symbols else (),
    }
    sweep = parse_pairs(grid, "--grid")
    if not sweep:
        result = asyncio.run(_run_one(base, show=True))
        _print_result(result)
        out.print(f"manifest {result['manifest']}")
        return
    from helix.backtest.engine import Spec

    sets = grid_specs(base["params"], sweep)
    specs = [{**base, "params": p} for p in sets]
    for sp in specs:
        Spec(**sp).configs()  # every combination must be valid before any runs
    err.print(f"{len(specs)} runs on {workers} worker processes ...")
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(_worker, specs))
    table = Table("run", *sorted(sweep), "return", "sharpe", "max dd", "trades", "win rate",
                  "manifest", title="grid")  # fmt: skip
    for r in results:
        m = r["metrics"]
        table.add_row(r["run_id"], *(r["params"][k] for k in sorted(sweep)),
                      f"{m['total_return']:.2%}", f"{m['sharpe']:.2f}",
                      f"{m['max_drawdown']:.2%}", str(m["trades"]), f"{m['win_rate']:.0%}",
                      r["manifest"][:16])  # fmt: skip
    out.print(table)
    for r in results:
        out.print(f"manifest {r['manifest']}")


def _print_result(r: dict[str, Any]) -> None:
    from helix.backtest.report import fmt

    out.print(
        f"run {r['run_id']}: {r['input']:,} market events → {r['signals']:,} signals, "
        f"{r['trading']:,} trading events in {r['seconds']:.1f} s "
        f"({r['input'] / max(r['seconds'], 1e-9):,.0f} events/s)"
    )
    table = Table("metric", "value", title="performance")
    for k, v in r["metrics"].items():
        if k != "by_symbol":
            table.add_row(k, fmt(k, v))
    out.print(table)
    out.print(f"report: {r['report']}/report.html")
    for e in r["errors"]:
        out.print(f"[yellow]warning:[/] {e}")


def _read(query: Any) -> Any:
    from helix.bootstrap import endpoints
    from helix.db.connect import connect_pg
    from helix.db.migrate import migrate

    async def go() -> Any:
        url = endpoints(settings()).database_url
        await asyncio.to_thread(migrate, url)
        conn = await connect_pg(url)
        try:
            return await query(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


@backtest_app.command("list")
def backtest_list(limit: Annotated[int, typer.Option(help="latest N")] = 20) -> None:
    """Recorded runs, newest first."""
    from helix.backtest.runs import runs

    table = Table("run", "strategy", "params", "events", "return", "sharpe", "trades", "manifest")
    for r in _read(lambda c: runs(c, limit)):
        m = r["metrics"]
        table.add_row(r["run_id"], r["strategy"], json.dumps(r["params"]), f"{r['input_events']:,}",
                      f"{m['total_return']:.2%}", f"{m['sharpe']:.2f}", str(m["trades"]),
                      r["manifest"][:16])  # fmt: skip
    out.print(table)


@backtest_app.command("report")
def backtest_report(run: Annotated[str, typer.Argument(help="run id (or a prefix)")]) -> None:
    """A run's metrics, per-market figures and where its report files are."""
    from helix.backtest.report import fmt
    from helix.backtest.runs import one

    r = _read(lambda c: one(c, run))
    if r is None:
        raise ValidationError(f"no backtest run {run!r}: see `helix backtest list`")
    out.print(f"run {r['run_id']} ({r['strategy']}, {json.dumps(r['params'])}), "
              f"{r['input_events']:,} events, manifest {r['manifest']}")  # fmt: skip
    table = Table("metric", "value")
    for k, v in r["metrics"].items():
        if k != "by_symbol":
            table.add_row(k, fmt(k, v))
    out.print(table)
    by = Table("market", "realised", "fees", "funding", "fills", "volume", title="by market")
    for sym, vals in sorted(r["metrics"].get("by_symbol", {}).items()):
        by.add_row(sym, *(f"{v:,.2f}" for v in vals.values()))
    out.print(by)
    out.print(f"report: {r['report_dir']}/report.html (chart: equity.png)")


@backtest_app.command("compare")
def backtest_compare(
    a: Annotated[str, typer.Argument(help="run id")],
    b: Annotated[str, typer.Argument(help="run id")],
) -> None:
    """Two runs side by side, with the difference."""
    from helix.backtest.report import fmt
    from helix.backtest.runs import one

    ra, rb = _read(lambda c: one(c, a)), _read(lambda c: one(c, b))
    for run_id, r in ((a, ra), (b, rb)):
        if r is None:
            raise ValidationError(f"no backtest run {run_id!r}: see `helix backtest list`")
    table = Table("metric", ra["run_id"], rb["run_id"], "difference")
    for k, v in ra["metrics"].items():
        if k == "by_symbol":
            continue
        w = rb["metrics"].get(k)
        diff = w - v if isinstance(v, int | float) and isinstance(w, int | float) else ""
        table.add_row(k, fmt(k, v), fmt(k, w), fmt(k, diff) if diff != "" else "")
    table.add_row("params", json.dumps(ra["params"]), json.dumps(rb["params"]), "")
    table.add_row("manifest", ra["manifest"][:16], rb["manifest"][:16],
                  "same" if ra["manifest"] == rb["manifest"] else "differs")  # fmt: skip
    out.print(table)


@backtest_app.command("strategies")
def backtest_strategies() -> None:
    """Strategy names and every parameter with its default."""
    from helix.backtest.engine import STRATEGIES, parameters

    for s in STRATEGIES.values():
        out.print(f"[bold]{s.name}[/]: {s.description}")
    table = Table("parameter", "default", title="parameters (--params group.name=value)")
    for grp, fields in parameters().items():
        for name, default in fields.items():
            table.add_row(f"{grp}.{name}", str(default))
    out.print(table)
