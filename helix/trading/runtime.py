"""Wiring the execution service: store, venues, instruments, marks, market feed, endpoint.

``helix trade serve`` runs :func:`serve`: the service answers commands on the NATS subject
``helix.cmd.trading`` and follows the market log for paper fills and funding.  A ``helix trade``
command with no service running executes in-process instead (:func:`execute_once`): the same
service is built, catches up on the market events its resting paper orders have not seen,
executes the one command and stops.  Either way every decision is the service's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec
import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError

from commands.orders import TradingCommand
from commands.risk import Instrument, RiskConfig
from events.base import Event, stable_event_id
from events.market import Ticker, Trade
from events.ops import DeadLetter
from events.poly import VENUE as POLYMARKET
from events.poly import PolyMarket
from helix.bootstrap import Runtime
from helix.clock import Clock, SystemClock
from helix.codec import Codec
from helix.errors import ConfigError, HelixError, ServiceUnavailable
from helix.settings import Settings
from helix.store.jsraw import direct_get_last
from helix.store.market import event_headers
from helix.store.replay import replay_batches
from helix.store.streams import MARKET
from helix.strategies.autotrader import AutoTrader, AutoTraderConfig
from helix.strategies.pipeline import TradingPipeline
from helix.strategies.scanner import PerpsScanner, ScannerConfig
from helix.trading.instruments import (
    bybit_instruments,
    inferred,
    paper_config,
    polymarket_instrument,
    polymarket_instruments,
    sim_instruments,
)
from helix.trading.ledger_store import LedgerEventStore
from helix.trading.service import ExecutionService, Result
from helix.venues.base import Venue
from helix.venues.bybit import BybitVenue
from helix.venues.credentials import bybit_credentials
from helix.venues.paper import PaperVenue
from helix.venues.polymarket import FailedFill, PolymarketVenue, live_polymarket

SUBJECT = "helix.cmd.trading"
KV_BUCKET = "helix_trading"
_COMMAND: msgspec.msgpack.Decoder[TradingCommand] = msgspec.msgpack.Decoder(TradingCommand)  # type: ignore[arg-type]


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """The endpoint's answer: the events written (encoded), or an error."""

    events: list[bytes] = []
    order_id: str | None = None
    duplicate: bool = False
    error: str | None = None
    exit_code: int = 0


def risk_config(settings: Settings) -> RiskConfig:
    return RiskConfig(
        max_position_pct=Decimal(str(settings.risk_max_position_pct)),
        max_leverage=Decimal(str(settings.risk_max_leverage)),
        max_open_orders=settings.risk_max_open_orders,
        price_band=Decimal(str(settings.risk_price_band)),
        daily_loss_pct=Decimal(str(settings.risk_daily_loss_pct)),
    )


@dataclass
class Markets:
    """The markets in the log: last trade and ticker per (venue, symbol)."""

    trades: dict[tuple[str, str], tuple[int, Trade]]
    tickers: dict[tuple[str, str], tuple[int, Ticker]]
    head: int
    poly: dict[str, PolyMarket] = field(default_factory=dict)  # condition id -> latest listing


async def scan_markets(nc: NATS, codec: Codec) -> Markets:
    """Every (venue, symbol) with trades in ``MARKET``, with its last trade and ticker."""
    js = nc.jetstream()
    info = await js.stream_info(MARKET, subjects_filter="mkt.*.trade.>")
    trades: dict[tuple[str, str], tuple[int, Trade]] = {}
    tickers: dict[tuple[str, str], tuple[int, Ticker]] = {}
    for subject in info.state.subjects or {}:
        _, venue, _, symbol = subject.split(".", 3)
        last = await direct_get_last(nc, MARKET, subject)
        if last is not None:
            event = codec.decode(last.data)
            if isinstance(event, Trade):
                trades[(venue, symbol)] = (last.seq, event)
        tick = await direct_get_last(nc, MARKET, f"mkt.{venue}.ticker.{symbol}")
        if tick is not None:
            t = codec.decode(tick.data)
            if isinstance(t, Ticker):
                tickers[(venue, symbol)] = (tick.seq, t)
    return Markets(trades, tickers, info.state.last_seq, await scan_poly_markets(nc, codec))


