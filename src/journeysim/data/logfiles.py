"""Reading the events of a CSV or XES event log into columns, one pass, standard library only.

:func:`read_events` opens a file (gzipped or not), finds which column plays which
role (:class:`Roles`: case, activity, timestamp or start/end, lifecycle, class,
resource, instance id, attributes) and appends every event to compact arrays
(:class:`RawEvents`): each name becomes an integer code, each timestamp a float
of seconds since 1970 (UTC; a time without an offset is taken as UTC). No Python
object is kept per event. :mod:`journeysim.data.logs` turns these events into
activity instances.

Every problem the reading finds is collected (:class:`~journeysim.errors.Problem`,
with the file and line), not raised one at a time.

Examples
--------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = pathlib.Path(tmp) / "log.csv"
...     _ = path.write_text("case:concept:name,concept:name,time:timestamp\\n"
...                         "p1,ED,2026-01-05T08:00:00+00:00\\np1,Ward,2026-01-05T10:30:00+00:00\\n")
...     events = read_events(path, Roles())
>>> events.cases.labels, events.activities.labels, len(events)
(['p1'], ['ED', 'Ward'], 2)
>>> (events.time[1] - events.time[0]) / 60
150.0
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import math
import xml.etree.ElementTree as ET
import zlib
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import IO

from ..errors import JourneySimError, Problem, ValidationError

__all__ = ["LIFECYCLE", "MAX_LINE", "COMMON_FORMATS", "STANDARD", "Roles", "Codes", "RawEvents", "TimeParser",
           "read_events"]

#: The lifecycle transitions that make activity instances, by code; any other value (``suspend``,
#: ``assign``...) is code 4 and ignored with a warning. An empty value is ``complete``.
LIFECYCLE: tuple[str, ...] = ("schedule", "start", "complete", "withdraw")
IGNORED = len(LIFECYCLE)

#: The longest line (in characters) a CSV log may have: longer is refused, so that a file that is
#: not a log (or a hostile one) cannot make the reader hold gigabytes of one line.
MAX_LINE = 1 << 20

#: How many examples (with their line numbers) a report gives of each kind of problem.
EXAMPLES = 5

_SEPARATORS = (",", ";", "\t", "|")
_EPOCH = dt.datetime(1970, 1, 1)
_CACHE = 1 << 16  # distinct timestamp strings remembered before the cache starts afresh


@dataclass(frozen=True, slots=True)
class Roles:
    """Which column of the log plays which role (``None``: not in the log, or the standard name).

    A log with pm4py's standard names (journeysim's own export is one) needs none: an
    unnamed role takes its standard name (:data:`STANDARD`) where the file has it.
    Give either ``timestamp`` (one time per event, with an optional ``lifecycle``) or
    ``start`` and/or ``end`` (one row per activity instance).
    """

    case: str | None = None
    activity: str | None = None
    timestamp: str | None = None
    start: str | None = None
    end: str | None = None
    lifecycle: str | None = None
    class_: str | None = None
    resource: str | None = None
    instance: str | None = None
    attributes: tuple[str, ...] = ()

    @property
    def interval(self) -> bool:
        """True for one row per activity instance (``start``/``end`` columns)."""
        return self.start is not None or self.end is not None

    def named(self) -> dict[str, str]:
        """Role -> column, for the roles that have one (attributes as ``attributes[i]``)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "attributes"}
        out.update({f"attributes[{i}]": a for i, a in enumerate(self.attributes)})
        return {k: v for k, v in out.items() if v is not None}


#: The standard (pm4py / XES) column of each role, taken when the user names none.
STANDARD = {"case": "case:concept:name", "activity": "concept:name", "timestamp": "time:timestamp",
            "lifecycle": "lifecycle:transition", "class_": "case:class", "resource": "org:resource"}
