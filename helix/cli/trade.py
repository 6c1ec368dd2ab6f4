"""``helix trade``, ``helix halt`` / ``helix resume``: commands to the execution service.

Each command goes to a running ``helix trade serve`` over NATS, or runs in-process when none
answers; either way the service decides and the events it wrote are printed.  A rejected
order (risk guardian or venue) prints its reasons and exits with code 3.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

import typer

from commands.orders import CancelOrder, Halt, ModifyOrder, PlaceOrder, Resume, TradingCommand
from events.base import Event
from events.trading import (
    CommandRejected,
    FillBooked,
    FundingBooked,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderPlaced,
    OrderRejected,
    TimeInForce,
)
from helix.cli.app import app, err, group, out, settings
from helix.errors import HelixError, ValidationError

trade_app = group("trade", "Place, modify and cancel orders (paper by default); run the service.")

ACCOUNT_HELP = "trading account (paper by default; live orders use 'live')"


def parse_decimal(text: str | None, what: str, *, positive: bool = True) -> Decimal | None:
    """A decimal option, or a clear error.

    Raises:
        ValidationError: not a number, or not positive.
    """
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{what} must be a number, got {text!r}") from None
    if not value.is_finite() or (positive and value <= 0):
        raise ValidationError(f"{what} must be a positive number, got {text!r}")
    return value


def parse_order_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValidationError(f"not an order id (a UUID): {text!r}") from None


def describe(e: Event) -> str:
    """One line for an event, with the fields a trader looks at."""
    name = type(e).__name__
    if isinstance(e, OrderPlaced):
        px = f" @ {e.limit_price}" if e.limit_price else ""
        px += f" trigger {e.trigger_price}" if e.trigger_price else ""
        extra = "".join(
            f" {k} {v}" for k, v in (("sl", e.stop_loss), ("tp", e.take_profit)) if v is not None
        )
        flags = " reduce-only" if e.reduce_only else ""
        return (f"{name}: {e.side} {e.qty} {e.symbol} on {e.venue} {e.order_type}{px}{extra}"
                f"{flags} ({e.mode}, order {e.order_id})")  # fmt: skip
    if isinstance(e, OrderRejected):
        return f"{name} ({e.stage}): {e.reason}"
    if isinstance(e, OrderAccepted):
        return f"{name}: venue order {e.venue_order_id}"
    if isinstance(e, OrderFilled):
        return (f"{name}: {e.qty} @ {e.price} ({e.liquidity}, fee {e.fee:.6f}), "
                f"{e.cum_qty} filled, {e.leaves_qty} left")  # fmt: skip
    if isinstance(e, FillBooked):
        return (f"{name}: position {e.account}:{e.venue}:{e.symbol} now {e.size} @ "
                f"{e.entry_price:.2f}, realised {e.realized_pnl:.2f}")  # fmt: skip
    if isinstance(e, FundingBooked):
        return f"{name}: {e.amount:.4f} on {e.symbol} at rate {e.rate}"
    if isinstance(e, OrderModified):
        return f"{name}: qty {e.qty} limit {e.limit_price}"
    if isinstance(e, OrderCancelled | CommandRejected):
        return f"{name}: {e.reason}"
    return name


def run_command(cmd: TradingCommand) -> list[Event]:
    """Send one command (or execute it in-process) and print its events.

    Raises:
        HelixError: the service refused the command.
    """
    from helix.bootstrap import runtime
    from helix.trading.runtime import decode_events, execute_once

    s = settings()

    async def go() -> list[Event]:
        async with runtime(s) as rt:
            reply = await execute_once(rt, s, cmd)
            if reply.error:
                raise _ReplyError(reply.error, reply.exit_code)
            if reply.duplicate:
                out.print(f"already done: command {getattr(cmd, 'command_id', '')} (order "
                          f"{reply.order_id}) was executed before; nothing new")  # fmt: skip
            return decode_events(reply, rt.codec)

    events = asyncio.run(go())
    for e in events:
        out.print(f"  {describe(e)}")
    return events


class _ReplyError(HelixError):
    """An error the execution service reported, with its original exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


def _place(
    side: Literal["buy", "sell"],
    venue: str,
    symbol: str,
    qty: str,
    limit: str | None,
    stop: str | None,
    sl: str | None,
    tp: str | None,
    reduce_only: bool,
    post_only: bool,
    tif: str,
    account: str | None,
    strategy: str,
    live: bool,
    command_id: str | None,
) -> None:
    if tif not in ("gtc", "ioc", "fok"):
        raise ValidationError(f"--tif must be gtc, ioc or fok, got {tif!r}")
    if limit is not None and stop is not None:
        raise ValidationError("give --limit or --stop, not both")
    time_in_force: TimeInForce = "post_only" if post_only else tif  # type: ignore[assignment]
    order_type: Literal["market", "limit", "stop"] = (
        "limit" if limit is not None else "stop" if stop is not None else "market"
    )
    cmd = PlaceOrder(
        command_id=command_id or uuid.uuid4().hex,
        account=account or ("live" if live else "paper"),
        venue=venue.lower(),
        symbol=symbol.upper(),
        side=side,
        qty=parse_decimal(qty, "quantity") or Decimal(0),
        order_type=order_type,
        limit_price=parse_decimal(limit, "--limit"),
        trigger_price=parse_decimal(stop, "--stop"),
        time_in_force=time_in_force,
        reduce_only=reduce_only,
        stop_loss=parse_decimal(sl, "--sl"),
        take_profit=parse_decimal(tp, "--tp"),
        strategy=strategy,
        live=live,
    )
    out.print(f"order {cmd.order_id}")
    events = run_command(cmd)
    rejected = [e for e in events if isinstance(e, OrderRejected) and e.order_id == cmd.order_id]
    if rejected:
        raise typer.Exit(3)


