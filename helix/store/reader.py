"""Bulk and live reads of a stream through a pull consumer on the fast path.

One ephemeral pull consumer (no acks, in memory) per read; deliveries are handled straight
from the parser (:mod:`helix.store.fastpath`) and handed out in chunks.  The next pull is
requested before a chunk is handed out, so the server streams while the caller works, and at
most two batches are held in memory (back-pressure: a slow caller slows the read, it does not
grow it).  The consumer sequence in each delivery's reply subject must advance by one; a gap
(a pull lost in a reconnect) recreates the consumer after the last sequence seen, so a read
never skips and never repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import nats.errors
from nats.aio.client import Client as NATS
from nats.js import api
from nats.js.errors import ServiceUnavailableError

from helix.errors import StoreError
from helix.store.fastpath import fast_path, status_of

Delivery = tuple[int, bytes, bytes]
"""``(stream sequence, subject, payload)``: a plain tuple, the cheapest thing to build."""


def rfc3339(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


class PullReader:
    """Read ``stream`` (optionally filtered) from a position; see the module docstring."""

    def __init__(
        self,
        nc: NATS,
        stream: str,
        filters: list[str],
        *,
        start_seq: int | None = None,
        start_time_ns: int | None = None,
        live: bool = False,
        batch: int = 8192,
        idle: float = 5.0,
        durable: str | None = None,
    ) -> None:
        self.nc = nc
        self.durable = durable
        self.stream = stream
        self.filters = filters
        self.live = live
        self.batch = batch
        self.idle = idle
        self._start_seq = start_seq
        self._start_time_ns = start_time_ns
        self._consumer = ""
        self._inbox = ""
        self._sub: object | None = None
        self._buf: list[Delivery] = []
        self._event = asyncio.Event()
        self._want = 0
        self._got = 0
        self._status: int | None = None
        self._pending = -1
        self._expect_cseq = 1
        self._last_seq = 0
        self._gap = False
        self._last_reply = b""
        self._chunk_reply = b""

    # -- consumer lifecycle ------------------------------------------------------------------

    def _config(self) -> api.ConsumerConfig:
        if self.durable:
            # A named consumer whose progress the server can report; acked per chunk (ack-all).
            # Where to start always comes from the caller (a checkpoint), never from it.
            cfg = api.ConsumerConfig(
                durable_name=self.durable,
                ack_policy=api.AckPolicy.ALL,
                ack_wait=600.0,
                max_ack_pending=self.batch * 4,
                inactive_threshold=86_400.0,
                num_replicas=None,  # the stream's: an R3 consumer outlives the loss of a node
                max_waiting=4,
            )
        else:
            cfg = api.ConsumerConfig(
                ack_policy=api.AckPolicy.NONE,
                inactive_threshold=max(30.0, self.idle * 6),
                mem_storage=True,
                # One in-memory replica is enough: a read whose consumer's node goes away sees
                # no answer and recreates it after the last sequence seen.
                num_replicas=1,
                max_waiting=4,
            )
        if len(self.filters) == 1:
            cfg.filter_subject = self.filters[0]
        else:
            cfg.filter_subjects = list(self.filters)
        if self._last_seq:
            cfg.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
            cfg.opt_start_seq = self._last_seq + 1
        elif self._start_seq is not None:
            cfg.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
            cfg.opt_start_seq = max(1, self._start_seq)
        elif self._start_time_ns is not None:
            cfg.deliver_policy = api.DeliverPolicy.BY_START_TIME
            # A string keeps nanoseconds (a datetime would round to microseconds);
            # nats-py passes strings through unchanged.
            cfg.opt_start_time = rfc3339(self._start_time_ns)  # type: ignore[assignment]
        else:
            cfg.deliver_policy = api.DeliverPolicy.ALL
        return cfg

    async def _create(self, *, patience_s: float = 30.0) -> None:
        """Create the consumer; while a replicated stream elects a new leader (a node died)
        the request times out or finds no leader, so it is retried for ``patience_s``."""
        if self.durable:
            with contextlib.suppress(Exception):  # restart from the caller's position
                await self.nc.jetstream().delete_consumer(self.stream, self.durable)
        deadline = time.monotonic() + patience_s
        delay = 0.2
        while True:
            try:
                info = await self.nc.jetstream().add_consumer(self.stream, self._config())
                break
            except (TimeoutError, nats.errors.TimeoutError, ServiceUnavailableError) as exc:
                if time.monotonic() + delay > deadline:
                    raise StoreError(
                        f"cannot read {self.stream} {self.filters}: {exc} (no leader after "
                        f"{patience_s:.0f}s)"
                    ) from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            except Exception as exc:
                raise StoreError(f"cannot read {self.stream} {self.filters}: {exc}") from exc
        self._consumer = info.name
        self._expect_cseq = 1

    async def _delete(self) -> None:
        if self._consumer:
            with contextlib.suppress(Exception):
                await self.nc.jetstream().delete_consumer(self.stream, self._consumer)
            self._consumer = ""

    async def __aenter__(self) -> PullReader:
        self._inbox = self.nc.new_inbox()
        self._sub = await fast_path(self.nc).subscribe(self._inbox, self._on_msg)
        await self._create()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if not self.durable:  # a durable stays, showing the projector's position on the server
            await self._delete()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await fast_path(self.nc).unsubscribe(self._sub)  # type: ignore[arg-type]
            self._sub = None

    # -- the fast handler --------------------------------------------------------------------

    def _on_msg(self, subject: bytes, reply: bytes, data: bytes, headers: bytes | None) -> None:
        if not reply:
            status = status_of(headers)
            if status is not None and status != 100:  # 100: heartbeat / flow control
                self._status = status
                self._event.set()
            return
        tokens = reply.split(b".")
        if len(tokens) == 9:
            sseq, cseq, pending = tokens[5], tokens[6], tokens[8]
        else:  # v2 reply subjects: $JS.ACK.<domain>.<account>.<stream>.<consumer>.<n>.<s>.<c>...
            sseq, cseq, pending = tokens[7], tokens[8], tokens[10]
        c = int(cseq)
        if c != self._expect_cseq or self._gap:
            self._gap = True
            self._event.set()
            return
        self._expect_cseq = c + 1
        self._last_reply = reply
        seq = self._last_seq = int(sseq)
        self._buf.append((seq, subject, data))
        self._got += 1
        if pending == b"0":
            self._pending = 0
            self._event.set()
        else:
            self._pending = -1
            if self.live or self._got >= self._want:
                self._event.set()

    # -- pulling -----------------------------------------------------------------------------

    async def _pull(self) -> None:
        self._want, self._got, self._status = self.batch, 0, None
        req: dict[str, object] = {"batch": self.batch}
        if self.live:
            req["expires"] = int(self.idle * 1_000_000_000)
        else:
            req["no_wait"] = True
        subject = f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self._consumer}"
        await self.nc.publish(subject, json.dumps(req).encode(), reply=self._inbox)

    async def _reset(self) -> None:
        """Recreate the consumer after the last delivered sequence (lost or gapped pull)."""
        self._gap = False
        self._buf = [d for d in self._buf if d[0] <= self._last_seq]
        await self._delete()
        await self._create()

    async def chunks(self) -> AsyncIterator[list[Delivery]]:
        """Chunks of deliveries in stream order; ends at the head unless ``live``."""
        await self._pull()
        while True:
            try:
                await asyncio.wait_for(self._event.wait(), timeout=self.idle * 2)
            except TimeoutError:
                await self._reset()  # the pull (or its answer) was lost
                await self._pull()
                continue
            self._event.clear()
            if self._gap:
                await self._reset()
                await self._pull()
                continue
            complete = self._status is not None or self._got >= self._want
            caught_up = self._pending == 0 or self._status == 404
            if not self.live and caught_up and (complete or self._pending == 0):
                out, self._buf = self._buf, []
                self._chunk_reply = self._last_reply
                if out:
                    yield out
                return
            if complete:
                if self._status == 409:
                    await self._reset()
                out, self._buf = self._buf, []
                self._chunk_reply = self._last_reply
                await self._pull()  # next batch streams while the caller works
                if out:
                    yield out
            elif self.live and self._buf:
                out, self._buf = self._buf, []
                self._chunk_reply = self._last_reply
                yield out

    async def ack(self) -> None:
        """Acknowledge everything up to the last chunk handed out (durable readers)."""
        if self.durable and self._chunk_reply:
            await self.nc.publish(self._chunk_reply.decode(), b"+ACK")
