"""Durations discovered from a log: service times and handoff delays, fitted as ``js.fit`` fits.

* **Service time** of an instance: end minus start where both exist (an instance
  still open at the end of the log is right-censored at the log's last time; in a log
  of several replications laid end to end, at the last time of its own replication). In a
  **completion-only** log (one timestamp per event, like the sepsis log) it is the
  **gap to the next event**: from the instance's timestamp to the case's next
  instance's timestamp; the case's last instance has a service of 0 (the patient
  leaves at its time), so the services of a case add up to its duration in the log.
* **Handoff delay**: the end of one instance to the schedule time (else the start) of
  the case's next (0 in a completion-only log, where the gap is the service).

A sample with 5% or more zeros (events logged at one timestamp) cannot be fitted by
the lognormal, gamma or Weibull: it is written as a zero-inflated **mixture**, a
fixed 0 with the zeros' count as weight and the family fitted to the positive values
with theirs. Fewer zeros are left out of the fit, and the comment says how many.
A sample over 20,000 values is fitted on a seeded random 20,000 of them; the counts
are of every value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import JourneySimError, ValidationError
from .fit import SMALL_SAMPLE, FamilyFit, FitResult, fit
from .rows import Rows

__all__ = ["duration", "service", "delay", "service_values", "gaps_to_next", "FIT_AT_MOST", "ZERO_SHARE"]

#: the most values a family is fitted to (a seeded random subsample beyond)
FIT_AT_MOST = 20_000
#: from this share of zeros on, a mixture of a fixed 0 and the family fitted to the positive values is written
ZERO_SHARE = 0.05
GAP_TO_NEXT = "gap to the next event (completion times only; a case's last event: 0, the patient leaves)"


def _fit_text(r: FitResult, n: int, sub: bool) -> str:
    b = r.best
    name = "median" if "median" in b.ci else next(iter(b.ci), "")
    ci = f", 95% CI of {name} [{b.ci[name][0]:.4g}, {b.ci[name][1]:.4g}]" if name else ""
    weight = "" if b.weight is None else f" (AIC weight {b.weight:.2f})"
    cens = f" ({r.n_censored} censored)" if r.n_censored else ""
    picked = f", fitted on a seeded random {r.n}" if sub else ""
    return f"n={n}{cens}, {b.family}{weight}{ci}{picked}{_truncated(b)}"


def _truncated(b: FamilyFit) -> str:
    """For a normal whose truncation at 0 matters (its parent puts 1% or more below 0), what the distribution
    is once truncated: its ``mean`` and ``sd`` are the parent normal's, and may read oddly (a negative mean).

    >>> _truncated(FamilyFit("normal", {"mean": -68.1, "sd": 310.6}))
    "; truncated at 0 (mean and sd are the untruncated normal's, 59% of it below 0): median 186, mean 224.6"
    >>> _truncated(FamilyFit("normal", {"mean": 60.0, "sd": 10.0}))
    ''
    """
    if b.family != "normal":
        return ""
    from scipy.stats import norm

    below = float(norm.cdf(0.0, b.params["mean"], b.params["sd"]))
    if below < 0.01:
        return ""
    d = b.frozen()
    return (f"; truncated at 0 (mean and sd are the untruncated normal's, {below:.0%} of it below 0): "
            f"median {float(d.median()):.4g}, mean {float(d.mean()):.4g}")


def _sig(x: float) -> float:
    return float(f"{x:.4g}")


def duration(values: NDArray[np.float64], censored: NDArray[np.bool_], what: str, seed: int,
             stream: int = 0, zeros: str = "events at one timestamp") -> tuple[Any, str, bool]:
    """A fitted distribution table (best by AIC) with its provenance, and whether the data are thin.

    Below 20 values: the empirical distribution of the values. With 5% or more zeros:
    a mixture of a fixed 0 and the family fitted to the positive values. Over 20,000
    values: fitted on a random 20,000 (``seed`` and ``stream`` seed the draw).

    Examples
    --------
    >>> x = np.r_[np.zeros(30), np.random.default_rng(1).exponential(10.0, 70)]
    >>> table, how, thin = duration(x, np.zeros(100, bool), "gap", seed=0)
    >>> table["dist"], table["weights"], table["components"][0]
    ('mixture', [30, 70], 0)
    """
    n = int(values.size)
    if n < SMALL_SAMPLE:
        vals = [_sig(v) for v in values[~censored]] or [0.0]
        return ({"dist": "empirical", "values": vals}, f"n={n} {what}, empirical (thin data: n < {SMALL_SAMPLE})",
                True)
    zero = (values <= 0.0) & ~censored
    if zero.all():
        return {"dist": "fixed", "value": 0}, f"n={n}, {what}: all {n:,} values are 0: fixed 0", False
    if zero.mean() >= ZERO_SHARE:
        k = int(zero.sum())
        pos, phow, pthin = duration(values[~zero], censored[~zero], "positive values", seed, stream)
        return ({"dist": "mixture", "components": [0, pos], "weights": [k, n - k]},
                f"n={n}, {what}; {k} zero ({k / n:.0%}: {zeros}): a mixture of 0 (weight {k}; no lognormal, gamma "
                f"or Weibull fits zeros) and, for the {n - k} positive values, {phow}", pthin)
    note = f"; {int(zero.sum())} zero values left out of the fit" if zero.any() else ""
    x, c = values[~zero], censored[~zero]
    sub = x.size > FIT_AT_MOST
    if sub:
        pick = np.sort(np.random.default_rng([seed, stream]).choice(x.size, FIT_AT_MOST, replace=False))
        x, c = x[pick], c[pick]
    try:
        r = fit(x, c, bootstrap=0, seed=seed)
    except (JourneySimError, ValidationError) as err:
        mean = float(np.mean(values))
        return {"dist": "fixed", "value": _sig(mean)}, f"n={n} {what}, mean (no family fitted: {err})", False
    return r.best.table_entry(), f"{_fit_text(r, n, sub)}; {what}{note}", False


def gaps_to_next(rows: Rows) -> NDArray[np.float64]:
    """Each row's gap to the next event of its case (minutes; 0 at a case's last: the patient leaves).

    The service time of an instance in a completion-only log; fidelity's stay
    (:func:`journeysim.data.pathway.stays`) reads it too.

    Examples
    --------
    >>> import datetime as dt
    >>> from .logs import EventLog
    >>> from .rows import case_rows
    >>> nan = np.full(3, np.nan)
    >>> log = EventLog("x", dt.datetime(2026, 1, 5), np.array([0, 0, 1], np.int32), np.array(["a", "b"], object),
    ...                np.zeros(3, np.int32), np.array(["ED"], object), nan, nan, np.array([0.0, 10, 5]),
    ...                np.zeros(3, bool), np.zeros(3, np.int32), np.array(["p"], object), np.full(3, -1, np.int32),
    ...                np.array([], object), {}, np.arange(3), 3)
    >>> gaps_to_next(case_rows(log, np.zeros(3, np.int64))).tolist()
    [10.0, 0.0, 0.0]
    """
    nxt = np.r_[rows.first[1:], np.nan]
    return np.maximum(np.where(rows.has_next, nxt - rows.first, 0.0), 0.0)


def service_values(rows: Rows, u: int) -> tuple[NDArray[np.float64], NDArray[np.bool_], str]:
    """Unit ``u``'s service times, which are censored, and how they were measured ('' when none).

    An instance still open is censored at ``rows.censor`` (its replication's last time).

    >>> s, e = np.array([0.0, 5.0]), np.array([10.0, np.nan])
    >>> rows = Rows(unit=np.zeros(2, np.int64), case=np.arange(2), cls=np.zeros(2, np.int64), first=s, arrive=s,
    ...             start=s, end=e, scheduled=np.full(2, np.nan), has_next=np.zeros(2, bool), index=np.arange(2),
    ...             rep=np.zeros(2, np.int64), censor=np.array([10.0, 12.0]))
    >>> values, censored, how = service_values(rows, 0)
    >>> values.tolist(), censored.tolist(), how
    ([10.0, 7.0], [False, True], 'start to end')
    """
    mine = rows.unit == u
    if rows.completion_only:
        gap = gaps_to_next(rows)[mine]
        return gap, np.zeros(gap.size, bool), GAP_TO_NEXT
    s, e, last = rows.start[mine], rows.end[mine], rows.censor[mine]
    done = np.isfinite(s) & np.isfinite(e)
    open_ = np.isfinite(s) & ~np.isfinite(e)
    if not done.any():
        return np.empty(0), np.empty(0, bool), ""
    values = np.concatenate([np.maximum(e[done] - s[done], 0.0), np.maximum(last[open_] - s[open_], 0.0)])
    censored = np.r_[np.zeros(int(done.sum()), bool), np.ones(int(open_.sum()), bool)]
    return values, censored, "start to end"


def service(rows: Rows, u: int, seed: int) -> tuple[Any, str, bool, int]:
    """Unit ``u``'s service distribution table, its provenance, thin data, and the number of values."""
    values, censored, what = service_values(rows, u)
    if not what:
        return {"dist": "fixed", "value": 0}, "no finished instance with a start time: a placeholder of 0", True, 0
    zeros = "events at one timestamp"
    if rows.completion_only:
        mine = rows.unit == u
        last_events = int((~rows.has_next[mine]).sum())
        zeros = f"{last_events} of them cases' last events (the patient leaves), the others events at one timestamp"
    table, how, thin = duration(values, censored, what, seed, stream=u, zeros=zeros)
    return table, how, thin, int(values.size)


def delay(gap: NDArray[np.float64], seed: int, stream: int = 0) -> tuple[Any, str, bool] | None:
    """The handoff delay (end of one instance to the schedule or start of the next), or None when always 0."""
    if gap.size == 0 or float(gap.max()) < 1e-6:
        return None
    if gap.size < SMALL_SAMPLE:
        mean = float(np.mean(gap))
        return ({"dist": "fixed", "value": _sig(mean)},
                f"n={gap.size} end to next arrival, the mean (thin data: n < {SMALL_SAMPLE})", True)
    return duration(gap, np.zeros(gap.size, bool), "end to next arrival", seed, stream)
