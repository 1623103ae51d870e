"""The file formats of an event log: CSV and IEEE 1849-2016 XES, written a column at a time.

An event log has hundreds of thousands of rows but few distinct names, so a
column of names is kept as :class:`Coded`: each name once, and a code per row.
Each distinct value is formatted (quoted for CSV, escaped for XML) once, and the
rows are assembled from the formatted pieces with ``str.join``. The output is
byte for byte what ``DataFrame.to_csv(index=False)`` and ``xml.etree.ElementTree``
write for the same table (``tests/test_eventlog.py`` compares them), several times
faster.

Examples
--------
>>> import io
>>> import numpy as np
>>> columns = {"case:concept:name": Coded(np.array(["r0-j0"], dtype=object), np.array([0, 0])),
...            "concept:name": Coded(np.array(["ED", "Lab, B"], dtype=object), np.array([0, 1])),
...            "defects": np.array([0, 2])}
>>> out = io.BytesIO()
>>> write_csv(columns, out)
>>> print(out.getvalue().decode())
case:concept:name,concept:name,defects
r0-j0,ED,0
r0-j0,"Lab, B",2
<BLANKLINE>
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["Coded", "Column", "LogColumns", "iso_timestamps", "write_csv", "write_xes"]


@dataclass(frozen=True, slots=True)
class Coded:
    """A column of names kept once: row ``i`` holds ``labels[codes[i]]``, or nothing where the code is -1.

    Examples
    --------
    >>> Coded(np.array(["ED", "CCU"], dtype=object), np.array([1, -1, 0])).values().tolist()
    ['CCU', None, 'ED']
    """

    labels: NDArray[Any]  # object array of str (None for a missing name)
    codes: NDArray[np.int64]

    def values(self) -> NDArray[Any]:
        """Each row's name, ``None`` where it has none."""
        return _lookup(self.labels.tolist(), self.codes, None)


#: A column of the log: names (:class:`Coded`), integers, booleans, floats,
#: ``datetime64`` timestamps (UTC) or an object array of str and None
Column = Coded | NDArray[Any]
#: The log's columns by name, in order
LogColumns = dict[str, Column]


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


def _lookup(texts: list[Any], codes: NDArray[np.int64], missing: Any) -> NDArray[Any]:
    """``texts[code]`` for each code, ``missing`` for -1."""
    return np.array([*texts, missing], dtype=object)[codes]


def iso_timestamps(times: NDArray[np.datetime64]) -> list[str]:
    """UTC timestamps as ISO 8601 strings to the millisecond: ``2026-01-05T08:30:00.000+00:00``.

    Composed from the digits in numpy (``numpy.datetime_as_string`` costs a
    microsecond a value): each day's date is formatted once, then the clock
    time's digits are filled in. Years are 1677 to 2262, the range pandas holds.

    Examples
    --------
    >>> iso_timestamps(np.array(["2026-01-05T08:30:00.0126", "1999-12-31T23:59:59.9999"], dtype="datetime64[ns]"))
    ['2026-01-05T08:30:00.012+00:00', '1999-12-31T23:59:59.999+00:00']
    """
    ms = times.astype("datetime64[ms]").astype(np.int64)
    days, clock = np.divmod(ms, 86_400_000)
    unique_days, day_of = np.unique(days, return_inverse=True)
    dates = np.datetime_as_string(unique_days.astype("datetime64[D]"), unit="D").astype("S10")
    out = np.empty((len(ms), 29), dtype=np.uint8)
    out[:, :10] = dates.view(np.uint8).reshape(-1, 10)[day_of.ravel()]
    out[:, 10:] = np.frombuffer(b"T00:00:00.000+00:00", dtype=np.uint8)
    for first, unit, modulus, digits in ((11, 3_600_000, 24, 2), (14, 60_000, 60, 2), (17, 1_000, 60, 2),
                                         (20, 1, 1_000, 3)):
        value = clock // unit % modulus
        for k in range(digits):
            out[:, first + k] += (value // 10 ** (digits - 1 - k) % 10).astype(np.uint8)
    return out.view("S29").ravel().astype("U29").tolist()


def _formatted(column: Column, text: Callable[[Any], str], missing: str) -> list[str]:
    """``text`` of each row's value, computed once per distinct value; ``missing`` where there is none."""
    if isinstance(column, Coded):
        return _lookup([missing if x is None else text(x) for x in column.labels.tolist()],
                       column.codes, missing).tolist()
    codes, uniques = pd.factorize(column)  # a missing value's code is -1
    return _lookup([text(u) for u in uniques], codes, missing).tolist()


# -- CSV

_CSV_QUOTED = re.compile(r'[,"\r\n]')


def _csv_field(text: str) -> str:
    """A field as the csv module writes it with minimal quoting: quoted, quotes doubled, where it must be."""
    return '"' + text.replace('"', '""') + '"' if _CSV_QUOTED.search(text) else text


def _csv_column(column: Column) -> list[str]:
    """A column's fields as ``DataFrame.to_csv`` writes them: missing values empty, timestamps ISO 8601."""
    if isinstance(column, Coded) or column.dtype == object:
        return _formatted(column, lambda x: _csv_field(str(x)), "")
    if column.dtype.kind == "M":
        return iso_timestamps(column)
    if column.dtype.kind == "b":
        return np.where(column, "True", "False").tolist()
    # a float as Python writes it (pandas' to_csv does the same), not numpy's scalar repr
    return _formatted(column, str if column.dtype.kind in "iu" else lambda x: repr(float(x)), "")


def write_csv(columns: LogColumns, fh: _Writable) -> None:
    """Write the log as ``DataFrame.to_csv(index=False, lineterminator="\\n")`` would, in UTF-8.

    The ``case:`` columns hold one value per case (``case:concept:name``, whose
    rows are together), so each run of them is joined once per case, not per row.
    """
    header = ",".join(_csv_field(name) for name in columns)
    case = _case_codes(columns)
    new = np.r_[True, case[1:] != case[:-1]] if len(case) else np.zeros(0, dtype=bool)
    first, ordinal = np.flatnonzero(new), np.cumsum(new) - 1  # each case's first row; each row's case
    pieces = []
    for is_case, names in itertools.groupby(columns, key=lambda name: name.startswith("case:")):
        if is_case:
            fields = [_csv_column(_rows(columns[name], first)) for name in names]
            pieces.append(np.array(list(map(",".join, zip(*fields))), dtype=object)[ordinal].tolist())
        else:
            pieces.append(list(map(",".join, zip(*(_csv_column(columns[name]) for name in names)))))
    fh.write("\n".join([header, *map(",".join, zip(*pieces)), ""]).encode())


def _case_codes(columns: LogColumns) -> NDArray[np.int64]:
    """An integer per row naming its case (``case:concept:name``)."""
    case = columns["case:concept:name"]
    return case.codes if isinstance(case, Coded) else pd.factorize(case)[0]


def _rows(column: Column, rows: NDArray[np.int64]) -> Column:
    """The column at ``rows`` only."""
    return Coded(column.labels, column.codes[rows]) if isinstance(column, Coded) else column[rows]


# -- XES

_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
)
#: What ElementTree escapes in an attribute value, in the order it does
_XML_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"),
                 ("\t", "&#09;"))
