"""Six Sigma measures (issue 6, part 3) on a case computed by hand."""

from __future__ import annotations

import pytest

import journeysim as js
from journeysim.analysis.sixsigma import exact_six_sigma, six_sigma
from journeysim.model.distributions import Exponential
from journeysim.model.elements import Handoff, Microsystem, PatientClass
from journeysim.model.mesosystem import Model


def hand_case() -> Model:
    """A (defects x 0.1, y 0.2) -> B (defect 0.3), information 0.4 on the handoff.

    Opportunities per journey: 2 + 1 + 1 = 4. Defects per journey: 0.1 + 0.2 + 0.3 + 0.4 = 1.0.
    DPMO = 10**6 * 1.0 / 4 = 250,000. First-pass yields 0.72, 0.7, 0.6: RTY = 0.3024."""
    return Model([Microsystem("A", capacity=1, service=Exponential(2.0), defects={"x": 0.1, "y": 0.2}),
                  Microsystem("B", capacity=2, service=Exponential(3.0), defect=0.3)],
                 [Handoff("A", "B", defects={"information": 0.4})],
                 classes=[PatientClass("p", entry="A", rate=0.2)])


def test_exact_dpmo_by_hand():
    e = exact_six_sigma(hand_case())
    assert e["opportunities_per_journey"] == 4.0
    assert e["defects_per_journey"] == pytest.approx(1.0)
    assert e["dpmo"] == pytest.approx(250_000)
    assert e["rolled_throughput_yield"] == pytest.approx(0.72 * 0.7 * 0.6)
    assert e["sigma_level"] == pytest.approx(0.6745 + 1.5, abs=1e-4)  # Phi^-1(0.75) + 1.5


def test_simulated_six_sigma_matches_the_hand_case():
    result = js.simulate(hand_case(), horizon=20_000.0, replications=5, seed=3)
    sim = six_sigma(result)["simulated"]
    assert sim["opportunities_per_journey"]["mean"] == 4.0  # every journey: A, the handoff, B
    for key, expected in (("defects_per_journey", 1.0), ("dpmo", 250_000), ("rolled_throughput_yield", 0.3024)):
        low, high = sim[key]["ci95"]
        widen = 0.5 * (high - low)
        assert low - widen <= expected <= high + widen, (key, sim[key], expected)
    # RTY is the product of first-pass yields: with independent defects, about system quality
    q = result.summary().to_dict()["quality"]["system"]["simulated"]["mean"]
    assert sim["rolled_throughput_yield"]["mean"] == pytest.approx(q, abs=0.01)