#: Columns of journeysim's export read as attributes where the file has them: the named exit each case
#: took, and its replication (discovery lays replications end to end).
EXPORT_ATTRIBUTES = ("case:outcome", "case:replication")
#: Python argument -> command-line option, for messages that tell the user what to pass.
OPTION = {"case": "case", "activity": "activity", "timestamp": "timestamp", "start": "start", "end": "end",
          "lifecycle": "lifecycle", "class_": "class", "resource": "resource", "instance": "instance"}


def resolve(roles: Roles, columns: Sequence[str], source: str, *, known: bool = True) -> Roles:
    """The roles with standard names filled in where the user gave none, or a ValidationError.

    ``known``: the columns are all there is (a CSV header); an XES log's keys are only
    known after reading, so there the standard names are taken as given.
    """
    have = set(columns)
    chosen = {f.name: getattr(roles, f.name) for f in fields(roles)}
    interval = roles.interval
    for role, standard in STANDARD.items():
        if chosen[role] is None and not (interval and role in ("timestamp", "lifecycle")):
            if standard in have or not known:
                chosen[role] = standard
    for extra in EXPORT_ATTRIBUTES:  # journeysim's export: data/exits.py, data/replications.py
        if known and extra in have and extra not in chosen["attributes"]:
            chosen["attributes"] = (*chosen["attributes"], extra)
    out = Roles(**chosen)
    problems = []
    if out.timestamp is not None and interval:
        problems.append(Problem("timestamp", f"give either a timestamp column ({out.timestamp!r}) or start/end "
                                "columns, not both", source))
    if out.lifecycle is not None and interval:
        problems.append(Problem("lifecycle", "a lifecycle column goes with one timestamp per event, not with "
                                "start/end columns", source))
    for role in ("case", "activity"):
        if getattr(out, role) is None:
            problems.append(Problem(role, f"no {role} column: name it (--{OPTION[role]} COLUMN; in Python "
                                    f"{role}=...)", source))
    if out.timestamp is None and not interval:
        problems.append(Problem("timestamp", "no timestamp column: name it (--timestamp COLUMN), or the start "
                                "and end columns (--start, --end)", source))
    if known:
        for role, column in out.named().items():
            if column not in have:
                problems.append(Problem(role, f"no column {column!r}", source, 1))
    if problems and known:
        problems.append(Problem("columns", f"the file has columns {_listed(columns)}", source, 1))
    if problems:
        raise ValidationError(problems)
    return out


def _listed(columns: Sequence[str]) -> str:
    """Column names for a message: quoted, comma-separated, at most 40."""
    shown = ", ".join(repr(c) for c in columns[:40])
    return (shown + f" and {len(columns) - 40} more") if len(columns) > 40 else (shown or "(none)")


@dataclass(slots=True)
class Codes:
    """Names as integer codes: each distinct name once (``labels``), in order of first appearance."""

    labels: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)

    def code(self, text: str) -> int:
        """The name's code (a new one for a new name); -1 for an empty value."""
        if not text:
            return -1
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.labels)
            self.labels.append(text)
        return found


class TimeParser:
    """Timestamps to seconds since 1970 (UTC), remembering each distinct string's value.

    ISO 8601 (``datetime.fromisoformat``: ``2026-01-05T08:00:00.000+00:00``, ``...Z``,
    ``2026-01-05 08:00``) unless ``time_format`` (a ``strptime`` pattern) is given. A time
    without an offset is taken as UTC. Unparseable text gives NaN, and is counted.

    Examples
    --------
    >>> p = TimeParser(None)
    >>> p("1970-01-01T01:00:00+01:00"), p("1970-01-01 00:01"), p("yesterday")
    (0.0, 60.0, nan)
    >>> TimeParser("%Y/%m/%d %H:%M:%S.%f")("1970/01/02 00:00:00.500")
    86400.5
    """

    def __init__(self, time_format: str | None) -> None:
        self.time_format = time_format
        self.cache: dict[str, float] = {}
        self.aware = 0  # distinct strings with an offset, and without
        self.naive = 0
        self.offsets: dict[float, int] = {}  # UTC offset (minutes) of the distinct strings with one: how many

    def __call__(self, text: str) -> float:
        value = self.cache.get(text)
        if value is None:
            if len(self.cache) >= _CACHE:
                self.cache.clear()
            value = self.cache[text] = self._parse(text)
        return value

    def _parse(self, text: str) -> float:
        try:
            d = (dt.datetime.strptime(text, self.time_format) if self.time_format
                 else dt.datetime.fromisoformat(text.strip()))
        except (ValueError, TypeError):
            return math.nan
        if d.tzinfo is None:
            self.naive += 1
            return (d - _EPOCH).total_seconds()
        self.aware += 1
        off = d.utcoffset()
        minutes = off.total_seconds() / 60.0 if off is not None else 0.0
        self.offsets[minutes] = self.offsets.get(minutes, 0) + 1
        return d.timestamp()


