"""Binance open-interest history saved as CSV: the ``binance-oi-csv`` format.

The rows of ``GET /futures/data/openInterestHist`` (any period), one a line after an optional
header::

    symbol,sumOpenInterest,sumOpenInterestValue,CMCCirculatingSupply,timestamp
    BTCUSDT,78942.34400000,5346644423.51064300,19997062.00000000,1772553600000

Older saves have no ``CMCCirculatingSupply`` column; it is not needed either way.  Each row
becomes a :class:`~events.market.Ticker` carrying only ``open_interest`` (``sumOpenInterest``,
in coins) and ``open_interest_value`` (``sumOpenInterestValue``, in USDT) at ``ts_event`` =
``timestamp`` (epoch ms).  The symbol comes from the row, the venue from ``--venue`` (default
``binance``).  The history has no receive time, so ``ts_recorded`` equals ``ts_event``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from events.market import Ticker
from helix.errors import ValidationError
from helix.importers.formats import (
    NO_ID,
    FormatOptions,
    Parsed,
    csv_fields,
    dec,
    header_names,
    ms_to_ns,
    read_lines,
    symbol_of,
    venue_of,
    with_id,
)

DEFAULT_VENUE = "binance"
HEADERS = (
    ("symbol", "sumOpenInterest", "sumOpenInterestValue", "CMCCirculatingSupply", "timestamp"),
    ("symbol", "sumOpenInterest", "sumOpenInterestValue", "timestamp"),
)
"""The two layouts accepted, with and without the circulating supply."""


class BinanceOiCsvParser:
    """Parser for saved Binance open-interest history (see the module docstring).

    Args:
        venue: the venue of the data (lower-cased).

    Raises:
        ValidationError: the venue is not a valid name.
    """

    name: str = "binance-oi-csv"

    def __init__(self, *, venue: str = DEFAULT_VENUE) -> None:
        self.venue = venue_of(venue, "--venue")

    @classmethod
    def from_options(cls, options: FormatOptions) -> BinanceOiCsvParser:
        """The parser for ``helix import --format binance-oi-csv`` (only ``--venue`` applies).

        Raises:
            ValidationError: ``--symbol`` or ``--interval`` was given, or the venue is invalid.
        """
        options.check(cls.name, takes=("venue",))
        return cls(venue=options.venue or DEFAULT_VENUE)

    @property
    def key(self) -> str:
        """``binance-oi-csv:<venue>``."""
        return f"{self.name}:{self.venue}"

    def records(self, path: Path) -> Iterator[tuple[int, bytes]]:
        """Yield ``(line number, raw row)`` for each row; a header on line 1 is checked.

        Args:
            path: the saved history (``.csv`` or ``.csv.gz``).

        Raises:
            ValidationError: line 1 starts with ``symbol,`` but is not one of :data:`HEADERS`.
        """
        for number, raw in read_lines(path):
            if number == 1 and header_names(raw)[0] == "symbol":
                _check_header(raw)
                continue
            yield number, raw

    def parse(self, raw: bytes) -> Parsed:
        """Turn one row into an open-interest :class:`Ticker`.

        Args:
            raw: the row, without its newline.

        Raises:
            ValidationError: the row is malformed; the message says what is wrong.
        """
        fields = csv_fields(raw, 4)
        if len(fields) > 5:
            raise ValidationError(f"expected 4 or 5 columns, got {len(fields)}")
        ts = ms_to_ns(fields[-1], "timestamp")
        ticker = Ticker(
            event_id=NO_ID,
            ts_event=ts,
            ts_recorded=ts,  # the history carries no receive time
            source=self.venue,
            vertical="perps",
            venue=self.venue,
            symbol=symbol_of(fields[0]),
            open_interest=dec(fields[1], "sumOpenInterest", sign="non-negative"),
            open_interest_value=dec(fields[2], "sumOpenInterestValue", sign="non-negative"),
        )
        return Parsed([with_id(ticker)])


def _check_header(raw: bytes) -> None:
    names = header_names(raw)
    if names not in HEADERS:
        raise ValidationError(
            f"not Binance open-interest history: header {','.join(names)[:120]!r}, "
            f"expected {','.join(HEADERS[0])!r}"
        )
