"""A run's report: equity and drawdown chart (PNG), an HTML page, the manifest and metrics.

Written to ``<home>/backtests/<run id>/``: ``equity.png``, ``report.html`` (self-contained:
the chart is inlined), ``manifest.json`` and ``metrics.json``.  Rendering uses matplotlib's
object API on the Agg backend, with no creation date in the PNG.
"""

from __future__ import annotations

import base64
import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helix.backtest.engine import Spec
    from helix.backtest.runs import RunRecord

LABELS = {
    "total_return": ("total return", "{:.2%}"),
    "annualized_return": ("annualised return", "{:.2%}"),
    "sharpe": ("Sharpe (daily, ×√365)", "{:.2f}"),
    "sortino": ("Sortino (daily, ×√365)", "{:.2f}"),
    "max_drawdown": ("max drawdown", "{:.2%}"),
    "max_drawdown_days": ("max drawdown duration (days)", "{:.2f}"),
    "trades": ("round trips", "{}"),
    "win_rate": ("win rate", "{:.1%}"),
    "profit_factor": ("profit factor", "{:.2f}"),
    "exposure": ("exposure (time in a position)", "{:.1%}"),
    "turnover": ("turnover (notional / avg equity)", "{:.2f}"),
    "fees": ("fees", "{:,.2f}"),
    "funding": ("funding", "{:,.2f}"),
    "realized_pnl": ("realised PnL (before fees)", "{:,.2f}"),
    "days": ("days", "{:.2f}"),
}


def fmt(name: str, value: object) -> str:
    _label, pattern = LABELS.get(name, (name, "{}"))
    try:
        return pattern.format(value)
    except (ValueError, TypeError):
        return str(value)


def equity_png(curve: list[tuple[int, float]], path: Path, title: str) -> None:
    """Equity (top) and drawdown (bottom) over time."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 6), dpi=100)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    times = [datetime.fromtimestamp(ts / 1e9, tz=UTC) for ts, _ in curve]
    equity = [e for _, e in curve]
    peak, dd = float("-inf"), []
    for e in equity:
        peak = max(peak, e)
        dd.append(e / peak - 1.0 if peak > 0 else 0.0)
    top.plot(times, equity, color="#2b6cb0", linewidth=1.4)
    top.set_ylabel("equity")
    top.set_title(title)
    top.grid(alpha=0.3)
    bottom.fill_between(times, dd, 0, color="#c53030", alpha=0.5)
    bottom.set_ylabel("drawdown")
    bottom.yaxis.set_major_formatter(lambda v, _p: f"{v:.1%}")
    bottom.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})


def write_report(directory: Path, rec: RunRecord, spec: Spec) -> None:
    """Write the run's report files."""
    directory.mkdir(parents=True, exist_ok=True)
    out = rec.outcome
    (directory / "manifest.json").write_text(rec.manifest + "\n", encoding="utf-8")
    metrics = out.metrics.as_dict()
    (directory / "metrics.json").write_text(
        json.dumps(metrics, indent=1, default=str) + "\n", encoding="utf-8"
    )
    png = directory / "equity.png"
    title = f"{spec.strategy} — run {rec.run_id}"
    if out.curve:
        equity_png(out.curve, png, title)
    rows = "".join(
        f"<tr><td>{html.escape(LABELS.get(k, (k, ''))[0])}</td>"
        f"<td>{html.escape(fmt(k, v))}</td></tr>"
        for k, v in metrics.items()
        if k != "by_symbol"
    )
    sym_rows = "".join(
        f"<tr><td>{html.escape(sym)}</td>"
        + "".join(f"<td>{v:,.2f}</td>" for v in vals.values())
        + "</tr>"
        for sym, vals in sorted(out.metrics.by_symbol.items())
    )
    image = (
        f'<img alt="equity and drawdown" src="data:image/png;base64,'
        f'{base64.b64encode(png.read_bytes()).decode()}">'
        if png.exists()
        else "<p>no equity samples</p>"
    )
    params = html.escape(json.dumps(spec.params, sort_keys=True))
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.2em .8em;text-align:right}}
td:first-child,th:first-child{{text-align:left}}table{{border-collapse:collapse}}
tr:nth-child(even){{background:#f4f4f4}}code{{font-size:.9em}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>strategy <b>{html.escape(spec.strategy)}</b>, parameters <code>{params}</code>,
{out.input_events:,} market events in, {len(out.signals):,} signals and {len(out.trading):,}
trading events out, in {out.seconds:.1f} s.</p>
<p>manifest <code>{rec.manifest_sha256}</code></p>
{image}
<h2>Performance</h2><table>{rows}</table>
<h2>By market</h2><table><tr><th>market</th><th>realised</th><th>fees</th><th>funding</th>
<th>fills</th><th>volume</th></tr>{sym_rows}</table>
</body></html>
"""
    (directory / "report.html").write_text(page, encoding="utf-8")
