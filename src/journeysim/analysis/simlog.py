"""A simulated replication's records as an :class:`~journeysim.data.logs.EventLog`.

The same log, instance for instance, that :func:`journeysim.read_log` reads from
``journeysim run --events`` (:func:`journeysim.write_event_log`, ``docs/event-logs.md``),
built from the records directly (no file, no pandas):

* each visit is an activity instance of its microsystem: ``scheduled`` its arrival,
  ``start`` when it was taken in, ``end`` when it left;
* each support request is an instance of the support microsystem: requested, started, ended;
* each unserved arrival (a queue rule turned it away) is a ``withdrawn`` instance:
  scheduled at its arrival, ended when the patient left.

A case is a journey (``"r0-j17"``, as in the export); its class is the journey's.
``tests/test_fidelity.py`` checks that the two agree.

Examples
--------
>>> import journeysim as js
>>> model = js.Model([js.Microsystem("Clinic", capacity=1, service=js.Exponential(8))],
...                  classes=[js.PatientClass("all", entry="Clinic", rate=0.1)])
>>> log = simulated_log(js.simulate(model, horizon=600, seed=3), start=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
>>> log.activity_labels.tolist(), bool((log.start >= log.scheduled).all())
(['Clinic'], True)
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from numpy.typing import NDArray

from ..data.logs import EventLog
from ..errors import JourneySimError
from ..run.results import RunResult

__all__ = ["simulated_log"]


def simulated_log(result: RunResult, *, replication: int = 0, start: dt.datetime,
                  source: str = "simulated") -> EventLog:
    """The event log of one replication; simulated time 0 is ``start`` (a datetime)."""
    records = {rec.replication: rec for rec in result.records}
    if replication not in records:
        raise JourneySimError(f"replication {replication} has no records (records='full' keeps them; "
                              f"the result has {sorted(records) or 'none'})")
    rec = records[replication]
    v, r, u, j = rec.visits, rec.requests, rec.unserved, rec.journeys
    journey = np.concatenate([v["journey"], r["journey"], u["journey"]]).astype(np.int64)
    node = np.concatenate([v["node"], r["target"], u["node"]]).astype(np.int32)
    scheduled = np.concatenate([v["arrival"], r["requested"], u["arrival"]]).astype(np.float64)
    began = np.concatenate([v["start"], r["start"], np.full(len(u), np.nan)]).astype(np.float64)
    ended = np.concatenate([v["end"], r["end"], u["end"]]).astype(np.float64)
    withdrawn = np.r_[np.zeros(len(v) + len(r), dtype=bool), np.ones(len(u), dtype=bool)]
    first = np.fmin(np.fmin(scheduled, began), ended)
    ok = np.flatnonzero(np.isfinite(first))
    journey, node, withdrawn = journey[ok], node[ok], withdrawn[ok]
    scheduled, began, ended, first = scheduled[ok], began[ok], ended[ok], first[ok]
    case, ids = _cases(journey, first)
    order = np.lexsort((np.arange(len(case)), first, case))
    by_journey = {int(x): i for i, x in enumerate(np.asarray(j["journey"]).tolist())}
    klass = np.asarray(j["class"])[[by_journey[int(x)] for x in ids]].astype(np.int32)
    n = len(order)
    return EventLog(
        source=source, origin=start, case=case[order].astype(np.int32),
        case_labels=np.array([f"r{replication}-j{x}" for x in ids.tolist()], dtype=object),
        activity=node[order], activity_labels=np.array(v.labels["node"], dtype=object),
        scheduled=scheduled[order], start=began[order], end=ended[order], withdrawn=withdrawn[order],
        class_=klass[case[order]], class_labels=np.array(j.labels["class"], dtype=object),
        resource=np.full(n, -1, dtype=np.int32), resource_labels=np.array([], dtype=object), attributes={},
        line=np.arange(1, n + 1, dtype=np.int64), n_events=n)


def _cases(journey: NDArray[np.int64], first: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Case codes numbered in order of each journey's first time, and the journey of each code."""
    ids, inverse = np.unique(journey, return_inverse=True)
    earliest = np.full(len(ids), np.inf)
    np.minimum.at(earliest, inverse, first)
    rank = np.empty(len(ids), dtype=np.int64)
    by_time = np.lexsort((ids, earliest))
    rank[by_time] = np.arange(len(ids))
    return rank[inverse], ids[by_time]
