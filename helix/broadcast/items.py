"""What can be broadcast: a registry from event type to a neutral description.

The broadcaster knows nothing about signals as such.  It reads the LEDGER subjects of every
registered kind and asks the registry to describe each event as an :class:`Item` (title, score,
market, facts, reason); the channel templates (:mod:`helix.broadcast.render`) work from that.
Adding a kind (fund seals and NAV strikes, when they exist) is one registration::

    registry.register(SealStruck, subjects=("ldg.fund.seal.>",), describe=describe_seal)

Descriptions are pure functions of the event, so a restart renders the same message again
(byte for byte), which is what lets X recognise a resend as a duplicate and lets the Twilio
reconciliation find a message by its reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from events.base import Event

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Item:
    """One thing worth telling followers, independent of any channel.

    Attributes:
        kind: routing key (``liquidation_cluster_targeted``, ``oi_spike``, ..., ``seal``).
        ref: short reference printed in every message (``#1a2b3c4d``, from the event id): how
            followers quote it and how a message is found again on the far side.
        title: a few words (``Short liquidations targeted``).
        market: ``bybit BTCUSDT`` or ``all markets``.
        headline: one line with the numbers that matter.
        score: the number routing compares with a minimum score (see :mod:`.signals`), or None.
        facts: ``(label, value)`` lines for the channels with room for them.
        reason: the event's own explanation.
        ts_event: when it happened (UTC ns).
        venue / symbol: the market a heatmap is drawn for (None: no picture).
        window: the heatmap window (None: the configured default).
    """

    kind: str
    ref: str
    title: str
    market: str
    headline: str
    score: float | None
    facts: tuple[tuple[str, str], ...]
    reason: str
    ts_event: int
    venue: str | None = None
    symbol: str | None = None
    window: str | None = None


@dataclass(frozen=True)
class Kind:
    """One registered event type."""

    event_type: type[Event]
    subjects: tuple[str, ...]
    describe: Callable[[Event], Item]
    kind: str


@dataclass
class Registry:
    """Event types the broadcaster consumes (see the module docstring)."""

    kinds: dict[type[Event], Kind] = field(default_factory=dict)

    def register(
        self,
        event_type: type[E],
        *,
        subjects: tuple[str, ...],
        describe: Callable[[E], Item],
        kind: str,
    ) -> None:
        """Consume ``event_type`` from ``subjects`` (LEDGER filters), described by ``describe``.

        Raises:
            ValueError: the type is registered already, or a subject is not a ledger subject.
        """
        if event_type in self.kinds:
            raise ValueError(f"{event_type.__name__} is registered already")
        if not subjects or not all(s.startswith("ldg.") for s in subjects):
            raise ValueError(f"broadcast subjects must be LEDGER subjects (ldg.*): {subjects}")
        self.kinds[event_type] = Kind(event_type, subjects, describe, kind)  # type: ignore[arg-type]

    def subjects(self) -> list[str]:
        """Every subject filter, each once, in registration order."""
        return list(dict.fromkeys(s for k in self.kinds.values() for s in k.subjects))

    def kind_names(self) -> list[str]:
        return [k.kind for k in self.kinds.values()]

    def describe(self, event: Event) -> Item | None:
        """The item for ``event`` (None for event types nobody registered)."""
        kind = self.kinds.get(type(event))
        return kind.describe(event) if kind is not None else None


def ref_of(event: Event) -> str:
    """The short reference of an event: the first 8 hex digits of its id."""
    return event.event_id.hex[:8]
