"""The broadcast registry and the heatmap pictures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from events.base import Event
from events.ops import DeadLetter
from helix.broadcast.images import HeatmapImages, NoImages
from helix.broadcast.items import Item, Registry
from helix.broadcast.signals import default_registry, usd
from projections.heatmap import StoredHeatmap
from tests.unit import _factories as f


def describe_dead_letter(e: DeadLetter) -> Item:
    return Item(kind="dead_letter", ref="x", title="t", market="m", headline="h", score=None,
                facts=(), reason=e.reason, ts_event=e.ts_event)  # fmt: skip


def test_adding_a_kind_is_one_registration() -> None:
    registry = default_registry()
    registry.register(
        DeadLetter, subjects=("ldg.ops.dead.>",), describe=describe_dead_letter, kind="dead_letter"
    )
    assert registry.subjects() == ["ldg.signal.>", "ldg.ops.dead.>"]
    described = registry.describe(f.dead_letter())
    assert described is not None
    assert described.kind == "dead_letter"


def test_registering_twice_or_outside_the_ledger_is_refused() -> None:
    registry = default_registry()
    with pytest.raises(ValueError, match="registered already"):
        registry.register(type(f.oi_spike()), subjects=("ldg.x.>",), describe=lambda e: None,  # type: ignore[arg-type, return-value]
                          kind="oi")  # fmt: skip
    with pytest.raises(ValueError, match="LEDGER subjects"):
        Registry().register(DeadLetter, subjects=("bt.signal.>",), describe=describe_dead_letter,
                            kind="d")  # fmt: skip


def test_unregistered_events_are_not_items() -> None:
    assert default_registry().describe(f.trade()) is None


@pytest.mark.parametrize(
    "event",
    [f.cluster_targeted(), f.oi_spike(), f.volume_spike(), f.stop_hunt(), f.imbalance_ranked()],
    ids=lambda e: type(e).__name__,
)
def test_every_signal_is_described(event: Event) -> None:
    item = default_registry().describe(event)
    assert item is not None
    assert item.ref == event.event_id.hex[:8]
    assert item.title
    assert item.headline


def test_a_cross_market_ranking_has_no_picture_market() -> None:
    item = default_registry().describe(f.imbalance_ranked())
    assert item is not None
    assert (item.venue, item.symbol, item.market) == (None, None, "all markets")


def test_usd_is_compact() -> None:
    assert [usd(16_000_000), usd(950_000), usd(120), usd(2.5e9)] == [
        "$16.0M", "$950.0K", "$120", "$2.5B"]  # fmt: skip


def heatmap() -> StoredHeatmap:
    m, b = 12, 20
    rng = np.random.default_rng(1)
    close = np.linspace(95_000, 96_000, m)
    return StoredHeatmap(
        venue="bybit", symbol="BTCUSDT", window="24h", start_ns=0, end_ns=m * 3_600_000_000_000,
        edges=np.linspace(94_000, 97_000, b + 1), price=96_000.0, oi_z=None,
        column_ts=np.arange(1, m + 1, dtype=np.int64) * 3_600_000_000_000, open=close,
        high=close + 50, low=close - 50, close=close, long=rng.random((m, b)) * 1e6,
        short=rng.random((m, b)) * 1e6, consumed=np.zeros(m),
        clusters=[{"price": 96_500.0, "side": "short", "size_usd": 5e6, "score": 20.0}],
    )  # fmt: skip


async def test_heatmap_images_draw_a_png_once_per_item() -> None:
    calls: list[tuple[str, str, str]] = []

    async def load(venue: str, symbol: str, window: str) -> Any:
        calls.append((venue, symbol, window))
        return heatmap()

    images = HeatmapImages(load, window="7d")
    item = default_registry().describe(f.stop_hunt())
    assert item is not None
    png = await images.png(item)
    assert png is not None
    assert png.startswith(b"\x89PNG")
    assert await images.png(item) == png
    assert calls == [("bybit", "BTCUSDT", "7d")]


async def test_a_failing_or_missing_heatmap_gives_no_picture() -> None:
    async def broken(venue: str, symbol: str, window: str) -> Any:
        raise OSError("database down")

    async def missing(venue: str, symbol: str, window: str) -> Any:
        return None

    item = default_registry().describe(f.cluster_targeted())
    assert item is not None
    assert await HeatmapImages(broken).png(item) is None
    assert await HeatmapImages(missing).png(item) is None
    assert await NoImages().png(item) is None
