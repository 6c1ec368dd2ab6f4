"""``helix fund``: members, deposits and withdrawals, NAV, fees and affiliates.

Every figure shown is folded from the fund's events in the log; every change is a command on
the Fund aggregate (a refusal is stored as ``fund.command_rejected`` and exits non-zero).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

import typer
from rich.table import Table

from helix.cli.app import every_seconds, group, out, settings
from helix.errors import DomainError, ValidationError

if TYPE_CHECKING:
    from commands.fund import FundConfig, FundState
    from helix.bootstrap import Runtime
    from helix.fund.service import FundService, Outcome

fund_app = group("fund", "The fund: members, deposits, withdrawals, NAV, fees, affiliates.")
member_app = typer.Typer(help="Fund members.", no_args_is_help=True)
fund_app.add_typer(member_app, name="member")

T = TypeVar("T")


def money(text: str, what: str = "amount") -> Decimal:
    """A positive decimal amount.

    Raises:
        ValidationError: not a number, or not positive.
    """
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ValidationError(f"{what} must be a positive number, not {text!r}")
    return value


def with_fund(action: Callable[[Runtime, FundService], Awaitable[T]]) -> T:
    """Run ``action(rt, service)`` against the fund in the log."""
    from helix.bootstrap import runtime
    from helix.fund.runtime import fund_service

    cfg = settings()

    async def go() -> T:
        async with runtime(cfg) as rt, fund_service(rt, cfg) as svc:
            return await action(rt, svc)

    return asyncio.run(go())


def done(outcome: Outcome) -> None:
    """Print what a command wrote; a refusal (already stored) exits non-zero."""
    rejected = outcome.rejected
    if rejected:
        raise DomainError(f"refused ({rejected}); the refusal is recorded in the ledger")
    for e in outcome.events:
        out.print(f"[green]✓[/] {describe(e)}")


def describe(e: object) -> str:
    from events import fund as ev

    if isinstance(e, ev.MemberJoined):
        via = f" (referred by {e.affiliate_id})" if e.affiliate_id else ""
        return f"member {e.member_id} joined, KYC {e.kyc_ref}{via}"
    if isinstance(e, ev.DepositRequested):
        return f"deposit {e.deposit_id} of {e.amount} requested by {e.member_id}"
    if isinstance(e, ev.DepositSettled):
        return (f"deposit {e.deposit_id} settled: {e.units} units at NAV {e.nav_per_unit} "
                f"(lot {e.lot_id})")  # fmt: skip
    if isinstance(e, ev.WithdrawalRequested):
        return f"withdrawal {e.withdrawal_id} requested by {e.member_id}"
    if isinstance(e, ev.WithdrawalSettled):
        return (f"withdrawal {e.withdrawal_id} settled: {e.units_redeemed} units at NAV "
                f"{e.nav_per_unit}, "
                f"paid {e.amount_paid}, performance fee {e.performance_fee}")  # fmt: skip
    if isinstance(e, ev.NavStruck):
        return (f"NAV struck: {e.nav_per_unit} per unit, net assets {e.net_assets}, "
                f"{e.units_outstanding} units")  # fmt: skip
    if isinstance(e, ev.FeesCrystallised):
        perf = sum((f.performance_fee for f in e.lots), Decimal(0))
        mgmt = sum((f.management_fee for f in e.lots), Decimal(0))
        who = e.lots[0].member_id if e.lots else "-"
        return f"fees crystallised for {who}: performance {perf}, management {mgmt}"
    if isinstance(e, ev.PayoutMade):
        return f"paid {e.amount} to {e.payee} {e.payee_id} (payout {e.payout_id})"
    if isinstance(e, ev.CommissionAccrued):
        return (f"commission {e.amount} to {e.affiliate_id} on {e.member_id}'s fees "
                f"{e.fee_base} (tier {e.tier}, rate {e.rate})")  # fmt: skip
    return type(e).__name__


def when(ts: int) -> str:
    if not ts:
        return "-"
    return dt.datetime.fromtimestamp(ts / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@member_app.command("add")
def member_add(
    member: Annotated[str, typer.Argument(help="member id")],
    kyc: Annotated[str, typer.Option(help="KYC reference (required)")] = "",
    affiliate: Annotated[str | None, typer.Option(help="the affiliate who referred them")] = None,
) -> None:
    """Admit a member (a KYC reference is required)."""
    done(with_fund(lambda _rt, svc: svc.join(member, kyc, affiliate)))


@member_app.command("list")
def member_list() -> None:
    """Members with their units, value at the last NAV, lots and fees paid."""

    async def go(_rt: Runtime, svc: FundService) -> FundState:
        return (await svc.load())[0]

    s = with_fund(go)
    table = Table(title=f"fund {s.fund_id}: NAV {s.nav_per_unit} at {when(s.nav_ts)}")
    for col in ("member", "kyc", "affiliate", "lots", "units", "value", "fees paid"):
        table.add_column(col, justify="left" if col in ("member", "kyc", "affiliate") else "right")
    for m in s.members.values():
        units = s.member_units(m.member_id)
        lots = s.member_lots(m.member_id)
        value = (units * s.nav_per_unit).quantize(Decimal("0.01"))
        table.add_row(m.member_id, m.kyc_ref, m.affiliate_id or "-", str(len(lots)), str(units),
                      str(value), str(m.fees_paid))  # fmt: skip
    out.print(table)


@fund_app.command("deposit")
def deposit(
    member: Annotated[str, typer.Argument(help="member id")],
    amount: Annotated[str, typer.Argument(help="amount in the fund's currency (whole cents)")],
) -> None:
    """Subscribe: units issued at the last struck NAV, in a new lot with its own high-water mark."""
    value = money(amount)
    done(with_fund(lambda _rt, svc: svc.deposit(member, value)))


@fund_app.command("withdraw")
def withdraw(
    member: Annotated[str, typer.Argument(help="member id")],
    amount: Annotated[str | None, typer.Argument(help="gross value to redeem")] = None,
    units: Annotated[str | None, typer.Option(help="redeem this many units instead")] = None,
) -> None:
    """Redeem at the last struck NAV, oldest lots first (performance fee on their gains)."""
    if (amount is None) == (units is None):
        raise ValidationError("give an AMOUNT or --units, not both")
    value = money(amount) if amount is not None else None
    count = money(units, "units") if units is not None else None
    done(with_fund(lambda _rt, svc: svc.withdraw(member, amount=value, units=count)))


@fund_app.command("payout")
def payout(
    payee: Annotated[str, typer.Argument(help="manager or affiliate")],
    payee_id: Annotated[str, typer.Argument(help="who is paid (the affiliate's id)")],
    amount: Annotated[str, typer.Argument(help="amount, whole cents")],
) -> None:
    """Pay the manager's fees or an affiliate's commissions out of the fund."""
    if payee not in ("manager", "affiliate"):
        raise ValidationError(f"payee must be manager or affiliate, not {payee!r}")
    value = money(amount)
    kind: Literal["manager", "affiliate"] = "manager" if payee == "manager" else "affiliate"
    done(with_fund(lambda _rt, svc: svc.payout(kind, payee_id, value)))


@fund_app.command("nav")
def nav(
    strike: Annotated[
        bool, typer.Option("--strike", help="strike a NAV from the book now")
    ] = False,
    every: Annotated[
        str | None, typer.Option(help="with --strike: strike on this schedule, e.g. 24h")
    ] = None,
) -> None:
    """The fund's NAV and books; ``--strike`` values the trading book from the log and strikes
    (``--every 24h``: the daily strike, until stopped)."""
    if every is not None:
        if not strike:
            raise ValidationError("--every needs --strike")
        strike_every(every)
        return
    from commands.fund import conservation_gap
    from helix.clock import SystemClock
    from helix.fund.runtime import book_valuation

    cfg = settings()

    async def go(rt: Runtime, svc: FundService) -> FundState:
        if strike:
            book = await book_valuation(rt, cfg)
            done(await svc.strike(book, as_of=SystemClock().now_ns()))
        return (await svc.load())[0]

    s = with_fund(go)
    rows = [
        ("NAV per unit", s.nav_per_unit), ("struck at", when(s.nav_ts)),
        ("units outstanding", s.units_outstanding), ("net contributions", s.net_contributions),
        ("book PnL (at strike)", s.book_pnl), ("fund equity", s.equity),
        ("members' equity", s.member_equity.quantize(Decimal("0.01"))),
        ("fees payable", s.fees_payable), ("commissions payable", s.total_commissions_payable),
        ("rounding account", s.rounding),
        ("conservation gap", conservation_gap(s).normalize()),
    ]  # fmt: skip
    table = Table(title=f"fund {s.fund_id}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, str(value))
    out.print(table)


def strike_every(every: str) -> None:
    from helix.bootstrap import runtime
    from helix.clock import SystemClock
    from helix.errors import ConcurrencyError
    from helix.fund.runtime import book_valuation, fund_service

    interval, cfg = every_seconds(every), settings()

    async def go() -> None:
        async with runtime(cfg) as rt, fund_service(rt, cfg) as svc:
            while True:
                try:
                    done(await svc.strike(await book_valuation(rt, cfg),
                                          as_of=SystemClock().now_ns()))  # fmt: skip
                except (DomainError, ConcurrencyError) as exc:
                    out.print(f"[yellow]strike skipped: {exc}; next in {every}[/]")
                await asyncio.sleep(interval)

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        out.print("stopped")


@fund_app.command("fees")
def fees(
    crystallise: Annotated[
        bool, typer.Option("--crystallise", help="strike, then crystallise the period's fees")
    ] = False,
    days: Annotated[str, typer.Option(help="the period's length in days (management fee)")] = "1",
) -> None:
    """Fees payable and paid per member; ``--crystallise`` strikes the NAV from the book, charges
    the period's management and performance fees and accrues affiliates' commissions."""
    from helix.clock import SystemClock
    from helix.fund.runtime import book_valuation

    cfg = settings()
    period = money(days, "days")

    async def go(rt: Runtime, svc: FundService) -> FundState:
        if crystallise:
            now = SystemClock().now_ns()
            done(await svc.strike(await book_valuation(rt, cfg), as_of=now))
            done(await svc.crystallise(period_end=now, days=period))
        return (await svc.load())[0]

    s = with_fund(go)
    table = Table(title=f"fees payable to the manager: {s.fees_payable}")
    table.add_column("member")
    table.add_column("fees paid", justify="right")
    table.add_column("not yet commissioned", justify="right")
    for m in s.members.values():
        table.add_row(m.member_id, str(m.fees_paid), str(m.fee_base_pending))
    out.print(table)


@fund_app.command("affiliates")
def affiliates() -> None:
    """Affiliates: members referred, their holdings, the tier reached and commissions payable."""
    from commands.fund_fees import commission_tier, referred_aum

    cfg = settings()

    async def go(_rt: Runtime, svc: FundService) -> tuple[FundState, FundConfig]:
        return (await svc.load())[0], svc.config

    s, config = with_fund(go)
    names = sorted({m.affiliate_id for m in s.members.values() if m.affiliate_id}
                   | set(s.commissions_payable))  # fmt: skip
    table = Table(title=f"affiliates of fund {cfg.fund_id}")
    for col in ("affiliate", "referred", "referred AUM", "tier", "rate", "commissions payable"):
        table.add_column(col, justify="left" if col == "affiliate" else "right")
    for a in names:
        referred = [m.member_id for m in s.members.values() if m.affiliate_id == a]
        aum = referred_aum(s, a)
        tier = commission_tier(config, aum)
        table.add_row(a, str(len(referred)), str(aum.quantize(Decimal("0.01"))), str(tier),
                      str(config.commission_tiers[tier].rate),
                      str(s.commissions_payable.get(a, Decimal(0))))  # fmt: skip
    out.print(table)
