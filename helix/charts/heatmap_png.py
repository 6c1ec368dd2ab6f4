"""Render a liquidation heatmap (``quant.md`` §2) to a PNG, in the CoinGlass look.

Price bins run up the y axis, display columns along the x axis (UTC), and each cell's colour is
its long + short notional on ``viridis`` (dark purple = nothing, yellow = the biggest levels).
The close is a bright line over the map, the optional high/low range thin wicks, and liquidation
clusters dashed horizontal lines labelled with price, size and whale-target score.

Choices ([OURS], tested in ``tests/unit/charts/test_heatmap_png.py``):

* Colour: ``PowerNorm(gamma=0.5)`` from 0, so zero cells get the darkest colour and small levels
  stay visible; the top of the scale is the 99.5th percentile of the non-zero cells, so a few
  huge cells saturate to yellow (the colour bar then shows an arrow) instead of washing out
  everything else.
* Cells span the midpoints between column timestamps (a lone column is one hour wide); the close
  and the wicks sit at the column timestamps.
* Layout uses fixed pixel margins rather than a layout engine: it is cheaper and the map lands at
  a known place, so labels can be spread without a draw pass.
* Time axis (UTC): hours, with the date at midnight, when the columns span < 3 days; dates
  beyond; months for long windows (:func:`helix.charts.scales.time_ticks`).
* Output is deterministic: the Agg canvas is built explicitly (no pyplot state), and the PNG gets
  no ``Software`` text chunk; Agg writes no timestamp. Bytes are identical for identical input
  with the same matplotlib and fonts (not across matplotlib versions).
* ``matplotlib`` is imported inside the functions, so ``import helix.charts`` stays cheap.
* ``close``/``high``/``low`` may hold NaN (a gap in the line); the grid and edges must be finite
  and the notionals non-negative, since an upstream NaN would otherwise render as empty.

Input checks and the :class:`~helix.quant.heatmap.HeatmapResult` adapter live in
:mod:`helix.charts.heatmap_data`; tick and label helpers in :mod:`helix.charts.scales`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from helix.charts.heatmap_data import HeatmapArrays, heatmap_from_result, validate_grid
from helix.charts.scales import (
    days,
    format_usd,
    price_decimals,
    spread_labels,
    time_edges,
    time_ticks,
    utc,
)
from helix.errors import ValidationError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from helix.quant.clusters import ScoredCluster
    from projections.heatmap import StoredHeatmap

__all__ = [
    "ClusterMark",
    "HeatmapArrays",
    "heatmap_from_result",
    "render_heatmap_png",
    "render_stored_heatmap",
]

F64 = npt.NDArray[np.float64]

_DPI = 100  # figure size in px = inches * dpi, so sizes are exact
_MIN_SIZE = (320, 240)
_BG, _FG, _SPINE = "#0c0b16", "#c8c8d8", "#34324a"
_LONG_COLOR, _SHORT_COLOR, _CLOSE_COLOR = "#ff4d6d", "#3ec8ff", "#ffffff"
_GAMMA = 0.5
_TOP_QUANTILE = 0.995
# Pixel margins around the map: title on top, time labels below, prices + colour bar on the right.
_MARGIN_LEFT, _MARGIN_TOP, _MARGIN_BOTTOM, _MARGIN_RIGHT = 34, 52, 30, 196
_CBAR_GAP, _CBAR_WIDTH = 86, 16


@dataclass(frozen=True, slots=True)
class ClusterMark:
    """A liquidation cluster to annotate on the heatmap.

    Attributes:
        price: Cluster price (e.g. ``Cluster.price``).
        side: ``"long"`` (long liquidations, below price) or ``"short"`` (above).
        size_usd: Cluster notional in USD.
        score: Whale-target score, 0-100.
    """

    price: float
    side: Literal["long", "short"]
    size_usd: float
    score: float

    def __post_init__(self) -> None:
        if self.side not in ("long", "short"):
            raise ValidationError(f"ClusterMark.side must be 'long' or 'short', got {self.side!r}")
        if not all(math.isfinite(v) for v in (self.price, self.size_usd, self.score)):
            raise ValidationError(f"ClusterMark values must be finite: {self!r}")

    @classmethod
    def from_scored(cls, scored: ScoredCluster) -> ClusterMark:
        """Mark for a cluster scored by :func:`helix.quant.clusters.whale_target_scores`.

        Args:
            scored: The scored cluster; its size is taken as USD (a heatmap column is USD).

        Returns:
            The mark.
        """
        c = scored.cluster
        side: Literal["long", "short"] = "long" if c.side.value == "long" else "short"
        return cls(price=c.price, side=side, size_usd=c.size, score=scored.score)


def render_heatmap_png(
    path: Path,
    *,
    column_ts: np.ndarray,
    edges: np.ndarray,
    long: np.ndarray,
    short: np.ndarray,
    close: np.ndarray,
    high: np.ndarray | None = None,
    low: np.ndarray | None = None,
    clusters: Sequence[ClusterMark] = (),
    title: str = "",
    width_px: int = 1600,
    height_px: int = 900,
) -> None:
    """Draw a liquidation heatmap and write it to ``path`` as a PNG of exactly the given size.

    Args:
        path: Output file (overwritten).
        column_ts: Column timestamps, int UTC ns, strictly increasing, shape ``(M,)``.
        edges: Price bin edges, finite and strictly increasing, shape ``(B + 1,)``.
        long: Long-liquidation notional (USD, ``>= 0``), shape ``(M, B)``.
        short: Short-liquidation notional (USD, ``>= 0``), shape ``(M, B)``.
        close: Price per column, shape ``(M,)``, drawn as a line (NaN leaves a gap).
        high: Optional high per column, shape ``(M,)``; needs ``low``.
        low: Optional low per column, shape ``(M,)``; needs ``high``.
        clusters: Clusters to mark; those outside the price range are skipped.
        title: Title shown top left.
        width_px: Image width in pixels (>= 320).
        height_px: Image height in pixels (>= 240).

    Raises:
        ValidationError: On mismatched shapes, unordered axes, non-finite or negative notionals,
            or a too-small image.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure(
        column_ts=column_ts,
        edges=edges,
        long=long,
        short=short,
        close=close,
        high=high,
        low=low,
        clusters=clusters,
        title=title,
        width_px=width_px,
        height_px=height_px,
    )
    FigureCanvasAgg(fig)  # attaches the Agg canvas: no pyplot, no GUI backend, works headless
    # Explicit format/dpi/facecolor so rcParams cannot change the output; Software=None drops
    # matplotlib's version text, so identical input gives identical bytes.
    fig.savefig(Path(path), format="png", dpi=_DPI, facecolor=_BG, metadata={"Software": None})


