"""Event logs for process mining: every simulated journey as a case of timed events.

:func:`event_log` turns the records of a :class:`~journeysim.run.results.RunResult`
into one pandas DataFrame in the process-mining convention (the XES attribute names
that pm4py, ProM, Disco and Celonis read); :func:`write_event_log` writes it as CSV
or as an IEEE 1849-2016 XES file. Every column is documented in :data:`COLUMNS`
and in ``docs/event-logs.md``.

* A **case** is one journey of one replication (``"r0-j17"``). Every journey in
  the records is a case, those that arrived during the warm-up too (they are
  simulated and kept in the records; ``case:warmup`` marks them).
* An **activity** is a microsystem: a clinical microsystem the patient visited,
  or a support microsystem (lab, radiology...) that served one of the visit's
  requests.
* Each visit and each request gives three events of the XES standard lifecycle:
  ``schedule`` when the patient (or the request) arrives at the microsystem,
  ``start`` when a server (bed, team) takes it, and ``complete`` when it leaves
  (the visit's ``end``: the bed is free) or is finished (the request's ``end``).
* Where the model has queue rules (:mod:`journeysim.model.queues`), an arrival that
  ended without a visit (a row of the ``unserved`` records: rejected, diverted,
  balked or reneged) gives two: ``schedule`` at its arrival and ``withdraw`` (the
  standard lifecycle's transition for an activity withdrawn before it started) when
  the patient left; both carry how in the ``unserved`` column
  (:data:`UNSERVED_COLUMN`), which only the logs of such models have.
* A defect is counted on the ``complete`` event of the microsystem that made it:
  a microsystem's own defects on its visit or service, a handoff's defects on the
  sending visit (named ``"ED->CathLab:information"``), a request's information or
  services defects on the support microsystem's service (``"ED=>Lab:services"``);
  a queue rule's (``rejected``, ``diverted``, ``left_unseen``) on the ``withdraw``
  event of the arrival it turned away.
  A missed timeliness standard belongs to the whole journey: ``case:missed`` and
  ``case:standards_missed``.
* Where the model has named exits (:mod:`journeysim.model.exits`), each case also
  carries ``case:outcome``, the exit its journey took; other logs are unchanged.
* Timestamps are UTC: ``start`` (a calendar date, midnight UTC) plus the simulated
  minutes, to the millisecond. Simulated time 0 is a Monday 00:00 for arrival
  profiles and weekly schedules, so the default ``start``, :data:`DEFAULT_START`, is
  a Monday; give another Monday for the weekdays of the log to match the scenario's week.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.analysis.result import simulate
>>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8))],
...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
>>> res = simulate(model, horizon=600, replications=2, seed=3)
>>> log = event_log(res, start="2026-01-05")
>>> log["case:concept:name"].nunique() == len(res.journeys())
True
>>> log[["concept:name", "lifecycle:transition"]].head(3).values.tolist()
[['Clinic', 'schedule'], ['Clinic', 'start'], ['Clinic', 'complete']]
>>> str(log["time:timestamp"].min().date())
'2026-01-05'
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .._version import __version__
from ..analysis.simlog import REQUEST, SOURCES, UNSERVED, VISIT, instances
from ..engine.records import FIELDS, Records
from ..errors import JourneySimError, SimulationError
from ..model._frozen import FrozenMap
from ..model.clock import DEFAULT_START
from ..model.kinds import HANDOFF_KINDS, REQUEST_KINDS
from ..run.files import output_problems, write_atomic
from ..run.results import RunResult
from .logformats import Coded, Column, LogColumns, write_csv, write_xes

__all__ = ["COLUMNS", "OUTCOME_COLUMN", "UNSERVED_COLUMN", "DEFAULT_START", "LIFECYCLE", "SUFFIXES",
           "calendar_start", "check_event_log_path", "event_log", "write_event_log"]

#: A calendar start: an ISO 8601 date (``"2026-01-05"``) or date-time string, a
#: :class:`datetime.date` or :class:`datetime.datetime` (a pandas Timestamp is one),
#: or a :class:`numpy.datetime64`.
DateLike = str | dt.date | np.datetime64

#: Named columns of a record table, as numpy arrays.
Columns = dict[str, NDArray[Any]]

#: The XES standard lifecycle transitions used: those of a visit or request in the order they happen,
#: then ``withdraw``, which follows ``schedule`` instead of ``start`` for an arrival the queue rules turned away.
LIFECYCLE: tuple[str, ...] = ("schedule", "start", "complete", "withdraw")

#: File suffixes :func:`write_event_log` understands.
SUFFIXES: tuple[str, ...] = (".csv", ".xes", ".xes.gz")

#: What every column of the event log means.
COLUMNS: Mapping[str, str] = FrozenMap(
    {
        "case:concept:name": "Case id: the journey, unique across replications, as 'r<replication>-j<journey>'.",
        "concept:name": "Activity: the microsystem (clinical, visited; or support, serving a request).",
        "time:timestamp": "When the event happened: the calendar start plus the simulated minutes, UTC, "
        "to the millisecond.",
        "lifecycle:transition": "'schedule' (arrived at the microsystem), 'start' (a server took it) or "
        "'complete' (left the microsystem, or the request was done); 'withdraw' (left without a visit: "
        "turned away by the queue rules) in logs of models with queue rules.",
        "org:resource": "The microsystem's team that did the work (its name).",
        "requested_by": "For a support microsystem's events: the clinical microsystem whose visit made the "
        "request; empty for visits.",
        "defects": "Defects made at this event (on 'complete' and 'withdraw' events only; 0 otherwise): the "
        "microsystem's own, and those of the handoff or request result it sent on; on 'withdraw', the queue "
        "rule's.",
        "defect": "Their names joined by ';': a microsystem's defect name (or a queue rule's: 'rejected', "
        "'diverted', 'left_unseen'), 'source->target:kind' for a handoff, 'source=>support:kind' for a "
        "request's result; empty without defects.",
        "case:class": "Patient class of the journey.",
        "case:replication": "Replication the journey belongs to.",
        "case:journey": "Journey id within its replication.",
        "case:defect_free": "True iff the journey had no defect at all (a missed standard is one); False for "
        "a journey still in progress at the horizon of a run that stops there (not judged).",
        "case:defects": "Defects of the journey: the sum of its events' 'defects' plus 'case:missed'.",
        "case:missed": "Timeliness standards the journey missed.",
        "case:standards_missed": "Their names joined by ';'; empty if none was missed.",
        "case:warmup": "True if the journey arrived during the warm-up (simulated, but left out of every "
        "statistic of the summary).",
    }
)

#: The column added after :data:`COLUMNS` when a journey can end in more than one outcome
#: (the model has named exits); without them the log is as before.
OUTCOME_COLUMN: Mapping[str, str] = FrozenMap(
    {"case:outcome": "How the journey ended: the named exit it took (e.g. 'death'), or 'discharged', the "
                     "default exit (only in logs of models with named exits)."}
)

#: The event column inserted after ``defect`` when the model has queue rules (a queue limit, patience or
#: balking); without them the log is as before.
UNSERVED_COLUMN: Mapping[str, str] = FrozenMap(
    {"unserved": "For both events of an arrival that ended without a visit (its 'schedule' and 'withdraw'): "
                 "how, 'rejected', 'diverted', 'balked' or 'reneged' (the unserved records' 'ended'); empty "
                 "for visits and requests (only in logs of models with queue rules)."}
)

# order of events that share a timestamp within one visit: the visit's schedule and
# start, its requests' schedule, start and complete, then the visit's complete
_V_SCHEDULE, _V_START, _R_SCHEDULE, _R_START, _R_COMPLETE, _V_COMPLETE = range(6)
_WITHDRAW = LIFECYCLE.index("withdraw")
_MS_PER_MINUTE = 60_000
_NS_PER_MS = 1_000_000


def calendar_start(start: DateLike) -> pd.Timestamp:
    """The UTC instant of simulated time 0 from a date or date-time.

    A date or a date-time without a time zone is taken as UTC; one with a time zone
    is converted to UTC.

    Parameters
    ----------
    start : str, datetime.date, datetime.datetime, pandas.Timestamp or numpy.datetime64
        Strings are ISO 8601: ``"2026-01-05"``, ``"2026-01-05T08:00"``, ``"2026-01-05 08:00+01:00"``.

    Returns
    -------
    pandas.Timestamp
        Time-zone aware (UTC), nanosecond resolution.

    Raises
    ------
    JourneySimError
        If ``start`` is not a date.

    Examples
    --------
    >>> calendar_start("2026-01-05")
    Timestamp('2026-01-05 00:00:00+0000', tz='UTC')
    >>> calendar_start("2026-01-05T09:00+01:00").hour
    8
    >>> calendar_start("2026-02-30")
    Traceback (most recent call last):
    ...
    journeysim.errors.JourneySimError: start: expected a calendar date such as '2026-01-05' (ISO 8601), got '2026-02-30'
    """
    value: Any = start  # a caller without type checking may pass anything: checked here
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            value = None
    elif isinstance(value, (bool, int, float)) or not isinstance(value, (dt.date, np.datetime64)):
        value = None
    try:
        ts = None if value is None else pd.Timestamp(value)
    except (ValueError, OverflowError):
        ts = None
    if ts is None or pd.isna(ts):
        raise JourneySimError(f"start: expected a calendar date such as '2026-01-05' (ISO 8601), got {start!r}")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    try:
        return ts.as_unit("ns")
    except (ValueError, OverflowError):  # pandas' OutOfBoundsDatetime: nanosecond timestamps end in 1677 and 2262
        raise JourneySimError(f"start: {start!r} is outside {pd.Timestamp.min:%Y-%m-%d} to "
                              f"{pd.Timestamp.max:%Y-%m-%d}, the range of the event log's timestamps") from None


def event_log(
    result: RunResult,
    *,
    start: DateLike = DEFAULT_START,
    replications: int | Iterable[int] | None = None,
) -> pd.DataFrame:
    """Every journey of a result as a process-mining event log.

    Parameters
    ----------
    result : RunResult
        A result with records (``records="full"``, the default of :func:`~journeysim.simulate`).
    start : str, date, datetime or pandas.Timestamp, default DEFAULT_START (Monday 2026-01-05)
        Calendar date (or date-time) of simulated time 0 (see :func:`calendar_start`).
    replications : int or iterable of int, optional
        Only these replications (default: all).

    Returns
    -------
    pandas.DataFrame
        One row per event, with the columns of :data:`COLUMNS` in that order (then
        :data:`OUTCOME_COLUMN`, ``case:outcome``, where the model has named exits), sorted by
        case (replication, then journey) and time; events at the same time keep the
        order they happened in (``schedule`` < ``start`` < ``complete``, a visit's
        ``complete`` before the next visit's ``schedule``).

    Raises
    ------
    JourneySimError
        If the result kept no records (summary mode), ``start`` is not a date, or a
        replication is unknown.

    Examples
    --------
    >>> from journeysim.model.distributions import Fixed
    >>> from journeysim.model.elements import Handoff, Microsystem, PatientClass
    >>> from journeysim.model.mesosystem import Model
    >>> from journeysim.analysis.result import simulate
    >>> model = Model([Microsystem("A", service=Fixed(10), defect=1.0), Microsystem("B", service=Fixed(5))],
    ...               [Handoff("A", "B", defects={"information": 1.0})],
    ...               classes=[PatientClass("p", entry="A", rate=0.01)])
    >>> log = event_log(simulate(model, horizon=150, seed=1))
    >>> first = log[log["case:journey"] == 0]
    >>> first[["concept:name", "lifecycle:transition", "defects"]].values.tolist()
    [['A', 'schedule', 0], ['A', 'start', 0], ['A', 'complete', 2],
     ['B', 'schedule', 0], ['B', 'start', 0], ['B', 'complete', 0]]
    >>> first["defect"].dropna().tolist()
    ['defect;A->B:information']
    """
    columns = _columns(result, calendar_start(start), replications)
    return pd.DataFrame({name: _values(c) for name, c in columns.items()})


def _columns(result: RunResult, origin: pd.Timestamp, replications: int | Iterable[int] | None) -> LogColumns:
    """The columns of :func:`event_log`, names kept once (:class:`~journeysim.outputs.logformats.Coded`)."""
    records = _selected(result, replications)
    j, v, h, r, d, u = _tables(records)
    sender = _sending_visit(v, h)
    asked_by = _requesting_visit(v, r)
    v_seq, u_seq = _arrival_order(v, u)
    ev = _events(v, r, u, asked_by, v_seq, u_seq)
    n_events = len(ev["row"])
    u_defects = _unserved_defects(result, records[0], u)
    defects, defect = _event_defects(records[0], v, h, r, d, u, sender, (v_seq, u_seq, u_defects), n_events)
    happened = np.isfinite(ev["minutes"])
    if not happened.all():  # a run that stopped at the horizon: what had not happened there has no event
        ev = {k: a[happened] for k, a in ev.items()}
        defects, defect = defects[happened], defect[happened]
    standard = d["element_type"] == 3
    element_labels = np.array(records[0].defects.labels["element"], dtype=object)
    missed_names = _joined(d["row"][standard], element_labels[d["element"][standard]], len(j["key"]))
    warmup = np.array([rec.warmup for rec in records])[np.searchsorted([rec.replication for rec in records],
                                                                      j["replication"])]

    ms = np.rint(ev["minutes"] * _MS_PER_MINUTE).astype(np.int64)
    order = np.lexsort((ev["phase"], ev["seq"], ms, ev["row"]))
    row, node, by = ev["row"][order], ev["node"][order], ev["by"][order]
    case_ids = np.array([f"r{a}-j{b}" for a, b in zip(j["replication"].tolist(), j["journey"].tolist())],
                        dtype=object)
    node_names = np.array(records[0].visits.labels["node"], dtype=object)
    classes = np.array(records[0].journeys.labels["class"], dtype=object)
    activity = Coded(node_names, node)
    outcomes = np.array(records[0].journeys.labels["outcome"], dtype=object)
    columns: LogColumns = {
        "case:concept:name": Coded(case_ids, row),
        "concept:name": activity,
        "time:timestamp": _timestamps(origin, ms[order]),
        "lifecycle:transition": Coded(np.array(LIFECYCLE, dtype=object), ev["lifecycle"][order]),
        "org:resource": activity,
        "requested_by": Coded(node_names, by),
        "defects": defects[order],
        "defect": defect[order],
        **({"unserved": Coded(np.array(records[0].unserved.labels["ended"], dtype=object), ev["ended"][order])}
           if result.scenario.model.has_queue_rules else {}),
        "case:class": Coded(classes, j["class"][row]),
        "case:replication": j["replication"][row],
        "case:journey": j["journey"][row],
        "case:defect_free": ((j["defects"] == 0) & np.isfinite(j["end"]))[row],
        "case:defects": j["defects"][row],
        "case:missed": j["missed"][row],
        "case:standards_missed": Coded(missed_names, row),
        "case:warmup": (j["arrival"] < warmup)[row],
        **_attribute_columns(records[0], j, row),
    }
    if len(outcomes) > 1:
        columns["case:outcome"] = Coded(outcomes, j["outcome"][row])
    return columns


def _attribute_columns(first: Records, j: Columns, row: NDArray[np.int64]) -> LogColumns:
    """``case:NAME`` for each patient attribute (none for a model without attributes): a category's value
    (empty where the journey's class has none), numbers and yes/no (1.0/0.0) as floats."""
    labels = first.journeys.labels
    out: LogColumns = {}
    for name in (c for c in first.journeys if c not in FIELDS["journeys"]):
        if name in labels:
            out[f"case:{name}"] = Coded(np.array(labels[name], dtype=object), j[name][row])
        else:
            out[f"case:{name}"] = j[name][row]
    return out


def _values(column: Column) -> Any:
    """A column as the DataFrame holds it: names in full (``None`` where missing), timestamps UTC."""
    if isinstance(column, Coded):
        return column.values()
    if column.dtype.kind == "M":
        return pd.to_datetime(column, utc=True)
    return column


def write_event_log(
    result: RunResult,
    path: str | os.PathLike[str],
    *,
    start: DateLike = DEFAULT_START,
    replications: int | Iterable[int] | None = None,
) -> Path:
    """Write every journey of a result as an event log, in the format its suffix names.

    ``.csv``: the DataFrame of :func:`event_log`, timestamps in ISO 8601
    (``2026-01-05T08:30:00.000+00:00``). ``.xes`` (``.xes.gz`` gzipped): IEEE 1849-2016
    XES with the Concept, Time, Lifecycle and Organizational extensions, one ``<trace>``
    per case carrying the ``case:`` attributes (without the prefix) and one ``<event>``
    per row. The file is written beside its target and renamed, so a failure never
    leaves a partial file; it gets the permissions of the umask, like any new file.

    Parameters
    ----------
    result : RunResult
    path : str or path-like
        Ends in one of :data:`SUFFIXES`.
    start, replications
        As for :func:`event_log`.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    JourneySimError
        For another suffix, a directory that does not exist or cannot be written
        in (see :func:`check_event_log_path`), and as :func:`event_log`.

    Examples
    --------
    >>> import tempfile, xml.etree.ElementTree as ET
    >>> from journeysim.model.distributions import Exponential
    >>> from journeysim.model.elements import Microsystem, PatientClass
    >>> from journeysim.model.mesosystem import Model
    >>> from journeysim.analysis.result import simulate
    >>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8))],
    ...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
    >>> res = simulate(model, horizon=300, seed=3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_event_log(res, Path(tmp) / "clinic.xes")
    ...     root = ET.parse(out).getroot()
    >>> root.tag, root.get("xes.version"), len(root.findall("trace")) == len(res.journeys())
    ('log', '1849-2016', True)
    """
    target = Path(path)
    suffix = check_event_log_path(target)
    columns = _columns(result, calendar_start(start), replications)
    if suffix == ".csv":
        return write_atomic(target, lambda raw: write_csv(columns, raw))
    p = result.provenance
    about = (("string", "concept:name", result.scenario.name),
             ("string", "lifecycle:model", "standard"),
             ("string", "generator", f"journeysim {__version__}"),
             ("int", "seed", str(p.seed)),
             ("float", "horizon_minutes", repr(float(p.horizon))),
             ("float", "warmup_minutes", repr(float(p.warmup))))
    if suffix == ".xes":
        return write_atomic(target, lambda raw: write_xes(columns, raw, about))

    def zipped(raw: IO[bytes]) -> None:
        with gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0) as fh:
            write_xes(columns, fh, about)

    return write_atomic(target, zipped)


def check_event_log_path(path: str | os.PathLike[str]) -> str:
    """The format suffix of an event-log path, or a :class:`JourneySimError` saying what is wrong.

    Checks what can be checked before a simulation runs: the suffix, that the
    directory exists and can be written in, and that the path is not a directory.
    Every problem found is given, one per line.

    Examples
    --------
    >>> check_event_log_path("runs.XES.gz")
    '.xes.gz'
    >>> check_event_log_path("runs.json")
    Traceback (most recent call last):
    ...
    journeysim.errors.JourneySimError: event log runs.json: unknown format;
    the file name must end in .csv, .xes or .xes.gz
    """
    target = Path(path)
    name = target.name.lower()
    suffix = next((s for s in sorted(SUFFIXES, key=len, reverse=True) if name.endswith(s) and name != s), None)
    problems = output_problems(target, "the event log")
    if suffix is None:
        problems.insert(0, f"event log {target}: unknown format; the file name must end in "
                        f"{', '.join(SUFFIXES[:-1])} or {SUFFIXES[-1]}")
    if problems or suffix is None:
        raise JourneySimError("\n".join(problems))
    return suffix


# -- building the log


def _selected(result: RunResult, replications: int | Iterable[int] | None) -> list[Records]:
    """The records of the chosen replications, in replication order."""
    if not result.records:
        raise JourneySimError(
            "this result kept no records (summary mode), so it has no journeys to export as an event log; "
            "run with records='full' (the command line's --records full)"
        )
    if replications is None:
        return sorted(result.records, key=lambda rec: rec.replication)
    wanted = [replications] if isinstance(replications, (int, np.integer)) else list(replications)
    by_index = {rec.replication: rec for rec in result.records}
    unknown = [x for x in wanted if x not in by_index]
    if unknown or not wanted:
        raise JourneySimError(f"replications: expected some of {sorted(by_index)}, got {wanted!r}")
    return [by_index[x] for x in sorted(set(wanted))]


def _concat(records: Sequence[Records], table: str, columns: Sequence[str]) -> Columns:
    """Columns of one table across replications, with a ``replication`` column."""
    tables = [getattr(rec, table) for rec in records]
    out = {name: np.concatenate([t[name] for t in tables]) for name in columns}
    out["replication"] = np.repeat(np.array([rec.replication for rec in records], dtype=np.int64),
                                   [len(t) for t in tables])
    return out


def _tables(records: Sequence[Records]) -> tuple[Columns, Columns, Columns, Columns, Columns, Columns]:
    """The journeys, visits, handoffs, requests, defects and unserved arrivals used, each sorted by journey.

    Each gets a ``key`` column (one integer per journey of any replication); all but the
    journeys also get ``row``, the row of their journey. The sort is stable, so within a
    journey the rows keep the order of the records: the order things happened in.
    """
    attributes = [c for c in records[0].journeys if c not in FIELDS["journeys"]]
    j = _concat(records, "journeys", ("journey", "class", "arrival", "end", "defects", "missed", "outcome",
                                      *attributes))
    order = np.lexsort((j["journey"], j["replication"]))
    j = {k: a[order] for k, a in j.items()}
    stride = int(j["journey"].max()) + 1 if len(order) else 1
    j["key"] = j["replication"] * stride + j["journey"]
    others = (
        ("visits", ("journey", "node", "arrival", "start", "end", "defects")),
        ("handoffs", ("journey", "handoff", "source", "depart", *HANDOFF_KINDS)),
        ("requests", ("journey", "request", "source", "target", "requested", "start", "end", "support_defects",
                      *REQUEST_KINDS)),
        ("defects", ("journey", "time", "element", "element_type", "defect")),
        ("unserved", ("journey", "node", "arrival", "end", "ended")),
    )
    out = [j]
    for table, columns in others:
        t = _concat(records, table, columns)
        key = t["replication"] * stride + t["journey"]
        order = np.argsort(key, kind="stable")
        t = {k: a[order] for k, a in t.items()}
        t["key"] = key[order]
        t["row"] = np.searchsorted(j["key"], t["key"])
        if len(order) and (t["row"].max() >= len(j["key"]) or not np.array_equal(j["key"][t["row"]], t["key"])):
            raise SimulationError(f"inconsistent records: a row of {table} refers to a journey that is not recorded")
        out.append(t)
    return out[0], out[1], out[2], out[3], out[4], out[5]


def _sending_visit(v: Columns, h: Columns) -> NDArray[np.int64]:
    """Index of the visit each handoff leaves from: the k-th handoff of a journey leaves its k-th visit."""
    nth = np.arange(len(h["key"])) - np.searchsorted(h["key"], h["key"])
    sender = np.searchsorted(v["key"], h["key"]) + nth
    if (sender >= len(v["key"])).any() or not (
        np.array_equal(v["key"][sender], h["key"]) and np.array_equal(v["node"][sender], h["source"])
        and np.array_equal(v["end"][sender], h["depart"])
    ):
        raise SimulationError("inconsistent records: a handoff does not leave from the visit before it")
    return sender


def _requesting_visit(v: Columns, r: Columns) -> NDArray[np.int64]:
    """Index of the visit that made each request: same journey and microsystem, started when it was made."""
    if not len(r["key"]):
        return np.zeros(0, dtype=np.int64)
    started = np.flatnonzero(np.isfinite(v["start"]))  # a visit still waiting at a stopped run's horizon made none
    visits = pd.DataFrame({"key": v["key"][started], "node": v["node"][started], "time": v["start"][started],
                           "visit": started})
    asked = pd.DataFrame({"key": r["key"], "node": r["source"], "time": r["requested"],
                          "request": np.arange(len(r["key"]))})
    found = pd.merge_asof(asked.sort_values("time", kind="stable"), visits.sort_values("time", kind="stable"),
                          on="time", by=["key", "node"], direction="backward").sort_values("request")
    visit = found["visit"].to_numpy(dtype=float)
    if np.isnan(visit).any() or not np.array_equal(v["start"][visit.astype(np.int64)], r["requested"]):
        raise SimulationError("inconsistent records: a request was not made at the start of a visit")
    return visit.astype(np.int64)


def _arrival_order(v: Columns, u: Columns) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The place of each visit and of each unserved arrival among the arrivals of its journey.

    A journey's arrivals at microsystems follow one another: each ends (a visit's
    ``end``, an unserved row's) before the next arrives, so arrival then end puts them
    in order, and each table keeps its own order where both tie. A tie between a visit
    and an unserved arrival that both took no time at all (only possible with zero
    service and zero travel) puts the unserved one first: diverted, then seen at once.
    """
    n_v = len(v["key"])
    if not len(u["key"]):
        return np.arange(n_v) - np.searchsorted(v["key"], v["key"]), np.zeros(0, dtype=np.int64)
    key = np.concatenate([v["key"], u["key"]])
    visit = np.r_[np.ones(n_v, dtype=np.int64), np.zeros(len(u["key"]), dtype=np.int64)]
    order = np.lexsort((np.arange(len(key)), visit, np.concatenate([v["end"], u["end"]]),
                        np.concatenate([v["arrival"], u["arrival"]]), key))
    place = np.empty(len(key), dtype=np.int64)
    place[order] = np.arange(len(key)) - np.searchsorted(key[order], key[order])
    return place[:n_v], place[n_v:]


def _events(v: Columns, r: Columns, u: Columns, asked_by: NDArray[np.int64], v_seq: NDArray[np.int64],
            u_seq: NDArray[np.int64]) -> Columns:
    """The events of the activity instances (:func:`journeysim.analysis.simlog.instances`), unsorted:
    visits' schedule, start and complete, then requests' the same, then unserved arrivals' schedule and
    withdraw.

    ``seq`` (the visit's or unserved arrival's place in its journey, from :func:`_arrival_order`;
    a request's is its visit's) and ``phase`` order the events that share a timestamp.
    """
    inst = instances({"visits": v, "requests": r, "unserved": u}, journey="row")
    seq = np.concatenate([v_seq, v_seq[asked_by], u_seq])
    ended = np.concatenate([np.full(len(v["key"]) + len(r["key"]), -1), u["ended"]])
    complete = (inst.end, _V_COMPLETE, LIFECYCLE.index("complete"))
    steps = {VISIT: ((inst.scheduled, _V_SCHEDULE, 0), (inst.start, _V_START, 1), complete),
             REQUEST: ((inst.scheduled, _R_SCHEDULE, 0), (inst.start, _R_START, 1), (inst.end, _R_COMPLETE, 2)),
             UNSERVED: ((inst.scheduled, _V_SCHEDULE, 0), (inst.end, _V_COMPLETE, _WITHDRAW))}
    blocks = [(np.flatnonzero(inst.kind == kind), *step) for kind, _, *_ in SOURCES for step in steps[kind]]
    at = np.concatenate([b[0] for b in blocks])
    counts = [len(b[0]) for b in blocks]
    return {
        "row": inst.journey[at],
        "minutes": np.concatenate([times[idx] for idx, times, _, _ in blocks]),
        "node": inst.node[at],
        "by": inst.by[at],
        "seq": seq[at],
        "phase": np.repeat(np.array([phase for *_, phase, _ in blocks]), counts),
        "lifecycle": np.repeat(np.array([life for *_, life in blocks]), counts),
        "ended": ended[at],
    }


def _unserved_defects(result: RunResult, first: Records, u: Columns) -> NDArray[np.int64]:
    """The journey defects each unserved arrival made (0 or 1): ``rejected`` or ``diverted`` where the
    microsystem's ``full_is_defect`` names it; ``left_unseen`` for every one that balked or reneged."""
    model = result.scenario.model
    ended = first.unserved.labels["ended"]
    defect = np.array([[how in ("balked", "reneged") or how in model.microsystem(name).full_is_defect
                        for how in ended] for name in first.unserved.labels["node"]], dtype=np.int64)
    return defect[u["node"], u["ended"]] if len(u["key"]) else np.zeros(0, dtype=np.int64)


def _event_defects(
    rec: Records, v: Columns, h: Columns, r: Columns, d: Columns, u: Columns, sender: NDArray[np.int64],
    clinical: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]], n_events: int,
) -> tuple[NDArray[np.int64], NDArray[Any]]:
    """Count and ';'-joined names of the defects of each event (in the order of :func:`_events`).

    Every defect goes on the complete event of the microsystem that made it: its own,
    on its visit or service; a handoff's, on the sending visit; a request's result's,
    on the support microsystem's service. A queue rule's defect goes on the withdraw
    event of the arrival it turned away. ``clinical`` holds the places of the visits and
    unserved arrivals in their journeys (:func:`_arrival_order`) and the defects each
    unserved arrival made (:func:`_unserved_defects`).
    """
    n_v, n_r, n_u = len(v["key"]), len(r["key"]), len(u["key"])
    v_complete = 2 * n_v + np.arange(n_v)
    r_complete = 3 * n_v + 2 * n_r + np.arange(n_r)
    u_withdraw = 3 * (n_v + n_r) + n_u + np.arange(n_u)
    v_seq, u_seq, u_defects = clinical
    defect_labels = np.array(rec.defects.labels["defect"], dtype=object)
    own = d["element_type"] == 0
    support = own & np.isin(d["element"], r["target"])
    hosts, names = [], []
    # a clinical microsystem's defects belong to its visits and to the arrivals it turned away, in
    # the order they came: hosts in that order (``seq``) own the defect rows in time order
    for mask, host_key, host_node, host_time, counts, complete in (
        (own & ~support, np.r_[v["key"], u["key"]], np.r_[v["node"], u["node"]], np.r_[v_seq, u_seq],
         np.r_[v["defects"], u_defects], np.r_[v_complete, u_withdraw]),
        (support, r["key"], r["target"], r["end"], r["support_defects"], r_complete),
    ):
        owner = _align(host_key, host_node, host_time.astype(np.float64), counts,
                       d["key"][mask], d["element"][mask], d["time"][mask])
        hosts.append(complete[owner])
        names.append(defect_labels[d["defect"][mask]])
    for table, code, kinds, complete in (
        (h, "handoff", HANDOFF_KINDS, v_complete[sender]),
        (r, "request", REQUEST_KINDS, r_complete),
    ):
        label = np.array(getattr(rec, f"{code}s").labels[code], dtype=object)[table[code]]
        for kind in kinds:
            hosts.append(complete[table[kind]])
            names.append(label[table[kind]] + f":{kind}")
    host = np.concatenate(hosts).astype(np.int64)
    return np.bincount(host, minlength=n_events).astype(np.int64), _joined(host, np.concatenate(names), n_events)


