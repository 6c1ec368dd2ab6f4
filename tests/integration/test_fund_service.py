"""The Fund aggregate on both event stores: flows, refusals stored, racing writers retried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal as D

import pytest
from nats.aio.client import Client as NATS

from commands.fund import FundConfig, conservation_gap
from commands.fund_fees import BookValuation
from commands.store import EventStore
from events.fund import DepositSettled, FundCommandRejected
from helix.clock import FixedClock
from helix.fund.service import FundService
from tests.integration.test_trading_store import ledger, memory
from tests.services import RunningServices

pytestmark = pytest.mark.integration

DAY = 86_400_000_000_000
T0 = 1_767_225_600_000_000_000  # 2026-01-01


@pytest.fixture(params=["memory", "ledger"])
async def store(
    request: pytest.FixtureRequest, nc: NATS, services: RunningServices
) -> AsyncIterator[EventStore]:
    make = memory if request.param == "memory" else ledger
    async with make(nc, services) as s:
        yield s


def service(store: EventStore) -> FundService:
    return FundService(store=store, fund_id="f1", config=FundConfig(), clock=FixedClock(T0))


def book(pnl: str) -> BookValuation:
    return BookValuation(realised_pnl=D(pnl), unrealised_pnl=D(0))


async def test_a_year_of_flows_conserves_every_cent(store: EventStore) -> None:
    svc = service(store)
    for m, aff in (("m1", None), ("m2", "a1"), ("m3", "a1")):
        assert (await svc.join(m, f"kyc-{m}", aff)).rejected is None
    await svc.deposit("m1", D("10000"))
    await svc.deposit("m2", D("250000"))
    await svc.strike(book("26000"), as_of=T0 + 90 * DAY)  # +10%
    await svc.deposit("m3", D("5000.55"))
    await svc.crystallise(period_end=T0 + 90 * DAY, days=D(90))
    await svc.strike(book("20000"), as_of=T0 + 180 * DAY)
    out = await svc.withdraw("m2", amount=D("100000"))
    assert out.rejected is None
    await svc.strike(book("45000"), as_of=T0 + 365 * DAY)
    await svc.crystallise(period_end=T0 + 365 * DAY, days=D(185))

    state, version = await svc.load()
    assert conservation_gap(state) == 0
    assert state.fees_payable > 0
    assert state.commissions_payable["a1"] > 0
    # the state folded back from the store is the one the commands built
    assert (await service(store).load()) == (state, version)


async def test_a_refusal_is_stored_with_its_reason(store: EventStore) -> None:
    svc = service(store)
    out = await svc.deposit("nobody", D("100"))
    assert out.rejected == "unknown_member"
    events = await store.load(svc.aggregate_id)
    assert [type(e) for e in events] == [FundCommandRejected]
    assert events[0].reason == "unknown_member"  # type: ignore[attr-defined]


async def test_racing_writers_are_decided_again(store: EventStore) -> None:
    await service(store).join("m1", "kyc", None)
    writers = [service(store) for _ in range(4)]
    outcomes = await asyncio.gather(
        *(w.deposit("m1", D(100 + i)) for i, w in enumerate(writers * 3))
    )
    assert all(o.rejected is None for o in outcomes)
    state, _ = await service(store).load()
    settled = [
        e for e in await store.load(writers[0].aggregate_id) if isinstance(e, DepositSettled)
    ]
    assert len(settled) == 12
    assert state.net_contributions == sum(D(100 + i) for i in range(12))
    assert conservation_gap(state) == 0
