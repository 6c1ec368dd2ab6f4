"""``helix bench cluster`` runs end to end on a tiny size (no timing asserted)."""

from __future__ import annotations

import pytest

from helix.bench.cluster import run_cluster_bench
from tests.services import RunningServices

pytestmark = pytest.mark.integration


async def test_bench_cluster_runs(services: RunningServices) -> None:
    figures = await run_cluster_bench(
        services.database_url, events=2_000, repeat=1, workers=2, progress=lambda _m: None
    )
    assert [f.baseline_name for f in figures] == [
        "same appender, R1 stream",
        "same projector, R1 stream",
        "one worker, same R3 stream",
    ]
    assert all(f.ours > 0 and f.baseline > 0 for f in figures)
