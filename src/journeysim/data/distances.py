"""Distances between two event logs: the standard measures of simulation-model fidelity.

The measures of Chapela-Campa, López-Pintado, Dumas et al. (2023, *Can I trust my
simulation model? Measuring the quality of business process simulation models*), as
the ``log-distance-measures`` package 2.2.0 defines them (its default arguments),
computed here with numpy and scipy over :class:`~journeysim.data.logs.EventLog`
columns. ``tests/test_distances.py`` checks each against the package.

Each activity instance is read as the package reads a row: a ``start`` and an ``end``
time. Where the log has no start (a log of completion times only; a withdrawn
arrival) the start is the end, and where it has no end (an instance still open) the
end is the start; an instance with neither (still waiting) is left out. The schedule
time is not used. Times are taken to the microsecond, as integers, in UTC (a log
whose times carry no offset is read as UTC, as :func:`~journeysim.data.logs.read_log`
does), so hour bins are exact.

=====================================  =============================================================
:func:`control_flow_log_distance`       mean normalised Damerau-Levenshtein distance of the traces,
                                        paired by an optimal assignment (0 to 1)
:func:`n_gram_distance`                 share of 3-grams (padded at both ends) that differ (0 to 1)
:func:`absolute_event_distance`         1-Wasserstein of the start and end times, in hours from the
                                        first hour of either log
:func:`case_arrival_distance`           the same for each case's first start
:func:`circadian_event_distance`        per weekday, 1-Wasserstein of the hour of day (0-23) of the
                                        start and end times; 23 where only one log has that weekday;
                                        the mean over the 7 weekdays
:func:`relative_event_distance`         1-Wasserstein of start and end times in hours since the case's
                                        first start
:func:`cycle_time_distance`             1-Wasserstein of the case durations in hour bins above the
                                        shortest
:func:`work_in_progress_distance`       1-Wasserstein between the hourly windows weighted by the cases
                                        active in them, divided by the number of windows (0 to 1)
=====================================  =============================================================

The Wasserstein distances are :func:`scipy.stats.wasserstein_distance` of the binned
values (the package's default metric; its ``EMD`` alternative, with a penalty for
unequal sizes, is not reproduced).

Examples
--------
>>> from journeysim.data.logs import EventLog
>>> import datetime as dt
>>> def log(traces, shift=0.0):
...     case = np.repeat(np.arange(len(traces)), [len(t) for t in traces]).astype(np.int32)
...     names = sorted({a for t in traces for a in t})
...     act = np.array([names.index(a) for t in traces for a in t], dtype=np.int32)
...     t = np.arange(len(case), dtype=float) * 30 + shift
...     nan = np.full(len(case), np.nan)
...     return EventLog("x", dt.datetime(2026, 1, 5), case, np.array([f"c{i}" for i in range(len(traces))], object),
...                     act, np.array(names, object), nan, t, t + 20, np.zeros(len(case), bool),
...                     np.full(len(case), -1, np.int32), np.array([], object), np.full(len(case), -1, np.int32),
...                     np.array([], object), {}, np.arange(len(case)), len(case))
>>> a, b = log(["ABC", "ABD"]), log(["ABC", "ACD"])
>>> control_flow_log_distance(a, a), control_flow_log_distance(a, b)
(0.0, 0.16666666666666666)
>>> absolute_event_distance(a, log(["ABC", "ABD"], shift=60.0))
1.0
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import JourneySimError
from .logs import EventLog

__all__ = [
    "absolute_event_distance",
    "case_arrival_distance",
    "circadian_event_distance",
    "control_flow_log_distance",
    "cycle_time_distance",
    "damerau_levenshtein",
    "n_gram_distance",
    "relative_event_distance",
    "work_in_progress_distance",
]

_US_PER_MINUTE = 60_000_000
_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 86_400_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: Memory for one batch of Damerau-Levenshtein tables, and what a cell of them takes: the table (int32, 4
#: bytes), the matches (1) and the last matching row and column (int16, 2 + 2), and the diagonals' temporaries.
#: Measured with tracemalloc: a full batch, 645 pairs of 100-symbol traces (6.7 million cells), peaks at 63 MB.
_DL_BYTES = 64 << 20
_DL_BYTES_PER_CELL = 10


@dataclass(frozen=True, slots=True)
class Instants:
    """A log as the distance measures read it: one row per activity instance, sorted by case,
    start and end (stable: the log's order breaks ties).

    ``case`` runs 0 to ``n_cases - 1``; ``activity`` codes index ``names``; ``start`` and
    ``end`` are integer microseconds since 1970-01-01 UTC.
    """

    case: NDArray[np.int64]
    activity: NDArray[np.int64]
    names: tuple[str, ...]
    start: NDArray[np.int64]
    end: NDArray[np.int64]
    n_cases: int

    @classmethod
    def of(cls, log: EventLog) -> Instants:
        """The instants of ``log`` (see the module's description)."""
        origin = log.origin if log.origin.tzinfo is not None else log.origin.replace(tzinfo=dt.UTC)
        base = (origin - _EPOCH) // dt.timedelta(microseconds=1)
        start = np.where(np.isfinite(log.start), log.start, log.end)
        end = np.where(np.isfinite(log.end), log.end, log.start)
        keep = np.flatnonzero(np.isfinite(start))
        s = base + np.rint(start[keep] * _US_PER_MINUTE).astype(np.int64)
        e = base + np.rint(end[keep] * _US_PER_MINUTE).astype(np.int64)
        case = log.case[keep].astype(np.int64)
        order = np.lexsort((e, s, case))
        _, dense = np.unique(case[order], return_inverse=True)
        return cls(dense.astype(np.int64), log.activity[keep][order].astype(np.int64),
                   tuple(str(x) for x in log.activity_labels), s[order], e[order], int(dense.max(initial=-1)) + 1)

    def bounds(self) -> NDArray[np.int64]:
        """Where each case's rows begin, and the end: ``len(bounds) == n_cases + 1``."""
        return np.searchsorted(self.case, np.arange(self.n_cases + 1))

    def case_start(self) -> NDArray[np.int64]:
        """Each case's first start."""
        return np.minimum.reduceat(self.start, self.bounds()[:-1]) if self.n_cases else np.zeros(0, np.int64)

    def case_end(self) -> NDArray[np.int64]:
        """Each case's last end."""
        return np.maximum.reduceat(self.end, self.bounds()[:-1]) if self.n_cases else np.zeros(0, np.int64)


def _instants(log: EventLog | Instants) -> Instants:
    return log if isinstance(log, Instants) else Instants.of(log)


def _wasserstein(u: NDArray[np.int64], v: NDArray[np.int64]) -> float:
    """1-Wasserstein distance of two samples; 0.0 when both are empty, a JourneySimError when one is
    (log-distance-measures 2.2.0 raises there: the distance is undefined)."""
    from scipy.stats import wasserstein_distance

    if not _comparable(len(u), len(v)):
        return 0.0
    return float(wasserstein_distance(u, v))


def _comparable(size_a: float, size_b: float) -> bool:
    """Whether two samples of these sizes (or weight totals) can be compared: False when both are
    empty (their distance is 0.0); a JourneySimError when only one is."""
    if size_a > 0 and size_b > 0:
        return True
    if size_a > 0 or size_b > 0:
        side = "first" if size_a <= 0 else "second"
        raise JourneySimError(f"the {side} log has nothing to measure (no events, or every case has zero duration), "
                              "so its distance to the other log is undefined")
    return False


def _shared_codes(a: Instants, b: Instants) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """The two logs' activity codes in one alphabet (by name)."""
    names = sorted(set(a.names) | set(b.names))
    index = {n: i for i, n in enumerate(names)}
    to_a = np.array([index[n] for n in a.names], dtype=np.int64)
    to_b = np.array([index[n] for n in b.names], dtype=np.int64)
    return to_a[a.activity] if len(a.activity) else a.activity, to_b[b.activity] if len(b.activity) else b.activity, \
        len(names)


# -- control flow


def control_flow_log_distance(log_a: EventLog | Instants, log_b: EventLog | Instants) -> float:
    """Control-flow log distance (CFLD): the mean, over an optimal pairing of the traces, of
    their Damerau-Levenshtein distance divided by the longer trace's length.

    A trace is a case's activities in order of start (then end). With unequal numbers of
    cases, the smaller log's traces are each paired with one of the larger's (the
    package's ``linear_sum_assignment`` on the rectangular matrix). Distances are computed
    once per pair of distinct traces; the assignment is over cases, so time and memory grow
    with the product of the numbers of cases.

    Examples
    --------
    >>> ab, ba = np.array([0, 1]), np.array([1, 0])
    >>> damerau_levenshtein(ab[None], np.array([2]), ba[None], np.array([2]), 2).tolist()   # one transposition
    [1]
    """
    from scipy.optimize import linear_sum_assignment

    a, b = _instants(log_a), _instants(log_b)
    code_a, code_b, size = _shared_codes(a, b)
    var_a, of_a = _variants(code_a, a.bounds())
    var_b, of_b = _variants(code_b, b.bounds())
    if not var_a or not var_b:
        return 0.0 if not var_a and not var_b else 1.0
    dist = _dl_matrix(var_a, var_b, size)
    longer = np.maximum.outer(np.array([len(v) for v in var_a]), np.array([len(v) for v in var_b]))
    cost = (dist / longer)[np.ix_(of_a, of_b)]
    rows, cols = linear_sum_assignment(cost)
    return float(np.mean(cost[rows, cols]))


def _variants(codes: NDArray[np.int64], bounds: NDArray[np.int64]) -> tuple[list[tuple[int, ...]], NDArray[np.int64]]:
    """The distinct traces, and each case's index among them."""
    index: dict[tuple[int, ...], int] = {}
    traces = np.split(codes, bounds[1:-1]) if len(bounds) > 1 else []
    of = [index.setdefault(tuple(t.tolist()), len(index)) for t in traces]
    return list(index), np.array(of, dtype=np.int64)


def damerau_levenshtein(a: NDArray[np.int64], len_a: NDArray[np.int64], b: NDArray[np.int64],
                        len_b: NDArray[np.int64], alphabet: int) -> NDArray[np.int64]:
    """The (unrestricted) Damerau-Levenshtein distance of each pair of rows of ``a`` and ``b``.

    Insertions, deletions, substitutions and transpositions of adjacent symbols, each of
    cost 1, a substring edited any number of times after a transposition (Lowrance and
    Wagner's algorithm, as ``jellyfish.damerau_levenshtein_distance``). Rows are padded
    to a common length: row ``p`` of ``a`` is ``a[p, :len_a[p]]``; symbols are 0 to
    ``alphabet - 1``. One pass of the table per anti-diagonal (each cell needs only earlier ones),
    vectorised over the pairs and the diagonal's cells.

    Examples
    --------
    >>> a = np.array([[0, 1, 2], [0, 1, 0]]); b = np.array([[1, 0, 2], [2, 2, 2]])
    >>> damerau_levenshtein(a, np.array([3, 3]), b, np.array([3, 1]), 3).tolist()
    [1, 3]
    """
    n, la = a.shape
    lb = b.shape[1]
    rows = np.arange(n)
    pos = np.arange(max(la, lb))
    a = np.where(pos[:la] < len_a[:, None], a, alphabet)  # padding never matches anything
    b = np.where(pos[:lb] < len_b[:, None], b, alphabet + 1)
    big = la + lb
    d = np.empty((n, la + 2, lb + 2), dtype=np.int32)  # d[:, i + 1, j + 1] is the table's (i, j)
    d[:, 0, :], d[:, :, 0] = big, big
    d[:, 1, 1:] = np.arange(lb + 1)
    d[:, 1:, 1] = np.arange(la + 1)
    if la == 0 or lb == 0:
        return d[rows, len_a + 1, len_b + 1].astype(np.int64)
    match = a[:, :, None] == b[:, None, :]  # match[:, i - 1, j - 1]: a's i-th symbol is b's j-th
    last_row, last_col = _last_matches(match)
    for diagonal in range(2, la + lb + 1):  # the cells (i, j) with i + j = diagonal need only earlier diagonals
        i = np.arange(max(1, diagonal - lb), min(la, diagonal - 1) + 1)
        j = diagonal - i
        k, l_ = last_row[:, i - 1, j - 1], last_col[:, i - 1, j - 1]
        best = np.minimum(d[:, i, j] + ~match[:, i - 1, j - 1], np.minimum(d[:, i + 1, j], d[:, i, j + 1]) + 1)
        swap = d[rows[:, None], k, l_] + (i - k - 1) + 1 + (j - l_ - 1)
        d[:, i + 1, j + 1] = np.minimum(best, swap)
    return d[rows, len_a + 1, len_b + 1].astype(np.int64)


def _last_matches(match: NDArray[np.bool_]) -> tuple[NDArray[np.integer], NDArray[np.integer]]:
    """For each cell (i, j) of the table, the last row k < i whose symbol is b's j-th (``last_row[:, i - 1, j - 1]``)
    and the last column l < j whose symbol is a's i-th (``last_col[:, i - 1, j - 1]``); 0 where there is none.

    Held in the smallest integer type that holds the lengths and accumulated in place, so that the
    two tables take 4 bytes a cell (``_DL_BYTES_PER_CELL``).
    """
    n, la, lb = match.shape
    kind = np.int16 if max(la, lb) < np.iinfo(np.int16).max else np.int32
    last_row = np.zeros((n, la + 1, lb), dtype=kind)  # row m + 1: the last match among rows 1..m + 1
    np.multiply(match, np.arange(1, la + 1, dtype=kind)[None, :, None], out=last_row[:, 1:])
    np.maximum.accumulate(last_row[:, 1:], axis=1, out=last_row[:, 1:])
    last_col = np.zeros((n, la, lb + 1), dtype=kind)
    np.multiply(match, np.arange(1, lb + 1, dtype=kind)[None, None, :], out=last_col[:, :, 1:])
    np.maximum.accumulate(last_col[:, :, 1:], axis=2, out=last_col[:, :, 1:])
    return last_row, last_col


def _dl_matrix(var_a: list[tuple[int, ...]], var_b: list[tuple[int, ...]], alphabet: int) -> NDArray[np.float64]:
    """Damerau-Levenshtein distances of every pair of traces, in batches of similar lengths."""
    la = np.array([len(v) for v in var_a])
    lb = np.array([len(v) for v in var_b])
    out = np.zeros((len(var_a), len(var_b)))
    pad_a, pad_b = _padded(var_a, la), _padded(var_b, lb)
    for ga in _length_groups(la):
        for gb in _length_groups(lb):
            ia, ib = np.repeat(ga, len(gb)), np.tile(gb, len(ga))
            wa, wb = int(la[ga].max()), int(lb[gb].max())
            step = _dl_batch(wa, wb)
            for s in range(0, len(ia), step):
                pa, pb = ia[s:s + step], ib[s:s + step]
                out[pa, pb] = damerau_levenshtein(pad_a[pa, :wa], la[pa], pad_b[pb, :wb], lb[pb], alphabet)
    return out


def _dl_batch(la: int, lb: int) -> int:
    """How many pairs of traces of lengths up to ``la`` and ``lb`` one batch takes (``_DL_BYTES``).

    Examples
    --------
    >>> _dl_batch(100, 100), _dl_batch(5, 3), _dl_batch(10_000, 10_000)
    (645, 191739, 1)
    """
    return max(1, _DL_BYTES // (_DL_BYTES_PER_CELL * (la + 2) * (lb + 2)))


def _padded(variants: list[tuple[int, ...]], lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    out = np.zeros((len(variants), int(lengths.max(initial=0))), dtype=np.int64)
    if len(variants):
        out[np.repeat(np.arange(len(variants)), lengths), _ranks(lengths)] = np.concatenate(
            [np.array(v, dtype=np.int64) for v in variants])
    return out


def _ranks(lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    """0, 1, ..., n-1 for each length n, concatenated."""
    return np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _length_groups(lengths: NDArray[np.int64]) -> list[NDArray[np.int64]]:
    """Indices grouped by length, each group's lengths within a factor of about 1.5 (little padding)."""
    band = np.floor(np.log(np.maximum(lengths, 1)) / np.log(1.5)).astype(np.int64)
    return [np.flatnonzero(band == x) for x in np.unique(band)]


def n_gram_distance(log_a: EventLog | Instants, log_b: EventLog | Instants, n: int = 3) -> float:
    """The n-gram distance: the sum of the absolute differences of the counts of each n-gram
    (each trace padded with ``n - 1`` empty symbols at both ends), divided by the total count.

    Examples
    --------
    >>> _n_grams(np.array([0, 1]), np.array([0, 2]), 3).tolist()   # the trace AB, padded
    [[0, 0, 1], [0, 1, 2], [1, 2, 0], [2, 0, 0]]
    """
    a, b = _instants(log_a), _instants(log_b)
    code_a, code_b, _ = _shared_codes(a, b)
    grams_a, grams_b = _n_grams(code_a, a.bounds(), n), _n_grams(code_b, b.bounds(), n)
    both = np.concatenate([grams_a, grams_b])
    if not len(both):
        return 0.0
    _, which = np.unique(both, axis=0, return_inverse=True)
    which = which.ravel()
    k = int(which.max()) + 1
    ca = np.bincount(which[:len(grams_a)], minlength=k)
    cb = np.bincount(which[len(grams_a):], minlength=k)
    return float(np.abs(ca - cb).sum() / (ca.sum() + cb.sum()))


def _n_grams(codes: NDArray[np.int64], bounds: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """Every n-gram of every padded trace (symbols 1 up; 0 the padding), one per row."""
    lengths = np.diff(bounds)
    padded_len = lengths + 2 * (n - 1)
    seq = np.zeros(int(padded_len.sum()), dtype=np.int64)
    offset = np.cumsum(padded_len) - padded_len
    seq[np.repeat(offset + n - 1, lengths) + _ranks(lengths)] = codes + 1
    starts = np.repeat(offset, padded_len - n + 1) + _ranks(padded_len - n + 1)
    return seq[starts[:, None] + np.arange(n)]


# -- time


def _floor(t: NDArray[np.int64], unit: int) -> int:
    return int(np.min(t) // unit * unit) if len(t) else 0


def absolute_event_distance(log_a: EventLog | Instants, log_b: EventLog | Instants) -> float:
    """1-Wasserstein distance of the start and end times, in whole hours from the hour of the
    first start of either log."""
    a, b = _instants(log_a), _instants(log_b)
    zero = _floor(np.concatenate([a.start, b.start]), _US_PER_HOUR)
    return _wasserstein(_hours(np.concatenate([a.start, a.end]), zero), _hours(np.concatenate([b.start, b.end]), zero))


def _hours(t: NDArray[np.int64], zero: int) -> NDArray[np.int64]:
    return (t - zero) // _US_PER_HOUR


def case_arrival_distance(log_a: EventLog | Instants, log_b: EventLog | Instants) -> float:
    """1-Wasserstein distance of the cases' first start times, in whole hours from the hour
    of the first of either log."""
    sa, sb = _instants(log_a).case_start(), _instants(log_b).case_start()
    zero = _floor(np.concatenate([sa, sb]), _US_PER_HOUR)
    return _wasserstein(_hours(sa, zero), _hours(sb, zero))


def circadian_event_distance(log_a: EventLog | Instants, log_b: EventLog | Instants) -> float:
    """The mean over the 7 weekdays of the 1-Wasserstein distance of the hour of day (0 to
    23) of the start and end times on that weekday; 23 for a weekday only one log has, 0
    for one neither has."""
    a, b = _instants(log_a), _instants(log_b)
    ta, tb = np.concatenate([a.start, a.end]), np.concatenate([b.start, b.end])
    out = []
    for day in range(7):
        ha, hb = _hour_of_day(ta, day), _hour_of_day(tb, day)
        out.append(_wasserstein(ha, hb) if len(ha) and len(hb) else 0.0 if not len(ha) and not len(hb) else 23.0)
    return float(np.mean(out))


def _hour_of_day(t: NDArray[np.int64], weekday: int) -> NDArray[np.int64]:
    """The hours of day of the times on a weekday (Monday 0); 1970-01-01 was a Thursday."""
    day = t // _US_PER_DAY
    return (t // _US_PER_HOUR % 24)[(day + 3) % 7 == weekday]


def relative_event_distance(log_a: EventLog | Instants, log_b: EventLog | Instants) -> float:
    """1-Wasserstein distance of the start and end times in whole hours since their case's
    first start."""
    return _wasserstein(_relative_hours(_instants(log_a)), _relative_hours(_instants(log_b)))


def _relative_hours(x: Instants) -> NDArray[np.int64]:
    first = x.case_start()[x.case]
    return np.concatenate([x.start - first, x.end - first]) // _US_PER_HOUR


def cycle_time_distance(log_a: EventLog | Instants, log_b: EventLog | Instants, bin_minutes: float = 60.0) -> float:
    """1-Wasserstein distance of the case durations (last end minus first start), in bins of
    ``bin_minutes`` above the shortest duration of either log."""
    a, b = _instants(log_a), _instants(log_b)
    ca, cb = a.case_end() - a.case_start(), b.case_end() - b.case_start()
    if not _comparable(len(ca), len(cb)):
        return 0.0
    low = int(np.min(np.concatenate([ca, cb])))
    width = round(bin_minutes * _US_PER_MINUTE)
    return _wasserstein((ca - low) // width, (cb - low) // width)


def work_in_progress_distance(log_a: EventLog | Instants, log_b: EventLog | Instants,
                              window_minutes: float = 60.0) -> float:
    """The package's work-in-progress distance: the timeline from the midnight (UTC) before
    the first start to the midnight after the last end is cut into windows; each window
    weighs the case-time active in it (a case is active from its first start to its last
    end) in hundredths, truncated; the 1-Wasserstein distance between the two logs' windows
    so weighted is divided by the last active window's number.

    It says *when* the work was done, not how much: two logs with the same timing and
    twice the cases are 0 apart.
    """
    from scipy.stats import wasserstein_distance

    a, b = _instants(log_a), _instants(log_b)
    if not _comparable(len(a.start), len(b.start)):
        return 0.0
    zero = _floor(np.concatenate([a.start, b.start]), _US_PER_DAY)
    last = int(np.max(np.concatenate([a.end, b.end])))
    top = -(-(last - zero) // _US_PER_DAY) * _US_PER_DAY
    width = round(window_minutes * _US_PER_MINUTE)
    n_windows = -(-top // width)
    keys_a, wip_a = _wip(a, zero, width, n_windows)
    keys_b, wip_b = _wip(b, zero, width, n_windows)
    weights_a, weights_b = np.floor(wip_a * 100), np.floor(wip_b * 100)
    if not _comparable(float(weights_a.sum()), float(weights_b.sum())):
        return 0.0
    distance = float(wasserstein_distance(keys_a, keys_b, weights_a, weights_b))
    top_key = max(int(keys_a.max(initial=0)), int(keys_b.max(initial=0)))
    return distance / top_key if top_key > 0 else distance


def _wip(x: Instants, zero: int, width: int, n_windows: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The windows with active cases and the case-time in each, in windows."""
    s, e = x.case_start() - zero, x.case_end() - zero
    on = e > s
    s, e = s[on], e[on]
    first, final = s // width, (e - 1) // width
    total = np.zeros(n_windows + 1, dtype=np.int64)
    one = first == final
    np.add.at(total, first[one], (e - s)[one])
    s, e, first, final = s[~one], e[~one], first[~one], final[~one]
    np.add.at(total, first, (first + 1) * width - s)
    np.add.at(total, final, e - final * width)
    full = np.zeros(n_windows + 2, dtype=np.int64)  # windows wholly covered: a difference array
    np.add.at(full, first + 1, 1)
    np.add.at(full, final, -1)
    total += np.cumsum(full)[:n_windows + 1] * width
    keys = np.flatnonzero(total > 0)
    return keys, total[keys] / width
