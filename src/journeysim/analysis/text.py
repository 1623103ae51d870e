"""Plain-text rendering of a summary (:class:`~journeysim.analysis.summary.SummaryData`) for the terminal."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..errors import warning_lines
from ..model.kinds import HANDOFF_KINDS
from ..run.stats import Estimate
from .costs import CostResult
from .dependence import DependenceResult
from .leverage import LeverageRow, by_method
from .sixsigma import SixSigmaResult
from .summary import ClassQuality, LinkQuality, MicrosystemResult, StandardResult, SummaryData, SystemQuality

__all__ = ["render", "warning_lines"]


def _given(x: float | None) -> float | None:
    """``x``, or ``None`` where it is missing or ``nan`` (an estimate that could not be formed)."""
    return None if x is None or not math.isfinite(x) else x


def _pct(x: float | None) -> str:
    x = _given(x)
    return "   n/a" if x is None else f"{100 * x:5.1f}%"


def _ci(est: Estimate, fmt: str = "{:.1f}", scale: float = 1.0) -> str:
    mean = _given(est.mean)
    if mean is None:
        return "n/a"
    lo, hi = _given(est.ci95[0]), _given(est.ci95[1])
    text = fmt.format(mean * scale)
    if lo is not None and hi is not None:
        text += f" [{fmt.format(lo * scale)}, {fmt.format(hi * scale)}]"
    return text


def _num(x: float | None, fmt: str = "{:.2f}", scale: float = 1.0) -> str:
    """A number in ``fmt``, or ``n/a`` where it is undefined."""
    x = _given(x)
    return "n/a" if x is None else fmt.format(x * scale)


def _span(minutes: float) -> str:
    """A run length in the largest whole unit that reads well: ``"365 days"``, ``"2 hours"``."""
    if minutes == 0:
        return "none"
    for unit, size in (("days", 1440.0), ("hours", 60.0)):
        if minutes >= size and (minutes / size == round(minutes / size, 2) or unit == "hours"):
            return f"{minutes / size:g} {unit}"
    return f"{minutes:g} minutes"


def _minutes(x: float | None) -> str:
    x = _given(x)
    if x is None:
        return "n/a"
    if x >= 2 * 1440:
        return f"{x / 1440:.1f} d"
    if x >= 120:
        return f"{x / 60:.1f} h"
    return f"{x:.1f} min"


def _standards(standards: Mapping[str, StandardResult]) -> list[str]:
    if not standards:
        return []
    out = ["", "Timeliness standards (share met, 95% CI; interval median [IQR], 90th percentile)"]
    for name, st in standards.items():
        m = st.overall.minutes
        out.append(
            f"  {name:<18} <= {_minutes(st.target_minutes):>8}  met {_ci(st.met, '{:.1f}%', 100):<22} "
            f"n={st.applies:<6} median {_minutes(m.p50)} [{_minutes(m.p25)}, {_minutes(m.p75)}], "
            f"p90 {_minutes(m.p90)}"
        )
        if st.overall.not_yet_reached:
            out.append(f"      not yet reached at the horizon: {st.overall.not_yet_reached} "
                       f"({_pct(st.overall.not_yet_reached_share).strip()}), neither met nor missed")
        for group, values in st.by_group.items():
            parts = [f"{label} {_pct(v.met.mean).strip()} (n={v.applies})"
                     for label, v in values.items() if v.applies]
            if parts:
                out.append(f"      by {group}: " + ", ".join(parts))
    return out


def _pts(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:+.2f}"


def _leverage(rows: Sequence[LeverageRow], top: int = 8, *, standards: bool = False) -> list[str]:
    """Where to work next, as the report ranks it: by the simulated gain in system quality (standards included),
    with the exact gain (quality of elements only, standards aside) beside it on its own scale; without
    simulated rows (summary records), by the exact gain, labelled so. ``standards``: the model sets some."""
    if not rows:
        return []
    simulated, exact = by_method(rows)
    head = f"Where to work next (top {top}): gain in points if the element never failed / were half as defective"
    if not simulated:
        what = "quality of elements only (standards aside)" if standards else "system quality"
        out = ["", head, f"  exact gain in {what}, solved on the graph"]
        out += [f"  {r.element:<44} {_pts(r.if_perfect):>7} / {_pts(r.if_halved):>7}"
                for r in list(exact.values())[:top]]
        return out
    if standards:
        about = ["  ranked by the simulated gain in system quality (these journeys, standards included; 95% CI);",
                 "  beside it the exact gain in quality of elements only (the graph, standards aside): another",
                 "  scale, larger where the journeys an element would fix also miss a standard"]
        exact_title = "exact, elements only"
    else:
        about = ["  ranked by the simulated gain in system quality (these journeys; 95% CI); beside it the exact",
                 "  gain solved on the graph"]
        exact_title = "exact"
    cells = []
    for r in simulated[:top]:
        low, high = r.ci95_if_perfect or (None, None)
        ci = f" [{_pts(low)}, {_pts(high)}]" if low is not None and high is not None else ""
        e = exact.get(r.element)
        beside = (f"{_pts(e.if_perfect):>7} / {_pts(e.if_halved):>7}" if e is not None
                  else "n/a (a standard)" if exact and standards else "n/a")
        cells.append((r.element, f"{_pts(r.if_perfect)}{ci} / {_pts(r.if_halved)}", beside))
    width = max(len("simulated"), *(len(c[1]) for c in cells))
    out = ["", head, *about, f"  {'element':<44} {'simulated':<{width}}   {exact_title}"]
    out += [f"  {name:<44} {sim:<{width}}   {beside}" for name, sim, beside in cells]
    shown = {r.element for r in simulated[:top]}
    best = next(iter(exact.values()), None)
    if best is not None and best.if_perfect > 0 and best.element not in shown:
        sim_row = next((r for r in simulated if r.element == best.element), None)
        out.append(f"  Not in this list: {best.element}, {_pts(best.if_perfect)} points of quality of elements only "
                   f"(exact) but {_pts(None if sim_row is None else sim_row.if_perfect)} of system quality "
                   "(simulated): the journeys it would fix mostly also miss a standard or have another defect.")
    return out


def _six_sigma(six: SixSigmaResult) -> list[str]:
    e, sim = six.exact, six.simulated
    out = ["", "Six Sigma (pathway journeys; opportunities as defined in docs/results.md)",
           f"  {'':<28} {'simulated':>26} {'exact (no standards)':>22}"]
    rows = (("opportunities per journey", e.opportunities_per_journey,
             None if sim is None else sim.opportunities_per_journey, "{:.2f}", 1),
            ("defects per journey", e.defects_per_journey, None if sim is None else sim.defects_per_journey,
             "{:.3f}", 1),
            ("DPMO", e.dpmo, None if sim is None else sim.dpmo, "{:,.0f}", 1),
            ("rolled throughput yield", e.rolled_throughput_yield,
             None if sim is None else sim.rolled_throughput_yield, "{:.1f}%", 100))
    for label, exact, est, fmt, scale in rows:
        simulated = _ci(est, fmt, scale) if est is not None else "n/a (summary mode)"
        out.append(f"  {label:<28} {simulated:>26} {_num(exact, fmt, scale):>22}")
    sig = sim.sigma_level if sim is not None else None
    out.append(f"  {'sigma level (1.5 shift)':<28} {_num(sig):>26} {_num(e.sigma_level):>22}")
    return out


def _dependence(dep: DependenceResult) -> list[str]:
    if not dep.correlation and not dep.propagation:
        return []
    out = ["", "Clustered and propagating defects (journeys free of element defects, standards aside)"]
    if dep.correlation:
        out.append(f"  patient frailty: correlation {dep.correlation:g}")
    for label, f in dep.propagation.items():
        out.append(f"  {label}: an uncaught information defect multiplies the receiving defects by {f:g}")
    p = dep.pathway
    exact = "" if p.exact is None else f"; exact with frailty {_pct(p.exact).strip()}"
    out.append(f"  simulated {_ci(p.simulated, '{:.1f}%', 100)} vs independent product "
               f"{_pct(p.independent_product).strip()}{exact}")
    out.append(f"  difference {_ci(p.difference, '{:+.2f}', 100)} points")
    return out


def _cost(cost: CostResult | None) -> list[str]:
    if cost is None:
        return []
    unit = f" ({cost.currency})" if cost.currency else ""
    money = "{:,.0f}"
    p = cost.pathway
    out = ["", f"Cost{unit}, mean per journey with 95% CI",
           f"  per journey              {_ci(p.per_journey, money)}",
           f"  per defect-free journey  {_ci(p.per_defect_free_journey, money)}",
           f"  cost of poor quality     {_ci(p.poor_quality_share, '{:.1f}%', 100)} of the total (defects and misses)",
           "  " + ", ".join(f"{k} {money.format(v.mean)}" for k, v in p.components.items()
                            if _given(v.mean) is not None)]
    for name, c in cost.by_class.items():
        if _given(c.per_journey.mean) is not None:
            out.append(f"  {name:<24} {_ci(c.per_journey, money)} per journey, "
                       f"{_ci(c.per_defect_free_journey, money)} per defect-free journey")
    return out


def _flow_extras(micro: Mapping[str, MicrosystemResult]) -> list[str]:
    out: list[str] = []
    if any(m.in_service is not None for m in micro.values()):
        out.append("  at the horizon (mean per replication): "
                   + ", ".join(f"{name} {_count(m.in_service)} in service, {_count(m.waiting)} waiting"
                               for name, m in micro.items() if m.in_service is not None and m.waiting is not None))
    for name, m in micro.items():
        if m.activation is not None:
            a = m.activation
            out.append(
                f"  {name}: team activated ahead of the patient for {_pct(a.ahead_share.mean).strip()} "
                f"of visits; mean wait for the team {_minutes(a.team_wait_minutes.mean)}"
            )
        if m.boarding is not None:
            b = m.boarding
            out.append(
                f"  {name}: {b.boarded} patients boarded (kept their bed waiting for the next one), "
                f"{_minutes(b.minutes_per_visit.mean)} per visit on average"
            )
        if m.unserved:
            ways = "; ".join(f"{how} {u.count} ({_ci(u.share, '{:.1f}%', 100).strip()})"
                             + (f", after {_minutes(u.wait_minutes.mean).strip()} waiting" if u.wait_minutes else "")
                             for how, u in m.unserved.items())
            out.append(f"  {name}: not served: {ways}")
    return out


def _count(e: Estimate | None) -> str:
    """A mean count across replications."""
    x = None if e is None else _given(e.mean)
    return "n/a" if x is None else f"{x:.1f}"


def _capacity(m: MicrosystemResult) -> str:
    """The capacity, or the range of the week's capacities under a schedule."""
    if not m.schedule:
        return "unlimited" if m.capacity is None else str(m.capacity)
    caps = [x.capacity for x in m.schedule if x.capacity is not None]
    return f"{min(caps)}-{max(caps)}" if len(caps) == len(m.schedule) else "sched."


