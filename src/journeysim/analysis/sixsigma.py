"""Six Sigma measures of a pathway: defects per journey, DPMO and rolled throughput yield.

Definitions (pathway classes, counted journeys; see ``docs/results.md``):

* An **opportunity** is one chance for one kind of defect to happen: a visit to a
  microsystem offers one per named defect of that microsystem with a probability
  above zero for the patient's class; a transfer offers one per handoff kind
  (patient, information, services) with a probability above zero; a service
  request offers one per request kind above zero plus one per named defect of the
  support microsystem above zero; a timeliness standard judged on the journey
  offers one.
* **Defects per journey** (DPU): defects of any kind, missed standards included,
  divided by journeys.
* **DPMO**: defects per million opportunities, ``10**6 * defects / opportunities``.
* **Sigma level** (short-term, with the conventional 1.5 shift):
  ``Phi^-1(1 - DPMO / 10**6) + 1.5``.
* **Rolled throughput yield** (RTY): the product over elements (microsystems,
  handoff kinds, requests, standards) of their first-pass yield, each raised to
  its number of occurrences per journey: ``prod_e Y_e ** (n_e / journeys)``.
  With independent defects it equals system quality; a gap shows defects that
  cluster in the same journeys.

The simulated values come from full records (per replication, with a 95% CI
across replications); the exact ones from the graph (standards left out), where
opportunities and defects per journey are the expected visits times the
opportunities and defect probabilities of each visit (a caught information
defect is not one; one that propagates adds the rise it causes at the receiving
visit), and RTY is the exact system quality.

Examples
--------
>>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> m = Model([Microsystem("A", defects={"x": 0.1, "y": 0.2}), Microsystem("B", defect=0.3)],
...           [Handoff("A", "B", defects={"information": 0.4})], classes=[PatientClass("p", entry="A", rate=0.1)])
>>> e = exact_six_sigma_result(m)
>>> e.opportunities_per_journey, round(e.defects_per_journey, 6), round(e.dpmo)
(4.0, 1.0, 250000)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats as sps

from ..model.elements import Handoff, Microsystem
from ..model.frailty import Frailty
from ..model.kinds import HANDOFF_KINDS, INFORMATION, REQUEST_KINDS
from ..model.mesosystem import Model
from ..run.results import RunResult
from ..run.stats import Estimate, mean_ci
from .built import caught_of, defects_of, kinds_of, probability_of
from .exact import ExactQuality, exact_quality
from .figures import Floats, Ints, as_floats, as_ints

__all__ = ["SixSigmaExact", "SixSigmaSimulated", "SixSigmaResult", "six_sigma_result", "exact_six_sigma_result",
           "six_sigma", "exact_six_sigma", "opportunity_tables"]


@dataclass(frozen=True, slots=True)
class SixSigmaExact:
    """The Six Sigma measures from the graph (standards left out).

    ``dpmo`` and ``sigma_level`` are ``None`` when a journey has no opportunity for a defect.
    """

    opportunities_per_journey: float
    defects_per_journey: float
    dpmo: float | None
    sigma_level: float | None
    rolled_throughput_yield: float

    def to_dict(self) -> dict[str, Any]:
        """The measures by name (JSON-ready)."""
        def finite(x: float | None) -> float | None:  # NaN: the exact analysis is not available
            return None if x is None or not math.isfinite(x) else x

        return {"opportunities_per_journey": finite(self.opportunities_per_journey),
                "defects_per_journey": finite(self.defects_per_journey), "dpmo": finite(self.dpmo),
                "sigma_level": finite(self.sigma_level),
                "rolled_throughput_yield": finite(self.rolled_throughput_yield)}


@dataclass(frozen=True, slots=True)
class SixSigmaSimulated:
    """The Six Sigma measures of the recorded journeys, each with its 95% CI across replications."""

    opportunities_per_journey: Estimate
    defects_per_journey: Estimate
    dpmo: Estimate
    rolled_throughput_yield: Estimate
    #: from the mean DPMO (``None`` when it cannot be formed)
    sigma_level: float | None

    def to_dict(self) -> dict[str, Any]:
        """The measures by name, each ``{mean, ci95}`` but the sigma level (JSON-ready)."""
        return {"opportunities_per_journey": self.opportunities_per_journey.to_dict(),
                "defects_per_journey": self.defects_per_journey.to_dict(), "dpmo": self.dpmo.to_dict(),
                "rolled_throughput_yield": self.rolled_throughput_yield.to_dict(), "sigma_level": self.sigma_level}


@dataclass(frozen=True, slots=True)
class SixSigmaResult:
    """Exact and simulated Six Sigma measures; ``simulated`` is ``None`` without full records."""

    exact: SixSigmaExact
    simulated: SixSigmaSimulated | None

    def to_dict(self) -> dict[str, Any]:
        """``{"exact": {...}, "simulated": {...} or None}`` (JSON-ready)."""
        return {"exact": self.exact.to_dict(),
                "simulated": None if self.simulated is None else self.simulated.to_dict()}


def opportunity_tables(model: Model) -> tuple[Ints, Ints, Ints]:
    """Opportunities per visit ``[node, class]``, per transfer ``[edge, class]`` and per request
    ``[request, class]``."""
    names = model.class_names
    node = np.array([[sum(d.probability.get(k) > 0 for d in defects_of(m)) for k in names]
                     for m in model.microsystems], dtype=np.int64)
    edge = np.array([[sum(kinds_of(h).get(kind).get(k) > 0 for kind in HANDOFF_KINDS) for k in names]
                     for h in model.handoffs], dtype=np.int64).reshape(len(model.handoffs), len(names))
    index = {m.name: i for i, m in enumerate(model.microsystems)}
    req = np.array([[sum(kinds_of(r).get(kind).get(k) > 0 for kind in REQUEST_KINDS) + node[index[r.target], c]
                     for c, k in enumerate(names)]
                    for r in model.requests], dtype=np.int64).reshape(len(model.requests), len(names))
    return node, edge, req


def queue_opportunities(model: Model) -> Ints:
    """Opportunities per arrival ``[node, class]`` for the defects of the queue rules: ``left_unseen`` where the
    class may renege or balk, and each of ``rejected`` / ``diverted`` that is declared a defect where the class
    finds the queue limited. Every arrival has them, served or not (the simulated figures only: the exact
    analysis does not know the queue rules)."""
    def full(m: Microsystem, k: str) -> int:
        outcome = "rejected" if m.when_full_for(k) == "reject" else "diverted"
        return int(m.queue_limit_for(k) is not None and outcome in m.full_is_defect)

    return np.array([[int(m.patience_for(k) is not None or m.balks) + full(m, k) for k in model.class_names]
                     for m in model.microsystems],
                    dtype=np.int64).reshape(len(model.microsystems), len(model.classes))


def _sigma(dpmo: float) -> float | None:
    if not math.isfinite(dpmo):
        return None
    p = min(max(1.0 - dpmo / 1e6, 1e-15), 1.0 - 1e-15)
    return float(sps.norm.ppf(p) + 1.5)


def _transfer_defects(model: Model, h: Handoff, k: str) -> float:
    """Expected defects of one transfer on ``h``: its kinds (less the caught information
    defects) and what an uncaught information defect adds at the receiving visit."""
    by = caught_of(h)
    caught = 0.0 if by is None else by.get(k)
    defects = kinds_of(h)
    info = defects.get(INFORMATION).get(k)
    out = sum(defects.get(kind).get(k) for kind in HANDOFF_KINDS) - info * caught
    f = h.propagation
    if f != 1.0 and info > 0:
        # the rise at the receiving visit, averaged over the frailty: every quadrature node at once
        ps = np.array([d.probability.get(k) for d in defects_of(model.microsystem(h.target))], dtype=float)
        z, w = model.frailty.nodes()
        prob = Frailty.probability
        rise = (prob(np.minimum(1.0, f * ps), z[:, None]) - prob(ps, z[:, None])).sum(axis=1)
        out += float(w @ (prob(info, z) * (1.0 - caught) * rise))
    return out


def exact_six_sigma_result(model: Model, exact: ExactQuality | None = None) -> SixSigmaExact:
    """Expected opportunities and defects per journey, DPMO, sigma level and RTY from the graph.

    ``exact`` is the model's exact quality (solved here when not given): its expected
    visits weigh each element, and its system quality is the RTY.
    """
    exact = exact if exact is not None else exact_quality(model)
    if exact.unavailable is not None:
        return SixSigmaExact(math.nan, math.nan, None, None, math.nan)
    node_opp, edge_opp, req_opp = opportunity_tables(model)
    pathway = [k for k in model.classes if not k.background]
    rates = np.array([k.rate for k in pathway])
    weights = rates / rates.sum() if rates.sum() > 0 else np.full(len(pathway), 1 / len(pathway))
    opps = defects = 0.0
    for w, k in zip(weights, pathway):
        c = model.class_names.index(k.name)
        visits = exact.expected_visits[k.name]
        for i, m in enumerate(model.microsystems):
            v = visits.get(m.name, 0.0)
            if not v:
                continue
            opps += w * v * node_opp[i, c]
            defects += w * v * sum(d.probability.get(k.name) for d in defects_of(m))
            for e, h in enumerate(model.handoffs):
                if h.source == m.name:
                    p = probability_of(h).get(k.name)
                    opps += w * v * p * edge_opp[e, c]
                    defects += w * v * p * _transfer_defects(model, h, k.name)
            for q, r in enumerate(model.requests):
                if r.source == m.name:
                    p = probability_of(r).get(k.name)
                    opps += w * v * p * req_opp[q, c]
                    support = sum(d.probability.get(k.name) for d in defects_of(model.microsystem(r.target)))
                    defects += w * v * p * (support + sum(kinds_of(r).get(kind).get(k.name) for kind in REQUEST_KINDS))
    dpmo = 1e6 * defects / opps if opps else None  # no opportunity, no rate of defects per opportunity
    return SixSigmaExact(float(opps), float(defects), dpmo, None if dpmo is None else _sigma(dpmo), exact.system)


def _simulated(result: RunResult) -> SixSigmaSimulated:
    """The measures per replication of the recorded pathway journeys, and their CIs."""
    model = result.scenario.model
    node_opp, edge_opp, req_opp = opportunity_tables(model)
    queue_opp = queue_opportunities(model) if model.has_queue_rules else None
    pathway = np.array([not k.background for k in model.classes])
    n_nodes, n_edges, n_req = len(model.microsystems), len(model.handoffs), len(model.requests)
    n_std, n_kinds = len(model.standards), len(HANDOFF_KINDS)
    per_rep: dict[str, list[float]] = {k: [] for k in ("opportunities_per_journey", "defects_per_journey", "dpmo",
                                                       "rolled_throughput_yield")}
    for rec in result.records:
        j = rec.journeys
        # counted journeys that ended (a run that stops at the horizon leaves some in progress: not judged)
        counted = (as_floats(j["arrival"]) >= rec.warmup) & pathway[j["class"]] & np.isfinite(as_floats(j["end"]))
        ids = j["journey"][counted]
        n = len(ids)
        if n == 0:
            continue
        cls_of = np.full(int(j["journey"].max()) + 1, -1, dtype=np.int64)
        cls_of[j["journey"]] = j["class"]
        v, h, q, s, d, u = rec.visits, rec.handoffs, rec.requests, rec.standards, rec.defects, rec.unserved
        in_v, in_h, in_q, in_s, in_d, in_u = (np.isin(t["journey"], ids) for t in (v, h, q, s, d, u))
        opps = (node_opp[v["node"][in_v], cls_of[v["journey"][in_v]]].sum()
                + edge_opp[h["handoff"][in_h], cls_of[h["journey"][in_h]]].sum()
                + req_opp[q["request"][in_q], cls_of[q["journey"][in_q]]].sum()
                + int(in_s.sum()))
        if queue_opp is not None:  # an arrival not served is an occurrence of the microsystem too
            opps += (queue_opp[v["node"][in_v], cls_of[v["journey"][in_v]]].sum()
                     + queue_opp[u["node"][in_u], cls_of[u["journey"][in_u]]].sum())
        defects = float(j["defects"][counted].sum())
        # yields of each element: occurrences and defective occurrences
        occurrences = np.concatenate([
            np.bincount(v["node"][in_v], minlength=n_nodes),
            np.bincount(q["target"][in_q], minlength=n_nodes),
            np.bincount(u["node"][in_u], minlength=n_nodes),
        ]).reshape(3, n_nodes).sum(axis=0)
        counts: Floats = np.concatenate([
            occurrences, np.repeat(np.bincount(h["handoff"][in_h], minlength=n_edges), n_kinds),
            np.bincount(q["request"][in_q], minlength=n_req), np.bincount(s["standard"][in_s], minlength=n_std)])
        # defective occurrences: distinct (journey, element[, kind], time) rows, since one visit
        # with two named defects is one defective occurrence
        el, kind, t, jid = as_ints(d["element"][in_d]), as_ints(d["defect"][in_d]), d["time"][in_d], d["journey"][in_d]
        is_edge = (el >= n_nodes) & (el < n_nodes + n_edges)
        slot = np.where(el < n_nodes, el,
                        np.where(is_edge, n_nodes + n_kinds * (el - n_nodes) + np.clip(kind, 0, n_kinds - 1),
                                 el + (n_kinds - 1) * n_edges))
        keys = np.unique(np.stack([slot, jid, t.view(np.int64)]), axis=1)[0] if slot.size else slot
        bad = np.bincount(keys, minlength=counts.size)[: counts.size]
        first_pass = np.where(counts > 0, 1.0 - bad / np.maximum(counts, 1), 1.0)
        per_rep["rolled_throughput_yield"].append(float(np.prod(first_pass ** (counts / n))))
        per_rep["opportunities_per_journey"].append(opps / n)
        per_rep["defects_per_journey"].append(defects / n)
        per_rep["dpmo"].append(1e6 * defects / opps if opps else math.nan)
    # counts cannot fall below 0 nor a yield above 1: the t intervals are cut there
    est = {k: mean_ci(np.array(vals)).within(0.0, 1.0 if k == "rolled_throughput_yield" else math.inf)
           for k, vals in per_rep.items()}
    return SixSigmaSimulated(est["opportunities_per_journey"], est["defects_per_journey"], est["dpmo"],
                             est["rolled_throughput_yield"], _sigma(est["dpmo"].mean))


def six_sigma_result(result: RunResult, exact: ExactQuality | None = None) -> SixSigmaResult:
    """Simulated (full records) and exact Six Sigma measures of ``result``; ``exact`` as for
    :func:`exact_six_sigma_result`."""
    model = result.scenario.model
    return SixSigmaResult(exact_six_sigma_result(model, exact), _simulated(result) if result.records else None)


def six_sigma(result: RunResult) -> dict[str, Any]:
    """:func:`six_sigma_result` as a JSON-ready dict:
    ``{"simulated": {measure: {mean, ci95}} or None, "exact": {measure: value}}``."""
    return six_sigma_result(result).to_dict()


def exact_six_sigma(model: Model) -> dict[str, Any]:
    """:func:`exact_six_sigma_result` as a JSON-ready dict."""
    return exact_six_sigma_result(model).to_dict()