async def scan_poly_markets(nc: NATS, codec: Codec) -> dict[str, PolyMarket]:
    """The latest ``PolyMarket`` listing of every Polymarket market in ``MARKET``."""
    info = await nc.jetstream().stream_info(MARKET, subjects_filter="mkt.polymarket.market.>")
    out: dict[str, PolyMarket] = {}
    for subject in info.state.subjects or {}:
        last = await direct_get_last(nc, MARKET, subject)
        event = codec.decode(last.data) if last is not None else None
        if isinstance(event, PolyMarket):
            out[event.condition_id] = event
    return out


FAILED_FILLS_SUBJECT = "dlq.venue.polymarket"


def failed_fill_reporter(nc: NATS, codec: Codec) -> Callable[[FailedFill], None]:
    """A booked Polymarket fill whose trade later failed on chain cannot be reversed by the
    venue protocol: it goes to the DLQ (``dlq.venue.polymarket``) with its reason, so the
    operator sees it in ``helix events dead-letters`` and corrects the position."""
    pending: set[asyncio.Task[None]] = set()

    async def publish(failed: FailedFill) -> None:
        now = time.time_ns()
        letter = DeadLetter(
            event_id=stable_event_id("failed-fill", failed.trade_id, failed.order_id),
            ts_event=now, ts_recorded=now, source="execution", vertical="ops",
            origin=f"venue:polymarket:trade:{failed.trade_id}",
            reason=f"booked fill failed on chain: {failed.reason} (order {failed.order_id}, "
            f"{failed.qty} @ {failed.price}, {failed.liquidity}); correct the position by hand",
            raw=msgspec.json.encode(failed),
        )  # fmt: skip
        await nc.jetstream().publish(
            FAILED_FILLS_SUBJECT, codec.encode(letter), headers=event_headers(letter)
        )

    def report(failed: FailedFill) -> None:
        task = asyncio.get_running_loop().create_task(publish(failed))
        pending.add(task)
        task.add_done_callback(pending.discard)

    return report


def build_service(
    store: LedgerEventStore | object,
    markets: Markets,
    settings: Settings,
    *,
    clock: Clock | None = None,
    live_venues: dict[tuple[str, str], Venue] | None = None,
    instruments: dict[tuple[str, str], Instrument] | None = None,
) -> ExecutionService:
    """The service with a paper venue per market in the log, primed with the last prices."""
    instruments = {
        **sim_instruments(), **polymarket_instruments(markets.poly.values()), **(instruments or {})
    }  # fmt: skip
    for (venue, symbol), (_seq, t) in markets.trades.items():
        instruments.setdefault((venue, symbol), inferred(symbol, t.price, t.qty))
    venues: dict[tuple[str, str], Venue] = {}
    names = {v for v, _ in markets.trades} | ({POLYMARKET} if markets.poly else set())
    for venue in sorted(names):
        paper = PaperVenue(venue, paper_config(venue))
        paper.position = markets.head
        venues[(venue, "paper")] = paper
    venues.update(live_venues or {})
    svc = ExecutionService(
        store=store,  # type: ignore[arg-type]
        venues=venues,
        instruments=lambda v, s: (
            instruments.get((v, s)) or (polymarket_instrument(s) if v == POLYMARKET else None)
        ),
        risk=risk_config(settings),
        clock=clock or SystemClock(),
        paper_balance=Decimal(str(settings.paper_balance)),
        live_allowed=settings.live_trading,
        auto_paper=True,
    )
    for m in markets.poly.values():  # the listing's prices until a trade gives a mark
        for token, price in zip(m.token_ids, m.prices, strict=False):
            svc.set_mark(POLYMARKET, token, price)
    for (venue, symbol), (_seq, t) in markets.trades.items():
        paper_v = venues.get((venue, "paper"))
        if isinstance(paper_v, PaperVenue):
            paper_v.last[symbol] = (t.price, t.ts_event)
        svc.set_mark(venue, symbol, t.price)
    for (venue, symbol), (_seq, tk) in markets.tickers.items():
        if tk.mark_price is not None:
            svc.set_mark(venue, symbol, tk.mark_price)
    return svc


