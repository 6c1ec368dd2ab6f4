"""``helix.testing.FakeBybit`` against the real ``pybit`` clients (loopback; no NATS/PostgreSQL)."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp
import pytest
import requests
import websocket
from pybit import unified_trading
from pybit.exceptions import FailedRequestError, InvalidRequestError

from helix.testing import FakeBybit

pytestmark = pytest.mark.integration

SYMBOLS = ("BTCUSDT", "ETHUSDT")
MINUTE = 60_000
TICK = {"BTCUSDT": Decimal("0.1"), "ETHUSDT": Decimal("0.01")}


@pytest.fixture
def fake() -> Iterator[FakeBybit]:
    with FakeBybit(symbols=SYMBOLS, seed=7) as f:
        yield f


@pytest.fixture
def http(fake: FakeBybit) -> Iterator[Any]:
    session = fake.pybit_http()
    try:
        yield session
    finally:
        session.client.close()


@contextmanager
def pybit_ws(fake: FakeBybit, **kwargs: Any) -> Iterator[Any]:
    """A pybit WebSocket on the fake; on exit it is closed and all of its threads are gone.

    ``exit()`` can leave websocket-client's reader thread in ``select`` for up to
    ``ping_timeout`` (pybit's default: 10 s) when the close handshake is read by the closing
    thread, hence the short ``ping_timeout``.
    """
    kwargs.setdefault("ping_timeout", 1)
    before = set(threading.enumerate())
    ws = fake.pybit_ws(**kwargs)
    try:
        yield ws
    finally:
        ws.exit()
        deadline = time.monotonic() + 5
        for t in set(threading.enumerate()) - before:
            t.join(max(0.0, deadline - time.monotonic()))
        leaked = [t for t in set(threading.enumerate()) - before if t.is_alive()]
        assert not leaked, leaked


@contextmanager
def raw_ws(fake: FakeBybit) -> Iterator[websocket.WebSocket]:
    conn = websocket.create_connection(fake.ws_url, timeout=5)
    try:
        yield conn
    finally:
        conn.close()


def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


class Collector:
    """A pybit callback that keeps every message."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames: list[dict[str, Any]] = []

    def __call__(self, message: dict[str, Any]) -> None:
        with self.lock:  # pybit hands tickers over as its live merged dict: copy it
            self.frames.append(copy.deepcopy(message))

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.frames)

    def trades(self, symbol: str | None = None) -> list[dict[str, Any]]:
        return [
            item
            for f in self.snapshot()
            if f["topic"].startswith("publicTrade.")
            for item in f["data"]
            if symbol is None or item["s"] == symbol
        ]

    def last_seq(self, symbol: str) -> int:
        items = self.trades(symbol)
        return items[-1]["seq"] if items else 0


def subscribe(conn: websocket.WebSocket, *topics: str, req_id: str = "r") -> dict[str, Any]:
    conn.send(json.dumps({"op": "subscribe", "req_id": req_id, "args": list(topics)}))
    reply: dict[str, Any] = json.loads(conn.recv())
    return reply


def served(fake: FakeBybit, symbol: str) -> list[tuple[str, str, str, str, int, int]]:
    return [
        (t.trade_id, t.price, t.size, t.side, t.ts_ms, t.seq)
        for t in fake.served_trades
        if t.symbol == symbol
    ]


# -- WebSocket through pybit -------------------------------------------------------------------


def test_trades_arrive_in_order_with_contiguous_seq(fake: FakeBybit) -> None:
    got = Collector()
    with pybit_ws(fake) as ws:
        ws.trade_stream(symbol=list(SYMBOLS), callback=got)
        fake.wait_subscribed(*(f"publicTrade.{s}" for s in SYMBOLS))
        fake.play(600, per_frame=3, interval_s=0.0005)
        fake.wait_served(600, timeout=5)
        wait_for(lambda: len(got.trades()) == 600)
    for frame in got.snapshot():
        assert frame["type"] == "snapshot"
        assert 1 <= len(frame["data"]) <= 3
        assert frame["ts"] >= max(item["T"] for item in frame["data"])
    for sym in SYMBOLS:
        items = got.trades(sym)
        assert [i["seq"] for i in items] == list(range(1, 301))
        assert [(i["i"], i["p"], i["v"], i["S"], i["T"], i["seq"]) for i in items] == served(
            fake, sym
        )
        times = [i["T"] for i in items]
        assert times == sorted(times)
        for i in items:
            assert Decimal(i["p"]) % TICK[sym] == 0
            assert Decimal(i["v"]) % Decimal("0.001") == 0
            assert Decimal(i["v"]) > 0
            assert i["S"] in ("Buy", "Sell")
            assert i["BT"] is False
    assert fake.stats.connections == 1
    assert fake.stats.subscriptions == 2


