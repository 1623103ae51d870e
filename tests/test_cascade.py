"""The quality cascade (issue 6, part 2)."""

from __future__ import annotations

import numpy as np
import pytest

import journeysim as js
from journeysim.analysis.cascade import cascade
from journeysim.model.distributions import Exponential, Fixed
from journeysim.model.elements import Handoff, Microsystem, PatientClass, ServiceRequest
from journeysim.model.mesosystem import Model


def test_cascade_ends_at_system_quality_on_a_straight_pathway():
    """One path: the simulated cascade ends at the simulated system quality (the same journeys),
    the exact one at the exact system quality, and both only ever fall."""
    model = Model(
        [Microsystem("A", capacity=1, service=Exponential(2.0), defect=0.1),
         Microsystem("B", capacity=2, service=Exponential(3.0), defects={"x": 0.2, "y": 0.05}),
         Microsystem("Lab", kind="support", capacity=1, service=Exponential(1.0), defect=0.1)],
        [Handoff("A", "B", defects={"information": 0.3})],
        requests=[ServiceRequest("B", "Lab", probability=0.5, defects={"services": 0.2})],
        classes=[PatientClass("p", entry="A", rate=0.2)],
    )
    result = js.simulate(model, horizon=20_000.0, warmup=1_000.0, replications=2, seed=4)
    c = cascade(result)
    assert c["step_label"].tolist() == ["A", "A->B", "B"] and c["path_share"].eq(1.0).all()
    pooled = result.journeys()
    counted = pooled[pooled["arrival"] >= 1_000.0]
    assert c["simulated"].iloc[-1] == pytest.approx(counted["defect_free"].mean(), abs=1e-12)
    assert c["exact"].iloc[-1] == pytest.approx(js.exact_quality(model).system, abs=1e-12)
    assert c["exact"].iloc[-1] == pytest.approx(0.9 * 0.7 * 0.8 * 0.95 * (0.5 + 0.5 * 0.9 * 0.8))
    for col in ("simulated", "exact"):
        assert np.all(np.diff(c[col]) <= 0)
    se = np.sqrt(c["exact"] * (1 - c["exact"]) / c["journeys"])
    assert np.all(np.abs(c["simulated"] - c["exact"]) < 4 * se)


def test_cascade_per_path_and_standards_step():
    """Branching: each of the most frequent paths has its own cascade, with the share of the class
    on it; missed standards come last, with no exact value."""
    model = Model(
        [Microsystem("A", service=Fixed(5.0), defect=0.05), Microsystem("B", service=Fixed(5.0), defect=0.1),
         Microsystem("C", service=Fixed(5.0), defect=0.2)],
        [Handoff("A", "B", probability=0.7, delay=Exponential(10.0)), Handoff("A", "C", probability=0.3)],
        classes=[PatientClass("p", entry="A", rate=0.1)],
        standards=[js.Standard("a_to_b", start="arrive:A", end="arrive:B", within=15, reached_only=True)],
    )
    c = cascade(js.simulate(model, horizon=30_000.0, replications=2, seed=5))
    paths = c.groupby("path")["path_share"].first()
    assert set(paths.index) == {"A > B", "A > C"} and paths["A > B"] == pytest.approx(0.7, abs=0.03)
    ab = c[c["path"] == "A > B"]
    assert ab["step_label"].tolist() == ["A", "A->B", "B", "standards"] and np.isnan(ab["exact"].iloc[-1])
    # the standard is met when the Exp(10) transfer is at most 10 min: the last step drops by that share
    drop = ab["simulated"].iloc[-1] / ab["simulated"].iloc[-2]
    assert drop == pytest.approx(1 - np.exp(-1.0), abs=0.03)
    ac = c[c["path"] == "A > C"]
    assert ac["simulated"].iloc[-2] == ac["simulated"].iloc[-1]  # nobody on A > C is judged


def test_cascade_with_queue_rules_places_their_defects_between_visits():
    """A diversion joins A and C by an 'A~>C' step holding its defect (exact unknown from there); a journey
    rejected at its first arrival has no path; each path still ends at its journeys' defect-free share."""
    model = Model(
        [Microsystem("A", capacity=3, service=Exponential(10.0), defect=0.1, queue_limit=0, full_is_defect=True),
         Microsystem("B", capacity=1, service=Exponential(15.0), queue_limit=0,
                     when_full=js.Divert("C", delay=Fixed(5.0)), full_is_defect=True),
         Microsystem("C", service=Fixed(3.0))],
        [Handoff("A", "B")], classes=[PatientClass("p", entry="A", rate=0.3)],
    )
    result = js.simulate(model, horizon=5_000.0, replications=2, seed=3)
    assert {"rejected", "diverted"} <= set(result.unserved()["ended"].astype(str))
    c = cascade(result, top=5)
    assert set(c["path"]) == {"A > B", "A > C"}  # the rejected journeys visited nothing
    diverted = c[c["path"] == "A > C"]
    assert diverted["step_label"].tolist() == ["A", "A~>C", "C"]
    assert diverted["exact"].iloc[0] == pytest.approx(0.9) and diverted["exact"].iloc[1:].isna().all()
    # every diverted journey has the diversion's defect, in the step between its visits, not in A's
    assert 0.8 < diverted["simulated"].iloc[0] < 0.97 and (diverted["simulated"].iloc[1:] == 0).all()
    journeys = result.journeys()
    served = c[c["path"] == "A > B"]
    visits = result.visits()
    on_b = visits.loc[visits["node"].astype(str) == "B", ["replication", "journey"]]
    share = journeys.merge(on_b, on=["replication", "journey"])["defect_free"].mean()
    assert served["simulated"].iloc[-1] == pytest.approx(share, abs=1e-12)
    assert served["path_share"].iloc[0] + diverted["path_share"].iloc[0] < 1  # the rejected ones count in the total
