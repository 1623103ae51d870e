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
from ..analysis.keymetrics import display, format_number, key_cells
from ..analysis.metrics import Summary
from ..analysis.result import SimulationResult
from ..analysis.selection import Selection, pcs_text, zone_text
from ..run.stats import Estimate
from .html import esc, plain_input

__all__ = ["first_screen", "comparison_screen", "input_changes", "selection_screen", "selection_text"]

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
    ci = ("equal in every replication" if c.equal else "the same in every replication" if c.same else
          "no CI (one replication)" if c.low is None else f"{c.low} to {c.high}{c.unit}")
    return c.base, c.value, c.difference, ci


def _wide_cell(r: Mapping[str, Any]) -> str:
    """One redesign's value, difference and CI of one metric, in a cell of the table of several redesigns."""
    _, value, diff, ci = _key_cells(r)
    cls = "num sure" if r["excludes_zero"] else "num"
    return (f"<td class=\"{cls}\" data-scenario=\"{esc(r['scenario'])}\" data-key=\"{esc(r['key'])}\">"
            f"<span class=val>{esc(value)}</span> <b class=diff>{esc(diff)}</b><br>"
            f"<span class=ci>{esc(ci)}</span></td>")


def _effects_wide(rows: Sequence[Mapping[str, Any]], which: str) -> str:
    """Several redesigns: a row per metric, a column per redesign (value, difference and its CI)."""
    names = list(dict.fromkeys(r["scenario"] for r in rows))
    head = ("<tr><th>metric</th><th class=num>base</th>"
            + "".join(f"<th class=num>{esc(n)}</th>" for n in names) + "</tr>")
    body = []
    for key in dict.fromkeys(r["key"] for r in rows):
        mine = {r["scenario"]: r for r in rows if r["key"] == key}
        base = _key_cells(mine[names[0]])[0]  # one number of decimals per metric (Comparison.key_rows)
        body.append(f"<tr><td>{esc(mine[names[0]]['label'])}</td><td class=num>{esc(base)}</td>"
                    + "".join(_wide_cell(mine[n]) for n in names) + "</tr>")
    return (f"<table class=\"effects wide\"><caption>What it did: {which}, each redesign's value and paired "
            f"difference from the base with common random numbers, and its 95% CI (highlighted: the CI excludes "
            f"0)</caption><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>")


def _effects(rows: Sequence[Mapping[str, Any]], several: bool, chosen: bool = False) -> str:
    which = "the metrics chosen" if chosen else "the key metrics"
    if several:
        return _effects_wide(rows, which)
    head = ("<tr><th>metric</th><th class=num>base</th>"
            "<th class=num>redesign</th><th class=num>difference</th><th class=num>95% CI</th></tr>")
    body = []
    for r in rows:
        base, value, diff, ci = _key_cells(r)
        cls = " class=sure" if r["excludes_zero"] else ""
        body.append(f"<tr{cls} data-scenario=\"{esc(r['scenario'])}\" data-key=\"{esc(r['key'])}\">"
                    + f"<td>{esc(r['label'])}</td><td class=num>{esc(base)}</td><td class=num>{esc(value)}</td>"
                    f"<td class=num><b>{esc(diff)}</b></td><td class=num>{esc(ci)}</td></tr>")
    return (f"<table class=effects><caption>What it did: {which}, paired differences from the base with common "
            f"random numbers (highlighted: the 95% CI excludes 0)</caption><thead>{head}</thead><tbody>{''.join(body)}"
            "</tbody></table>")


