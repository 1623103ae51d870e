"""Warm-up detection: MSER-5 against its definition and known transients, Welch's average, pilots."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import journeysim as js
from journeysim.analysis.warmup import MserResult, _default_bin_minutes, mser, suggest_warmup, welch
from journeysim.engine.records import Table

# -- reference implementations written from the definitions, O(n^2) -------------------------


def naive_mser(series, batch):
    """MSER by the textbook formula, one truncation point at a time."""
    y = np.asarray(series, dtype=float)
    k = y.size // batch
    means = y[: k * batch].reshape(k, batch).mean(axis=1)
    curve = np.full(k, np.nan)
    for d in range(k - 4):  # candidates leave at least 5 batch means
        tail = means[d:]
        curve[d] = np.sum((tail - tail.mean()) ** 2) / tail.size**2
    searched = curve[: k - 4]
    if searched.size == 0:
        return curve, 0, False
    first_half = searched[: k // 2 + 1]
    d_star = int(np.argmin(first_half))
    reliable = k >= 20 and int(np.argmin(searched)) <= k // 2
    return curve, d_star * batch, reliable


def naive_welch(rows, w):
    """Welch's moving average by its definition (Law 2015, chapter 9), without nan handling."""
    mean = np.mean(np.atleast_2d(np.asarray(rows, dtype=float)), axis=0)
    out = []
    for i in range(mean.size - w):
        h = min(i, w)
        out.append(mean[i - h : i + h + 1].mean())
    return np.array(out)


def transient(n, rng, tau=200.0, height=10.0):
    """A mean decaying from ``height`` to 0 with time constant ``tau``, plus unit normal noise."""
    t = np.arange(n)
    return height * np.exp(-t / tau) + rng.normal(size=n)


# -- mser --------------------------------------------------------------------------------------


def test_mser_finds_the_end_of_a_known_transient():
    """On 10 exp(-t/200) + N(0, 1), MSER-5 truncates where the decay has sunk into the noise."""
    res = mser(transient(2000, np.random.default_rng(2010)))
    # Over 2,000 seeds the truncation stayed within [440, 800]; 10 e^{-t/200} is 0.5 at t = 600.
    assert 300 <= res.truncation <= 1500
    assert res.truncation % 5 == 0
    assert res.reliable
    assert res.n == 2000 and res.batch == 5


def test_mser_keeps_a_series_without_transient():
    """Stationary noise needs no truncation: MSER-5 drops next to nothing and calls it reliable."""
    res = mser(np.random.default_rng(7).normal(5.0, 1.0, size=2000))
    # Over 2,000 seeds the largest truncation was 115 observations.
    assert res.truncation <= 150
    assert res.reliable


def test_mser_of_a_constant_series_is_zero():
    """A constant series has a flat zero curve, so nothing is dropped."""
    res = mser(np.full(200, 3.0))
    assert res.truncation == 0 and res.reliable
    assert np.allclose(res.curve[np.isfinite(res.curve)], 0.0)