class RawEvents:
    """The events of a log as columns, appended one event at a time (``array.array``: no object per event).

    ``time`` is the event's timestamp (for start/end rows, the end) and ``start`` the
    start of a start/end row (NaN otherwise), in seconds since 1970; ``lifecycle`` a
    code of :data:`LIFECYCLE`; ``line`` where the event is in the file (an XES log's
    event number, counted from 1). Codes are -1 where the value is empty.
    """

    def __init__(self, source: str, roles: Roles, parser: TimeParser, *, xes: bool = False) -> None:
        self.source, self.roles, self.parser, self.xes = source, roles, parser, xes
        self.cases, self.activities, self.classes = Codes(), Codes(), Codes()
        self.resources, self.instances = Codes(), Codes()
        self.values = [Codes() for _ in roles.attributes]
        self.case, self.activity, self.class_ = array("i"), array("i"), array("i")
        self.resource, self.instance, self.lifecycle = array("i"), array("i"), array("b")
        self.attribute = [array("i") for _ in roles.attributes]
        self.time, self.start, self.line = array("d"), array("d"), array("q")
        self.bad_times: list[tuple[int, str, str]] = []  # (line, column, text), the first few
        self.n_bad_times = 0
        self.missing: dict[str, list[int]] = {"case": [], "activity": [], "time": []}  # lines, the first few
        self.n_missing = {"case": 0, "activity": 0, "time": 0}
        self.other_lifecycle: dict[str, int] = {}
        self.lengths: list[tuple[int, int]] = []  # (line, fields) of CSV rows with the wrong number of fields
        self.n_lengths = 0

    def __len__(self) -> int:
        return len(self.case)

    def add(self, line: int, case: str, activity: str, time: str, start: str, lifecycle: str, class_: str,
            resource: str, instance: str, attributes: Sequence[str]) -> None:
        """Append one event (a start/end row: ``time`` is its end, ``start`` its start)."""
        self.line.append(line)
        self.case.append(self._named(self.cases, case, "case", line))
        self.activity.append(self._named(self.activities, activity, "activity", line))
        interval = self.roles.interval
        t = self._time(time, self.roles.end if interval else self.roles.timestamp, line)
        s = self._time(start, self.roles.start, line) if interval else math.nan
        if math.isnan(t) and math.isnan(s) and not (time or start):
            self._missing("time", line)
        self.time.append(t)
        self.start.append(s)
        self.lifecycle.append(self._lifecycle(lifecycle))
        self.class_.append(self.classes.code(class_))
        self.resource.append(self.resources.code(resource))
        self.instance.append(self.instances.code(instance))
        for codes, column, value in zip(self.values, self.attribute, attributes):
            column.append(codes.code(value))

    def _named(self, codes: Codes, text: str, role: str, line: int) -> int:
        code = codes.code(text)
        if code < 0:
            self._missing(role, line)
        return code

    def _missing(self, role: str, line: int) -> None:
        self.n_missing[role] += 1
        if len(self.missing[role]) < EXAMPLES:
            self.missing[role].append(line)

    def _time(self, text: str, column: str | None, line: int) -> float:
        if not text:
            return math.nan
        value = self.parser(text)
        if math.isnan(value):
            self.n_bad_times += 1
            if len(self.bad_times) < EXAMPLES:
                self.bad_times.append((line, column or "", text))
        return value

    def _lifecycle(self, text: str) -> int:
        if not text:
            return LIFECYCLE.index("complete")
        word = text.strip().lower()
        if word in LIFECYCLE:
            return LIFECYCLE.index(word)
        self.other_lifecycle[word] = self.other_lifecycle.get(word, 0) + 1
        return IGNORED

    def wrong_length(self, line: int, n: int) -> None:
        """Note a CSV row whose number of fields is not the header's."""
        self.n_lengths += 1
        if len(self.lengths) < EXAMPLES:
            self.lengths.append((line, n))

    def problems(self) -> list[Problem]:
        """What makes the events unusable: missing names or times, unparseable timestamps, ragged rows."""
        out = []
        where = "event" if self.xes else "line"
        for role, n in self.n_missing.items():
            if n:
                what = {"case": "case id", "activity": "activity", "time": "timestamp"}[role]
                shown = ", ".join(str(x) for x in self.missing[role])
                out.append(Problem(role, f"{n:,} event{'s' if n > 1 else ''} without a {what} "
                                   f"({where}s {shown}{', ...' if n > len(self.missing[role]) else ''})",
                                   self.source))
        if self.n_bad_times:
            how = f"time format {self.parser.time_format!r}" if self.parser.time_format else (
                "ISO 8601, e.g. 2026-01-05T08:30:00+00:00; give --time-format for another"
                + _suggested(self.bad_times[0][2]))
            out.append(Problem("timestamp", f"{self.n_bad_times:,} unparseable timestamp"
                               f"{'s' if self.n_bad_times > 1 else ''} (expected {how}); the first "
                               f"{len(self.bad_times)}:", self.source))
            out += [Problem(column, f"unparseable timestamp {text[:80]!r}", self.source, None if self.xes else line)
                    if not self.xes else Problem(f"event {line}: {column}", f"unparseable timestamp {text[:80]!r}",
                                                 self.source)
                    for line, column, text in self.bad_times]
        if self.n_lengths:
            out.append(Problem("", f"{self.n_lengths:,} row{'s' if self.n_lengths > 1 else ''} with a number of "
                               "fields other than the header's (lines "
                               + ", ".join(f"{a} ({b} fields)" for a, b in self.lengths)
                               + (", ..." if self.n_lengths > len(self.lengths) else "") + ")", self.source))
        return out


