"""The broadcaster: one worker per channel, each a consumer of the live LEDGER.

A worker reads the registered subjects (``ldg.signal.>``) in ledger order and settles each
routed item on its channel before the next (so followers see them in order, and the channel's
position is simply the item of its newest broadcast event).  For each attempt it

1. writes the **intent** (:class:`~events.broadcast.BroadcastAttempted`, expecting the
   delivery subject's last sequence: a second broadcaster conflicts here and stops);
2. calls the far side once;
3. writes the **outcome** (``broadcast.sent`` / ``broadcast.failed``, with ``retry_at``).

A restart reads the channel's newest event and finishes that delivery first: an intent without
an outcome was interrupted between 2 and 3, and is settled as the channel allows
(:mod:`helix.broadcast.channel`: Twilio by listing, X by resending into its duplicate refusal,
Telegram and SMTP by the ``broadcast_unknown`` policy).  Nothing is kept outside the ledger.

**Replays and backtests never broadcast.**  Nothing starts a broadcaster but
``helix broadcast run``, and :func:`check_live` refuses any stream but the live ``LEDGER``,
any subject outside ``ldg.``, and any record prefix outside ``ldg.broadcast``: tests and
backtests write their signals to other streams or prefixes, which a broadcaster cannot read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from nats.aio.client import Client as NATS

from events.base import Event
from events.broadcast import BroadcastOpened, BroadcastRecord, BroadcastSent, Channel
from helix.broadcast import decide as d
from helix.broadcast.channel import ChannelClient, ChannelError, Refused, Result
from helix.broadcast.credentials import scrub
from helix.broadcast.images import ImageSource, NoImages
from helix.broadcast.items import Item, Registry
from helix.broadcast.journal import PREFIX, Journal
from helix.broadcast.render import Message, render
from helix.broadcast.routing import Routes
from helix.clock import Clock, SystemClock
from helix.codec import Codec
from helix.errors import ConcurrencyError, ConfigError
from helix.store.reader import PullReader
from helix.store.streams import LEDGER

log = logging.getLogger(__name__)


@dataclass
class ChannelStats:
    """What one channel's worker did."""

    channel: str
    sent: int = 0
    failed: int = 0
    attempts: int = 0
    not_routed: int = 0
    position: int = 0


def check_live(stream: str, subjects: list[str], prefix: str) -> None:
    """Refuse anything but the live ledger (see the module docstring).

    Raises:
        ConfigError: a stream other than LEDGER, a subject outside ``ldg.``, or a record
            prefix outside ``ldg.broadcast``.
    """
    if stream != LEDGER:
        raise ConfigError(
            f"the broadcaster reads the live {LEDGER} stream only, not {stream!r}: "
            "replays and backtests never broadcast"
        )
    bad = [s for s in subjects if not s.startswith("ldg.")]
    if bad or not subjects:
        raise ConfigError(f"broadcast subjects must be live ledger subjects (ldg.*): {bad}")
    if prefix != PREFIX and not prefix.startswith(PREFIX + "."):
        raise ConfigError(f"broadcast records go under {PREFIX}, not {prefix!r}")


