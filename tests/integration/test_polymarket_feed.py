"""PolymarketFeed against FakePolymarket (real wire formats) into real NATS: listings, wallet
trades, books, CLOB trades, resolutions, a dropped socket, unreadable input, a restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from events.market import Trade
from events.ops import DeadLetter
from events.poly import PolyBook, PolyMarket, PolyResolved, PolyTrade
from helix.clock import SystemClock
from helix.errors import ConfigError
from helix.feeds.polymarket.feed import PolyFeedStats, PolymarketFeed
from helix.settings import Settings
from helix.store.replay import replay_batches
from helix.store.streams import DLQ, StreamSpec, ensure_stream, ensure_streams
from helix.testing.fake_polymarket import FakePolymarket
from helix.venues.polymarket_sdk import PolymarketGateway

pytestmark = pytest.mark.integration

WALLET = "0x" + "12" * 20
T_S = int(time.time()) - 3600  # trades an hour old: inside any poll window


def ids() -> tuple[str, str, str]:
    """A fresh condition id and its two outcome tokens."""
    n = uuid.uuid4().int
    return f"0x{n:064x}", str(n % 10**20 + 10**21), str(n % 10**20 + 2 * 10**21)


def gamma_market(cid: str, yes: str, no: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4().int % 10**6),
        "question": "Will it happen?",
        "conditionId": cid,
        "slug": f"m-{cid[2:10]}",
        "endDate": "2030-06-30T12:00:00Z",
        "outcomes": '["Yes", "No"]',
        "outcomePrices": '["0.5", "0.5"]',
        "clobTokenIds": json.dumps([yes, no]),
        "active": True,
        "closed": False,
        "orderPriceMinTickSize": 0.01,
        **extra,
    }


def data_trade(cid: str, token: str, ts: int, tx: str, **extra: Any) -> dict[str, Any]:
    return {
        "proxyWallet": WALLET, "side": "BUY", "asset": token, "conditionId": cid, "size": 10,
        "price": 0.4, "timestamp": ts, "title": "Will it happen?", "outcome": "Yes",
        "transactionHash": tx, **extra,
    }  # fmt: skip


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePolymarket]:
    with FakePolymarket() as f:
        yield f


def settings_for(fake: FakePolymarket) -> Settings:
    return Settings(
        home="/tmp/unused",
        polymarket_clob_url=fake.clob_url,
        polymarket_gamma_url=fake.gamma_url,
        polymarket_data_url=fake.data_url,
        polymarket_ws_url=fake.ws_url,
    )


class Log:
    """A private stream (tiny duplicate window: only the feed's own bookkeeping can keep a
    restart from publishing twice) and a private dead-letter subject."""

    def __init__(self, nc: NATS) -> None:
        tag = uuid.uuid4().hex[:10]
        self.nc, self.stream, self.prefix = nc, f"PFEED_{tag}", f"pfeed{tag}"
        self.dlq = f"dlq.test_pfeed_{tag}"

    async def events(self) -> list[object]:
        return [
            e
            async for batch in replay_batches(
                self.nc, subjects=f"{self.prefix}.>", stream=self.stream
            )
            for _, e in batch
        ]

    async def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in await self.events() if isinstance(e, kind)]

    async def letters(self) -> list[DeadLetter]:
        return [
            e
            async for batch in replay_batches(self.nc, subjects=self.dlq, stream=DLQ)
            for _, e in batch
            if isinstance(e, DeadLetter)
        ]


@pytest.fixture
async def log(nc: NATS) -> AsyncIterator[Log]:
    await ensure_streams(nc.jetstream(), Settings(home="/tmp/unused"))
    it = Log(nc)
    spec = StreamSpec(name=it.stream, subjects=(f"{it.prefix}.>",), duplicate_window_s=0.1)
    await ensure_stream(nc.jetstream(), spec)
    try:
        yield it
    finally:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(it.stream)


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(
    fake: FakePolymarket, log: Log, **kwargs: Any
) -> AsyncIterator[tuple[PolymarketFeed, PolymarketGateway]]:
    stop = asyncio.Event()
    async with PolymarketGateway(
        settings_for(fake), ping_s=0.2, reconnect_s=(0.05, 0.2)
    ) as gateway:
        feed = PolymarketFeed(
            nc=log.nc, gateway=gateway, clock=SystemClock(), poll_s=0.2,
            subject_prefix=log.prefix, stream=log.stream, dlq_subject=log.dlq, **kwargs,
        )  # fmt: skip
        task = asyncio.create_task(feed.run(stop))
        try:
            yield feed, gateway
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


async def test_listing_trades_book_clob_trade_and_one_resolution(
    fake: FakePolymarket, log: Log
) -> None:
    cid, yes, no = ids()
    fake.add_market(gamma_market(cid, yes, no))
    for i in range(3):
        fake.add_trade(data_trade(cid, yes, T_S + i, f"0xt{i}{cid[2:8]}"))
    fake.set_book(yes, bids=[("0.39", "100")], asks=[("0.41", "50")])
    async with running(fake, log, markets=[cid]) as (feed, _):
        await asyncio.to_thread(fake.wait_market_subscribed, yes, no)

        async def have_all() -> bool:
            books = await log.of(PolyBook)
            return len(await log.of(PolyTrade)) == 3 and any(b.symbol == yes for b in books)

        await until(have_all, "3 wallet trades and a book")
        fake.push_market({
            "event_type": "last_trade_price", "asset_id": yes, "market": cid, "price": "0.41",
            "size": "12", "side": "BUY", "fee_rate_bps": "0",
            "timestamp": str(int(time.time() * 1000)), "transaction_hash": "0xclob1",
        })  # fmt: skip

        async def have_clob_trade() -> bool:
            return any(t.symbol == yes for t in await log.of(Trade))

        await until(have_clob_trade, "the CLOB trade")
        await asyncio.to_thread(fake.resolve, cid, "Yes")

        async def have_resolution() -> bool:
            return bool(await log.of(PolyResolved))

        await until(have_resolution, "the resolution")
        await asyncio.sleep(0.6)  # more polls: Gamma now says closed with final prices too
    [market] = [m for m in await log.of(PolyMarket) if not m.closed]
    assert (market.condition_id, market.token_ids) == (cid, (yes, no))
    trades = await log.of(PolyTrade)
    assert [t.ts_event // 10**9 for t in trades] == [T_S, T_S + 1, T_S + 2]  # oldest first
    assert {t.wallet for t in trades} == {WALLET}
    [book] = [b for b in await log.of(PolyBook) if b.symbol == yes][:1]
    assert (str(book.best_bid), str(book.best_ask), book.condition_id) == ("0.39", "0.41", cid)
    [clob] = await log.of(Trade)
    assert (clob.venue, clob.vertical, str(clob.price), str(clob.qty)) == (
        "polymarket", "poly", "0.41", "12",
    )  # fmt: skip
    [resolved] = await log.of(PolyResolved)  # CLOB frame and Gamma listing: one resolution
    assert (resolved.winner, resolved.payout_of("No")) == ("Yes", 0)
    stats = feed.stats.snapshot()["symbols"][cid]
    assert (stats["wallet_trades"], stats["clob_trades"], stats["resolved"]) == (3, 1, True)


async def test_a_dropped_socket_reconnects_and_books_flow_again(
    fake: FakePolymarket, log: Log
) -> None:
    cid, yes, no = ids()
    fake.add_market(gamma_market(cid, yes, no))
    async with running(fake, log, markets=[cid]) as (_, gateway):
        await asyncio.to_thread(fake.wait_market_subscribed, yes, no)
        assert fake.drop_market_connections() >= 1
        await asyncio.to_thread(fake.wait_market_subscribed, yes, no)
        fake.set_book(yes, bids=[("0.55", "10")], asks=[("0.57", "10")])

        async def have_new_book() -> bool:
            return any(str(b.best_bid) == "0.55" for b in await log.of(PolyBook))

        await until(have_new_book, "a book after the reconnect")
        assert gateway.reconnects >= 1


async def test_unreadable_frames_and_listings_go_to_the_dlq_once(
    fake: FakePolymarket, log: Log
) -> None:
    cid, yes, no = ids()
    bad_cid = ids()[0]
    fake.add_market(gamma_market(cid, yes, no))
    fake.add_market({**gamma_market(bad_cid, "7", "8"), "clobTokenIds": "not json"})
    async with running(fake, log, markets=[cid, bad_cid]) as (feed, _):
        await asyncio.to_thread(fake.wait_market_subscribed, yes)
        fake.push_raw("this is not json {")
        fake.push_market({"event_type": "last_trade_price", "asset_id": yes, "market": cid,
                          "price": "7", "size": "1", "side": "BUY"})  # fmt: skip

        async def have_letters() -> bool:
            return len(await log.letters()) >= 3

        await until(have_letters, "three dead letters")
        await asyncio.sleep(0.6)  # the bad listing comes back on every poll
    letters = await log.letters()
    reasons = sorted(e.reason for e in letters)
    assert len(letters) == 3, reasons
    assert any("not JSON" in r for r in reasons)
    assert any("clobTokenIds" in r for r in reasons)
    assert any("out of range" in r for r in reasons)
    assert all(e.origin.startswith("feed:polymarket:") for e in letters)
    assert feed.stats.dead_letters == 3
    assert await log.of(PolyTrade) == []  # the bad CLOB trade was not published


async def test_a_restart_resumes_from_the_log_without_duplicates(
    fake: FakePolymarket, log: Log
) -> None:
    cid, yes, no = ids()
    fake.add_market(gamma_market(cid, yes, no))
    fake.add_trade(data_trade(cid, yes, T_S, "0xa"))
    fake.add_trade(data_trade(cid, yes, T_S + 100, "0xb"))
    async with running(fake, log, markets=[cid]):

        async def two() -> bool:
            return len(await log.of(PolyTrade)) == 2

        await until(two, "the first two trades")
    # While the feed is down: a trade after the last one, and a late-listed one inside the
    # overlap (older than the last trade on the log).
    fake.add_trade(data_trade(cid, yes, T_S + 200, "0xc"))
    fake.add_trade(data_trade(cid, no, T_S + 90, "0xd", outcome="No", side="SELL"))
    await asyncio.sleep(0.3)  # past the stream's duplicate window: de-dup is the feed's job
    second: PolyFeedStats | None = None
    async with running(fake, log, markets=[cid]) as (feed, _):

        async def four() -> bool:
            return len(await log.of(PolyTrade)) >= 4

        await until(four, "the gap repaired")
        await asyncio.sleep(0.6)  # several more polls over the same window
        second = feed.stats
    trades = await log.of(PolyTrade)
    assert sorted(t.tx_hash for t in trades) == ["0xa", "0xb", "0xc", "0xd"]
    assert len(await log.of(PolyMarket)) == 1  # the unchanged listing was not re-published
    assert second is not None
    assert second.markets[cid].wallet_trades == 2
    assert second.markets[cid].repaired == 2


async def test_active_mode_follows_new_markets(fake: FakePolymarket, log: Log) -> None:
    cid, yes, no = ids()
    async with running(fake, log, active=True) as (feed, _):
        fake.add_market(gamma_market(cid, yes, no))
        await asyncio.to_thread(fake.wait_market_subscribed, yes, no)

        async def listed() -> bool:
            return any(m.condition_id == cid for m in await log.of(PolyMarket))

        await until(listed, "the new market's listing")
    assert cid in feed.stats.markets


def test_a_feed_needs_markets_or_active(fake: FakePolymarket) -> None:
    with pytest.raises(ConfigError, match="active"):
        PolymarketFeed(
            nc=NATS(), gateway=PolymarketGateway(settings_for(fake)), clock=SystemClock()
        )


def test_cli_ingest_polymarket_for_a_few_seconds(fake: FakePolymarket, services: object) -> None:
    import os

    from tests.e2e.test_cli import helix

    cid, yes, no = ids()
    fake.add_market(gamma_market(cid, yes, no))
    fake.add_trade(data_trade(cid, yes, T_S, "0xcli1"))
    fake.add_trade(data_trade(cid, no, T_S + 1, "0xcli2", outcome="No"))
    env = {
        "HELIX_NATS_URL": os.environ["HELIX_NATS_URL"],
        "HELIX_DATABASE_URL": os.environ["HELIX_DATABASE_URL"],
        "HELIX_POLYMARKET_POLL_S": "0.3",
        **fake.settings_overrides(),
    }
    res = helix("ingest", "polymarket", "--markets", cid, "--duration", "3",
                "--metrics-port", "0", env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "1 markets, 2 wallet trades" in res.stdout
    status = helix("feeds", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert cid[:12] in status.stdout
    bare = helix("ingest", "polymarket", env=env)
    assert bare.returncode == 2
    assert "--markets" in bare.stderr
