"""Leverage: how much system quality would rise if one element were perfect, or half as defective.

An **element** is a microsystem (all its named defects), one kind of a handoff
(``EMS->ED:information``), a service request (``ED=>Lab``, both kinds) or a
timeliness standard. For each, the gain in system quality (absolute, as a share
of journeys) if its defect probabilities were 0 (``if_perfect``) or halved
(``if_halved``):

* **exact**: the graph's system quality solved again with the element's defect
  probabilities scaled (:func:`journeysim.analysis.exact.exact_quality`). Standards
  cannot be solved from the graph, and the exact value leaves them out.
* **simulated**: from the recorded journeys, with common random numbers in the
  strongest form. Defects never change a journey's times, so making an element
  perfect turns exactly the journeys whose only defects were that element's into
  defect-free ones; halving its probabilities removes each of its defects with
  probability 1/2 independently (the coupling ``U < p/2`` inside ``U < p``), so
  such a journey with ``n`` of them becomes defect-free with probability
  ``0.5 ** n``. The gain is computed per replication and reported with a 95% CI
  across replications. It needs full records. For a standard, "halved" means
  half of its misses forgiven.

Only elements with some defect probability above zero (and every standard) are
listed: the others have no leverage.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> m = Model([Microsystem("A", defect=0.1), Microsystem("B", defect=0.2)], [Handoff("A", "B")],
...           classes=[PatientClass("all", entry="A", rate=0.1)])
>>> [(x["element"], round(x["if_perfect"], 3)) for x in exact_leverage(m)]
[('B', 0.18), ('A', 0.08)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..model.kinds import HANDOFF_KINDS, REQUEST_KINDS
from ..model.mesosystem import Model
from ..run.results import RunResult
from ..run.stats import mean_ci
from .built import defects_of, kinds_of
from .compiled import CompiledModel
from .exact import ExactQuality, exact_quality
from .figures import Floats, as_floats, as_ints, plain

__all__ = ["LeverageRow", "exact_leverage_rows", "simulated_leverage_rows", "leverage_rows", "by_method",
           "exact_leverage", "simulated_leverage", "leverage"]

Interval = tuple[float | None, float | None]


@dataclass(frozen=True, slots=True)
class LeverageRow:
    """The gain in system quality if one element were perfect, or half as defective.

    Attributes
    ----------
    element : str
        ``"ED"``, ``"EMS->ED:information"``, ``"ED=>Lab"`` or a standard's name.
    method : {"exact", "simulated"}
    if_perfect, if_halved : float
        Gains, as shares of journeys (0.02 is 2 points).
    ci95_if_perfect, ci95_if_halved : (low, high) or None
        95% CIs across replications of the simulated gains (``None`` for exact rows).
    """

    element: str
    method: Literal["exact", "simulated"]
    if_perfect: float
    if_halved: float
    ci95_if_perfect: Interval | None = None
    ci95_if_halved: Interval | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{element, if_perfect, if_halved, method}``, and the CIs of a simulated row (JSON-ready)."""
        out: dict[str, Any] = {"element": self.element, "if_perfect": plain(self.if_perfect),
                               "if_halved": plain(self.if_halved), "method": self.method}
        if self.ci95_if_perfect is not None and self.ci95_if_halved is not None:
            out["ci95_if_perfect"] = list(self.ci95_if_perfect)
            out["ci95_if_halved"] = list(self.ci95_if_halved)
        return out


def _ranked(rows: Sequence[LeverageRow]) -> tuple[LeverageRow, ...]:
    return tuple(sorted(rows, key=lambda r: -r.if_perfect))


def _elements(model: Model) -> list[tuple[str, tuple[str, ...]]]:
    """(label, scale key) of every element with a defect probability above zero."""
    out: list[tuple[str, tuple[str, ...]]] = []
    names = model.class_names
    for m in model.microsystems:
        if any(d.probability.get(k) > 0 for d in defects_of(m) for k in names):
            out.append((m.name, ("microsystem", m.name)))
    for h in model.handoffs:
        for kind in HANDOFF_KINDS:
            if any(kinds_of(h).get(kind).get(k) > 0 for k in names):
                out.append((f"{h.label}:{kind}", ("handoff", h.label, kind)))
    for r in model.requests:
        if any(kinds_of(r).get(kind).get(k) > 0 for kind in REQUEST_KINDS for k in names):
            out.append((r.label, ("request", r.label)))
    return out


def exact_leverage_rows(model: Model, exact: ExactQuality | None = None) -> tuple[LeverageRow, ...]:
    """Exact leverage of every element (standards excluded), largest ``if_perfect`` first.

    ``exact`` is the model's exact quality (:func:`~journeysim.analysis.exact.exact_quality`),
    solved here when not given. Every element's two what-ifs (its defect
    probabilities scaled by 0 and by 1/2) are solved in one batch on the model
    compiled once (:class:`~journeysim.analysis.compiled.CompiledModel`).
    """
    exact = exact if exact is not None else exact_quality(model)
    if exact.unavailable is not None:  # no exact value to gain from: only the simulated leverage is shown
        return ()
    base = exact.system
    elements = _elements(model)
    compiled = CompiledModel.of(model)
    systems = compiled.solve(compiled.multipliers([{key: f} for _, key in elements for f in (0.0, 0.5)])).system
    gains = (systems - base).reshape(len(elements), 2).tolist()
    return _ranked([LeverageRow(label, "exact", perfect, halved)
                    for (label, _), (perfect, halved) in zip(elements, gains)])


