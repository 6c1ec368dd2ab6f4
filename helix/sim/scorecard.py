"""How well the signals found what the simulator planted (pure; no I/O).

Each planted stop hunt (:class:`~helix.sim.truth.PlantedHunt`) is matched against the signals of
its symbol:

* a :class:`~events.signals.StopHunt` matches when it swept the hunted side (``long`` levels for
  a hunt down, ``short`` for up) and its candle, from ``sweep_start`` to its bar's end,
  overlaps ``[hunt start, hunt end + 15 min]`` (the push, and the fade that makes the wick);
* a :class:`~events.signals.ClusterTargeted` matches when it named the hunted side within the
  hour before the hunt began (up to 2 minutes into it) and the hunted level lies inside the
  cluster's price range widened by 0.2%.

The largest liquidation cascade of the hunted side that starts during the hunt or within
5 minutes after it is reported beside each hunt, so small pushes and real sweeps can be told
apart.  Because hunts are frequent, some signals match by coincidence: :func:`score` also
matches the same signals against the hunts shifted in time by ``shifts`` (a few hours either
way), and reports the average count as the **chance** level to compare with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from events.signals import ClusterTargeted, Signal, StopHunt
from helix.sim.truth import Cascade, PlantedHunt, Truth

MIN = 60_000_000_000
FADE_NS = 15 * MIN
LEAD_NS = 60 * MIN
CASCADE_NS = 5 * MIN
SHIFTS = (-211 * MIN, -131 * MIN, 97 * MIN, 173 * MIN)


@dataclass(frozen=True)
class HuntMatch:
    """One planted hunt and the signals that match it."""

    hunt: PlantedHunt
    cascade: int
    stop_hunts: tuple[StopHunt, ...]
    targeted: tuple[ClusterTargeted, ...]

    @property
    def found(self) -> bool:
        return bool(self.stop_hunts or self.targeted)


@dataclass(frozen=True)
class Tally:
    """How many hunts a rule matched."""

    stop_hunt: float
    targeted: float
    either: float


@dataclass(frozen=True)
class Scorecard:
    """Matches per planted hunt, with the counts and the chance level."""

    matches: tuple[HuntMatch, ...]
    found: Tally
    chance: Tally

    def subset(self, min_cascade: int) -> tuple[int, int]:
        """``(hunts, found)`` among hunts whose cascade had at least ``min_cascade`` prints."""
        chosen = [m for m in self.matches if m.cascade >= min_cascade]
        return len(chosen), sum(m.found for m in chosen)


def _side(h: PlantedHunt) -> str:
    return "long" if h.direction == "down" else "short"


def _cascade(h: PlantedHunt, cascades: Sequence[Cascade]) -> int:
    sizes = [
        c.count
        for c in cascades
        if c.symbol == h.symbol
        and c.side == _side(h)
        and h.start_ns <= c.start_ns <= h.end_ns + CASCADE_NS
    ]
    return max(sizes, default=0)


def match(
    h: PlantedHunt, hunts: Sequence[StopHunt], targeted: Sequence[ClusterTargeted], shift: int = 0
) -> tuple[tuple[StopHunt, ...], tuple[ClusterTargeted, ...]]:
    """The signals that match hunt ``h`` (moved by ``shift`` ns), by the module's rules."""
    side, start, end = _side(h), h.start_ns + shift, h.end_ns + shift
    level = float(h.level_price)
    sh = tuple(
        s
        for s in hunts
        if s.symbol == h.symbol
        and s.level_side == side
        and s.sweep_start < end + FADE_NS
        and s.ts_event > start
    )
    ct = tuple(
        s
        for s in targeted
        if s.symbol == h.symbol
        and s.side == side
        and start - LEAD_NS <= s.ts_event <= start + 2 * MIN
        and float(s.price_low) * 0.998 <= level <= float(s.price_high) * 1.002
    )
    return sh, ct


def score(truth: Truth, signals: Sequence[Signal], shifts: Sequence[int] = SHIFTS) -> Scorecard:
    """Match every planted hunt; see the module docstring."""
    hunts = [s for s in signals if isinstance(s, StopHunt)]
    targeted = [s for s in signals if isinstance(s, ClusterTargeted)]
    matches = []
    for h in truth.hunts:
        sh, ct = match(h, hunts, targeted)
        matches.append(HuntMatch(h, _cascade(h, truth.cascades), sh, ct))

    def tally(shift: int) -> Tally:
        counts = [0, 0, 0]
        for h in truth.hunts:
            sh, ct = match(h, hunts, targeted, shift)
            counts[0] += bool(sh)
            counts[1] += bool(ct)
            counts[2] += bool(sh or ct)
        return Tally(*counts)

    shifted = [tally(s) for s in shifts]
    n = max(1, len(shifted))
    chance = Tally(
        sum(t.stop_hunt for t in shifted) / n,
        sum(t.targeted for t in shifted) / n,
        sum(t.either for t in shifted) / n,
    )
    return Scorecard(tuple(matches), tally(0), chance)
