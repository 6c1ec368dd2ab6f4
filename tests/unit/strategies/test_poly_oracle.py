"""The Polymarket oracle on hand-built event sequences: smart wallets (quant.md §7.4), synced
clusters (§8, TV-8) and the checklist (§6.6, TV-6.q / TV-6.r)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from events.base import Event
from events.market import Trade
from events.poly import (
    ClusterSynced,
    PolyBook,
    PolyMarket,
    PolyResolved,
    PolySignal,
    PolyTrade,
    WalletScored,
    poly_event_id,
)
from events.signals import Signal
from helix.codec import Codec
from helix.settings import Settings
from helix.strategies.poly_oracle import OracleConfig, PolyOracle
from projections.signals import headline

T0 = 1_735_689_600_000_000_000  # 2025-01-01 00:00 UTC
MIN = 60_000_000_000
HOUR = 60 * MIN
DAY = 24 * HOUR
A, B, C = "0xaaa", "0xbbb", "0xccc"
CONFIG = OracleConfig()


def cid(name: str) -> str:
    return "0x" + name.encode().hex().ljust(64, "0")


def env(kind: str, symbol: str, key: str, ts: int) -> dict[str, object]:
    return {
        "event_id": poly_event_id(kind, symbol, key),
        "ts_event": ts,
        "ts_recorded": ts + 7,
        "source": "unit-test",
        "vertical": "poly",
    }


def market(name: str, ts: int, question: str, *, price: str = "0.5", days: int = 10) -> PolyMarket:
    c = cid(name)
    p = Decimal(price)
    return PolyMarket(
        **env("market", c, f"{ts}", ts),  # type: ignore[arg-type]
        symbol=c,
        condition_id=c,
        question=question,
        outcomes=("Yes", "No"),
        token_ids=(f"{name}1", f"{name}2"),
        prices=(p, 1 - p),
        end_ts=ts + days * DAY,
    )


def trade(
    name: str,
    ts: int,
    wallet: str,
    size: str,
    price: str,
    *,
    side: str = "buy",
    outcome: str = "Yes",
) -> PolyTrade:
    c = cid(name)
    key = f"{wallet}:{ts}:{side}:{outcome}"
    return PolyTrade(
        **env("wtrade", c, key, ts),  # type: ignore[arg-type]
        symbol=c,
        condition_id=c,
        outcome=outcome,
        wallet=wallet,
        side=side,  # type: ignore[arg-type]
        size=Decimal(size),
        price=Decimal(price),
        trade_key=key,
    )


def resolved(name: str, ts: int, winner: str = "Yes") -> PolyResolved:
    c = cid(name)
    pay = (Decimal(1), Decimal(0)) if winner == "Yes" else (Decimal(0), Decimal(1))
    return PolyResolved(
        **env("resolved", c, c, ts),  # type: ignore[arg-type]
        symbol=c,
        condition_id=c,
        outcomes=("Yes", "No"),
        payouts=pay,
        winner=winner,
        origin="gamma",
    )


def book(name: str, ts: int, ask: str, *, depth: str = "5000") -> PolyBook:
    c, a = cid(name), Decimal(ask)
    return PolyBook(
        **env("book", f"{name}1", f"{ts}", ts),  # type: ignore[arg-type]
        symbol=f"{name}1",
        condition_id=c,
        best_bid=a - Decimal("0.01"),
        best_ask=a,
        mid=a - Decimal("0.005"),
        ask_depth=Decimal(depth),
        bid_depth=Decimal(depth),
    )


def history(wallets: tuple[str, ...] = (A, B, C), n: int = 20, start: int = T0) -> list[Event]:
    """``n`` markets, every 2h: each wallet buys 100 Yes @0.50 (a minute apart), Yes wins."""
    out: list[Event] = []
    for i in range(n):
        t = start + i * 2 * HOUR
        out.append(market(f"h{i}", t, f"Will history event {i} happen?"))
        out.extend(
            trade(f"h{i}", t + (k + 1) * MIN, w, "100", "0.50") for k, w in enumerate(wallets)
        )
        out.append(resolved(f"h{i}", t + HOUR))
    return out


def feed(oracle: PolyOracle, events: list[Event], start: int = 1) -> list[Signal]:
    out: list[Signal] = []
    for seq, e in enumerate(events, start=start):
        out.extend(oracle.on_event(seq, e))
    return out


def test_a_wallet_becomes_smart_once_at_the_twentieth_resolution() -> None:
    events = history()
    oracle = PolyOracle(CONFIG)
    got: list[tuple[int, WalletScored]] = []
    for seq, e in enumerate(events, start=1):
        got.extend((seq, s) for s in oracle.on_event(seq, e) if isinstance(s, WalletScored))
    assert [s.wallet for _, s in got] == [A, B, C]
    last = len(events)  # the 20th resolution is the last event
    assert {seq for seq, _ in got} == {last}
    s = got[0][1]
    # n = 20: SS = 100·20/40·(0.5·clip(z/3) + 0.3·ROI_r) = 50·(0.5 + 0.3) = 40 (z = 4.47).
    assert (s.crossed, s.n_resolved, s.threshold) == ("up", 20, 30.0)
    assert s.smart_score == pytest.approx(40.0)
    assert s.roi_realized == pytest.approx(1.0)
    assert s.realized_pnl == Decimal(1000)
    assert s.source_seq == last
    assert s.symbol == A
    assert "rose to 40.0" in s.reason
    assert headline(s) == ("up", None, s.smart_score)
    # another resolution they win: no second crossing
    more = [
        market("x", T0 + 50 * HOUR, "Will x happen?"),
        trade("x", T0 + 50 * HOUR + MIN, A, "100", "0.5"),
        resolved("x", T0 + 51 * HOUR),
    ]
    assert [s for s in feed(oracle, more, last + 1) if isinstance(s, WalletScored)] == []


def test_a_smart_wallet_that_keeps_losing_crosses_down_once() -> None:
    oracle = PolyOracle(CONFIG)
    feed(oracle, history(wallets=(A,)))
    losses: list[Event] = []
    for i in range(12):
        t = T0 + 100 * HOUR + i * 2 * HOUR
        losses += [
            market(f"l{i}", t, f"Will loss {i} happen?"),
            trade(f"l{i}", t + MIN, A, "100", "0.50"),
            resolved(f"l{i}", t + HOUR, "No"),
        ]
    got = [s for s in feed(oracle, losses, 1000) if isinstance(s, WalletScored)]
    assert [(s.wallet, s.crossed) for s in got] == [(A, "down")]
    # 8 losses: n = 28, z = 6/(0.5·√28) = 2.267787, ROI_r = 12/28;
    # SS = 100·28/48·(0.5·z/3 + 0.3·ROI_r) = 58.3333·(0.377964 + 0.128571) = 29.547928
    assert got[0].smart_score == pytest.approx(29.547928, abs=1e-6)
    assert got[0].n_resolved == 28
    assert "fell to 29.5 < 30" in got[0].reason


def test_tv8_entries_make_one_synced_cluster() -> None:
    # quant.md TV-8 (Δt = 10 min): {W1, W2, W3, W5} density 4/6 > 0.5, 2-core {W1, W2, W3}.
    plan = [
        ("m1", "Yes", [("W1", 0), ("W2", 3), ("W3", 8), ("W5", 40)]),
        ("m2", "Yes", [("W1", 100), ("W2", 104), ("W3", 130)]),
        ("m2", "No", [("W4", 101)]),
        ("m3", "No", [("W1", 200), ("W3", 205), ("W2", 207)]),
        ("m4", "Yes", [("W4", 300), ("W5", 302)]),
        ("m5", "Yes", [("W3", 400), ("W5", 404)]),
        ("m6", "Yes", [("W3", 500), ("W5", 509)]),
    ]
    trades = [
        trade(m, T0 + t * MIN, w, "100", "0.5", outcome=o)
        for m, o, entries in plan
        for w, t in entries
    ]
    trades.sort(key=lambda e: e.ts_event)
    oracle = PolyOracle(CONFIG)
    signals = feed(oracle, [*trades, market("tick", T0 + 12 * HOUR, "Will time pass?")])
    # After M3 (minute 207) W1, W2, W3 are a triangle, seen at the first event past an hour
    # boundary (minute 300 -> as of 05:00); after M6 (minute 509) W5 joins them, seen when the
    # tick at 12:00 arrives: a membership change is a new cluster.
    first, c = signals
    assert isinstance(first, ClusterSynced)
    assert isinstance(c, ClusterSynced)
    assert (first.members, first.density, first.ts_event) == (
        ("W1", "W2", "W3"),
        1.0,
        T0 + 5 * HOUR,
    )
    assert c.members == ("W1", "W2", "W3", "W5")
    assert c.density == pytest.approx(0.666667, abs=1e-6)
    assert (c.edges, c.core, c.delta_t_s, c.w_min) == (4, ("W1", "W2", "W3"), 600, 2)
    assert c.ts_event == T0 + 12 * HOUR  # the boundary it was evaluated at
    assert c.source_seq == len(trades) + 1  # the event that crossed the boundary
    assert c.bar_start == T0 + 11 * HOUR
    assert c.interval == "1h"
    assert headline(c) == (None, None, c.density)
    # unchanged membership an hour later: nothing new
    assert feed(oracle, [market("tick", T0 + 13 * HOUR, "Will time pass?")], 100) == []


def test_w_min_one_is_not_synced() -> None:
    trades = [
        trade("m1", T0, "W1", "100", "0.5"),
        trade("m1", T0 + MIN, "W2", "100", "0.5"),
        trade("m1", T0 + 2 * MIN, "W3", "100", "0.5"),
        trade("m1", T0 + 3 * MIN, "W4", "100", "0.5"),
    ]
    tick = market("tick", T0 + 3 * HOUR, "?")
    # w_min 2: one shared outcome is a coincidence, no edges at all.
    assert feed(PolyOracle(CONFIG), [*trades, tick]) == []
    [c] = feed(PolyOracle(OracleConfig(sync_w_min=1)), [*trades, tick])
    assert isinstance(c, ClusterSynced)
    assert c.density == 1.0
    # below the minimum notional ($50) a fill is no entry
    small = [trade("m1", T0 + k * MIN, w, "99", "0.5") for k, w in enumerate("abcd")]
    assert feed(PolyOracle(OracleConfig(sync_w_min=1)), [*small, tick]) == []


QUESTION = "Will Bitcoin reach $150,000 by March 31?"


def smart_setup() -> tuple[PolyOracle, int]:
    oracle = PolyOracle(CONFIG)
    events = history()
    signals = feed(oracle, events)
    assert sum(isinstance(s, ClusterSynced) for s in signals) == 1  # A, B, C co-enter
    assert sum(isinstance(s, WalletScored) for s in signals) == 3
    return oracle, len(events)


def test_two_smart_wallets_in_a_cluster_give_a_tv6q_signal() -> None:
    oracle, n = smart_setup()
    t = T0 + 50 * HOUR
    events: list[Event] = [
        market("m", t, QUESTION, price="0.48"),
        book("m", t + MIN, "0.50"),  # bid 0.49, ask 0.50, mid 0.495, $5,000 within 2¢
        trade("m", t + 2 * MIN, A, "200", "0.50"),
        trade("m", t + 3 * MIN, B, "200", "0.50"),
    ]
    got = feed(oracle, events, n + 1)
    [s] = got
    assert isinstance(s, PolySignal)
    assert s.source_seq == n + 4  # B's trade: the second smart wallet
    assert s.smart_wallets == (A, B)
    # TV-6.q: every item passes but sync dominance (A and B are a synced cluster) -> 85.
    assert s.score == 85
    assert s.checks == (
        "edge:pass",
        "smart_money:pass",
        "no_sync_dominance:fail",
        "liquidity:pass",
        "resolution_clarity:pass",
        "horizon:pass",
        "no_adverse_move:pass",
    )
    assert s.cluster_share == 1.0
    # p_smart = 0.50 + (1 − 0.50)·0.40 = 0.70, pooled with mid 0.495 at w = 0.5:
    assert s.p_smart == pytest.approx(0.70)
    assert s.p_model == pytest.approx(0.601962, abs=1e-6)
    assert s.price == Decimal("0.50")
    assert s.edge == pytest.approx(0.101962, abs=1e-6)
    # half Kelly 0.10196 -> cap 0.10 of a $1,000 bankroll
    assert s.kelly_fraction == pytest.approx(0.10)
    assert s.stake_usd == Decimal("100.00")
    assert s.depth_usd == Decimal(5000)
    assert s.horizon_s == 10 * 86400 - 3 * 60
    assert s.adverse_move == 0.0
    assert (s.outcome, s.token_id, s.symbol, s.question) == ("Yes", "m1", cid("m"), QUESTION)
    assert "checklist 85 ≥ 70" in s.reason
    assert "failed: no_sync_dominance" in s.reason
    assert headline(s) == ("Yes", Decimal("0.50"), 85.0)  # the signals table's columns
    # one signal per outcome per cooldown
    assert feed(oracle, [trade("m", t + 4 * MIN, C, "200", "0.50")], n + 5) == []


def test_edge_and_smart_money_failing_score_55_and_emit_nothing() -> None:
    oracle, n = smart_setup()
    t = T0 + 50 * HOUR
    events: list[Event] = [
        market("e", t, "Will Ethereum dip below $2,000 by Friday?", price="0.50"),
        trade("e", t + MIN, A, "100", "0.50"),
        book("e", t + 2 * HOUR, "0.80"),  # mid 0.795: p_model ≈ 0.75 < c' = 0.80
        trade("e", t + 2 * HOUR + MIN, "0xnew", "1000", "0.79"),  # outside volume
    ]
    assert feed(oracle, events, n + 1) == []
    a = oracle.assess(f"{cid('e')}:Yes")
    assert a is not None
    # TV-6.r: Edge and Smart money fail -> 100 − 25 − 20 = 55.
    assert a.score == 55
    assert not a.items["edge"]
    assert not a.items["smart_money"]
    assert a.smart_wallets == (A,)
    assert a.edge < 0
    assert a.kelly_fraction == 0.0
    assert a.stake_usd == Decimal("10")  # Kelly says 0: the minimum stake is checked
    assert a.cluster_share == pytest.approx(50 / 840)


def test_an_adverse_move_and_a_far_horizon_fail_their_items() -> None:
    oracle, n = smart_setup()
    t = T0 + 50 * HOUR
    events: list[Event] = [
        market("d", t, QUESTION, price="0.80", days=60),
        book("d", t + 12 * HOUR, "0.50"),
        trade("d", t + 12 * HOUR + MIN, A, "200", "0.50"),
    ]
    feed(oracle, events, n + 1)
    a = oracle.assess(f"{cid('d')}:Yes")
    assert a is not None
    assert a.adverse_move == pytest.approx(0.80 - 0.495)
    assert not a.items["no_adverse_move"]
    assert not a.items["horizon"]


def test_whole_run_equals_snapshot_and_resume() -> None:
    t = T0 + 50 * HOUR
    events = [
        *history(),
        market("m", t, QUESTION, price="0.48"),
        book("m", t + MIN, "0.50"),
        trade("m", t + 2 * MIN, A, "200", "0.50"),
        trade("m", t + 3 * MIN, B, "200", "0.50"),
    ]
    whole = feed(PolyOracle(CONFIG), events)
    assert len(whole) == 5  # 1 cluster, 3 wallets, 1 signal
    cut = 45
    first = PolyOracle(CONFIG)
    head = feed(first, events[:cut])
    resumed = PolyOracle.restore(CONFIG, first.snapshot())
    tail = feed(resumed, events[cut:], cut + 1)
    codec = Codec()
    assert [codec.encode(s) for s in head + tail] == [codec.encode(s) for s in whole]
    assert resumed.state.position == len(events)


def test_clob_prints_on_other_venues_are_ignored_and_prices_are_kept() -> None:
    oracle = PolyOracle(CONFIG)
    feed(oracle, [market("m", T0, QUESTION)])
    print_ = Trade(
        event_id=poly_event_id("trade", "m1", "1"),
        ts_event=T0 + MIN,
        ts_recorded=T0 + MIN,
        source="t",
        vertical="poly",
        venue="polymarket",
        symbol="m1",
        trade_id="1",
        price=Decimal("0.61"),
        qty=Decimal(5),
        side="buy",
    )
    other = Trade(
        **{
            **{f: getattr(print_, f) for f in print_.__struct_fields__},
            "venue": "bybit",
            "price": Decimal("0.9"),
        }
    )
    feed(oracle, [print_, other], 2)
    assert oracle.state.paths[f"{cid('m')}:Yes"][-1] == (T0 + MIN, Decimal("0.61"))
    assert oracle.state.position == 3


def test_config_from_settings() -> None:
    cfg = OracleConfig.from_settings(Settings(poly_smart_n_min=5, poly_checklist_min=60))
    assert (cfg.smart_n_min, cfg.checklist_min, cfg.smart_score_min) == (5, 60, 30.0)
    assert (cfg.sync_window_s, cfg.sync_w_min, cfg.sync_min_notional) == (600, 2, 50.0)


def test_one_smart_wallet_scores_80_but_smart_money_is_required() -> None:
    oracle = PolyOracle(CONFIG)
    events = history((A, B))
    n = len(events)
    feed(oracle, events)
    t = T0 + 50 * HOUR
    first = [market("m", t, QUESTION, price="0.48"), book("m", t + MIN, "0.50"),
             trade("m", t + 2 * MIN, A, "200", "0.50")]  # fmt: skip
    assert feed(oracle, first, n + 1) == []
    a = oracle.assess(f"{cid('m')}:Yes")
    assert a is not None
    assert a.score == 80  # every item but smart money (one wallet)
    [s] = feed(oracle, [trade("m", t + 3 * MIN, B, "200", "0.50")], n + 4)
    assert isinstance(s, PolySignal)
    assert (s.score, s.smart_wallets) == (100, (A, B))
    # without the requirement the first smart wallet alone is a signal (score 80 ≥ 70)
    loose = PolyOracle(OracleConfig(required=()))
    feed(loose, events)
    [early] = feed(loose, first, n + 1)
    assert isinstance(early, PolySignal)
    assert early.score == 80


def test_required_items_are_checklist_items() -> None:
    with pytest.raises(ValueError, match="unknown checklist items"):
        OracleConfig(required=("vibes",))
