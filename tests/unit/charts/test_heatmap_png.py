"""Liquidation heatmap PNG: size, content at the right pixels, determinism, validation, axes."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.image import imread

from helix.charts import ClusterMark, format_usd, heatmap_from_result, render_heatmap_png
from helix.charts.heatmap_png import _figure
from helix.charts.scales import days, spread_labels, time_edges, time_ticks
from helix.errors import ValidationError
from helix.quant.clusters import Cluster, ClusterSide, ScoredCluster
from helix.quant.heatmap import lhm1

M, B = 24, 40
HOUR = 3_600 * 10**9
T0 = int(np.datetime64("2025-03-01T00:00", "ns").astype(np.int64))
HOT = (12, 30)  # (column, bin): price 105-105.5, far above the close line
EMPTY = (18, 5)  # price 92.5-93, empty in every grid below
V = 2_000_000.0


def a_grid(**overrides: Any) -> dict[str, Any]:
    """Render arguments for a 24h x 40-bin map; a few cells hold ``V``, the rest are empty."""
    long = np.zeros((M, B))
    short = np.zeros((M, B))
    long[4:, 10] = V  # a long level below price that persists
    short[8:, 34] = V
    close = 100.0 + np.sin(np.arange(M) / 4.0)
    args: dict[str, Any] = {
        "column_ts": T0 + np.arange(M, dtype=np.int64) * HOUR,
        "edges": np.linspace(90.0, 110.0, B + 1),
        "long": long,
        "short": short,
        "close": close,
        "high": close + 0.4,
        "low": close - 0.4,
        "title": "TESTUSDT",
        "width_px": 800,
        "height_px": 500,
    }
    args.update(overrides)
    return args


def with_hot_cell(args: dict[str, Any]) -> dict[str, Any]:
    long = args["long"].copy()
    long[HOT] = V  # same value as the other cells: the colour scale does not move
    return {**args, "long": long}


def render(tmp_path: Path, name: str, args: dict[str, Any]) -> npt.NDArray[np.float32]:
    path = tmp_path / name
    render_heatmap_png(path, **args)
    return np.asarray(imread(path), dtype=np.float32)


def pixel(args: dict[str, Any], ts_ns: int, price: float) -> tuple[int, int]:
    """(row, col) of a data point in the PNG, through the map axes' own transform."""
    fig = _figure(clusters=(), **{k: v for k, v in args.items() if k != "clusters"})
    x, y = fig.axes[0].transData.transform((float(days(np.array([ts_ns]))[0]), price))
    return int(args["height_px"] - y), int(x)


def cell_rect(args: dict[str, Any], col: int, b: int) -> tuple[int, int, int, int]:
    """Pixel rectangle (row0, row1, col0, col1) covered by heatmap cell ``(col, b)``."""
    t_edges = time_edges(args["column_ts"])
    edges = args["edges"]
    r1, c0 = pixel(args, int(t_edges[col]), float(edges[b]))
    r0, c1 = pixel(args, int(t_edges[col + 1]), float(edges[b + 1]))
    return r0, r1, c0, c1


def luminance(rgb: npt.NDArray[np.float32]) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


@pytest.mark.parametrize(("width", "height"), [(1600, 900), (1001, 555)])
def test_png_has_the_requested_size(tmp_path: Path, width: int, height: int) -> None:
    img = render(tmp_path, "a.png", a_grid(width_px=width, height_px=height))
    assert img.shape[:2] == (height, width)


def test_image_is_not_uniform(tmp_path: Path) -> None:
    img = render(tmp_path, "a.png", a_grid())
    colours = np.unique(img[..., :3].reshape(-1, 3), axis=0)
    assert img[..., :3].std() > 0.05
    assert len(colours) > 50


def test_hot_cell_is_drawn_brighter_than_an_empty_cell_at_its_place(tmp_path: Path) -> None:
    args = with_hot_cell(a_grid())
    img = render(tmp_path, "a.png", args)
    ts = args["column_ts"]
    centre = (args["edges"][:-1] + args["edges"][1:]) / 2
    hot = img[pixel(args, int(ts[HOT[0]]), float(centre[HOT[1]]))]
    empty = img[pixel(args, int(ts[EMPTY[0]]), float(centre[EMPTY[1]]))]
    assert luminance(hot[:3]) > luminance(empty[:3]) + 0.4
    # Empty cells are the darkest colour of the scale.
    np.testing.assert_allclose(empty[:3], colormaps["viridis"](0.0)[:3], atol=1 / 255)


