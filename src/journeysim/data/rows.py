"""The activity instances discovery works on: one row per visit, in case and time order.

:func:`case_rows` turns an :class:`~journeysim.data.logs.EventLog` into :class:`Rows`:
the non-withdrawn instances sorted by case and by the first time each has (schedule,
else start, else end), with each row's class (its case's first) and whether the next
row is the same case's. Every part of discovery reads these columns.
:func:`arrivals` gives every case's arrival, those turned away (only withdrawn
instances: rejected, left unseen) included.

Three cases: the first visits A then B; the second is turned away at A (its only
instance withdrawn); the third visits B.

>>> import datetime as dt
>>> log = EventLog(source="x.csv", origin=dt.datetime(2024, 1, 1), case=np.array([0, 0, 1, 2], np.int32),
...     case_labels=np.array(["c0", "c1", "c2"], object), activity=np.array([0, 1, 0, 1], np.int32),
...     activity_labels=np.array(["A", "B"], object), scheduled=np.full(4, np.nan),
...     start=np.array([0.0, 10.0, 5.0, 7.0]), end=np.array([10.0, 20.0, 6.0, np.nan]),
...     withdrawn=np.array([False, False, True, False]), class_=np.zeros(4, np.int32),
...     class_labels=np.array(["all"], object), resource=np.full(4, -1, np.int32),
...     resource_labels=np.array([], object), attributes={}, line=np.arange(2, 6), n_events=7)
>>> codes, names = class_codes(log, None)
>>> rows = case_rows(log, codes)
>>> rows.unit.tolist(), rows.case.tolist(), rows.has_next.tolist(), rows.censor.tolist()
([0, 1, 1], [0, 0, 2], [True, False, False], [20.0, 20.0, 20.0])
>>> a = arrivals(log, codes)
>>> a.unit.tolist(), a.turned_away.tolist()
([0, 0, 1], [False, True, False])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import JourneySimError, Problem, ValidationError
from .logs import EventLog, Labelled

__all__ = ["Rows", "Arrivals", "case_rows", "class_codes", "arrivals", "FALLBACK_CLASS"]

#: the class of cases without a value in the class column
FALLBACK_CLASS = "unclassified"


@dataclass(frozen=True, slots=True)
class Rows:
    """The log's non-withdrawn instances in case and time order, with each row's class and next row.

    ``first`` is the time the case reached the unit: the schedule time, else the start,
    else (a completion-only log) the end. ``completion_only`` says the log has no
    schedule or start times at all. ``rep`` is each row's replication (0 for a log of
    one) and ``censor`` the last time of that replication, where an instance still
    open is censored.
    """

    unit: NDArray[np.int64]
    case: NDArray[np.int64]
    cls: NDArray[np.int64]
    first: NDArray[np.float64]      # scheduled, else start, else end
    arrive: NDArray[np.float64]     # scheduled, else start
    start: NDArray[np.float64]
    end: NDArray[np.float64]
    scheduled: NDArray[np.float64]
    has_next: NDArray[np.bool_]     # the next row is the same case's
    index: NDArray[np.int64]        # the row of the log each row comes from
    rep: NDArray[np.int64]          # the replication of the row (0 for a log of one)
    censor: NDArray[np.float64]     # the last time of the row's replication: open instances are censored there
    completion_only: bool = False

    @property
    def case_first(self) -> NDArray[np.bool_]:
        """True at each case's first row."""
        return np.r_[True, self.case[1:] != self.case[:-1]]


def class_codes(log: EventLog, classes_from: str | None) -> tuple[NDArray[np.int64], tuple[str, ...]]:
    """Each instance's class code (its case's first value) and the class names."""
    if classes_from is None or classes_from in ("class", "case:class"):
        codes, labels = log.class_.astype(np.int64), [str(x) for x in log.class_labels]
    elif classes_from in log.attributes:
        col = log.attributes[classes_from]
        if isinstance(col, Labelled):
            codes, labels = col.codes.astype(np.int64), [str(x) for x in col.labels]
        else:
            names = np.array([("" if math.isnan(v) else f"{v:g}") for v in col], dtype=object)
            uniq = sorted({n for n in names if n})
            index = {n: i for i, n in enumerate(uniq)}
            codes, labels = np.array([index.get(n, -1) for n in names], dtype=np.int64), uniq
    else:
        raise ValidationError([Problem("classes_from", f"no column {classes_from!r} in the log; its attributes are "
                                                       f"{', '.join(log.attributes) or 'none'}", log.source)])
    if not labels or (codes < 0).all():
        return np.zeros(len(log), dtype=np.int64), ("patient",)
    if (codes < 0).any():
        fallback = FALLBACK_CLASS
        while fallback in labels:  # a real class of that name keeps it
            fallback = f"{fallback}_"
        labels = [*labels, fallback]
        codes = np.where(codes < 0, len(labels) - 1, codes)
    return codes, tuple(labels)


