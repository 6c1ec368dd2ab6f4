"""The Polymarket read models' folds (pure): quant.md TV-7 through the wallets fold, pre-news
at resolution, markets/tokens, clusters, our positions and the hybrid ROI definitions."""

from __future__ import annotations

import uuid
from decimal import Decimal as D
from typing import Any

import pytest

from events.base import Event
from events.market import Trade
from events.poly import (
    ClusterSynced,
    PolyBook,
    PolyMarket,
    PolyResolved,
    PolyTrade,
    poly_event_id,
)
from events.trading import FillBooked, FundingBooked
from projections.base import Batch, ns_to_dt
from projections.hybrid_roi import added_qty, fold_roi
from projections.poly_markets import fold_markets
from projections.poly_positions import fold_poly_positions, poly_fills
from projections.wallet_clusters import fold_clusters
from projections.wallets import WalletState, fold_wallets, wallet_row, yes_series

T0 = 1_735_689_600_000_000_000  # 2025-01-01 UTC
H = 3_600_000_000_000
_N = iter(range(1, 10**9))


def env(ts: int, vertical: str = "poly") -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "ts_event": ts,
        "ts_recorded": ts + 1,
        "source": "test",
        "vertical": vertical,
    }


def tokens_of(cid: str, outcomes: tuple[str, ...] = ("Yes", "No")) -> tuple[str, ...]:
    return tuple(f"{cid}t{i}" for i in range(len(outcomes)))


def market(
    cid: str,
    ts: int = T0,
    *,
    question: str = "",
    outcomes: tuple[str, ...] = ("Yes", "No"),
    active: bool = True,
    end_ts: int | None = None,
    prices: tuple[D, ...] = (),
) -> PolyMarket:
    return PolyMarket(
        **env(ts),
        symbol=cid,
        condition_id=cid,
        question=question or f"Q {cid}?",
        outcomes=outcomes,
        token_ids=tokens_of(cid, outcomes),
        prices=prices,
        active=active,
        closed=not active,
        end_ts=end_ts,
        volume=D(1000),
    )


def wtrade(
    wallet: str,
    cid: str,
    outcome: str,
    side: str,
    size: str,
    price: str,
    ts: int,
    *,
    token: str = "",
) -> PolyTrade:
    key = f"k{next(_N)}"
    return PolyTrade(
        **{**env(ts), "event_id": poly_event_id("wtrade", cid, key)},
        symbol=cid,
        condition_id=cid,
        token_id=token,
        outcome=outcome,
        wallet=wallet,
        side=side,  # type: ignore[arg-type]
        size=D(size),
        price=D(price),
        trade_key=key,
    )


def resolved(
    cid: str, winner: str, ts: int, outcomes: tuple[str, ...] = ("Yes", "No")
) -> PolyResolved:
    payouts = tuple(D(1) if o == winner else D(0) for o in outcomes)
    return PolyResolved(
        **env(ts),
        symbol=cid,
        condition_id=cid,
        outcomes=outcomes,
        token_ids=tokens_of(cid, outcomes),
        payouts=payouts,
        winner=winner,
        origin="manual",
    )


def book(token: str, cid: str, mid: str | None, ts: int) -> PolyBook:
    m = None if mid is None else D(mid)
    bid = None if m is None else m - D("0.01")
    ask = None if m is None else m + D("0.01")
    return PolyBook(
        **env(ts),
        symbol=token,
        condition_id=cid,
        best_bid=bid,
        best_ask=ask,
        mid=m,
        bid_depth=D(100),
        ask_depth=D(120),
    )


def clob_trade(token: str, price: str, ts: int) -> Trade:
    return Trade(
        **env(ts),
        venue="polymarket",
        symbol=token,
        trade_id=f"c{next(_N)}",
        price=D(price),
        qty=D(10),
        side="buy",
    )


