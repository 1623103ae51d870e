"""System quality: the exact solution against closed forms, and the simulation against the exact solution."""

from __future__ import annotations

import numpy as np
import pytest

import journeysim as js
from conftest import ci99, tandem_model


def quality_by_rep(result, class_name=None):
    """Share of counted journeys that were defect-free, per replication (computed from records)."""
    out = []
    for rec in result.records:
        j = rec.journeys
        keep = j["arrival"] >= rec.warmup
        if class_name is not None:
            keep &= j["class"] == result.scenario.model.class_names.index(class_name)
        out.append(float(j["defect_free"][keep].mean()))
    return out


def straight():
    return tandem_model((1, 2, 1), rate=0.5, defect=0.03, handoff_defects={"information": 0.1, "services": 0.02})


def branching():
    n = lambda name, d: js.Microsystem(name, capacity=None, service=js.Exponential(1.0), defect=d)  # noqa: E731
    return js.Model(
        [n("A", 0.05), n("B", 0.1), n("C", 0.2), n("D", 0.01)],
        [
            js.Handoff("A", "B", probability=0.6, defects={"information": 0.2}),
            js.Handoff("A", "C", probability=0.3, defects={"patient": 0.05}),
            js.Handoff("B", "D", probability=1.0),
            js.Handoff("C", "D", probability=0.5, defects={"services": 0.1}),
        ],
        classes=[js.PatientClass("all", entry="A", rate=1.0)],
    )


def loop():
    return js.Model(
        [js.Microsystem("Ward", capacity=None, service=js.Exponential(2.0), defect=0.1),
         js.Microsystem("Clinic", capacity=None, service=js.Exponential(1.0), defect=0.05)],
        [js.Handoff("Ward", "Clinic", probability=0.8, defects={"information": 0.3}),
         js.Handoff("Clinic", "Ward", probability=0.4, defects={"information": 0.1})],
        classes=[js.PatientClass("all", entry="Ward", rate=1.0)],
    )


def with_requests():
    return js.Model(
        [js.Microsystem("ED", capacity=4, service=js.Exponential(3.0), defect=0.02),
         js.Microsystem("Ward", capacity=None, service=js.Exponential(10.0), defect=0.04),
         js.Microsystem("Lab", kind="support", capacity=2, service=js.Exponential(1.0), defect=0.05),
         js.Microsystem("Pharmacy", kind="support", capacity=1, service=js.Exponential(0.5), defect=0.14)],
        [js.Handoff("ED", "Ward", probability=0.7, defects={"information": 0.25})],
        [js.ServiceRequest("ED", "Lab", probability=0.9, defects={"information": 0.03, "services": 0.01}),
         js.ServiceRequest("Ward", "Pharmacy", probability=0.5, delay=js.Fixed(5.0))],
        classes=[js.PatientClass("all", entry="ED", rate=0.8)],
    )


def test_exact_straight_pathway_is_the_product():
    """On a straight pathway the exact quality is the product of every microsystem and handoff quality."""
    product = 0.97**3 * (0.9 * 0.98) ** 2
    assert js.exact_quality(straight()).system == pytest.approx(product, rel=1e-12)


def test_exact_branching_matches_hand_calculation():
    """With branching, exact quality is the probability-weighted sum over paths."""
    qd = 0.99
    qb = 0.9 * qd
    qc = 0.8 * (0.5 + 0.5 * 0.9 * qd)
    expected = 0.95 * (0.1 + 0.6 * 0.8 * qb + 0.3 * 0.95 * qc)
    assert js.exact_quality(branching()).system == pytest.approx(expected, rel=1e-12)


def test_exact_loop_matches_geometric_series():
    """With a loop, exact quality sums the geometric series of returns."""
    # q_w = 0.9 (0.2 + 0.8*0.7*q_c); q_c = 0.95 (0.6 + 0.4*0.9*q_w)
    a = 0.9 * 0.8 * 0.7 * 0.95
    q_w = (0.9 * 0.2 + a * 0.6) / (1 - a * 0.4 * 0.9)
    assert js.exact_quality(loop()).system == pytest.approx(q_w, rel=1e-12)


