"""Deterministic market-data simulator used by ``helix demo`` (pure: no I/O, no wall clock).

>>> from helix.sim import SimConfig, simulate
>>> events = list(simulate(SimConfig(duration_s=60)))
"""

from __future__ import annotations

from helix.sim.market import SimConfig, count_estimate, simulate

__all__ = ["SimConfig", "count_estimate", "simulate"]
