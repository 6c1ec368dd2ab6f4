"""``helix demo``: the first command a newcomer runs.

Services up (embedded by default), migrations, a simulated day of market data on venue
``sim`` and a simulated Polymarket world around it (:mod:`helix.sim.poly`: a month of resolved
markets, skilled, synced and noise wallets, open markets on the day; each loaded once: the
ledger remembers it), projections to the head, the Polymarket oracle, the perps scanner and
the hybrid fuser over them (signals into the ledger, exactly once), the copy-trader once in
paper, and a summary of what is now in the log and the read models: candles, the top
liquidation clusters, the signals with their reasons, a heatmap PNG, the smart wallets,
synced clusters and Polymarket/hybrid signals, with the next commands to try.

The oracle runs before the perps scanner so the ledger holds the day's Polymarket signals
before the perps ones, roughly as live (where both follow the day together); the fuser pairs
signals in ledger order and keeps only the last two windows of them (helix/strategies/hybrid.py).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Annotated, cast

import typer
from nats.aio.client import Client as NATS
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from helix.bootstrap import Runtime
from helix.cli.app import app, err, out, settings
from helix.settings import Settings


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


async def load_simulated_poly(nc: NATS, *, seed: int, hours: int) -> tuple[int, bool]:
    """Publish the simulated Polymarket world unless the ledger says it is loaded."""
    from helix.clock import SystemClock
    from helix.importers.run import find_import, record_import
    from helix.sim.poly import PolySimConfig, simulate_poly
    from helix.store.market import MarketAppender, MarketEvent

    cfg = PolySimConfig(seed=seed, day_hours=hours)
    digest = hashlib.sha256(repr(cfg).encode()).hexdigest()
    previous = await find_import(nc, digest, "sim-poly")
    if previous is not None:
        return previous.imported, False
    async with MarketAppender(nc) as app:
        for event in simulate_poly(cfg):
            await app.append(cast(MarketEvent, event))
        stats = await app.flush()
    await record_import(
        nc,
        sha=digest,
        name=f"polymarket simulator seed={seed} hours={hours}",
        fmt="sim-poly",
        source="helix-demo",
        now_ns=SystemClock().now_ns(),
        read=stats.published,
        imported=stats.stored,
        duplicates=stats.duplicates,
    )
    return stats.stored, True


DEMO_ACCOUNTS = ("poly-demo", "hybrid-demo")
"""The copy-trader's paper accounts in the demo: every signal kind, and hybrid signals only."""


