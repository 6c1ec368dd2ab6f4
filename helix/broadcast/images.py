"""Heatmap pictures for broadcast items, from the ``heatmap`` read model.

A picture is decoration: an item without a market (a cross-market ranking), a market without a
heatmap yet, or any failure to load or draw gives ``None`` and the message goes without one (a
signal is never held back for its picture).  The heatmap is the market's latest for the
window, drawn when the first channel asks and shared by the others (a small cache by item).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from helix.broadcast.items import Item

log = logging.getLogger(__name__)

Loader = Callable[[str, str, str], Awaitable[Any]]
"""``(venue, symbol, window) -> StoredHeatmap | None``."""


class ImageSource(Protocol):
    async def png(self, item: Item) -> bytes | None: ...


class NoImages:
    """Never a picture (text-only broadcasting)."""

    async def png(self, item: Item) -> bytes | None:
        return None


def draw_png(hm: Any, *, width_px: int = 1200, height_px: int = 675) -> bytes:
    """Draw a :class:`projections.heatmap.StoredHeatmap` and return the PNG bytes."""
    from helix.charts.heatmap_png import render_stored_heatmap

    with tempfile.TemporaryDirectory(prefix="helix-broadcast-") as tmp:
        path = Path(tmp) / "heatmap.png"
        render_stored_heatmap(
            hm, path, title=f"{hm.venue} {hm.symbol} liquidation heatmap, {hm.window}",
            width_px=width_px, height_px=height_px,
        )  # fmt: skip
        return path.read_bytes()


class HeatmapImages:
    """Pictures from a heatmap loader (see :meth:`from_database`)."""

    def __init__(self, load: Loader, *, window: str = "24h", cache: int = 16) -> None:
        self._load = load
        self._window = window
        self._cache: OrderedDict[str, bytes | None] = OrderedDict()
        self._size = cache
        self._lock = asyncio.Lock()

    @classmethod
    def from_database(cls, database_url: str, *, window: str = "24h") -> HeatmapImages:
        """Load from PostgreSQL (a connection per picture: they are rare)."""

        async def load(venue: str, symbol: str, win: str) -> Any:
            from helix.db.connect import connect_pg
            from projections.heatmap import load_heatmap

            conn = await connect_pg(database_url)
            try:
                return await load_heatmap(conn, venue, symbol, win)
            finally:
                await conn.close()

        return cls(load, window=window)

    async def png(self, item: Item) -> bytes | None:
        if item.venue is None or item.symbol is None:
            return None
        async with self._lock:  # channels ask at once; draw once
            if item.ref in self._cache:
                return self._cache[item.ref]
            data = await self._draw(item.venue, item.symbol, item.window or self._window)
            self._cache[item.ref] = data
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
            return data

    async def _draw(self, venue: str, symbol: str, window: str) -> bytes | None:
        try:
            hm = await self._load(venue, symbol, window)
            if hm is None or not len(hm.column_ts):
                return None
            return await asyncio.to_thread(draw_png, hm)
        except Exception as exc:  # a picture never stops a broadcast
            log.warning("no heatmap for %s %s %s: %s", venue, symbol, window, type(exc).__name__)
            return None
