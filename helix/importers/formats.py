"""Recorded-file formats: the parser contract, the registry and the helpers parsers share.

A *format* turns one recorded file into Helix market events in two pure steps:
:meth:`RecordParser.records` splits the file into raw records (``(line_no, bytes)``, gzip or
plain, blank lines and a CSV header left out but still counted) and :meth:`RecordParser.parse`
turns one record into a :class:`Parsed`: zero or more events, or a note that the record is a
known kind Helix deliberately does not import.  Malformed input raises
:class:`~helix.errors.ValidationError` with the reason; a parser never returns partial garbage.

Every event carries a deterministic ``event_id`` (:func:`events.market.market_event_id` over
the event's own ``natural_key``), so the same line always gives the same id.

Some files do not name everything an event needs (a CSV of klines names neither its symbol,
its venue nor its interval): those formats take :class:`FormatOptions`, and
:func:`get_format` refuses options a format does not use and reports the ones it needs.
A parser's :attr:`~RecordParser.key` is its name plus such options, so the import ledger
tells "this file as BTCUSDT 1h" from "this file as ETHUSDT 1h".
"""

from __future__ import annotations

import decimal
import gzip
import re
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import msgspec

from events.market import Kline, Liquidation, Ticker, Trade, market_event_id
from helix.errors import ValidationError
from helix.store.market import MarketEvent as AnyMarketEvent


@dataclass(frozen=True)
class Parsed:
    """What one record turned into.

    Attributes:
        events: the market events (may be empty).
        skipped: the known kind of a record deliberately not imported (``"depth"``,
            ``"bookTicker"``, ``"control"``...), else ``None``.
    """

    events: Sequence[AnyMarketEvent]
    skipped: str | None = None


class RecordParser(Protocol):
    """One recorded-file format."""

    name: str

    @property
    def key(self) -> str:
        """The name plus the options that change the events (the import ledger's key).

        A single NATS subject token: no ``.``, ``*``, ``>`` or whitespace.
        """
        ...

    def records(self, path: Path) -> Iterator[tuple[int, bytes]]:
        """Yield ``(1-based line number, raw line without newline)`` for each record."""
        ...

    def parse(self, raw: bytes) -> Parsed:
        """Turn one raw record into events; raise ``ValidationError`` if it is malformed."""
        ...


def skip(kind: str) -> Parsed:
    """A :class:`Parsed` for a record of a known kind that is deliberately not imported."""
    return Parsed([], skipped=kind)


_GZIP_MAGIC = b"\x1f\x8b"


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield the non-blank lines of a gzip or plain file with their 1-based line numbers.

    Compression is detected from the file's magic bytes, not its name.  Line endings
    (``\\n`` or ``\\r\\n``) are stripped; blank lines (some captures end with them) are not
    records and are left out, but still counted, so numbers match ``zcat file | sed -n Np``.

    Args:
        path: the recorded file.

    Raises:
        ValidationError: the gzip stream is corrupt or truncated.
        OSError: the file cannot be read.
    """
    with path.open("rb") as probe:
        gzipped = probe.read(2) == _GZIP_MAGIC
    number = 0
    try:
        with gzip.open(path, "rb") if gzipped else path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                raw = line.rstrip(b"\r\n")
                if raw.strip():
                    yield number, raw
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ValidationError(f"{path}: corrupt gzip after line {number}: {exc}") from exc


class LineFormat:
    """Base of the formats with one record per line, gzip or plain."""

    name: str = ""

    @property
    def key(self) -> str:
        """The format's name (line formats take no options)."""
        return self.name

    def records(self, path: Path) -> Iterator[tuple[int, bytes]]:
        """Yield ``(line number, raw line)`` for each non-blank line (gzip or plain).

        Args:
            path: the capture file.
        """
        return read_lines(path)


_DECIMAL_TEXT = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_EXACT = decimal.Context(prec=100, traps=[decimal.Inexact])
Sign = Literal["positive", "non-negative", "any"]


