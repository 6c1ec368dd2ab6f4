"""The execution service: commands and venue reports in, events out, one writer.

Everything that changes trading state goes through one queue and one worker task:

* a **command** (:class:`~commands.orders.PlaceOrder`, ``CancelOrder``, ``ModifyOrder``,
  ``Halt``, ``Resume``) is decided against the in-memory book (risk guardian included);
* a **market event** feeds the paper venues (fills, funding) and the marks;
* a **venue report** (accepted, fill, cancel...) becomes order and position events.

The worker drains what is queued, decides each item in order against the book (updating it as
it goes), and appends all resulting events in **one atomic write** (group commit: many
commands, one fsync).  Paper venues answer in memory, so a market order's acceptance and fill
are in the same write as its placement.  A live venue is called only after the write that
records ``OrderSent`` is durable, so an order is sent at most once; its answer comes back as a
report through the queue.  If a write fails the book is rebuilt from the store (fail-stop) and
the batch's callers get the error.

Filled orders with an attached stop-loss / take-profit get reduce-only children (a stop and a
limit); when one of them fills, the other is cancelled (one cancels the other).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from commands.account import decide_halt, decide_open, decide_resume
from commands.book import AggregateId, TradingBook
from commands.orders import (
    CancelOrder,
    Halt,
    ModifyOrder,
    OrderState,
    PlaceOrder,
    Resume,
    TradingCommand,
    decide_cancel,
    decide_modify,
    decide_place,
    fill_event,
    validate_place,
)
from commands.positions import book_fill, funding_amount
from commands.risk import Instrument, RiskConfig, check
from commands.store import EventStore, Write
from events.base import Envelope, Event, stable_event_id
from events.market import Ticker, Trade
from events.trading import (
    CommandRejected,
    FundingBooked,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderModified,
    OrderPlaced,
    OrderRejected,
    OrderSent,
    OrderSide,
    position_id,
)
from helix.clock import Clock
from helix.errors import ValidationError
from helix.trading.instruments import inferred, paper_config, venue_checks
from helix.venues.base import (
    Accepted,
    Cancelled,
    Expired,
    Fill,
    Funding,
    Modified,
    Rejected,
    Report,
    RequestRejected,
    Venue,
)
from helix.venues.paper import PaperVenue

SOURCE = "helix-execution"
MAX_DRAIN = 256
MAX_EVENTS = 600  # an atomic write holds at most 1,000 messages
ZERO = Decimal(0)


@dataclass
class Result:
    """What a command caused: the events written for it (empty: nothing new)."""

    events: list[Event] = field(default_factory=list)
    order_id: uuid.UUID | None = None
    duplicate: bool = False


@dataclass
class _Item:
    kind: str  # "command" | "market" | "reports"
    payload: Any
    future: asyncio.Future[Result] | None = None


@dataclass
class _Batch:
    """Events decided in one drain, per aggregate (with the version before the first)."""

    book: TradingBook
    events: dict[AggregateId, list[Event]] = field(default_factory=dict)
    base: dict[AggregateId, int] = field(default_factory=dict)
    live: list[tuple[str, uuid.UUID]] = field(default_factory=list)  # calls after the write
    log: list[Event] = field(default_factory=list)  # every event, in decision order

    def add(self, aggregate_id: AggregateId, events: list[Event]) -> None:
        if not events:
            return
        if aggregate_id not in self.events:
            self.events[aggregate_id] = []
            self.base[aggregate_id] = self.book.version(aggregate_id)
        self.events[aggregate_id].extend(events)
        self.log.extend(events)
        for e in events:
            self.book.apply(aggregate_id, e)

    def written(self, aggregate_id: AggregateId) -> int:
        return len(self.events.get(aggregate_id, ()))

    def writes(self) -> list[Write]:
        return [Write(a, self.base[a], evs) for a, evs in self.events.items()]


class ExecutionService:
    """See the module docstring.  ``start()``, then ``execute(cmd)``; ``stop()`` at the end."""

    def __init__(
        self,
        *,
        store: EventStore,
        venues: Mapping[tuple[str, str], Venue],
        instruments: Callable[[str, str], Instrument | None],
        risk: RiskConfig,
        clock: Clock,
        paper_balance: Decimal = Decimal("100000"),
        live_allowed: bool = False,
        auto_paper: bool = False,
    ) -> None:
        self.store = store
        self.venues = dict(venues)  # (market venue, "paper"|"live") -> Venue
        self._lookup = instruments
        self._inferred: dict[tuple[str, str], Instrument] = {}
        self.auto_paper = auto_paper
        self.risk = risk
        self.clock = clock
        self.paper_balance = paper_balance
        self.live_allowed = live_allowed
        self.book = TradingBook()
        self.marks: dict[tuple[str, str], Decimal] = {}
        self.queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._live_tasks: set[asyncio.Task[None]] = set()
        self._ticker_marks: set[tuple[str, str]] = set()
        self.errors: list[str] = []
        self._retry: list[_Item] = []
        self._item_time: int | None = None
        self.live_balance: dict[str, Decimal] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Rebuild the book, restore paper venues, reconcile live ones, start the worker."""
        self._loop = asyncio.get_running_loop()
        await self._reload()
        for (market, mode), venue in self.venues.items():
            if mode == "live":
                balance = getattr(venue, "balance", None)
                if balance is not None:
                    self.live_balance[market] = await balance()
            mine = [o for o in self.book.open_orders() if self._route(o) == (market, mode)]
            reports = await venue.reconcile(mine)
            if reports:
                await self._process_now(reports)
        self._worker = asyncio.create_task(self._run(), name="execution-worker")
        for o in self.book.open_orders():  # placed before a crash, never sent
            if o.status == "placed":
                await self.queue.put(_Item("reports", ("send", o.order_id)))

    async def stop(self) -> None:
        await self.queue.join()
        for t in list(self._live_tasks):
            await t
        await self.queue.join()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def _reload(self) -> None:
        self.book = TradingBook()
        async for aggregate_id, event in self.store.load_all():
            self.book.apply(aggregate_id, event)

    # -- inputs ------------------------------------------------------------------------------

    async def execute(self, cmd: TradingCommand) -> Result:
        """Decide and persist one command; returns the events it wrote."""
        fut: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        await self.queue.put(_Item("command", cmd, fut))
        return await fut

    async def market(self, seq: int, event: Event) -> None:
        """A market event (in stream order): marks, paper fills, funding."""
        await self.queue.put(_Item("market", (seq, event)))

    def feed(self, seq: int, event: Event) -> None:
        """:meth:`market` without a trip through the queue when nothing waits in it.

        Marks and the paper venue see the event at once; only what it causes (fills, funding)
        goes through the queue, stamped with the event's time, so the order of decisions and
        their times are those of :meth:`market`.  The fast path of replays and live feeds.
        """
        if not self.queue.empty() or self._retry:
            self.queue.put_nowait(_Item("market", (seq, event)))
            return
        reports = self._market_inline(seq, event)
        if reports:
            self.queue.put_nowait(_Item("reports", ("market", (reports, event.ts_event))))

    def instruments(self, venue: str, symbol: str) -> Instrument | None:
        """A market's trading rules (configured, else inferred from its first trade)."""
        return self._lookup(venue, symbol) or self._inferred.get((venue, symbol))

    def _market_inline(self, seq: int, event: Event) -> list[Report]:
        venue = getattr(event, "venue", None)
        symbol = getattr(event, "symbol", None)
        if venue is None or symbol is None:
            return []
        key = (venue, symbol)
        if self.auto_paper:
            if (venue, "paper") not in self.venues:
                self.venues[(venue, "paper")] = PaperVenue(venue, paper_config(venue))
            if isinstance(event, Trade) and self.instruments(venue, symbol) is None:
                self._inferred[key] = inferred(symbol, event.price, event.qty)
        if isinstance(event, Ticker) and event.mark_price is not None:
            self.marks[key] = event.mark_price
            self._ticker_marks.add(key)
        elif isinstance(event, Trade) and key not in self._ticker_marks:
            self.marks[key] = event.price  # no mark price from this market: the last trade
        paper = self.venues.get((venue, "paper"))
        return paper.on_market(seq, event) if paper is not None else []

    def sink(self, reports: list[Report]) -> None:
        """Reports from a live venue's own thread (its WebSocket callbacks); thread-safe."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the service is not started")
        loop.call_soon_threadsafe(self.queue.put_nowait, _Item("reports", ("reports", reports)))

    def equity(self, account: str, mode: str = "paper") -> Decimal:
        """An account's equity at the current marks (a paper account not opened yet has the
        paper balance it will open with)."""
        if not self.book.account(account).opened:
            return self.paper_balance if mode == "paper" else ZERO
        return self.book.equity(account, self.marks)

    def set_mark(self, venue: str, symbol: str, price: Decimal) -> None:
        self.marks[(venue, symbol)] = price

    async def _process_now(self, reports: list[Report]) -> None:
        fut: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        await self.queue.put(_Item("reports", ("reports", reports), fut))
        if self._worker is None:  # during start-up: run one drain inline
            await self._drain(self.queue.get_nowait())
        else:
            await fut

    # -- the worker --------------------------------------------------------------------------

    async def _run(self) -> None:
        """Decide the next drain while the previous one's write is in flight (the write of a
        drain starts only once the previous write succeeded, so the log never holds a
        decision whose premises were not stored)."""
        previous: asyncio.Task[bool] | None = None
        while True:
            first = self._retry.pop(0) if self._retry else await self.queue.get()
            decided = await self._decide_drain(first, previous)
            if decided is None:
                previous = None
                continue
            if previous is not None and not await previous:
                await self._rollback(retry=decided[0])  # decided on top of a failed write
                previous = None
                continue
            previous = asyncio.create_task(self._commit(*decided))

    async def _drain(self, first: _Item) -> None:
        """Decide and write one drain inline (start-up, before the worker runs)."""
        decided = await self._decide_drain(first, None)
        if decided is not None:
            await self._commit(*decided)

    async def _decide_drain(
        self, first: _Item, previous: asyncio.Task[bool] | None
    ) -> tuple[list[_Item], _Batch, list[tuple[_Item, Result | Exception]]] | None:
        items: list[_Item] = []
        batch = _Batch(self.book)
        results: list[tuple[_Item, Result | Exception]] = []
        item: _Item | None = first
        while item is not None:
            items.append(item)
            try:
                results.append((item, await self._decide(item, batch)))
            except ValidationError as exc:
                results.append((item, exc))
            except Exception as exc:  # a bug or a corrupt state: drop the batch, not the service
                if previous is not None:
                    await previous  # let the write in flight land before rebuilding
                self.errors.append(f"{item.kind} failed and was dropped: {exc!r}")
                if item.future is not None and not item.future.done():
                    item.future.set_exception(exc)
                self.queue.task_done()  # the dropped item; the others are decided again
                await self._rollback(retry=[i for i in items if i is not item])
                return None
            full = len(items) >= MAX_DRAIN or len(batch.log) >= MAX_EVENTS
            if full:
                item = None
            elif self._retry:
                item = self._retry.pop(0)
            else:
                item = None if self.queue.empty() else self.queue.get_nowait()
        return items, batch, results

    async def _commit(
        self, items: list[_Item], batch: _Batch, results: list[tuple[_Item, Result | Exception]]
    ) -> bool:
        """Write a drain's events; then answer its callers and start its live venue calls."""
        try:
            if batch.events:
                await self.store.append(batch.writes(), command_id=uuid.uuid4().hex)
        except Exception as exc:
            self.errors.append(f"write of {len(batch.log)} events failed: {exc!r}")
            for item, _ in results:
                if item.future is not None and not item.future.done():
                    item.future.set_exception(exc)
            for _ in items:
                self.queue.task_done()
            return False
        for item, outcome in results:
            if item.future is not None and not item.future.done():
                if isinstance(outcome, Exception):
                    item.future.set_exception(outcome)
                else:
                    item.future.set_result(outcome)
        for action, order_id in batch.live:
            task = asyncio.create_task(self._call_live(action, order_id))
            self._live_tasks.add(task)
            task.add_done_callback(self._live_tasks.discard)
        for _ in items:
            self.queue.task_done()
        return True

    async def _rollback(self, *, retry: list[_Item]) -> None:
        """Make memory match the store again (the book and the paper venues' resting orders)
        and decide ``retry`` again first thing."""
        await self._reload()
        for (market, mode), venue in self.venues.items():
            if mode == "paper" and hasattr(venue, "resting"):
                venue.resting.clear()
                await venue.reconcile(
                    [o for o in self.book.open_orders() if self._route(o) == (market, mode)]
                )
        self._retry[:0] = retry

    def _env(self, aggregate_id: AggregateId, n: int, ts: int | None = None) -> Envelope:
        """Envelope of the ``n``-th new event of an aggregate (deterministic id)."""
        version = self.book.version(aggregate_id) + n
        now = self._item_time if self._item_time is not None else self.clock.now_ns()
        return {
            "event_id": stable_event_id("trading", aggregate_id, version),
            "ts_event": now if ts is None else ts,
            "ts_recorded": now,
            "source": SOURCE,
            "vertical": "perps",
        }

    def _route(self, order: OrderState) -> tuple[str, str]:
        return order.placed.venue, order.placed.mode

    async def _decide(self, item: _Item, batch: _Batch) -> Result:
        if item.kind == "command":
            n0 = len(batch.log)
            res = await self._command(item.payload, batch)
            res.events = batch.log[n0:]
            return res
        if item.kind == "market":
            seq, event = item.payload
            self._item_time = event.ts_event  # market-driven decisions happen at market time
            try:
                return await self._market(seq, event, batch)
            finally:
                self._item_time = None
        what, data = item.payload
        if what == "market":  # reports a market event caused, at that event's time
            reports, ts = data
            self._item_time = ts
            try:
                return await self._reports(reports, batch)
            finally:
                self._item_time = None
        if what == "send":
            order = self.book.orders.get(data)
            if order is not None and order.status == "placed":
                await self._route_new(order, batch)
            return Result()
        return await self._reports(data, batch)

    # -- commands ----------------------------------------------------------------------------

    async def _command(self, cmd: TradingCommand, batch: _Batch) -> Result:
        if isinstance(cmd, PlaceOrder):
            return await self._place(cmd, batch)
        if isinstance(cmd, CancelOrder):
            return await self._cancel(cmd, batch)
        if isinstance(cmd, ModifyOrder):
            return await self._modify(cmd, batch)
        acct = self.book.account(cmd.account)
        if isinstance(cmd, Halt):
            events = decide_halt(acct, cmd, envelope=self._env(cmd.account, 1))
        else:
            assert isinstance(cmd, Resume)
            events = decide_resume(acct, cmd, envelope=self._env(cmd.account, 1))
        batch.add(cmd.account, list(events))
        return Result(list(events))

    def _open_account(self, account: str, mode: str, venue: str, batch: _Batch) -> None:
        acct = self.book.account(account)
        balance = self.paper_balance if mode == "paper" else self.live_balance.get(venue, ZERO)
        batch.add(account, list(decide_open(acct, balance, mode, envelope=self._env(account, 1))))

    async def _place(self, cmd: PlaceOrder, batch: _Batch) -> Result:
        oid = cmd.order_id
        if oid in self.book.orders:
            return Result(order_id=oid, duplicate=True)
        if cmd.live and not self.live_allowed:
            raise ValidationError(
                "live trading is off: set HELIX_LIVE_TRADING=true and the venue's API keys"
            )
        mode = "live" if cmd.live else "paper"
        if (cmd.venue, mode) not in self.venues:
            raise ValidationError(f"no {mode} venue for market {cmd.venue!r}")
        self._open_account(cmd.account, mode, cmd.venue, batch)
        now = self.clock.now_ns()
        failed = validate_place(cmd) + venue_checks(cmd)
        inst = self.instruments(cmd.venue, cmd.symbol)
        if inst is None:
            failed += (f"no_instrument: {cmd.symbol} is not traded on {cmd.venue}",)
        else:
            view = self.book.risk_view(
                cmd.account, cmd.venue, cmd.symbol, instrument=inst, marks=self.marks,
                now_ns=now,
            )  # fmt: skip
            failed += check(cmd.intent(), view, self.risk)
        events = decide_place(
            cmd, failed, reference_price=self.marks.get((cmd.venue, cmd.symbol)),
            envelope=self._env(oid, 1),
        )  # fmt: skip
        n_before = batch.written(oid)
        batch.add(oid, list(events))
        order = self.book.orders[oid]
        if order.status == "placed":
            await self._route_new(order, batch)
        written = list(batch.events[oid][n_before:])
        return Result(written, order_id=oid)

    async def _route_new(self, order: OrderState, batch: _Batch) -> None:
        venue = self.venues[self._route(order)]
        if order.placed.mode == "live":
            sent = OrderSent(**self._env(order.order_id, 1), order_id=order.order_id,
                             client_order_id=order.order_id.hex)  # fmt: skip
            batch.add(order.order_id, [sent])
            batch.live.append(("submit", order.order_id))
            return
        reports = await venue.submit(order, now_ns=self.clock.now_ns())
        await self._reports(reports, batch)

    async def _cancel(self, cmd: CancelOrder, batch: _Batch) -> Result:
        state = self.book.orders.get(cmd.order_id)
        events = decide_cancel(state, cmd, envelope=self._env(cmd.order_id, 1))
        batch.add(cmd.order_id, list(events))
        result = Result(list(events), order_id=cmd.order_id)
        if events and state is not None and not isinstance(events[0], CommandRejected):
            if state.placed.mode == "live":
                batch.live.append(("cancel", cmd.order_id))
                return result
            reports = await self.venues[self._route(state)].cancel(
                self.book.orders[cmd.order_id], now_ns=self.clock.now_ns()
            )
            result.events += await self._collect(cmd.order_id, reports, batch)
        return result

    async def _modify(self, cmd: ModifyOrder, batch: _Batch) -> Result:
        state = self.book.orders.get(cmd.order_id)
        failed: tuple[str, ...] = ()
        if state is not None and state.is_open:
            p = state.placed
            inst = self.instruments(p.venue, p.symbol)
            if inst is not None:
                view = self.book.risk_view(
                    p.account, p.venue, p.symbol, instrument=inst, marks=self.marks,
                    now_ns=self.clock.now_ns(), exclude=cmd.order_id,
                )  # fmt: skip
                failed = check(state.intent(cmd.qty, cmd.limit_price), view, self.risk)
        events = decide_modify(state, cmd, failed, envelope=self._env(cmd.order_id, 1))
        batch.add(cmd.order_id, list(events))
        result = Result(list(events), order_id=cmd.order_id)
        if events and state is not None and not isinstance(events[0], CommandRejected):
            new = self.book.orders[cmd.order_id]
            assert new.pending_modify is not None
            qty, price = new.pending_modify
            if state.placed.mode == "live":
                batch.live.append(("amend", cmd.order_id))
                return result
            reports = await self.venues[self._route(state)].amend(
                new, qty, price, now_ns=self.clock.now_ns()
            )
            result.events += await self._collect(cmd.order_id, reports, batch)
        return result

    async def _collect(
        self, order_id: uuid.UUID, reports: list[Report], batch: _Batch
    ) -> list[Event]:
        n_before = batch.written(order_id)
        await self._reports(reports, batch)
        return list(batch.events.get(order_id, [])[n_before:])

    # -- market and reports --------------------------------------------------------------------

    async def _market(self, seq: int, event: Event, batch: _Batch) -> Result:
        return await self._reports(self._market_inline(seq, event), batch)

    async def _reports(self, reports: list[Report], batch: _Batch) -> Result:
        out: list[Event] = []
        for r in reports:
            if isinstance(r, Funding):
                out += self._funding(r, batch)
                continue
            order = self.book.orders.get(r.order_id)
            if order is None:
                continue
            oid = r.order_id
            env = self._env(oid, 1)
            events: list[Event] = []
            if isinstance(r, Accepted):
                if order.status in ("placed", "sent"):
                    events = [OrderAccepted(**env, order_id=oid, venue_order_id=r.venue_order_id)]
            elif isinstance(r, Rejected):
                if order.is_open:
                    p = order.placed
                    rej = OrderRejected(
                        **env, order_id=oid, account=p.account, venue=p.venue, symbol=p.symbol,
                        stage="venue", reason=r.reason, command_id=p.command_id,
                    )  # fmt: skip
                    events = [rej]
            elif isinstance(r, Fill):
                out += await self._fill(order, r, batch)
                continue
            elif isinstance(r, Cancelled):
                if order.is_open:
                    events = [OrderCancelled(**env, order_id=oid, reason=r.reason,
                                             leaves_qty=order.leaves_qty)]  # fmt: skip
            elif isinstance(r, Expired):
                if order.is_open:
                    events = [OrderExpired(**env, order_id=oid, leaves_qty=order.leaves_qty)]
            elif isinstance(r, Modified):
                if order.is_open:
                    events = [
                        OrderModified(**env, order_id=oid, qty=r.qty, limit_price=r.limit_price)
                    ]
            elif isinstance(r, RequestRejected):
                events = [CommandRejected(**env, order_id=oid, command=r.command, reason=r.reason)]
            batch.add(oid, events)
            out += events
        return Result(out)

    async def _fill(self, order: OrderState, r: Fill, batch: _Batch) -> list[Event]:
        p = order.placed
        if r.exec_id in order.exec_ids:
            return []
        if not order.is_open or r.qty > order.qty - order.cum_qty:
            self.errors.append(
                f"fill {r.exec_id} of {r.qty} on order {order.order_id} ({order.status}, "
                f"{order.qty - order.cum_qty} left) not booked: reconcile with the venue"
            )
            return []
        filled = fill_event(
            order, exec_id=r.exec_id, qty=r.qty, price=r.price, fee=r.fee, liquidity=r.liquidity,
            envelope=self._env(order.order_id, 1, r.ts),
        )  # fmt: skip
        if filled is None:
            return []
        out: list[Event] = []
        if order.status in ("placed", "sent"):
            acc = OrderAccepted(**self._env(order.order_id, 1, r.ts), order_id=order.order_id,
                                venue_order_id=order.venue_order_id or "")  # fmt: skip
            batch.add(order.order_id, [acc])
            out.append(acc)
            filled = fill_event(
                self.book.orders[order.order_id], exec_id=r.exec_id, qty=r.qty, price=r.price,
                fee=r.fee, liquidity=r.liquidity, envelope=self._env(order.order_id, 1, r.ts),
            )  # fmt: skip
            assert filled is not None
        batch.add(order.order_id, [filled])
        pid = position_id(p.account, p.venue, p.symbol)
        booked = book_fill(
            self.book.position(p.account, p.venue, p.symbol), order_id=order.order_id,
            exec_id=r.exec_id, side=p.side, qty=r.qty, price=r.price, fee=r.fee,
            strategy=p.strategy, envelope=self._env(pid, 1, r.ts),
        )  # fmt: skip
        batch.add(pid, [booked])
        out += [filled, booked]
        if filled.leaves_qty == 0:
            out += await self._after_fill(self.book.orders[order.order_id], batch)
        return out

    async def _after_fill(self, order: OrderState, batch: _Batch) -> list[Event]:
        """Children of a filled entry (stop-loss, take-profit), and OCO between children."""
        p = order.placed
        out: list[Event] = []
        if p.parent_id is not None:  # a child filled: cancel its sibling
            for sib in self.book.open_orders(p.account):
                if sib.placed.parent_id == p.parent_id and sib.order_id != order.order_id:
                    cancel = CancelOrder(command_id=f"{sib.order_id}:oco", order_id=sib.order_id,
                                         reason=f"oco: {order.order_id} filled")  # fmt: skip
                    out += (await self._cancel(cancel, batch)).events
            return out
        exit_side: OrderSide = "sell" if p.side == "buy" else "buy"
        children = []
        if p.stop_loss is not None:
            children.append(PlaceOrder(
                command_id=f"{order.order_id}:sl", account=p.account, venue=p.venue,
                symbol=p.symbol, side=exit_side, qty=order.qty, order_type="stop",
                trigger_price=p.stop_loss, reduce_only=True, parent_id=order.order_id,
                strategy=p.strategy, live=p.mode == "live",
            ))  # fmt: skip
        if p.take_profit is not None:
            children.append(PlaceOrder(
                command_id=f"{order.order_id}:tp", account=p.account, venue=p.venue,
                symbol=p.symbol, side=exit_side, qty=order.qty, order_type="limit",
                limit_price=p.take_profit, reduce_only=True, parent_id=order.order_id,
                strategy=p.strategy, live=p.mode == "live",
            ))  # fmt: skip
        for child in children:
            out += (await self._place(child, batch)).events
        return out

    def _funding(self, r: Funding, batch: _Batch) -> list[Event]:
        out: list[Event] = []
        for key, pos in list(self.book.positions.items()):
            if (pos.venue, pos.symbol) != (r.venue, r.symbol) or pos.size == 0:
                continue
            if self.book.funding_seen.get(key, 0) >= r.funding_ts:
                continue
            ev = FundingBooked(
                **self._env(key, 1, r.funding_ts),
                account=pos.account, venue=pos.venue, symbol=pos.symbol,
                funding_ts=r.funding_ts, rate=r.rate, mark_price=r.mark, size=pos.size,
                amount=funding_amount(pos.size, r.mark, r.rate),
            )  # fmt: skip
            batch.add(key, [ev])
            out.append(ev)
        return out

    # -- live venues ---------------------------------------------------------------------------

    async def _call_live(self, action: str, order_id: uuid.UUID) -> None:
        """A live venue call, after the write that recorded the intent is durable."""
        order = self.book.orders[order_id]
        venue = self.venues[self._route(order)]
        now = self.clock.now_ns()
        try:
            if action == "submit":
                reports = await venue.submit(order, now_ns=now)
            elif action == "cancel":
                reports = await venue.cancel(order, now_ns=now)
            else:
                assert order.pending_modify is not None
                qty, price = order.pending_modify
                reports = await venue.amend(order, qty, price, now_ns=now)
        except Exception as exc:  # in doubt: ask the venue, never send again
            try:
                reports = await venue.reconcile([order])
            except Exception as exc2:
                reports = []
                self.errors.append(f"{action} {order_id}: {exc!r}; reconcile: {exc2!r}")
            if action != "submit" and not reports:
                reports = [RequestRejected(order_id, "cancel" if action == "cancel" else "modify",
                                           f"venue error: {exc}")]  # fmt: skip
        await self.queue.put(_Item("reports", ("reports", reports)))


def placed_of(events: list[Event]) -> OrderPlaced | None:
    return next((e for e in events if isinstance(e, OrderPlaced)), None)
