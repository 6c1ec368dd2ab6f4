"""``helix demo``: the first command a newcomer runs.

Services up (embedded by default), migrations, a simulated day of market data on venue
``sim`` (once: the ledger remembers it was loaded), projections to the head, the perps scanner
over the day (signals into the ledger, exactly once), and a summary of what is now in the log
and the read models: candles, the top liquidation clusters, the signals with their reasons and
a heatmap PNG, with the next commands to try.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Annotated

import typer
from nats.aio.client import Client as NATS
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from helix.bootstrap import Runtime
from helix.cli.app import app, err, out, settings


async def load_simulated_day(nc: NATS, *, seed: int, hours: int) -> tuple[int, bool]:
    """Publish the simulator's day unless the ledger says it is loaded; (events, loaded_now)."""
    from helix.clock import SystemClock
    from helix.importers.run import find_import, record_import
    from helix.sim.market import SimConfig, count_estimate, simulate
    from helix.store.market import MarketAppender

    cfg = SimConfig(seed=seed, duration_s=hours * 3600)
    digest = hashlib.sha256(repr(cfg).encode()).hexdigest()
    previous = await find_import(nc, digest, "sim")
    if previous is not None:
        return previous.imported, False
    with Progress(
        TextColumn("simulating + publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        task = progress.add_task("sim", total=count_estimate(cfg))
        async with MarketAppender(nc) as app:
            for i, event in enumerate(simulate(cfg), start=1):
                await app.append(event)
                if i % 5000 == 0:
                    progress.update(task, completed=i)
            stats = await app.flush()
        progress.update(task, completed=stats.published, total=stats.published)
    await record_import(
        nc,
        sha=digest,
        name=f"simulator seed={seed} hours={hours}",
        fmt="sim",
        source="helix-demo",
        now_ns=SystemClock().now_ns(),
        read=stats.published,
        imported=stats.stored,
        duplicates=stats.duplicates,
    )
    return stats.stored, True


@app.command("demo")
def demo(
    seed: Annotated[int, typer.Option(help="simulator seed")] = 7,
    hours: Annotated[int, typer.Option(help="hours of simulated market data")] = 24,
) -> None:
    """Start everything, load a simulated day, project it, and show what is there."""
    from helix.bootstrap import runtime
    from helix.cli.market import fetch_candles
    from helix.cli.projections import run_projectors
    from helix.db.connect import connect_pg
    from helix.db.migrate import migrate
    from helix.strategies.runtime import run_scanner
    from helix.strategies.scanner import ScannerConfig
    from projections.registry import all_projectors

    s = settings()

    async def run() -> None:
        async with runtime(s) as rt:
            ends = rt.endpoints
            out.print(f"[bold]services[/]  NATS {ends.nats_url}  PostgreSQL {ends.database_url}")
            report = await asyncio.to_thread(migrate, ends.database_url)
            kind = "TimescaleDB hypertables" if report.timescaledb else "plain PostgreSQL tables"
            out.print(f"[bold]read models[/]  migrated ({kind})")
            n, fresh = await load_simulated_day(rt.nc, seed=seed, hours=hours)
            verb = "published" if fresh else "already in the log:"
            out.print(f"[bold]market data[/]  {verb} {n:,} simulated events (venue sim)")
        await run_projectors(list(all_projectors()), until_caught_up=True)
        async with runtime(s) as rt:
            scan = await run_scanner(rt.nc, ScannerConfig.from_settings(s))
            out.print(
                f"[bold]signals[/]  scanned {scan.events:,} market events, "
                f"{scan.published:,} new signals in the ledger"
            )
        await run_projectors(["signals"], until_caught_up=True, show_progress=False)
        async with runtime(s) as rt:
            await summary(rt)
            await intelligence(rt)

    async def summary(rt: Runtime) -> None:
        js = rt.nc.jetstream()
        log = Table("log (JetStream)", "events", title="what is in the log")
        for label, subject in (
            ("trades", "mkt.*.trade.>"),
            ("liquidations", "mkt.*.liq.>"),
            ("tickers (OI, funding, mark)", "mkt.*.ticker.>"),
            ("dead letters", None),
        ):
            if subject is None:
                info = await js.stream_info("DLQ")
                log.add_row(label, f"{info.state.messages:,}")
                continue
            info = await js.stream_info("MARKET", subjects_filter=subject)
            log.add_row(label, f"{sum((info.state.subjects or {}).values()):,}")
        out.print(log)
        url = rt.endpoints.database_url
        conn = await connect_pg(url)
        try:
            models = Table("read model", "rows", title="what is in the read models")
            for table in (
                "candles_1m",
                "open_interest",
                "funding",
                "liquidations",
                "liquidations_1m",
                "heatmap_columns",
                "heatmap_clusters",
                "signals",
            ):
                models.add_row(table, f"{await conn.fetchval(f'SELECT count(*) FROM {table}'):,}")
        finally:
            await conn.close()
        out.print(models)
        venue, rows = await fetch_candles(
            url, "BTCUSDT", venue="sim", tf="1h", start=None, end=None, limit=5
        )
        candles = Table("time", "open", "high", "low", "close", "volume", "trades",
                        title=f"last candles: {venue} BTCUSDT 1h")  # fmt: skip
        for r in rows:
            candles.add_row(
                r["time"].strftime("%Y-%m-%d %H:%M"), str(r["open"]), str(r["high"]),
                str(r["low"]), str(r["close"]), f"{r['volume']:.3f}", f"{r['trades']:,}",
            )  # fmt: skip
        out.print(candles)

    async def intelligence(rt: Runtime) -> None:
        from helix.cli.heatmap import render_png
        from projections.heatmap import load_heatmap, summarize

        conn = await connect_pg(rt.endpoints.database_url)
        try:
            for symbol in ("BTCUSDT", "ETHUSDT"):
                hm = await load_heatmap(conn, "sim", symbol, "24h")
                if hm is None:
                    continue
                out.print(f"[bold]{symbol} 24h liquidation clusters[/] (price {hm.price:,.2f})")
                for line in summarize(hm.clusters[:3]):
                    out.print(f"  {line}")
                if symbol == "BTCUSDT":
                    png = s.home_path / "reports" / "heatmap-sim-BTCUSDT-24h.png"
                    await asyncio.to_thread(render_png, hm, png)
                    out.print(f"  heatmap PNG: {png}")
            counts = await conn.fetch(
                "SELECT kind, count(*) AS n FROM signals WHERE venue IN ('sim', '*')"
                " GROUP BY 1 ORDER BY 1"
            )
            kinds = Table("signal kind", "count", title="signals on the simulated day")
            for r in counts:
                kinds.add_row(r["kind"], f"{r['n']:,}")
            out.print(kinds)
            latest = await conn.fetch(
                "SELECT ts, kind, symbol, reason FROM signals"
                " WHERE kind IN ('stop_hunt', 'liquidation_cluster_targeted')"
                " ORDER BY ts DESC, event_id LIMIT 4"
            )
            for r in reversed(latest):
                out.print(f"  {r['ts']:%H:%M} {r['kind']}: {r['reason']}")
        finally:
            await conn.close()
        from helix.cli.sim import scorecard_for, sim_signals
        from helix.sim.scorecard import Scorecard

        card = await asyncio.to_thread(scorecard_for, seed, hours, await sim_signals(rt.nc, "sim"))
        assert isinstance(card, Scorecard)
        big, big_found = card.subset(10)
        out.print(
            f"[bold]planted stop hunts found[/]  {card.found.either:.0f} of {len(card.matches)} "
            f"(chance level {card.chance.either:.1f}); with a 10+ liquidation cascade: "
            f"{big_found} of {big}   (helix sim scorecard)"
        )

    asyncio.run(run())
    out.print(
        "\n[bold]next[/]\n"
        "  helix heatmap BTCUSDT --window 24h --png heatmap.png\n"
        "  helix trade buy sim BTCUSDT 0.01 --sl 92000 --tp 96000   |   helix positions\n"
        "  helix signals --kind stop_hunt   |   helix rank   |   helix sim scorecard\n"
        "  helix candles ETHUSDT --venue sim --tf 15m --limit 20\n"
        "  helix projections status\n"
        "  helix streams info\n"
        "  helix import ../shared/data/hftbacktest-binance-usdm-ws/btcusdt_20240718.gz "
        "--format binance-ws\n"
        "  helix bench store   |   helix bench projections\n"
        "  helix services env  (URLs for psql, Grafana, other shells)"
    )
