"""Choosing a warm-up period: the MSER-5 truncation rule and Welch's moving average.

A run that starts empty and idle is not in steady state: early patients wait
less than they will later, so statistics taken from time zero are biased. The
usual remedy is to drop a *warm-up*: the journeys that arrive before some time.
This module suggests one from a pilot run.

* :func:`mser` applies the MSER-5 rule (White 1997; White, Cobb & Spratt 2000)
  to any output series: it picks the truncation point that minimises the
  marginal standard error of the mean of what is left.
* :func:`welch` gives Welch's moving average of a series across replications,
  the classic curve to inspect by eye (Law 2015, chapter 9).
* :func:`suggest_warmup` builds a replication-averaged series of a steady-state
  output from a pilot :class:`~journeysim.run.results.RunResult` and applies
  MSER-5 to it, as Hoad, Robinson & Davies (2010) recommend for automated use.

References
----------
.. [1] White, K. P. (1997). An effective truncation heuristic for bias
   reduction in simulation output. *Simulation* 69(6), 323-334.
.. [2] White, K. P., Cobb, M. J. & Spratt, S. C. (2000). A comparison of five
   steady-state truncation heuristics for simulation. *Proceedings of the
   Winter Simulation Conference*, 755-760.
.. [3] Hoad, K., Robinson, S. & Davies, R. (2010). Automating warm-up length
   estimation. *Journal of the Operational Research Society* 61(9), 1389-1403.
.. [4] Law, A. M. (2015). *Simulation Modeling and Analysis*, 5th ed. McGraw-Hill.

Examples
--------
A series whose mean decays from 10 to 0, with unit noise:

>>> rng = np.random.default_rng(42)
>>> t = np.arange(2000)
>>> y = 10 * np.exp(-t / 200) + rng.normal(size=t.size)
>>> res = mser(y)
>>> res.reliable, 300 <= res.truncation <= 1500
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .figures import as_floats

if TYPE_CHECKING:
    from ..engine.records import Records
    from ..model.mesosystem import Model
    from ..run.results import RunResult

__all__ = ["MserResult", "WarmupSuggestion", "mser", "suggest_warmup", "welch"]

#: The statistic over the last few batch means swings wildly (with two of them it
#: can be almost zero by chance), so candidates must leave at least this many.
_MIN_KEPT_BATCHES = 5
#: With fewer batch means than this the second half holds too few candidates to show
#: whether it is steady.
_MIN_BATCHES = 20
#: Batch means that agree to this relative precision are taken as constant.
_FLAT_RTOL = 1e-9
#: Default number of time bins over the horizon; see suggest_warmup for why this many.
_TARGET_BINS = 1000
#: Bin widths that read well, in minutes: up to an hour, hours, days, a week.
_NICE_MINUTES = (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440, 2880, 4320, 10080)
_WEEK = 10080.0

_JOURNEY_STATISTICS = ("time_in_system",)
_NODE_STATISTICS = ("wait", "sojourn")


_Array = TypeVar("_Array", bound=NDArray[Any])


def _read_only(a: _Array) -> _Array:
    a.setflags(write=False)
    return a


# eq=False: the fields hold numpy arrays, whose == is elementwise, so the generated
# __eq__ would raise "truth value of an array is ambiguous".
@dataclass(frozen=True, slots=True, eq=False)
class MserResult:
    """The outcome of the MSER truncation rule on one series.

    Attributes
    ----------
    truncation : int
        Number of leading observations to drop (a multiple of ``batch``).
    curve : ndarray of float
        ``curve[d]`` is the statistic MSER(d) when the first ``d`` batch means
        are dropped, one entry per batch mean; ``nan`` for the last candidates,
        which leave fewer than 5 batch means and are not searched.
    reliable : bool
        False when the series is too short to judge: fewer than 20 batch means,
        or the statistic is smallest in the second half of the series (the
        transient may not be over, or the output trends). Then ``truncation``
        is only the best point of the first half; run longer before trusting it.
    n : int
        Number of observations in the series.
    batch : int
        Observations per batch mean.
    """

    truncation: int
    curve: NDArray[np.float64] = field(repr=False)
    reliable: bool
    n: int
    batch: int


@dataclass(frozen=True, slots=True, eq=False)
class WarmupSuggestion:
    """A warm-up period suggested from a pilot run, with the evidence for it.

    Attributes
    ----------
    warmup_minutes : float
        Suggested warm-up: the start of the first time bin kept by MSER-5
        (0 when nothing needs dropping). Pass it as ``warmup=`` to
        :func:`~journeysim.run.experiment.simulate`.
    reliable : bool
        ``mser.reliable``: False means the pilot was too short to show a
        steady state; run a longer pilot rather than use ``warmup_minutes``.
    statistic : str
        Output the series is made of: ``"time_in_system"``, or ``"wait"`` or
        ``"sojourn"`` at ``node``.
    node : str or None
        Microsystem whose visits make the series, or None for whole journeys.
    bin_minutes : float
        Width of the time bins.
    times : ndarray of float
        Start of each bin, in minutes; the bins cover ``[0, horizon)``, the
        last one cut short at the horizon.
    series : ndarray of float
        Mean of the output over the observations that arrived in each bin,
        pooled over the replications; ``nan`` for an empty bin.
    counts : ndarray of int
        Number of observations in each bin, over all replications.
    by_replication : ndarray of float
        Bin means of each replication (replications x bins; ``nan`` where
        empty): pass it to :func:`welch` for a curve to inspect.
    mser : MserResult
        MSER-5 applied to the non-empty bins of ``series``, in time order.
    """

    warmup_minutes: float
    reliable: bool
    statistic: str
    node: str | None
    bin_minutes: float
    times: NDArray[np.float64]
    series: NDArray[np.float64]
    counts: NDArray[np.int64]
    by_replication: NDArray[np.float64]
    mser: MserResult


def mser(series: ArrayLike, batch: int = 5) -> MserResult:
    r"""Truncation point of a series by the MSER rule on batch means (MSER-5 by default).

    The series is cut into ``k = n // batch`` consecutive batches (a last,
    incomplete batch is left out) and replaced by their means
    :math:`Y_1, \dots, Y_k`. Dropping the first ``d`` batch means leaves

    .. math::

        \mathrm{MSER}(d) = \frac{1}{(k - d)^2} \sum_{i=d+1}^{k} \left(Y_i - \bar Y(d)\right)^2,
        \qquad \bar Y(d) = \frac{1}{k - d} \sum_{i=d+1}^{k} Y_i,

    about the squared half-width of a confidence interval for the mean of
    what is left: dropping a biased start narrows it, dropping steady data
    widens it. The rule keeps the minimiser :math:`d^*` over
    :math:`0 \le d \le k/2`, and reports it as unreliable when the minimum over
    all candidates (those leaving at least 5 batch means) lies in the second
    half, which means the series is too short or never settles (White 1997;
    Hoad, Robinson & Davies 2010). Computed in O(n) from suffix sums.

    Batch means that all agree to a relative 1e-9 count as constant, since
    differences that small are floating-point rounding: nothing is dropped.

    Parameters
    ----------
    series : array_like of float, 1-D
        Observations in time order, all finite. For several replications,
        pass their average (see :func:`suggest_warmup`).
    batch : int
        Observations per batch mean; 5 gives MSER-5, 1 the original MSER.

    Returns
    -------
    MserResult
        ``truncation = batch * d*`` observations to drop.

    Raises
    ------
    ValueError
        If ``series`` is not one-dimensional or holds ``nan`` or infinite
        values, or if ``batch`` is not a positive integer.

    Examples
    --------
    >>> res = mser([9.0, 7, 5, 3, 1] + [1.0, 1.2, 0.8] * 20, batch=1)
    >>> res.truncation, res.reliable, res.n
    (4, True, 65)
    >>> mser(np.arange(100.0)).reliable  # a trend never settles
    False
    """
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    batch = int(batch)
    y = np.asarray(series, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"series must be one-dimensional, got an array of shape {y.shape}")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise ValueError(
            f"series has {bad.size} nan or infinite value(s), the first at position {bad[0]}; "
            "drop or fill them first"
        )
    n = y.size
    k = n // batch
    curve = np.full(k, np.nan)
    last = k - _MIN_KEPT_BATCHES  # last candidate d that is searched
    if last < 0:
        return MserResult(0, _read_only(curve), False, n, batch)
    means = y[: k * batch].reshape(k, batch).mean(axis=1)
    if np.ptp(means) <= _FLAT_RTOL * np.max(np.abs(means)):
        # Constant but for rounding (a fixed time computed as end - arrival late in a run):
        # the curve would be rounding noise, with its minimum anywhere.
        curve[: last + 1] = 0.0
        return MserResult(0, _read_only(curve), k >= _MIN_BATCHES, n, batch)
    # Shifting by the mean keeps the sums small, limiting cancellation in sum(y^2) - (sum y)^2 / m.
    z = means - means.mean()
    s1 = np.cumsum(z[::-1])[::-1]
    s2 = np.cumsum((z * z)[::-1])[::-1]
    kept = np.arange(k, 0, -1, dtype=float)
    squares = np.maximum(s2[: last + 1] - s1[: last + 1] ** 2 / kept[: last + 1], 0.0)
    curve[: last + 1] = squares / kept[: last + 1] ** 2
    half = k // 2
    d_best = int(np.argmin(curve[: min(half, last) + 1]))
    d_global = int(np.argmin(curve[: last + 1]))
    reliable = k >= _MIN_BATCHES and d_global <= half
    return MserResult(d_best * batch, _read_only(curve), bool(reliable), n, batch)


def welch(series_by_replication: ArrayLike, window: int) -> NDArray[np.float64]:
    r"""Welch's moving average: the mean over replications, smoothed by a centred window.

    With :math:`\bar Y_i` the mean of period ``i`` over the replications and
    ``w = window``, the smoothed value at period ``i`` (counting from 0) is the
    mean of :math:`\bar Y_{i-h}, \dots, \bar Y_{i+h}` with ``h = min(i, w)``:
    the window shrinks near the start so that it stays centred, and the last
    ``w`` periods, which lack a full window, are left out (Law 2015, chapter 9).
    The warm-up is read off a plot as the period after which the curve is flat.

    ``nan`` marks a missing value (an empty time bin): means are taken over the
    values present, and a period with none in its window is ``nan``.

    Parameters
    ----------
    series_by_replication : array_like of float
        Replications x periods (one row per replication), or a single series.
    window : int
        Half-width ``w`` of the window, ``0 <= w < periods``; Law suggests
        ``w <= periods / 4``. Increase it until the curve is reasonably smooth.

    Returns
    -------
    ndarray of float
        ``periods - window`` smoothed values.

    Raises
    ------
    ValueError
        If the input is not one- or two-dimensional or ``window`` is out of range.

    Examples
    --------
    >>> welch([[1.0, 2, 3, 4, 5], [3.0, 4, 5, 6, 7]], window=1)
    array([2., 3., 4., 5.])
    >>> welch([1.0, 5.0, 3.0, 2.0, 9.0], window=2)
    array([1., 3., 4.])
    """
    y = np.asarray(series_by_replication, dtype=float)
    if y.ndim == 1:
        y = y[np.newaxis, :]
    if y.ndim != 2:
        raise ValueError(f"series_by_replication must be replications x periods, got shape {y.shape}")
    periods = y.shape[1]
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or not 0 <= window < periods:
        raise ValueError(f"window must be an integer in [0, {periods}) for {periods} periods, got {window!r}")
    w = int(window)
    present = np.isfinite(y)
    n_rep = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_rep > 0, np.where(present, y, 0.0).sum(axis=0) / n_rep, np.nan)
    have = np.isfinite(mean)
    csum = np.concatenate(([0.0], np.cumsum(np.where(have, mean, 0.0))))
    ccount = np.concatenate(([0], np.cumsum(have)))
    i = np.arange(periods - w)
    h = np.minimum(i, w)
    total = csum[i + h + 1] - csum[i - h]
    count = ccount[i + h + 1] - ccount[i - h]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _default_bin_minutes(horizon: float) -> float:
    """About ``horizon / 200``, rounded to a width that reads well (15 min, 2 h, 2 days...)."""
    target = horizon / _TARGET_BINS
    if target >= _WEEK:
        return _WEEK * round(target / _WEEK)
    if target >= 1.0:
        candidates: Sequence[float] = _NICE_MINUTES
    else:
        scale = 10.0 ** math.floor(math.log10(target))
        candidates = [c * scale for c in (1, 2, 5, 10)]
    return float(min(candidates, key=lambda c: abs(math.log(c / target))))


def _observations(
    rec: Records, statistic: str, node_code: int | None, support: bool, pathway: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Times and values of the output's observations in one replication."""
    if node_code is None:
        j = rec.journeys
        keep = pathway[j["class"]]
        times, values = j["arrival"][keep], j["time_in_system"][keep]
    elif support:
        r = rec.requests
        keep = r["target"] == node_code
        times = r["requested"][keep]
        values = (r["wait"] if statistic == "wait" else as_floats(r["end"]) - as_floats(r["requested"]))[keep]
    else:
        v = rec.visits
        keep = v["node"] == node_code
        times, values = v["arrival"][keep], v[statistic][keep]
    times, values = np.asarray(times, dtype=float), np.asarray(values, dtype=float)
    done = np.isfinite(values)  # a run that stops at the horizon leaves some unfinished: no value yet
    return (times, values) if done.all() else (times[done], values[done])


