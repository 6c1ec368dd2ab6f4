"""``funding``: funding rate (with mark/index price when sent) per ticker that carried one."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from events.market import Ticker
from projections.base import Batch, ns_to_dt

UPSERT = """
INSERT INTO funding (venue, symbol, ts, funding_rate, next_funding_ts, mark_price, index_price)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::numeric[],
                     $5::timestamptz[], $6::numeric[], $7::numeric[])
ON CONFLICT (venue, symbol, ts) DO UPDATE SET
    funding_rate = EXCLUDED.funding_rate,
    next_funding_ts = COALESCE(EXCLUDED.next_funding_ts, funding.next_funding_ts),
    mark_price = COALESCE(EXCLUDED.mark_price, funding.mark_price),
    index_price = COALESCE(EXCLUDED.index_price, funding.index_price)
"""


def fold(batch: Batch) -> dict[tuple[str, str, int], Ticker]:
    """Pure: the last ticker with a funding rate per (venue, symbol, ts) in the batch."""
    rows: dict[tuple[str, str, int], Ticker] = {}
    for _seq, e in batch:
        if isinstance(e, Ticker) and e.funding_rate is not None:
            rows[(e.venue, e.symbol, e.ts_event)] = e
    return rows


@dataclass(frozen=True)
class FundingProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "funding"
    stream: str = "MARKET"
    subjects: tuple[str, ...] = ("mkt.*.ticker.>",)
    tables: tuple[str, ...] = ("funding",)

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        rows = fold(batch)
        if not rows:
            return
        tickers = list(rows.values())
        await conn.execute(
            UPSERT,
            [k[0] for k in rows],
            [k[1] for k in rows],
            [ns_to_dt(k[2]) for k in rows],
            [t.funding_rate for t in tickers],
            [ns_to_dt(t.next_funding_ts) if t.next_funding_ts else None for t in tickers],
            [t.mark_price for t in tickers],
            [t.index_price for t in tickers],
        )