def test_exact_service_requests():
    """A request of probability r to a support node of quality Qs scales the visit by 1 - r + r*Qs."""
    q_ed = 0.98 * (0.1 + 0.9 * 0.95 * 0.97 * 0.99)
    q_ward = 0.96 * (0.5 + 0.5 * 0.86)
    expected = q_ed * (0.3 + 0.7 * 0.75 * q_ward)
    assert js.exact_quality(with_requests()).system == pytest.approx(expected, rel=1e-12)


def test_exact_weights_classes_by_arrival_rate():
    """The overall exact quality weights each class's quality by its arrival rate."""
    model = js.Model(
        [js.Microsystem("A", capacity=None, service=js.Fixed(1.0), defect={"x": 0.1, "y": 0.3})],
        classes=[js.PatientClass("x", entry="A", rate=3.0), js.PatientClass("y", entry="A", rate=1.0)],
    )
    exact = js.exact_quality(model)
    assert exact.by_class == {"x": pytest.approx(0.9), "y": pytest.approx(0.7)}
    assert exact.system == pytest.approx(0.85)


def test_exact_expected_visits_with_loop():
    """Expected visits per journey follow the fundamental matrix (I - P)^-1."""
    ev = js.exact_quality(loop()).expected_visits["all"]
    # visits to Ward v_w = 1 + 0.4 v_c, v_c = 0.8 v_w
    v_w = 1 / (1 - 0.32)
    assert ev["Ward"] == pytest.approx(v_w)
    assert ev["Clinic"] == pytest.approx(0.8 * v_w)


@pytest.mark.parametrize("make", [straight, branching, loop, with_requests], ids=lambda f: f.__name__)
def test_simulated_quality_within_ci_of_exact(make):
    """Simulated system quality contains the exact value in its 99% CI across replications."""
    model = make()
    res = js.simulate(model, horizon=8_000, warmup=200, replications=12, seed=2026)
    low, high = ci99(quality_by_rep(res))
    exact = js.exact_quality(model).system
    assert low <= exact <= high, (exact, low, high)
    # and the library's own summary reports the same exact value
    assert res.summary().to_dict()["quality"]["system"]["analytic"] == pytest.approx(exact)


def test_simulated_quality_per_class_and_element():
    """Per-class quality, and per-microsystem and per-handoff quality, agree with their exact values."""
    model = js.Model(
        [js.Microsystem("A", capacity=None, service=js.Exponential(1.0), defect={"x": 0.1, "y": 0.3}),
         js.Microsystem("B", capacity=None, service=js.Exponential(1.0), defect=0.2)],
        [js.Handoff("A", "B", probability={"x": 1.0, "y": 0.5}, defects={"information": {"x": 0.4, "y": 0.1}})],
        classes=[js.PatientClass("x", entry="A", rate=1.0), js.PatientClass("y", entry="A", rate=1.0)],
    )
    res = js.simulate(model, horizon=10_000, replications=10, seed=8)
    exact = js.exact_quality(model)
    for name in ("x", "y"):
        low, high = ci99(quality_by_rep(res, name))
        assert low <= exact.by_class[name] <= high
    q = res.summary().to_dict()["quality"]
    assert q["microsystems"]["B"]["quality"] == pytest.approx(0.8, abs=0.01)
    # handoff A->B: x gives 2/3 of transfers with defect 0.4, y 1/3 with 0.1 -> quality 1 - 0.3
    assert q["handoffs"]["A->B"]["by_kind"]["information"] == pytest.approx(0.7, abs=0.01)
    assert q["handoffs"]["A->B"]["by_kind"]["patient"] == 1.0