def suggest_warmup(
    result: RunResult,
    *,
    statistic: str | None = None,
    bin_minutes: float | None = None,
    node: str | None = None,
    batch: int = 5,
) -> WarmupSuggestion:
    """Suggest a warm-up period from a pilot run, by MSER-5 on a binned output series.

    What it does:

    1. Cuts ``[0, horizon)`` into time bins of ``bin_minutes``.
    2. Puts each observation in the bin of its arrival time: by default each
       journey of a pathway class (background classes are left out, as in the
       summary), observing its time in system; with ``node=``, each visit to
       that microsystem (every class), observing its wait (or sojourn). For a
       support microsystem the observations are the requests it served, timed
       by when they were made.
    3. Averages each bin over all its observations in all replications (the
       mean of the replications' bin means, weighted by their counts). Hoad,
       Robinson & Davies (2010) recommend applying MSER-5 to such a
       replication-averaged series: averaging shrinks the noise that would
       otherwise hide the transient.
    4. Drops empty bins (none of the replications had an arrival in them)
       rather than inventing values for them, so every point of the series is
       an observed mean; the truncation found among the remaining bins is
       mapped back to the start time of the first bin kept.
    5. Applies :func:`mser` to that series and returns the start of the first
       bin kept as the suggested warm-up.

    Limits:

    * It is a heuristic for the one output chosen. Outputs settle at different
      speeds (a congested downstream microsystem is often the slowest), so
      check the outputs you will report, and look at a :func:`welch` curve of
      ``by_replication`` before trusting the number.
    * The pilot must be long enough that its second half is steady; otherwise
      ``reliable`` is False. An unstable system (utilisation of 1 or more)
      never settles and should come out unreliable, but an almost unstable one
      may need a pilot much longer than its transient looks.
    * Observations are timed by arrival, but a journey's time in system depends
      on what happens after it arrives, so the series lags the system state by
      about a time in system. Near the horizon arrivals stop, which can shorten
      late waits (under priorities): MSER only searches the first half, which
      keeps this end effect out of the choice.
    * Busy queues are noisy, and noise can pass for a transient: on pilots of
      an M/M/1 queue at 90% utilisation (30 replications of 6,000 minutes,
      transient of a few hundred minutes) about 1 suggestion in 20 exceeded
      a quarter of the horizon. More replications or a longer pilot help.
    * The resolution is one bin, and MSER-5 moves in steps of ``batch`` bins.
      Very long stays (say, weeks in a ward) make few, slow observations: use
      wide bins and a long pilot.
    * Arrival rates are constant in journeysim; an output with a daily or
      weekly cycle would need bins of whole cycles, since MSER-5 cannot tell a
      cycle from a warm-up.

    Parameters
    ----------
    result : RunResult
        A pilot run: started empty, no warm-up needed, several replications
        (more give a smoother series) and a horizon several times the
        expected warm-up.
    statistic : str, optional
        ``"time_in_system"`` (the default without ``node``), or with ``node``
        ``"wait"`` (the default) or ``"sojourn"``.
    bin_minutes : float, optional
        Width of the time bins. Default: about ``horizon / 1000``, rounded to a
        width that reads well (1, 2, 5, 10, 15, 20 or 30 minutes, whole hours,
        half a day, 1-3 days or whole weeks). Narrow bins keep the series close
        to the individual observations MSER-5 was designed for, and its batches
        of 5 bins still span about ``horizon / 200``; with wide bins (200 over
        the horizon, 40 batch means) the end effect makes ``reliable`` False
        more often on the same pilot.
    node : str, optional
        Name of a microsystem whose visits make the series.
    batch : int
        Bins per batch mean of MSER (5 gives MSER-5).

    Returns
    -------
    WarmupSuggestion

    Raises
    ------
    ValueError
        For an unknown ``node`` or ``statistic``, or a ``bin_minutes`` that is
        not a positive number.

    Examples
    --------
    An M/M/1 clinic at 90% utilisation, started empty: its queue takes hours
    to build up.

    >>> from journeysim.model.distributions import Exponential
    >>> from journeysim.model.elements import Microsystem, PatientClass
    >>> from journeysim.model.mesosystem import Model
    >>> from journeysim.analysis.result import simulate
    >>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(0.9))],
    ...               classes=[PatientClass("all", entry="Clinic", rate=1.0)])
    >>> pilot = simulate(model, horizon=6_000, replications=30, seed=4)
    >>> s = suggest_warmup(pilot)
    >>> s.bin_minutes, s.series.size
    (5.0, 1200)
    >>> s.reliable, 0 < s.warmup_minutes < 3_000
    (True, True)
    >>> suggest_warmup(pilot, node="Clinic").statistic
    'wait'
    """
    scenario = result.scenario
    horizon = float(scenario.horizon)
    statistic, node_code, support = _output(scenario.model, node, statistic)
    width = _bin_width(horizon, bin_minutes)
    n_bins = max(1, math.ceil(horizon / width - 1e-9))
    sums, counts = _binned(result, statistic, node_code, support, width, n_bins)
    total = counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        series = np.where(total > 0, sums.sum(axis=0) / total, np.nan)
        by_replication = np.where(counts > 0, sums / counts, np.nan)
    nonempty = np.flatnonzero(total > 0)
    found = mser(series[nonempty], batch=batch)
    warmup = float(nonempty[found.truncation] * width) if found.truncation > 0 else 0.0
    return WarmupSuggestion(
        warmup_minutes=warmup,
        reliable=found.reliable,
        statistic=statistic,
        node=node,
        bin_minutes=width,
        times=_read_only(np.arange(n_bins, dtype=float) * width),
        series=_read_only(series),
        counts=_read_only(total),
        by_replication=_read_only(by_replication),
        mser=found,
    )


