"""The benchmarks run end to end on tiny sizes (no timing asserted: see `helix bench`)."""

from __future__ import annotations

import pytest

from helix.bench.projections import run_projection_bench, simulated_day
from helix.bench.store import run_store_bench
from tests.services import RunningServices

pytestmark = pytest.mark.integration


async def test_bench_store_runs(services: RunningServices) -> None:
    figures = await run_store_bench(
        services.nats_url,
        services.database_url,
        events=3_000,
        saves=40,
        scenarios=((1, 2), (2, 2)),
        repeat=1,
        progress=lambda _m: None,
    )
    assert len(figures) == 5
    assert all(f.ours > 0 and f.baseline > 0 for f in figures)


async def test_bench_projections_runs(services: RunningServices) -> None:
    figures = await run_projection_bench(
        services.nats_url,
        services.database_url,
        events=simulated_day(hours=1),
        progress=lambda _m: None,
    )
    assert [f.name for f in figures] == ["log -> read models (4 projectors)"]
    assert figures[0].ours > 0


async def test_bench_orders_runs(services: RunningServices) -> None:
    from helix.bench.orders import run_orders_bench

    figures = await run_orders_bench(
        services.nats_url, services.database_url, commands=200, concurrency=4,
        progress=lambda _m: None,
    )  # fmt: skip
    assert [f.unit for f in figures] == ["commands/s", "ms", "ms"]
    assert all(f.ours > 0 and f.baseline > 0 for f in figures)


async def test_bench_backtest_runs(services: RunningServices) -> None:
    from helix.bench.backtest import run_backtest_bench

    [figure] = await run_backtest_bench(
        services.nats_url, hours=1, repeat=1, progress=lambda _m: None
    )
    assert figure.ours > 0
    assert figure.baseline > 0


async def test_bench_audit_runs(services: RunningServices) -> None:
    from helix.bench.audit import run_audit_bench

    figures = await run_audit_bench(services.nats_url, events=2_000, progress=lambda _m: None)
    assert [f.name.split(" (")[0] for f in figures] == [
        "seal",
        "verify --log",
        "Merkle tree in memory",
    ]
    assert all(f.ours > 0 and f.baseline > 0 for f in figures)
