"""The deterministic market behind :class:`helix.testing.fake_bybit.FakeBybit`.

Pure Python, no I/O: one :class:`FakeMarket` holds, per instrument, a seeded random-walk price,
the trades it printed, contiguous 1-minute bars (``history_days`` of history before
``start_ms`` plus the live ones), a 5-minute open-interest path, the 8-hourly funding
settlements (00/08/16 UTC) and the ticker state, and renders WebSocket frames in Bybit v5's
wire format (JSON text); :mod:`helix.testing.fake_bybit_rest` builds the REST results from it.

All amounts are integers in units of the instrument's last decimal (prices ``10**-scale``,
sizes ``0.001``, rates ``1e-8``) and are formatted exactly, so every string is Decimal-safe.
The random streams depend only on the seed and on the sequence of :meth:`FakeMarket.generate`
calls: WebSocket clients, REST calls and faults never change what the market prints.
"""

from __future__ import annotations

import json
import random
import zlib
from collections import deque
from dataclasses import dataclass
from typing import Any

MINUTE_MS = 60_000
OI_STEP_MS = 5 * MINUTE_MS
FUNDING_STEP_MS = 8 * 60 * MINUTE_MS
DAY_MS = 1440 * MINUTE_MS
QTY_SCALE = 3  # qty step 0.001
RATE_SCALE = 8  # funding rates in 1e-8
FUNDING_CAP = 500_000  # 0.005
TICKER_EVERY = 50  # trades of a symbol between two ticker deltas
LIQUIDATION_EVERY = 200  # trades of a symbol between two allLiquidation frames
RECENT_TRADES_KEPT = 1000  # /v5/market/recent-trade serves at most this many
KLINE_INTERVALS = {
    "1": 1, "3": 3, "5": 5, "15": 15, "30": 30, "60": 60, "120": 120, "240": 240,
    "360": 360, "720": 720, "D": 1440,
}  # fmt: skip
OI_INTERVALS = {
    "5min": 5 * MINUTE_MS, "15min": 15 * MINUTE_MS, "30min": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS, "4h": 240 * MINUTE_MS, "1d": DAY_MS,
}  # fmt: skip


def fmt_units(value: int, scale: int) -> str:
    """``12345, 2 -> "123.45"`` (exact, keeps trailing zeros)."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**scale)
    return f"{sign}{whole}.{frac:0{scale}d}" if scale else f"{sign}{whole}"


def trim(text: str) -> str:
    """Drop trailing fractional zeros: ``"16677.00" -> "16677"``."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def fmt_rate(value: int) -> str:
    return trim(fmt_units(value, RATE_SCALE))


def floor_ms(ts: int, step: int) -> int:
    return ts - ts % step


