"""Polymarket trade exports: the ``polymarket-data-csv`` and ``polymarket-midterms-csv`` formats.

Both turn a row into an :class:`events.poly.PolyTrade` (vertical ``poly``) with a stable id,
so importing a row twice stores it once.

``polymarket-data-csv`` — Data API ``/trades`` rows as CSV, with a header naming at least::

    proxyWallet,side,asset,conditionId,size,price,timestamp,title,eventSlug,outcome,name,cost,datetime

(``transactionHash`` optional, any column order).  ``timestamp`` is epoch seconds; ``datetime``
is ignored (some exports wrote it wrongly).  The natural key is the transaction hash plus
token, side, size and price when the row has one (the key the live feed gives the same trade,
:func:`helix.feeds.polymarket.convert.trade_from_data_api`), else a digest of the row's facts;
an identical row met again in the same file gets ``#1``, ``#2``..., because the exports do list
identical fills separately.

``polymarket-midterms-csv`` — the 2022 midterm exports, one market per file::

    "","Timestamp","Account","Type","Outcome","Direction","Amount","Shares","Price","Var.9","Var.10"
    "1",2022-11-19 22:21:29,"0x8330…","Buy","Democrat","🔵",0.25,183.64,0.0014,"","Tx"

The file names the market: ``nevada_senate.csv`` is condition id ``midterms-2022-nevada_senate``
(:func:`helix.importers.midterms_2022.market_token`).  ``Timestamp`` is UTC; ``Shares`` the
size; ``Amount`` (USDC) is checked, not kept.  A price of 0 is real (post-resolution dumps).
Rows with 0 shares are skipped as ``zero-size`` (dust with nothing to trade, in some files
without a price).  The natural key is the row's index column plus a digest of the row.  Each
file also yields one :class:`~events.poly.PolyMarket` first (the outcomes seen in the file,
stand-in token ids from :func:`~helix.importers.midterms_2022.outcome_token`), so the market
exists in the log before its trades.

The :class:`~helix.importers.formats.RecordParser` contract hands ``parse`` one record and
nothing else, so ``records`` frames what a row alone does not say in front of it, separated
by newlines (which no row contains): the header and the occurrence for the Data API rows, the
market's token for the midterms rows.  A dead letter therefore carries the row verbatim with
its context.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import msgspec

from events.poly import PolyMarket, PolySide, PolyTrade, poly_event_id
from helix.errors import ValidationError
from helix.feeds.polymarket.convert import data_trade_key, poly_trade, side_of
from helix.importers.formats import Parsed, dec, iso_or_ms_to_ns, read_lines, secs_to_ns, skip
from helix.importers.midterms_2022 import RESULTS, market_token, outcome_token

DATA_COLUMNS = (
    "proxyWallet", "side", "asset", "conditionId", "size", "price", "timestamp", "title",
    "eventSlug", "outcome", "name", "cost", "datetime",
)  # fmt: skip
"""The columns a ``polymarket-data-csv`` header must name (``transactionHash`` is optional)."""

MIDTERMS_COLUMNS = (
    "", "Timestamp", "Account", "Type", "Outcome", "Direction", "Amount", "Shares", "Price",
    "Var.9", "Var.10",
)  # fmt: skip
"""The ``polymarket-midterms-csv`` header, in order."""

VENUE = "polymarket"
_WALLET = re.compile(r"0x[0-9a-fA-F]{40}")
_CONDITION = re.compile(r"0x[0-9a-fA-F]{64}")
_MARKET_TAG = "#market"


def _row(raw: bytes, what: str) -> list[str]:
    """One CSV line (quotes allowed) as its fields."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{what} is not UTF-8: {raw[:60]!r}") from exc
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as exc:
        raise ValidationError(f"{what} is not CSV: {exc}") from exc
    if len(rows) != 1:
        raise ValidationError(f"{what} is not one CSV row")
    return rows[0]


def _frame(raw: bytes, parts: int) -> list[bytes]:
    pieces = raw.split(b"\n")
    if len(pieces) != parts:
        raise ValidationError("not a record of this format (framed by its records())")
    return pieces


def _parsed(events: Sequence[PolyMarket | PolyTrade]) -> Parsed:
    # Parsed is typed for perps events; the importer appends any market event (PolyTrade too).
    return Parsed(list(events))


def _wallet(value: str, field: str) -> str:
    if not _WALLET.fullmatch(value):
        raise ValidationError(f"{field}: {value!r} is not a wallet address")
    return value.lower()