async def copy_once(rt: Runtime, s: Settings, *, start_ns: int) -> list[tuple[str, int]]:
    """Run the copy-trader once in paper per demo account; (account, orders placed).

    The simulated day lies in the past, so a signal counts as fresh (``max_signal_age_s``)
    when it is from the day: its age is at most the time since the day started.
    """
    import time

    from msgspec.structs import replace

    from events.poly import HybridSignal
    from helix.strategies.poly_copy import PolyCopyConfig
    from helix.strategies.poly_copy_runtime import run_copy

    age = max(3600, (time.time_ns() - start_ns) // 1_000_000_000 + 60)
    done: list[tuple[str, int]] = []
    for account in DEMO_ACCOUNTS:
        cfg = replace(PolyCopyConfig.from_settings(s, account=account), max_signal_age_s=age)
        if account == "hybrid-demo":
            cfg = replace(cfg, kinds=(HybridSignal.KIND,))
        stats = await run_copy(rt, s, cfg)
        done.append((account, stats.orders))
    return done


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
    from helix.sim.market import SimConfig
    from helix.strategies.hybrid import HybridConfig
    from helix.strategies.poly_oracle import OracleConfig
    from helix.strategies.poly_runtime import run_fuser, run_oracle
    from helix.strategies.runtime import run_scanner
    from helix.strategies.scanner import ScannerConfig
    from projections.registry import all_projectors

    s = settings()
    start_ns = SimConfig(seed=seed).start_ns

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
            n, fresh = await load_simulated_poly(rt.nc, seed=seed, hours=hours)
            verb = "published" if fresh else "already in the log:"
            out.print(f"[bold]polymarket[/]  {verb} {n:,} simulated events (venue polymarket)")
        await run_projectors(list(all_projectors()), until_caught_up=True)
        async with runtime(s) as rt:
            oracle = await run_oracle(rt.nc, OracleConfig.from_settings(s))
            scan = await run_scanner(rt.nc, ScannerConfig.from_settings(s))
            fused = await run_fuser(rt.nc, HybridConfig.from_settings(s))
            out.print(
                f"[bold]signals[/]  scanned {scan.events:,} market events, "
                f"{scan.published:,} new signals in the ledger; oracle "
                f"{oracle.published:,} and fuser {fused.published:,} new Polymarket signals"
            )
        await run_projectors(list(all_projectors()), until_caught_up=True, show_progress=False)
        async with runtime(s) as rt:
            orders = await copy_once(rt, s, start_ns=start_ns)
            out.print(
                "[bold]copy-trader[/]  paper orders: " + ", ".join(f"{a} {n}" for a, n in orders)
            )
        await run_projectors(list(all_projectors()), until_caught_up=True, show_progress=False)
        async with runtime(s) as rt:
            await summary(rt)
            await intelligence(rt)
            await polymarket(rt)

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

    async def polymarket(rt: Runtime) -> None:
        conn = await connect_pg(rt.endpoints.database_url)
        try:
            top = await conn.fetch(
                "SELECT wallet, smart_score, n_resolved, realized_pnl, smart FROM wallets"
                " ORDER BY smart_score DESC, wallet LIMIT 5"
            )
            wallets = Table("wallet", "smart score", "resolved", "realised PnL", "smart",
                            title="Polymarket: top wallets by smart score")  # fmt: skip
            for r in top:
                wallets.add_row(r["wallet"][:12] + "…", f"{r['smart_score']:.1f}",
                                str(r["n_resolved"]), f"{r['realized_pnl']:,.2f}",
                                "yes" if r["smart"] else "")  # fmt: skip
            out.print(wallets)
            for r in await conn.fetch(
                "SELECT cluster_id, members, density, markets FROM wallet_clusters"
                " ORDER BY last_seen_ts DESC LIMIT 3"
            ):
                out.print(
                    f"[bold]synced cluster[/] {r['cluster_id']}: {len(r['members'])} wallets, "
                    f"density {r['density']:.2f}, {len(r['markets'])} shared outcomes"
                )
            kinds = Table("signal kind", "count", title="Polymarket and hybrid signals")
            for r in await conn.fetch(
                "SELECT kind, count(*) AS n FROM signals WHERE venue = 'polymarket'"
                " GROUP BY 1 ORDER BY 1"
            ):
                kinds.add_row(r["kind"], f"{r['n']:,}")
            out.print(kinds)
            for r in await conn.fetch(
                "SELECT ts, reason FROM signals WHERE kind = 'hybrid_signal'"
                " ORDER BY ts, event_id LIMIT 2"
            ):
                out.print(f"  {r['ts']:%H:%M} hybrid_signal: {r['reason']}")
            roi = await conn.fetch(
                "SELECT account, strategy, sum(poly_cost) AS cost, sum(fills) AS fills"
                " FROM hybrid_roi GROUP BY 1, 2 ORDER BY 1, 2"
            )
            for r in roi:
                out.print(
                    f"  paper {r['account']} / {r['strategy']}: {r['fills']} fill(s), "
                    f"${r['cost']:,.2f} deployed on Polymarket"
                )
        finally:
            await conn.close()

    asyncio.run(run())
    out.print(
        "\n[bold]next[/]\n"
        "  helix poly markets   |   helix poly wallets --top 10   |   helix poly clusters\n"
        "  helix poly roi   |   helix signals --kind hybrid_signal\n"
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
