"""``helix orders``, ``helix positions``, ``helix pnl``: the trading read models.

Each first brings the trading projectors up to the head of the ledger (so what it prints
includes the command just executed), then reads the tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Column, Table

from helix.cli.app import app, out, settings
from helix.errors import ValidationError

TRADING_PROJECTORS = ("orders", "positions", "pnl", "accounts")
T = TypeVar("T")


def _n(x: Decimal | None, places: int = 2) -> str:
    return "" if x is None else f"{x:,.{places}f}"


def _q(x: Decimal | None) -> str:
    return "" if x is None else format(x.normalize(), "f")


def read(query: Callable[[Any], Awaitable[T]]) -> T:
    """Catch the trading projectors up, then run ``query(conn)``."""
    from helix.bootstrap import endpoints
    from helix.cli.projections import run_projectors
    from helix.db.connect import connect_pg

    async def go() -> T:
        await run_projectors(list(TRADING_PROJECTORS), until_caught_up=True, show_progress=False)
        conn = await connect_pg(endpoints(settings()).database_url)
        try:
            return await query(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


@app.command("orders")
def orders(
    open_only: Annotated[bool, typer.Option("--open", help="only open orders")] = False,
    account: Annotated[str | None, typer.Option(help="one account")] = None,
    limit: Annotated[int, typer.Option(help="latest N orders")] = 20,
) -> None:
    """Orders with their status, fills and (for rejections) the reasons."""
    from projections.orders import open_orders, recent_orders

    rows = read(
        lambda c: open_orders(c, account) if open_only else recent_orders(c, limit, account=account)
    )
    table = Table(
        Column("order", no_wrap=True, min_width=36), "created", "market", "side", "type", "qty",
        "price", "status", "filled", "avg", "fees", "note",
        title="open orders" if open_only else "orders",
    )  # fmt: skip
    for r in rows:
        price = r.limit_price or r.trigger_price
        child = f"child of {str(r.parent_id)[:8]}" if r.parent_id else ""
        note = r.reject_reason or r.cancel_reason or child or (r.strategy or "")
        table.add_row(
            str(r.order_id), f"{r.created_ts:%m-%d %H:%M:%S}", f"{r.venue}:{r.symbol}",
            r.side or "", r.order_type or "", _q(r.qty), _q(price), r.status, _q(r.cum_qty),
            _n(r.avg_price) if r.cum_qty else "", _n(r.fees, 4), note,
        )  # fmt: skip
    out.print(table)


@app.command("positions")
def positions(
    account: Annotated[str | None, typer.Option(help="one account")] = None,
    every: Annotated[bool, typer.Option("--all", help="include flat positions")] = False,
) -> None:
    """Positions with entry, realised and unrealised PnL (at the latest candle close)."""
    from projections.positions import positions as query

    rows = read(lambda c: query(c, account, open_only=not every))
    table = Table("account", "market", "size", "entry", "mark", "unrealised", "realised",
                  "fees", "funding", "net", title="positions")  # fmt: skip
    for m in rows:
        p = m.position
        table.add_row(
            p.account, f"{p.venue}:{p.symbol}", _q(p.size), _n(p.entry_price), _n(m.mark_price),
            _n(m.unrealized_pnl), _n(p.realized_pnl), _n(p.fees), _n(p.funding), _n(m.net_pnl),
        )  # fmt: skip
    out.print(table)


@app.command("pnl")
def pnl(
    by: Annotated[str, typer.Option(help="symbol | strategy | day")] = "symbol",
    account: Annotated[str | None, typer.Option(help="one account")] = None,
) -> None:
    """Realised PnL, fees and funding (and unrealised where it applies), grouped."""
    from projections.pnl import pnl as query

    if by not in ("symbol", "strategy", "day"):
        raise ValidationError(f"--by must be symbol, strategy or day, got {by!r}")
    rows = read(lambda c: query(c, by, account=account))  # type: ignore[arg-type]
    key = {"symbol": "market", "strategy": "strategy", "day": "day (UTC)"}[by]
    table = Table(key, "realised", "fees", "funding", "net", "unrealised", "fills",
                  title=f"PnL by {by}")  # fmt: skip
    for r in rows:
        label = (f"{r.venue}:{r.symbol}" if by == "symbol" else r.strategy or "(funding)"
                 if by == "strategy" else str(r.day))  # fmt: skip
        table.add_row(label, _n(r.realized_pnl), _n(r.fees), _n(r.funding), _n(r.net_pnl),
                      _n(r.unrealized_pnl), str(r.fills))  # fmt: skip
    out.print(table)