def ceil_ms(ts: int, step: int) -> int:
    return -((-ts) // step) * step


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


@dataclass(slots=True)
class FakeTrade:
    """One trade the fake exchange printed (whether or not it reached a client)."""

    symbol: str
    trade_id: str
    ts_ms: int
    side: str  # taker side: "Buy" | "Sell"
    price: str
    size: str
    seq: int  # contiguous per symbol: 1, 2, 3, ...


@dataclass(frozen=True)
class Spec:
    symbol: str
    base: str
    quote: str
    scale: int  # decimals of price strings
    tick: int  # tick size in price units (10**-scale)
    price: int  # starting price in price units
    mean_qty: int  # mean trade size in 0.001 units
    status: str = "Trading"
    launch_ms: int = 1_584_230_400_000


SPECS: tuple[Spec, ...] = (
    Spec("BTCUSDT", "BTC", "USDT", 2, 10, 9_350_000, 20),
    Spec("ETHUSDT", "ETH", "USDT", 2, 1, 335_000, 300),
    Spec("SOLUSDT", "SOL", "USDT", 3, 10, 190_000, 5_000),
    Spec("XRPUSDT", "XRP", "USDT", 4, 1, 20_800, 500_000),
    Spec("DOGEUSDT", "DOGE", "USDT", 5, 1, 31_500, 2_000_000),
    Spec("HLXUSDT", "HLX", "USDT", 4, 1, 5_000, 100_000, "PreLaunch", 1_735_000_000_000),
    Spec("BTCPERP", "BTC", "USDC", 1, 5, 935_000, 20, "Trading", 1_654_000_000_000),
)


def spec_for(symbol: str) -> Spec:
    for spec in SPECS:
        if spec.symbol == symbol:
            return spec
    base = symbol[:-4] if symbol.endswith("USDT") else symbol
    return Spec(symbol, base, "USDT", 2, 1, 10_000, 1_000)


@dataclass(slots=True)
class Batch:
    """One generated trade frame's worth of trades and what followed it."""

    symbol: str
    trades: list[FakeTrade]
    items: list[str]  # one JSON object per trade (publicTrade ``data`` items), in order
    ts: int  # frame ``ts``
    extra: list[tuple[str, str]]  # (topic, frame text): ticker/liquidation/kline frames


class SymbolMarket:
    """Everything about one instrument."""

    def __init__(self, spec: Spec, seed: int, start_ms: int, history_days: int) -> None:
        self.spec = spec
        self.symbol = spec.symbol
        self.rng = random.Random(f"helix-fake-bybit:{seed}:{spec.symbol}:live")  # noqa: S311
        self.id_prefix = f"{zlib.crc32(spec.symbol.encode()):08x}-{seed & 0xFFFF:04x}-4000-8000-"
        self.pfmt = f"%d.%0{spec.scale}d"
        self.pdiv = 10**spec.scale
        self.sigma = max(1.0, spec.price * 2e-5 / spec.tick)
        self.min_price = spec.tick * 10
        self.seq = 0
        self.trades: deque[FakeTrade] = deque(maxlen=RECENT_TRADES_KEPT)
        self.last = spec.price
        self.last_side = "Buy"
        self.tick_dir = "ZeroPlusTick"
        self.since_ticker = 0
        self.since_liq = 0
        self.cs = 9_500_000_000 + zlib.crc32(spec.symbol.encode()) % 1_000_000
        hist = random.Random(f"helix-fake-bybit:{seed}:{spec.symbol}:history")  # noqa: S311
        # 1-minute bars: (open, high, low, close, volume, turnover); bar i starts at
        # bars_start + i minutes; the last one is the current (open) bar.
        self.cur_start = floor_ms(start_ms, MINUTE_MS)
        self.bars_start = self.cur_start - history_days * DAY_MS
        self.bars = self._history_bars(hist, history_days * 1440)
        self.cur = [self.last, self.last, self.last, self.last, 0, 0]
        # open interest (single side, 0.001 units) every 5 minutes, oldest first
        self.oi_single = spec.mean_qty * 2_000_000
        self.oi_start = ceil_ms(self.bars_start, OI_STEP_MS)
        self.oi = self._history_oi(hist, (start_ms - self.oi_start) // OI_STEP_MS + 1)
        # funding settlements every 8 h at 00/08/16 UTC, oldest first
        self.rate = 10_000  # 0.0001
        self.funding_start = ceil_ms(self.bars_start, FUNDING_STEP_MS)
        n_funding = max(0, (start_ms - self.funding_start) // FUNDING_STEP_MS + 1)
        self.funding = [self._history_rate(hist) for _ in range(n_funding)]
        self.mark = self.last
        self.index = self.last

    # -- history ------------------------------------------------------------------------------

    def _history_bars(
        self, rng: random.Random, n: int
    ) -> list[tuple[int, int, int, int, int, int]]:
        tick, sigma = self.spec.tick, self.sigma * 12
        rows: list[tuple[int, int, int, int, int, int]] = []
        close = self.last
        for _ in range(n):
            opn = max(self.min_price, close - round(rng.gauss(0.0, sigma)) * tick)
            high = max(opn, close) + round(abs(rng.gauss(0.0, sigma / 2))) * tick
            low = max(tick, min(opn, close) - round(abs(rng.gauss(0.0, sigma / 2))) * tick)
            vol = 1 + int(rng.expovariate(1.0) * self.spec.mean_qty * 300)
            rows.append((opn, high, low, close, vol, vol * ((opn + close) // 2)))
            close = opn
        rows.reverse()
        return rows

    def _history_oi(self, rng: random.Random, n: int) -> list[int]:
        out = [self.oi_single]
        for _ in range(n - 1):
            out.append(max(1000, out[-1] + int(rng.gauss(0.0, out[-1] * 0.001))))
        out.reverse()
        return out

    @staticmethod
    def _history_rate(rng: random.Random) -> int:
        if rng.random() < 0.5:
            return 10_000
        return int(rng.uniform(-30_000, 50_000))

    # -- live ---------------------------------------------------------------------------------

    def fmt_price(self, units: int) -> str:
        text: str = self.pfmt % divmod(units, self.pdiv)
        return text

    def roll_bars(self, now: int) -> list[tuple[str, str]]:
        """Close every bar that ended by ``now``; one ``kline.1`` frame (confirm) per bar."""
        out: list[tuple[str, str]] = []
        topic = f"kline.1.{self.symbol}"
        while now >= self.cur_start + MINUTE_MS:
            o, h, lo, c, vol, turn = self.cur
            self.bars.append((o, h, lo, c, vol, turn))
            start = self.cur_start
            data = {
                "start": start,
                "end": start + MINUTE_MS - 1,
                "interval": "1",
                "open": trim(self.fmt_price(o)),
                "close": trim(self.fmt_price(c)),
                "high": trim(self.fmt_price(h)),
                "low": trim(self.fmt_price(lo)),
                "volume": trim(fmt_units(vol, QTY_SCALE)),
                "turnover": trim(fmt_units(turn, self.spec.scale + QTY_SCALE)),
                "confirm": True,
                "timestamp": now,
            }
            out.append(
                (topic, _dumps({"topic": topic, "data": [data], "ts": now, "type": "snapshot"}))
            )
            self.cur_start += MINUTE_MS
            self.cur = [c, c, c, c, 0, 0]
        return out

    def ticker_delta(self, now: int) -> tuple[str, str]:
        """Move mark/index/open interest/funding rate and render the ``tickers`` delta."""
        rng, tick = self.rng, self.spec.tick
        self.mark = max(tick, self.last + round(rng.gauss(0.0, 2.0)) * tick)
        self.index = max(tick, self.mark + round(rng.gauss(0.0, 2.0)) * tick)
        self.oi_single = max(1000, self.oi_single + int(rng.gauss(0.0, self.oi_single * 2e-4)))
        self.rate = max(-FUNDING_CAP, min(FUNDING_CAP, self.rate + int(rng.gauss(0.0, 300.0))))
        self.cs += 1
        topic = f"tickers.{self.symbol}"
        data = {
            "symbol": self.symbol,
            "lastPrice": self.fmt_price(self.last),
            "markPrice": self.fmt_price(self.mark),
            "indexPrice": self.fmt_price(self.index),
            "openInterest": fmt_units(2 * self.oi_single, QTY_SCALE),
            "openInterestValue": self._oi_value(),
            "fundingRate": fmt_rate(self.rate),
        }
        frame = {"topic": topic, "type": "delta", "cs": self.cs, "ts": now, "data": data}
        return topic, _dumps(frame)

    def liquidation(self, now: int) -> tuple[str, str]:
        rng, tick = self.rng, self.spec.tick
        side = "Buy" if rng.random() < 0.5 else "Sell"  # Buy: a long was liquidated
        offset = max(tick, self.last * (3 + int(rng.random() * 7)) // 1000 // tick * tick)
        price = max(tick, self.last - offset if side == "Buy" else self.last + offset)
        qty = 1 + int(rng.expovariate(1.0) * self.spec.mean_qty * 5)
        topic = f"allLiquidation.{self.symbol}"
        item = {
            "T": now,
            "s": self.symbol,
            "S": side,
            "v": fmt_units(qty, QTY_SCALE),
            "p": self.fmt_price(price),
        }
        return topic, _dumps({"topic": topic, "type": "snapshot", "ts": now, "data": [item]})

    def _oi_value(self) -> str:
        # both sides (0.001 units) x mark (10**-scale) -> 2 decimals
        return fmt_units(2 * self.oi_single * self.mark // 10 ** (self.spec.scale + 1), 2)

    def bar(self, i: int) -> tuple[int, int, int, int, int, int]:
        if i < len(self.bars):
            return self.bars[i]
        o, h, lo, c, vol, turn = self.cur
        return (o, h, lo, c, vol, turn)

    def ticker(self, now: int, next_funding: int) -> dict[str, str]:
        """The full ticker (WebSocket snapshot and REST ``/v5/market/tickers`` item)."""
        n = len(self.bars) + 1
        window = [self.bar(i) for i in range(max(0, n - 1440), n)]
        prev24 = window[0][0]
        prev1h = window[max(0, len(window) - 60)][0]
        vol = sum(b[4] for b in window)
        turn = sum(b[5] for b in window)
        pcnt = round((self.last - prev24) * 1_000_000 / prev24)
        tick = self.spec.tick
        if self.last_side == "Buy":
            bid, ask = self.last - tick, self.last
        else:
            bid, ask = self.last, self.last + tick
        size_mod = self.spec.mean_qty * 20
        return {
            "symbol": self.symbol,
            "tickDirection": self.tick_dir,
            "price24hPcnt": fmt_units(pcnt, 6),
            "lastPrice": self.fmt_price(self.last),
            "prevPrice24h": self.fmt_price(prev24),
            "highPrice24h": self.fmt_price(max(b[1] for b in window)),
            "lowPrice24h": self.fmt_price(min(b[2] for b in window)),
            "prevPrice1h": self.fmt_price(prev1h),
            "markPrice": self.fmt_price(self.mark),
            "indexPrice": self.fmt_price(self.index),
            "openInterest": fmt_units(2 * self.oi_single, QTY_SCALE),
            "openInterestValue": self._oi_value(),
            "singleOpenInterest": fmt_units(self.oi_single, QTY_SCALE),
            "turnover24h": fmt_units(turn, self.spec.scale + QTY_SCALE),
            "volume24h": fmt_units(vol, QTY_SCALE),
            "nextFundingTime": str(next_funding),
            "fundingRate": fmt_rate(self.rate),
            "fundingIntervalHour": "8",
            "fundingCap": fmt_rate(FUNDING_CAP),
            "bid1Price": self.fmt_price(bid),
            "bid1Size": fmt_units(1 + self.seq * 7919 % size_mod, QTY_SCALE),
            "ask1Price": self.fmt_price(ask),
            "ask1Size": fmt_units(1 + self.seq * 104729 % size_mod, QTY_SCALE),
            "preOpenPrice": "",
            "preQty": "",
            "curPreListingPhase": "",
        }


class FakeMarket:
    """The whole fake exchange's market data (see the module docstring)."""

    def __init__(
        self, symbols: tuple[str, ...], *, seed: int, start_ms: int, history_days: int
    ) -> None:
        if not symbols:
            raise ValueError("at least one symbol")
        if history_days < 1:
            raise ValueError("history_days must be >= 1")
        self.symbols = tuple(dict.fromkeys(symbols))
        universe = list(self.symbols) + [s.symbol for s in SPECS if s.symbol not in symbols]
        self.markets = {
            sym: SymbolMarket(spec_for(sym), seed, start_ms, history_days) for sym in universe
        }
        self.start_ms = start_ms
        self.now_ms = start_ms
        self.clock_rng = random.Random(f"helix-fake-bybit:{seed}:clock")  # noqa: S311
        self.next_oi = floor_ms(start_ms, OI_STEP_MS) + OI_STEP_MS
        self.next_funding = floor_ms(start_ms, FUNDING_STEP_MS) + FUNDING_STEP_MS

    # -- generation ---------------------------------------------------------------------------

    def generate(self, symbol: str, n: int) -> Batch:
        """Print ``n`` trades of ``symbol`` (the clock advances 50-150 ms per trade)."""
        m = self.markets[symbol]
        rng_random, gauss, expo = m.rng.random, m.rng.gauss, m.rng.expovariate
        clock = self.clock_rng.random
        tick, sigma, min_price, mean_qty = m.spec.tick, m.sigma * 1.6, m.min_price, m.spec.mean_qty
        pfmt, pdiv, prefix = m.pfmt, m.pdiv, m.id_prefix
        now, last, seq, tick_dir, side = self.now_ms, m.last, m.seq, m.tick_dir, m.last_side
        cur, next_bar = m.cur, m.cur_start + MINUTE_MS
        trades: list[FakeTrade] = []
        items: list[str] = []
        extra: list[tuple[str, str]] = []
        for _ in range(n):
            now += 50 + int(clock() * 100)
            if now >= next_bar:
                m.last, m.seq = last, seq
                extra += m.roll_bars(now)
                cur, next_bar = m.cur, m.cur_start + MINUTE_MS
            if rng_random() < 0.55:
                price = last
            else:
                price = max(min_price, last + round(gauss(0.0, sigma)) * tick)
            if price > last:
                side, tick_dir = "Buy", "PlusTick"
            elif price < last:
                side, tick_dir = "Sell", "MinusTick"
            else:
                side = "Buy" if rng_random() < 0.5 else "Sell"
                tick_dir = "ZeroPlusTick" if tick_dir[-8:] == "PlusTick" else "ZeroMinusTick"
            qty = 1 + int(expo(1.0) * mean_qty)
            seq += 1
            p = pfmt % divmod(price, pdiv)
            v = f"{qty // 1000}.{qty % 1000:03d}"
            tid = f"{prefix}{seq:012x}"
            trades.append(FakeTrade(symbol, tid, now, side, p, v, seq))
            items.append(
                f'{{"T":{now},"s":"{symbol}","S":"{side}","v":"{v}","p":"{p}","L":"{tick_dir}",'
                f'"i":"{tid}","BT":false,"RPI":false,"seq":{seq}}}'
            )
            if cur[4] == 0:
                cur[0] = cur[1] = cur[2] = price
            elif price > cur[1]:
                cur[1] = price
            elif price < cur[2]:
                cur[2] = price
            cur[3] = price
            cur[4] += qty
            cur[5] += qty * price
            last = price
        m.last, m.seq, m.tick_dir, m.last_side = last, seq, tick_dir, side
        m.trades.extend(trades)
        self.now_ms = now
        m.since_ticker += n
        m.since_liq += n
        if m.since_ticker >= TICKER_EVERY:
            m.since_ticker %= TICKER_EVERY
            extra.append(m.ticker_delta(now))
        if m.since_liq >= LIQUIDATION_EVERY:
            m.since_liq %= LIQUIDATION_EVERY
            extra.append(m.liquidation(now))
        extra += self._sweep(now)
        return Batch(symbol, trades, items, now + 2, extra)

    def _sweep(self, now: int) -> list[tuple[str, str]]:
        """Roll every instrument's bars to ``now``; record OI and funding boundaries passed."""
        out: list[tuple[str, str]] = []
        for m in self.markets.values():
            if now >= m.cur_start + MINUTE_MS:
                out += m.roll_bars(now)
        while now >= self.next_oi:
            for m in self.markets.values():
                m.oi.append(m.oi_single)
            self.next_oi += OI_STEP_MS
        while now >= self.next_funding:
            for m in self.markets.values():
                m.funding.append(m.rate)
            self.next_funding += FUNDING_STEP_MS
        return out

    # -- lookups ------------------------------------------------------------------------------

    def ticker_snapshot(self, symbol: str) -> str:
        m = self.markets[symbol]
        frame = {
            "topic": f"tickers.{symbol}",
            "type": "snapshot",
            "cs": m.cs,
            "ts": self.now_ms,
            "data": m.ticker(self.now_ms, self.next_funding),
        }
        return _dumps(frame)
