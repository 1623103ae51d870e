"""The engine against queueing theory: M/M/1, M/M/c, Jackson networks, M/M/inf, Little's law."""

from __future__ import annotations

import numpy as np
import pytest

import journeysim as js
from conftest import ci99, single_node, tandem_model
from theory import erlang_c, mm1_wait, mmc_sojourn, mmc_wait


def node_waits(result, node="Clinic"):
    """Mean wait per replication of visits that arrived after the warm-up."""
    out = []
    for rec in result.records:
        v = rec.visits
        code = result.scenario.model.node_names.index(node)
        keep = (v["node"] == code) & (v["arrival"] >= rec.warmup)
        out.append(float((v["start"] - v["arrival"])[keep].mean()))
    return out


def test_erlang_c_helper_matches_textbook():
    """The test's own Erlang C reproduces a textbook value (c=3, a=2.5: P(wait)=0.7022)."""
    assert erlang_c(3, 2.5) == pytest.approx(0.70225, abs=1e-4)
    assert erlang_c(1, 0.5) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("capacity", "mean_service", "rate"),
    [(1, 0.5, 1.0), (1, 0.8, 1.0), (3, 2.4, 1.0), (8, 6.0, 1.0)],
)
def test_mmc_mean_wait_matches_erlang_c(capacity, mean_service, rate):
    """Mean wait in an M/M/c clinic lies in the 99% CI around the Erlang C value."""
    model = single_node(capacity, mean_service, rate)
    res = js.simulate(model, horizon=40_000, warmup=2_000, replications=10, seed=capacity * 100 + 1)
    exact = mmc_wait(rate, mean_service, capacity)
    low, high = ci99(node_waits(res))
    assert low <= exact <= high, (exact, low, high)


def test_mm1_formula_agrees_with_erlang_c():
    """The M/M/1 closed form and Erlang C with c=1 agree (cross-check of the theory helper)."""
    assert mm1_wait(1.0, 0.8) == pytest.approx(mmc_wait(1.0, 0.8, 1))


def test_mmc_wait_in_summary_json(tmp_path):
    """The summary's wait and utilisation for a node agree with Erlang C and rho."""
    res = js.simulate(single_node(2, 1.5, 1.0), horizon=60_000, warmup=2_000, replications=8, seed=3)
    m = res.summary().to_dict()["microsystems"]["Clinic"]
    low, high = m["wait_minutes"]["ci95"]
    exact = mmc_wait(1.0, 1.5, 2)
    assert abs(m["wait_minutes"]["mean"] - exact) < 3 * (high - low)
    assert m["utilisation"]["mean"] == pytest.approx(0.75, rel=0.02)


def test_jackson_tandem_time_in_system():
    """Mean time in system of a tandem of M/M/c nodes equals the sum of their sojourn times."""
    servers = (2, 3, 1, 4)
    model = tandem_model(servers)
    res = js.simulate(model, horizon=30_000, warmup=1_000, replications=10, seed=42)
    means = []
    for rec in res.records:
        j = rec.journeys
        keep = j["arrival"] >= rec.warmup
        means.append(float(j["time_in_system"][keep].mean()))
    exact = sum(mmc_sojourn(1.0, 0.7 * c, c) for c in servers)
    low, high = ci99(means)
    assert low <= exact <= high, (exact, low, high)


def test_jackson_network_with_feedback():
    """A node with feedback (p=0.25) behaves as M/M/1 with the effective rate lambda/(1-p)."""
    model = js.Model(
        [js.Microsystem("Ward", capacity=1, service=js.Exponential(0.45))],
        [js.Handoff("Ward", "Ward", probability=0.25)],
        classes=[js.PatientClass("all", entry="Ward", rate=1.0)],
    )
    res = js.simulate(model, horizon=40_000, warmup=1_000, replications=10, seed=9)
    effective = 1.0 / 0.75
    low, high = ci99(node_waits(res, "Ward"))
    assert low <= mm1_wait(effective, 0.45) <= high


def test_unlimited_capacity_never_waits():
    """An unlimited-capacity node starts every visit on arrival (M/M/inf)."""
    model = js.Model(
        [js.Microsystem("Home", capacity=None, service=js.LogNormal(600, 1.0))],
        classes=[js.PatientClass("all", entry="Home", rate=0.5)],
    )
    res = js.simulate(model, horizon=60_000, warmup=10_000, replications=2, seed=1)
    v = res.visits()
    assert len(v) > 50_000
    assert (v["wait"] == 0).all()
    # mean number in service = lambda * E[S] (M/G/inf), once past the warm-up
    busy = res.summary().to_dict()["microsystems"]["Home"]["busy_servers"]["mean"]
    assert busy == pytest.approx(0.5 * js.LogNormal(600, 1.0).mean, rel=0.05)


def test_littles_law_at_every_node():
    """At every node, time-average number present L equals arrival rate times mean sojourn W."""
    model = tandem_model((2, 1, 3))
    res = js.simulate(model, horizon=50_000, warmup=1_000, seed=5)
    rec = res.records[0]
    v = rec.visits
    lo, hi = rec.warmup, rec.horizon
    for code in range(3):
        sel = v["node"] == code
        arr, end = v["arrival"][sel], v["end"][sel]
        # L: integral of the number present over [lo, hi], from the records
        inside = np.clip(np.minimum(end, hi) - np.maximum(arr, lo), 0, None).sum() / (hi - lo)
        counted = (arr >= lo) & (arr < hi)
        lam = counted.sum() / (hi - lo)
        w = (end - arr)[counted].mean()
        assert inside == pytest.approx(lam * w, rel=0.02)


def test_priorities_are_respected():
    """A waiting high-priority patient is always served before a waiting low-priority one."""
    model = js.Model(
        [js.Microsystem("CathLab", capacity=1, service=js.Exponential(1.0))],
        classes=[
            js.PatientClass("urgent", entry="CathLab", rate=0.3, priority=1),
            js.PatientClass("routine", entry="CathLab", rate=0.6, priority=0),
        ],
    )
    res = js.simulate(model, horizon=20_000, seed=2)
    v = res.visits()  # each row carries its journey's class
    # whenever a routine patient starts, no urgent patient who arrived earlier may still be waiting
    urgent = v[v["class"] == "urgent"]
    routine = v[v["class"] == "routine"]
    u_arr = urgent["arrival"].to_numpy()
    u_start = urgent["start"].to_numpy()
    for start in routine["start"].to_numpy()[:3000]:
        waiting = (u_arr < start) & (u_start > start)
        assert not waiting.any()
    # and urgent patients wait less, as M/M/1 with priorities predicts
    # (preemptive-free priority: W_urgent = W0/(1-rho1), W_routine = W0/((1-rho1)(1-rho)))
    w0 = 0.9 * 1.0  # residual work: lambda * E[S^2]/2 = 0.9 * 2 / 2
    assert urgent["wait"].mean() == pytest.approx(w0 / 0.7, rel=0.1)
    assert routine["wait"].mean() == pytest.approx(w0 / (0.7 * 0.1), rel=0.15)
