"""Traffic equations: expected visits per journey and the offered load of every microsystem.

The expected number of visits of a class-*k* journey to each clinical
microsystem solves ``v = e + R^T v`` with ``e`` the entry probabilities and ``R``
the class's routing matrix (the visit ratios of a Jackson network); a support
microsystem serves ``sum_n v(n) * p(n => s)`` requests per journey. With arrival
rates ``lambda_k``, microsystem *i* is offered::

    a_i = sum_k lambda_k * v_k(i) * E[hold of a class-k visit to i]     (Erlangs: servers busy on average)
    rho_i = a_i / c_i                                                   (per server; c_i averaged over the week)

where the hold is the service (all steps; a step with a condition, ``when``, weighted by
the share of the class's journeys for whom it holds: :func:`mean_service`), the exit delay when the patient leaves
the pathway from *i* (a named exit's own delay, :mod:`journeysim.model.exits`), and
the expected rework of caught handoff defects.

Where handoffs carry conditions (``when``), each class's routing is a mixture
(:func:`journeysim.model.routing.routing_variants`): the visits and the work are
summed over its variants, weighted by their probabilities. That is exact when
the conditions read only categorical and yes/no attributes; with numeric
attributes it uses their pieces' estimated probabilities, with the clock it
assumes patients leave at any moment of the week alike, and it takes every
``activated(...)`` as false. Boarding
and waits for support results hold a bed too, but depend on the queues
elsewhere, so ``rho_i`` is a lower bound of the utilisation. A microsystem with
``rho_i >= 1`` is unstable: its queue and waits grow with the horizon.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> m = Model([Microsystem("A", capacity=2, service=Exponential(30)),
...            Microsystem("B", capacity=1, service=Exponential(20))],
...           [Handoff("A", "B", probability=0.5), Handoff("B", "A", probability=0.2)],
...           classes=[PatientClass("all", entry="A", rate=1 / 60)])
>>> {k: round(v, 4) for k, v in expected_visits(m)["all"].items()}
{'A': 1.1111, 'B': 0.5556}
>>> load = offered_load(m)
>>> round(load["A"].load, 4), round(load["B"].erlangs, 4)
(0.2778, 0.1852)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from .conditions import Condition, Holds
from .mesosystem import Model
from .routing import attribute_slots, attribute_types, routing_variants, states

__all__ = ["OfferedLoad", "expected_visits", "offered_load", "mean_service", "solve", "DIRECT_MAX"]

#: Up to this size a sparse LU is exact and fast; larger systems are solved iteratively.
DIRECT_MAX = 500
_RESIDUAL = 1e-11  # relative residual an iterative solution must reach


def solve(matrix: sp.csr_matrix, rhs: NDArray[np.float64]) -> NDArray[np.float64]:
    """Solve ``matrix @ x = rhs`` for a (transposed) ``I - substochastic`` matrix.

    Small systems use a sparse LU. Large ones use BiCGSTAB: on graphs with
    random cross-links a sparse LU fills in badly (seconds for 10,000 nodes),
    while the Krylov solver converges in a few dozen products because the
    matrix is diagonally dominant. The residual is checked, with GMRES and then
    the LU as fallbacks, so the answer is never silently inexact.
    """
    n = matrix.shape[0]
    if n == 1:
        return rhs / matrix.toarray()[0, 0]
    if n <= DIRECT_MAX:
        return np.asarray(spla.spsolve(matrix.tocsc(), rhs), dtype=float)
    scale = float(np.linalg.norm(rhs)) or 1.0
    for method in (spla.bicgstab, spla.gmres):
        x, info = method(matrix, rhs, x0=rhs.copy(), rtol=1e-13, atol=0.0, maxiter=10 * n)
        if info == 0 and np.linalg.norm(matrix @ x - rhs) <= _RESIDUAL * scale:
            return np.asarray(x, dtype=float)
    return np.asarray(spla.spsolve(matrix.tocsc(), rhs), dtype=float)


@dataclass(frozen=True, slots=True)
class OfferedLoad:
    """The work offered to one microsystem in the long run.

    Attributes
    ----------
    arrivals_per_day : float
        Visits (requests for a support microsystem) per day, every class.
    hold_minutes : float or None
        Mean time a visit holds a server (service, exit delay, rework);
        ``None`` when no visit comes.
    erlangs : float
        Servers busy on average: arrivals per minute times the mean hold.
    servers : float or None
        Capacity averaged over the week's schedule; ``None`` if unlimited.
    load : float or None
        ``erlangs / servers``, the offered load per server (``rho``); ``None``
        with unlimited capacity. At 1 or more the microsystem is unstable.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> load = js.offered_load(model)["Clinic"]   # 6 an hour x 15 minutes on 2 servers
    >>> load.arrivals_per_day, load.erlangs, load.load
    (144.0, 1.5, 0.75)
    """

    arrivals_per_day: float
    hold_minutes: float | None
    erlangs: float
    servers: float | None
    load: float | None

    @property
    def unstable(self) -> bool:
        """True when the offered load per server is 1 or more."""
        return self.load is not None and self.load >= 1.0

    def to_dict(self) -> dict[str, float | None]:
        """Plain, JSON-ready fields."""
        return {"arrivals_per_day": self.arrivals_per_day, "hold_minutes": self.hold_minutes,
                "erlangs": self.erlangs, "servers": self.servers, "load": self.load}


def expected_visits(model: Model) -> dict[str, dict[str, float]]:
    """``expected_visits(model)[class][node]``: mean visits per journey to each clinical microsystem.

    Examples
    --------
    >>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
    >>> from journeysim.model.mesosystem import Model
    >>> m = Model([Microsystem("Ward")], [Handoff("Ward", "Ward", probability=0.25)],
    ...           classes=[PatientClass("all", entry="Ward", rate=0.1)])
    >>> expected_visits(m)
    {'all': {'Ward': 1.3333333333333333}}
    """
    if model.has_conditions:
        return {k: _mixed(parts) for k, parts in _variant_visits(model).items()}
    nodes = [m.name for m in model.microsystems if m.kind == "clinical"]
    index = {n: i for i, n in enumerate(nodes)}
    n = len(nodes)
    eye = sp.identity(n, format="csr")
    out: dict[str, dict[str, float]] = {}
    for k in model.classes:
        rows, cols, prob = [], [], []
        for h in model.handoffs:
            p = h.probability.get(k.name)
            if p > 0:
                rows.append(index[h.target])  # transposed: visits flow along the handoffs
                cols.append(index[h.source])
                prob.append(p)
        entry = np.zeros(n)
        for node, p in k.entries:
            entry[index[node]] += p
        v = solve((eye - sp.csr_matrix((prob, (rows, cols)), shape=(n, n))).tocsr(), entry)
        out[k.name] = dict(zip(nodes, v.tolist()))
    return out


#: a routing variant of a class: its weight, handoff probabilities, expected visits and attribute vector
_Part = tuple[float, tuple[float, ...], dict[str, float], tuple[float, ...]]


def _variant_visits(model: Model, *, steps: bool = False) -> dict[str, list[_Part]]:
    """Per class, each routing variant's weight, handoff probabilities, expected visits and attributes
    (with ``steps``, the variants tell apart the states that steps' conditions read too)."""
    nodes = [m.name for m in model.microsystems if m.kind == "clinical"]
    index = {n: i for i, n in enumerate(nodes)}
    n = len(nodes)
    eye = sp.identity(n, format="csr")
    out: dict[str, list[_Part]] = {}
    variants = routing_variants(model, steps=steps)
    for k in model.classes:
        entry = np.zeros(n)
        for node, p in k.entries:
            entry[index[node]] += p
        parts = []
        for variant in variants[k.name]:
            taken = [(index[h.target], index[h.source], p) for h, p in zip(model.handoffs, variant.routing) if p > 0]
            matrix = sp.csr_matrix(([p for *_, p in taken], ([r for r, *_ in taken], [c for _, c, _ in taken])),
                                   shape=(n, n))
            v = solve((eye - matrix).tocsr(), entry)
            parts.append((variant.weight, variant.routing, dict(zip(nodes, v.tolist())), variant.attrs))
        out[k.name] = parts
    return out


def _mixed(parts: list[_Part]) -> dict[str, float]:
    total: dict[str, float] = {}
    for w, _, visits, _ in parts:
        for node, x in visits.items():
            total[node] = total.get(node, 0.0) + w * x
    return total


def mean_service(model: Model, node: str, class_name: str) -> float:
    """Mean own work of a visit of ``class_name`` to ``node``, in minutes: the sum of its steps' means, each
    step with a condition (``when``) weighted by the probability that it holds for a journey of the class.

    That probability is exact for categorical and yes/no attributes (their shares); for a
    numeric attribute it is estimated from draws of a fixed stream, as for routing by state
    (:func:`journeysim.model.routing.states`).

    Examples
    --------
    >>> from journeysim.model.distributions import Fixed
    >>> from journeysim.model.attributes import Bernoulli
    >>> from journeysim.model.elements import Microsystem, PatientClass, Step
    >>> lab = Microsystem("Lab", service=[Step("prep", Fixed(20)), Step("device", Fixed(40), when="pci")])
    >>> m = Model([lab], classes=[PatientClass("STEMI", entry="Lab", rate=0.01, attributes={"pci": Bernoulli(0.75)})])
    >>> mean_service(m, "Lab", "STEMI")   # 20 + 0.75 * 40
    50.0
    """
    steps = model.microsystem(node).steps_for(class_name)
    conditional = [s for s in steps if s.when is not None]
    total = sum(s.duration.mean for s in steps if s.when is None)
    if not conditional:
        return total
    klass = next(k for k in model.classes if k.name == class_name)
    slots = attribute_slots(attribute_types(model.classes)[0])
    nodes = {x.name: i for i, x in enumerate(model.microsystems)}
    for s in conditional:
        assert s.when is not None  # selected above
        holds = s.when.compile(slots, nodes)
        share = sum(x.journey for x in states(klass, [s.when], slots, nodes) if holds(x.attrs, None, 0.0))
        total += share * s.duration.mean
    return total


def _step_service(model: Model) -> Callable[[str, str, tuple[float, ...]], float]:
    """``service(node, class, attrs)``: the mean own work of a visit of a journey with the attributes
    ``attrs`` (a routing variant's, which tell apart every state the steps' conditions read)."""
    slots = attribute_slots(attribute_types(model.classes)[0])
    nodes = {x.name: i for i, x in enumerate(model.microsystems)}

    compiled: dict[Condition, Holds] = {}

    def service(node: str, class_name: str, attrs: tuple[float, ...]) -> float:
        if not attrs:  # a variant that reads no attribute: the class's average
            return mean_service(model, node, class_name)
        total = 0.0
        for s in model.microsystem(node).steps_for(class_name):
            if s.when is not None and s.when not in compiled:
                compiled[s.when] = s.when.compile(slots, nodes)
            if s.when is None or compiled[s.when](attrs, None, 0.0):
                total += s.duration.mean
        return total

    return service


def _hold_minutes(model: Model, node: str, class_name: str, routing: tuple[float, ...] | None = None,
                  service: float | None = None) -> float:
    """Mean time a class's visit to a clinical ``node`` holds its server, beyond any wait."""
    m = model.microsystem(node)
    hold = sum(s.duration.mean for s in m.steps_for(class_name)) if service is None else service
    if routing is None:
        leaving = 1.0 - sum(h.probability.get(class_name) for h in model.handoffs if h.source == node)
    else:
        leaving = 1.0 - sum(p for h, p in zip(model.handoffs, routing) if h.source == node)
    for x in model.exits:  # named exits hold the bed for their own delay, the default exit for exit_delay
        if x.source == node:
            p = x.probability.get(class_name)
            hold += p * x.delay_for(class_name).mean
            leaving -= p
    hold += max(leaving, 0.0) * m.exit_delay.mean
    return hold


def _rework_per_visit(model: Model, node: str, class_name: str, visits: dict[str, float],
                      routing: tuple[float, ...] | None = None) -> float:
    """Expected rework minutes per visit to ``node``: caught information defects of handoffs into it."""
    total = visits.get(node, 0.0)
    if not total:
        return 0.0
    rework = 0.0
    for e, h in enumerate(model.handoffs):
        if h.target == node and h.recovery is not None:
            p = h.probability.get(class_name) if routing is None else routing[e]
            transfers = visits.get(h.source, 0.0) * p
            caught = h.defects.get("information").get(class_name) * h.recovery.probability.get(class_name)
            rework += transfers * caught * h.recovery.rework.mean
    return rework / total


def offered_load(model: Model) -> dict[str, OfferedLoad]:
    """The long-run offered load of every microsystem (see the module docstring), every class included.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> {name: round(x.load, 2) for name, x in js.offered_load(model).items()}
    {'Clinic': 0.75}
    """
    visits = expected_visits(model)
    arrivals = {m.name: 0.0 for m in model.microsystems}
    work = dict(arrivals)
    variants = _variant_visits(model, steps=True) if model.has_conditions else {}
    selective = {m.name for m in model.microsystems if m.has_step_conditions}
    given = _step_service(model) if variants and selective else None
    for k in model.classes:
        v = visits[k.name]
        for node, count in v.items():
            arrivals[node] += k.rate * count
            service = mean_service(model, node, k.name) if node in selective and count > 0 else None
            if k.name in variants:  # the exit delay and the rework differ by routing: sum over the variants
                for weight, routing, vv, attrs in variants[k.name]:
                    # where routing and steps read the same attributes, a variant's visits and service go together
                    own = given(node, k.name, attrs) if given is not None and node in selective else None
                    per_visit = (_hold_minutes(model, node, k.name, routing, own)
                                 + _rework_per_visit(model, node, k.name, vv, routing))
                    work[node] += k.rate * weight * vv[node] * per_visit
            else:
                per_visit = _hold_minutes(model, node, k.name, service=service) + _rework_per_visit(model, node,
                                                                                                    k.name, v)
                work[node] += k.rate * count * per_visit
        for r in model.requests:
            requests = k.rate * v.get(r.source, 0.0) * r.probability.get(k.name)
            support = model.microsystem(r.target)
            arrivals[r.target] += requests
            work[r.target] += requests * sum(s.duration.mean for s in support.steps_for(k.name))
    out = {}
    for m in model.microsystems:
        servers = m.mean_capacity
        lam = arrivals[m.name]
        out[m.name] = OfferedLoad(
            arrivals_per_day=lam * 1440.0,
            hold_minutes=work[m.name] / lam if lam > 0 else None,
            erlangs=work[m.name],
            servers=servers,
            load=None if servers is None else work[m.name] / servers,  # validation keeps servers > 0
        )
    return out