def test_zero_and_certain_defects():
    """No defects give quality exactly 1; a certain defect gives exactly 0."""
    clean = js.simulate(tandem_model((1, 1), rate=0.3), horizon=2_000, seed=1).summary().to_dict()
    assert clean["quality"]["system"]["simulated"]["mean"] == 1.0
    assert clean["quality"]["system"]["analytic"] == 1.0
    doomed = tandem_model((1, 1), rate=0.3, handoff_defects={"patient": 1.0})
    d = js.simulate(doomed, horizon=2_000, seed=1).summary().to_dict()
    assert d["quality"]["system"]["simulated"]["mean"] == 0.0
    assert d["quality"]["system"]["analytic"] == 0.0


def test_defect_records_match_journey_flags():
    """A journey is defect-free exactly when the defects table has no row for it."""
    res = js.simulate(with_requests(), horizon=5_000, seed=4)
    j = res.journeys()
    d = res.defects()
    with_defect = set(d["journey"])
    assert (j["defect_free"] == ~j["journey"].isin(with_defect)).all()
    counts = d.groupby("journey").size()
    assert (j.set_index("journey").loc[counts.index, "defects"] == counts).all()
    assert set(d["element_type"]) <= {"microsystem", "handoff", "request"}


def test_background_class_is_left_out_of_pathway_quality():
    """A background class shares capacity but not the pathway's overall quality."""
    model = js.Model(
        [js.Microsystem("CCU", capacity=2, service=js.Exponential(10.0), defect={"ami": 0.5, "other": 0.0})],
        classes=[js.PatientClass("ami", entry="CCU", rate=0.05),
                 js.PatientClass("other", entry="CCU", rate=0.1, background=True)],
    )
    exact = js.exact_quality(model)
    assert exact.system == pytest.approx(0.5)
    s = js.simulate(model, horizon=20_000, replications=3, seed=1).summary().to_dict()
    assert s["quality"]["system"]["simulated"]["mean"] == pytest.approx(0.5, abs=0.05)
    assert s["quality"]["by_class"]["other"]["simulated"]["mean"] == 1.0
    assert s["quality"]["by_class"]["other"]["background"] is True
    # the background class still loads the CCU: utilisation = (0.05 + 0.1) * 10 / 2
    assert s["microsystems"]["CCU"]["utilisation"]["mean"] == pytest.approx(0.75, rel=0.05)
    with pytest.raises(js.ValidationError, match="background"):
        js.Model(model.microsystems, classes=[js.PatientClass("x", entry="CCU", rate=1, background=True)])


def test_exact_quality_large_graph_matches_direct_solve():
    """On a large random graph the iterative solution equals a dense direct solve."""
    rng = np.random.default_rng(3)
    n = 700
    nodes = [js.Microsystem(f"M{i}", capacity=1, service=js.Fixed(1.0), defect=float(rng.uniform(0, 0.05)))
             for i in range(n)]
    handoffs = []
    for i in range(n - 1):
        targets = sorted({i + 1} | {int(j) for j in rng.integers(0, n, size=2) if j != i})
        handoffs += [js.Handoff(f"M{i}", f"M{j}", probability=0.8 / len(targets),
                                defects={"information": float(rng.uniform(0, 0.1))}) for j in targets]
    model = js.Model(nodes, handoffs, classes=[js.PatientClass("p", entry="M0", rate=1.0)])
    # dense reference, built here from the recursion
    index = {m.name: i for i, m in enumerate(nodes)}
    a = np.zeros((n, n))
    p_out = np.zeros(n)
    for h in handoffs:
        p = h.probability.get("p")
        a[index[h.source], index[h.target]] += p * h.defects.quality_for("p")
        p_out[index[h.source]] += p
    qm = np.array([m.quality_for("p") for m in nodes])
    q = np.linalg.solve(np.eye(n) - qm[:, None] * a, qm * (1 - p_out))
    assert js.exact_quality(model).system == pytest.approx(q[0], rel=1e-9)
