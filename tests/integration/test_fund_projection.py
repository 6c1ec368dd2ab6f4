"""The fund read models on real NATS + PostgreSQL, from a year the Fund service wrote."""

from __future__ import annotations

from decimal import Decimal as D

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from commands.fund import FundConfig, FundState
from commands.fund_fees import BookValuation
from commands.store import InMemoryEventStore
from events.fund import NavStruck
from helix.clock import FixedClock
from helix.codec import Codec
from helix.eventstore.subjects import encode_id
from helix.fund.service import FundService
from projections.runner import ProjectionRunner, reset
from tests.integration.projection_support import Lab, lab
from tests.services import RunningServices

pytestmark = pytest.mark.integration

DAY = 86_400_000_000_000
T0 = 1_767_225_600_000_000_000


async def a_year() -> tuple[InMemoryEventStore, FundState]:
    store = InMemoryEventStore()
    svc = FundService(store=store, fund_id="f1", config=FundConfig(), clock=FixedClock(T0))
    for i in range(8):
        await svc.join(f"m{i}", f"kyc{i}", "aff" if i % 2 else None)
        await svc.deposit(f"m{i}", D(1000 * (i + 1)))
    for q, pnl in enumerate(("1800", "-400", "3500", "5200"), start=1):
        await svc.strike(BookValuation(realised_pnl=D(pnl), unrealised_pnl=D(0)),
                         as_of=T0 + q * 91 * DAY)  # fmt: skip
        await svc.crystallise(period_end=T0 + q * 91 * DAY, days=D(91))
        await svc.withdraw(f"m{q}", amount=D(250))
    state, _ = await svc.load()
    return store, state


async def project(nc: NATS, lab_: Lab, batch: int) -> None:
    conn = await asyncpg.connect(lab_.database_url)
    try:
        await reset(conn, lab_.projectors()["fund"])
        await ProjectionRunner(nc=nc, conn=conn, projector=lab_.projectors()["fund"],
                               batch=batch).run()  # fmt: skip
    finally:
        await conn.close()


async def tables(url: str) -> dict[str, list[tuple[object, ...]]]:
    conn = await asyncpg.connect(url)
    try:
        names = ("fund_nav", "fund_members", "fund_affiliates", "fund_member_equity")
        out = {}
        for t in names:
            out[t] = [
                tuple(r.values()) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")
            ]
        return out
    finally:
        await conn.close()


async def test_fund_read_models_equal_the_aggregate(nc: NATS, services: RunningServices) -> None:
    store, state = await a_year()
    async with lab(nc, services.database_url) as a:
        js, codec = nc.jetstream(), Codec()
        for aggregate_id, event in store.log:
            await js.publish(f"{a.prefix}.es.fund.e.{encode_id(aggregate_id)}", codec.encode(event))
        await project(nc, a, batch=1000)
        whole = await tables(a.database_url)
        await project(nc, a, batch=3)
        assert await tables(a.database_url) == whole  # batching does not change the result

    navs = [e for _, e in store.log if isinstance(e, NavStruck)]
    assert [r[2] for r in whole["fund_nav"]] == [e.nav_per_unit for e in navs]
    members = {r[1]: r for r in whole["fund_members"]}
    assert set(members) == set(state.members)
    for m in state.members.values():
        row = members[m.member_id]
        assert row[4] == state.member_units(m.member_id)  # units
        assert row[7] == m.fees_paid
    [aff] = whole["fund_affiliates"]
    assert aff[2] == state.commissions_payable["aff"]  # nothing paid out yet: accrued = payable
    equity = sum((D(str(r[4])) for r in whole["fund_member_equity"]), D(0))
    assert equity == state.member_equity