def _side(value: str, field: str) -> PolySide:
    side = side_of(value)
    if side is None:
        raise ValidationError(f"{field}: expected BUY or SELL, got {value!r}")
    return side


def _price(value: str, field: str) -> Decimal:
    price = dec(value, field, sign="non-negative")
    if price > 1:
        raise ValidationError(f"{field}: {value!r} is not a probability in [0, 1]")
    return price


def _text(value: str, field: str) -> str:
    if not value.strip():
        raise ValidationError(f"{field}: empty")
    return value.strip()


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:20]  # noqa: S324 - a key


# -- Data API export -----------------------------------------------------------------------------


class PolymarketDataCsvParser:
    """Parser for Data API trade exports (see the module docstring)."""

    name: str = "polymarket-data-csv"

    @property
    def key(self) -> str:
        """The format's name (it takes no options)."""
        return self.name

    def records(self, path: Path) -> Iterator[tuple[int, bytes]]:
        """Yield ``(line number, header + row + occurrence)`` for each data row.

        Raises:
            ValidationError: the first line is not a header naming the required columns.
        """
        header = b""
        seen: Counter[bytes] = Counter()
        for number, raw in read_lines(path):
            if not header:
                _check_data_header(raw)
                header = raw
                continue
            occurrence = seen[raw]
            seen[raw] += 1
            yield number, b"%s\n%s\n%d" % (header, raw, occurrence)

    def parse(self, raw: bytes) -> Parsed:
        """Turn one framed row into a :class:`PolyTrade` (or skip a zero-size row).

        Raises:
            ValidationError: the row is malformed; the message says what is wrong.
        """
        header, line, occurrence = _frame(raw, 3)
        names = _row(header, "header")
        fields = _row(line, "row")
        if len(fields) != len(names):
            raise ValidationError(f"expected {len(names)} columns, got {len(fields)}")
        row = dict(zip(names, fields, strict=True))
        wallet = _wallet(row["proxyWallet"], "proxyWallet")
        side = _side(row["side"], "side")
        token = row["asset"]
        if not (token.isascii() and token.isdigit() and len(token) <= 96):
            raise ValidationError(f"asset: {token!r} is not a token id")
        cid = row["conditionId"]
        if not _CONDITION.fullmatch(cid):
            raise ValidationError(f"conditionId: {cid!r} is not a condition id")
        size = dec(row["size"], "size", sign="non-negative")
        if size == 0:
            return skip("zero-size")
        price = _price(row["price"], "price")
        ts = secs_to_ns(row["timestamp"], "timestamp")
        outcome = _text(row["outcome"], "outcome")
        tx = row.get("transactionHash", "").strip()
        if tx:
            key = data_trade_key(tx, token, side, size, price)  # as the live feed keys it
        else:
            key = _digest(wallet, side, token, cid, str(size), str(price), row["timestamp"])
        if occurrence != b"0":
            key += "#" + occurrence.decode()
        trade = poly_trade(
            condition_id=cid,
            token_id=token,
            outcome=outcome,
            wallet=wallet,
            side=side,
            size=size,
            price=price,
            ts_event=ts,
            ts_recorded=ts,  # an export is the venue's record, not one Helix observed
            tx_hash=tx,
            trade_key=key,
            title=row["title"].strip(),
            origin="import",
            source=VENUE,
        )
        return _parsed([trade])


def _check_data_header(raw: bytes) -> None:
    names = _row(raw, "header")
    missing = [c for c in DATA_COLUMNS if c not in names]
    if missing:
        raise ValidationError(
            f"not a Polymarket Data API trade export: header lacks {', '.join(missing)}"
        )


# -- 2022 midterms exports -------------------------------------------------------------------------