def _outcomes(d: SummaryData) -> list[str]:
    """How the pathway's journeys ended, where the model has named exits."""
    outcomes = d.journeys.outcomes
    if outcomes is None:
        return []
    out = ["", "Outcomes (how journeys ended: share with 95% CI, journeys per replication, "
                   "exact share from the routing)"]
    for name, o in outcomes.items():
        out.append(f"  {name:<18} {_ci(o.share, '{:.1f}%', 100):>24} {_num(o.count.mean, '{:,.1f}'):>10} per rep. "
                   f"  exact {_pct(o.exact).strip()}")
    return out


def _quality(d: SummaryData) -> list[str]:
    q = d.quality
    out = ["Quality of the health system (share of journeys with no defect), 95% CI",
           f"  {'':<14} {'simulated':>28} {'exact':>30}"]
    background = [name for name, v in q.by_class.items() if v.background]
    overall = "pathway" if background else "all classes"
    rows: list[tuple[str, SystemQuality | ClassQuality]] = [(overall, q.system), *q.by_class.items()]
    for name, v in rows:
        label = name + (" (bg)" if name in background else "")
        out.append(f"  {label:<18} {_ci(v.simulated, '{:.1f}%', 100):>24} {_pct(v.analytic):>30}")
    if background:
        out.append("  (bg) background class: shares capacity, left out of the pathway figure")
    if "standards" in q.system.analytic_excludes:
        out.append("  exact: the graph's product leaves out missed standards (timeliness is simulated only)")
    if "queue_rules" in q.system.analytic_excludes:
        out.append("  exact: the graph's product leaves out full queues, balking and reneging (they depend on "
                   "the queues: simulated only)")
    if q.system.analytic_unavailable is not None:
        out.append(f"  exact: n/a, {q.system.analytic_unavailable}")
    return out


