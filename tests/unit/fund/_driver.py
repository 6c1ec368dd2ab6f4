"""A test driver for the Fund aggregate: runs decisions, folds their events, checks the books.

Every event is also round-tripped through msgspec JSON (tags and Decimals must survive), and
every step checks conservation against an equity tracked here independently from the events.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import msgspec

from commands.fund import ZERO, FundConfig, FundState, conservation_gap, evolve_fund, new_fund
from events.base import Envelope
from events.fund import DepositSettled, FundEvent, PayoutMade, WithdrawalSettled

DECODER = msgspec.json.Decoder(FundEvent)


class Driver:
    """Apply decisions to a fund and keep an independent cash ledger."""

    def __init__(self, config: FundConfig) -> None:
        self.config = config
        self.state: FundState = new_fund("fund-1", config)
        self.events: list[FundEvent] = []
        self.pnl = ZERO  # the trading book's cumulative PnL (what the last strike used)
        self.cash_in = ZERO  # settled deposits − withdrawals paid − payouts
        self._n = 0

    def env(self, day: int = 0) -> Envelope:
        self._n += 1
        ts = 1_700_000_000_000_000_000 + day * 86_400_000_000_000
        return {
            "event_id": uuid.UUID(int=self._n),
            "ts_event": ts,
            "ts_recorded": ts,
            "source": "unit-test",
            "vertical": "fund",
        }

    def apply(self, events: list[FundEvent]) -> list[FundEvent]:
        for event in events:
            assert DECODER.decode(msgspec.json.encode(event)) == event
            if isinstance(event, DepositSettled):
                self.cash_in += event.amount
            elif isinstance(event, WithdrawalSettled):
                self.cash_in -= event.amount_paid
            elif isinstance(event, PayoutMade):
                self.cash_in -= event.amount
            self.state = evolve_fund(self.state, event)
            self.events.append(event)
            self.check()
        return events

    def check(self) -> None:
        """Members + fees + commissions + rounding = fund equity, exactly, and sane books."""
        s = self.state
        assert conservation_gap(s) == 0
        assert s.net_contributions == self.cash_in
        lots_value = sum((lot.units * s.nav_per_unit for lot in s.lots.values()), ZERO)
        claims = lots_value + s.fees_payable + sum(s.commissions_payable.values(), ZERO)
        assert claims + s.rounding == self.cash_in + s.book_pnl
        assert s.units_outstanding == sum((lot.units for lot in s.lots.values()), ZERO)
        assert all(lot.units > 0 for lot in s.lots.values())
        assert s.fees_payable >= 0
        assert all(v >= 0 for v in s.commissions_payable.values())


def value(units: Decimal, nav: Decimal) -> Decimal:
    """Money value of units, to the cent."""
    return (units * nav).quantize(Decimal("0.01"))
