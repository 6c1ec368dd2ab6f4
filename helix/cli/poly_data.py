"""``helix poly resolve`` and ``helix poly resolve-midterms``: resolutions onto the log.

``resolve MARKET OUTCOME`` declares a market resolved by hand (``origin="manual"``): the
outcomes come from the market's listing on the log, or from ``--outcomes A,B`` for a market
the log does not know.  ``resolve-midterms FILE...`` resolves the 2022 midterm exports
(imported with ``helix import FILE... --format polymarket-midterms-csv``) by the official
results (``origin="import"``).  Both are idempotent: resolving again reports what is there.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from helix.cli.app import out, settings
from helix.cli.poly import poly_app
from helix.errors import ValidationError


@poly_app.command("resolve")
def resolve(
    market: Annotated[str, typer.Argument(help="the condition id")],
    outcome: Annotated[str, typer.Argument(help="the outcome that won (pays 1)")],
    note: Annotated[str, typer.Option(help="why, kept with the resolution")] = "",
    outcomes: Annotated[
        str | None,
        typer.Option(help="A,B: the outcomes, for a market with no listing on the log"),
    ] = None,
) -> None:
    """Record that MARKET resolved to OUTCOME (the other outcomes pay 0)."""
    from helix.bootstrap import runtime
    from helix.clock import SystemClock
    from helix.feeds.polymarket.resolve import (
        check_market_id,
        known_market,
        manual_resolution,
        record_resolution,
    )

    cid = check_market_id(market)
    given = [o.strip() for o in outcomes.split(",")] if outcomes is not None else None

    async def run() -> tuple[object, bool]:
        async with runtime(settings()) as rt:
            listing = await known_market(rt.nc, cid, codec=rt.codec)
            if listing is not None:
                if given is not None and tuple(given) != listing.outcomes:
                    raise ValidationError(
                        f"--outcomes {','.join(given)} differs from the listing on the log: "
                        f"{','.join(listing.outcomes)} (leave --outcomes out)"
                    )
                names, tokens = list(listing.outcomes), list(listing.token_ids)
            elif given is not None:
                names, tokens = given, []
            else:
                raise ValidationError(
                    f"market {cid} has no listing on the log; give its outcomes: --outcomes A,B"
                )
            resolved = manual_resolution(
                condition_id=cid, outcomes=names, winner=outcome, token_ids=tokens,
                note=note, now_ns=SystemClock().now_ns(),
            )  # fmt: skip
            return await record_resolution(rt.nc, resolved, codec=rt.codec)

    on_log, stored = asyncio.run(run())
    verb = "resolved" if stored else "already resolved"
    out.print(f"{verb}: {cid} -> {getattr(on_log, 'winner', outcome)}")


@poly_app.command("resolve-midterms")
def resolve_midterms(
    paths: Annotated[list[Path], typer.Argument(help="midterms exports, e.g. nevada_senate.csv")],
) -> None:
    """Resolve imported 2022 midterm markets by the official results (one per file).

    The payout is dated after the file's last trade (and not before the result was known).
    """
    from rich.table import Table

    from helix.bootstrap import runtime
    from helix.clock import SystemClock
    from helix.feeds.polymarket.resolve import record_resolution
    from helix.importers.midterms_2022 import official_resolution, result_for
    from helix.importers.polymarket_csv import last_trade_ns

    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValidationError(f"no such file: {', '.join(missing)}")
    now = SystemClock().now_ns()
    planned = [
        official_resolution(result_for(p.stem), last_trade_ns=last_trade_ns(p), now_ns=now)
        for p in paths
    ]

    async def run() -> list[tuple[object, bool]]:
        async with runtime(settings()) as rt:
            return [await record_resolution(rt.nc, r, codec=rt.codec) for r in planned]

    table = Table("market", "winner", "recorded", "note")
    for resolved, (_, stored) in zip(planned, asyncio.run(run()), strict=True):
        table.add_row(
            resolved.condition_id, resolved.winner, "yes" if stored else "already", resolved.note
        )
    out.print(table)
