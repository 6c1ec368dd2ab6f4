"""Tests for ``helix.quant.syncgraph`` (quant.md §8): every TV-8 number, first entries,
cluster ids and shares, and hypothesis properties (order independence, density bounds).
Louvain partitions are not unit-tested (seed and version dependent), only their invariants."""

from __future__ import annotations

import hashlib
import random
from decimal import Decimal

import networkx as nx  # type: ignore[import-untyped,unused-ignore]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helix.quant.syncgraph import (
    Cluster,
    Entry,
    cluster_id,
    cluster_share,
    clusters,
    co_entries,
    co_entry_graph,
    density,
    first_entries,
    louvain_clusters,
)
from helix.quant.wallets import WalletFill
from tests.unit.quant.test_wallets import MIDTERMS, midterm_fills

D = Decimal
MIN = 60 * 1_000_000_000
DT = 10 * MIN

TV8 = {  # (market, outcome): [(wallet, minute)]
    ("M1", "YES"): [("W1", 0), ("W2", 3), ("W3", 8), ("W5", 40)],
    ("M2", "YES"): [("W1", 100), ("W2", 104), ("W3", 130)],
    ("M2", "NO"): [("W4", 101)],
    ("M3", "NO"): [("W1", 200), ("W3", 205), ("W2", 207)],
    ("M4", "YES"): [("W4", 300), ("W5", 302)],
    ("M5", "YES"): [("W3", 400), ("W5", 404)],
    ("M6", "YES"): [("W3", 500), ("W5", 509)],
}


def tv8_fills() -> list[WalletFill]:
    return [
        WalletFill(w, m, o, "buy", D(100), D("0.60"), t * MIN)
        for (m, o), rows in TV8.items()
        for w, t in rows
    ]


def tv8_graph(w_min: int) -> nx.Graph[str]:
    return co_entry_graph(first_entries(tv8_fills()), DT, w_min)


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6


def test_tv8_co_entry_counts() -> None:
    counts = {k: len(v) for k, v in co_entries(first_entries(tv8_fills()), DT).items()}
    assert counts == {
        ("W1", "W2"): 3,
        ("W1", "W3"): 2,
        ("W2", "W3"): 2,
        ("W3", "W5"): 2,
        ("W4", "W5"): 1,
    }


def test_tv8_w_min_2() -> None:
    g = tv8_graph(2)
    weights = {tuple(sorted((a, b))): d["weight"] for a, b, d in g.edges(data=True)}
    assert weights == {("W1", "W2"): 3, ("W1", "W3"): 2, ("W2", "W3"): 2, ("W3", "W5"): 2}
    assert sorted(g.nodes) == ["W1", "W2", "W3", "W4", "W5"]
    assert g.degree("W4") == 0
    assert close(density(g), 0.4)
    [c] = clusters(g)
    assert c.members == ("W1", "W2", "W3", "W5")
    assert c.edges == 4
    assert close(c.density, 0.666667)
    assert c.synced
    assert c.core == ("W1", "W2", "W3")
    assert density(g.subgraph(c.core)) == 1.0
    assert c.markets == ("M1:YES", "M2:YES", "M3:NO", "M5:YES", "M6:YES")
    assert g.edges["W1", "W2"]["markets"] == ("M1:YES", "M2:YES", "M3:NO")


def test_tv8_w_min_1() -> None:
    g = tv8_graph(1)
    assert g.edges["W4", "W5"]["weight"] == 1
    assert close(density(g), 0.5)
    [c] = clusters(g)
    assert c.members == ("W1", "W2", "W3", "W4", "W5")
    assert c.edges == 5
    assert close(c.density, 0.5)
    assert not c.synced  # needs > 0.5
    assert c.core == ("W1", "W2", "W3")


def test_tv8_min_size_drops_small_components() -> None:
    assert clusters(tv8_graph(3)) == []  # only W1–W2 survives: 2 nodes
    assert [c.members for c in clusters(tv8_graph(3), min_size=2)] == [("W1", "W2")]


def test_first_entries_filters_and_keeps_the_first_buy() -> None:
    fills = [
        WalletFill("a", "M", "YES", "buy", D(100), D("0.6"), 50),
        WalletFill("a", "M", "YES", "buy", D(100), D("0.6"), 10),  # earlier, out of order
        WalletFill("a", "M", "YES", "buy", D(999), D("0.9"), 5),
        WalletFill("a", "M", "NO", "sell", D(1000), D("0.5"), 1),  # sells never count
        WalletFill("b", "M", "YES", "buy", D("99.99"), D("0.5"), 1),  # $49.995 < $50
        WalletFill("b", "M", "YES", "buy", D(100), D("0.5"), 7),  # exactly $50 counts
    ]
    assert first_entries(fills) == [
        Entry("a", "M", "YES", 5, D("899.1")),
        Entry("b", "M", "YES", 7, D("50.0")),
    ]
    assert [(e.wallet, e.ts) for e in first_entries(fills, since_ns=6)] == [("b", 7), ("a", 10)]
    assert [e.wallet for e in first_entries(fills, until_ns=6)] == ["a"]
    assert [(e.wallet, e.ts) for e in first_entries(fills, min_notional=D(0))] == [
        ("b", 1),
        ("a", 5),
    ]


def test_co_entry_window_is_inclusive() -> None:
    entries = [Entry("a", "M", "Y", 0, D(60)), Entry("b", "M", "Y", DT, D(60))]
    assert co_entries(entries, DT) == {("a", "b"): {"M:Y"}}
    assert co_entries(entries, DT - 1) == {}


