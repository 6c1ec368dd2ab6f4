"""The JetStream layout: which streams exist, their subjects, retention and durability.

======== ================== ========================================================
stream   subjects           holds
======== ================== ========================================================
MARKET   ``mkt.>``          market data ``mkt.<venue>.<kind>.<symbol>``; retention by
                            age/bytes; may ack before fsync (``market_persist``, R1 only)
LEDGER   ``ldg.>``          signals, orders, fills, fund, audit, aggregates; never
                            expires, never discards; atomic batches allowed
DLQ      ``dlq.>``          dead letters ``dlq.<origin>.<venue>`` with their reasons
======== ================== ========================================================

Replicas come from ``Settings.stream_replicas`` (resolved by :func:`replicas_for`): 1 on one
server, 3 on a cluster.  An R3 stream acks a write once a quorum (2 of 3 servers) stored it, so
the LEDGER keeps every acked event through the crash of any one server.

Setup is idempotent.  An existing stream whose *identity* differs (subjects, storage,
retention, discard policy, atomic batches, expiry on LEDGER) is refused with
:class:`~helix.errors.StreamConfigError` rather than silently changed; limits that are safe to
change (age, bytes, duplicate window) are updated in place, and a stream with fewer replicas
than configured is scaled up (never down: shrinking a replicated ledger is an operator's act).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from helix.errors import StoreError, StreamConfigError
from helix.settings import Settings

MARKET = "MARKET"
LEDGER = "LEDGER"
DLQ = "DLQ"
DAY_S = 86_400


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_s: float = 0
    max_bytes: int = -1
    duplicate_window_s: float = 120
    allow_atomic: bool = False
    persist_async: bool = False
    deny_delete: bool = False
    description: str = ""
    replicas: int = 1

    def config(self) -> api.StreamConfig:
        cfg = api.StreamConfig(
            name=self.name,
            description=self.description,
            subjects=list(self.subjects),
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            discard=api.DiscardPolicy.OLD,
            max_age=self.max_age_s,
            max_bytes=self.max_bytes,
            duplicate_window=self.duplicate_window_s,
            allow_direct=True,
            allow_atomic=self.allow_atomic or None,
            deny_delete=self.deny_delete,
            num_replicas=self.replicas,
        )
        if self.persist_async:
            cfg.persist_mode = api.PersistMode.ASYNC
        return cfg


def replicas_for(settings: Settings, *, cluster_nodes: int = 1) -> int:
    """Stream replicas: the configured count, else 3 on a cluster of 3+ nodes, else the nodes."""
    if settings.stream_replicas > 0:
        return settings.stream_replicas
    return max(1, min(3, cluster_nodes))


def market_spec(settings: Settings) -> StreamSpec:
    return StreamSpec(
        name=MARKET,
        subjects=("mkt.>",),
        max_age_s=settings.market_max_age_days * DAY_S,
        max_bytes=settings.market_max_bytes,
        duplicate_window_s=settings.duplicate_window_s,
        # JetStream refuses async persist on replicated streams: an R3 MARKET fsyncs like the
        # LEDGER (``sync``), and its acks wait for a quorum.
        persist_async=settings.market_persist == "async" and replicas_for(settings) == 1,
        replicas=replicas_for(settings),
        description="Helix market data: mkt.<venue>.<kind>.<symbol>",
    )


def ledger_spec(
    settings: Settings, *, name: str = LEDGER, subjects: tuple[str, ...] = ("ldg.>",)
) -> StreamSpec:
    return StreamSpec(
        name=name,
        subjects=subjects,
        duplicate_window_s=settings.duplicate_window_s,
        allow_atomic=True,
        deny_delete=name == LEDGER,
        replicas=replicas_for(settings),
        description="Helix ledger: signals, orders, fills, fund, audit. Never expires.",
    )


def dlq_spec(settings: Settings) -> StreamSpec:
    return StreamSpec(
        name=DLQ,
        subjects=("dlq.>",),
        max_age_s=settings.dlq_max_age_days * DAY_S,
        replicas=replicas_for(settings),
        description="Helix dead letters: input that could not become an event, with reasons",
    )


def all_specs(settings: Settings) -> list[StreamSpec]:
    return [market_spec(settings), ledger_spec(settings), dlq_spec(settings)]


def incompatibilities(spec: StreamSpec, existing: api.StreamConfig) -> list[str]:
    """Why an existing stream cannot be used as ``spec`` (empty when it can)."""
    problems = []
    if sorted(existing.subjects or []) != sorted(spec.subjects):
        problems.append(f"subjects {existing.subjects} != {list(spec.subjects)}")
    if existing.storage not in (None, api.StorageType.FILE):
        problems.append(f"storage {existing.storage} is not file")
    if existing.retention not in (None, api.RetentionPolicy.LIMITS):
        problems.append(f"retention {existing.retention} is not limits")
    if spec.allow_atomic and not existing.allow_atomic:
        problems.append("atomic batch publish is off")
    if spec.allow_atomic and spec.max_age_s == 0 and (existing.max_age or 0) > 0:
        problems.append(f"messages expire after {existing.max_age}s; this stream must never expire")
    if (existing.max_msgs_per_subject or -1) > 0 or (existing.max_msgs or -1) > 0:
        problems.append("message-count limits would drop events")
    if existing.discard not in (None, api.DiscardPolicy.OLD):
        problems.append(f"discard policy {existing.discard}")
    want_async = spec.persist_async
    have_async = existing.persist_mode == api.PersistMode.ASYNC
    if want_async != have_async:
        problems.append(f"persist mode {'async' if have_async else 'default'} differs")
    return problems


def _updatable_differs(spec: StreamSpec, existing: api.StreamConfig) -> bool:
    return (
        float(existing.max_age or 0) != float(spec.max_age_s)
        or int(existing.max_bytes or -1) != int(spec.max_bytes)
        or float(existing.duplicate_window or 0) != float(spec.duplicate_window_s)
        or int(existing.num_replicas or 1) < spec.replicas
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> api.StreamInfo:
    """Create the stream, or check and (safely) update an existing one.

    Raises:
        StreamConfigError: the existing stream is incompatible with ``spec``.
        StoreError: JetStream refused the request.
    """
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        try:
            return await js.add_stream(spec.config())
        except Exception as exc:
            raise StoreError(f"cannot create stream {spec.name}: {exc}") from exc
    problems = incompatibilities(spec, info.config)
    if problems:
        raise StreamConfigError(
            f"stream {spec.name} exists with an incompatible config: " + "; ".join(problems)
        )
    if _updatable_differs(spec, info.config):
        cfg = info.config
        cfg.max_age = spec.max_age_s
        cfg.max_bytes = spec.max_bytes
        cfg.duplicate_window = spec.duplicate_window_s
        cfg.num_replicas = max(int(cfg.num_replicas or 1), spec.replicas)
        try:
            info = await js.update_stream(cfg)
        except Exception as exc:
            raise StoreError(f"cannot update stream {spec.name}: {exc}") from exc
    return info


async def ensure_streams(js: JetStreamContext, settings: Settings) -> dict[str, api.StreamInfo]:
    """Ensure MARKET, LEDGER and DLQ exist with Helix's config (idempotent)."""
    return {spec.name: await ensure_stream(js, spec) for spec in all_specs(settings)}
