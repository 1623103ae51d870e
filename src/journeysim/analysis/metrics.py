"""Statistics of a simulation result: journeys, quality, and flow at each microsystem.

Definitions (all documented in ``docs/results.md``):

* A **journey** counts when it arrived at or after the warm-up. Runs drain (every
  journey that arrived before the horizon is followed to its end), so completed
  equals arrived; both are reported as totals over the replications. Overall
  journey statistics and system quality cover the pathway classes; background
  classes are reported under ``by_class`` only.
* **System quality** is the share of those journeys that were defect-free; its
  interval is the Student-t interval of the replication shares (Wilson's
  interval when there is a single replication).
* **Microsystem quality** is ``1 - defective visits / visits`` over the visits
  of counted journeys; a support microsystem's visits are the requests it served.
  **Handoff quality** is the share of transfers with no defect of any kind, and
  ``by_kind`` gives the same per kind.
* **Flow** at a microsystem (waits, sojourn, utilisation) uses the visits that
  arrived in ``[warmup, horizon)`` and the busy time inside that window, so it
  describes the steady state that queueing theory predicts.
* **Percentiles** of time in system are exact when records are kept; in summary
  mode they come from log-spaced histograms (bins about 2% wide, interpolated).

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.analysis.result import simulate
>>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8), defect=0.1)],
...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
>>> s = simulate(model, horizon=20_000, replications=3, seed=5).summary()
>>> 0.85 < s.data["quality"]["system"]["simulated"]["mean"] < 0.95
True
>>> s.data["quality"]["system"]["analytic"]
0.9
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..engine.aggregate import TIS_BINS, ReplicationStats
from ..model.diagnostics import model_warnings
from ..model.kinds import HANDOFF_KINDS, REQUEST_KINDS, code
from ..model.traffic import offered_load
from ..run.results import RunResult
from ..run.stats import Estimate, mean_ci, proportion_ci
from .costs import cost_summary
from .dependence import dependence
from .exact import exact_quality
from .leverage import leverage
from .sixsigma import six_sigma
from .text import render
from .views import summary_html

__all__ = ["Summary", "summarize", "replication_metrics"]


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True, slots=True)
class Summary:
    """Statistics of a result.

    Attributes
    ----------
    data : dict
        Nested, JSON-ready statistics (the ``--json`` output of ``journeysim run``).
    """

    data: dict[str, Any]

    def __repr__(self) -> str:
        d = self.data
        q = d["quality"]["system"]
        sim, (low, high) = q["simulated"]["mean"], q["simulated"]["ci95"]
        share = "n/a" if sim is None else f"{100 * sim:.1f}%"
        ci = "" if low is None or high is None else f" [{100 * low:.1f}, {100 * high:.1f}]"
        warn = f"; {len(d['warnings'])} warning(s)" if d.get("warnings") else ""
        return (f"<Summary {d['scenario']!r}: {d['replications']} replication(s), {d['journeys']['completed']:,} "
                f"journeys; system quality {share}{ci} (exact {100 * q['analytic']:.1f}%){warn}. "
                ".to_text() or .to_dict() for everything>")

    def to_dict(self) -> dict[str, Any]:
        """The nested statistics (JSON-ready: ``None`` where a value cannot be formed), as a new dict."""
        return copy.deepcopy(self.data)

    def quality_table(self) -> pd.DataFrame:
        """System quality per class, simulated and exact."""
        q = self.data["quality"]
        rows = [("all", q["system"])] + list(q["by_class"].items())
        return pd.DataFrame(
            [
                {
                    "class": name,
                    "simulated": v["simulated"]["mean"],
                    "ci95_low": v["simulated"]["ci95"][0],
                    "ci95_high": v["simulated"]["ci95"][1],
                    "exact": v["analytic"],
                }
                for name, v in rows
            ]
        ).set_index("class")

    def microsystem_table(self) -> pd.DataFrame:
        """Visits, quality, waits, sojourn and utilisation per microsystem."""
        rows = []
        for name, m in self.data["microsystems"].items():
            q = self.data["quality"]["microsystems"][name]
            rows.append(
                {
                    "microsystem": name,
                    "kind": m["kind"],
                    "capacity": m["capacity"],
                    "visits": m["visits"],
                    "quality": q["quality"],
                    "wait_min": m["wait_minutes"]["mean"],
                    "sojourn_min": m["sojourn_minutes"]["mean"],
                    "utilization": m["utilization"]["mean"],
                }
            )
        return pd.DataFrame(rows).set_index("microsystem")

    def handoff_table(self) -> pd.DataFrame:
        """Transfers and quality per handoff and kind (requests included, as ``A=>B``)."""
        rows = []
        for group in ("handoffs", "requests"):
            for label, h in self.data["quality"][group].items():
                rows.append(
                    {"handoff": label, "transfers": h["transfers"], "quality": h["quality"],
                     **{kind: h["by_kind"].get(kind) for kind in HANDOFF_KINDS}}
                )
        return pd.DataFrame(rows).set_index("handoff") if rows else pd.DataFrame()

    def standards_table(self) -> pd.DataFrame:
        """Each timeliness standard: target, journeys it applied to, share met with its CI, median interval."""
        rows = [
            {"standard": name, "target_min": s["target_minutes"], "applies": s["applies"],
             "met": s["met"]["mean"], "ci95_low": s["met"]["ci95"][0], "ci95_high": s["met"]["ci95"][1],
             "median_min": (s.get("minutes") or {}).get("p50")}
            for name, s in self.data["standards"].items()
        ]
        return pd.DataFrame(rows).set_index("standard") if rows else pd.DataFrame()

    def _repr_html_(self) -> str:
        return summary_html(self.data, self.quality_table(), self.standards_table())

    def to_text(self) -> str:
        """A readable report of the main numbers."""
        return render(self.data)


def _ci_pair(est: Estimate) -> dict[str, Any]:
    return est.to_dict()


def _percentiles(stats: Sequence[ReplicationStats], classes: Sequence[int], qs: Sequence[float]) -> list[float | None]:
    """Pooled percentiles of time in system: exact from the values, else from the histograms."""
    keep = all(s.class_tis_values is not None for s in stats)
    values = [s.class_tis_values[k] for s in stats for k in classes] if keep else None  # type: ignore[index]
    hist = sum(s.class_tis_hist[list(classes)].sum(axis=0) for s in stats)
    return _pooled_percentiles(values, hist, qs)  # type: ignore[arg-type]


def _pooled_percentiles(values: list[np.ndarray] | None, hist: np.ndarray, qs: Sequence[float]) -> list[float | None]:
    """Percentiles from raw values when kept, else interpolated in a TIS_BINS histogram."""
    if values is not None:
        x = np.concatenate(values) if values else np.empty(0)
        return [_num(float(np.percentile(x, q))) if x.size else None for q in qs]
    total = float(np.sum(hist))
    if total == 0:
        return [None for _ in qs]
    cum = np.concatenate([[0.0], np.cumsum(hist)]) / total
    # linear interpolation inside the bin that crosses the quantile
    return [_num(float(np.interp(q / 100.0, cum, TIS_BINS))) for q in qs]


def _standards(model: Any, stats: Sequence[ReplicationStats]) -> dict[str, Any]:
    """Share met, interval percentiles and subgroups of each standard."""
    out: dict[str, Any] = {}
    if not model.standards:
        return out
    n = np.array([s.std_n for s in stats])  # (replications, standards, cells)
    met = np.array([s.std_met for s in stats])
    reached = np.array([s.std_reached for s in stats])
    hist = np.array([s.std_hist for s in stats]).sum(axis=0)
    n_cells = n.shape[2]
    keep = all(s.std_values is not None for s in stats)

    def cell(j: int, c: int) -> dict[str, Any]:
        values = [s.std_values[j * n_cells + c] for s in stats] if keep else None  # type: ignore[index]
        p25, p50, p75, p90 = _pooled_percentiles(values, hist[j, c], (25, 50, 75, 90))
        total = int(n[:, j, c].sum())
        return {
            "applies": total,
            "met": _ci_pair(proportion_ci(met[:, j, c], n[:, j, c])),
            "reached": _num(float(reached[:, j, c].sum()) / total) if total else None,
            "minutes": {"p25": p25, "p50": p50, "p75": p75, "p90": p90},
        }

    for j, st in enumerate(model.standards):
        entry = {
            "target_minutes": st.within,
            "from": list(st.start),
            "to": list(st.end),
            "classes": list(st.classes) if st.classes is not None else list(model.pathway_classes),
            "entries": list(st.entries) if st.entries is not None else None,
            **cell(j, 0),
            "by_group": {},
        }
        offset = 1
        for g in model.groups:
            entry["by_group"][g.name] = {label: cell(j, offset + li) for li, label in enumerate(g.labels)}
            offset += len(g.labels)
        out[st.name] = entry
    return out


def _recovery(caught: np.ndarray, missed: np.ndarray) -> dict[str, Any]:
    """Information defects caught by the receiving microsystem, and the share of them caught."""
    return {"caught": int(caught.sum()), "caught_share": _ci_pair(proportion_ci(caught, caught + missed))}


def summarize(result: RunResult) -> Summary:
    """Compute the statistics of ``result`` (see the module docstring for definitions)."""
    scenario = result.scenario
    model = scenario.model
    stats = result.stats
    warmup, horizon = scenario.warmup, scenario.horizon
    nodes = [m.name for m in model.microsystems]
    classes = list(model.class_names)
    exact = exact_quality(model)
    pathway = [k for k, c in enumerate(model.classes) if not c.background]

    done = np.array([s.class_done for s in stats])  # (replications, classes)
    good = np.array([s.class_good for s in stats])
    tis_sum = np.array([s.class_tis_sum for s in stats])
    with np.errstate(invalid="ignore", divide="ignore"):
        tis_means = tis_sum[:, pathway].sum(axis=1) / done[:, pathway].sum(axis=1)
        class_tis_means = tis_sum / done
    p50, p90 = _percentiles(stats, pathway, (50, 90))
    journeys: dict[str, Any] = {
        "arrived": int(done[:, pathway].sum()),
        "completed": int(done[:, pathway].sum()),
        "time_in_system_minutes": {**_ci_pair(mean_ci(tis_means)), "p50": p50, "p90": p90},
        "by_class": {},
    }
    for k, name in enumerate(classes):
        c50, c90 = _percentiles(stats, [k], (50, 90))
        journeys["by_class"][name] = {
            "background": k not in pathway,
            "completed": int(done[:, k].sum()),
            "time_in_system_minutes": {**_ci_pair(mean_ci(class_tis_means[:, k])), "p50": c50, "p90": c90},
        }
    quality: dict[str, Any] = {
        "system": {
            "simulated": _ci_pair(proportion_ci(good[:, pathway].sum(axis=1), done[:, pathway].sum(axis=1))),
            "analytic": exact.system,
            # the graph's product of qualities cannot see time: missed standards are simulated only
            "analytic_excludes": ["standards"] if model.standards else [],
        },
        "by_class": {
            name: {
                "simulated": _ci_pair(proportion_ci(good[:, k], done[:, k])),
                "analytic": exact.by_class[name],
                "background": k not in pathway,
            }
            for k, name in enumerate(classes)
        },
    }

    def element(n: np.ndarray, bad: np.ndarray) -> dict[str, Any]:
        total = float(n.sum())
        est = proportion_ci(n - bad, n)
        return {"quality": _num(1.0 - bad.sum() / total) if total else None, "ci95": est.to_dict()["ci95"]}

    def by_kind(n: np.ndarray, bad: np.ndarray, kinds: Sequence[str]) -> dict[str, float | None]:
        total = float(n.sum())
        return {kind: _num(1.0 - bad[:, code(kind)].sum() / total) if total else None for kind in kinds}

    node_visits = np.array([s.node_visits for s in stats])
    node_bad = np.array([s.node_bad for s in stats])
    edge_n = np.array([s.edge_n for s in stats]).reshape(len(stats), -1)
    edge_bad = np.array([s.edge_bad for s in stats]).reshape(len(stats), -1)
    edge_kind = np.array([s.edge_kind_bad for s in stats]).reshape(len(stats), -1, len(HANDOFF_KINDS))
    req_n = np.array([s.req_n for s in stats]).reshape(len(stats), -1)
    req_bad = np.array([s.req_bad for s in stats]).reshape(len(stats), -1)
    req_kind = np.array([s.req_kind_bad for s in stats]).reshape(len(stats), -1, len(HANDOFF_KINDS))
    quality["microsystems"] = {
        name: {"visits": int(node_visits[:, i].sum()), **element(node_visits[:, i], node_bad[:, i])}
        for i, name in enumerate(nodes)
    }
    caught = np.array([s.edge_caught for s in stats]).reshape(len(stats), -1)
    quality["handoffs"] = {
        h.label: {
            "transfers": int(edge_n[:, e].sum()),
            **element(edge_n[:, e], edge_bad[:, e]),
            "by_kind": by_kind(edge_n[:, e], edge_kind[:, e], HANDOFF_KINDS),
            **({} if h.recovery is None else {"recovery": _recovery(caught[:, e], edge_kind[:, e, 1])}),
        }
        for e, h in enumerate(model.handoffs)
    }
    quality["requests"] = {
        r.label: {
            "transfers": int(req_n[:, e].sum()),
            **element(req_n[:, e], req_bad[:, e]),
            "by_kind": by_kind(req_n[:, e], req_kind[:, e], REQUEST_KINDS),
        }
        for e, r in enumerate(model.requests)
    }

    span = horizon - warmup
    counts = np.array([s.flow_count for s in stats])
    with np.errstate(invalid="ignore", divide="ignore"):
        waits = np.array([s.wait_sum for s in stats]) / counts
        sojourns = np.array([s.sojourn_sum for s in stats]) / counts
        support_waits = np.array([s.support_wait_sum for s in stats]) / counts
        holds = np.array([s.hold_sum for s in stats]) / counts
    busy = np.array([s.busy_time for s in stats]) / span
    # boarding, per source microsystem: transfers that boarded and minutes boarded per visit
    blocked_n = np.array([s.edge_blocked_n for s in stats]).reshape(len(stats), -1)
    blocked_sum = np.array([s.edge_blocked_sum for s in stats]).reshape(len(stats), -1)
    act = {name: np.array([getattr(s, name) for s in stats])
           for name in ("act_n", "act_ahead_n", "act_ahead_sum", "act_wait_sum")}
    micro: dict[str, Any] = {}
    load = offered_load(model)
    for i, m in enumerate(model.microsystems):
        mean_cap = m.mean_capacity
        util = busy[:, i] / mean_cap if mean_cap is not None else np.full(len(stats), math.nan)
        out_edges = [e for e, h in enumerate(model.handoffs) if h.source == m.name]
        with np.errstate(invalid="ignore", divide="ignore"):
            boarded = blocked_n[:, out_edges].sum(axis=1)
            board_minutes = blocked_sum[:, out_edges].sum(axis=1) / node_visits[:, i]
        extra: dict[str, Any] = {}
        if any(h.boarding.is_zero() is False for h in model.handoffs if h.source == m.name):  # type: ignore[union-attr]
            extra["boarding"] = {
                "boarded": int(boarded.sum()),
                "share_of_visits": _num(float(boarded.sum() / node_visits[:, i].sum())) if node_visits[:, i].sum() else None,
                "minutes_per_visit": _ci_pair(mean_ci(board_minutes)),
            }
        if m.team_ready is not None:
            n_act = act["act_n"][:, i]
            with np.errstate(invalid="ignore", divide="ignore"):
                extra["activation"] = {
                    "activations": int(n_act.sum()),
                    "ahead_share": _ci_pair(proportion_ci(act["act_ahead_n"][:, i], n_act)),
                    "ahead_minutes": _ci_pair(mean_ci(act["act_ahead_sum"][:, i] / n_act)),
                    "team_wait_minutes": _ci_pair(mean_ci(act["act_wait_sum"][:, i] / n_act)),
                }
        if m.schedule:
            extra["schedule"] = [
                {"from_minute_of_week": t, "capacity": "unlimited" if cap is None else cap}
                for t, cap, _ in m.segments()
            ]
        micro[m.name] = {
            "kind": m.kind,
            "capacity": "unlimited" if m.capacity is None else m.capacity,
            "visits": int(counts[:, i].sum()),
            "arrivals_per_day": _ci_pair(mean_ci(counts[:, i] / span * 1440.0)),
            "wait_minutes": _ci_pair(mean_ci(waits[:, i])),
            "sojourn_minutes": _ci_pair(mean_ci(sojourns[:, i])),
            "support_wait_minutes": _ci_pair(mean_ci(support_waits[:, i])),
            "hold_minutes": _ci_pair(mean_ci(holds[:, i])),
            "busy_servers": _ci_pair(mean_ci(busy[:, i])),
            "utilization": _ci_pair(mean_ci(util)),
            "offered_load": load[m.name].load,
            "offered_erlangs": load[m.name].erlangs,
            **extra,
        }

    quality["leverage"] = [{k: _num(v) if isinstance(v, float) else v for k, v in row.items()}
                           for row in leverage(result)]
    prov = result.provenance
    data = {
        "scenario": scenario.name,
        "source": scenario.source,
        "journeysim_version": prov.journeysim_version,
        "seed": prov.seed,
        "replications": len(stats),
        "horizon_minutes": horizon,
        "warmup_minutes": warmup,
        "records": "full" if result.records else "summary",
        "journeys": journeys,
        "quality": quality,
        "standards": _standards(model, stats),
        "six_sigma": six_sigma(result),
        "dependence": dependence(result),
        "cost": cost_summary(result),
        "microsystems": micro,
        "warnings": _warnings(model, load, journeys["completed"]),
        "provenance": prov.to_dict(),
    }
    return Summary(data)


def _warnings(model: Any, load: Any, counted: int) -> list[dict[str, str]]:
    """The model's warnings (idle or overloaded microsystems) and the run's (nothing counted)."""
    out = [{"path": p.path, "message": p.message} for p in model_warnings(model, load)]
    if counted == 0:
        out.append({"path": "", "message": "no journey was counted after the warm-up: every simulated figure is "
                                           "n/a (check the arrival rates, the horizon and the warm-up)"})
    return out


def replication_metrics(result: RunResult) -> dict[str, np.ndarray]:
    """Per-replication values of the main metrics, for paired comparisons.

    Keys: ``quality.system``, ``quality.<class>``, ``time_in_system_minutes``,
    ``<node>.wait_minutes``, ``<node>.utilization`` (finite capacity only),
    ``<handoff>.quality``, ``<request>.quality``, ``standards.<name>.met``, ``elements.quality`` (the
    share of journeys free of element defects, standards aside) and, with costs, ``cost.per_journey`` and
    ``cost.per_defect_free_journey``. Values are arrays with one
    entry per replication (``nan`` where a replication had nothing to measure).

    Examples
    --------
    >>> from journeysim.model.distributions import Exponential
    >>> from journeysim.model.elements import Microsystem, PatientClass
    >>> from journeysim.model.mesosystem import Model
    >>> from journeysim.analysis.result import simulate
    >>> model = Model([Microsystem("A", capacity=1, service=Exponential(5), defect=0.1)],
    ...               classes=[PatientClass("p", entry="A", rate=0.1)])
    >>> m = replication_metrics(simulate(model, horizon=5_000, replications=2, seed=1))
    >>> sorted(m)[:3], m["quality.system"].shape
    (['A.utilization', 'A.wait_minutes', 'elements.quality'], (2,))
    """
    model = result.scenario.model
    stats = result.stats
    pathway = [k for k, c in enumerate(model.classes) if not c.background]
    done = np.array([s.class_done for s in stats])
    good = np.array([s.class_good for s in stats])
    tis = np.array([s.class_tis_sum for s in stats])
    span = result.scenario.horizon - result.scenario.warmup
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["quality.system"] = good[:, pathway].sum(axis=1) / done[:, pathway].sum(axis=1)
        good_el = np.array([s.class_good_elements for s in stats])
        out["elements.quality"] = good_el[:, pathway].sum(axis=1) / done[:, pathway].sum(axis=1)
        if model.has_costs:
            cost = np.array([s.class_cost for s in stats]).sum(axis=2)
            out["cost.per_journey"] = cost[:, pathway].sum(axis=1) / done[:, pathway].sum(axis=1)
            out["cost.per_defect_free_journey"] = cost[:, pathway].sum(axis=1) / good[:, pathway].sum(axis=1)
        for k, name in enumerate(model.class_names):
            out[f"quality.{name}"] = good[:, k] / done[:, k]
        out["time_in_system_minutes"] = tis[:, pathway].sum(axis=1) / done[:, pathway].sum(axis=1)
        counts = np.array([s.flow_count for s in stats])
        waits = np.array([s.wait_sum for s in stats]) / counts
        busy = np.array([s.busy_time for s in stats]) / span
        for i, m in enumerate(model.microsystems):
            out[f"{m.name}.wait_minutes"] = waits[:, i]
            if m.capacity is not None:
                out[f"{m.name}.utilization"] = busy[:, i] / m.capacity
        for arrays, links in (("edge", model.handoffs), ("req", model.requests)):
            n = np.array([getattr(s, f"{arrays}_n") for s in stats]).reshape(len(stats), -1)
            bad = np.array([getattr(s, f"{arrays}_bad") for s in stats]).reshape(len(stats), -1)
            for e, link in enumerate(links):
                out[f"{link.label}.quality"] = 1.0 - bad[:, e] / n[:, e]
        if model.standards:
            std_n = np.array([s.std_n[:, 0] for s in stats])
            std_met = np.array([s.std_met[:, 0] for s in stats])
            for j, st in enumerate(model.standards):
                out[f"standards.{st.name}.met"] = std_met[:, j] / std_n[:, j]
    return out
