"""Charts: static images of Helix's quant outputs (matplotlib Agg, imported lazily).

``import helix.charts`` loads only numpy and the error tree; matplotlib is imported the first time
something is drawn, so CLIs and services that never draw pay nothing for it.

* :mod:`helix.charts.heatmap_png`: the LHM-1 liquidation heatmap as a PNG.
* :mod:`helix.charts.scales`: pure label and tick helpers (USD, price, UTC time).
"""

from helix.charts.heatmap_png import (
    ClusterMark,
    HeatmapArrays,
    heatmap_from_result,
    render_heatmap_png,
)
from helix.charts.scales import format_usd

__all__ = [
    "ClusterMark",
    "HeatmapArrays",
    "format_usd",
    "heatmap_from_result",
    "render_heatmap_png",
]
