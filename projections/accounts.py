"""``accounts``: each trading account's opening balance, mode and kill switch.

A row is the account as :func:`commands.account.evolve_account` leaves it.  Each batch reads
the rows of the accounts it touches, folds the batch into them in stream order and writes them
back with one upsert, so the result does not depend on how the log was cut into batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import asyncpg

from events.trading import AccountEvent, AccountOpened, TradingHalted, TradingResumed
from projections.base import Batch, ns_to_dt
from projections.rows import columns, names, set_all, unnest_insert

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class AccountRow:
    """A row of ``accounts`` (``balance`` is the opening balance; equity is balance plus the
    positions' net PnL)."""

    account: str
    balance: Decimal
    mode: str
    opened: bool
    halted: bool
    halt_reason: str
    updated_ts: datetime
    last_seq: int


def evolve_account_row(row: AccountRow | None, seq: int, e: AccountEvent) -> AccountRow:
    """Apply one account event at stream sequence ``seq`` (pure; ``evolve_account``'s rules)."""
    ts = ns_to_dt(e.ts_event)
    if row is None:
        row = AccountRow(e.account, ZERO, "paper", False, False, "", ts, seq)
    row = replace(row, updated_ts=ts, last_seq=seq)
    if isinstance(e, AccountOpened):
        return replace(row, balance=e.balance, opened=True, mode=e.mode)
    if isinstance(e, TradingHalted):
        return replace(row, halted=True, halt_reason=e.reason)
    return replace(row, halted=False, halt_reason="")


def fold_accounts(rows: Mapping[str, AccountRow], batch: Batch) -> dict[str, AccountRow]:
    """Pure: the accounts a batch changes, from ``rows`` (the current ones)."""
    changed: dict[str, AccountRow] = {}
    for seq, e in batch:
        if isinstance(e, AccountOpened | TradingHalted | TradingResumed):
            changed[e.account] = evolve_account_row(
                changed.get(e.account) or rows.get(e.account), seq, e
            )
    return changed


SELECT_ROWS = f"SELECT {', '.join(names(AccountRow))} FROM accounts WHERE account = ANY($1)"
UPSERT = unnest_insert(
    "accounts", AccountRow, "text numeric text boolean boolean text timestamptz bigint",
    "ON CONFLICT (account) DO UPDATE SET " + set_all(names(AccountRow)[1:]),
)  # fmt: skip


@dataclass(frozen=True)
class AccountsProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "accounts"
    stream: str = "LEDGER"
    subjects: tuple[str, ...] = ("ldg.es.trading.e.>",)
    tables: tuple[str, ...] = ("accounts",)

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        touched = {
            e.account
            for _, e in batch
            if isinstance(e, AccountOpened | TradingHalted | TradingResumed)
        }
        if not touched:
            return
        found = await conn.fetch(SELECT_ROWS, list(touched))
        changed = fold_accounts({r[0]: AccountRow(*r.values()) for r in found}, batch)
        await conn.execute(UPSERT, *columns(list(changed.values()), AccountRow))


async def accounts(conn: asyncpg.Connection) -> list[AccountRow]:
    """Every trading account, by name."""
    rows = await conn.fetch(f"SELECT {', '.join(names(AccountRow))} FROM accounts ORDER BY 1")
    return [AccountRow(*r.values()) for r in rows]
