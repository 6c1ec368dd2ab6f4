"""``fund_nav``, ``fund_members``, ``fund_affiliates``: the fund for Grafana.

Projected from the Fund aggregate's events (``ldg.es.fund.e.>``).  Each batch reads the rows
of the members and affiliates it touches, folds the batch into them in stream order and
upserts them, so the result does not depend on how the log was cut into batches.  Audits never
read these tables: ``audit/`` replays the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import asyncpg

from events.fund import (
    CommissionAccrued,
    DepositSettled,
    FeesCrystallised,
    MemberJoined,
    NavStruck,
    WithdrawalSettled,
)
from projections.base import Batch, ns_to_dt
from projections.rows import columns, names, set_all, unnest_insert

ZERO = Decimal(0)
MemberKey = tuple[str, str]  # (fund_id, member_id)


@dataclass(frozen=True, slots=True)
class NavRow:
    fund_id: str
    as_of: datetime
    nav_per_unit: Decimal
    net_assets: Decimal
    fund_equity: Decimal
    units_outstanding: Decimal
    fees_payable: Decimal
    commissions_payable: Decimal
    book_pnl: Decimal
    seq: int


@dataclass(frozen=True, slots=True)
class MemberRow:
    fund_id: str
    member_id: str
    kyc_ref: str
    affiliate_id: str | None
    units: Decimal
    deposited: Decimal
    withdrawn: Decimal
    fees_paid: Decimal
    joined_ts: datetime
    updated_ts: datetime
    last_seq: int


@dataclass(frozen=True, slots=True)
class AffiliateRow:
    fund_id: str
    affiliate_id: str
    accrued: Decimal
    updated_ts: datetime
    last_seq: int


@dataclass
class FundChanges:
    navs: list[NavRow]
    members: dict[MemberKey, MemberRow]
    affiliates: dict[MemberKey, AffiliateRow]


def nav_row(seq: int, e: NavStruck) -> NavRow:
    pnl = e.realised_pnl - e.trading_fees + e.funding + e.unrealised_pnl
    return NavRow(e.fund_id, ns_to_dt(e.as_of), e.nav_per_unit, e.net_assets, e.fund_equity,
                  e.units_outstanding, e.fees_payable, e.commissions_payable, pnl, seq)  # fmt: skip


def fold_fund(
    members: Mapping[MemberKey, MemberRow], affiliates: Mapping[MemberKey, AffiliateRow],
    batch: Batch,
) -> FundChanges:  # fmt: skip
    """Pure: the NAV rows a batch adds and the member / affiliate rows it changes."""
    out = FundChanges([], {}, {})

    def member(key: MemberKey) -> MemberRow | None:
        return out.members.get(key) or members.get(key)

    def bump(key: MemberKey, seq: int, ts: int, **delta: Decimal) -> None:
        row = member(key)
        if row is None:  # an event of a member the projection never saw join: nothing to show
            return
        changes = {k: getattr(row, k) + v for k, v in delta.items()}
        out.members[key] = replace(row, **changes, updated_ts=ns_to_dt(ts), last_seq=seq)  # type: ignore[arg-type]

    for seq, e in batch:
        if isinstance(e, NavStruck):
            out.navs.append(nav_row(seq, e))
        elif isinstance(e, MemberJoined):
            ts = ns_to_dt(e.ts_event)
            out.members[(e.fund_id, e.member_id)] = MemberRow(
                e.fund_id, e.member_id, e.kyc_ref, e.affiliate_id, ZERO, ZERO, ZERO, ZERO, ts, ts,
                seq,
            )  # fmt: skip
        elif isinstance(e, DepositSettled):
            bump((e.fund_id, e.member_id), seq, e.ts_event, units=e.units, deposited=e.amount)
        elif isinstance(e, WithdrawalSettled):
            bump((e.fund_id, e.member_id), seq, e.ts_event, units=-e.units_redeemed,
                 withdrawn=e.amount_paid, fees_paid=e.performance_fee)  # fmt: skip
        elif isinstance(e, FeesCrystallised):
            for f in e.lots:
                bump((e.fund_id, f.member_id), seq, e.ts_event, units=-f.units_redeemed,
                     fees_paid=f.performance_fee + f.management_fee)  # fmt: skip
        elif isinstance(e, CommissionAccrued):
            key = (e.fund_id, e.affiliate_id)
            prev = out.affiliates.get(key) or affiliates.get(key)
            accrued = (prev.accrued if prev else ZERO) + e.amount
            out.affiliates[key] = AffiliateRow(e.fund_id, e.affiliate_id, accrued,
                                               ns_to_dt(e.ts_event), seq)  # fmt: skip
    return out


INSERT_NAV = unnest_insert(
    "fund_nav", NavRow,
    "text timestamptz numeric numeric numeric numeric numeric numeric numeric bigint",
    "ON CONFLICT DO NOTHING",
)  # fmt: skip
UPSERT_MEMBERS = unnest_insert(
    "fund_members", MemberRow,
    "text text text text numeric numeric numeric numeric timestamptz timestamptz bigint",
    "ON CONFLICT (fund_id, member_id) DO UPDATE SET " + set_all(names(MemberRow)[2:]),
)  # fmt: skip
UPSERT_AFFILIATES = unnest_insert(
    "fund_affiliates", AffiliateRow, "text text numeric timestamptz bigint",
    "ON CONFLICT (fund_id, affiliate_id) DO UPDATE SET " + set_all(names(AffiliateRow)[2:]),
)  # fmt: skip
SELECT_MEMBERS = (
    f"SELECT {', '.join(names(MemberRow))} FROM fund_members "
    "WHERE (fund_id, member_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
)
SELECT_AFFILIATES = (
    f"SELECT {', '.join(names(AffiliateRow))} FROM fund_affiliates "
    "WHERE (fund_id, affiliate_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
)


def _touched(batch: Batch) -> tuple[set[MemberKey], set[MemberKey]]:
    members: set[MemberKey] = set()
    affiliates: set[MemberKey] = set()
    for _, e in batch:
        if isinstance(e, DepositSettled | WithdrawalSettled):
            members.add((e.fund_id, e.member_id))
        elif isinstance(e, FeesCrystallised):
            members.update((e.fund_id, f.member_id) for f in e.lots)
        elif isinstance(e, CommissionAccrued):
            affiliates.add((e.fund_id, e.affiliate_id))
    return members, affiliates


@dataclass(frozen=True)
class FundProjector:
    """Override ``stream`` / ``subjects`` to project another stream (tests, backtests)."""

    name: str = "fund"
    stream: str = "LEDGER"
    subjects: tuple[str, ...] = ("ldg.es.fund.e.>",)
    tables: tuple[str, ...] = ("fund_nav", "fund_members", "fund_affiliates")

    async def apply(self, conn: asyncpg.Connection, batch: Batch) -> None:
        want_members, want_affiliates = _touched(batch)
        members: dict[MemberKey, MemberRow] = {}
        affiliates: dict[MemberKey, AffiliateRow] = {}
        if want_members:
            f, m = zip(*want_members, strict=True)
            for r in await conn.fetch(SELECT_MEMBERS, list(f), list(m)):
                row = MemberRow(*r.values())
                members[(row.fund_id, row.member_id)] = row
        if want_affiliates:
            f, a = zip(*want_affiliates, strict=True)
            for r in await conn.fetch(SELECT_AFFILIATES, list(f), list(a)):
                arow = AffiliateRow(*r.values())
                affiliates[(arow.fund_id, arow.affiliate_id)] = arow
        changes = fold_fund(members, affiliates, batch)
        if changes.navs:
            await conn.execute(INSERT_NAV, *columns(changes.navs, NavRow))
        if changes.members:
            await conn.execute(UPSERT_MEMBERS, *columns(list(changes.members.values()), MemberRow))
        if changes.affiliates:
            rows = list(changes.affiliates.values())
            await conn.execute(UPSERT_AFFILIATES, *columns(rows, AffiliateRow))
