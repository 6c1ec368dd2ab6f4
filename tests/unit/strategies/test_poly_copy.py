"""The Polymarket copy-trader: sizing (TV-6.m), entries, gradual exits, idempotent commands.

Exits run against the real execution service with the in-memory store and the Polymarket paper
venue, so the positions they reduce are the ones the service booked.
"""

from __future__ import annotations

import uuid
from decimal import Decimal as D
from typing import Any

from commands.book import TradingBook
from commands.orders import PlaceOrder
from commands.risk import RiskConfig
from commands.store import InMemoryEventStore
from events.base import stable_event_id
from events.market import Trade
from events.poly import HybridSignal, PolyBook, PolyResolved, PolySignal, PolyTrade
from helix.clock import FixedClock
from helix.strategies.poly_copy import PolyCopyConfig, PolyCopyTrader
from helix.trading.instruments import paper_config, polymarket_instrument
from helix.trading.service import ExecutionService
from helix.venues.paper import PaperVenue

T0 = 1_735_689_600_000_000_000
SEC = 1_000_000_000
CID = "0x" + "ab" * 32
YES = "1" * 77
SMART = "0xSmart000000000000000000000000000000000001"


def lookup(venue: str, symbol: str) -> Any:
    return polymarket_instrument(symbol) if venue == "polymarket" else None


def env(key: str, ts: int = T0) -> dict[str, Any]:
    return {"event_id": stable_event_id("test", key), "ts_event": ts, "ts_recorded": ts,
            "source": "test", "vertical": "poly"}  # fmt: skip


def signal_fields(key: str, ts: int = T0) -> dict[str, Any]:
    return {**env(key, ts), "strategy": "poly_oracle", "venue": "polymarket", "symbol": YES,
            "interval": "event", "bar_start": ts, "source_seq": 1, "reason": "test",
            "condition_id": CID, "token_id": YES, "outcome": "Yes"}  # fmt: skip


def poly_signal(key: str = "s1", *, p: float = 0.606613, price: str = "0.50",
                ts: int = T0) -> PolySignal:  # fmt: skip
    return PolySignal(
        **signal_fields(key, ts), question="Will it?", price=D(price), p_model=p, p_smart=p,
        edge=p - float(price), score=85, threshold=70, checks=("edge:pass",),
        smart_wallets=(SMART,), cluster_share=0.0, depth_usd=D(100000), stake_usd=D(0),
        horizon_s=None, adverse_move=0.0, kelly_fraction=0.5,
    )  # fmt: skip


def hybrid_signal(key: str = "h1", *, fraction: float = 0.106613, poly: str = "") -> HybridSignal:
    return HybridSignal(
        **signal_fields(key), poly_signal_id=poly, perps_signal_id="p", perps_kind="stop_hunt",
        perps_symbol="BTCUSDT", direction="up", price=D("0.50"), p_a=0.65, p_b=0.55,
        w=5 / 9, p_hybrid=0.606613, f_star=0.213226, fraction=fraction, window_s=3600,
    )  # fmt: skip


def trade(i: int, price: str, qty: str = "2000") -> Trade:
    return Trade(**env(f"t{i}", T0 + i * SEC), venue="polymarket", symbol=YES, trade_id=str(i),
                 price=D(price), qty=D(qty), side="sell")  # fmt: skip


def wallet_sell(key: str, wallet: str = SMART) -> PolyTrade:
    return PolyTrade(**env(key), symbol=CID, condition_id=CID, token_id=YES, outcome="Yes",
                     wallet=wallet, side="sell", size=D(100), price=D("0.55"),
                     trade_key=key)  # fmt: skip


def enter(trader: PolyCopyTrader, sig: Any, *, equity: str = "5000",
          book: TradingBook | None = None) -> list[PlaceOrder]:  # fmt: skip
    return trader.on_signal(sig, book=book or TradingBook(), marks={}, instruments=lookup,
                            equity=D(equity), now_ns=T0)  # fmt: skip


# -- sizing and entries --------------------------------------------------------------------------