async def catch_up(svc: ExecutionService, nc: NATS, *, start: int, end: int | None = None) -> int:
    """Feed market events from ``start`` (to ``end`` or the head) to the service."""
    n = 0
    if start <= 0:
        return n
    async for batch in replay_batches(nc, subjects="mkt.>", stream=MARKET, start_seq=start):
        for seq, event in batch:
            if end is not None and seq > end:
                return n
            await svc.market(seq, event)
            n += 1
    await svc.queue.join()
    return n


def resting_from(svc: ExecutionService) -> int | None:
    """The first market sequence a resting paper order has not seen (None: none rests)."""
    seqs = [
        int(o.venue_order_id.split(":", 1)[1])
        for o in svc.book.open_orders()
        if o.venue_order_id.startswith("paper:")
    ]
    return min(seqs) + 1 if seqs else None


def live_bybit(
    settings: Settings, *, required: bool = True
) -> tuple[BybitVenue, dict[tuple[str, str], Instrument]] | None:
    """The live Bybit venue when live trading is switched on and keys are configured.

    Args:
        required: without Bybit keys, raise (True) or return None (another venue is live).

    Raises:
        ConfigError: live trading is on but no keys are configured.
    """
    if not settings.live_trading:
        return None
    creds = bybit_credentials()
    if creds is None and not required:
        return None
    if creds is None:
        raise ConfigError(
            "HELIX_LIVE_TRADING is on but HELIX_BYBIT_API_KEY / HELIX_BYBIT_API_SECRET are not set"
        )
    from pybit.unified_trading import HTTP

    http = HTTP(api_key=creds.key, api_secret=creds.secret, timeout=10, max_retries=1)
    http.endpoint = settings.bybit_rest_url.rstrip("/")
    items = http.get_instruments_info(category="linear", limit=1000)["result"]["list"]
    return BybitVenue(http), bybit_instruments(items)


def connect_private_ws(venue: BybitVenue, settings: Settings) -> None:
    """Open the live venue's private WebSocket at the configured URL."""
    from pybit import unified_trading

    creds = bybit_credentials()
    assert creds is not None

    def make() -> object:
        saved = unified_trading.PRIVATE_WSS
        unified_trading.PRIVATE_WSS = settings.bybit_ws_private_url
        try:
            return unified_trading.WebSocket(
                channel_type="private", testnet=False, api_key=creds.key, api_secret=creds.secret
            )
        finally:
            unified_trading.PRIVATE_WSS = saved

    venue.connect(make)


@contextlib.asynccontextmanager
async def running_service(rt: Runtime, settings: Settings) -> AsyncIterator[ExecutionService]:
    """A started service (book loaded, resting paper orders caught up); stopped on exit."""
    codec = Codec()
    store = await asyncio.to_thread(
        LedgerEventStore.open,
        rt.nc,
        nats_url=rt.endpoints.nats_url,
        database_url=rt.endpoints.database_url,
    )
    poly: PolymarketVenue | None = None
    try:
        markets = await scan_markets(rt.nc, codec)
        poly = live_polymarket(settings)
        live = await asyncio.to_thread(live_bybit, settings, required=poly is None)
        live_venues: dict[tuple[str, str], Venue] = {("bybit", "live"): live[0]} if live else {}
        if poly is not None:
            live_venues[(POLYMARKET, "live")] = poly
            poly.on_failed = failed_fill_reporter(rt.nc, codec)
            await poly.open()
        svc = build_service(
            store, markets, settings, live_venues=live_venues,
            instruments=live[1] if live else None,
        )  # fmt: skip
        if live is not None:
            live[0].sink = svc.sink
        if poly is not None:
            poly.sink = svc.sink
        await svc.start()
        if live is not None:
            await asyncio.to_thread(connect_private_ws, live[0], settings)
        if poly is not None:
            poly.connect()
        start = resting_from(svc)
        if start is not None and start <= markets.head:
            await catch_up(svc, rt.nc, start=start, end=markets.head)
        try:
            yield svc
        finally:
            await svc.stop()
            if live is not None:
                live[0].close()
    finally:
        if poly is not None:
            await poly.aclose()
        await store.aclose()