def test_ticker_snapshot_then_deltas_merged_by_pybit(fake: FakeBybit, http: Any) -> None:
    got = Collector()
    with pybit_ws(fake) as ws:
        ws.ticker_stream(symbol="BTCUSDT", callback=got)
        fake.wait_subscribed("tickers.BTCUSDT")
        wait_for(lambda: len(got.frames) == 1)
        fake.play(400)  # 200 BTCUSDT trades: a delta every 50
        fake.wait_idle(5)
        wait_for(lambda: len(got.frames) == 5)
    frames = got.snapshot()
    keys = set(frames[0]["data"])
    assert {"lastPrice", "markPrice", "indexPrice", "openInterest", "fundingRate"} <= keys
    assert {"nextFundingTime", "bid1Price", "ask1Price", "volume24h", "turnover24h"} <= keys
    assert all(f["type"] == "snapshot" and set(f["data"]) == keys for f in frames)
    assert len({f["data"]["markPrice"] for f in frames}) > 1
    assert [f["cs"] for f in frames] == sorted(f["cs"] for f in frames)
    rest = http.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    for key in ("lastPrice", "markPrice", "indexPrice", "openInterest", "fundingRate"):
        assert frames[-1]["data"][key] == rest[key]


def test_liquidations_and_closed_klines(fake: FakeBybit, http: Any) -> None:
    liq, kl = Collector(), Collector()
    with pybit_ws(fake) as ws:
        ws.all_liquidation_stream(symbol=list(SYMBOLS), callback=liq)
        ws.kline_stream(interval=1, symbol=list(SYMBOLS), callback=kl)
        fake.wait_subscribed(*(f"allLiquidation.{s}" for s in SYMBOLS))
        fake.wait_subscribed(*(f"kline.1.{s}" for s in SYMBOLS))
        fake.play(1600, per_frame=4)  # ~160 s of market time, 800 trades per symbol
        fake.wait_idle(5)
        wait_for(lambda: len(liq.frames) == 8 and len(kl.frames) >= 4)
    for sym in SYMBOLS:
        items = [
            i for f in liq.snapshot() if f["topic"] == f"allLiquidation.{sym}" for i in f["data"]
        ]
        assert len(items) == 4
        assert all(
            i["s"] == sym and i["S"] in ("Buy", "Sell") and Decimal(i["p"]) > 0 for i in items
        )
        bars = [b for f in kl.snapshot() if f["topic"] == f"kline.1.{sym}" for b in f["data"]]
        assert len(bars) >= 2
        for bar in bars:
            assert bar["confirm"] is True
            assert bar["interval"] == "1"
            assert bar["end"] == bar["start"] + MINUTE - 1
            trades = [t for t in fake.served_trades if t.symbol == sym]
            inside = [t for t in trades if bar["start"] <= t.ts_ms <= bar["end"]]
            prices = [Decimal(t.price) for t in inside]
            assert Decimal(bar["open"]) == prices[0]
            assert Decimal(bar["close"]) == prices[-1]
            assert Decimal(bar["high"]) == max(prices)
            assert Decimal(bar["low"]) == min(prices)
            assert Decimal(bar["volume"]) == sum(Decimal(t.size) for t in inside)
            row = http.get_kline(
                category="linear", symbol=sym, interval="1", start=bar["start"], limit=1
            )["result"]["list"][0]
            assert [Decimal(x) for x in row[1:6]] == [
                Decimal(bar[k]) for k in ("open", "high", "low", "close", "volume")
            ]


