"""``helix bench``: benchmarks, each beside a baseline from the same run."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from helix.cli.app import err, group, out, settings

bench_app = group("bench", "Benchmarks, each beside a baseline measured in the same run.")


@bench_app.command("store")
def bench_store(
    events: Annotated[int, typer.Option(help="market events to append and replay")] = 200_000,
    saves: Annotated[int, typer.Option(help="aggregate saves per scenario and store")] = 2_000,
    repeat: Annotated[int, typer.Option(help="runs of append/replay (median reported)")] = 3,
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
            repeat=repeat,
            progress=lambda m: err.print(f"[dim]{m}[/]"),
        )
    )
    print_figures("helix bench store", figures, out)


@bench_app.command("projections")
def bench_projections(
    hours: Annotated[int, typer.Option(help="hours of simulated market data")] = 24,
) -> None:
    """Events/s from the log into the read models, beside a bare COPY of the same rows."""
    from helix.bench.projections import run_projection_bench, simulated_day
    from helix.bench.report import print_figures
    from helix.bootstrap import endpoints

    ends = endpoints(settings())
    err.print(f"[dim]simulating {hours}h of market data ...[/]")
    figures = asyncio.run(
        run_projection_bench(
            ends.nats_url,
            ends.database_url,
            events=simulated_day(hours),
            progress=lambda m: err.print(f"[dim]{m}[/]"),
        )
    )
    print_figures("helix bench projections", figures, out)


@bench_app.command("feed")
def bench_feed(
    trades: Annotated[int, typer.Option(help="trades to push through one connection")] = 200_000,
) -> None:
    """Trades/s the Bybit adapter parses and appends from one fake connection."""
    from helix.bench.feed import run_feed_bench
    from helix.bench.report import print_figures
    from helix.bootstrap import endpoints

    ends = endpoints(settings())
    figures = asyncio.run(
        run_feed_bench(ends.nats_url, trades=trades, progress=lambda m: err.print(f"[dim]{m}[/]"))
    )
    print_figures("helix bench feed", figures, out)


@bench_app.command("quant")
def bench_quant(
    candles: Annotated[int, typer.Option(help="1m candles (525,600 = a year)")] = 525_600,
    repeat: Annotated[int, typer.Option(help="timed runs of model and baseline (median)")] = 5,
    seed: Annotated[int, typer.Option(help="seed of the simulated candles")] = 7,
) -> None:
    """LHM-1 heatmap + clusters for one symbol, beside one np.histogram2d of its levels."""
    from helix.bench.quant import run_quant_bench
    from helix.bench.report import print_figures

    res = run_quant_bench(
        candles=candles, repeat=repeat, seed=seed, progress=lambda m: err.print(f"[dim]{m}[/]")
    )
    print_figures("helix bench quant", res.figures, out)
    for line in res.details():
        out.print(line, soft_wrap=True, highlight=False)


@bench_app.command("orders")
def bench_orders(
    commands: Annotated[int, typer.Option(help="commands per measured run")] = 6_000,
    concurrency: Annotated[int, typer.Option(help="clients sending at the same time")] = 16,
) -> None:
    """Commands/s through decide + store + paper venue, and latency to accepted, beside the
    same commands through the in-memory store."""
    from helix.bench.orders import run_orders_bench
    from helix.bench.report import print_figures
    from helix.bootstrap import endpoints

    ends = endpoints(settings())
    figures = asyncio.run(
        run_orders_bench(
            ends.nats_url,
            ends.database_url,
            commands=commands,
            concurrency=concurrency,
            progress=lambda m: err.print(f"[dim]{m}[/]"),
        )
    )
    print_figures("helix bench orders", figures, out)


@bench_app.command("backtest")
def bench_backtest(
    hours: Annotated[int, typer.Option(help="hours of simulated market data")] = 24,
    repeat: Annotated[int, typer.Option(help="runs (median reported)")] = 3,
) -> None:
    """Market events/s through a backtest, beside the bare replay of the same stream."""
    from helix.bench.backtest import run_backtest_bench
    from helix.bench.report import print_figures
    from helix.bootstrap import endpoints

    ends = endpoints(settings())
    figures = asyncio.run(
        run_backtest_bench(
            ends.nats_url, hours=hours, repeat=repeat, progress=lambda m: err.print(f"[dim]{m}[/]")
        )
    )
    print_figures("helix bench backtest", figures, out)


@bench_app.command("audit")
def bench_audit(
    events: Annotated[int, typer.Option(help="ledger events to seal and verify")] = 1_000_000,
) -> None:
    """Seal and verify --log throughput on a ledger of N events, beside a bare read of it."""
    from helix.bench.audit import run_audit_bench
    from helix.bench.report import print_figures
    from helix.bootstrap import endpoints

    ends = endpoints(settings())
    figures = asyncio.run(
        run_audit_bench(ends.nats_url, events=events, progress=lambda m: err.print(f"[dim]{m}[/]"))
    )
    print_figures("helix bench audit", figures, out)


@bench_app.command("cluster")
def bench_cluster(
    events: Annotated[int, typer.Option(help="trades to append and project per stream")] = 50_000,
    repeat: Annotated[int, typer.Option(help="interleaved R1/R3 runs (median reported)")] = 3,
    workers: Annotated[int, typer.Option(help="projector workers measured beside one")] = 4,
) -> None:
    """Market appends/s and candles projection/s from an R3 stream, beside the same on R1, on a
    private 3-node loopback cluster started for the run."""
    from helix.bench.cluster import run_cluster_bench
    from helix.bench.report import print_figures
    from helix.bootstrap import endpoints

    ends = endpoints(settings())
    figures = asyncio.run(
        run_cluster_bench(
            ends.database_url,
            events=events,
            repeat=repeat,
            workers=workers,
            progress=lambda m: err.print(f"[dim]{m}[/]"),
        )
    )
    print_figures("helix bench cluster", figures, out)
