"""Grafana's rewriting of a panel's SQL, step by step (helix/grafana/macros.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helix.errors import ValidationError
from helix.grafana.macros import (
    TimeRange,
    Variable,
    auto_interval,
    dashboard_time_range,
    expand,
    expand_macros,
    format_interval,
    interpolate_globals,
    interpolate_variables,
    parse_interval,
    parse_time,
    rfc3339,
)

DAY = TimeRange(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC))
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def macros(sql: str, *, timescaledb: bool = False) -> str:
    return expand_macros(sql, time_range=DAY, timescaledb=timescaledb)


def test_time_filter_is_a_between_of_rfc3339_instants() -> None:
    assert macros("WHERE $__timeFilter(bucket)") == (
        "WHERE bucket BETWEEN '2025-01-01T00:00:00Z' AND '2025-01-02T00:00:00Z'"
    )


def test_time_from_and_to_are_quoted_instants() -> None:
    assert macros("$__timeFrom()::date, $__timeTo()") == (
        "'2025-01-01T00:00:00Z'::date, '2025-01-02T00:00:00Z'"
    )


def test_rfc3339_drops_trailing_zeros_of_the_fraction_like_go() -> None:
    assert rfc3339(datetime(2025, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)) == "2025-01-01T00:00:00.5Z"
    assert rfc3339(datetime(2025, 1, 1, 1, tzinfo=UTC)) == "2025-01-01T01:00:00Z"


def test_time_group_on_plain_postgres_is_an_epoch_floor() -> None:
    assert (
        macros("$__timeGroupAlias(ts, '5m')") == 'floor(extract(epoch from ts)/300)*300 AS "time"'
    )
    assert (
        macros("GROUP BY $__timeGroup(ts, 1h)")
        == "GROUP BY floor(extract(epoch from ts)/3600)*3600"
    )


def test_time_group_on_timescaledb_is_time_bucket() -> None:
    assert macros("$__timeGroupAlias(ts, '1m')", timescaledb=True) == (
        "time_bucket('60.000s',ts) AS \"time\""
    )


def test_time_group_followed_by_a_comma_gets_its_alias_as_in_grafana_before_5_3() -> None:
    assert macros("SELECT $__timeGroup(ts, '1m'), x") == (
        'SELECT floor(extract(epoch from ts)/60)*60 AS "time", x'
    )


def test_time_group_seconds_print_like_go_floats() -> None:
    assert macros("$__timeGroup(ts, 1y)") == "floor(extract(epoch from ts)/3.1536e+07)*3.1536e+07"
    assert macros("$__timeGroup(ts, 500ms)") == "floor(extract(epoch from ts)/0.5)*0.5"


def test_the_other_macros() -> None:
    assert macros("$__time(ts)") == 'ts AS "time"'
    assert macros("$__timeEpoch(ts)") == 'extract(epoch from ts) as "time"'
    assert macros("$__unixEpochFilter(t)") == "t >= 1735689600 AND t <= 1735776000"
    assert macros("$__unixEpochNanoFrom()") == "1735689600000000000"
    assert macros("$__unixEpochNanoFilter(n)") == (
        "n >= 1735689600000000000 AND n <= 1735776000000000000"
    )
    assert macros("$__unixEpochGroupAlias(t, '1h')") == 'floor((t)/3600)*3600 AS "time"'


def test_unknown_macros_and_missing_arguments_are_errors() -> None:
    with pytest.raises(ValidationError, match="unknown macro"):
        macros("$__nope(x)")
    with pytest.raises(ValidationError, match="needs time column"):
        macros("$__timeFilter()")
    with pytest.raises(ValidationError, match="not a Grafana interval"):
        macros("$__timeGroup(ts, 'soon')")
    with pytest.raises(ValidationError, match="bad fill value"):
        macros("$__timeGroup(ts, '1m', sometimes)")


def test_a_fill_value_is_accepted_and_changes_nothing_in_the_sql() -> None:
    assert macros("$__timeGroup(ts, '1m', NULL)") == "floor(extract(epoch from ts)/60)*60"


def test_globals_interval_and_epoch_bounds() -> None:
    sql = "$__interval_ms $__interval $__unixEpochFrom() $__unixEpochTo()"
    out = interpolate_globals(sql, time_range=DAY, interval=timedelta(minutes=5))
    assert out == "300000 5m 1735689600 1735776000"


@pytest.mark.parametrize(
    ("interval", "text"),
    [
        (timedelta(milliseconds=100), "100ms"),
        (timedelta(seconds=30), "30s"),
        (timedelta(seconds=90), "1m"),
        (timedelta(hours=2), "2h"),
        (timedelta(days=7), "7d"),
        (timedelta(days=400), "1y"),
    ],
)
def test_format_interval_uses_the_largest_whole_unit(interval: timedelta, text: str) -> None:
    assert format_interval(interval) == text


def test_auto_interval_rounds_range_over_width_to_a_nice_interval() -> None:
    assert auto_interval(DAY) == timedelta(minutes=1)  # 86.4 s per pixel
    assert auto_interval(DAY, max_data_points=100) == timedelta(minutes=15)  # 864 s
    week = TimeRange(DAY.start, DAY.start + timedelta(days=7))
    assert auto_interval(week) == timedelta(minutes=10)  # 604.8 s
    assert auto_interval(DAY, min_interval=timedelta(minutes=5)) == timedelta(minutes=5)


def test_single_valued_variables_are_raw_with_quotes_doubled() -> None:
    variables = {"symbol": Variable("symbol", ("BTCUSDT",)), "who": Variable("who", ("o'hara",))}
    sql = "symbol = '$symbol' AND x = '${symbol}' AND y = '[[symbol]]' AND w = '$who'"
    assert interpolate_variables(sql, variables) == (
        "symbol = 'BTCUSDT' AND x = 'BTCUSDT' AND y = 'BTCUSDT' AND w = 'o''hara'"
    )


def test_multi_value_and_all_become_quoted_lists_or_the_all_value() -> None:
    kinds = Variable("kind", ("a", "b'c"), multi=True)
    assert interpolate_variables("kind IN ($kind)", {"kind": kinds}) == "kind IN ('a','b''c')"
    every = Variable("kind", ("a", "b"), multi=True, all_value="kind", selected_all=True)
    assert interpolate_variables("kind IN ($kind)", {"kind": every}) == "kind IN (kind)"


def test_variable_formats() -> None:
    v = {"s": Variable("s", ("a", "b"), multi=True)}
    assert interpolate_variables("${s:sqlstring}|${s:csv}|${s:raw}", v) == "'a','b'|a,b|a,b"
    with pytest.raises(ValidationError, match="unsupported variable format"):
        interpolate_variables("${s:percentencode}", v)


def test_unknown_names_and_macros_are_left_for_later_steps() -> None:
    sql = "$__timeFilter(ts) AND $nope AND ${__interval}"
    assert interpolate_variables(sql, {}) == sql


def test_builtin_time_variables() -> None:
    out = interpolate_variables("$__from $__to $__range_s", {}, time_range=DAY)
    assert out == "1735689600000 1735776000000 86400"


def test_expand_runs_the_three_steps_in_grafanas_order() -> None:
    sql = (
        "SELECT $__timeGroupAlias(bucket, $__interval), sum(trades) FROM candles_1m"
        " WHERE symbol = '$symbol' AND $__timeFilter(bucket) GROUP BY 1"
    )
    out = expand(
        sql,
        time_range=DAY,
        variables={"symbol": Variable("symbol", ("ETHUSDT",))},
        interval=timedelta(minutes=1),
        timescaledb=True,
    )
    assert out == (
        "SELECT time_bucket('60.000s',bucket) AS \"time\", sum(trades) FROM candles_1m"
        " WHERE symbol = 'ETHUSDT'"
        " AND bucket BETWEEN '2025-01-01T00:00:00Z' AND '2025-01-02T00:00:00Z' GROUP BY 1"
    )


def test_dashboard_time_ranges_absolute_and_relative() -> None:
    absolute = {"from": "2025-01-01T00:00:00.000Z", "to": "2025-01-02T00:00:00.000Z"}
    assert dashboard_time_range(absolute, NOW) == DAY
    relative = dashboard_time_range({"from": "now-7d", "to": "now"}, NOW)
    assert relative == TimeRange(NOW - timedelta(days=7), NOW)
    assert parse_time("1735689600000", NOW) == DAY.start
    with pytest.raises(ValidationError):
        parse_time("now/d", NOW)


def test_parse_interval() -> None:
    assert parse_interval("'5m'") == timedelta(minutes=5)
    assert parse_interval("1w") == timedelta(days=7)
    assert parse_interval("250ms") == timedelta(milliseconds=250)
