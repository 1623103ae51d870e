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

Examples
--------
>>> from journeysim.distributions import Exponential
>>> from journeysim.elements import Microsystem, PatientClass
>>> from journeysim.model import Model
>>> from journeysim.experiment import simulate
>>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8), defect=0.1)],
...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
>>> s = simulate(model, horizon=20_000, replications=3, seed=5).summary()
>>> 0.85 < s.data["quality"]["system"]["simulated"]["mean"] < 0.95
True
>>> s.data["quality"]["system"]["analytic"]
0.9
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .analytic import exact_quality
from .elements import HANDOFF_KINDS
from .records import Records
from .results import SimulationResult
from .stats import Estimate, mean_ci, proportion_ci

__all__ = ["Summary", "summarize"]


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

    def to_dict(self) -> dict[str, Any]:
        """The nested statistics (JSON-ready: ``None`` where a value cannot be formed)."""
        return self.data

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

    def to_text(self) -> str:
        """A readable report of the main numbers."""
        from .summary_text import render

        return render(self)


def _ci_pair(est: Estimate) -> dict[str, Any]:
    return est.to_dict()


def _per_rep(records: tuple[Records, ...], fn: Callable[[Records], Any]) -> list[Any]:
    return [fn(r) for r in records]


def summarize(result: SimulationResult) -> Summary:
    """Compute the statistics of ``result`` (see the module docstring for definitions)."""
    scenario = result.scenario
    model = scenario.model
    recs = result.records
    warmup, horizon = scenario.warmup, scenario.horizon
    nodes = [m.name for m in model.microsystems]
    classes = list(model.class_names)
    n_nodes = len(nodes)
    exact = exact_quality(model)

    # -- journeys and system quality ------------------------------------------------
    pathway = np.array([not k.background for k in model.classes])
    arrived, completed, good = [], [], []
    class_arrived = np.zeros((len(recs), len(classes)))
    class_good = np.zeros((len(recs), len(classes)))
    tis_means: list[float] = []
    tis_all: list[np.ndarray] = []
    class_tis: dict[str, list[np.ndarray]] = {k: [] for k in classes}
    counted: list[np.ndarray] = []
    for r, rec in enumerate(recs):
        j = rec.journeys
        keep = j["arrival"] >= warmup
        done = keep & np.isfinite(j["end"])
        counted.append(keep)
        class_arrived[r] = np.bincount(j["class"][done], minlength=len(classes))
        class_good[r] = np.bincount(j["class"][done & j["defect_free"]], minlength=len(classes))
        on_path = pathway[j["class"]]
        arrived.append(int((keep & on_path).sum()))
        done &= on_path
        completed.append(int(done.sum()))
        good.append(int((done & j["defect_free"]).sum()))
        tis = j["time_in_system"][done]
        tis_all.append(tis)
        tis_means.append(float(tis.mean()) if tis.size else math.nan)
        for k, name in enumerate(classes):
            class_tis[name].append(j["time_in_system"][done & (j["class"] == k)])
    pooled = np.concatenate(tis_all) if tis_all else np.empty(0)

    def pct(x: np.ndarray, q: float) -> float | None:
        return _num(float(np.percentile(x, q))) if x.size else None

    journeys = {
        "arrived": int(sum(arrived)),
        "completed": int(sum(completed)),
        "time_in_system_minutes": {**_ci_pair(mean_ci(tis_means)), "p50": pct(pooled, 50), "p90": pct(pooled, 90)},
        "by_class": {},
    }
    for k, name in enumerate(classes):
        x = np.concatenate(class_tis[name])
        journeys["by_class"][name] = {
            "background": bool(not pathway[k]),
            "completed": int(class_arrived[:, k].sum()),
            "time_in_system_minutes": {
                **_ci_pair(mean_ci([t.mean() if t.size else math.nan for t in class_tis[name]])),
                "p50": pct(x, 50),
                "p90": pct(x, 90),
            },
        }
    quality: dict[str, Any] = {
        "system": {"simulated": _ci_pair(proportion_ci(good, completed)), "analytic": exact.system},
        "by_class": {
            name: {
                "simulated": _ci_pair(proportion_ci(class_good[:, k], class_arrived[:, k])),
                "analytic": exact.by_class[name],
                "background": bool(not pathway[k]),
            }
            for k, name in enumerate(classes)
        },
    }

    # -- element quality (visits, handoffs, requests of counted journeys) -------------
    node_visits = np.zeros((len(recs), n_nodes))
    node_bad = np.zeros((len(recs), n_nodes))
    edges = [h.label for h in model.handoffs]
    reqs = [q.label for q in model.requests]
    edge_n = np.zeros((len(recs), len(edges)))
    edge_bad = np.zeros((len(recs), len(edges)))
    edge_kind_bad = np.zeros((len(recs), len(edges), 3))
    req_n = np.zeros((len(recs), len(reqs)))
    req_bad = np.zeros((len(recs), len(reqs)))
    req_kind_bad = np.zeros((len(recs), len(reqs), 3))
    for r, rec in enumerate(recs):
        keep = counted[r]
        v = rec.visits
        in_v = keep[v["journey"]]
        node_visits[r] += np.bincount(v["node"][in_v], minlength=n_nodes)
        node_bad[r] += np.bincount(v["node"][in_v & (v["defects"] > 0)], minlength=n_nodes)
        q = rec.requests
        in_q = keep[q["journey"]]
        node_visits[r] += np.bincount(q["target"][in_q], minlength=n_nodes)
        node_bad[r] += np.bincount(q["target"][in_q & (q["support_defects"] > 0)], minlength=n_nodes)
        req_n[r] = np.bincount(q["request"][in_q], minlength=len(reqs))
        any_bad = q["information"] | q["services"]
        req_bad[r] = np.bincount(q["request"][in_q & any_bad], minlength=len(reqs))
        for b, kind in enumerate(HANDOFF_KINDS):
            if kind in q.columns:
                req_kind_bad[r, :, b] = np.bincount(q["request"][in_q & q[kind]], minlength=len(reqs))
        h = rec.handoffs
        in_h = keep[h["journey"]]
        edge_n[r] = np.bincount(h["handoff"][in_h], minlength=len(edges))
        any_bad = h["patient"] | h["information"] | h["services"]
        edge_bad[r] = np.bincount(h["handoff"][in_h & any_bad], minlength=len(edges))
        for b, kind in enumerate(HANDOFF_KINDS):
            edge_kind_bad[r, :, b] = np.bincount(h["handoff"][in_h & h[kind]], minlength=len(edges))

    def element(n: np.ndarray, bad: np.ndarray) -> dict[str, Any]:
        total = float(n.sum())
        est = proportion_ci(n - bad, n)
        return {"quality": _num(1.0 - bad.sum() / total) if total else None, "ci95": est.to_dict()["ci95"]}

    quality["microsystems"] = {
        name: {"visits": int(node_visits[:, i].sum()), **element(node_visits[:, i], node_bad[:, i])}
        for i, name in enumerate(nodes)
    }
    quality["handoffs"] = {
        label: {
            "transfers": int(edge_n[:, e].sum()),
            **element(edge_n[:, e], edge_bad[:, e]),
            "by_kind": {
                kind: _num(1.0 - edge_kind_bad[:, e, b].sum() / edge_n[:, e].sum()) if edge_n[:, e].sum() else None
                for b, kind in enumerate(HANDOFF_KINDS)
            },
        }
        for e, label in enumerate(edges)
    }
    quality["requests"] = {
        label: {
            "transfers": int(req_n[:, e].sum()),
            **element(req_n[:, e], req_bad[:, e]),
            "by_kind": {
                kind: _num(1.0 - req_kind_bad[:, e, b].sum() / req_n[:, e].sum()) if req_n[:, e].sum() else None
                for b, kind in enumerate(HANDOFF_KINDS)
                if kind != "patient"
            },
        }
        for e, label in enumerate(reqs)
    }

    # -- flow at each microsystem (time window [warmup, horizon)) -----------------------
    span = horizon - warmup
    micro: dict[str, Any] = {}
    waits = np.full((len(recs), n_nodes), math.nan)
    sojourns = np.full((len(recs), n_nodes), math.nan)
    support_waits = np.full((len(recs), n_nodes), math.nan)
    busy = np.zeros((len(recs), n_nodes))
    counts = np.zeros((len(recs), n_nodes))
    for r, rec in enumerate(recs):
        v = rec.visits
        q = rec.requests
        node = np.concatenate([v["node"], q["target"]])
        arr = np.concatenate([v["arrival"], q["requested"]])
        start = np.concatenate([v["start"], q["start"]])
        end = np.concatenate([v["end"], q["end"]])
        swait = np.concatenate([v["support_wait"], np.zeros(len(q))])
        inside = (arr >= warmup) & (arr < horizon)
        counts[r] = np.bincount(node[inside], minlength=n_nodes)
        with np.errstate(invalid="ignore", divide="ignore"):
            waits[r] = np.bincount(node[inside], weights=(start - arr)[inside], minlength=n_nodes) / counts[r]
            sojourns[r] = np.bincount(node[inside], weights=(end - arr)[inside], minlength=n_nodes) / counts[r]
            support_waits[r] = np.bincount(node[inside], weights=swait[inside], minlength=n_nodes) / counts[r]
        overlap = np.clip(np.minimum(end, horizon) - np.maximum(start, warmup), 0.0, None)
        busy[r] = np.bincount(node, weights=overlap, minlength=n_nodes) / span
    for i, m in enumerate(model.microsystems):
        util = busy[:, i] / m.capacity if m.capacity is not None else np.full(len(recs), math.nan)
        micro[m.name] = {
            "kind": m.kind,
            "capacity": "unlimited" if m.capacity is None else m.capacity,
            "visits": int(counts[:, i].sum()),
            "arrivals_per_day": _ci_pair(mean_ci(counts[:, i] / span * 1440.0)),
            "wait_minutes": _ci_pair(mean_ci(waits[:, i])),
            "sojourn_minutes": _ci_pair(mean_ci(sojourns[:, i])),
            "support_wait_minutes": _ci_pair(mean_ci(support_waits[:, i])),
            "busy_servers": _ci_pair(mean_ci(busy[:, i])),
            "utilization": _ci_pair(mean_ci(util)),
        }

    prov = result.provenance
    data = {
        "scenario": scenario.name,
        "source": scenario.source,
        "journeysim_version": prov.journeysim_version,
        "seed": prov.seed,
        "replications": len(recs),
        "horizon_minutes": horizon,
        "warmup_minutes": warmup,
        "journeys": journeys,
        "quality": quality,
        "microsystems": micro,
        "provenance": prov.to_dict(),
    }
    return Summary(data)
