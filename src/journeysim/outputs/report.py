"""A self-contained HTML report of one scenario's result, or of several compared with common random numbers.

The page holds everything it shows (figures are inline SVG, the style is inline;
it loads nothing from the network), reads on a laptop screen and prints on A4:

* what was simulated: the pathway diagram, the classes, the key inputs with their sources;
* system quality, simulated and exact, with 95% CIs; the quality cascade; defects that cluster;
* the timeliness standards; leverage; flow (waits, utilisation, boarding); cost;
* the differences from the base scenario, when several are given;
* the items of the STRESS-DES reporting guideline (Monks et al., 2019) the model
  fills in itself, with prompts for the ones only its author can write;
* provenance: journeysim version, seed, replications, run time, machine.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.analysis.result import simulate
>>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8), defect=0.05)],
...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
>>> page = report_html(simulate(model, horizon=2 * 1440, replications=2, seed=3))
>>> page.startswith("<!DOCTYPE html>") and "STRESS-DES" in page and "http" not in page.split("<body")[0]
True
"""

from __future__ import annotations

import hashlib
import math
import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .._version import __version__
from ..analysis.built import defects_of, kinds_of, probability_of
from ..analysis.comparison import Comparison
from ..analysis.keymetrics import display
from ..analysis.leverage import LeverageRow
from ..analysis.metrics import Summary
from ..analysis.result import SimulationResult
from ..analysis.selection import Selection
from ..analysis.text import _ci, _minutes, _num
from ..errors import JourneySimError
from ..model.attributes import Attribute, Bernoulli, Categorical, Numeric
from ..model.elements import Handoff, Microsystem, ServiceRequest
from ..model.mesosystem import Model
from ..run.files import write_atomic
from ..run.stats import Estimate
from . import plot
from .firstscreen import comparison_screen, first_screen
from .html import CSS, esc, figure, keyvalues, plain_input, section, table
from .stress import stress_rows

__all__ = ["report_html", "write_report"]