def test_drop_reconnects_resubscribes_and_rest_fills_the_gap(fake: FakeBybit, http: Any) -> None:
    got = Collector()
    with pybit_ws(fake) as ws:
        ws.trade_stream(symbol=list(SYMBOLS), callback=got)
        fake.wait_subscribed(*(f"publicTrade.{s}" for s in SYMBOLS))
        fake.drop_connections_after(40)
        fake.play(1500, interval_s=0.001)
        fake.wait_connections(2, timeout=5)
        fake.wait_idle(5)
        wait_for(lambda: all(got.last_seq(s) == 750 for s in SYMBOLS))
    assert fake.stats.connections == 2
    assert fake.stats.drops == 1
    assert fake.stats.subscriptions == 4  # pybit resubscribed both topics by itself
    missing_total = 0
    for sym in SYMBOLS:
        seqs = [i["seq"] for i in got.trades(sym)]
        assert seqs == sorted(set(seqs))
        missing = set(range(1, 751)) - set(seqs)
        missing_total += len(missing)
        rest = http.get_public_trade_history(category="linear", symbol=sym, limit=1000)
        rest_seqs = {int(i["seq"]) for i in rest["result"]["list"]}
        assert missing <= rest_seqs
        assert set(seqs) | rest_seqs == set(range(1, 751))
    assert missing_total > 0  # trades kept being generated while nobody was subscribed


def test_withheld_trades_leave_a_gap_rest_fills(fake: FakeBybit, http: Any) -> None:
    got = Collector()
    with pybit_ws(fake) as ws:
        ws.trade_stream(symbol=list(SYMBOLS), callback=got)
        fake.wait_subscribed(*(f"publicTrade.{s}" for s in SYMBOLS))
        fake.play(100)
        fake.wait_idle(5)
        fake.withhold_next(10)
        fake.play(100)
        fake.wait_idle(5)
        wait_for(lambda: len(got.trades()) == 190)
    assert fake.stats.trades_withheld == 10
    for sym in SYMBOLS:
        seqs = [i["seq"] for i in got.trades(sym)]
        assert set(range(1, 101)) - set(seqs) == set(range(51, 56))
        reply = http.get_public_trade_history(category="linear", symbol=sym, limit=1000)
        assert reply["retCode"] == 0
        assert reply["result"]["category"] == "linear"
        items = reply["result"]["list"]
        assert [int(i["seq"]) for i in items] == list(range(100, 0, -1))  # newest first
        assert [
            (i["execId"], i["price"], i["size"], i["side"], int(i["time"]), int(i["seq"]))
            for i in reversed(items)
        ] == served(fake, sym)
        assert all(i["symbol"] == sym and i["isBlockTrade"] is False for i in items)
        assert "isRPITrade" in items[0]
    limited = http.get_public_trade_history(category="linear", symbol="BTCUSDT", limit=7)
    assert [int(i["seq"]) for i in limited["result"]["list"]] == list(range(100, 93, -1))


def test_pybit_keepalive_gets_pongs(fake: FakeBybit) -> None:
    # websocket-client sends a protocol ping every second; on the pong pybit sends {"op":"ping"}
    with pybit_ws(fake, ping_interval=1, ping_timeout=0.5):
        wait_for(lambda: fake.stats.pings >= 1, timeout=4)
    assert fake.stats.connections == 1  # answered, so no reconnect


def test_patch_pybit_restores_the_url(fake: FakeBybit) -> None:
    saved = unified_trading.PUBLIC_WSS
    with fake.patch_pybit():
        assert unified_trading.PUBLIC_WSS.startswith(f"ws://127.0.0.1:{fake.port}/v5/public/")
        assert unified_trading.PUBLIC_WSS.format(CHANNEL_TYPE="linear") == fake.ws_url
    assert saved == unified_trading.PUBLIC_WSS


# -- WebSocket wire details (raw client) -------------------------------------------------------


