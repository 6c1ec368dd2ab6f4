"""Sealing and verifying the live ledger: the I/O around :mod:`audit.seals`.

* :func:`read_stream` reads a stream's stored messages ``(sequence, bytes)`` from sequence 1 in
  order, through one pull consumer (the payloads exactly as stored: what the leaves hash).
* :func:`seal` reads the ledger up to its head, takes the latest seal (``ldg.audit.sealed``),
  decides the new one and publishes it with ``Nats-Expected-Last-Subject-Sequence`` on the seal
  subject, so two sealers racing cannot both write a seal.
* :func:`verify_log` reads every seal and every message they cover and returns the findings
  of :func:`audit.seals.verify_seals` (empty: the ledger holds exactly what was sealed, the
  signatures are the fund's and each seal extends the previous one).
"""

from __future__ import annotations

from pathlib import Path

from nats.aio.client import Client as NATS

from audit.export import Export, build_export, write_export
from audit.navcheck import BookCheck, nav_findings
from audit.seals import Finding, Message, decide_seal, verify_seals
from audit.signing import FundKey
from audit.statement import FUND_TAG, POSITION_TAG, tagged_events
from commands.fund import FundConfig
from events.audit import Sealed
from events.base import Envelope, stable_event_id
from helix.codec import Codec
from helix.errors import ConcurrencyError, DomainError, StoreError
from helix.store.jsraw import direct_get_last
from helix.store.market import event_headers
from helix.store.reader import PullReader
from helix.store.streams import LEDGER

SEAL_SUBJECT = "ldg.audit.sealed"


async def read_stream(
    nc: NATS, stream: str = LEDGER, *, filters: list[str] | None = None, up_to: int | None = None
) -> list[Message]:
    """Stored messages of ``stream`` from sequence 1 (to ``up_to``), in sequence order."""
    out: list[Message] = []
    async with PullReader(nc, stream, filters or [">"], start_seq=1) as reader:
        async for chunk in reader.chunks():
            for seq, _subject, data in chunk:
                if up_to is not None and seq > up_to:
                    return out
                out.append((seq, data))
    return out


async def latest_seal(
    nc: NATS, stream: str = LEDGER, *, subject: str = SEAL_SUBJECT
) -> tuple[Sealed, int] | None:
    """The newest seal and its own stream sequence, if any."""
    msg = await direct_get_last(nc, stream, subject)
    if msg is None:
        return None
    event = Codec().decode(msg.data)
    return (event, msg.seq) if isinstance(event, Sealed) else None


async def all_seals(nc: NATS, stream: str = LEDGER, *, subject: str = SEAL_SUBJECT) -> list[Sealed]:
    codec = Codec()
    out: list[Sealed] = []
    async with PullReader(nc, stream, [subject], start_seq=1) as reader:
        async for chunk in reader.chunks():
            out.extend(
                e for e in (codec.decode(d) for _s, _sub, d in chunk) if isinstance(e, Sealed)
            )
    return out


async def seal(
    nc: NATS, key: FundKey, *, now_ns: int, stream: str = LEDGER, subject: str = SEAL_SUBJECT
) -> Sealed:
    """Seal the stream up to its head; see the module docstring.

    Raises:
        SealError: nothing new, a gap, or the sealed prefix changed.
        ConcurrencyError: another seal was written meanwhile.
    """
    head, previous = await _head_and_latest(nc, stream, subject)
    return await _seal(nc, key, now_ns, stream, subject, head, previous)


async def seal_if_new(
    nc: NATS, key: FundKey, *, now_ns: int, stream: str = LEDGER, subject: str = SEAL_SUBJECT
) -> Sealed | None:
    """Seal only if something besides the last seal itself was appended since it (a schedule
    over an idle ledger writes nothing, instead of seals of seals)."""
    head, previous = await _head_and_latest(nc, stream, subject)
    if head == 0 or (previous and head <= previous[1]):
        return None
    return await _seal(nc, key, now_ns, stream, subject, head, previous)


