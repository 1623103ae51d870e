"""journeysim's own fidelity measures between two event logs: routing, waits, stays, census,
timeliness standards and defect rates.

* **Routing error**: per class and edge, the absolute difference of the first-order
  transition probabilities (of the instances at *a*, the share whose case's next
  instance is at *b*; ``<start>`` and ``<end>`` included), summarised by the mean
  weighted by the second log's transitions and by the largest.
* **Waits and stays per unit**: the 1-Wasserstein distance (minutes) of each unit's waits
  (start minus schedule time, where the log has both) and stays (:func:`stays`).
* **Census**: the 1-Wasserstein distance (patients) of the time-weighted distributions of
  the number of cases in progress (from a case's first time to its last).
* **Standards** (``"name: A -> B <= 60 min"``, :func:`parse_standard`) and **defect
  rates** (the share of cases with an activity, or with a true value in a column): rates
  with Wilson 95% intervals.

Examples
--------
>>> parse_standard("antibiotics_1h: ER Registration -> IV Antibiotics <= 1 h")
StandardSpec(name='antibiotics_1h', source='ER Registration', target='IV Antibiotics', limit=60.0)
>>> [round(x, 3) for x in wilson(8, 10)]
[0.49, 0.943]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import JourneySimError
from .logs import EventLog, Labelled

__all__ = ["StandardSpec", "census_distance", "defect_cases", "parse_standard", "routing_error", "standard_cases",
           "stays", "unit_distances", "waits", "wilson"]

START, END = "<start>", "<end>"
_UNITS = {"min": 1.0, "mins": 1.0, "minute": 1.0, "minutes": 1.0, "m": 1.0, "h": 60.0, "hour": 60.0,
          "hours": 60.0, "d": 1440.0, "day": 1440.0, "days": 1440.0}
_STANDARD = re.compile(r"^\s*([^:]+?)\s*:\s*(.+?)\s*->\s*(.+?)\s*<=\s*([0-9.]+)\s*([A-Za-z]*)\s*$")


def _order(log: EventLog) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Rows in order within each case (by start, else end), and each row's time."""
    t = np.where(np.isfinite(log.start), log.start, log.end)
    t = np.where(np.isfinite(t), t, log.scheduled)
    return np.lexsort((np.arange(len(log)), t, log.case)), t


def _class_names(log: EventLog) -> NDArray[np.object_]:
    """Each row's class name ('' without one)."""
    return np.array([*map(str, log.class_labels), ""], dtype=object)[log.class_]


def _transitions(log: EventLog, pooled: bool) -> dict[tuple[str, str, str], int]:
    order, _ = _order(log)
    case = log.case[order]
    names = np.array([*map(str, log.activity_labels)], dtype=object)[log.activity[order]]
    klass = np.full(len(order), "all", dtype=object) if pooled else _class_names(log)[order]
    first = np.r_[True, case[1:] != case[:-1]]
    last = np.r_[case[1:] != case[:-1], True]
    nxt = np.concatenate([names[1:], np.array([END], dtype=object)])
    src = np.concatenate([np.full(int(first.sum()), START, dtype=object), names])
    dst = np.concatenate([names[first], np.where(last, END, nxt)])
    cls = np.concatenate([klass[first], klass])
    counts: dict[tuple[str, str, str], int] = {}
    for key in zip(cls.tolist(), src.tolist(), dst.tolist()):
        counts[key] = counts.get(key, 0) + 1
    return counts


def _probabilities(counts: dict[tuple[str, str, str], int]) -> dict[tuple[str, str, str], float]:
    out_of: dict[tuple[str, str], int] = {}
    for (k, a, _), n in counts.items():
        out_of[k, a] = out_of.get((k, a), 0) + n
    return {key: n / out_of[key[0], key[1]] for key, n in counts.items()}


