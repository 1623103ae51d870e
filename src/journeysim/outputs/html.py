"""Small HTML building blocks for the report: escaped text, tables, figures and the page's style."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from html import escape
from typing import Any

__all__ = ["CSS", "esc", "table", "section", "figure", "keyvalues"]


def esc(value: Any) -> str:
    """``value`` as escaped text (``None`` as an en dash)."""
    return "&ndash;" if value is None else escape(str(value))


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: Collection[int] | None = None,
          caption: str = "", raw: bool = False) -> str:
    """An HTML table; the ``numeric`` columns (default: all but the first) are right-aligned.

    ``raw`` cells are HTML already; other cells are escaped.
    """
    header = list(header)
    right = set(range(1, len(header))) if numeric is None else set(numeric)
    cell = (lambda v: "&ndash;" if v is None else str(v)) if raw else esc

    def attr(i: int) -> str:
        return " class=num" if i in right else ""

    head = "".join(f"<th{attr(i)}>{esc(h)}</th>" for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(f"<td{attr(i)}>{cell(v)}</td>" for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def keyvalues(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column definition table of ``(name, value)`` pairs (values are HTML)."""
    rows = "".join(f"<tr><th scope=row>{esc(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f"<table class=kv><tbody>{rows}</tbody></table>"


def section(ident: str, title: str, *parts: str) -> str:
    """A numbered report section with an anchor for the table of contents."""
    return f'<section id="{esc(ident)}"><h2>{esc(title)}</h2>{"".join(parts)}</section>'


def figure(svg: str, caption: str, ident: str) -> str:
    """An embedded SVG figure with its caption."""
    return f'<figure id="fig-{esc(ident)}" class="plot">{svg}<figcaption>{esc(caption)}</figcaption></figure>'


CSS = """
:root { --ink: #1b1f24; --muted: #5b6570; --rule: #d8dde3; --band: #f4f6f8; --good: #1a7f37; --bad: #b42318; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0; line-height: 1.45; }
main { max-width: 1080px; margin: 0 auto; padding: 1.5rem 1.5rem 4rem; }
header.report { border-bottom: 3px solid var(--ink); margin-bottom: 1rem; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; }
main { counter-reset: section; }
section > h2::before { counter-increment: section; content: counter(section) ". "; }
h2 { font-size: 1.3rem; border-bottom: 1px solid var(--rule); padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
p.lede, .muted { color: var(--muted); }
nav.toc ul { columns: 3; list-style: none; font-size: .9rem; padding-left: 1.2rem; }
nav.toc a { color: var(--ink); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: .7rem; margin: 1rem 0; }
.card { background: var(--band); border-radius: 6px; padding: .7rem .9rem; }
.card .value { font-size: 1.45rem; font-weight: 650; }
.card .label { font-size: .82rem; color: var(--muted); }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .86rem; width: 100%; }
caption { text-align: left; font-weight: 600; padding: .2rem 0; }
th, td { padding: .28rem .5rem; border-bottom: 1px solid var(--rule); vertical-align: top; text-align: left; }
thead th { background: var(--band); border-bottom: 2px solid var(--rule); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv th { width: 30%; font-weight: 600; background: none; }
.source { font-size: .78rem; color: var(--muted); overflow-wrap: anywhere; }
.good { color: var(--good); } .bad { color: var(--bad); }
figure.plot { margin: 1rem 0 1.4rem; }
figure.plot svg { width: 100%; height: auto; display: block; }
figcaption { font-size: .82rem; color: var(--muted); margin-top: .3rem; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 0 1.2rem; }
.warnings { background: #fdecea; border-left: 4px solid var(--bad); padding: .4rem .9rem; margin: 1rem 0; }
.warnings p { margin: .2rem 0; }
.prompt { background: #fff8e1; border-left: 3px solid #e0a800; padding: .1rem .4rem; font-style: italic; }
footer { margin-top: 3rem; font-size: .8rem; color: var(--muted); }
@media print {
  html { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  h2 { break-after: avoid; }
  figure.plot, .cards, table.kv, tr { break-inside: avoid; }
  thead { display: table-header-group; }
  caption { break-after: avoid; }
  section { break-before: auto; }
  a { color: inherit; text-decoration: none; }
  .grid2 { display: block; }
}
@page { size: A4; margin: 14mm 12mm; }
"""
