"""Defect rates from the log: boolean columns the user names, and activities whose occurrence is a defect.

* **A boolean event column** (``--defect COLUMN``: true/false, yes/no, 1/0; empty is
  not recorded): the share of a unit's visits flagged, among its visits where the
  column has a value, is that microsystem's defect rate (a defect named after the
  column), with a Wilson 95% interval.
* **A boolean case column** (named ``case:...``, as pm4py and XES name a case's
  attributes): the case's first value flags the whole case. It is attributed to the
  case's **entry** microsystem: its defect rate is the share of flagged cases among
  those entering there (a case that comes back to its entry unit draws again, so the
  simulated share of flagged journeys is a little higher when entry units are revisited).
* **An activity's occurrence** (``--defect-activity ACTIVITY``, e.g. the sepsis log's
  "Return ER"): the activity's own microsystem gets a defect of probability 1 named
  after it. Routing is unchanged (the discovered handoffs still send the same share of
  patients there), and a journey is defective exactly when it reaches the activity, so
  the simulated share of defective journeys is the routing's share of cases reaching
  it: the quality figure is right. A defect drawn at the unit visited just before it
  would be drawn independently of the routing (a patient flagged and then routed
  elsewhere), so it is not used; the units visited just before are named in the report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import Problem, ValidationError
from . import FALSE_WORDS, TRUE_WORDS
from .logs import EventLog, Labelled
from .report import ObservedDefect
from .rows import Rows

__all__ = ["flags", "column_defects", "activity_defects", "defect_name"]

_TRUE, _FALSE = TRUE_WORDS, FALSE_WORDS


def defect_name(column: str) -> str:
    """A defect name from a column or activity name.

    >>> defect_name("case:Return ER"), defect_name("ecg late!")
    ('return_er', 'ecg_late')
    """
    base = column[5:] if column.startswith("case:") else column
    return re.sub(r"\W+", "_", base).strip("_").lower() or "defect"


def flags(col: Any, column: str, source: str = "") -> tuple[NDArray[np.int8], list[Problem]]:
    """Each row's flag: 1 true, 0 false, -1 not recorded; and a problem naming the values that are not boolean.

    >>> flags(np.array([1.0, 0.0, np.nan]), "x")[0].tolist()
    [1, 0, -1]
    """
    if isinstance(col, Labelled):
        names = [str(x).strip().lower() for x in col.labels]
        table = np.array([1 if x in _TRUE else 0 if x in _FALSE else -2 for x in names] + [-1], dtype=np.int8)
        out = table[col.codes]
        bad = [str(col.labels[i]) for i, x in enumerate(table[:-1]) if x == -2]
    else:
        v = np.asarray(col, dtype=float)
        out = np.where(np.isnan(v), -1, np.where(v == 1, 1, np.where(v == 0, 0, -2))).astype(np.int8)
        bad = sorted({f"{x:g}" for x in v[out == -2]})
    if bad:
        return out, [Problem(column, f"not a true/false column (true/false, yes/no, 1/0): values "
                                     f"{', '.join(map(repr, bad[:5]))}{' ...' if len(bad) > 5 else ''}", source)]
    return out, []


#: per unit code, each named defect's (probability, provenance, number of observations)
Defects = dict[int, dict[str, tuple[float, str, int]]]


def column_defects(log: EventLog, rows: Rows, units: Sequence[str],
                   columns: Sequence[str]) -> tuple[Defects, list[ObservedDefect]]:
    """Per unit, each named defect's probability and provenance, from boolean columns; every problem at once."""
    problems: list[Problem] = []
    out: Defects = {}
    observed: list[ObservedDefect] = []
    for column in columns:
        if column not in log.attributes:
            problems.append(Problem("defects", f"no column {column!r} in the log; its attributes are "
                                               f"{', '.join(log.attributes) or 'none'} (read it with --attribute)",
                                    log.source))
            continue
        f, bad = flags(log.attributes[column], column, log.source)
        problems += bad
        if bad:
            continue
        f = f[rows.index]
        name = defect_name(column)
        if column.startswith("case:"):
            _case_flags(f, rows, units, name, column, out, observed)
        else:
            _event_flags(f, rows, units, name, column, out, observed)
    if problems:
        raise ValidationError(problems)
    return out, observed


def _put(out: Defects, observed: list[ObservedDefect], u: int, d: ObservedDefect, what: str) -> None:
    lo, hi = d.ci95
    how = f"{d.name}: {d.k} of {d.n} {what} flagged ({d.rate:.2%}, 95% CI [{lo:.2%}, {hi:.2%}])"
    out.setdefault(u, {})[d.name] = (round(d.rate, 6), how, d.n)
    observed.append(d)


def _event_flags(f: NDArray[np.int8], rows: Rows, units: Sequence[str], name: str, column: str, out: Defects,
                 observed: list[ObservedDefect]) -> None:
    for u, uname in enumerate(units):
        mine = (rows.unit == u) & (f >= 0)
        n = int(mine.sum())
        if n:
            d = ObservedDefect(name, uname, int((f[mine] == 1).sum()), n, "visit", f"column {column}")
            _put(out, observed, u, d, f"visits with a value of {column}")


def _case_flags(f: NDArray[np.int8], rows: Rows, units: Sequence[str], name: str, column: str, out: Defects,
                observed: list[ObservedDefect]) -> None:
    n_cases = int(rows.case.max()) + 1
    value = np.full(n_cases, -1, dtype=np.int8)
    seen = f >= 0
    # the case's first recorded value: assign in reverse so that the first wins
    value[rows.case[seen][::-1]] = f[seen][::-1]
    first = rows.case_first
    entry = np.full(n_cases, -1)
    entry[rows.case[first]] = rows.unit[first]
    for u, uname in enumerate(units):
        mine = (entry == u) & (value >= 0)
        n = int(mine.sum())
        if n:
            d = ObservedDefect(name, uname, int((value[mine] == 1).sum()), n, "case",
                               f"case column {column}, attributed to the entry unit")
            _put(out, observed, u, d, f"cases entering at {uname}")


def activity_defects(rows: Rows, units: Sequence[str], activities: Sequence[str],
                     source: str = "") -> tuple[Defects, list[ObservedDefect]]:
    """A defect of probability 1 at each named activity's microsystem, and the share of cases reaching it."""
    problems = [Problem("defect_activities", f"no activity {a!r} in the log; the activities are {', '.join(units)}",
                        source) for a in activities if a not in units]
    if problems:
        raise ValidationError(problems)
    out: Defects = {}
    observed: list[ObservedDefect] = []
    n_cases = int(np.unique(rows.case).size)
    for a in activities:
        u = list(units).index(a)
        at = rows.unit == u
        k = int(np.unique(rows.case[at]).size)
        before = np.flatnonzero(at[1:] & rows.has_next[:-1])  # rows just before a visit to a, same case
        names, counts = np.unique(rows.unit[before], return_counts=True)
        order = np.argsort(-counts)
        prev = ", ".join(f"{units[names[i]]} {counts[i]}" for i in order[:5]) or "none (entries only)"
        d = ObservedDefect(defect_name(a), a, k, n_cases, "case",
                           f"cases reaching {a}; visited just before: {prev}")
        lo, hi = d.ci95
        how = (f"{d.name}: every visit to {a} is a defect (probability 1; routing unchanged); {k} of {n_cases} "
               f"cases reached it ({d.rate:.2%}, 95% CI [{lo:.2%}, {hi:.2%}]); visited just before: {prev}")
        out.setdefault(u, {})[d.name] = (1.0, how, d.n)
        observed.append(d)
    return out, observed