def _censor(log: EventLog, replication: NDArray[np.int64]) -> NDArray[np.float64]:
    """For each log row, the last time seen in its replication."""
    times = np.fmax(np.fmax(log.scheduled, log.start), log.end)
    last = np.full(int(replication.max(initial=0)) + 1, -np.inf)
    ok = np.isfinite(times)
    np.maximum.at(last, replication[ok], times[ok])
    return last[replication]


def case_rows(log: EventLog, codes: NDArray[np.int64], replication: NDArray[np.int64] | None = None) -> Rows:
    """The rows of ``log`` in case and time order (ties keep the log's order), classed by ``codes``;
    ``replication`` gives each log row's replication (default: all one).

    Raises
    ------
    JourneySimError
        When every instance of the log was withdrawn (no visit to discover from).
    """
    first = np.fmin(log.scheduled, np.fmin(log.start, log.end))
    keep = ~log.withdrawn & np.isfinite(first)
    if not keep.any():
        raise JourneySimError(f"{log.source}: every one of the log's {len(log):,} activity instances was withdrawn "
                              "(rejected or left unseen): no visit to discover services, routing or capacities from")
    replication = np.zeros(len(log), dtype=np.int64) if replication is None else replication
    censor = _censor(log, replication)
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((first[idx], log.case[idx]))]
    case = log.case[idx].astype(np.int64)
    # a case takes the class of its first instance
    firsts = np.r_[True, case[1:] != case[:-1]]
    cls = codes[idx][firsts][np.cumsum(firsts) - 1]
    completion_only = not (np.isfinite(log.start).any() or np.isfinite(log.scheduled).any())
    return Rows(unit=log.activity[idx].astype(np.int64), case=case, cls=cls, first=first[idx],
                arrive=np.where(np.isfinite(log.scheduled[idx]), log.scheduled[idx], log.start[idx]),
                start=log.start[idx], end=log.end[idx], scheduled=log.scheduled[idx],
                has_next=np.r_[case[1:] == case[:-1], False], index=idx.astype(np.int64),
                rep=replication[idx], censor=censor[idx], completion_only=completion_only)


@dataclass(frozen=True, slots=True)
class Arrivals:
    """Every case's arrival: its first time, the unit of its first instance, its class, and whether it was
    turned away (all its instances withdrawn: rejected, left unseen), in case order."""

    time: NDArray[np.float64]
    unit: NDArray[np.int64]
    cls: NDArray[np.int64]
    case: NDArray[np.int64]
    turned_away: NDArray[np.bool_]
    row: NDArray[np.int64]          # the log row of the case's first instance


def arrivals(log: EventLog, codes: NDArray[np.int64]) -> Arrivals:
    """Each case's arrival (withdrawn instances included), classed by its first instance's code.

    A case's entry is its first instance that was not withdrawn (a case diverted from A to B enters at B,
    as the routing sees it), else, for a case turned away, its first instance.
    """
    first = np.fmin(log.scheduled, np.fmin(log.start, log.end))
    idx = np.flatnonzero(np.isfinite(first))
    idx = idx[np.lexsort((first[idx], log.withdrawn[idx], log.case[idx]))]  # per case, the kept rows first
    case = log.case[idx].astype(np.int64)
    heads = np.r_[True, case[1:] != case[:-1]] if case.size else np.zeros(0, bool)
    h = idx[heads]
    start = np.full(log.n_cases, np.inf)
    np.minimum.at(start, log.case[idx], first[idx])
    return Arrivals(time=start[case[heads]], unit=log.activity[h].astype(np.int64), cls=codes[h].astype(np.int64),
                    case=case[heads], turned_away=log.withdrawn[h].astype(bool), row=h.astype(np.int64))
