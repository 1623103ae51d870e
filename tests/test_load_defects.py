"""Defects that depend on load and time (issue 6, part 4), against M/M/1 theory."""

from __future__ import annotations

import math

import numpy as np
import pytest

import journeysim as js
from journeysim.errors import ValidationError
from journeysim.model.distributions import Exponential


def clinic(**load: float) -> js.Model:
    return js.Model([js.Microsystem("A", capacity=1, service=Exponential(6.0), defect=0.0, **load)],
                    classes=[js.PatientClass("p", entry="A", rate=0.1)])


def test_defect_rises_with_the_wait():
    """p = min(1, 0.3 per hour waited). M/M/1 (lambda 6/h, mu 10/h): the wait is 0 with
    probability 1 - rho and Exp(mu - lambda) otherwise, so P(defect) = rho (a / theta)(1 - e^(-theta/a))
    = 0.045. The recorded defects also match the mean of min(1, a W) over the recorded waits."""
    result = js.simulate(clinic(defect_per_wait_hour=0.3), horizon=200_000.0, warmup=2_000.0,
                         replications=4, seed=1)
    v = result.visits()
    p = np.minimum(1.0, 0.3 * v["wait"].to_numpy() / 60.0)
    share = float((v["defects"] > 0).mean())
    se = math.sqrt(np.sum(p * (1 - p))) / len(p)
    assert abs(share - p.mean()) < 4 * se
    rho, theta, a = 0.6, 4.0, 0.3
    expected = rho * a / theta * (1 - math.exp(-theta / a))
    assert abs(share - expected) < 0.1 * expected
    # the exact graph cannot see the wait: it keeps the base probability
    assert js.exact_quality(result.scenario.model).system == 1.0


def test_defect_rises_with_the_occupancy_on_arrival():
    """p = min(1, 0.05 per patient present on arrival); by PASTA the number found is geometric,
    P(N = n) = (1 - rho) rho^n, so P(defect) = sum_n min(1, 0.05 n) (1 - rho) rho^n."""
    result = js.simulate(clinic(defect_per_occupant=0.05), horizon=200_000.0, warmup=2_000.0,
                         replications=4, seed=2)
    rho = 0.6
    expected = sum(min(1.0, 0.05 * n) * (1 - rho) * rho**n for n in range(200))
    q = result.summary().to_dict()["quality"]["microsystems"]["A"]["quality"]
    n = result.summary().to_dict()["quality"]["microsystems"]["A"]["visits"]
    assert abs((1 - q) - expected) < 4 * math.sqrt(expected * (1 - expected) / n) + 0.003


def test_load_dependence_is_validated():
    with pytest.raises(ValidationError, match="defect_per_wait_hour"):
        js.Microsystem("A", defect=0.1, defect_per_wait_hour=-1)