async def _head_and_latest(
    nc: NATS, stream: str, subject: str
) -> tuple[int, tuple[Sealed, int] | None]:
    info = await nc.jetstream().stream_info(stream)
    return info.state.last_seq, await latest_seal(nc, stream, subject=subject)


async def _seal(
    nc: NATS, key: FundKey, now_ns: int, stream: str, subject: str, head: int,
    previous: tuple[Sealed, int] | None,
) -> Sealed:  # fmt: skip
    messages = await read_stream(nc, stream, up_to=head)
    envelope: Envelope = {
        "event_id": stable_event_id("audit-seal", stream, head),
        "ts_event": now_ns,
        "ts_recorded": now_ns,
        "source": "helix-audit",
        "vertical": "fund",
    }
    sealed = decide_seal(
        messages, stream=stream, previous=previous[0] if previous else None, key=key,
        envelope=envelope,
    )  # fmt: skip
    headers = event_headers(sealed)
    headers["Nats-Expected-Last-Subject-Sequence"] = str(previous[1] if previous else 0)
    try:
        ack = await nc.jetstream().publish(subject, Codec().encode(sealed), headers=headers)
    except Exception as exc:  # nats-py raises an APIError for a wrong expected sequence
        if "wrong last sequence" in str(exc).lower():
            raise ConcurrencyError(f"another seal of {stream} was written meanwhile") from exc
        raise StoreError(f"could not append the seal: {exc}") from exc
    if ack.seq <= head:
        raise StoreError(f"seal stored at {ack.seq}, not after the sealed head {head}")
    return sealed


async def verify_log(
    nc: NATS,
    fund_address: str,
    *,
    stream: str = LEDGER,
    subject: str = SEAL_SUBJECT,
    fund_config: FundConfig | None = None,
    book: BookCheck | None = None,
) -> tuple[list[Finding], int, int]:
    """``(findings, seals checked, messages checked)`` for the whole stream: every seal, and
    every NAV strike recomputed from the fund's history (:mod:`audit.navcheck`)."""
    seals = await all_seals(nc, stream, subject=subject)
    up_to = max((s.last_seq for s in seals), default=0)
    messages = await read_stream(nc, stream, up_to=up_to) if up_to else []
    findings = verify_seals(messages, seals, fund_address=fund_address)
    findings.extend(verify_navs(messages, fund_config or FundConfig(), book=book)[0])
    return findings, len(seals), len(messages)


def verify_navs(
    messages: list[Message], config: FundConfig, *, book: BookCheck | None = None
) -> tuple[list[Finding], int]:
    """NAV findings over the fund (and booked position) events among ``messages``; others are
    skipped unread (an event's msgpack starts with its type tag)."""
    tags = (FUND_TAG, POSITION_TAG) if book is not None else (FUND_TAG,)
    fund_events = [(seq, event) for seq, _data, event in tagged_events(messages, tags)]
    return nav_findings(fund_events, config, book=book)


async def export_member(
    nc: NATS,
    out_dir: Path,
    *,
    member_id: str,
    fund_id: str,
    accounts: frozenset[str] | None,
    period_from: int,
    period_to: int,
    stream: str = LEDGER,
    subject: str = SEAL_SUBJECT,
) -> tuple[Export, list[Path]]:
    """Write ``member_id``'s export from the log up to its latest seal.

    Raises:
        DomainError: no seal yet, the log differs from it, or the member has no sealed event.
    """
    latest = await latest_seal(nc, stream, subject=subject)
    if latest is None:
        raise DomainError("the ledger has no seal yet: run `helix audit seal` first")
    sealed = latest[0]
    messages = await read_stream(nc, stream, up_to=sealed.last_seq)
    export = build_export(
        messages, sealed, member_id=member_id, fund_id=fund_id, accounts=accounts,
        period_from=period_from, period_to=period_to,
    )  # fmt: skip
    return export, write_export(export, out_dir)
