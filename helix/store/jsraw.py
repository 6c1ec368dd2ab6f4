"""Thin JetStream primitives nats-py lacks or gets wrong, on a plain NATS connection.

* :func:`publish_atomic` sends an atomic batch (server 2.12+, stream ``allow_atomic``) and
  returns the parsed ack, so a rejection is *seen* (nats-py's ``publish_async`` never resolves
  a rejected message's future: nats-io/nats.py#985).
* :func:`direct_get_batch` / :func:`direct_get_last` read by sequence or subject with the
  direct-get API (server 2.11+ batches), without creating consumers.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from nats import errors as nats_errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from helix.errors import StoreError

MAX_ATOMIC_BATCH = 1000

ERR_WRONG_LAST_SEQUENCE = 10071
ERR_DUPLICATE_MSG_ID_IN_BATCH = 10201


class Ack(msgspec.Struct, frozen=True):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    count: int = 0
    error: dict[str, Any] | None = None

    @property
    def err_code(self) -> int:
        return int(self.error.get("err_code", 0)) if self.error else 0

    @property
    def description(self) -> str:
        return str(self.error.get("description", "")) if self.error else ""


_ack_decoder = msgspec.json.Decoder(Ack)


def parse_ack(data: bytes) -> Ack:
    try:
        return _ack_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise StoreError(f"unreadable JetStream ack: {data[:200]!r}") from exc


@dataclass(frozen=True)
class OutMsg:
    subject: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)


async def publish_atomic(nc: NATS, msgs: list[OutMsg], *, timeout: float = 10.0) -> Ack:
    """Publish ``msgs`` as one atomic batch; the returned ack carries ``error`` on rejection.

    Raises:
        StoreError: more than 1,000 messages (the server's limit).
        asyncio.TimeoutError / nats errors: no ack arrived (the batch may or may not be stored).
    """
    if not msgs:
        raise ValueError("empty batch")
    if len(msgs) > MAX_ATOMIC_BATCH:
        raise StoreError(
            f"an atomic write holds at most {MAX_ATOMIC_BATCH} events, got {len(msgs)}"
        )
    if len(msgs) == 1:
        m = msgs[0]
        resp = await nc.request(m.subject, m.data, timeout=timeout, headers=m.headers or None)
        return parse_ack(resp.data)
    batch_id = uuid.uuid4().hex
    last = len(msgs)
    for i, m in enumerate(msgs, start=1):
        headers = {"Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(i), **m.headers}
        if i < last:
            await nc.publish(m.subject, m.data, headers=headers)
        else:
            headers["Nats-Batch-Commit"] = "1"
            resp = await nc.request(m.subject, m.data, timeout=timeout, headers=headers)
            return parse_ack(resp.data)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class StoredMsg:
    subject: str
    seq: int
    data: bytes
    headers: dict[str, str]


def _status(msg: Msg) -> str | None:
    hdrs = msg.headers
    if hdrs and "Status" in hdrs and not msg.data:
        return str(hdrs["Status"])
    return None


def _to_stored(msg: Msg) -> StoredMsg:
    hdrs = dict(msg.headers or {})
    return StoredMsg(
        subject=hdrs.get("Nats-Subject", ""),
        seq=int(hdrs.get("Nats-Sequence", "0")),
        data=msg.data,
        headers=hdrs,
    )


async def direct_get_batch(
    nc: NATS,
    stream: str,
    *,
    start_seq: int,
    subject: str,
    batch: int,
    up_to_seq: int | None = None,
    timeout: float = 10.0,
) -> tuple[list[StoredMsg], int]:
    """Up to ``batch`` messages matching ``subject`` from ``start_seq`` on.

    Returns:
        The messages in sequence order and how many more match after them.
    """
    start_seq = max(start_seq, 1)
    if up_to_seq is not None:  # the server honours up_to_seq for multi-last gets only
        batch = min(batch, up_to_seq - start_seq + 1)
        if batch <= 0:
            return [], 0
    req: dict[str, Any] = {"seq": start_seq, "batch": batch, "next_by_subj": subject}
    inbox = nc.new_inbox()
    queue: asyncio.Queue[Msg] = asyncio.Queue()

    async def cb(msg: Msg) -> None:
        queue.put_nowait(msg)

    sub = await nc.subscribe(inbox, cb=cb)
    out: list[StoredMsg] = []
    pending = 0
    try:
        await nc.publish(f"$JS.API.DIRECT.GET.{stream}", json.dumps(req).encode(), reply=inbox)
        while True:
            msg = await asyncio.wait_for(queue.get(), timeout)
            status = _status(msg)
            if status is None:
                stored = _to_stored(msg)
                if up_to_seq is None or stored.seq <= up_to_seq:
                    out.append(stored)
                continue
            if status == "204":  # end of batch
                pending = int((msg.headers or {}).get("Nats-Num-Pending", "0"))
                break
            if status == "404":  # nothing (more) matches
                break
            raise StoreError(f"direct get on {stream} failed: status {status} {msg.headers}")
    finally:
        await sub.unsubscribe()
    if up_to_seq is not None and out and out[-1].seq >= up_to_seq:
        pending = 0  # reached the stop
    return out, pending


async def _direct_get(
    nc: NATS, stream: str, req: dict[str, Any], timeout: float
) -> StoredMsg | None:
    try:
        resp = await nc.request(
            f"$JS.API.DIRECT.GET.{stream}", json.dumps(req).encode(), timeout=timeout
        )
    except nats_errors.NoRespondersError as exc:
        raise StoreError(f"stream {stream} is missing: run `helix streams init`") from exc
    status = _status(resp)
    if status == "404":
        return None
    if status is not None:
        raise StoreError(f"direct get {req} on {stream}: status {status}")
    return _to_stored(resp)


async def direct_get_last(
    nc: NATS, stream: str, subject: str, *, timeout: float = 10.0
) -> StoredMsg | None:
    """The last message on ``subject`` (wildcards allowed), or None.

    Raises:
        StoreError: the stream does not exist (or does not allow direct gets).
    """
    return await _direct_get(nc, stream, {"last_by_subj": subject}, timeout)


async def direct_get_seq(
    nc: NATS, stream: str, seq: int, *, timeout: float = 10.0
) -> StoredMsg | None:
    """The message at ``seq``, or None (deleted or beyond the head).

    Raises:
        StoreError: the stream does not exist (or does not allow direct gets).
    """
    return await _direct_get(nc, stream, {"seq": seq}, timeout)


def stored_ns(msg: StoredMsg) -> int:
    """When JetStream stored ``msg``, in UTC ns (from its ``Nats-Time-Stamp`` header)."""
    stamp = msg.headers.get("Nats-Time-Stamp", "")
    if not stamp:
        return 0
    whole, _, frac = stamp.rstrip("Z").partition(".")
    dt = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9])
