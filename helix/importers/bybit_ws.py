"""Bybit public WebSocket captures, one frame a line: the ``bybit-ws`` format.

Lines are bare v5 frames (``{"topic":"publicTrade.BTCUSDT","ts":...,"data":[...]}``, e.g. the
official orderbook dumps) or cryptofeed captures: ``<secs.frac>: <json>`` for received frames,
``<url> <- <secs>: <json>`` for messages the recorder sent and ``<url> <-> <secs>`` when it
connected.  ``ts_recorded`` is the line's receive time, else the frame's ``ts`` (ms), else
(legacy frames without ``ts``) the event's own time.

Imported topics:

- ``publicTrade.<SYM>`` (v5) and ``trade.<SYM>`` (legacy v2, long field names: what the
  cryptofeed sample holds) -> :class:`Trade`; ``S``/``side`` is the taker's side.
- ``allLiquidation.<SYM>`` (v5) and ``liquidation.<SYM>`` (deprecated) -> :class:`Liquidation`.
- ``tickers.<SYM>`` -> :class:`Ticker` (fields a delta leaves out are ``None``; a delta with
  none of the imported fields is skipped as ``ticker-unchanged``).
- ``kline.<interval>.<SYM>`` -> :class:`Kline` (``interval`` as Bybit names it: ``"1"``, ``"D"``).

Skipped: ``orderbook.*`` / ``orderBookL2_25.*`` (``orderbook``), replies and sent messages
(``control``), and any other topic by its first word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from events.market import Kline, Liquidation, MarketEvent, Side, Ticker, Trade
from helix.errors import ValidationError
from helix.importers.formats import (
    NO_ID,
    LineFormat,
    Parsed,
    dec,
    load_object,
    ms_to_ns,
    opt_dec,
    skip,
    split_capture,
    symbol_of,
    text_field,
    to_int,
    with_id,
)

VENUE = "bybit"
_ENVELOPE: dict[str, Any] = {"event_id": NO_ID, "source": VENUE, "vertical": "perps"}
_TAKER: dict[object, Side] = {"Buy": "buy", "Sell": "sell"}
# Liquidation topics report the side of the liquidated *position* (Bybit docs: "When you
# receive a Buy update, this means that a long position has been liquidated"; apis.md §1.3).
# Liquidation.side is the side of the liquidation *order*: a long is closed by a sell.
_LIQ_ORDER_SIDE: dict[object, Side] = {"Buy": "sell", "Sell": "buy"}


@dataclass(frozen=True)
class _Frame:
    topic: str
    symbol: str
    data: object
    ts_ns: int | None  # the frame's "ts", when it has one
    recv_ns: int | None  # the capture's receive time, when the line has one

    def recorded(self, fallback: int) -> int:
        if self.recv_ns is not None:
            return self.recv_ns
        return self.ts_ns if self.ts_ns is not None else fallback

    def frame_ts(self) -> int:
        if self.ts_ns is None:
            raise ValidationError(f"{self.topic}: frame has no 'ts'")
        return self.ts_ns

    def items(self) -> list[dict[str, Any]]:
        if not isinstance(self.data, list) or not self.data:
            raise ValidationError(f"{self.topic}: expected a non-empty data list")
        return [self.item(entry) for entry in self.data]

    def item(self, entry: object) -> dict[str, Any]:
        if not isinstance(entry, dict):
            raise ValidationError(f"{self.topic}: data entry is not an object: {entry!r:.60}")
        named = entry.get("s", entry.get("symbol", self.symbol))
        if named != self.symbol:
            raise ValidationError(f"topic {self.topic!r} carries symbol {named!r}")
        return entry


def _side(table: dict[object, Side], value: object, field: str) -> Side:
    if not isinstance(value, str) or value not in table:
        raise ValidationError(f"{field}: expected Buy or Sell, got {value!r}")
    return table[value]


def _trade(frame: _Frame, trade_id: str, side: Side, price: object, qty: object, ts: int) -> Trade:
    return with_id(
        Trade(
            **_ENVELOPE,
            ts_event=ts,
            ts_recorded=frame.recorded(ts),
            venue=VENUE,
            symbol=frame.symbol,
            trade_id=trade_id,
            price=dec(price, "price"),
            qty=dec(qty, "size"),
            side=side,
        )
    )


def _public_trade(frame: _Frame) -> Parsed:
    events: list[MarketEvent] = []
    for it in frame.items():
        ts = ms_to_ns(it.get("T"), "T")
        side = _side(_TAKER, it.get("S"), "S")
        events.append(_trade(frame, text_field(it, "i"), side, it.get("p"), it.get("v"), ts))
    return Parsed(events)


def _legacy_trade(frame: _Frame) -> Parsed:
    events: list[MarketEvent] = []
    for it in frame.items():
        ts = ms_to_ns(it.get("trade_time_ms"), "trade_time_ms")
        side = _side(_TAKER, it.get("side"), "side")
        trade_id = text_field(it, "trade_id")
        events.append(_trade(frame, trade_id, side, it.get("price"), it.get("size"), ts))
    return Parsed(events)


def _liq(frame: _Frame, ms: int, side: object, price: object, qty: object) -> Liquidation:
    ts = ms_to_ns(ms, "time")
    return with_id(
        Liquidation(
            **_ENVELOPE,
            ts_event=ts,
            ts_recorded=frame.recorded(ts),
            venue=VENUE,
            symbol=frame.symbol,
            key=f"{ms}:{side}:{price}:{qty}",  # Bybit gives liquidations no id
            price=dec(price, "price"),
            qty=dec(qty, "size"),
            side=_side(_LIQ_ORDER_SIDE, side, "side"),
        )
    )


def _all_liquidation(frame: _Frame) -> Parsed:
    events: list[MarketEvent] = []
    for it in frame.items():
        ms = to_int(it.get("T"), "T")
        events.append(_liq(frame, ms, it.get("S"), it.get("p"), it.get("v")))
    return Parsed(events)


def _old_liquidation(frame: _Frame) -> Parsed:
    it = frame.item(frame.data)
    # The old doc's table said "updateTime", its example "updatedTime"; v2 frames had "time".
    stamp = next((it[k] for k in ("updatedTime", "updateTime", "time") if k in it), None)
    size = it.get("size", it.get("qty"))
    ms = to_int(stamp, "updatedTime")
    return Parsed([_liq(frame, ms, it.get("side"), it.get("price"), size)])


_TICKER_FIELDS = ("markPrice", "indexPrice", "lastPrice", "openInterest", "openInterestValue")


def _tickers(frame: _Frame) -> Parsed:
    it = frame.item(frame.data)
    marks = {k: opt_dec(it.get(k), k) for k in _TICKER_FIELDS}
    funding = opt_dec(it.get("fundingRate"), "fundingRate", sign="any")
    next_ms = it.get("nextFundingTime")
    next_ts = None if next_ms in (None, "", "0", 0) else ms_to_ns(next_ms, "nextFundingTime")
    if funding is None and next_ts is None and all(v is None for v in marks.values()):
        return skip("ticker-unchanged")  # a delta that moved only fields Helix does not keep
    ts = frame.frame_ts()
    ticker = Ticker(
        **_ENVELOPE,
        ts_event=ts,
        ts_recorded=frame.recorded(ts),
        venue=VENUE,
        symbol=frame.symbol,
        mark_price=marks["markPrice"],
        index_price=marks["indexPrice"],
        last_price=marks["lastPrice"],
        open_interest=marks["openInterest"],
        open_interest_value=marks["openInterestValue"],
        funding_rate=funding,
        next_funding_ts=next_ts,
    )
    return Parsed([with_id(ticker)])


def _kline(frame: _Frame, interval: str) -> Parsed:
    ts = frame.frame_ts()
    events: list[MarketEvent] = []
    for it in frame.items():
        if it.get("interval", interval) != interval:
            raise ValidationError(f"topic {frame.topic!r} carries interval {it['interval']!r}")
        confirm = it.get("confirm")
        if not isinstance(confirm, bool):
            raise ValidationError(f"confirm: expected true/false, got {confirm!r}")
        kline = Kline(
            **_ENVELOPE,
            ts_event=ts,
            ts_recorded=frame.recorded(ts),
            venue=VENUE,
            symbol=frame.symbol,
            interval=interval,
            start=ms_to_ns(it.get("start"), "start"),
            open=dec(it.get("open"), "open"),
            high=dec(it.get("high"), "high"),
            low=dec(it.get("low"), "low"),
            close=dec(it.get("close"), "close"),
            volume=dec(it.get("volume"), "volume", sign="non-negative"),
            turnover=opt_dec(it.get("turnover"), "turnover"),
            closed=confirm,
        )
        events.append(with_id(kline))
    return Parsed(events)


_HANDLERS: dict[str, Callable[[_Frame], Parsed]] = {
    "publicTrade": _public_trade,
    "trade": _legacy_trade,
    "allLiquidation": _all_liquidation,
    "liquidation": _old_liquidation,
    "tickers": _tickers,
}


class BybitWsParser(LineFormat):
    """Parser for Bybit public WS captures (see the module docstring)."""

    name: str = "bybit-ws"

    def parse(self, raw: bytes) -> Parsed:
        """Turn one captured line into events.

        Args:
            raw: the line, without its newline.

        Raises:
            ValidationError: the line is malformed; the message says what is wrong.
        """
        recv_ns, payload = split_capture(raw)
        if payload is None:
            return skip("control")
        return parse_frame(load_object(payload), recv_ns)


def parse_frame(obj: dict[str, Any], recv_ns: int | None = None) -> Parsed:
    """Turn one decoded v5 frame into events (the live feed hands frames over decoded).

    Args:
        obj: the frame.
        recv_ns: when it was received, if known (else the frame's own ``ts``).

    Raises:
        ValidationError: the frame is malformed; the message says what is wrong.
    """
    if "topic" not in obj:
        if {"op", "success", "request"} & obj.keys():  # sent message, ack, pong
            return skip("control")
        raise ValidationError("no 'topic': neither a data frame nor a control reply")
    topic = text_field(obj, "topic")
    kind, _, rest = topic.partition(".")
    if kind.lower().startswith("orderbook"):
        return skip("orderbook")
    if kind == "kline":
        interval, _, rest = rest.partition(".")
        if not interval:
            raise ValidationError(f"topic {topic!r} names no interval")
        return _kline(_frame(obj, topic, rest, recv_ns), interval)
    handler = _HANDLERS.get(kind)
    if handler is None:
        return skip(kind)
    return handler(_frame(obj, topic, rest, recv_ns))


def _frame(obj: dict[str, Any], topic: str, symbol: str, recv_ns: int | None) -> _Frame:
    ts = obj.get("ts")
    return _Frame(
        topic=topic,
        symbol=symbol_of(symbol, "topic symbol"),
        data=obj.get("data"),
        ts_ns=None if ts is None else ms_to_ns(ts, "ts"),
        recv_ns=recv_ns,
    )
