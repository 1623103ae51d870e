"""The report's first screen: the answer before the details.

For one scenario: the headline in plain words (:func:`journeysim.analysis.headline.headline`),
the three largest levers and the standards met, each with its 95% CI, and cards that
each hold one figure with one meaning and its unit. For a comparison: what changed
(every input that differs from the base, with its value before and after) and what
it did (every key metric with its paired difference and CI, from
:meth:`~journeysim.analysis.comparison.Comparison.key_rows`, the same numbers as
``journeysim compare`` prints), highlighted where the CI excludes zero.

Examples
--------
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> a = Model([Microsystem("A", defect=0.1)], classes=[PatientClass("p", entry="A", rate=0.1)])
>>> b = Model([Microsystem("A", defect=0.05)], classes=[PatientClass("p", entry="A", rate=0.1)])
>>> input_changes(a, b)
[('microsystem A', 'defects.defect', '0.1', '0.05')]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ..analysis.comparison import Comparison
from ..analysis.headline import Headline, Lever, ci_label, headline, percent, percent_ci, points, target_text
from ..analysis.keymetrics import key_cells
from ..analysis.metrics import Summary
from ..analysis.result import SimulationResult
from ..run.stats import Estimate
from .html import esc, plain_input

__all__ = ["first_screen", "comparison_screen", "input_changes"]

_LONG = 90


def _short(text: str) -> str:
    return text if len(text) <= _LONG else text[:_LONG - 1] + "…"


def _name(element: Any) -> str:
    return str(getattr(element, "label", None) or element.name)


def _leaves(value: Any, path: str) -> dict[str, str]:
    """A model input as ``{path: short text}``: a nested dataclass (handoff defects...) by its fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and not hasattr(value, "to_plain") \
            and not hasattr(value, "mean"):
        out: dict[str, str] = {}
        for f in dataclasses.fields(value):
            if f.init:
                out.update(_leaves(getattr(value, f.name), f"{path}.{f.name}"))
        return out
    if hasattr(value, "items") and not isinstance(value, dict) and not hasattr(value, "to_plain"):
        return {f"{path}.{kind}": plain_input(p) for kind, p in value.items()}  # handoff defects, by kind
    if isinstance(value, tuple) and value and all(hasattr(v, "probability") and hasattr(v, "name") for v in value):
        return {f"{path}.{v.name}": plain_input(v.probability) for v in value}  # a microsystem's named defects
    if hasattr(value, "mean") and not hasattr(value, "to_plain") and not isinstance(value, (int, float)):
        return {path: f"{type(value).__name__}, mean {value.mean:.4g}"}
    return {path: plain_input(value)}


def input_changes(base: Any, other: Any) -> list[tuple[str, str, str, str]]:
    """Every input of model ``other`` that differs from ``base``: ``(element, input, before, after)``.

    Elements are matched by name (handoffs and requests by their label); an element
    only one model has is ``added`` or ``removed``. Nested inputs are compared leaf by
    leaf (``defects.information``). Sources (``reference``) are left out.
    """
    out: list[tuple[str, str, str, str]] = []
    for kind, attr in (("microsystem", "microsystems"), ("handoff", "handoffs"), ("request", "requests"),
                       ("class", "classes"), ("standard", "standards"), ("exit", "exits")):
        before = {_name(e): e for e in getattr(base, attr, ())}
        after = {_name(e): e for e in getattr(other, attr, ())}
        out += [(f"{kind} {n}", "", "present", "removed") for n in before if n not in after]
        out += [(f"{kind} {n}", "", "absent", "added") for n in after if n not in before]
        for n in [n for n in before if n in after]:
            for f in dataclasses.fields(before[n]):
                old, new = getattr(before[n], f.name), getattr(after[n], f.name)
                if not f.init or f.name == "reference" or old == new:
                    continue
                a, b = _leaves(old, f.name), _leaves(new, f.name)
                for key in dict.fromkeys([*a, *b]):
                    if a.get(key) != b.get(key):
                        out.append((f"{kind} {n}", key, _short(a.get(key, "none")), _short(b.get(key, "none"))))
    if base.frailty.correlation != other.frailty.correlation:
        out.append(("defect dependence", "frailty correlation", f"{base.frailty.correlation:g}",
                    f"{other.frailty.correlation:g}"))
    return out


# -- one scenario --------------------------------------------------------------------------------


