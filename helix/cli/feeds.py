"""``helix ingest`` and ``helix feeds``: live venue feeds into the log."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Annotated

import typer
from rich.table import Table

from helix.cli.app import app, err, group, out, settings
from helix.errors import ConfigError

ingest_app = typer.Typer(help="Run a live feed until stopped.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
feeds_app = group("feeds", "Live feeds: status.")


@ingest_app.command("bybit")
def ingest_bybit(
    symbols: Annotated[str, typer.Option(help="comma-separated, e.g. BTCUSDT,ETHUSDT")] = "",
    all_symbols: Annotated[bool, typer.Option("--all", help="every trading USDT perp")] = False,
    testnet: Annotated[bool, typer.Option("--testnet", help="Bybit testnet endpoints")] = False,
    metrics_port: Annotated[int | None, typer.Option(help="Prometheus port (0 = off)")] = None,
    duration: Annotated[float, typer.Option(help="stop after N seconds (0 = until stopped)")] = 0,
) -> None:
    """Trades, liquidations, ticker changes and closed 1m klines of linear perps into the log."""
    from helix.bootstrap import runtime
    from helix.clock import SystemClock
    from helix.feeds.bybit.feed import BybitFeed
    from helix.feeds.bybit.rest import BybitRest
    from helix.feeds.status import FeedCollector, publish_status, serve_metrics, status_bucket
    from helix.settings import with_bybit_testnet

    s = settings()
    if testnet:
        s = with_bybit_testnet(s)
    rest = BybitRest(s.bybit_rest_url)
    if all_symbols:
        chosen = rest.linear_usdt_perps()
    else:
        chosen = [x.strip().upper() for x in symbols.split(",") if x.strip()]
    if not chosen:
        raise ConfigError("name --symbols (e.g. BTCUSDT,ETHUSDT) or --all")
    port = s.metrics_port if metrics_port is None else metrics_port

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if duration:
            loop.call_later(duration, stop.set)
        async with runtime(s) as rt:
            kv = await status_bucket(rt.nc)
            last = 0.0
            pending: set[asyncio.Task[None]] = set()

            def on_stats(stats: object) -> None:
                nonlocal last
                now = time.monotonic()
                if now - last >= 2.0:
                    last = now
                    snap = feed.stats.snapshot()
                    task = loop.create_task(publish_status(kv, "bybit", snap))
                    pending.add(task)
                    task.add_done_callback(pending.discard)

            feed = BybitFeed(
                nc=rt.nc,
                rest=rest,
                ws_url=s.bybit_ws_public_url,
                symbols=chosen,
                clock=SystemClock(),
                symbols_per_connection=s.bybit_symbols_per_connection,
                on_stats=on_stats,
            )
            if port:
                serve_metrics(port, FeedCollector("bybit", feed.stats.snapshot))
                err.print(f"[dim]metrics on http://127.0.0.1:{port}/metrics[/]")
            err.print(
                f"ingesting {len(chosen)} symbols from {s.bybit_ws_public_url} (Ctrl-C stops)"
            )
            stats = await feed.run(stop)
            await publish_status(kv, "bybit", stats.snapshot())
        trades = sum(st.trades for st in stats.symbols.values())
        repaired = sum(st.repaired for st in stats.symbols.values())
        out.print(
            f"stopped: {trades:,} trades, {stats.reconnects} reconnects, {repaired:,} trades "
            f"repaired from REST, {stats.dead_letters} dead letters"
        )

    asyncio.run(run())


@ingest_app.command("polymarket")
def ingest_polymarket(
    markets: Annotated[str, typer.Option(help="comma-separated condition ids (0x...)")] = "",
    active: Annotated[bool, typer.Option("--active", help="every active market on Gamma")] = False,
    metrics_port: Annotated[int | None, typer.Option(help="Prometheus port (0 = off)")] = None,
    duration: Annotated[float, typer.Option(help="stop after N seconds (0 = until stopped)")] = 0,
) -> None:
    """Polymarket listings, resolutions, wallet trades, books and CLOB trades into the log."""
    from helix.bootstrap import runtime
    from helix.clock import SystemClock
    from helix.feeds.polymarket.feed import PolyFeedStats, PolymarketFeed
    from helix.feeds.status import FeedCollector, publish_status, serve_metrics, status_bucket
    from helix.venues.polymarket_sdk import PolymarketGateway

    chosen = [x.strip() for x in markets.split(",") if x.strip()]
    if not chosen and not active:
        raise ConfigError("name --markets (condition ids, comma-separated) or --active")
    s = settings()
    port = s.metrics_port if metrics_port is None else metrics_port

    async def run() -> PolyFeedStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if duration:
            loop.call_later(duration, stop.set)
        async with runtime(s) as rt, PolymarketGateway(s) as gateway:
            kv = await status_bucket(rt.nc)
            pending: set[asyncio.Task[None]] = set()

            def on_stats(stats: PolyFeedStats) -> None:
                task = loop.create_task(publish_status(kv, "polymarket", stats.snapshot()))
                pending.add(task)
                task.add_done_callback(pending.discard)

            feed = PolymarketFeed(
                nc=rt.nc, gateway=gateway, clock=SystemClock(), markets=chosen, active=active,
                poll_s=s.polymarket_poll_s, on_stats=on_stats,
            )  # fmt: skip
            if port:
                serve_metrics(port, FeedCollector("polymarket", feed.stats.snapshot))
                err.print(f"[dim]metrics on http://127.0.0.1:{port}/metrics[/]")
            what = "active markets" if active else f"{len(chosen)} markets"
            err.print(
                f"ingesting {what} from Polymarket every {s.polymarket_poll_s:g}s (Ctrl-C stops)"
            )
            stats = await feed.run(stop)
            for task in list(pending):
                await task
            await publish_status(kv, "polymarket", stats.snapshot())
        return stats

    stats = asyncio.run(run())
    snap = stats.snapshot()["symbols"].values()
    out.print(
        f"stopped: {len(stats.markets)} markets, {sum(m['wallet_trades'] for m in snap):,} wallet "
        f"trades, {sum(m['clob_trades'] for m in snap):,} CLOB trades, "
        f"{sum(m['tickers'] for m in snap):,} books, {stats.resolutions} resolutions, "
        f"{stats.reconnects} reconnects, {stats.dead_letters} dead letters"
    )


@feeds_app.command("status")
def feeds_status() -> None:
    """Per symbol: last event time, events, trades/s since start, reconnects, repairs."""
    from helix.bootstrap import runtime
    from helix.feeds.status import read_status

    async def run() -> dict[str, dict[str, object]]:
        async with runtime(settings()) as rt:
            return await read_status(rt.nc)

    feeds = asyncio.run(run())
    if not feeds:
        out.print("no feed has reported yet (start one: helix ingest bybit --symbols BTCUSDT)")
        raise typer.Exit(1)
    table = Table("feed", "symbol", "last event (UTC)", "trades", "trades/s", "liqs", "tickers",
                  "klines", "repaired", "reconnects", "dead letters")  # fmt: skip
    for venue, snap in feeds.items():
        elapsed = max(1e-9, (int(snap["updated_ns"]) - int(snap["started_ns"])) / 1e9)  # type: ignore[call-overload]
        for symbol, st in snap["symbols"].items():  # type: ignore[attr-defined]
            last = st["last_event_ns"]
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(last / 1e9)) if last else "-"
            table.add_row(
                venue, symbol, when, f"{st['trades']:,}", f"{st['trades'] / elapsed:,.1f}",
                f"{st['liquidations']:,}", f"{st['tickers']:,}", f"{st['klines']:,}",
                f"{st['repaired']:,}", str(snap["reconnects"]), str(snap["dead_letters"]),
            )  # fmt: skip
    out.print(table)


backfill_app = typer.Typer(help="History through REST (resumable).", no_args_is_help=True)
app.add_typer(backfill_app, name="backfill")


@backfill_app.command("bybit")
def backfill_bybit(
    symbol: Annotated[str, typer.Option(help="e.g. BTCUSDT")],
    start: Annotated[str, typer.Option("--from", help="UTC start (ISO-8601 or epoch s)")],
    end: Annotated[str, typer.Option("--to", help="UTC end, exclusive")],
    what: Annotated[
        str, typer.Option(help="comma-separated: klines,oi,funding")
    ] = "klines,oi,funding",
    testnet: Annotated[bool, typer.Option("--testnet")] = False,
) -> None:
    """Klines (1m), open interest (5m) and funding history into the log; re-run to resume."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from helix.bootstrap import runtime
    from helix.cli.market import parse_time
    from helix.clock import SystemClock
    from helix.feeds.bybit.backfill import KINDS, backfill
    from helix.feeds.bybit.rest import BybitRest
    from helix.settings import with_bybit_testnet

    kinds = [k.strip() for k in what.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ConfigError(f"--what takes {', '.join(KINDS)}; got {what!r}")
    t0, t1 = parse_time(start), parse_time(end)
    assert t0 is not None
    assert t1 is not None
    start_ms, end_ms = int(t0.timestamp() * 1000), int(t1.timestamp() * 1000)
    if end_ms <= start_ms:
        raise ConfigError("--to must be after --from")
    s = with_bybit_testnet(settings()) if testnet else settings()
    rest = BybitRest(s.bybit_rest_url)

    async def run() -> None:
        async with runtime(s) as rt:
            columns = (TextColumn("{task.description:>8}"), BarColumn(), TimeElapsedColumn())
            with Progress(*columns, console=err) as progress:
                for kind in kinds:
                    task = progress.add_task(kind, total=end_ms - start_ms)

                    def on_window(done: int, total: int, task: object = task) -> None:
                        progress.update(task, completed=done)  # type: ignore[arg-type]

                    r = await backfill(
                        rt.nc, rest, symbol=symbol.upper(), kind=kind, start_ms=start_ms,
                        end_ms=end_ms, clock=SystemClock(), on_window=on_window,
                    )  # fmt: skip
                    progress.update(task, completed=end_ms - start_ms)
                    resumed = "" if r.resumed_from_ms == start_ms else " (resumed)"
                    out.print(f"{kind}: {r.events:,} events in {r.windows} windows{resumed}")
            if rest.waited_s:
                out.print(f"waited {rest.waited_s:.1f}s for Bybit's rate limit to reset")

    asyncio.run(run())
