"""``eventsourcing`` recorders on NATS JetStream.

* one subject per aggregate: ``<prefix>.e.<id token>``; the stream sequence is the
  notification id; the aggregate version and topic ride in headers, the state is the payload;
* a save is one atomic batch (all-or-nothing) through :class:`GroupWriter`, which also does
  optimistic concurrency (``Nats-Expected-Last-Subject-Sequence``) and de-duplication of
  retried commands (``Nats-Msg-Id``: pass ``command_id=`` to make retries idempotent);
* the process recorder writes its tracking record on ``<prefix>.t.<upstream>`` *in the same
  atomic batch* as the events it produced, so exactly-once holds without a second database.

All methods are synchronous and thread-safe: they run coroutines on the factory's loop thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import uuid
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    IntegrityError,
    Notification,
    PersistenceError,
    ProcessRecorder,
    StoredEvent,
    Subscription,
    Tracking,
)
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import api

from helix.errors import DuplicateError, HelixError
from helix.eventstore.subjects import decode_id, encode_id, safe_token
from helix.eventstore.writer import VERSION_HEADER, GroupWriter, SubjectWrite
from helix.store.jsraw import OutMsg, StoredMsg, direct_get_batch, direct_get_last
from helix.store.loop import LoopThread

TOPIC_HEADER = "Helix-Topic"
READ_BATCH = 1000


class JetStreamAggregateRecorder(AggregateRecorder):
    """Stores aggregate events on per-aggregate subjects of one stream."""

    def __init__(
        self, *, loop: LoopThread, nc: NATS, stream: str, prefix: str, writer: GroupWriter
    ) -> None:
        self.loop = loop
        self.nc = nc
        self.stream = stream
        self.prefix = prefix
        self.writer = writer

    # -- subjects ----------------------------------------------------------------------------

    def subject_for(self, originator_id: UUID | str) -> str:
        return f"{self.prefix}.e.{encode_id(originator_id)}"

    @property
    def events_filter(self) -> str:
        return f"{self.prefix}.e.>"

    def _originator_of(self, subject: str) -> UUID | str:
        return decode_id(subject.rsplit(".", 1)[-1])

    # -- writes ------------------------------------------------------------------------------

    def messages(
        self, stored_events: Sequence[StoredEvent], command_id: str
    ) -> tuple[list[OutMsg], dict[str, SubjectWrite]]:
        """The messages of one save (subjects, versions and headers), for a
        :class:`GroupWriter`: what :meth:`insert_events` writes, for async writers that own
        their writer (and connection) on their own event loop."""
        msgs: list[OutMsg] = []
        subjects: dict[str, SubjectWrite] = {}
        for i, ev in enumerate(stored_events):
            subject = self.subject_for(ev.originator_id)
            msg_id = f"{command_id}:{i}"
            sw = subjects.get(subject)
            if sw is None:
                subjects[subject] = SubjectWrite(
                    ev.originator_version, ev.originator_version, msg_id
                )
            else:
                if ev.originator_version <= sw.max_version:
                    raise IntegrityError(
                        f"versions of {ev.originator_id} must increase within one save "
                        f"({ev.originator_version} after {sw.max_version})"
                    )
                sw.max_version = ev.originator_version
                sw.last_msg_id = msg_id
            msgs.append(
                OutMsg(
                    subject,
                    ev.state,
                    {
                        "Nats-Msg-Id": msg_id,
                        VERSION_HEADER: str(ev.originator_version),
                        TOPIC_HEADER: ev.topic,
                    },
                )
            )
        return msgs, subjects

    def _write(
        self,
        stored_events: Sequence[StoredEvent],
        command_id: str | None,
        extra: tuple[OutMsg, str, SubjectWrite] | None = None,
    ) -> list[int]:
        cid = command_id or uuid.uuid4().hex
        msgs, subjects = self.messages(stored_events, cid)
        if extra is not None:
            msg, subject, sw = extra
            msgs.append(msg)
            subjects[subject] = sw
        if not msgs:
            return []
        try:
            seqs = self.loop.run(self.writer.write(msgs, subjects))
        except DuplicateError as exc:
            raise IntegrityError(str(exc)) from exc
        except HelixError as exc:
            raise PersistenceError(str(exc)) from exc
        return seqs[: len(stored_events)]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        self._write(stored_events, kwargs.get("command_id"))
        return None

    # -- reads -------------------------------------------------------------------------------

    def _read_subject(self, subject: str, start_seq: int = 1) -> list[StoredMsg]:
        async def read() -> list[StoredMsg]:
            out: list[StoredMsg] = []
            seq = start_seq
            while True:
                msgs, pending = await direct_get_batch(
                    self.nc, self.stream, start_seq=seq, subject=subject, batch=READ_BATCH
                )
                out.extend(msgs)
                if not msgs or pending == 0:
                    return out
                seq = msgs[-1].seq + 1

        return self.loop.run(read())

    def _to_stored_event(self, m: StoredMsg) -> StoredEvent:
        return StoredEvent(
            originator_id=self._originator_of(m.subject),
            originator_version=int(m.headers[VERSION_HEADER]),
            topic=m.headers.get(TOPIC_HEADER, ""),
            state=m.data,
        )

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        subject = self.subject_for(originator_id)
        if desc and limit == 1 and lte is None:
            last = self.loop.run(direct_get_last(self.nc, self.stream, subject))
            if last is None:
                return []
            ev = self._to_stored_event(last)
            return [ev] if gt is None or ev.originator_version > gt else []
        events = [self._to_stored_event(m) for m in self._read_subject(subject)]
        events = [
            e
            for e in events
            if (gt is None or e.originator_version > gt)
            and (lte is None or e.originator_version <= lte)
        ]
        if desc:
            events.reverse()
        if limit is not None:
            events = events[:limit]
        return events


class JetStreamApplicationRecorder(JetStreamAggregateRecorder, ApplicationRecorder):
    """Adds the application sequence: notification id = stream sequence."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return self._write(stored_events, kwargs.get("command_id"))

    def _notification(self, m: StoredMsg) -> Notification:
        return Notification(
            id=m.seq,
            originator_id=self._originator_of(m.subject),
            originator_version=int(m.headers[VERSION_HEADER]),
            topic=m.headers.get(TOPIC_HEADER, ""),
            state=m.data,
        )

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        first = (start or 1) if inclusive_of_start else (start or 0) + 1
        if limit <= 0 or (stop is not None and stop < first):
            return []
        wanted = set(topics)

        async def read() -> list[Notification]:
            out: list[Notification] = []
            seq = first
            while len(out) < limit:
                msgs, pending = await direct_get_batch(
                    self.nc,
                    self.stream,
                    start_seq=seq,
                    subject=self.events_filter,
                    batch=min(READ_BATCH, limit - len(out)) if not wanted else READ_BATCH,
                    up_to_seq=stop,
                )
                for m in msgs:
                    if not wanted or m.headers.get(TOPIC_HEADER) in wanted:
                        out.append(self._notification(m))
                        if len(out) == limit:
                            break
                if not msgs or pending == 0:
                    break
                seq = msgs[-1].seq + 1
            return out

        return self.loop.run(read())

    def max_notification_id(self) -> int | None:
        last = self.loop.run(direct_get_last(self.nc, self.stream, self.events_filter))
        return None if last is None else last.seq

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return JetStreamSubscription(self, gt=gt, topics=topics)


