"""What Grafana does to a panel's SQL before PostgreSQL sees it, for checking dashboards.

Grafana rewrites a PostgreSQL query in three steps, reproduced here in the same order:

1. **Template variables** (in the browser, ``SqlDatasource.interpolateVariable``): ``$name``,
   ``${name}``, ``${name:format}`` and the deprecated ``[[name]]`` become the variable's current
   value.  A single-valued variable is inserted *raw* with ``'`` doubled, so a query writes
   ``symbol = '$symbol'``; a multi-value or include-All variable becomes a quoted, comma-joined
   list (``symbol IN ($symbol)``), and All with an ``allValue`` inserts that value raw.  Formats
   ``sqlstring``, ``raw``, ``csv``, ``singlequote``, ``doublequote`` are supported.  The built-in
   ``$__from``/``$__to`` (epoch ms), ``$__range_s``/``$__range_ms`` are replaced here too.
   Names that are not variables (``$__timeFilter``) are left alone, as Grafana does.
2. **Global substitutions** (backend ``sqleng.Interpolate``): ``$__interval_ms`` (integer ms),
   ``$__interval`` (``gtime.FormatInterval``: ``1m``, ``5s``, ``2h``, ``1d``),
   ``$__unixEpochFrom()`` and ``$__unixEpochTo()`` (epoch seconds).
3. **Macros** (backend ``postgresMacroEngine``, regex ``\\$(\\w+)\\(([^)]*)\\)``, arguments split
   on commas and trimmed):

   ========================================= ===============================================
   ``$__time(c)``                            ``c AS "time"``
   ``$__timeEpoch(c)``                       ``extract(epoch from c) as "time"``
   ``$__timeFilter(c)``                      ``c BETWEEN '<from>' AND '<to>'`` (RFC 3339, UTC)
   ``$__timeFrom()`` / ``$__timeTo()``       ``'<from>'`` / ``'<to>'``
   ``$__timeGroup(c, '5m'[, fill])``         ``floor(extract(epoch from c)/300)*300``, or
                                             ``time_bucket('300.000s',c)`` when the datasource
                                             has ``timescaledb: true``
   ``$__timeGroupAlias(c, '5m')``            the same plus ``AS "time"``
   ``$__unixEpochFilter(c)``                 ``c >= <from s> AND c <= <to s>``
   ``$__unixEpochNanoFilter(c)``             ``c >= <from ns> AND c <= <to ns>``
   ``$__unixEpochNanoFrom()`` / ``...To()``  ``<from ns>`` / ``<to ns>``
   ``$__unixEpochGroup(c, '5m')``            ``floor((c)/300)*300`` (``...Alias``: ``AS "time"``)
   ========================================= ===============================================

   Grafana's pre-5.3 quirk is kept: ``$__timeGroup(...)`` directly followed by a comma is
   expanded as ``$__timeGroupAlias``.  An unknown macro is an error, as in Grafana.

``$__interval`` depends on the panel's width: Grafana divides the time range by the panel's
``maxDataPoints`` (about its width in pixels) and rounds the result to a "nice" interval
(``rangeutil.roundInterval``); :func:`auto_interval` does the same for a given width.

Sources: grafana ``pkg/tsdb/grafana-postgresql-datasource/macros.go``, ``pkg/tsdb/sqleng``,
``public/app/features/plugins/sql/datasource/SqlDatasource.ts`` and Grafana's documentation of
the PostgreSQL query editor and of variable syntax.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from helix.errors import ValidationError

ALL = "$__all"
"""The value Grafana stores for an include-All variable set to All."""

_UNITS_S = {
    "ms": Decimal("0.001"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
    "d": Decimal(86400),
    "w": Decimal(604800),
    "y": Decimal(31536000),
}
_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$")
_RELATIVE = re.compile(r"^now(?:([+-])(\d+)(ms|s|m|h|d|w|y))?$")
_VARIABLE = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}"
)
_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")


@dataclass(frozen=True)
class TimeRange:
    """The dashboard's time range, resolved to instants (timezone-aware)."""

    start: datetime
    end: datetime

    @property
    def span(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class Variable:
    """A template variable's current value(s).

    Attributes:
        values: the selected values (one for a single-valued variable; all options when All
            is selected and there is no ``all_value``).
        multi: the variable is multi-value or include-All (values are quoted and joined).
        all_value: the custom value inserted raw when All is selected (Grafana's
            ``allValue``), else None.
        selected_all: All is selected.
    """

    name: str
    values: tuple[str, ...]
    multi: bool = False
    all_value: str | None = None
    selected_all: bool = False


# -- time ---------------------------------------------------------------------------------------


def parse_interval(text: str) -> timedelta:
    """``5m``, ``'1h'``, ``30s``, ``100ms``, ``1d``, ``1w``, ``1y`` (``gtime.ParseInterval``;
    months are not supported).

    Raises:
        ValidationError: not an interval.
    """
    m = _INTERVAL.match(text.strip().strip("'"))
    if not m:
        raise ValidationError(f"not a Grafana interval: {text!r}")
    seconds = Decimal(m.group(1)) * _UNITS_S[m.group(2)]
    return timedelta(microseconds=int(seconds * 1_000_000))


def format_interval(interval: timedelta) -> str:
    """Grafana's text for an interval (``gtime.FormatInterval``): whole units, largest first."""
    us = interval // timedelta(microseconds=1)
    for unit in ("y", "d", "h", "m", "s", "ms"):
        size = int(_UNITS_S[unit] * 1_000_000)
        if us >= size:
            return f"{us // size}{unit}"
    return "1ms"


_NICE_MS = (
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
)


def round_interval(ms: float) -> int:
    """Grafana's ``rangeutil.roundInterval``: a raw interval (ms) to the nice one below it."""
    for below, nice in _NICE_MS:
        if ms < below:
            return nice
    return 31_536_000_000


def auto_interval(
    time_range: TimeRange, *, max_data_points: int = 1000, min_interval: timedelta | None = None
) -> timedelta:
    """``$__interval`` for a panel about ``max_data_points`` pixels wide (at least
    ``min_interval``, the datasource's or panel's "min interval")."""
    raw_ms = time_range.span / timedelta(milliseconds=1) / max(1, max_data_points)
    interval = timedelta(milliseconds=round_interval(raw_ms))
    if min_interval is not None and interval < min_interval:
        return min_interval
    return interval


def parse_time(text: str, now: datetime) -> datetime:
    """One end of a dashboard's ``time`` setting: ``now``, ``now-6h``, an ISO 8601 instant or
    epoch milliseconds.  Rounding (``now/d``) is not supported.

    Raises:
        ValidationError: a form this parser does not know.
    """
    text = text.strip()
    m = _RELATIVE.match(text)
    if m:
        if not m.group(1):
            return now
        delta = timedelta(seconds=float(Decimal(m.group(2)) * _UNITS_S[m.group(3)]))
        return now - delta if m.group(1) == "-" else now + delta
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"unsupported Grafana time {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def dashboard_time_range(time: Mapping[str, str], now: datetime) -> TimeRange:
    """The range a dashboard opens with (its ``time: {from, to}``); ``now`` is truncated to
    milliseconds, the browser's precision."""
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return TimeRange(parse_time(time["from"], now), parse_time(time["to"], now))


def rfc3339(t: datetime) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: no trailing zeros in the fraction, ``Z`` suffix."""
    t = t.astimezone(UTC)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        text += "." + f"{t.microsecond:06d}".rstrip("0")
    return text + "Z"


def _go_float(x: float) -> str:
    """Go's ``%v`` for a float64: shortest digits, exponent form from 1e+06 or below 1e-04."""
    d = Decimal(repr(float(x))).normalize()
    sign, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    e10 = len(digits) + exp - 1
    if d == 0:
        return "0"
    if e10 < -4 or e10 >= 6:
        mant = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
        return f"{'-' if sign else ''}{mant}e{'-' if e10 < 0 else '+'}{abs(e10):02d}"
    return format(d, "f")


def _epoch_s(t: datetime) -> int:
    return int(t.timestamp())


def _epoch_ns(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


# -- step 1: template variables -----------------------------------------------------------------


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _format(var: Variable, fmt: str | None) -> str:
    if var.selected_all and var.all_value is not None:
        return var.all_value
    values = var.values
    if fmt is None:
        if var.multi:
            return ",".join(_quote(v) for v in values)
        return values[0].replace("'", "''") if values else ""
    if fmt == "sqlstring":
        return ",".join(_quote(v) for v in values)
    if fmt == "raw":
        return ",".join(values)
    if fmt == "csv":
        return ",".join(values)
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    raise ValidationError(f"unsupported variable format {fmt!r} for ${{{var.name}}}")


def interpolate_variables(
    sql: str,
    variables: Mapping[str, Variable],
    *,
    time_range: TimeRange | None = None,
) -> str:
    """Step 1: replace template variables (and ``$__from``, ``$__to``, ``$__range_s``,
    ``$__range_ms``); unknown names stay as they are.

    Raises:
        ValidationError: an unsupported ``${name:format}``.
    """
    builtins: dict[str, str] = {}
    if time_range is not None:
        builtins = {
            "__from": str(_epoch_ns(time_range.start) // 1_000_000),
            "__to": str(_epoch_ns(time_range.end) // 1_000_000),
            "__range_s": str(int(time_range.span.total_seconds())),
            "__range_ms": str(time_range.span // timedelta(milliseconds=1)),
        }

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(6)
        if name in variables:
            return _format(variables[name], fmt)
        if name in builtins:
            return builtins[name]
        return m.group(0)

    return _VARIABLE.sub(repl, sql)


# -- steps 2 and 3: the backend -----------------------------------------------------------------


def interpolate_globals(sql: str, *, time_range: TimeRange, interval: timedelta) -> str:
    """Step 2: ``$__interval_ms``, ``$__interval``, ``$__unixEpochFrom()``, ``$__unixEpochTo()``."""
    sql = sql.replace("$__interval_ms", str(interval // timedelta(milliseconds=1)))
    sql = sql.replace("$__interval", format_interval(interval))
    sql = sql.replace("$__unixEpochFrom()", str(_epoch_s(time_range.start)))
    return sql.replace("$__unixEpochTo()", str(_epoch_s(time_range.end)))


def _need(name: str, args: Sequence[str], n: int) -> None:
    if len(args) < n or not args[0]:
        what = "time column" if n == 1 else "time column and interval"
        raise ValidationError(f"macro ${name} needs {what}")


def _fill(name: str, args: Sequence[str]) -> None:
    """A fill argument only changes Grafana's post-processing; it must still be valid."""
    if len(args) == 3 and args[2] not in ("NULL", "previous"):
        try:
            float(args[2])
        except ValueError:
            raise ValidationError(f"macro ${name}: bad fill value {args[2]!r}") from None


def _macro(name: str, args: list[str], time_range: TimeRange, timescaledb: bool) -> str:
    frm, to = time_range.start, time_range.end
    table: dict[str, Callable[[], str]] = {
        "__time": lambda: f'{args[0]} AS "time"',
        "__timeEpoch": lambda: f'extract(epoch from {args[0]}) as "time"',
        "__timeFilter": lambda: f"{args[0]} BETWEEN '{rfc3339(frm)}' AND '{rfc3339(to)}'",
        "__unixEpochFilter": lambda: (
            f"{args[0]} >= {_epoch_s(frm)} AND {args[0]} <= {_epoch_s(to)}"
        ),
        "__unixEpochNanoFilter": lambda: (
            f"{args[0]} >= {_epoch_ns(frm)} AND {args[0]} <= {_epoch_ns(to)}"
        ),
    }
    if name in table:
        _need(name, args, 1)
        return table[name]()
    if name == "__timeFrom":
        return f"'{rfc3339(frm)}'"
    if name == "__timeTo":
        return f"'{rfc3339(to)}'"
    if name == "__unixEpochNanoFrom":
        return str(_epoch_ns(frm))
    if name == "__unixEpochNanoTo":
        return str(_epoch_ns(to))
    if name in ("__timeGroup", "__timeGroupAlias", "__unixEpochGroup", "__unixEpochGroupAlias"):
        _need(name, args, 2)
        _fill(name, args)
        seconds = parse_interval(args[1]).total_seconds()
        if name.startswith("__unixEpoch"):
            expr = f"floor(({args[0]})/{_go_float(seconds)})*{_go_float(seconds)}"
        elif timescaledb:
            expr = f"time_bucket('{seconds:.3f}s',{args[0]})"
        else:
            expr = f"floor(extract(epoch from {args[0]})/{_go_float(seconds)})*{_go_float(seconds)}"
        return expr + (' AS "time"' if name.endswith("Alias") else "")
    raise ValidationError(f"unknown macro {name!r}")


def expand_macros(sql: str, *, time_range: TimeRange, timescaledb: bool) -> str:
    """Step 3: Grafana's PostgreSQL macros (see the module docstring).

    Raises:
        ValidationError: an unknown macro, a missing argument or a bad interval.
    """

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "__timeGroup":
            index = sql.find(m.group(0))
            after = index + len(m.group(0))
            if index >= 0 and after < len(sql) and sql[after] == ",":
                name = "__timeGroupAlias"  # Grafana's pre-5.3 compatibility
        args = [a.strip() for a in m.group(2).split(",")]
        return _macro(name, args, time_range, timescaledb)

    return _MACRO.sub(repl, sql)


def expand(
    sql: str,
    *,
    time_range: TimeRange,
    variables: Mapping[str, Variable],
    interval: timedelta,
    timescaledb: bool,
) -> str:
    """The SQL PostgreSQL receives for ``sql``: steps 1, 2 and 3 in Grafana's order.

    Raises:
        ValidationError: see :func:`interpolate_variables` and :func:`expand_macros`.
    """
    sql = interpolate_variables(sql, variables, time_range=time_range)
    sql = interpolate_globals(sql, time_range=time_range, interval=interval)
    return expand_macros(sql, time_range=time_range, timescaledb=timescaledb)
