"""``helix bench quant`` end to end on small windows (no timing asserted: see ``helix bench``).

It is marked ``integration`` like the other bench smoke tests, so it runs with them. It needs no
services: the candles are simulated in memory.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from helix.bench.quant import run_model, run_quant_bench, simulated_candles

pytestmark = pytest.mark.integration


def test_bench_quant_runs() -> None:
    res = run_quant_bench(candles=3_000, repeat=2, display_every=100, progress=lambda _m: None)
    assert res.shape == (30, 250)
    [fig] = res.figures
    assert fig.unit == "candles/s"
    assert fig.ours > 0
    assert fig.baseline > 0
    assert len(res.model_s) == len(res.baseline_s) == 2
    assert res.peak_mb > 0
    assert len(res.details()) == 5


def test_simulated_candles_are_seeded_and_consistent() -> None:
    a, b = simulated_candles(5_000, seed=3), simulated_candles(5_000, seed=3)
    assert np.array_equal(a.close, b.close)
    assert np.array_equal(a.open_interest, b.open_interest)
    assert not np.array_equal(a.close, simulated_candles(5_000, seed=4).close)
    assert np.all(a.low <= a.close)
    assert np.all(a.close <= a.high)
    assert np.all(a.open_interest > 0)
    assert np.all(a.taker_buy_quote > 0)
    assert np.all(np.diff(a.ts) == 60_000_000_000)
    # Open interest both rises and falls from one minute to the next, so levels open and close.
    d_oi = np.diff(a.open_interest)
    assert 0.3 < np.mean(d_oi > 0) < 0.7


def test_model_output_is_a_heatmap_with_clusters() -> None:
    c = simulated_candles(20_000, seed=5)
    out = run_model(c, display_every=1_000)
    assert out.heatmap.long.shape == (20, 250)
    assert out.heatmap.total[-1].sum() > 0
    assert out.clusters
    assert out.target in out.clusters


def test_cli_prints_figures_and_details() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "helix.cli", "bench", "quant", "--candles", "3000", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "candles/s" in res.stdout
    assert "np.histogram2d" in res.stdout
    assert "first call" in res.stdout
