"""Capacities inferred from concurrency, and the check of each against its offered load.

:func:`capacity` takes the time-weighted quantile of the number of a unit's instances in
service at once (an instance still open counts until its replication's last time). In a
log of several replications laid end to end, the number in service is counted within
each replication, and the quantile is taken over the time of all of them together (the
pooled time-weighted distribution): the counts of two replications never add up, even
where one's drain overlaps the next one's start. When the log has schedule times, a unit where fewer than 1% of the
instances waited (started after their schedule time) is ``"unlimited"``: the data show
no ceiling. :func:`offered_load` is Little's law: visits per minute times the mean
service time (of the distribution written), the mean number in service the unit needs,
with the visits spread over the **arrival window** (the days covering the case starts;
for replications, the period times their number), not over the drain after it;
a capacity at or below it would make the unit unstable (its queue would grow without end).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import JourneySimError, ValidationError
from ..model._problems import Collector
from .rows import Rows

__all__ = ["capacity", "offered_load", "mean_of", "in_service", "CAPACITY_RULE", "WAITED"]

CAPACITY_RULE = ("the time-weighted {q:g}th percentile of the number in service at once (counted within each "
                 "replication when several are laid end to end, over the time of all of them); "
                 "'unlimited' when fewer than {lim:.0%} of the instances waited (started after their schedule time); "
                 "checked against the offered load (visits per minute x mean service time, Little's law)")
#: the share of waiting instances below which a unit is unlimited
WAITED = 0.01


def pct(q: float) -> str:
    """A quantile as a percentage without rounding it away.

    >>> pct(0.99), pct(0.995), pct(1.0)
    ('99%', '99.5%', '100%')
    """
    return f"{100 * q:.4g}%"


def in_service(start: NDArray[np.float64], end: NDArray[np.float64],
               rep: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The number in service and how long it lasted (minutes), interval by interval, counted within each
    replication (``rep``): the steps of the number in service of all replications, pooled.

    Two replications, each with two overlapping instances: at most 2 at once, never 4.

    >>> count, dur = in_service(np.array([0.0, 5, 0, 5]), np.array([10.0, 15, 10, 15]), np.array([0, 0, 1, 1]))
    >>> [float(dur[count == k].sum()) for k in (1, 2, 3, 4)]
    [20.0, 10.0, 0.0, 0.0]
    """
    times = np.r_[start, end]
    step = np.r_[np.ones(start.size), -np.ones(end.size)]
    reps = np.r_[rep, rep]
    order = np.lexsort((step, times, reps))
    count = np.cumsum(step[order])[:-1]
    same = reps[order][1:] == reps[order][:-1]
    dur = np.where(same, np.diff(times[order]), 0.0)
    return count, dur


def capacity(rows: Rows, u: int, q: float) -> tuple[Any, str, int]:
    """Unit ``u``'s capacity (an int or ``"unlimited"``), how it was found, and the number of instances.

    An instance still open counts as in service until ``rows.censor`` (its replication's last time).

    Three instances of unit 0 without schedule times, two of them at once, the third still open at 30:

    >>> s, e = np.array([0.0, 5.0, 20.0]), np.array([10.0, 15.0, np.nan])
    >>> rows = Rows(unit=np.zeros(3, np.int64), case=np.arange(3), cls=np.zeros(3, np.int64), first=s, arrive=s,
    ...             start=s, end=e, scheduled=np.full(3, np.nan), has_next=np.zeros(3, bool), index=np.arange(3),
    ...             rep=np.zeros(3, np.int64), censor=np.full(3, 30.0))
    >>> capacity(rows, 0, 0.99)[0], capacity(rows, 0, 0.5)[0]
    (2, 1)
    """
    mine = (rows.unit == u) & np.isfinite(rows.start)
    s = rows.start[mine]
    e = np.where(np.isfinite(rows.end[mine]), rows.end[mine], rows.censor[mine])
    if s.size == 0:
        return "unlimited", "no start times: capacity not in the log", 0
    count, dur = in_service(s, np.maximum(e, s), rows.rep[mine])
    by = np.argsort(count, kind="stable")
    cum = np.cumsum(dur[by])
    level = int(count[by][min(int(np.searchsorted(cum, q * cum[-1])), count.size - 1)]) if cum[-1] > 0 else 1
    level = max(level, 1)
    sched = rows.scheduled[mine]
    known = np.isfinite(sched)
    n = int(s.size)
    top = max(int(count.max()), 1) if count.size else 1  # zero-length instances can dip below 0
    if known.sum() >= max(1, n // 2):
        waited = float(np.mean(s[known] - sched[known] > 1e-6))
        if waited < WAITED:
            return "unlimited", f"n={n}, {waited:.1%} waited: no ceiling in the data (at most {top} at once)", n
        return level, f"n={n}, {waited:.1%} waited; {pct(q)} quantile of the number in service (max {top})", n
    return level, f"n={n}, {pct(q)} quantile of the number in service (max {top}); FLAG: no schedule times, " \
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


def offered_load(visits: int, window_min: float, service: Mapping[str, Any], cap: Any,
                 unit: str = "the unit") -> tuple[float, str, bool]:
    """The offered load ``λ E[S]`` of a unit, its provenance, and whether it is at or above the capacity.

    ``window_min`` is the arrival window (minutes) the visits are spread over.

    >>> offered_load(1440, 1440.0, {"dist": "fixed", "value": 3}, 2)[0::2]
    (3.0, True)
    """
    if window_min <= 0:
        raise JourneySimError(f"{unit}: the arrival window is empty (every case starts at one instant), so its "
                              f"{visits} visits have no rate and no offered load; discover from a log whose cases "
                              "start over some time")
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
