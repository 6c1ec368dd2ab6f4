"""The dashboard files themselves: well-formed, one datasource, the promised variables, and a
time range that shows the demo (no database needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helix.errors import ConfigError
from helix.grafana.dashboards import (
    DASHBOARDS_DIR,
    DATASOURCE_TYPE,
    DATASOURCE_UID,
    as_role,
    database_parts,
    datasource_payload,
    iter_panels,
    load_dashboards,
    queries,
)
from helix.grafana.macros import dashboard_time_range

DASHBOARDS = {d["uid"]: d for d in load_dashboards()}
DEMO_DAY = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC))
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_dashboards_of_the_read_models_that_exist() -> None:
    assert set(DASHBOARDS) == {
        "helix-market",
        "helix-heatmap",
        "helix-signals",
        "helix-trading",
        "helix-operations",
        "helix-fund",
        "helix-polymarket",
        "helix-hybrid",
    }


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_panels_are_well_formed(uid: str) -> None:
    d = DASHBOARDS[uid]
    panels = list(iter_panels(d))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in panels:
        g = p["gridPos"]
        assert g["x"] >= 0, p["title"]
        assert g["x"] + g["w"] <= 24, p["title"]
        assert g["h"] > 0, p["title"]
        for t in p.get("targets", []):
            assert t["datasource"] == {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}
            assert t["rawQuery"] is True
            assert t["editorMode"] == "code"
            assert t["format"] in ("table", "time_series")
            if t["format"] == "time_series":
                assert (
                    " AS time" in t["rawSql"]
                    or 'AS "time"' in t["rawSql"]
                    or ("$__timeGroupAlias" in t["rawSql"])
                ), p["title"]
    assert d["timezone"] == "utc"
    assert "helix" in d["tags"]


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_every_sql_uses_the_helix_datasource(uid: str) -> None:
    d = DASHBOARDS[uid]
    for var in d["templating"]["list"]:
        if var["type"] == "query":
            assert var["datasource"]["uid"] == DATASOURCE_UID
    for ann in d["annotations"]["list"]:
        if not ann.get("builtIn"):
            assert ann["datasource"]["uid"] == DATASOURCE_UID


def test_time_ranges_show_the_demo_day_except_trading_and_fund_in_wall_clock_time() -> None:
    for uid, d in DASHBOARDS.items():
        tr = dashboard_time_range(d["time"], NOW)
        if uid == "helix-trading":
            assert d["time"] == {"from": "now-7d", "to": "now"}
        elif uid == "helix-fund":  # NAV strikes are daily: a year of them
            assert d["time"] == {"from": "now-1y", "to": "now"}
        elif uid == "helix-hybrid":  # fills are booked when the paper orders fill
            assert d["time"] == {"from": "now-30d", "to": "now"}
        elif uid == "helix-polymarket":  # the demo's month of resolved markets, then its day
            assert (tr.start, tr.end) == (datetime(2024, 12, 1, tzinfo=UTC), DEMO_DAY[1])
        else:
            assert (tr.start, tr.end) == DEMO_DAY, uid


def _variables(d: dict[str, Any]) -> set[str]:
    return {v["name"] for v in d["templating"]["list"]}


def test_template_variables_for_symbol_and_window() -> None:
    for uid in ("helix-market", "helix-heatmap", "helix-signals"):
        assert "symbol" in _variables(DASHBOARDS[uid]), uid
    assert "window" in _variables(DASHBOARDS["helix-heatmap"])
    assert "tf" in _variables(DASHBOARDS["helix-market"])
    heatmap = next(p for p in DASHBOARDS["helix-heatmap"]["panels"] if p["type"] == "heatmap")
    assert "${window}" in heatmap["targets"][0]["rawSql"]
    assert heatmap["options"]["calculate"] is False


def test_polymarket_and_hybrid_dashboards_read_their_models_with_their_variables() -> None:
    poly, hybrid = DASHBOARDS["helix-polymarket"], DASHBOARDS["helix-hybrid"]
    assert _variables(poly) == {"kind", "account"}
    assert _variables(hybrid) == {"account", "strategy"}
    poly_sql = " ".join(q.sql for q in queries(poly))
    hybrid_sql = " ".join(q.sql for q in queries(hybrid))
    for model in (
        "poly_markets",
        "poly_tokens",
        "poly_prices_hourly",
        "wallets",
        "wallet_scores",
        "wallet_clusters",
        "signals",
        "poly_position_marks",
    ):
        assert f"FROM {model}" in poly_sql or f"JOIN {model}" in poly_sql, model
    for p in iter_panels(hybrid):
        for t in p.get("targets", []):
            assert "FROM hybrid_roi" in t["rawSql"], p["title"]
            assert "account IN ($account) AND strategy IN ($strategy)" in t["rawSql"], p["title"]
    for leg in ("perps_pnl", "poly_pnl", "combined_pnl", "perps_cost", "poly_cost"):
        assert leg in hybrid_sql, leg


def test_signals_are_annotations_on_the_price_chart() -> None:
    d = DASHBOARDS["helix-signals"]
    [ann] = [a for a in d["annotations"]["list"] if not a.get("builtIn")]
    assert "FROM signals" in ann["target"]["rawSql"]
    assert any(p["type"] == "timeseries" and "candles_1m" in p["targets"][0]["rawSql"]
               for p in d["panels"])  # fmt: skip


def test_queries_lists_variables_annotations_and_targets() -> None:
    kinds = {q.kind for d in DASHBOARDS.values() for q in queries(d)}
    assert kinds == {"variable", "annotation", "panel"}
    assert all(q.sql.strip() for d in DASHBOARDS.values() for q in queries(d))


def test_files_are_plain_dashboard_models_formatted_stably() -> None:
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        assert "dashboard" not in data  # provisioning reads the model itself, not an API body
        assert path.read_text() == json.dumps(data, indent=2) + "\n", path.name


def test_load_refuses_non_dashboards(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"title": "no panels"}')
    with pytest.raises(ConfigError, match="not a Grafana dashboard"):
        load_dashboards(tmp_path)
    with pytest.raises(ConfigError, match="no dashboards"):
        load_dashboards(tmp_path / "empty")


def test_datasource_payload_and_urls() -> None:
    host, db, user, password = database_parts("postgresql://u:p%40ss@db.example:6432/market")
    assert (host, db, user, password) == ("db.example:6432", "market", "u", "p@ss")
    ds = datasource_payload(host=host, database=db, password="pw")
    assert ds["uid"] == DATASOURCE_UID
    assert ds["type"] == DATASOURCE_TYPE
    assert ds["user"] == "helix_reader"
    assert ds["database"] == ds["jsonData"]["database"] == "market"
    assert ds["secureJsonData"] == {"password": "pw"}
    assert "secureJsonData" not in datasource_payload(host=host, database=db)
    assert as_role("postgresql://helix@127.0.0.1:5/helix", "helix_reader") == (
        "postgresql://helix_reader@127.0.0.1:5/helix"
    )
    assert as_role("postgresql://a:b@h/d", "r", "p/w") == "postgresql://r:p%2Fw@h/d"