def dec(value: object, field: str, *, sign: Sign = "positive") -> Decimal:
    """A finite Decimal from a venue's string (or exact JSON number), never via float.

    Args:
        value: a decimal string such as ``"63943.90"``, an int, or a Decimal.
        field: the field's name, for the error message.
        sign: ``"positive"`` (> 0), ``"non-negative"`` (>= 0) or ``"any"``.

    Raises:
        ValidationError: missing, not a number, NaN/inf, or the wrong sign.
    """
    if value is None:
        raise ValidationError(f"{field}: missing")
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise ValidationError(f"{field}: {value!r} is not a finite decimal")
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    else:
        raise ValidationError(f"{field}: expected a decimal string, got {value!r}")
    if not number.is_finite():
        raise ValidationError(f"{field}: {value!r} is not finite")
    if sign == "positive" and number <= 0:
        raise ValidationError(f"{field}: {value!r} must be positive")
    if sign == "non-negative" and number < 0:
        raise ValidationError(f"{field}: {value!r} must not be negative")
    return number


def opt_dec(value: object, field: str, *, sign: Sign = "non-negative") -> Decimal | None:
    """Like :func:`dec`, but a missing field or an empty string (Bybit's "n/a") is ``None``."""
    if value is None or value == "":
        return None
    return dec(value, field, sign=sign)


def to_int(value: object, field: str) -> int:
    """A non-negative int from a JSON integer or a string of digits (Bybit sends both).

    Raises:
        ValidationError: missing, a bool, a float, or not all digits.
    """
    if value is None:
        raise ValidationError(f"{field}: missing")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 40:
        return int(value)
    raise ValidationError(f"{field}: expected a non-negative integer, got {value!r}")


def ms_to_ns(value: object, field: str) -> int:
    """Epoch milliseconds (int or digit string) to int nanoseconds, checking the unit.

    Raises:
        ValidationError: not an integer, or not plausibly epoch *milliseconds*.
    """
    ms = to_int(value, field)
    if not 10**11 <= ms < 10**14:  # 1973..5138: catches seconds, micro- and nanoseconds
        raise ValidationError(f"{field}: {ms} does not look like epoch milliseconds")
    return ms * 1_000_000


