"""The ``helix`` CLI as a user runs it: real processes, real services, exit codes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.services import RunningServices

pytestmark = pytest.mark.integration

HELIX = [sys.executable, "-m", "helix.cli"]


def helix(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [*HELIX, *args], capture_output=True, text=True, timeout=timeout, env=full_env, check=False
    )


@pytest.fixture
def ext(services: RunningServices) -> dict[str, str]:
    return {"HELIX_NATS_URL": services.nats_url, "HELIX_DATABASE_URL": services.database_url}


def test_help_lists_every_command_group() -> None:
    res = helix("--help")
    assert res.returncode == 0
    for group in (
        "services",
        "streams",
        "events",
        "bench",
        "db",
        "projections",
        "candles",
        "import",
        "heatmap",
        "rank",
        "signals",
        "strategies",
        "sim",
    ):
        assert group in res.stdout


def test_unknown_timeframe_is_a_clear_error(ext: dict[str, str]) -> None:
    res = helix("candles", "BTCUSDT", "--tf", "7m", env=ext)
    assert res.returncode == 3
    assert "unknown timeframe '7m'" in res.stderr


def test_unknown_import_format_is_a_clear_error(ext: dict[str, str], tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a,b\n")
    res = helix("import", str(f), "--format", "nope", env=ext)
    assert res.returncode == 3
    assert "binance-ws" in res.stderr


def test_bad_setting_is_a_config_error(ext: dict[str, str]) -> None:
    res = helix("services", "env", env={**ext, "HELIX_NATS_PORT": "not-a-port"})
    assert res.returncode == 2
    assert "HELIX_" in res.stderr


def test_embedded_services_up_status_reuse_env_down(home: dict[str, str]) -> None:
    first = helix("services", "up", env=home)
    assert first.returncode == 0, first.stderr
    status = helix("services", "status", env=home)
    assert status.returncode == 0
    assert status.stdout.count("running") == 2
    again = helix("services", "up", env=home)  # reuses what runs
    assert again.stdout == first.stdout
    env_lines = helix("services", "env", env=home).stdout.splitlines()
    assert env_lines[0].startswith("export HELIX_NATS_URL=nats://127.0.0.1:")
    assert env_lines[1].startswith("export HELIX_DATABASE_URL=postgresql://")
    assert helix("services", "down", env=home).returncode == 0
    stopped = helix("services", "status", env=home)
    assert stopped.returncode == 1
    assert "stopped" in stopped.stdout


def test_streams_init_refuses_an_incompatible_stream(home: dict[str, str]) -> None:
    assert helix("services", "up", env=home).returncode == 0
    nats_url = helix("services", "env", env=home).stdout.splitlines()[0].split("=", 1)[1]

    async def squat() -> None:
        import nats

        nc = await nats.connect(nats_url)
        await nc.jetstream().add_stream(name="MARKET", subjects=["somethingelse.>"])
        await nc.close()

    asyncio.run(squat())
    res = helix("streams", "init", env=home)
    assert res.returncode == 5
    assert "incompatible" in res.stderr


def test_demo_on_the_embedded_default_then_candles_rebuild_status(home: dict[str, str]) -> None:
    res = helix("demo", "--hours", "2", env=home, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "published" in res.stdout
    assert "candles_1m" in res.stdout
    again = helix("demo", "--hours", "2", env=home, timeout=300)
    assert "already in the log" in again.stdout

    csv_out = helix("candles", "BTCUSDT", "--venue", "sim", "--tf", "15m", "--format", "csv",
                    "--limit", "0", env=home)  # fmt: skip
    assert csv_out.returncode == 0, csv_out.stderr
    lines = csv_out.stdout.strip().splitlines()
    assert lines[0] == "time,open,high,low,close,volume,trades,buy_volume,sell_volume"
    assert len(lines) == 1 + 8  # two hours of 15-minute candles
    assert lines[1].startswith("2025-01-01T00:00:00Z,")

    before = helix("candles", "BTCUSDT", "--tf", "1h", "--format", "json", env=home).stdout
    rebuilt = helix("projections", "rebuild", "candles", env=home, timeout=300)
    assert rebuilt.returncode == 0, rebuilt.stderr
    after = helix("candles", "BTCUSDT", "--tf", "1h", "--format", "json", env=home).stdout
    assert before == after
    status = helix("projections", "status", env=home)
    assert status.returncode == 0
    assert "failed" not in status.stdout


def test_demo_shows_clusters_signals_and_writes_a_heatmap(home: dict[str, str]) -> None:
    res = helix("demo", "--hours", "3", env=home, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "BTCUSDT 24h liquidation clusters" in res.stdout
    assert "signals on the simulated day" in res.stdout
    assert "planted stop hunts found" in res.stdout
    png = Path(home["HELIX_HOME"]) / "reports" / "heatmap-sim-BTCUSDT-24h.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = helix("demo", "--hours", "3", env=home, timeout=300)
    assert "0 new signals" in again.stdout  # a second scan publishes nothing twice

    out_png = Path(home["HELIX_HOME"]) / "h.png"
    hm = helix("heatmap", "btcusdt", "--window", "12h", "--png", str(out_png), env=home)
    assert hm.returncode == 0, hm.stderr
    assert "top liquidation clusters" in hm.stdout
    assert out_png.stat().st_size > 10_000
    ranked = helix("rank", env=home)
    assert ranked.returncode == 0, ranked.stderr
    assert "BTCUSDT" in ranked.stdout
    assert "ETHUSDT" in ranked.stdout
    listed = helix("signals", "--kind", "liquidation_imbalance", env=home)
    assert listed.returncode == 0, listed.stderr
    assert "liquidation_imbalance" in listed.stdout
    assert "markets ranked" in listed.stdout
    card = helix("sim", "scorecard", "--hours", "3", "--all", env=home, timeout=300)
    assert card.returncode == 0, card.stderr
    assert "planted hunts" in card.stdout

    for args, message in (
        (("heatmap", "DOGEUSDT"), "no heatmap for DOGEUSDT"),
        (("heatmap", "BTCUSDT", "--window", "2d"), "unknown window '2d'"),
        (("signals", "--kind", "moon"), "unknown signal kind 'moon'"),
    ):
        bad = helix(*args, env=home)
        assert bad.returncode == 3, (args, bad.stdout, bad.stderr)
        assert message in bad.stderr


def test_ingest_bybit_from_a_fake_then_feeds_status_and_metrics(ext: dict[str, str]) -> None:
    import urllib.request

    from helix.services.common import free_port
    from helix.testing.fake_bybit import FakeBybit

    port = free_port()
    with FakeBybit(symbols=("BTCUSDT", "ETHUSDT")) as fake:
        env = {
            **ext,
            "HELIX_BYBIT_REST_URL": fake.url,
            "HELIX_BYBIT_WS_PUBLIC_URL": fake.ws_url,
            "HELIX_METRICS_PORT": str(port),
        }
        proc = subprocess.Popen(
            [*HELIX, "ingest", "bybit", "--symbols", "BTCUSDT,ETHUSDT", "--duration", "8"],
            env={**os.environ, "COLUMNS": "200", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        fake.wait_subscribed("publicTrade.BTCUSDT", "publicTrade.ETHUSDT", timeout=30)
        fake.play(400, per_frame=4, interval_s=0.005)
        fake.wait_served(400, timeout=30)
        metrics = ""
        for _ in range(40):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    metrics = r.read().decode()
                if 'helix_feed_events_total{kind="trades"' in metrics or "BTCUSDT" in metrics:
                    break
            except OSError:
                pass
            time.sleep(0.25)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped: 400 trades" in out
    assert "helix_feed_events_total" in metrics
    assert 'symbol="BTCUSDT"' in metrics
    status = helix("feeds", "status", env=ext)
    assert status.returncode == 0, status.stderr
    assert "BTCUSDT" in status.stdout
    assert "ETHUSDT" in status.stdout
