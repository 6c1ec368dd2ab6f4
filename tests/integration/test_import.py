"""``helix import`` on real NATS + PostgreSQL: candles from real Binance trades, idempotence,
dead letters."""

from __future__ import annotations

import gzip
import json
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from events.ops import DeadLetter
from helix.clock import FixedClock
from helix.importers.formats import get_format
from helix.importers.run import Importer
from helix.settings import Settings
from helix.store.replay import replay_batches
from helix.store.streams import DLQ, ensure_streams
from tests.integration.projection_support import Lab, lab
from tests.integration.test_projections import run_all

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("helix_streams")]


@pytest.fixture
async def helix_streams(nc: NATS) -> None:
    await ensure_streams(nc.jetstream(), Settings(home="/tmp/unused"))


SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "hftbacktest-binance-usdm-ws"
T0 = 1_721_347_000_000_000_000


def importer(nc: NATS, lab_: Lab, fmt: str) -> Importer:
    tag = uuid.uuid4().hex[:8]
    return Importer(
        nc,
        get_format(fmt),
        clock=FixedClock(T0),
        subject_prefix=lab_.prefix,
        manifest_prefix=f"ldg.ops.test_import_{tag}",
        dlq_prefix=f"dlq.test_{tag}",
    )


def independent_minutes(paths: list[Path]) -> dict[tuple[str, int], dict[str, object]]:
    """OHLCV per (symbol, minute) straight from the raw lines, without Helix's parser."""
    bars: dict[tuple[str, int], dict[str, object]] = {}
    trades = defaultdict(list)
    for path in paths:
        with gzip.open(path, "rt") as fh:
            for line in fh:
                _, _, body = line.partition(" ")
                msg = json.loads(body)
                if not str(msg.get("stream", "")).endswith("@trade"):
                    continue
                d = msg["data"]
                minute = d["T"] // 60_000 * 60_000
                trades[(d["s"], minute)].append((d["T"], Decimal(d["p"]), Decimal(d["q"]), d["m"]))
    for key, ts in trades.items():
        ordered = sorted(ts, key=lambda t: t[0])  # stable: file order breaks ties
        prices = [t[1] for t in ordered]
        bars[key] = {
            "open": prices[0],
            "high": max(prices),
            "low": min(prices),
            "close": prices[-1],
            "volume": sum((t[2] for t in ordered), Decimal(0)),
            "trades": len(ordered),
            "sell_volume": sum((t[2] for t in ordered if t[3]), Decimal(0)),
        }
    return bars


async def test_candles_from_real_binance_trades_equal_an_independent_aggregation(
    nc: NATS, database_url: str
) -> None:
    paths = [SHARED / "btcusdt_20240718.gz", SHARED / "ethusdt_20240718.gz"]
    if not all(p.is_file() for p in paths):
        pytest.skip("../shared/data/hftbacktest-binance-usdm-ws is not available")
    async with lab(nc, database_url) as a:
        imp = importer(nc, a, "binance-ws")
        summaries = [await imp.import_file(p) for p in paths]
        await run_all(nc, a, batch=500)
        conn = await asyncpg.connect(a.database_url)
        try:
            rows = await conn.fetch("SELECT * FROM candles_1m WHERE venue = 'binance'")
        finally:
            await conn.close()
    expected = independent_minutes(paths)
    assert sum(s.imported for s in summaries) == sum(b["trades"] for b in expected.values())  # type: ignore[misc]
    got = {
        (r["symbol"], int(r["bucket"].timestamp()) * 1000): {
            "open": r["open"], "high": r["high"], "low": r["low"], "close": r["close"],
            "volume": r["volume"], "trades": r["trades"], "sell_volume": r["sell_volume"],
        }
        for r in rows
    }  # fmt: skip
    assert got == expected


async def test_importing_the_same_file_twice_adds_nothing(
    nc: NATS, database_url: str, tmp_path: Path
) -> None:
    lines = [
        f'{T0 + i} {{"stream":"btcusdt@trade","data":{{"e":"trade","E":{1721347000000 + i},'
        f'"T":{1721347000000 + i},"s":"BTCUSDT","t":{900 + i},"p":"63943.{i % 10}0",'
        f'"q":"0.00{1 + i % 5}","X":"MARKET","m":{"true" if i % 2 else "false"}}}}}'
        for i in range(50)
    ]
    path = tmp_path / "trades.txt"
    path.write_text("\n".join(lines) + "\n")
    copy = tmp_path / "same-bytes-other-name.txt"
    copy.write_bytes(path.read_bytes())
    async with lab(nc, database_url) as a:
        imp = importer(nc, a, "binance-ws")
        first = await imp.import_file(path)
        second = await imp.import_file(copy)
        info = await nc.jetstream().stream_info(a.stream)
    assert (first.read, first.imported, first.duplicates, first.rejected) == (50, 50, 0, 0)
    assert second.imported == 0
    assert second.already == ["same-bytes-other-name.txt"]
    assert info.state.messages == 50


async def test_malformed_lines_go_to_the_dead_letter_stream_and_the_import_goes_on(
    nc: NATS, database_url: str, tmp_path: Path
) -> None:
    good = (
        f'{T0} {{"stream":"btcusdt@trade","data":{{"e":"trade","E":1721347000000,'
        '"T":1721347000000,"s":"BTCUSDT","t":77,"p":"63943.90","q":"0.003","X":"MARKET","m":true}}'
    )
    path = tmp_path / "mixed.txt"
    path.write_text(
        "\n".join([good, "not json at all", good.replace('"p":"63943.90"', '"p":"abc"')])
    )
    async with lab(nc, database_url) as a:
        imp = importer(nc, a, "binance-ws")
        summary = await imp.import_file(path)
        letters = [
            e
            async for batch in replay_batches(nc, subjects=f"{imp.dlq_prefix}.>", stream=DLQ)
            for _, e in batch
            if isinstance(e, DeadLetter)
        ]
    assert (summary.read, summary.imported, summary.rejected) == (3, 1, 2)
    assert len(letters) == 2
    assert [e.origin.rsplit(":", 1)[1] for e in letters] == ["2", "3"]
    assert all(str(path) in e.origin for e in letters)
    assert letters[0].raw == b"not json at all"
    assert all(e.reason for e in letters)


async def test_a_file_read_with_the_wrong_format_can_still_be_imported_right(
    nc: NATS, database_url: str, tmp_path: Path
) -> None:
    line = (
        f'{T0} {{"stream":"btcusdt@trade","data":{{"e":"trade","E":1721347000000,'
        '"T":1721347000000,"s":"BTCUSDT","t":78,"p":"63943.90","q":"0.003","X":"MARKET","m":true}}'
    )
    path = tmp_path / "trades.txt"
    path.write_text(line + "\n")
    async with lab(nc, database_url) as a:
        tag = uuid.uuid4().hex[:8]
        wrong = Importer(
            nc, get_format("bybit-ws"), clock=FixedClock(T0), subject_prefix=a.prefix,
            manifest_prefix=f"ldg.ops.t_{tag}", dlq_prefix=f"dlq.t_{tag}",
        )  # fmt: skip
        right = Importer(
            nc, get_format("binance-ws"), clock=FixedClock(T0), subject_prefix=a.prefix,
            manifest_prefix=f"ldg.ops.t_{tag}", dlq_prefix=f"dlq.t_{tag}",
        )  # fmt: skip
        first = await wrong.import_file(path)
        second = await right.import_file(path)
    assert (first.imported, first.rejected) == (0, 1)
    assert (second.imported, second.already) == (1, [])
