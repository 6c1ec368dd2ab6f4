"""``helix candles``: OHLCV from the read model at any timeframe."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from helix.cli.app import app, out, settings
from helix.errors import ValidationError

COLUMNS = ("time", "open", "high", "low", "close", "volume", "trades", "buy_volume", "sell_volume")


def parse_time(text: str | None) -> datetime | None:
    """ISO-8601 (``2024-07-18``, ``2024-07-18T12:00``, with or without zone; UTC assumed) or
    epoch seconds.

    Raises:
        ValidationError: anything else.
    """
    if text is None:
        return None
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(f"not a time: {text!r} (use ISO-8601 or epoch seconds)") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def fetch_candles(
    database_url: str,
    symbol: str,
    *,
    venue: str | None,
    tf: str,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> tuple[str, list[dict[str, Any]]]:
    from helix.db.connect import connect_pg
    from projections.candles import QUERY, TIMEFRAMES

    if tf not in TIMEFRAMES:
        raise ValidationError(f"unknown timeframe {tf!r}; use one of {', '.join(TIMEFRAMES)}")
    conn = await connect_pg(database_url)
    try:
        if venue is None:
            venues = [
                r["venue"]
                for r in await conn.fetch(
                    "SELECT DISTINCT venue FROM candles_1m WHERE symbol = $1 ORDER BY 1", symbol
                )
            ]
            if not venues:
                raise ValidationError(f"no candles for {symbol}; run `helix projections run`?")
            if len(venues) > 1:
                raise ValidationError(f"{symbol} trades on {', '.join(venues)}: pick --venue")
            venue = venues[0]
        rows = await conn.fetch(
            QUERY, venue, symbol, limit if limit > 0 else None, TIMEFRAMES[tf], start, end
        )
    finally:
        await conn.close()
    return venue, [dict(r) for r in reversed(rows)]


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return value


@app.command("candles")
def candles(
    symbol: Annotated[str, typer.Argument(help="e.g. BTCUSDT")],
    venue: Annotated[str | None, typer.Option(help="venue (default: the only one)")] = None,
    tf: Annotated[str, typer.Option(help="1m|5m|15m|1h|4h|1d")] = "1m",
    start: Annotated[str | None, typer.Option("--from", help="first bucket (UTC)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="end, exclusive (UTC)")] = None,
    limit: Annotated[int, typer.Option(help="latest N candles (0 = all in range)")] = 100,
    fmt: Annotated[str, typer.Option("--format", help="table|csv|json")] = "table",
) -> None:
    """Candles from the read model: time (bucket start, UTC), OHLC, volume, trades, buy/sell."""
    from helix.bootstrap import endpoints

    if fmt not in ("table", "csv", "json"):
        raise ValidationError(f"unknown format {fmt!r}; use table, csv or json")
    venue_used, rows = asyncio.run(
        fetch_candles(
            endpoints(settings()).database_url,
            symbol.upper(),
            venue=venue,
            tf=tf,
            start=parse_time(start),
            end=parse_time(end),
            limit=limit,
        )
    )
    plain = [{c: _plain(r[c]) for c in COLUMNS} for r in rows]
    if fmt == "json":
        print(json.dumps(plain, indent=1))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(plain)
    else:
        table = Table(*COLUMNS, title=f"{venue_used} {symbol.upper()} {tf}")
        for r in plain:
            table.add_row(*(str(r[c]) for c in COLUMNS))
        out.print(table)
