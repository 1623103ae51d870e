"""The exact analysis as journeysim computed it before the batched solver: the oracle of test_exact_batch.

Copied from journeysim at commit 6b42a1e (``analysis/exact.py``, the exact part of
``analysis/sixsigma.py`` and ``exact_leverage_rows``), one scipy sparse system per
class and frailty node, solved afresh for every scaled element. Kept slow and
plain on purpose: it is what the fast code must agree with, to 1e-10.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from journeysim.analysis.built import caught_of, defects_of, kinds_of, probability_of
from journeysim.analysis.exact import ExactQuality
from journeysim.analysis.leverage import LeverageRow, _elements, _ranked
from journeysim.analysis.sixsigma import SixSigmaExact, _sigma, opportunity_tables
from journeysim.model.elements import Handoff, ServiceRequest
from journeysim.model.kinds import HANDOFF_KINDS, INFORMATION, REQUEST_KINDS
from journeysim.model.mesosystem import Model
from journeysim.model.traffic import expected_visits, solve

Scale = Mapping[tuple[str, ...], float]


def probability(p: float, z: float) -> float:
    """The frailty's ``p + min(p, 1 - p)(z - 1)``, on floats."""
    return p + min(p, 1.0 - p) * (z - 1.0)


def _node_quality(model: Model, node: str, class_name: str, scale: Scale, z: float = 1.0) -> float:
    f = scale.get(("microsystem", node), 1.0)
    if f == 1.0 and z == 1.0:
        return model.microsystem(node).quality_for(class_name)
    q = 1.0
    for d in defects_of(model.microsystem(node)):
        q *= 1.0 - probability(f * d.probability.get(class_name), z)
    return q


def _link_quality(link: Handoff | ServiceRequest, class_name: str, kinds: tuple[str, ...], scale: Scale,
                  z: float = 1.0) -> float:
    q = 1.0
    caught = caught_of(link) if isinstance(link, Handoff) else None
    defects = kinds_of(link)
    for kind in kinds:
        f = scale.get(("handoff", link.label, kind), 1.0) * scale.get(("request", link.label), 1.0)
        p = probability(f * defects.get(kind).get(class_name), z)
        if kind == INFORMATION and caught is not None:
            p *= 1.0 - caught.get(class_name)
        q *= 1.0 - p
    return q


def _visit_quality(model: Model, node: str, class_name: str, requests: Sequence[ServiceRequest],
                   scale: Scale, z: float = 1.0) -> float:
    q = _node_quality(model, node, class_name, scale, z)
    for r in requests:
        p = probability_of(r).get(class_name)
        qs = _node_quality(model, r.target, class_name, scale, z) * _link_quality(
            r, class_name, REQUEST_KINDS, scale, z)
        q *= 1.0 - p + p * qs
    return q


def visit_quality(model: Model, node: str, class_name: str) -> float:
    """Quality of one visit to a clinical ``node``, its support requests included."""
    return _visit_quality(model, node, class_name, [r for r in model.requests if r.source == node], {})


