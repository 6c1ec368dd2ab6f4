"""``orders`` (one row per order) and ``order_commands_rejected`` (cancels and modifications
that could not apply), from the Order aggregates on ``ldg.es.trading.e.>``.

A row is the order as :func:`commands.orders.evolve_order` leaves it (status, quantities, fees,
pending requests) plus what the CLI shows (the placement's fields, rejection and cancel
reasons, times, stream sequences).  The state machine is re-stated here in
:func:`evolve_order_row` rather than imported: the read side depends on the events only, and a
unit test holds the two to the same answers.

Each batch reads the rows of the orders it touches, folds the batch's events into them in
stream order (one order's events keep their order in the log) and writes the changed rows back
with one set-based upsert.  The fold does the same Decimal operations in the same order however
the log is cut into batches, and numeric columns give back exactly the Decimal written, so the
result does not depend on the cut.  An order event before its order exists is a corrupt log:
the fold raises and the runner stops on it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import asyncpg

from events.trading import (
    CommandRejected,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRequested,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRequested,
    OrderPlaced,
    OrderRejected,
    OrderSent,
)
from projections.base import Batch, ns_to_dt

ZERO = Decimal(0)
OPEN_STATUSES = ("placed", "sent", "accepted", "partially_filled")


@dataclass(frozen=True, slots=True)
class OrderRow:
    """A row of ``orders`` (field order = column order).  ``side`` ... ``reference_price`` are
    None for an order the risk guardian refused (its request is not in the log)."""

    order_id: uuid.UUID
    account: str
    venue: str
    symbol: str
    side: str | None
    order_type: str | None
    qty: Decimal | None
    limit_price: Decimal | None
    trigger_price: Decimal | None
    time_in_force: str | None
    reduce_only: bool | None
    stop_loss: Decimal | None
    take_profit: Decimal | None
    parent_id: uuid.UUID | None
    strategy: str | None
    mode: str | None
    command_id: str
    reference_price: Decimal | None
    status: str
    cum_qty: Decimal
    avg_price: Decimal
    fees: Decimal
    fills: int
    venue_order_id: str
    reject_stage: str | None
    reject_reason: str
    checks: tuple[str, ...]
    cancel_reason: str
    pending_cancel: bool
    pending_qty: Decimal | None
    pending_limit_price: Decimal | None
    created_ts: datetime
    updated_ts: datetime
    first_seq: int
    last_seq: int

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def leaves_qty(self) -> Decimal:
        """What is left to fill (0 once the order is closed)."""
        return self.qty - self.cum_qty if self.is_open and self.qty is not None else ZERO


@dataclass(frozen=True, slots=True)
class RejectedCommand:
    """A row of ``order_commands_rejected``."""

    event_id: uuid.UUID
    order_id: uuid.UUID
    command: str
    reason: str
    checks: tuple[str, ...]
    command_id: str
    ts: datetime
    seq: int


def placed_row(seq: int, e: OrderPlaced) -> OrderRow:
    """A new order's row."""
    ts = ns_to_dt(e.ts_event)
    return OrderRow(
        e.order_id, e.account, e.venue, e.symbol, e.side, e.order_type, e.qty, e.limit_price,
        e.trigger_price, e.time_in_force, e.reduce_only, e.stop_loss, e.take_profit,
        e.parent_id, e.strategy, e.mode, e.command_id, e.reference_price,
        status="placed", cum_qty=ZERO, avg_price=ZERO, fees=ZERO, fills=0, venue_order_id="",
        reject_stage=None, reject_reason="", checks=(), cancel_reason="", pending_cancel=False,
        pending_qty=None, pending_limit_price=None, created_ts=ts, updated_ts=ts,
        first_seq=seq, last_seq=seq,
    )  # fmt: skip


def rejected_row(seq: int, e: OrderRejected) -> OrderRow:
    """The row of an order whose only event is its rejection by the risk guardian."""
    ts = ns_to_dt(e.ts_event)
    return OrderRow(
        e.order_id, e.account, e.venue, e.symbol, None, None, None, None, None, None, None,
        None, None, None, None, None, e.command_id, None,
        status="rejected", cum_qty=ZERO, avg_price=ZERO, fees=ZERO, fills=0, venue_order_id="",
        reject_stage=e.stage, reject_reason=e.reason, checks=e.checks, cancel_reason="",
        pending_cancel=False, pending_qty=None, pending_limit_price=None, created_ts=ts,
        updated_ts=ts, first_seq=seq, last_seq=seq,
    )  # fmt: skip


