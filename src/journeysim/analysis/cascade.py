"""The quality cascade: how the share of defect-free journeys decays along a path.

For each class's most frequent paths (sequences of microsystems visited), the
cumulative share of the journeys on that path still defect-free after each
visit and each handoff:

* **simulated**: among the counted journeys that took exactly that path, the share
  with no defect up to and including that step. A visit's step holds its own
  defects and those of its service requests; a handoff's step holds its
  transfer's defects; missed standards form a last step, ``standards``.
* **exact**: the product of the visit qualities (support requests included) and
  handoff qualities along the path for that class, the graph's value given the
  path (no exact value for the standards step). The qualities are those of the
  model's exact solution (:attr:`~journeysim.analysis.exact.ExactQuality.visit_quality`,
  :attr:`~journeysim.analysis.exact.ExactQuality.handoff_quality`): a caught information
  defect is not a defect, and under a frailty each element's quality is averaged
  over it (the product then leaves out how defects cluster).

On a pathway with a single path the last value is the class's system quality.

Examples
--------
>>> from journeysim.model.distributions import Fixed
>>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.analysis.result import simulate
>>> m = Model([Microsystem("A", service=Fixed(1), defect=0.1), Microsystem("B", service=Fixed(1), defect=0.2)],
...           [Handoff("A", "B", defects={"information": 0.5})], classes=[PatientClass("p", entry="A", rate=0.1)])
>>> c = cascade(simulate(m, horizon=5000, seed=1))
>>> c["step_label"].tolist(), [round(x, 2) for x in c["exact"]]
(['A', 'A->B', 'B'], [0.9, 0.45, 0.36])
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from ..errors import JourneySimError
from ..run.results import RunResult
from .exact import ExactQuality, exact_quality
from .figures import as_floats, as_ints

__all__ = ["cascade"]

#: per class: path -> the first defective step of each journey on it (``inf`` if none)
_Firsts = dict[int, dict[tuple[str, ...], list[float]]]


def _first_defects(result: RunResult) -> _Firsts:
    """The step of each counted journey's first defect, by class and path."""
    model = result.scenario.model
    nodes = model.node_names
    n_nodes, n_edges = len(nodes), len(model.handoffs)
    firsts: _Firsts = {}
    for rec in result.records:
        j = rec.journeys
        # counted journeys that ended (a run that stops at the horizon leaves some in progress: not judged)
        counted = (as_floats(j["arrival"]) >= rec.warmup) & np.isfinite(as_floats(j["end"]))
        v, d = rec.visits, rec.defects
        order = np.lexsort((v["arrival"], v["journey"]))
        vj, vn, vend = v["journey"][order], v["node"][order], v["end"][order]
        bounds = np.searchsorted(vj, j["journey"], side="left"), np.searchsorted(vj, j["journey"], side="right")
        dorder = np.argsort(d["journey"], kind="stable")
        dj, dt, de = d["journey"][dorder], d["time"][dorder], as_ints(d["element"][dorder])
        dlo, dhi = np.searchsorted(dj, j["journey"], side="left"), np.searchsorted(dj, j["journey"], side="right")
        for row in np.flatnonzero(counted):
            a, b = bounds[0][row], bounds[1][row]
            path = tuple(nodes[x] for x in vn[a:b])
            ends = vend[a:b]
            first = np.inf
            for t, e in zip(dt[dlo[row]:dhi[row]], de[dlo[row]:dhi[row]]):
                if n_nodes <= e < n_nodes + n_edges:  # a handoff: the step after the visit it leaves
                    step = 2 * int(np.searchsorted(ends, t, side="left")) + 1
                elif e >= n_nodes + n_edges + len(model.requests):  # a standard: the last step
                    step = 2 * len(path) - 1
                else:  # the visit (its own defects, its requests' and their support visits')
                    step = 2 * int(np.searchsorted(ends, t, side="left"))
                first = min(first, step)
            firsts.setdefault(int(j["class"][row]), {}).setdefault(path, []).append(first)
    return firsts


def cascade(result: RunResult, top: int = 3, *, exact: ExactQuality | None = None) -> pd.DataFrame:
    """The cascade of each class's ``top`` most frequent paths (needs full records).

    Parameters
    ----------
    result : RunResult
    top : int
    exact : ExactQuality, optional
        The exact quality of the result's model, whose element qualities the exact
        column multiplies (solved here when not given).

    Returns
    -------
    pandas.DataFrame
        One row per step: ``class``, ``path``, ``path_share`` (share of the class's
        counted journeys on this path), ``journeys``, ``step`` (0, 1, ...),
        ``step_label`` (``"ED"``, ``"ED->CathLab"`` or ``"standards"``),
        ``simulated`` and ``exact`` (NaN for the standards step).
    """
    if not result.records:
        raise JourneySimError("the cascade needs the journeys' records: run with records='full'")
    model = result.scenario.model
    exact = exact if exact is not None else exact_quality(model)
    edge_at = {(h.source, h.target): h.label for h in model.handoffs}
    rows: list[dict[str, Any]] = []
    for k, paths in sorted(_first_defects(result).items()):
        name = model.class_names[k]
        visit, handoff = exact.visit_quality[name], exact.handoff_quality[name]
        total = sum(len(x) for x in paths.values())
        counts = Counter({p: len(x) for p, x in paths.items()})
        for path, n in counts.most_common(top):
            first = np.array(paths[path])
            value = 1.0
            labels: list[tuple[str, float]] = []
            for i, node in enumerate(path):
                value *= visit[node]
                labels.append((node, value))
                if i + 1 < len(path):
                    label = edge_at[(node, path[i + 1])]
                    value *= handoff[label]
                    labels.append((label, value))
            if model.standards:
                labels.append(("standards", float("nan")))
            for step, (label, product) in enumerate(labels):
                rows.append({"class": name, "path": " > ".join(path), "path_share": n / total, "journeys": n,
                             "step": step, "step_label": label, "simulated": float(np.mean(first > step)),
                             "exact": product})
    return pd.DataFrame(rows, columns=["class", "path", "path_share", "journeys", "step", "step_label", "simulated",
                                       "exact"])