@pytest.mark.parametrize("batch", [1, 3, 5])
@pytest.mark.parametrize("n", [7, 24, 61, 100, 157, 333])
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_mser_matches_the_naive_definition(batch, n, offset):
    """The O(n) suffix-sum curve, truncation and verdict equal an O(n^2) loop over the formula."""
    rng = np.random.default_rng(1000 * batch + n)
    y = offset + rng.normal(size=n) + np.where(np.arange(n) < n // 5, rng.uniform(1, 4), 0.0)
    curve, truncation, reliable = naive_mser(y, batch)
    res = mser(y, batch=batch)
    assert res.curve.shape == curve.shape
    assert np.array_equal(np.isnan(res.curve), np.isnan(curve))
    ok = ~np.isnan(curve)
    assert np.allclose(res.curve[ok], curve[ok], rtol=1e-7, atol=1e-12)
    assert res.truncation == truncation
    assert res.reliable == reliable


def test_mser_flags_a_trend_as_unreliable():
    """A series that keeps rising has its minimum at the end, so the verdict is unreliable."""
    y = np.linspace(0.0, 10.0, 1000) + np.random.default_rng(3).normal(size=1000)
    res = mser(y)
    assert not res.reliable
    assert res.truncation <= 500  # still the best point of the first half


def test_mser_flags_a_series_too_short_for_its_transient():
    """A transient that lasts the whole series is not over: the minimum is in the second half."""
    res = mser(transient(300, np.random.default_rng(11)))
    # Over 2,000 seeds this was judged reliable 0.55% of the time.
    assert not res.reliable


@pytest.mark.parametrize("n", [0, 4, 24, 99])
def test_mser_calls_very_short_series_unreliable(n):
    """Fewer than 20 batch means (100 observations for MSER-5) are too few to judge."""
    res = mser(np.random.default_rng(n).normal(size=n))
    assert not res.reliable
    assert 0 <= res.truncation <= n // 2


@pytest.mark.parametrize(
    ("series", "batch", "message"),
    [
        ([1.0, np.nan, 2.0], 5, "nan or infinite"),
        ([1.0, np.inf], 1, "nan or infinite"),
        (np.ones((3, 4)), 5, "one-dimensional"),
        ([1.0, 2.0], 0, "positive integer"),
        ([1.0, 2.0], 2.5, "positive integer"),
        ([1.0, 2.0], True, "positive integer"),
    ],
)
def test_mser_rejects_bad_input(series, batch, message):
    """Missing values, 2-D input and a bad batch size are refused with a message saying which."""
    with pytest.raises(ValueError, match=message):
        mser(series, batch=batch)


def test_mser_result_is_frozen_and_read_only():
    """The result cannot be changed after the fact, not even its curve."""
    res = mser(np.arange(50.0))
    assert isinstance(res, MserResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.truncation = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.curve[0] = 1.0


# -- welch -------------------------------------------------------------------------------------


@pytest.mark.parametrize("w", [0, 1, 3, 10])
def test_welch_matches_the_definition(w):
    """Welch's curve is the replication mean averaged over a centred window that shrinks at the start."""
    rows = np.random.default_rng(w).normal(size=(4, 41))
    got = welch(rows, w)
    assert got.shape == (41 - w,)
    assert np.allclose(got, naive_welch(rows, w))


def test_welch_skips_missing_values():
    """Empty periods (nan) are left out of the means instead of turning everything into nan."""
    rows = np.array([[1.0, np.nan, 3.0, np.nan], [3.0, np.nan, 5.0, 6.0]])
    # period means: 2, nan, 4, 6
    assert np.allclose(welch(rows, 0), [2.0, np.nan, 4.0, 6.0], equal_nan=True)
    assert np.allclose(welch(rows, 1), [2.0, 3.0, 5.0])


@pytest.mark.parametrize("w", [-1, 5, 1.5])
def test_welch_rejects_a_bad_window(w):
    """A window that is negative, not whole or too wide for the series is refused."""
    with pytest.raises(ValueError, match="window"):
        welch(np.ones((2, 5)), w)


# -- suggest_warmup ----------------------------------------------------------------------------


def mm1() -> js.Model:
    """M/M/1 at 90% utilisation: arrivals 1/min, mean service 0.9 min."""
    return js.Model(
        [js.Microsystem("Clinic", capacity=1, service=js.Exponential(0.9))],
        classes=[js.PatientClass("all", entry="Clinic", rate=1.0)],
    )


def infinite_server(service) -> js.Model:
    """Unlimited capacity: nobody ever queues, so a run started empty has no transient."""
    return js.Model(
        [js.Microsystem("Clinic", capacity=None, service=service)],
        classes=[js.PatientClass("all", entry="Clinic", rate=1.0)],
    )


@pytest.fixture(scope="module")
def mm1_pilot():
    return js.simulate(mm1(), horizon=6_000, replications=30, seed=20260)


def test_suggest_warmup_mm1_started_empty(mm1_pilot):
    """An M/M/1 queue at 90% started empty has an upward transient: a positive warm-up well below the horizon."""
    s = suggest_warmup(mm1_pilot)
    horizon = mm1_pilot.scenario.horizon
    # Over 200 seeds the warm-up was always positive and below a quarter of the horizon for 95%;
    # it is never above half by construction. The transient itself lasts a few hundred minutes.
    assert 0 < s.warmup_minutes < horizon / 4
    assert s.warmup_minutes % s.bin_minutes == 0
    assert s.statistic == "time_in_system" and s.node is None
    # the series shows the transient: early journeys spend less time than later ones
    assert np.nanmean(s.series[s.times < 100]) < np.nanmean(s.series[s.times >= 1_000]) - 1.0


def test_suggest_warmup_on_waits_at_a_node(mm1_pilot):
    """With node=, the series is the mean wait at that microsystem, and it too needs a warm-up."""
    s = suggest_warmup(mm1_pilot, node="Clinic")
    assert s.statistic == "wait" and s.node == "Clinic"
    assert 0 < s.warmup_minutes <= mm1_pilot.scenario.horizon / 2
    assert np.nanmin(s.series) >= 0.0
    # M/M/1 mean wait in steady state: rho / (mu - lambda) = 0.9 / (1/0.9 - 1) = 8.1 minutes
    assert 6.0 < np.nanmean(s.series[s.times >= s.warmup_minutes]) < 10.5
    assert s.counts.sum() == sum(int((r.visits["arrival"] < 6_000).sum()) for r in mm1_pilot.records)


def test_suggest_warmup_by_replication_feeds_welch(mm1_pilot):
    """The per-replication bin means have one row per replication and go straight into welch."""
    s = suggest_warmup(mm1_pilot, bin_minutes=60)
    assert s.by_replication.shape == (30, 100)
    assert s.times[1] == 60.0 and s.series.size == 100
    assert np.allclose(np.nanmean(s.by_replication, axis=0), s.series, rtol=0.2)
    curve = welch(s.by_replication, 5)
    assert curve.shape == (95,) and curve[0] < curve[-1]


def test_suggest_warmup_without_queueing_fixed_service():
    """With unlimited capacity and fixed service every journey takes the same time: no warm-up at all."""
    pilot = js.simulate(infinite_server(js.Fixed(5.0)), horizon=3_000, replications=3, seed=1)
    s = suggest_warmup(pilot)
    assert s.warmup_minutes == 0.0
    assert s.reliable
    assert np.allclose(s.series[s.counts > 0], 5.0)


def test_suggest_warmup_without_queueing_random_service():
    """With unlimited capacity, times in system are independent of the start: the warm-up is small."""
    pilot = js.simulate(infinite_server(js.Exponential(5.0)), horizon=3_000, replications=5, seed=2)
    s = suggest_warmup(pilot)
    # Over 200 seeds the largest suggestion was 7.3% of the horizon.
    assert s.warmup_minutes < 0.1 * pilot.scenario.horizon
    assert s.reliable


def with_journeys(result, arrivals, tis, classes=None):
    """A copy of ``result`` whose single replication has the given journeys (synthetic outputs)."""
    arrivals = np.asarray(arrivals, dtype=float)
    tis = np.asarray(tis, dtype=float)
    cls = np.zeros(arrivals.size, dtype=np.int64) if classes is None else np.asarray(classes, dtype=np.int64)
    table = Table(
        "journeys",
        {"journey": np.arange(arrivals.size), "class": cls, "arrival": arrivals, "end": arrivals + tis,
         "time_in_system": tis},
    )
    rec = dataclasses.replace(result.records[0], journeys=table)
    return dataclasses.replace(result, records=(rec,))


def test_suggest_warmup_maps_the_truncation_through_empty_bins():
    """Empty bins are dropped, not filled, and the warm-up is the start of the first bin kept."""
    pilot = js.simulate(infinite_server(js.Fixed(1.0)), horizon=4_000, replications=1, seed=3)
    t = np.arange(0.0, 4_000.0, 0.5)
    t = t[(t < 200) | (t >= 400)]  # no arrivals in [200, 400): bins 20..39 are empty
    tis = np.where(t < 1_000, 5.0, 0.0)  # a step: steady from minute 1000 on
    s = suggest_warmup(with_journeys(pilot, t, tis), bin_minutes=10)
    assert np.all(s.counts[20:40] == 0) and np.all(np.isnan(s.series[20:40]))
    assert s.mser.n == 400 - 20
    # 80 non-empty bins precede minute 1000; counting the empty ones as observations would give 800
    assert s.mser.truncation == 80
    assert s.warmup_minutes == 1_000.0
    assert s.reliable


def test_suggest_warmup_leaves_background_classes_out():
    """Journeys of background classes do not enter the time-in-system series, as in the summary."""
    model = js.Model(
        [js.Microsystem("Clinic", capacity=None, service=js.Fixed(1.0))],
        classes=[js.PatientClass("main", entry="Clinic", rate=1.0),
                 js.PatientClass("other", entry="Clinic", rate=1.0, background=True)],
    )
    pilot = js.simulate(model, horizon=1_000, replications=1, seed=4)
    t = np.arange(0.0, 1_000.0, 0.5)
    cls = np.arange(t.size) % 2  # alternate main (0) and background (1)
    tis = np.where(cls == 1, 100.0, 2.0)
    s = suggest_warmup(with_journeys(pilot, t, tis, cls), bin_minutes=10)
    assert np.allclose(s.series, 2.0)
    assert s.counts.sum() == t.size // 2


def test_suggest_warmup_at_a_support_microsystem():
    """For a support microsystem the series is made of the requests it served, by the time they were made."""
    model = js.Model(
        [js.Microsystem("Clinic", capacity=None, service=js.Exponential(0.5)),
         js.Microsystem("Lab", kind="support", capacity=1, service=js.Exponential(0.8))],
        requests=[js.ServiceRequest("Clinic", "Lab", probability=0.9)],
        classes=[js.PatientClass("all", entry="Clinic", rate=1.0)],
    )
    pilot = js.simulate(model, horizon=3_000, replications=3, seed=5)
    wait = suggest_warmup(pilot, node="Lab")
    sojourn = suggest_warmup(pilot, node="Lab", statistic="sojourn")
    assert wait.counts.sum() == sum(int((r.requests["requested"] < 3_000).sum()) for r in pilot.records)
    # M/M/1 at 72%: mean wait 0.72 * 0.8 / 0.28 = 2.06 minutes, mean sojourn 2.86
    assert 1.0 < np.nanmean(wait.series) < 3.5
    assert np.nanmean(sojourn.series) > np.nanmean(wait.series) + 0.5


@pytest.mark.parametrize(
    ("horizon", "width"),
    [(1_000, 1.0), (3_000, 2.0), (6_000, 5.0), (10_080, 10.0), (525_600, 480.0), (100, 0.1), (2e7, 20_160.0)],
)
def test_default_bin_width_is_about_a_thousandth_of_the_horizon(horizon, width):
    """The default bin is horizon / 1000 rounded to a width that reads well."""
    assert _default_bin_minutes(horizon) == pytest.approx(width)


def test_suggest_warmup_uses_the_default_bin_width(mm1_pilot):
    """Without bin_minutes the bins are a rounded thousandth of the horizon and cover it exactly."""
    s = suggest_warmup(mm1_pilot)
    assert s.bin_minutes == 5.0
    assert s.times.size == s.series.size == s.counts.size == 1_200


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"node": "Clinc"}, "did you mean 'Clinic'"),
        ({"statistic": "wait"}, "not available of whole journeys"),
        ({"node": "Clinic", "statistic": "time_in_system"}, "not available at a microsystem"),
        ({"bin_minutes": 0}, "positive number of minutes"),
        ({"bin_minutes": float("nan")}, "positive number of minutes"),
    ],
)
def test_suggest_warmup_rejects_bad_arguments(mm1_pilot, kwargs, message):
    """An unknown node or statistic, or a bin width that is not positive, is refused with a hint."""
    with pytest.raises(ValueError, match=message):
        suggest_warmup(mm1_pilot, **kwargs)


def test_mser_ignores_rounding_noise_in_a_constant_series():
    """A constant blurred by floating-point rounding (end - arrival late in a run) is kept whole and reliable."""
    arrival = np.linspace(0.0, 5_000.0, 1_000)
    res = mser((arrival + 5.0) - arrival)
    assert res.truncation == 0 and res.reliable
