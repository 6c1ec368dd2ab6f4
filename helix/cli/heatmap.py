"""``helix heatmap`` and ``helix rank``: the liquidation heatmap read model, drawn and ranked."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from helix.cli.app import app, out, settings
from helix.cli.market import iso
from helix.errors import ValidationError


async def pick_venue(conn: object, symbol: str, venue: str | None) -> str:
    """The venue of ``symbol``'s heatmaps (the only one, or the one asked for).

    Raises:
        ValidationError: no heatmap for the symbol, or several venues and none chosen.
    """
    from projections.heatmap import markets

    venues = [v for v, _ in await markets(conn, symbol)]  # type: ignore[arg-type]
    if venue is not None:
        if venue not in venues:
            raise ValidationError(
                f"no heatmap for {symbol} on {venue}"
                + (f" (it has: {', '.join(venues)})" if venues else "")
            )
        return venue
    if not venues:
        raise ValidationError(
            f"no heatmap for {symbol}: run `helix projections run heatmap` after importing or "
            "ingesting trades/klines and open interest"
        )
    if len(venues) > 1:
        raise ValidationError(f"{symbol} has heatmaps on {', '.join(venues)}: pick --venue")
    return venues[0]


@app.command("heatmap")
def heatmap(
    symbol: Annotated[str, typer.Argument(help="e.g. BTCUSDT")],
    venue: Annotated[str | None, typer.Option(help="venue (default: the only one)")] = None,
    window: Annotated[
        str, typer.Option(help="12h | 24h | 3d | 7d | 30d | 90d | 180d | 1y")
    ] = "24h",
    png: Annotated[Path | None, typer.Option(help="write the heatmap to this PNG file")] = None,
    top: Annotated[int, typer.Option(help="clusters to list")] = 5,
) -> None:
    """Top liquidation clusters of a window and, with --png, the heatmap (price × time)."""
    from helix.bootstrap import endpoints
    from helix.db.connect import connect_pg
    from helix.quant.windows import WINDOWS
    from projections.heatmap import StoredHeatmap, load_heatmap

    if window not in WINDOWS:
        raise ValidationError(f"unknown window {window!r}; use one of {', '.join(WINDOWS)}")
    sym = symbol.upper()

    async def run() -> StoredHeatmap:
        conn = await connect_pg(endpoints(settings()).database_url)
        try:
            v = await pick_venue(conn, sym, venue)
            hm = await load_heatmap(conn, v, sym, window)
        finally:
            await conn.close()
        if hm is None:
            raise ValidationError(f"no {window} heatmap for {sym} on {v} yet")
        return hm

    hm = asyncio.run(run())
    from projections.base import ns_to_dt

    out.print(
        f"[bold]{hm.venue} {hm.symbol} {window}[/]  {iso(ns_to_dt(hm.start_ns))} → "
        f"{iso(ns_to_dt(hm.end_ns))}  price {hm.price:,.2f}  "
        f"levels: long ${hm.long[-1].sum():,.0f} below, short ${hm.short[-1].sum():,.0f} above"
        if len(hm.column_ts)
        else f"{hm.venue} {hm.symbol} {window}: no columns"
    )
    table = Table("#", "side", "price", "range", "size (USD)", "distance", "share", "score",
                  title="top liquidation clusters (latest column)")  # fmt: skip
    for c in hm.clusters[:top]:
        table.add_row(
            str(c["rank"]), c["side"], f"{c['price']:,.2f}",
            f"{c['price_low']:,.2f}–{c['price_high']:,.2f}", f"{c['size_usd']:,.0f}",
            f"{c['distance']:.2%}", f"{c['share']:.0%}", f"{c['score']:.1f}",
        )  # fmt: skip
    out.print(table)
    if hm.clusters:
        best = hm.clusters[0]
        way = "down" if best["side"] == "long" else "up"
        out.print(
            f"whale target: {best['side']}-liquidation cluster at {best['price']:,.2f} "
            f"(score {best['score']:.1f}) → expected hunt {way}"
        )
    if png is not None:
        render_png(hm, png)
        out.print(f"heatmap written to {png}")


def render_png(hm: object, path: Path) -> None:
    """Draw a stored heatmap (see :func:`projections.heatmap.load_heatmap`) to ``path``."""
    from helix.charts.heatmap_png import render_stored_heatmap
    from projections.heatmap import StoredHeatmap

    assert isinstance(hm, StoredHeatmap)
    path.parent.mkdir(parents=True, exist_ok=True)
    render_stored_heatmap(
        hm, path, title=f"{hm.venue} {hm.symbol} liquidation heatmap, {hm.window} (LHM-1)"
    )


@app.command("rank")
def rank(
    window: Annotated[str, typer.Option(help="heatmap window the levels come from")] = "24h",
    limit: Annotated[int, typer.Option(help="markets to show")] = 20,
) -> None:
    """Markets ranked by the imbalance of their open liquidation levels (long vs short)."""
    from helix.bootstrap import endpoints
    from helix.db.connect import connect_pg
    from helix.quant.windows import WINDOWS

    if window not in WINDOWS:
        raise ValidationError(f"unknown window {window!r}; use one of {', '.join(WINDOWS)}")

    async def run() -> list[dict[str, object]]:
        conn = await connect_pg(endpoints(settings()).database_url)
        try:
            rows = await conn.fetch(
                "SELECT venue, symbol, price, long_usd, short_usd, end_ts,"
                " (short_usd - long_usd) / NULLIF(short_usd + long_usd, 0) AS imbalance"
                " FROM heatmaps WHERE win = $1 AND long_usd + short_usd > 0"
                " ORDER BY abs((short_usd - long_usd) / (short_usd + long_usd)) DESC,"
                " venue, symbol LIMIT $2",
                window,
                limit,
            )
        finally:
            await conn.close()
        return [dict(r) for r in rows]

    rows = asyncio.run(run())
    if not rows:
        raise ValidationError(f"no {window} heatmaps yet: run `helix projections run heatmap`")
    table = Table("#", "venue", "symbol", "price", "long levels (below)", "short levels (above)",
                  "imbalance", "side at risk", "as of",
                  title=f"liquidation imbalance, {window} levels")  # fmt: skip
    for i, r in enumerate(rows, start=1):
        imb = float(r["imbalance"])  # type: ignore[arg-type]
        table.add_row(
            str(i), str(r["venue"]), str(r["symbol"]), f"{r['price']:,.2f}",
            f"{r['long_usd']:,.0f}", f"{r['short_usd']:,.0f}", f"{imb:+.1%}",
            "shorts (squeeze up)" if imb > 0 else "longs (flush down)",
            iso(r["end_ts"]),  # type: ignore[arg-type]
        )  # fmt: skip
    out.print(table)
