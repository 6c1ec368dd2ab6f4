"""A backtest run end to end: read the range, replay, record the run apart from everything live.

* Input: ``MARKET`` by subject filter (all markets, or the chosen symbols), in log order.
* Output events go to ``LEDGER`` under the run's own subjects only:
  ``ldg.bt.<run>.signal.<kind>.<venue>.<symbol>``, ``ldg.bt.<run>.trading.e.<aggregate>`` and
  ``ldg.bt.<run>.manifest`` (:class:`~events.backtest.BacktestCompleted`).  Nothing is written to
  ``ldg.signal.>`` or ``ldg.es.>`` (the live signals and trading aggregates), so live consumers,
  broadcasters and projectors never see a backtest.
* The run is indexed in ``backtest_runs`` / ``backtest_equity`` (keyed by run id) and its report
  (manifest, metrics, equity and drawdown chart, HTML) is written to ``<home>/backtests/<run>``.

The manifest is canonical JSON over the code version (a digest of the source tree), the
strategy and parameters, the range, the input count and hash, the output count and hash and the
metrics; its SHA-256 is printed as ``manifest <sha256>``.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS

import helix
from events.backtest import BacktestCompleted
from events.base import Event, stable_event_id
from events.signals import signal_subject
from helix.backtest.engine import Outcome, Spec, run
from helix.codec import Codec
from helix.eventstore.subjects import encode_id
from helix.store.market import MarketAppender, event_headers
from helix.store.replay import replay_batches
from helix.store.streams import MARKET
from projections.base import ns_to_dt

_SOURCES = ("events", "commands", "projections", "helix", "audit")


def code_version() -> str:
    """``<package version>+<sha256 prefix of the source tree>`` (same checkout, same value)."""
    root = Path(helix.__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for top in _SOURCES:
        for path in sorted((root / top).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return f"{helix.__version__}+{digest.hexdigest()[:16]}"


def _round(value: object) -> object:
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def manifest_of(spec: Spec, out: Outcome, version: str) -> tuple[str, str]:
    """``(canonical JSON, its sha256)``."""
    doc = {
        "code_version": version,
        "strategy": spec.strategy,
        "params": dict(sorted(spec.params.items())),
        "start_ns": spec.start_ns,
        "end_ns": spec.end_ns,
        "symbols": sorted(spec.symbols),
        "input_events": out.input_events,
        "input_hash": out.input_hash,
        "output_events": out.output_events,
        "output_hash": out.output_hash,
        "metrics": _round(out.metrics.as_dict()),
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return text, hashlib.sha256(text.encode()).hexdigest()


def input_filters(symbols: tuple[str, ...]) -> list[str]:
    return [f"mkt.*.*.{s}" for s in symbols] if symbols else ["mkt.>"]


async def read_market(
    nc: NATS, symbols: tuple[str, ...], codec: Codec
) -> AsyncIterator[list[tuple[int, Event]]]:
    async for batch in replay_batches(
        nc, subjects=input_filters(symbols), stream=MARKET, codec=codec
    ):
        yield batch


@dataclass
class RunRecord:
    run_id: str
    manifest: str
    manifest_sha256: str
    outcome: Outcome
    report_dir: Path


async def publish_outputs(nc: NATS, run_id: str, out: Outcome, done: BacktestCompleted) -> None:
    """The run's events under ``ldg.bt.<run>.>`` (never a live subject)."""
    codec = Codec()
    base = f"ldg.bt.{run_id}"
    async with MarketAppender(nc, codec=codec) as app:
        for s in out.signals:
            await app.publish_raw(signal_subject(s, f"{base}.signal"), codec.encode(s),
                                  event_headers(s))  # fmt: skip
        for aggregate, e in out.trading:
            await app.publish_raw(f"{base}.trading.e.{encode_id(aggregate)}", codec.encode(e),
                                  event_headers(e))  # fmt: skip
        await app.publish_raw(f"{base}.manifest", codec.encode(done), event_headers(done))
        await app.flush()


async def store_run(conn: asyncpg.Connection, rec: RunRecord, spec: Spec) -> None:
    out = rec.outcome
    await conn.execute(
        "INSERT INTO backtest_runs (run_id, strategy, params, start_ts, end_ts, symbols,"
        " input_events, input_hash, output_events, output_hash, manifest, metrics, report_dir,"
        " seconds) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13,"
        " $14)",
        rec.run_id, spec.strategy, json.dumps(spec.params, sort_keys=True),
        ns_to_dt(spec.start_ns) if spec.start_ns is not None else None,
        ns_to_dt(spec.end_ns) if spec.end_ns is not None else None, list(spec.symbols),
        out.input_events, out.input_hash, out.output_events, out.output_hash,
        rec.manifest_sha256, json.dumps(_round(out.metrics.as_dict()), default=str),
        str(rec.report_dir), out.seconds,
    )  # fmt: skip
    await conn.copy_records_to_table(
        "backtest_equity",
        records=[(rec.run_id, ns_to_dt(ts), eq) for ts, eq in dict(out.curve).items()],
        columns=["run_id", "ts", "equity"],
    )


async def run_and_record(
    nc: NATS,
    conn: asyncpg.Connection,
    spec: Spec,
    *,
    home: Path,
    on_progress: Callable[[int, float], None] | None = None,
) -> RunRecord:
    """Replay, then record the run (events, tables, report); see the module docstring."""
    from helix.backtest.report import write_report

    codec = Codec()
    out = await run(read_market(nc, spec.symbols, codec), spec, on_progress=on_progress)
    run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
    manifest, sha = manifest_of(spec, out, code_version())
    done = BacktestCompleted(
        event_id=stable_event_id("backtest", run_id), ts_event=time.time_ns(),
        ts_recorded=time.time_ns(), source="helix-backtest", vertical="perps", run_id=run_id,
        strategy=spec.strategy, manifest=manifest, manifest_sha256=sha,
        input_events=out.input_events, output_events=out.output_events,
    )  # fmt: skip
    report_dir = home / "backtests" / run_id
    rec = RunRecord(run_id, manifest, sha, out, report_dir)
    await publish_outputs(nc, run_id, out, done)
    write_report(report_dir, rec, spec)
    await store_run(conn, rec, spec)
    return rec


async def runs(conn: asyncpg.Connection, limit: int = 50) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT run_id, created_at, strategy, params, input_events, output_events, manifest,"
        " metrics, seconds, report_dir FROM backtest_runs ORDER BY created_at DESC LIMIT $1",
        limit,
    )
    return [_row(r) for r in rows]


async def one(conn: asyncpg.Connection, run_id: str) -> dict[str, Any] | None:
    r = await conn.fetchrow(
        "SELECT run_id, created_at, strategy, params, input_events, output_events, manifest,"
        " metrics, seconds, report_dir FROM backtest_runs WHERE run_id = $1 OR run_id LIKE $1"
        " || '%' ORDER BY created_at DESC LIMIT 1",
        run_id,
    )
    return _row(r) if r is not None else None


def _row(r: asyncpg.Record) -> dict[str, Any]:
    d = dict(r)
    d["params"] = json.loads(d["params"])
    d["metrics"] = json.loads(d["metrics"])
    return d


def duration(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))