def exact_quality(model: Model, scale: Scale | None = None, *, independent: bool = False) -> ExactQuality:
    """The exact quality, one sparse solve per class and frailty node."""
    scale = scale or {}
    visits = expected_visits(model)
    if independent or model.frailty.is_independent:
        return _exact_at(model, scale, 1.0, visits)
    zs, ws = model.frailty.nodes()
    solved = [_exact_at(model, scale, float(z), visits) for z in zs]

    def mean(values: Callable[[ExactQuality], Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
        first = values(solved[0])
        return {k: {n: float(sum(w * values(x)[k][n] for w, x in zip(ws, solved))) for n in first[k]} for k in first}

    names = list(solved[0].by_class)
    return ExactQuality(
        float(sum(w * x.system for w, x in zip(ws, solved))),
        {k: float(sum(w * x.by_class[k] for w, x in zip(ws, solved))) for k in names},
        mean(lambda x: x.from_node),
        solved[0].expected_visits,
        mean(lambda x: x.visit_quality),
        mean(lambda x: x.handoff_quality),
    )


def _exact_at(model: Model, scale: Scale, z: float, visits: dict[str, dict[str, float]]) -> ExactQuality:
    nodes = [m.name for m in model.microsystems if m.kind == "clinical"]
    index = {n: i for i, n in enumerate(nodes)}
    n = len(nodes)
    by_class: dict[str, float] = {}
    from_node: dict[str, dict[str, float]] = {}
    visit_q: dict[str, dict[str, float]] = {}
    handoff_q: dict[str, dict[str, float]] = {}
    eye = sp.identity(n, format="csr")
    requests: dict[str, list[ServiceRequest]] = {}
    for r in model.requests:
        requests.setdefault(r.source, []).append(r)
    for k in model.classes:
        name = k.name
        qm = np.array([_visit_quality(model, node, name, requests.get(node, []), scale, z) for node in nodes])
        qh = {h.label: _link_quality(h, name, HANDOFF_KINDS, scale, z) for h in model.handoffs}
        rows, cols, prob, good = [], [], [], []
        for h in model.handoffs:
            p = probability_of(h).get(name)
            if p > 0:
                rows.append(index[h.source])
                cols.append(index[h.target])
                prob.append(p)
                good.append(p * qh[h.label])
        routing = sp.csr_matrix((prob, (rows, cols)), shape=(n, n))
        quality = sp.csr_matrix((good, (rows, cols)), shape=(n, n))
        exit_p = np.clip(1.0 - np.asarray(routing.sum(axis=1)).ravel(), 0.0, 1.0)
        q = solve((eye - sp.diags(qm) @ quality).tocsr(), qm * exit_p)
        entry = np.zeros(n)
        for node, p in k.entries:
            entry[index[node]] += p
        by_class[name] = float(entry @ q)
        from_node[name] = dict(zip(nodes, q.tolist()))
        visit_q[name] = dict(zip(nodes, qm.tolist()))
        handoff_q[name] = qh
    pathway = [k for k in model.classes if not k.background]
    rates = np.array([k.rate for k in pathway])
    values = np.array([by_class[k.name] for k in pathway])
    system = float(rates @ values / rates.sum()) if rates.sum() > 0 else float(values.mean())
    return ExactQuality(system, by_class, from_node, visits, visit_q, handoff_q)


def exact_leverage_rows(model: Model, exact: ExactQuality | None = None) -> tuple[LeverageRow, ...]:
    """Two more solves per element, with its defect probabilities scaled to 0 and to 1/2."""
    base = (exact if exact is not None else exact_quality(model)).system
    rows = []
    for label, key in _elements(model):
        perfect = exact_quality(model, {key: 0.0}).system - base
        halved = exact_quality(model, {key: 0.5}).system - base
        rows.append(LeverageRow(label, "exact", perfect, halved))
    return _ranked(rows)


def _transfer_defects(model: Model, h: Handoff, k: str) -> float:
    by = caught_of(h)
    caught = 0.0 if by is None else by.get(k)
    defects = kinds_of(h)
    info = defects.get(INFORMATION).get(k)
    out = sum(defects.get(kind).get(k) for kind in HANDOFF_KINDS) - info * caught
    f = h.propagation
    if f != 1.0 and info > 0:
        ps = [d.probability.get(k) for d in defects_of(model.microsystem(h.target))]
        prob = model.frailty.probability
        out += model.frailty.expect(lambda z: prob(info, z) * (1.0 - caught) * sum(
            prob(min(1.0, f * q), z) - prob(q, z) for q in ps))
    return out


def exact_six_sigma_result(model: Model, exact: ExactQuality | None = None) -> SixSigmaExact:
    """Expected opportunities and defects per journey, element by element."""
    exact = exact if exact is not None else exact_quality(model)
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
    dpmo = 1e6 * defects / opps if opps else None
    return SixSigmaExact(float(opps), float(defects), dpmo, None if dpmo is None else _sigma(dpmo), exact.system)


def largest_difference(a: object, b: object, path: str = "") -> tuple[float, str]:
    """The largest absolute difference between two nested structures of numbers (same keys, same shape), and where."""
    if isinstance(a, Mapping):
        assert isinstance(b, Mapping) and list(a) == list(b), (path, a, b)
        return max((largest_difference(a[k], b[k], f"{path}.{k}") for k in a), default=(0.0, path))
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), (path, a, b)
        return max((largest_difference(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b))),
                   default=(0.0, path))
    if a is None or isinstance(a, str):
        assert a == b, (path, a, b)
        return 0.0, path
    x, y = float(a), float(b)  # type: ignore[arg-type]
    if math.isnan(x) or math.isnan(y):
        assert math.isnan(x) and math.isnan(y), (path, x, y)
        return 0.0, path
    return abs(x - y), path
