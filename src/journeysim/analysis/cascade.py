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

Where queue rules act (:mod:`journeysim.model.queues`), a journey's path is still the
microsystems it visited: one turned away before any visit has none and is in no path
(it still counts in ``path_share``'s total), and two visits that no handoff joins (the
patient was diverted, or left unseen to ``renege_to``, on the way) are joined by a step
labelled ``"A~>C"`` that holds what happened between them: the handoff's defects and
the queue rule's. The exact column is NaN from that step on (the graph does not know
the path). A queue rule's defect before the first visit counts in the first step, and
one after the last visit (a rejection that ended the journey) in the last visit's step.

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
from ..model.queues import FULL_OUTCOMES, LEFT_UNSEEN
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
    n_nodes, n_edges, n_requests = len(nodes), len(model.handoffs), len(model.requests)
    firsts: _Firsts = {}
    paths: dict[bytes, tuple[str, ...]] = {}
    for rec in result.records:
        j, v = rec.journeys, rec.visits
        # counted journeys that ended (a run that stops at the horizon leaves some in progress: not judged)
        counted = np.flatnonzero((as_floats(j["arrival"]) >= rec.warmup) & np.isfinite(as_floats(j["end"])))
        order = np.lexsort((v["arrival"], v["journey"]))
        vj, vn = v["journey"][order], as_ints(v["node"][order])
        lo, hi = np.searchsorted(vj, j["journey"], side="left"), np.searchsorted(vj, j["journey"], side="right")
        first = _first_steps(rec, vj, as_floats(v["end"][order]), lo, hi, (n_nodes, n_edges, n_requests))
        # a journey's path as the bytes of its visits' node codes: one slice per journey, named once per path
        codes = vn.astype(np.uint16).tobytes()
        classes = as_ints(j["class"])
        for row in counted:
            key = codes[2 * lo[row]:2 * hi[row]]
            path = paths.get(key)
            if path is None:
                path = paths[key] = tuple(nodes[x] for x in np.frombuffer(key, dtype=np.uint16))
            firsts.setdefault(int(classes[row]), {}).setdefault(path, []).append(float(first[row]))
    return firsts


def _first_steps(rec: Any, vj: np.ndarray, vend: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 sizes: tuple[int, int, int]) -> np.ndarray:
    """Per journey of ``rec``, the step of its first defect (``inf`` if none).

    ``vj`` and ``vend`` are the visits' journeys and ends sorted by journey and arrival, and
    ``lo:hi`` each journey's visits in them. A defect at time ``t`` belongs to the step of the
    first visit of its journey ending at or after ``t``: the count of the journey's visits that
    ended before ``t`` is found for every defect at once by sorting the defects among the visit
    ends (journey, then time, a defect before a visit end at the same time).
    """
    n_nodes, n_edges, n_requests = sizes
    d, j = rec.defects, rec.journeys
    first = np.full(len(j), np.inf)
    if len(d) == 0:
        return first
    dj, dt, de = d["journey"], as_floats(d["time"]), as_ints(d["element"])
    queue = _queue_rule_defects(rec, de, n_nodes)
    keys_j = np.concatenate([vj, dj])
    keys_t = np.concatenate([vend, dt])
    is_visit = np.concatenate([np.ones(vj.size, dtype=np.int8), np.zeros(dj.size, dtype=np.int8)])
    # at equal times: a visit's own defect (timed at its end) before the end, a queue rule's after it
    rank = np.concatenate([np.ones(vj.size, dtype=np.int8), np.where(queue, 2, 0).astype(np.int8)])
    order = np.lexsort((rank, keys_t, keys_j))
    visits_before = np.cumsum(is_visit[order]) - is_visit[order]  # visit ends strictly before each entry
    ended = np.empty(keys_j.size, dtype=np.int64)
    ended[order] = visits_before
    ids = as_ints(j["journey"])
    row_of = np.zeros(int(ids.max()) + 1 if ids.size else 0, dtype=np.int64)
    row_of[ids] = np.arange(ids.size)  # the journeys table is in order of leaving, not of id
    row = row_of[as_ints(dj)]
    ended = ended[vj.size:] - lo[row]  # the journey's own visits that ended before the defect
    handoff = (de >= n_nodes) & (de < n_nodes + n_edges)
    standard = de >= n_nodes + n_edges + n_requests
    step = np.where(handoff, 2 * ended + 1, 2 * ended)
    # a queue rule's defect between two visits is in the step between them; before the first visit, in the
    # first; after the last (a rejection that ended the journey), in the last visit's
    last = 2 * (hi[row] - lo[row]) - 2
    step = np.where(queue, np.clip(2 * ended - 1, 0, np.maximum(last, 0)), step)
    step = np.where(standard, 2 * (hi[row] - lo[row]) - 1, step).astype(float)
    np.minimum.at(first, row, step)
    return first


def _queue_rule_defects(rec: Any, element: np.ndarray, n_nodes: int) -> np.ndarray:
    """Whether each defect row is a queue rule's (``rejected``, ``diverted``, ``left_unseen`` of a microsystem):
    it belongs to an arrival that was not a visit."""
    names = np.array(rec.defects.labels["defect"], dtype=object)
    rule = np.isin(names, (*FULL_OUTCOMES, LEFT_UNSEEN))
    return rule[as_ints(rec.defects["defect"])] & (element < n_nodes) if rule.any() else np.zeros(len(element), bool)


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
        counts = Counter({p: len(x) for p, x in paths.items() if p})  # turned away before any visit: no path
        for path, n in counts.most_common(top):
            first = np.array(paths[path])
            value = 1.0
            labels: list[tuple[str, float]] = []
            for i, node in enumerate(path):
                value *= visit[node]
                labels.append((node, value))
                if i + 1 < len(path):
                    label = edge_at.get((node, path[i + 1]))
                    if label is None:  # a queue rule moved the patient on (diverted, or left unseen to renege_to)
                        label, value = f"{node}~>{path[i + 1]}", float("nan")
                    else:
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
