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

from typing import Any

import numpy as np

from ..model.kinds import HANDOFF_KINDS, REQUEST_KINDS
from ..model.mesosystem import Model
from ..run.results import RunResult
from ..run.stats import mean_ci
from .exact import exact_quality

__all__ = ["exact_leverage", "simulated_leverage", "leverage"]


def _elements(model: Model) -> list[tuple[str, tuple[str, ...]]]:
    """(label, scale key) of every element with a defect probability above zero."""
    out: list[tuple[str, tuple[str, ...]]] = []
    names = model.class_names
    for m in model.microsystems:
        if any(d.probability.get(k) > 0 for d in m.defects for k in names):
            out.append((m.name, ("microsystem", m.name)))
    for h in model.handoffs:
        for kind in HANDOFF_KINDS:
            if any(h.defects.get(kind).get(k) > 0 for k in names):  # type: ignore[union-attr]
                out.append((f"{h.label}:{kind}", ("handoff", h.label, kind)))
    for r in model.requests:
        if any(r.defects.get(kind).get(k) > 0 for kind in REQUEST_KINDS for k in names):  # type: ignore[union-attr]
            out.append((r.label, ("request", r.label)))
    return out


def exact_leverage(model: Model) -> list[dict[str, Any]]:
    """Exact leverage of every element (standards excluded), sorted by ``if_perfect``."""
    base = exact_quality(model).system
    rows = []
    for label, key in _elements(model):
        perfect = exact_quality(model, {key: 0.0}).system - base
        halved = exact_quality(model, {key: 0.5}).system - base
        rows.append({"element": label, "if_perfect": perfect, "if_halved": halved, "method": "exact"})
    return sorted(rows, key=lambda r: -r["if_perfect"])


def simulated_leverage(result: RunResult) -> list[dict[str, Any]]:
    """Simulated leverage of every element and standard (needs full records), sorted by ``if_perfect``."""
    if not result.records:
        return []
    model = result.scenario.model
    pathway = np.array([not k.background for k in model.classes])
    n_nodes, n_edges = len(model.microsystems), len(model.handoffs)
    n_links = n_nodes + n_edges + len(model.requests)
    elements = _elements(model)
    # key code of a defect row: microsystems, handoffs and standards by element; handoffs by kind
    labels = [label for label, _ in elements] + [st.name for st in model.standards]
    # lut[element, kind] -> element code (the kind matters for handoffs only)
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
    perfect = np.zeros((len(result.records), len(labels)))
    halved = np.zeros_like(perfect)
    for r, rec in enumerate(result.records):
        j = rec.journeys
        counted = (j["arrival"] >= rec.warmup) & pathway[j["class"]]
        n = int(counted.sum())
        if n == 0:  # no journey: no gain to measure in this replication
            perfect[r], halved[r] = np.nan, np.nan
            continue
        d = rec.defects
        keep = np.isin(d["journey"], j["journey"][counted])
        element, kind, journey = d["element"][keep], d["defect"][keep], d["journey"][keep]
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
        return []
    rows = []
    for c, label in enumerate(labels):
        p, h = mean_ci(perfect[:, c]), mean_ci(halved[:, c])
        rows.append({"element": label, "if_perfect": p.mean, "if_halved": h.mean, "method": "simulated",
                     "ci95_if_perfect": p.to_dict()["ci95"], "ci95_if_halved": h.to_dict()["ci95"]})
    return sorted(rows, key=lambda r: -r["if_perfect"])


def leverage(result: RunResult) -> list[dict[str, Any]]:
    """Exact and (with full records) simulated leverage, together, sorted by ``if_perfect``.

    Where both apply, each element appears twice (``method`` tells which), so
    they can be compared; standards appear as simulated only.
    """
    rows = exact_leverage(result.scenario.model) + simulated_leverage(result)
    return sorted(rows, key=lambda r: -r["if_perfect"])
