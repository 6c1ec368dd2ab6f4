"""``wallet_clusters`` and ``wallet_scores``: the wallet hunter's findings (quant.md §7-8).

Projected from ``ldg.signal.cluster_synced.>`` (:class:`~events.poly.ClusterSynced`) and
``ldg.signal.wallet_scored.>`` (:class:`~events.poly.WalletScored`) in ``LEDGER``.  A cluster
row is its latest ClusterSynced (members, markets, density, edges, 2-core), with when it was
first and last seen and how often; a cluster id is a digest of the sorted members, so a cluster
that gains a member is a new row.  Every WalletScored is a row of ``wallet_scores``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import asyncpg

from events.poly import ClusterSynced, WalletScored
from projections.base import Batch, ns_to_dt
from projections.rows import columns, names, set_all, unnest_insert


@dataclass(frozen=True, slots=True)
class ClusterRow:
    """A row of ``wallet_clusters``."""

    cluster_id: str
    members: tuple[str, ...]
    markets: tuple[str, ...]
    density: float
    edges: int
    core: tuple[str, ...]
    delta_t_s: int
    w_min: int
    strategy: str
    reason: str
    times_seen: int
    first_seen_ts: datetime
    last_seen_ts: datetime
    last_seq: int


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """A row of ``wallet_scores``."""

    ts: datetime
    wallet: str
    crossed: str
    smart_score: float
    threshold: float
    n_resolved: int
    z: float
    roi_realized: float
    prenews_ratio: float
    win_rate: float | None
    brier: float | None
    realized_pnl: Decimal
    cost: Decimal
    strategy: str
    event_id: uuid.UUID
    seq: int


def fold_clusters(current: Mapping[str, ClusterRow], batch: Batch) -> dict[str, ClusterRow]:
    """Pure: the cluster rows a batch changes, from the current ones."""
    out: dict[str, ClusterRow] = {}
    for seq, e in batch:
        if not isinstance(e, ClusterSynced):
            continue
        ts = ns_to_dt(e.ts_event)
        prev = out.get(e.cluster_id) or current.get(e.cluster_id)
        row = ClusterRow(e.cluster_id, e.members, e.markets, e.density, e.edges, e.core,
                         e.delta_t_s, e.w_min, e.strategy, e.reason, 1, ts, ts, seq)  # fmt: skip
        if prev is not None:
            row = replace(row, times_seen=prev.times_seen + 1,
                          first_seen_ts=min(prev.first_seen_ts, ts),
                          last_seen_ts=max(prev.last_seen_ts, ts))  # fmt: skip
        out[e.cluster_id] = row
    return out


def score_rows(batch: Batch) -> list[ScoreRow]:
    """Pure: one ``wallet_scores`` row per WalletScored."""
    return [
        ScoreRow(ns_to_dt(e.ts_event), e.wallet, e.crossed, e.smart_score, e.threshold,
                 e.n_resolved, e.z, e.roi_realized, e.prenews_ratio, e.win_rate, e.brier,
                 e.realized_pnl, e.cost, e.strategy, e.event_id, seq)
        for seq, e in batch
        if isinstance(e, WalletScored)
    ]  # fmt: skip


def cluster_row(values: list[object]) -> ClusterRow:
    """A fetched row (arrays come back as lists)."""
    for i in (1, 2, 5):
        values[i] = tuple(values[i])  # type: ignore[arg-type]
    return ClusterRow(*values)  # type: ignore[arg-type]


UPSERT_CLUSTERS = (
    f"INSERT INTO wallet_clusters ({', '.join(names(ClusterRow))}) VALUES"
    f" ({', '.join(f'${i}' for i in range(1, len(names(ClusterRow)) + 1))})"
    f" ON CONFLICT (cluster_id) DO UPDATE SET {set_all(names(ClusterRow)[1:])}"
)
SELECT_CLUSTERS = (
    f"SELECT {', '.join(names(ClusterRow))} FROM wallet_clusters WHERE cluster_id = ANY($1::text[])"
)
INSERT_SCORES = unnest_insert(
    "wallet_scores", ScoreRow,
    "timestamptz text text float8 float8 integer float8 float8 float8 float8 float8 numeric"
    " numeric text uuid bigint",
)  # fmt: skip


@dataclass(frozen=True)
class WalletClustersProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "wallet_clusters"
    stream: str = "LEDGER"
    subjects: tuple[str, ...] = ("ldg.signal.cluster_synced.>", "ldg.signal.wallet_scored.>")
    tables: tuple[str, ...] = ("wallet_clusters", "wallet_scores")

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        ids = sorted({e.cluster_id for _, e in batch if isinstance(e, ClusterSynced)})
        if ids:
            current = {
                r[0]: cluster_row(list(r.values())) for r in await conn.fetch(SELECT_CLUSTERS, ids)
            }
            changed = fold_clusters(current, batch)
            await conn.executemany(
                UPSERT_CLUSTERS,
                [[list(v) if isinstance(v, tuple) else v for v in _fields(r)]
                 for r in changed.values()],
            )  # fmt: skip
        scores = score_rows(batch)
        if scores:
            await conn.execute(INSERT_SCORES, *columns(scores, ScoreRow))


def _fields(row: ClusterRow) -> list[object]:
    return [getattr(row, n) for n in names(ClusterRow)]


# -- queries (the CLI) -----------------------------------------------------------------------


async def list_clusters(conn: asyncpg.Connection, limit: int = 50) -> list[ClusterRow]:
    """Clusters, most recently seen first."""
    rows = await conn.fetch(
        f"SELECT {', '.join(names(ClusterRow))} FROM wallet_clusters"
        " ORDER BY last_seen_ts DESC, cluster_id LIMIT $1",
        limit,
    )
    return [cluster_row(list(r.values())) for r in rows]
