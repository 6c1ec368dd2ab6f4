"""Recompute every NAV the log records (pure; part of ``helix audit verify --log``).

Each fund's events are folded in log order (and, with a :class:`BookCheck`, the booked
fills and funding of the fund's accounts, whose sums each strike's book must show); at every
``fund.nav_struck`` the strike is decided again from the state before it and the book
valuation the event itself records (realised and unrealised PnL, trading fees, funding), and
must give the same event field by field.  A
difference names the event's sequence: a NAV, a unit count or a claim that the fund's own
history does not produce.  Every state is also checked for conservation (members + fees +
commissions + rounding = fund equity).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from audit.seals import Finding
from commands.fund import ZERO, FundConfig, FundState, conservation_gap, evolve_fund, new_fund
from commands.fund_fees import BookValuation, decide_strike_nav
from events.base import Envelope, Event
from events.fund import FundEvent, NavStruck
from events.trading import FillBooked, FundingBooked

_ENVELOPE = ("event_id", "ts_event", "ts_recorded", "source", "vertical", "causation_id",
             "correlation_id")  # fmt: skip


@dataclass(frozen=True)
class BookCheck:
    """Check ``fund_id``'s strikes against the trading book in the log: its realised PnL,
    trading fees and funding must be the sums over ``accounts``' booked fills and funding
    before the strike (None: every account).  Unrealised PnL depends on the marks of the
    moment, which ``MARKET`` holds but no seal covers, so it is taken as recorded."""

    fund_id: str
    accounts: frozenset[str] | None


def nav_findings(
    events: Iterable[tuple[int, Event]], config: FundConfig, *, book: BookCheck | None = None
) -> tuple[list[Finding], int]:
    """``(findings, NAV strikes checked)`` over ``(sequence, event)`` pairs in log order
    (fund events, and the booked fills and funding when ``book`` is given)."""
    funds: dict[str, FundState] = {}
    findings: list[Finding] = []
    checked = 0
    totals = {"realised_pnl": ZERO, "trading_fees": ZERO, "funding": ZERO}
    for seq, event in events:
        if isinstance(event, FillBooked | FundingBooked):
            if book is not None and (book.accounts is None or event.account in book.accounts):
                if isinstance(event, FillBooked):
                    totals["realised_pnl"] += event.realized_pnl
                    totals["trading_fees"] += event.fee
                else:
                    totals["funding"] += event.amount
            continue
        if not isinstance(event, FundEvent):  # type: ignore[misc,arg-type]
            continue
        if book is not None and isinstance(event, NavStruck) and event.fund_id == book.fund_id:
            off = [f"{k} {getattr(event, k)} (the booked fills give {v})"
                   for k, v in totals.items() if getattr(event, k) != v]  # fmt: skip
            if off:
                findings.append(Finding("inconsistent", (seq,), f"sequence {seq}: NAV strike's "
                                        "book differs: " + ", ".join(off)))  # fmt: skip
        fund_id: str = event.fund_id  # type: ignore[attr-defined]
        state = funds.get(fund_id) or new_fund(fund_id, config)
        if isinstance(event, NavStruck):
            checked += 1
            findings.extend(_check_strike(seq, state, event))
        try:
            state = evolve_fund(state, event)  # type: ignore[arg-type]
        except KeyError as exc:
            findings.append(Finding("inconsistent", (seq,), f"sequence {seq}: fund {fund_id} "
                                    f"never had {exc}"))  # fmt: skip
            continue
        if conservation_gap(state) != 0:
            findings.append(Finding("inconsistent", (seq,), f"sequence {seq}: fund {fund_id} "
                                    f"books off by {conservation_gap(state)}"))  # fmt: skip
        funds[fund_id] = state
    return findings, checked


def _check_strike(seq: int, state: FundState, event: NavStruck) -> list[Finding]:
    book = BookValuation(realised_pnl=event.realised_pnl, unrealised_pnl=event.unrealised_pnl,
                         trading_fees=event.trading_fees, funding=event.funding)  # fmt: skip
    envelope: Envelope = {k: getattr(event, k) for k in _ENVELOPE}  # type: ignore[assignment]
    decided = decide_strike_nav(state, book, as_of=event.as_of, envelope=envelope)
    if decided == [event]:
        return []
    if not decided or not isinstance(decided[0], NavStruck):
        return [Finding("inconsistent", (seq,), f"sequence {seq}: NAV struck where the fund's "
                        "history refuses a strike")]  # fmt: skip
    again = msgspec.structs.asdict(decided[0])
    shown = msgspec.structs.asdict(event)
    wrong = [f"{k} {shown[k]} (history gives {again[k]})" for k in shown if shown[k] != again[k]]
    return [Finding("inconsistent", (seq,), f"sequence {seq}: NAV strike differs: "
                    + ", ".join(wrong))]  # fmt: skip