def encode_reply(res: Result, codec: Codec) -> bytes:
    return msgspec.msgpack.encode(
        Reply(
            events=[codec.encode(e) for e in res.events],
            order_id=str(res.order_id) if res.order_id else None,
            duplicate=res.duplicate,
        )
    )


async def execute_once(rt: Runtime, settings: Settings, cmd: TradingCommand) -> Reply:
    """Send ``cmd`` to a running service, or execute it in-process when none answers."""
    payload = msgspec.msgpack.encode(cmd)
    try:
        msg = await rt.nc.request(SUBJECT, payload, timeout=10)
        return msgspec.msgpack.decode(msg.data, type=Reply)
    except nats.errors.NoRespondersError:
        pass
    except nats.errors.TimeoutError as exc:
        raise ServiceUnavailable("the execution service did not answer within 10 s") from exc
    async with running_service(rt, settings) as svc:
        res = await svc.execute(cmd)
        return msgspec.msgpack.decode(encode_reply(res, rt.codec), type=Reply)


async def _position(nc: NATS) -> int:
    js = nc.jetstream()
    try:
        kv = await js.key_value(KV_BUCKET)
        entry = await kv.get("market_seq")
        return int(entry.value or b"0")
    except (BucketNotFoundError, KeyNotFoundError, NotFoundError):
        return 0


async def _save_position(nc: NATS, seq: int) -> None:
    js = nc.jetstream()
    try:
        kv = await js.key_value(KV_BUCKET)
    except (BucketNotFoundError, NotFoundError):
        kv = await js.create_key_value(bucket=KV_BUCKET, history=1)
    await kv.put("market_seq", str(seq).encode())


async def serve(
    rt: Runtime,
    settings: Settings,
    *,
    stop: asyncio.Event,
    on_ready: Callable[[ExecutionService], Awaitable[None]] | None = None,
    autotrade: tuple[ScannerConfig, AutoTraderConfig] | None = None,
) -> None:
    """Run the execution service until ``stop`` is set: commands over NATS, the market live.

    With ``autotrade`` the scanner and the auto-trader follow the market in the same process,
    through the same :class:`~helix.strategies.pipeline.TradingPipeline` a backtest uses.
    """
    codec = Codec()
    async with running_service(rt, settings) as svc:

        async def handle(msg: Msg) -> None:
            try:
                cmd = _COMMAND.decode(msg.data)
                reply = encode_reply(await svc.execute(cmd), codec)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                reply = msgspec.msgpack.encode(Reply(error=f"bad command: {exc}", exit_code=3))
            except HelixError as exc:
                reply = msgspec.msgpack.encode(Reply(error=str(exc), exit_code=exc.exit_code))
            await msg.respond(reply)

        sub = await rt.nc.subscribe(SUBJECT, queue="helix-execution", cb=handle)
        info = await rt.nc.jetstream().stream_info(MARKET)
        start = max(await _position(rt.nc), info.state.last_seq) + 1
        rest = resting_from(svc)
        if rest is not None:
            start = min(start, rest)

        pipeline = (
            TradingPipeline(svc, PerpsScanner(autotrade[0]), AutoTrader(autotrade[1]))
            if autotrade is not None
            else None
        )

        async def follow() -> None:
            last_saved = 0
            async for batch in replay_batches(
                rt.nc, subjects="mkt.>", stream=MARKET, start_seq=start, live=True, batch=512
            ):
                for seq, event in batch:
                    if pipeline is None:
                        svc.feed(seq, event)
                    else:
                        await pipeline.on_market(seq, event)
                seq = batch[-1][0]
                if seq - last_saved >= 1000 or len(batch) < 512:  # every 1,000, and when idle
                    await svc.queue.join()
                    await _save_position(rt.nc, seq)
                    last_saved = seq

        feed = asyncio.create_task(follow())
        if on_ready is not None:
            await on_ready(svc)
        await stop.wait()
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
        await sub.unsubscribe()


def decode_events(reply: Reply, codec: Codec) -> list[Event]:
    return [codec.decode(b) for b in reply.events]
