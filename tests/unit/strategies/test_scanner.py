"""The perps scanner: each rule on known inputs (quant.md TV-4/TV-5), determinism, snapshots."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import msgspec
import pytest

from events.base import Event
from events.signals import (
    ClusterTargeted,
    ImbalanceRanked,
    OiSpike,
    Signal,
    StopHunt,
    VolumeSpike,
)
from helix.codec import Codec
from helix.quant.clusters import Cluster, ClusterSide, ScoredCluster
from helix.sim.market import SimConfig, simulate
from helix.strategies.scanner import MarketState, PerpsScanner, ScannerConfig, ScannerState
from tests.unit import _factories as f

T0 = 1_735_689_600_000_000_000
MIN = 60_000_000_000
FIVE = 5 * MIN


def bar_events(
    i: int, o: float, h: float, lo: float, c: float, *, volume: float = 10.0, oi: float = 500.0
) -> list[Event]:
    """Trades printing O, H, L, C (quote volume ``volume`` in total) and a ticker with OI."""
    start = T0 + i * FIVE
    out: list[Event] = []
    for k, px in enumerate((o, h, lo, c)):
        ts = start + (k + 1) * MIN
        qty = Decimal(repr(volume / 4)) / Decimal(repr(px))
        out.append(f.trade(ts_event=ts, ts_recorded=ts + 7, price=Decimal(repr(px)), qty=qty,
                           side="buy" if k % 2 else "sell", trade_id=f"{i}-{k}"))  # fmt: skip
    out.append(f.ticker(ts_event=start + 4 * MIN + 30_000_000_000, open_interest=Decimal(repr(oi))))
    return out


def feed(scanner: PerpsScanner, events: list[Event], start_seq: int = 1) -> list[Signal]:
    out: list[Signal] = []
    for seq, e in enumerate(events, start=start_seq):
        out.extend(scanner.on_event(seq, e))
    return out


# quant.md TV-5 (n = 8): OI and volume per bar; bar 10 is the spike.
OI = [500, 502, 501, 503, 504, 502, 503, 505, 504, 506, 530, 528]
VOL = [40, 42, 38, 41, 39, 40, 43, 37, 41, 39, 95, 60]


def tv5_events() -> list[Event]:
    events: list[Event] = []
    for i, (oi, v) in enumerate(zip(OI, VOL, strict=True)):
        events += bar_events(i, 100, 100.5, 99.5, 100, volume=v, oi=oi)
    events += bar_events(len(OI), 100, 100.5, 99.5, 100)  # opens bar 12, closing bar 11
    return events


def test_oi_and_volume_spikes_follow_tv5() -> None:
    cfg = ScannerConfig(spike_window=8, oi_pct_min=0.02, rank_every_min=100_000)
    signals = feed(PerpsScanner(cfg), tv5_events())
    [oi] = [s for s in signals if isinstance(s, OiSpike)]
    [vol] = [s for s in signals if isinstance(s, VolumeSpike)]
    assert oi.bar_start == vol.bar_start == T0 + 10 * FIVE
    assert oi.ts_event == T0 + 11 * FIVE  # the bar's end: time comes from the events
    assert oi.z == pytest.approx(16.525653, abs=1e-6)
    assert oi.pct_1 == pytest.approx(0.047431, abs=1e-6)
    assert oi.mean == pytest.approx(503.5)
    assert oi.std == pytest.approx(1.603567, abs=1e-6)
    assert oi.open_interest == Decimal("530.0")
    assert oi.previous == Decimal("506.0")
    assert vol.rvol == pytest.approx(2.389937, abs=1e-6)
    assert vol.z == pytest.approx(28.947510, abs=1e-5)
    assert "z 16.53 ≥ 2.5" in oi.reason
    assert "2.4× the 8-bar mean" in vol.reason


def test_no_spike_below_the_thresholds() -> None:
    cfg = ScannerConfig(spike_window=8, oi_pct_min=0.05, rvol_min=2.5, rank_every_min=100_000)
    signals = feed(PerpsScanner(cfg), tv5_events())
    assert not [s for s in signals if isinstance(s, OiSpike | VolumeSpike)]


def _level(price: float, side: ClusterSide, score: float = 40.0) -> ScoredCluster:
    return ScoredCluster(Cluster(0, 0, 0, 1e6, price, side), 0.01, 0.5, 0.6, score)


TV4 = [  # (O, H, L, C) and the expected outcome against levels 95,400 L / 94,800 L / 97,800 S
    ((96_500, 96_700, 96_300, 96_600), []),
    ((96_600, 96_650, 95_300, 96_400), [("bull", 95_400.0, 0.001048)]),
    ((96_400, 97_750, 96_350, 97_700), []),
    ((97_700, 98_300, 97_600, 97_650), [("bear", 97_800.0, 0.005112)]),
    ((97_650, 97_700, 94_700, 94_750), []),  # breakdowns are not stop hunts
]


@pytest.mark.parametrize(("candle", "expected"), TV4)
def test_stop_hunts_follow_tv4(
    candle: tuple[float, float, float, float], expected: list[tuple[str, float, float]]
) -> None:
    levels = [
        _level(95_400, ClusterSide.LONG),
        _level(94_800, ClusterSide.LONG),
        _level(97_800, ClusterSide.SHORT),
    ]
    st = MarketState("bybit", "BTCUSDT", levels=levels)
    scanner = PerpsScanner(
        ScannerConfig(rank_every_min=100_000, sweep_bars=1),  # one candle, exactly as §4.2
        ScannerState(markets={"bybit:BTCUSDT": st}),
    )
    signals = feed(scanner, bar_events(0, *candle) + bar_events(1, 97_000, 97_000, 97_000, 97_000))
    hunts = [s for s in signals if isinstance(s, StopHunt)]
    got = [(h.direction, float(h.level_price)) for h in hunts]
    assert got == [(d, p) for d, p, _ in expected]
    assert [h.depth for h in hunts] == pytest.approx([x for _, _, x in expected], abs=1e-6)
    for h in hunts:
        assert h.wick_ratio >= 0.5
        assert h.level_score == 40.0
        assert h.open == Decimal(repr(float(candle[0])))
        assert "closed back" in h.reason


def test_a_level_reclaimed_within_sweep_bars_is_a_stop_hunt_on_the_merged_candle() -> None:
    def run(sweep_bars: int, reclaim_at: int) -> list[StopHunt]:
        st = MarketState("bybit", "BTCUSDT", levels=[_level(94_800, ClusterSide.LONG)])
        scanner = PerpsScanner(
            ScannerConfig(rank_every_min=100_000, sweep_bars=sweep_bars),
            ScannerState(markets={"bybit:BTCUSDT": st}),
        )
        events = bar_events(0, 97_650, 97_700, 94_700, 94_750)  # TV-4 #5: a breakdown
        for i in range(1, reclaim_at):
            events += bar_events(i, 94_750, 94_790, 94_720, 94_760)  # still below
        events += bar_events(reclaim_at, 94_760, 97_100, 94_750, 97_000)  # closes back above
        events += bar_events(reclaim_at + 1, 97_000, 97_000, 97_000, 97_000)
        return [s for s in feed(scanner, events) if isinstance(s, StopHunt)]

    assert run(sweep_bars=1, reclaim_at=1) == []
    [hunt] = run(sweep_bars=3, reclaim_at=2)
    assert (hunt.bars, hunt.sweep_start, hunt.bar_start) == (3, T0, T0 + 2 * FIVE)
    assert (hunt.open, hunt.low, hunt.high, hunt.close) == (
        Decimal("97650.0"), Decimal("94700.0"), Decimal("97700.0"), Decimal("97000.0"),
    )  # fmt: skip
    assert hunt.wick_ratio == pytest.approx((97_000 - 94_700) / 3_000)
    assert "3 5m bars swept" in hunt.reason
    assert run(sweep_bars=3, reclaim_at=3) == []  # too late: a breakdown after all


def _sim(hours: int, seed: int = 7) -> list[Event]:
    return list(simulate(SimConfig(seed=seed, duration_s=hours * 3600)))


@pytest.fixture(scope="module")
def six_hours() -> list[Event]:
    return _sim(6)


def test_clusters_are_targeted_with_their_inputs_and_a_cooldown(six_hours: list[Event]) -> None:
    cfg = ScannerConfig(cluster_score_min=2.0, cooldown_min=60)
    signals = feed(PerpsScanner(cfg), six_hours)
    targeted = [s for s in signals if isinstance(s, ClusterTargeted)]
    assert len(targeted) >= 3
    last: dict[tuple[str, str], ClusterTargeted] = {}
    for s in targeted:
        assert s.score >= cfg.cluster_score_min
        assert s.score >= s.runner_up_score
        assert s.price_low <= s.price <= s.price_high
        below = s.price < s.reference_price
        assert (s.side, s.direction) == (("long", "down") if below else ("short", "up"))
        assert s.distance == pytest.approx(
            abs(float(s.price) - float(s.reference_price)) / float(s.reference_price), rel=1e-6
        )
        prev = last.get((s.symbol, s.side))
        if prev is not None and s.ts_event - prev.ts_event < 60 * MIN:
            assert not prev.price_low - 1 <= s.price <= prev.price_high + 1  # a new target
        last[(s.symbol, s.side)] = s
    assert len({s.event_id for s in signals}) == len(signals)


def test_the_same_log_gives_byte_identical_signals(six_hours: list[Event]) -> None:
    codec = Codec()
    cfg = ScannerConfig(cluster_score_min=2.0)
    a = [codec.encode(s) for s in feed(PerpsScanner(cfg), six_hours)]
    b = [codec.encode(s) for s in feed(PerpsScanner(cfg), six_hours)]
    assert a == b
    kinds = {type(codec.decode(x)) for x in a}
    assert {ClusterTargeted, ImbalanceRanked} <= kinds


def test_a_restored_snapshot_continues_exactly(six_hours: list[Event]) -> None:
    cfg = ScannerConfig(cluster_score_min=2.0)
    reference = feed(PerpsScanner(cfg), six_hours)
    cut = random.Random(5).randrange(len(six_hours) // 4, 3 * len(six_hours) // 4)
    first = PerpsScanner(cfg)
    before = feed(first, six_hours[:cut])
    data = first.snapshot()
    resumed = PerpsScanner.restore(cfg, data)
    assert resumed.state.position == cut
    after = feed(resumed, six_hours[cut:], start_seq=cut + 1)
    assert before + after == reference


def test_signals_take_their_times_from_the_events(six_hours: list[Event]) -> None:
    by_id = {e.event_id: e for e in six_hours}
    for s in feed(PerpsScanner(ScannerConfig(cluster_score_min=2.0)), six_hours):
        cause = by_id[s.causation_id]  # type: ignore[index]
        assert s.ts_recorded == cause.ts_recorded
        assert s.ts_event == s.bar_start + FIVE <= cause.ts_event
        assert s.source_seq == six_hours.index(cause) + 1


def test_a_late_event_updates_its_closed_bar() -> None:
    scanner = PerpsScanner(ScannerConfig())
    feed(scanner, bar_events(0, 100, 101, 99, 100) + bar_events(1, 100, 100, 100, 100))
    late = f.trade(ts_event=T0 + 2 * MIN, price=Decimal("90"), qty=Decimal(1), trade_id="late")
    assert scanner.on_event(99, late) == []
    [closed] = scanner.state.markets["bybit:BTCUSDT"].history
    assert closed.low == 90.0


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="interval"):
        ScannerConfig(interval="7m")
    with pytest.raises(ValueError, match="window"):
        ScannerConfig(window="2d")
    with pytest.raises(ValueError, match="coarser"):
        ScannerConfig(interval="1h", window="24h")  # 24h computes on 5-minute bars


def test_the_snapshot_is_plain_msgpack() -> None:
    scanner = PerpsScanner(ScannerConfig())
    feed(scanner, bar_events(0, 100, 101, 99, 100) + bar_events(1, 100, 100, 100, 100))
    raw = msgspec.msgpack.decode(scanner.snapshot())
    assert raw["position"] == 10
    assert set(raw["markets"]) == {"bybit:BTCUSDT"}
    assert not math.isnan(raw["markets"]["bybit:BTCUSDT"]["history"][0]["close"])
