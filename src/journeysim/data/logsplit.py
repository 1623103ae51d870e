"""Parts of an event log: its cases' start times, a subset of its cases, a chronological split.

Examples
--------
>>> import datetime as dt
>>> nan = np.full(4, np.nan)
>>> log = EventLog("x", dt.datetime(2026, 1, 5), np.array([0, 0, 1, 2], np.int32), np.array(["a", "b", "c"], object),
...                np.array([0, 1, 0, 0], np.int32), np.array(["ED", "Ward"], object), nan,
...                np.array([0.0, 10, 5, 30]), np.array([5.0, 20, 9, 40]), np.zeros(4, bool),
...                np.full(4, -1, np.int32), np.array([], object), np.full(4, -1, np.int32), np.array([], object), {},
...                np.arange(4), 4)
>>> case_starts(log).tolist()
[0.0, 5.0, 30.0]
>>> later = select_cases(log, np.array([1, 2]))
>>> later.n_cases, later.case.tolist(), later.case_labels.tolist()
(2, [0, 1], ['b', 'c'])
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from .logs import EventLog, Labelled

__all__ = ["case_starts", "completion_only", "select_cases"]


def case_starts(log: EventLog) -> NDArray[np.float64]:
    """Each case's first time (schedule, start or end), in minutes from the log's origin."""
    first = np.fmin(np.fmin(log.scheduled, log.start), log.end)
    out = np.full(log.n_cases, np.inf)
    np.minimum.at(out, log.case, np.where(np.isfinite(first), first, np.inf))
    return out


def select_cases(log: EventLog, cases: NDArray[np.int64]) -> EventLog:
    """The log of only these cases (codes), renumbered in order of their code; the origin is kept."""
    keep = np.zeros(log.n_cases, dtype=bool)
    keep[np.asarray(cases, dtype=np.int64)] = True
    new = np.cumsum(keep) - 1
    rows = np.flatnonzero(keep[log.case])
    out = _take(log, rows)
    return dataclasses.replace(out, case=new[log.case[rows]].astype(np.int32), case_labels=log.case_labels[keep],
                               n_events=len(rows), warnings=())


def completion_only(log: EventLog) -> EventLog:
    """The log as an extract of completion times only would give it: no schedule or start times,
    and no instance that had not completed (nor a withdrawn one)."""
    rows = np.flatnonzero(np.isfinite(log.end) & ~log.withdrawn)
    rows = rows[np.lexsort((log.end[rows], log.case[rows]))]
    nan = np.full(len(rows), np.nan)
    out = dataclasses.replace(_take(log, rows), scheduled=nan, start=nan.copy(), n_events=len(rows), warnings=())
    return select_cases(out, np.unique(out.case).astype(np.int64))


def _take(log: EventLog, rows: NDArray[np.int64]) -> EventLog:
    """The log's instances at ``rows``, in that order (cases and their labels unchanged)."""
    attributes = {name: Labelled(col.codes[rows], col.labels) if isinstance(col, Labelled) else col[rows]
                  for name, col in log.attributes.items()}
    return dataclasses.replace(
        log, case=log.case[rows], activity=log.activity[rows], scheduled=log.scheduled[rows], start=log.start[rows],
        end=log.end[rows], withdrawn=log.withdrawn[rows], class_=log.class_[rows], resource=log.resource[rows],
        attributes=attributes, line=log.line[rows])