def secs_to_ns(text: str, field: str) -> int:
    """Epoch seconds with an optional fraction (``"1585180700.0647"``) to int ns, exactly.

    Goes through Decimal, never float, so ``.0647`` is exactly 64 700 000 ns.

    Raises:
        ValidationError: not a plain decimal, out of range, or finer than a nanosecond.
    """
    if not re.fullmatch(r"\d{1,12}(?:\.\d{1,30})?", text):
        raise ValidationError(f"{field}: {text!r} is not epoch seconds")
    try:
        ns = _EXACT.multiply(Decimal(text), Decimal(1_000_000_000))
        whole = ns.to_integral_exact(context=_EXACT)
    except decimal.Inexact as exc:
        raise ValidationError(f"{field}: {text!r} is finer than a nanosecond") from exc
    if not 10**17 <= whole < 10**20:
        raise ValidationError(f"{field}: {text!r} does not look like epoch seconds")
    return int(whole)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_or_ms_to_ns(text: str, field: str) -> int:
    """An ISO-8601 time (no zone means UTC) or epoch milliseconds (digits) to int UTC ns.

    ``2021-04-03T00:00:00``, ``2021-04-03T02:00:00+02:00``, ``2021-04-03T00:00:00Z`` and
    ``1617408000000`` are the same instant.  Goes through integer microseconds, never float.

    Args:
        text: the field as written in the file.
        field: the field's name, for the error message.

    Raises:
        ValidationError: neither form, or not plausibly a time after 1973 and before 5138.
    """
    if text.isascii() and text.isdigit():
        return ms_to_ns(text, field)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(
            f"{field}: {text!r} is neither an ISO-8601 time nor epoch milliseconds"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the venues' exports are UTC without saying so
    ns = (moment - _EPOCH) // timedelta(microseconds=1) * 1_000
    if not 10**17 <= ns < 10**20:  # the same window as ms_to_ns: 1973..5138
        raise ValidationError(f"{field}: {text!r} is out of range")
    return ns


def csv_fields(raw: bytes, columns: int) -> list[str]:
    """Split a plain CSV row (nothing quoted, no commas inside fields) into its fields.

    Args:
        raw: the row, without its newline.
        columns: the least number of fields the row must have.

    Raises:
        ValidationError: not ASCII, empty, or fewer than ``columns`` fields.
    """
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise ValidationError(f"row is not ASCII: {raw[:60]!r}") from exc
    if not text:
        raise ValidationError("empty row")
    fields = text.split(",")
    if len(fields) < columns:
        raise ValidationError(f"expected at least {columns} columns, got {len(fields)}")
    return fields


def header_names(raw: bytes) -> tuple[str, ...]:
    """The column names of a CSV header line (a UTF-8 byte-order mark is dropped)."""
    return tuple(n.strip() for n in raw.decode("utf-8-sig", errors="replace").strip().split(","))


def text_field(obj: dict[str, Any], field: str) -> str:
    """A required non-empty string field of a JSON object."""
    value = obj.get(field)
    if value is None:
        raise ValidationError(f"{field}: missing")
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{field}: expected a non-empty string, got {value!r}")
    return value


def symbol_of(value: object, field: str = "symbol") -> str:
    """A venue symbol, upper-cased (``btcusdt`` -> ``BTCUSDT``)."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", value):
        raise ValidationError(f"{field}: {value!r} is not a symbol")
    return value.upper()


def venue_of(value: str, field: str = "venue") -> str:
    """A venue name, lower-cased (``Binance`` -> ``binance``).

    Raises:
        ValidationError: empty, or not usable as a NATS subject token.
    """
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", value):
        raise ValidationError(f"{field}: {value!r} is not a venue name")
    return value.lower()


_JSON: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
    float_hook=Decimal
)  # JSON numbers with a fraction stay exact


def load_object(payload: bytes) -> dict[str, Any]:
    """Decode a JSON object, fractional numbers as exact Decimals (NaN/Infinity are not JSON).

    Raises:
        ValidationError: not valid UTF-8 JSON, or not an object.
    """
    try:
        obj = _JSON.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # msgspec raises the latter too
        raise ValidationError(f"not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise ValidationError(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def split_capture(raw: bytes) -> tuple[int | None, bytes | None]:
    """Split a captured WS line into ``(receive time ns or None, JSON payload or None)``.

    Accepted shapes:

    - ``{...}``: a bare frame, no receive time.
    - ``<recv_ns> {...}``: hftbacktest (integer nanoseconds, space).
    - ``<secs.frac>: {...}``: cryptofeed (float seconds, colon and space).
    - ``<url> <-> <secs>`` (connection opened) and ``<url> <- <secs>: <msg>`` (a message the
      recorder *sent*): cryptofeed control lines; the payload is ``None``.

    Raises:
        ValidationError: empty, or a prefix that is none of the above.
    """
    line = raw.strip()
    if not line:
        raise ValidationError("empty line")
    if line[:1] in (b"{", b"["):
        return None, line
    head, _, rest = line.partition(b" ")
    if b"://" in head:
        arrow = rest.split(b" ", 1)[0]
        if arrow in (b"<-", b"<->"):
            return None, None
        raise ValidationError(f"unrecognised capture line after URL: {arrow[:20]!r}")
    if not rest.strip():
        raise ValidationError(f"no JSON after prefix {head[:40]!r}")
    try:
        stamp = head.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"bad line prefix {head[:40]!r}") from exc
    if stamp.endswith(":"):
        return secs_to_ns(stamp[:-1], "receive time"), rest
    if stamp.isdigit() and len(stamp) < 21 and 10**17 <= int(stamp) < 10**20:
        return int(stamp), rest
    raise ValidationError(f"line prefix {stamp[:40]!r} is not a receive time in ns or seconds")


E = TypeVar("E", Trade, Liquidation, Ticker, Kline)
NO_ID: uuid.UUID = uuid.UUID(int=0)  # placeholder until the natural key gives the real id


def with_id(event: E) -> E:
    """The event with its deterministic id from ``(venue, KIND, symbol, natural_key)``."""
    event_id = market_event_id(event.venue, event.KIND, event.symbol, event.natural_key)
    return msgspec.structs.replace(event, event_id=event_id)


@dataclass(frozen=True)
class FormatOptions:
    """What a file does not say itself, given on the command line (``None``: not given).

    Attributes:
        symbol: the symbol of every row (``--symbol``).
        venue: the venue the data come from (``--venue``).
        interval: the bar interval, Binance-style (``--interval 1h``).
    """

    symbol: str | None = None
    venue: str | None = None
    interval: str | None = None

    def check(self, fmt: str, *, takes: tuple[str, ...] = ()) -> None:
        """Refuse options the format ``fmt`` does not use (silently ignoring one misleads).

        Raises:
            ValidationError: an option outside ``takes`` was given.
        """
        given = {"symbol": self.symbol, "venue": self.venue, "interval": self.interval}
        extra = [f"--{k}" for k, v in given.items() if v is not None and k not in takes]
        if extra:
            raise ValidationError(f"format {fmt!r} takes no {', '.join(extra)}")


FormatBuilder = Callable[[FormatOptions], RecordParser]


def without_options(parser: RecordParser) -> FormatBuilder:
    """A builder for a format that takes no options: always the same parser."""

    def build(options: FormatOptions) -> RecordParser:
        options.check(parser.name)
        return parser

    return build


# Registry.  The parser modules import the helpers above, so they are imported only now; the
# package ``__init__`` imports this module first, which makes that order hold for any importer.

from helix.importers.binance_oi_csv import BinanceOiCsvParser  # noqa: E402
from helix.importers.binance_ws import BinanceWsParser  # noqa: E402
from helix.importers.bybit_csv import BybitTradesCsvParser  # noqa: E402
from helix.importers.bybit_ws import BybitWsParser  # noqa: E402
from helix.importers.klines_csv import KlinesCsvParser  # noqa: E402
from helix.importers.polymarket_csv import (  # noqa: E402
    PolymarketDataCsvParser,
    PolymarketMidtermsCsvParser,
)

FORMATS: dict[str, FormatBuilder] = {
    BinanceWsParser.name: without_options(BinanceWsParser()),
    BybitTradesCsvParser.name: without_options(BybitTradesCsvParser()),
    BybitWsParser.name: without_options(BybitWsParser()),
    KlinesCsvParser.name: KlinesCsvParser.from_options,
    BinanceOiCsvParser.name: BinanceOiCsvParser.from_options,
    PolymarketDataCsvParser.name: without_options(PolymarketDataCsvParser()),
    PolymarketMidtermsCsvParser.name: without_options(PolymarketMidtermsCsvParser()),
}
"""Format name -> the builder of its parser from :class:`FormatOptions`."""


def get_format(
    name: str,
    *,
    symbol: str | None = None,
    venue: str | None = None,
    interval: str | None = None,
) -> RecordParser:
    """The parser of the format ``name``, built with the options it needs.

    Args:
        name: ``"binance-ws"``, ``"bybit-trades-csv"``, ``"bybit-ws"``, ``"klines-csv"`` or
            ``"binance-oi-csv"``.
        symbol: the symbol of every row (``klines-csv`` requires it).
        venue: the venue (``klines-csv`` and ``binance-oi-csv``; default ``binance``).
        interval: the bar interval such as ``"1h"`` (``klines-csv`` requires it).

    Raises:
        ValidationError: no such format (the message lists the valid names), an option the
            format needs is missing or invalid, or one it does not use was given.
    """
    try:
        build = FORMATS[name]
    except KeyError:
        valid = ", ".join(sorted(FORMATS))
        raise ValidationError(f"unknown format {name!r}; valid formats: {valid}") from None
    return build(FormatOptions(symbol=symbol, venue=venue, interval=interval))
