"""The simulator's ground truth: recording changes no event, and the planted hunts and
cascades agree with the events the simulator printed."""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter, defaultdict
from decimal import Decimal
from itertools import pairwise

import pytest

from events.market import Liquidation
from helix.codec import Codec
from helix.sim import SimConfig, simulate
from helix.sim.paths import SPECS, MarketFactor, PricePath
from helix.sim.truth import Truth, planted

NS = 1_000_000_000
SIX_HOURS = 6 * 3_600

# sha256 over Codec().encode(e) of every event of simulate(SimConfig(duration_s=7_200)), in order
# (14,934 events).  Computed with the simulator as of commit 1f49867, before the ground-truth
# hooks were added; the 24 h default day gave 172,382 events with digest 12df418f0d19d7df...
# If the simulator is changed on purpose, recompute it (and say so in the change).
DIGEST_2H = "28c02c08aef4fc34b62c6b75306ba97ca678e48b0a8a14bf0df0d335b7cce139"


def test_recording_the_truth_leaves_the_default_event_stream_byte_for_byte_unchanged() -> None:
    codec = Codec()
    digest = hashlib.sha256()
    n = 0
    for event in simulate(SimConfig(duration_s=7_200)):
        digest.update(codec.encode(event))
        n += 1
    assert (n, digest.hexdigest()) == (14_934, DIGEST_2H)


@pytest.fixture(scope="module")
def config() -> SimConfig:
    return SimConfig(duration_s=SIX_HOURS)


@pytest.fixture(scope="module")
def truth(config: SimConfig) -> Truth:
    return planted(config)


@pytest.fixture(scope="module")
def liquidations(config: SimConfig) -> dict[str, list[Liquidation]]:
    out: dict[str, list[Liquidation]] = defaultdict(list)
    for e in simulate(config):
        if isinstance(e, Liquidation):
            out[e.symbol].append(e)
    return out


def test_planting_is_deterministic(config: SimConfig, truth: Truth) -> None:
    assert planted(config) == truth
    assert planted(SimConfig(duration_s=SIX_HOURS, seed=8)) != truth


def test_hunts_exist_in_both_symbols_ordered_and_inside_the_run(
    config: SimConfig, truth: Truth
) -> None:
    assert {h.symbol for h in truth.hunts} == set(config.symbols)
    starts = [h.start_ns for h in truth.hunts]
    assert starts == sorted(starts)
    end_of_run = config.start_ns + config.duration_s * NS
    for h in truth.hunts:
        assert config.start_ns <= h.start_ns < h.end_ns <= end_of_run
        assert (h.start_ns - config.start_ns) % NS == 0  # hunts start and end on ticks
        assert (h.end_ns - config.start_ns) % NS == 0
    for symbol in config.symbols:  # one hunt at a time per symbol
        own = [h for h in truth.hunts if h.symbol == symbol]
        assert all(a.end_ns <= b.start_ns for a, b in pairwise(own))


def test_hunt_prices_line_up_in_their_direction(truth: Truth) -> None:
    for h in truth.hunts:
        sign = -1 if h.direction == "down" else 1
        tick = Decimal(1).scaleb(-SPECS[h.symbol].price_decimals)
        # start, then the aimed-at level at least two 0.1% bins away, then the overshoot
        assert sign * (h.level_price - h.start_price) > h.start_price * Decimal("0.001")
        assert sign * (h.target_price - h.level_price) > 0
        assert sign * (h.extreme_price - h.start_price) >= 0
        for price in (h.level_price, h.target_price, h.start_price, h.extreme_price):
            assert price % tick == 0


def test_reached_means_the_mark_got_to_the_target(truth: Truth) -> None:
    for h in truth.hunts:
        sign = -1 if h.direction == "down" else 1
        beyond = sign * (h.extreme_price - h.target_price)
        assert h.reached == (h.ended_by == "target")
        if h.reached:
            assert beyond >= 0
        else:
            assert beyond <= 0  # short of it (equal only by rounding to the tick)
        assert (h.outcome == "unfinished") == (h.ended_by == "end_of_run")


def test_hunt_liquidations_are_the_prints_of_its_ticks(
    truth: Truth, liquidations: dict[str, list[Liquidation]]
) -> None:
    ended_by_liquidation = 0
    for h in truth.hunts:
        # Positions crossed at the end of tick k print within the following second.
        prints = [e for e in liquidations[h.symbol] if h.start_ns + NS < e.ts_event < h.end_ns + NS]
        assert h.liquidations == len(prints)
        assert h.liquidated_usd == sum((e.price * e.qty for e in prints), Decimal(0))
        if h.ended_by == "liquidation":
            ended_by_liquidation += 1
            assert h.liquidations > 0
        if h.ended_by in ("target", "timeout", "end_of_run") and not h.liquidations:
            assert h.liquidated_usd == 0
    assert ended_by_liquidation > 0


