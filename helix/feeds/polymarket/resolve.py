"""Declaring a market resolved by hand or from a table (``helix poly resolve``,
``helix poly resolve-midterms``).

:func:`manual_resolution` is the pure decision (the winner must be one of the outcomes; it
pays 1, the others 0).  :func:`record_resolution` is the I/O: it reads the market's last
resolution and publishes the new one unless the same winner is already on the log.  A
resolution's id is derived from the condition id alone, so resolving again is idempotent
(JetStream de-duplicates it), and a *different* winner for a resolved market is refused
rather than silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from nats.aio.client import Client as NATS

from events.poly import VENUE, PolyMarket, PolyResolved, poly_event_id
from helix.codec import Codec
from helix.errors import ValidationError
from helix.store.jsraw import direct_get_last
from helix.store.market import MarketAppender
from helix.store.streams import MARKET

_TOKEN = re.compile(r"[A-Za-z0-9_\-]{1,96}")  # as helix.store.market: a subject token


def check_market_id(market: str) -> str:
    """The condition id, checked to be usable as a subject token.

    Raises:
        ValidationError: empty, too long, or with characters such as ``.`` ``*`` ``>``.
    """
    if not _TOKEN.fullmatch(market):
        raise ValidationError(f"market {market!r} is not a condition id (letters, digits, _ -)")
    return market


def manual_resolution(
    *,
    condition_id: str,
    outcomes: Sequence[str],
    winner: str,
    now_ns: int,
    token_ids: Sequence[str] = (),
    note: str = "",
    origin: Literal["manual", "import"] = "manual",
    source: str = "helix-cli",
) -> PolyResolved:
    """The resolution that pays ``winner`` 1 and every other outcome 0.

    Args:
        condition_id: the market.
        outcomes: the market's outcomes (from its listing, or given by the operator).
        winner: the outcome that won; must be one of ``outcomes``.
        now_ns: the time of the declaration (``ts_event`` and ``ts_recorded``).
        token_ids: the outcomes' token ids, index-aligned (or empty).
        note: why (goes on the log with the fact).

    Raises:
        ValidationError: ``winner`` is not an outcome, or the outcomes are empty or repeated.
    """
    names = tuple(o.strip() for o in outcomes)
    if not names or any(not n for n in names) or len(set(names)) != len(names):
        raise ValidationError(f"outcomes {list(outcomes)!r}: give distinct, non-empty names")
    if winner not in names:
        raise ValidationError(
            f"{winner!r} is not an outcome of {condition_id}; outcomes: {', '.join(names)}"
        )
    if token_ids and len(token_ids) != len(names):
        raise ValidationError("token ids and outcomes differ in length")
    cid = check_market_id(condition_id)
    return PolyResolved(
        event_id=poly_event_id(PolyResolved.KIND, cid, cid),
        ts_event=now_ns,
        ts_recorded=now_ns,
        source=source,
        vertical="poly",
        symbol=cid,
        condition_id=cid,
        outcomes=names,
        token_ids=tuple(token_ids),
        payouts=tuple(Decimal(int(n == winner)) for n in names),
        winner=winner,
        origin=origin,
        note=note,
    )


async def _last(
    nc: NATS, kind: str, cid: str, *, prefix: str, stream: str, codec: Codec
) -> object | None:
    msg = await direct_get_last(nc, stream, f"{prefix}.{VENUE}.{kind}.{check_market_id(cid)}")
    return None if msg is None else codec.decode(msg.data)


async def known_market(
    nc: NATS, cid: str, *, prefix: str = "mkt", stream: str = MARKET, codec: Codec | None = None
) -> PolyMarket | None:
    """The market's latest listing on the log (``mkt.polymarket.market.<cid>``), if any."""
    event = await _last(
        nc, PolyMarket.KIND, cid, prefix=prefix, stream=stream, codec=codec or Codec()
    )
    return event if isinstance(event, PolyMarket) else None


async def known_resolution(
    nc: NATS, cid: str, *, prefix: str = "mkt", stream: str = MARKET, codec: Codec | None = None
) -> PolyResolved | None:
    """The market's resolution on the log (``mkt.polymarket.resolved.<cid>``), if any."""
    kind = PolyResolved.KIND
    event = await _last(nc, kind, cid, prefix=prefix, stream=stream, codec=codec or Codec())
    return event if isinstance(event, PolyResolved) else None


async def record_resolution(
    nc: NATS,
    resolved: PolyResolved,
    *,
    prefix: str = "mkt",
    stream: str = MARKET,
    codec: Codec | None = None,
) -> tuple[PolyResolved, bool]:
    """Publish ``resolved`` unless the market is already resolved.

    Returns:
        The resolution on the log and whether this call stored it (``False``: it was there).

    Raises:
        ValidationError: the market is already resolved with another winner.
    """
    codec = codec or Codec()
    cid = resolved.condition_id
    before = await known_resolution(nc, cid, prefix=prefix, stream=stream, codec=codec)
    if before is not None:
        if before.winner != resolved.winner:
            raise ValidationError(
                f"{cid} is already resolved: {before.winner!r} won ({before.origin}"
                f"{': ' + before.note if before.note else ''}); not recording {resolved.winner!r}"
            )
        return before, False
    async with MarketAppender(nc, codec=codec, subject_prefix=prefix) as app:
        await app.append(resolved)
        stats = await app.flush()
    return resolved, stats.stored == 1
