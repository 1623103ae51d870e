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
>>> training_part(log, 0.5).case_labels.tolist()  # the last ceil(0.5 x 3) = 2 cases by start are held out
['a']
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy.typing import NDArray

from ..errors import JourneySimError
from .logs import EventLog, Labelled
from .replications import end_to_end

__all__ = ["case_starts", "completion_only", "held_out", "select_cases", "training_part"]


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


def held_out(log: EventLog, holdout: float) -> NDArray[np.int64]:
    """The codes of the test part's cases: the last ``max(2, ceil(holdout x n_cases))`` by start (ties in code
    order), as :func:`journeysim.fidelity` holds them out; sorted. A log of several replications
    (``case:replication``) is ordered by start with its replications laid end to end
    (:func:`~journeysim.data.replications.end_to_end`), so the test part is the last replications' cases."""
    n_test = max(2, math.ceil(holdout * log.n_cases))
    order = np.argsort(case_starts(end_to_end(log).log), kind="stable")
    return np.sort(order[-n_test:]).astype(np.int64)


def check_holdout(holdout: float, name: str = "holdout") -> None:
    """Raise a JourneySimError unless ``holdout`` (a share of cases) is in (0, 1); ``name`` names it.

    >>> check_holdout(0.2)
    >>> check_holdout(1.0, "--holdout")
    Traceback (most recent call last):
    ...
    journeysim.errors.JourneySimError: --holdout: expected a share of cases between 0 and 1, got 1.0
    """
    if not 0 < holdout < 1:
        raise JourneySimError(f"{name}: expected a share of cases between 0 and 1, got {holdout!r}")


def training_part(log: EventLog, holdout: float) -> EventLog:
    """The log without its test part (:func:`held_out`): the cases a model is discovered from before a fidelity
    check with the same ``holdout`` measures it on the rest. Its ``source`` says so.

    Raises
    ------
    JourneySimError
        If ``holdout`` is not in (0, 1) or nothing would be left to discover from.

    Examples
    --------
    >>> import datetime as dt
    >>> nan = np.full(4, np.nan)
    >>> log = EventLog("x", dt.datetime(2026, 1, 5), np.arange(4, dtype=np.int32),
    ...                np.array(["a", "b", "c", "d"], object), np.zeros(4, np.int32), np.array(["ED"], object), nan,
    ...                np.array([0.0, 10, 20, 30]), np.array([5.0, 15, 25, 35]), np.zeros(4, bool),
    ...                np.full(4, -1, np.int32), np.array([], object), np.full(4, -1, np.int32),
    ...                np.array([], object), {}, np.arange(4), 4)
    >>> part = training_part(log, 0.5)
    >>> part.case_labels.tolist(), part.source
    (['a', 'b'], 'x (the 2 cases before the last 50%)')
    """
    check_holdout(holdout)
    keep = np.ones(log.n_cases, dtype=bool)
    keep[held_out(log, holdout)] = False
    if not keep.any():
        raise JourneySimError(f"holdout {holdout}: {log.source} has {log.n_cases} cases, none left to discover from")
    part = select_cases(log, np.flatnonzero(keep))
    return dataclasses.replace(part, source=f"{log.source} (the {part.n_cases:,} cases before the last {holdout:.0%})")


def completion_only(log: EventLog, at: str = "end") -> EventLog:
    """The log as an extract of completion times only would give it: no schedule or start times,
    and no instance that had not completed (nor a withdrawn one).

    With ``at="arrival"`` each instance's one time is its arrival (its schedule time, else its start) instead of
    its end, and an instance counts from its arrival: how a model discovered from a completion-only log reads
    (its visit to a unit begins at the unit's event in the log and lasts the gap to the next event).
    """
    if at == "arrival":
        arrival = np.where(np.isfinite(log.scheduled), log.scheduled, log.start)
        log = dataclasses.replace(log, end=arrival)
    elif at != "end":
        raise ValueError(f"at: 'end' or 'arrival', got {at!r}")
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