def _lever_item(lever: Lever, width: float, replications: int) -> str:
    share = 0.0 if width <= 0 else max(0.0, min(1.0, lever.gain / width))
    ci = lever.ci_text or ("one replication: no CI" if replications < 2 else "the same in every replication")
    return (f"<li><span class=lever-name>{esc(lever.name)}</span>"
            f"<span class=lever-gain>{esc(points(lever.gain))}</span>"
            f"<span class=bar style=\"width:{100 * share:.0f}%\"></span>"
            f"<span class=lever-ci>{esc(ci)}</span></li>")


def _levers(h: Headline) -> str:
    if not h.levers:
        return f"<p class=muted>{esc(h.no_lever_reason)}</p>"
    width = max((lv.gain for lv in h.levers), default=0.0)
    note = ""
    if h.element_lever is not None and h.element_lever.element not in {lv.element for lv in h.levers}:
        e = h.element_lever
        note = (f"<p class=lever-note>Not in this list: {esc(e.name)}, {esc(points(e.gain))} of element quality "
                f"(exact). The journeys it would fix mostly also miss a standard or have another defect, so "
                f"few become free of any defect.</p>")
    return "<ol class=levers>" + "".join(_lever_item(lv, width, h.replications) for lv in h.levers) + "</ol>" + note


