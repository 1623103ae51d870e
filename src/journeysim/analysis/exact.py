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

The model is compiled into arrays and the systems of every class and frailty
node are solved together (:mod:`journeysim.analysis.compiled`): stacked dense
systems on small graphs, a sparse LU or BiCGSTAB with a checked residual
(:func:`journeysim.model.traffic.solve`) on large ones, so graphs of 10,000
microsystems take milliseconds.

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
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

import numpy as np

from ..model.mesosystem import Model
from ..model.routing import exact_unavailable
from ..model.traffic import expected_visits
from .compiled import CompiledModel, Floats, Scale, Solution

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

    unavailable : str or None
        Why the exact quality cannot be solved (routing that depends on the clock,
        activation or numeric attributes; :func:`journeysim.model.routing.exact_unavailable`):
        every value is then NaN. ``None`` when it is solved.

    Under a frailty every value is averaged over the patients' frailty.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> exact = js.exact_quality(model)
    >>> exact.system, exact.by_class
    (0.95, {'walk-in': 0.95})
    """

    system: float
    by_class: Mapping[str, float]
    from_node: Mapping[str, Mapping[str, float]]
    expected_visits: Mapping[str, Mapping[str, float]]
    visit_quality: Mapping[str, Mapping[str, float]]
    handoff_quality: Mapping[str, Mapping[str, float]]
    unavailable: str | None = None

    def __repr__(self) -> str:
        if self.unavailable is not None:
            return f"<ExactQuality: not available ({self.unavailable})>"
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
    compiled = CompiledModel.of(model)
    visit, _ = compiled.element_qualities(compiled.multipliers([{}]), np.ones(1))
    return float(visit[0, 0, compiled.row_of(class_name), compiled.nodes.index(node)])


def exact_quality(model: Model, scale: Scale | None = None, *, independent: bool = False) -> ExactQuality:
    """Solve the exact system quality of ``model``.

    Defects are independent given the patient's frailty (:mod:`journeysim.model.frailty`),
    so the quality is the graph solution averaged over the frailty by quadrature.
    A handoff's information defect that the receiving microsystem catches is
    not a defect of the journey. Propagation never changes system quality: it
    acts only after an information defect has already made the journey defective.

    The model is compiled into arrays and every class and frailty node solved
    together (:mod:`journeysim.analysis.compiled`); to solve many scalings, as
    leverage does, give them to :meth:`CompiledModel.solve` in one batch.

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

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("ED", capacity=4, service=js.Exponential(60), defect=0.02),
    ...                   js.Microsystem("Ward", capacity=20, service=js.Exponential(1440), defect=0.05)],
    ...     handoffs=[js.Handoff("ED", "Ward", probability=0.5, defects={"information": 0.1})],
    ...     classes=[js.PatientClass("emergency", entry="ED", rate=js.per_hour(2))],
    ... )
    >>> q = js.exact_quality(model).system   # 0.98 x (0.5 + 0.5 x 0.9 x 0.95)
    >>> round(q, 6), round(0.98 * (0.5 + 0.5 * 0.9 * 0.95), 6)
    (0.90895, 0.90895)
    """
    compiled = CompiledModel.of(model)
    solution = compiled.solve(compiled.multipliers([scale or {}]), independent=independent, detail=True)
    exact = _exact_of(compiled, solution, expected_visits(model))
    why = exact_unavailable(model)
    return exact if why is None else _not_available(exact, why)


def _not_available(exact: ExactQuality, why: str) -> ExactQuality:
    """``exact`` with every quality NaN and the reason (the expected visits are the traffic equations')."""
    def blank(table: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
        return {k: dict.fromkeys(row, math.nan) for k, row in table.items()}

    return ExactQuality(math.nan, dict.fromkeys(exact.by_class, math.nan), blank(exact.from_node),
                        exact.expected_visits, blank(exact.visit_quality), blank(exact.handoff_quality), why)


def _exact_of(compiled: CompiledModel, solution: Solution, visits: dict[str, dict[str, float]]) -> ExactQuality:
    """The first scaling of ``solution`` as an :class:`ExactQuality`."""
    assert solution.from_node is not None and solution.visit is not None and solution.handoff is not None

    def table(values: Floats, names: tuple[str, ...]) -> dict[str, dict[str, float]]:
        return {k: dict(zip(names, row)) for k, row in zip(compiled.classes, values[0].tolist())}

    return ExactQuality(
        float(solution.system[0]),
        dict(zip(compiled.classes, solution.by_class[0].tolist())),
        table(solution.from_node, compiled.nodes),
        visits,
        table(solution.visit, compiled.nodes),
        table(solution.handoff, compiled.handoffs),
    )
