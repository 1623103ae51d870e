"""A simulated replication's records as an :class:`~journeysim.data.logs.EventLog`.

The same log, instance for instance, that :func:`journeysim.read_log` reads from
``journeysim run --events`` (:func:`journeysim.write_event_log`, ``docs/event-logs.md``),
built from the records directly (no file, no pandas):

* each visit is an activity instance of its microsystem: ``scheduled`` its arrival,
  ``start`` when it was taken in, ``end`` when it left;
* each support request is an instance of the support microsystem: requested, started, ended;
* each unserved arrival (a queue rule turned it away) is a ``withdrawn`` instance:
  scheduled at its arrival, ended when the patient left.

:func:`instances` is that reading of the records, the one definition of an activity
instance of a simulation: :mod:`journeysim.outputs.eventlog` makes its ``schedule``,
``start``, ``complete`` and ``withdraw`` events from it.

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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..data.logs import EventLog
from ..errors import JourneySimError
from ..run.results import RunResult

__all__ = ["REQUEST", "SOURCES", "UNSERVED", "VISIT", "Instances", "instances", "simulated_log"]

#: The kinds of activity instance.
VISIT, REQUEST, UNSERVED = 0, 1, 2

#: Each record table that gives activity instances: its kind, table, and the columns of its
#: node, schedule, start (None: never started) and end times.
SOURCES: tuple[tuple[int, str, str, str, str | None, str], ...] = (
    (VISIT, "visits", "node", "arrival", "start", "end"),
    (REQUEST, "requests", "target", "requested", "start", "end"),
    (UNSERVED, "unserved", "node", "arrival", None, "end"),
)


@dataclass(frozen=True, slots=True)
class Instances:
    """The activity instances of journeys: the visits, then the support requests, then the
    unserved arrivals, each table in its own order (:data:`SOURCES` says which columns)."""

    kind: NDArray[np.int64]  # VISIT, REQUEST or UNSERVED
    journey: NDArray[np.int64]  # the tables' journey column (or the one named)
    node: NDArray[np.int64]  # the microsystem: a visit's or unserved arrival's, a request's support unit
    scheduled: NDArray[np.float64]  # arrival, or the time the request was made
    start: NDArray[np.float64]  # NaN: not started (an unserved arrival, or still waiting)
    end: NDArray[np.float64]  # NaN: not ended
    by: NDArray[np.int64]  # a request's requesting microsystem; -1 for the others

    def __len__(self) -> int:
        return len(self.kind)


def instances(tables: Mapping[str, Any], journey: str = "journey") -> Instances:
    """The :class:`Instances` of record tables (``visits``, ``requests``, ``unserved``: a
    replication's tables, or any columns of the same names), ``journey`` naming the column
    that says whose each row is."""
    kinds, journeys, nodes, scheduled, starts, ends, by = [], [], [], [], [], [], []
    for kind, name, node, sched, start, end in SOURCES:
        t = tables[name]
        n = len(t[journey])
        kinds.append(np.full(n, kind, dtype=np.int64))
        journeys.append(np.asarray(t[journey]))
        nodes.append(np.asarray(t[node]))
        scheduled.append(np.asarray(t[sched]))
        starts.append(np.full(n, np.nan) if start is None else np.asarray(t[start]))
        ends.append(np.asarray(t[end]))
        by.append(np.asarray(t["source"]) if kind == REQUEST else np.full(n, -1))

    def joined(parts: list[NDArray[Any]], dtype: type) -> NDArray[Any]:
        return np.concatenate(parts).astype(dtype)

    return Instances(kind=joined(kinds, np.int64), journey=joined(journeys, np.int64), node=joined(nodes, np.int64),
                     scheduled=joined(scheduled, np.float64), start=joined(starts, np.float64),
                     end=joined(ends, np.float64), by=joined(by, np.int64))


def simulated_log(result: RunResult, *, replication: int = 0, start: dt.datetime,
                  source: str = "simulated") -> EventLog:
    """The event log of one replication; simulated time 0 is ``start`` (a datetime)."""
    records = {rec.replication: rec for rec in result.records}
    if replication not in records:
        raise JourneySimError(f"replication {replication} has no records (records='full' keeps them; "
                              f"the result has {sorted(records) or 'none'})")
    rec = records[replication]
    inst = instances({"visits": rec.visits, "requests": rec.requests, "unserved": rec.unserved})
    journey, node, withdrawn = inst.journey, inst.node.astype(np.int32), inst.kind == UNSERVED
    scheduled, began, ended = inst.scheduled, inst.start, inst.end
    first = np.fmin(np.fmin(scheduled, began), ended)
    ok = np.flatnonzero(np.isfinite(first))
    journey, node, withdrawn = journey[ok], node[ok], withdrawn[ok]
    scheduled, began, ended, first = scheduled[ok], began[ok], ended[ok], first[ok]
    case, ids = _cases(journey, first)
    order = np.lexsort((np.arange(len(case)), first, case))
    j = rec.journeys
    by_journey = {int(x): i for i, x in enumerate(np.asarray(j["journey"]).tolist())}
    klass = np.asarray(j["class"])[[by_journey[int(x)] for x in ids]].astype(np.int32)
    n = len(order)
    return EventLog(
        source=source, origin=start, case=case[order].astype(np.int32),
        case_labels=np.array([f"r{replication}-j{x}" for x in ids.tolist()], dtype=object),
        activity=node[order], activity_labels=np.array(rec.visits.labels["node"], dtype=object),
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