#: strptime patterns worth suggesting when ISO 8601 does not read a log's timestamps
COMMON_FORMATS = ("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%d/%m/%Y %H:%M:%S",
                  "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M",
                  "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M")


def _suggested(text: str) -> str:
    """``: '...' reads the first`` for the first common pattern that reads ``text``, else nothing.

    Examples
    --------
    >>> _suggested("2014/10/22 11:15:41.000")
    ", such as '%Y/%m/%d %H:%M:%S.%f', which reads the first"
    """
    for pattern in COMMON_FORMATS:
        try:
            dt.datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        return f", such as {pattern!r}, which reads the first"
    return ""


# -- opening


def _open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed if it is gzipped (by its first two bytes, not its name)."""
    raw = path.open("rb")
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if head == b"\x1f\x8b":
        return gzip.open(raw, "rb")  # type: ignore[return-value]  # GzipFile reads bytes
    return raw


def _is_xes(path: Path, fh: IO[bytes]) -> bool:
    """An XES log by its name (``.xes``, ``.xes.gz``), or by its first character being ``<``."""
    name = path.name.lower()
    if name.endswith((".xes", ".xes.gz")):
        return True
    if name.endswith((".csv", ".csv.gz", ".txt", ".tsv")):
        return False
    peek = getattr(fh, "peek", None)
    head = peek(64)[:64] if peek else b""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def read_events(path: str | Path, roles: Roles, *, time_format: str | None = None, sep: str | None = None
                ) -> RawEvents:
    """Every event of a CSV or XES log (gzipped too) as columns.

    The problems found in the events (unparseable timestamps, events without a case,
    activity or time, rows with the wrong number of fields) are not raised: they are
    in ``RawEvents.problems()``, for the caller to report with its own.

    Raises
    ------
    ValidationError
        Missing columns.
    JourneySimError
        A file that cannot be read as a log: missing, not text, not XML, a line
        longer than :data:`MAX_LINE`.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise JourneySimError(f"{source}: no such file" if not path.exists() else f"{source}: not a file")
    parser = TimeParser(time_format)
    try:
        with _open_binary(path) as fh:
            if _is_xes(path, fh):
                events = _read_xes(fh, source, roles, parser)
            else:
                events = _read_csv(fh, source, roles, parser, sep)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise JourneySimError(f"{source}: cannot be read: {err}") from None
    return events


