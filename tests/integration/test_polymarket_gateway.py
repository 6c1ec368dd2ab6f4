"""PolymarketGateway (the official SDK for trading, raw reads for data) against FakePolymarket,
which verifies the SDK's real L1/L2 signatures and EIP-712 V2 order signatures."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from eth_account import Account

from events.market import Trade
from events.poly import PolyBook, PolyMarket, PolyResolved, PolyTrade
from helix.errors import ConfigError
from helix.feeds.polymarket.convert import Malformed, OwnTradeRow, UserOrderUpdate
from helix.settings import Settings
from helix.testing.fake_polymarket import FakePolymarket
from helix.testing.fake_polymarket_auth import hmac_signature
from helix.venues.credentials import PolymarketKeys
from helix.venues.polymarket_sdk import PolymarketGateway

CID = "0x" + "ab" * 32
CID2 = "0x" + "cd" * 32
YES, NO = "1111111111111111111111", "2222222222222222222222"
YES2, NO2 = "3333333333333333333333", "4444444444444444444444"
NOW = 1_750_000_000_000_000_000


def gamma_market(cid: str, yes: str, no: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(abs(hash(cid)) % 100000),
        "question": f"Will {cid[:6]} happen?",
        "conditionId": cid,
        "slug": f"m-{cid[2:8]}",
        "endDate": "2026-06-30T12:00:00Z",
        "outcomes": '["Yes", "No"]',
        "outcomePrices": '["0.5", "0.5"]',
        "clobTokenIds": json.dumps([yes, no]),
        "active": True,
        "closed": False,
        "negRisk": False,
        "orderPriceMinTickSize": 0.01,
        "orderMinSize": 5,
        "volume": "1000.5",
        **extra,
    }


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePolymarket]:
    with FakePolymarket() as f:
        f.add_market(gamma_market(CID, YES, NO))
        f.add_market(gamma_market(CID2, YES2, NO2, closed=True, outcomePrices='["0", "1"]'))
        f.add_market({**gamma_market("0x" + "ef" * 32, "5", "6"), "clobTokenIds": "not json"})
        yield f


def settings_for(fake: FakePolymarket) -> Settings:
    env = fake.settings_overrides()
    return Settings(
        home="/tmp/unused",
        polymarket_clob_url=env["HELIX_POLYMARKET_CLOB_URL"],
        polymarket_gamma_url=env["HELIX_POLYMARKET_GAMMA_URL"],
        polymarket_data_url=env["HELIX_POLYMARKET_DATA_URL"],
        polymarket_ws_url=env["HELIX_POLYMARKET_WS_URL"],
        polymarket_chain_id=int(env["HELIX_POLYMARKET_CHAIN_ID"]),
    )


@pytest.fixture
async def gw(fake: FakePolymarket) -> AsyncIterator[PolymarketGateway]:
    keys = PolymarketKeys(private_key=Account.create().key.hex())
    async with PolymarketGateway(
        settings_for(fake), keys, ping_s=0.05, reconnect_s=(0.05, 0.2)
    ) as g:
        yield g


async def test_markets_filters_and_reports_malformed(gw: PolymarketGateway) -> None:
    items = await gw.markets(now_ns=NOW)
    good = [m for m in items if isinstance(m, PolyMarket)]
    bad = [m for m in items if isinstance(m, Malformed)]
    assert {m.condition_id for m in good} == {CID, CID2}
    assert len(bad) == 1
    assert "clobTokenIds" in bad[0].reason
    [open_] = await gw.markets(now_ns=NOW, closed=False, condition_ids=[CID, CID2])
    assert isinstance(open_, PolyMarket)
    assert open_.token_ids == (YES, NO)
    assert open_.prices == (Decimal("0.5"), Decimal("0.5"))


async def test_wallet_trades_activity_positions_holders(
    fake: FakePolymarket, gw: PolymarketGateway
) -> None:
    wallet = "0x" + "9a" * 20
    for i in range(3):
        fake.add_trade(
            {
                "proxyWallet": wallet.upper().replace("0X", "0x"),
                "side": "BUY",
                "asset": YES2,
                "conditionId": CID2,
                "size": 10 + i,
                "price": 0.4,
                "timestamp": 1_700_000_000 + i,
                "outcome": "Yes",
                "transactionHash": f"0x{i:064x}",
            }
        )
    trades = await gw.wallet_trades(now_ns=NOW, market=CID2, limit=2)
    assert len(trades) == 2
    assert all(isinstance(t, PolyTrade) for t in trades)
    assert [t.size for t in trades if isinstance(t, PolyTrade)] == [Decimal(12), Decimal(11)]
    mine = await gw.activity(now_ns=NOW, user=wallet, start_s=1_700_000_001)
    assert {t.wallet for t in mine if isinstance(t, PolyTrade)} == {wallet}
    assert len(mine) == 2
    fake.add_position(
        {"proxyWallet": wallet, "asset": YES2, "conditionId": CID2, "size": 33, "avgPrice": 0.4}
    )
    [pos] = await gw.positions(wallet)
    assert pos.size == Decimal(33)
    assert pos.avg_price == Decimal("0.4")
    fake.add_holders(CID2, [{"token": YES2, "holders": [{"proxyWallet": wallet, "amount": 33}]}])
    [holder] = await gw.holders(CID2)
    assert holder.token_id == YES2
    assert holder.amount == Decimal(33)


async def test_book(fake: FakePolymarket, gw: PolymarketGateway) -> None:
    fake.set_book(YES, bids=[("0.48", "100"), ("0.40", "10")], asks=[("0.52", "50")])
    book = await gw.book(YES, now_ns=NOW)
    assert (book.best_bid, book.best_ask, book.mid) == (
        Decimal("0.48"),
        Decimal("0.52"),
        Decimal("0.50"),
    )
    assert book.bid_depth == Decimal("48.00")
    assert book.ask_depth == Decimal("26.00")
    assert book.tick_size == Decimal("0.01")
    assert book.condition_id == CID


async def _next(stream: AsyncIterator[list[Any]], pred: Any, timeout: float = 5.0) -> Any:
    async def find() -> Any:
        async for items in stream:
            for item in items:
                if pred(item):
                    return item
        raise AssertionError("stream ended")

    return await asyncio.wait_for(find(), timeout)


async def test_market_stream_reconnects_after_drop(
    fake: FakePolymarket, gw: PolymarketGateway
) -> None:
    fake.set_book(YES2, bids=[("0.30", "10")], asks=[("0.35", "10")])
    stream = gw.market_stream([YES2])
    first = await _next(stream, lambda i: isinstance(i, PolyBook) and i.symbol == YES2)
    assert first.best_ask == Decimal("0.35")
    fake.push_market(
        {
            "event_type": "last_trade_price",
            "asset_id": YES2,
            "market": CID2,
            "price": "0.35",
            "size": "4",
            "side": "BUY",
            "timestamp": "1700000000000",
            "transaction_hash": "0xfeed",
        }
    )
    trade = await _next(stream, lambda i: isinstance(i, Trade))
    assert (trade.trade_id, trade.qty, trade.side) == ("0xfeed", Decimal(4), "buy")
    fake.push_raw("{garbage")
    bad = await _next(stream, lambda i: isinstance(i, Malformed))
    assert bad.reason == "not JSON"
    await asyncio.sleep(0.15)  # a few PINGs
    assert fake.hubs.pings > 0
    before = fake.market_connections
    assert fake.drop_market_connections() == 1
    # after the reconnect the fake sends a fresh snapshot, then our change arrives
    again = await _next(stream, lambda i: isinstance(i, PolyBook))
    assert again.best_bid == Decimal("0.30")
    assert fake.market_connections == before + 1
    assert gw.reconnects == 1
    fake.set_book(YES2, bids=[("0.31", "10")], asks=[("0.35", "10")])
    moved = await _next(stream, lambda i: isinstance(i, PolyBook) and i.best_bid == Decimal("0.31"))
    assert moved.symbol == YES2
    fake.resolve(CID2, "No")
    resolved = await _next(stream, lambda i: isinstance(i, PolyResolved))
    assert resolved.winner == "No"
    assert resolved.payouts == (Decimal(0), Decimal(1))
    await stream.aclose()  # type: ignore[attr-defined]


async def test_place_match_cancel_with_real_signatures(
    fake: FakePolymarket, gw: PolymarketGateway
) -> None:
    fake.set_book(YES, bids=[("0.48", "100")], asks=[("0.52", "50"), ("0.55", "50")])
    n_orders = len(fake.orders)
    assert await gw.authenticate()
    users = gw.user_stream([CID])
    got: list[Any] = []

    async def collect() -> None:
        async for item in users:
            got.append(item)

    collector = asyncio.create_task(collect())
    await asyncio.to_thread(fake.wait_user_connected, 1)

    resting = await gw.place_order(
        token_id=YES, side="buy", size=Decimal(10), price=Decimal("0.45")
    )
    assert resting.success
    assert resting.status == "live"
    assert resting.trade_ids == ()
    taking = await gw.place_order(token_id=YES, side="buy", size=Decimal(10), price=Decimal("0.52"))
    assert taking.success
    assert taking.status == "matched"
    assert len(taking.trade_ids) == 1
    assert len(fake.orders) == n_orders + 2  # both verified (HMAC + EIP-712 V2 signer)
    assert fake.orders[-1].order_id == taking.order_id

    [open_] = await gw.open_orders(market=CID)
    assert open_.order_id == resting.order_id
    assert open_.price == Decimal("0.45")
    trades = await gw.own_trades(after_s=int(time.time()) - 60)
    assert [t.trade_id for t in trades] == list(taking.trade_ids)
    assert trades[0].price == Decimal("0.52")
    assert trades[0].size == Decimal(10)

    ack = await gw.cancel_order(resting.order_id)
    assert ack.canceled == (resting.order_id,)
    again = await gw.cancel_order(resting.order_id)
    assert again.canceled == ()
    assert resting.order_id in again.not_canceled
    assert await gw.open_orders(market=CID) == []

    fok = await gw.place_order(
        token_id=YES, side="buy", size=Decimal(500), price=Decimal("0.55"), order_type="FOK"
    )
    assert not fok.success
    assert "FOK" in fok.error

    async def wait_for_user_items() -> None:
        while not (
            any(isinstance(i, OwnTradeRow) for i in got)
            and any(isinstance(i, UserOrderUpdate) and i.type == "CANCELLATION" for i in got)
        ):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait_for_user_items(), 5)
    collector.cancel()
    trade_rows = [i for i in got if isinstance(i, OwnTradeRow)]
    assert trade_rows[0].trade_id == taking.trade_ids[0]


async def test_fake_rejects_tampered_hmac_and_signature(
    fake: FakePolymarket, gw: PolymarketGateway
) -> None:
    """The checks can fail: replay an SDK-signed order with a changed body or signature."""
    fake.set_book(NO, bids=[], asks=[])
    ok = await gw.place_order(token_id=NO, side="buy", size=Decimal(5), price=Decimal("0.2"))
    assert ok.success
    posted = fake.orders[-1]
    api_key = await gw.authenticate()
    creds = fake.clob.keys[api_key]
    url = fake.clob_url + "/order"
    async with aiohttp.ClientSession() as http:
        # 1. same headers, body changed -> the HMAC no longer matches
        body = posted.body.replace('"orderType":"GTC"', '"orderType":"FOK"')
        assert body != posted.body
        async with http.post(url, data=body, headers=posted.headers) as resp:
            assert resp.status == 401
        # 2. a correct HMAC over an order whose EIP-712 signature was altered
        payload = json.loads(posted.body)
        payload["order"]["makerAmount"] = str(int(payload["order"]["makerAmount"]) + 1)
        text = json.dumps(payload, separators=(",", ":"))
        ts = str(int(time.time()))
        headers = {
            **posted.headers,
            "POLY_TIMESTAMP": ts,
            "POLY_SIGNATURE": hmac_signature(creds.secret, ts, "POST", "/order", text),
        }
        async with http.post(url, data=text, headers=headers) as resp:
            assert resp.status == 400
            assert (await resp.json()) == {"error": "invalid signature"}
    assert fake.posted[-1].error == "invalid signature"
    assert not fake.posted[-1].verified


async def test_wrong_api_secret_is_rederived_and_bad_key_is_config_error(
    fake: FakePolymarket,
) -> None:
    acct = Account.create()
    keys = PolymarketKeys(
        private_key=acct.key.hex(), api_key="nope", api_secret="c2VjcmV0", api_passphrase="x"
    )
    async with PolymarketGateway(settings_for(fake), keys) as g:
        fake.set_book(NO2, bids=[], asks=[])
        ack = await g.place_order(token_id=NO2, side="sell", size=Decimal(5), price=Decimal("0.9"))
        assert ack.success  # the SDK probed /auth/api-keys (401), then derived via L1
        assert await g.authenticate() != "nope"
    async with PolymarketGateway(settings_for(fake), PolymarketKeys(private_key="0x12")) as g:
        with pytest.raises(ConfigError):
            await g.open_orders()


async def test_balance_and_maker_rows(fake: FakePolymarket, gw: PolymarketGateway) -> None:
    """balance() reads the wallet's pUSD; a resting order hit by another key's order comes
    back from /data/trades with our maker order's matched amount and price."""
    assert gw.keys is not None
    wallet = Account.from_key(gw.keys.private_key).address
    fake.set_collateral(wallet, "123.45")
    assert await gw.balance() == Decimal("123.45")
    fake.set_book(YES2, bids=[], asks=[])
    mine = await gw.place_order(token_id=YES2, side="buy", size=Decimal(10), price=Decimal("0.4"))
    assert mine.status == "live"
    assert await gw.balance() == Decimal("123.45")  # committed, not spent
    too_much = await gw.place_order(
        token_id=YES2, side="buy", size=Decimal(300), price=Decimal("0.4")
    )
    assert not too_much.success  # 120 + 4 committed > 123.45
    assert "not enough balance" in too_much.error
    other = PolymarketKeys(private_key=Account.create().key.hex())
    async with PolymarketGateway(settings_for(fake), other) as taker:
        hit = await taker.place_order(
            token_id=YES2, side="sell", size=Decimal(4), price=Decimal("0.35"), order_type="FAK"
        )
        [theirs] = await taker.own_trades()
    assert hit.success
    assert theirs.trader_side == "TAKER"
    [row] = [t for t in await gw.own_trades() if t.trade_id in hit.trade_ids]
    assert (row.trader_side, row.side, row.size) == ("MAKER", "sell", Decimal(4))
    [maker] = row.maker_orders
    assert (maker.order_id, maker.matched_amount, maker.price) == (
        mine.order_id, Decimal(4), Decimal("0.4"),
    )  # fmt: skip
    assert await gw.balance() == Decimal("123.45") - Decimal("1.6")
