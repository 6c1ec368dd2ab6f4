"""Pure helpers for chart axes and labels: USD and price text, time cells and ticks, spacing.

numpy only (no matplotlib), so they are cheap to import and easy to test on their own.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

__all__ = [
    "NS_PER_DAY",
    "days",
    "format_usd",
    "price_decimals",
    "spread_labels",
    "time_edges",
    "time_ticks",
    "utc",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

NS_PER_DAY = 86_400 * 10**9


def format_usd(value: float) -> str:
    """Compact USD label: ``$950``, ``$12.5k``, ``$1.23M``, ``$4B`` (3 significant digits).

    Args:
        value: Amount in USD.

    Returns:
        The label.
    """
    if not math.isfinite(value):
        return f"${value}"
    # Round first so that 999_999 becomes "$1M", not "$1e+03k".
    rounded = float(f"{abs(value):.3g}")
    sign = "-" if value < 0 and rounded else ""
    for unit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if rounded >= unit:
            return f"{sign}${rounded / unit:.3g}{suffix}"
    return f"{sign}${rounded:.3g}"


def time_edges(ts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Cell boundaries of the columns: midpoints between them, half a neighbour gap at the ends.

    A column is a snapshot *at* its timestamp, so it is centred there; a lone column is drawn one
    hour wide.

    Args:
        ts: Column timestamps, int ns, strictly increasing, shape ``(M,)``.

    Returns:
        Boundaries in int ns, shape ``(M + 1,)``.
    """
    half = np.array([NS_PER_DAY // 48]) if ts.shape[0] == 1 else np.diff(ts) // 2
    inner = ts[:-1] + half[: ts.shape[0] - 1]
    return np.concatenate(([ts[0] - half[0]], inner, [ts[-1] + half[-1]])).astype(np.int64)


def time_ticks(data_ns: int, t0_ns: int, t1_ns: int, max_ticks: int) -> tuple[I64, str, str]:
    """Tick times in ``[t0, t1]`` plus the label formats for ordinary ticks and UTC midnights.

    Hours (a date at midnight) if the columns span ``data_ns < 3`` days, else calendar days
    (days of the month 1, 1 + k, ...), else months. ``data_ns`` (first to last column) picks the
    regime so that a "3d" window of 288 columns still reads in hours; ``[t0, t1]`` (the whole x
    range) sets the step, the smallest giving at most ``max_ticks`` ticks. Computed with numpy
    rather than ``matplotlib.dates`` so that it is typed, pure and independent of the global
    ``date.epoch`` setting.

    Args:
        data_ns: Time from the first to the last column, ns.
        t0_ns: Left end of the x axis, ns.
        t1_ns: Right end of the x axis, ns.
        max_ticks: Most ticks wanted.

    Returns:
        Tick timestamps (int ns), the ``strftime`` format for ticks, and the one for ticks that
        fall on a UTC midnight.
    """
    minute = 60 * 10**9
    span_min = (t1_ns - t0_ns) / minute
    if data_ns < 3 * NS_PER_DAY:
        # Every step divides a day, so ticks stay on round UTC times.
        steps = (1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720)
        step = next((s for s in steps if span_min / s <= max_ticks), steps[-1]) * minute
        first = -(-t0_ns // step) * step
        return np.arange(first, t1_ns + 1, step, dtype=np.int64), "%H:%M", "%b %d"
    span_days = span_min / (24 * 60)
    day_step = next((s for s in (1, 2, 3, 5, 7, 14) if span_days / s <= max_ticks), 0)
    if day_step:
        first, last = -(-t0_ns // NS_PER_DAY), t1_ns // NS_PER_DAY
        cand = np.arange(first, last + 1, dtype=np.int64).astype("M8[D]")
        keep = (cand - cand.astype("M8[M]")).astype(np.int64) % day_step == 0  # day of month - 1
        fmt = "%b %d"
    else:
        month_step = next((s for s in (1, 2, 3, 6) if span_days / 30.4 / s <= max_ticks), 12)
        m0, m1 = np.array([t0_ns, t1_ns]).astype("M8[ns]").astype("M8[M]").astype(np.int64)
        cand = np.arange(m0, m1 + 1, dtype=np.int64).astype("M8[M]")
        cand = cand[cand.astype("M8[ns]").astype(np.int64) >= t0_ns]
        keep = cand.astype(np.int64) % 12 % month_step == 0  # month of year - 1
        fmt = "%b %Y"
    return cand[keep].astype("M8[ns]").astype(np.int64), fmt, fmt


def days(ns: I64) -> F64:
    """The chart's x coordinate: days since 1970-01-01 UTC, as float.

    Our own unit rather than matplotlib's date numbers, whose epoch is a global setting.

    Args:
        ns: Timestamps, int ns.

    Returns:
        Days since the Unix epoch.
    """
    return np.asarray(ns, dtype=np.float64) / NS_PER_DAY


def utc(ns: int) -> datetime:
    """Aware UTC datetime of an int-ns timestamp (microsecond resolution).

    Args:
        ns: Timestamp, int ns since the Unix epoch.

    Returns:
        The datetime.
    """
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)


def price_decimals(edges: F64) -> int:
    """Decimals for price labels: enough to resolve ~1/100 of the range (BTC 0, a ~100 coin 1).

    Args:
        edges: Ascending price bin edges.

    Returns:
        Number of decimals, 0 to 8.
    """
    span = float(edges[-1] - edges[0])
    return min(8, max(0, 2 - math.floor(math.log10(span))))


def spread_labels(y: list[float], gap: float) -> list[float]:
    """Spread label positions so neighbours are at least ``gap`` apart, the top one inside.

    One pass pushes labels up, a second pulls them back below ``1 - gap/2``; a label stays at its
    line unless it would overlap another one.

    Args:
        y: Positions in axes fraction, ascending.
        gap: Minimum distance between neighbours, axes fraction.

    Returns:
        The new positions, in the same order.
    """
    out = list(y)
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + gap)
    top = 1.0 - gap / 2
    for i in range(len(out) - 1, -1, -1):
        limit = top if i == len(out) - 1 else out[i + 1] - gap
        out[i] = min(out[i], limit)
    return out
