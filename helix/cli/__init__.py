"""``helix``: the operator's command line (one module per command group)."""

from __future__ import annotations

from helix.cli import (  # noqa: F401 - importing registers the commands
    audit,
    backtest,
    bench,
    broadcast,
    demo,
    events,
    feeds,
    fund,
    grafana,
    heatmap,
    importing,
    market,
    poly_data,
    poly_signals,
    poly_trade,
    poly_views,
    projections,
    services,
    signals,
    sim,
    streams,
    trade,
    trading_views,
)
from helix.cli.app import app, run_app


def main() -> None:
    """Console entry point."""
    run_app()


__all__ = ["app", "main"]