@dataclass
class ChannelWorker:
    """Consumes the ledger for one channel (see the module docstring)."""

    nc: NATS
    client: ChannelClient
    registry: Registry
    routes: Routes
    journal: Journal
    policy: d.Policy
    images: ImageSource = field(default_factory=NoImages)
    clock: Clock = field(default_factory=SystemClock)
    subjects: list[str] = field(default_factory=list)
    first_seq: int | None = None
    secrets: list[str] = field(default_factory=list)
    stats: ChannelStats = field(init=False)

    def __post_init__(self) -> None:
        self.stats = ChannelStats(self.client.channel)
        self.subjects = self.subjects or self.registry.subjects()

    @property
    def channel(self) -> Channel:
        return self.client.channel

    async def run(self, *, until_caught_up: bool = False) -> ChannelStats:
        """Resume, then consume the ledger (to its head, or following it)."""
        position = await self._resume()
        async with PullReader(
            self.nc,
            self.journal.stream,
            self.subjects,
            start_seq=position + 1,
            live=not until_caught_up,
            batch=64,
            idle=2.0,
        ) as reader:
            async for chunk in reader.chunks():
                for seq, subject, data in chunk:
                    if not subject.startswith(b"ldg."):  # the reader is bound to LEDGER
                        raise ConfigError(f"refusing {subject!r}: not a live ledger subject")
                    await self._consider(seq, self.journal.codec.decode(data))
        return self.stats

    async def _resume(self) -> int:
        """The last ledger sequence this channel is done with (finishing a pending delivery)."""
        last = await self.journal.last(self.channel)
        if last is None:
            if self.first_seq is not None:
                start = self.first_seq
            else:
                info = await self.nc.jetstream().stream_info(self.journal.stream)
                start = info.state.last_seq + 1
            now = self.clock.now_ns()
            opened = BroadcastOpened(
                event_id=uuid.uuid4(), ts_event=now, ts_recorded=now, source="broadcaster",
                vertical="ops", channel=self.channel, from_seq=start,
            )  # fmt: skip
            try:
                await self.journal.append(opened, expect=0)
            except ConcurrencyError:
                return await self._resume()
            log.info("%s: broadcasting from ledger #%d", self.channel, start)
            self.stats.position = start - 1
            return start - 1
        seq, event = last
        if isinstance(event, BroadcastOpened):
            self.stats.position = event.from_seq - 1
            return event.from_seq - 1
        if d.next_step(event, self.client.recovery) is not None:
            item_event = await self.journal.item(event.item_seq)
            item = self.registry.describe(item_event)
            if item is None:
                raise ConfigError(f"{event.item_type} is no longer registered for broadcast")
            await self._deliver(event.item_seq, item_event, item, last=(seq, event))
        self.stats.position = event.item_seq
        return event.item_seq

    async def _consider(self, seq: int, event: Event) -> None:
        item = self.registry.describe(event)
        self.stats.position = seq
        if item is None or not self.routes.wants(self.channel, item):
            self.stats.not_routed += 1
            return
        await self._deliver(seq, event, item, last=None)

    async def _deliver(
        self,
        seq: int,
        event: Event,
        item: Item,
        *,
        last: tuple[int, BroadcastRecord] | None,
    ) -> None:
        key = d.DeliveryKey(self.channel, event, seq)
        expect, rec = last if last is not None else (0, None)
        while (step := d.next_step(rec, self.client.recovery)) is not None:
            now = self.clock.now_ns()
            if isinstance(step, d.Interrupted):
                assert rec is not None
                log.warning(
                    "%s #%s: attempt %d was interrupted", self.channel, item.ref, step.attempt
                )
                rec = self._outcome(
                    key, Refused("unknown", d.INTERRUPTED), step.attempt, rec.ts_event
                )
            elif isinstance(step, d.Lookup):
                try:
                    remote = await self.client.lookup(render(self.channel, item), step.since)
                except ChannelError as exc:
                    log.warning("%s #%s: %s; asking again later", self.channel, item.ref, exc)
                    await asyncio.sleep(self.policy.backoff_ns(step.attempt, None) / d.NS)
                    continue
                rec = d.looked_up(
                    key,
                    remote,
                    attempt=step.attempt,
                    started=step.since,
                    now=now,
                    policy=self.policy,
                )
            else:
                await self._sleep_until(step.not_before)
                image = await self.images.png(item) if self.client.takes_images else None
                message = render(self.channel, item, image=image is not None)
                now = self.clock.now_ns()
                intent = d.attempted(key, step.number, ref=item.ref, digest=message.digest, now=now)
                expect = await self.journal.append(intent, expect=expect)
                self.stats.attempts += 1
                result = await self._send(message, image, key)
                rec = self._outcome(key, result, step.number, intent.ts_event)
            expect = await self.journal.append(rec, expect=expect)
            self._report(item, rec)

    async def _send(self, message: Message, image: bytes | None, key: d.DeliveryKey) -> Result:
        result = await self.client.send(message, image, key=key.delivery_id.hex)
        if isinstance(result, Refused):  # a far side may echo what it was sent
            result = replace(result, reason=scrub(result.reason, self.secrets)[:500])
        return result

    def _outcome(
        self, key: d.DeliveryKey, result: Result, attempt: int, started: int
    ) -> BroadcastRecord:
        return d.outcome_event(
            key, result, attempt=attempt, started=started, now=self.clock.now_ns(),
            policy=self.policy, recovery=self.client.recovery,
        )  # fmt: skip

    def _report(self, item: Item, rec: BroadcastRecord) -> None:
        if isinstance(rec, BroadcastSent):
            self.stats.sent += 1
            log.info("%s #%s sent (%s %s)", self.channel, item.ref, rec.how, rec.remote_id)
        elif d.next_step(rec, self.client.recovery) is None:
            self.stats.failed += 1
            log.warning(
                "%s #%s failed for good: %s", self.channel, item.ref, getattr(rec, "reason", "")
            )
        else:
            log.info(
                "%s #%s attempt %d: %s",
                self.channel,
                item.ref,
                rec.attempt,
                getattr(rec, "reason", ""),
            )

    async def _sleep_until(self, ns: int) -> None:
        wait = (ns - self.clock.now_ns()) / d.NS
        if wait > 0:
            await asyncio.sleep(wait)


