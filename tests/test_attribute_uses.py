"""Uses of patient attributes: standards restricted or grouped by attribute, activation, defect multipliers,
service steps selected by attribute (issue 16, item 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import journeysim as js
from journeysim.engine.kernel import run_replication
from journeysim.errors import ValidationError
from journeysim.io.scenario_file import loads_scenario


def treatment_model(**standard: object) -> js.Model:
    """A lab whose door-to-device standard is judged on PCI patients only, grouped by treatment and by age."""
    return js.Model(
        [js.Microsystem("Lab", capacity=None, service=js.Exponential(60.0))],
        classes=[js.PatientClass("STEMI", entry="Lab", rate=0.05,
                                 attributes={"treatment": {"PCI": 0.7, "CABG": 0.2, "medical": 0.1},
                                             "diabetic": js.Bernoulli(0.3),
                                             "age": js.Uniform(40, 90)})],
        standards=[js.Standard("door_to_device", start="arrive:Lab", end="depart:Lab", within=60,
                               **standard)],  # type: ignore[arg-type]
        groups=[js.Group.by_attribute("treatment", "treatment"), js.Group.by_attribute("diabetic", "diabetic"),
                js.Group.by_attribute("age", "age", cuts=[65, 75])])


def test_a_standard_with_when_judges_exactly_the_matching_journeys():
    """The standard's rows are exactly the PCI journeys; its met share is the one counted from the records."""
    model = treatment_model(when='treatment == "PCI"')
    rec = run_replication(model, horizon=100_000.0, seed=3)
    j = rec.journeys.to_frame()
    s = rec.standards.to_frame()
    pci = set(j.loc[j["treatment"] == "PCI", "journey"])
    assert set(s["journey"]) == pci and len(s) == len(pci)
    # met share by hand: the service (the whole interval) within 60 minutes
    v = rec.visits.to_frame().set_index("journey")
    by_hand = float((v.loc[sorted(pci), "service"] <= 60.0).mean())
    assert float(s["met"].mean()) == pytest.approx(by_hand, abs=1e-12)
    # the theory: exponential service of mean 60, P(S <= 60) = 1 - 1/e
    n = len(s)
    p = 1 - math.exp(-1.0)
    assert abs(by_hand - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_the_summary_counts_the_matching_journeys_and_groups_partition_them():
    """applies counts the PCI journeys; each group by attribute splits them into subgroups that add up."""
    model = treatment_model()
    result = js.simulate(model, horizon=40 * 1440.0, replications=1, seed=5)
    summary = result.summary().to_dict()
    st = summary["standards"]["door_to_device"]
    j = result.journeys()
    assert st["applies"] == len(j)
    by = st["by_group"]
    assert {k: v["applies"] for k, v in by["treatment"].items()} == {
        t: int((j["treatment"] == t).sum()) for t in ("PCI", "CABG", "medical")}
    assert {k: v["applies"] for k, v in by["diabetic"].items()} == {
        "yes": int(j["diabetic"].sum()), "no": int((~j["diabetic"].astype(bool)).sum())}
    ages = j["age"].to_numpy()
    assert [by["age"][k]["applies"] for k in ("<65", "65-75", ">=75")] == [
        int((ages < 65).sum()), int(((ages >= 65) & (ages < 75)).sum()), int((ages >= 75).sum())]
    for g in ("treatment", "diabetic", "age"):
        assert sum(c["applies"] for c in by[g].values()) == st["applies"]


def test_standard_when_and_attribute_groups_in_the_scenario_file():
    """``when`` on a standard and ``[groups.NAME] attribute = ...`` read from TOML; JSON shows the condition."""
    sc = loads_scenario(SCENARIO)
    result = js.simulate(sc.model, horizon=20 * 1440.0, replications=1, seed=1)
    st = result.summary().to_dict()["standards"]["door_to_device"]
    assert st["when"] == 'treatment == "PCI"'
    assert set(st["by_group"]["age"]) == {"<75", ">=75"}
    assert set(st["by_group"]["treatment"]) == {"PCI", "CABG"}
    assert st["by_group"]["treatment"]["CABG"]["applies"] == 0


SCENARIO = """
[scenario]
name = "uses"
horizon_days = 20
[[classes]]
name = "STEMI"
entry = "Lab"
rate_per_day = 20
attributes = { treatment = { PCI = 0.8, CABG = 0.2 }, age = { dist = "uniform", low = 40, high = 90 } }
[[microsystems]]
name = "Lab"
service = { dist = "exponential", mean = 30 }
[[standards]]
name = "door_to_device"
from = "arrive:Lab"
to = "depart:Lab"
within = 60
when = 'treatment == "PCI"'
[groups.treatment]
attribute = "treatment"
[groups.age]
attribute = "age"
cuts = [75]
"""


@pytest.mark.parametrize(("change", "path", "message"), [
    ('when = "risk == 1"', "standards[0] (door_to_device).when", "unknown name 'risk'"),
    ('when = "treatment > 3"', "standards[0] (door_to_device).when", "'treatment' holds one of"),
    ('when = "hour >= 8"', "standards[0] (door_to_device).when", "hour and weekday cannot be used here"),
    ('when = \'activated("Lab")\'', "standards[0] (door_to_device).when", "activated(...) cannot be used here"),
    ('when = "treatment =="', "standards[0] (door_to_device).when", "column"),
])
def test_bad_standard_conditions_name_their_key_path(change, path, message):
    """A standard's condition is checked against the attributes; clock and activation are refused."""
    text = SCENARIO.replace("when = 'treatment == \"PCI\"'", change)
    with pytest.raises(ValidationError) as err:
        loads_scenario(text)
    assert any(p.path == path and message in p.message for p in err.value.problems), err.value.problems


@pytest.mark.parametrize(("group", "path", "message"), [
    ('attribute = "weight"', "groups[1] (age).attribute", "unknown attribute 'weight'"),
    ('attribute = "age"', "groups[1] (age).cuts", "is a number: give cuts"),
    ('attribute = "treatment"\ncuts = [1]', "groups[1] (age).cuts", "is not a number"),
    ('attribute = "age"\ncuts = [75, 60]', "groups.age.cuts", "must increase"),
    ('class = { a = "STEMI" }\ncuts = [1]', "groups.age.cuts", "give attribute = NAME"),
])
def test_bad_attribute_groups_name_their_key_path(group, path, message):
    """A group by attribute names a declared attribute; a number needs increasing cuts, other kinds none."""
    text = SCENARIO.replace('attribute = "age"\ncuts = [75]', group)
    with pytest.raises(ValidationError) as err:
        loads_scenario(text)
    assert any(p.path == path and message in p.message for p in err.value.problems), err.value.problems


def test_a_class_without_the_attribute_is_refused_where_the_standard_applies_to_it():
    """A standard judged for a class that lacks the attribute its condition reads is a validation error."""
    with pytest.raises(ValidationError, match="class 'other' has no attribute 'treatment'"):
        js.Model([js.Microsystem("Lab")],
                 classes=[js.PatientClass("STEMI", entry="Lab", rate=0.1, attributes={"treatment": {"PCI": 1.0}}),
                          js.PatientClass("other", entry="Lab", rate=0.1)],
                 standards=[js.Standard("s", start="start", end="end", within=5, when='treatment == "PCI"')])


# -- activation conditioned on attributes -------------------------------------------------------------
def bypass_model(probability: float = 1.0) -> js.Model:
    """EMS pre-activates the cath lab from the scene for STEMI alerts, and takes exactly those past the ED."""
    lab = js.Microsystem("CathLab", capacity=None, service=js.Fixed(60.0), team_ready=js.Fixed(30.0),
                         activation=[js.Activation("EMS.ecg", probability=probability, when="stemi_alert")])
    return js.Model(
        [js.Microsystem("EMS", capacity=None, service=[js.Step("scene", js.Exponential(15.0)),
                                                       js.Step("ecg", js.Exponential(5.0))]),
         js.Microsystem("ED", capacity=None, service=js.Exponential(40.0)), lab],
        [js.Handoff("EMS", "CathLab", when="stemi_alert", delay=js.Fixed(20.0)),
         js.Handoff("EMS", "ED", when="not stemi_alert", delay=js.Fixed(15.0)),
         js.Handoff("ED", "CathLab")],
        classes=[js.PatientClass("STEMI", entry="EMS", rate=0.02, attributes={"stemi_alert": js.Bernoulli(0.6)})])


def test_activation_with_when_coincides_with_the_bypass_journey_by_journey():
    """The lab is called ahead exactly for the STEMI alerts, who are exactly those routed past the ED."""
    rec = run_replication(bypass_model(), horizon=60_000.0, seed=2)
    j = rec.journeys.to_frame().set_index("journey")
    a = rec.activations.to_frame().set_index("journey")
    ahead = a["activated"] < a["arrival"]  # called from the scene, not on arrival
    h = rec.handoffs.to_frame()
    bypass = set(h.loc[h["handoff"] == "EMS->CathLab", "journey"])
    alert = j["stemi_alert"].astype(bool)
    assert len(a) == len(j)
    assert (ahead == alert.loc[a.index]).all()
    assert (np.isin(a.index, sorted(bypass)) == ahead.to_numpy()).all()
    # the call is made at the end of the ECG step: 20 minutes' travel then leaves 10 of the 30 to wait
    waits = (a["ready"] - a["arrival"]).clip(lower=0)
    assert np.allclose(waits[ahead], 10.0)
    assert 0.55 < alert.mean() < 0.65


def test_activation_with_when_keeps_its_probability():
    """With ``when`` and probability 0.5, half the alerts are called ahead and no other patient is."""
    rec = run_replication(bypass_model(0.5), horizon=100_000.0, seed=6)
    j = rec.journeys.to_frame().set_index("journey")
    a = rec.activations.to_frame().set_index("journey")
    ahead = a["activated"] < a["arrival"]
    alert = j["stemi_alert"].astype(bool).loc[a.index]
    assert not ahead[~alert].any()
    n = int(alert.sum())
    share = float(ahead[alert].mean())
    assert abs(share - 0.5) < 4 * math.sqrt(0.25 / n), (share, n)


@pytest.mark.parametrize(("when", "message"), [
    ("stemi", "unknown name 'stemi'"),
    ("hour < 8", "hour and weekday cannot be used here"),
    ('activated("CathLab")', "activated(...) cannot be used here"),
    ("stemi_alert == 1", "is true or false"),
])
def test_bad_activation_conditions_name_their_key_path(when, message):
    """An activation's condition reads attributes only, each checked against its declaration."""
    with pytest.raises(ValidationError) as err:
        js.Model([js.Microsystem("EMS"), js.Microsystem("CathLab", team_ready=js.Fixed(30.0),
                                                        activation=[js.Activation("arrive:EMS", when=when)])],
                 [js.Handoff("EMS", "CathLab")],
                 classes=[js.PatientClass("STEMI", entry="EMS", rate=0.02,
                                          attributes={"stemi_alert": js.Bernoulli(0.6)})])
    path = "microsystems[1] (CathLab).activation[0].when"
    assert any(p.path == path and message in p.message for p in err.value.problems), err.value.problems


def test_activation_when_in_the_scenario_file():
    """``activation = [{ at = ..., when = ... }]`` is read from TOML; a bad key is named."""
    text = SCENARIO.replace('service = { dist = "exponential", mean = 30 }',
                            'service = { dist = "exponential", mean = 30 }\nteam_ready = 20\n'
                            'activation = [{ at = "start", when = \'treatment == "PCI"\' }]')
    lab = loads_scenario(text).model.microsystem("Lab")
    assert str(lab.activation[0].when) == 'treatment == "PCI"'
    with pytest.raises(ValidationError, match=r"activation\[0\].when: column"):
        loads_scenario(text.replace("when = 'treatment == \"PCI\"'", "when = 'treatment =='"))


# -- defect multipliers --------------------------------------------------------------------------------
def multiplier_model(rate: float = 1.0, age: bool = False) -> js.Model:
    """A (fall 0.1, x3 for high risk) -> B (defect 0.2), the handoff's information defect 0.1 (x2 for diabetics).

    By hand, risk and diabetic independent: E[1 - p_A] = 0.3 * 0.7 + 0.7 * 0.9 = 0.84,
    E[1 - p_H] = 0.4 * 0.8 + 0.6 * 0.9 = 0.86, so Q = 0.84 * 0.86 * 0.8.
    """
    attributes: dict[str, object] = {"risk": {"high": 0.3, "low": 0.7}, "diabetic": js.Bernoulli(0.4)}
    when = 'risk == "high"'
    if age:
        attributes["age"] = js.Uniform(40, 90)
        when = "age >= 75"
    return js.Model(
        [js.Microsystem("A", service=js.Exponential(1.0), defects={"fall": 0.1},
                        defect_multipliers=[{"when": when, "factor": 3.0, "defects": ["fall"]}]),
         js.Microsystem("B", service=js.Exponential(1.0), defect=0.2)],
        [js.Handoff("A", "B", defects={"information": 0.1},
                    defect_multipliers=[js.DefectMultiplier("diabetic", 2.0)])],
        classes=[js.PatientClass("k", entry="A", rate=rate, attributes=attributes)])


HAND_Q = 0.84 * 0.86 * 0.8


def test_simulated_defect_shares_per_attribute_value_are_p_and_factor_p():
    """The fall share is 0.1 for low risk and 0.3 for high; information 0.1 / 0.2 by diabetic."""
    rec = run_replication(multiplier_model(), horizon=40_000.0, seed=11)
    j = rec.journeys.to_frame().set_index("journey")
    d = rec.defects.to_frame()
    fell = j.index.isin(d.loc[d["defect"] == "fall", "journey"])
    informed = j.index.isin(d.loc[d["defect"] == "information", "journey"])
    for mask, hit, p in ((j["risk"] == "high", fell, 0.3), (j["risk"] == "low", fell, 0.1),
                         (j["diabetic"] == 1.0, informed, 0.2), (j["diabetic"] == 0.0, informed, 0.1)):
        n = int(mask.sum())
        share = float(hit[mask.to_numpy()].mean())
        assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n), (share, p, n)


