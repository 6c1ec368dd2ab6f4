"""``poly_positions``: our accounts' Polymarket positions, per (account, outcome token).

Projected from ``FillBooked`` with venue ``polymarket`` (``ldg.es.trading.e.>`` in ``LEDGER``;
the symbol of a Polymarket fill is the outcome token id).  As in :mod:`projections.positions`,
size and average entry are the position the fill left (the event carries them), realised PnL
and fees are summed in stream order; ``cost`` adds ``added·price`` of each fill
(:func:`projections.hybrid_roi.added_qty`: Σ price·shares over BUYs for outcome tokens).

The mark is not stored: the ``poly_position_marks`` view joins ``poly_tokens`` and
``poly_markets`` (market, outcome, question) and marks each position at its outcome's payout
once resolved, else the book mid, else the last CLOB trade.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import asyncpg

from events.poly import VENUE
from events.trading import FillBooked
from projections.base import Batch, ns_to_dt
from projections.hybrid_roi import added_qty
from projections.rows import columns, names, set_all, unnest_insert

ZERO = Decimal(0)
Key = tuple[str, str]  # (account, token id)


@dataclass(frozen=True, slots=True)
class PolyPositionRow:
    """A row of ``poly_positions``."""

    account: str
    token_id: str
    size: Decimal
    avg_entry: Decimal
    realized_pnl: Decimal
    fees: Decimal
    cost: Decimal
    fills: int
    opened_ts: datetime
    updated_ts: datetime
    last_seq: int


def poly_fills(batch: Batch) -> list[tuple[int, FillBooked]]:
    """Pure: the Polymarket fills of a batch, in order."""
    return [(seq, e) for seq, e in batch if isinstance(e, FillBooked) and e.venue == VENUE]


def fold_poly_positions(
    rows: Mapping[Key, PolyPositionRow], fills: list[tuple[int, FillBooked]]
) -> dict[Key, PolyPositionRow]:
    """Pure: the positions the fills change, from the current ones."""
    out: dict[Key, PolyPositionRow] = {}
    for seq, e in fills:
        key = (e.account, e.symbol)
        ts = ns_to_dt(e.ts_event)
        row = out.get(key) or rows.get(key)
        if row is None:
            row = PolyPositionRow(e.account, e.symbol, ZERO, ZERO, ZERO, ZERO, ZERO, 0, ts, ts,
                                  seq)  # fmt: skip
        out[key] = replace(
            row, size=e.size, avg_entry=e.entry_price,
            realized_pnl=row.realized_pnl + e.realized_pnl, fees=row.fees + e.fee,
            cost=row.cost + added_qty(e) * e.price, fills=row.fills + 1, updated_ts=ts,
            last_seq=seq,
        )  # fmt: skip
    return out


SELECT = (
    f"SELECT {', '.join(names(PolyPositionRow))} FROM poly_positions"
    " WHERE (account, token_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
)
UPSERT = unnest_insert(
    "poly_positions", PolyPositionRow,
    "text text numeric numeric numeric numeric numeric integer timestamptz timestamptz bigint",
    "ON CONFLICT (account, token_id) DO UPDATE SET " + set_all(names(PolyPositionRow)[2:]),
)  # fmt: skip


@dataclass(frozen=True)
class PolyPositionsProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "poly_positions"
    stream: str = "LEDGER"
    subjects: tuple[str, ...] = ("ldg.es.trading.e.>",)
    tables: tuple[str, ...] = ("poly_positions",)

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        fills = poly_fills(batch)
        if not fills:
            return
        keys = sorted({(e.account, e.symbol) for _, e in fills})
        found = await conn.fetch(SELECT, [k[0] for k in keys], [k[1] for k in keys])
        current = {(r[0], r[1]): PolyPositionRow(*r.values()) for r in found}
        changed = list(fold_poly_positions(current, fills).values())
        await conn.execute(UPSERT, *columns(changed, PolyPositionRow))


# -- queries ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarkedPolyPosition:
    """A position with its market, outcome and mark (None where unknown)."""

    position: PolyPositionRow
    condition_id: str | None
    outcome: str | None
    question: str | None
    mark: Decimal | None
    unrealized_pnl: Decimal | None
    winner: str | None


async def poly_positions(
    conn: asyncpg.Connection, account: str | None = None, *, open_only: bool = False
) -> list[MarkedPolyPosition]:
    """Polymarket positions with their mark (``poly_position_marks``)."""
    rows = await conn.fetch(
        f"SELECT {', '.join(names(PolyPositionRow))}, condition_id, outcome, question, mark,"
        " unrealized_pnl, winner FROM poly_position_marks"
        " WHERE ($1::text IS NULL OR account = $1) AND (NOT $2 OR size <> 0)"
        " ORDER BY account, condition_id, outcome, token_id",
        account,
        open_only,
    )
    n = len(names(PolyPositionRow))
    return [MarkedPolyPosition(PolyPositionRow(*r[:n]), *r[n:]) for r in rows]