def tv7_events() -> list[Event]:
    """quant.md TV-7 for wallet ``0xw``: A (realised 85), B (−60), C (open, mid 0.35)."""
    w = "0xw"
    return [
        wtrade(w, "A", "Yes", "buy", "100", "0.40", T0),
        wtrade(w, "A", "Yes", "buy", "100", "0.60", T0 + H),
        wtrade(w, "A", "Yes", "sell", "50", "0.70", T0 + 2 * H),
        wtrade(w, "B", "Yes", "buy", "200", "0.30", T0 + 3 * H),
        wtrade(w, "C", "Yes", "buy", "100", "0.20", T0 + 4 * H, token="Ct0"),
        resolved("A", "Yes", T0 + 5 * H),
        resolved("B", "No", T0 + 6 * H),
        book("Ct0", "C", "0.35", T0 + 7 * H),
    ]


def prenews_events() -> list[Event]:
    """Market D: YES mid flat at 0.30 then up to 0.55 within 24h; ``0xp`` bought $600 of YES
    before the move (a pre-news entry), ``0xq`` bought after it."""
    out: list[Event] = [market("D")]
    out.append(wtrade("0xp", "D", "Yes", "buy", "2000", "0.30", T0 + H // 2))
    for h in range(12):
        out.append(book("Dt0", "D", "0.55" if h == 11 else "0.30", T0 + h * H + 60))
    out.append(wtrade("0xq", "D", "Yes", "buy", "2000", "0.55", T0 + 12 * H))
    out.append(resolved("D", "Yes", T0 + 30 * H))
    return out


def numbered(events: list[Event]) -> Batch:
    return list(enumerate(events, start=1))


def test_tv7_through_the_wallets_fold() -> None:
    state = fold_wallets(WalletState(), numbered(tv7_events()))
    assert state.touched == {"0xw"}
    holdings = {(c, o): h for (w, c, o), h in state.holdings.items() if w == "0xw"}
    marks = {k: m.price for k, m in state.marks.items() if m.price is not None}
    row = wallet_row("0xw", holdings, marks)  # type: ignore[arg-type]
    assert (row.realized_pnl, row.unrealized_pnl, row.cost) == (D(25), D(15), D(180))
    assert row.roi == pytest.approx(0.222222, abs=1e-6)
    assert row.win_rate == 0.5
    assert (row.n_markets, row.n_resolved, row.trades) == (3, 2, 5)
    assert row.brier == pytest.approx((0.25 + 0.09) / 2)
    assert row.volume == D(40) + D(60) + D(35) + D(60) + D(20)
    assert row.first_trade_ts == ns_to_dt(T0)
    assert row.last_trade_ts == ns_to_dt(T0 + 4 * H)


def test_the_mark_is_the_mid_else_the_last_trade_and_a_one_sided_book_falls_back() -> None:
    events: list[Event] = [
        market("C"),
        wtrade("0xw", "C", "Yes", "buy", "100", "0.20", T0),
        wtrade("0xo", "C", "Yes", "buy", "10", "0.25", T0 + 1),
    ]
    state = fold_wallets(WalletState(), numbered(events))
    assert state.marks[("C", "Yes")].price == D("0.25")
    fold_wallets(state, [(9, book("Ct0", "C", "0.35", T0 + 2))])
    assert state.marks[("C", "Yes")].price == D("0.35")
    fold_wallets(state, [(10, book("Ct0", "C", None, T0 + 3))])
    assert state.marks[("C", "Yes")].price == D("0.25")


def test_a_trade_after_its_market_resolved_is_redeemed_at_once() -> None:
    events: list[Event] = [
        resolved("A", "Yes", T0),
        wtrade("0xw", "A", "Yes", "buy", "10", "0.4", T0 - H),
    ]
    state = fold_wallets(WalletState(), numbered(events))
    pos = state.holdings[("0xw", "A", "Yes")].pos
    assert (pos.amount, pos.realized, pos.payout) == (D(0), D(6), D(1))


def test_the_first_resolution_counts_for_the_wallets() -> None:
    events: list[Event] = [
        wtrade("0xw", "A", "Yes", "buy", "10", "0.4", T0),
        resolved("A", "Yes", T0 + 1),
        resolved("A", "No", T0 + 2),
    ]
    state = fold_wallets(WalletState(), numbered(events))
    assert state.holdings[("0xw", "A", "Yes")].pos.realized == D(6)
    assert state.markets["A"].payouts == (D(1), D(0))


def test_a_pre_news_entry_is_flagged_at_resolution() -> None:
    state = fold_wallets(WalletState(), numbered(prenews_events()))
    series = yes_series(state, "D")
    assert series[0] == (T0 + H, D("0.30"))  # the hour's last mid, stamped at its end
    assert series[11] == (T0 + 12 * H, D("0.55"))
    assert series[12] == (T0 + 13 * H, D("0.55"))  # 0xq's trade: no mid in that hour
    assert state.holdings[("0xp", "D", "Yes")].prenews
    assert not state.holdings[("0xq", "D", "Yes")].prenews
    assert state.resolved == {"D"}
    holdings = {(c, o): h for (w, c, o), h in state.holdings.items() if w == "0xp"}
    row = wallet_row("0xp", holdings, {})  # type: ignore[arg-type]
    assert (row.prenews_ratio, row.insider_watch, row.smart) == (1.0, True, False)


def test_the_yes_series_falls_back_to_one_minus_no() -> None:
    events: list[Event] = [market("E"), book("Et1", "E", "0.70", T0)]
    state = fold_wallets(WalletState(), numbered(events))
    assert yes_series(state, "E") == [(T0 + H, D("0.30"))]


def test_markets_and_tokens_fold() -> None:
    events: list[Event] = [
        book("Xt0", "X", "0.41", T0),
        clob_trade("Xt0", "0.42", T0 + 1),
        market("X", T0 + 2, question="Will X?"),
        resolved("X", "No", T0 + 3),
        market("X", T0 + 4, question="Will X, really?", active=True),
        resolved("X", "Yes", T0 + 5),
    ]
    out = fold_markets({}, {}, numbered(events))
    m = out.markets["X"]
    assert (m.question, m.winner, m.payouts, m.closed, m.active) == (
        "Will X, really?",
        "No",
        (D(0), D(1)),
        True,
        False,
    )
    t0 = out.tokens["Xt0"]
    assert (t0.condition_id, t0.outcome, t0.outcome_index) == ("X", "Yes", 0)
    assert (t0.mid, t0.best_bid, t0.last_trade_price) == (D("0.41"), D("0.40"), D("0.42"))
    assert out.tokens["Xt1"].outcome_index == 1
    only_resolved = fold_markets({}, {}, [(1, resolved("Y", "Yes", T0))]).markets["Y"]
    assert (only_resolved.question, only_resolved.winner, only_resolved.listed_ts) == (
        "",
        "Yes",
        None,
    )


def cluster(cid: str, members: tuple[str, ...], ts: int) -> ClusterSynced:
    return ClusterSynced(
        **env(ts),
        strategy="wallet_hunter",
        venue="polymarket",
        symbol=cid,
        interval="1h",
        bar_start=ts,
        source_seq=1,
        reason="synced",
        cluster_id=cid,
        members=members,
        markets=("M1:Yes", "M2:Yes"),
        density=0.666667,
        edges=4,
        core=members[:3],
        delta_t_s=600,
        w_min=2,
    )


def test_clusters_keep_first_and_last_seen() -> None:
    a1 = cluster("c1", ("w1", "w2", "w3", "w5"), T0)
    a2 = cluster("c1", ("w1", "w2", "w3", "w5"), T0 + H)
    out = fold_clusters({}, numbered([a1, a2]))
    r = out["c1"]
    assert (r.times_seen, r.first_seen_ts, r.last_seen_ts, r.last_seq) == (
        2,
        ns_to_dt(T0),
        ns_to_dt(T0 + H),
        2,
    )
    again = fold_clusters(out, [(3, cluster("c1", ("w1", "w2", "w3"), T0 + 2 * H))])["c1"]
    assert (again.times_seen, again.first_seen_ts, again.members) == (
        3,
        ns_to_dt(T0),
        ("w1", "w2", "w3"),
    )


def fill(
    venue: str,
    symbol: str,
    side: str,
    qty: str,
    price: str,
    size: str,
    *,
    realized: str = "0",
    fee: str = "0",
    strategy: str = "hybrid",
    ts: int = T0,
    account: str = "paper",
    entry: str | None = None,
) -> FillBooked:
    return FillBooked(
        **env(ts, "perps"),
        account=account,
        venue=venue,
        symbol=symbol,
        order_id=uuid.uuid4(),
        exec_id=f"x{next(_N)}",
        side=side,  # type: ignore[arg-type]
        qty=D(qty),
        price=D(price),
        fee=D(fee),
        realized_pnl=D(realized),
        size=D(size),
        entry_price=D(entry or price),
        strategy=strategy,
    )


@pytest.mark.parametrize(
    ("side", "qty", "after", "added"),
    [
        ("buy", "2", "2", "2"),  # open long
        ("buy", "1", "3", "1"),  # add
        ("sell", "1", "2", "0"),  # reduce
        ("sell", "3", "-1", "1"),  # flip: 2 closed, 1 opened short
        ("sell", "2", "0", "0"),  # close
        ("sell", "1", "-3", "1"),  # add short
    ],
)
def test_added_qty(side: str, qty: str, after: str, added: str) -> None:
    assert added_qty(fill("sim", "BTCUSDT", side, qty, "100", after)) == D(added)


def test_hybrid_roi_legs_and_funding_strategy() -> None:
    events: list[Event] = [
        fill("sim", "BTCUSDT", "buy", "1", "100", "1", fee="0.1"),
        fill("sim", "BTCUSDT", "sell", "1", "110", "0", realized="10", fee="0.11"),
        fill("polymarket", "tok", "buy", "100", "0.40", "100"),
        fill("polymarket", "tok", "sell", "100", "0.50", "0", realized="10"),
        FundingBooked(
            **env(T0, "perps"),
            account="paper",
            venue="sim",
            symbol="BTCUSDT",
            funding_ts=T0,
            rate=D("0.0001"),
            mark_price=D(100),
            size=D(1),
            amount=D("-0.01"),
        ),
        fill("sim", "ETHUSDT", "buy", "1", "10", "1", strategy="trend"),
    ]
    rows, strategies = fold_roi({}, numbered(events))
    day = ns_to_dt(T0).date()
    r = rows[(day, "paper", "hybrid")]
    assert (r.perps_realized, r.perps_fees, r.funding, r.perps_cost) == (
        D(10),
        D("0.21"),
        D("-0.01"),
        D(100),
    )
    assert (r.poly_realized, r.poly_cost, r.fills) == (D(10), D(40), 4)
    assert r.combined_pnl == D("19.78")
    assert rows[(day, "paper", "trend")].perps_cost == D(10)
    assert strategies == {
        ("paper", "sim", "BTCUSDT"): "hybrid",
        ("paper", "polymarket", "tok"): "hybrid",
        ("paper", "sim", "ETHUSDT"): "trend",
    }
    orphan = FundingBooked(
        **env(T0, "perps"),
        account="paper",
        venue="sim",
        symbol="SOLUSDT",
        funding_ts=T0,
        rate=D(0),
        mark_price=D(1),
        size=D(1),
        amount=D(1),
    )
    assert list(fold_roi({}, [(1, orphan)])[0]) == [(day, "paper", "")]
    assert list(fold_roi({("paper", "sim", "SOLUSDT"): "x"}, [(1, orphan)])[0]) == [
        (day, "paper", "x")
    ]


def test_poly_positions_fold_only_polymarket_fills() -> None:
    events: list[Event] = [
        fill("polymarket", "tok", "buy", "100", "0.40", "100", fee="0.2"),
        fill("sim", "BTCUSDT", "buy", "1", "100", "1"),
        fill("polymarket", "tok", "sell", "40", "0.50", "60", realized="4"),
    ]
    out = fold_poly_positions({}, poly_fills(numbered(events)))
    assert list(out) == [("paper", "tok")]
    p = out[("paper", "tok")]
    assert (p.size, p.realized_pnl, p.fees, p.cost, p.fills, p.last_seq) == (
        D(60),
        D(4),
        D("0.2"),
        D(40),
        2,
        3,
    )
