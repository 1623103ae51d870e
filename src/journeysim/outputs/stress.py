"""The STRESS-DES checklist (Monks et al., J Simulation 2019) filled in from a result, for the HTML report.

Items a model can state about itself (outputs, logic, components, inputs,
run settings, software, random numbers, machine) are written out; those only
the author knows (purpose, aims, pre-processing, sharing) are prompts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from html import escape
from typing import Any

from ..analysis.metrics import Summary
from ..analysis.result import SimulationResult

__all__ = ["stress_rows", "model_differences"]


def _prompt(text: str) -> str:
    return f"<span class=prompt>{escape(text)}</span>"


def _name(element: Any) -> str:
    return str(getattr(element, "label", None) or element.name)


def _schedule(m: Any) -> str:
    return " (weekly schedule)" if m.period_days == 7 else f" ({m.period_days}-day schedule)"


def model_differences(base: Any, other: Any) -> list[str]:
    """What differs between two models, element by element: ``"handoff EMS->ED: defects, recovery"``.

    Examples
    --------
    >>> from journeysim.model.elements import Microsystem, PatientClass
    >>> from journeysim.model.mesosystem import Model
    >>> a = Model([Microsystem("A", defect=0.1)], classes=[PatientClass("p", entry="A", rate=0.1)])
    >>> b = Model([Microsystem("A", defect=0.05)], classes=[PatientClass("p", entry="A", rate=0.1)])
    >>> model_differences(a, b)
    ['microsystem A: defects']
    """
    out = []
    for kind, attr in (("microsystem", "microsystems"), ("handoff", "handoffs"), ("request", "requests"),
                       ("class", "classes"), ("standard", "standards")):
        before = {_name(e): e for e in getattr(base, attr)}
        after = {_name(e): e for e in getattr(other, attr)}
        out += [f"{kind} {n}: removed" for n in before if n not in after]
        out += [f"{kind} {n}: added" for n in after if n not in before]
        for n in before.keys() & after.keys():
            fields = [f.name for f in dataclasses.fields(before[n])
                      if f.init and f.name != "reference" and getattr(before[n], f.name) != getattr(after[n], f.name)]
            if fields:
                out.append(f"{kind} {n}: {', '.join(fields)}")
    if base.frailty != other.frailty:
        out.append("frailty: correlation")
    return sorted(out)


def stress_rows(results: Sequence[SimulationResult], summary: Summary) -> list[tuple[str, str, str]]:
    """``(item, topic, HTML text)`` for each STRESS-DES item, from the base result (``summary``, its
    summary, holds the figures the items point to; the items themselves describe the model and the run)."""
    base = results[0]
    sc, model, prov = base.scenario, base.scenario.model, base.provenance
    def e(value: Any) -> str:
        return escape(str(value))

    nodes = model.microsystems
    refs = sorted({r for r in (*(m.reference for m in nodes), *(h.reference for h in model.handoffs),
                               *(q.reference for q in model.requests), *(k.reference for k in model.classes),
                               *(st.reference for st in model.standards)) if r})
    estimated = sum("[E]" in r for r in refs)
    distributions = sorted({type(d).__name__ for m in nodes for d in _durations(m)})
    entries = sorted({name for k in model.classes for name, _ in k.entries})
    scenarios = "".join(
        f"<li>{e(r.scenario.name)}{': ' + e(r.scenario.description) if r.scenario.description else ''}"
        + ("" if i == 0 else " <br>Changes from the base: " + e("; ".join(model_differences(model, r.scenario.model))
                                                                 or "none in the model"))
        + "</li>"
        for i, r in enumerate(results))
    precision = prov.precision
    stop = (f"replications added until the 95% CI half-width of system quality was at most {precision.target:g} "
            f"({'reached' if precision.reached else 'not reached'} at {precision.replications})"
            if precision is not None else f"{prov.replications} independent replications, fixed in advance")
    return [
        ("1.1", "Purpose of the model",
         (e(sc.description) + " " if sc.description else "") + _prompt(
             "Author: state the background and the objectives of the model.")),
        ("1.2", "Model outputs",
         "System quality: the share of counted journeys (arriving after the warm-up) with no defect in any "
         "microsystem, handoff, service request or timeliness standard; per class. Exact quality: the probability "
         "of a defect-free journey solved from the graph (absorbing Markov chain; frailty by Gauss&ndash;Jacobi "
         "quadrature). Standards met, waits, time in the pathway, utilisation (busy time over available "
         "server-time), boarding, leverage, Six Sigma measures and cost. Each is computed per replication; "
         "95% CIs are Student-t across replications."),
        ("1.3", "Experimentation aims",
         (f"<ul>{scenarios}</ul>" if len(results) > 1 else "") + _prompt(
             "Author: the objectives of the experiments and the rationale for each scenario.")),
        ("2.1", "Base model overview diagram", "The pathway figure in section 1."),
        ("2.2", "Base model logic",
         f"{len(model.classes)} patient classes arrive (Poisson, with any arrival profile) at their entry "
         f"microsystems, are served at {len(nodes)} microsystems, pass along {len(model.handoffs)} handoffs with "
         f"transfer delays, and request {len(model.requests)} services from support microsystems; a visit ends "
         "when its work is done and every result is back. Each visit, handoff and request may have defects, drawn "
         "with the probabilities in section 1, and timeliness standards judge intervals between milestones."),
        ("2.3", "Scenario logic",
         f"<ul>{scenarios}</ul>" if len(results) > 1 else "A single scenario (no changes to the base model)."),
        ("2.4", "Algorithms",
         f"Service and delay distributions: {e(', '.join(distributions) or 'none')}. Routing by the handoff "
         "probabilities of each class. Defects are independent draws given the patient's frailty "
         f"(correlation {model.frailty.correlation:g})."),
        ("2.5.1", "Components: entities",
         e("; ".join(f"{k.name} ({k.rate * 1440:.2f}/day{', background' if k.background else ''})"
                     for k in model.classes))),
        ("2.5.2", "Components: activities",
         e("; ".join(f"{m.name}: " + ", ".join(s for s in _step_names(m)) for m in nodes))),
        ("2.5.3", "Components: resources",
         e("; ".join(f"{m.name} {'unlimited' if m.capacity is None else m.capacity}"
                     f"{_schedule(m) if m.schedule else ''}" for m in nodes))),
        ("2.5.4", "Components: queues",
         "One queue per microsystem: higher class priority first, first come first served within a priority. "
         "Patients who cannot move on board, keeping their bed, where a handoff allows boarding."),
        ("2.5.5", "Components: entry and exit points",
         f"Entries: {e(', '.join(entries))}. A patient leaves the pathway wherever the handoff probabilities "
         "out of a microsystem add up to less than 1."),
        ("3.1", "Data sources",
         f"{len(refs)} cited sources in the scenario file ({estimated} marked [E], estimates); "
         "see the source column of the tables in section 1."),
        ("3.2", "Pre-processing", _prompt("Author: how the source data were prepared.")),
        ("3.3", "Input parameters", "The tables of section 1, and the scenario file recorded under provenance."),
        ("3.4", "Assumptions",
         f"Inputs marked [E] are estimates ({estimated} of {len(refs)} sources). "
         + _prompt("Author: the assumptions and simplifications, and their justification.")),
        ("4.1", "Initialisation",
         f"Each replication starts empty and idle; journeys arriving in the first {sc.warmup / 1440:g} days are a "
         "warm-up left out of the statistics (see <code>journeysim warmup</code> for the MSER-5 check)."),
        ("4.2", "Run length",
         f"{sc.horizon / 1440:g} days of arrivals per replication; every journey is followed until it leaves."),
        ("4.3", "Estimation approach", e(stop) + "; 95% confidence intervals across replications."),
        ("5.1", "Software",
         f"journeysim {e(prov.journeysim_version)} (Python discrete-event simulation on SimPy); {e(prov.platform)}."),
        ("5.2", "Random sampling",
         f"numpy PCG64 generators from one root SeedSequence (seed {e(prov.seed)}); every replication and every "
         "named stream (arrivals of a class, service at a microsystem, defects at a handoff) has its own "
         "generator derived from its name, so scenarios share common random numbers."),
        ("5.3", "Model execution",
         f"Process-based discrete-event simulation; replications run {e(prov.executor)} on {prov.workers} "
         "worker(s), with identical results for any number of workers."),
        ("5.4", "System specification", e(f"{prov.platform}; run time {prov.wall_seconds:.1f} s.")),
        ("6.1", "Computer model sharing statement",
         f"journeysim is open source (MIT). Scenario file: {e(sc.source or 'built in Python')}. "
         + _prompt("Author: where the scenario files and this report are shared.")),
    ]


def _durations(m: Any) -> list[Any]:
    services = [m.service, *m.service_by_class.values()]
    out = []
    for s in services:
        out += [step.duration for step in s] if isinstance(s, (list, tuple)) else [s]
    return out


def _step_names(m: Any) -> list[str]:
    if not isinstance(m.service, (list, tuple)):
        return ["service"]
    return [step.name + ("" if step.when is None else f" (when {step.when.text})") for step in m.service]