def test_one_changed_cell_changes_only_its_own_pixels(tmp_path: Path) -> None:
    base_args = a_grid()
    base = render(tmp_path, "base.png", base_args)
    hot = render(tmp_path, "hot.png", with_hot_cell(base_args))
    rows, cols = np.nonzero(np.any(base != hot, axis=2))
    r0, r1, c0, c1 = cell_rect(base_args, *HOT)
    assert rows.size > 0.8 * (r1 - r0) * (c1 - c0)
    assert r0 - 1 <= rows.min()
    assert rows.max() <= r1 + 1
    assert c0 - 1 <= cols.min()
    assert cols.max() <= c1 + 1


def test_same_input_gives_byte_identical_png(tmp_path: Path) -> None:
    marks = [ClusterMark(price=95.1, side="long", size_usd=3.2e6, score=41.0)]
    render_heatmap_png(tmp_path / "a.png", **a_grid(), clusters=marks)
    render_heatmap_png(tmp_path / "b.png", **a_grid(), clusters=marks)
    data = (tmp_path / "a.png").read_bytes()
    assert data == (tmp_path / "b.png").read_bytes()
    assert b"tIME" not in data
    assert b"Software" not in data


def test_all_zero_grid_still_renders(tmp_path: Path) -> None:
    zeros = np.zeros((M, B))
    args = a_grid(long=zeros, short=zeros, high=None, low=None)
    img = render(tmp_path, "a.png", args)
    row, col = pixel(args, int(args["column_ts"][EMPTY[0]]), 92.75)
    np.testing.assert_allclose(img[row, col, :3], colormaps["viridis"](0.0)[:3], atol=1 / 255)


def test_single_column_renders(tmp_path: Path) -> None:
    args = a_grid(
        column_ts=np.array([T0], dtype=np.int64),
        long=np.ones((1, B)),
        short=np.zeros((1, B)),
        close=np.array([100.0]),
        high=None,
        low=None,
    )
    assert render(tmp_path, "a.png", args).shape[:2] == (500, 800)


def test_close_line_and_clusters_are_drawn_in_their_colours(tmp_path: Path) -> None:
    marks = [
        ClusterMark(price=95.1, side="long", size_usd=3.2e6, score=41.0),
        ClusterMark(price=107.3, side="short", size_usd=1.1e6, score=12.5),
        ClusterMark(price=500.0, side="short", size_usd=1.0, score=1.0),  # off the map: skipped
    ]
    args = a_grid(clusters=marks)
    img = render(tmp_path, "a.png", args)
    j = 6
    white = img[pixel(args, int(args["column_ts"][j]), float(args["close"][j]))][:3]
    assert white.min() > 0.85
    long_row = img[pixel(args, int(args["column_ts"][j]), 95.1)[0], :, :3]
    short_row = img[pixel(args, int(args["column_ts"][j]), 107.3)[0], :, :3]
    assert np.any((long_row[:, 0] > 0.8) & (long_row[:, 1] < 0.45))  # red-pink dashes
    assert np.any((short_row[:, 2] > 0.8) & (short_row[:, 0] < 0.45))  # sky-blue dashes


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"long": np.zeros((M, B + 1))}, "long has shape"),
        ({"short": np.zeros((M - 1, B))}, "short has shape"),
        ({"close": np.zeros(M + 1)}, "close has shape"),
        ({"high": np.zeros(3)}, "high has shape"),
        ({"low": None}, "both high and low"),
        ({"edges": np.linspace(110.0, 90.0, B + 1)}, "strictly increasing"),
        ({"edges": np.zeros((2, 3))}, "edges must be 1-D"),
        ({"column_ts": np.zeros(M, dtype=np.int64)}, "column_ts must be strictly increasing"),
        ({"column_ts": np.arange(M, dtype=np.float64)}, "int array"),
        ({"column_ts": np.array([], dtype=np.int64)}, "non-empty"),
        ({"long": np.full((M, B), -1.0)}, "non-negative"),
        ({"short": np.full((M, B), np.nan)}, "finite"),
        ({"width_px": 100}, "at least"),
    ],
)
def test_bad_input_raises_validation_error(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        render_heatmap_png(tmp_path / "a.png", **a_grid(**overrides))
    assert not (tmp_path / "a.png").exists()


def test_cluster_mark_rejects_unknown_side_and_non_finite_values() -> None:
    with pytest.raises(ValidationError, match="side"):
        ClusterMark(price=1.0, side="up", size_usd=1.0, score=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="finite"):
        ClusterMark(price=float("nan"), side="long", size_usd=1.0, score=1.0)


def test_cluster_mark_from_scored_cluster() -> None:
    c = Cluster(peak=3, start=2, stop=4, size=5e6, price=95_000.0, side=ClusterSide.LONG)
    mark = ClusterMark.from_scored(ScoredCluster(c, 0.01, 0.5, 0.8, 42.0))
    assert mark == ClusterMark(price=95_000.0, side="long", size_usd=5e6, score=42.0)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "$0"),
        (950.0, "$950"),
        (12_500.0, "$12.5k"),
        (999_999.0, "$1M"),
        (1_234_567.0, "$1.23M"),
        (4e9, "$4B"),
        (2.5e12, "$2.5T"),
        (-5_000.0, "-$5k"),
    ],
)
def test_format_usd(value: float, text: str) -> None:
    assert format_usd(value) == text