def test_control_messages_on_the_wire(fake: FakeBybit) -> None:
    with raw_ws(fake) as conn:
        reply = subscribe(conn, "publicTrade.BTCUSDT", "tickers.BTCUSDT", req_id="abc")
        assert reply["success"] is True
        assert reply["ret_msg"] == ""
        assert reply["req_id"] == "abc"
        assert reply["op"] == "subscribe"
        assert reply["conn_id"]
        snapshot = json.loads(conn.recv())
        assert snapshot["topic"] == "tickers.BTCUSDT"
        assert snapshot["type"] == "snapshot"
        assert snapshot["data"]["symbol"] == "BTCUSDT"
        assert "cs" in snapshot

        conn.send(json.dumps({"op": "ping", "req_id": "p1"}))
        pong = json.loads(conn.recv())
        assert pong == {
            "success": True,
            "ret_msg": "pong",
            "conn_id": reply["conn_id"],
            "req_id": "p1",
            "op": "ping",
        }
        conn.send(json.dumps({"op": "ping"}))
        assert json.loads(conn.recv())["req_id"] == ""

        assert subscribe(conn, "publicTrade.BTCUSDT")["success"] is False  # already subscribed
        assert subscribe(conn, "publicTrade.NOPEUSDT")["success"] is False
        assert subscribe(conn, "orderbook.50.BTCUSDT")["success"] is False

        fake.play(100)  # 50 BTCUSDT trades: one ticker delta after the 50th
        fake.wait_idle(5)
        frames = [json.loads(conn.recv()) for _ in range(51)]
        assert [f["topic"] for f in frames] == ["publicTrade.BTCUSDT"] * 50 + ["tickers.BTCUSDT"]
        delta = frames[-1]
        assert delta["type"] == "delta"
        assert delta["cs"] > snapshot["cs"]
        assert {"markPrice", "indexPrice", "openInterest", "fundingRate"} <= set(delta["data"])
        assert set(delta["data"]) < set(snapshot["data"])

        conn.send(json.dumps({"op": "unsubscribe", "req_id": "u1", "args": ["tickers.BTCUSDT"]}))
        unsub = json.loads(conn.recv())
        assert unsub["success"] is True
        assert unsub["op"] == "unsubscribe"
        assert unsub["req_id"] == "u1"
        assert fake.subscribed_topics() == {"publicTrade.BTCUSDT"}


def test_garbage_frames_are_interleaved_with_data(fake: FakeBybit) -> None:
    with raw_ws(fake) as conn:
        assert subscribe(conn, "publicTrade.BTCUSDT")["success"] is True
        fake.send_garbage(3)
        fake.play(20)
        fake.wait_idle(5)
        kinds: list[str] = []
        good: list[int] = []
        while len(good) < 10:
            text = conn.recv()
            try:
                frame = json.loads(text)
            except ValueError:
                kinds.append("not json")
                continue
            if "topic" not in frame or "data" not in frame:
                kinds.append("no topic")
                continue
            for item in frame["data"]:
                try:
                    Decimal(item["p"])
                except InvalidOperation:
                    kinds.append("bad price")
                else:
                    good.append(item["seq"])
    assert kinds == ["not json", "no topic", "bad price"]
    assert good == list(range(1, 11))
    assert fake.stats.garbage_sent == 3


