"""``helix``: the operator's command line (one module per command group)."""

from __future__ import annotations

from helix.cli import bench, events, market, projections, services, streams  # noqa: F401
from helix.cli.app import app, run_app


def main() -> None:
    """Console entry point."""
    run_app()


__all__ = ["app", "main"]
