"""The HTML of the what-if app: the form of controls, the progress of a run, and its results.

Server-rendered fragments that HTMX swaps into the page. The results reuse the
report's first screen for a comparison (:func:`journeysim.outputs.firstscreen.comparison_screen`:
what changed, what it did, the same numbers as ``journeysim compare``), its forest
plot (:func:`journeysim.outputs.plot.comparison`) and the standards of both scenarios.

Examples
--------
>>> from journeysim.io.whatif import Control
>>> c = Control("standards.0.within", "standards", "door_to_ecg", "within", 10, "number", "minutes")
>>> 'name="standards.0.within"' in field(c, "12", ["must be a number"])
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..analysis.comparison import Comparison
from ..analysis.headline import percent, percent_ci, target_text
from ..io.whatif import Control, Edit, differs, shown
from ..model.kinds import HANDOFF_KINDS
from ..outputs.firstscreen import comparison_screen
from ..outputs.html import CSS, esc
from .jobs import Job

__all__ = ["page", "workspace", "progress", "results", "failed", "field"]

APP_CSS = """
main { max-width: 1440px; }
.app { display: grid; grid-template-columns: minmax(430px, 500px) 1fr; gap: 0 2rem; align-items: start; }
.controls details { border-bottom: 1px solid var(--rule); padding: .3rem 0; }
.controls summary { font-weight: 650; cursor: pointer; padding: .2rem 0; }
.controls summary .muted { font-weight: 400; font-size: .8rem; }
.controls table { margin: .3rem 0 .5rem; font-size: .84rem; }
.controls td, .controls th { padding: .18rem .3rem; vertical-align: top; }
.controls input { width: 5.2rem; font: inherit; padding: .12rem .3rem; border: 1px solid #aab3bd;
                  border-radius: 3px; text-align: right; font-variant-numeric: tabular-nums; }
.controls input.text { width: 7.5rem; text-align: left; }
.controls tr.section th { padding-top: .5rem; border-bottom: 1px solid var(--rule); color: var(--muted);
                          font-size: .8rem; }
