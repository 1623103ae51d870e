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
  path (no exact value for the standards step).

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
from ..model.kinds import HANDOFF_KINDS
from ..run.results import RunResult
from .exact import visit_quality

__all__ = ["cascade"]


def cascade(result: RunResult, top: int = 3) -> pd.DataFrame:
    """The cascade of each class's ``top`` most frequent paths (needs full records).

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
    nodes = model.node_names
    n_nodes, n_edges = len(nodes), len(model.handoffs)
    edge_at = {(h.source, h.target): h for h in model.handoffs}
    # per class: path -> list of first defective step per journey (large number if none)
    firsts: dict[int, dict[tuple[str, ...], list[float]]] = {}
    for rec in result.records:
        j = rec.journeys
        counted = j["arrival"] >= rec.warmup
        v, d = rec.visits, rec.defects
        order = np.lexsort((v["arrival"], v["journey"]))
        vj, vn, vend = v["journey"][order], v["node"][order], v["end"][order]
        bounds = np.searchsorted(vj, j["journey"], side="left"), np.searchsorted(vj, j["journey"], side="right")
        dorder = np.argsort(d["journey"], kind="stable")
        dj, dt, de = d["journey"][dorder], d["time"][dorder], d["element"][dorder]
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
    rows: list[dict[str, Any]] = []
    for k, paths in sorted(firsts.items()):
        name = model.class_names[k]
        total = sum(len(x) for x in paths.values())
        counts = Counter({p: len(x) for p, x in paths.items()})
        for path, n in counts.most_common(top):
            first = np.array(paths[path])
            exact = 1.0
            labels: list[tuple[str, float]] = []
            for i, node in enumerate(path):
                exact *= visit_quality(model, node, name)
                labels.append((node, exact))
                if i + 1 < len(path):
                    h = edge_at[(node, path[i + 1])]
                    q = 1.0
                    for kind in HANDOFF_KINDS:
                        q *= 1.0 - h.defects.get(kind).get(name)  # type: ignore[union-attr]
                    exact *= q
                    labels.append((h.label, exact))
            if model.standards:
                labels.append(("standards", float("nan")))
            for step, (label, value) in enumerate(labels):
                rows.append({"class": name, "path": " > ".join(path), "path_share": n / total, "journeys": n,
                             "step": step, "step_label": label, "simulated": float(np.mean(first > step)),
                             "exact": value})
    return pd.DataFrame(rows, columns=["class", "path", "path_share", "journeys", "step", "step_label", "simulated",
                                       "exact"])
