"""A log of several simulation replications, laid end to end in time.

``journeysim run SCENARIO --events LOG`` exports every replication of the run, each
starting at the same simulated time 0 (``case:replication`` tells them apart). Read as
one window, the replications overlap: arrival rates would come out one per replication
too many, and the numbers in service would add up across replications. :func:`end_to_end`
shifts the times of replication *r* by *r* x *P*, where *P* is the span of one
replication's case starts rounded up to whole days (so the hour of day is kept; the
weekday too when *P* is a whole number of weeks), so that the replications follow one
another like consecutive periods of one hospital. Where one replication's last patients
are still in the pathway when the next one's first arrive (a run drains after its
horizon), the two overlap in time. They are still kept apart where it matters: each row
keeps its replication (:attr:`Laid.replication`), an instance still open at its
replication's last time is censored **there** (not at the last replication's end), and
the number in service is counted within each replication (``data/capacity.py``), never
added across replications. The arrival window is the period times the number of
replications (:attr:`Laid.window`).

>>> import numpy as np
>>> shift_of(np.array([0, 0, 1, 1]), np.array([10.0, 1400.0, 30.0, 1300.0]))
(array([   0.,    0., 1440., 1440.]), 1440.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from .logs import EventLog, Labelled

__all__ = ["REPLICATION", "Laid", "end_to_end", "shift_of"]

#: the replication column of journeysim's export
REPLICATION = "case:replication"


def shift_of(replication: NDArray[np.int64], case_start: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
    """Each row's shift (minutes) and the period ``P``, from each row's replication number (0, 1, ...)
    and its case's start time."""
    period = 1440.0 * max(1, math.ceil(float(np.ptp(case_start)) / 1440.0 - 1e-9))
    order = {r: i for i, r in enumerate(np.unique(replication).tolist())}
    index = np.array([order[r] for r in replication.tolist()], dtype=np.float64)
    return index * period, period


@dataclass(frozen=True, slots=True)
class Laid:
    """A log with its replications laid end to end.

    Attributes
    ----------
    log : EventLog
        The log, each replication's times shifted by its index times ``period``.
    note : str or None
        What was done (None: one replication, nothing done).
    replication : ndarray of int
        Each log row's replication index (0, 1, ...; all 0 for one replication).
    period : float or None
        Minutes between one replication's start and the next (None: one replication).
    count : int
        The number of replications.

    Examples
    --------
    >>> laid = Laid(None, None, np.zeros(3, dtype=np.int64), None, 1)  # type: ignore[arg-type]
    >>> laid.window is None
    True
    """

    log: EventLog
    note: str | None
    replication: NDArray[np.int64]
    period: float | None
    count: int

    @property
    def window(self) -> float | None:
        """The arrival window in minutes (period x count), None for one replication."""
        return None if self.period is None else self.period * self.count


def end_to_end(log: EventLog) -> Laid:
    """The log with its replications laid end to end (see the module docstring), with a note saying so
    and each row's replication; the log itself and no note when it holds one replication or no
    ``case:replication`` column."""
    one = Laid(log, None, np.zeros(len(log), dtype=np.int64), None, 1)
    column = log.attributes.get(REPLICATION)
    if column is None or isinstance(column, Labelled) or len(log) == 0:
        return one
    rep = np.where(np.isfinite(column), column, -1.0).astype(np.int64)
    if np.unique(rep).size <= 1:
        return one
    first = np.fmin(log.scheduled, np.fmin(log.start, log.end))
    case_start = np.full(log.n_cases, np.inf)
    np.minimum.at(case_start, log.case, np.where(np.isfinite(first), first, np.inf))
    starts = case_start[log.case]
    ok = np.isfinite(starts)
    shift, period = shift_of(rep, np.where(ok, starts, np.nanmin(starts[ok]) if ok.any() else 0.0))
    n = np.unique(rep).size
    weeks = "" if period % 10080 == 0 else " (not a whole number of weeks: weekdays are not kept)"
    note = (f"{n} replications ({REPLICATION}) laid end to end, each {period / 1440:g} days after the one before"
            f"{weeks}: rates are cases over {n} x {period / 1440:g} days; an instance open at its replication's "
            "end is censored there; the number in service is counted within each replication")
    index = np.rint(shift / period).astype(np.int64)
    shifted = replace(log, scheduled=log.scheduled + shift, start=log.start + shift, end=log.end + shift)
    return Laid(shifted, note, index, period, n)
