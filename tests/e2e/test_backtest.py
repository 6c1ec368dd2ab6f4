"""Backtests from the CLI on the embedded services: deterministic manifests, isolation from the
live ledger subjects, reports, list/compare/strategies and a parameter grid."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from helix.store.connect import connect
from tests.e2e.test_cli import helix

pytestmark = pytest.mark.integration


def manifests(stdout: str) -> list[str]:
    return re.findall(r"^manifest ([0-9a-f]{64})$", stdout, flags=re.MULTILINE)


async def subject_counts(nats_url: str, *filters: str) -> dict[str, int]:
    nc = await connect(nats_url)
    try:
        js = nc.jetstream()
        out = {}
        for f in filters:
            info = await js.stream_info("LEDGER", subjects_filter=f)
            out[f] = sum((info.state.subjects or {}).values())
        return out
    finally:
        await nc.close()


def test_backtests_are_deterministic_isolated_and_reported(home: dict[str, str]) -> None:
    assert helix("demo", "--hours", "6", env=home, timeout=300).returncode == 0
    url = helix("services", "env", env=home).stdout
    nats_url = re.search(r"HELIX_NATS_URL=(\S+)", url).group(1)  # type: ignore[union-attr]
    live = ("ldg.signal.>", "ldg.es.>")
    before = asyncio.run(subject_counts(nats_url, *live))

    args = ["backtest", "run", "--strategy", "stop_hunt_autotrader", "--symbols", "BTCUSDT",
            "--from", "2025-01-01T01:00", "--to", "2025-01-01T06:00",
            "--params", "trader.win_prob=0.6"]  # fmt: skip
    first = helix(*args, env=home, timeout=300)
    second = helix(*args, env=home, timeout=300)
    assert first.returncode == 0, first.stderr
    [m1], [m2] = manifests(first.stdout), manifests(second.stdout)
    assert m1 == m2  # same range, strategy and parameters: byte-identical output
    assert first.stdout.rstrip().splitlines()[-1] == f"manifest {m1}"
    other = helix(*args[:-1], "trader.win_prob=0.7", env=home, timeout=300)
    [m3] = manifests(other.stdout)
    assert m3 != m1  # the parameters are part of the manifest

    # Nothing reached the live signal or trading subjects; the runs have their own.
    assert asyncio.run(subject_counts(nats_url, *live)) == before
    run_id = re.search(r"^run (\S+):", first.stdout, flags=re.MULTILINE).group(1)  # type: ignore[union-attr]
    mine = asyncio.run(subject_counts(nats_url, f"ldg.bt.{run_id}.>"))
    assert mine[f"ldg.bt.{run_id}.>"] > 1

    report = Path(home["HELIX_HOME"]) / "backtests" / run_id
    assert (report / "equity.png").read_bytes()[:4] == b"\x89PNG"
    assert m1 in (report / "report.html").read_text()
    assert '"input_hash"' in (report / "manifest.json").read_text()

    listed = helix("backtest", "list", env=home)
    assert run_id in listed.stdout
    shown = helix("backtest", "report", run_id, env=home)
    assert shown.returncode == 0
    assert "sim:BTCUSDT" in shown.stdout
    second_id = re.search(r"^run (\S+):", second.stdout, flags=re.MULTILINE).group(1)  # type: ignore[union-attr]
    compared = helix("backtest", "compare", run_id, second_id, env=home)
    assert "same" in compared.stdout
    strategies = helix("backtest", "strategies", env=home)
    assert "trader.reward_risk" in strategies.stdout

    grid = helix(*args[:-2], "--grid", "trader.reward_risk=1.5,3", env=home, timeout=600)
    assert grid.returncode == 0, grid.stderr
    assert len(manifests(grid.stdout)) == 2

    bad = helix("backtest", "run", "--strategy", "nope", env=home)
    assert bad.returncode == 3
    assert "unknown strategy 'nope'" in bad.stderr
    bad_param = helix("backtest", "run", "--strategy", "scanner", "--params", "x.y=1", env=home)
    assert bad_param.returncode == 3
    assert "unknown parameter 'x.y'" in bad_param.stderr