class PolymarketMidtermsCsvParser:
    """Parser for the 2022 midterm trade exports (see the module docstring)."""

    name: str = "polymarket-midterms-csv"

    @property
    def key(self) -> str:
        """The format's name (it takes no options)."""
        return self.name

    def records(self, path: Path) -> Iterator[tuple[int, bytes]]:
        """Yield the market (as line 1, the header's) then ``(line number, token + row)``.

        The file is read twice: first for the outcomes and the first trade time of the
        market record, then row by row.

        Raises:
            ValidationError: the header is not the midterms header, or the file name cannot
                name a market.
        """
        token = market_token(path.stem).encode()
        outcomes: set[str] = set()
        first = ""
        for number, raw in read_lines(path):
            if number == 1:
                _check_midterms_header(raw)
                continue
            try:
                fields = _row(raw, "row")
            except ValidationError:
                continue  # the second pass dead-letters it
            if len(fields) == len(MIDTERMS_COLUMNS) and fields[4].strip():
                outcomes.add(fields[4].strip())
                stamp = fields[1].strip()
                if re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", stamp):
                    first = min(first, stamp) if first else stamp
        if outcomes and first:
            market = json.dumps({"outcomes": sorted(outcomes), "first": first}).encode()
            yield 1, b"%s\n%s\n%s" % (token, _MARKET_TAG.encode(), market)
        for number, raw in read_lines(path):
            if number > 1:
                yield number, b"%s\n%s" % (token, raw)

    def parse(self, raw: bytes) -> Parsed:
        """Turn one framed record into a :class:`PolyTrade` or the file's :class:`PolyMarket`.

        Raises:
            ValidationError: the row is malformed; the message says what is wrong.
        """
        if raw.count(b"\n") == 2:
            token, tag, body = _frame(raw, 3)
            if tag.decode() != _MARKET_TAG:
                raise ValidationError("not a record of this format (framed by its records())")
            return _parsed([_midterms_market(token.decode(), body)])
        token_raw, line = _frame(raw, 2)
        cid = token_raw.decode()
        fields = _row(line, "row")
        if len(fields) != len(MIDTERMS_COLUMNS):
            raise ValidationError(f"expected {len(MIDTERMS_COLUMNS)} columns, got {len(fields)}")
        index, stamp, account, kind, outcome, _dir, amount, shares, price = fields[:9]
        if not (index.isascii() and index.isdigit()):
            raise ValidationError(f"index: {index!r} is not a row number")
        ts = iso_or_ms_to_ns(_text(stamp, "Timestamp"), "Timestamp")
        wallet = _wallet(account, "Account")
        side = _side(kind, "Type")
        outcome = _text(outcome, "Outcome")
        dec(amount, "Amount", sign="non-negative")
        size = dec(shares, "Shares", sign="non-negative")
        if size == 0:
            return skip("zero-size")
        px = _price(price, "Price")
        key = f"{index}:{_digest(line.decode('utf-8', 'replace'))}"
        trade = poly_trade(
            condition_id=cid,
            token_id=outcome_token(cid, outcome),
            outcome=outcome,
            wallet=wallet,
            side=side,
            size=size,
            price=px,
            ts_event=ts,
            ts_recorded=ts,
            trade_key=key,
            title=_question(cid),
            origin="import",
            source=VENUE,
        )
        return _parsed([trade])


def _check_midterms_header(raw: bytes) -> None:
    names = tuple(n.strip() for n in _row(raw, "header"))
    if names != MIDTERMS_COLUMNS:
        raise ValidationError(
            f"not a Polymarket midterms export: header {','.join(names)[:120]!r}, "
            f"expected {','.join(MIDTERMS_COLUMNS)!r}"
        )


def _question(cid: str) -> str:
    name = cid.removeprefix("midterms-2022-")
    known = RESULTS.get(name)
    return known.question if known else f"2022 US midterms: {name.replace('_', ' ')}"


def _midterms_market(cid: str, body: bytes) -> PolyMarket:
    try:
        spec = json.loads(body)
        outcomes = tuple(str(o) for o in spec["outcomes"])
        first = str(spec["first"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError(f"market record: {exc}") from exc
    ts = iso_or_ms_to_ns(first, "first trade")
    market = PolyMarket(
        event_id=poly_event_id(PolyMarket.KIND, cid, ""),  # replaced below (natural key)
        ts_event=ts,
        ts_recorded=ts,
        source=VENUE,
        vertical="poly",
        symbol=cid,
        condition_id=cid,
        question=_question(cid),
        slug=cid.removeprefix("midterms-2022-"),
        event_slug="midterms-2022",
        outcomes=outcomes,
        token_ids=tuple(outcome_token(cid, o) for o in outcomes),
        active=False,
        closed=True,
    )
    return _with_poly_id(market)


def _with_poly_id(market: PolyMarket) -> PolyMarket:
    event_id = poly_event_id(market.KIND, market.symbol, market.natural_key)
    return msgspec.structs.replace(market, event_id=event_id)


def last_trade_ns(path: Path) -> int | None:
    """The time of the latest well-formed trade in a midterms export (``None``: no trade).

    Raises:
        ValidationError: the file is not a midterms export (header, name).
    """
    parser = PolymarketMidtermsCsvParser()
    last: int | None = None
    for _, raw in parser.records(path):
        try:
            parsed = parser.parse(raw)
        except ValidationError:
            continue
        for event in parsed.events:
            if isinstance(event, PolyTrade) and (last is None or event.ts_event > last):
                last = event.ts_event
    return last
