"""The envelope every Helix event carries.

``ts_event`` is when the fact happened at its source (exchange time, clock time of a decision);
``ts_recorded`` is when Helix recorded it.  ``event_id`` is stable for facts that come from a
venue (derived from the venue's own id, so re-sending adds nothing) and random for facts Helix
creates.  ``causation_id`` / ``correlation_id`` link a fact to the command or event that caused it.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Literal, TypedDict

import msgspec

Vertical = Literal["perps", "poly", "fund", "ops"]
VERTICALS: tuple[str, ...] = ("perps", "poly", "fund", "ops")

# Namespace for deterministic event ids of venue facts (uuid5 over "venue:kind:symbol:id").
HELIX_NAMESPACE = uuid.UUID("6a3c1f0e-9b4d-5e7a-8c21-4f0d2b9e7a11")


class Envelope(TypedDict):
    """The envelope fields a decision is handed for each new event (ids and times come from
    the caller: decisions read no clock and draw no ids)."""

    event_id: uuid.UUID
    ts_event: int
    ts_recorded: int
    source: str
    vertical: Vertical


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every event: the envelope fields.  Subclasses set ``tag=``."""

    event_id: uuid.UUID
    ts_event: int
    ts_recorded: int
    source: str
    vertical: Vertical
    causation_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None

    @property
    def type(self) -> str:
        """The versioned tag, e.g. ``market.trade.v1``."""
        return str(type(self).__struct_config__.tag)


_NAMESPACE_BYTES = HELIX_NAMESPACE.bytes
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)  # version and variant bits
_V5 = (0x5000 << 64) | (0x8000 << 48)


def stable_event_id(*parts: object) -> uuid.UUID:
    """A deterministic event id for a venue fact, from its natural key.

    Exactly ``uuid.uuid5(HELIX_NAMESPACE, "a:b:c")``, computed without uuid5's extra
    validation (this runs once per market event on the hot path).
    """
    return event_id_for(":".join([p if isinstance(p, str) else str(p) for p in parts]))


def event_id_for(name: str) -> uuid.UUID:
    """``uuid.uuid5(HELIX_NAMESPACE, name)`` (``name`` is the ``:``-joined natural key)."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()  # noqa: S324 - RFC 4122 v5
    return uuid.UUID(int=(int.from_bytes(digest[:16], "big") & _CLEAR) | _V5)
