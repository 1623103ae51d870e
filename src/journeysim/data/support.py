"""Support microsystems in an event log: activities that happen inside another activity's instance.

A request to a support microsystem (a lab test, an X-ray, a pharmacy order) is done
*for* a visit, while the patient stays where they are: in journeysim's export its
instance is scheduled at the start of the requesting visit and ends before that visit
ends (``docs/event-logs.md``). In any log, such an activity shows as **nested**: its
instances lie within an instance of another activity of the same case.

The rule (:func:`find_support`): an instance *x* lies within an instance *y* of another
activity of the same case when ``y.start <= x.first`` (its schedule, else start, time),
``x.first < y.end`` and ``x.end <= y.end``. An activity is a **support unit** when at
least :data:`NESTED_SHARE` (95%) of its finished instances lie within another activity's
instance, and it has at least :data:`MIN_INSTANCES` of them. A zero-length instance at the
very end of another (a handoff without delay to a unit of no service time) starts
at that end, so it does not count as nested.

An **envelope** is an instance holding two or more instances one after another (each
starting at or after the previous one's end) whose first starts at its start and whose
last ends at its end, within :data:`ENVELOPE_SLACK` minutes: an encounter or a stay
recorded around the units of the pathway. An activity whose nested instances lie mostly
(over half) in envelopes is **not** taken as a support unit: it is the pathway inside
the envelope. (Requests of journeysim's export are all scheduled at the start of the
requesting visit, so several of them never follow one another.) ``support="none"``
takes no activity as support; a list of names takes exactly those.

Each support instance is then a **request** of the innermost pathway instance holding it
(the one that started last), and the request probability of a (requesting unit, class,
support unit) is the share of the unit's visits (those that started) holding at least one
of the support unit's instances. Logs of completion times only have no start times, so
nothing is nested there.

Five cases, each a Ward visit (0 to 30 min) with a Lab test inside it (0 to 20), then a
Clinic visit (30 to 50) and another (50 to 60):

>>> import numpy as np
>>> case = np.repeat(np.arange(5), 4); unit = np.tile([0, 2, 1, 1], 5)
>>> start = np.tile([0.0, 0.0, 30.0, 50.0], 5); end = np.tile([30.0, 20.0, 50.0, 60.0], 5)
>>> nest = find_support(case, unit, start, start, end, ["Ward", "Clinic", "Lab"])
>>> nest.units, nest.container[:8].tolist()
((2,), [-1, 0, -1, -1, -1, 4, -1, -1])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from ..io.scenario_writer import Commented, Table
from .report import floor4 as _floor4

__all__ = ["NESTED_SHARE", "MIN_INSTANCES", "ENVELOPE_SLACK", "Nesting",
           "find_support", "pathway_rows", "support_tables", "mark_support",
           "SUPPORT_RULE"]

#: share of an activity's finished instances that must lie within another activity's instance
NESTED_SHARE = 0.95
#: the fewest finished instances an activity needs to be called a support unit
MIN_INSTANCES = 5
#: how close (minutes) the held instances' first start and last end must be to an envelope's start and end
ENVELOPE_SLACK = 1.0
#: how far apart (in rows of the same case, sorted by time) a nested instance and its holder are looked for
_REACH = 24
#: times within this many minutes are equal (timestamps are kept to the millisecond)
_TIE = 1e-3
SUPPORT_RULE = (f"an activity is a support unit when at least {NESTED_SHARE:.0%} of its finished instances (and at "
                f"least {MIN_INSTANCES}) lie within an instance of another activity of the same case (starting at "
                "or after its start and before its end, ending at or before its end), unless most of them lie in "
                "envelopes (instances holding two or more one after another from their start to their end: an "
                "encounter around the pathway)")

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Nesting:
    """The support units found in a log and, for each row, the row of the visit that requested it.

    Attributes
    ----------
    units : tuple of int
        Activity codes of the support units.
    shares : dict of int to (float, int)
        For every activity with finished instances: the share of them nested in another activity's
        instance, and how many finished instances it has.
    container : ndarray of int
        For each row of a support unit, the row of the innermost pathway instance holding it
        (-1: not nested, or not a support unit's row).
    enveloped : dict of int to float
        For every activity with nested instances: the share of them that lie in envelopes.
    envelopes : tuple of int
        Activities most of whose instances holding others are envelopes.
    """

    units: tuple[int, ...]
    shares: dict[int, tuple[float, int]]
    container: NDArray[np.int64]
    enveloped: dict[int, float] = field(default_factory=dict)
    envelopes: tuple[int, ...] = ()

    def is_support(self, unit: NDArray[np.int64]) -> NDArray[np.bool_]:
        """True for the rows of support units."""
        return np.isin(unit, np.asarray(self.units, dtype=np.int64))


def _holders(case: NDArray[np.int64], unit: NDArray[np.int64], first: NDArray[np.float64],
             start: NDArray[np.float64], end: NDArray[np.float64],
             allowed: NDArray[np.bool_]) -> NDArray[np.int64]:
    """For each row, the allowed row of the same case and another unit that holds it, starting last, of those
    the one ending first: the innermost (-1: none)."""
    n = case.size
    best = np.full(n, -1, dtype=np.int64)
    best_start = np.full(n, -np.inf)
    best_end = np.full(n, np.inf)
    rows = np.arange(n)
    done = np.isfinite(first) & np.isfinite(end)
    for d in range(-_REACH, _REACH + 1):
        if d == 0 or abs(d) >= n:
            continue
        x = rows[max(0, -d):n - max(0, d)]
        y = x + d
        ok = (case[x] == case[y]) & (unit[x] != unit[y]) & allowed[y] & done[x] & np.isfinite(start[y])
        ok &= (start[y] <= first[x] + _TIE) & (first[x] < end[y] - _TIE) & (end[x] <= end[y] + _TIE)
        better = ok & ((start[y] > best_start[x]) | ((start[y] == best_start[x]) & (end[y] < best_end[x])))
        best[x[better]] = y[better]
        best_start[x[better]] = start[y[better]]
        best_end[x[better]] = end[y[better]]
    return best


def _envelope_rows(held_by: NDArray[np.int64], first: NDArray[np.float64], start: NDArray[np.float64],
                   end: NDArray[np.float64]) -> NDArray[np.bool_]:
    """For each row, whether it is an envelope: it holds two or more rows one after another, the first
    starting at its start and the last ending at its end (within ``ENVELOPE_SLACK``)."""
    n = held_by.size
    inner = np.flatnonzero(held_by >= 0)
    out = np.zeros(n, dtype=bool)
    if inner.size < 2:
        return out
    inner = inner[np.lexsort((first[inner], held_by[inner]))]
    holder = held_by[inner]
    same = holder[1:] == holder[:-1]
    overlap = same & (first[inner[1:]] < end[inner[:-1]] - _TIE)
    count = np.bincount(holder, minlength=n)
    bad = np.zeros(n, dtype=bool)
    bad[holder[1:][overlap]] = True
    lo = np.full(n, np.inf)
    hi = np.full(n, -np.inf)
    np.minimum.at(lo, holder, first[inner])
    np.maximum.at(hi, holder, end[inner])
    with np.errstate(invalid="ignore"):
        out = (count >= 2) & ~bad & (np.abs(lo - start) <= ENVELOPE_SLACK) & (np.abs(hi - end) <= ENVELOPE_SLACK)
    return out


def find_support(case: NDArray[np.int64], unit: NDArray[np.int64], first: NDArray[np.float64],
                 start: NDArray[np.float64], end: NDArray[np.float64], units: Sequence[str],
                 support: str | Sequence[str] = "auto") -> Nesting:
    """Find the support units of a log (see the module docstring for the rule).

    Parameters
    ----------
    case, unit : ndarray of int
        Each instance's case and activity code, rows sorted by case and then time.
    first, start, end : ndarray of float
        Each instance's first time (schedule, else start), start and end; NaN where unknown.
    units : sequence of str
        The activity names.
    support : "auto", "none" or sequence of str
        Find them by the rule, take none, or take exactly the activities named.

    Returns
    -------
    Nesting
    """
    everyone = np.ones(case.size, dtype=bool)
    held_by = _holders(case, unit, first, start, end, everyone)
    held = held_by >= 0
    envelope = _envelope_rows(held_by, first, start, end)
    finished = np.isfinite(first) & np.isfinite(end)
    shares: dict[int, tuple[float, int]] = {}
    enveloped: dict[int, float] = {}
    found = []
    for u in range(len(units)):
        mine = finished & (unit == u)
        n = int(mine.sum())
        if n == 0:
            continue
        share = float(held[mine].mean())
        shares[u] = (share, n)
        nested = mine & held
        if nested.any():
            enveloped[u] = float(envelope[held_by[nested]].mean())
        if n >= MIN_INSTANCES and share >= NESTED_SHARE and enveloped.get(u, 0.0) <= 0.5:
            found.append(u)
    holders = np.flatnonzero(held_by >= 0)
    env_units = tuple(u for u in range(len(units))
                      if (unit[held_by[holders]] == u).any() and envelope[held_by[holders]][unit[held_by[holders]] == u]
                      .mean() > 0.5)
    if isinstance(support, str) and support in ("auto", "none"):
        chosen_units = found if support == "auto" else []
    else:
        chosen_units = [list(units).index(x) for x in support]
    chosen = np.isin(unit, np.asarray(chosen_units, dtype=np.int64))
    container = (_holders(case, unit, first, start, end, ~chosen) if chosen_units
                 else np.full(case.size, -1, np.int64))
    container = np.where(chosen, container, -1)
    return Nesting(tuple(chosen_units), shares, container, enveloped, env_units)


def pathway_rows(rows: R, keep: NDArray[np.bool_]) -> R:
    """The rows (a dataclass of equal-length arrays, with ``case`` and ``has_next``) where ``keep`` holds,
    with ``has_next`` recomputed: the pathway without the support units' instances."""
    values: dict[str, Any] = {f.name: getattr(rows, f.name)[keep] for f in fields(rows)  # type: ignore[arg-type]
                              if isinstance(getattr(rows, f.name), np.ndarray)}
    case = values["case"]
    values["has_next"] = np.r_[case[1:] == case[:-1], False] if case.size else case.astype(bool)
    return replace(rows, **values)  # type: ignore[type-var]


def _probability(counts: dict[str, tuple[int, int]], one_class: bool) -> tuple[Any, str]:
    probs = {k: _floor4(hit / total) for k, (hit, total) in counts.items() if hit > 0}
    how = "; ".join(f"{k}: {hit} of {total} visits" for k, (hit, total) in counts.items() if hit > 0)
    value: Any = next(iter(probs.values())) if one_class else probs
    return value, how


def support_tables(nest: Nesting, unit: NDArray[np.int64], cls: NDArray[np.int64], start: NDArray[np.float64],
                   end: NDArray[np.float64], units: Sequence[str],
                   class_names: Sequence[str]) -> tuple[list[Table], list[tuple[str, str, str, int, str]]]:
    """The ``[[requests]]`` tables and findings ``(element, key, value, n, how)`` of the support units.

    Per requesting unit, class and support unit: the share of the unit's started visits that hold at
    least one of the support unit's instances. Per requesting unit also the share of its visits that
    ended when a support instance did (within a millisecond): those visits' end includes a wait for a
    support result, so their length is not the unit's own service time.
    """
    held = np.flatnonzero(nest.container >= 0)
    holder = nest.container[held]
    tables: list[Table] = []
    found: list[tuple[str, str, str, int, str]] = []
    started = np.isfinite(start) & ~nest.is_support(unit)
    for a in sorted(set(unit[holder].tolist())):
        visits_a = started & (unit == a)
        for s in nest.units:
            pick = holder[(unit[holder] == a) & (unit[held] == s)]
            if pick.size == 0:
                continue
            with_s = np.zeros(unit.size, dtype=bool)
            with_s[pick] = True
            counts = {class_names[k]: (int((with_s & (cls == k)).sum()), int((visits_a & (cls == k)).sum()))
                      for k in range(len(class_names)) if (visits_a & (cls == k)).any()}
            value, how = _probability(counts, len(class_names) == 1)
            how = f"support instances within {units[a]} visits; {how}"
            found.append((f"request {units[a]} => {units[s]}", "probability", str(value), int(pick.size), how))
            tables.append(Table("requests", {"from": units[a], "to": units[s], "probability": Commented(value, how)},
                                array=True))
        found.append(_bound(nest, unit, end, a, units))
    return tables, found


def _bound(nest: Nesting, unit: NDArray[np.int64], end: NDArray[np.float64], a: int,
           units: Sequence[str]) -> tuple[str, str, str, int, str]:
    """How many of unit ``a``'s requesting visits ended when one of their support instances did."""
    held = np.flatnonzero(nest.container >= 0)
    holder = nest.container[held]
    mine = unit[holder] == a
    last = np.full(unit.size, -np.inf)
    np.maximum.at(last, holder[mine], end[held[mine]])
    visits = np.flatnonzero(np.isfinite(last) & np.isfinite(end))
    bound = int((np.abs(end[visits] - last[visits]) <= _TIE).sum())
    share = bound / visits.size if visits.size else 0.0
    how = (f"{bound} of {visits.size} visits with requests ({share:.1%}) ended when a support instance did: their "
           "end includes waiting for a support result, so their length is not only the unit's own service")
    return f"microsystem {units[a]}", "support_wait", f"{share:.1%}", int(visits.size), how


def mark_support(tables: Sequence[Table], names: Sequence[str]) -> list[Table]:
    """The ``[[microsystems]]`` tables with ``kind = "support"`` after the name of each support unit."""
    out = []
    for t in tables:
        if t.name == "microsystems" and t.keys.get("name") in names:
            keys = {"name": t.keys["name"], "kind": Commented("support", SUPPORT_RULE)}
            keys.update({k: v for k, v in t.keys.items() if k not in keys})
            t = replace(t, keys=keys)
        out.append(t)
    return out