def _figure(
    *,
    column_ts: np.ndarray,
    edges: np.ndarray,
    long: np.ndarray,
    short: np.ndarray,
    close: np.ndarray,
    high: np.ndarray | None,
    low: np.ndarray | None,
    clusters: Sequence[ClusterMark],
    title: str,
    width_px: int,
    height_px: int,
) -> Figure:
    """Build the figure (not drawn); ``fig.axes[0]`` is the map, ``fig.axes[1]`` the colour bar."""
    from matplotlib import colormaps, patheffects
    from matplotlib.colors import PowerNorm
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, FuncFormatter

    g = validate_grid(column_ts, edges, long, short, close, high, low)
    if width_px < _MIN_SIZE[0] or height_px < _MIN_SIZE[1]:
        raise ValidationError(f"image must be at least {_MIN_SIZE[0]}x{_MIN_SIZE[1]} px")
    fig = Figure(figsize=(width_px / _DPI, height_px / _DPI), dpi=_DPI, facecolor=_BG)
    fig.set_layout_engine("none")  # axes are placed by hand, whatever rcParams ask for
    map_w = width_px - _MARGIN_LEFT - _MARGIN_RIGHT
    map_h = height_px - _MARGIN_TOP - _MARGIN_BOTTOM
    ax = fig.add_axes(
        (_MARGIN_LEFT / width_px, _MARGIN_BOTTOM / height_px, map_w / width_px, map_h / height_px)
    )
    cax = fig.add_axes(
        (
            (_MARGIN_LEFT + map_w + _CBAR_GAP) / width_px,
            _MARGIN_BOTTOM / height_px,
            _CBAR_WIDTH / width_px,
            map_h / height_px,
        )
    )
    ax.set_facecolor(_BG)

    t_edges = time_edges(g.ts)
    x_edges, x_mid = days(t_edges), days(g.ts)
    positive = g.total[g.total > 0]
    peak = float(positive.max()) if positive.size else 0.0
    vmax = float(np.quantile(positive, _TOP_QUANTILE)) if positive.size else 1.0
    cmap = colormaps["viridis"]
    mesh = ax.pcolormesh(
        x_edges,
        g.edges,
        g.total.T,
        cmap=cmap,
        norm=PowerNorm(gamma=_GAMMA, vmin=0.0, vmax=vmax),
        shading="flat",
        antialiased=False,  # antialiased quads leave hairline seams between cells
        edgecolors="none",
    )
    ax.set_xlim(float(x_edges[0]), float(x_edges[-1]))
    ax.set_ylim(float(g.edges[0]), float(g.edges[-1]))

    decimals = price_decimals(g.edges)
    handles = []
    if g.high is not None and g.low is not None:
        # Wicks about half a column wide (in points), so they merge into a band on dense maps.
        wick_pt = min(3.0, max(0.6, 0.5 * map_w / g.ts.shape[0] * 72 / _DPI))
        ax.vlines(x_mid, g.low, g.high, colors=_CLOSE_COLOR, linewidths=wick_pt, alpha=0.4)
        handles.append(Line2D([], [], color=_CLOSE_COLOR, alpha=0.4, lw=4, label="high-low"))
    outline = [patheffects.withStroke(linewidth=3.2, foreground="#000000", alpha=0.7)]
    ax.plot(x_mid, g.close, color=_CLOSE_COLOR, lw=1.4, path_effects=outline)
    handles.append(Line2D([], [], color=_CLOSE_COLOR, lw=1.4, label="close"))

    y0, y1 = float(g.edges[0]), float(g.edges[-1])
    shown = sorted((c for c in clusters if y0 <= c.price <= y1), key=lambda c: c.price)
    label_gap = 20 / map_h  # one 8.5 pt label plus padding, in axes fraction
    ys = spread_labels([(c.price - y0) / (y1 - y0) for c in shown], label_gap)
    for c, y_lab in zip(shown, ys, strict=True):
        color = _LONG_COLOR if c.side == "long" else _SHORT_COLOR
        ax.axhline(c.price, color=color, lw=1.2, ls=(0, (6, 3)), alpha=0.95)
        text = (
            f"{c.side.upper()} {c.price:,.{decimals}f} · {format_usd(c.size_usd)}"
            f" · score {c.score:.1f}"
        )
        ax.text(
            0.995,
            y_lab,
            text,
            transform=ax.transAxes,
            ha="right",
            va="center",
            color=color,
            fontsize=8.5,
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.25", "fc": "#000000", "ec": color, "alpha": 0.7},
        )
    for side, color in (("long", _LONG_COLOR), ("short", _SHORT_COLOR)):
        if any(c.side == side for c in shown):
            label = f"{side}-liquidation cluster"
            handles.append(Line2D([], [], color=color, lw=1.2, ls=(0, (6, 3)), label=label))
    legend = ax.legend(
        handles=handles,
        loc="upper left",
        fontsize=8.5,
        facecolor="#000000",
        edgecolor=_SPINE,
        framealpha=0.6,
        labelcolor=_FG,
    )
    legend.set_zorder(5)

    last = g.close[np.isfinite(g.close)]
    if last.size and y0 <= float(last[-1]) <= y1:
        # Last-price tag over the right price axis, as trading terminals do.
        ax.text(
            1.004,
            float(last[-1]),
            f"{float(last[-1]):,.{decimals}f}",
            transform=ax.get_yaxis_transform(),
            ha="left",
            va="center",
            color="#000000",
            fontsize=9,
            fontweight="bold",
            bbox={"boxstyle": "square,pad=0.25", "fc": _CLOSE_COLOR, "ec": "none"},
            clip_on=False,
            zorder=6,
        )

    ax.yaxis.tick_right()
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.{decimals}f}"))
    ticks, fmt, midnight_fmt = time_ticks(
        int(g.ts[-1] - g.ts[0]), int(t_edges[0]), int(t_edges[-1]), max(3, map_w // 130)
    )

    def time_label(x: float, _pos: int | None = None) -> str:
        # Ticks are on whole minutes; rounding to seconds removes the float noise of x in days.
        secs = round(x * 86_400)
        midnight = secs % 86_400 == 0
        return utc(secs * 10**9).strftime(midnight_fmt if midnight else fmt)

    ax.xaxis.set_major_locator(FixedLocator(days(ticks).tolist()))
    ax.xaxis.set_major_formatter(FuncFormatter(time_label))
    for a in (ax, cax):
        a.tick_params(colors=_FG, labelsize=9)
        for spine in a.spines.values():
            spine.set_color(_SPINE)

    cbar = fig.colorbar(mesh, cax=cax, extend="max" if peak > vmax else "neither")
    cbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: format_usd(v)))
    cbar.set_label("liquidation leverage, USD per cell", color=_FG, fontsize=9)
    cbar.outline.set_edgecolor(_SPINE)

    top = 1 - 30 / height_px
    fig.text(
        _MARGIN_LEFT / width_px,
        top,
        title,
        color="#ffffff",
        fontsize=14,
        fontweight="bold",
        va="baseline",
    )

    stamp = "%Y-%m-%d %H:%M"
    info = (
        f"{utc(int(g.ts[0])):{stamp}} → {utc(int(g.ts[-1])):{stamp}} UTC"
        f" · {g.ts.shape[0]} × {g.total.shape[1]} cells · hottest {format_usd(peak)}"
    )
    fig.text((_MARGIN_LEFT + map_w) / width_px, top, info, color=_FG, fontsize=9, ha="right")
    return fig


def render_stored_heatmap(
    hm: StoredHeatmap, path: Path, *, title: str, width_px: int = 1600, height_px: int = 900
) -> None:
    """Draw a heatmap read back from the read model (its five strongest clusters marked)."""
    marks = [
        ClusterMark(price=c["price"], side=c["side"], size_usd=c["size_usd"], score=c["score"])
        for c in hm.clusters[:5]
    ]
    render_heatmap_png(
        path, column_ts=hm.column_ts, edges=hm.edges, long=hm.long, short=hm.short,
        close=hm.close, high=hm.high, low=hm.low, clusters=marks, title=title,
        width_px=width_px, height_px=height_px,
    )  # fmt: skip
