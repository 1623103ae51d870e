"""The peer models under benchmarks/ load and keep the peer's inputs.

``benchmarks/treatsim.py`` compares journeysim with treat-sim 3.0.0 (not a test
dependency: it pulls in scikit-learn and plotly); this keeps its scenario file valid
and its arrivals those of treat-sim's bundled profile.
"""

from pathlib import Path

import pytest

import journeysim as js

TREAT_SIM = Path(__file__).parent.parent / "benchmarks" / "peers" / "treat_sim_19h.toml"

#: treat_sim/data/ed_arrivals.csv (06:00-24:00), treat-sim 3.0.0
ED_ARRIVALS = (2.36666666666667, 2.8, 8.83333333333333, 10.4333333333333, 14.8, 26.2666666666667,
               31.4, 18.0666666666667, 16.4666666666667, 12.0333333333333, 11.6, 28.8666666666667,
               18.0333333333333, 11.5, 5.3, 4.06666666666667, 2.2, 2.1)


def test_treat_sim_peer_runs_treat_sims_19_hours():
    scenario = js.load_scenario(TREAT_SIM)
    assert scenario.end == "stop"
    assert scenario.horizon == 19 * 60
    # treat-sim's generator indexes its 18 hours modulo 18: hour 19 (00:00-01:00) reuses 06:00's rate
    expected_arrivals = sum(ED_ARRIVALS) + ED_ARRIVALS[0]
    (patients,) = scenario.model.classes
    assert patients.rate * 24 * 60 == pytest.approx(expected_arrivals)  # the hours after 01:00 are 0
