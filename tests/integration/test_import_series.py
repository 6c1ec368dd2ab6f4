"""``helix import`` of recorded series on real NATS: hourly klines and Binance open interest.

The real files are read from ``../shared/data/btcusdt-structure-trading`` (a slice of the
hourly file, for speed); tests that need them skip when they are absent.  Each test publishes
under a private stream, ledger prefix and dead-letter prefix, so nothing leaks between tests.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from events.market import Kline, Ticker
from events.ops import DeadLetter, ImportCompleted
from helix.clock import FixedClock
from helix.importers.formats import RecordParser, get_format
from helix.importers.run import Importer, find_import
from helix.settings import Settings
from helix.store.replay import replay_batches
from helix.store.streams import DLQ, StreamSpec, ensure_stream, ensure_streams
from tests.services import RunningServices

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("helix_streams")]

SERIES = Path(__file__).resolve().parents[3] / "shared" / "data" / "btcusdt-structure-trading"
HOURLY = SERIES / "btcusdt_1h_5year.csv.gz"
OPEN_INTEREST = SERIES / "btcusdt_futures_oi.csv"
SLICE_ROWS = 3_000
T0 = 1_775_300_000_000_000_000
HOUR_NS = 3_600_000_000_000
HEADER = "timestamp,open,high,low,close,volume"


@pytest.fixture
async def helix_streams(nc: NATS) -> None:
    await ensure_streams(nc.jetstream(), Settings(home="/tmp/unused"))


@contextlib.asynccontextmanager
async def private_stream(nc: NATS) -> AsyncIterator[tuple[str, str]]:
    """A market stream of its own: ``(stream name, subject prefix)``, deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    stream, prefix = f"SERIES_{tag}", f"series{tag}"
    js = nc.jetstream()
    # A long duplicate window: the re-send below must be judged by ids, not by the clock.
    spec = StreamSpec(name=stream, subjects=(f"{prefix}.>",), duplicate_window_s=3_600)
    await ensure_stream(js, spec)
    try:
        yield stream, prefix
    finally:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream)


class Lab:
    """Importers that share one private stream, ledger prefix and dead-letter prefix."""

    def __init__(self, nc: NATS, stream: str, prefix: str) -> None:
        tag = uuid.uuid4().hex[:8]
        self.nc, self.stream, self.prefix = nc, stream, prefix
        self.manifest_prefix = f"ldg.ops.test_series_{tag}"
        self.dlq_prefix = f"dlq.test_series_{tag}"

    def importer(self, parser: RecordParser, *, manifest_prefix: str | None = None) -> Importer:
        return Importer(
            self.nc,
            parser,
            clock=FixedClock(T0),
            subject_prefix=self.prefix,
            manifest_prefix=manifest_prefix or self.manifest_prefix,
            dlq_prefix=self.dlq_prefix,
        )

    async def stored(self) -> int:
        info = await self.nc.jetstream().stream_info(self.stream)
        return int(info.state.messages)

    async def events(self) -> list[object]:
        return [
            e
            async for batch in replay_batches(
                self.nc, subjects=f"{self.prefix}.>", stream=self.stream
            )
            for _, e in batch
        ]

    async def dead_letters(self) -> list[DeadLetter]:
        return [
            e
            async for batch in replay_batches(self.nc, subjects=f"{self.dlq_prefix}.>", stream=DLQ)
            for _, e in batch
            if isinstance(e, DeadLetter)
        ]


def hourly_slice(path: Path, rows: int) -> Path:
    """The header and the first ``rows`` bars of the real hourly file, gzipped to ``path``."""
    with gzip.open(HOURLY, "rb") as fh:
        head = b"".join(itertools.islice(fh, rows + 1))
    path.write_bytes(gzip.compress(head, mtime=0))
    return path


def synthetic_bars(n: int) -> list[str]:
    """``n`` consistent hourly bars starting 2026-01-01T00:00:00 (naive ISO, as exported)."""
    out = []
    for i in range(n):
        o, c = 90_000 + 10 * i, 90_000 + 10 * i + 5
        out.append(f"2026-01-01T{i:02d}:00:00,{o}.00,{c + 20}.00,{o - 20}.00,{c}.00,{i}.5")
    return out


async def test_a_slice_of_the_real_hourly_file_and_the_open_interest_import_once(
    nc: NATS, tmp_path: Path
) -> None:
    if not (HOURLY.is_file() and OPEN_INTEREST.is_file()):
        pytest.skip(f"shared data not available: {SERIES}")
    hourly = hourly_slice(tmp_path / "btcusdt_1h_head.csv.gz", SLICE_ROWS)
    klines = get_format("klines-csv", symbol="BTCUSDT", interval="1h")
    oi = get_format("binance-oi-csv")
    async with private_stream(nc) as (stream, prefix):
        lab = Lab(nc, stream, prefix)
        first = [await lab.importer(klines).import_file(hourly)]
        first.append(await lab.importer(oi).import_file(OPEN_INTEREST))
        stored = await lab.stored()
        again = [await lab.importer(klines).import_file(hourly)]
        again.append(await lab.importer(oi).import_file(OPEN_INTEREST))
        # Without the ledger's word, the deterministic ids still make JetStream drop them all.
        fresh_ledger = f"{lab.manifest_prefix}_fresh"
        resent = await lab.importer(klines, manifest_prefix=fresh_ledger).import_file(hourly)
        stored_after = await lab.stored()
        events = await lab.events()
        done = await find_import(nc, _sha(hourly), klines.key, prefix=lab.manifest_prefix)
    assert [(s.read, s.imported, s.duplicates, s.rejected) for s in first] == [
        (SLICE_ROWS, SLICE_ROWS, 0, 0),
        (186, 186, 0, 0),
    ]
    assert stored == stored_after == SLICE_ROWS + 186
    assert [(s.read, s.imported, s.already) for s in again] == [
        (0, 0, [hourly.name]),
        (0, 0, [OPEN_INTEREST.name]),
    ]
    assert (resent.read, resent.imported, resent.duplicates) == (SLICE_ROWS, 0, SLICE_ROWS)
    assert done is not None
    assert (done.format, done.imported) == ("klines-csv:binance:BTCUSDT:1h", SLICE_ROWS)
    bars = [e for e in events if isinstance(e, Kline)]
    tickers = [e for e in events if isinstance(e, Ticker)]
    assert (len(bars), len(tickers)) == (SLICE_ROWS, 186)
    assert bars[0].start == 1_617_408_000_000_000_000  # 2021-04-03T00:00:00Z
    assert bars[0].close == Decimal("59387.130000")
    assert {(b.venue, b.symbol, b.interval) for b in bars} == {("binance", "BTCUSDT", "60")}
    assert tickers[0].open_interest == Decimal("78942.34400000")
    assert tickers[0].open_interest_value == Decimal("5346644423.51064300")


