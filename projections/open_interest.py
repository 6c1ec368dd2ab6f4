"""``open_interest``: one row per ticker that carried open interest."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from events.market import Ticker
from projections.base import Batch, ns_to_dt

UPSERT = """
INSERT INTO open_interest (venue, symbol, ts, open_interest, open_interest_value)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::numeric[], $5::numeric[])
ON CONFLICT (venue, symbol, ts) DO UPDATE SET
    open_interest = EXCLUDED.open_interest,
    open_interest_value = COALESCE(EXCLUDED.open_interest_value, open_interest.open_interest_value)
"""


def fold(batch: Batch) -> dict[tuple[str, str, int], Ticker]:
    """Pure: the last ticker with open interest per (venue, symbol, ts) in the batch."""
    rows: dict[tuple[str, str, int], Ticker] = {}
    for _seq, e in batch:
        if isinstance(e, Ticker) and e.open_interest is not None:
            rows[(e.venue, e.symbol, e.ts_event)] = e
    return rows


@dataclass(frozen=True)
class OpenInterestProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "open_interest"
    stream: str = "MARKET"
    subjects: tuple[str, ...] = ("mkt.*.ticker.>",)
    tables: tuple[str, ...] = ("open_interest",)

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        rows = fold(batch)
        if not rows:
            return
        await conn.execute(
            UPSERT,
            [k[0] for k in rows],
            [k[1] for k in rows],
            [ns_to_dt(k[2]) for k in rows],
            [t.open_interest for t in rows.values()],
            [t.open_interest_value for t in rows.values()],
        )
