"""Hand-written sample records for the importer tests (invented values, real shapes)."""

from __future__ import annotations

import json
from typing import Any

# --- binance-ws ------------------------------------------------------------------------------

RECV = 1_700_000_000_123_456_789

TRADE: dict[str, Any] = {
    "e": "trade",
    "E": 1700000000100,
    "T": 1700000000099,
    "s": "BTCUSDT",
    "t": 42,
    "p": "43000.10",
    "q": "0.500",
    "X": "MARKET",
    "m": True,
}
AGG: dict[str, Any] = {
    "e": "aggTrade",
    "E": 1700000000200,
    "a": 777,
    "s": "ETHUSDT",
    "p": "2250.01",
    "q": "1.5",
    "f": 100,
    "l": 102,
    "T": 1700000000199,
    "m": False,
}
FORCE: dict[str, Any] = {
    "e": "forceOrder",
    "E": 1700000000990,
    "o": {
        "s": "BTCUSDT",
        "S": "SELL",
        "o": "LIMIT",
        "f": "IOC",
        "q": "0.014",
        "p": "42900.00",
        "ap": "42950.50",
        "X": "FILLED",
        "l": "0.014",
        "z": "0.014",
        "T": 1700000000985,
    },
}
MARK: dict[str, Any] = {
    "e": "markPriceUpdate",
    "E": 1700000001000,
    "s": "BTCUSDT",
    "p": "43001.20",
    "P": "43010.00",
    "i": "43003.40",
    "r": "-0.00012500",
    "T": 1700006400000,
}


def binance_line(stream: str, data: object, prefix: bytes = b"%d " % RECV) -> bytes:
    frame = json.dumps({"stream": stream, "data": data}, separators=(",", ":"))
    return prefix + frame.encode()


def changed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = {**base, **changes}
    return {k: v for k, v in data.items() if v is not ...}


# --- bybit-trades-csv ------------------------------------------------------------------------

HEADER = (
    b"timestamp,symbol,side,size,price,tickDirection,trdMatchID,"
    b"grossValue,homeNotional,foreignNotional"
)
ROW_BUY = (
    b"1585180700.0647,BTCUSD,Buy,100,6629.5,ZeroMinusTick,"
    b"8b9f1f6e-6f0a-5ad2-9d1a-1c1b1e1d1f01,1508410.0,100,0.0150841"
)
ROW_SELL = (
    b"1585180700.1,BTCUSD,Sell,25,6629,MinusTick,"
    b"1a2b3c4d-0000-5000-8000-000000000002,377130.0,25,0.0037713"
)
ROW_LINEAR = (
    b"1651449601,BTCUSDT,Buy,0.001,38408.00,ZeroPlusTick,"
    b"ee69f0d5-0000-5000-8000-000000000003,3840800000.0,0.001,38.408"
)


# --- bybit-ws --------------------------------------------------------------------------------

TS = 1700000000123

TRADES: dict[str, Any] = {
    "topic": "publicTrade.BTCUSDT",
    "type": "snapshot",
    "ts": TS,
    "data": [
        {"T": 1700000000120, "s": "BTCUSDT", "S": "Buy", "v": "0.010", "p": "43000.10",
         "L": "PlusTick", "i": "9b1c5e2a-0000-4000-8000-000000000001", "BT": False},
        {"T": 1700000000121, "s": "BTCUSDT", "S": "Sell", "v": "1.500", "p": "42999.90",
         "L": "MinusTick", "i": "9b1c5e2a-0000-4000-8000-000000000002", "BT": False},
    ],
}  # fmt: skip
ALL_LIQ: dict[str, Any] = {
    "topic": "allLiquidation.BTCUSDT",
    "type": "snapshot",
    "ts": 1700000001000,
    "data": [
        {"T": 1700000000990, "s": "BTCUSDT", "S": "Buy", "v": "0.250", "p": "42950.50"},
        {"T": 1700000000995, "s": "BTCUSDT", "S": "Sell", "v": "3", "p": "43100"},
    ],
}
OLD_LIQ: dict[str, Any] = {
    "topic": "liquidation.BTCUSDT",
    "type": "snapshot",
    "ts": 1700000001000,
    "data": {"updatedTime": 1700000000999, "symbol": "BTCUSDT", "side": "Sell",
             "size": "0.003", "price": "43511.70"},
}  # fmt: skip
TICKER: dict[str, Any] = {
    "topic": "tickers.BTCUSDT",
    "type": "snapshot",
    "cs": 9532239429,
    "ts": 1700000000500,
    "data": {"symbol": "BTCUSDT", "lastPrice": "43000.10", "markPrice": "43001.20",
             "indexPrice": "43003.40", "openInterest": "52012.345",
             "openInterestValue": "2236530835.00", "nextFundingTime": "1700006400000",
             "fundingRate": "-0.0001", "bid1Price": "43000.00", "preOpenPrice": ""},
}  # fmt: skip
KLINE: dict[str, Any] = {
    "topic": "kline.5.BTCUSDT",
    "type": "snapshot",
    "ts": 1700000100000,
    "data": [{"start": 1699999800000, "end": 1700000099999, "interval": "5", "open": "42980",
              "close": "43000.1", "high": "43010", "low": "42970", "volume": "120.5",
              "turnover": "5180000.1", "confirm": False, "timestamp": 1700000099990}],
}  # fmt: skip


def bybit_line(frame: dict[str, Any], prefix: bytes = b"") -> bytes:
    return prefix + json.dumps(frame, separators=(",", ":")).encode()


def changed_frame(frame: dict[str, Any], **data: Any) -> dict[str, Any]:
    """The frame with its (first) data object changed; ``...`` removes a field."""
    body = frame["data"][0] if isinstance(frame["data"], list) else frame["data"]
    new = {k: v for k, v in {**body, **data}.items() if v is not ...}
    return {**frame, "data": [new] if isinstance(frame["data"], list) else new}


# --- klines-csv and binance-oi-csv -----------------------------------------------------------

KLINE_HEADER = b"timestamp,open,high,low,close,volume"
KLINE_ISO = b"2021-04-03T00:00:00,58950.010000,59450.080000,58931.300000,59387.130000,1706.898053"
KLINE_MS = b"1617411600000,59387.13,59391.76,59003.00,59254.98,1295.372272"  # 01:00 UTC
OI_HEADER = b"symbol,sumOpenInterest,sumOpenInterestValue,CMCCirculatingSupply,timestamp"
OI_ROW = b"BTCUSDT,78942.34400000,5346644423.51064300,19997062.00000000,1772553600000"
OI_ROW_SHORT = b"ETHUSDT,1200000.5,2400001000.25,1772568000000"  # no circulating supply
