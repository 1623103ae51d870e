"""A hospital's event log read into columns: one row per activity instance.

:func:`read_log` reads a CSV or XES log (gzipped too) with the standard library and
returns an :class:`EventLog`: numpy columns, one row per **activity instance** (a
patient's visit to a unit, or one activity done for them), with its start and end.

* A ``start`` event and the ``complete`` event of the same case and activity are
  one instance: each ``complete`` closes the oldest open ``start`` of its case and
  activity (first in, first out, in time order), or the ``start`` with the same
  instance id where an ``instance`` column is given. A ``schedule`` event before
  them gives the instance's ``scheduled`` time (journeysim's own export: the patient
  arrived and queued); a ``withdraw`` closes an instance that never started.
* A log of completion times only (a real EHR extract often is: the sepsis log) has
  one instance per event with ``start`` NaN: how long the activity took is not in
  the log.
* A log with a start and an end column has one instance per row.

Times are float **minutes from the log's first timestamp** (``EventLog.origin``, a
datetime). Problems are reported all at once: errors (missing columns, unparseable
timestamps, an end before its start) as one :class:`~journeysim.errors.ValidationError`;
what can be repaired (unsorted events, duplicates, one-event cases, unmatched start
or complete events) as warnings kept in ``EventLog.warnings``.

Examples
--------
>>> import tempfile, pathlib
>>> text = '''case,activity,lifecycle,time
... p1,ED,start,2026-01-05 08:00
... p1,ED,complete,2026-01-05 09:30
... p1,Ward,start,2026-01-05 10:00
... p1,Ward,complete,2026-01-06 10:00
... p2,ED,start,2026-01-05 08:30
... p2,ED,complete,2026-01-05 08:45
... '''
>>> import warnings
>>> with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(record=True) as caught:
...     path = pathlib.Path(tmp) / "log.csv"
...     _ = path.write_text(text)
...     log = read_log(path, case="case", activity="activity", timestamp="time", lifecycle="lifecycle")
>>> log
EventLog(log.csv: 2 cases, 6 events, 3 activity instances, 2 activities, 2026-01-05 08:00 to 2026-01-06 10:00,
         1 warning)
>>> log.activity_labels[log.activity].tolist(), log.start.tolist(), log.end.tolist()
(['ED', 'Ward', 'ED'], [0.0, 120.0, 30.0], [90.0, 1560.0, 45.0])
>>> [w.message for w in log.warnings], len(caught)    # each warning is also issued (JourneySimWarning)
(['1 case with a single activity instance (p2)'], 1)
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..errors import JourneySimError, JourneySimWarning, Problem, ValidationError
from .logfiles import EXAMPLES, IGNORED, LIFECYCLE, Codes, RawEvents, Roles, read_events

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EventLog", "Labelled", "read_log"]

_SCHEDULE, _START, _COMPLETE, _WITHDRAW = range(4)


@dataclass(frozen=True, slots=True)
class Labelled:
    """A column of names: row ``i`` holds ``labels[codes[i]]``, or nothing where the code is -1.

    Examples
    --------
    >>> Labelled(np.array([1, -1, 0]), np.array(["A", "B"], dtype=object)).values().tolist()
    ['B', None, 'A']
    """

    codes: NDArray[np.int32]
    labels: NDArray[Any]

    def values(self) -> NDArray[Any]:
        """Each row's name, ``None`` where it has none."""
        return np.array([*self.labels.tolist(), None], dtype=object)[self.codes]

    def __len__(self) -> int:
        return len(self.codes)

    def __repr__(self) -> str:
        return f"Labelled({len(self.codes):,} rows, {len(self.labels):,} names)"