def _binned(result: RunResult, statistic: str, node_code: int | None, support: bool, width: float,
            n_bins: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Sums and counts of the observations in each time bin, per replication (replications x bins)."""
    horizon = float(result.scenario.horizon)
    pathway = np.array([not k.background for k in result.scenario.model.classes], dtype=bool)
    sums = np.zeros((len(result.records), n_bins))
    counts = np.zeros((len(result.records), n_bins), dtype=np.int64)
    for r, rec in enumerate(result.records):
        times, values = _observations(rec, statistic, node_code, support, pathway)
        # Journeys cut short at the end of a run have no finite end; arrivals at or past the
        # horizon (downstream visits) fall outside the binned window.
        keep = np.isfinite(values) & (times >= 0.0) & (times < horizon)
        idx = np.minimum((times[keep] // width).astype(np.int64), n_bins - 1)
        sums[r] = np.bincount(idx, weights=values[keep], minlength=n_bins)
        counts[r] = np.bincount(idx, minlength=n_bins)
    return sums, counts


def _output(model: Model, node: str | None, statistic: str | None) -> tuple[str, int | None, bool]:
    """The statistic observed, the code of ``node`` (``None`` for whole journeys) and whether it is a support one."""
    if node is None:
        statistic = "time_in_system" if statistic is None else statistic
        allowed: tuple[str, ...] = _JOURNEY_STATISTICS
    else:
        statistic = "wait" if statistic is None else statistic
        allowed = _NODE_STATISTICS
    if statistic not in allowed:
        where = f"at a microsystem (node={node!r})" if node is not None else "of whole journeys (no node=)"
        raise ValueError(f"statistic {statistic!r} is not available {where}; choose one of {list(allowed)}")
    if node is None:
        return statistic, None, False
    names = model.node_names
    if node not in names:
        import difflib

        close = difflib.get_close_matches(str(node), list(names), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"node {node!r} is not a microsystem of the model{hint}; they are {list(names)}")
    return statistic, names.index(node), model.microsystem(node).kind == "support"


def _bin_width(horizon: float, bin_minutes: float | None) -> float:
    """``bin_minutes`` checked, or the default width for ``horizon``."""
    if bin_minutes is None:
        return _default_bin_minutes(horizon)
    if isinstance(bin_minutes, bool) or not isinstance(bin_minutes, (int, float, np.number)) or not (
        math.isfinite(bin_minutes) and bin_minutes > 0
    ):
        raise ValueError(f"bin_minutes must be a positive number of minutes, got {bin_minutes!r}")
    return float(bin_minutes)
