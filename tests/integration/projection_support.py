"""Helpers for projection tests: a private stream, a private database, table hashes, data."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from random import Random

import asyncpg
import psycopg
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from events.market import Liquidation, MarketEvent, Ticker, Trade, market_event_id
from helix.db.migrate import migrate
from helix.store.market import MarketAppender
from helix.store.streams import StreamSpec, ensure_stream
from projections.base import Projector
from projections.registry import all_projectors
from projections.runner import ProjectionRunner

T0 = 1_735_689_600_000_000_000  # 2025-01-01 UTC


@dataclass(frozen=True)
class Lab:
    """A stream + database pair private to one test."""

    stream: str
    prefix: str
    database_url: str

    def projectors(self) -> dict[str, Projector]:
        return all_projectors(
            stream=self.stream,
            prefix=self.prefix,
            ledger_stream=self.stream,
            ledger_prefix=self.prefix,
        )


def _db_url(base_url: str, dbname: str) -> str:
    head, _, _ = base_url.rpartition("/")
    return f"{head}/{dbname}"


@contextlib.asynccontextmanager
async def lab(nc: NATS, base_database_url: str, *, timescaledb: bool = True) -> AsyncIterator[Lab]:
    tag = uuid.uuid4().hex[:10]
    stream, prefix, dbname = f"LAB_{tag}", f"lab{tag}", f"lab_{tag}"
    js = nc.jetstream()
    await ensure_stream(js, StreamSpec(name=stream, subjects=(f"{prefix}.>",), persist_async=True))
    with psycopg.connect(base_database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    url = _db_url(base_database_url, dbname)
    migrate(url, timescaledb=timescaledb)
    try:
        yield Lab(stream, prefix, url)
    finally:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream)
        with psycopg.connect(base_database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


async def publish(nc: NATS, lab_: Lab, events: Iterable[MarketEvent]) -> int:
    async with MarketAppender(nc, subject_prefix=lab_.prefix) as app:
        await app.append_many(events)
        stats = await app.flush()
    return stats.stored


READ_MODELS = (
    "candles_1m",
    "open_interest",
    "funding",
    "liquidations",
    "liquidations_1m",
    "heatmap_bars",
    "heatmap_markets",
    "heatmaps",
    "heatmap_columns",
    "heatmap_clusters",
)
# The trading read models (tests/integration/test_trading_projections.py hashes them on a log
# with trading events; the market-only logs above leave them empty).
TRADING_READ_MODELS = (
    "orders",
    "order_commands_rejected",
    "fills",
    "positions",
    "funding_payments",
    "pnl_daily",
    "accounts",
)


async def table_hashes(database_url: str, tables: Sequence[str] = READ_MODELS) -> dict[str, str]:
    """An md5 of each table's rows (in text order): equal hashes, equal tables."""
    conn = await asyncpg.connect(database_url)
    try:
        return {
            t: await conn.fetchval(
                f"SELECT coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM {t} x"
            )
            for t in tables
        }
    finally:
        await conn.close()


async def run_projectors(
    nc: NATS, lab_: Lab, names: Sequence[str], *, batch: int = 1000
) -> dict[str, int]:
    """Run the lab's projectors ``names`` to the head, one after the other; events each."""
    conn = await asyncpg.connect(lab_.database_url)
    try:
        every = lab_.projectors()
        return {
            n: (
                await ProjectionRunner(nc=nc, conn=conn, projector=every[n], batch=batch).run()
            ).events
            for n in names
        }
    finally:
        await conn.close()


def synthetic_market(n_trades: int, *, venue: str = "syn", seed: int = 1) -> list[MarketEvent]:
    """Deterministic trades, liquidations and tickers over ~n_trades seconds, two symbols."""
    rng = Random(seed)
    out: list[MarketEvent] = []
    px = {"BTCUSDT": Decimal("95000.0"), "ETHUSDT": Decimal("3400.00")}
    oi = {"BTCUSDT": Decimal("50000"), "ETHUSDT": Decimal("900000")}
    for i in range(n_trades):
        sym = "BTCUSDT" if i % 3 else "ETHUSDT"
        ts = T0 + i * 1_000_000_000 + rng.randrange(1_000_000)
        px[sym] += Decimal(rng.randrange(-50, 51)) / 10
        common = {"ts_event": ts, "ts_recorded": ts + 5_000_000, "source": venue,
                  "vertical": "perps", "venue": venue, "symbol": sym}  # fmt: skip
        tid = f"{sym}-{i}"
        out.append(
            Trade(
                event_id=market_event_id(venue, "trade", sym, tid),  # type: ignore[arg-type]
                trade_id=tid,
                price=px[sym],
                qty=Decimal(rng.randrange(1, 500)) / 1000,
                side="buy" if rng.random() < 0.5 else "sell",
                **common,  # type: ignore[arg-type]
            )
        )
        if i % 17 == 0:
            key = f"L{i}"
            out.append(
                Liquidation(
                    event_id=market_event_id(venue, "liq", sym, key),  # type: ignore[arg-type]
                    key=key,
                    price=px[sym],
                    qty=Decimal(rng.randrange(1, 900)) / 100,
                    side="sell" if rng.random() < 0.6 else "buy",
                    **common,  # type: ignore[arg-type]
                )
            )
        if i % 60 == 0:
            oi[sym] += Decimal(rng.randrange(-300, 400))
            out.append(
                Ticker(
                    event_id=market_event_id(venue, "ticker", sym, str(ts)),  # type: ignore[arg-type]
                    mark_price=px[sym],
                    index_price=px[sym] - 1,
                    open_interest=oi[sym],
                    open_interest_value=oi[sym] * px[sym],
                    funding_rate=Decimal(rng.randrange(-100, 300)) / 1_000_000,
                    next_funding_ts=T0 + 8 * 3600 * 1_000_000_000,
                    **common,  # type: ignore[arg-type]
                )
            )
    return out
