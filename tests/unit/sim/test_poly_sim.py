"""The Polymarket simulator: determinism, ids, ordering, and the world it promises: skilled
wallets that quant.md §7.4 calls smart, a synced group that §8 calls a synced cluster, and crypto
markets the hybrid fuser maps to the perps simulator's coins."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from itertools import pairwise

import pytest

from events.base import Event
from events.market import Trade
from events.poly import PolyBook, PolyMarket, PolyResolved, PolyTrade
from helix.codec import Codec
from helix.quant.syncgraph import clusters, co_entry_graph, first_entries
from helix.quant.wallets import WalletBook, WalletFill
from helix.sim import SimConfig
from helix.sim.poly import PolySimConfig, Population, population, simulate_poly
from helix.strategies.hybrid import coin_symbol, poly_direction

CONFIG = PolySimConfig(day_hours=3)
DAY = 86_400 * 1_000_000_000


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return list(simulate_poly(CONFIG))


@pytest.fixture(scope="module")
def pop() -> Population:
    return population(CONFIG)


def fills(events: list[Event]) -> list[WalletFill]:
    return [
        WalletFill(e.wallet, e.condition_id, e.outcome, e.side, e.size, e.price, e.ts_event)
        for e in events
        if isinstance(e, PolyTrade)
    ]


def test_same_config_same_events_other_seed_other_events(events: list[Event]) -> None:
    codec = Codec()
    again = list(simulate_poly(CONFIG))
    assert [codec.encode(e) for e in again] == [codec.encode(e) for e in events]
    other = list(simulate_poly(PolySimConfig(day_hours=3, seed=8)))
    assert {e.event_id for e in other}.isdisjoint({e.event_id for e in events})


def test_ids_unique_time_ordered_and_anchored(events: list[Event]) -> None:
    assert len({e.event_id for e in events}) == len(events)
    assert all(a.ts_event <= b.ts_event for a, b in pairwise(events))
    start = SimConfig().start_ns
    assert CONFIG.start_ns == start  # the perps simulator's day
    assert events[0].ts_event >= start - CONFIG.history_days * DAY
    assert events[-1].ts_event < start + 3 * 3600 * 1_000_000_000
    kinds = Counter(type(e).__name__ for e in events)
    assert kinds["PolyResolved"] == CONFIG.resolved_markets
    assert kinds["PolyTrade"] > 500
    assert kinds["PolyBook"] > 50
    resolved = [e for e in events if isinstance(e, PolyResolved)]
    assert all(e.ts_event < start for e in resolved)  # history only: open markets stay open
    assert all(sum(e.payouts) == 1 for e in resolved)


def test_clob_prints_are_polymarket_trades_of_listed_tokens(events: list[Event]) -> None:
    tokens = {t for e in events if isinstance(e, PolyMarket) for t in e.token_ids}
    prints = [e for e in events if isinstance(e, Trade)]
    assert prints
    assert all(p.venue == "polymarket" and p.symbol in tokens for p in prints)
    traded = {(e.token_id, e.price, e.size) for e in events if isinstance(e, PolyTrade)}
    assert sum((p.symbol, p.price, p.qty) in traded for p in prints) >= len(traded)
    books = [e for e in events if isinstance(e, PolyBook)]
    assert all(b.symbol in tokens and b.ask_depth > 0 for b in books)
    assert all(b.best_bid is not None and b.best_ask is not None and b.best_bid < b.best_ask
               for b in books)  # fmt: skip


def test_skilled_wallets_become_smart_and_no_other_does(
    events: list[Event], pop: Population
) -> None:
    book = WalletBook()
    for e in events:
        if isinstance(e, PolyTrade):
            book.apply(WalletFill(e.wallet, e.condition_id, e.outcome, e.side, e.size, e.price,
                                  e.ts_event))  # fmt: skip
        elif isinstance(e, PolyResolved):
            book.resolve(e.condition_id, dict(zip(e.outcomes, e.payouts, strict=True)), e.ts_event)
    smart = {w for w in book.wallets() if book.metrics(w).smart}
    assert smart == set(pop.skilled)
    for w in pop.skilled:
        m = book.metrics(w)
        assert (m.smart_score >= 30, m.n_resolved >= 20) == (True, True), m
    assert len(list(book.wallets())) >= 0.9 * CONFIG.wallets  # most wallets traded


def test_synced_group_is_the_one_synced_cluster(events: list[Event], pop: Population) -> None:
    entries = first_entries(fills(events), Decimal(50))
    graph = co_entry_graph(entries, 600 * 1_000_000_000, 2)
    synced = [c for c in clusters(graph, 3) if c.synced]
    assert [c.members for c in synced] == [tuple(sorted(pop.synced))]
    assert len(synced[0].markets) >= 2


def test_crypto_markets_map_to_perps_coins_with_a_direction(events: list[Event]) -> None:
    open_markets = {
        e.question: e for e in events if isinstance(e, PolyMarket) and e.end_ts and
        e.end_ts > CONFIG.start_ns and not e.closed
    }  # fmt: skip
    coins = {coin_symbol(q): poly_direction(q, "Yes") for q in open_markets}
    assert coins["BTCUSDT"] == "up"
    assert coins["ETHUSDT"] == "down"
    assert set(SimConfig().symbols) <= set(coins)  # the perps demo's coins
