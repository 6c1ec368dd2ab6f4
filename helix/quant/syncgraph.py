"""The wallet-sync graph of quant.md §8: wallets that enter the same outcome at the same time.

Pure, no I/O; networkx builds the graph.

* Only BUY fills count, fills below ``min_notional`` ($50) are dropped, and each wallet's
  **first** BUY per (market, outcome) is its entry (:func:`first_entries`).
* Wallets a and b co-enter on (m, o) when ``|t_a − t_b| ≤ Δt``.  The edge weight is the number
  of distinct (market, outcome) pairs with a co-entry; edges with ``weight < w_min`` are
  dropped, but every wallet with an entry stays a node (:func:`co_entry_graph`).
* Clusters are connected components with ≥ 3 nodes; each carries the unweighted density of its
  induced subgraph (``nx.density``), its 2-core and the pairs its edges were built on.
  **Synced ⇔ density > 0.5** (:func:`clusters`).
* ``cluster_id`` = the first 16 hex digits of sha1 over the sorted members joined by ``","``.
* :func:`cluster_share`: a cluster's share of one market side's BUY volume since a time (the
  checklist item "No wash/sync dominance" of §6.6).

Louvain (:func:`louvain_clusters`) splits large components; its partition depends on the seed
and the networkx version, so only its invariants are tested.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal

import networkx as nx  # type: ignore[import-untyped,unused-ignore]

from helix.quant.wallets import WalletFill

MIN_NOTIONAL = Decimal(50)
DELTA_T_NS = 600 * 1_000_000_000  # Δt = 10 min
W_MIN = 2
MIN_SIZE = 3
SYNC_DENSITY = 0.5  # synced ⇔ density > 0.5
CORE_K = 2


@dataclass(frozen=True, slots=True)
class Entry:
    """A wallet's first BUY of one outcome (``notional`` = size·price of that fill)."""

    wallet: str
    market: str
    outcome: str
    ts: int
    notional: Decimal

    @property
    def pair(self) -> str:
        """``"market:outcome"``, the label of edges and clusters."""
        return f"{self.market}:{self.outcome}"


def first_entries(
    fills: Iterable[WalletFill],
    min_notional: Decimal = MIN_NOTIONAL,
    *,
    since_ns: int | None = None,
    until_ns: int | None = None,
) -> list[Entry]:
    """First BUY per (wallet, market, outcome) among BUYs of notional ≥ ``min_notional``.

    The order of ``fills`` does not matter: the earliest ``ts`` wins (ties: the larger
    notional).  ``since_ns``/``until_ns`` bound the analysis window (inclusive).

    Returns:
        Entries sorted by (market, outcome, ts, wallet).
    """
    best: dict[tuple[str, str, str], Entry] = {}
    for f in fills:
        if f.side != "buy":
            continue
        if (since_ns is not None and f.ts < since_ns) or (until_ns is not None and f.ts > until_ns):
            continue
        notional = f.size * f.price
        if notional < min_notional:
            continue
        key = (f.wallet, f.market, f.outcome)
        cur = best.get(key)
        if cur is None or (f.ts, -notional) < (cur.ts, -cur.notional):
            best[key] = Entry(f.wallet, f.market, f.outcome, f.ts, notional)
    return sorted(best.values(), key=lambda e: (e.market, e.outcome, e.ts, e.wallet))


def co_entries(entries: Iterable[Entry], delta_t_ns: int) -> dict[tuple[str, str], set[str]]:
    """Every co-entering wallet pair ``(a, b)`` (a < b) with the set of ``"market:outcome"``
    pairs where ``|t_a − t_b| ≤ delta_t_ns``.  A wallet listed twice on one pair counts at its
    earliest time."""
    groups: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for e in entries:
        g = groups[(e.market, e.outcome)]
        t = g.get(e.wallet)
        if t is None or e.ts < t:
            g[e.wallet] = e.ts
    pairs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (market, outcome), g in groups.items():
        label = f"{market}:{outcome}"
        timeline = sorted((t, w) for w, t in g.items())
        lo = 0
        for hi in range(len(timeline)):
            t_hi, w_hi = timeline[hi]
            while t_hi - timeline[lo][0] > delta_t_ns:
                lo += 1
            for k in range(lo, hi):
                w_lo = timeline[k][1]
                pairs[(w_lo, w_hi) if w_lo < w_hi else (w_hi, w_lo)].add(label)
    return dict(pairs)


