"""Clocks: the only place Helix reads the wall clock.  Domain code gets one passed in."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int: ...


class SystemClock:
    """UTC wall-clock time in int nanoseconds."""

    def now_ns(self) -> int:
        return time.time_ns()


class FixedClock:
    """A clock for tests and replays: returns ``now``, advanced by ``step`` at each call."""

    def __init__(self, now: int, step: int = 0) -> None:
        self.now = now
        self.step = step

    def now_ns(self) -> int:
        value = self.now
        self.now += self.step
        return value
