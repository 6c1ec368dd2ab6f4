"""``positions``, ``fills`` and ``funding_payments``: the Position aggregates' events.

Every ``FillBooked`` is a row of ``fills`` and every ``FundingBooked`` a row of
``funding_payments``.  A ``positions`` row is the position as
:func:`commands.positions.evolve_position` leaves it: size and entry from the last fill (the
event carries the position after it), realised PnL, fees and funding summed, fills counted.
One projector owns the three tables, so a position never disagrees with its fills.

Each batch reads the rows of the positions it touches and folds the batch into them in stream
order with the same Decimal additions, in the same order, as the domain: a row equals the
execution service's book to the last digit, whatever the batch cut (numeric columns give back
exactly the Decimal written).  Rows are inserted plainly: the runner applies an event once, so a
duplicate key means a corrupt log and stops the projector.

Unrealised PnL is not stored: :func:`positions` marks each position at the latest 1-minute close
of its market (the ``position_marks`` view).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import asyncpg

from events.trading import FillBooked, FundingBooked
from projections.base import Batch, ns_to_dt
from projections.rows import columns, names, set_all, unnest_insert

ZERO = Decimal(0)
PositionKey = tuple[str, str, str]  # (account, venue, symbol)


@dataclass(frozen=True, slots=True)
class PositionRow:
    """A row of ``positions`` (without its generated ``net_pnl``)."""

    account: str
    venue: str
    symbol: str
    size: Decimal
    entry_price: Decimal
    realized_pnl: Decimal
    fees: Decimal
    funding: Decimal
    fills: int
    updated_ts: datetime
    last_seq: int

    @property
    def net_pnl(self) -> Decimal:
        """Realised PnL after fees and funding."""
        return self.realized_pnl - self.fees + self.funding


@dataclass(frozen=True, slots=True)
class MarkedPosition:
    """A position with its mark: the latest 1-minute close of its market (None if none)."""

    position: PositionRow
    net_pnl: Decimal
    mark_price: Decimal | None
    mark_ts: datetime | None
    unrealized_pnl: Decimal | None


def evolve_position_row(
    row: PositionRow | None, seq: int, e: FillBooked | FundingBooked
) -> PositionRow:
    """Apply one position event at stream sequence ``seq`` (pure; ``evolve_position``'s rules).

    Funding before any fill (not written by the service) opens the row at the funding's size.
    """
    ts = ns_to_dt(e.ts_event)
    if row is None:
        row = PositionRow(e.account, e.venue, e.symbol, ZERO, ZERO, ZERO, ZERO, ZERO, 0, ts, seq)
        if isinstance(e, FundingBooked):
            row = replace(row, size=e.size)
    if isinstance(e, FillBooked):
        return replace(
            row,
            size=e.size,
            entry_price=e.entry_price,
            realized_pnl=row.realized_pnl + e.realized_pnl,
            fees=row.fees + e.fee,
            fills=row.fills + 1,
            updated_ts=ts,
            last_seq=seq,
        )
    return replace(row, funding=row.funding + e.amount, updated_ts=ts, last_seq=seq)


def position_events(batch: Batch) -> list[tuple[int, FillBooked | FundingBooked]]:
    """Pure: the fills and funding payments of a batch, in order."""
    return [(seq, e) for seq, e in batch if isinstance(e, FillBooked | FundingBooked)]


def fold_positions(
    rows: Mapping[PositionKey, PositionRow], events: list[tuple[int, FillBooked | FundingBooked]]
) -> dict[PositionKey, PositionRow]:
    """Pure: the positions the events change, from ``rows`` (the current ones)."""
    changed: dict[PositionKey, PositionRow] = {}
    for seq, e in events:
        key = (e.account, e.venue, e.symbol)
        changed[key] = evolve_position_row(changed.get(key) or rows.get(key), seq, e)
    return changed


@dataclass(frozen=True, slots=True)
class FillRow:
    """A row of ``fills``: a booked fill and the position it left."""

    ts: datetime
    order_id: uuid.UUID
    exec_id: str
    account: str
    venue: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal
    size_after: Decimal
    entry_after: Decimal
    strategy: str
    event_id: uuid.UUID
    seq: int


@dataclass(frozen=True, slots=True)
class FundingRow:
    """A row of ``funding_payments`` (``ts``: the funding time)."""

    account: str
    venue: str
    symbol: str
    ts: datetime
    rate: Decimal
    mark_price: Decimal
    size: Decimal
    amount: Decimal
    event_id: uuid.UUID
    seq: int


def fill_rows(events: list[tuple[int, FillBooked | FundingBooked]]) -> list[FillRow]:
    """Pure: the ``fills`` rows of a batch's position events."""
    return [
        FillRow(ns_to_dt(e.ts_event), e.order_id, e.exec_id, e.account, e.venue, e.symbol,
                e.side, e.qty, e.price, e.fee, e.realized_pnl, e.size, e.entry_price, e.strategy,
                e.event_id, seq)
        for seq, e in events
        if isinstance(e, FillBooked)
    ]  # fmt: skip


def funding_rows(events: list[tuple[int, FillBooked | FundingBooked]]) -> list[FundingRow]:
    """Pure: the ``funding_payments`` rows of a batch's position events."""
    return [
        FundingRow(e.account, e.venue, e.symbol, ns_to_dt(e.funding_ts), e.rate, e.mark_price,
                   e.size, e.amount, e.event_id, seq)
        for seq, e in events
        if isinstance(e, FundingBooked)
    ]  # fmt: skip


SELECT_ROWS = (
    f"SELECT {', '.join(names(PositionRow))} FROM positions"
    " JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(account, venue, symbol)"
    " USING (account, venue, symbol)"
)
UPSERT = unnest_insert(
    "positions", PositionRow, "text text text numeric numeric numeric numeric numeric integer"
    " timestamptz bigint",
    "ON CONFLICT (account, venue, symbol) DO UPDATE SET " + set_all(names(PositionRow)[3:]),
)  # fmt: skip
INSERT_FILLS = unnest_insert(
    "fills", FillRow, "timestamptz uuid text text text text text numeric numeric numeric numeric"
    " numeric numeric text uuid bigint",
)  # fmt: skip
INSERT_FUNDING = unnest_insert(
    "funding_payments", FundingRow,
    "text text text timestamptz numeric numeric numeric numeric uuid bigint",
)  # fmt: skip


@dataclass(frozen=True)
class PositionsProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "positions"
    stream: str = "LEDGER"
    subjects: tuple[str, ...] = ("ldg.es.trading.e.>",)
    tables: tuple[str, ...] = ("positions", "fills", "funding_payments")

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        events = position_events(batch)
        if not events:
            return
        keys = list({(e.account, e.venue, e.symbol) for _, e in events})
        found = await conn.fetch(SELECT_ROWS, *([k[i] for k in keys] for i in range(3)))
        current = {(r[0], r[1], r[2]): PositionRow(*r.values()) for r in found}
        changed = list(fold_positions(current, events).values())
        await conn.execute(UPSERT, *columns(changed, PositionRow))
        fills = fill_rows(events)
        if fills:
            await conn.execute(INSERT_FILLS, *columns(fills, FillRow))
        funding = funding_rows(events)
        if funding:
            await conn.execute(INSERT_FUNDING, *columns(funding, FundingRow))


# -- queries (the CLI) -----------------------------------------------------------------------


async def positions(
    conn: asyncpg.Connection, account: str | None = None, *, open_only: bool = False
) -> list[MarkedPosition]:
    """Positions with their mark and unrealised PnL, by account, venue and symbol.

    Args:
        account: only this account's positions (all when None).
        open_only: leave out flat positions.
    """
    rows = await conn.fetch(
        "SELECT account, venue, symbol, size, entry_price, realized_pnl, fees, funding, fills,"
        " updated_ts, last_seq, net_pnl, mark_price, mark_ts, unrealized_pnl"
        " FROM position_marks WHERE ($1::text IS NULL OR account = $1)"
        " AND (NOT $2 OR size <> 0) ORDER BY account, venue, symbol",
        account,
        open_only,
    )
    return [MarkedPosition(PositionRow(*r[:11]), r[11], r[12], r[13], r[14]) for r in rows]


async def recent_fills(
    conn: asyncpg.Connection, limit: int = 50, *, account: str | None = None
) -> list[FillRow]:
    """The ``limit`` latest fills, newest first."""
    rows = await conn.fetch(
        f"SELECT {', '.join(names(FillRow))} FROM fills"
        " WHERE ($2::text IS NULL OR account = $2) ORDER BY seq DESC LIMIT $1",
        limit,
        account,
    )
    return [FillRow(*r.values()) for r in rows]
