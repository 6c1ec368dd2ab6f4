"""Every projector Helix ships, by name."""

from __future__ import annotations

from dataclasses import replace

from projections.accounts import AccountsProjector
from projections.base import Projector
from projections.candles import CandlesProjector
from projections.fund import FundProjector
from projections.funding import FundingProjector
from projections.heatmap import HeatmapProjector
from projections.hybrid_roi import HybridRoiProjector
from projections.liquidations import LiquidationsProjector
from projections.open_interest import OpenInterestProjector
from projections.orders import OrdersProjector
from projections.pnl import PnlProjector
from projections.poly_markets import PolyMarketsProjector
from projections.poly_positions import PolyPositionsProjector
from projections.positions import PositionsProjector
from projections.signals import SignalsProjector
from projections.wallet_clusters import WalletClustersProjector
from projections.wallets import WalletsProjector

MarketProjector = (
    CandlesProjector
    | OpenInterestProjector
    | FundingProjector
    | LiquidationsProjector
    | HeatmapProjector
    | PolyMarketsProjector
    | WalletsProjector
)
LedgerProjector = (
    SignalsProjector
    | OrdersProjector
    | PositionsProjector
    | PnlProjector
    | AccountsProjector
    | FundProjector
    | WalletClustersProjector
    | PolyPositionsProjector
    | HybridRoiProjector
)


def all_projectors(
    *,
    stream: str = "MARKET",
    prefix: str = "mkt",
    ledger_stream: str = "LEDGER",
    ledger_prefix: str = "ldg",
) -> dict[str, Projector]:
    """The market and ledger projectors, optionally pointed at other streams and subject
    prefixes (benchmarks and tests project private streams shaped like MARKET and LEDGER)."""
    market: list[MarketProjector] = [
        CandlesProjector(),
        OpenInterestProjector(),
        FundingProjector(),
        LiquidationsProjector(),
        HeatmapProjector(),
        PolyMarketsProjector(),
        WalletsProjector(),
    ]
    out: dict[str, Projector] = {}
    for p in market:
        subjects = tuple(s.replace("mkt.", f"{prefix}.", 1) for s in p.subjects)
        out[p.name] = replace(p, stream=stream, subjects=subjects)
    ledger: list[LedgerProjector] = [
        SignalsProjector(),
        OrdersProjector(),
        PositionsProjector(),
        PnlProjector(),
        AccountsProjector(),
        FundProjector(),
        WalletClustersProjector(),
        PolyPositionsProjector(),
        HybridRoiProjector(),
    ]
    for q in ledger:
        subjects = tuple(s.replace("ldg.", f"{ledger_prefix}.", 1) for s in q.subjects)
        out[q.name] = replace(q, stream=ledger_stream, subjects=subjects)
    return out
