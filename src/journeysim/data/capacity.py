"""Capacities inferred from concurrency, and the check of each against its offered load.

:func:`capacity` takes the time-weighted quantile of the number of a unit's instances in
service at once. When the log has schedule times, a unit where fewer than 1% of the
instances waited (started after their schedule time) is ``"unlimited"``: the data show
no ceiling. :func:`offered_load` is Little's law: visits per minute times the mean
service time (of the distribution written), the mean number in service the unit needs;
a capacity at or below it would make the unit unstable (its queue would grow without end).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import JourneySimError, ValidationError
from ..model._problems import Collector
from .rows import Rows

__all__ = ["capacity", "offered_load", "CAPACITY_RULE", "WAITED"]

CAPACITY_RULE = ("the time-weighted {q:g}th percentile of the number in service at once; "
                 "'unlimited' when fewer than {lim:.0%} of the instances waited (started after their schedule time); "
                 "checked against the offered load (visits per minute x mean service time, Little's law)")
#: the share of waiting instances below which a unit is unlimited
WAITED = 0.01


def capacity(rows: Rows, u: int, last: float, q: float) -> tuple[Any, str, int]:
    """Unit ``u``'s capacity (an int or ``"unlimited"``), how it was found, and the number of instances."""
    mine = (rows.unit == u) & np.isfinite(rows.start)
    s = rows.start[mine]
    e = np.where(np.isfinite(rows.end[mine]), rows.end[mine], last)
    if s.size == 0:
        return "unlimited", "no start times: capacity not in the log", 0
    times = np.r_[s, e]
    step = np.r_[np.ones(s.size), -np.ones(e.size)]
    order = np.lexsort((step, times))
    count = np.cumsum(step[order])[:-1]
    dur = np.diff(times[order])
    by = np.argsort(count, kind="stable")
    cum = np.cumsum(dur[by])
    level = int(count[by][min(int(np.searchsorted(cum, q * cum[-1])), count.size - 1)]) if cum[-1] > 0 else 1
    level = max(level, 1)
    sched = rows.scheduled[mine]
    known = np.isfinite(sched)
    n = int(s.size)
    top = int(count.max()) if count.size else 1
    if known.sum() >= max(1, n // 2):
        waited = float(np.mean(s[known] - sched[known] > 1e-6))
        if waited < WAITED:
            return "unlimited", f"n={n}, {waited:.1%} waited: no ceiling in the data (at most {top} at once)", n
        return level, f"n={n}, {waited:.1%} waited; {q:.0%} quantile of the number in service (max {top})", n
    return level, f"n={n}, {q:.0%} quantile of the number in service (max {top}); FLAG: no schedule times, " \
                  "so whether this is a ceiling is not checked", n


def mean_of(table: Mapping[str, Any]) -> float:
    """The mean (minutes) of a distribution in its scenario-file form.

    >>> mean_of({"dist": "exponential", "mean": 30})
    30.0
    """
    from ..io.scenario_file import parse_distribution

    c = Collector()
    d = parse_distribution(dict(table), c, "service")
    if d is None:
        raise ValidationError(c.problems)
    return float(d.mean)


def offered_load(visits: int, window_min: float, service: Mapping[str, Any], cap: Any) -> tuple[float, str, bool]:
    """The offered load ``λ E[S]`` of a unit, its provenance, and whether it is at or above the capacity.

    >>> offered_load(1440, 1440.0, {"dist": "fixed", "value": 3}, 2)[0::2]
    (3.0, True)
    """
    if window_min <= 0:
        raise JourneySimError("the log's window is empty: no offered load")
    lam = visits / window_min
    mean = mean_of(service)
    load = lam * mean
    how = (f"{visits} visits over {window_min / 1440:.1f} days ({lam * 60:.4g} an hour) x mean service "
           f"{mean:.4g} min = {load:.3g} busy on average")
    if cap == "unlimited":
        return load, how + "; capacity unlimited", False
    unstable = load >= float(cap)
    how += (f" >= capacity {cap}: UNSTABLE, the unit's queue would grow without end (raise the capacity or "
            "check the service times)" if unstable else f" < capacity {cap} (utilisation {load / float(cap):.0%})")
    return load, how, unstable
