"""``liquidations`` (every print) and ``liquidations_1m`` (long/short notional per minute).

``long_*`` columns count liquidated long positions (sell orders), ``short_*`` liquidated
shorts.  One statement inserts the prints and folds only the rows it actually inserted into
the minute table, so a print that reached the log twice (beyond the de-duplication window) is
counted once in both tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from events.market import Liquidation
from projections.base import Batch, ns_to_dt

APPLY = """
WITH ins AS (
    INSERT INTO liquidations (venue, symbol, ts, key, side, price, qty, notional, seq)
    SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[],
                         $6::numeric[], $7::numeric[], $8::numeric[], $9::bigint[])
    ON CONFLICT (venue, symbol, ts, key) DO NOTHING
    RETURNING venue, symbol, ts, side, qty, notional
)
INSERT INTO liquidations_1m AS l (venue, symbol, bucket, long_notional, short_notional,
                                  long_qty, short_qty, count)
SELECT venue, symbol, date_bin('1 minute', ts, TIMESTAMPTZ '1970-01-01'),
       coalesce(sum(notional) FILTER (WHERE side = 'sell'), 0),
       coalesce(sum(notional) FILTER (WHERE side = 'buy'), 0),
       coalesce(sum(qty) FILTER (WHERE side = 'sell'), 0),
       coalesce(sum(qty) FILTER (WHERE side = 'buy'), 0),
       count(*)
FROM ins
GROUP BY 1, 2, 3
ON CONFLICT (venue, symbol, bucket) DO UPDATE SET
    long_notional = l.long_notional + EXCLUDED.long_notional,
    short_notional = l.short_notional + EXCLUDED.short_notional,
    long_qty = l.long_qty + EXCLUDED.long_qty,
    short_qty = l.short_qty + EXCLUDED.short_qty,
    count = l.count + EXCLUDED.count
"""


def prints(batch: Batch) -> list[tuple[int, Liquidation]]:
    """Pure: the liquidation prints of a batch, in order."""
    return [(seq, e) for seq, e in batch if isinstance(e, Liquidation)]


@dataclass(frozen=True)
class LiquidationsProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "liquidations"
    stream: str = "MARKET"
    subjects: tuple[str, ...] = ("mkt.*.liq.>",)
    tables: tuple[str, ...] = ("liquidations", "liquidations_1m")

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        rows = prints(batch)
        if not rows:
            return
        await conn.execute(
            APPLY,
            [e.venue for _, e in rows],
            [e.symbol for _, e in rows],
            [ns_to_dt(e.ts_event) for _, e in rows],
            [e.key for _, e in rows],
            [e.side for _, e in rows],
            [e.price for _, e in rows],
            [e.qty for _, e in rows],
            [e.price * e.qty for _, e in rows],
            [seq for seq, _ in rows],
        )