def evolve_order_row(row: OrderRow | None, seq: int, e: OrderEvent) -> OrderRow | None:
    """Apply one order event at stream sequence ``seq`` (pure; ``evolve_order``'s rules).

    Returns None for a ``CommandRejected`` of an order that does not exist (kept only in
    ``order_commands_rejected``).

    Raises:
        ValueError: an event other than a placement or rejection before the order exists.
    """
    if isinstance(e, OrderPlaced):
        return placed_row(seq, e)
    if row is None:
        if isinstance(e, OrderRejected):
            return rejected_row(seq, e)
        if isinstance(e, CommandRejected):
            return None
        raise ValueError(f"{type(e).__name__} of order {e.order_id} before it was placed")
    row = replace(row, updated_ts=ns_to_dt(e.ts_event), last_seq=seq)
    if isinstance(e, OrderRejected):
        return replace(row, status="rejected", reject_stage=e.stage, reject_reason=e.reason,
                       checks=e.checks)  # fmt: skip
    if isinstance(e, OrderSent):
        return replace(row, status="sent") if row.status == "placed" else row
    if isinstance(e, OrderAccepted):
        status = "accepted" if row.status in ("placed", "sent") else row.status
        return replace(row, status=status, venue_order_id=e.venue_order_id)
    if isinstance(e, OrderFilled):
        return replace(
            row,
            status="filled" if e.leaves_qty == 0 else "partially_filled",
            cum_qty=e.cum_qty,
            avg_price=e.avg_price,
            fees=row.fees + e.fee,
            fills=row.fills + 1,
        )
    if isinstance(e, OrderModifyRequested):
        return replace(row, pending_qty=e.qty, pending_limit_price=e.limit_price)
    if isinstance(e, OrderModified):
        return replace(row, qty=e.qty, limit_price=e.limit_price, pending_qty=None,
                       pending_limit_price=None)  # fmt: skip
    if isinstance(e, OrderCancelRequested):
        return replace(row, pending_cancel=True, cancel_reason=e.reason)
    if isinstance(e, OrderCancelled):
        why = row.cancel_reason if row.pending_cancel and row.cancel_reason else e.reason
        return replace(row, status="cancelled", pending_cancel=False, cancel_reason=why)
    if isinstance(e, OrderExpired):
        return replace(row, status="expired")
    if isinstance(e, CommandRejected):
        if e.command == "modify":
            return replace(row, pending_qty=None, pending_limit_price=None)
        # a refused cancel leaves an open order uncancelled: forget the request's reason
        return replace(row, pending_cancel=False,
                       cancel_reason="" if row.is_open else row.cancel_reason)  # fmt: skip
    return row


def order_events(batch: Batch) -> list[tuple[int, OrderEvent]]:
    """Pure: the order events of a batch, in order."""
    return [(seq, e) for seq, e in batch if isinstance(e, OrderEvent)]


def fold_orders(
    rows: Mapping[uuid.UUID, OrderRow], events: list[tuple[int, OrderEvent]]
) -> tuple[dict[uuid.UUID, OrderRow], list[RejectedCommand]]:
    """Pure: the rows the events change (from ``rows``, the current ones) and the rejected
    commands among them.

    Raises:
        ValueError: see :func:`evolve_order_row`.
    """
    changed: dict[uuid.UUID, OrderRow] = {}
    rejected: list[RejectedCommand] = []
    for seq, e in events:
        oid = e.order_id
        new = evolve_order_row(changed.get(oid) or rows.get(oid), seq, e)
        if new is not None:
            changed[oid] = new
        if isinstance(e, CommandRejected):
            rejected.append(RejectedCommand(e.event_id, oid, e.command, e.reason, e.checks,
                                            e.command_id, ns_to_dt(e.ts_event), seq))  # fmt: skip
    return changed, rejected


# -- SQL -------------------------------------------------------------------------------------