def test_cascades_partition_the_liquidations(
    config: SimConfig, truth: Truth, liquidations: dict[str, list[Liquidation]]
) -> None:
    for symbol in config.symbols:
        own = [c for c in truth.cascades if c.symbol == symbol]
        prints = liquidations[symbol]
        assert sum(c.count for c in own) == len(prints) > 0
        total = sum((e.price * e.qty for e in prints), Decimal(0))
        assert sum((c.notional_usd for c in own), Decimal(0)) == total
        for side in ("long", "short"):
            runs = [c for c in own if c.side == side]
            side_prints = [e for e in prints if e.position_side == side]
            assert [c.start_ns for c in runs] == sorted(c.start_ns for c in runs)
            assert all(b.start_ns - a.end_ns > 60 * NS for a, b in pairwise(runs))
            i = 0
            for c in runs:
                members = side_prints[i : i + c.count]
                i += c.count
                assert (c.start_ns, c.end_ns) == (members[0].ts_event, members[-1].ts_event)
                assert (c.price_from, c.price_to) == (members[0].price, members[-1].price)
                assert all(b.ts_event - a.ts_event <= 60 * NS for a, b in pairwise(members))
            assert i == len(side_prints)
    assert max(c.count for c in truth.cascades) >= 10


def test_the_cascade_gap_is_a_parameter(config: SimConfig, truth: Truth) -> None:
    short = SimConfig(duration_s=3_600)
    n_liqs = sum(isinstance(e, Liquidation) for e in simulate(short))
    assert len(planted(short, cascade_gap_s=0).cascades) == n_liqs  # no two prints share a ns
    assert len(planted(short, cascade_gap_s=600).cascades) < len(planted(short).cascades)
    with pytest.raises(ValueError, match="cascade_gap_s"):
        planted(short, cascade_gap_s=-1)


def test_the_demo_day_truth() -> None:
    """The demo day (seed 7, 24 h, BTCUSDT + ETHUSDT): the figures quoted to detector authors."""
    day = planted(SimConfig(seed=7, duration_s=86_400))
    tally: Counter[tuple[str, str, str]] = Counter(
        (h.symbol, h.ended_by, h.outcome) for h in day.hunts
    )
    assert tally == {
        ("BTCUSDT", "liquidation", "reversed"): 32,
        ("BTCUSDT", "liquidation", "stuck"): 16,
        ("BTCUSDT", "timeout", "stuck"): 1,
        ("ETHUSDT", "liquidation", "reversed"): 22,
        ("ETHUSDT", "liquidation", "stuck"): 14,
        ("ETHUSDT", "target", "stuck"): 1,
    }
    cascades = Counter((c.symbol, c.count >= 10) for c in day.cascades)
    assert cascades == {
        ("BTCUSDT", False): 68, ("BTCUSDT", True): 29,
        ("ETHUSDT", False): 59, ("ETHUSDT", True): 27,
    }  # fmt: skip
    assert sum(c.count for c in day.cascades) == 1_093 + 972
    [hit] = [h for h in day.hunts if h.reached]
    sign = -1 if hit.direction == "down" else 1
    assert sign * (hit.extreme_price - hit.target_price) >= 0


# -- the recording in PricePath itself ---------------------------------------------------------


def _run_hunt(gap: float, duration_s: int) -> PricePath:
    path = PricePath(SPECS["BTCUSDT"], random.Random(1))
    factor = MarketFactor(random.Random(2))
    start = path.log_mark
    path.start_hunt(0, start + gap, duration_s, start + 0.9 * gap)
    for t in range(1, 2 * duration_s):
        factor.step()
        path.step(t, factor, 1.0)
        if not path.hunting:
            break
    return path


def test_a_hunt_that_reaches_its_target_is_recorded_so() -> None:
    path = _run_hunt(-0.0005, 300)  # near: the noise carries the mark there early
    [hunt] = path.hunts
    assert (hunt.ended_by, hunt.direction, hunt.start_s) == ("target", -1, 0)
    assert hunt.end_s is not None
    assert 0 < hunt.end_s < 300
    assert hunt.extreme_log <= hunt.target_log < hunt.start_log
    assert hunt.stuck in (True, False)
    assert not path.hunting


def test_a_hunt_whose_time_runs_out_is_recorded_so() -> None:
    # The mark follows only 95% of the push, so a far target is not reached by the deadline.
    path = _run_hunt(-0.05, 30)
    [hunt] = path.hunts
    assert (hunt.ended_by, hunt.direction, hunt.end_s) == ("timeout", -1, 30)
    assert hunt.target_log < hunt.extreme_log < hunt.start_log
    assert math.isclose(hunt.extreme_log - hunt.start_log, -0.05 * 0.95, rel_tol=0.05)