class JetStreamSubscription(Subscription[JetStreamApplicationRecorder]):
    """A live tail of the application sequence on an ordered push consumer."""

    _END = object()

    def __init__(
        self,
        recorder: JetStreamApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._queue: queue.Queue[object] = queue.Queue()
        self._wanted = set(topics)
        self._stopped = threading.Event()
        self._sub = recorder.loop.run(self._start())

    async def _start(self) -> Any:
        rec = self._recorder
        js = rec.nc.jetstream()
        gt = self._last_notification_id or 0

        async def cb(msg: Msg) -> None:
            meta = msg.metadata
            hdrs = msg.headers or {}
            topic = hdrs.get(TOPIC_HEADER, "")
            if self._wanted and topic not in self._wanted:
                return
            self._queue.put(
                Notification(
                    id=meta.sequence.stream,
                    originator_id=rec._originator_of(msg.subject),
                    originator_version=int(hdrs[VERSION_HEADER]),
                    topic=topic,
                    state=msg.data,
                )
            )

        return await js.subscribe(
            rec.events_filter,
            stream=rec.stream,
            cb=cb,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            config=api.ConsumerConfig(opt_start_seq=gt + 1),
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        super().stop()
        self._stopped.set()
        self._queue.put(self._END)
        with contextlib.suppress(Exception):  # the connection may already be closed
            self._recorder.loop.run(self._sub.unsubscribe(), timeout=10)

    def __next__(self) -> Notification:
        if self._has_been_stopped:
            raise StopIteration
        item = self._queue.get()
        if item is self._END or self._has_been_stopped:
            raise StopIteration
        assert isinstance(item, Notification)
        self._last_notification_id = item.id
        return item


class JetStreamProcessRecorder(JetStreamApplicationRecorder, ProcessRecorder):
    """Application recorder plus tracking records stored atomically with the events."""

    def tracking_subject(self, application_name: str) -> str:
        return f"{self.prefix}.t.{safe_token(application_name)}"

    def _tracking_msg(
        self, tracking: Tracking, command_id: str
    ) -> tuple[OutMsg, str, SubjectWrite]:
        subject = self.tracking_subject(tracking.application_name)
        msg_id = f"{command_id}:t"
        msg = OutMsg(
            subject,
            tracking.application_name.encode(),
            {"Nats-Msg-Id": msg_id, VERSION_HEADER: str(tracking.notification_id)},
        )
        return (
            msg,
            subject,
            SubjectWrite(tracking.notification_id, tracking.notification_id, msg_id, "tracking"),
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        tracking: Tracking | None = kwargs.get("tracking")
        cid = kwargs.get("command_id") or uuid.uuid4().hex
        extra = self._tracking_msg(tracking, cid) if tracking is not None else None
        return self._write(stored_events, cid, extra)

    def insert_tracking(self, tracking: Tracking) -> None:
        self._write([], None, self._tracking_msg(tracking, uuid.uuid4().hex))

    def max_tracking_id(self, application_name: str) -> int | None:
        last = self.loop.run(
            direct_get_last(self.nc, self.stream, self.tracking_subject(application_name))
        )
        return None if last is None else int(last.headers[VERSION_HEADER])
