"""The Polymarket read models on real NATS + PostgreSQL.

Market facts (listings, wallet trades, books, CLOB trades, resolutions) go to a lab stream
through the market appender; ledger facts (cluster and score signals, booked fills) are plain
JetStream publishes on the subjects the ledger uses.  Then the projectors run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from decimal import Decimal as D
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from events.base import Event
from events.poly import WalletScored
from events.signals import Signal, signal_subject
from helix.codec import Codec
from helix.settings import load_settings
from helix.store.connect import connect
from helix.store.market import MarketAppender, MarketEvent
from helix.store.streams import ensure_streams
from projections.poly_markets import list_markets
from projections.poly_positions import poly_positions
from projections.runner import reset
from projections.wallet_clusters import list_clusters
from projections.wallets import top_wallets
from tests.e2e.test_cli import helix
from tests.integration.projection_support import Lab, lab, run_projectors, table_hashes
from tests.services import RunningServices, _embedded
from tests.unit.projections.test_poly_folds import (
    T0,
    H,
    book,
    clob_trade,
    cluster,
    env,
    fill,
    market,
    prenews_events,
    tv7_events,
    wtrade,
)

pytestmark = pytest.mark.integration

POLY = ("poly_markets", "wallets", "wallet_clusters", "poly_positions", "hybrid_roi")
POLY_TABLES = (
    "poly_markets", "poly_tokens", "wallets", "wallet_positions", "wallet_entries",
    "wallet_markets", "wallet_tokens", "wallet_marks", "poly_prices_hourly", "wallet_clusters",
    "wallet_scores", "poly_positions", "hybrid_roi", "hybrid_position_strategy",
)  # fmt: skip


async def publish_market(nc: NATS, lab_: Lab, events: Sequence[Event]) -> None:
    async with MarketAppender(nc, subject_prefix=lab_.prefix) as app:
        await app.append_many(e for e in events if isinstance(e, MarketEvent))  # type: ignore[misc,arg-type]
        await app.flush()


async def publish_ledger(nc: NATS, lab_: Lab, events: Sequence[Event]) -> None:
    js, codec = nc.jetstream(), Codec()
    for e in events:
        if isinstance(e, Signal):
            subject = signal_subject(e, prefix=f"{lab_.prefix}.signal")
        else:
            subject = f"{lab_.prefix}.es.trading.e.{getattr(e, 'account', 'x')}"
        await js.publish(subject, codec.encode(e))


async def project(
    nc: NATS, lab_: Lab, *, batch: int = 1000, names: tuple[str, ...] = POLY
) -> dict[str, int]:
    return await run_projectors(nc, lab_, names, batch=batch)


async def hashes(database_url: str) -> dict[str, str]:
    return await table_hashes(database_url, POLY_TABLES)


def market_log() -> list[Event]:
    """TV-7, the pre-news market D, a listed market with a book and CLOB trades, noise."""
    out: list[Event] = [market("A", question="Will A?"), market("B"), market("C")]
    out += tv7_events()
    out += prenews_events()
    out += [
        market("F", question="Will F?", end_ts=T0 + 90 * H, prices=(D("0.61"), D("0.39"))),
        book("Ft0", "F", "0.60", T0 + H),
        clob_trade("Ft0", "0.62", T0 + 2 * H),
        book("Ft1", "F", "0.40", T0 + 3 * H),
        wtrade("0xbig", "F", "Yes", "buy", "1000", "0.60", T0 + 5 * H),  # an open entry
        market("G", question="Will G?", active=False),
    ]
    for i in range(40):  # other wallets trading A..C and moving C's mark
        w = f"0xn{i % 7}"
        out.append(wtrade(w, "C", "No" if i % 3 else "Yes", "buy", str(10 + i), "0.3", T0 + i))
        out.append(book("Ct0", "C", "0.35" if i == 39 else f"0.{20 + i % 30}", T0 + 7 * H - 40 + i))
    return out


def ledger_log() -> list[Event]:
    return [
        cluster("c1", ("w1", "w2", "w3", "w5"), T0),
        cluster("c2", ("w7", "w8", "w9"), T0 + H),
        cluster("c1", ("w1", "w2", "w3", "w5"), T0 + 2 * H),
        WalletScored(
            **env(T0),
            strategy="wallet_hunter",
            venue="polymarket",
            symbol="0xw",
            interval="resolution",
            bar_start=T0,
            source_seq=1,
            reason="up",
            wallet="0xw",
            crossed="up",
            smart_score=31.5,
            threshold=30.0,
            n_resolved=21,
            z=1.2,
            roi_realized=0.3,
            prenews_ratio=0.1,
            win_rate=0.6,
            brier=0.2,
            realized_pnl=D(250),
            cost=D(900),
        ),
        fill("sim", "BTCUSDT", "buy", "1", "100", "1", fee="0.1"),
        fill("polymarket", "Ft0", "buy", "100", "0.40", "100", fee="0.2"),
        fill("sim", "BTCUSDT", "sell", "1", "110", "0", realized="10", fee="0.11"),
        fill("polymarket", "Ft0", "sell", "40", "0.50", "60", realized="4", entry="0.40"),
        fill("sim", "ETHUSDT", "buy", "2", "10", "2", strategy="trend", ts=T0 + 30 * H),
    ]


@pytest.fixture
async def projected(nc: NATS, database_url: str) -> AsyncIterator[Lab]:
    async with lab(nc, database_url) as a:
        await publish_market(nc, a, market_log())
        await publish_ledger(nc, a, ledger_log())
        await project(nc, a, batch=7)
        yield a


async def test_tv7_through_the_projection(projected: Lab) -> None:
    conn = await asyncpg.connect(projected.database_url)
    try:
        r = await conn.fetchrow("SELECT * FROM wallets WHERE wallet = '0xw'")
    finally:
        await conn.close()
    assert r is not None
    assert (r["realized_pnl"], r["unrealized_pnl"], r["total_pnl"], r["cost"]) == (
        D(25), D(15), D(40), D(180),
    )  # fmt: skip
    assert round(r["roi"], 6) == 0.222222
    assert r["win_rate"] == 0.5
    assert (r["n_markets"], r["n_resolved"], r["trades"]) == (3, 2, 5)


async def test_pre_news_and_the_read_models(projected: Lab) -> None:
    conn = await asyncpg.connect(projected.database_url)
    try:
        p = await conn.fetchrow("SELECT * FROM wallets WHERE wallet = '0xp'")
        assert p is not None
        assert (p["prenews_ratio"], p["insider_watch"], p["realized_pnl"]) == (1.0, True, D(1400))
        assert await conn.fetchval("SELECT prenews_ratio FROM wallets WHERE wallet = '0xq'") == 0
        assert (
            await conn.fetchval("SELECT count(*) FROM wallet_entries WHERE condition_id = 'D'") == 0
        )
        assert (
            await conn.fetchval("SELECT count(*) FROM poly_prices_hourly WHERE condition_id = 'D'")
            == 13
        )
        top = await top_wallets(conn, 3, by="pnl")
        assert [w.wallet for w in top][:1] == ["0xp"]
        markets = {m.market.condition_id: m for m in await list_markets(conn, limit=100)}
        assert set(markets) == {"A", "B", "C", "D", "F", "G"}
        f = markets["F"]
        assert (f.mids, f.last_trades, f.market.prices) == (
            (D("0.60"), D("0.40")), (D("0.62"), None), (D("0.61"), D("0.39")),
        )  # fmt: skip
        assert (markets["A"].market.winner, markets["B"].market.payouts) == ("Yes", (D(0), D(1)))
        active = [m.market.condition_id for m in await list_markets(conn, active_only=True)]
        assert active == ["F", "C"]
        clusters = await list_clusters(conn)
        assert [(c.cluster_id, c.times_seen) for c in clusters] == [("c1", 2), ("c2", 1)]
        assert (
            await conn.fetchval("SELECT smart_score FROM wallet_scores WHERE wallet = '0xw'")
            == 31.5
        )
        [pos] = await poly_positions(conn)
        assert (pos.condition_id, pos.outcome, pos.question, pos.position.size) == (
            "F", "Yes", "Will F?", D(60),
        )  # fmt: skip
        assert (pos.mark, pos.unrealized_pnl, pos.position.cost) == (D("0.60"), D(12), D(40))
        roi = await conn.fetch(
            "SELECT strategy, perps_pnl, poly_pnl, combined_pnl, perps_roi, poly_roi,"
            " combined_roi FROM hybrid_roi ORDER BY day, strategy"
        )
        assert [tuple(x)[:6] for x in roi] == [
            ("hybrid", D("9.79"), D("3.8"), D("13.59"), D("0.0979"), D("0.095")),
            ("trend", D(0), D(0), D(0), D(0), None),
        ]
        assert abs(roi[0]["combined_roi"] - D("13.59") / D(140)) < D("1e-15")
        assert roi[1]["combined_roi"] == 0
    finally:
        await conn.close()


async def test_exactly_once_and_rebuild_equals_incremental(nc: NATS, database_url: str) -> None:
    async with lab(nc, database_url) as a:
        log = market_log()
        half = len(log) // 2
        await publish_market(nc, a, log[:half])
        await publish_ledger(nc, a, ledger_log()[:3])
        await project(nc, a, batch=3)
        await publish_market(nc, a, log[half:])
        await publish_ledger(nc, a, ledger_log()[3:])
        first = await project(nc, a, batch=5)
        assert all(first.values()), first
        incremental = await hashes(a.database_url)
        again = await project(nc, a, batch=5)
        assert again == dict.fromkeys(POLY, 0)
        assert await hashes(a.database_url) == incremental
        conn = await asyncpg.connect(a.database_url)
        try:
            every = a.projectors()
            for name in POLY:
                await reset(conn, every[name])
            assert await conn.fetchval("SELECT count(*) FROM wallets") == 0
        finally:
            await conn.close()
        await project(nc, a, batch=10_000)
        rebuilt = await hashes(a.database_url)
    assert [t for t, h in incremental.items() if not h] == []
    assert [t for t in POLY_TABLES if incremental[t] != rebuilt[t]] == []


async def test_a_book_moves_the_unrealised_pnl_of_every_holder(nc: NATS, database_url: str) -> None:
    async with lab(nc, database_url) as a:
        await publish_market(nc, a, [
            market("M"),
            wtrade("0xa", "M", "Yes", "buy", "100", "0.50", T0),
            wtrade("0xb", "M", "Yes", "buy", "50", "0.40", T0 + 1),
        ])  # fmt: skip
        await project(nc, a, names=("wallets",))
        await publish_market(nc, a, [book("Mt0", "M", "0.70", T0 + 2)])
        await project(nc, a, names=("wallets",))
        conn = await asyncpg.connect(a.database_url)
        try:
            rows = await conn.fetch("SELECT wallet, unrealized_pnl FROM wallets ORDER BY wallet")
        finally:
            await conn.close()
    assert [tuple(r) for r in rows] == [("0xa", D(20)), ("0xb", D(15))]


# -- the CLI ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_services() -> Iterator[RunningServices]:
    """Services of this module only: the views must start from an empty log."""
    with _embedded() as s:
        yield s


async def test_the_poly_views(own_services: RunningServices, tmp_path: Path) -> None:
    env = {"HELIX_HOME": str(tmp_path), "HELIX_NATS_URL": own_services.nats_url,
           "HELIX_DATABASE_URL": own_services.database_url}  # fmt: skip
    empty = helix("poly", "wallets", env=env)
    assert empty.returncode == 3, empty.stderr
    assert "no Polymarket wallets in the read model yet" in empty.stderr
    assert helix("poly", "clusters", env=env).returncode == 3

    nc = await connect(own_services.nats_url, name="helix-test-poly-views")
    try:
        await ensure_streams(nc.jetstream(), load_settings({}, dotenv=Path("/nonexistent")))
        async with MarketAppender(nc) as app:
            await app.append_many([market("A", question="Will A?"), market("C", question="Will C?"),
                                   *tv7_events()])  # type: ignore[list-item]  # fmt: skip
            await app.flush()
        js, codec = nc.jetstream(), Codec()
        c1 = cluster("c1", ("w1", "w2", "w3", "w5"), T0)
        await js.publish(signal_subject(c1), codec.encode(c1))
    finally:
        await nc.close()

    res = helix("poly", "wallets", "--top", "5", "--by", "score", env=env)
    assert res.returncode == 0, res.stderr
    [line] = [x for x in res.stdout.splitlines() if "0xw" in x]
    cells = [c.strip() for c in line.split("│")[2:8]]
    assert cells == ["25.00", "15.00", "40.00", "180.00", "22.2%", "50.0%"]
    res = helix("poly", "markets", "--active", env=env)
    assert res.returncode == 0, res.stderr
    assert "Will C?" in res.stdout
    assert "Will A?" not in res.stdout  # resolved
    assert "Yes 0.350" in res.stdout
    res = helix("poly", "clusters", env=env)
    assert res.returncode == 0, res.stderr
    assert "c1" in res.stdout
    assert "0.667" in res.stdout
    bad = helix("poly", "wallets", "--by", "luck", env=env)
    assert bad.returncode == 3
    assert "--by must be pnl, score or roi" in bad.stderr