.controls input.changed { background: #fff8e1; border-color: #e0a800; }
.controls input[aria-invalid=true] { border: 2px solid var(--bad); background: #fdecea; }
.controls .error { display: block; color: var(--bad); font-size: .76rem; max-width: 16rem; }
.controls .note { display: block; color: var(--muted); font-size: .74rem; max-width: 18rem; }
.runbar { position: sticky; top: 0; background: white; padding: .6rem 0; border-bottom: 2px solid var(--ink);
          display: flex; gap: 1rem; align-items: center; z-index: 1; }
.runbar button { font: inherit; font-weight: 650; padding: .35rem 1.4rem; background: var(--ink); color: white;
                 border: 0; border-radius: 4px; cursor: pointer; }
.runbar button:disabled { opacity: .5; cursor: wait; }
.problems { background: #fdecea; border-left: 4px solid var(--bad); padding: .4rem .9rem; margin: .6rem 0; }
.progress progress { width: 100%; height: 1rem; }
.downloads a { display: inline-block; margin: .2rem 1rem .2rem 0; font-weight: 600; }
pre.cli { background: var(--band); padding: .5rem .7rem; font-size: .8rem; overflow-x: auto; }
.results { position: sticky; top: 0; max-height: 100vh; overflow-y: auto; padding-top: .6rem; }
.results figure.plot svg { max-width: 860px; }
.empty { color: var(--muted); border: 1px dashed var(--rule); padding: 2rem; border-radius: 6px; }
"""

_GROUPS = (
    ("handoffs", "Handoff defects", "probability that each kind of defect occurs at the handoff", True),
    ("requests", "Support requests", "defect probabilities of requests to support microsystems", False),
    ("capacity", "Capacity and shifts", "servers or beds; shifts replace the capacity in their hours", True),
    ("classes", "Patient attributes", "share of each class with a yes/no attribute (pre-activation)", True),
    ("standards", "Standard targets", "time allowed by each timeliness standard", False),
    ("service", "Service times", "× 1 keeps a microsystem's time; 0.8 makes every duration of it 20% shorter, "
     "1.5 half as long again (the distribution's shape is kept)", False),
    ("routing", "Routing", "probability of each way out of a microsystem (per class where the file gives one); "
     "what remains below 1 leaves the pathway", False),
    ("costs", "Costs", "each cost the scenario states", False),
    ("run", "Run", "replications of each scenario, and the root seed", True),
)


def field(c: Control, text: str, problems: Sequence[str]) -> str:
    """One control's input, its note and the library's messages about it."""
    bad = bool(problems)
    changed = differs(text, c.value)
    classes = " ".join(k for k, on in (("text", c.kind == "text"), ("changed", changed and not bad)) if on)
    mode = "" if c.kind == "text" else ' inputmode="decimal"'
    errors = "".join(f'<span class="error" role="alert">{esc(m)}</span>' for m in problems)
    note = f'<span class="note">{esc(c.note)}</span>' if c.note else ""
    return (f'<input type="text" name="{esc(c.path)}" value="{esc(text)}" aria-label="{esc(c.element)} '
            f'{esc(c.label)}" title="base: {esc(shown(c.value))}"{mode} class="{classes}" '
            f'aria-invalid="{str(bad).lower()}">{errors}{note}')


def _value(c: Control, form: Mapping[str, str]) -> str:
    return form.get(c.path, shown(c.value))


def _links(panel: Sequence[Control], form: Mapping[str, str], edit: Edit | None) -> str:
    rows: dict[str, dict[str, Control]] = {}
    for c in panel:
        rows.setdefault(c.element, {})[c.label] = c
    labels = list(dict.fromkeys(label for cells in rows.values() for label in cells))
    kinds = [k for k in HANDOFF_KINDS if k in labels] + [k for k in labels if k not in HANDOFF_KINDS]
    head = "<tr><th>from -> to</th>" + "".join(f"<th>{esc(k)}</th>" for k in kinds) + "</tr>"
    body = []
    for element, cells in rows.items():
        tds = "".join("<td>" + (field(cells[k], _value(cells[k], form), _problems(edit, cells[k]))
                                if k in cells else "") + "</td>" for k in kinds)
        body.append(f"<tr><th scope=row>{esc(element)}</th>{tds}</tr>")
    return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def _problems(edit: Edit | None, c: Control) -> list[str]:
    return [] if edit is None else edit.problems.get(c.path, [])


def _rows(panel: Sequence[Control], form: Mapping[str, str], edit: Edit | None) -> str:
    body = []
    section, element = "", ""
    for c in panel:
        if c.section and c.section != section and c.group in ("routing", "costs"):
            title = f"out of {c.section}" if c.group == "routing" else c.section
            body.append(f'<tr class="section"><th colspan=3>{esc(title)}</th></tr>')
            section, element = c.section, ""
        who = "" if c.group == "run" or c.element == element else c.element
        element = c.element
        body.append(f"<tr><th scope=row>{esc(who)}</th><td>{esc(c.label)}</td>"
                    f"<td>{field(c, _value(c, form), _problems(edit, c))}</td></tr>")
    return f"<table><tbody>{''.join(body)}</tbody></table>"


def _group(name: str, title: str, hint: str, is_open: bool, panel: Sequence[Control], form: Mapping[str, str],
           edit: Edit | None) -> str:
    mine = [c for c in panel if c.group == name]
    if not mine:
        return ""
    bad = edit is not None and any(c.path in edit.problems for c in mine)
    changed = sum(1 for c in mine if differs(_value(c, form), c.value))
    flag = f" <span class=muted>({changed} changed)</span>" if changed else ""
    inner = _links(mine, form, edit) if name in ("handoffs", "requests") else _rows(mine, form, edit)
    opened = " open" if is_open or bad or changed else ""
    return (f'<details{opened} id="group-{name}"><summary>{esc(title)}{flag}</summary>'
            f"<p class=muted>{esc(hint)}</p>{inner}</details>")


def workspace(panel: Sequence[Control], form: Mapping[str, str] | None = None, edit: Edit | None = None,
              status: str = "") -> str:
    """The form of controls beside the results area (``status``: progress or results HTML)."""
    form = form or {}
    general = ""
    if edit is not None and not edit.ok:
        count = sum(len(v) for v in edit.problems.values()) + len(edit.general)
        items = "".join(f"<li>{esc(m)}</li>" for m in edit.general)
        what = "1 input is" if count == 1 else f"{count} inputs are"
        general = (f'<div class="problems" role="alert"><b>Nothing ran: {what} out of range.</b> '
                   f"Each is marked next to its control.<ul>{items}</ul></div>")
    groups = "".join(_group(*g, panel, form, edit) for g in _GROUPS)
    shown = status or ('<div class="empty">Change any input on the left and press <b>Run</b>: the redesign is '
                       "simulated against the base with common random numbers, and its effect appears here.</div>")
    return (f'<div class="app"><form class="controls" hx-post="run" hx-target="#workspace" hx-swap="innerHTML">'
            f'<div class="runbar"><button type="submit">Run</button><span class=muted>redesign vs base, common '
            f"random numbers</span></div>{general}{groups}</form>"
            f'<div class="results" id="results" aria-live="polite">{shown}</div></div>')


def page(title: str, source: str, body: str) -> str:
    """The whole page: the scenario's name, the vendored HTMX, and ``body`` in the workspace."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}: journeysim what-if</title><style>{CSS}{APP_CSS}</style>"
            f'<link rel="icon" href="data:,"><script src="static/htmx.min.js"></script></head><body><main>'
            f"<header class=report><h1>What if? {esc(title)}</h1><p class=lede>journeysim app: change the inputs of "
            f"<code>{esc(source)}</code>, run, and see what the redesign does.</p></header>"
            f'<div id="workspace">{body}</div></main></body></html>\n')


def progress(job: Job) -> str:
    """A progress bar that asks again until the job ends (HTMX polling)."""
    return (f'<div class="progress" hx-get="job/{esc(job.ident)}" hx-trigger="load delay:300ms" '
            f'hx-swap="outerHTML"><p><b>Running</b>: {job.done} / {job.total} replications '
            f"(base and redesign)</p><progress value=\"{job.done}\" max=\"{job.total}\"></progress></div>")


def _standards(comp: Comparison) -> str:
    base, other = comp.results[0].summary(), comp.results[1].summary()
    rows = []
    for name, s in base.standards.items():
        t = other.standards.get(name)
        cells = []
        for x in (s, t):
            if x is None or x.applies == 0:
                cells.append("<td class=num>n/a</td><td class=num></td>")
            else:
                ci = percent_ci(x.met).removeprefix("95% CI ")
                cells.append(f"<td class=num>{esc(percent(x.met.mean))}</td><td class=num>{esc(ci)}</td>")
        target = target_text(s.target_minutes)
        if t is not None and t.target_minutes != s.target_minutes:
            target += f" → {target_text(t.target_minutes)}"
        rows.append(f"<tr><td>{esc(name)}</td><td class=num>{esc(target)}</td>{''.join(cells)}</tr>")
    if not rows:
        return "<p class=muted>The scenario sets no timeliness standard.</p>"
    return ("<table class=standards><caption>Standards met (share of the journeys each applies to)</caption><thead>"
            "<tr><th>standard</th><th class=num>within</th><th class=num>base</th><th class=num>95% CI</th>"
            "<th class=num>redesign</th><th class=num>95% CI</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def results(job: Job, comp: Comparison, forest: str, command: str) -> str:
    """What the redesign did: the comparison's first screen, the forest plot, the standards and the downloads."""
    reps = len(comp.results[0].stats)
    return (f'<div class="done"><p class=muted>{reps} replications of each, seed '
            f"{esc(comp.results[0].provenance.seed)}, common random numbers.</p>"
            f"{comparison_screen(comp)}"
            f'<div class="downloads"><a href="job/{esc(job.ident)}/redesign.toml" download>Download the redesign '
            f'(TOML)</a><a href="job/{esc(job.ident)}/report.html" download>Download the HTML report</a></div>'
            f"<p class=muted>Saved beside the base scenario, the redesign gives these numbers from the command line:"
            f'</p><pre class="cli">{esc(command)}</pre>'
            f'<figure class="plot" id="fig-forest">{forest}<figcaption>Differences from the base with 95% CIs '
            f"(percentage points).</figcaption></figure>{_standards(comp)}</div>")


def failed(job: Job) -> str:
    """The message of a run that failed."""
    return f'<div class="problems" role="alert"><b>The run failed:</b> {esc(job.error)}</div>'