def test_tv_6m_a_hybrid_signal_stakes_the_10pct_cap_500_for_1000_shares() -> None:
    [cmd] = enter(PolyCopyTrader(), hybrid_signal())
    assert (cmd.side, cmd.qty, cmd.limit_price, cmd.order_type) == ("buy", D(1000), D("0.50"),
                                                                    "limit")  # fmt: skip
    assert (cmd.venue, cmd.symbol, cmd.account, cmd.live) == ("polymarket", YES, "paper", False)


def test_a_poly_signal_is_sized_with_half_kelly_under_the_cap() -> None:
    [capped] = enter(PolyCopyTrader(), poly_signal(p=0.606613))  # λ·f* = 0.1066 -> cap 0.10
    assert capped.qty == D(1000)
    [half] = enter(PolyCopyTrader(), poly_signal(p=0.55))  # f* = 0.10, half 0.05 -> stake 250
    assert half.qty == D(500)


def test_no_entry_without_the_minimum_edge_or_when_stale() -> None:
    assert enter(PolyCopyTrader(), poly_signal(p=0.51)) == []
    old = poly_signal(ts=T0 - 2 * 3600 * SEC)
    assert enter(PolyCopyTrader(), old) == []


def test_the_best_ask_is_taken_within_the_tolerance_only() -> None:
    def book(ask: str) -> PolyBook:
        return PolyBook(**env(f"b{ask}"), symbol=YES, condition_id=CID, best_bid=D("0.49"),
                        best_ask=D(ask), mid=None)  # fmt: skip

    near = PolyCopyTrader()
    near.on_market(book("0.51"), book=TradingBook(), marks={}, instruments=lookup)
    [cmd] = enter(near, poly_signal())
    assert cmd.limit_price == D("0.51")
    far = PolyCopyTrader()
    far.on_market(book("0.53"), book=TradingBook(), marks={}, instruments=lookup)
    [cmd] = enter(far, poly_signal())
    assert cmd.limit_price == D("0.50")


def test_a_mark_above_the_limit_shrinks_the_shares_to_the_stake() -> None:
    trader = PolyCopyTrader()
    [cmd] = trader.on_signal(poly_signal(), book=TradingBook(), marks={("polymarket", YES):
                             D("0.52")}, instruments=lookup, equity=D(5000),
                             now_ns=T0)  # fmt: skip
    assert cmd.qty == D("961.53")  # 500 / 0.52, rounded down to the lot


def test_command_ids_derive_from_the_signal_and_one_position_per_outcome() -> None:
    trader = PolyCopyTrader()
    sig = poly_signal()
    [cmd] = enter(trader, sig)
    assert cmd.command_id == f"poly_copy:{sig.event_id}"
    assert enter(trader, sig) == []  # the same signal again
    assert enter(trader, poly_signal("s2")) == []  # another signal on the same outcome


# -- against the execution service ---------------------------------------------------------------


def service() -> ExecutionService:
    return ExecutionService(
        store=InMemoryEventStore(),
        venues={("polymarket", "paper"): PaperVenue("polymarket", paper_config("polymarket"))},
        instruments=lookup, risk=RiskConfig(), clock=FixedClock(T0, 1000),
        paper_balance=D(5000),
    )  # fmt: skip


async def entered(trader: PolyCopyTrader) -> ExecutionService:
    """A service where the trader bought 1,000 shares at 0.50 (filled from the market)."""
    svc = service()
    await svc.start()
    await react(svc, trader, trade(1, "0.50", "10"))
    [cmd] = trader.on_signal(poly_signal(), book=svc.book, marks=svc.marks, instruments=lookup,
                             equity=svc.equity("paper"), now_ns=T0)  # fmt: skip
    await svc.execute(cmd)
    await react(svc, trader, trade(2, "0.49"))  # trades through the limit: filled as maker
    assert svc.book.position("paper", "polymarket", YES).size == D(1000)
    return svc


