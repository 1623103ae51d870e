"""The activity instances discovery works on: one row per visit, in case and time order.

:func:`case_rows` turns an :class:`~journeysim.data.logs.EventLog` into :class:`Rows`:
the non-withdrawn instances sorted by case and by the first time each has (schedule,
else start, else end), with each row's class (its case's first) and whether the next
row is the same case's. Every part of discovery reads these columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import Problem, ValidationError
from .logs import EventLog, Labelled

__all__ = ["Rows", "case_rows", "class_codes"]


@dataclass(frozen=True, slots=True)
class Rows:
    """The log's non-withdrawn instances in case and time order, with each row's class and next row.

    ``first`` is the time the case reached the unit: the schedule time, else the start,
    else (a completion-only log) the end. ``completion_only`` says the log has no
    schedule or start times at all.
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
        labels = [*labels, "unclassified"]
        codes = np.where(codes < 0, len(labels) - 1, codes)
    return codes, tuple(labels)


def case_rows(log: EventLog, codes: NDArray[np.int64]) -> Rows:
    """The rows of ``log`` in case and time order (ties keep the log's order), classed by ``codes``."""
    first = np.fmin(log.scheduled, np.fmin(log.start, log.end))
    keep = ~log.withdrawn & np.isfinite(first)
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
                completion_only=completion_only)
