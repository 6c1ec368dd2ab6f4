"""Heatmap windows: aggregation, forward fill, display columns and the plumbing into LHM-1."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helix.quant.heatmap import default_edges, lhm1
from helix.quant.windows import (
    WINDOWS,
    BarArrays,
    aggregate,
    bar_arrays,
    compute_window,
    forward_fill,
)

T0 = 1_735_689_600_000_000_000
MIN = 60_000_000_000
NAN = math.nan


def _bars(n: int, *, seed: int = 3, step: int = 5 * MIN, gaps: bool = False) -> BarArrays:
    rng = np.random.default_rng(seed)
    rows = []
    px, oi = 100.0, 1_000.0
    for i in range(n):
        if gaps and i % 7 == 3:
            continue
        o = px
        px *= math.exp(rng.normal(0, 0.004))
        h, lo = (
            max(o, px) * (1 + abs(rng.normal(0, 0.002))),
            min(o, px) * (1 - abs(rng.normal(0, 0.002))),
        )
        oi += rng.normal(5, 20)
        buy, sell = rng.uniform(1e3, 1e4), rng.uniform(1e3, 1e4)
        has_oi = i % 3 != 1
        priced = not (gaps and i % 11 == 5)
        rows.append((
            T0 + i * step, o if priced else NAN, h if priced else NAN, lo if priced else NAN,
            px if priced else NAN, buy + sell, (buy + sell) / px, buy, sell,
            oi if has_oi else NAN, rng.uniform(0, 100), rng.uniform(0, 100),
        ))  # fmt: skip
    return bar_arrays(rows)


def _naive_aggregate(b: BarArrays, interval: int) -> list[tuple[float, ...]]:
    groups: dict[int, list[int]] = {}
    for i, s in enumerate(b.start.tolist()):
        groups.setdefault(s - s % interval, []).append(i)
    out: list[tuple[float, ...]] = []
    for k, idx in sorted(groups.items()):
        priced = [i for i in idx if not math.isnan(b.close[i])]
        with_oi = [i for i in idx if not math.isnan(b.oi[i])]
        out.append((
            k,
            b.open[priced[0]] if priced else NAN,
            max(b.high[i] for i in priced) if priced else NAN,
            min(b.low[i] for i in priced) if priced else NAN,
            b.close[priced[-1]] if priced else NAN,
            sum(b.quote[i] for i in idx), sum(b.base[i] for i in idx),
            sum(b.buy[i] for i in idx), sum(b.sell[i] for i in idx),
            b.oi[with_oi[-1]] if with_oi else NAN,
            sum(b.liq_long[i] for i in idx), sum(b.liq_short[i] for i in idx),
        ))  # fmt: skip
    return out


def _rows(b: BarArrays) -> list[tuple[float, ...]]:
    cols = [getattr(b, f) for f in BarArrays.__slots__]
    return [tuple(float(c[i]) for c in cols) for i in range(len(b))]


@pytest.mark.parametrize("interval", [5 * MIN, 15 * MIN, 60 * MIN, 240 * MIN])
def test_aggregate_equals_a_naive_group_by(interval: int) -> None:
    bars = _bars(200, gaps=True)
    got, want = _rows(aggregate(bars, interval)), _naive_aggregate(bars, interval)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g == pytest.approx(w, rel=1e-12, nan_ok=True)


def test_forward_fill_carries_the_last_value_and_backfills_the_start() -> None:
    filled, ok = forward_fill(np.array([NAN, NAN, 3.0, NAN, 5.0, NAN]))
    assert ok
    assert filled.tolist() == [3.0, 3.0, 3.0, 3.0, 5.0, 5.0]
    none, ok = forward_fill(np.array([NAN, NAN]))
    assert not ok
    assert none.tolist() == [0.0, 0.0]


def test_windows_follow_the_quant_table() -> None:
    cols = {name: w.columns for name, w in WINDOWS.items()}
    assert cols == {"12h": 144, "24h": 288, "3d": 288, "7d": 336, "30d": 360, "90d": 360,
                    "180d": 360, "1y": 365}  # fmt: skip
    for w in WINDOWS.values():
        assert w.display_ns % w.compute_ns == 0
        assert w.compute_ns % (5 * MIN) == 0


def test_compute_window_is_lhm1_over_the_compute_bars_with_the_last_snapshot_per_column() -> None:
    bars = _bars(3 * 288 + 40)  # a bit more than 3 days of 5-minute bars
    spec = WINDOWS["3d"]  # 5m compute, 15m display
    end = int(bars.start[-1]) - int(bars.start[-1]) % spec.compute_ns
    hm = compute_window(bars, spec, end)
    assert hm is not None
    inside = bars.select((bars.start >= end - spec.range_ns) & (bars.start < end))
    oi, _ = forward_fill(inside.oi)
    vwap = inside.quote / inside.base
    ref = lhm1(
        inside.start, inside.high, inside.low, inside.close, open_interest=oi, vwap=vwap,
        taker_buy_quote=inside.buy, taker_sell_quote=inside.sell,
        edges=default_edges(inside.low, inside.high),
    )  # fmt: skip
    assert hm.start_ns == end - spec.range_ns
    assert hm.end_ns == end
    assert hm.column_ts.shape == (288,)
    assert np.all(np.diff(hm.column_ts) == spec.display_ns)
    # Column j shows the snapshot after the last 5-minute bar of its 15-minute bucket.
    np.testing.assert_array_equal(hm.long, ref.long[2::3])
    np.testing.assert_array_equal(hm.short, ref.short[2::3])
    np.testing.assert_allclose(hm.consumed, ref.consumed.reshape(-1, 3).sum(axis=1))
    assert hm.close.tolist() == inside.close[2::3].tolist()
    assert hm.high.tolist() == inside.high.reshape(-1, 3).max(axis=1).tolist()
    assert hm.price == float(inside.close[-1])
    assert hm.has_oi
    assert hm.bars == len(inside)
    assert [c.score for c in hm.clusters] == sorted((c.score for c in hm.clusters), reverse=True)


def test_last_only_gives_the_same_last_column_and_clusters() -> None:
    bars = _bars(400, gaps=True)
    spec = WINDOWS["24h"]
    end = int(bars.start[-1]) - int(bars.start[-1]) % spec.compute_ns
    full = compute_window(bars, spec, end)
    last = compute_window(bars, spec, end, last_only=True)
    assert full is not None
    assert last is not None
    # The full grid is accumulated column by column, so the last bits may differ.
    np.testing.assert_allclose(last.long[-1], full.long[-1], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(last.short[-1], full.short[-1], rtol=1e-12, atol=1e-9)
    assert [(c.cluster.start, c.cluster.stop) for c in last.clusters] == [
        (c.cluster.start, c.cluster.stop) for c in full.clusters
    ]
    assert [c.score for c in last.clusters] == pytest.approx([c.score for c in full.clusters])
    assert last.oi_z == full.oi_z or (math.isnan(last.oi_z) and math.isnan(full.oi_z))


def test_gaps_are_not_invented_and_priceless_buckets_only_give_open_interest() -> None:
    bars = _bars(100, gaps=True)
    spec = WINDOWS["12h"]
    end = int(bars.start[-1]) + spec.compute_ns
    hm = compute_window(bars, spec, end - end % spec.compute_ns)
    assert hm is not None
    priced = int(np.count_nonzero(~np.isnan(bars.close)))
    assert hm.bars == priced
    assert hm.column_ts.shape == (priced,)


def test_without_open_interest_the_map_is_empty_and_without_prices_there_is_none() -> None:
    bars = _bars(60)
    no_oi = BarArrays(*(getattr(bars, f) if f != "oi" else np.full(len(bars), NAN)
                        for f in BarArrays.__slots__))  # fmt: skip
    spec = WINDOWS["12h"]
    end = int(bars.start[-1]) + spec.compute_ns
    hm = compute_window(no_oi, spec, end)
    assert hm is not None
    assert not hm.has_oi
    assert not hm.long.any()
    assert not hm.short.any()
    assert hm.clusters == []
    priceless = BarArrays(*(getattr(bars, f) if f in ("start", "oi") else np.full(len(bars), NAN)
                            for f in BarArrays.__slots__))  # fmt: skip
    assert compute_window(priceless, spec, end) is None
    assert compute_window(bars, spec, int(bars.start[0])) is None  # nothing before the end
