"""OHLCV bars exported as CSV: the ``klines-csv`` format.

One closed bar a row, gzip or plain, after an optional header::

    timestamp,open,high,low,close,volume
    2021-04-03T00:00:00,58950.010000,59450.080000,58931.300000,59387.130000,1706.898053

``timestamp`` is the bar's open time, ISO-8601 (no zone means UTC) or epoch milliseconds.
Columns after ``volume`` (Binance's own layout goes on with the close time, quote volume...)
are ignored.  The file names neither the symbol, the venue nor the interval, so they are
options (``helix import --format klines-csv --symbol BTCUSDT --interval 1h``); the venue
defaults to ``binance``.

Each row becomes a closed :class:`~events.market.Kline` whose ``interval`` is in Bybit's
vocabulary, as the Bybit feed writes it (``1h`` -> ``"60"``, ``1d`` -> ``"D"``), so bars from
every source compare by one name.  ``ts_event`` is the bar's close (open time plus the
interval, as the Bybit backfill sets it), and ``ts_recorded`` equals it: an export carries no
receive time.  ``turnover`` is not in the file and stays ``None``.

A row is refused (a dead letter with the reason) when a price is not positive, the volume is
negative, the high is below the open or close, the low above them, or the open time is not
the start of a bar of the interval (a wrong ``--interval`` shows up at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from events.market import Kline
from helix.errors import ValidationError
from helix.importers.formats import (
    NO_ID,
    FormatOptions,
    Parsed,
    csv_fields,
    dec,
    header_names,
    iso_or_ms_to_ns,
    read_lines,
    symbol_of,
    venue_of,
    with_id,
)

NS = 1_000_000_000
DEFAULT_VENUE = "binance"
COLUMNS = ("open", "high", "low", "close", "volume")
"""The columns after the time column, in order."""
TIME_COLUMNS = ("timestamp", "open_time")

INTERVALS: dict[str, tuple[str, int]] = {
    "1m": ("1", 60),
    "3m": ("3", 180),
    "5m": ("5", 300),
    "15m": ("15", 900),
    "30m": ("30", 1_800),
    "1h": ("60", 3_600),
    "2h": ("120", 7_200),
    "4h": ("240", 14_400),
    "6h": ("360", 21_600),
    "12h": ("720", 43_200),
    "1d": ("D", 86_400),
    "1w": ("W", 604_800),
}
"""``--interval`` (Binance's names) -> (Bybit's name, the bar's length in seconds)."""

_WEEK_OFFSET_S = 4 * 86_400  # weekly bars open on Mondays; 1970-01-01 was a Thursday


class KlinesCsvParser:
    """Parser for OHLCV CSV exports of one symbol and interval (see the module docstring).

    Args:
        symbol: the symbol of every row (upper-cased).
        interval: the bar interval, one of :data:`INTERVALS` (``"1h"``).
        venue: the venue the bars come from (lower-cased).

    Raises:
        ValidationError: the symbol, venue or interval is not valid.
    """

    name: str = "klines-csv"

    def __init__(self, *, symbol: str, interval: str, venue: str = DEFAULT_VENUE) -> None:
        if interval not in INTERVALS:
            valid = ", ".join(INTERVALS)
            raise ValidationError(f"--interval: {interval!r} is not one of {valid}")
        self.symbol = symbol_of(symbol, "--symbol")
        self.venue = venue_of(venue, "--venue")
        self.interval = interval
        self.bybit_interval, seconds = INTERVALS[interval]
        self._length_ns = seconds * NS
        self._offset_ns = _WEEK_OFFSET_S * NS if interval == "1w" else 0

    @classmethod
    def from_options(cls, options: FormatOptions) -> KlinesCsvParser:
        """The parser for ``helix import --format klines-csv``.

        Raises:
            ValidationError: ``--symbol`` or ``--interval`` is missing or invalid.
        """
        options.check(cls.name, takes=("symbol", "venue", "interval"))
        if options.symbol is None:
            raise ValidationError(f"format {cls.name!r} needs --symbol (the file does not say)")
        if options.interval is None:
            raise ValidationError(
                f"format {cls.name!r} needs --interval, one of {', '.join(INTERVALS)}"
            )
        return cls(
            symbol=options.symbol,
            interval=options.interval,
            venue=options.venue or DEFAULT_VENUE,
        )

    @property
    def key(self) -> str:
        """``klines-csv:<venue>:<SYMBOL>:<interval>``: the same file as another symbol or
        interval is another import."""
        return f"{self.name}:{self.venue}:{self.symbol}:{self.interval}"

    def records(self, path: Path) -> Iterator[tuple[int, bytes]]:
        """Yield ``(line number, raw row)`` for each bar; a header on line 1 is checked.

        Args:
            path: the export (``.csv`` or ``.csv.gz``).

        Raises:
            ValidationError: line 1 is a header, but not ``timestamp,open,high,low,close,volume``.
        """
        for number, raw in read_lines(path):
            if number == 1 and not raw.lstrip(b"\xef\xbb\xbf")[:1].isdigit():
                _check_header(raw)
                continue
            yield number, raw

    def parse(self, raw: bytes) -> Parsed:
        """Turn one row into a closed :class:`Kline`.

        Args:
            raw: the row, without its newline.

        Raises:
            ValidationError: the row is malformed; the message says what is wrong.
        """
        stamp, *values = csv_fields(raw, 1 + len(COLUMNS))[: 1 + len(COLUMNS)]
        start = iso_or_ms_to_ns(stamp, "timestamp")
        if (start - self._offset_ns) % self._length_ns:
            raise ValidationError(f"timestamp: {stamp} is not the open of a {self.interval} bar")
        o, h, lo, c = (dec(values[i], COLUMNS[i]) for i in range(4))
        volume = dec(values[4], "volume", sign="non-negative")
        if h < max(o, c):
            raise ValidationError(f"high {h} is below the open {o} or the close {c}")
        if lo > min(o, c):
            raise ValidationError(f"low {lo} is above the open {o} or the close {c}")
        close_ns = start + self._length_ns
        kline = Kline(
            event_id=NO_ID,
            ts_event=close_ns,
            ts_recorded=close_ns,  # exports carry no receive time
            source=self.venue,
            vertical="perps",
            venue=self.venue,
            symbol=self.symbol,
            interval=self.bybit_interval,
            start=start,
            open=o,
            high=h,
            low=lo,
            close=c,
            volume=volume,
            turnover=None,
            closed=True,
        )
        return Parsed([with_id(kline)])


def _check_header(raw: bytes) -> None:
    names = header_names(raw)
    if names[0] not in TIME_COLUMNS or names[1 : 1 + len(COLUMNS)] != COLUMNS:
        raise ValidationError(
            f"not a klines CSV: header {','.join(names)[:120]!r}, expected "
            f"timestamp,{','.join(COLUMNS)}"
        )