# -- CSV


def _lines(fh: IO[str], source: str) -> Iterator[str]:
    """The file's lines, each at most :data:`MAX_LINE` characters (a longer one is refused)."""
    number = 0
    while True:
        line = fh.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE:
            raise JourneySimError(f"{source}:{number}: a line longer than {MAX_LINE:,} characters: "
                                  "this is not a CSV event log")
        yield line


def _separator(header: str, sep: str | None) -> str:
    """The given separator, or the one of ``, ; tab |`` the header line holds most of."""
    if sep is not None:
        return "\t" if sep in ("\\t", "tab") else sep
    counts = [(header.count(s), -i, s) for i, s in enumerate(_SEPARATORS)]
    return max(counts)[2]


def _read_csv(raw: IO[bytes], source: str, roles: Roles, parser: TimeParser, sep: str | None) -> RawEvents:
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    try:
        return _read_csv_text(text, source, roles, parser, sep)
    except UnicodeDecodeError as err:
        raise JourneySimError(f"{source}: not a UTF-8 text file ({err.reason}): a binary file, or another "
                              "encoding (save it as UTF-8)") from None
    except csv.Error as err:
        raise JourneySimError(f"{source}: not a readable CSV file: {err}") from None
    finally:
        text.detach()  # the caller closes the file


def _read_csv_text(text: IO[str], source: str, roles: Roles, parser: TimeParser, sep: str | None) -> RawEvents:
    lines = _lines(text, source)
    header_line = next(lines, "")
    if not header_line.strip():
        raise JourneySimError(f"{source}: empty file: expected a header line naming the columns")
    delimiter = _separator(header_line, sep)
    if len(delimiter) != 1:
        raise JourneySimError(f"sep: expected one character, got {delimiter!r}")
    header = next(csv.reader([header_line], delimiter=delimiter))
    roles = resolve(roles, header, source)
    events = RawEvents(source, roles, parser)
    _csv_rows(csv.reader(lines, delimiter=delimiter), header, roles, events)
    return events


def _csv_rows(reader: Iterator[list[str]], header: list[str], roles: Roles, events: RawEvents) -> None:
    """Append every row of ``reader`` (after the header) to ``events``."""
    width = len(header)
    pos = {name: i for i, name in reversed(list(enumerate(header)))}  # the first of equal names
    none = width  # index of an always-empty field appended to each row

    def at(column: str | None) -> int:
        return none if column is None else pos[column]

    time_col = at(roles.end if roles.interval else roles.timestamp)
    idx = (at(roles.case), at(roles.activity), time_col, at(roles.start), at(roles.lifecycle), at(roles.class_),
           at(roles.resource), at(roles.instance))
    attr_idx = [pos[a] for a in roles.attributes]
    add = events.add
    previous = 1  # the line the last record ended on (the header's)
    for row in reader:
        line = previous + 1
        previous = reader.line_num + 1  # type: ignore[attr-defined]  # csv reader counts the header's line too
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            events.wrong_length(line, len(row))
            row = (row + [""] * width)[:width]
        row.append("")
        c, a, t, s, lc, k, r, i = (row[j] for j in idx)
        add(line, c, a, t, s, lc, k, r, i, [row[j] for j in attr_idx])