def _microsystems(d: SummaryData) -> list[str]:
    window = "steady state" if d.end == "drain" else "inside the window, to the horizon"
    out = ["", f"Microsystems (visits and quality: by counted journeys; waits and utilisation: {window}; "
               "offered: load per server from the traffic equations)",
           f"  {'name':<20} {'kind':<8} {'cap':>9} {'visits':>8} {'quality':>8} {'wait':>10} {'sojourn':>10} "
           f"{'util':>7} {'offered':>8}"]
    for name, m in d.microsystems.items():
        qm = d.quality.microsystems[name]
        util = _given(m.utilisation.mean)
        out.append(
            f"  {name:<20} {m.kind:<8} {_capacity(m):>9} {qm.visits:>8} {_pct(qm.quality):>8} "
            f"{_minutes(m.wait_minutes.mean):>10} {_minutes(m.sojourn_minutes.mean):>10} "
            f"{'' if util is None else _pct(util):>7} {_pct(m.offered_load):>8}"
        )
    out.append("  visits: visits by counted journeys (all visits in the window, whichever journey, are "
               "microsystems.<node>.visits in the JSON)")
    return out


def _links(links: Sequence[tuple[str, LinkQuality]]) -> list[str]:
    if not links:
        return []
    heads = " ".join(f"{kind if len(kind) <= 8 else kind[:6] + '.':>8}" for kind in HANDOFF_KINDS)
    out = ["", "Handoffs and service requests (quality by kind)",
           f"  {'handoff':<34} {'transfers':>9} {'quality':>8} {heads}"]
    for label, h in links:
        kinds = " ".join(f"{_pct(h.by_kind[kind]) if kind in h.by_kind else '':>8}" for kind in HANDOFF_KINDS)
        out.append(f"  {label:<34} {h.transfers:>9} {_pct(h.quality):>8} {kinds}")
        if h.recovery is not None:
            r = h.recovery
            out.append(f"      recovery: {r.caught} information defects caught by the receiving team "
                       f"({_ci(r.caught_share, '{:.1f}%', 100)} of those that happened)")
    return out