def _labels(args: dict[str, Any]) -> list[str]:
    fig = _figure(**{"clusters": (), **args})
    FigureCanvasAgg(fig)
    fig.draw_without_rendering()  # runs locators and formatters, as a save would
    return [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]


def test_time_axis_shows_hours_below_threedays() -> None:
    labels = _labels(a_grid(width_px=1600, height_px=900))
    assert "Mar 01" in labels  # the midnight tick carries the date
    assert {"03:00", "06:00", "12:00"} <= set(labels)


def test_time_axis_shows_dates_beyond_threedays() -> None:
    args = a_grid(column_ts=T0 + np.arange(M, dtype=np.int64) * 7 * HOUR)  # 7 days
    labels = _labels(args)
    assert labels
    assert all(lab.startswith("Mar ") and ":" not in lab for lab in labels)


def test_time_ticks_per_regime() -> None:
    day = 24 * HOUR
    ticks, fmt, midnight = time_ticks(2 * day, T0 - HOUR // 2, T0 + 2 * day, max_ticks=10)
    assert (fmt, midnight) == ("%H:%M", "%b %d")
    assert np.all(ticks % (6 * HOUR) == 0)  # 6h steps, aligned to UTC midnight
    ticks, fmt, _ = time_ticks(30 * day, T0 + HOUR, T0 + 30 * day, max_ticks=10)
    assert fmt == "%b %d"
    assert np.all(ticks % day == 0)
    assert ticks.min() >= T0 + HOUR
    ticks, fmt, _ = time_ticks(365 * day, T0, T0 + 365 * day, max_ticks=8)
    assert fmt == "%b %Y"
    assert len(ticks) <= 8


def test_spread_keeps_labels_apart_and_inside() -> None:
    out = spread_labels([0.5, 0.5, 0.51, 0.99], gap=0.05)
    assert all(b - a >= 0.05 - 1e-12 for a, b in itertools.pairwise(out))
    assert out[-1] <= 1 - 0.025


def test_heatmap_from_result_reduces_candles_to_columns(tmp_path: Path) -> None:
    high = np.array([101, 103, 102.5, 104], dtype=np.float64)
    low = np.array([99, 101, 98, 99.5], dtype=np.float64)
    close = np.array([100, 102, 99.5, 100], dtype=np.float64)
    ts = np.arange(4, dtype=np.int64) * 60 * 10**9
    res = lhm1(
        ts,
        high,
        low,
        close,
        delta_notional=[100_000, 50_000, -30_000, -33_740.4],
        long_share=[0.6, 0.8, 0.25, 0.5],
        edges=np.arange(90, 113, dtype=np.float64),
        display_every=2,
    )
    arrays = heatmap_from_result(res, close, high=high, low=low)
    np.testing.assert_array_equal(arrays["close"], [102, 100])
    assert arrays["high"] is not None
    assert arrays["low"] is not None
    np.testing.assert_array_equal(arrays["high"], [103, 104])
    np.testing.assert_array_equal(arrays["low"], [99, 98])
    render_heatmap_png(tmp_path / "r.png", **arrays, width_px=640, height_px=400)
    assert imread(tmp_path / "r.png").shape[:2] == (400, 640)
    per_column = heatmap_from_result(res, np.array([1.0, 2.0]))
    np.testing.assert_array_equal(per_column["close"], [1.0, 2.0])
    with pytest.raises(ValidationError, match="close has shape"):
        heatmap_from_result(res, np.zeros(3))


def test_import_does_not_load_matplotlib() -> None:
    code = "import sys, helix.charts; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_infinite_close_is_rejected_but_nan_is_a_gap(tmp_path: Path) -> None:
    close = 100.0 + np.zeros(M)
    close[3] = np.nan
    render_heatmap_png(tmp_path / "gap.png", **a_grid(close=close))
    close[3] = np.inf
    with pytest.raises(ValidationError, match="close must be finite or NaN"):
        render_heatmap_png(tmp_path / "inf.png", **a_grid(close=close))
