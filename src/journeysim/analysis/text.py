"""Plain-text rendering of a :class:`~journeysim.analysis.metrics.Summary` for the terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model.kinds import HANDOFF_KINDS

__all__ = ["render", "warning_lines"]


def _pct(x: float | None) -> str:
    return "   n/a" if x is None else f"{100 * x:5.1f}%"


def _ci(est: dict[str, Any], fmt: str = "{:.1f}", scale: float = 1.0) -> str:
    mean = est["mean"]
    if mean is None:
        return "n/a"
    lo, hi = est["ci95"]
    text = fmt.format(mean * scale)
    if lo is not None and hi is not None:
        text += f" [{fmt.format(lo * scale)}, {fmt.format(hi * scale)}]"
    return text


def _num(x: float | None, fmt: str = "{:.2f}", scale: float = 1.0) -> str:
    """A number in ``fmt``, or ``n/a`` where it is undefined."""
    return "n/a" if x is None else fmt.format(x * scale)


def _span(minutes: float) -> str:
    """A run length in the largest whole unit that reads well: ``"365 days"``, ``"2 hours"``."""
    if minutes == 0:
        return "none"
    for unit, size in (("days", 1440.0), ("hours", 60.0)):
        if minutes >= size and (minutes / size == round(minutes / size, 2) or unit == "hours"):
            return f"{minutes / size:g} {unit}"
    return f"{minutes:g} minutes"


def warning_lines(warnings: list[dict[str, str]]) -> list[str]:
    """The ``warnings`` of a summary as text lines (none if there are none)."""
    if not warnings:
        return []
    return ["Warnings:"] + [f"  {w['path'] + ': ' if w['path'] else ''}{w['message']}" for w in warnings] + [""]


def _minutes(x: float | None) -> str:
    if x is None:
        return "n/a"
    if x >= 2 * 1440:
        return f"{x / 1440:.1f} d"
    if x >= 120:
        return f"{x / 60:.1f} h"
    return f"{x:.1f} min"


def _standards(standards: dict[str, Any]) -> list[str]:
    if not standards:
        return []
    out = ["", "Timeliness standards (share met, 95% CI; interval median [IQR], 90th percentile)"]
    for name, st in standards.items():
        m = st["minutes"]
        out.append(
            f"  {name:<18} <= {_minutes(st['target_minutes']):>8}  met {_ci(st['met'], '{:.1f}%', 100):<22} "
            f"n={st['applies']:<6} median {_minutes(m['p50'])} [{_minutes(m['p25'])}, {_minutes(m['p75'])}], "
            f"p90 {_minutes(m['p90'])}"
        )
        for group, values in st["by_group"].items():
            parts = [f"{label} {_pct(v['met']['mean']).strip()} (n={v['applies']})"
                     for label, v in values.items() if v["applies"]]
            if parts:
                out.append(f"      by {group}: " + ", ".join(parts))
    return out


def _leverage(rows: list[dict[str, Any]], top: int = 8) -> list[str]:
    if not rows:
        return []
    out = ["", f"Where to work next: gain in system quality if the element were perfect / half as defective (top {top})",
           "  (exact: solved on the graph, without standards; simulated: from these journeys, standards included)"]
    for r in rows[:top]:
        out.append(f"  {r['element']:<44} {r['method']:<9} +{100 * r['if_perfect']:5.2f} pts / +{100 * r['if_halved']:5.2f} pts")
    return out


def _six_sigma(six: dict[str, Any] | None) -> list[str]:
    if not six:
        return []
    e, sim = six["exact"], six["simulated"]
    out = ["", "Six Sigma (pathway journeys; opportunities as defined in docs/results.md)",
           f"  {'':<28} {'simulated':>26} {'exact (no standards)':>22}"]
    rows = (("opportunities per journey", "opportunities_per_journey", "{:.2f}", 1),
            ("defects per journey", "defects_per_journey", "{:.3f}", 1), ("DPMO", "dpmo", "{:,.0f}", 1),
            ("rolled throughput yield", "rolled_throughput_yield", "{:.1f}%", 100))
    for label, key, fmt, scale in rows:
        simulated = _ci(sim[key], fmt, scale) if sim else "n/a (summary mode)"
        out.append(f"  {label:<28} {simulated:>26} {_num(e[key], fmt, scale):>22}")
    sig = sim["sigma_level"] if sim else None
    out.append(f"  {'sigma level (1.5 shift)':<28} {_num(sig):>26} {_num(e['sigma_level']):>22}")
    return out


def _dependence(dep: dict[str, Any] | None) -> list[str]:
    if not dep or (not dep["correlation"] and not dep["propagation"]):
        return []
    out = ["", "Clustered and propagating defects (journeys free of element defects, standards aside)"]
    if dep["correlation"]:
        out.append(f"  patient frailty: correlation {dep['correlation']:g}")
    for label, f in dep["propagation"].items():
        out.append(f"  {label}: an uncaught information defect multiplies the receiving defects by {f:g}")
    exact = "" if dep["exact"] is None else f"; exact with frailty {_pct(dep['exact']).strip()}"
    out.append(f"  simulated {_ci(dep['simulated'], '{:.1f}%', 100)} vs independent product "
               f"{_pct(dep['independent_product']).strip()}{exact}")
    out.append(f"  difference {_ci(dep['difference'], '{:+.2f}', 100)} points")
    return out


def _cost(cost: dict[str, Any] | None) -> list[str]:
    if not cost:
        return []
    unit = f" ({cost['currency']})" if cost["currency"] else ""
    money = "{:,.0f}"
    out = ["", f"Cost{unit}, mean per journey with 95% CI",
           f"  per journey              {_ci(cost['per_journey'], money)}",
           f"  per defect-free journey  {_ci(cost['per_defect_free_journey'], money)}",
           f"  cost of poor quality     {_ci(cost['poor_quality_share'], '{:.1f}%', 100)} of the total (defects and misses)",
           "  " + ", ".join(f"{k} {money.format(v['mean'])}" for k, v in cost["components"].items()
                            if v["mean"] is not None)]
    for name, c in cost["by_class"].items():
        if c["per_journey"]["mean"] is not None:
            out.append(f"  {name:<24} {_ci(c['per_journey'], money)} per journey, "
                       f"{_ci(c['per_defect_free_journey'], money)} per defect-free journey")
    return out


def _flow_extras(micro: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name, m in micro.items():
        if "activation" in m:
            a = m["activation"]
            out.append(
                f"  {name}: team activated ahead of the patient for {_pct(a['ahead_share']['mean']).strip()} "
                f"of visits; mean wait for the team {_minutes(a['team_wait_minutes']['mean'])}"
            )
        if "boarding" in m:
            b = m["boarding"]
            out.append(
                f"  {name}: {b['boarded']} patients boarded (kept their bed waiting for the next one), "
                f"{_minutes(b['minutes_per_visit']['mean'])} per visit on average"
            )
    return out


def render(d: Mapping[str, Any]) -> str:
    """A readable multi-section report: journeys, quality, microsystems, handoffs."""
    q = d["quality"]
    j = d["journeys"]
    out: list[str] = []
    out.append(f"journeysim {d['journeysim_version']}  scenario: {d['scenario']}")
    out.append(
        f"{d['replications']} replication(s) of {_span(d['horizon_minutes'])} "
        f"(warm-up {_span(d['warmup_minutes'])}), seed {d['seed']}"
    )
    out.append("")
    out.extend(warning_lines(d.get("warnings") or []))
    tis = j["time_in_system_minutes"]
    out.append(f"Journeys counted: {j['completed']} after the warm-up, each followed to its end")
    out.append(
        f"Time in system: mean {_minutes(tis['mean'])}, median {_minutes(tis['p50'])}, 90th percentile {_minutes(tis['p90'])}"
    )
    out.append("")
    out.append("Quality of the health system (share of journeys with no defect), 95% CI")
    out.append(f"  {'':<14} {'simulated':>28} {'exact':>30}")
    background = [name for name, v in q["by_class"].items() if v.get("background")]
    overall = "pathway" if background else "all classes"
    rows = [(overall, q["system"])] + list(q["by_class"].items())
    for name, v in rows:
        label = name + (" (bg)" if name in background else "")
        out.append(
            f"  {label:<18} {_ci(v['simulated'], '{:.1f}%', 100):>24} {_pct(v['analytic']):>30}"
        )
    if background:
        out.append("  (bg) background class: shares capacity, left out of the pathway figure")
    if q["system"].get("analytic_excludes"):
        out.append("  exact: the graph's product leaves out missed standards (timeliness is simulated only)")
    out.extend(_dependence(d.get("dependence")))
    out.extend(_standards(d.get("standards") or {}))
    out.extend(_leverage(q.get("leverage") or []))
    out.extend(_six_sigma(d.get("six_sigma")))
    out.extend(_cost(d.get("cost")))
    out.append("")
    out.append("Microsystems (visits and quality: counted journeys; waits and utilisation: steady state; "
               "offered: load per server from the traffic equations)")
    out.append(
        f"  {'name':<20} {'kind':<8} {'cap':>9} {'visits':>8} {'quality':>8} {'wait':>10} {'sojourn':>10} {'util':>7}"
        f" {'offered':>8}"
    )
    for name, m in d["microsystems"].items():
        qm = q["microsystems"][name]
        util = m["utilization"]["mean"]
        cap = m["capacity"]
        if "schedule" in m:  # the range of the week's capacities
            caps = [x["capacity"] for x in m["schedule"]]
            cap = f"{min(caps)}-{max(caps)}" if "unlimited" not in caps else "sched."
        out.append(
            f"  {name:<20} {m['kind']:<8} {cap!s:>9} {qm['visits']:>8} {_pct(qm['quality']):>8} "
            f"{_minutes(m['wait_minutes']['mean']):>10} {_minutes(m['sojourn_minutes']['mean']):>10} "
            f"{'' if util is None else _pct(util):>7} {_pct(m.get('offered_load')):>8}"
        )
    out.extend(_flow_extras(d["microsystems"]))
    links = list(q["handoffs"].items()) + list(q["requests"].items())
    if links:
        out.append("")
        out.append("Handoffs and service requests (quality by kind)")
        heads = " ".join(f"{kind if len(kind) <= 8 else kind[:6] + '.':>8}" for kind in HANDOFF_KINDS)
        out.append(f"  {'handoff':<34} {'transfers':>9} {'quality':>8} {heads}")
        for label, h in links:
            bk = h["by_kind"]
            kinds = " ".join(f"{_pct(bk[kind]) if kind in bk else '':>8}" for kind in HANDOFF_KINDS)
            out.append(f"  {label:<34} {h['transfers']:>9} {_pct(h['quality']):>8} {kinds}")
            if "recovery" in h:
                r = h["recovery"]
                out.append(f"      recovery: {r['caught']} information defects caught by the receiving team "
                           f"({_ci(r['caught_share'], '{:.1f}%', 100)} of those that happened)")
    return "\n".join(out)