def _given(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def _pct(est: Estimate | float | None) -> str:
    """A share as ``"4.4%"``, or an estimate as ``"4.4% [3.8–5.0%]"`` (the unit inside the interval too)."""
    if isinstance(est, Estimate):
        mean = _given(est.mean)
        if mean is None:
            return "n/a"
        low, high = _given(est.ci95[0]), _given(est.ci95[1])
        text = f"{100 * mean:.1f}%"
        return text if low is None or high is None else f"{text} [{100 * low:.1f}–{100 * high:.1f}%]"
    est = _given(est)
    return "n/a" if est is None else f"{100 * est:.1f}%"


def _money(x: float | None, currency: str) -> str:
    x = _given(x)
    return "n/a" if x is None else f"{currency + ' ' if currency else ''}{x:,.0f}"


def _money_ci(est: Estimate, currency: str) -> str:
    if _given(est.mean) is None:
        return "n/a"
    low, high = _given(est.ci95[0]), _given(est.ci95[1])
    text = _money(est.mean, currency)
    return text if low is None or high is None else f"{text} [{low:,.0f}, {high:,.0f}]"


def _mean_service(m: Microsystem) -> str:
    """The mean of the steps every patient has, then each step that some patients have, with its condition."""
    if not m.has_step_conditions:
        return _minutes(m.service_mean)
    always = _minutes(sum(s.duration.mean for s in m.steps if s.when is None)).strip()
    some = [f"{s.name} {_minutes(s.duration.mean).strip()} when {s.when.text}" for s in m.steps if s.when is not None]
    return "; ".join([always, *some])


def _fig(draw: Any, size: tuple[float, float], caption: str, ident: str) -> str:
    try:
        return figure(plot.to_svg(draw, size, salt=ident), caption, ident)
    except JourneySimError as err:  # e.g. no journey reached a standard's end: say so in place of the plot
        return f"<p class=muted>{esc(caption)}: {esc(err)}</p>"


# -- sections -------------------------------------------------------------------------------------


def _warnings(d: Summary) -> str:
    """What the reader must know before trusting the numbers (an unstable microsystem, nothing counted)."""
    items = d.warnings
    if not items:
        return ""
    lines = "".join(f"<p>{'<b>' + esc(w.path) + '</b>: ' if w.path else ''}{esc(w.message)}</p>"
                    for w in items)
    return f"<div class=warnings role=alert><p><b>Warning{'s' if len(items) > 1 else ''}</b></p>{lines}</div>"


def _attribute(name: str, a: Attribute) -> str:
    """A patient attribute as a reader sees it: ``treatment: PCI 92%, CABG 6%``, ``diabetic: yes 30%``."""
    if isinstance(a, Categorical):
        return f"{name}: " + ", ".join(f"{v} {p:.3g}" if p < 0.01 else f"{v} {p:.1%}" for v, p in a.shares)
    if isinstance(a, Bernoulli):
        return f"{name}: yes {a.probability:.1%}"
    assert isinstance(a, Numeric)
    return f"{name}: mean {a.distribution.mean:.4g}"


def _classes(model: Model) -> str:
    with_attributes = any(k.attributes for k in model.classes)
    rows = [(esc(k.name), esc(", ".join(f"{n} {p:.0%}" for n, p in k.entries)), f"{k.rate * 1440:.2f}",
             esc("background" if k.background else "pathway"),
             *([esc("; ".join(_attribute(n, a) for n, a in k.attributes.items()) or "none")] if with_attributes
               else []),
             f"<span class=source>{esc(k.reference)}</span>")
            for k in model.classes]
    return table(["class", "entry", "arrivals per day", "role", *(["attributes"] if with_attributes else []),
                  "source"], rows, numeric=(2,), raw=True, caption="Patient classes")


def _microsystems(model: Model) -> str:
    rows = []
    for m in model.microsystems:
        defects = "; ".join(f"{x.name} {plain_input(x.probability)}" for x in defects_of(m)) or "none"
        cap = "unlimited" if m.capacity is None else str(m.capacity)
        if m.schedule:
            cap += " (weekly schedule)" if m.period_days == 7 else f" ({m.period_days}-day schedule)"
        rows.append((esc(m.name), esc(m.kind), esc(cap), esc(_mean_service(m)), esc(defects),
                     f"<span class=source>{esc(m.reference)}</span>"))
    return table(["microsystem", "kind", "capacity", "mean service", "defect probabilities", "source"],
                 rows, numeric=(), raw=True, caption="Microsystems: key inputs")


def _links(model: Model) -> str:
    links: list[Handoff | ServiceRequest] = [*model.handoffs, *model.requests]
    rows = []
    for h in links:
        kinds = {k: plain_input(v) for k, v in kinds_of(h).items()}
        defects = "; ".join(f"{k} {v}" for k, v in kinds.items() if v not in ("0", "0.0")) or "none"
        when = getattr(h, "when", None)
        chance = plain_input(probability_of(h)) + ("" if when is None else f" when {when.text}")
        rows.append((esc(h.label), esc(chance), esc(_minutes(h.delay.mean)), esc(defects),
                     f"<span class=source>{esc(h.reference)}</span>"))
    return table(["handoff or request", "probability", "mean delay", "defect probabilities", "source"],
                 rows, numeric=(), raw=True, caption="Handoffs (->) and service requests (=>): key inputs")


def _exit_inputs(model: Model) -> str:
    if not model.exits:
        return ""
    rows = [(esc(x.source), esc(x.name), esc(plain_input(x.probability)), esc(_minutes(x.delay.mean)),
             f"<span class=source>{esc(x.reference)}</span>") for x in model.exits]
    return table(["from", "outcome", "probability", "mean delay (bed held)", "source"], rows, numeric=(), raw=True,
                 caption="Named exits (what the handoffs and named exits leave is the default exit, 'discharged')")


def _standard_inputs(model: Model) -> str:
    if not model.standards:
        return ""
    rows = [(esc(s.name), esc(" or ".join(s.start)), esc(" or ".join(s.end)), esc(_minutes(s.within)),
             esc(", ".join(s.classes) if s.classes else "all"), f"<span class=source>{esc(s.reference)}</span>")
            for s in model.standards]
    return table(["standard", "from", "to", "within", "classes", "source"], rows, numeric=(),
                 raw=True, caption="Timeliness standards (a miss is a defect of the journey)")


def _simulated(result: SimulationResult, summary: Summary) -> str:
    model = result.scenario.model
    sc = result.scenario
    parts = []
    if sc.description:
        parts.append(f"<p>{esc(sc.description)}</p>")
    parts.append(_fig(lambda ax: plot.pathway(result, ax, summary=summary), (11, 6.2),
                      "The mesosystem: clinical microsystems left to right from the entries, support microsystems "
                      "below; colour is simulated quality, node size visits by counted journeys, edge width "
                      "transfers.", "pathway"))
    parts += [_classes(model), _microsystems(model), _links(model), _exit_inputs(model), _standard_inputs(model)]
    settings = [
        ("horizon", f"{sc.horizon / 1440:g} days of arrivals per replication; "
         + ("every journey followed to its end" if sc.end == "drain" else
            "the run stops there: journeys still in the pathway are left unfinished")),
        ("warm-up", f"{sc.warmup / 1440:g} days left out of the statistics"),
        ("replications", str(len(result.stats))),
        ("defect dependence", f"frailty correlation {model.frailty.correlation:g}"
         + (f" ({esc(model.frailty.reference)})" if model.frailty.reference else "")),
    ]
    parts.append(keyvalues(settings))
    return section("simulated", "What was simulated", *parts)


def _quality(result: SimulationResult, d: Summary) -> str:
    q = d.quality
    rows = [("all", _pct(q.system.simulated), _pct(q.system.analytic), "")]
    rows += [(name, _pct(c.simulated), _pct(c.analytic), "background" if c.background else "")
             for name, c in q.by_class.items()]
    parts = [
        "<p>System quality is the share of journeys with no defect at all: in any microsystem, handoff, service "
        "request, or timeliness standard. The exact value is solved from the graph with the same defect "
        "probabilities (standards cannot be, and are left out of it).</p>",
        table(["class", "simulated (95% CI)", "exact", ""], rows, caption="System quality by class"),
    ]
    dep = d.dependence.pathway
    pairs = [("free of element defects, simulated", _pct(dep.simulated)),
             ("exact, with the frailty", _pct(dep.exact)),
             ("independent product of element qualities", _pct(dep.independent_product)),
             ("difference, simulated - product (points)", _ci(dep.difference, scale=100.0))]
    parts.append("<h3>Defects that cluster</h3>" + keyvalues((k, esc(v)) for k, v in pairs))
    ex, sim = d.six_sigma.exact, d.six_sigma.simulated
    six = [("exact", _num(ex.opportunities_per_journey), _num(ex.defects_per_journey, "{:.3f}"),
            _num(ex.dpmo, "{:,.0f}"), _num(ex.sigma_level))]
    if sim is not None:  # summary mode keeps no records to count opportunities in
        six.append(("simulated", _ci(sim.opportunities_per_journey, "{:.2f}"),
                    _ci(sim.defects_per_journey, "{:.3f}"), _ci(sim.dpmo, "{:,.0f}"), _num(sim.sigma_level)))
    parts.append(table(["", "opportunities per journey", "defects per journey", "DPMO", "sigma level"], six,
                       caption="Six Sigma view (1.5-sigma shift convention)"))
    if result.records:
        parts.append(_fig(lambda ax: plot.cascade(result, ax), (10, 4.6),
                          "Quality cascade of the first class's most frequent path: the share of its journeys "
                          "still defect-free after each step.", "cascade"))
    return section("quality", "System quality", *parts)


def _standards(result: SimulationResult, d: Summary) -> str:
    if not d.standards:
        return ""
    rows = []
    for name, s in d.standards.items():
        m = s.overall.minutes
        open_ = s.overall.not_yet_reached
        rows.append((name, _minutes(s.target_minutes), f"{s.applies:,}", _pct(s.met),
                     _minutes(m.p50), _minutes(m.p90), _pct(s.overall.reached),
                     *([] if open_ is None else [f"{open_:,} ({_pct(s.overall.not_yet_reached_share)})"])))
    stopped = any(s.overall.not_yet_reached is not None for s in d.standards.values())
    parts = [table(["standard", "target", "journeys", "met (95% CI)", "median", "90th centile", "reached",
                    *(["not yet reached at the horizon"] if stopped else [])], rows,
                   caption="Timeliness standards" + (" (a journey whose standard was still open at the horizon is "
                                                     "neither met nor missed)" if stopped else ""))]
    if result.records:
        figs = [_fig(lambda ax, n=name: plot.standard(result, n, ax, summary=d), (6.4, 3.6),
                     f"{name}: the interval's distribution and its target.", f"std-{name}")
                for name in d.standards]
        parts.append("<div class=grid2>" + "".join(figs) + "</div>")
    return section("standards", "Timeliness standards", *parts)


def _leverage(result: SimulationResult, summary: Summary) -> str:
    def ci(r: LeverageRow) -> str:
        low, high = r.ci95_if_perfect or (None, None)
        return "" if low is None or high is None else f"[{100 * low:.1f}, {100 * high:.1f}]"

    everything = summary.quality.leverage
    simulated = [r for r in everything if r.method == "simulated"]
    exact = {r.element: r for r in everything if r.method == "exact"}
    standards = bool(result.scenario.model.standards)
    rows: list[tuple[str, ...]]
    if simulated:
        rows = [(r.element, _pct(r.if_perfect), ci(r), _pct(r.if_halved),
                 _pct(exact[r.element].if_perfect) if r.element in exact else "n/a",
                 _pct(exact[r.element].if_halved) if r.element in exact else "n/a") for r in simulated[:12]]
        only = " (elements only)" if standards else ""
        head = ["element", "gain if perfect", "95% CI", "gain if halved", f"exact if perfect{only}",
                f"exact if halved{only}"]
        scale = (" in quality of elements only (standards aside): another scale, larger where the journeys an "
                 "element would fix also miss a standard") if standards else ""
        about = ("<p>The gain in system quality if one element were perfect, or its defects halved, ranked by the "
                 "gain simulated from these journeys (standards included, with its 95% CI). Beside it, the exact "
                 f"gain solved from the graph{scale}.</p>")
        numeric: tuple[int, ...] = (1, 2, 3, 4, 5)
    else:
        rows = [(r.element, _pct(r.if_perfect), _pct(r.if_halved)) for r in list(exact.values())[:12]]
        head = ["element", "gain if perfect (exact)", "gain if halved (exact)"]
        about = ("<p>The exact gain in " + ("quality of elements only (standards aside)" if standards
                                             else "system quality")
                 + " if one element were perfect, or its defects halved, solved from the graph, largest first "
                 "(this run kept no journeys to simulate the gains from).</p>")
        numeric = (1, 2)
    parts = [
        about,
        _fig(lambda ax: plot.leverage(result, ax, summary=summary), (9, 5.2), "Leverage ranking.", "leverage"),
        table(head, rows, numeric=numeric),
    ]
    return section("leverage", "Leverage: where to act", *parts)


def _flow(result: SimulationResult, d: Summary) -> str:
    stopped = d.journeys.in_progress is not None
    journeys = [(name, f"{c.completed:,}", *([] if c.in_progress is None else [f"{c.in_progress.total:,}"]),
                 _minutes(c.time_in_system.estimate.mean), _minutes(c.time_in_system.p50),
                 _minutes(c.time_in_system.p90))
                for name, c in d.journeys.by_class.items()]
    parts = [table(["class", "journeys", *(["in progress at the horizon"] if stopped else []), "mean time in pathway",
                    "median", "90th centile"], journeys,
                   caption="Journeys" + (" (completed inside the window; the run stops at the horizon, where the "
                                         "others were still in the pathway)" if stopped else ""))]
    if d.journeys.outcomes is not None:
        outcomes = [(name, _pct(o.share), "n/a" if _given(o.count.mean) is None else f"{o.count.mean:,.1f}",
                     _pct(o.exact)) for name, o in d.journeys.outcomes.items()]
        parts.append(table(["outcome", "share of journeys (95% CI)", "journeys per replication", "exact share"],
                           outcomes, caption="Outcomes: how the pathway's journeys ended (exact: from the routing)"))
    rows = []
    for name, m in d.microsystems.items():
        board = m.boarding
        rows.append((name, "unlimited" if m.capacity is None else str(m.capacity),
                     f"{d.quality.microsystems[name].visits:,}", f"{m.visits:,}",
                     _ci(m.wait_minutes), _ci(m.sojourn_minutes), _pct(m.utilisation), _pct(m.offered_load),
                     _pct(board.share_of_visits) if board is not None else ""))
    parts.append(table(["microsystem", "capacity", "counted visits", "all visits",
                        "wait, min (95% CI)", "time there, min", "utilisation", "offered load",
                        "boarded"], rows,
                       caption="Flow through each microsystem (counted visits: visits by counted journeys, "
                               "the visits of the journeys that arrived after the warm-up, followed to their end, "
                               "as in quality and the command line's table; all visits: all visits in the window, "
                               "every visit that arrived in [warm-up, horizon), whichever journey, as waits and "
                               "utilisation use; offered load: the work offered per server, from the traffic "
                               "equations; 100% or more is unstable)"))
    if stopped:
        census = [(name, _count(m.in_service), _count(m.waiting)) for name, m in d.microsystems.items()]
        parts.append(table(["microsystem", "in service", "waiting"], census,
                           caption="At the horizon, where the run stops: patients in service and waiting "
                                   "(mean per replication)"))
    lost = [(name, how, f"{u.count:,}", _pct(u.share))
            for name, m in d.microsystems.items() for how, u in m.unserved.items()]
    if lost:
        parts.append(table(["microsystem", "not served", "arrivals", "share of arrivals (95% CI)"], lost,
                           caption="Arrivals not served: turned away by a full queue, balked or reneged "
                                   "(left without being seen)"))
    if result.records:
        parts.append(_fig(lambda ax: plot.journey_times(result, ax), (9, 4.2),
                          "Time in the pathway, per class (dotted: median).", "journey-times"))
        band = "the mean of the replications; the band is the 95% CI of that mean."
        parts.append(_fig(lambda ax: plot.utilisation(result, ax), (10, 4.2),
                          f"Utilisation over simulated time: {band}", "utilisation"))
        parts.append(_fig(lambda ax: plot.queue_length(result, ax), (10, 4.2),
                          f"Mean queue over simulated time: {band}", "queues"))
    return section("flow", "Flow: waits, utilisation, boarding", *parts)


def _count(est: Estimate | None) -> str:
    """A mean count per replication (``n/a`` where there is none)."""
    return "n/a" if est is None or _given(est.mean) is None else f"{est.mean:,.1f}"


def _cost(d: Summary) -> str:
    cost = d.cost
    if cost is None:
        return ""
    cur, p = cost.currency, cost.pathway
    pairs = [("cost per journey", _money_ci(p.per_journey, cur)),
             ("cost per defect-free journey", _money_ci(p.per_defect_free_journey, cur)),
             ("cost of poor quality (share of all cost)", _pct(p.poor_quality_share))]
    rows = [(k, _money_ci(v, cur)) for k, v in p.components.items()]
    by_class = [(k, _money_ci(v.per_journey, cur)) for k, v in cost.by_class.items()]
    return section("cost", "Cost", keyvalues((k, esc(v)) for k, v in pairs),
                   "<div class=grid2>"
                   + table(["component", "per journey (95% CI)"], rows, caption="Components")
                   + table(["class", "per journey (95% CI)"], by_class, caption="By class") + "</div>")


def _differences(comp: Comparison, base: Summary) -> str:
    summaries = [base] + [r.summary() for r in comp.results[1:]]
    names = list(base.standards)
    header = ["scenario", "system quality", "element quality"] + [f"{s} met" for s in names]
    rows = []
    for r, d in zip(comp.results, summaries):
        rows.append([r.scenario.name, _pct(d.quality.system.simulated), _pct(d.dependence.pathway.simulated)]
                    + [_pct(d.standards[s].met) if s in d.standards else "n/a" for s in names])
    numbers = ("base", "value", "difference", "ci95_low", "ci95_high")
    table_ = comp.table().astype(dict.fromkeys(numbers, float))
    changed = table_[(table_["difference"].abs() > 1e-12) & table_["difference"].notna()]
    rows2 = []
    for _, t in changed.iterrows():
        scale = 100.0 if plot._is_share(t["metric"]) else 1.0
        sure = t["ci95_low"] > 0 or t["ci95_high"] < 0  # False for NaN (one replication: no interval)
        interval = "" if pd.isna(t["ci95_low"]) else f" [{scale * t['ci95_low']:+.2f}, {scale * t['ci95_high']:+.2f}]"
        rows2.append((esc(t["scenario"]), esc(t["metric"]), esc(f"{scale * t['base']:.2f}"),
                      esc(f"{scale * t['value']:.2f}"),
                      f"<span class={'good' if sure else 'muted'}>{scale * t['difference']:+.2f}{interval}</span>"))
    sources = "".join(f"<li>{esc(r.scenario.name)}: {esc(r.scenario.source or 'built in Python')}</li>"
                      for r in comp.results)
    return section(
        "differences", "Scenario differences",
        f"<p>Every scenario was run with the same seed and named random-number streams (common random numbers), "
        f"so each difference from the base ({esc(comp.results[0].scenario.name)}) is paired by replication. "
        f"Shares are in percentage points; a difference whose 95% CI excludes 0 is highlighted.</p><ul>{sources}</ul>",
        table(header, rows, caption="Key results side by side"),
        _fig(lambda ax: plot.comparison(comp, ax), (9, 5.5), "Differences from the base, with 95% CIs.",
             "comparison"),
        table(["scenario", "metric", "base", "value", "difference (95% CI)"], rows2, numeric=(2, 3, 4), raw=True,
              caption="Every metric that changed"),
    )


def _file_digest(source: str | None) -> str:
    if not source or not Path(source).is_file():
        return "n/a"
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()


def _provenance(results: Sequence[SimulationResult]) -> str:
    parts = []
    for r in results:
        p = r.provenance
        pairs = [
            ("scenario", esc(p.scenario)),
            ("scenario file", esc(p.source or "built in Python")),
            ("file SHA-256", f"<code>{esc(_file_digest(p.source))}</code>"),
            ("journeysim version", esc(p.journeysim_version)),
            ("seed (root SeedSequence entropy)", f"<code>{esc(p.seed)}</code>"),
            ("replications", esc(p.replications)),
            ("horizon, warm-up", esc(f"{p.horizon / 1440:g} days, {p.warmup / 1440:g} days")),
            ("records", esc(p.records)),
            ("run started (UTC)", esc(p.started)),
            ("run time", esc(f"{p.wall_seconds:.1f} s on {p.workers} worker(s), {p.executor}")),
            ("machine", esc(p.platform)),
        ]
        parts.append(keyvalues(pairs))
    made = datetime.now(UTC).isoformat(timespec="seconds")
    parts.append(f"<p class=muted>Report written {esc(made)} by journeysim {esc(__version__)} on "
                 f"{esc(platform.system())} with {os.cpu_count()} cores. Rerun with the same "
                 f"file, seed and replications to get the same numbers on any number of workers.</p>")
    return section("provenance", "Provenance", *parts)


def _stress(results: Sequence[SimulationResult], summary: Summary) -> str:
    rows = [(esc(item), esc(topic), text) for item, topic, text in stress_rows(results, summary)]
    return section(
        "stress-des", "STRESS-DES reporting checklist",
        "<p>The items of the STRESS-DES guideline (Monks et al., J Simulation 2019) that the model can fill in "
        "itself. <span class=prompt>Highlighted</span> items are for the author to write.</p>",
        table(["item", "topic", "this study"], rows, numeric=(), raw=True),
    )


def _check_selection(comp: Comparison | None, selection: Selection | None) -> None:
    """A selection belongs in the report of the comparison of the same scenarios, in the same order."""
    if selection is None:
        return
    if not isinstance(selection, Selection):
        raise JourneySimError(f"selection= needs a Selection from journeysim.select_best, "
                              f"got {type(selection).__name__}")
    if comp is None:
        raise JourneySimError("a selection is reported with the Comparison of its scenarios, not with one result")
    names = tuple(r.scenario.name for r in comp.results)
    if tuple(selection.names) != names:
        raise JourneySimError(f"the selection is of {list(selection.names)}, but the comparison is of {list(names)}; "
                              "select from the same comparison (js.select_best(comparison, ...))")


def report_html(source: SimulationResult | Comparison, *, title: str | None = None,
                summary: Summary | None = None, metrics: Sequence[str] | None = None,
                selection: Selection | None = None) -> str:
    """The report as one self-contained HTML page.

    Parameters
    ----------
    source : SimulationResult or Comparison
        One scenario's result, or several from :func:`journeysim.compare`; the
        first (the base) is reported in full, the others in the differences.
    title : str, optional
        Default: the (base) scenario's name.
    summary : Summary, optional
        The base result's summary, if already computed.
    metrics : sequence of str, optional
        The metrics of a comparison's *what it did* table (default: the key metrics), as
        ``journeysim compare --metric`` chooses them.
    selection : Selection, optional
        A :func:`journeysim.select_best` of the comparison's scenarios: the first screen then
        leads with the alternative selected, its probability of correct selection and
        indifference zone, and each alternative's mean, replications and elimination.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    JourneySimError
        When ``selection`` is not of the comparison's scenarios, or comes without a comparison.
    ValidationError
        When a metric is not a metric of the comparison.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> result = js.simulate(model, horizon=1440, replications=2, seed=1)
    >>> page = js.report_html(result, title="Clinic")
    >>> page.startswith("<!DOCTYPE html>"), "Clinic" in page
    (True, True)

    The report of a selection leads with the alternative selected:

    >>> def clinic(defect):
    ...     model = js.Model([js.Microsystem("Clinic", capacity=1, service=js.Exponential(5), defect=defect)],
    ...                      classes=[js.PatientClass("p", entry="Clinic", rate=0.1)])
    ...     return js.Scenario(model, name=f"defect {defect}", horizon=3_000, replications=10, seed=3)
    >>> comparison = js.compare([clinic(0.3), clinic(0.1), clinic(0.2)])
    >>> selection = js.select_best(comparison, "quality.system", delta=0.05)
    >>> page = js.report_html(comparison, selection=selection)
    >>> "Selected: defect 0.1, the best by system quality" in page
    True
    """
    if isinstance(source, Comparison):
        comp: Comparison | None = source
        results: tuple[SimulationResult, ...] = source.results
    elif isinstance(source, SimulationResult):
        comp, results = None, (source,)
    else:
        raise JourneySimError(f"a report needs a SimulationResult or a Comparison, got {type(source).__name__}")
    _check_selection(comp, selection)
    if comp is not None and metrics:
        comp.key_rows(metrics)  # an unknown metric fails here, listing the valid ones
    base = results[0]
    d = summary if summary is not None else base.summary()
    name = title or base.scenario.name
    lede = (f"{len(results)} scenarios compared with common random numbers" if comp is not None
            else "one scenario") + (f"; {d.replications} replication{'s' if d.replications != 1 else ''}, "
                                    f"seed {esc(d.seed)}")
    if selection is not None:
        grew = any(r > selection.first_stage for r in selection.replications.values())
        lede += (f"; then ranked by {esc(display(selection.metric, 0.0).label.rsplit(' (', 1)[0])} with KN"
                 + (", which added replications to the alternatives still in" if grew else
                    " (the first stage was enough: no replications were added)"))
    body = [f"<header class=report><h1>{esc(name)}</h1><p class=lede>journeysim report: {lede}.</p></header>"]
    if comp is not None:  # the comparison first; then the base scenario's answer
        body += [comparison_screen(comp, metrics, selection),
                 f"<h2 class=base-title>The base scenario: {esc(base.scenario.name)}</h2>"]
    body.append(first_screen(base, d, _warnings(d)))
    sections = [
        _simulated(base, d), _quality(base, d), _standards(base, d), _leverage(base, d),
        _flow(base, d), _cost(d), _differences(comp, d) if comp is not None else "", _stress(results, d),
        _provenance(results),
    ]
    toc = "".join(f'<li><a href="#{ident}">{esc(text)}</a></li>' for ident, text in _titles(sections))
    body.append(f"<nav class=toc><ul>{toc}</ul></nav>")
    body += sections
    body.append(f"<footer>Made with journeysim {esc(__version__)}. Figures are inline SVG; this file needs no "
                f"network access.</footer>")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(name)}: journeysim report</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def _titles(sections: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for s in sections:
        if s.startswith('<section id="'):
            ident = s[len('<section id="'):s.index('"', len('<section id="'))]
            title = s[s.index("<h2>") + 4:s.index("</h2>")]
            out.append((ident, title.replace("&amp;", "&")))
    return out


def write_report(source: SimulationResult | Comparison, path: str | Path, *, title: str | None = None,
                 summary: Summary | None = None, metrics: Sequence[str] | None = None,
                 selection: Selection | None = None) -> Path:
    """Write :func:`report_html` to ``path`` (UTF-8) and return the path.

    ``metrics`` and ``selection`` are :func:`report_html`'s: the metrics of a comparison's
    *what it did* table, and a :func:`journeysim.select_best` of its scenarios to lead with.

    The page is written beside ``path`` and renamed, so a failure never leaves a
    partial file; it gets the permissions of the umask, like any new file.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> result = js.simulate(model, horizon=1440, replications=2, seed=1)
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = js.write_report(result, pathlib.Path(folder) / "clinic.html")
    ...     path.name, path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    ('clinic.html', True)
    """
    out = Path(path)
    page = report_html(source, title=title, summary=summary, metrics=metrics, selection=selection).encode("utf-8")
    try:
        write_atomic(out, lambda fh: fh.write(page))
    except OSError as err:
        raise JourneySimError(f"{out}: cannot write the report ({err.strerror or err})") from err
    return out
