"""Input side of the heatmap chart: validation, and arrays built from an LHM-1 result.

Kept apart from the drawing code so that it needs no matplotlib and reads on its own: what
:func:`~helix.charts.heatmap_png.render_heatmap_png` accepts is defined here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypedDict

import numpy as np
import numpy.typing as npt

from helix.errors import ValidationError

if TYPE_CHECKING:
    from helix.quant.heatmap import HeatmapResult

__all__ = ["HeatmapArrays", "HeatmapGrid", "heatmap_from_result", "validate_grid"]

F64 = npt.NDArray[np.float64]


class HeatmapArrays(TypedDict):
    """Array arguments of ``render_heatmap_png``, as built by :func:`heatmap_from_result`."""

    column_ts: npt.NDArray[np.int64]
    edges: F64
    long: F64
    short: F64
    close: F64
    high: F64 | None
    low: F64 | None


def heatmap_from_result(
    result: HeatmapResult,
    close: npt.ArrayLike,
    *,
    high: npt.ArrayLike | None = None,
    low: npt.ArrayLike | None = None,
) -> HeatmapArrays:
    """Arrays for ``render_heatmap_png`` from an LHM-1 result and its candles.

    ``close``/``high``/``low`` may be per candle (length ``n``, as given to ``lhm1``) or per
    display column (length ``M``). Per-candle series are reduced to columns: the close of the
    column's candle, the max high and min low of the candles it covers (NaN skipped). Use as
    ``render_heatmap_png(path, **heatmap_from_result(res, close), title=...)``.

    Args:
        result: Output of :func:`helix.quant.heatmap.lhm1`.
        close: Closes per candle or per column.
        high: Highs per candle or per column (give both or neither of high/low).
        low: Lows per candle or per column.

    Returns:
        The arrays, keyed by ``render_heatmap_png`` argument name.

    Raises:
        ValidationError: If a series has neither length ``n`` nor ``M``.
    """
    cols = np.asarray(result.column_index, dtype=np.int64)
    n, m = result.net.shape[0], cols.shape[0]
    starts = np.concatenate(([0], cols[:-1] + 1)).astype(np.intp)

    def per_column(name: str, values: npt.ArrayLike, how: Literal["last", "max", "min"]) -> F64:
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape == (m,):
            return arr
        if arr.shape != (n,):
            raise ValidationError(f"{name} has shape {arr.shape}, expected ({n},) or ({m},)")
        if how == "last":
            return arr[cols]
        ufunc = np.fmax if how == "max" else np.fmin  # fmax/fmin skip NaN gaps
        return np.asarray(ufunc.reduceat(arr, starts), dtype=np.float64)

    return HeatmapArrays(
        column_ts=np.asarray(result.column_ts, dtype=np.int64),
        edges=np.asarray(result.edges, dtype=np.float64),
        long=np.asarray(result.long, dtype=np.float64),
        short=np.asarray(result.short, dtype=np.float64),
        close=per_column("close", close, "last"),
        high=None if high is None else per_column("high", high, "max"),
        low=None if low is None else per_column("low", low, "min"),
    )


@dataclass(frozen=True, slots=True)
class HeatmapGrid:
    """Validated render input.

    Attributes:
        ts: Column timestamps, int ns, strictly increasing, shape ``(M,)``.
        edges: Price bin edges, finite and strictly increasing, shape ``(B + 1,)``.
        total: Long + short notional per column and bin, shape ``(M, B)``.
        close: Close per column (NaN = gap).
        high: High per column, or ``None``.
        low: Low per column, or ``None``.
    """

    ts: npt.NDArray[np.int64]
    edges: F64
    total: F64
    close: F64
    high: F64 | None
    low: F64 | None


def validate_grid(
    column_ts: np.ndarray,
    edges: np.ndarray,
    long: np.ndarray,
    short: np.ndarray,
    close: np.ndarray,
    high: np.ndarray | None,
    low: np.ndarray | None,
) -> HeatmapGrid:
    """Check the arrays given to :func:`~helix.charts.heatmap_png.render_heatmap_png`.

    Args:
        column_ts: Column timestamps, int ns, strictly increasing, shape ``(M,)``.
        edges: Price bin edges, finite and strictly increasing, shape ``(B + 1,)``.
        long: Long notional (USD, finite, ``>= 0``), shape ``(M, B)``.
        short: Short notional (USD, finite, ``>= 0``), shape ``(M, B)``.
        close: Close per column, shape ``(M,)``; NaN allowed (a gap), inf not.
        high: Optional high per column, like ``close``; needs ``low``.
        low: Optional low per column, like ``close``; needs ``high``.

    Returns:
        The validated grid, with ``total = long + short``.

    Raises:
        ValidationError: Naming the offending argument and the expected shape.
    """
    ts = np.asarray(column_ts)
    e = np.asarray(edges, dtype=np.float64)
    if ts.ndim != 1 or ts.shape[0] == 0 or ts.dtype.kind not in "iu":
        raise ValidationError(
            f"column_ts must be a non-empty 1-D int array, got {ts.dtype} {ts.shape}"
        )
    if e.ndim != 1 or e.shape[0] < 2:
        raise ValidationError(f"edges must be 1-D with at least 2 values, got shape {e.shape}")
    if not np.all(np.isfinite(e)) or not np.all(np.diff(e) > 0):
        raise ValidationError("edges must be finite and strictly increasing")
    ts = ts.astype(np.int64)
    if not np.all(np.diff(ts) > 0):
        raise ValidationError("column_ts must be strictly increasing")
    m, b = ts.shape[0], e.shape[0] - 1
    grids: dict[str, F64] = {}
    for name, raw in (("long", long), ("short", short)):
        g = np.asarray(raw, dtype=np.float64)
        if g.shape != (m, b):
            raise ValidationError(
                f"{name} has shape {g.shape}, expected (M, B) = ({m}, {b}) "
                f"from column_ts ({m},) and edges ({b + 1},)"
            )
        if not np.all(np.isfinite(g)) or np.any(g < 0):
            raise ValidationError(f"{name} must be finite and non-negative")
        grids[name] = g
    if (high is None) != (low is None):
        raise ValidationError("give both high and low, or neither")
    return HeatmapGrid(
        ts,
        e,
        grids["long"] + grids["short"],
        _series("close", close, m),
        None if high is None else _series("high", high, m),
        None if low is None else _series("low", low, m),
    )


def _series(name: str, raw: np.ndarray, m: int) -> F64:
    s = np.asarray(raw, dtype=np.float64)
    if s.shape != (m,):
        raise ValidationError(f"{name} has shape {s.shape}, expected ({m},) like column_ts")
    if np.any(np.isinf(s)):  # NaN is a gap in the line; inf is a bug upstream
        raise ValidationError(f"{name} must be finite or NaN")
    return s
