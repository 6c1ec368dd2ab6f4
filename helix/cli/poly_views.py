"""``helix poly markets|wallets|clusters|positions|roi``: the Polymarket read models.

Each first brings its projectors up to the head of the log (so what it prints includes the
latest ingest), then reads the tables.  An empty read model is an error that says where its
data comes from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from helix.cli.app import out, settings
from helix.cli.poly import poly_app
from helix.errors import ConfigError, DomainError, ValidationError

T = TypeVar("T")
FROM_INGEST = "ingest some with `helix ingest polymarket` (or `helix import` a trades CSV)"
EMPTY = {
    "poly_markets": f"no Polymarket markets in the read model yet: {FROM_INGEST}",
    "wallets": f"no Polymarket wallets in the read model yet (they come from wallet trades): "
    f"{FROM_INGEST}",
    "wallet_clusters": "no wallet clusters in the read model yet: run `helix strategies poly` "
    "over ingested wallet trades",
    "poly_positions": "no Polymarket positions in the read model yet: trade with "
    "`helix poly trade buy|sell` or `helix auto poly-copy`",
    "hybrid_roi": "no booked fills in the read model yet: nothing has traded",
}


def _n(x: Decimal | float | None, places: int = 2) -> str:
    return "" if x is None else f"{x:,.{places}f}"


def _p(x: Decimal | None) -> str:
    """A price of an outcome token (a probability)."""
    return "" if x is None else f"{x:.3f}"


def _pct(x: Decimal | float | None) -> str:
    return "" if x is None else f"{float(x) * 100:,.1f}%"


def read(projectors: Sequence[str], table: str, query: Callable[[Any], Awaitable[T]]) -> T:
    """Catch ``projectors`` up, then run ``query(conn)``.

    Raises:
        DomainError: ``table`` has no rows (the message says where they come from).
        ConfigError: the table does not exist (migrations not applied).
    """
    import asyncpg

    from helix.bootstrap import endpoints
    from helix.cli.projections import run_projectors
    from helix.db.connect import connect_pg

    async def go() -> T:
        await run_projectors(list(projectors), until_caught_up=True, show_progress=False)
        conn = await connect_pg(endpoints(settings()).database_url)
        try:
            try:
                if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                    raise DomainError(EMPTY[table])
            except asyncpg.UndefinedTableError as exc:
                raise ConfigError(f"{table} does not exist: run `helix db migrate`") from exc
            return await query(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


@poly_app.command("markets")
def markets(
    active: Annotated[bool, typer.Option("--active", help="only active, open markets")] = False,
    limit: Annotated[int, typer.Option(help="at most N markets")] = 30,
) -> None:
    """Markets soonest to end first: outcomes with mid and last trade, volume, resolution."""
    from projections.poly_markets import list_markets

    if limit <= 0:
        raise ValidationError(f"--limit must be positive, got {limit}")
    rows = read(("poly_markets",), "poly_markets",
                lambda c: list_markets(c, active_only=active, limit=limit))  # fmt: skip
    title = "active markets" if active else "markets"
    table = Table("market", "question", "ends (UTC)", "outcomes: mid / last", "volume",
                  "liquidity", "state", title=title)  # fmt: skip
    for v in rows:
        m = v.market
        books = [
            f"{name} {_p(v.mids[i] if i < len(v.mids) else None)}"
            f" / {_p(v.last_trades[i] if i < len(v.last_trades) else None)}"
            for i, name in enumerate(m.outcomes)
        ]
        state = (f"resolved {m.winner} ({m.resolution_origin})" if m.winner is not None
                 else "active" if m.active and not m.closed else "closed")  # fmt: skip
        table.add_row(
            m.condition_id[:12], m.question or "(not listed)",
            "" if m.end_ts is None else f"{m.end_ts:%Y-%m-%d %H:%M}", "\n".join(books),
            _n(m.volume, 0), _n(m.liquidity, 0), state,
        )  # fmt: skip
    if not rows:
        out.print("no market matches")
        return
    out.print(table)


@poly_app.command("wallets")
def wallets(
    top: Annotated[int, typer.Option("--top", help="the N best wallets")] = 20,
    by: Annotated[str, typer.Option(help="pnl | score | roi")] = "pnl",
    min_resolved: Annotated[int, typer.Option(help="at least N resolved markets")] = 0,
) -> None:
    """Wallets by total PnL, smart score or ROI (quant.md §7)."""
    from projections.wallets import ORDER, top_wallets

    if by not in ORDER:
        raise ValidationError(f"--by must be pnl, score or roi, got {by!r}")
    if top <= 0:
        raise ValidationError(f"--top must be positive, got {top}")
    rows = read(("wallets",), "wallets",
                lambda c: top_wallets(c, top, by=by, min_resolved=min_resolved))  # fmt: skip
    table = Table("wallet", "realised", "unrealised", "total", "cost", "ROI", "win rate",
                  "resolved", "markets", "z", "brier", "pre-news", "score", "flags",
                  title=f"top {top} wallets by {by}")  # fmt: skip
    for w in rows:
        flags = " ".join(f for f, on in (("smart", w.smart), ("insider?", w.insider_watch)) if on)
        table.add_row(
            w.wallet, _n(w.realized_pnl), _n(w.unrealized_pnl),
            _n(w.realized_pnl + w.unrealized_pnl), _n(w.cost), _pct(w.roi), _pct(w.win_rate),
            str(w.n_resolved), str(w.n_markets), _n(w.z), _n(w.brier, 3), _pct(w.prenews_ratio),
            _n(w.smart_score, 1), flags,
        )  # fmt: skip
    out.print(table)


@poly_app.command("clusters")
def clusters(limit: Annotated[int, typer.Option(help="at most N clusters")] = 30) -> None:
    """Synced wallet clusters (quant.md §8), most recently seen first."""
    from projections.wallet_clusters import list_clusters

    rows = read(("wallet_clusters",), "wallet_clusters", lambda c: list_clusters(c, limit))
    table = Table("cluster", "members", "density", "edges", "2-core", "markets", "seen",
                  "first seen", "last seen", title="wallet clusters")  # fmt: skip
    for r in rows:
        table.add_row(
            r.cluster_id, "\n".join(r.members), f"{r.density:.3f}", str(r.edges),
            str(len(r.core)), "\n".join(r.markets[:6]) + ("\n…" if len(r.markets) > 6 else ""),
            str(r.times_seen), f"{r.first_seen_ts:%Y-%m-%d %H:%M}",
            f"{r.last_seen_ts:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    out.print(table)


@poly_app.command("positions")
def positions(
    account: Annotated[str | None, typer.Option(help="one account")] = None,
    every: Annotated[bool, typer.Option("--all", help="include flat positions")] = False,
) -> None:
    """Our Polymarket positions with their mark (payout, book mid or last trade)."""
    from projections.poly_positions import poly_positions

    rows = read(("poly_markets", "poly_positions"), "poly_positions",
                lambda c: poly_positions(c, account, open_only=not every))  # fmt: skip
    table = Table("account", "market", "outcome", "shares", "avg", "mark", "unrealised",
                  "realised", "fees", "cost", title="Polymarket positions")  # fmt: skip
    for m in rows:
        p = m.position
        table.add_row(
            p.account, m.question or m.condition_id or p.token_id[:16], m.outcome or "",
            _n(p.size), _p(p.avg_entry), _p(m.mark), _n(m.unrealized_pnl), _n(p.realized_pnl),
            _n(p.fees), _n(p.cost),
        )  # fmt: skip
    out.print(table)


@poly_app.command("roi")
def roi(
    account: Annotated[str | None, typer.Option(help="one account")] = None,
    strategy: Annotated[str | None, typer.Option(help="one strategy")] = None,
) -> None:
    """Perps and Polymarket legs per UTC day and strategy: PnL, cost deployed, ROI."""
    from projections.hybrid_roi import hybrid_roi

    rows = read(("hybrid_roi",), "hybrid_roi",
                lambda c: hybrid_roi(c, account=account, strategy=strategy))  # fmt: skip
    table = Table("day", "account", "strategy", "perps pnl", "perps cost", "perps ROI",
                  "poly pnl", "poly cost", "poly ROI", "funding", "combined", "ROI",
                  title="hybrid ROI (realised)")  # fmt: skip
    for v in rows:
        r = v.row
        table.add_row(
            str(r.day), r.account, r.strategy or "(funding)", _n(v.perps_pnl), _n(r.perps_cost),
            _pct(v.perps_roi), _n(v.poly_pnl), _n(r.poly_cost), _pct(v.poly_roi),
            _n(r.funding), _n(v.combined_pnl), _pct(v.combined_roi),
        )  # fmt: skip
    out.print(table)