async def run_broadcaster(
    nc: NATS,
    clients: list[ChannelClient],
    *,
    registry: Registry,
    routes: Routes,
    policy: d.Policy,
    images: ImageSource | None = None,
    clock: Clock | None = None,
    stream: str = LEDGER,
    subjects: list[str] | None = None,
    prefix: str = PREFIX,
    first_seq: int | None = None,
    until_caught_up: bool = False,
    stop: asyncio.Event | None = None,
    secrets: list[str] | None = None,
    codec: Codec | None = None,
) -> list[ChannelStats]:
    """Run one worker per client until caught up (or ``stop`` is set / the task is cancelled).

    Args:
        nc: NATS connection.
        clients: the channels that are on.
        registry / routes / policy: what is broadcast, where, and how it is retried.
        images: heatmap pictures (default: none).
        stream / subjects / prefix: must be the live ledger (:func:`check_live`); ``subjects``
            may narrow the registry's filters within ``ldg.``.
        first_seq: where a channel that never ran starts (default: new items only).
        until_caught_up: stop at the ledger's head instead of following it.
        stop: set it to stop the workers (what is mid-send is settled at the next start).
        secrets: strings scrubbed from any reason before it is recorded.

    Raises:
        ConfigError: not the live ledger.
        ConcurrencyError: another broadcaster is working on the same delivery.
        StoreError: the ledger refused a write.
    """
    subjects = subjects or registry.subjects()
    check_live(stream, subjects, prefix)
    journal = Journal(nc, prefix=prefix, stream=stream, codec=codec)
    workers = [
        ChannelWorker(
            nc,
            c,
            registry,
            routes,
            journal,
            policy,
            images or NoImages(),
            clock or SystemClock(),
            list(subjects),
            first_seq,
            list(secrets or []),
        )
        for c in clients
    ]
    tasks = [asyncio.create_task(w.run(until_caught_up=until_caught_up)) for w in workers]
    waiter = asyncio.create_task(stop.wait()) if stop is not None else None
    watch: set[asyncio.Future[Any]] = {*tasks, *([waiter] if waiter else [])}
    try:
        while any(not t.done() for t in tasks):
            done, _ = await asyncio.wait(watch, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                if t in done and (exc := t.exception()) is not None:
                    raise exc
            if waiter is not None and waiter in done:
                break
            watch -= done
    finally:
        for f in watch | set(tasks):
            f.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for c in clients:
            await c.close()
    return [w.stats for w in workers]
