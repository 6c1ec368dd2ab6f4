"""Every projector Helix ships, by name."""

from __future__ import annotations

from dataclasses import replace

from projections.base import Projector
from projections.candles import CandlesProjector
from projections.funding import FundingProjector
from projections.liquidations import LiquidationsProjector
from projections.open_interest import OpenInterestProjector


def all_projectors(*, stream: str = "MARKET", prefix: str = "mkt") -> dict[str, Projector]:
    """The market projectors, optionally pointed at another stream and subject prefix
    (benchmarks and tests project private streams shaped like MARKET)."""
    projectors: list[
        CandlesProjector | OpenInterestProjector | FundingProjector | LiquidationsProjector
    ] = [
        CandlesProjector(),
        OpenInterestProjector(),
        FundingProjector(),
        LiquidationsProjector(),
    ]
    out: dict[str, Projector] = {}
    for p in projectors:
        subjects = tuple(s.replace("mkt.", f"{prefix}.", 1) for s in p.subjects)
        out[p.name] = replace(p, stream=stream, subjects=subjects)
    return out