def _place_command(side: Literal["buy", "sell"]):  # type: ignore[no-untyped-def]
    def command(
        venue: Annotated[str, typer.Argument(help="market: bybit, sim (the demo's), ...")],
        symbol: Annotated[str, typer.Argument(help="e.g. BTCUSDT")],
        qty: Annotated[str, typer.Argument(help="quantity in base units, e.g. 0.01")],
        limit: Annotated[str | None, typer.Option(help="limit price (else a market order)")] = None,
        stop: Annotated[str | None, typer.Option(help="stop trigger price (a stop order)")] = None,
        sl: Annotated[str | None, typer.Option(help="attached stop-loss price")] = None,
        tp: Annotated[str | None, typer.Option(help="attached take-profit price")] = None,
        reduce_only: Annotated[bool, typer.Option("--reduce-only")] = False,
        post_only: Annotated[bool, typer.Option("--post-only")] = False,
        tif: Annotated[str, typer.Option(help="time in force: gtc | ioc | fok")] = "gtc",
        account: Annotated[str | None, typer.Option(help=ACCOUNT_HELP)] = None,
        strategy: Annotated[str, typer.Option(help="strategy tag for PnL")] = "manual",
        live: Annotated[bool, typer.Option("--live", help="send to the live venue")] = False,
        command_id: Annotated[
            str | None, typer.Option(help="idempotency key: a retry with it does nothing new")
        ] = None,
    ) -> None:
        _place(side, venue, symbol, qty, limit, stop, sl, tp, reduce_only, post_only, tif,
               account, strategy, live, command_id)  # fmt: skip

    command.__doc__ = f"{side.capitalize()} QTY of SYMBOL on VENUE (market, or --limit/--stop)."
    return command


trade_app.command("buy")(_place_command("buy"))
trade_app.command("sell")(_place_command("sell"))


@trade_app.command("cancel")
def cancel(order: Annotated[str, typer.Argument(help="order id")]) -> None:
    """Cancel an open order."""
    cmd = CancelOrder(command_id=uuid.uuid4().hex, order_id=parse_order_id(order))
    events = run_command(cmd)
    if any(isinstance(e, CommandRejected) for e in events):
        raise typer.Exit(3)


@trade_app.command("modify")
def modify(
    order: Annotated[str, typer.Argument(help="order id")],
    qty: Annotated[str | None, typer.Option(help="new total quantity")] = None,
    limit: Annotated[str | None, typer.Option(help="new limit price")] = None,
) -> None:
    """Change an open limit order's quantity and/or price (checked by the risk guardian)."""
    cmd = ModifyOrder(
        command_id=uuid.uuid4().hex,
        order_id=parse_order_id(order),
        qty=parse_decimal(qty, "--qty"),
        limit_price=parse_decimal(limit, "--limit"),
    )
    events = run_command(cmd)
    if any(isinstance(e, CommandRejected) for e in events):
        raise typer.Exit(3)


@app.command("halt")
def halt(
    reason: Annotated[str, typer.Option(help="why (recorded in the ledger)")],
    account: Annotated[str, typer.Option(help="the account")] = "paper",
) -> None:
    """The kill switch: no new orders on the account (reduce-only still pass)."""
    events = run_command(Halt(command_id=uuid.uuid4().hex, account=account, reason=reason))
    if not events:
        out.print(f"{account} was already halted")


@app.command("resume")
def resume(
    account: Annotated[str, typer.Option(help="the account")] = "paper",
    reason: Annotated[str, typer.Option(help="why")] = "",
) -> None:
    """Allow trading again after a halt."""
    events = run_command(Resume(command_id=uuid.uuid4().hex, account=account, reason=reason))
    if not events:
        out.print(f"{account} was not halted")


@trade_app.command("serve")
def serve(
    autotrade: Annotated[
        bool, typer.Option("--autotrade", help="follow the scanner's stop hunts with orders")
    ] = False,
    params: Annotated[
        list[str] | None, typer.Option("--params", help="scanner.*/trader.* k=v (repeat)")
    ] = None,
) -> None:
    """Run the execution service: commands over NATS, paper fills from the live market log."""
    from helix.backtest.engine import Spec
    from helix.bootstrap import runtime
    from helix.cli.backtest import parse_pairs
    from helix.trading.runtime import serve as serve_loop

    s = settings()
    configs = None
    if autotrade:
        scan_cfg, trade_cfg, _ = Spec(
            "stop_hunt_autotrader", parse_pairs(params, "--params")
        ).configs()
        configs = (scan_cfg, trade_cfg)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        async def ready(svc: object) -> None:
            err.print("execution service ready (Ctrl-C to stop)")

        async with runtime(s) as rt:
            await serve_loop(rt, s, stop=stop, on_ready=ready, autotrade=configs)

    asyncio.run(go())
