"""``pnl_daily``: realised PnL, fees, funding, fills and quote volume per UTC day, account,
market and strategy, from the booked fills and funding payments.

The day is the UTC date of the event's ``ts_event`` (a funding payment's is its funding time),
as the execution service's daily-loss check counts it.  Funding belongs to a position, not to a
strategy: its rows have strategy ``''``.  ``net_pnl`` (realised − fees + funding) is a
generated column.

Each batch is folded per row key in memory with **exact** Decimal arithmetic and added to the
table's row by the upsert (numeric addition is exact too), so the sums do not depend on how
the log was cut into batches.  The positions table sums in the domain's 28-significant-digit
context instead (so it equals the execution service's book): the two can differ in the last of
those digits, far below a cent.

Unrealised PnL moves with every price and is not stored: the ``pnl_daily_with_unrealized``
view adds, on the row of the latest candle's UTC day, each open position marked at the latest
1-minute close of its market; :func:`pnl` reads it for ``by="day"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from typing import Literal

import asyncpg

from events.trading import FillBooked, FundingBooked
from projections.base import Batch, ns_to_dt
from projections.rows import columns, unnest_insert

ZERO = Decimal(0)
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)  # sums and products never round
PnlKey = tuple[date, str, str, str, str]  # (day, account, venue, symbol, strategy)
GroupBy = Literal["symbol", "strategy", "day"]


@dataclass(frozen=True, slots=True)
class PnlDailyRow:
    """A row of ``pnl_daily`` (without its generated ``net_pnl``)."""

    day: date
    account: str
    venue: str
    symbol: str
    strategy: str
    realized_pnl: Decimal
    fees: Decimal
    funding: Decimal
    fills: int
    volume: Decimal


def row_key(e: FillBooked | FundingBooked) -> PnlKey:
    """The row a fill or funding payment adds to."""
    day = ns_to_dt(e.ts_event).date()
    strategy = e.strategy if isinstance(e, FillBooked) else ""
    return (day, e.account, e.venue, e.symbol, strategy)


def add_event(row: PnlDailyRow | None, e: FillBooked | FundingBooked) -> PnlDailyRow:
    """Add one fill or funding payment to its row (pure, exact)."""
    if row is None:
        row = PnlDailyRow(*row_key(e), ZERO, ZERO, ZERO, 0, ZERO)
    if isinstance(e, FillBooked):
        return replace(
            row,
            realized_pnl=EXACT.add(row.realized_pnl, e.realized_pnl),
            fees=EXACT.add(row.fees, e.fee),
            fills=row.fills + 1,
            volume=EXACT.add(row.volume, EXACT.multiply(e.qty, e.price)),
        )
    return replace(row, funding=EXACT.add(row.funding, e.amount))


def fold_pnl(batch: Batch) -> dict[PnlKey, PnlDailyRow]:
    """Pure: a batch's fills and funding summed per row key (to be added to the table)."""
    rows: dict[PnlKey, PnlDailyRow] = {}
    for _seq, e in batch:
        if isinstance(e, FillBooked | FundingBooked):
            key = row_key(e)
            rows[key] = add_event(rows.get(key), e)
    return rows


UPSERT = unnest_insert(
    "pnl_daily", PnlDailyRow,
    "date text text text text numeric numeric numeric bigint numeric",
    "ON CONFLICT (day, account, venue, symbol, strategy) DO UPDATE SET"
    " realized_pnl = t.realized_pnl + EXCLUDED.realized_pnl, fees = t.fees + EXCLUDED.fees,"
    " funding = t.funding + EXCLUDED.funding, fills = t.fills + EXCLUDED.fills,"
    " volume = t.volume + EXCLUDED.volume",
)  # fmt: skip


async def write_pnl(conn: asyncpg.Connection, rows: Mapping[PnlKey, PnlDailyRow]) -> None:
    if rows:
        await conn.execute(UPSERT, *columns(list(rows.values()), PnlDailyRow))


@dataclass(frozen=True)
class PnlProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "pnl"
    stream: str = "LEDGER"
    subjects: tuple[str, ...] = ("ldg.es.trading.e.>",)
    tables: tuple[str, ...] = ("pnl_daily",)

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        await write_pnl(conn, fold_pnl(batch))


# -- queries (the CLI) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PnlRow:
    """PnL of one group: the grouping fields are set, the others None.

    ``unrealized_pnl`` is at the latest 1-minute close: per market for ``by="symbol"`` (0 for
    a flat position), on the latest candle's day for ``by="day"``, None where it does not
    apply (strategies: positions are netted across strategies) or no close is known.
    """

    venue: str | None
    symbol: str | None
    strategy: str | None
    day: date | None
    realized_pnl: Decimal
    fees: Decimal
    funding: Decimal
    net_pnl: Decimal
    fills: int
    volume: Decimal
    unrealized_pnl: Decimal | None

    @property
    def total_pnl(self) -> Decimal:
        """Net realised PnL plus unrealised (when known)."""
        return self.net_pnl + (self.unrealized_pnl or ZERO)


_SUMS = (
    "sum(realized_pnl) AS realized_pnl, sum(fees) AS fees, sum(funding) AS funding,"
    " sum(net_pnl) AS net_pnl, sum(fills)::bigint AS fills, sum(volume) AS volume"
)
_ACCOUNT = "($1::text IS NULL OR account = $1)"
QUERIES: dict[str, str] = {
    "symbol": f"""
        WITH d AS (SELECT venue, symbol, {_SUMS} FROM pnl_daily WHERE {_ACCOUNT}
                   GROUP BY venue, symbol),
             u AS (SELECT venue, symbol, sum(unrealized_pnl) AS u FROM position_marks
                   WHERE {_ACCOUNT} GROUP BY venue, symbol)
        SELECT d.venue, d.symbol, NULL::text, NULL::date, d.realized_pnl, d.fees, d.funding,
               d.net_pnl, d.fills, d.volume, u.u
        FROM d LEFT JOIN u USING (venue, symbol) ORDER BY d.venue, d.symbol""",
    "strategy": f"""
        SELECT NULL::text, NULL::text, strategy, NULL::date, {_SUMS}, NULL::numeric
        FROM pnl_daily WHERE {_ACCOUNT} GROUP BY strategy ORDER BY strategy""",
    "day": f"""
        SELECT NULL::text, NULL::text, NULL::text, day, {_SUMS}, sum(unrealized_pnl)
        FROM pnl_daily_with_unrealized WHERE {_ACCOUNT} GROUP BY day ORDER BY day""",
}


async def pnl(
    conn: asyncpg.Connection, by: GroupBy = "symbol", *, account: str | None = None
) -> list[PnlRow]:
    """Realised (and where it applies, unrealised) PnL grouped by market, strategy or day.

    Args:
        by: ``"symbol"`` (per venue and symbol), ``"strategy"`` or ``"day"`` (UTC).
        account: only this account (all accounts when None).

    Raises:
        ValueError: an unknown grouping.
    """
    if by not in QUERIES:
        raise ValueError(f"pnl by {by!r}: expected one of {', '.join(QUERIES)}")
    return [PnlRow(*r.values()) for r in await conn.fetch(QUERIES[by], account)]
