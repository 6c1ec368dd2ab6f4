"""Backtest events: a run's manifest, written under the run's own subjects
(``ldg.bt.<run id>.manifest``), never on live subjects."""

from __future__ import annotations

from events.base import Event


class BacktestCompleted(Event, frozen=True, kw_only=True, tag="backtest.completed.v1"):
    """A finished run: what went in, what came out, and the manifest's digest.

    ``manifest`` is the canonical JSON the digest ``manifest_sha256`` is taken over (code
    version, strategy, parameters, range, input count and hash, output count and hash,
    metrics); the same log range, strategy and parameters give the same digest every time.
    """

    run_id: str
    strategy: str
    manifest: str
    manifest_sha256: str
    input_events: int
    output_events: int
