"""One contract for both write-side event stores: in memory and eventsourcing on JetStream."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from commands.store import EventStore, InMemoryEventStore, Write
from events.base import Event
from events.trading import AccountOpened, TradingHalted, TradingResumed
from helix.errors import ConcurrencyError
from helix.trading.ledger_store import LedgerEventStore
from tests.services import RunningServices

pytestmark = pytest.mark.integration


def env(n: int) -> dict[str, object]:
    return {"event_id": uuid.uuid4(), "ts_event": n, "ts_recorded": n, "source": "test",
            "vertical": "perps"}  # fmt: skip


def opened(account: str) -> Event:
    return AccountOpened(**env(1), account=account, balance=Decimal("1000.50"))  # type: ignore[arg-type]


def halted(account: str, n: int) -> Event:
    return TradingHalted(**env(n), account=account, reason=f"r{n}")  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def ledger(nc: NATS, services: RunningServices) -> AsyncIterator[LedgerEventStore]:
    tag = uuid.uuid4().hex[:8]
    stream, prefix = f"TRD_{tag}", f"trd{tag}"
    store = LedgerEventStore.open(
        nc, nats_url=services.nats_url, database_url=services.database_url, stream=stream,
        prefix=f"{prefix}.es.trading",
    )  # fmt: skip
    try:
        yield store
    finally:
        await store.aclose()
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(stream)


@contextlib.asynccontextmanager
async def memory(nc: NATS, services: RunningServices) -> AsyncIterator[InMemoryEventStore]:
    yield InMemoryEventStore()


@pytest.fixture(params=["memory", "ledger"])
async def store(
    request: pytest.FixtureRequest, nc: NATS, services: RunningServices
) -> AsyncIterator[EventStore]:
    factory = memory if request.param == "memory" else ledger
    async with factory(nc, services) as s:
        yield s


async def everything(store: EventStore) -> list[tuple[object, Event]]:
    return [item async for item in store.load_all()]


async def test_appends_are_atomic_across_aggregates_and_read_back_in_order(
    store: EventStore,
) -> None:
    order_id = uuid.uuid4()
    writes = [
        Write("acct-a", 0, [opened("acct-a"), halted("acct-a", 2)]),
        Write(order_id, 0, [opened("x")]),
        Write("acct-a:sim:BTCUSDT", 0, [halted("p", 3)]),
    ]
    assert await store.append(writes, command_id="c1")
    loaded = await store.load("acct-a")
    assert loaded == list(writes[0].events)
    items = await everything(store)
    assert sorted((str(a), type(e).__name__) for a, e in items) == sorted(
        [("acct-a", "AccountOpened"), ("acct-a", "TradingHalted"), (str(order_id),
         "AccountOpened"), ("acct-a:sim:BTCUSDT", "TradingHalted")]
    )  # fmt: skip
    assert isinstance(next(a for a, _ in items if a == order_id), uuid.UUID)


async def test_a_stale_version_is_refused_and_writes_nothing(store: EventStore) -> None:
    await store.append([Write("acct-b", 0, [opened("acct-b")])], command_id="c1")
    with pytest.raises(ConcurrencyError):
        await store.append(
            [Write("acct-c", 0, [opened("acct-c")]), Write("acct-b", 0, [halted("acct-b", 2)])],
            command_id="c2",
        )
    assert await store.load("acct-c") == []
    assert len(await store.load("acct-b")) == 1
    await store.append([Write("acct-b", 1, [halted("acct-b", 2)])], command_id="c3")
    assert [type(e) for e in await store.load("acct-b")] == [AccountOpened, TradingHalted]


async def test_a_retried_command_writes_nothing_twice(store: EventStore) -> None:
    events = [opened("acct-d"), TradingResumed(**env(2), account="acct-d")]  # type: ignore[arg-type]
    await store.append([Write("acct-d", 0, events)], command_id="same")
    await store.append([Write("acct-d", 0, events)], command_id="same")
    assert await store.load("acct-d") == events
