"""The TradingAccount aggregate: opening balance and the kill switch (pure).

The account's cash is its opening balance plus what its positions booked (realised PnL, fees,
funding); positions are their own aggregates, so the account stays small and rarely written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from commands.orders import Halt, Resume
from events.base import Envelope
from events.trading import AccountEvent, AccountOpened, TradingHalted, TradingResumed

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class AccountState:
    account: str
    balance: Decimal = ZERO
    opened: bool = False
    halted: bool = False
    halt_reason: str = ""
    mode: str = "paper"


def evolve_account(state: AccountState, event: AccountEvent) -> AccountState:
    """Apply one event (pure)."""
    if isinstance(event, AccountOpened):
        return replace(state, balance=event.balance, opened=True, mode=event.mode)
    if isinstance(event, TradingHalted):
        return replace(state, halted=True, halt_reason=event.reason)
    if isinstance(event, TradingResumed):
        return replace(state, halted=False, halt_reason="")
    return state


def decide_open(
    state: AccountState, balance: Decimal, mode: str, *, envelope: Envelope
) -> list[AccountEvent]:
    """Open the account once (a second opening decides nothing)."""
    if state.opened:
        return []
    return [
        AccountOpened(
            **envelope,
            account=state.account,
            balance=balance,
            mode="live" if mode == "live" else "paper",
        )
    ]


def decide_halt(state: AccountState, cmd: Halt, *, envelope: Envelope) -> list[AccountEvent]:
    """Halt (idempotent: halting a halted account decides nothing)."""
    if state.halted:
        return []
    return [TradingHalted(**envelope, account=cmd.account, reason=cmd.reason)]


def decide_resume(state: AccountState, cmd: Resume, *, envelope: Envelope) -> list[AccountEvent]:
    """Resume a halted account (resuming a running one decides nothing)."""
    if not state.halted:
        return []
    return [TradingResumed(**envelope, account=cmd.account, reason=cmd.reason)]
