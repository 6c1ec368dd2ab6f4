"""FakePolymarket's own wire behaviour (plain HTTP/WebSocket clients, no Helix code)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import aiohttp
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from helix.testing.fake_polymarket import FakePolymarket
from helix.testing.fake_polymarket_auth import (
    CLOB_AUTH_MESSAGE,
    NEG_RISK_EXCHANGE,
    STANDARD_EXCHANGE,
    hmac_signature,
)

CID = "0x" + "12" * 32
YES, NO = "101", "202"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePolymarket]:
    with FakePolymarket() as f:
        f.add_market(
            {
                "id": "1",
                "conditionId": CID,
                "question": "Q?",
                "outcomes": '["Yes", "No"]',
                "outcomePrices": '["0.4", "0.6"]',
                "clobTokenIds": json.dumps([YES, NO]),
                "active": True,
                "closed": False,
                "negRisk": True,
                "orderPriceMinTickSize": 0.001,
            }
        )
        f.set_book(YES, bids=[("0.39", "10")], asks=[("0.41", "20")])
        yield f


def l1_headers(acct: object, chain_id: int, *, address: str | None = None) -> dict[str, str]:
    ts = str(int(time.time()))
    typed = {
        "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": chain_id},
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "ClobAuth": [
                {"name": "address", "type": "address"},
                {"name": "timestamp", "type": "string"},
                {"name": "nonce", "type": "uint256"},
                {"name": "message", "type": "string"},
            ],
        },
        "primaryType": "ClobAuth",
        "message": {
            "address": acct.address,  # type: ignore[attr-defined]
            "timestamp": ts,
            "nonce": 0,
            "message": CLOB_AUTH_MESSAGE,
        },
    }
    sig = acct.sign_message(encode_typed_data(full_message=typed)).signature.hex()  # type: ignore[attr-defined]
    return {
        "POLY_ADDRESS": address or acct.address,  # type: ignore[attr-defined]
        "POLY_SIGNATURE": "0x" + sig.removeprefix("0x"),
        "POLY_TIMESTAMP": ts,
        "POLY_NONCE": "0",
    }


async def test_public_rest_shapes(fake: FakePolymarket) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(fake.clob_url + "/book", params={"token_id": YES}) as r:
            book = await r.json()
        assert book["bids"] == [{"price": "0.39", "size": "10"}]
        assert book["tick_size"] == "0.001"
        assert book["neg_risk"] is True
        assert book["hash"]
        async with http.get(fake.clob_url + "/midpoint", params={"token_id": YES}) as r:
            assert await r.json() == {"mid": "0.4"}
        async with http.get(fake.clob_url + "/book", params={"token_id": "999"}) as r:
            assert r.status == 404
        async with http.get(fake.clob_url + f"/markets-by-token/{NO}") as r:
            assert await r.json() == {"condition_id": CID}
        q = [("condition_ids", CID), ("closed", "false"), ("limit", "5")]
        async with http.get(fake.gamma_url + "/markets", params=q) as r:
            [m] = await r.json()
        assert m["conditionId"] == CID
        async with http.get(fake.gamma_url + "/markets", params={"closed": "true"}) as r:
            assert await r.json() == []
        async with http.get(fake.data_url + "/positions") as r:
            assert r.status == 400  # user is required


async def test_l1_key_and_l2_hmac_are_checked(fake: FakePolymarket) -> None:
    acct = Account.create()
    other = Account.create()
    async with aiohttp.ClientSession() as http:
        bad = l1_headers(other, fake.chain_id, address=acct.address)  # signed by someone else
        async with http.post(fake.clob_url + "/auth/api-key", headers=bad) as r:
            assert r.status == 401
        good = l1_headers(acct, fake.chain_id)
        async with http.post(fake.clob_url + "/auth/api-key", headers=good) as r:
            creds = await r.json()
        async with http.post(fake.clob_url + "/auth/api-key", headers=good) as r:
            assert r.status == 400  # exists: the SDK then derives
        async with http.get(fake.clob_url + "/auth/derive-api-key", headers=good) as r:
            assert (await r.json())["apiKey"] == creds["apiKey"]
        ts = str(int(time.time()))
        l2 = {
            "POLY_ADDRESS": acct.address,
            "POLY_API_KEY": creds["apiKey"],
            "POLY_PASSPHRASE": creds["passphrase"],
            "POLY_TIMESTAMP": ts,
            "POLY_SIGNATURE": hmac_signature(creds["secret"], ts, "GET", "/data/orders", ""),
        }
        async with http.get(fake.clob_url + "/data/orders", headers=l2) as r:
            assert r.status == 200
            assert (await r.json())["next_cursor"] == "LTE="
        l2["POLY_SIGNATURE"] = hmac_signature(creds["secret"], ts, "GET", "/data/trades", "")
        async with http.get(fake.clob_url + "/data/orders", headers=l2) as r:
            assert r.status == 401  # signed for another path
        await asyncio.to_thread(fake.set_collateral, acct.address, "250.5")
        q = {"asset_type": "COLLATERAL", "signature_type": "0"}
        l2["POLY_SIGNATURE"] = hmac_signature(creds["secret"], ts, "GET", "/balance-allowance", "")
        async with http.get(fake.clob_url + "/balance-allowance", headers=l2, params=q) as r:
            body = await r.json()
        assert body["balance"] == "250500000"  # 6-decimal base units
        assert set(body["allowances"]) == {STANDARD_EXCHANGE, NEG_RISK_EXCHANGE}
        async with http.get(fake.clob_url + "/balance-allowance", params=q) as r:
            assert r.status == 401  # no L2 headers


async def test_market_ws_snapshot_ping_push_drop(fake: FakePolymarket) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(fake.ws_url + "/market") as ws:
        await ws.send_str(json.dumps({"type": "market", "assets_ids": [YES]}))
        snap = json.loads((await ws.receive(timeout=5)).data)
        assert isinstance(snap, list)
        assert snap[0]["event_type"] == "book"
        await ws.send_str("PING")
        assert (await ws.receive(timeout=5)).data == "PONG"
        await asyncio.to_thread(
            fake.push_market,
            [{"event_type": "tick_size_change", "asset_id": YES, "new_tick_size": "0.01"}],
        )
        assert json.loads((await ws.receive(timeout=5)).data)[0]["new_tick_size"] == "0.01"
        await asyncio.to_thread(fake.push_market, {"event_type": "book", "asset_id": NO})
        assert await asyncio.to_thread(fake.drop_market_connections) == 1
        msg = await ws.receive(timeout=5)  # NO's frame was never sent: we only follow YES
        assert msg.type in (
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.ERROR,
        )


async def test_user_ws_rejects_unknown_key(fake: FakePolymarket) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(fake.ws_url + "/user") as ws:
        await ws.send_str(
            json.dumps({"auth": {"apiKey": "x", "secret": "y", "passphrase": "z"}, "type": "user"})
        )
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4001