def test_exact_quality_with_multipliers_is_the_hand_computation():
    """The exact quality sums over the discrete attributes' values; the simulation agrees."""
    exact = js.exact_quality(multiplier_model())
    assert exact.unavailable is None
    assert exact.system == pytest.approx(HAND_Q, abs=1e-12)
    rec = run_replication(multiplier_model(), horizon=40_000.0, seed=12)
    q = float(rec.journeys["defect_free"].mean())
    n = len(rec.journeys)
    assert abs(q - HAND_Q) < 4 * math.sqrt(HAND_Q * (1 - HAND_Q) / n)


def test_a_multiplier_on_a_numeric_attribute_makes_the_exact_quality_unavailable():
    """``age >= 75`` in a multiplier: the exact quality is null with the reason; the fall share is 0.1 x 3 there."""
    model = multiplier_model(age=True)
    exact = js.exact_quality(model)
    assert math.isnan(exact.system) and "defect multipliers depend on numeric attributes (age)" in exact.unavailable
    rec = run_replication(model, horizon=20_000.0, seed=1)
    j = rec.journeys.to_frame().set_index("journey")
    d = rec.defects.to_frame()
    fell = j.index.isin(d.loc[d["defect"] == "fall", "journey"])
    old = (j["age"] >= 75).to_numpy()
    assert abs(fell[old].mean() - 0.3) < 4 * math.sqrt(0.21 / old.sum())
    assert abs(fell[~old].mean() - 0.1) < 4 * math.sqrt(0.09 / (~old).sum())


