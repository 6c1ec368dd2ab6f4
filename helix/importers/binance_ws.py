"""Binance USDⓈ-M futures combined-stream captures: the ``binance-ws`` format.

One frame per line, as recorded by hftbacktest (``<recv_ns> <json>``), by cryptofeed
(``<secs.frac>: <json>``, plus ``<url> <-> <secs>`` connection lines) or bare (``<json>``)::

    1721347021434994132 {"stream":"btcusdt@trade","data":{"e":"trade","E":1721347022956,
        "T":1721347022956,"s":"BTCUSDT","t":5182005737,"p":"63943.90","q":"0.003",
        "X":"MARKET","m":true}}

Imported: ``trade`` and ``aggTrade`` -> :class:`Trade`, ``forceOrder`` -> :class:`Liquidation`,
``markPrice`` -> :class:`Ticker`.  Deliberately skipped (``Parsed.skipped``): every other
stream by its kind (``depth``, ``bookTicker``, ``kline``...), REST depth snapshots
(``depth-snapshot``) and capture/subscription lines (``control``).

``ts_recorded`` is the line's receive time; a bare frame falls back to the event time ``E``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.market import Liquidation, MarketEvent, Side, Ticker, Trade
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

VENUE = "binance"
_ENVELOPE: dict[str, Any] = {"event_id": NO_ID, "source": VENUE, "vertical": "perps"}


def _expect(data: dict[str, Any], event_type: str) -> None:
    if data.get("e") != event_type:
        raise ValidationError(f"expected event type {event_type!r}, got {data.get('e')!r}")


def _recorded(data: dict[str, Any], recv_ns: int | None) -> int:
    return recv_ns if recv_ns is not None else ms_to_ns(data.get("E"), "E")


def _aggressor(buyer_is_maker: object) -> Side:
    # "m": the buyer was the maker, so the taker (aggressor) was the seller.
    if buyer_is_maker is True:
        return "sell"
    if buyer_is_maker is False:
        return "buy"
    raise ValidationError(f"m: expected true/false, got {buyer_is_maker!r}")


def _trade(data: dict[str, Any], recv_ns: int | None) -> MarketEvent:
    _expect(data, "trade")
    return _make_trade(data, recv_ns, str(to_int(data.get("t"), "t")))


def _agg_trade(data: dict[str, Any], recv_ns: int | None) -> MarketEvent:
    _expect(data, "aggTrade")
    # Prefixed: aggregate ids and trade ids are different sequences on the same symbol.
    return _make_trade(data, recv_ns, "a" + str(to_int(data.get("a"), "a")))


def _make_trade(data: dict[str, Any], recv_ns: int | None, trade_id: str) -> Trade:
    return with_id(
        Trade(
            **_ENVELOPE,
            ts_event=ms_to_ns(data.get("T"), "T"),
            ts_recorded=_recorded(data, recv_ns),
            venue=VENUE,
            symbol=symbol_of(data.get("s"), "s"),
            trade_id=trade_id,
            price=dec(data.get("p"), "p"),
            qty=dec(data.get("q"), "q"),
            side=_aggressor(data.get("m")),
        )
    )


_ORDER_SIDES: dict[object, Side] = {"BUY": "buy", "SELL": "sell"}


def _force_order(data: dict[str, Any], recv_ns: int | None) -> MarketEvent:
    _expect(data, "forceOrder")
    order = data.get("o")
    if not isinstance(order, dict):
        raise ValidationError(f"o: expected the liquidation order object, got {order!r}")
    # "S" is the liquidation *order's* side (SELL closes a long), which is what
    # Liquidation.side means, so it maps straight across.
    raw_side = order.get("S")
    if not isinstance(raw_side, str) or raw_side not in _ORDER_SIDES:
        raise ValidationError(f"o.S: expected BUY or SELL, got {raw_side!r}")
    limit_px, orig_qty = text_field(order, "p"), text_field(order, "q")
    ts_ms = to_int(order.get("T"), "o.T")
    # Price: the average fill price "ap" when it has one, else the order price "p".
    # Qty: the filled quantity "z" when it has one, else the order quantity "q".
    order_px, order_qty = dec(limit_px, "o.p"), dec(orig_qty, "o.q")
    fill_px = opt_dec(order.get("ap"), "o.ap") or order_px
    filled = opt_dec(order.get("z"), "o.z") or order_qty
    return with_id(
        Liquidation(
            **_ENVELOPE,
            ts_event=ms_to_ns(ts_ms, "o.T"),
            ts_recorded=_recorded(data, recv_ns),
            venue=VENUE,
            symbol=symbol_of(order.get("s"), "o.s"),
            # Binance gives liquidations no id: the print's own fields are its identity.
            key=f"{ts_ms}:{raw_side}:{limit_px}:{orig_qty}",
            price=fill_px,
            qty=filled,
            side=_ORDER_SIDES[raw_side],
        )
    )


def _mark_price(data: dict[str, Any], recv_ns: int | None) -> MarketEvent:
    _expect(data, "markPriceUpdate")
    next_funding = to_int(data.get("T", 0), "T")  # 0 (or absent) on contracts without funding
    return with_id(
        Ticker(
            **_ENVELOPE,
            ts_event=ms_to_ns(data.get("E"), "E"),
            ts_recorded=_recorded(data, recv_ns),
            venue=VENUE,
            symbol=symbol_of(data.get("s"), "s"),
            mark_price=dec(data.get("p"), "p"),
            index_price=opt_dec(data.get("i"), "i"),
            funding_rate=opt_dec(data.get("r"), "r", sign="any"),
            next_funding_ts=ms_to_ns(next_funding, "T") if next_funding else None,
        )
    )


_Handler = Callable[[dict[str, Any], int | None], MarketEvent]
_HANDLERS: dict[str, _Handler] = {
    "trade": _trade,
    "aggTrade": _agg_trade,
    "forceOrder": _force_order,
    "markPrice": _mark_price,
}


def stream_kind(stream: str) -> str:
    """The kind of a combined stream name.

    ``btcusdt@trade`` -> ``trade``, ``btcusdt@depth@0ms`` / ``btcusdt@depth20`` -> ``depth``,
    ``sushiusdt@kline_1m`` -> ``kline``, ``!markPrice@arr@1s`` -> ``markPrice``.

    Raises:
        ValidationError: the name has no kind.
    """
    base, _, rest = stream.partition("@")
    kind = base[1:] if base.startswith("!") else rest.split("@", 1)[0]
    kind = kind.split("_", 1)[0]
    if not kind:
        raise ValidationError(f"stream {stream!r} names no kind")
    return "depth" if kind.startswith("depth") else kind


class BinanceWsParser(LineFormat):
    """Parser for Binance USDⓈ-M combined-stream captures (see the module docstring)."""

    name: str = "binance-ws"

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
        frame = load_object(payload)
        if "stream" not in frame:
            if "lastUpdateId" in frame:  # REST /fapi/v1/depth snapshot stored with the frames
                return skip("depth-snapshot")
            if "id" in frame and ("result" in frame or "error" in frame):  # subscribe reply
                return skip("control")
            raise ValidationError("not a combined-stream frame: no 'stream' field")
        stream = text_field(frame, "stream")
        kind = stream_kind(stream)
        handler = _HANDLERS.get(kind)
        if handler is None:
            return skip(kind)
        data = frame.get("data")
        items = data if isinstance(data, list) else [data]  # "!...@arr" streams send lists
        if not items:
            raise ValidationError(f"{stream}: empty data")
        events: list[MarketEvent] = []
        for item in items:
            if not isinstance(item, dict):
                raise ValidationError(f"{stream}: data is not an object: {item!r:.60}")
            event = handler(item, recv_ns)
            base = stream.partition("@")[0]
            if not base.startswith("!") and base.upper() != event.symbol:
                raise ValidationError(f"stream {stream!r} carries symbol {event.symbol!r}")
            events.append(event)
        return Parsed(events)