def _lookup(model: Model, elements: list[tuple[str, tuple[str, ...]]]) -> np.ndarray:
    """``lut[element code, kind]``: the row of the leverage table a defect record belongs to
    (the kind matters for handoffs only; -1 for elements with no leverage)."""
    n_nodes, n_edges = len(model.microsystems), len(model.handoffs)
    n_links = n_nodes + n_edges + len(model.requests)
    lut = np.full((n_links + len(model.standards), len(HANDOFF_KINDS)), -1, dtype=np.int64)
    node_index = {m.name: i for i, m in enumerate(model.microsystems)}
    edge_index = {h.label: n_nodes + e for e, h in enumerate(model.handoffs)}
    request_index = {r.label: n_nodes + n_edges + q for q, r in enumerate(model.requests)}
    for c, (_, key) in enumerate(elements):
        if key[0] == "microsystem":
            lut[node_index[key[1]], :] = c
        elif key[0] == "handoff":
            lut[edge_index[key[1]], HANDOFF_KINDS.index(key[2])] = c
        else:
            lut[request_index[key[1]], :] = c
    for s in range(len(model.standards)):
        lut[n_links + s, :] = len(elements) + s
    return lut


def simulated_leverage_rows(result: RunResult) -> tuple[LeverageRow, ...]:
    """Simulated leverage of every element and standard (needs full records), largest ``if_perfect`` first."""
    if not result.records:
        return ()
    model = result.scenario.model
    pathway = np.array([not k.background for k in model.classes])
    n_nodes, n_edges = len(model.microsystems), len(model.handoffs)
    elements = _elements(model)
    labels = [label for label, _ in elements] + [st.name for st in model.standards]
    lut = _lookup(model, elements)
    perfect = np.zeros((len(result.records), len(labels)))
    halved = np.zeros_like(perfect)
    for r, rec in enumerate(result.records):
        j = rec.journeys
        # counted journeys that ended (a run that stops at the horizon leaves some in progress: not judged)
        counted = (as_floats(j["arrival"]) >= rec.warmup) & pathway[j["class"]] & np.isfinite(as_floats(j["end"]))
        n = int(counted.sum())
        if n == 0:  # no journey: no gain to measure in this replication
            perfect[r], halved[r] = np.nan, np.nan
            continue
        d = rec.defects
        keep = np.isin(d["journey"], j["journey"][counted])
        element, kind, journey = as_ints(d["element"][keep]), d["defect"][keep], d["journey"][keep]
        is_edge = (element >= n_nodes) & (element < n_nodes + n_edges)
        codes = lut[element, np.where(is_edge, kind, 0)]
        if codes.size == 0:
            continue
        # journeys whose defects all belong to one element: that element's count in them
        order = np.lexsort((codes, journey))
        journey, codes = journey[order], codes[order]
        starts = np.flatnonzero(np.r_[True, journey[1:] != journey[:-1]])
        first, last = codes[starts], codes[np.r_[starts[1:], len(codes)] - 1]
        counts = np.diff(np.r_[starts, len(codes)])
        single = (first == last) & (first >= 0)
        np.add.at(perfect[r], first[single], 1.0 / n)
        np.add.at(halved[r], first[single], 0.5 ** counts[single] / n)
    if np.isnan(perfect).all():
        return ()
    return _ranked([_simulated_row(label, perfect[:, c], halved[:, c]) for c, label in enumerate(labels)])


def _simulated_row(label: str, perfect: Floats, halved: Floats) -> LeverageRow:
    p, h = mean_ci(perfect), mean_ci(halved)
    return LeverageRow(label, "simulated", p.mean, h.mean, (plain(p.ci95[0]), plain(p.ci95[1])),
                       (plain(h.ci95[0]), plain(h.ci95[1])))


def by_method(rows: Sequence[LeverageRow]) -> tuple[list[LeverageRow], dict[str, LeverageRow]]:
    """The simulated rows whose gain could be estimated, and the exact rows by element, each in ``rows``' order.

    Every view of leverage (text, headline, plot) ranks by the simulated gain and shows
    the exact gain of the same element beside it, or falls back on the exact rows alone.

    Examples
    --------
    >>> rows = [LeverageRow("A->B:information", "exact", 0.14, 0.06),
    ...         LeverageRow("A->B:information", "simulated", 0.01, 0.004, (0.0, 0.02), (0.0, 0.01)),
    ...         LeverageRow("C", "simulated", float("nan"), float("nan"))]
    >>> simulated, exact = by_method(rows)
    >>> [r.element for r in simulated], exact["A->B:information"].if_perfect
    (['A->B:information'], 0.14)
    """
    simulated = [r for r in rows if r.method == "simulated" and r.if_perfect is not None
                 and np.isfinite(r.if_perfect)]
    return simulated, {r.element: r for r in rows if r.method == "exact"}


def leverage_rows(result: RunResult, exact: ExactQuality | None = None) -> tuple[LeverageRow, ...]:
    """Exact and (with full records) simulated leverage, together, largest ``if_perfect`` first.

    Where both apply, each element appears twice (``method`` tells which), so
    they can be compared; standards appear as simulated only. ``exact`` as for
    :func:`exact_leverage_rows`.
    """
    return _ranked(exact_leverage_rows(result.scenario.model, exact) + simulated_leverage_rows(result))


def exact_leverage(model: Model) -> list[dict[str, Any]]:
    """:func:`exact_leverage_rows` as JSON-ready dicts."""
    return [r.to_dict() for r in exact_leverage_rows(model)]


def simulated_leverage(result: RunResult) -> list[dict[str, Any]]:
    """:func:`simulated_leverage_rows` as JSON-ready dicts."""
    return [r.to_dict() for r in simulated_leverage_rows(result)]


def leverage(result: RunResult) -> list[dict[str, Any]]:
    """:func:`leverage_rows` as JSON-ready dicts."""
    return [r.to_dict() for r in leverage_rows(result)]