# -- XES


def _local(tag: str) -> str:
    """A tag without its XML namespace."""
    return tag.rpartition("}")[2]


def _read_xes(raw: IO[bytes], source: str, roles: Roles, parser: TimeParser) -> RawEvents:
    """Stream the traces and events (``iterparse``, each element cleared once read).

    A trace's attributes become ``case:KEY`` columns (its ``concept:name``, the case id,
    ``case:concept:name``), as pm4py names them; an event's keep their keys.
    """
    given = set(roles.named())
    roles = resolve(roles, [], source, known=False)
    # journeysim's export (trace attributes ``outcome``, ``replication``): read where the log has them
    extras = tuple(a for a in EXPORT_ATTRIBUTES if a not in roles.attributes)
    roles = replace(roles, attributes=(*roles.attributes, *extras))
    events = RawEvents(source, roles, parser, xes=True)
    seen: set[str] = set()
    trace: dict[str, str] = {}
    in_trace = in_event = False
    number = 0
    root: ET.Element | None = None
    try:
        for kind, el in ET.iterparse(raw, events=("start", "end")):
            tag = _local(el.tag)
            if kind == "start":
                if root is None:
                    root = el
                if tag == "trace":
                    in_trace, trace = True, {}
                elif tag == "event":
                    in_event = True
                continue
            if tag == "event":
                number += 1
                _xes_event(el, trace, roles, events, number, seen)
                in_event = False
                el.clear()
            elif tag == "trace":
                in_trace = False
                if root is not None:
                    root.clear()  # drop the finished traces, so memory stays that of one trace
            elif in_trace and not in_event and el.get("key") is not None:
                key = f"case:{el.get('key')}"
                trace[key] = el.get("value", "")
                seen.add(key)
    except ET.ParseError as err:
        raise JourneySimError(f"{source}: not a readable XES (XML) file: {err}") from None
    # a standard name the user did not ask for may be absent (no lifecycle: every event completes)
    missing = [(role, c) for role, c in roles.named().items()
               if c not in seen and (role in given or role in ("case", "activity", "timestamp"))]
    if number and missing:
        raise ValidationError(Problem(role, f"no attribute {c!r} in any trace or event; the log has "
                                      f"{_listed(sorted(seen))}", source) for role, c in missing)
    return _without(events, [a for a in extras if a not in seen])


def _without(events: RawEvents, absent: Sequence[str]) -> RawEvents:
    """The events without the attribute columns ``absent`` (export attributes the log does not have)."""
    if not absent:
        return events
    keep = [i for i, a in enumerate(events.roles.attributes) if a not in absent]
    events.roles = replace(events.roles, attributes=tuple(events.roles.attributes[i] for i in keep))
    events.values = [events.values[i] for i in keep]
    events.attribute = [events.attribute[i] for i in keep]
    return events


def _xes_event(el: ET.Element, trace: dict[str, str], roles: Roles, events: RawEvents, number: int,
               seen: set[str]) -> None:
    """Append one ``<event>``: its own attributes, else its trace's (``case:KEY``)."""
    values = {key: child.get("value", "") for child in el if (key := child.get("key")) is not None}
    seen.update(values)

    def get(column: str | None) -> str:
        if column is None:
            return ""
        found = values.get(column)
        return trace.get(column, "") if found is None else found

    events.add(number, get(roles.case), get(roles.activity), get(roles.end if roles.interval else roles.timestamp),
               get(roles.start), get(roles.lifecycle), get(roles.class_), get(roles.resource), get(roles.instance),
               [get(a) for a in roles.attributes])
