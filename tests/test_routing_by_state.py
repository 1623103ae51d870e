"""Routing by state: hand-computed conditional routing, activation, clock windows, exact analysis and validation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import journeysim as js
from journeysim.engine.kernel import run_replication
from journeysim.errors import ValidationError
from journeysim.io.scenario_file import loads_scenario
from journeysim.model.traffic import expected_visits, offered_load

WEEK = 7 * 1440.0


def hand_model(rate: float = 1.0) -> js.Model:
    """Two attributes, two conditional handoffs (the case computed by hand below).

    risk: high 0.3 / low 0.7; diabetic: 0.4. From A, high risk go to B (p 1, information defect 0.1);
    low-risk diabetics go to C with p 0.5; everyone else leaves from A.
    """
    return js.Model(
        [js.Microsystem("A", service=js.Exponential(1.0), defect=0.1),
         js.Microsystem("B", service=js.Exponential(1.0), defect=0.2),
         js.Microsystem("C", service=js.Exponential(1.0), defect=0.3)],
        [js.Handoff("A", "B", when='risk == "high"', defects={"information": 0.1}),
         js.Handoff("A", "C", probability=0.5, when='risk == "low" and diabetic')],
        classes=[js.PatientClass("k", entry="A", rate=rate,
                                 attributes={"risk": {"high": 0.3, "low": 0.7}, "diabetic": js.Bernoulli(0.4)})])


# by hand: visits to B = P(high) = 0.3; to C = P(low) P(diabetic) 0.5 = 0.7 * 0.4 * 0.5 = 0.14
HAND_VISITS = {"A": 1.0, "B": 0.3, "C": 0.14}
# quality: high 0.9 * 0.9 * 0.8; low diabetic 0.9 * (0.5 + 0.5 * 0.7); low not diabetic 0.9
HAND_QUALITY = 0.3 * 0.9 * 0.9 * 0.8 + 0.28 * 0.9 * (0.5 + 0.5 * 0.7) + 0.42 * 0.9


def test_conditional_visit_shares_match_the_hand_computation_and_the_traffic_equations():
    """Simulated visits per journey to B and C equal the hand-computed shares and the traffic equations'."""
    rec = run_replication(hand_model(), horizon=60_000.0, seed=4)
    n = len(rec.journeys)
    counts = np.bincount(rec.visits["node"], minlength=3) / n
    traffic = expected_visits(hand_model())["k"]
    for i, node in enumerate("ABC"):
        p = HAND_VISITS[node]
        assert traffic[node] == pytest.approx(p, abs=1e-12)
        assert abs(counts[i] - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-12, (node, counts[i], p)
    j = rec.journeys.to_frame()
    went_b = np.isin(j["journey"], rec.visits["journey"][rec.visits["node"] == 1])
    assert (went_b == (j["risk"] == "high")).all()  # exactly the high-risk patients go to B


def test_exact_quality_sums_over_the_discrete_attributes():
    """The exact quality with attribute-conditioned routing is the hand computation; the simulation agrees."""
    exact = js.exact_quality(hand_model())
    assert exact.unavailable is None
    assert exact.system == pytest.approx(HAND_QUALITY, abs=1e-12)
    assert exact.expected_visits["k"]["C"] == pytest.approx(0.14, abs=1e-12)
    rec = run_replication(hand_model(), horizon=60_000.0, seed=8)
    q = float(rec.journeys["defect_free"].mean())
    n = len(rec.journeys)
    assert abs(q - HAND_QUALITY) < 4 * math.sqrt(HAND_QUALITY * (1 - HAND_QUALITY) / n)


def test_offered_load_mixes_the_routing_variants():
    """The offered load of a conditional target is the arrival rate times its hand-computed visit share."""
    rate = 0.5
    load = offered_load(hand_model(rate))
    assert load["B"].erlangs == pytest.approx(rate * 0.3 * 1.0)
    assert load["C"].erlangs == pytest.approx(rate * 0.14 * 1.0)


@pytest.mark.parametrize("p", [0.25, 0.6])
def test_activated_routes_the_share_whose_team_was_called(p):
    """With a pre-activation made with probability p before leaving EMS, the share bypassing the ED is p."""
    model = js.Model(
        [js.Microsystem("EMS", service=js.Exponential(10.0)),
         js.Microsystem("ED", service=js.Exponential(5.0)),
         js.Microsystem("CathLab", service=js.Exponential(5.0), team_ready=js.Fixed(15.0),
                        activation=[js.Activation("arrive:EMS", probability=p)])],
        [js.Handoff("EMS", "CathLab", when='activated("CathLab")'),
         js.Handoff("EMS", "ED", when='not activated("CathLab")'),
         js.Handoff("ED", "CathLab", probability=0.5)],
        classes=[js.PatientClass("stemi", entry="EMS", rate=0.2)])
    rec = run_replication(model, horizon=100_000.0, seed=2)
    n = len(rec.journeys)
    label = np.array(rec.handoffs.labels["handoff"])[rec.handoffs["handoff"]]
    bypass = float(np.mean(label == "EMS->CathLab")) * len(label) / n
    assert abs(bypass - p) < 4 * math.sqrt(p * (1 - p) / n)
    ed = float(np.sum(label == "EMS->ED")) / n
    assert bypass + ed == pytest.approx(1.0)
    exact = js.exact_quality(model)
    assert exact.unavailable is not None and "activation" in exact.unavailable and math.isnan(exact.system)


def test_clock_window_routes_the_share_of_arrivals_in_the_window():
    """Routing on arrival by a weekday 08:00-17:00 window takes the window's share of the week (45 of 168 hours)."""
    model = js.Model(
        [js.Microsystem("Triage", service=js.Fixed(0.0)), js.Microsystem("Clinic", service=js.Exponential(5.0))],
        [js.Handoff("Triage", "Clinic", when='weekday in ["Mon", "Tue", "Wed", "Thu", "Fri"] and hour >= 8 '
                    'and hour < 17')],
        classes=[js.PatientClass("all", entry="Triage", rate=1.0)])
    rec = run_replication(model, horizon=4 * WEEK, seed=6)
    arrivals = rec.journeys["arrival"]
    inside = ((arrivals // 1440) % 7 < 5) & ((arrivals % 1440) >= 480) & ((arrivals % 1440) < 1020)
    routed = np.isin(rec.journeys["journey"], rec.visits["journey"][rec.visits["node"] == 1])
    assert (routed == inside).all()  # every patient in the window, and none outside, goes on
    share, n = float(routed.mean()), len(arrivals)
    assert abs(share - 45 / 168) < 4 * math.sqrt(45 / 168 * (1 - 45 / 168) / n)
    assert expected_visits(model)["all"]["Clinic"] == pytest.approx(45 / 168)  # the traffic's uniform-week assumption
    assert "clock" in js.exact_quality(model).unavailable


def test_numeric_thresholds_route_by_the_attribute():
    """``age >= 75`` with age uniform on [40, 90] sends 30% on; the traffic estimate is close, the exact n/a."""
    model = js.Model(
        [js.Microsystem("A", service=js.Exponential(1.0), defect=0.1), js.Microsystem("B", service=js.Exponential(1.0))],
        [js.Handoff("A", "B", when="age >= 75")],
        classes=[js.PatientClass("k", entry="A", rate=1.0, attributes={"age": js.Uniform(40, 90)})])
    rec = run_replication(model, horizon=20_000.0, seed=1)
    j = rec.journeys
    assert ((j["visits"] == 2) == (j["age"] >= 75)).all()
    assert expected_visits(model)["k"]["B"] == pytest.approx(0.3, abs=0.01)
    exact = js.exact_quality(model)
    assert "numeric attributes (age)" in exact.unavailable


def test_summary_json_marks_an_unavailable_exact_value_null_with_its_reason():
    """Where routing reads the clock, the exact figures are null in JSON, with the reason, and n/a in text."""
    model = js.Model(
        [js.Microsystem("A", capacity=2, service=js.Exponential(1.0), defect=0.1),
         js.Microsystem("B", capacity=2, service=js.Exponential(1.0))],
        [js.Handoff("A", "B", probability=0.8, when="hour < 8")],
        classes=[js.PatientClass("k", entry="A", rate=0.5)])
    summary = js.simulate(model, horizon=3_000.0, seed=3, replications=2).summary()
    d = json.loads(json.dumps(summary.to_dict(), allow_nan=False))
    system = d["quality"]["system"]
    assert system["analytic"] is None and "clock" in system["analytic_unavailable"]
    assert d["quality"]["by_class"]["k"]["analytic"] is None
    assert d["six_sigma"]["exact"]["rolled_throughput_yield"] is None
    assert all(r["method"] == "simulated" for r in d["quality"]["leverage"])
    assert "exact: n/a, routing depends on the clock" in summary.to_text()


def test_summary_json_of_a_model_without_conditions_has_no_unavailable_key():
    """A model without conditions keeps its JSON: no ``analytic_unavailable`` key, a number for ``analytic``."""
    model = js.Model([js.Microsystem("A", capacity=1, service=js.Exponential(1.0), defect=0.1)],
                     classes=[js.PatientClass("k", entry="A", rate=0.5)])
    d = js.simulate(model, horizon=500.0, seed=3).summary().to_dict()
    assert "analytic_unavailable" not in d["quality"]["system"]
    assert d["quality"]["system"]["analytic"] == pytest.approx(0.9)


_BASE = """
[scenario]
name = "v"
horizon_days = 1
[[microsystems]]
name = "A"
service = 1
[[microsystems]]
name = "B"
service = 1
[[microsystems]]
name = "C"
service = 1
team_ready = 10
[[classes]]
name = "k"
entry = "A"
rate_per_hour = 1
attributes = { treatment = { PCI = 0.9, CABG = 0.1 }, age = { dist = "uniform", low = 40, high = 90 } }
[[classes]]
name = "plain"
entry = "A"
rate_per_hour = 1
[[handoffs]]
from = "B"
to = "C"
probability = 0
"""


def _handoffs(*pairs: tuple[str, float, str], every_class: bool = False) -> str:
    """Handoffs out of A with conditions, for class k only (or for every class)."""
    return "".join(f'\n[[handoffs]]\nfrom = "A"\nto = "{to}"\nprobability = {p if every_class else {"k": p}}\n'
                   f'when = """{when}"""\n'.replace("{'k': ", "{ k = ") for to, p, when in pairs)


@pytest.mark.parametrize(("handoffs", "path", "message"), [
    (_handoffs(("B", 1.0, "age >=")), "handoffs[1] (A -> B).when", "column 7: expected a name"),
    (_handoffs(("B", 1.0, "agee >= 3")), "handoffs[1] (A -> B).when", "unknown name 'agee'"),
    (_handoffs(("B", 1.0, 'treatment == "PTCA"')), "handoffs[1] (A -> B).when", "'PTCA' is not a value"),
    (_handoffs(("B", 1.0, 'age == "PCI"')), "handoffs[1] (A -> B).when", "'age' is a number"),
    (_handoffs(("B", 1.0, 'activated("Q")')), "handoffs[1] (A -> B).when", "activated('Q'): unknown microsystem"),
    (_handoffs(("B", 1.0, 'activated("B")')), "handoffs[1] (A -> B).when", "has no team_ready time"),
    (_handoffs(("B", 0.6, "age >= 75"), ("C", 0.6, "age <= 75")), "microsystems[0] (A)",
     "add up to 1.2 > 1 for class 'k' when age = 75"),
    (_handoffs(("B", 0.6, 'treatment == "PCI"'), ("C", 0.6, "hour < 8")), "microsystems[0] (A)",
     "add up to 1.2 > 1"),
    (_handoffs(("B", 0.7, 'activated("C")'), ("C", 0.7, "true")), "microsystems[0] (A)",
     "when activated('C') = true"),
])
def test_bad_conditions_are_reported_with_their_key_path(handoffs, path, message):
    """Syntax (with the column), names, values, types, activated() and over-full states are validation errors."""
    with pytest.raises(ValidationError) as err:
        loads_scenario(_BASE + handoffs)
    assert any(p.path == path and message in p.message for p in err.value.problems), err.value.problems


def test_a_class_without_the_attribute_cannot_take_the_handoff():
    """A handoff whose condition reads an attribute its class lacks is refused, naming the class."""
    with pytest.raises(ValidationError, match=r"class 'plain' takes this handoff but has no attribute 'age'"):
        loads_scenario(_BASE + _handoffs(("B", 1.0, "age >= 75"), every_class=True))
    assert loads_scenario(_BASE + _handoffs(("B", 1.0, "age >= 75"))).model.has_conditions


def test_disjoint_conditions_may_each_have_probability_one():
    """``age > 75`` and ``age <= 75`` never hold together, so each may take everyone it selects."""
    s = loads_scenario(_BASE + _handoffs(("B", 1.0, "age > 75"), ("C", 1.0, "age <= 75")))
    assert [h.when.text for h in s.model.handoffs[1:]] == ["age > 75", "age <= 75"]


def test_when_must_be_text():
    """``when`` that is not a string is a problem at its path."""
    with pytest.raises(ValidationError) as err:
        loads_scenario(_BASE + '\n[[handoffs]]\nfrom = "A"\nto = "B"\nwhen = 3\n')
    assert any(p.path == "handoffs[1] (A -> B).when" and "must be a string" in p.message
               for p in err.value.problems)


def test_many_activation_conditions_are_refused_before_their_states_are_built():
    """Twenty-four activated(...) calls tell apart 2**24 states: refused at once, counted, not built (building
    them first took minutes and gigabytes, so this test would not finish)."""
    nodes = [js.Microsystem(f"T{i}", capacity=1, service=js.Exponential(1.0), team_ready=js.Fixed(1.0))
             for i in range(24)]
    when = " or ".join(f'activated("T{i}")' for i in range(24))
    with pytest.raises(js.ValidationError, match="16,777,216 states"):
        js.Model([js.Microsystem("A", capacity=1, service=js.Exponential(1.0)), *nodes],
                 [js.Handoff("A", "T0", probability=0.5, when=when),
                  *[js.Handoff("A", f"T{i}", probability=0.0) for i in range(1, 24)]],
                 classes=[js.PatientClass("p", entry="A", rate=0.1)])
