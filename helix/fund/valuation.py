"""The trading book's valuation for a NAV strike, from the log.

Positions come from the trading aggregates' events (booked fills and funding) and marks from
``MARKET`` (the last ticker's mark price, else the last trade): for linear perpetuals a
position's unrealised PnL is ``size × (mark − entry)``.  Nothing here reads a read model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from commands.fund import ZERO
from commands.fund_fees import BookValuation
from commands.positions import PositionState
from helix.errors import DomainError


def value_book(
    positions: Iterable[PositionState],
    marks: Mapping[tuple[str, str], Decimal],
    *,
    accounts: frozenset[str] | None = None,
) -> BookValuation:
    """Sum the fund accounts' positions (all accounts when ``accounts`` is None).

    Raises:
        DomainError: an open position's market has no mark (no NAV can be struck).
    """
    realised = fees = funding = unrealised = ZERO
    for p in positions:
        if accounts is not None and p.account not in accounts:
            continue
        realised += p.realized_pnl
        fees += p.fees
        funding += p.funding
        if p.size:
            mark = marks.get((p.venue, p.symbol))
            if mark is None:
                raise DomainError(f"no mark price for {p.venue}:{p.symbol} in the log")
            unrealised += p.size * (mark - p.entry_price)
    return BookValuation(
        realised_pnl=realised, unrealised_pnl=unrealised, trading_fees=fees, funding=funding
    )
