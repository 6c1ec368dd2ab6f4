"""Composition for fund commands: the service on the ledger's event store, the book's valuation
from the trading aggregates and ``MARKET``'s marks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal

from commands.book import TradingBook
from commands.fund import CommissionTier, FundConfig
from commands.fund_fees import BookValuation
from helix.bootstrap import Runtime
from helix.clock import Clock, SystemClock
from helix.codec import Codec
from helix.errors import ConfigError
from helix.fund.service import FundService
from helix.fund.valuation import value_book
from helix.settings import Settings
from helix.trading.ledger_store import LedgerEventStore
from helix.trading.runtime import scan_markets

FUND_PREFIX = "ldg.es.fund"


def fund_config(settings: Settings) -> FundConfig:
    """The fee rates and affiliate tiers from settings (``HELIX_FUND_*``).

    Raises:
        ConfigError: a rate out of range or tiers out of order.
    """
    try:
        tiers = tuple(
            CommissionTier(min_referred_aum=Decimal(aum), rate=Decimal(rate))
            for aum, rate in (t.split(":") for t in settings.fund_affiliate_tiers.split(";") if t)
        )
        return FundConfig(
            initial_nav=Decimal(settings.fund_initial_nav),
            performance_fee_rate=Decimal(settings.fund_performance_fee),
            management_fee_rate=Decimal(settings.fund_management_fee),
            commission_tiers=tiers,
        )
    except (ValueError, ArithmeticError) as exc:
        raise ConfigError(f"invalid fund settings (HELIX_FUND_*): {exc}") from exc


def fund_accounts(settings: Settings) -> frozenset[str] | None:
    """The trading accounts whose book is the fund's (None: every account)."""
    names = {a.strip() for a in settings.fund_accounts.split(",") if a.strip()}
    return None if not names or "*" in names else frozenset(names)


@contextlib.asynccontextmanager
async def fund_service(
    rt: Runtime, settings: Settings, *, clock: Clock | None = None
) -> AsyncIterator[FundService]:
    store = await asyncio.to_thread(
        LedgerEventStore.open, rt.nc, nats_url=rt.endpoints.nats_url,
        database_url=rt.endpoints.database_url, prefix=FUND_PREFIX,
    )  # fmt: skip
    try:
        yield FundService(
            store=store, fund_id=settings.fund_id, config=fund_config(settings),
            clock=clock or SystemClock(),
        )  # fmt: skip
    finally:
        await store.aclose()


async def book_valuation(rt: Runtime, settings: Settings) -> BookValuation:
    """The fund accounts' book from the trading aggregates, marked at ``MARKET``'s last prices."""
    store = await asyncio.to_thread(
        LedgerEventStore.open, rt.nc, nats_url=rt.endpoints.nats_url,
        database_url=rt.endpoints.database_url,
    )  # fmt: skip
    try:
        book = TradingBook()
        async for aggregate_id, event in store.load_all():
            book.apply(aggregate_id, event)
    finally:
        await store.aclose()
    markets = await scan_markets(rt.nc, Codec())
    marks = {k: t.price for k, (_s, t) in markets.trades.items()}
    for k, (_s, tk) in markets.tickers.items():
        if tk.mark_price is not None:
            marks[k] = tk.mark_price
    return value_book(book.positions.values(), marks, accounts=fund_accounts(settings))