def test_fast_mode_throughput() -> None:
    n = 100_000
    seqs: dict[str, list[int]] = {s: [] for s in SYMBOLS}
    done: list[float] = []
    ready = threading.Event()

    async def consume(url: str) -> None:
        args = [f"publicTrade.{s}" for s in SYMBOLS]
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.send_str(json.dumps({"op": "subscribe", "req_id": "b", "args": args}))
            ready.set()
            total = 0
            async for msg in ws:
                frame = json.loads(msg.data)
                if frame.get("topic", "").startswith("publicTrade."):
                    for item in frame["data"]:
                        seqs[item["s"]].append(item["seq"])
                    total += len(frame["data"])
                    if total >= n:
                        done.append(time.perf_counter())
                        return

    with FakeBybit(symbols=SYMBOLS, seed=1) as fake:
        thread = threading.Thread(target=asyncio.run, args=(consume(fake.ws_url),))
        thread.start()
        try:
            assert ready.wait(5)
            fake.wait_subscribed(*(f"publicTrade.{s}" for s in SYMBOLS))
            start = time.perf_counter()
            fake.play(n, per_frame=200)
            fake.wait_served(n, timeout=10)
        finally:
            thread.join(10)
    assert done, "consumer did not get every trade"
    rate = n / (done[0] - start)
    assert all(seqs[s] == list(range(1, n // 2 + 1)) for s in SYMBOLS)
    assert fake.stats.frames_sent >= n // 200
    assert rate > 30_000, f"{rate:,.0f} trades/s"  # ~150-250k/s on a developer machine


# -- REST through pybit ------------------------------------------------------------------------


def test_rate_limit_is_retried_by_pybit(fake: FakeBybit) -> None:
    session = fake.pybit_http(max_retries=3)
    try:
        fake.rate_limit_next(2)
        start = time.monotonic()
        reply = session.get_tickers(category="linear", symbol="BTCUSDT")
        assert reply["retCode"] == 0
        assert time.monotonic() - start >= 0.3  # slept until the reset timestamp twice
        assert fake.stats.rate_limited == 2
        assert fake.stats.rest_calls == 3
        fake.rate_limit_next(3)
        with pytest.raises(FailedRequestError):
            session.get_tickers(category="linear", symbol="BTCUSDT")
        assert fake.stats.rate_limited == 5
    finally:
        session.client.close()
    fake.rate_limit_next(1)
    raw = requests.get(f"{fake.url}/v5/market/time", timeout=5)
    assert raw.json()["retCode"] == 10006
    assert raw.headers["X-Bapi-Limit-Status"] == "0"
    reset = int(raw.headers["X-Bapi-Limit-Reset-Timestamp"])
    assert 0 < reset - time.time() * 1000 <= 250
    ok = requests.get(f"{fake.url}/v5/market/time", timeout=5)
    assert ok.json()["retCode"] == 0
    assert int(ok.headers["X-Bapi-Limit-Status"]) > 0
    assert int(ok.headers["X-Bapi-Limit"]) > 0


def test_kline_paging(fake: FakeBybit, http: Any) -> None:
    latest = http.get_kline(category="linear", symbol="BTCUSDT", interval="1", limit=1000)
    rows = latest["result"]["list"]
    assert latest["result"]["symbol"] == "BTCUSDT"
    assert len(rows) == 1000
    starts = [int(r[0]) for r in rows]
    assert starts == list(range(starts[0], starts[0] - 1000 * MINUTE, -MINUTE))  # newest first
    assert starts[0] == fake.market.now_ms // MINUTE * MINUTE  # the open bar is included
    older = http.get_kline(
        category="linear", symbol="BTCUSDT", interval="1", end=starts[-1] - 1, limit=1000
    )["result"]["list"]
    assert int(older[0][0]) == starts[-1] - MINUTE
    window_start = starts[-1]
    window = http.get_kline(
        category="linear", symbol="BTCUSDT", interval="1",
        start=window_start, end=window_start + 1000 * MINUTE - 1, limit=1000,
    )["result"]["list"]  # fmt: skip
    assert [r[0] for r in window] == [r[0] for r in rows]
    assert all(Decimal(r[3]) <= min(Decimal(r[1]), Decimal(r[4])) for r in rows)
    assert all(Decimal(r[2]) >= max(Decimal(r[1]), Decimal(r[4])) for r in rows)
    hour = http.get_kline(
        category="linear", symbol="BTCUSDT", interval="60", start=window_start, limit=2
    )["result"]["list"]
    first_hour = -(-window_start // (60 * MINUTE)) * 60 * MINUTE
    assert [int(r[0]) for r in hour] == [first_hour + 60 * MINUTE, first_hour]
    minutes = http.get_kline(
        category="linear", symbol="BTCUSDT", interval="1",
        start=first_hour, end=first_hour + 59 * MINUTE, limit=1000,
    )["result"]["list"]  # fmt: skip
    assert len(minutes) == 60
    assert Decimal(hour[1][2]) == max(Decimal(r[2]) for r in minutes)
    assert Decimal(hour[1][3]) == min(Decimal(r[3]) for r in minutes)
    assert Decimal(hour[1][5]) == sum(Decimal(r[5]) for r in minutes)
    assert hour[1][1] == minutes[-1][1]
    assert hour[1][4] == minutes[0][4]
    with pytest.raises(InvalidRequestError):
        http.get_kline(category="linear", symbol="NOPEUSDT", interval="1")


def test_open_interest_cursor_paging(fake: FakeBybit, http: Any) -> None:
    end = fake.market.now_ms
    start = end - 2 * 1440 * MINUTE
    items: list[dict[str, str]] = []
    cursor = ""
    pages = 0
    while True:
        params: dict[str, Any] = {
            "category": "linear", "symbol": "ETHUSDT", "intervalTime": "5min",
            "startTime": start, "endTime": end, "limit": 200,
        }  # fmt: skip
        if cursor:
            params["cursor"] = cursor
        result = http.get_open_interest(**params)["result"]
        items += result["list"]
        pages += 1
        cursor = result["nextPageCursor"]
        if not cursor:
            break
    assert pages == 3  # 577 points
    stamps = [int(i["timestamp"]) for i in items]
    assert stamps == list(range(end, start - 1, -5 * MINUTE))
    assert all(Decimal(i["openInterest"]) == 2 * Decimal(i["singleOpenInterest"]) for i in items)
    hourly = http.get_open_interest(category="linear", symbol="ETHUSDT", intervalTime="1h")
    hourly = hourly["result"]["list"]
    assert len(hourly) == 50  # default limit (3 days of history: 73 points)
    by_ts = {i["timestamp"]: i["openInterest"] for i in items}
    assert all(int(h["timestamp"]) % (60 * MINUTE) == 0 for h in hourly)
    same = [h for h in hourly if h["timestamp"] in by_ts]
    assert len(same) == 49
    assert all(by_ts[h["timestamp"]] == h["openInterest"] for h in same)


def test_funding_history_paging(fake: FakeBybit, http: Any) -> None:
    every = 8 * 60 * MINUTE
    full = http.get_funding_rate_history(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert len(full) == 3 * 3 + 1  # three days of 00/08/16 UTC settlements, up to start_ms
    stamps = [int(i["fundingRateTimestamp"]) for i in full]
    assert stamps == sorted(stamps, reverse=True)
    assert all(t % every == 0 for t in stamps)
    assert all(i["symbol"] == "BTCUSDT" and Decimal(i["fundingRate"]) for i in full)
    paged: list[dict[str, str]] = []
    end = fake.market.now_ms
    while True:
        page = http.get_funding_rate_history(
            category="linear", symbol="BTCUSDT", endTime=end, limit=3
        )["result"]["list"]
        paged += page
        if len(page) < 3:
            break
        end = int(page[-1]["fundingRateTimestamp"]) - 1
    assert paged == full
    window = http.get_funding_rate_history(
        category="linear", symbol="BTCUSDT", startTime=stamps[3], endTime=stamps[1]
    )["result"]["list"]
    assert window == full[1:4]
    with pytest.raises(InvalidRequestError):
        http.get_funding_rate_history(category="linear", symbol="BTCUSDT", startTime=stamps[3])


def test_instruments_info_paging_and_filters(http: Any) -> None:
    default = http.get_instruments_info(category="linear")["result"]
    assert default["nextPageCursor"] == ""
    listed = default["list"]
    assert all(i["status"] == "Trading" for i in listed)
    symbols = [i["symbol"] for i in listed]
    assert set(SYMBOLS) <= set(symbols)
    assert "HLXUSDT" not in symbols
    usdc = [i for i in listed if i["settleCoin"] == "USDC"]
    assert [i["symbol"] for i in usdc] == ["BTCPERP"]
    btc = next(i for i in listed if i["symbol"] == "BTCUSDT")
    assert btc["priceFilter"]["tickSize"] == "0.10"
    assert btc["lotSizeFilter"]["qtyStep"] == "0.001"
    assert btc["contractType"] == "LinearPerpetual"
    assert btc["quoteCoin"] == "USDT"
    paged: list[dict[str, Any]] = []
    cursor = ""
    while True:
        params: dict[str, Any] = {"category": "linear", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        result = http.get_instruments_info(**params)["result"]
        assert len(result["list"]) <= 2
        paged += result["list"]
        cursor = result["nextPageCursor"]
        if not cursor:
            break
    assert paged == listed
    pre = http.get_instruments_info(category="linear", status="PreLaunch")["result"]["list"]
    assert [(i["symbol"], i["status"], i["isPreListing"]) for i in pre] == [
        ("HLXUSDT", "PreLaunch", True)
    ]
    eth = http.get_instruments_info(category="linear", symbol="ETHUSDT")["result"]["list"]
    assert [i["symbol"] for i in eth] == ["ETHUSDT"]


# -- the market itself -------------------------------------------------------------------------


def test_market_is_deterministic_per_seed_and_runs_without_subscribers() -> None:
    runs: list[list[tuple[str, str, str, str, int, int]]] = []
    klines: list[Any] = []
    for seed in (3, 3, 4):
        with FakeBybit(symbols=SYMBOLS, seed=seed) as fake:
            fake.play(300, per_frame=7)
            fake.wait_served(300, timeout=5)
            fake.wait_idle(5)
            runs.append(served(fake, "BTCUSDT") + served(fake, "ETHUSDT"))
            query: dict[str, str | int] = {
                "category": "linear", "symbol": "ETHUSDT", "interval": "1", "limit": 5,
            }  # fmt: skip
            reply = requests.get(f"{fake.url}/v5/market/kline", params=query, timeout=5).json()
            klines.append(reply["result"]["list"])
            assert fake.stats.frames_sent == 0
            assert len(fake.served_trades) == 300
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert klines[0] == klines[1]
    assert klines[0] != klines[2]
    btc = [t for t in runs[0] if t[0].startswith(runs[0][0][0][:8])]
    assert [seq for *_, seq in btc] == list(range(1, len(btc) + 1))