def _standards(h: Headline) -> str:
    if not h.standards:
        return "<p class=muted>No timeliness standard is set.</p>"
    rows = []
    for s in h.standards:
        if s.reached:
            met, ci = percent(s.met.mean), percent_ci(s.met).removeprefix("95% CI ") or "no CI"
        else:
            met, ci = "not reached", "no journey reached it"
        rows.append(f"<tr><td>{esc(s.name)}</td><td class=num>{esc(target_text(s.target_minutes))}</td>"
                    f"<td class=num><b>{esc(met)}</b></td><td class=num>{esc(ci)}</td>"
                    f"<td class=num>{s.applies:,}</td></tr>")
    return ("<table class=standards><thead><tr><th>standard</th><th class=num>within</th><th class=num>met</th>"
            "<th class=num>95% CI</th><th class=num>journeys</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def _card(value: str, label: str, detail: str = "") -> str:
    return (f"<div class=card><div class=label>{esc(label)}</div><div class=value>{esc(value)}</div>"
            f"{'<div class=detail>' + esc(detail) + '</div>' if detail else ''}</div>")


def _estimate_detail(est: Estimate, replications: int) -> str:
    ci = percent_ci(est)
    if ci:
        return ci_label(ci, replications)
    lo, hi = est.ci95
    if replications >= 2 and lo == hi:  # zero width (nan, undefined, is never equal)
        return "the same in every replication"
    return "one replication: no CI" if replications < 2 else "no CI"


def _cards(d: Summary, h: Headline) -> str:
    q = d.quality.system
    dep = d.dependence.pathway
    cards = [
        _card(percent(q.simulated.mean), "System quality: journeys with no defect at all",
              _estimate_detail(q.simulated, d.replications)),
        _card(percent(dep.simulated.mean), "Free of element defects (standards aside), simulated",
              _estimate_detail(dep.simulated, d.replications)),
        _card(percent(q.analytic), "Free of element defects, exact from the graph",
              "no sampling error" if q.analytic_unavailable is None else f"not available: {q.analytic_unavailable}"),
        _card(f"{d.journeys.completed:,}", "Journeys counted",
              f"over {d.replications} replication{'s' if d.replications != 1 else ''}"
              + ("" if d.journeys.in_progress is None else
                 f"; {d.journeys.in_progress.total:,} still in the pathway at the horizon")),
    ]
    if d.cost is not None:
        per = d.cost.pathway.per_journey
        cur = d.cost.currency
        lo, hi = per.ci95
        detail = (f"95% CI {lo:,.0f}–{hi:,.0f} {cur}".rstrip() if _finite(lo) and _finite(hi)
                  else "one replication: no CI")
        value = "n/a" if not _finite(per.mean) else f"{per.mean:,.0f}{' ' + cur if cur else ''}"
        cards.append(_card(value, "Cost per journey", detail))
    return "<div class=cards>" + "".join(cards) + "</div>"


def _finite(x: float | None) -> bool:
    return x is not None and x == x and abs(x) != float("inf")


def first_screen(result: SimulationResult, summary: Summary, warnings: str = "") -> str:
    """The answer first: the headline, the three largest levers, the standards met and the cards."""
    h = headline(result, summary)
    return (
        f"<div class=answer><p class=headline>{esc(h.text)}</p>{warnings}"
        f"<div class=grid-first><div><h3>Largest levers <span class=muted>(gain in system quality if the "
        f"element never failed)</span></h3>{_levers(h)}</div>"
        f"<div><h3>Standards met</h3>{_standards(h)}</div></div></div>"
        + _cards(summary, h)
    )


# -- a comparison -------------------------------------------------------------------------------------


def _key_cells(r: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """Base, value, difference and CI of a key row, with the decimals ``journeysim compare`` prints."""
    c = key_cells(r)
    ci = ("equal in every replication" if c.equal else "no CI (one replication)" if c.low is None else
          f"{c.low} to {c.high}{c.unit}")
    return c.base, c.value, c.difference, ci


def _effects(rows: Sequence[Mapping[str, Any]], several: bool) -> str:
    head = ("<tr>" + ("<th>scenario</th>" if several else "") + "<th>metric</th><th class=num>base</th>"
            "<th class=num>redesign</th><th class=num>difference</th><th class=num>95% CI</th></tr>")
    body = []
    for r in rows:
        base, value, diff, ci = _key_cells(r)
        cls = " class=sure" if r["excludes_zero"] else ""
        body.append(f"<tr{cls}>" + (f"<td>{esc(r['scenario'])}</td>" if several else "")
                    + f"<td>{esc(r['label'])}</td><td class=num>{esc(base)}</td><td class=num>{esc(value)}</td>"
                    f"<td class=num><b>{esc(diff)}</b></td><td class=num>{esc(ci)}</td></tr>")
    return (f"<table class=effects><caption>What it did: paired differences from the base with common random "
            f"numbers (highlighted: the 95% CI excludes 0)</caption><thead>{head}</thead><tbody>{''.join(body)}"
            "</tbody></table>")


def _changes(comp: Comparison) -> str:
    base = comp.results[0].scenario
    parts = []
    for r in comp.results[1:]:
        rows = input_changes(base.model, r.scenario.model)
        if not rows:
            parts.append(f"<p><b>{esc(r.scenario.name)}</b>: no input of the model differs from the base "
                         "(only the run settings or the name).</p>")
            continue
        body = "".join(f"<tr><td>{esc(e)}</td><td>{esc(f)}</td><td>{esc(a)}</td><td><b>{esc(b)}</b></td></tr>"
                       for e, f, a, b in rows)
        parts.append(f"<table class=changes><caption>What changed in {esc(r.scenario.name)}</caption><thead><tr>"
                     f"<th>element</th><th>input</th><th>base</th><th>redesign</th></tr></thead>"
                     f"<tbody>{body}</tbody></table>")
    return "".join(parts)


def comparison_text(comp: Comparison, rows: Sequence[Mapping[str, Any]]) -> str:
    """One sentence per redesign: its effect on system quality, then the key metrics that changed beyond chance."""
    out = []
    for name in comp.differences:
        mine = [r for r in rows if r["scenario"] == name]
        q = next((r for r in mine if r["key"] == "quality.system"), None)
        sure = [r for r in mine if r["excludes_zero"]]
        if q is None or q["difference"] is None:
            effect = "could not be compared on system quality (no journey counted)"
        else:
            _, _, diff, ci = _key_cells(q)
            verb = "raised" if q["difference"] > 0 else "lowered" if q["difference"] < 0 else "left"
            effect = (f"{verb} system quality by {diff.lstrip('+-')}" if verb != "left" else
                      "left system quality unchanged")
            effect += "" if ci.startswith(("no CI", "equal")) else f" (95% CI {ci})"
        effect += " against the base"
        has_ci = any(r["ci95"][0] is not None for r in mine)
        if not has_ci:
            tail = "one replication: no confidence intervals"
        elif sure:
            named = ", ".join(f"{r['label'].rsplit(' (', 1)[0]} {_key_cells(r)[2]}" for r in sure
                              if r["key"] != "quality.system")
            tail = (f"{len(sure)} of {len(mine)} key metrics changed beyond chance"
                    + (f": {named}" if named else ""))
        else:
            tail = f"none of the {len(mine)} key metrics changed beyond chance"
        out.append(f"{name} {effect}; {tail}.")
    return " ".join(out)


def comparison_screen(comp: Comparison) -> str:
    """What changed (the inputs) and what it did (every key metric's paired difference with its CI)."""
    rows = comp.key_rows()
    several = len(comp.results) > 2
    return (f"<div class=answer><p class=headline>{esc(comparison_text(comp, rows))}</p>"
            f"{_changes(comp)}{_effects(rows, several)}</div>")

