"""Tests for ``helix.quant.wallets`` (quant.md §7): the TV-7 vectors exactly, the SS examples,
pre-news entries, edge cases, and hypothesis properties of the avg-cost engine."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helix.errors import ValidationError
from helix.quant.wallets import (
    HOUR_NS,
    MoveEvent,
    OutcomePosition,
    ResolvedSample,
    WalletBook,
    WalletFill,
    is_insider_watch,
    is_prenews,
    is_smart,
    move_events,
    prenews_wallets,
    price_at,
    smart_score,
)

D = Decimal
W = "0xwallet"
YES_WINS = {"Yes": D(1), "No": D(0)}
NO_WINS = {"Yes": D(0), "No": D(1)}


def close(a: float, b: float, tol: float = 1e-6) -> bool:
    return abs(a - b) <= tol


def fill(
    market: str,
    side: str,
    size: str | int,
    price: str,
    *,
    outcome: str = "Yes",
    wallet: str = W,
    ts: int = 0,
) -> WalletFill:
    return WalletFill(wallet, market, outcome, side, D(size), D(price), ts)


# --- TV-7: the engine -------------------------------------------------------------------------


def test_tv7_a_avg_cost_partial_sell_and_redemption() -> None:
    pos = OutcomePosition()
    pos.buy(D("0.40"), D(100))
    pos.buy(D("0.60"), D(100))
    assert pos.avg_price == D("0.5")
    assert pos.sell(D("0.70"), D(50)) == D(10)
    assert pos.amount == D(150)
    assert pos.resolve(D(1)) == D(75)
    assert (pos.realized, pos.cost, pos.total_bought, pos.amount) == (D(85), D(100), D(200), D(0))
    assert pos.held_price == D("0.5")


def test_tv7_b_loser_redeemed_at_zero() -> None:
    pos = OutcomePosition()
    pos.buy(D("0.30"), D(200))
    assert pos.resolve(D(0)) == D(-60)
    assert (pos.realized, pos.cost) == (D(-60), D(60))


def test_tv7_c_open_position_unrealized() -> None:
    pos = OutcomePosition()
    pos.buy(D("0.20"), D(100))
    assert pos.unrealized(D("0.35")) == D(15)
    assert pos.cost == D(20)
    assert pos.realized == 0


def tv7_abc_book() -> WalletBook:
    book = WalletBook()
    book.apply_all(
        [
            fill("A", "buy", 100, "0.40", ts=1),
            fill("A", "buy", 100, "0.60", ts=2),
            fill("A", "sell", 50, "0.70", ts=3),
            fill("B", "buy", 200, "0.30", ts=4),
            fill("C", "buy", 100, "0.20", ts=5),
        ]
    )
    assert book.resolve("A", YES_WINS, ts=10) == {W}
    assert book.resolve("B", NO_WINS, ts=11) == {W}
    return book


def test_tv7_totals_roi_and_win_rate() -> None:
    m = tv7_abc_book().metrics(W, marks={("C", "Yes"): D("0.35")})
    assert (m.realized_pnl, m.unrealized_pnl, m.cost) == (D(25), D(15), D(180))
    assert m.realized_pnl + m.unrealized_pnl == D(40)
    assert close(m.roi, 0.222222)
    assert m.win_rate == 0.5
    assert (m.n_markets, m.n_resolved) == (3, 2)


def test_book_from_positions_kept_elsewhere_gives_the_same_metrics() -> None:
    book = tv7_abc_book()
    copy = WalletBook.from_positions({W: book.positions(W)})
    marks = {("C", "Yes"): D("0.35")}
    assert copy.metrics(W, marks) == book.metrics(W, marks)
    assert copy.wallets_in("A") == [W]


def test_a_fill_of_a_resolved_market_is_redeemed_at_once() -> None:
    pos = OutcomePosition()
    pos.apply_fill(fill("A", "buy", 100, "0.40"), payout=D(1))
    assert (pos.amount, pos.realized, pos.payout) == (D(0), D(60), D(1))


def test_open_position_without_mark_adds_no_unrealized() -> None:
    m = tv7_abc_book().metrics(W)
    assert m.unrealized_pnl == 0
    assert m.realized_pnl == D(25)


def test_resolved_position_ignores_its_mark() -> None:
    m = tv7_abc_book().metrics(W, marks={("A", "Yes"): D("0.10"), ("C", "Yes"): D("0.35")})
    assert m.unrealized_pnl == D(15)


# --- TV-7: the smart score --------------------------------------------------------------------

SS_PROFILE = [  # market, fills (price, size), winner
    ("A", [("buy", "0.40", 100), ("buy", "0.60", 100), ("sell", "0.70", 50)], YES_WINS),
    ("B", [("buy", "0.30", 200)], NO_WINS),
    ("D", [("buy", "0.25", 100)], YES_WINS),
    ("E", [("buy", "0.80", 50)], YES_WINS),
    ("F", [("buy", "0.55", 100)], NO_WINS),
]


def ss_book(repeat: int = 1) -> tuple[WalletBook, set[str]]:
    book = WalletBook()
    prenews: set[str] = set()
    ts = 0
    for r in range(repeat):
        for market, fills, payouts in SS_PROFILE:
            name = f"{market}{r}"
            for side, price, size in fills:
                ts += 1
                book.apply(fill(name, side, size, price, ts=ts))
            book.resolve(name, payouts, ts=ts)
            if market == "D":
                prenews.add(name)
    book.apply(fill("C", "buy", 100, "0.20", ts=ts + 1))  # open: not in the sample
    return book, prenews


def test_tv7_smart_score_sample() -> None:
    book, prenews = ss_book()
    m = book.metrics(W, prenews_markets=prenews)
    assert [(s.avg_price, s.payout) for s in book.samples(W)] == [
        (D("0.5"), D(1)),
        (D("0.30"), D(0)),
        (D("0.25"), D(1)),
        (D("0.80"), D(1)),
        (D("0.55"), D(0)),
    ]
    assert close(m.z, 0.584151)
    assert m.realized_pnl == D(55)
    assert close(m.roi_realized, 0.196429)
    assert m.win_rate == 0.6
    assert m.prenews_ratio == 0.2
    assert m.n_resolved == 5
    assert m.n_samples == 5
    assert close(m.smart_score, 3.925741)
    assert not m.smart
    assert not m.insider_watch
    assert close(m.brier or -1, 1.245 / 5)


def test_tv7_smart_score_function_directly() -> None:
    samples = [
        ResolvedSample(D("0.50"), D(1), D(85), D(100)),
        ResolvedSample(D("0.30"), D(0), D(-60), D(60)),
        ResolvedSample(D("0.25"), D(1), D(75), D(25)),
        ResolvedSample(D("0.80"), D(1), D(10), D(40)),
        ResolvedSample(D("0.55"), D(0), D(-55), D(55)),
    ]
    ss, z, roi_r = smart_score(samples, 0.2)
    assert close(ss, 3.925741)
    assert close(z, 0.584151)
    assert close(roi_r, 0.196429)
    ss8, z8, roi8 = smart_score(samples * 8, 0.2)
    assert close(z8, 1.652228)
    assert close(roi8, 0.196429)
    assert close(ss8, 24.953329)


def test_tv7_profile_repeated_eight_times() -> None:
    book, prenews = ss_book(repeat=8)
    m = book.metrics(W, prenews_markets=prenews)
    assert m.n_resolved == 40
    assert close(m.z, 1.652228)
    assert close(m.smart_score, 24.953329)
    assert not m.smart  # < 30 although n ≥ 20


def test_smart_needs_both_score_and_n() -> None:
    def book_of(n: int) -> WalletBook:
        book = WalletBook()
        for i in range(n):
            book.apply(fill(f"m{i}", "buy", 100, "0.30", ts=i))
            book.resolve(f"m{i}", YES_WINS, ts=i)
        return book

    m20 = book_of(20).metrics(W)
    assert close(m20.smart_score, 40.0)  # 100·20/40·(0.5·1 + 0.3·1 + 0)
    assert m20.smart
    m19 = book_of(19).metrics(W)
    assert close(m19.smart_score, 100 * 19 / 39 * 0.8)
    assert m19.smart_score >= 30
    assert not m19.smart
    assert not book_of(20).metrics(W, smart_threshold=41.0).smart
    assert book_of(19).metrics(W, smart_min_resolved=19).smart


def test_insider_watch_flag() -> None:
    book = WalletBook()
    for i, payouts in enumerate([YES_WINS, NO_WINS, YES_WINS]):
        book.apply(fill(f"m{i}", "buy", 2000, "0.30", ts=i))
        book.resolve(f"m{i}", payouts, ts=i)
    book.apply(fill("open", "buy", 10, "0.5"))
    m = book.metrics(W, prenews_markets={"m0", "open"})  # an open market never counts
    assert close(m.prenews_ratio, 1 / 3)
    assert m.insider_watch
    assert not book.metrics(W, prenews_markets={"open"}).insider_watch
    assert is_insider_watch(0.3, 10)
    assert not is_insider_watch(0.3, 11)
    assert not is_insider_watch(0.29, 5)
    assert not is_insider_watch(1.0, 0)
    assert is_smart(30.0, 20)
    assert not is_smart(29.99, 20)


def test_empty_wallet_metrics() -> None:
    m = WalletBook().metrics("nobody")
    assert (m.realized_pnl, m.cost, m.roi, m.n_resolved) == (D(0), D(0), 0.0, 0)
    assert m.win_rate is None
    assert m.brier is None
    assert (m.z, m.smart_score, m.smart, m.insider_watch) == (0.0, 0.0, False, False)


# --- sample rules: several outcomes, closed positions, late fills ----------------------------


def test_two_outcomes_of_one_market_give_two_samples_and_one_market() -> None:
    book = WalletBook()
    book.apply(fill("M", "buy", 100, "0.60", outcome="Yes"))
    book.apply(fill("M", "buy", 100, "0.30", outcome="No"))
    book.resolve("M", YES_WINS, ts=1)
    samples = book.samples(W)
    assert [(s.outcome, s.avg_price, s.payout, s.realized) for s in samples] == [
        ("No", D("0.30"), D(0), D(-30)),
        ("Yes", D("0.60"), D(1), D(40)),
    ]
    m = book.metrics(W)
    assert (m.n_resolved, m.n_samples, m.win_rate) == (1, 2, 1.0)  # market PnL +10
    assert close(m.z, 0.1 / (0.24 + 0.21) ** 0.5)
    assert close(m.roi_realized, 10 / 90)


def test_position_sold_before_resolution_is_in_roi_but_not_in_z() -> None:
    book = WalletBook()
    book.apply(fill("M", "buy", 100, "0.40"))
    book.apply(fill("M", "sell", 100, "0.50"))
    book.apply(fill("N", "buy", 100, "0.50"))
    book.resolve("M", NO_WINS, ts=1)
    book.resolve("N", YES_WINS, ts=1)
    [sm, sn] = book.samples(W)
    assert (sm.held, sm.realized, sm.cost) == (False, D(10), D(40))
    assert (sn.held, sn.realized, sn.cost) == (True, D(50), D(50))
    m = book.metrics(W)
    assert (m.n_resolved, m.n_samples, m.win_rate) == (2, 1, 1.0)
    assert close(m.z, 0.5 / 0.5)
    assert close(m.roi_realized, 60 / 90)
    assert m.brier == 0.25


def test_sell_beyond_amount_realises_only_tracked_tokens() -> None:
    pos = OutcomePosition()
    assert pos.sell(D("0.9"), D(100)) == 0  # tokens from outside the tracked fills
    pos.buy(D("0.5"), D(10))
    assert pos.sell(D("0.6"), D(30)) == D("1.0")
    assert pos.amount == 0


def test_own_redemption_after_resolution_is_not_counted_twice() -> None:
    book = WalletBook()
    book.apply(fill("M", "buy", 100, "0.40"))
    book.resolve("M", YES_WINS, ts=5)
    book.apply(fill("M", "sell", 100, "1", ts=6))  # the wallet redeems itself
    assert book.positions(W)[("M", "Yes")].realized == D(60)


def test_fill_after_resolution_is_redeemed_at_once() -> None:
    book = WalletBook()
    book.apply(fill("M", "buy", 100, "0.40"))
    book.resolve("M", YES_WINS, ts=5)
    pos = book.apply(fill("M", "buy", 100, "0.98", ts=6))
    assert (pos.amount, pos.realized, pos.redeemed) == (D(0), D(62), D(200))
    assert pos.held_price == D("0.69")
    late = book.apply(fill("M", "buy", 10, "0.10", outcome="No", wallet="w2", ts=7))
    assert (late.amount, late.realized, late.payout) == (D(0), D(-1), D(0))
    with pytest.raises(ValidationError):
        book.apply(fill("M", "buy", 1, "0.5", outcome="Maybe"))


def test_resolution_is_idempotent_and_checked() -> None:
    book = tv7_abc_book()
    assert book.resolve("A", YES_WINS, ts=99) == set()
    assert book.positions(W)[("A", "Yes")].realized == D(85)
    with pytest.raises(ValidationError):
        book.resolve("A", NO_WINS, ts=99)
    with pytest.raises(ValidationError):
        book.resolve("C", {"No": D(1)}, ts=1)  # the held outcome has no payout
    assert not book.is_resolved("C")
    assert book.positions(W)[("C", "Yes")].amount == D(100)
    with pytest.raises(ValidationError):
        book.resolve("C", {"Yes": D(2)}, ts=1)
    assert book.resolution("A") == (YES_WINS, 10)
    assert book.resolution("C") is None
    assert book.resolve("unknown", YES_WINS, ts=1) == set()


def test_fill_validation_and_side_normalisation() -> None:
    assert fill("M", "BUY", 1, "0.5").side == "buy"
    assert fill("M", "Sell", 1, "0.5").side == "sell"
    assert fill("M", "buy", 3, "0.5").notional == D("1.5")
    for side, size, price in [("hold", "1", "0.5"), ("buy", "-1", "0.5"), ("buy", "1", "1.01")]:
        with pytest.raises(ValidationError):
            WalletFill(W, "M", "Yes", side, D(size), D(price), 0)
    with pytest.raises(ValidationError):
        WalletFill(W, "M", "Yes", "buy", D("NaN"), D("0.5"), 0)


def test_first_buy_ts_is_the_earliest_buy() -> None:
    book = WalletBook()
    book.apply(fill("M", "sell", 1, "0.5", ts=1))
    book.apply(fill("M", "buy", 1, "0.5", ts=30))
    book.apply(fill("M", "buy", 1, "0.5", ts=20))
    assert book.positions(W)[("M", "Yes")].first_buy_ts == 20


def test_wallets_and_positions_are_sorted() -> None:
    book = WalletBook()
    for w, m in [("w3", "b"), ("w1", "z"), ("w2", "a"), ("w1", "a")]:
        book.apply(fill(m, "buy", 1, "0.5", wallet=w))
    assert list(book.wallets()) == ["w1", "w2", "w3"]
    assert list(book.positions("w1")) == [("a", "Yes"), ("z", "Yes")]
    assert book.wallets_in("a") == ["w1", "w2"]
    assert book.fills_applied == 4


def test_results_do_not_depend_on_the_thread_decimal_context() -> None:
    fills = [
        fill("M", "buy", 3, "0.3333"),
        fill("M", "buy", 7, "0.71"),
        fill("M", "sell", 4, "0.9"),
    ]
    ref = WalletBook()
    ref.apply_all(fills)
    with localcontext() as ctx:
        ctx.prec = 3
        low = WalletBook()
        low.apply_all(fills)
    assert low.positions(W) == ref.positions(W)


# --- pre-news (§7.3) --------------------------------------------------------------------------

H = HOUR_NS


def hourly(values: list[tuple[int, str]], hours: int) -> list[tuple[int, Decimal]]:
    """Hourly series: ``values`` is [(from_hour, price), ...] step levels."""
    out = []
    for h in range(hours):
        level = next(p for start, p in reversed(values) if h >= start)
        out.append((h * H, D(level)))
    return out


UP = hourly([(0, "0.40"), (100, "0.65")], 200)  # +25pp at hour 100


def test_move_event_uses_the_earliest_start() -> None:
    [mv] = move_events(UP)
    assert mv == MoveEvent(t0=76 * H, t1=100 * H, p0=D("0.40"), p1=D("0.65"))
    assert mv.up
    assert mv.size == D("0.25")


def test_move_thresholds_are_inclusive() -> None:
    assert move_events([(0, D("0.4")), (24 * H, D("0.6"))]) != []
    assert move_events([(0, D("0.4")), (24 * H + 1, D("0.6"))]) == []
    assert move_events([(0, D("0.4")), (H, D("0.5999"))]) == []
    [down] = move_events([(0, D("0.7")), (H, D("0.5"))])
    assert not down.up


def test_two_moves_and_no_overlap() -> None:
    series = hourly([(0, "0.30"), (50, "0.55"), (51, "0.80"), (200, "0.50")], 260)
    moves = move_events(series)
    got = [(m.t0 // H, m.t1 // H, m.p1) for m in moves]
    # T0 = 26 is the earliest start reaching h50; h51 is beyond its 24h, so a second move
    # starts at that T1 (touching, not overlapping)
    assert got == [(26, 50, D("0.55")), (50, 51, D("0.80")), (176, 200, D("0.50"))]
    # inside one window, T1 is the extreme of the move, not its first crossing
    run = hourly([(0, "0.30"), (10, "0.55"), (11, "0.80"), (12, "0.70")], 40)
    assert [(m.t0 // H, m.t1 // H, m.p1) for m in move_events(run)] == [(0, 11, D("0.80"))]


def test_unsorted_series_is_rejected() -> None:
    with pytest.raises(ValidationError):
        move_events([(2, D("0.5")), (1, D("0.5"))])


def test_price_at_is_as_of() -> None:
    assert price_at(UP, 100 * H - 1) == D("0.40")
    assert price_at(UP, 100 * H) == D("0.65")
    assert price_at(UP[5:], 0) is None


def test_prenews_positive() -> None:
    moves = move_events(UP)
    assert is_prenews(50 * H, D("0.40"), D(600), True, moves, UP)
    assert is_prenews(4 * H, D("0.40"), D(500), True, moves, UP)  # T0 − 72h, $500 inclusive
    assert is_prenews(76 * H - 1, D("0.40"), D(600), True, moves, UP)


@pytest.mark.parametrize(
    ("ts", "notional", "yes", "why"),
    [
        (50 * H, "600", False, "NO token on an up move"),
        (50 * H, "499.99", True, "notional below $500"),
        (76 * H, "600", True, "not before T0"),
        (90 * H, "600", True, "inside the move"),
        (4 * H - 1, "600", True, "more than 72h before T0"),
    ],
)
def test_prenews_negative(ts: int, notional: str, yes: bool, why: str) -> None:
    assert not is_prenews(ts, D("0.40"), D(notional), yes, move_events(UP), UP), why


def test_prenews_price_must_be_within_five_points_of_t0() -> None:
    series = hourly([(0, "0.40"), (60, "0.46"), (61, "0.45"), (62, "0.40"), (100, "0.65")], 200)
    moves = move_events(series)
    assert [m.t0 // H for m in moves] == [76]
    assert not is_prenews(60 * H + 5, D("0.46"), D(600), True, moves, series)
    assert is_prenews(61 * H, D("0.45"), D(600), True, moves, series)


def test_prenews_on_a_down_move_is_the_no_side() -> None:
    series = hourly([(0, "0.70"), (30, "0.45")], 60)
    moves = move_events(series)
    assert [m.up for m in moves] == [False]
    assert is_prenews(3 * H, D("0.30"), D(900), False, moves, series)
    assert not is_prenews(3 * H, D("0.70"), D(900), True, moves, series)


def test_prenews_before_the_series_falls_back_to_the_fill_price() -> None:
    series = UP[10:]
    moves = move_events(series)
    assert is_prenews(5 * H, D("0.42"), D(600), True, moves, series)
    assert is_prenews(5 * H, D("0.58"), D(600), True, moves, series) is False
    assert not is_prenews(5 * H, D("0.42"), D(600), True, [], series)


def test_prenews_wallets_of_a_market() -> None:
    fills = [
        fill("M", "buy", 1500, "0.40", wallet="early", ts=50 * H),
        fill("M", "buy", 1000, "0.60", outcome="No", wallet="wrongside", ts=50 * H),
        fill("M", "buy", 100, "0.40", wallet="small", ts=50 * H),
        fill("M", "sell", 1500, "0.40", wallet="seller", ts=50 * H),
        fill("M", "buy", 1500, "0.40", wallet="late", ts=80 * H),
    ]
    assert prenews_wallets(fills, UP, "yes") == {"early"}
    assert prenews_wallets(fills, UP[:90], "Yes") == set()


# --- properties ------------------------------------------------------------------------------

PRICES = st.integers(0, 100).map(lambda c: D(c) / 100)
SIZES = st.integers(1, 10_000).map(lambda c: D(c) / 100)
TOL = D("1e-18")


@st.composite
def tracked_trades(draw: st.DrawFn) -> list[tuple[str, Decimal, Decimal]]:
    """BUYs and SELLs that never sell more than is held."""
    out: list[tuple[str, Decimal, Decimal]] = []
    held = D(0)
    for _ in range(draw(st.integers(1, 25))):
        price = draw(PRICES)
        if held > 0 and draw(st.booleans()):
            q = min(held, draw(SIZES))
            out.append(("sell", price, q))
            held -= q
        else:
            q = draw(SIZES)
            out.append(("buy", price, q))
            held += q
    return out


def cash_flows(trades: list[tuple[str, Decimal, Decimal]]) -> tuple[Decimal, Decimal]:
    cash = sum((p * q if s == "sell" else -p * q for s, p, q in trades), D(0))
    held = sum((q if s == "buy" else -q for s, _, q in trades), D(0))
    return cash, held


@settings(max_examples=100, deadline=None)
@given(tracked_trades(), PRICES, PRICES)
def test_realized_plus_unrealized_is_cash_flow_pnl(
    trades: list[tuple[str, Decimal, Decimal]], mark: Decimal, payout: Decimal
) -> None:
    pos = OutcomePosition()
    for side, price, q in trades:
        if side == "buy":
            pos.buy(price, q)
        else:
            pos.sell(price, q)
    cash, held = cash_flows(trades)
    assert pos.amount == held
    assert abs(pos.realized + pos.unrealized(mark) - (cash + held * mark)) <= TOL
    pos.resolve(payout)  # fully closed: everything is realized
    assert pos.unrealized(mark) == 0
    assert abs(pos.realized - (cash + held * payout)) <= TOL
    assert pos.cost == sum((p * q for s, p, q in trades if s == "buy"), D(0))


@settings(max_examples=30, deadline=None)
@given(st.lists(tracked_trades(), min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_interleaving_positions_does_not_change_the_book(
    histories: list[list[tuple[str, Decimal, Decimal]]], rnd: random.Random
) -> None:
    streams = [
        [
            fill(f"m{i % 3}", s, str(q), str(p), wallet=f"w{i}", ts=t)
            for t, (s, p, q) in enumerate(h)
        ]
        for i, h in enumerate(histories)
    ]
    ordered = WalletBook()
    for s in streams:
        ordered.apply_all(s)
    mixed = WalletBook()
    queues = [list(s) for s in streams]
    while any(queues):
        q = rnd.choice([q for q in queues if q])
        mixed.apply(q.pop(0))  # per-position order kept, positions interleaved
    for book in (ordered, mixed):
        for m in ("m0", "m1", "m2"):
            book.resolve(m, YES_WINS, ts=99)
    assert list(ordered.wallets()) == list(mixed.wallets())
    for w in ordered.wallets():
        assert ordered.positions(w) == mixed.positions(w)
        assert ordered.metrics(w) == mixed.metrics(w)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(PRICES, st.sampled_from([D(0), D(1)]), SIZES, st.booleans()),
        min_size=1,
        max_size=30,
    ),
    st.floats(0, 1),
)
def test_smart_score_range(
    rows: list[tuple[Decimal, Decimal, Decimal, bool]], prenews: float
) -> None:
    samples = [ResolvedSample(c, o, q * (o - c), q * c, held=h) for c, o, q, h in rows]
    ss, _, _ = smart_score(samples, prenews)
    assert -80.0 <= ss <= 100.0


# --- real trades (skipped without ../shared/data) -------------------------------------------

MIDTERMS = Path(__file__).resolve().parents[4] / "shared/data/polymarket-midterms-2022"


def midterm_fills() -> list[WalletFill]:
    out = []
    for path in sorted(MIDTERMS.glob("*.csv")):
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                if row["Price"] == "NA":
                    continue
                ts = datetime.strptime(row["Timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
                out.append(
                    WalletFill(
                        row["Account"], path.stem, row["Outcome"], row["Type"],
                        D(row["Shares"]), D(row["Price"]), int(ts.timestamp()) * 10**9,
                    )
                )  # fmt: skip
    out.sort(key=lambda f: f.ts)
    return out


@pytest.mark.skipif(not MIDTERMS.is_dir(), reason="shared data not present")
def test_midterms_book_is_consistent() -> None:
    fills = midterm_fills()
    assert len(fills) > 10_000
    book = WalletBook()
    book.apply_all(fills)
    buys = sum((f.notional for f in fills if f.side == "buy"), D(0))
    assert sum((book.metrics(w).cost for w in book.wallets()), D(0)) == buys
    for w in book.wallets():
        for pos in book.positions(w).values():
            assert pos.amount >= 0
            assert 0 <= pos.avg_price <= 1
