"""Recompute every NAV the log records (pure; part of ``helix audit verify --log``).

Each fund's events are folded in log order; at every ``fund.nav_struck`` the strike is decided
again from the state before it and the book valuation the event itself records (realised and
unrealised PnL, trading fees, funding), and must give the same event field by field.  A
difference names the event's sequence: a NAV, a unit count or a claim that the fund's own
history does not produce.  Every state is also checked for conservation (members + fees +
commissions + rounding = fund equity).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from audit.seals import Finding
from commands.fund import FundConfig, FundState, conservation_gap, evolve_fund, new_fund
from commands.fund_fees import BookValuation, decide_strike_nav
from events.base import Envelope, Event
from events.fund import FundEvent, NavStruck

_ENVELOPE = ("event_id", "ts_event", "ts_recorded", "source", "vertical", "causation_id",
             "correlation_id")  # fmt: skip


def nav_findings(
    events: Iterable[tuple[int, Event]], config: FundConfig
) -> tuple[list[Finding], int]:
    """``(findings, NAV strikes checked)`` over ``(sequence, event)`` pairs in log order."""
    funds: dict[str, FundState] = {}
    findings: list[Finding] = []
    checked = 0
    for seq, event in events:
        if not isinstance(event, FundEvent):  # type: ignore[misc,arg-type]
            continue
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
