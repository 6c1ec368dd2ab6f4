"""The official results of the 2022 US midterm races behind the Polymarket exports in
``polymarket-midterms-2022/`` (public facts), and the resolutions they give.

Each export ``<name>.csv`` is one binary market; the ``polymarket-midterms-csv`` format names
it :func:`market_token` (``midterms-2022-<name>``).  :func:`official_resolution` turns a
result into a :class:`~events.poly.PolyResolved` (``origin="import"``), which
``helix poly resolve-midterms FILE...`` publishes.

A resolution's time is the later of the day by which the result was publicly known
(``known_by``, midnight UTC, conservative) and one second after the file's last trade: the
exports go on after the race was called (holders of the losing side dumping it at 0), and
Polymarket settled the markets only after that, so a replay sees every trade before the
payout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from events.poly import PolyResolved, poly_event_id
from helix.errors import ValidationError

PREFIX = "midterms-2022-"
_NAME = re.compile(r"[a-z0-9_\-]{1,80}")


def market_token(name: str) -> str:
    """The condition id / symbol of the market exported as ``<name>.csv``.

    Args:
        name: the file's stem, such as ``nevada_senate`` (case is folded).

    Raises:
        ValidationError: the stem has characters a subject token cannot carry, or is too long.
    """
    stem = name.lower()
    if not _NAME.fullmatch(stem):
        raise ValidationError(
            f"file name {name!r}: a midterms export must be named like nevada_senate.csv "
            "(letters, digits, _ and -, at most 80)"
        )
    return PREFIX + stem


def outcome_token(condition_id: str, outcome: str) -> str:
    """A stand-in token id for one outcome of an exported market (the exports name none):
    ``midterms-2022-nevada_senate-democrat``, usable as a subject token."""
    return f"{condition_id}-{re.sub(r'[^a-z0-9]+', '-', outcome.lower()).strip('-')}"


@dataclass(frozen=True, slots=True)
class OfficialResult:
    """One race's official outcome, in the outcome names the export uses.

    Attributes:
        name: the export's file stem.
        question: what the market asked.
        outcomes: the market's outcomes (both sides, even if only one was traded).
        winner: the outcome that paid 1.
        result: who won, in words (goes into the resolution's note).
        known_by: a day (UTC) by which the result was publicly known.
    """

    name: str
    question: str
    outcomes: tuple[str, ...]
    winner: str
    result: str
    known_by: date


_PARTY = ("Democrat", "Republican")
_YES_NO = ("Yes", "No")


def _race(name: str, question: str, winner: str, result: str, known_by: date) -> OfficialResult:
    return OfficialResult(name, question, _PARTY, winner, result, known_by)


RESULTS: dict[str, OfficialResult] = {
    r.name: r
    for r in (
        _race("alaska_governor", "Which party wins the 2022 Alaska governor race?",
              "Republican", "Mike Dunleavy (R) re-elected", date(2022, 11, 24)),
        _race("arizona_senate", "Which party wins the 2022 Arizona Senate race?",
              "Democrat", "Mark Kelly (D) re-elected", date(2022, 11, 12)),
        _race("colorado_senate", "Which party wins the 2022 Colorado Senate race?",
              "Democrat", "Michael Bennet (D) re-elected", date(2022, 11, 9)),
        OfficialResult(
            "democratic_house_and_republican_senate",
            "2022 midterms: Democratic House and Republican Senate?",
            _YES_NO, "No",
            "Republicans won the House, Democrats kept the Senate", date(2022, 11, 13),
        ),
        _race("florida_senate", "Which party wins the 2022 Florida Senate race?",
              "Republican", "Marco Rubio (R) re-elected", date(2022, 11, 9)),
        _race("georgia_senate", "Which party wins the 2022 Georgia Senate race?",
              "Democrat", "Raphael Warnock (D) won the runoff of 6 Dec 2022", date(2022, 12, 7)),
        _race("kansas_governor", "Which party wins the 2022 Kansas governor race?",
              "Democrat", "Laura Kelly (D) re-elected", date(2022, 11, 10)),
        _race("mi_07_house", "Which party wins Michigan's 7th district (House, 2022)?",
              "Democrat", "Elissa Slotkin (D) elected", date(2022, 11, 10)),
        _race("minnesota_governor", "Which party wins the 2022 Minnesota governor race?",
              "Democrat", "Tim Walz (D) re-elected", date(2022, 11, 9)),
        _race("nevada_senate", "Which party wins the 2022 Nevada Senate race?",
              "Democrat", "Catherine Cortez Masto (D) re-elected", date(2022, 11, 13)),
        _race("new_mexico_governor", "Which party wins the 2022 New Mexico governor race?",
              "Democrat", "Michelle Lujan Grisham (D) re-elected", date(2022, 11, 9)),
        _race("north_carolina_senate", "Which party wins the 2022 North Carolina Senate race?",
              "Republican", "Ted Budd (R) elected", date(2022, 11, 9)),
        _race("ohio_senate", "Which party wins the 2022 Ohio Senate race?",
              "Republican", "J. D. Vance (R) elected", date(2022, 11, 9)),
        _race("oregon_governor", "Which party wins the 2022 Oregon governor race?",
              "Democrat", "Tina Kotek (D) elected", date(2022, 11, 11)),
        _race("pa_08_house", "Which party wins Pennsylvania's 8th district (House, 2022)?",
              "Democrat", "Matt Cartwright (D) re-elected", date(2022, 11, 10)),
        OfficialResult(
            "republican_house_and_democratic_senate",
            "2022 midterms: Republican House and Democratic Senate?",
            _YES_NO, "Yes",
            "Republicans won the House, Democrats kept the Senate", date(2022, 11, 17),
        ),
        _race("tx_34_house", "Which party wins Texas's 34th district (House, 2022)?",
              "Democrat", "Vicente Gonzalez (D) elected", date(2022, 11, 9)),
        OfficialResult(
            "us_senate_overall", "Which party controls the US Senate after the 2022 midterms?",
            ("Democratic", "Republican"), "Democratic",
            "Democrats kept the Senate", date(2022, 11, 13),
        ),
        _race("washington_senate", "Which party wins the 2022 Washington Senate race?",
              "Democrat", "Patty Murray (D) re-elected", date(2022, 11, 9)),
        _race("wisconsin_senate", "Which party wins the 2022 Wisconsin Senate race?",
              "Republican", "Ron Johnson (R) re-elected", date(2022, 11, 10)),
    )
}  # fmt: skip
"""File stem -> official result."""


def result_for(name: str) -> OfficialResult:
    """The official result of the race exported as ``<name>.csv``.

    Raises:
        ValidationError: no such race in the table (the message lists the known ones).
    """
    try:
        return RESULTS[name.lower()]
    except KeyError:
        known = ", ".join(sorted(RESULTS))
        raise ValidationError(f"no official 2022 result for {name!r}; known: {known}") from None


def _midnight_ns(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000_000


def official_resolution(
    result: OfficialResult, *, last_trade_ns: int | None, now_ns: int
) -> PolyResolved:
    """The market's resolution by the official result (``origin="import"``).

    Args:
        result: the race.
        last_trade_ns: the export's last trade time, if known (the payout comes after it).
        now_ns: when Helix records it (``ts_recorded``).
    """
    cid = market_token(result.name)
    ts = _midnight_ns(result.known_by)
    if last_trade_ns is not None:
        ts = max(ts, last_trade_ns + 1_000_000_000)
    return PolyResolved(
        event_id=poly_event_id(PolyResolved.KIND, cid, cid),
        ts_event=ts,
        ts_recorded=now_ns,
        source="import:midterms-2022",
        vertical="poly",
        symbol=cid,
        condition_id=cid,
        outcomes=result.outcomes,
        token_ids=tuple(outcome_token(cid, o) for o in result.outcomes),
        payouts=tuple(Decimal(int(o == result.winner)) for o in result.outcomes),
        winner=result.winner,
        origin="import",
        note=f"official 2022 result: {result.result}",
    )