async def test_the_same_bytes_as_another_symbol_are_another_import(
    nc: NATS, tmp_path: Path
) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("\n".join([HEADER, *synthetic_bars(24)]) + "\n")
    async with private_stream(nc) as (stream, prefix):
        lab = Lab(nc, stream, prefix)
        btc = lab.importer(get_format("klines-csv", symbol="BTCUSDT", interval="1h"))
        eth = lab.importer(get_format("klines-csv", symbol="ETHUSDT", interval="1h"))
        on_bybit = lab.importer(
            get_format("klines-csv", symbol="BTCUSDT", interval="1h", venue="bybit")
        )
        summaries = [await i.import_file(path) for i in (btc, eth, on_bybit, btc, eth)]
        stored = await lab.stored()
    assert [(s.imported, s.already) for s in summaries] == [
        (24, []), (24, []), (24, []), (0, ["bars.csv"]), (0, ["bars.csv"]),
    ]  # fmt: skip
    assert stored == 72


async def test_malformed_rows_go_to_the_dead_letter_stream_with_their_reason(
    nc: NATS, tmp_path: Path
) -> None:
    bars = synthetic_bars(6)
    lines = [
        HEADER,
        bars[0],
        bars[1].replace(bars[1].split(",")[2], "1.00"),  # high below open and close
        bars[3].replace("T03:00", "T03:30"),  # not the open of an hourly bar
        bars[4],
        "2026-01-01T02:00:00,90020.00,90045.00,90000.00,90025.00,-1",  # negative volume
        bars[5],
    ]
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n")
    async with private_stream(nc) as (stream, prefix):
        lab = Lab(nc, stream, prefix)
        summary = await lab.importer(
            get_format("klines-csv", symbol="BTCUSDT", interval="1h")
        ).import_file(path)
        letters = await lab.dead_letters()
        stored = await lab.stored()
    assert (summary.read, summary.imported, summary.rejected) == (6, 3, 3)
    assert stored == 3
    assert [e.origin.rsplit(":", 1)[1] for e in letters] == ["3", "4", "6"]
    assert all(str(path) in e.origin for e in letters)
    assert letters[0].raw == lines[2].encode()
    assert [e.reason for e in letters] == [
        "high 1.00 is below the open 90010.00 or the close 90015.00",
        "timestamp: 2026-01-01T03:30:00 is not the open of a 1h bar",
        "volume: '-1' must not be negative",
    ]
    assert {e.source for e in letters} == {"import:klines-csv"}


def _sha(path: Path) -> str:
    from helix.importers.run import file_sha256

    return file_sha256(path)


def _helix(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "helix.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        check=False,
    )


def test_the_cli_needs_a_symbol_and_an_interval_for_klines(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("\n".join([HEADER, *synthetic_bars(2)]) + "\n")
    res = _helix("import", str(path), "--format", "klines-csv", "--interval", "1h")
    assert res.returncode == 3
    assert "format 'klines-csv' needs --symbol" in res.stderr
    res = _helix("import", str(path), "--format", "klines-csv", "--symbol", "BTCUSDT")
    assert res.returncode == 3
    assert "needs --interval" in res.stderr
    res = _helix("import", str(path), "--format", "binance-ws", "--symbol", "BTCUSDT")
    assert res.returncode == 3
    assert "format 'binance-ws' takes no --symbol" in res.stderr


async def test_the_cli_imports_klines_with_its_options(
    nc: NATS, services: RunningServices, tmp_path: Path
) -> None:
    symbol = f"T{uuid.uuid4().hex[:10].upper()}"
    path = tmp_path / "bars.csv"
    path.write_text("\n".join([HEADER, *synthetic_bars(5)]) + "\n")
    env = {"HELIX_NATS_URL": services.nats_url, "HELIX_DATABASE_URL": services.database_url}
    args = ("import", str(path), "--format", "klines-csv", "--symbol", symbol.lower())
    first = _helix(*args, "--interval", "1h", "--venue", "Binance", env=env)
    again = _helix(*args, "--interval", "1h", env=env)
    done = await find_import(nc, _sha(path), f"klines-csv:binance:{symbol}:1h")
    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    assert "already imported earlier" not in first.stdout
    assert "already imported earlier (nothing published): bars.csv" in again.stdout
    assert done is not None
    assert isinstance(done, ImportCompleted)
    assert (done.read, done.imported, done.rejected) == (5, 5, 0)