def _changes_wide(comp: Comparison) -> str:
    """Several redesigns: a row per changed input, a column per redesign (blank where it is as in the base)."""
    base = comp.results[0].scenario
    names = [r.scenario.name for r in comp.results[1:]]
    found = {r.scenario.name: {(e, f): (a, b) for e, f, a, b in input_changes(base.model, r.scenario.model)}
             for r in comp.results[1:]}
    keys = list(dict.fromkeys(k for n in names for k in found[n]))
    if not keys:
        return ("<p>No input of the model differs from the base in any redesign (only the run settings or the "
                "names).</p>")
    body = []
    for e, f in keys:
        before = next(found[n][(e, f)][0] for n in names if (e, f) in found[n])
        cells = "".join(f"<td><b>{esc(found[n][(e, f)][1])}</b></td>" if (e, f) in found[n] else
                        "<td class=muted>as base</td>" for n in names)
        body.append(f"<tr><td>{esc(e)}</td><td>{esc(f)}</td><td>{esc(before)}</td>{cells}</tr>")
    head = "".join(f"<th>{esc(n)}</th>" for n in names)
    return (f"<table class=\"changes wide\"><caption>What changed: every input that differs from the base, "
            f"by redesign</caption><thead><tr><th>element</th><th>input</th><th>base</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _changes(comp: Comparison) -> str:
    if len(comp.results) > 2:
        return _changes_wide(comp)
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


def _comparison_sentences(comp: Comparison, rows: Sequence[Mapping[str, Any]], chosen: bool = False) -> list[str]:
    """One sentence per redesign: its effect on system quality, then the metrics of ``rows`` that changed beyond
    chance (``chosen``: the rows are metrics the user chose, not the key metrics)."""
    out = []
    quality: Sequence[Mapping[str, Any]] = [r for r in rows if r["key"] == "quality.system"]
    if not quality and "quality.system" in comp.metric_keys():
        quality = comp.key_rows(["quality.system"])
    what = "metrics shown" if chosen else "key metrics"
    for name in comp.differences:
        mine = [r for r in rows if r["scenario"] == name]
        q = next((r for r in quality if r["scenario"] == name), None)
        sure = [r for r in mine if r["excludes_zero"]]
        effect = "could not be compared on system quality (no journey counted) against the base" if q is None \
            or q["difference"] is None else _quality_effect(q)
        has_ci = any(r["ci95"][0] is not None for r in mine)
        if not has_ci:
            tail = "one replication: no confidence intervals"
        elif sure:
            named = ", ".join(f"{r['label'].rsplit(' (', 1)[0]} {_key_cells(r)[2]}" for r in sure)
            tail = f"{len(sure)} of {_count(len(mine), what)} changed beyond chance: {named}"
        else:
            tail = ("the 1 metric shown did not change beyond chance" if len(mine) == 1 and chosen else
                    "the key metric did not change beyond chance" if len(mine) == 1 else
                    f"none of the {len(mine)} {what} changed beyond chance")
        out.append(f"{name} {effect}; {tail}.")
    return out


def _count(n: int, what: str) -> str:
    """``6 key metrics``, ``1 key metric``."""
    return f"{n} {what}" if n != 1 else f"{n} {what.replace('metrics', 'metric')}"


def _quality_effect(q: Mapping[str, Any]) -> str:
    """What a redesign did to system quality against the base: raised or lowered it where the CI excludes 0,
    else changed it within chance (or left it unchanged: equal in every replication)."""
    _, _, diff, ci = _key_cells(q)
    if ci.startswith("equal"):
        return "left system quality unchanged against the base"
    if q["excludes_zero"]:
        verb = "raised" if q["difference"] > 0 else "lowered"
        shown = f"({ci})" if ci.startswith("the same") else f"(95% CI {ci})"
        return f"{verb} system quality by {diff.lstrip('+-')} {shown} against the base"
    if ci.startswith("no CI"):  # one replication: the sentence says there is no CI
        return f"changed system quality by {diff} against the base"
    return f"changed system quality by {diff} against the base, within chance (95% CI {ci})"


def comparison_screen(comp: Comparison, metrics: Sequence[str] | None = None,
                      selection: Selection | None = None) -> str:
    """What changed (the inputs) and what it did (every key metric's paired difference with its CI).

    ``metrics`` chooses the metrics of *what it did* (as ``journeysim compare --metric`` does);
    a ``selection`` of the same scenarios leads the screen (:func:`selection_screen`).

    Examples
    --------
    >>> import journeysim as js
    >>> def clinic(name, defect):
    ...     model = js.Model([js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=defect)],
    ...                      classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))])
    ...     return js.Scenario(model, name=name, horizon=2 * 1440, replications=3, seed=7)
    >>> page = comparison_screen(js.compare([clinic("base", 0.10), clinic("checklist", 0.05)]))
    >>> "checklist raised system quality by" in page, "What changed" in page
    (True, True)
    """
    rows = comp.key_rows(metrics)
    several = len(comp.results) > 2
    lead = selection_screen(selection) if selection is not None else ""
    sentences = _comparison_sentences(comp, rows, chosen=bool(metrics))
    said = (f"<p class=headline>{esc(sentences[0])}</p>" if len(sentences) == 1 else
            "<ul class=redesigns>" + "".join(f"<li>{esc(t)}</li>" for t in sentences) + "</ul>")
    return (f"{lead}<div class=answer>{said}"
            f"{_changes(comp)}{_effects(rows, several, chosen=bool(metrics))}</div>")


# -- a selection ----------------------------------------------------------------------------------------


def _metric_name(s: Selection) -> str:
    """The metric's plain name, without its unit: ``system quality``."""
    return display(s.metric, 0.0, s.currency).label.rsplit(" (", 1)[0]


def selection_text(s: Selection) -> str:
    """The selection's outcome in one or two plain sentences, from :class:`~journeysim.analysis.selection.Selection`.

    Examples
    --------
    >>> from journeysim.analysis.selection import Selection
    >>> s = Selection(metric="quality.system", direction="higher", delta=0.01, pcs=0.95, first_stage=10,
    ...               max_replications=1000, seed=1, names=("base", "a", "b"), best="b", survivors=("b",),
    ...               eliminated={"base": 10, "a": 14}, replications={"base": 10, "a": 14, "b": 14},
    ...               means={"base": 0.80, "a": 0.85, "b": 0.87}, reason="one survivor", h2=10.16)
    >>> print(selection_text(s))
    Selected: b, the best by system quality (higher is better) with probability ≥ 95% of correct selection
    within an indifference zone of 1 point, after 38 replications in all (KN ranking and selection with
    common random numbers).
    """
    total = sum(s.replications.values())
    procedure = "KN ranking and selection with common random numbers"
    better = "higher" if s.direction == "higher" else "lower"
    if s.best is not None:
        return (f"Selected: {s.best}, the best by {_metric_name(s)} ({better} is better) with probability "
                f"≥ {pcs_text(s.pcs)} of correct selection within an indifference zone of "
                f"{zone_text(s.metric, s.delta, s.currency)}, "
                f"after {total:,} replications in all ({procedure}).")
    survivors = ", ".join(s.survivors)
    if s.reason == "maximum":
        return (f"No alternative selected: the procedure stopped at the maximum of {s.max_replications:,} "
                f"replications each ({total:,} in all) before it could tell which of {survivors} is the best by "
                f"{_metric_name(s)} with probability ≥ {pcs_text(s.pcs)} of correct selection within an "
                f"indifference zone of {zone_text(s.metric, s.delta, s.currency)}. They are not shown to be within "
                "the zone of each other: raise --max-replications or --delta, or choose among them by another "
                "metric.")
    if s.reason == "identical":
        return (f"No single best by {_metric_name(s)}: {survivors} give the same value in every replication "
                f"({total:,} replications in all; {procedure}).")
    return (f"No single best by {_metric_name(s)}: {survivors} have the same mean and the procedure could not "
            f"separate them ({total:,} replications in all; {procedure}). Accept any of them as equivalent, "
            f"or choose by another metric.")


def _outcome(s: Selection, name: str) -> str:
    if name == s.best:
        return "selected"
    if name in s.eliminated:
        return f"eliminated after {s.eliminated[name]:,} replications"
    return "not separated: still in at the end" if s.reason != "maximum" else "not separated: still in at the maximum"


def selection_screen(s: Selection) -> str:
    """The selection's outcome (:func:`selection_text`) and a table of the alternatives: mean with its 95% CI,
    replications used, and when each was eliminated or that it was selected.

    Means and CIs have the unit and decimals of the command line's table (:meth:`Selection.shown`).

    Examples
    --------
    >>> from journeysim.analysis.selection import Selection
    >>> s = Selection(metric="time_in_system_minutes", direction="lower", delta=2.0, pcs=0.95, first_stage=10,
    ...               max_replications=1000, seed=1, names=("base", "a", "b"), best="b", survivors=("b",),
    ...               eliminated={"base": 10, "a": 10}, replications={"base": 10, "a": 10, "b": 10},
    ...               means={"base": 148.8, "a": 145.2, "b": 142.2}, reason="one survivor", h2=10.16)
    >>> page = selection_screen(s)
    >>> "<b>2.48 h</b>" in page, "<b>2.37 h</b>" in page, "KN needed no more" in page
    (True, True, True)
    """
    d, places = s.shown()  # the decimals and unit the CLI's table prints
    unit = d.unit if d.unit in ("%",) else (f" {d.unit}" if d.unit else "")
    rows = []
    for n in s.names:
        lo, hi = s.ci95.get(n, (float("nan"), float("nan")))
        ci = ("no CI" if not (_finite(lo) and _finite(hi)) else
              f"{format_number(lo * d.scale, places)} to {format_number(hi * d.scale, places)}{unit}")
        cls = " class=selected" if n == s.best else ""
        base = " <span class=muted>(base)</span>" if n == s.names[0] else ""
        rows.append(f"<tr{cls}><td>{esc(n)}{base}</td>"
                    f"<td class=num><b>{esc(format_number(s.means[n] * d.scale, places) + unit)}</b></td>"
                    f"<td class=num>{esc(ci)}</td><td class=num>{s.replications[n]:,}</td>"
                    f"<td>{esc(_outcome(s, n))}</td></tr>")
    added = ("; KN added more to those still in" if any(r > s.first_stage for r in s.replications.values()) else
             "; KN needed no more")
    caption = (f"The alternatives by {d.label}: each mean over its own replications (the first {s.first_stage:,} "
               f"are the comparison below{added}), with its own 95% CI (KN judges the paired differences, which "
               "common random numbers make much narrower)")
    return (f"<div class=answer><p class=headline>{esc(selection_text(s))}</p>"
            f"<table class=selection><caption>{esc(caption)}</caption><thead><tr><th>alternative</th>"
            f"<th class=num>mean</th><th class=num>95% CI</th><th class=num>replications</th><th>outcome</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")

