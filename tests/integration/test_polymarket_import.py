"""Polymarket exports into real NATS (``polymarket-data-csv``, ``polymarket-midterms-csv``),
resolutions (``record_resolution``) and the ``helix poly resolve`` CLI."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from events.ops import DeadLetter
from events.poly import PolyMarket, PolyResolved, PolyTrade
from helix.clock import FixedClock
from helix.errors import ValidationError
from helix.feeds.polymarket.resolve import (
    known_market,
    known_resolution,
    manual_resolution,
    record_resolution,
)
from helix.importers.formats import get_format
from helix.importers.midterms_2022 import official_resolution, result_for
from helix.importers.polymarket_csv import last_trade_ns
from helix.importers.run import Importer
from helix.settings import Settings
from helix.store.replay import replay_batches
from helix.store.streams import DLQ, StreamSpec, ensure_stream, ensure_streams
from tests.e2e.test_cli import helix

pytestmark = pytest.mark.integration

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
MIDTERMS = SHARED / "polymarket-midterms-2022"
DATA_API = SHARED / "polymarket-trades-asommerhauser"
T0 = 1_767_000_000_000_000_000
HEADER = ",".join(
    f'"{c}"' for c in ("", "Timestamp", "Account", "Type", "Outcome", "Direction", "Amount",
                       "Shares", "Price", "Var.9", "Var.10")
)  # fmt: skip
W = "0x8c2fa256c8690a6651d4db04ee7c1d08031564fa"


def mid_row(i: int, outcome: str = "Democrat", kind: str = "Buy", price: str = "0.5") -> str:
    return f'"{i}",2022-11-13 15:34:{i:02d},"{W}","{kind}","{outcome}","x",1,2,{price},"","Tx"'


class Log:
    """A private stream for one test (subjects ``<prefix>.>``) and private ledger/DLQ names."""

    def __init__(self, nc: NATS) -> None:
        tag = uuid.uuid4().hex[:10]
        self.nc, self.stream, self.prefix = nc, f"POLY_{tag}", f"poly{tag}"
        self.manifest, self.dlq = f"ldg.ops.test_poly_{tag}", f"dlq.test_poly_{tag}"

    def importer(self, fmt: str, *, manifest: str | None = None) -> Importer:
        return Importer(
            self.nc, get_format(fmt), clock=FixedClock(T0), subject_prefix=self.prefix,
            manifest_prefix=manifest or self.manifest, dlq_prefix=self.dlq,
        )  # fmt: skip

    async def events(self) -> list[object]:
        return [
            e
            async for batch in replay_batches(
                self.nc, subjects=f"{self.prefix}.>", stream=self.stream
            )
            for _, e in batch
        ]

    async def letters(self) -> list[DeadLetter]:
        return [
            e
            async for batch in replay_batches(self.nc, subjects=f"{self.dlq}.>", stream=DLQ)
            for _, e in batch
            if isinstance(e, DeadLetter)
        ]


@pytest.fixture
async def log(nc: NATS) -> AsyncIterator[Log]:
    await ensure_streams(nc.jetstream(), Settings(home="/tmp/unused"))
    it = Log(nc)
    await ensure_stream(nc.jetstream(), StreamSpec(name=it.stream, subjects=(f"{it.prefix}.>",)))
    try:
        yield it
    finally:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(it.stream)


def midterms_files(*names: str) -> list[Path]:
    paths = [MIDTERMS / f"{n}.csv" for n in names]
    if not all(p.is_file() for p in paths):
        pytest.skip("shared data not available: polymarket-midterms-2022")
    return paths


async def test_real_midterms_files_import_once_with_their_markets(log: Log) -> None:
    paths = midterms_files("oregon_governor", "pa_08_house", "minnesota_governor")
    imp = log.importer("polymarket-midterms-csv")
    first = [await imp.import_file(p) for p in paths]
    # A second import that does not consult the ledger: every id is already stored.
    again = [await log.importer("polymarket-midterms-csv", manifest=log.manifest + "x")
             .import_file(p) for p in paths]  # fmt: skip
    events = await log.events()
    trades = [e for e in events if isinstance(e, PolyTrade)]
    markets = [e for e in events if isinstance(e, PolyMarket)]
    # oregon 381 rows, pa_08 23, minnesota 220 of which 63 have zero shares (skipped).
    assert [s.imported for s in first] == [382, 24, 158]
    assert [s.rejected for s in first] == [0, 0, 0]
    assert first[2].skipped == {"zero-size": 63}
    assert [(s.imported, s.duplicates) for s in again] == [(0, 382), (0, 24), (0, 158)]
    assert len(trades) == 381 + 23 + 157
    assert {m.condition_id: m.outcomes for m in markets} == {
        "midterms-2022-oregon_governor": ("Democrat", "Republican"),
        "midterms-2022-pa_08_house": ("Republican",),
        "midterms-2022-minnesota_governor": ("Democrat", "Republican"),
    }
    assert all(t.vertical == "poly" and t.origin == "import" for t in trades)
    assert any(t.price == 0 for t in trades)  # post-resolution dumps are real trades
    again_ledger = await imp.import_file(paths[0])
    assert again_ledger.already == [paths[0].name]


async def test_real_data_api_exports_import_and_reimport_adds_nothing(log: Log) -> None:
    paths = sorted(DATA_API.glob("*.csv"))
    if not paths:
        pytest.skip("shared data not available: polymarket-trades-asommerhauser")
    imp = log.importer("polymarket-data-csv")
    first = [await imp.import_file(p) for p in paths]
    again = [await log.importer("polymarket-data-csv", manifest=log.manifest + "x")
             .import_file(p) for p in paths]  # fmt: skip
    info = await log.nc.jetstream().stream_info(log.stream)
    assert [s.imported for s in first] == [500] * len(paths)
    assert sum(s.duplicates for s in again) == 500 * len(paths)
    assert info.state.messages == 500 * len(paths)


async def test_malformed_rows_go_to_the_dead_letter_stream(log: Log, tmp_path: Path) -> None:
    rows = [HEADER, mid_row(1), mid_row(2, price="7"), mid_row(3, kind="Hold"), mid_row(4)]
    path = tmp_path / f"race_{uuid.uuid4().hex[:6]}.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    summary = await log.importer("polymarket-midterms-csv").import_file(path)
    letters = await log.letters()
    assert (summary.read, summary.imported, summary.rejected) == (5, 3, 2)  # market + 2 trades
    assert [e.origin.rsplit(":", 1)[1] for e in letters] == ["3", "4"]
    assert "probability" in letters[0].reason
    assert "Type" in letters[1].reason
    assert letters[1].raw.endswith(rows[3].encode())  # the row verbatim, after its market


async def test_resolutions_are_idempotent_and_refuse_a_second_winner(log: Log) -> None:
    [path] = midterms_files("pa_08_house")
    await log.importer("polymarket-midterms-csv").import_file(path)
    market = await known_market(log.nc, "midterms-2022-pa_08_house", prefix=log.prefix,
                                stream=log.stream)  # fmt: skip
    assert market is not None
    assert market.outcomes == ("Republican",)
    official = official_resolution(
        result_for("pa_08_house"), last_trade_ns=last_trade_ns(path), now_ns=T0
    )
    on_log, stored = await record_resolution(log.nc, official, prefix=log.prefix, stream=log.stream)
    again, stored_again = await record_resolution(
        log.nc, official, prefix=log.prefix, stream=log.stream
    )
    assert (stored, stored_again) == (True, False)
    assert again.event_id == on_log.event_id
    assert again.payout_of("Republican") == Decimal(0)
    assert again.note == "official 2022 result: Matt Cartwright (D) re-elected"
    assert again.ts_event > (last_trade_ns(path) or 0)
    manual = manual_resolution(
        condition_id="midterms-2022-pa_08_house", outcomes=("Democrat", "Republican"),
        winner="Republican", now_ns=T0,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="already resolved"):
        await record_resolution(log.nc, manual, prefix=log.prefix, stream=log.stream)
    stored_events = [e for e in await log.events() if isinstance(e, PolyResolved)]
    assert len(stored_events) == 1
    found = await known_resolution(
        log.nc, "midterms-2022-pa_08_house", prefix=log.prefix, stream=log.stream
    )
    assert found == on_log


# -- the CLI (real processes on the session's services: random market names) -------------------


@pytest.fixture
def ext(services: object) -> dict[str, str]:
    import os

    return {"HELIX_NATS_URL": os.environ["HELIX_NATS_URL"],
            "HELIX_DATABASE_URL": os.environ["HELIX_DATABASE_URL"]}  # fmt: skip


def test_cli_resolve_by_the_listing_or_given_outcomes(ext: dict[str, str], tmp_path: Path) -> None:
    name = f"race_{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.csv"
    rows = [HEADER, mid_row(1), mid_row(2, "Republican")]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    imported = helix("import", str(path), "--format", "polymarket-midterms-csv", env=ext)
    assert imported.returncode == 0, imported.stderr
    cid = f"midterms-2022-{name}"
    wrong = helix("poly", "resolve", cid, "Maybe", env=ext)
    assert wrong.returncode == 3
    assert "not an outcome" in wrong.stderr
    assert "Democrat, Republican" in wrong.stderr
    first = helix("poly", "resolve", cid, "Democrat", "--note", "called by AP", env=ext)
    assert first.returncode == 0, first.stderr
    assert f"resolved: {cid} -> Democrat" in first.stdout
    again = helix("poly", "resolve", cid, "Democrat", env=ext)
    assert again.returncode == 0, again.stderr
    assert "already resolved" in again.stdout
    other = helix("poly", "resolve", cid, "Republican", env=ext)
    assert other.returncode == 3
    assert "already resolved" in other.stderr

    unknown = f"0x{uuid.uuid4().hex}"
    bare = helix("poly", "resolve", unknown, "Yes", env=ext)
    assert bare.returncode == 3
    assert "--outcomes" in bare.stderr
    given = helix("poly", "resolve", unknown, "Yes", "--outcomes", "Yes,No", env=ext)
    assert given.returncode == 0, given.stderr
    assert helix("poly", "resolve", "bad.id", "Yes", env=ext).returncode == 3


def test_cli_resolve_midterms(ext: dict[str, str], tmp_path: Path) -> None:
    [path] = midterms_files("tx_34_house")
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    first = helix("poly", "resolve-midterms", str(copy), env=ext)
    assert first.returncode == 0, first.stderr
    assert "midterms-2022-tx_34_house" in first.stdout
    assert "Democrat" in first.stdout
    again = helix("poly", "resolve-midterms", str(copy), env=ext)
    assert "already" in again.stdout
    unknown = tmp_path / "texas_governor.csv"
    shutil.copy(path, unknown)
    res = helix("poly", "resolve-midterms", str(unknown), env=ext)
    assert res.returncode == 3
    assert "no official 2022 result" in res.stderr