COLUMNS: tuple[tuple[str, str], ...] = (
    ("order_id", "uuid"), ("account", "text"), ("venue", "text"), ("symbol", "text"),
    ("side", "text"), ("order_type", "text"), ("qty", "numeric"), ("limit_price", "numeric"),
    ("trigger_price", "numeric"), ("time_in_force", "text"), ("reduce_only", "boolean"),
    ("stop_loss", "numeric"), ("take_profit", "numeric"), ("parent_id", "uuid"),
    ("strategy", "text"), ("mode", "text"), ("command_id", "text"),
    ("reference_price", "numeric"), ("status", "text"), ("cum_qty", "numeric"),
    ("avg_price", "numeric"), ("fees", "numeric"), ("fills", "integer"),
    ("venue_order_id", "text"), ("reject_stage", "text"), ("reject_reason", "text"),
    ("checks", "text[]"), ("cancel_reason", "text"), ("pending_cancel", "boolean"),
    ("pending_qty", "numeric"), ("pending_limit_price", "numeric"),
    ("created_ts", "timestamptz"), ("updated_ts", "timestamptz"), ("first_seq", "bigint"),
    ("last_seq", "bigint"),
)  # fmt: skip
NAMES = ", ".join(c for c, _ in COLUMNS)
CHECKS = [c for c, _ in COLUMNS].index("checks")
# unnest cannot carry one array per row, so ``checks`` travels as a jsonb array
_ARRAYS = ", ".join(
    f"${i}::{'jsonb' if t == 'text[]' else t}[]" for i, (_c, t) in enumerate(COLUMNS, start=1)
)
_VALUES = ", ".join(
    f"ARRAY(SELECT x FROM jsonb_array_elements_text(u.{c}) WITH ORDINALITY AS a(x, i) ORDER BY i)"
    if t == "text[]"
    else f"u.{c}"
    for c, t in COLUMNS
)
UPSERT = (
    f"INSERT INTO orders ({NAMES}) SELECT {_VALUES} FROM unnest({_ARRAYS}) AS u({NAMES})"
    " ON CONFLICT (order_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c, _ in COLUMNS[1:])
)
SELECT_ROWS = f"SELECT {NAMES} FROM orders WHERE order_id = ANY($1::uuid[])"
INSERT_REJECTED = """
INSERT INTO order_commands_rejected (event_id, order_id, command, reason, checks, command_id,
                                     ts, seq)
SELECT u.event_id, u.order_id, u.command, u.reason,
       ARRAY(SELECT x FROM jsonb_array_elements_text(u.checks) WITH ORDINALITY AS a(x, i)
             ORDER BY i),
       u.command_id, u.ts, u.seq
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::text[],
            $7::timestamptz[], $8::bigint[])
     AS u(event_id, order_id, command, reason, checks, command_id, ts, seq)
"""


def order_row(record: asyncpg.Record) -> OrderRow:
    """An ``orders`` row (selected as :data:`NAMES`) as an :class:`OrderRow`."""
    values = list(record.values())
    values[CHECKS] = tuple(values[CHECKS])  # text[] -> tuple
    return OrderRow(*values)


async def write_orders(
    conn: asyncpg.Connection, rows: list[OrderRow], rejected: list[RejectedCommand]
) -> None:
    if rows:
        cols = [[getattr(o, c) for o in rows] for c, _ in COLUMNS]
        cols[CHECKS] = [json.dumps(checks) for checks in cols[CHECKS]]
        await conn.execute(UPSERT, *cols)
    if rejected:
        await conn.execute(
            INSERT_REJECTED,
            [r.event_id for r in rejected],
            [r.order_id for r in rejected],
            [r.command for r in rejected],
            [r.reason for r in rejected],
            [json.dumps(r.checks) for r in rejected],
            [r.command_id for r in rejected],
            [r.ts for r in rejected],
            [r.seq for r in rejected],
        )


@dataclass(frozen=True)
class OrdersProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "orders"
    stream: str = "LEDGER"
    subjects: tuple[str, ...] = ("ldg.es.trading.e.>",)
    tables: tuple[str, ...] = ("orders", "order_commands_rejected")

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        events = order_events(batch)
        if not events:
            return
        ids = list({e.order_id for _, e in events})
        current = {r[0]: order_row(r) for r in await conn.fetch(SELECT_ROWS, ids)}
        changed, rejected = fold_orders(current, events)
        await write_orders(conn, list(changed.values()), rejected)


# -- queries (the CLI) -----------------------------------------------------------------------


async def open_orders(conn: asyncpg.Connection, account: str | None = None) -> list[OrderRow]:
    """Open orders (placed, sent, accepted, partially filled), oldest first.

    Args:
        account: only this account's orders (all accounts when None).
    """
    rows = await conn.fetch(
        f"SELECT {NAMES} FROM orders WHERE status = ANY($1::text[])"
        " AND ($2::text IS NULL OR account = $2) ORDER BY first_seq",
        list(OPEN_STATUSES),
        account,
    )
    return [order_row(r) for r in rows]


async def recent_orders(
    conn: asyncpg.Connection, limit: int = 20, *, account: str | None = None
) -> list[OrderRow]:
    """The ``limit`` most recently placed (or rejected) orders, newest first."""
    rows = await conn.fetch(
        f"SELECT {NAMES} FROM orders WHERE ($2::text IS NULL OR account = $2)"
        " ORDER BY first_seq DESC LIMIT $1",
        limit,
        account,
    )
    return [order_row(r) for r in rows]


async def rejected_commands(
    conn: asyncpg.Connection, order_id: uuid.UUID | None = None, limit: int = 20
) -> list[RejectedCommand]:
    """Cancels and modifications that were refused (of one order, or the latest), newest first."""
    rows = await conn.fetch(
        "SELECT event_id, order_id, command, reason, checks, command_id, ts, seq"
        " FROM order_commands_rejected WHERE ($1::uuid IS NULL OR order_id = $1)"
        " ORDER BY seq DESC LIMIT $2",
        order_id,
        limit,
    )
    return [RejectedCommand(r[0], r[1], r[2], r[3], tuple(r[4]), r[5], r[6], r[7]) for r in rows]
