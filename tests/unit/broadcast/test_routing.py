"""HELIX_BROADCAST_ROUTES: kinds and minimum scores per channel."""

from __future__ import annotations

import pytest

from events.signals import SIGNAL_KINDS
from helix.broadcast.items import Item
from helix.broadcast.routing import Routes, parse_routes
from helix.broadcast.signals import default_registry
from helix.errors import ConfigError
from helix.settings import Settings
from tests.unit import _factories as f

REGISTRY = default_registry()


def item(event: object) -> Item:
    described = REGISTRY.describe(event)  # type: ignore[arg-type]
    assert described is not None
    return described


def default_routes() -> Routes:
    return parse_routes(Settings(home="/h").broadcast_routes, REGISTRY.kind_names())


def test_registry_kinds_are_the_signal_kinds() -> None:
    assert sorted(REGISTRY.kind_names()) == sorted(SIGNAL_KINDS)
    assert REGISTRY.subjects() == ["ldg.signal.>"]


def test_default_sends_a_strong_cluster_everywhere() -> None:
    strong = item(f.cluster_targeted(score=44.6))
    assert default_routes().channels_for(strong) == ["telegram", "x", "email", "sms"]


def test_default_keeps_sms_for_the_highest_conviction() -> None:
    routes = default_routes()
    assert "sms" not in routes.channels_for(item(f.cluster_targeted(score=29.9)))
    assert "sms" not in routes.channels_for(item(f.oi_spike(z=99.0)))


def test_default_keeps_hourly_rankings_off_x() -> None:
    assert default_routes().channels_for(item(f.imbalance_ranked())) == ["telegram", "email"]


def test_min_score_compares_in_the_kinds_own_units() -> None:
    routes = parse_routes("telegram:oi_spike:3", REGISTRY.kind_names())
    assert routes.wants("telegram", item(f.oi_spike(z=3.0)))
    assert not routes.wants("telegram", item(f.oi_spike(z=2.9)))
    assert not routes.wants("x", item(f.oi_spike(z=30.0)))


def test_an_infinite_z_passes_a_minimum() -> None:
    routes = parse_routes("sms:volume_spike:5", REGISTRY.kind_names())
    assert routes.wants("sms", item(f.volume_spike(z=float("inf"))))


def test_any_matching_rule_routes() -> None:
    routes = parse_routes(
        "sms:stop_hunt; sms:liquidation_cluster_targeted:40", REGISTRY.kind_names()
    )
    assert routes.wants("sms", item(f.stop_hunt()))
    assert routes.wants("sms", item(f.cluster_targeted(score=41.0)))
    assert not routes.wants("sms", item(f.cluster_targeted(score=39.0)))


def test_empty_routes_send_nothing() -> None:
    assert parse_routes("", REGISTRY.kind_names()).channels_for(item(f.stop_hunt())) == []


@pytest.mark.parametrize(
    "text",
    ["pager:*", "telegram:not_a_kind", "telegram", "telegram:*:lots", "sms:a:b:c", "x:,"],
)
def test_bad_routes_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="broadcast route"):
        parse_routes(text, REGISTRY.kind_names())


def test_describe_lists_rules_per_channel() -> None:
    described = default_routes().describe()
    assert described["sms"] == ["liquidation_cluster_targeted score>=30"]
    assert described["telegram"] == ["*"]
