"""The Fund aggregate on the event store: load, decide, append (thin I/O around
:mod:`commands.fund`).

Every command loads the fund's events, folds them, runs a pure decision (or a chain of them,
each seeing the state after the previous one) and appends what they return in one atomic write
at the version it loaded; a concurrent writer makes the append fail and the command is decided
again on the new state (after a jittered backoff).  A refusal is an event too
(``fund.command_rejected``) and is stored.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from commands.fund import FundConfig, FundState, evolve_fund, fold_fund, new_fund
from commands.fund_fees import BookValuation, decide_commissions, decide_crystallise
from commands.fund_fees import decide_strike_nav as strike
from commands.fund_flows import (
    decide_deposit,
    decide_join,
    decide_payout,
    decide_request_deposit,
    decide_request_withdrawal,
    decide_withdraw,
)
from commands.store import EventStore, Write
from events.base import Envelope
from events.fund import FundCommandRejected, FundEvent
from helix.clock import Clock
from helix.errors import ConcurrencyError

Step = Callable[[FundState, Envelope], list[FundEvent]]
RETRIES = 20


@dataclass(frozen=True)
class Outcome:
    """What a command wrote; ``rejected`` is the refusal's reason, if it was refused."""

    events: list[FundEvent]
    state: FundState

    @property
    def rejected(self) -> str | None:
        refused = [e for e in self.events if isinstance(e, FundCommandRejected)]
        return refused[0].reason if refused else None


@dataclass
class FundService:
    store: EventStore
    fund_id: str
    config: FundConfig
    clock: Clock
    source: str = "helix-fund"

    @property
    def aggregate_id(self) -> str:
        return f"fund-{self.fund_id}"

    async def load(self) -> tuple[FundState, int]:
        """The fund's state and version (its number of events)."""
        events = await self.store.load(self.aggregate_id)
        fund_events = [e for e in events if isinstance(e, FundEvent)]  # type: ignore[misc,arg-type]
        return fold_fund(new_fund(self.fund_id, self.config), fund_events), len(events)

    def _envelope(self) -> Envelope:
        now = self.clock.now_ns()
        return {"event_id": uuid.uuid4(), "ts_event": now, "ts_recorded": now,
                "source": self.source, "vertical": "fund"}  # fmt: skip

    async def run(self, steps: Sequence[Step], *, command_id: str) -> Outcome:
        """Decide ``steps`` in order on the current state (stopping at a refusal) and append
        all their events atomically.

        Raises:
            ConcurrencyError: the fund kept changing under us for ``RETRIES`` attempts.
        """
        for attempt in range(RETRIES):
            state, version = await self.load()
            events: list[FundEvent] = []
            for step in steps:
                decided = step(state, self._envelope())
                for e in decided:
                    state = evolve_fund(state, e)
                events.extend(decided)
                if any(isinstance(e, FundCommandRejected) for e in decided):
                    break
            if not events:
                return Outcome(events, state)
            try:
                await self.store.append(
                    [Write(self.aggregate_id, version, events)], command_id=command_id
                )
            except ConcurrencyError:
                # jittered backoff, so racing writers stop colliding in lockstep
                await asyncio.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 7)))  # noqa: S311
                continue
            return Outcome(events, state)
        raise ConcurrencyError(f"fund {self.fund_id} kept changing; command {command_id} not run")

    # -- commands ------------------------------------------------------------------------------

    async def join(self, member_id: str, kyc_ref: str, affiliate_id: str | None) -> Outcome:
        step: Step = lambda s, e: decide_join(  # noqa: E731
            s, member_id=member_id, kyc_ref=kyc_ref, affiliate_id=affiliate_id, envelope=e
        )
        return await self.run([step], command_id=f"join:{member_id}:{uuid.uuid4()}")

    async def deposit(self, member_id: str, amount: Decimal, *, settle: bool = True) -> Outcome:
        """Request a deposit and (by default) settle it at the last struck NAV, atomically."""
        ref = f"dep-{uuid.uuid4().hex[:12]}"
        steps: list[Step] = [
            lambda s, e: decide_request_deposit(
                s, deposit_id=ref, member_id=member_id, amount=amount, envelope=e
            )
        ]
        if settle:
            steps.append(lambda s, e: decide_deposit(s, deposit_id=ref, envelope=e))
        return await self.run(steps, command_id=ref)

    async def withdraw(
        self, member_id: str, *, amount: Decimal | None = None, units: Decimal | None = None
    ) -> Outcome:
        """Request a withdrawal (value or units) and settle it at the last struck NAV."""
        ref = f"wdr-{uuid.uuid4().hex[:12]}"
        config = self.config
        steps: list[Step] = [
            lambda s, e: decide_request_withdrawal(
                s, withdrawal_id=ref, member_id=member_id, amount=amount, units=units, envelope=e
            ),
            lambda s, e: decide_withdraw(s, config, withdrawal_id=ref, envelope=e),
        ]
        return await self.run(steps, command_id=ref)

    async def strike(self, book: BookValuation, *, as_of: int) -> Outcome:
        step: Step = lambda s, e: strike(s, book, as_of=as_of, envelope=e)  # noqa: E731
        return await self.run([step], command_id=f"strike:{as_of}:{uuid.uuid4()}")

    async def crystallise(self, *, period_end: int, days: Decimal) -> Outcome:
        """Crystallise the period's fees at the last NAV, then accrue affiliates' commissions."""
        config = self.config
        steps: list[Step] = [
            lambda s, e: decide_crystallise(
                s, config, period_end=period_end, days=days, envelope=e
            ),
            lambda s, e: decide_commissions(s, config, envelope=e),
        ]
        return await self.run(steps, command_id=f"fees:{period_end}:{uuid.uuid4()}")

    async def payout(
        self, payee: Literal["manager", "affiliate"], payee_id: str, amount: Decimal
    ) -> Outcome:
        """Pay the manager's fees or an affiliate's commissions out of the fund."""
        ref = f"pay-{uuid.uuid4().hex[:12]}"
        step: Step = lambda s, e: decide_payout(  # noqa: E731
            s, payout_id=ref, payee=payee, payee_id=payee_id, amount=amount, envelope=e
        )
        return await self.run([step], command_id=ref)