def test_cluster_id_is_sha1_of_sorted_members() -> None:
    expected = hashlib.sha1(b"W1,W2,W3,W5", usedforsecurity=False).hexdigest()[:16]
    assert cluster_id(["W5", "W3", "W1", "W2"]) == expected
    assert len(expected) == 16
    [c] = clusters(tv8_graph(2))
    assert c.cluster_id == expected


def test_cluster_synced_threshold() -> None:
    def at(d: float) -> Cluster:
        return Cluster("x", ("a", "b", "c"), d, 2, (), ())

    assert not at(0.5).synced
    assert at(0.5000001).synced


def test_cluster_share_of_a_market_side() -> None:
    fills = [
        WalletFill("W1", "M", "YES", "buy", D(100), D("0.5"), 10),  # 50
        WalletFill("W2", "M", "YES", "buy", D(10), D("0.5"), 20),  # 5 (small fills count)
        WalletFill("X", "M", "YES", "buy", D(90), D("0.5"), 30),  # 45
        WalletFill("W1", "M", "YES", "sell", D(1000), D("0.5"), 30),  # sells: no
        WalletFill("W1", "M", "NO", "buy", D(1000), D("0.5"), 30),  # other side: no
        WalletFill("W1", "N", "YES", "buy", D(1000), D("0.5"), 30),  # other market: no
        WalletFill("W1", "M", "YES", "buy", D(1000), D("0.5"), 5),  # before the window
    ]
    assert cluster_share(fills, ("W1", "W2"), "M", "YES", since_ns=10) == 0.55
    assert cluster_share(fills, ("W1", "W2"), "M", "YES", 10, until_ns=20) == 1.0
    assert cluster_share(fills, ("W1",), "M", "NO", since_ns=31) == 0.0


# --- properties -------------------------------------------------------------------------------

ENTRIES = st.lists(
    st.builds(
        Entry,
        wallet=st.sampled_from([f"w{i}" for i in range(8)]),
        market=st.sampled_from(["m1", "m2", "m3", "m4"]),
        outcome=st.sampled_from(["YES", "NO"]),
        ts=st.integers(0, 60).map(lambda m: m * MIN),
        notional=st.just(D(100)),
    ),
    max_size=40,
)


def snapshot(g: nx.Graph[str]) -> tuple[list[str], list[tuple[str, str, int, tuple[str, ...]]]]:
    edges = sorted((*sorted((a, b)), d["weight"], d["markets"]) for a, b, d in g.edges(data=True))
    return list(g.nodes), edges


@settings(max_examples=100, deadline=None)
@given(ENTRIES, st.integers(1, 3), st.randoms(use_true_random=False))
def test_graph_does_not_depend_on_entry_order(
    entries: list[Entry], w_min: int, rnd: random.Random
) -> None:
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    a = co_entry_graph(entries, DT, w_min)
    b = co_entry_graph(shuffled, DT, w_min)
    assert snapshot(a) == snapshot(b)
    assert clusters(a) == clusters(b)


@settings(max_examples=100, deadline=None)
@given(ENTRIES, st.integers(1, 3))
def test_density_bounds_and_cluster_invariants(entries: list[Entry], w_min: int) -> None:
    g = co_entry_graph(entries, DT, w_min)
    assert 0.0 <= density(g) <= 1.0
    seen: set[str] = set()
    for c in clusters(g):
        assert 0.0 <= c.density <= 1.0
        assert len(c.members) >= 3
        assert list(c.members) == sorted(c.members)
        assert set(c.core) <= set(c.members)
        assert seen.isdisjoint(c.members)
        seen.update(c.members)
        assert c.cluster_id == cluster_id(c.members)
        assert all(d["weight"] >= w_min for _, _, d in g.subgraph(c.members).edges(data=True))
        n = len(c.members)
        assert close(c.density, 2 * c.edges / (n * (n - 1)))


@settings(max_examples=50, deadline=None)
@given(ENTRIES)
def test_louvain_communities_partition_the_nodes(entries: list[Entry]) -> None:
    g = co_entry_graph(entries, DT, 1)
    found = louvain_clusters(g, min_size=1, seed=7)
    members = [m for c in found for m in c.members]
    assert sorted(members) == sorted(g.nodes)


def test_louvain_on_tv8_keeps_min_size() -> None:
    for c in louvain_clusters(tv8_graph(1), seed=1):
        assert len(c.members) >= 3


@pytest.mark.parametrize("w_min", [1, 2])
def test_first_entries_order_does_not_matter(w_min: int) -> None:
    fills = tv8_fills()
    rnd = random.Random(3)
    shuffled = list(fills)
    rnd.shuffle(shuffled)
    assert first_entries(fills) == first_entries(shuffled)
    assert snapshot(tv8_graph(w_min)) == snapshot(
        co_entry_graph(first_entries(shuffled), DT, w_min)
    )


@pytest.mark.skipif(not MIDTERMS.is_dir(), reason="shared data not present")
def test_midterms_sync_graph_invariants() -> None:
    entries = first_entries(midterm_fills())
    assert all(e.notional >= 50 for e in entries)
    g = co_entry_graph(entries)
    assert all(d["weight"] >= 2 for _, _, d in g.edges(data=True))
    found = clusters(g)
    assert found  # the 2022 midterms do hold co-entering wallets
    for c in found:
        assert len(c.members) >= 3
        assert 0.0 < c.density <= 1.0
    loose = clusters(co_entry_graph(entries, w_min=1))
    assert max(len(c.members) for c in loose) >= max(len(c.members) for c in found)