_DEFAULTS = {"string": "__INVALID__", "int": "0", "float": "0.0", "boolean": "false",
             "date": "1970-01-01T00:00:00.000+00:00", "lifecycle:transition": "complete"}


def _escape(text: str) -> str:
    """An XML attribute value, escaped as ``xml.etree.ElementTree`` escapes it."""
    for char, entity in _XML_ENTITIES:
        if char in text:
            text = text.replace(char, entity)
    return text


def _xes_kind(column: Column) -> str:
    if isinstance(column, Coded) or column.dtype == object:
        return "string"
    return {"M": "date", "b": "boolean", "i": "int", "u": "int"}.get(column.dtype.kind, "float")


def _xes_text(kind: str, value: Any) -> str:
    """A value as XES writes it: ``true``/``false``, an integer, a float's shortest repr, or the string."""
    if kind == "boolean":
        return "true" if value else "false"
    return repr(float(value)) if kind == "float" else str(value)


def _xes_column(key: str, column: Column) -> tuple[str, str, list[str]]:
    """``(XES type, key, each row's attribute element, or "" where the row has no value)``."""
    kind = _xes_kind(column)
    head = f'<{kind} key="{_escape(key)}" value="'
    if not isinstance(column, Coded) and kind == "date":
        return kind, key, [head + x + '" />' for x in iso_timestamps(column)]
    return kind, key, _formatted(column, lambda x: head + _escape(_xes_text(kind, x)) + '" />', "")


def _globals(scope: str, columns: Iterable[tuple[str, str, list[str]]]) -> ET.Element:
    """Attributes every trace (or event) has, with a default value."""
    el = ET.Element("global", {"scope": scope})
    for kind, key, elements in columns:
        if all(elements):
            ET.SubElement(el, kind, {"key": key, "value": _DEFAULTS.get(key, _DEFAULTS[kind])})
    return el


def _header(cases: Sequence[tuple[str, str, list[str]]], events: Sequence[tuple[str, str, list[str]]],
            about: Iterable[tuple[str, str, str]]) -> bytes:
    """The XML declaration, ``<log>`` and everything before its first trace."""
    header = [ET.Element("extension", {"name": n, "prefix": p, "uri": u}) for n, p, u in _EXTENSIONS]
    header += [_globals("trace", cases), _globals("event", events)]
    header += [ET.Element("classifier", {"name": "Activity", "keys": "concept:name"}),
               ET.Element("classifier", {"name": "ActivityTransition", "keys": "concept:name lifecycle:transition"})]
    header += [ET.Element(kind, {"key": key, "value": value}) for kind, key, value in about]
    text = ['<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1849-2016">\n']
    for el in header:
        ET.indent(el, space="  ", level=1)
        text.append(f"  {ET.tostring(el, encoding='unicode')}\n")
    return "".join(text).encode()


def write_xes(columns: LogColumns, fh: _Writable, about: Iterable[tuple[str, str, str]]) -> None:
    """Write the log as XES: a ``<trace>`` per case (the ``case:`` columns, without the prefix), an ``<event>`` per row.

    ``columns`` must hold ``case:concept:name`` with the rows of each case together;
    ``about`` gives the log's own attributes as ``(XES type, key, value)``. The
    layout (two spaces a level) is ``ElementTree.indent``'s.
    """
    cases = [_xes_column(name.removeprefix("case:"), c) for name, c in columns.items() if name.startswith("case:")]
    events = [_xes_column(name, c) for name, c in columns.items() if not name.startswith("case:")]
    fh.write(_header(cases, events, about))
    ids = _case_codes(columns)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(ids)].astype(np.int64)
    event_rows = ["\n      ".join([x for x in row if x]) for row in zip(*(e for _, _, e in events))]
    case_rows = [e for _, _, e in cases]
    for a, b in zip(starts.tolist(), ends.tolist()):
        parts = [x[a] for x in case_rows if x[a]]
        parts += ["<event>\n      " + row + "\n    </event>" for row in event_rows[a:b]]
        fh.write(("  <trace>\n    " + "\n    ".join(parts) + "\n  </trace>\n").encode())
    fh.write(b"</log>\n")