@dataclass(frozen=True, slots=True)
class RoutingError:
    """Per class and edge (``<start>``/``<end>`` for entering and leaving): both logs'
    transition probabilities and their absolute difference."""

    edges: tuple[tuple[str, str, str, float, float], ...]  # class, from, to, p in log a, p in log b
    mean: float  # the mean difference, weighted by log b's transitions out of each edge's source
    largest: float
    worst: str  # the edge with the largest difference, "class: A -> B"


def routing_error(log_a: EventLog, log_b: EventLog) -> RoutingError:
    """The routing error of ``log_a`` against ``log_b`` (per class where both logs name the
    same classes; pooled otherwise)."""
    pooled = not (set(map(str, log_a.class_labels)) & set(map(str, log_b.class_labels)))
    ca, cb = _transitions(log_a, pooled), _transitions(log_b, pooled)
    pa, pb = _probabilities(ca), _probabilities(cb)
    keys = sorted(set(pa) | set(pb))
    out_b: dict[tuple[str, str], int] = {}
    for (k, a, _), n in cb.items():
        out_b[k, a] = out_b.get((k, a), 0) + n
    edges = tuple((k, a, b, pa.get((k, a, b), 0.0), pb.get((k, a, b), 0.0)) for k, a, b in keys)
    diff = np.array([abs(x - y) for *_, x, y in edges])
    weight = np.array([out_b.get((k, a), 0) for k, a, *_ in edges], dtype=float)
    if not len(diff):
        return RoutingError(edges, 0.0, 0.0, "")
    worst = int(np.argmax(diff))
    k, a, b = edges[worst][:3]
    mean = float((diff * weight).sum() / weight.sum()) if weight.sum() else float(diff.mean())
    return RoutingError(edges, mean, float(diff[worst]), f"{k}: {a} -> {b}")


def stays(log: EventLog) -> NDArray[np.float64]:
    """Each instance's length of stay (minutes): end minus start where the log has starts;
    in a log of completion times only, the gap from its end to the next instance's end in
    the case (NaN for a case's last). The discovery module will have its own reading of the
    gap; this one is kept small and separate until the two are merged."""
    if log.has_starts:
        return np.asarray(log.end - log.start, dtype=np.float64)
    order, _ = _order(log)
    case, end = log.case[order], log.end[order]
    gap = np.r_[end[1:] - end[:-1], np.nan]
    gap[np.r_[case[1:] != case[:-1], True]] = np.nan
    out = np.empty(len(log))
    out[order] = gap
    return out


def waits(log: EventLog) -> NDArray[np.float64]:
    """Each instance's wait (minutes): start minus schedule time; NaN where either is missing."""
    return np.asarray(log.start - log.scheduled, dtype=np.float64)


def unit_distances(log_a: EventLog, values_a: NDArray[np.float64], log_b: EventLog,
                   values_b: NDArray[np.float64]) -> tuple[dict[str, float], float | None]:
    """Per unit (activity) of ``log_b``, the 1-Wasserstein distance of the values; and their
    mean weighted by ``log_b``'s counts (None where no unit has values in both)."""
    from scipy.stats import wasserstein_distance

    name_a = np.array([*map(str, log_a.activity_labels)], dtype=object)[log_a.activity]
    name_b = np.array([*map(str, log_b.activity_labels)], dtype=object)[log_b.activity]
    out: dict[str, float] = {}
    weights = []
    for unit in map(str, log_b.activity_labels):
        x = values_a[(name_a == unit) & np.isfinite(values_a)]
        y = values_b[(name_b == unit) & np.isfinite(values_b)]
        if len(x) and len(y):
            out[unit] = float(wasserstein_distance(x, y))
            weights.append(len(y))
    if not out:
        return out, None
    return out, float(np.average(list(out.values()), weights=weights))


