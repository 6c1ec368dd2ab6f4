"""A statement as HTML and PDF (the PDF with matplotlib's own PDF backend: no browser, no
LaTeX, deterministic text layout)."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal
from pathlib import Path

from audit.statement import Statement
from events.audit import Sealed


def day(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def sections(st: Statement, seal: Sealed) -> list[tuple[str, list[str], list[list[str]]]]:
    """``(title, header, rows)`` for every part of the statement (shared by HTML and PDF)."""
    summary = [
        ["period", f"{day(st.period_from)} to {day(st.period_to)}"],
        ["opening units", str(st.opening_units)], ["opening NAV per unit", str(st.opening_nav)],
        ["opening value", str(st.opening_value)], ["closing units", str(st.closing_units)],
        ["closing NAV per unit", str(st.closing_nav)], ["closing value", str(st.closing_value)],
        ["fees in the period", str(st.total_fees)],
    ]  # fmt: skip
    return [
        ("Summary", ["", ""], summary),
        ("Cash flows", ["time", "kind", "reference", "amount", "units", "NAV"],
         [[day(f.ts), f.kind, f.ref, str(f.amount), str(f.units), str(f.nav_per_unit)]
          for f in st.flows]),
        ("Fees", ["time", "kind", "lot / withdrawal", "amount"],
         [[day(f.ts), f.kind, f.ref, str(f.amount)] for f in st.fees]),
        ("Commissions paid from your fees", ["time", "affiliate", "fee base", "rate", "amount"],
         [[day(c.ts), c.affiliate_id, str(c.fee_base), str(c.rate), str(c.amount)]
          for c in st.commissions]),
        ("NAV struck in the period", ["as of", "NAV per unit"],
         [[day(ts), str(nav)] for ts, nav in st.navs]),
        ("Positions the fund held at the period's end",
         ["account", "market", "size", "entry", "realised", "fees", "funding"],
         [[p.account, f"{p.venue}:{p.symbol}", str(p.size), str(p.entry_price),
           str(p.realised_pnl), str(p.fees), str(p.funding)]
          for p in st.positions if p.size != Decimal(0) or p.realised_pnl]),
        ("Seal", ["", ""],
         [["ledger", f"{seal.stream} sequences {seal.first_seq}..{seal.last_seq}"],
          ["root", seal.root], ["sealed", day(seal.ts_event)], ["signed by", seal.signer],
          ["signature", seal.signature]]),
    ]  # fmt: skip


def render_html(st: Statement, seal: Sealed) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Statement {e(st.member_id)} — fund {e(st.fund_id)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}code{word-break:break-all}</style>",
        f"</head><body><h1>Member statement: {e(st.member_id)}</h1>",
        f"<p>Fund <b>{e(st.fund_id)}</b>. Every figure is replayed from the ledger's events; "
        "<code>helix audit verify</code> on this folder checks them against the signed seal.</p>",
    ]
    for title, header, rows in sections(st, seal):
        parts.append(f"<h2>{e(title)}</h2><table>")
        if any(header):
            parts.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        if not rows:
            parts.append(f"<tr><td colspan='{len(header)}'>none</td></tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _text_lines(st: Statement, seal: Sealed) -> list[str]:
    lines = [f"Member statement: {st.member_id}   (fund {st.fund_id})", ""]
    for title, header, rows in sections(st, seal):
        lines.append(title)
        table = ([header] if any(header) else []) + rows
        widths = [max(len(r[i]) for r in table) for i in range(len(header))] if table else []
        lines.extend("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
                     for r in table)  # fmt: skip
        if not rows:
            lines.append("  none")
        lines.append("")
    return lines


def render_pdf(st: Statement, seal: Sealed, path: Path, *, lines_per_page: int = 60) -> None:
    """A4 pages of monospaced text (long values such as the signature wrap at the margin)."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    wrapped: list[str] = []
    for line in _text_lines(st, seal):
        while len(line) > 110:
            wrapped.append(line[:110])
            line = "      " + line[110:]
        wrapped.append(line)
    with PdfPages(path, metadata={"Title": f"Statement {st.member_id}", "Creator": "helix"}) as pdf:
        for start in range(0, max(len(wrapped), 1), lines_per_page):
            fig = Figure(figsize=(8.27, 11.69))
            fig.text(0.05, 0.97, "\n".join(wrapped[start : start + lines_per_page]),
                     family="monospace", fontsize=6.5, va="top")  # fmt: skip
            pdf.savefig(fig)
