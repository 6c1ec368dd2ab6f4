"""``helix poly trade buy|sell`` and ``helix auto poly-copy``: Polymarket orders and the
copy-trader, through the same execution service as ``helix trade``.

A market is named by its condition id (``0x…``) or its slug and resolved, with the outcome's
name, to the outcome token through the latest ``PolyMarket`` listing in the log; the order goes
to venue ``polymarket`` with the token id as symbol.  Sizes are shares, prices probabilities in
(0, 1).  A sell is always reduce-only (outcome tokens cannot be shorted).  Paper unless
``--live``, which needs ``HELIX_LIVE_TRADING=true`` and ``HELIX_POLYMARKET_PRIVATE_KEY``.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Literal

import typer

from commands.orders import PlaceOrder
from events.poly import PolyMarket
from events.trading import OrderRejected, TimeInForce
from helix.cli.app import err, out, settings
from helix.cli.poly import auto_app, poly_app
from helix.cli.trade import parse_decimal, run_command
from helix.errors import ConfigError, ValidationError
from helix.settings import Settings

trade_app = typer.Typer(help="Buy or sell an outcome's shares (paper by default).",
                        no_args_is_help=True)  # fmt: skip
poly_app.add_typer(trade_app, name="trade")


def find_market(markets: Iterable[PolyMarket], market: str) -> PolyMarket:
    """The listing named by condition id, slug or Gamma id.

    Raises:
        ValidationError: no listing in the log has that name.
    """
    key = market.strip().lower()
    for m in markets:
        if key in (m.condition_id.lower(), m.slug.lower(), m.market_id.lower()):
            return m
    raise ValidationError(
        f"no Polymarket market {market!r} in the log (give a condition id or a slug of a "
        "market ingested with 'helix ingest polymarket')"
    )


def outcome_token(market: PolyMarket, outcome: str) -> str:
    """The token id of ``outcome`` (by name, case-insensitive).

    Raises:
        ValidationError: the market has no such outcome.
    """
    for name, token in zip(market.outcomes, market.token_ids, strict=False):
        if name.lower() == outcome.strip().lower():
            return token
    raise ValidationError(
        f"market {market.condition_id} has no outcome {outcome!r}: "
        f"it has {', '.join(market.outcomes)}"
    )


def check_live(s: Settings) -> None:
    """Raises ConfigError unless live Polymarket trading is switched on and keyed."""
    from helix.venues.credentials import polymarket_keys

    if not s.live_trading:
        raise ConfigError("--live needs the live trading switch: set HELIX_LIVE_TRADING=true")
    if polymarket_keys() is None:
        raise ConfigError("--live needs the Polymarket wallet key: set "
                          "HELIX_POLYMARKET_PRIVATE_KEY (env or .env)")  # fmt: skip


async def _listing(s: Settings, market: str) -> PolyMarket:
    from helix.bootstrap import runtime
    from helix.store.jsraw import direct_get_last
    from helix.store.streams import MARKET
    from helix.trading.runtime import scan_poly_markets

    async with runtime(s) as rt:
        if market.startswith("0x"):
            last = await direct_get_last(rt.nc, MARKET, f"mkt.polymarket.market.{market}")
            event = rt.codec.decode(last.data) if last is not None else None
            if isinstance(event, PolyMarket):
                return event
        return find_market((await scan_poly_markets(rt.nc, rt.codec)).values(), market)


def _place(
    side: Literal["buy", "sell"],
    market: str,
    outcome: str,
    size: str,
    price: str,
    tif: str,
    account: str | None,
    live: bool,
    command_id: str | None,
) -> None:
    if tif not in ("gtc", "ioc", "fok"):
        raise ValidationError(f"--tif must be gtc, ioc or fok, got {tif!r}")
    qty = parse_decimal(size, "SIZE (shares)") or Decimal(0)
    limit = parse_decimal(price, "--price") or Decimal(0)
    if not Decimal(0) < limit < Decimal(1):
        raise ValidationError(f"--price must lie strictly between 0 and 1, got {price}")
    s = settings()
    if live:
        check_live(s)
    listing = asyncio.run(_listing(s, market))
    token = outcome_token(listing, outcome)
    time_in_force: TimeInForce = tif  # type: ignore[assignment]
    cmd = PlaceOrder(
        command_id=command_id or uuid.uuid4().hex,
        account=account or ("live" if live else "paper"),
        venue="polymarket",
        symbol=token,
        side=side,
        qty=qty,
        order_type="limit",
        limit_price=limit,
        time_in_force=time_in_force,
        reduce_only=side == "sell",
        strategy="manual",
        live=live,
    )
    out.print(f"{side} {qty} {outcome} of {listing.question!r} (token {token}) @ {limit}")
    out.print(f"order {cmd.order_id}")
    events = run_command(cmd)
    if any(isinstance(e, OrderRejected) and e.order_id == cmd.order_id for e in events):
        raise typer.Exit(3)


def _command(side: Literal["buy", "sell"]):  # type: ignore[no-untyped-def]
    def command(
        market: Annotated[str, typer.Argument(help="condition id (0x…) or slug")],
        outcome: Annotated[str, typer.Argument(help="outcome name, e.g. Yes")],
        size: Annotated[str, typer.Argument(help="shares, e.g. 10")],
        price: Annotated[str, typer.Option(help="limit price in (0, 1), e.g. 0.52")],
        tif: Annotated[str, typer.Option(help="gtc | ioc (FAK) | fok")] = "gtc",
        account: Annotated[str | None, typer.Option(help="account (paper, or live)")] = None,
        live: Annotated[bool, typer.Option("--live", help="send to Polymarket")] = False,
        command_id: Annotated[
            str | None, typer.Option(help="idempotency key: a retry with it does nothing new")
        ] = None,
    ) -> None:
        _place(side, market, outcome, size, price, tif, account, live, command_id)

    command.__doc__ = f"{side.capitalize()} SIZE shares of OUTCOME in MARKET at --price" + (
        " (reduce-only: no shorting)." if side == "sell" else "."
    )
    return command


trade_app.command("buy")(_command("buy"))
trade_app.command("sell")(_command("sell"))


@auto_app.command("poly-copy")
def poly_copy(
    account: Annotated[str | None, typer.Option(help="account (paper, or live)")] = None,
    live: Annotated[bool, typer.Option("--live", help="send to Polymarket")] = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="keep following signals and the market")
    ] = False,
) -> None:
    """Follow the oracle's Polymarket and hybrid signals with orders; exit in 10% steps."""
    from helix.bootstrap import runtime
    from helix.strategies.poly_copy import PolyCopyConfig
    from helix.strategies.poly_copy_runtime import run_copy

    s = settings()
    if live:
        check_live(s)
    cfg = PolyCopyConfig.from_settings(s, account=account, live=live)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with runtime(s) as rt:
            if follow:
                err.print("poly-copy following signals (Ctrl-C to stop)")
            stats = await run_copy(rt, s, cfg, follow=follow, stop=stop)
        out.print(
            f"poly-copy ({cfg.account}): {stats.signals} signal(s), {stats.market} market "
            f"event(s), {stats.orders} order(s) placed, {stats.duplicates} already placed"
        )

    asyncio.run(go())
