"""``signals``: every signal in the ledger, with its reason and its full payload (for Grafana
tables and annotations, and ``helix signals`` filters)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import asyncpg
import msgspec

from events.poly import ClusterSynced, HybridSignal, PolySignal, WalletScored
from events.signals import (
    ClusterTargeted,
    ImbalanceRanked,
    OiSpike,
    Signal,
    StopHunt,
    VolumeSpike,
)
from projections.base import Batch, ns_to_dt

INSERT = """
INSERT INTO signals (event_id, ts, seq, kind, strategy, venue, symbol, interval, side, price,
                     score, reason, payload)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::text[], $5::text[],
                     $6::text[], $7::text[], $8::text[], $9::text[], $10::numeric[],
                     $11::float8[], $12::text[], $13::jsonb[])
ON CONFLICT (event_id) DO NOTHING
"""

_JSON = msgspec.json.Encoder(decimal_format="string")


def headline(s: Signal) -> tuple[str | None, Decimal | None, float | None]:
    """``(side, price, score)`` of a signal: the columns a table shows first."""
    if isinstance(s, ClusterTargeted):
        return s.side, s.price, s.score
    if isinstance(s, StopHunt):
        return s.level_side, s.level_price, s.depth
    if isinstance(s, OiSpike):
        return ("up" if s.pct_1 > 0 else "down"), s.open_interest, s.z
    if isinstance(s, VolumeSpike):
        return None, s.volume_usd, s.z
    if isinstance(s, ImbalanceRanked):
        top = s.ranking[0] if s.ranking else None
        return (top.side_at_risk if top else None), None, (top.imbalance if top else None)
    if isinstance(s, PolySignal):
        return s.outcome, s.price, float(s.score)
    if isinstance(s, HybridSignal):
        return s.direction, s.price, s.fraction
    if isinstance(s, WalletScored):
        return s.crossed, None, s.smart_score
    if isinstance(s, ClusterSynced):
        return None, None, s.density
    return None, None, None


@dataclass(frozen=True)
class SignalsProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "signals"
    stream: str = "LEDGER"
    subjects: tuple[str, ...] = ("ldg.signal.>",)
    tables: tuple[str, ...] = ("signals",)

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        rows = [(seq, e) for seq, e in batch if isinstance(e, Signal)]
        if not rows:
            return
        heads = [headline(e) for _, e in rows]
        score = [h[2] for h in heads]
        await conn.execute(
            INSERT,
            [e.event_id for _, e in rows],
            [ns_to_dt(e.ts_event) for _, e in rows],
            [seq for seq, _ in rows],
            [e.KIND for _, e in rows],
            [e.strategy for _, e in rows],
            [e.venue for _, e in rows],
            [e.symbol for _, e in rows],
            [e.interval for _, e in rows],
            [h[0] for h in heads],
            [h[1] for h in heads],
            [None if x is None or x != x or abs(x) == float("inf") else x for x in score],
            [e.reason for _, e in rows],
            [_JSON.encode(e).decode() for _, e in rows],
        )
