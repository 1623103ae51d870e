"""Exact system quality from the mesosystem graph (no simulation).

Under the assumption that defects are independent, the probability that a
journey of class *k* is defect-free solves a linear system (an absorbing Markov
chain over the clinical microsystems). With ``q(n)`` the probability of finishing
defect-free from the start of a visit to ``n``::

    q(n) = Qm(n) * ( p_exit(n) + sum_j p(n, j) * Qh(n, j) * q(j) )

where ``Qm(n)`` is the quality of the visit including its support requests,
``Qm(n) = prod_d (1 - p_d) * prod_r (1 - p_r + p_r * Qs(r))`` with ``Qs(r)`` the
quality of the support visit times the request handoff's information and
services qualities, and ``Qh(n, j)`` is the product over the three handoff
kinds. The class's system quality is ``sum_e P(entry = e) q(e)``; the overall
value weights the pathway classes (not background ones) by arrival rate. On a straight pathway this is the product
of the microsystem and handoff qualities along it.

The sparse system is solved by :func:`journeysim.model.traffic.solve`: a sparse LU
(small graphs) or BiCGSTAB with a checked residual (large ones), so graphs of
10,000 microsystems take milliseconds.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> m = Model([Microsystem("A", capacity=1, service=Exponential(1), defect=0.1),
...            Microsystem("B", capacity=1, service=Exponential(1), defect=0.2)],
...           [Handoff("A", "B", defects={"information": 0.5})],
...           classes=[PatientClass("all", entry="A", rate=0.1)])
>>> round(exact_quality(m).system, 6)   # 0.9 * 0.5 * 0.8
0.36
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from types import MappingProxyType

import numpy as np
import scipy.sparse as sp

from ..model.elements import Handoff, ServiceRequest
from ..model.frailty import Frailty
from ..model.kinds import HANDOFF_KINDS, INFORMATION, REQUEST_KINDS
from ..model.mesosystem import Model
from ..model.traffic import expected_visits, solve
from .built import caught_of, defects_of, kinds_of, probability_of

__all__ = ["ExactQuality", "exact_quality", "visit_quality", "Scale", "exact_html"]


def _share(x: float) -> str:
    return f"{100 * x:.1f}%" if math.isfinite(x) else ""


def exact_html(system: float, by_class: Mapping[str, float]) -> str:
    """The exact quality, overall and by class, as an HTML table (the Jupyter view of :class:`ExactQuality`)."""
    rows = "".join(f"<tr><th style='text-align:left'>{escape(k)}</th><td>{_share(v)}</td></tr>"
                   for k, v in {"system": system, **by_class}.items())
    return f"<div><b>Exact quality</b> (from the graph)<table>{rows}</table></div>"


@dataclass(frozen=True, slots=True)
class ExactQuality:
    """The exact (independent-defects) quality of a model.

    Attributes
    ----------
    system : float
        Probability that a journey is defect-free, pathway classes weighted by
        arrival rate (background classes left out).
    by_class : mapping of str to float
        The same per patient class.
    from_node : mapping of str to mapping of str to float
        ``from_node[class][node]``: probability of finishing defect-free from the
        start of a visit to ``node`` (the ``q(n)`` of the recursion).
    expected_visits : mapping of str to mapping of str to float
        ``expected_visits[class][node]``: mean number of visits per journey.
    visit_quality : mapping of str to mapping of str to float
        ``visit_quality[class][node]``: probability that one visit to a clinical
        ``node`` has no defect, its support requests included (the ``Qm(n)`` of
        the recursion).
    handoff_quality : mapping of str to mapping of str to float
        ``handoff_quality[class][label]``: probability that one transfer has no
        defect of any kind, caught information defects aside (``Qh``).

    Under a frailty every value is averaged over the patients' frailty.
    """

    system: float
    by_class: Mapping[str, float]
    from_node: Mapping[str, Mapping[str, float]]
    expected_visits: Mapping[str, Mapping[str, float]]
    visit_quality: Mapping[str, Mapping[str, float]]
    handoff_quality: Mapping[str, Mapping[str, float]]

    def __repr__(self) -> str:
        by_class = ", ".join(f"{k} {100 * v:.1f}%" for k, v in self.by_class.items())
        return f"<ExactQuality: system {100 * self.system:.1f}% ({by_class})>"

    def _repr_html_(self) -> str:
        return exact_html(self.system, self.by_class)


def visit_quality(model: Model, node: str, class_name: str) -> float:
    """Quality of one visit to a clinical ``node``, including its support requests.

    Examples
    --------
    >>> from journeysim.model.distributions import Exponential
    >>> from journeysim.model.elements import Microsystem, ServiceRequest, PatientClass
    >>> m = Model([Microsystem("ED", capacity=2, service=Exponential(1), defect=0.1),
    ...            Microsystem("Lab", kind="support", capacity=1, service=Exponential(1), defect=0.2)],
    ...           requests=[ServiceRequest("ED", "Lab", probability=0.5)],
    ...           classes=[PatientClass("all", entry="ED", rate=0.1)])
    >>> round(visit_quality(m, "ED", "all"), 6)   # 0.9 * (0.5 + 0.5 * 0.8)
    0.81
    """
    return _visit_quality(model, node, class_name, [r for r in model.requests if r.source == node])


#: Scale factors of defect probabilities, by element: ``("microsystem", name)``,
#: ``("handoff", "A->B", kind)`` or ``("request", "A=>B")``; 0 makes the element perfect.
Scale = Mapping[tuple[str, ...], float]
_NO_SCALE: Scale = MappingProxyType({})


def _node_quality(model: Model, node: str, class_name: str, scale: Scale, z: float = 1.0) -> float:
    f = scale.get(("microsystem", node), 1.0)
    if f == 1.0 and z == 1.0:
        return model.microsystem(node).quality_for(class_name)
    q = 1.0
    for d in defects_of(model.microsystem(node)):
        q *= 1.0 - Frailty.probability(f * d.probability.get(class_name), z)
    return q


def _link_quality(link: Handoff | ServiceRequest, class_name: str, kinds: tuple[str, ...], scale: Scale,
                  z: float = 1.0) -> float:
    q = 1.0
    caught = caught_of(link) if isinstance(link, Handoff) else None
    defects = kinds_of(link)
    for kind in kinds:
        f = scale.get(("handoff", link.label, kind), 1.0) * scale.get(("request", link.label), 1.0)
        p = Frailty.probability(f * defects.get(kind).get(class_name), z)
        if kind == INFORMATION and caught is not None:
            p *= 1.0 - caught.get(class_name)  # a caught defect is not one of the journey
        q *= 1.0 - p
    return q


def _visit_quality(model: Model, node: str, class_name: str, requests: Sequence[ServiceRequest],
                   scale: Scale = _NO_SCALE, z: float = 1.0) -> float:
    q = _node_quality(model, node, class_name, scale, z)
    for r in requests:
        p = probability_of(r).get(class_name)
        qs = _node_quality(model, r.target, class_name, scale, z) * _link_quality(
            r, class_name, REQUEST_KINDS, scale, z)
        q *= 1.0 - p + p * qs
    return q


def exact_quality(model: Model, scale: Scale | None = None, *, independent: bool = False) -> ExactQuality:
    """Solve the exact system quality of ``model``.

    Defects are independent given the patient's frailty (:mod:`journeysim.model.frailty`),
    so the quality is the graph solution averaged over the frailty by quadrature.
    A handoff's information defect that the receiving microsystem catches is
    not a defect of the journey. Propagation never changes system quality: it
    acts only after an information defect has already made the journey defective.

    Parameters
    ----------
    model : Model
    scale : mapping, optional
        Multiply the defect probabilities of some elements (see :data:`Scale`):
        what the quality would be with those elements perfect (0) or better (0.5).
    independent : bool
        Leave the frailty out: the independent product of the element qualities.

    Returns
    -------
    ExactQuality
    """
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
    """The exact quality of patients of frailty ``z`` (independent defects)."""
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
