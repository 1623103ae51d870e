"""Timeliness standards the user states, e.g. ``"antibiotics_1h: ER Registration -> IV Antibiotics <= 60 min"``.

A stated standard ``NAME: A -> B <= LIMIT UNIT`` (unit ``min``, ``h`` or ``d``, or
their long forms) judges the time from the first time a case reaches activity ``A``
to the first time it reaches ``B``. In the scenario it is a ``[[standards]]`` entry
from ``arrive:A`` to ``arrive:B``. In the log the time a case reaches an activity is
its instance's schedule time, else its start, else (a completion-only log) its
timestamp: in a discovered completion-only model a visit begins at its event's
timestamp (its service is the gap to the next event), so ``arrive:A`` is that time
in the simulation too. A case that reached ``A`` and never ``B`` misses the standard
(as the scenario's default, ``reached_only = false``, judges it).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import Problem, ValidationError
from .report import ObservedStandard
from .rows import Rows

__all__ = ["StatedStandard", "parse_standard", "parse_standards", "observe", "standard_keys"]

_SPEC = re.compile(r"^\s*(?P<name>[^:]+?)\s*:\s*(?P<a>.+?)\s*->\s*(?P<b>.+?)\s*<=\s*"
                   r"(?P<limit>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>[A-Za-z]+)\s*$")
_UNITS = {"min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes", "m": "minutes",
          "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
          "d": "days", "day": "days", "days": "days"}
_PER = {"minutes": 1.0, "hours": 60.0, "days": 1440.0}
_NAME = re.compile(r"^[^\s.:]+$")
FORM = '"NAME: ACTIVITY -> ACTIVITY <= NUMBER min|h|d"'


@dataclass(frozen=True, slots=True)
class StatedStandard:
    """A standard as stated: ``name``, from activity ``source`` to ``target`` within ``within`` ``unit``."""

    name: str
    source: str
    target: str
    within: float
    unit: str = "minutes"

    @property
    def minutes(self) -> float:
        """The limit in minutes."""
        return self.within * _PER[self.unit]


def parse_standard(spec: str, path: str = "standard") -> StatedStandard | Problem:
    """A :class:`StatedStandard` from its text, or the :class:`~journeysim.errors.Problem` with it.

    >>> parse_standard("antibiotics_1h: ER Registration -> IV Antibiotics <= 1 h")
    StatedStandard(name='antibiotics_1h', source='ER Registration', target='IV Antibiotics', within=1.0, unit='hours')
    >>> parse_standard("x: A -> B < 60 min").message[:17]
    "cannot read 'x: A"
    """
    m = _SPEC.match(spec)
    if not m:
        return Problem(path, f"cannot read {spec!r}; the form is {FORM}")
    name, unit = m["name"], _UNITS.get(m["unit"].lower())
    if unit is None:
        return Problem(path, f"{spec!r}: unknown unit {m['unit']!r}; use min, h or d")
    if not _NAME.match(name):
        return Problem(path, f"{spec!r}: the name {name!r} may not hold spaces, dots or colons")
    return StatedStandard(name, m["a"], m["b"], float(m["limit"]), unit)


def parse_standards(specs: Sequence[str | StatedStandard], activities: Sequence[str] | None = None,
                    source: str = "") -> list[StatedStandard]:
    """Every stated standard, checked against the log's ``activities``; every problem raised at once."""
    out: list[StatedStandard] = []
    problems: list[Problem] = []
    for i, spec in enumerate(specs):
        path = f"standards[{i}]"
        s = spec if isinstance(spec, StatedStandard) else parse_standard(str(spec), path)
        if isinstance(s, Problem):
            problems.append(s)
            continue
        if activities is not None:
            for act in (s.source, s.target):
                if act not in activities:
                    close = difflib.get_close_matches(act, list(activities), n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else f"; the activities are {', '.join(activities)}"
                    problems.append(Problem(path, f"{s.name}: no activity {act!r} in the log{hint}", source))
        if s.name in (x.name for x in out):
            problems.append(Problem(path, f"the name {s.name!r} is used twice"))
        if activities is not None and s.name in activities:
            problems.append(Problem(path, f"the name {s.name!r} is an activity's; choose another"))
        out.append(s)
    if problems:
        raise ValidationError(problems)
    return out


def _first_reach(rows: Rows, u: int, n_cases: int) -> np.ndarray:
    t = np.full(n_cases, np.inf)
    mine = rows.unit == u
    np.minimum.at(t, rows.case[mine], rows.first[mine])
    return t


def observe(s: StatedStandard, rows: Rows, units: Sequence[str]) -> ObservedStandard:
    """The standard's attainment in the log: of the cases that reached ``source``, those that met it."""
    n_cases = int(rows.case.max()) + 1 if rows.case.size else 0
    ta = _first_reach(rows, list(units).index(s.source), n_cases)
    tb = _first_reach(rows, list(units).index(s.target), n_cases)
    reached = np.isfinite(ta)
    gap = tb[reached] - ta[reached]
    never = ~np.isfinite(gap)
    met = np.isfinite(gap) & (gap <= s.minutes + 1e-9)
    return ObservedStandard(s.name, s.source, s.target, s.minutes, int(reached.sum()), int(met.sum()),
                            int(never.sum()), int((np.isfinite(gap) & (gap < 0)).sum()))


def standard_keys(s: StatedStandard, obs: ObservedStandard) -> dict[str, object]:
    """The ``[[standards]]`` entry's keys; ``reference`` states the observed attainment."""
    lo, hi = obs.ci95
    seen = (f"observed: {obs.met} of {obs.n} cases that reached {s.source} met it ({obs.share:.1%}, 95% CI "
            f"[{lo:.1%}, {hi:.1%}]); {obs.never} ({obs.never / obs.n:.1%}) never reached {s.target}"
            if obs.n else f"observed: no case reached {s.source}")
    return {"name": s.name, "from": f"arrive:{s.source}", "to": f"arrive:{s.target}",
            "within": s.within if s.within != int(s.within) else int(s.within), "unit": s.unit,
            "reference": f"stated by the user: first {s.source} to first {s.target}; {seen}"}
