"""Every current event type, as one tagged union for decoding."""

from __future__ import annotations

from events.audit import Sealed
from events.backtest import BacktestCompleted
from events.broadcast import (
    BroadcastAttempted,
    BroadcastFailed,
    BroadcastOpened,
    BroadcastSent,
)
from events.fund import (
    CommissionAccrued,
    DepositRequested,
    DepositSettled,
    FeesCrystallised,
    FundCommandRejected,
    MemberJoined,
    NavStruck,
    PayoutMade,
    WithdrawalRequested,
    WithdrawalSettled,
)
from events.market import Kline, Liquidation, Ticker, Trade
from events.ops import DeadLetter, ImportCompleted
from events.poly import (
    ClusterSynced,
    HybridSignal,
    PolyBook,
    PolyMarket,
    PolyResolved,
    PolySignal,
    PolyTrade,
    WalletScored,
)
from events.signals import ClusterTargeted, ImbalanceRanked, OiSpike, StopHunt, VolumeSpike
from events.trading import (
    AccountOpened,
    CommandRejected,
    FillBooked,
    FundingBooked,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRequested,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRequested,
    OrderPlaced,
    OrderRejected,
    OrderSent,
    TradingHalted,
    TradingResumed,
)

AnyEvent = (
    Trade
    | Liquidation
    | Ticker
    | Kline
    | DeadLetter
    | ImportCompleted
    | ClusterTargeted
    | OiSpike
    | VolumeSpike
    | StopHunt
    | ImbalanceRanked
    | OrderPlaced
    | OrderRejected
    | OrderSent
    | OrderAccepted
    | OrderFilled
    | OrderModifyRequested
    | OrderModified
    | OrderCancelRequested
    | OrderCancelled
    | OrderExpired
    | CommandRejected
    | FillBooked
    | FundingBooked
    | AccountOpened
    | TradingHalted
    | TradingResumed
    | BacktestCompleted
    | BroadcastOpened
    | BroadcastAttempted
    | BroadcastSent
    | BroadcastFailed
    | MemberJoined
    | DepositRequested
    | DepositSettled
    | WithdrawalRequested
    | WithdrawalSettled
    | NavStruck
    | FeesCrystallised
    | CommissionAccrued
    | PayoutMade
    | FundCommandRejected
    | Sealed
    | PolyMarket
    | PolyResolved
    | PolyTrade
    | PolyBook
    | WalletScored
    | ClusterSynced
    | PolySignal
    | HybridSignal
)

ALL_EVENT_TYPES = (
    Trade,
    Liquidation,
    Ticker,
    Kline,
    DeadLetter,
    ImportCompleted,
    ClusterTargeted,
    OiSpike,
    VolumeSpike,
    StopHunt,
    ImbalanceRanked,
    OrderPlaced,
    OrderRejected,
    OrderSent,
    OrderAccepted,
    OrderFilled,
    OrderModifyRequested,
    OrderModified,
    OrderCancelRequested,
    OrderCancelled,
    OrderExpired,
    CommandRejected,
    FillBooked,
    FundingBooked,
    AccountOpened,
    TradingHalted,
    TradingResumed,
    BacktestCompleted,
    BroadcastOpened,
    BroadcastAttempted,
    BroadcastSent,
    BroadcastFailed,
    MemberJoined,
    DepositRequested,
    DepositSettled,
    WithdrawalRequested,
    WithdrawalSettled,
    NavStruck,
    FeesCrystallised,
    CommissionAccrued,
    PayoutMade,
    FundCommandRejected,
    Sealed,
    PolyMarket,
    PolyResolved,
    PolyTrade,
    PolyBook,
    WalletScored,
    ClusterSynced,
    PolySignal,
    HybridSignal,
)
TAGS: dict[str, type] = {str(t.__struct_config__.tag): t for t in ALL_EVENT_TYPES}
