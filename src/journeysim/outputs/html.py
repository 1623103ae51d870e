"""Small HTML building blocks for the report: escaped text, tables, figures and the page's style."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from html import escape
from typing import Any

__all__ = ["CSS", "esc", "table", "section", "figure", "keyvalues", "plain_input"]


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


def plain_input(value: Any) -> str:
    """A model input (ByClass, distribution, steps) as short text.

    Examples
    --------
    >>> plain_input({"patient": 0.0, "information": 0.43}), plain_input(0.25)
    ('patient 0, information 0.43', '0.25')
    """
    if hasattr(value, "to_plain"):
        value = value.to_plain()
    if isinstance(value, dict):
        return ", ".join(f"{k} {plain_input(v)}" for k, v in value.items()) or "0"
    if isinstance(value, (list, tuple)):
        return "; ".join(plain_input(v) for v in value)
    if hasattr(value, "duration"):  # a Step
        when = "" if value.when is None else f" when {value.when.text}"
        return f"{value.name}: {plain_input(value.duration)}{when}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


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
.card .value { font-size: 1.35rem; font-weight: 650; }
.card .label { font-size: .8rem; color: var(--ink); font-weight: 600; }
.card .detail { font-size: .78rem; color: var(--muted); }
.answer { margin: .6rem 0 .4rem; }
p.headline { font-size: 1.28rem; line-height: 1.4; margin: .2rem 0 .6rem; max-width: 62rem; }
.grid-first { display: grid; grid-template-columns: 1.25fr 1fr; gap: 0 2rem; }
.grid-first h3 { margin: .4rem 0 .3rem; font-size: 1rem; }
.grid-first h3 .muted { font-weight: 400; font-size: .82rem; }
ol.levers { list-style: none; padding: 0; margin: 0; counter-reset: lever; }
ol.levers li { display: grid; grid-template-columns: 1fr auto; gap: 0 .6rem; padding: .25rem 0;
               border-bottom: 1px solid var(--rule); }
ol.levers .lever-name::before { counter-increment: lever; content: counter(lever) ". "; font-weight: 600; }
ol.levers .lever-gain { font-weight: 650; text-align: right; font-variant-numeric: tabular-nums; }
ol.levers .bar { grid-column: 1 / 3; height: 5px; background: var(--good); border-radius: 2px; margin: .15rem 0; }
ol.levers .lever-ci { grid-column: 1 / 3; font-size: .78rem; color: var(--muted); }
table.standards { margin: 0; font-size: .86rem; }
table.standards th, table.standards td { padding: .2rem .4rem; }
p.lever-note { font-size: .8rem; color: var(--muted); margin: .4rem 0 0; }
table.effects tr.sure td { background: #e6f4ea; }
table.effects tr.sure td:first-child { box-shadow: inset 3px 0 0 var(--good); }
table.selection tr.selected td { background: #e6f4ea; font-weight: 600; }
table.selection tr.selected td:first-child { box-shadow: inset 3px 0 0 var(--good); }
ul.redesigns { font-size: 1.05rem; line-height: 1.4; margin: .2rem 0 .6rem; padding-left: 1.2rem; max-width: 62rem; }
ul.redesigns li { margin: .15rem 0; }
table.effects td.sure { background: #e6f4ea; }
table.wide td .ci { font-size: .78rem; color: var(--muted); }
table.wide td .val { color: var(--muted); }
h2.base-title { margin-top: 1.4rem; }
h2.base-title::before { content: none; }
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
@media (max-width: 760px) { .grid-first { grid-template-columns: 1fr; } }
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
  .answer { break-inside: avoid; }
}
@page { size: A4; margin: 14mm 12mm; }
"""