def _journeys_line(d: SummaryData) -> str:
    """How many journeys were counted, and how the runs ended."""
    j = d.journeys
    if j.in_progress is None:
        return f"Journeys counted: {j.completed} after the warm-up, each followed to its end"
    return (f"Journeys counted: {j.arrived} arrived after the warm-up; the run stops at the horizon: "
            f"{j.completed} completed, {j.in_progress.total} still in progress "
            f"({_count(j.in_progress.estimate)} per replication)")


def render(d: SummaryData) -> str:
    """A readable multi-section report: journeys, quality, microsystems, handoffs."""
    tis = d.journeys.time_in_system
    out = [
        f"journeysim {d.journeysim_version}  scenario: {d.scenario}",
        f"{d.replications} replication(s) of {_span(d.horizon_minutes)} (warm-up {_span(d.warmup_minutes)}), "
        f"seed {d.seed}",
        "",
        *warning_lines(d.warnings),
        _journeys_line(d),
        f"Time in system: mean {_minutes(tis.estimate.mean)}, median {_minutes(tis.p50)}, "
        f"90th percentile {_minutes(tis.p90)}",
        *_outcomes(d),
        "",
        *_quality(d),
        *_dependence(d.dependence),
        *_standards(d.standards),
        *_leverage(d.quality.leverage, standards=bool(d.standards)),
        *_six_sigma(d.six_sigma),
        *_cost(d.cost),
        *_microsystems(d),
        *_flow_extras(d.microsystems),
        *_links([*d.quality.handoffs.items(), *d.quality.requests.items()]),
    ]
    return "\n".join(out)
