"""Feed status: a NATS key-value entry per feed (for ``helix feeds status``) and Prometheus
metrics (events in, lag, reconnects, repairs, dead letters) on an HTTP port."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from nats.aio.client import Client as NATS
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

BUCKET = "helix_feeds"


async def status_bucket(nc: NATS) -> KeyValue:
    js = nc.jetstream()
    try:
        return await js.key_value(BUCKET)
    except (BucketNotFoundError, NotFoundError):
        return await js.create_key_value(bucket=BUCKET, history=1)


async def publish_status(kv: KeyValue, venue: str, snapshot: dict[str, Any]) -> None:
    snapshot = {**snapshot, "updated_ns": time.time_ns()}
    await kv.put(venue, json.dumps(snapshot).encode())


async def read_status(nc: NATS) -> dict[str, dict[str, Any]]:
    """Every feed's last published status, by venue."""
    kv = await status_bucket(nc)
    out: dict[str, dict[str, Any]] = {}
    try:
        keys = await kv.keys()
    except Exception:  # nats-py raises NoKeysError (not exported consistently) when empty
        return out
    for key in keys:
        entry = await kv.get(key)
        if entry.value:
            out[key] = json.loads(entry.value)
    return out


class FeedCollector(Collector):
    """Reads the feed's statistics at scrape time (no second set of counters to keep)."""

    def __init__(self, venue: str, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.venue = venue
        self.snapshot = snapshot

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        snap = self.snapshot()
        events = CounterMetricFamily(
            "helix_feed_events", "Events published", labels=["venue", "symbol", "kind"]
        )
        repaired = CounterMetricFamily(
            "helix_feed_repaired_trades", "Trades recovered from REST", labels=["venue", "symbol"]
        )
        lag = GaugeMetricFamily(
            "helix_feed_lag_seconds", "Now minus the newest event time", labels=["venue", "symbol"]
        )
        now = time.time_ns()
        for symbol, st in snap.get("symbols", {}).items():
            for kind in ("trades", "liquidations", "tickers", "klines"):
                events.add_metric([self.venue, symbol, kind], st[kind])
            repaired.add_metric([self.venue, symbol], st["repaired"])
            if st["last_event_ns"]:
                lag.add_metric([self.venue, symbol], (now - st["last_event_ns"]) / 1e9)
        yield events
        yield repaired
        yield lag
        reconnects = CounterMetricFamily("helix_feed_reconnects", "Reconnects", labels=["venue"])
        reconnects.add_metric([self.venue], snap.get("reconnects", 0))
        yield reconnects
        dlq = CounterMetricFamily("helix_feed_dead_letters", "Dead letters", labels=["venue"])
        dlq.add_metric([self.venue], snap.get("dead_letters", 0))
        yield dlq


def serve_metrics(port: int, collector: Collector) -> CollectorRegistry:
    """Expose ``collector`` on ``http://0.0.0.0:port/metrics`` (a daemon thread)."""
    registry = CollectorRegistry()
    registry.register(collector)
    start_http_server(port, addr="127.0.0.1", registry=registry)
    return registry
