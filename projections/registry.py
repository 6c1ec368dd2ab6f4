"""Every projector Helix ships, by name."""

from __future__ import annotations

from projections.base import Projector
from projections.candles import CandlesProjector
from projections.funding import FundingProjector
from projections.liquidations import LiquidationsProjector
from projections.open_interest import OpenInterestProjector


def all_projectors() -> dict[str, Projector]:
    projectors: list[Projector] = [
        CandlesProjector(),
        OpenInterestProjector(),
        FundingProjector(),
        LiquidationsProjector(),
    ]
    return {p.name: p for p in projectors}
