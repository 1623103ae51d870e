"""Exits with delays: the bed stays occupied while a leaving patient waits (paperwork, transport)."""

from __future__ import annotations

import numpy as np
import pytest

import journeysim as js
from conftest import write
from theory import mmc_wait


def ward(exit_delay, capacity=1, rate=0.05):
    return js.Model(
        [js.Microsystem("Ward", capacity=capacity, service=js.Exponential(6.0), exit_delay=exit_delay)],
        classes=[js.PatientClass("p", entry="Ward", rate=rate)],
    )


def test_exit_delay_holds_the_bed_and_extends_the_journey():
    """With unlimited beds, a fixed exit delay adds exactly its length to the visit and the journey."""
    model = ward(js.Fixed(30.0), capacity=None)
    res = js.simulate(model, horizon=10_000.0, seed=1)
    v = res.visits().merge(res.journeys()[["journey", "time_in_system"]], on="journey")
    np.testing.assert_allclose(v["hold"], 30.0)
    np.testing.assert_allclose(v["end"] - v["start"], v["service"] + 30.0)
    np.testing.assert_allclose(v["time_in_system"], v["end"] - v["arrival"])


def test_exit_delay_counts_as_service_for_the_queue():
    """A single bed with exponential work and a fixed exit delay is M/G/1: Pollaczek-Khinchine waits, rho = lambda E[S]."""
    rate, work, hold = 0.05, 6.0, 4.0
    res = js.simulate(ward(js.Fixed(hold), rate=rate), horizon=200_000.0, warmup=2_000.0, replications=6, seed=2)
    m = res.summary().to_dict()["microsystems"]["Ward"]
    mean_s = work + hold
    second = 2 * work**2 + 2 * work * hold + hold**2  # E[(X + h)^2] for X ~ Exp(mean 6)
    rho = rate * mean_s
    pk_wait = rate * second / (2 * (1 - rho))
    assert m["utilisation"]["mean"] == pytest.approx(rho, rel=0.03)
    assert m["hold_minutes"]["mean"] == pytest.approx(hold)
    low, high = m["wait_minutes"]["ci95"]
    assert low - 0.1 * pk_wait <= pk_wait <= high + 0.1 * pk_wait
    # without the exit delay the wait would be the M/M/1 value: the hold must matter
    assert m["wait_minutes"]["mean"] > 1.5 * mmc_wait(rate, work, 1)


def test_exit_delay_only_on_leaving():
    """Patients handed on to another microsystem leave at once; only those leaving the pathway are held."""
    model = js.Model(
        [js.Microsystem("Ward", capacity=None, service=js.Fixed(10.0), exit_delay=js.Fixed(60.0)),
         js.Microsystem("Rehab", capacity=None, service=js.Fixed(5.0))],
        [js.Handoff("Ward", "Rehab", probability=0.5)],
        classes=[js.PatientClass("p", entry="Ward", rate=0.01)],
    )
    res = js.simulate(model, horizon=50_000.0, seed=3)
    v = res.visits().merge(res.journeys()[["journey", "exit"]], on="journey")
    ward_visits = v[v["node"] == "Ward"]
    left_here = ward_visits["exit"] == "Ward"
    np.testing.assert_allclose(ward_visits.loc[left_here, "hold"], 60.0)
    assert (ward_visits.loc[~left_here, "hold"] == 0.0).all()
    assert 0.4 < left_here.mean() < 0.6


def test_exit_delay_in_scenario_file(tmp_path):
    """`exit_delay` is a distribution key of a microsystem; a bad one is a clear error."""
    text = """\
    [scenario]
    horizon_days = 2
    [[classes]]
    name = "p"
    entry = "Ward"
    rate_per_day = 5
    [[microsystems]]
    name = "Ward"
    service = 60
    exit_delay = {delay}
    """
    s = js.load_scenario(write(tmp_path, text.format(delay='{ dist = "uniform", low = 30, high = 90 }')))
    assert s.model.microsystem("Ward").exit_delay == js.Uniform(30.0, 90.0)
    with pytest.raises(js.ValidationError, match=r"microsystems\[0\] \(Ward\).exit_delay.dist: unknown distribution"):
        js.load_scenario(write(tmp_path, text.format(delay='{ dist = "beta" }')))
