"""``hybrid_roi``: the perps leg and the Polymarket leg of each strategy, per UTC day.

Projected from the booked fills and funding payments of every venue (``FillBooked`` /
``FundingBooked`` on ``ldg.es.trading.e.>`` in ``LEDGER``).  Definitions, per (UTC day of
``ts_event``, account, strategy):

* **perps_realized / perps_fees**: Σ ``realized_pnl`` / Σ ``fee`` of fills on every venue but
  ``polymarket``; **poly_realized / poly_fees**: the same over ``polymarket`` fills (realised
  PnL of outcome tokens, average cost, as the position book computes it).
* **funding**: Σ funding payments (received > 0).  A payment belongs to the strategy of the
  latest fill of its position before it (``''`` when none was seen), on the UTC day of its
  funding time.
* **cost** of a leg: Σ ``added·price`` over its fills, where ``added`` is the part of the fill
  that opened or increased the position (a fill that reduces a position adds nothing; one that
  flips it adds the part beyond flat).  For outcome tokens this is Σ price·shares over BUYs,
  quant.md §7.1's "cost deployed"; for perps it is the notional opened (not the margin).
* **perps_pnl** = perps_realized − perps_fees + funding; **poly_pnl** = poly_realized −
  poly_fees; **combined_pnl** = their sum; **combined_cost** = perps_cost + poly_cost.
* **ROI** of a leg = its pnl / its cost, **combined_roi** = combined_pnl / combined_cost
  (NULL when the cost is 0: a day that only closed positions has realised PnL but no ROI).

Unrealised PnL is not included: the row is what the day realised.  Sums are exact (numeric,
and Decimal arithmetic without rounding) and added to the table's row by the upsert, so they
do not depend on how the log was cut into batches; the strategy of each position is state
(``hybrid_position_strategy``) folded in stream order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

import asyncpg

from events.poly import VENUE
from events.trading import FillBooked, FundingBooked
from projections.base import Batch, ns_to_dt
from projections.pnl import EXACT
from projections.rows import columns, unnest_insert

ZERO = Z = Decimal(0)
RoiKey = tuple[date, str, str]  # (day, account, strategy)
PositionKey = tuple[str, str, str]  # (account, venue, symbol)


def added_qty(e: FillBooked) -> Decimal:
    """The part of a fill that opened or increased its position (0 for a pure reduction)."""
    signed = e.qty if e.side == "buy" else -e.qty
    before = EXACT.subtract(e.size, signed)
    if before == 0 or (before > 0) == (signed > 0):
        return e.qty
    return max(ZERO, EXACT.subtract(e.qty, abs(before)))


@dataclass(frozen=True, slots=True)
class RoiRow:
    """A row of ``hybrid_roi`` (without its generated columns)."""

    day: date
    account: str
    strategy: str
    perps_realized: Decimal
    perps_fees: Decimal
    funding: Decimal
    perps_cost: Decimal
    poly_realized: Decimal
    poly_fees: Decimal
    poly_cost: Decimal
    fills: int

    @property
    def combined_pnl(self) -> Decimal:
        return (self.perps_realized - self.perps_fees + self.funding + self.poly_realized
                - self.poly_fees)  # fmt: skip


def _add(row: RoiRow, **delta: Decimal) -> RoiRow:
    return replace(row, **{k: EXACT.add(getattr(row, k), v) for k, v in delta.items()})  # type: ignore[arg-type]


def fold_roi(
    strategies: Mapping[PositionKey, str], batch: Batch
) -> tuple[dict[RoiKey, RoiRow], dict[PositionKey, str]]:
    """Pure: a batch's amounts per row key (to add to the table) and the positions' strategies
    it changes, from the current ones."""
    rows: dict[RoiKey, RoiRow] = {}
    changed: dict[PositionKey, str] = {}
    for _, e in batch:
        if not isinstance(e, FillBooked | FundingBooked):
            continue
        pkey = (e.account, e.venue, e.symbol)
        if isinstance(e, FillBooked):
            strategy = e.strategy
            changed[pkey] = strategy
            day = ns_to_dt(e.ts_event).date()
        else:
            strategy = changed.get(pkey, strategies.get(pkey, ""))
            day = ns_to_dt(e.funding_ts).date()
        key = (day, e.account, strategy)
        row = rows.get(key) or RoiRow(day, e.account, strategy, Z, Z, Z, Z, Z, Z, Z, 0)
        if isinstance(e, FundingBooked):
            row = _add(row, funding=e.amount)
        else:
            cost = EXACT.multiply(added_qty(e), e.price)
            if e.venue == VENUE:
                row = _add(row, poly_realized=e.realized_pnl, poly_fees=e.fee, poly_cost=cost)
            else:
                row = _add(row, perps_realized=e.realized_pnl, perps_fees=e.fee, perps_cost=cost)
            row = replace(row, fills=row.fills + 1)
        rows[key] = row
    return rows, changed


SUMS = "perps_realized perps_fees funding perps_cost poly_realized poly_fees poly_cost fills"
UPSERT = unnest_insert(
    "hybrid_roi", RoiRow,
    "date text text numeric numeric numeric numeric numeric numeric numeric bigint",
    "ON CONFLICT (day, account, strategy) DO UPDATE SET "
    + ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in SUMS.split()),
)  # fmt: skip


@dataclass(frozen=True)
class HybridRoiProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "hybrid_roi"
    stream: str = "LEDGER"
    subjects: tuple[str, ...] = ("ldg.es.trading.e.>",)
    tables: tuple[str, ...] = ("hybrid_roi", "hybrid_position_strategy")

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        keys = sorted({(e.account, e.venue, e.symbol) for _, e in batch
                       if isinstance(e, FundingBooked)})  # fmt: skip
        current: dict[PositionKey, str] = {}
        if keys:
            for r in await conn.fetch(
                "SELECT account, venue, symbol, strategy FROM hybrid_position_strategy"
                " WHERE (account, venue, symbol) IN"
                " (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))",
                *([k[i] for k in keys] for i in range(3)),
            ):
                current[(r[0], r[1], r[2])] = r[3]
        rows, changed = fold_roi(current, batch)
        if rows:
            await conn.execute(UPSERT, *columns(list(rows.values()), RoiRow))
        if changed:
            ks = sorted(changed)
            await conn.execute(
                "INSERT INTO hybrid_position_strategy AS t (account, venue, symbol, strategy)"
                " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])"
                " ON CONFLICT (account, venue, symbol) DO UPDATE SET strategy = EXCLUDED.strategy",
                *([k[i] for k in ks] for i in range(3)),
                [changed[k] for k in ks],
            )


# -- queries ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoiView:
    """One ``hybrid_roi`` row with its generated columns."""

    row: RoiRow
    perps_pnl: Decimal
    poly_pnl: Decimal
    combined_pnl: Decimal
    combined_cost: Decimal
    perps_roi: Decimal | None
    poly_roi: Decimal | None
    combined_roi: Decimal | None


async def hybrid_roi(
    conn: asyncpg.Connection, *, account: str | None = None, strategy: str | None = None
) -> list[RoiView]:
    """Rows by day, account and strategy (optionally one account / strategy)."""
    rows = await conn.fetch(
        "SELECT day, account, strategy, perps_realized, perps_fees, funding, perps_cost,"
        " poly_realized, poly_fees, poly_cost, fills, perps_pnl, poly_pnl, combined_pnl,"
        " combined_cost, perps_roi, poly_roi, combined_roi FROM hybrid_roi"
        " WHERE ($1::text IS NULL OR account = $1) AND ($2::text IS NULL OR strategy = $2)"
        " ORDER BY day, account, strategy",
        account,
        strategy,
    )
    return [RoiView(RoiRow(*r[:11]), *r[11:]) for r in rows]