def _align(
    host_key: NDArray[np.int64], host_node: NDArray[np.int64], host_time: NDArray[np.float64],
    counts: NDArray[np.int64], key: NDArray[np.int64], element: NDArray[np.int64], time: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Index of the host (visit or service) of each defect row.

    A host with ``counts`` defects owns that many defect rows of its journey and
    microsystem; within one journey and microsystem, hosts and defects both come in
    time order, so the n-th defect belongs to the n-th host slot.
    """
    hosts = np.lexsort((host_time, host_node, host_key))
    slots = np.repeat(hosts, counts[hosts])
    defects = np.lexsort((time, element, key))
    if len(slots) != len(defects) or not (
        np.array_equal(host_key[slots], key[defects]) and np.array_equal(host_node[slots], element[defects])
    ):
        raise SimulationError("inconsistent records: the defects table does not match the defect counts")
    owner = np.empty(len(defects), dtype=np.int64)
    owner[defects] = slots
    return owner


def _joined(group: NDArray[np.int64], names: NDArray[Any], n: int) -> NDArray[Any]:
    """For each of ``n`` groups, its names joined by ';' in the order given (None if none)."""
    out = np.full(n, None, dtype=object)
    if len(group):
        order = np.argsort(group, kind="stable")
        group, names = group[order], names[order].tolist()
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        ends = np.r_[starts[1:], len(group)]
        out[group[starts]] = [";".join(names[a:b]) for a, b in zip(starts.tolist(), ends.tolist())]
    return out


def _timestamps(origin: pd.Timestamp, ms: NDArray[np.int64]) -> NDArray[np.datetime64]:
    """``origin`` plus ``ms`` milliseconds, UTC, in nanoseconds (within the dates pandas can hold)."""
    limit = (np.iinfo(np.int64).max - origin.value) // _NS_PER_MS
    if len(ms) and ms.max() > limit:
        raise JourneySimError(f"start: {origin.date()} plus {ms.max() / _MS_PER_MINUTE:.0f} simulated minutes "
                              "is past the year 2262, the last date pandas can hold")
    return (origin.value + ms * _NS_PER_MS).view("datetime64[ns]")