def census_distance(log_a: EventLog, log_b: EventLog) -> float:
    """1-Wasserstein distance (patients) of the time-weighted distributions of the number of
    cases in progress, each over its own log's span from its first case start to its last time."""
    from scipy.stats import wasserstein_distance

    (na, wa), (nb, wb) = _census(log_a), _census(log_b)
    if not wa.sum() or not wb.sum():
        return 0.0
    return float(wasserstein_distance(na, nb, wa, wb))


def _census(log: EventLog) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    t = np.fmin(np.fmin(log.scheduled, log.start), log.end)
    last = np.fmax(np.fmax(log.scheduled, log.start), log.end)
    first = np.full(log.n_cases, np.inf)
    final = np.full(log.n_cases, -np.inf)
    np.minimum.at(first, log.case, np.where(np.isfinite(t), t, np.inf))
    np.maximum.at(final, log.case, np.where(np.isfinite(last), last, -np.inf))
    ok = np.isfinite(first) & np.isfinite(final)
    times = np.concatenate([first[ok], final[ok]])
    step = np.r_[np.ones(int(ok.sum())), -np.ones(int(ok.sum()))]
    order = np.lexsort((step, times))  # a case ending as another starts: the end first
    times, count = times[order], np.cumsum(step[order])
    return count[:-1], np.diff(times)


# -- standards and defects


@dataclass(frozen=True, slots=True)
class StandardSpec:
    """A timeliness standard: a case's first ``target`` after its first ``source`` within ``limit`` minutes."""

    name: str
    source: str
    target: str
    limit: float


def parse_standard(text: str) -> StandardSpec:
    """Read ``"name: A -> B <= 60 min"`` (units min, h, d; minutes when none)."""
    m = _STANDARD.match(text)
    unit = (m.group(5).lower() or "min") if m else ""
    if not m or unit not in _UNITS:
        raise JourneySimError(f"standard: expected 'name: A -> B <= 60 min' (units min, h, d), got {text!r}")
    return StandardSpec(m.group(1), m.group(2), m.group(3), float(m.group(4)) * _UNITS[unit])


def standard_cases(log: EventLog, spec: StandardSpec) -> tuple[int, int]:
    """(cases meeting the standard, cases it applies to): those with ``source`` and a ``target``
    after it. A case with the source and no target after it is not counted."""
    names = list(map(str, log.activity_labels))
    if spec.source not in names or spec.target not in names:
        return 0, 0
    order, t = _order(log)
    case, act, t = log.case[order], log.activity[order], t[order]
    at_a = np.full(log.n_cases, np.inf)
    sel = act == names.index(spec.source)
    np.minimum.at(at_a, case[sel], t[sel])
    sel = (act == names.index(spec.target)) & (t >= at_a[case])
    at_b = np.full(log.n_cases, np.inf)
    np.minimum.at(at_b, case[sel], t[sel])
    applies = np.isfinite(at_a) & np.isfinite(at_b)
    gap = np.where(applies, at_b, 0.0) - np.where(applies, at_a, 0.0)  # no inf - inf where a case has neither
    return int((applies & (gap <= spec.limit)).sum()), int(applies.sum())


def defect_cases(log: EventLog, *, activity: str | None = None, column: str | None = None) -> tuple[int, int] | None:
    """(cases with the defect, cases): a defect is an instance of ``activity``, or a true value
    (1, true, yes) in the attribute ``column``. None where the log does not have the column."""
    if activity is not None:
        names = list(map(str, log.activity_labels))
        hit = log.activity == names.index(activity) if activity in names else np.zeros(len(log), dtype=bool)
    else:
        if column is None or column not in log.attributes:
            return None
        col = log.attributes[column]
        if isinstance(col, Labelled):
            true = np.array([str(x).strip().lower() in ("1", "true", "yes", "y", "t") for x in col.labels] + [False])
            hit = true[col.codes]
        else:
            hit = np.nan_to_num(col) != 0
    return len(np.unique(log.case[hit])), log.n_cases


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score 95% interval of a proportion ``k / n`` ((0, 1) when ``n`` is 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))
