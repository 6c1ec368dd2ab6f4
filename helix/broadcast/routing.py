"""Routing: which items go to which channels (``HELIX_BROADCAST_ROUTES``).

The setting is a list of rules separated by ``;``, each ``CHANNEL:KINDS[:MIN_SCORE]``:

* ``CHANNEL`` is ``telegram``, ``x``, ``email`` or ``sms``;
* ``KINDS`` is ``*`` (every registered kind) or kinds separated by ``,``;
* ``MIN_SCORE`` (optional) is the lowest score that goes out, in each kind's own units (see
  :mod:`helix.broadcast.signals`); an item without a score never passes a minimum.

An item goes to a channel when any of that channel's rules matches.  A channel with no rule
gets nothing.  The default sends everything to Telegram and email, the directional signals to
X, and to SMS only the highest-conviction one (a targeted cluster with score 30 or more)::

    telegram:*;email:*;x:liquidation_cluster_targeted,stop_hunt,oi_spike,volume_spike;
    sms:liquidation_cluster_targeted:30

Routing is applied when a delivery is first reached; an attempt already in the ledger is
finished whatever the rules say now.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from events.broadcast import CHANNELS, Channel
from helix.broadcast.items import Item
from helix.errors import ConfigError


@dataclass(frozen=True)
class Route:
    channel: Channel
    kinds: frozenset[str] | None  # None: every kind
    min_score: float | None = None

    def matches(self, item: Item) -> bool:
        if self.kinds is not None and item.kind not in self.kinds:
            return False
        if self.min_score is None:
            return True
        return (
            item.score is not None and not math.isnan(item.score) and item.score >= self.min_score
        )


@dataclass(frozen=True)
class Routes:
    rules: tuple[Route, ...]

    def channels_for(self, item: Item) -> list[Channel]:
        """The channels ``item`` goes to, in the order of :data:`CHANNELS`."""
        hit = {r.channel for r in self.rules if r.matches(item)}
        return [c for c in CHANNELS if c in hit]

    def wants(self, channel: Channel, item: Item) -> bool:
        return any(r.channel == channel and r.matches(item) for r in self.rules)

    def describe(self) -> dict[Channel, list[str]]:
        """Per channel, its rules as text (for ``helix broadcast test``)."""
        out: dict[Channel, list[str]] = {c: [] for c in CHANNELS}
        for r in self.rules:
            kinds = "*" if r.kinds is None else ",".join(sorted(r.kinds))
            out[r.channel].append(kinds + (f" score>={r.min_score:g}" if r.min_score else ""))
        return out


def parse_routes(text: str, known_kinds: Iterable[str]) -> Routes:
    """Parse ``HELIX_BROADCAST_ROUTES`` (see the module docstring).

    Raises:
        ConfigError: an unknown channel or kind, or a bad minimum score.
    """
    known = set(known_kinds)
    rules = []
    for raw in text.split(";"):
        rule = raw.strip()
        if not rule:
            continue
        parts = [p.strip() for p in rule.split(":")]
        if len(parts) not in (2, 3):
            raise ConfigError(f"broadcast route {rule!r} is not CHANNEL:KINDS[:MIN_SCORE]")
        channel, kinds_text = parts[0], parts[1]
        if channel not in CHANNELS:
            raise ConfigError(f"broadcast route {rule!r}: unknown channel {channel!r}")
        kinds: frozenset[str] | None = None
        if kinds_text != "*":
            kinds = frozenset(k.strip() for k in kinds_text.split(",") if k.strip())
            unknown = sorted(kinds - known)
            if unknown or not kinds:
                raise ConfigError(
                    f"broadcast route {rule!r}: unknown kind(s) {', '.join(unknown) or '(none)'};"
                    f" kinds: {', '.join(sorted(known))}"
                )
        min_score = None
        if len(parts) == 3 and parts[2]:
            try:
                min_score = float(parts[2])
            except ValueError as exc:
                raise ConfigError(f"broadcast route {rule!r}: bad minimum score") from exc
        rules.append(Route(channel, kinds, min_score))  # type: ignore[arg-type]
    return Routes(tuple(rules))
