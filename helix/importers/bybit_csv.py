"""Bybit's public trade archive (``public.bybit.com/trading``): the ``bybit-trades-csv`` format.

Derivatives archives, gzip or plain, one trade a row after a header::

    timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional
    1585180700.0647,BTCUSD,Buy,100,6629.5,ZeroMinusTick,8b9f1f6e-...,1508410.0,100,0.0150841

``timestamp`` is epoch seconds with a fraction; it becomes integer nanoseconds through
Decimal, never float.  ``side`` is the taker's.  ``size`` is in the contract's unit (coin for
linear, USD contracts for inverse), taken as given.  The notional columns are not needed.

The archive has no receive time, so ``ts_recorded`` is the trade time (``ts_event``): the
file is a venue-made record, not one Helix observed.  Spot archives
(``id,timestamp,price,volume,side,...``) are a different layout and are refused at the header.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from events.market import Side, Trade
from helix.errors import ValidationError
from helix.importers.formats import NO_ID, Parsed, dec, read_lines, secs_to_ns, symbol_of, with_id

VENUE = "bybit"
COLUMNS = ("timestamp", "symbol", "side", "size", "price", "tickDirection", "trdMatchID")
"""The leading columns parsed, in order; later ones (notional values) are ignored."""

_SIDES: dict[str, Side] = {"Buy": "buy", "Sell": "sell"}


class BybitTradesCsvParser:
    """Parser for Bybit's public trade archive (see the module docstring)."""

    name: str = "bybit-trades-csv"

    @property
    def key(self) -> str:
        """The format's name (it takes no options)."""
        return self.name

    def records(self, path: Path) -> Iterator[tuple[int, bytes]]:
        """Yield ``(line number, raw row)`` for each data row; the header is checked, not yielded.

        A first line that starts with a digit is data (a headerless file); anything else on
        line 1 must be the archive header.

        Args:
            path: the archive file (``.csv`` or ``.csv.gz``).

        Raises:
            ValidationError: the header is not the derivatives trade-archive header.
        """
        for number, raw in read_lines(path):
            if number == 1 and not raw[:1].isdigit():
                _check_header(raw)
                continue
            yield number, raw

    def parse(self, raw: bytes) -> Parsed:
        """Turn one archive row into a :class:`Trade`.

        Args:
            raw: the row, without its newline.

        Raises:
            ValidationError: the row is malformed; the message says what is wrong.
        """
        try:
            text = raw.decode("ascii").strip()
        except UnicodeDecodeError as exc:
            raise ValidationError(f"row is not ASCII: {raw[:60]!r}") from exc
        if not text:
            raise ValidationError("empty row")
        fields = text.split(",")  # no column is ever quoted or contains a comma
        if len(fields) < len(COLUMNS):
            raise ValidationError(f"expected at least {len(COLUMNS)} columns, got {len(fields)}")
        stamp, symbol, side, size, price, _tick, match_id = fields[: len(COLUMNS)]
        if side not in _SIDES:
            raise ValidationError(f"side: expected Buy or Sell, got {side!r}")
        if not match_id:
            raise ValidationError("trdMatchID: empty")
        ts = secs_to_ns(stamp, "timestamp")
        trade = Trade(
            event_id=NO_ID,
            ts_event=ts,
            ts_recorded=ts,  # archives carry no receive time
            source=VENUE,
            vertical="perps",
            venue=VENUE,
            symbol=symbol_of(symbol),
            trade_id=match_id,
            price=dec(price, "price"),
            qty=dec(size, "size"),
            side=_SIDES[side],
        )
        return Parsed([with_id(trade)])


def _check_header(raw: bytes) -> None:
    names = tuple(raw.decode("utf-8-sig", errors="replace").strip().split(","))
    if names[: len(COLUMNS)] != COLUMNS:
        raise ValidationError(
            f"not a Bybit derivatives trade archive: header {','.join(names)[:120]!r}, "
            f"expected it to start with {','.join(COLUMNS)!r}"
        )
