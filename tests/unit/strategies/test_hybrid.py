"""The hybrid fuser: agreeing Polymarket and perps signals fuse (quant.md TV-6.n), others don't."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from events.poly import HybridSignal, PolySignal
from events.signals import Signal
from helix.codec import Codec
from helix.settings import Settings
from helix.strategies.hybrid import (
    HybridConfig,
    HybridFuser,
    coin_symbol,
    perps_direction,
    poly_direction,
)
from projections.signals import headline
from tests.unit import _factories as f

T0 = 1_735_689_600_000_000_000
MIN = 60_000_000_000
CID = "0x" + "ab" * 32
# TV-6.n: p_A = 0.65 (perps), p_B = 0.55 (oracle), c = 0.50, equal weights.
CONFIG = HybridConfig(p_perps={"liquidation_cluster_targeted": 0.65, "oi_spike": 0.65,
                               "stop_hunt": 0.65})  # fmt: skip


def poly_signal(ts: int, **overrides: Any) -> PolySignal:
    fields: dict[str, Any] = {
        **f.signal_fields(source="poly_oracle", strategy="poly_oracle", venue="polymarket",
                          symbol=CID, interval="event", bar_start=ts, vertical="poly"),
        "event_id": uuid.uuid5(uuid.NAMESPACE_URL, f"poly:{ts}"),
        "ts_event": ts,
        "ts_recorded": ts + 5,
        "condition_id": CID,
        "token_id": "1234",
        "outcome": "Yes",
        "question": "Will Bitcoin reach $150,000 by June 30?",
        "price": Decimal("0.50"),
        "p_model": 0.55,
        "p_smart": 0.7,
        "edge": 0.05,
        "score": 85,
        "threshold": 70,
        "checks": (),
        "smart_wallets": ("0xa", "0xb"),
        "cluster_share": 0.0,
        "depth_usd": Decimal(5000),
        "stake_usd": Decimal(100),
        "horizon_s": 86400,
        "adverse_move": 0.0,
        "kelly_fraction": 0.1,
    }  # fmt: skip
    fields.update(overrides)
    return PolySignal(**fields)


def targeted(ts: int, direction: str = "up", symbol: str = "BTCUSDT") -> Signal:
    return f.cluster_targeted(
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"perps:{ts}:{direction}:{symbol}"),
        ts_event=ts,
        ts_recorded=ts + 9,
        symbol=symbol,
        direction=direction,
        side="short" if direction == "up" else "long",
    )


def run(fuser: HybridFuser, signals: list[Signal], start: int = 1) -> list[HybridSignal]:
    out: list[HybridSignal] = []
    for seq, s in enumerate(signals, start=start):
        out.extend(fuser.on_signal(seq, s))
    return out


def test_agreeing_signals_fuse_with_the_tv6n_numbers() -> None:
    perps = targeted(T0)
    poly = poly_signal(T0 + 20 * MIN)
    [h] = run(HybridFuser(CONFIG), [perps, poly])
    assert h.p_a == 0.65
    assert h.p_b == 0.55
    assert h.w == 0.5
    assert h.p_hybrid == pytest.approx(0.601053, abs=1e-6)
    assert h.f_star == pytest.approx(0.202106, abs=1e-6)
    assert h.fraction == pytest.approx(0.10)  # half Kelly 0.101053 -> cap 0.10
    assert (h.direction, h.perps_kind, h.perps_symbol) == ("up", perps.KIND, "BTCUSDT")
    assert h.poly_signal_id == str(poly.event_id)
    assert h.perps_signal_id == str(perps.event_id)
    assert h.source_seq == 2  # the ledger sequence of the signal that completed the pair
    assert h.causation_id == poly.event_id
    assert h.symbol == CID
    assert h.venue == "polymarket"
    assert "0.6011" in h.reason
    assert headline(h) == ("up", Decimal("0.50"), h.fraction)


def test_the_pair_fuses_whichever_comes_first() -> None:
    a = run(HybridFuser(CONFIG), [targeted(T0), poly_signal(T0 + MIN)])
    b = run(HybridFuser(CONFIG), [poly_signal(T0 + MIN), targeted(T0)])
    assert len(a) == len(b) == 1
    assert a[0].event_id == b[0].event_id  # id from the pair, not from the order


def test_disagreeing_signals_do_not_fuse() -> None:
    assert run(HybridFuser(CONFIG), [targeted(T0, "down"), poly_signal(T0 + MIN)]) == []
    # "No" on a bullish question is a bearish bet: it agrees with a down target.
    [h] = run(HybridFuser(CONFIG), [targeted(T0, "down"), poly_signal(T0 + MIN, outcome="No")])
    assert h.direction == "down"


def test_a_conflicting_perps_signal_in_the_window_blocks_the_pair() -> None:
    signals = [targeted(T0, "up"), targeted(T0 + MIN, "down"), poly_signal(T0 + 2 * MIN)]
    assert run(HybridFuser(CONFIG), signals) == []


def test_signals_farther_apart_than_the_window_do_not_fuse() -> None:
    late = T0 + CONFIG.window_s * 1_000_000_000 + 1
    assert run(HybridFuser(CONFIG), [targeted(T0), poly_signal(late)]) == []


def test_other_coins_and_undirected_signals_do_not_fuse() -> None:
    assert run(HybridFuser(CONFIG), [targeted(T0, symbol="ETHUSDT"), poly_signal(T0)]) == []
    vague = poly_signal(T0, question="Will Bitcoin be mentioned in the debate?")
    assert run(HybridFuser(CONFIG), [targeted(T0), vague]) == []
    assert run(HybridFuser(CONFIG), [f.volume_spike(ts_event=T0), poly_signal(T0)]) == []


def test_the_binary_guard_stops_a_perps_side_below_the_price() -> None:
    # p_a = 0.65 < c = 0.70 while p_b = 0.80 > c: §6.5 guard, nothing sized.
    poly = poly_signal(T0, price=Decimal("0.70"), p_model=0.80)
    assert run(HybridFuser(CONFIG), [targeted(T0), poly]) == []


def test_one_hybrid_per_outcome_per_cooldown() -> None:
    signals = [poly_signal(T0), targeted(T0 + MIN), targeted(T0 + 2 * MIN)]
    assert len(run(HybridFuser(CONFIG), signals)) == 1


def test_snapshot_and_restore_continue_identically() -> None:
    signals = [targeted(T0), targeted(T0 + MIN, symbol="ETHUSDT"), poly_signal(T0 + 2 * MIN)]
    whole = run(HybridFuser(CONFIG), signals)
    first = HybridFuser(CONFIG)
    run(first, signals[:2])
    resumed = HybridFuser.restore(CONFIG, first.snapshot())
    rest = run(resumed, signals[2:], start=3)
    codec = Codec()
    assert [codec.encode(x) for x in rest] == [codec.encode(x) for x in whole]
    assert resumed.state.position == 3


def test_question_to_symbol_and_direction() -> None:
    assert coin_symbol("Will Bitcoin hit $100k?") == "BTCUSDT"
    assert coin_symbol("ETH above 4000 on Friday?") == "ETHUSDT"
    assert coin_symbol("Will Ether dip below $2,000?") == "ETHUSDT"
    assert coin_symbol("Solana Up or Down - May 3, 4PM ET") == "SOLUSDT"
    assert coin_symbol("XRP all time high by December?") == "XRPUSDT"
    assert coin_symbol("Will ETH flip BTC?") is None
    assert coin_symbol("Will the Lakers win?") is None
    assert coin_symbol("Will the solar eclipse be visible?") is None
    assert poly_direction("Solana Up or Down - May 3", "Down") == "down"
    assert poly_direction("Will Ether dip below $2,000?", "Yes") == "down"
    assert poly_direction("Will Ether dip below $2,000?", "No") == "up"
    assert poly_direction("Will Bitcoin reach $150k?", "Yes") == "up"
    assert poly_direction("Bitcoin above or below 100k?", "Yes") is None
    assert poly_direction("Will Bitcoin reach $150k?", "Trump") is None
    assert perps_direction(f.oi_spike(price_change=-0.01)) == "down"
    assert perps_direction(f.oi_spike(price_change=0.0)) is None
    assert perps_direction(f.stop_hunt(direction="bear")) == "down"
    assert perps_direction(f.volume_spike()) is None


def test_config_from_settings() -> None:
    cfg = HybridConfig.from_settings(Settings(hybrid_window_s=900, poly_kelly_fraction=0.25))
    assert (cfg.window_s, cfg.cooldown_s, cfg.kelly_fraction, cfg.cap) == (900, 900, 0.25, 0.10)


def test_a_day_of_perps_signals_ahead_of_the_oracle_still_pairs() -> None:
    """The scanner may run a day ahead of the oracle (a replay): its early signals are kept."""
    hour = 60 * MIN
    day = [targeted(T0 + k * 2 * hour) for k in range(12)]  # up targets every 2h for a day
    [h] = run(HybridFuser(CONFIG), [*day, poly_signal(T0 + MIN)])
    assert h.perps_signal_id == str(day[0].event_id)
    small = HybridFuser(HybridConfig(p_perps=CONFIG.p_perps, keep=4))  # memory bound by count
    assert run(small, [*day, poly_signal(T0 + MIN)]) == []