def test_models_without_multipliers_keep_their_exact_quality_and_outcomes():
    """A numeric multiplier leaves the exact outcome shares available (they depend on routing only)."""
    from journeysim.analysis.outcomes import outcomes_unavailable
    assert outcomes_unavailable(multiplier_model(age=True)) is None


@pytest.mark.parametrize(("multiplier", "path", "message"), [
    ({"when": "weight > 3", "factor": 2.0}, "microsystems[0] (A).defect_multipliers[0].when", "unknown name 'weight'"),
    ({"when": "hour > 3", "factor": 2.0}, "microsystems[0] (A).defect_multipliers[0].when", "hour and weekday"),
    ({"when": 'risk == "hi"', "factor": 2.0}, "microsystems[0] (A).defect_multipliers[0].when", "not a value"),
    ({"when": "diabetic", "factor": 20.0}, "microsystems[0] (A).defect_multipliers",
     "0.1 x 20 = 2 > 1 for class 'k' when diabetic = true"),
    ({"when": "diabetic", "factor": 2.0, "defects": ["falls"]}, "microsystems[0] (A).defect_multipliers[0].defects",
     "unknown defect 'falls'"),
    ({"when": "diabetic", "factor": "x"}, "microsystems[0] (A).defect_multipliers[0].factor", "finite number >= 0"),
    ({"when": "diabetic"}, "microsystems[0] (A).defect_multipliers[0]", "must be a table with when and factor"),
    ({"when": "diabetic", "factor": 2.0, "on": 1}, "microsystems[0] (A).defect_multipliers[0]", "unknown key"),
])
def test_bad_multipliers_name_their_key_path(multiplier, path, message):
    """Every problem of a defect multiplier is reported with its key path, from the scenario file."""
    import json
    text = MULT_SCENARIO.replace("MULT", json.dumps(multiplier).replace('": ', '" = ').replace('{"', '{ "'))
    with pytest.raises(ValidationError) as err:
        loads_scenario(text)
    assert any(p.path == path and message in p.message for p in err.value.problems), err.value.problems


MULT_SCENARIO = """
[scenario]
name = "mult"
horizon_days = 5
[[classes]]
name = "k"
entry = "A"
rate_per_day = 20
attributes = { risk = { high = 0.3, low = 0.7 }, diabetic = { bernoulli = 0.4 } }
[[microsystems]]
name = "A"
service = 10
defects = { fall = 0.1 }
defect_multipliers = [MULT]
"""


def test_multipliers_in_the_scenario_file():
    """``defect_multipliers`` on a microsystem and a handoff, read from TOML."""
    text = MULT_SCENARIO.replace("MULT", '{ when = "diabetic", factor = 2.0 }') + """
[[microsystems]]
name = "B"
service = 5
[[handoffs]]
from = "A"
to = "B"
defects = { information = 0.1 }
defect_multipliers = [{ when = 'risk == "high"', factor = 1.5, defects = ["information"] }]
"""
    model = loads_scenario(text).model
    assert model.microsystem("A").defect_multipliers[0].factor == 2.0
    assert model.handoffs[0].defect_multipliers[0].defects == ("information",)
    assert js.exact_quality(model).system == pytest.approx((0.4 * 0.8 + 0.6 * 0.9) * (0.3 * 0.85 + 0.7 * 0.9))
