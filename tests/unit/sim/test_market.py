"""The market simulator: determinism, ordering, ids, exact Decimals, codec round-trips, and the
market structure the signal code relies on (cascades that flush open interest, sane funding)."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from itertools import islice, pairwise

import pytest

from events.market import Liquidation, MarketEvent, Ticker, Trade, market_event_id
from helix.codec import Codec
from helix.sim import SimConfig, count_estimate, simulate
from helix.sim.paths import SPECS, liquidation_price

SIX_HOURS = 6 * 3_600
MINUTE_NS = 60 * 1_000_000_000
HOUR_NS = 3_600 * 1_000_000_000


@pytest.fixture(scope="module")
def config() -> SimConfig:
    return SimConfig(duration_s=SIX_HOURS)


@pytest.fixture(scope="module")
def events(config: SimConfig) -> list[MarketEvent]:
    return list(simulate(config))


def _of_symbol(events: list[MarketEvent], symbol: str) -> list[MarketEvent]:
    return [e for e in events if e.symbol == symbol]


def _cascade_minutes(events: list[MarketEvent], config: SimConfig, symbol: str) -> Counter[int]:
    """Liquidations per minute (since start) of one symbol, keeping minutes with at least 5."""
    per_minute = Counter(
        (e.ts_event - config.start_ns) // MINUTE_NS
        for e in events
        if isinstance(e, Liquidation) and e.symbol == symbol
    )
    return Counter({m: n for m, n in per_minute.items() if n >= 5})


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_identical_events() -> None:
    first = list(islice(simulate(SimConfig()), 2_000))
    again = list(islice(simulate(SimConfig()), 2_000))
    assert len(first) == 2_000
    assert first == again


def test_other_seed_gives_other_events() -> None:
    first = list(islice(simulate(SimConfig(seed=7)), 2_000))
    other = list(islice(simulate(SimConfig(seed=8)), 2_000))
    assert first != other
    prices = [(e.price for e in s if isinstance(e, Trade)) for s in (first, other)]
    assert list(prices[0]) != list(prices[1])


def test_a_symbol_stream_does_not_depend_on_the_other_symbols() -> None:
    both = [e for e in simulate(SimConfig(duration_s=900)) if e.symbol == "ETHUSDT"]
    alone = list(simulate(SimConfig(duration_s=900, symbols=("ETHUSDT",))))
    assert both == alone


# -- ordering, ids, envelope -------------------------------------------------------------------


def test_events_are_time_ordered(events: list[MarketEvent], config: SimConfig) -> None:
    ts = [e.ts_event for e in events]
    assert ts == sorted(ts)
    assert ts[0] == config.start_ns
    assert ts[-1] < config.start_ns + (config.duration_s + 1) * 1_000_000_000
    for symbol in config.symbols:
        own = [e.ts_event for e in _of_symbol(events, symbol)]
        assert all(a < b for a, b in pairwise(own)), symbol


def test_ids_are_unique_and_derived_from_natural_keys(events: list[MarketEvent]) -> None:
    assert len({e.event_id for e in events}) == len(events)
    trade_ids = [(e.symbol, e.trade_id) for e in events if isinstance(e, Trade)]
    liq_keys = [(e.symbol, e.key) for e in events if isinstance(e, Liquidation)]
    assert len(set(trade_ids)) == len(trade_ids)
    assert len(set(liq_keys)) == len(liq_keys)
    sample = events[:: max(1, len(events) // 500)]
    for e in sample + [e for e in events if not isinstance(e, Trade)]:
        assert e.event_id == market_event_id(e.venue, e.KIND, e.symbol, e.natural_key)


def test_trade_ids_count_up_per_symbol(events: list[MarketEvent], config: SimConfig) -> None:
    for symbol in config.symbols:
        ids = [e.trade_id for e in _of_symbol(events, symbol) if isinstance(e, Trade)]
        assert ids[:3] == [f"{symbol}-1", f"{symbol}-2", f"{symbol}-3"]
        assert ids[-1] == f"{symbol}-{len(ids)}"


def test_envelope_fields(events: list[MarketEvent]) -> None:
    for e in events:
        assert e.source == "sim"
        assert e.vertical == "perps"
        assert e.venue == "sim"
        assert 1_000_000 <= e.ts_recorded - e.ts_event <= 20_000_000


def test_all_events_round_trip_through_the_codec(events: list[MarketEvent]) -> None:
    codec = Codec()
    for e in events:
        assert codec.decode(codec.encode(e)) == e


# -- exact money ---------------------------------------------------------------------------------


def test_prices_and_quantities_are_decimals_on_tick_and_step(
    events: list[MarketEvent], config: SimConfig
) -> None:
    for symbol in config.symbols:
        spec = SPECS[symbol]
        tick = Decimal(1).scaleb(-spec.price_decimals)
        step = Decimal(1).scaleb(-spec.qty_decimals)
        for e in _of_symbol(events, symbol):
            if isinstance(e, Trade | Liquidation):
                assert type(e.price) is Decimal
                assert type(e.qty) is Decimal
                assert e.price > 0
                assert e.qty > 0
                assert e.price % tick == 0
                assert e.qty % step == 0
                assert e.price.as_tuple().exponent == -spec.price_decimals
            elif isinstance(e, Ticker):
                for px in (e.mark_price, e.index_price, e.last_price):
                    assert isinstance(px, Decimal)
                    assert px > 0
                    assert px % tick == 0
                assert isinstance(e.open_interest, Decimal)
                assert e.open_interest % step == 0
                assert e.mark_price is not None
                assert e.open_interest_value is not None
                expected = (e.open_interest * e.mark_price).quantize(Decimal("0.01"))
                assert e.open_interest_value == expected


def test_prices_stay_positive_and_in_a_sane_band(
    events: list[MarketEvent], config: SimConfig
) -> None:
    for symbol in config.symbols:
        start = SPECS[symbol].start_price
        prices = [float(e.price) for e in _of_symbol(events, symbol) if isinstance(e, Trade)]
        assert 0.85 * start < min(prices) <= max(prices) < 1.15 * start
        for t in _of_symbol(events, symbol):
            if isinstance(t, Ticker):
                assert t.mark_price is not None
                assert t.index_price is not None
                assert abs(float(t.mark_price / t.index_price) - 1.0) < 0.01


def test_there_is_about_one_trade_per_second(events: list[MarketEvent], config: SimConfig) -> None:
    trades = sum(isinstance(e, Trade) for e in events)
    expected = config.duration_s / 60 * config.trades_per_minute * len(config.symbols)
    assert 0.6 * expected < trades < 1.6 * expected
    assert 0.6 * count_estimate(config) < len(events) < 1.6 * count_estimate(config)


# -- liquidations and market structure ---------------------------------------------------------


def test_liquidation_price_matches_the_reference_vectors() -> None:
    # quant.md TV-1.h (P = 100, m = 0.005) and TV-1.a (Bybit's own example: 19,700).
    longs = [liquidation_price(1, 100.0, lev) for lev in (10, 25, 50, 100)]
    shorts = [liquidation_price(-1, 100.0, lev) for lev in (10, 25, 50, 100)]
    assert longs == pytest.approx([90.5, 96.5, 98.5, 99.5])
    assert shorts == pytest.approx([109.5, 103.5, 101.5, 100.5])
    assert liquidation_price(1, 20_000.0, 50) == pytest.approx(19_700.0)


def test_each_liquidation_is_followed_by_forced_trades_in_its_direction(
    events: list[MarketEvent], config: SimConfig
) -> None:
    for symbol in config.symbols:
        own = _of_symbol(events, symbol)
        n_liq = 0
        for i, e in enumerate(own):
            if not isinstance(e, Liquidation):
                continue
            n_liq += 1
            fills = [
                f
                for f in own[i + 1 : i + 3]
                if isinstance(f, Trade) and f.ts_event - e.ts_event <= 2_000 and f.side == e.side
            ]
            assert fills, e
            assert sum(f.qty for f in fills) == e.qty
        assert n_liq > 0, symbol


def test_cascades_flush_open_interest(events: list[MarketEvent], config: SimConfig) -> None:
    for symbol in config.symbols:
        cascades = _cascade_minutes(events, config, symbol)
        assert cascades, f"no cascade (>= 5 liquidations within a minute) for {symbol}"
        minute, n = cascades.most_common(1)[0]
        assert n >= 10
        tickers = {
            (e.ts_event - config.start_ns) // MINUTE_NS: e
            for e in _of_symbol(events, symbol)
            if isinstance(e, Ticker)
        }
        before, after = tickers[minute], tickers[minute + 1]
        assert before.open_interest is not None
        assert after.open_interest is not None
        assert after.open_interest < before.open_interest
        # A flush of longs pushes price down, of shorts up.
        liqs = [
            e
            for e in _of_symbol(events, symbol)
            if isinstance(e, Liquidation) and (e.ts_event - config.start_ns) // MINUTE_NS == minute
        ]
        side = Counter(e.side for e in liqs).most_common(1)[0][0]
        assert before.last_price is not None
        assert after.last_price is not None
        moved_down = after.last_price < before.last_price
        assert moved_down == (side == "sell")


def test_liquidation_sides_and_leverage_clusters(
    events: list[MarketEvent], config: SimConfig
) -> None:
    sides = Counter(e.side for e in events if isinstance(e, Liquidation))
    assert sides["buy"] > 0
    assert sides["sell"] > 0
    # Liquidations come in bursts (clusters swept at once), not evenly spread.
    by_second: defaultdict[tuple[str, int], int] = defaultdict(int)
    for e in events:
        if isinstance(e, Liquidation):
            by_second[(e.symbol, e.ts_event // 1_000_000_000)] += 1
    assert max(by_second.values()) >= 3


def test_funding_is_sane_and_follows_the_schedule(events: list[MarketEvent]) -> None:
    rates = []
    for e in events:
        if not isinstance(e, Ticker):
            continue
        assert e.funding_rate is not None
        assert e.next_funding_ts is not None
        rates.append(e.funding_rate)
        assert abs(e.funding_rate) < Decimal("0.003")
        assert e.ts_event < e.next_funding_ts <= e.ts_event + 8 * HOUR_NS
        assert e.next_funding_ts % (8 * HOUR_NS) == 0  # 00:00, 08:00, 16:00 UTC
    assert len(set(rates)) > 10  # it moves with the premium, not a constant


def test_open_interest_moves(events: list[MarketEvent], config: SimConfig) -> None:
    for symbol in config.symbols:
        oi = [e.open_interest for e in _of_symbol(events, symbol) if isinstance(e, Ticker)]
        assert len(oi) == config.duration_s // config.ticker_every_s + 1
        assert all(v is not None and v > 0 for v in oi)
        assert len(set(oi)) > len(oi) // 2


# -- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [{"duration_s": 0}, {"symbols": ()}, {"symbols": ("DOGEUSDT",)}, {"ticker_every_s": 0}],
    ids=["zero-duration", "no-symbols", "unknown-symbol", "zero-ticker-interval"],
)
def test_invalid_configs_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        SimConfig(**kwargs)  # type: ignore[arg-type]