def co_entry_graph(
    entries: Iterable[Entry], delta_t_ns: int = DELTA_T_NS, w_min: int = W_MIN
) -> nx.Graph[str]:
    """The undirected co-entry graph (an ``nx.Graph``).

    Nodes are all wallets of ``entries`` (isolated ones included, they count in the whole-graph
    density); edge attributes are ``weight`` (distinct co-entry pairs) and ``markets`` (their
    sorted ``"market:outcome"`` labels).  Nodes and edges are inserted in sorted order, so the
    graph does not depend on the order of ``entries``.
    """
    entries = list(entries)
    g: nx.Graph[str] = nx.Graph()
    g.add_nodes_from(sorted({e.wallet for e in entries}))
    for (a, b), labels in sorted(co_entries(entries, delta_t_ns).items()):
        if len(labels) >= w_min:
            g.add_edge(a, b, weight=len(labels), markets=tuple(sorted(labels)))
    return g


def cluster_id(members: Iterable[str]) -> str:
    """First 16 hex digits of sha1 over the sorted members joined by ``","``."""
    return hashlib.sha1(",".join(sorted(members)).encode(), usedforsecurity=False).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Cluster:
    """A connected component of the co-entry graph (or a Louvain community of one)."""

    cluster_id: str
    members: tuple[str, ...]
    density: float
    edges: int
    core: tuple[str, ...]
    markets: tuple[str, ...]

    @property
    def synced(self) -> bool:
        """Density > 0.5 (§8.1)."""
        return self.density > SYNC_DENSITY


def density(graph: nx.Graph[str]) -> float:
    """Unweighted networkx density ``2m/(n(n−1))`` (0 for fewer than 2 nodes)."""
    return float(nx.density(graph))


def _cluster(graph: nx.Graph[str], nodes: Collection[str], core_k: int) -> Cluster:
    sub = graph.subgraph(nodes)
    members = tuple(sorted(sub.nodes))
    labels: set[str] = set()
    for _, _, data in sub.edges(data=True):
        labels.update(data.get("markets", ()))
    core = tuple(sorted(nx.k_core(nx.Graph(sub), core_k).nodes))
    return Cluster(
        cluster_id=cluster_id(members),
        members=members,
        density=density(sub),
        edges=int(sub.number_of_edges()),
        core=core,
        markets=tuple(sorted(labels)),
    )


def _sorted(found: list[Cluster]) -> list[Cluster]:
    return sorted(found, key=lambda c: (-len(c.members), c.members))


def clusters(
    graph: nx.Graph[str], min_size: int = MIN_SIZE, *, core_k: int = CORE_K
) -> list[Cluster]:
    """Connected components with ≥ ``min_size`` nodes, largest first (ties: by members)."""
    found = [
        _cluster(graph, comp, core_k)
        for comp in nx.connected_components(graph)
        if len(comp) >= min_size
    ]
    return _sorted(found)


def louvain_clusters(
    graph: nx.Graph[str],
    min_size: int = MIN_SIZE,
    *,
    seed: int = 0,
    resolution: float = 1.0,
    core_k: int = CORE_K,
) -> list[Cluster]:
    """Louvain communities (``weight="weight"``) of ≥ ``min_size`` nodes, as clusters.

    The partition depends on ``seed`` and the networkx version: use it to split large
    components, never as a stable identity.
    """
    comms = nx.community.louvain_communities(
        graph, weight="weight", resolution=resolution, seed=seed
    )
    return _sorted([_cluster(graph, c, core_k) for c in comms if len(c) >= min_size])


def cluster_share(
    fills: Iterable[WalletFill],
    members: Collection[str],
    market: str,
    outcome: str,
    since_ns: int,
    until_ns: int | None = None,
) -> float:
    """Share of the members' BUY notional in all BUY notional on (market, outcome) with
    ``since_ns ≤ ts`` (and ``ts ≤ until_ns`` when given).  Every BUY counts, whatever its
    size; 0.0 without volume."""
    who = set(members)
    total = Decimal(0)
    ours = Decimal(0)
    for f in fills:
        if (
            f.side != "buy"
            or f.market != market
            or f.outcome != outcome
            or f.ts < since_ns
            or (until_ns is not None and f.ts > until_ns)
        ):
            continue
        n = f.size * f.price
        total += n
        if f.wallet in who:
            ours += n
    return float(ours / total) if total > 0 else 0.0
