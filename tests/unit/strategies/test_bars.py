"""Bars for the liquidation model: what each event kind contributes, and batch independence."""

from __future__ import annotations

import math
from decimal import Decimal

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from events.base import Event
from helix.strategies.bars import Bar, fold_bars
from tests.unit import _factories as f

T0 = 1_735_689_600_000_000_000
MIN = 60_000_000_000
FIVE = 5 * MIN


def _trade(ts: int, px: str, qty: str, side: str = "buy", tid: str = "t") -> Event:
    return f.trade(ts_event=ts, price=Decimal(px), qty=Decimal(qty), side=side, trade_id=tid)


def test_trades_give_ohlc_by_time_and_exact_taker_volumes() -> None:
    batch = [
        (3, _trade(T0 + 2 * MIN, "101", "2", "sell")),
        (1, _trade(T0 + 1 * MIN, "100", "1")),  # earliest print, read later
        (5, _trade(T0 + 4 * MIN, "99.5", "0.5", "sell")),
        (4, _trade(T0 + 3 * MIN, "103", "1")),
    ]
    [bar] = fold_bars(batch, FIVE).values()
    assert (bar.open, bar.high, bar.low, bar.close) == (100.0, 103.0, 99.5, 99.5)
    assert bar.buy_quote == Decimal("203")
    assert bar.sell_quote == Decimal("202") + Decimal("49.75")
    assert bar.base_volume == Decimal("4.5")
    assert bar.trades == 4
    assert bar.volumes == (float(Decimal("454.75")), 4.5)


def test_a_kline_spans_its_interval_and_its_volume_is_used_only_without_trades() -> None:
    k = f.kline(
        start=T0, interval="1", closed=True, open=Decimal("10"), high=Decimal("12"),
        low=Decimal("9"), close=Decimal("11"), volume=Decimal("3"), turnover=Decimal("31.5"),
        ts_event=T0 + MIN,
    )  # fmt: skip
    [bar] = fold_bars([(1, k)], FIVE).values()
    assert (bar.open, bar.high, bar.low, bar.close) == (10.0, 12.0, 9.0, 11.0)
    assert bar.close_ts == T0 + MIN - 1
    assert bar.volumes == (31.5, 3.0)
    both = fold_bars([(1, k), (2, _trade(T0 + 30_000_000_000, "10.5", "2"))], FIVE)
    [mixed] = both.values()
    assert mixed.volumes == (21.0, 2.0)  # trades win: the kline's volume is not added twice
    assert mixed.close == 11.0  # the kline's close is stamped at the end of its minute


def test_open_klines_are_ignored_and_turnover_is_estimated_when_missing() -> None:
    open_k = f.kline(start=T0, closed=False)
    assert not fold_bars([(1, open_k)], FIVE)[("bybit", "BTCUSDT", T0)].has_price
    k = f.kline(start=T0, interval="60", closed=True, turnover=None, volume=Decimal("2"),
                high=Decimal("12"), low=Decimal("9"), close=Decimal("12"))  # fmt: skip
    [bar] = fold_bars([(1, k)], FIVE).values()
    assert bar.kline_quote == Decimal(2) * Decimal(33) / Decimal(3)
    assert bar.close_ts == T0 + 60 * MIN - 1


def test_open_interest_is_the_latest_ticker_and_liquidations_split_by_position_side() -> None:
    batch = [
        (1, f.ticker(ts_event=T0 + 2 * MIN, open_interest=Decimal("500"))),
        (2, f.ticker(ts_event=T0 + MIN, open_interest=Decimal("400"))),  # older, read later
        (3, f.ticker(ts_event=T0 + 3 * MIN, open_interest=None)),
        (4, f.liquidation(symbol="BTCUSDT", ts_event=T0, side="sell", price=Decimal("100"),
                          qty=Decimal("2"))),
        (5, f.liquidation(symbol="BTCUSDT", ts_event=T0, side="buy", price=Decimal("101"),
                          qty=Decimal("1"))),
    ]  # fmt: skip
    [bar] = fold_bars(batch, FIVE).values()
    assert bar.oi == 500.0
    assert bar.liq_long_usd == Decimal("200")
    assert bar.liq_short_usd == Decimal("101")
    assert not bar.has_price
    assert math.isnan(bar.open)


def test_events_of_other_kinds_and_buckets_are_kept_apart() -> None:
    batch = [
        (1, _trade(T0, "1", "1")),
        (2, _trade(T0 + FIVE, "2", "1")),
        (3, f.dead_letter()),
    ]
    bars = fold_bars(batch, FIVE)
    assert sorted(k[2] for k in bars) == [T0, T0 + FIVE]


_events = st.lists(
    st.tuples(
        st.sampled_from(["trade", "kline", "ticker", "liq"]),
        st.integers(0, 3 * FIVE - 1),
        st.integers(1, 500),
        st.integers(1, 40),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


def _build(spec: list[tuple[str, int, int, int, bool]]) -> list[tuple[int, Event]]:
    out: list[tuple[int, Event]] = []
    for seq, (kind, dt, px, qty, flag) in enumerate(spec, start=1):
        ts, price, amount = T0 + dt, Decimal(px) / 10, Decimal(qty) / 100
        side = "buy" if flag else "sell"
        if kind == "trade":
            out.append((seq, _trade(ts, str(price), str(amount), side, f"t{seq}")))
        elif kind == "kline":
            start = ts - ts % MIN
            out.append((seq, f.kline(start=start, interval="1", closed=True, open=price,
                                     high=price + 1, low=price, close=price + 1,
                                     volume=amount, turnover=amount * price)))  # fmt: skip
        elif kind == "ticker":
            out.append((seq, f.ticker(ts_event=ts, open_interest=price)))
        else:
            out.append((seq, f.liquidation(symbol="BTCUSDT", ts_event=ts, price=price,
                                           qty=amount, side=side)))  # fmt: skip
    return out


@hsettings(max_examples=150, deadline=None)
@given(_events, st.data())
def test_folding_does_not_depend_on_how_the_log_is_cut(
    spec: list[tuple[str, int, int, int, bool]], data: st.DataObject
) -> None:
    batch = _build(spec)
    cut = data.draw(st.integers(0, len(batch)))
    whole = fold_bars(batch, FIVE)
    merged: dict[tuple[str, str, int], Bar] = {}
    for part in (batch[:cut], batch[cut:]):
        for key, bar in fold_bars(part, FIVE).items():
            if key in merged:
                merged[key].merge(bar)
            else:
                merged[key] = bar
    assert merged.keys() == whole.keys()
    for key, bar in whole.items():
        other = merged[key]
        for name in Bar.__slots__:
            a, b = getattr(bar, name), getattr(other, name)
            assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), name
