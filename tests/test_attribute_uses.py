"""Uses of patient attributes: standards restricted or grouped by attribute, activation, defect multipliers,
service steps selected by attribute (issue 16, item 5)."""

from __future__ import annotations

import math

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