async def react(svc: ExecutionService, trader: PolyCopyTrader, event: Any) -> list[PlaceOrder]:
    """The market event to the service (paper fills), then to the trader (as the runtime)."""
    await svc.market(int(event.ts_event - T0) // SEC + 1000, event)
    await svc.queue.join()
    cmds = trader.on_market(event, book=svc.book, marks=svc.marks, instruments=lookup)
    for cmd in cmds:
        await svc.execute(cmd)
    await svc.queue.join()
    return cmds


async def test_each_smart_wallet_sell_exits_10pct_of_the_entry_reduce_only() -> None:
    trader = PolyCopyTrader()
    svc = await entered(trader)
    try:
        [first] = await react(svc, trader, wallet_sell("w1"))
        assert (first.side, first.qty, first.reduce_only) == ("sell", D(100), True)
        assert first.limit_price == D("0.49")  # the last trade: no book seen
        assert svc.book.position("paper", "polymarket", YES).size == D(900)
        assert await react(svc, trader, wallet_sell("w1")) == []  # the same trade again
        assert await react(svc, trader, wallet_sell("w9", wallet="0xsomebody")) == []
        [second] = await react(svc, trader, wallet_sell("w2"))
        assert second.qty == D(100)
        assert second.command_id == f"poly_copy:{poly_signal().event_id}:exit:" + \
            wallet_sell("w2").event_id.hex  # fmt: skip
        assert svc.book.position("paper", "polymarket", YES).size == D(800)
    finally:
        await svc.stop()


async def test_edge_gone_exits_one_step_per_interval() -> None:
    trader = PolyCopyTrader()
    svc = await entered(trader)
    try:
        assert await react(svc, trader, trade(3, "0.58")) == []  # edge 0.0266 still there
        [step] = await react(svc, trader, trade(4, "0.59"))  # edge 0.0166 < 0.02
        assert step.qty == D(100)
        assert await react(svc, trader, trade(5, "0.61")) == []  # same 15-minute interval
        [later] = await react(svc, trader, trade(5 + 900, "0.61"))
        assert later.qty == D(100)
        assert svc.book.position("paper", "polymarket", YES).size == D(800)
    finally:
        await svc.stop()


async def test_a_restarted_trader_rebuilds_from_the_book_and_repeats_nothing() -> None:
    svc = await entered(PolyCopyTrader())
    try:
        fresh = PolyCopyTrader()
        assert enter(fresh, poly_signal(), book=svc.book) == []  # the entry exists
        [step] = await react(svc, fresh, wallet_sell("w1"))
        assert step.qty == D(100)
    finally:
        await svc.stop()


async def test_the_last_step_sells_a_rest_below_the_minimum_size() -> None:
    trader = PolyCopyTrader(PolyCopyConfig(exit_step=0.498))
    svc = await entered(trader)
    try:
        [a] = await react(svc, trader, wallet_sell("w1"))
        assert a.qty == D(498)
        [b] = await react(svc, trader, wallet_sell("w2"))
        assert b.qty == D(502)  # a step of 498 would leave 4 < the minimum of 5 shares
        assert svc.book.position("paper", "polymarket", YES).size == 0
        assert await react(svc, trader, wallet_sell("w3")) == []
    finally:
        await svc.stop()


async def test_after_resolution_there_is_nothing_to_sell() -> None:
    trader = PolyCopyTrader()
    svc = await entered(trader)
    try:
        resolved = PolyResolved(**env("r"), symbol=CID, condition_id=CID, outcomes=("Yes", "No"),
                                payouts=(D(1), D(0)), winner="Yes", origin="manual")  # fmt: skip
        assert await react(svc, trader, resolved) == []
        assert trader.followed == {}
        assert await react(svc, trader, wallet_sell("w1")) == []
    finally:
        await svc.stop()


def test_order_ids_are_stable_across_traders() -> None:
    a = enter(PolyCopyTrader(), poly_signal())[0]
    b = enter(PolyCopyTrader(), poly_signal())[0]
    assert a.order_id == b.order_id
    assert isinstance(a.order_id, uuid.UUID)
