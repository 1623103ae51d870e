"""The log-distance measures of journeysim.data.distances against the `log-distance-measures` package 2.2.0
(Chapela-Campa et al. 2023) on small logs, and against known values.

The package pins pandas < 3, so it is installed without its dependencies (``make test`` does:
``pip install --no-deps log-distance-measures==2.2.0 jellyfish==1.3.0 pulp==3.3.2``); each of its
functions used here runs under pandas 3. The comparisons are skipped where it is not installed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pytest

from journeysim.data import distances as d
from journeysim.data.logs import EventLog, read_log
from journeysim.errors import JourneySimWarning

DATA = Path(__file__).parent / "data"
SEPSIS = dict(case="Case ID", activity="Activity", timestamp="Complete Timestamp",
              time_format="%Y/%m/%d %H:%M:%S.%f")
PATIENTS = dict(case="patient", activity="handling", timestamp="time", lifecycle="registration_type",
                resource="employee", instance="handling_id")


def quiet(path, **options) -> EventLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JourneySimWarning)
        return read_log(path, **options)


def make_log(traces, starts, rng, *, origin=dt.datetime(2026, 1, 5, 7, 30), completion_only=False) -> EventLog:
    """A log of the given traces (strings of one-letter activities), case k starting ``starts[k]`` minutes in,
    each instance taking an exponential 40 minutes and the next starting an exponential 30 minutes later."""
    lengths = [len(t) for t in traces]
    case = np.repeat(np.arange(len(traces)), lengths).astype(np.int32)
    names = sorted({a for t in traces for a in t})
    activity = np.array([names.index(a) for t in traces for a in t], dtype=np.int32)
    dur, gap = rng.exponential(40, len(case)).round(3), rng.exponential(30, len(case)).round(3)
    start = np.empty(len(case))
    for k, (lo, hi) in enumerate(zip(np.cumsum(lengths) - lengths, np.cumsum(lengths))):
        t = float(starts[k])
        for i in range(lo, hi):
            start[i] = t
            t += dur[i] + gap[i]
    end = start + dur
    if completion_only:
        start = np.full(len(case), np.nan)
    n = len(case)
    return EventLog("synthetic", origin, case, np.array([f"c{k}" for k in range(len(traces))], dtype=object),
                    activity, np.array(names, dtype=object), np.full(n, np.nan), start, end, np.zeros(n, bool),
                    np.full(n, -1, np.int32), np.array([], dtype=object), np.full(n, -1, np.int32),
                    np.array([], dtype=object), {}, np.arange(n, dtype=np.int64), n)


def random_traces(rng, n, alphabet="ABCDEF", p_next=0.8):
    out = []
    for _ in range(n):
        t = "A"
        while rng.random() < p_next and len(t) < 12:
            t += rng.choice(list(alphabet))
        out.append(t)
    return out


def perturbed(log: EventLog, rng) -> EventLog:
    """The log with every time moved by up to two hours and a tenth of the activities renamed."""
    shift = rng.uniform(-120, 120, len(log))
    activity = log.activity.copy()
    swap = rng.random(len(log)) < 0.1
    activity[swap] = rng.integers(0, log.n_activities, swap.sum())
    return dataclasses.replace(log, start=log.start + shift, end=log.end + shift, activity=activity)


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(17)
    sepsis = quiet(DATA / "sepsis_60.csv", **SEPSIS)
    patients = quiet(DATA / "patients_60.csv", **PATIENTS)
    a = make_log(random_traces(rng, 40), np.sort(rng.uniform(0, 5 * 1440, 40)), rng)
    b = make_log(random_traces(rng, 30, "ABCDEG", 0.7), np.sort(rng.uniform(600, 8 * 1440, 30)), rng,
                 origin=dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))
    c = make_log(random_traces(rng, 25), np.sort(rng.uniform(0, 3 * 1440, 25)), rng, completion_only=True)
    return {"sepsis vs perturbed": (sepsis, perturbed(sepsis, rng)),
            "patients vs sepsis": (patients, sepsis),
            "synthetic": (a, b),
            "synthetic, completion only": (c, a)}


def ldm_frame(log: EventLog):
    """The log as the package reads it: one row per instance, a start (the end where there is none) and an end,
    in UTC."""
    import pandas as pd

    start = np.where(np.isfinite(log.start), log.start, log.end)
    end = np.where(np.isfinite(log.end), log.end, log.start)
    keep = np.isfinite(start)
    def when(x):
        return (pd.to_datetime(log.timestamps(x)).tz_localize("UTC"))  # naive times are read as UTC
    return pd.DataFrame({"case": log.case_labels[log.case[keep]], "activity": log.activity_labels[log.activity[keep]],
                         "start": when(start[keep]), "end": when(end[keep])})


def ldm_measures():
    ldm = pytest.importorskip("log_distance_measures")
    import pandas as pd
    from log_distance_measures.absolute_event_distribution import absolute_event_distribution_distance
    from log_distance_measures.case_arrival_distribution import case_arrival_distribution_distance
    from log_distance_measures.circadian_event_distribution import circadian_event_distribution_distance
    from log_distance_measures.config import EventLogIDs
    from log_distance_measures.control_flow_log_distance import control_flow_log_distance
    from log_distance_measures.cycle_time_distribution import cycle_time_distribution_distance
    from log_distance_measures.n_gram_distribution import n_gram_distribution_distance
    from log_distance_measures.relative_event_distribution import relative_event_distribution_distance
    from log_distance_measures.work_in_progress import work_in_progress_distance

    assert ldm is not None
    ids = EventLogIDs(case="case", activity="activity", start_time="start", end_time="end")

    def wip(a, i, b, j):
        with warnings.catch_warnings():  # it prints a warning about normalising; nothing else
            return work_in_progress_distance(a, i, b, j)

    return {
        "control_flow_log_distance": (lambda a, b: control_flow_log_distance(a, ids, b, ids, parallel=False)),
        "n_gram_distance": (lambda a, b: n_gram_distribution_distance(a, ids, b, ids)),
        "absolute_event_distance": (lambda a, b: absolute_event_distribution_distance(a, ids, b, ids)),
        "case_arrival_distance": (lambda a, b: case_arrival_distribution_distance(a, ids, b, ids)),
        "circadian_event_distance": (lambda a, b: circadian_event_distribution_distance(a, ids, b, ids)),
        "relative_event_distance": (lambda a, b: relative_event_distribution_distance(a, ids, b, ids)),
        "cycle_time_distance": (lambda a, b: cycle_time_distribution_distance(a, ids, b, ids,
                                                                              bin_size=pd.Timedelta(hours=1))),
        "work_in_progress_distance": (lambda a, b: wip(a, ids, b, ids)),
    }


MEASURES = ["control_flow_log_distance", "n_gram_distance", "absolute_event_distance", "case_arrival_distance",
            "circadian_event_distance", "relative_event_distance", "cycle_time_distance",
            "work_in_progress_distance"]


@pytest.mark.parametrize("measure", MEASURES)
@pytest.mark.parametrize("pair", ["sepsis vs perturbed", "patients vs sepsis", "synthetic",
                                  "synthetic, completion only"])
def test_each_measure_is_the_packages(pairs, measure, pair, capsys):
    """Each measure gives the package's value, to 1e-9, on real, perturbed and synthetic logs."""
    if measure == "work_in_progress_distance" and "sepsis" in pair:
        pytest.skip("the package takes minutes over the real logs' year-long timelines (a loop over hourly windows)")
    theirs = ldm_measures()[measure]
    a, b = pairs[pair]
    expected = theirs(ldm_frame(a), ldm_frame(b))
    assert getattr(d, measure)(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert getattr(d, measure)(b, a) == pytest.approx(theirs(ldm_frame(b), ldm_frame(a)), rel=1e-9, abs=1e-12)


def test_damerau_levenshtein_is_jellyfishs():
    """The vectorised Damerau-Levenshtein distance (unrestricted: edits after a transposition) is jellyfish's."""
    jellyfish = pytest.importorskip("jellyfish")
    rng = np.random.default_rng(3)
    n, la, lb = 3000, 9, 7
    a, b = rng.integers(0, 4, (n, la)), rng.integers(0, 4, (n, lb))
    len_a, len_b = rng.integers(1, la + 1, n), rng.integers(1, lb + 1, n)
    ours = d.damerau_levenshtein(a, len_a, b, len_b, 4)
    def text(row, k):
        return ("".join("abcd"[x] for x in row[:k]))
    theirs = [jellyfish.damerau_levenshtein_distance(text(a[p], len_a[p]), text(b[p], len_b[p])) for p in range(n)]
    assert ours.tolist() == theirs
    # "ca" to "abc" is 2 unrestricted (transpose, then insert between), 3 as the optimal string alignment
    assert d.damerau_levenshtein(np.array([[2, 0, 0]]), np.array([2]), np.array([[0, 1, 2]]), np.array([3]),
                                 3).tolist() == [2]


def test_a_log_is_at_distance_zero_from_itself(pairs):
    """d(L, L) = 0 for every measure."""
    for log in (pairs["sepsis vs perturbed"][0], pairs["synthetic"][1]):
        assert [getattr(d, m)(log, log) for m in MEASURES] == [0.0] * len(MEASURES)


def test_an_hour_later_is_one_hour_in_absolute_time_and_nothing_else(pairs):
    """The same log an hour later is 1 hour away in absolute event times and case arrivals, 0 in relative
    times, cycle times and control flow."""
    log = pairs["synthetic"][0]
    later = dataclasses.replace(log, origin=log.origin + dt.timedelta(hours=1))
    assert d.absolute_event_distance(log, later) == pytest.approx(1.0)
    assert d.case_arrival_distance(log, later) == pytest.approx(1.0)
    assert d.relative_event_distance(log, later) == d.cycle_time_distance(log, later) == 0.0
    assert d.control_flow_log_distance(log, later) == d.n_gram_distance(log, later) == 0.0


def test_renaming_an_activity_gives_the_known_control_flow_distance(pairs):
    """Renaming activity B in every trace costs each trace (its Bs) / (its length): CFLD is their mean when
    the pairing is the identity, which it is when the traces are far apart otherwise."""
    rng = np.random.default_rng(5)
    traces = ["AB", "ACDE", "ABBB", "CCCCCC"]
    log = make_log(traces, [0, 100, 200, 300], rng)
    renamed = make_log([t.replace("B", "X") for t in traces], [0, 100, 200, 300], rng)
    assert d.control_flow_log_distance(log, renamed) == pytest.approx(np.mean([1 / 2, 0, 3 / 4, 0]))
    # padded 3-grams: a trace of length k has k + 2; those holding a B change: 3 of AB's 4, 5 of ABBB's 6
    grams, changed = sum(len(t) + 2 for t in traces), 3 + 5
    assert d.n_gram_distance(log, renamed) == pytest.approx(2 * changed / (2 * grams))


TIME_EMDS = ["absolute_event_distance", "case_arrival_distance", "relative_event_distance",
             "cycle_time_distance", "work_in_progress_distance"]


def test_zero_duration_and_empty_logs_give_zero_or_a_clear_error():
    """Every case of zero duration leaves no work in progress: 0 between two such logs, a JourneySimError
    (not scipy's ValueError) against a log with work; an empty log likewise for every time EMD."""
    from journeysim.errors import JourneySimError

    rng = np.random.default_rng(3)
    log = make_log(["AB", "ABC", "A"], [0, 30, 90], rng)
    flat = dataclasses.replace(log, start=np.full_like(log.start, 60.0), end=np.full_like(log.end, 60.0))
    assert d.work_in_progress_distance(flat, flat) == 0.0
    assert d.cycle_time_distance(flat, flat) == 0.0
    with pytest.raises(JourneySimError, match="nothing to measure"):
        d.work_in_progress_distance(log, flat)
    with pytest.raises(JourneySimError, match="first log"):
        d.work_in_progress_distance(flat, log)
    empty = make_log([], [], rng)
    for m in TIME_EMDS:
        assert getattr(d, m)(empty, empty) == 0.0, m
        with pytest.raises(JourneySimError):
            getattr(d, m)(log, empty)
