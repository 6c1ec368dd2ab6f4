"""The trading read models' folds (pure): the domain's answers, whatever the batch cut."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from decimal import Decimal as D
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.orders import OrderState, evolve_order
from events.base import Event
from events.trading import (
    CommandRejected,
    FillBooked,
    FundingBooked,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRequested,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRequested,
    OrderPlaced,
    OrderRejected,
    OrderSent,
)
from projections.accounts import fold_accounts
from projections.base import Batch
from projections.orders import (
    COLUMNS,
    OrderRow,
    evolve_order_row,
    fold_orders,
    order_events,
)
from projections.pnl import EXACT, PnlDailyRow, PnlKey, fold_pnl
from projections.positions import fold_positions, position_events
from projections.rows import unnest_insert
from tests.trading_session import Session, trading_session
from tests.unit._factories import envelope

E = TypeVar("E", bound=Event)
OID = uuid.UUID("5d0c4a4e-7a0b-4c1e-9a53-2f4b8f1d9e01")


@pytest.fixture(scope="module")
async def session() -> Session:
    return await trading_session()


def batch_of(s: Session) -> Batch:
    return [(seq, e) for seq, (_, e) in enumerate(s.log, start=1)]


def cuts(batch: Batch, points: list[int]) -> Iterator[Batch]:
    edges = [0, *sorted({p % (len(batch) + 1) for p in points}), len(batch)]
    for a, b in itertools.pairwise(edges):
        if b > a:
            yield batch[a:b]


def same_as_domain(row: OrderRow | None, state: OrderState | None) -> None:
    if state is None:
        assert row is None
        return
    assert row is not None
    assert row.status == state.status
    assert (row.cum_qty, row.avg_price, row.fees) == (state.cum_qty, state.avg_price, state.fees)
    assert row.venue_order_id == state.venue_order_id
    assert row.reject_reason == state.reject_reason
    assert row.pending_cancel == state.pending_cancel
    pending = None if row.pending_qty is None else (row.pending_qty, row.pending_limit_price)
    assert pending == state.pending_modify
    assert row.is_open == state.is_open
    if row.qty is not None:  # None: refused by the guardian (the domain says 0)
        assert (row.qty, row.limit_price) == (state.qty, state.limit_price)
        assert row.leaves_qty == state.leaves_qty


# -- orders ----------------------------------------------------------------------------------


def test_order_rows_follow_evolve_order_at_every_event_of_the_session(session: Session) -> None:
    rows: dict[uuid.UUID, OrderRow | None] = {}
    states: dict[uuid.UUID, OrderState] = {}
    for seq, e in order_events(batch_of(session)):
        rows[e.order_id] = evolve_order_row(rows.get(e.order_id), seq, e)
        states[e.order_id] = evolve_order(states.get(e.order_id), e)
        same_as_domain(rows[e.order_id], states[e.order_id])
    assert states == session.svc.book.orders
    assert all(r is None or r.fills == len(states[o].exec_ids) for o, r in rows.items())


def _ev(cls: Callable[..., E], **kw: Any) -> E:
    """An event of order ``OID``."""
    return cls(**envelope(), order_id=OID, **kw)


PLACED = OrderPlaced(
    **envelope(), order_id=OID, account="a", venue="sim", symbol="BTCUSDT", side="buy",
    order_type="limit", qty=D("1"), limit_price=D("100"),
)  # fmt: skip
ORDER_EVENTS = st.sampled_from(
    [
        _ev(OrderSent, client_order_id="c"),
        _ev(OrderAccepted, venue_order_id="v1"),
        _ev(OrderFilled, exec_id="x1", qty=D("0.4"), price=D("99"), fee=D("0.01"),
            liquidity="maker", leaves_qty=D("0.6"), cum_qty=D("0.4"), avg_price=D("99")),
        _ev(OrderFilled, exec_id="x2", qty=D("0.6"), price=D("98"), fee=D("0.02"),
            liquidity="taker", leaves_qty=D("0"), cum_qty=D("1"), avg_price=D("98.4")),
        _ev(OrderModifyRequested, qty=D("2"), limit_price=D("101")),
        _ev(OrderModified, qty=D("2"), limit_price=D("101")),
        _ev(OrderCancelRequested, reason="requested"),
        _ev(OrderCancelled, reason="cancelled", leaves_qty=D("1")),
        _ev(OrderExpired, leaves_qty=D("1")),
        _ev(CommandRejected, command="cancel", reason="not resting"),
        _ev(CommandRejected, command="modify", reason="not resting"),
        OrderRejected(**envelope(), order_id=OID, account="a", venue="sim", symbol="BTCUSDT",
                      stage="venue", reason="no"),
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(ORDER_EVENTS, max_size=12))
def test_any_sequence_after_a_placement_gives_the_domain_s_state(tail: list[OrderEvent]) -> None:
    row = evolve_order_row(None, 1, PLACED)
    state = evolve_order(None, PLACED)
    for seq, e in enumerate(tail, start=2):
        row, state = evolve_order_row(row, seq, e), evolve_order(state, e)
        same_as_domain(row, state)
        assert row is not None
        assert row.last_seq == seq


def test_a_risk_rejection_alone_makes_a_rejected_row_with_its_checks() -> None:
    e = OrderRejected(**envelope(), order_id=OID, account="a", venue="sim", symbol="BTCUSDT",
                      stage="risk", reason="max_position: 1 > 0", checks=("max_position",),
                      command_id="c1")  # fmt: skip
    row = evolve_order_row(None, 7, e)
    assert row is not None
    same_as_domain(row, evolve_order(None, e))
    assert (row.reject_stage, row.checks, row.command_id) == ("risk", ("max_position",), "c1")
    assert (row.side, row.qty, row.strategy) == (None, None, None)
    assert (row.first_seq, row.last_seq) == (7, 7)


def test_a_refused_command_on_an_unknown_order_is_kept_without_an_order_row() -> None:
    e = _ev(CommandRejected, command="cancel", reason="unknown order", command_id="x")
    changed, rejected = fold_orders({}, [(3, e)])
    assert changed == {}
    assert [(r.order_id, r.command, r.reason, r.seq) for r in rejected] == [
        (OID, "cancel", "unknown order", 3)
    ]


def test_an_order_event_before_its_placement_is_refused() -> None:
    with pytest.raises(ValueError, match="before it was placed"):
        evolve_order_row(None, 1, _ev(OrderAccepted, venue_order_id="v"))


def test_a_cancelled_order_keeps_who_asked_even_after_a_refused_second_cancel() -> None:
    row = evolve_order_row(None, 1, PLACED)
    events: list[OrderEvent] = [
        _ev(OrderCancelRequested, reason="oco: sibling filled"),
        _ev(OrderCancelled, reason="cancelled", leaves_qty=D("1")),
        _ev(CommandRejected, command="cancel", reason="order is cancelled"),
    ]
    for seq, e in enumerate(events, start=2):
        row = evolve_order_row(row, seq, e)
    assert row is not None
    assert (row.status, row.cancel_reason) == ("cancelled", "oco: sibling filled")


@dataclass(frozen=True)
class _Pair:
    a: int
    b: str


def test_the_upserts_have_one_typed_array_per_row_field() -> None:
    assert [c for c, _ in COLUMNS] == [f.name for f in fields(OrderRow)]
    assert unnest_insert("t", _Pair, "bigint text", "ON CONFLICT DO NOTHING") == (
        "INSERT INTO t AS t (a, b) SELECT * FROM unnest($1::bigint[], $2::text[])"
        " ON CONFLICT DO NOTHING"
    )
    with pytest.raises(ValueError, match="2 fields but 1 types"):
        unnest_insert("t", _Pair, "text")


# -- positions, accounts, pnl ----------------------------------------------------------------


def test_positions_and_accounts_equal_the_service_s_book(session: Session) -> None:
    batch = batch_of(session)
    positions = fold_positions({}, position_events(batch))
    book = session.svc.book
    assert len(positions) == len(book.positions) == 2
    for (account, venue, symbol), row in positions.items():
        p = book.position(account, venue, symbol)
        assert (row.size, row.entry_price, row.realized_pnl, row.fees, row.funding, row.fills) == (
            p.size, p.entry_price, p.realized_pnl, p.fees, p.funding, p.fills,
        )  # fmt: skip
        assert row.net_pnl == p.net_pnl
    accounts = fold_accounts({}, batch)
    mine = {a: (r.balance, r.mode, r.opened, r.halted, r.halt_reason) for a, r in accounts.items()}
    assert mine == {
        a: (s.balance, s.mode, s.opened, s.halted, s.halt_reason) for a, s in book.accounts.items()
    }


def _read_modify_write(
    fold: Callable[[dict[Any, Any], Batch], dict[Any, Any]], parts: Iterator[Batch]
) -> dict[Any, Any]:
    table: dict[Any, Any] = {}
    for part in parts:
        table.update(fold(table, part))
    return table


def _add(a: PnlDailyRow, b: PnlDailyRow) -> PnlDailyRow:
    return PnlDailyRow(
        a.day, a.account, a.venue, a.symbol, a.strategy,
        EXACT.add(a.realized_pnl, b.realized_pnl), EXACT.add(a.fees, b.fees),
        EXACT.add(a.funding, b.funding), a.fills + b.fills, EXACT.add(a.volume, b.volume),
    )  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(points=st.lists(st.integers(min_value=0, max_value=10_000), max_size=25))
def test_the_folds_do_not_depend_on_the_batch_cut(session: Session, points: list[int]) -> None:
    batch = batch_of(session)

    def orders(t: dict[Any, Any], b: Batch) -> dict[Any, Any]:
        return fold_orders(t, order_events(b))[0]

    def positions(t: dict[Any, Any], b: Batch) -> dict[Any, Any]:
        return fold_positions(t, position_events(b))

    for fold in (orders, positions, fold_accounts):
        assert _read_modify_write(fold, cuts(batch, points)) == fold({}, batch)
    pnl: dict[PnlKey, PnlDailyRow] = {}
    for part in cuts(batch, points):  # the upsert adds a batch's sums to the row
        for key, row in fold_pnl(part).items():
            pnl[key] = _add(pnl[key], row) if key in pnl else row
    assert pnl == fold_pnl(batch)


def test_daily_pnl_sums_exactly_per_day_and_strategy_with_funding_apart(session: Session) -> None:
    events = [e for _, e in session.log]
    rows = fold_pnl(batch_of(session))
    assert {k[0].isoformat() for k in rows} == {"2024-12-31", "2025-01-01"}
    assert {k[4] for k in rows} == {"", "trend", "meanrev", "breakout", "manual"}
    fills = [e for e in events if isinstance(e, FillBooked)]
    funding = [e for e in events if isinstance(e, FundingBooked)]
    assert all(r.funding == 0 for k, r in rows.items() if k[4])
    assert all(r.fills == 0 and r.realized_pnl == r.fees == 0 for k, r in rows.items() if not k[4])
    for account in ("paper", "alpha"):
        mine = [r for k, r in rows.items() if k[1] == account]
        net = D(0)
        for r in mine:
            net = EXACT.add(net, EXACT.subtract(EXACT.add(r.realized_pnl, r.funding), r.fees))
        expected = D(0)
        for e in fills:
            if e.account == account:
                expected = EXACT.add(expected, EXACT.subtract(e.realized_pnl, e.fee))
        for f in funding:
            if f.account == account:
                expected = EXACT.add(expected, f.amount)
        assert net == expected
        book = session.svc.book.position(account, "sim", "BTCUSDT").net_pnl
        assert abs(net - book) < D("1e-20")  # the book sums in 28 digits
    assert sum(r.fills for r in rows.values()) == len(fills)
