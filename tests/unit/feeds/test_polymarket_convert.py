"""Polymarket wire payloads -> Helix events: real samples (skipped when absent) + edge cases."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from events.market import Trade
from events.poly import PolyBook, PolyMarket, PolyResolved, PolyTrade, poly_event_id
from helix.feeds.polymarket.convert import (
    MakerFill,
    Malformed,
    MarketFrames,
    OwnTradeRow,
    UserOrderUpdate,
    book_from_snapshot,
    holders_from_data_api,
    market_from_gamma,
    own_trade_from_row,
    position_from_data_api,
    resolution_of,
    trade_from_data_api,
    user_items,
)

SAMPLES = Path(__file__).resolve().parents[4] / "shared/data/nautilus-polymarket/crates_test_data"
NOW = 1_800_000_000_000_000_000
D = Decimal


def sample(name: str) -> Any:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {name} absent")
    return json.loads(path.read_text())


def gamma(**extra: Any) -> dict[str, Any]:
    return {
        "id": "7",
        "question": "Q?",
        "conditionId": "0xc1",
        "outcomes": '["Yes", "No"]',
        "outcomePrices": '["0.62", "0.38"]',
        "clobTokenIds": '["11", "22"]',
        "endDate": "2026-06-30T12:00:00Z",
        "active": True,
        "closed": False,
        **extra,
    }


# -- Gamma -----------------------------------------------------------------------------------------


def test_real_gamma_market_sample() -> None:
    m = market_from_gamma(sample("gamma_market.json"), now_ns=NOW)
    assert isinstance(m, PolyMarket)
    assert m.condition_id == "0x78443f961b9a65869dcb39359de9960165c7e5cbad0904eac7f29cd77872a63b"
    assert m.outcomes == ("Up", "Down")
    assert m.prices == (D("0.505"), D("0.495"))
    assert m.token_ids[0].startswith("1042398980388071360523")
    assert m.end_ts == 1_773_307_500 * 10**9  # 2026-03-12T09:25:00Z
    assert m.tick_size == D("0.01")
    assert m.min_size == D(5)
    assert m.event_slug == "btc-updown-5m-1773307200"
    assert m.event_id == poly_event_id("market", m.symbol, m.natural_key)
    assert resolution_of(m, now_ns=NOW) is None  # still trading


@pytest.mark.parametrize(
    ("name", "winner", "payouts"),
    [
        ("gamma_market_closed_binary_accepting_true.json", "Yes", (D(1), D(0))),
        ("gamma_market_closed_binary_accepting_false.json", "No", (D(0), D(1))),
        ("gamma_market_sports_market_money_line.json", "FaZe", (D(1), D(0))),
        ("gamma_market_closed_zero_zero_legacy.json", None, None),
        ("gamma_market_closed_nonbinary_legacy.json", None, None),
    ],
)
def test_real_closed_markets_resolve_only_on_1_0(
    name: str, winner: str | None, payouts: tuple[Decimal, ...] | None
) -> None:
    m = market_from_gamma(sample(name), now_ns=NOW)
    assert isinstance(m, PolyMarket)
    assert m.closed
    r = resolution_of(m, now_ns=NOW)
    if winner is None:
        assert r is None
    else:
        assert isinstance(r, PolyResolved)
        assert (r.winner, r.payouts, r.origin) == (winner, payouts, "gamma")
        assert r.token_ids == m.token_ids


def test_gamma_same_content_same_id_changed_price_new_id() -> None:
    a = market_from_gamma(gamma(), now_ns=NOW)
    b = market_from_gamma(gamma(), now_ns=NOW + 5)
    c = market_from_gamma(gamma(outcomePrices='["0.7", "0.3"]'), now_ns=NOW)
    assert isinstance(a, PolyMarket)
    assert isinstance(b, PolyMarket)
    assert isinstance(c, PolyMarket)
    assert a.event_id == b.event_id != c.event_id


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (gamma(clobTokenIds="[oops"), "clobTokenIds is not JSON"),
        (gamma(outcomes='["Yes"]'), "differ in length"),
        (gamma(outcomePrices='["x", "0.4"]'), "not a number"),
        (gamma(outcomePrices='["NaN", "0.4"]'), "not finite"),
        (gamma(endDate="tomorrow"), "Invalid isoformat"),
        ({k: v for k, v in gamma().items() if k != "conditionId"}, "missing conditionId"),
        ([1, 2], "expected an object"),
    ],
)
def test_gamma_malformed(raw: Any, reason: str) -> None:
    m = market_from_gamma(raw, now_ns=NOW)
    assert isinstance(m, Malformed)
    assert reason in m.reason
    assert m.source == "polymarket:gamma:market"


# -- Data API --------------------------------------------------------------------------------------


def test_real_data_api_trades() -> None:
    rows = sample("data_api_trades_response.json")
    trades = [trade_from_data_api(r, now_ns=NOW) for r in rows]
    assert all(isinstance(t, PolyTrade) for t in trades)
    first = trades[0]
    assert isinstance(first, PolyTrade)
    assert (first.side, first.size, first.price) == ("buy", D(100), D("0.55"))
    assert first.ts_event == 1_710_000_000 * 10**9
    assert first.wallet == "0x1111111111111111111111111111111111111111"
    tx = rows[0]["transactionHash"]
    assert first.trade_key == f"{tx}:{rows[0]['asset']}:buy:100:0.55"
    assert first.event_id == poly_event_id("wtrade", first.condition_id, first.trade_key)


def test_data_api_trade_digest_key_wallet_case_and_v2_names() -> None:
    row = {
        "proxy_wallet": "0xABCDEF",
        "side": "SELL",
        "token_id": "9",
        "condition_id": "0xc1",
        "size": "3",
        "price": "0.25",
        "timestamp": "2024-01-01T00:00:00Z",
        "outcome": "No",
    }
    t = trade_from_data_api(row, now_ns=NOW)
    assert isinstance(t, PolyTrade)
    assert (t.wallet, t.side, t.token_id, t.tx_hash) == ("0xabcdef", "sell", "9", "")
    assert len(t.trade_key) == 40  # sha1 of the row
    assert t.ts_event == 1_704_067_200 * 10**9
    again = trade_from_data_api(dict(reversed(list(row.items()))), now_ns=NOW + 1)
    assert isinstance(again, PolyTrade)
    assert again.event_id == t.event_id


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"side": "HOLD"}, "bad side"),
        ({"price": "1.5"}, "out of range"),
        ({"size": "abc"}, "not a number"),
        ({"size": True}, "not a number"),
        ({"timestamp": None}, "bad timestamp"),
        ({"proxyWallet": None}, "missing proxyWallet"),
        ({"type": "REDEEM"}, "not a trade"),
    ],
)
def test_data_api_trade_malformed(patch: dict[str, Any], reason: str) -> None:
    row = {
        "proxyWallet": "0x1",
        "side": "BUY",
        "asset": "1",
        "conditionId": "0xc1",
        "size": 1,
        "price": 0.5,
        "timestamp": 1,
        **patch,
    }
    t = trade_from_data_api(row, now_ns=NOW)
    assert isinstance(t, Malformed)
    assert reason in t.reason


def test_positions_and_holders() -> None:
    pos = position_from_data_api(sample("data_api_positions_response.json")[0])
    assert not isinstance(pos, Malformed)
    assert (pos.size, pos.avg_price, pos.outcome) == (D("150.5"), D("0.55"), "Yes")
    assert isinstance(position_from_data_api({"size": 1}), Malformed)
    rows = holders_from_data_api(
        [{"token": "1", "holders": [{"proxyWallet": "0xA", "amount": 5, "outcomeIndex": 0}, {}]}]
    )
    assert not isinstance(rows[0], Malformed)
    assert (rows[0].wallet, rows[0].amount, rows[0].outcome_index) == ("0xa", D(5), 0)
    assert isinstance(rows[1], Malformed)


# -- CLOB books and market channel -----------------------------------------------------------------


def test_real_rest_book_depth_within_two_cents() -> None:
    book = book_from_snapshot(sample("clob_book_response.json"), now_ns=NOW)
    assert isinstance(book, PolyBook)
    assert (book.best_bid, book.best_ask, book.mid) == (D("0.50"), D("0.51"), D("0.505"))
    # bids within [0.485, ...]: 0.50×150 + 0.49×200; asks within [..., 0.525]: 0.51×120 + 0.52×180
    assert book.bid_depth == D("0.50") * 150 + D("0.49") * 200
    assert book.ask_depth == D("0.51") * 120 + D("0.52") * 180
    assert book.book_hash == "0xabc123"
    assert book.ts_event == 1_703_875_200_000 * 10**6


def test_real_ws_frames_in_order() -> None:
    frames = MarketFrames()
    [book] = frames.apply(sample("ws_market_book_msg.json"), now_ns=NOW)
    assert isinstance(book, PolyBook)
    assert (book.best_bid, book.best_ask) == (D("0.50"), D("0.51"))
    [moved] = frames.apply(sample("ws_market_price_change_msg.json"), now_ns=NOW)
    assert isinstance(moved, PolyBook)
    assert moved.best_bid == D("0.51")
    assert moved.book_hash == "0xhash001"
    [trade] = frames.apply(sample("ws_market_last_trade_msg.json"), now_ns=NOW)
    assert isinstance(trade, Trade)
    assert (trade.venue, trade.price, trade.qty, trade.side) == (
        "polymarket",
        D("0.51"),
        D(25),
        "buy",
    )
    assert len(trade.trade_id) == 40  # no transaction hash in the sample: a digest
    [tick] = frames.apply(sample("ws_market_tick_size_msg.json"), now_ns=NOW)
    assert isinstance(tick, PolyBook)
    assert tick.tick_size == D("0.01")
    [res] = frames.apply(sample("ws_market_resolved_msg.json"), now_ns=NOW)
    assert isinstance(res, PolyResolved)
    assert (res.winner, res.outcomes, res.payouts, res.origin) == (
        "Yes",
        ("Yes", "No"),
        (D(1), D(0)),
        "clob",
    )
    assert frames.apply(sample("ws_market_best_bid_ask_msg.json"), now_ns=NOW) == []
    assert frames.apply(sample("ws_market_new_market_msg.json"), now_ns=NOW) == []


def test_array_frames_removal_and_garbage() -> None:
    frames = MarketFrames()
    text = json.dumps(
        [
            {
                "event_type": "book",
                "asset_id": "1",
                "market": "0xc",
                "bids": [{"price": "0.4", "size": "10"}],
                "asks": [{"price": "0.6", "size": "10"}],
                "timestamp": "1000",
            },
            {
                "event_type": "price_change",
                "market": "0xc",
                "timestamp": "1001",
                "price_changes": [{"asset_id": "1", "price": "0.4", "size": "0", "side": "BUY"}],
            },
            {"event_type": "last_trade_price", "asset_id": "1", "price": "x", "size": "1"},
            {"no": "type"},
            {"event_type": "something_new"},
        ]
    )
    book, emptied, bad_price, no_type = frames.decode(text, now_ns=NOW)
    assert isinstance(book, PolyBook)
    assert book.mid == D("0.5")
    assert isinstance(emptied, PolyBook)
    assert emptied.best_bid is None
    assert emptied.mid is None
    assert isinstance(bad_price, Malformed)
    assert "not a number" in bad_price.reason
    assert isinstance(no_type, Malformed)
    assert no_type.reason == "missing event_type"
    [garbage] = frames.decode("{nope", now_ns=NOW)
    assert isinstance(garbage, Malformed)
    assert garbage.raw == "{nope"
    bad_change = {
        "event_type": "price_change",
        "price_changes": [
            {"asset_id": "1", "price": "0.45", "size": "5", "side": "BUY"},
            {"asset_id": "1", "price": "0.46", "size": "5", "side": "MAYBE"},
        ],
    }
    [m] = frames.apply(bad_change, now_ns=NOW)
    assert isinstance(m, Malformed)
    assert D("0.45") not in frames.books["1"].bids  # nothing applied from a bad frame


def test_user_channel_samples() -> None:
    order = sample("ws_user_order_msg.json")
    trade = sample("ws_user_trade_msg.json")
    items = user_items(json.dumps([order, trade, {"event_type": "x"}]), now_ns=NOW)
    o, t, bad = items
    assert isinstance(o, UserOrderUpdate)
    assert (o.status, o.side, o.original_size) == ("LIVE", "buy", D(100))
    assert o.ts == int(order["timestamp"]) * 10**6
    assert isinstance(t, OwnTradeRow)
    assert (t.trade_id, t.size, t.status) == ("trade-0xabcdef1234", D(25), "CONFIRMED")
    assert t.match_ts == 1_704_067_200 * 10**9
    assert isinstance(bad, Malformed)


def test_real_trade_report_keeps_each_maker_orders_amount_and_price() -> None:
    row = own_trade_from_row(sample("http_trade_report.json"))
    assert isinstance(row, OwnTradeRow)
    assert (row.size, row.trader_side) == (D(25), "TAKER")
    first, second = row.maker_orders
    assert row.maker_order_ids == (first.order_id, second.order_id)
    assert first == MakerFill(
        order_id=first.order_id, matched_amount=D(25), price=D("0.5"),
        owner="00000000-0000-0000-0000-000000000002",
        token_id=row.token_id, side="SELL", outcome="Yes",
        maker_address="0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    )  # fmt: skip
    assert (second.matched_amount, second.fee_rate_bps) == (D(5), D(10))


def test_maker_order_without_matched_amount_is_malformed() -> None:
    trade: dict[str, Any] = {"id": "t", "asset_id": "1", "side": "BUY", "size": "10",
                             "price": "0.5", "status": "MATCHED",
                             "maker_orders": [{"order_id": "0xm", "price": "0.5"}]}  # fmt: skip
    bad = own_trade_from_row(trade)
    assert isinstance(bad, Malformed)
    assert "matched_amount" in bad.reason
    trade["maker_orders"] = [{"order_id": "0xm", "price": "0.5", "matched_amount": "4"}]
    good = own_trade_from_row(trade)
    assert isinstance(good, OwnTradeRow)
    assert good.maker_orders == (MakerFill(order_id="0xm", matched_amount=D(4), price=D("0.5")),)