#: An attribute column: numbers (NaN where empty) where every value is a number, names otherwise.
Attribute = NDArray[np.float64] | Labelled


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class EventLog:
    """An event log as numpy columns, one row per activity instance.

    Examples
    --------
    Usually read from a file (:func:`read_log`); built by hand here, one patient's two visits:

    >>> import datetime as dt
    >>> nan = np.full(2, np.nan)
    >>> log = EventLog("by hand", dt.datetime(2026, 1, 5, 8), np.array([0, 0], np.int32), np.array(["p1"], object),
    ...                np.array([0, 1], np.int32), np.array(["ED", "Ward"], object), nan, np.array([0.0, 60]),
    ...                np.array([45.0, 600]), np.zeros(2, bool), np.full(2, -1, np.int32), np.array([], object),
    ...                np.full(2, -1, np.int32), np.array([], object), {}, np.arange(2), 4)
    >>> log.n_cases, len(log), log.activity_counts(), log.span
    (1, 2, {'ED': 1, 'Ward': 1}, 600.0)

    Rows are sorted by case, then by the instance's first time; cases are numbered in
    the order of their first event. Times are minutes from :attr:`origin`, NaN where the
    log does not have them. The arrays are read-only.

    Attributes
    ----------
    source : str
        The file read.
    origin : datetime.datetime
        The log's first timestamp, time 0 of every time column: time-zone aware (UTC)
        when the log's timestamps carry an offset, naive (as written) when they do not.
    case, case_labels : ndarray of int32, ndarray of str
        Each row's case (a code) and each case's id as written in the log.
    activity, activity_labels : ndarray of int32, ndarray of str
        Each row's activity (or unit) and the activity names, in order of first appearance.
    scheduled : ndarray of float64
        When the instance was scheduled (a ``schedule`` event: journeysim's export has
        one per visit, the arrival at the unit); NaN without one.
    start : ndarray of float64
        When the instance started; NaN where the log has no start for it (every row of
        a log of completion times only).
    end : ndarray of float64
        When it completed (or was withdrawn); NaN for an instance still open at the end
        of the log (a start without a complete).
    withdrawn : ndarray of bool
        Closed by a ``withdraw`` event (left without being served), not a ``complete``.
    class_, class_labels : ndarray of int32, ndarray of str
        The case's class (the first value of the class column in the case), -1 without one.
    resource, resource_labels : ndarray of int32, ndarray of str
        Who did it (the value on the complete event, else on the start), -1 without one.
    attributes : mapping of str to ndarray or Labelled
        Each attribute column asked for: floats where every value is a number (NaN where
        empty), else :class:`Labelled` names; the value on the complete event, else the start's.
    line : ndarray of int64
        Where the instance's first event is in the file (an XES log's event number).
    n_events : int
        Events read from the file (duplicates included).
    warnings : tuple of Problem
        What was repaired or is worth knowing (unsorted, duplicates, one-event cases...).
    utc_offsets : tuple of (float, int)
        The UTC offsets (minutes) the timestamps carry, each with how many distinct
        timestamps carry it, the most frequent first (empty when none carries one).
    """

    source: str
    origin: dt.datetime
    case: NDArray[np.int32]
    case_labels: NDArray[Any]
    activity: NDArray[np.int32]
    activity_labels: NDArray[Any]
    scheduled: NDArray[np.float64]
    start: NDArray[np.float64]
    end: NDArray[np.float64]
    withdrawn: NDArray[np.bool_]
    class_: NDArray[np.int32]
    class_labels: NDArray[Any]
    resource: NDArray[np.int32]
    resource_labels: NDArray[Any]
    attributes: Mapping[str, Attribute]
    line: NDArray[np.int64]
    n_events: int
    warnings: tuple[Problem, ...] = field(default=())
    utc_offsets: tuple[tuple[float, int], ...] = ()

    def __post_init__(self) -> None:
        for value in (self.case, self.activity, self.scheduled, self.start, self.end, self.withdrawn, self.class_,
                      self.resource, self.line, *(a.codes if isinstance(a, Labelled) else a
                                                  for a in self.attributes.values())):
            value.flags.writeable = False

    # -- counts

    def __len__(self) -> int:
        """The number of activity instances (rows)."""
        return len(self.case)

    @property
    def n_cases(self) -> int:
        return len(self.case_labels)

    @property
    def n_activities(self) -> int:
        return len(self.activity_labels)

    @property
    def has_starts(self) -> bool:
        """True if any instance has a start time (False: a log of completion times only)."""
        return bool(np.isfinite(self.start).any())

    @property
    def span(self) -> float:
        """Minutes from the first timestamp to the last."""
        times = np.concatenate([self.scheduled, self.start, self.end])
        return float(np.nanmax(times)) if np.isfinite(times).any() else 0.0

    @property
    def last(self) -> dt.datetime:
        """The log's last timestamp."""
        return self.origin + dt.timedelta(minutes=self.span)

    def timestamps(self, minutes: NDArray[np.float64]) -> NDArray[np.datetime64]:
        """Minutes from the origin as ``datetime64[ms]`` (UTC for an aware origin; NaT where NaN)."""
        base = np.datetime64(self.origin.replace(tzinfo=None) if self.origin.tzinfo is None
                             else self.origin.astimezone(dt.UTC).replace(tzinfo=None), "ms")
        ms = np.rint(np.asarray(minutes) * 60_000.0)
        out = base + np.where(np.isfinite(ms), ms, 0).astype(np.int64).astype("timedelta64[ms]")
        return np.where(np.isfinite(ms), out, np.datetime64("NaT"))

    def activity_counts(self) -> dict[str, int]:
        """Activity instances of each activity, most frequent first."""
        counts = np.bincount(self.activity, minlength=self.n_activities)
        order = np.argsort(-counts, kind="stable")
        return {str(self.activity_labels[i]): int(counts[i]) for i in order}

    # -- views

    def __repr__(self) -> str:
        kind = "" if self.has_starts else " (completion times only)"
        warned = f", {len(self.warnings)} warning{'s' if len(self.warnings) > 1 else ''}" if self.warnings else ""
        return (f"EventLog({Path(self.source).name}: {self.n_cases:,} cases, {self.n_events:,} events, "
                f"{len(self):,} activity instances{kind}, {self.n_activities} activities, "
                f"{self.origin:%Y-%m-%d %H:%M} to {self.last:%Y-%m-%d %H:%M}{warned})")

    @property
    def replications(self) -> int:
        """The number of simulation replications the log holds: the distinct values of its
        ``case:replication`` column (journeysim's export), 1 without one."""
        column = self.attributes.get("case:replication")
        if column is None or isinstance(column, Labelled):
            return 1
        return max(1, int(np.unique(column[np.isfinite(column)]).size))

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain data (for JSON): counts, time span, activities, warnings."""
        return {
            "source": self.source,
            "cases": self.n_cases,
            "events": self.n_events,
            "activity_instances": len(self),
            "activities": self.activity_counts(),
            "start_times": self.has_starts,
            "first": self.origin.isoformat(),
            "last": self.last.isoformat(),
            "span_days": self.span / 1440,
            "replications": self.replications,
            "classes": [str(x) for x in self.class_labels],
            "resources": len(self.resource_labels),
            "attributes": {k: "number" if not isinstance(v, Labelled) else "name" for k, v in self.attributes.items()},
            "warnings": [str(w) for w in self.warnings],
        }

    def to_text(self) -> str:
        """A summary to print: counts, time span, activities, warnings."""
        times = ("start and end times" if self.has_starts else
                 "completion times only: start = NaN, durations are not in the log")
        lines = [f"Event log {self.source}",
                 f"  {self.n_cases:,} cases, {self.n_events:,} events, {len(self):,} activity instances ({times})",
                 f"  {self.origin:%Y-%m-%d %H:%M} to {self.last:%Y-%m-%d %H:%M} ({self.span / 1440:,.1f} days)",
                 f"  classes: {', '.join(map(str, self.class_labels)) or 'none'}; resources: "
                 f"{len(self.resource_labels):,}; attributes: {', '.join(self.attributes) or 'none'}",
                 f"  {self.n_activities} activities (activity instances):"]
        if self.replications > 1:
            lines.insert(3, f"  {self.replications} replications (case:replication), each from the same time 0, "
                            "overlapping in time: discover and fidelity lay them end to end")
        lines += [f"    {name:<32} {n:>9,}" for name, n in self.activity_counts().items()]
        if self.warnings:
            lines += ["Warnings:", *(f"  {w}" for w in self.warnings)]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """One row per activity instance: case, activity, class, resource, scheduled, start, end
        (timestamps), withdrawn, then the attributes."""
        import pandas as pd

        tz = "UTC" if self.origin.tzinfo is not None else None

        def when(x: NDArray[np.float64]) -> Any:
            stamps = pd.to_datetime(self.timestamps(x))
            return stamps.tz_localize(tz) if tz else stamps

        data: dict[str, Any] = {
            "case": self.case_labels[self.case],
            "activity": self.activity_labels[self.activity],
            "class": Labelled(self.class_, self.class_labels).values(),
            "resource": Labelled(self.resource, self.resource_labels).values(),
            "scheduled": when(self.scheduled), "start": when(self.start), "end": when(self.end),
            "withdrawn": self.withdrawn,
        }
        for name, column in self.attributes.items():
            data[name] = column.values() if isinstance(column, Labelled) else column
        return pd.DataFrame(data)


def read_log(
    path: str | os.PathLike[str],
    *,
    case: str | None = None,
    activity: str | None = None,
    timestamp: str | None = None,
    start: str | None = None,
    end: str | None = None,
    lifecycle: str | None = None,
    class_: str | None = None,
    resource: str | None = None,
    instance: str | None = None,
    attributes: Sequence[str] = (),
    time_format: str | None = None,
    sep: str | None = None,
) -> EventLog:
    """Read a CSV or XES event log (``.xes.gz``, ``.csv.gz`` gzipped) into an :class:`EventLog`.

    A log with pm4py's standard column names (journeysim's own export, ``journeysim
    run --events``, is one) needs no options: ``case:concept:name``, ``concept:name``,
    ``time:timestamp``, and where present ``lifecycle:transition``, ``case:class`` and
    ``org:resource``. Otherwise name the columns; a column named overrides its standard name.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` (delimiter ``,`` ``;`` tab or ``|``, found from the header line) or
        ``.xes`` file, gzipped or not. Other names are read as XES if they start with ``<``.
    case : str, optional
        The case id column (a patient, or one stay).
    activity : str, optional
        The activity or unit column.
    timestamp : str, optional
        The column of one time per event (with ``lifecycle``: start and complete events).
    start, end : str, optional
        Instead of ``timestamp``: a start and an end column, one row per activity instance.
    lifecycle : str, optional
        The lifecycle transition column: ``schedule``, ``start``, ``complete`` (also
        when empty), ``withdraw``; other values (``suspend``...) are ignored with a warning.
    class_ : str, optional
        The patient class column (``case:class``).
    resource : str, optional
        Who did the work (``org:resource``).
    instance : str, optional
        An activity-instance id column: a start and a complete with the same case,
        activity and id are one instance (without it: first in, first out).
    attributes : sequence of str
        Further columns to keep (lab values, flags for defects...). In an XES log a
        trace's attribute ``KEY`` is the column ``case:KEY``.
    time_format : str, optional
        A ``strptime`` pattern, e.g. ``"%Y/%m/%d %H:%M:%S.%f"``; default ISO 8601 with or
        without an offset. A time without an offset is taken as UTC.
    sep : str, optional
        The CSV delimiter (``"\\t"`` or ``"tab"`` for a tab), instead of finding it.

    Returns
    -------
    EventLog

    Raises
    ------
    ValidationError
        Every problem at once, with the file and line numbers: missing columns (with the
        columns the file has), events without a case, activity or timestamp,
        unparseable timestamps (how many, and the first five), an end before its start,
        rows with the wrong number of fields, no events.
    JourneySimError
        A file that cannot be read as a log (missing, binary, not XML, a line over a
        million characters).

    Warns
    -----
    JourneySimWarning
        One per entry of ``EventLog.warnings``: events out of time order within a case
        (sorted), duplicate events (the same case, activity, lifecycle, time and
        instance id: the later ones dropped), cases with a single activity instance,
        start events never completed and complete events never started (in a log that
        has start events), mixed times with and without an offset, ignored lifecycle values.

    Examples
    --------
    A log of completion times only (one timestamp per event); the module's docstring reads
    one with start and complete events.

    >>> import tempfile, pathlib
    >>> rows = ["case,activity,time", "p1,ED,2026-01-05 08:00", "p1,Ward,2026-01-05 09:30",
    ...         "p2,ED,2026-01-05 08:20", "p2,Ward,2026-01-05 11:00"]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "log.csv"
    ...     _ = path.write_text(chr(10).join(rows))
    ...     log = read_log(path, case="case", activity="activity", timestamp="time")
    >>> log.n_cases, log.has_starts, log.end.tolist()
    (2, False, [0.0, 90.0, 20.0, 180.0])
    """
    roles = Roles(case=case, activity=activity, timestamp=timestamp, start=start, end=end, lifecycle=lifecycle,
                  class_=class_, resource=resource, instance=instance, attributes=_names(attributes))
    events = read_events(Path(path), roles, time_format=time_format, sep=sep)
    log = _assemble(events, events.problems())
    for w in log.warnings:
        warnings.warn(str(w), JourneySimWarning, stacklevel=2)
    return log


def _names(attributes: Sequence[str]) -> tuple[str, ...]:
    """The attribute columns as a tuple; a lone string is a mistake worth naming."""
    if isinstance(attributes, str):
        raise JourneySimError(f"attributes: expected a list of column names, got the string {attributes!r} "
                              f"(write [{attributes!r}])")
    return tuple(attributes)


# -- from events to activity instances


@dataclass(slots=True)
class _Columns:
    """The events as numpy arrays, in the order being worked on."""

    case: NDArray[np.int32]
    activity: NDArray[np.int32]
    instance: NDArray[np.int32]
    lifecycle: NDArray[np.int8]
    time: NDArray[np.float64]
    start: NDArray[np.float64]
    line: NDArray[np.int64]
    class_: NDArray[np.int32]
    resource: NDArray[np.int32]
    attributes: list[NDArray[np.int32]]

    def take(self, rows: NDArray[np.int64]) -> _Columns:
        return _Columns(self.case[rows], self.activity[rows], self.instance[rows], self.lifecycle[rows],
                        self.time[rows], self.start[rows], self.line[rows], self.class_[rows], self.resource[rows],
                        [a[rows] for a in self.attributes])


def _columns(ev: RawEvents) -> _Columns:
    return _Columns(np.frombuffer(ev.case, np.int32), np.frombuffer(ev.activity, np.int32),
                    np.frombuffer(ev.instance, np.int32), np.frombuffer(ev.lifecycle, np.int8),
                    np.frombuffer(ev.time, np.float64), np.frombuffer(ev.start, np.float64),
                    np.frombuffer(ev.line, np.int64), np.frombuffer(ev.class_, np.int32),
                    np.frombuffer(ev.resource, np.int32), [np.frombuffer(a, np.int32) for a in ev.attribute])


@dataclass(slots=True)
class _Report:
    """Errors and warnings found while assembling, with the file name."""

    source: str
    xes: bool
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def lines(self, lines: NDArray[np.int64], n: int) -> str:
        shown = ", ".join(str(x) for x in np.sort(lines)[:EXAMPLES].tolist())
        return f"{'events' if self.xes else 'lines'} {shown}{', ...' if n > EXAMPLES else ''}"

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(Problem(path, message, self.source))


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _assemble(ev: RawEvents, errors: Sequence[Problem]) -> EventLog:
    """The activity instances of the events read, checked; a ValidationError listing every error.

    ``errors`` are those the reading found (unparseable timestamps...): the events they
    concern are left out of the checks here, and all errors are raised together.
    """
    report = _Report(ev.source, ev.xes, list(errors))
    if not len(ev):
        raise ValidationError([*errors, Problem("", "no events in the log", ev.source)])
    c = _columns(ev)
    _other_lifecycles(ev, c, report)
    usable = (c.lifecycle != IGNORED) & (c.case >= 0) & (c.activity >= 0) & ~(np.isnan(c.time) & np.isnan(c.start))
    c = c.take(np.flatnonzero(usable))
    if not len(c.case):
        raise ValidationError(report.errors or [Problem("", "no events to read in the log", ev.source)])
    first = np.where(np.isfinite(c.start), c.start, c.time)
    _unsorted(c, first, report)
    c, first = _dropped_duplicates(c, first, report)
    c = c.take(np.lexsort((c.line, first, c.case)))
    if ev.roles.interval:
        rows = np.arange(len(c.case))
        sched = np.full(len(rows), -1)
        opened, closed = np.where(np.isfinite(c.start), rows, -1), np.where(np.isfinite(c.time), rows, -1)
    else:
        sched, opened, closed = _match(c, ev.roles.instance is not None)
    begin, finish = _at(c.time if not ev.roles.interval else c.start, opened), _at(c.time, closed)
    _end_before_start(begin / 60, finish / 60, np.where(opened >= 0, c.line[np.maximum(opened, 0)], 0), report)
    _timezones(ev, report)
    if report.errors:
        raise ValidationError(report.errors)
    return _build(ev, c, (sched, opened, closed), report)


def _at(values: NDArray[np.float64], rows: NDArray[np.int64]) -> NDArray[np.float64]:
    """``values[rows]``, NaN where the row is -1."""
    return np.where(rows >= 0, values[np.maximum(rows, 0)], np.nan) if len(values) else np.zeros(len(rows))


def _other_lifecycles(ev: RawEvents, c: _Columns, report: _Report) -> None:
    if ev.other_lifecycle:
        kinds = ", ".join(f"{k!r} ({n:,})" for k, n in sorted(ev.other_lifecycle.items()))
        n = int((c.lifecycle == IGNORED).sum())
        report.warn("lifecycle", f"{_plural(n, 'event')} with a lifecycle other than "
                    f"{', '.join(LIFECYCLE)} ignored: {kinds}")


def _unsorted(c: _Columns, first: NDArray[np.float64], report: _Report) -> None:
    """Count the events earlier than the event before them in their case (file order)."""
    order = np.lexsort((c.line, c.case))
    case, t = c.case[order], first[order]
    back = np.flatnonzero((case[1:] == case[:-1]) & (t[1:] < t[:-1])) + 1
    if len(back):
        report.warn("order", f"{_plural(len(back), 'event')} earlier than the event before them in the same case "
                    f"({report.lines(c.line[order][back], len(back))}): events were sorted by time within each case")


def _dropped_duplicates(c: _Columns, first: NDArray[np.float64], report: _Report
                        ) -> tuple[_Columns, NDArray[np.float64]]:
    """Drop the events that repeat an earlier one's case, activity, lifecycle, time(s) and instance id."""
    t, s = np.nan_to_num(c.time, nan=-np.inf), np.nan_to_num(c.start, nan=-np.inf)
    order = np.lexsort((c.line, s, t, c.instance, c.lifecycle, c.activity, c.case))
    same = np.ones(max(len(order) - 1, 0), dtype=bool)
    for a in (c.case, c.activity, c.lifecycle, c.instance, t, s):
        x = a[order]
        same &= x[1:] == x[:-1]
    dup = order[1:][same]
    if not len(dup):
        return c, first
    report.warn("duplicates", f"{_plural(len(dup), 'duplicate event')} (the same case, activity, lifecycle, "
                f"time and instance as an earlier one: {report.lines(c.line[dup], len(dup))}) dropped")
    keep = np.ones(len(c.case), dtype=bool)
    keep[dup] = False
    rows = np.flatnonzero(keep)
    return c.take(rows), first[rows]


def _match(c: _Columns, by_instance: bool) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Pair the events of each case and activity (and instance id) into activity instances.

    Events are in time order within each case. Returns, per instance, the row of its
    schedule, start and complete (or withdraw) event, -1 where it has none.
    """
    life = c.lifecycle
    if not (life != _COMPLETE).any():  # completion times only: each event is an instance
        rows = np.arange(len(life))
        return np.full(len(rows), -1), np.full(len(rows), -1), rows
    if by_instance:
        return _match_by_instance(c)
    sched: list[int] = []
    opened: list[int] = []
    closed: list[int] = []

    def new() -> int:
        sched.append(-1)
        opened.append(-1)
        closed.append(-1)
        return len(sched) - 1

    # open instances by case and activity (one integer key), only while some are open: a deque per key ever
    # seen would cost half a kilobyte per instance of a large log
    waiting: dict[int, deque[int]] = {}  # scheduled, not started
    running: dict[int, deque[int]] = {}  # started, not completed
    n_act = int(c.activity.max()) + 1 if len(c.activity) else 1
    keys = (c.case.astype(np.int64) * n_act + c.activity).tolist()
    for row, (key, kind) in enumerate(zip(keys, life.tolist())):
        if kind == _SCHEDULE:
            k = new()
            sched[k] = row
            _push(waiting, key, k)
        elif kind == _START:
            k = _pop(waiting, key)
            k = new() if k < 0 else k
            opened[k] = row
            _push(running, key, k)
        else:  # complete closes the oldest started instance; withdraw (or a complete without a start) a scheduled one
            k = _pop(running, key) if kind == _COMPLETE else -1
            k = _pop(waiting, key) if k < 0 else k
            closed[k if k >= 0 else new()] = row
    return np.array(sched, dtype=np.int64), np.array(opened, dtype=np.int64), np.array(closed, dtype=np.int64)


def _push(queues: dict[int, deque[int]], key: int, value: int) -> None:
    queue = queues.get(key)
    if queue is None:
        queues[key] = deque((value,))
    else:
        queue.append(value)


def _pop(queues: dict[int, deque[int]], key: int) -> int:
    """The oldest value queued under ``key`` (the key dropped when none is left), or -1."""
    queue = queues.get(key)
    if queue is None:
        return -1
    value = queue.popleft()
    if not queue:
        del queues[key]
    return value


def _match_by_instance(c: _Columns) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Pair by (case, activity, instance id): the k-th schedule, start and complete of a key are one instance."""
    life = c.lifecycle.astype(np.int64)
    closing = np.where(life == _WITHDRAW, _COMPLETE, life)
    order = np.lexsort((np.arange(len(life)), closing, c.instance, c.activity, c.case))
    keys = np.stack([c.case[order], c.activity[order], c.instance[order]])
    new_key = np.r_[True, (keys[:, 1:] != keys[:, :-1]).any(axis=0)]
    group = np.cumsum(new_key) - 1
    kind = closing[order]
    new_kind = new_key | np.r_[True, kind[1:] != kind[:-1]]
    run_start = np.maximum.accumulate(np.where(new_kind, np.arange(len(kind)), 0))
    nth = np.arange(len(kind)) - run_start  # the k-th event of its kind within its key
    slot = np.stack([group, nth])
    slots, instance = np.unique(slot, axis=1, return_inverse=True)
    out = np.full((3, slots.shape[1]), -1, dtype=np.int64)
    out[kind, instance.ravel()] = order
    return out[0], out[1], out[2]


def _end_before_start(begin: NDArray[np.float64], finish: NDArray[np.float64], lines: NDArray[np.int64],
                      report: _Report) -> None:
    """Instances whose end (minutes) is before their start: an error, with the first few lines."""
    bad = np.flatnonzero(finish < begin)
    if len(bad):
        report.errors.append(Problem("end", f"{_plural(len(bad), 'activity instance')} ending before "
                                     f"{'they start' if len(bad) > 1 else 'it starts'}; the first "
                                     f"{min(len(bad), EXAMPLES)}:", report.source))
        for i in bad[np.argsort(lines[bad], kind="stable")][:EXAMPLES]:
            where = (f"event {lines[i]}" if report.xes else "")
            report.errors.append(Problem(where or "end", f"ends {begin[i] - finish[i]:,.2f} minutes before it "
                                         "starts", report.source, None if report.xes else int(lines[i])))


def _timezones(ev: RawEvents, report: _Report) -> None:
    p = ev.parser
    if p.aware and p.naive:
        report.warn("timestamp", f"{_plural(p.naive, 'distinct timestamp')} without a time zone offset and "
                    f"{p.aware:,} with: those without are taken as UTC")


# -- the EventLog


def _build(ev: RawEvents, c: _Columns, matched: tuple[NDArray[np.int64], ...], report: _Report) -> EventLog:
    sched, opened, closed = matched
    if ev.roles.interval:
        t_sched, t_start, t_end = np.full(len(c.case), np.nan), c.start.copy(), c.time.copy()
        t_start[opened < 0], t_end[closed < 0] = np.nan, np.nan
    else:
        t_sched, t_start, t_end = _at(c.time, sched), _at(c.time, opened), _at(c.time, closed)
    head = np.where(sched >= 0, sched, np.where(opened >= 0, opened, closed))  # each instance's first event
    tail = np.where(closed >= 0, closed, np.where(opened >= 0, opened, sched))  # its last
    first_t = np.fmin(np.fmin(t_sched, t_start), t_end)
    case = c.case[head].astype(np.int64)
    finite = np.concatenate([t_sched, t_start, t_end])
    origin_s = float(np.nanmin(finite))
    case_first = np.full(len(ev.cases.labels), np.inf)
    np.minimum.at(case_first, case, first_t)
    case_order = np.lexsort((np.arange(len(case_first)), case_first))
    renumber = np.empty_like(case_order)
    renumber[case_order] = np.arange(len(case_order))
    case = renumber[case]
    order = np.lexsort((c.line[head], first_t, case))
    labels = np.array(ev.cases.labels, dtype=object)[case_order]
    _instance_warnings(ev, c, (sched, opened, closed), case, labels, report)
    head, tail = head[order], tail[order]

    def pick(column: NDArray[np.int32]) -> NDArray[np.int32]:
        """The value on the closing event, else on the opening one."""
        late, early = column[tail], column[head]
        return np.where(late >= 0, late, early).astype(np.int32)

    class_ = _case_class(c, case, head, report, order)
    attributes = {name: _attribute(pick(col), codes)
                  for name, col, codes in zip(ev.roles.attributes, c.attributes, ev.values)}
    minutes = [(x[order] - origin_s) / 60.0 for x in (t_sched, t_start, t_end)]
    withdrawn = np.zeros(len(order), dtype=bool)
    if not ev.roles.interval:
        withdrawn = (closed[order] >= 0) & (c.lifecycle[np.maximum(closed[order], 0)] == _WITHDRAW)
    return EventLog(
        source=ev.source, origin=_origin(origin_s, ev.parser.aware > 0), case=case[order].astype(np.int32),
        case_labels=labels, activity=c.activity[head].astype(np.int32),
        activity_labels=np.array(ev.activities.labels, dtype=object), scheduled=minutes[0], start=minutes[1],
        end=minutes[2], withdrawn=withdrawn, class_=class_, class_labels=np.array(ev.classes.labels, dtype=object),
        resource=pick(c.resource), resource_labels=np.array(ev.resources.labels, dtype=object),
        attributes=attributes, line=c.line[head].astype(np.int64), n_events=len(ev), warnings=tuple(report.warnings),
        utc_offsets=tuple(sorted(ev.parser.offsets.items(), key=lambda x: (-x[1], x[0]))),
    )


def _origin(seconds: float, aware: bool) -> dt.datetime:
    """The first timestamp as a datetime, to the microsecond."""
    micro = round(seconds * 1e6)
    utc = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micro)
    return utc if aware else utc.replace(tzinfo=None)


def _case_class(c: _Columns, case: NDArray[np.int64], head: NDArray[np.int64], report: _Report,
                order: NDArray[np.int64]) -> NDArray[np.int32]:
    """Each row's case's class: the first non-empty class value among the case's instances.

    ``head`` is each instance's first event, already in the final ``order`` of the rows;
    ``case`` is not yet."""
    n_cases = int(case.max()) + 1 if len(case) else 0
    per_case = np.full(n_cases, -1, dtype=np.int32)
    cls = c.class_[head]
    ordered_case = case[order]
    has = np.flatnonzero(cls >= 0)
    if len(has):
        cases, first = np.unique(ordered_case[has], return_index=True)
        per_case[cases] = cls[has][first]
        differs = np.unique(ordered_case[has][cls[has] != per_case[ordered_case[has]]])
        if len(differs):
            report.warn("class", f"{_plural(len(differs), 'case')} with more than one class value: each takes "
                        "its first")
    return per_case[ordered_case]


def _attribute(codes: NDArray[np.int32], values: Codes) -> Attribute:
    """Numbers where every value is one (NaN where empty), names otherwise."""
    try:
        numbers = np.array([float(x) for x in values.labels], dtype=np.float64)
    except ValueError:
        return Labelled(codes, np.array(values.labels, dtype=object))
    return np.append(numbers, np.nan)[codes]


def _instance_warnings(ev: RawEvents, c: _Columns, matched: tuple[NDArray[np.int64], ...],
                       case: NDArray[np.int64], labels: NDArray[Any], report: _Report) -> None:
    """Cases with one instance; starts never completed and completes never started."""
    sched, opened, closed = matched
    sizes = np.bincount(case, minlength=len(ev.cases.labels))
    single = np.flatnonzero(sizes == 1)
    if len(single):
        names = labels[single[:EXAMPLES]].tolist()
        report.warn("cases", f"{_plural(len(single), 'case')} with a single activity instance "
                    f"({', '.join(names)}{', ...' if len(single) > EXAMPLES else ''})")
    if ev.roles.interval:
        return
    if (opened >= 0).any():
        lines = c.line
        no_end = np.flatnonzero((opened >= 0) & (closed < 0))
        if len(no_end):
            report.warn("lifecycle", f"{_plural(len(no_end), 'start event')} without a complete event "
                        f"({report.lines(lines[opened[no_end]], len(no_end))}): kept as instances still open "
                        "(end = NaN)")
        waiting = np.flatnonzero((sched >= 0) & (opened < 0) & (closed < 0))
        if len(waiting):
            report.warn("lifecycle", f"{_plural(len(waiting), 'schedule event')} with neither a start nor a "
                        f"complete event ({report.lines(lines[sched[waiting]], len(waiting))}): kept as instances "
                        "still waiting (start and end NaN)")
        withdraw = (closed >= 0) & (c.lifecycle[np.maximum(closed, 0)] == _WITHDRAW)
        no_start = np.flatnonzero((closed >= 0) & (opened < 0) & ~withdraw)
        if len(no_start):
            report.warn("lifecycle", f"{_plural(len(no_start), 'complete event')} without a start event "
                        f"({report.lines(lines[closed[no_start]], len(no_start))}): kept with start = NaN")

