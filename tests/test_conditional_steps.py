"""Service steps selected by attribute (issue 16, item 5): a step's ``when`` on the patient's attributes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import journeysim as js
from journeysim.engine.kernel import Kernel, run_replication
from journeysim.engine.plan import plan
from journeysim.engine.streams import Selective, StreamFactory
from journeysim.errors import ValidationError
from journeysim.io.scenario_file import loads_scenario
from journeysim.model.elements import Step
from journeysim.model.traffic import mean_service, offered_load

SHARES = {"PCI": 0.6, "CABG": 0.3, "medical": 0.1}
MEANS = {"prep": 20.0, "device": 40.0, "surgery_prep": 30.0, "closure": 10.0}


def lab_model(*, conditional: bool = True, capacity: int | None = None, rate: float = 0.05) -> js.Model:
    """A lab whose ``device`` step is for PCI patients and ``surgery_prep`` for CABG patients (or everyone's)."""
    when = {"device": 'treatment == "PCI"', "surgery_prep": 'treatment == "CABG"'} if conditional else {}
    steps = [Step(name, js.Exponential(mean), when=when.get(name)) for name, mean in MEANS.items()]
    return js.Model([js.Microsystem("Lab", capacity=capacity, service=steps)],
                    classes=[js.PatientClass("STEMI", entry="Lab", rate=rate, attributes={"treatment": SHARES})],
                    standards=[js.Standard("to_device", start="arrive:Lab", end="Lab.device", within=90)])


def frames(model: js.Model, seed: int, horizon: float = 100_000.0, attribute: str = "treatment"):
    rec = run_replication(model, horizon=horizon, seed=seed)
    visits = rec.visits.to_frame().merge(rec.journeys.to_frame()[["journey", attribute]], on="journey")
    return rec, visits.sort_values("start", kind="stable").reset_index(drop=True)


def test_visit_durations_by_value_are_the_sums_of_the_selected_steps_means():
    """Mean service per treatment against the sum of its steps' means, within 4 standard errors."""
    _, v = frames(lab_model(), seed=11)
    had = {"PCI": ("prep", "device", "closure"), "CABG": ("prep", "surgery_prep", "closure"),
           "medical": ("prep", "closure")}
    for value, steps in had.items():
        x = v.loc[v["treatment"] == value, "service"].to_numpy()
        expected = sum(MEANS[s] for s in steps)
        se = math.sqrt(sum(MEANS[s] ** 2 for s in steps) / len(x))  # independent exponentials
        assert len(x) > 200
        assert abs(x.mean() - expected) < 4 * se, (value, x.mean(), expected, se)


def test_a_milestone_at_a_conditional_steps_end_is_reached_exactly_by_its_patients():
    """Journey by journey: ``Lab.device`` is reached by the PCI patients only, at the end of prep + device."""
    rec, v = frames(lab_model(), seed=4, horizon=30_000.0)
    s = rec.standards.to_frame().merge(rec.journeys.to_frame()[["journey", "treatment"]], on="journey")
    assert len(s) == len(rec.journeys)  # every journey reaches the start (arrival at the lab)
    reached = np.isfinite(s["end"].to_numpy())
    assert (reached == (s["treatment"] == "PCI").to_numpy()).all()
    # the device step's end comes after prep + device, before the closure: inside the visit
    by_journey = v.set_index("journey")
    pci = s[reached]
    ends = pci["end"].to_numpy()
    assert (ends > by_journey.loc[pci["journey"], "start"].to_numpy()).all()
    assert (ends < by_journey.loc[pci["journey"], "end"].to_numpy()).all()
    # the others miss the standard (not reached), as any journey that never reaches its end milestone
    assert not s.loc[~reached, "met"].any()


def test_every_step_is_drawn_for_every_visit_and_only_the_patients_steps_count():
    """Common random numbers: the steps' own streams, drawn row by row, rebuild every visit's service; a
    patient who has every step gets exactly the service of the model without conditions."""
    seed = 8
    _, v = frames(lab_model(), seed=seed, horizon=20_000.0)
    _, plain = frames(lab_model(conditional=False), seed=seed, horizon=20_000.0)
    assert (v["journey"].to_numpy() == plain["journey"].to_numpy()).all()  # unlimited capacity: same starts
    n = len(v)
    factory = StreamFactory(seed, replication=0)
    draws = {}
    for name, mean in MEANS.items():
        g = factory.generator(f"service/Lab/{name}")
        draws[name] = np.concatenate([js.Exponential(mean).sample(g, 512) for _ in range(n // 512 + 1)])[:n]
    t = v["treatment"].to_numpy()
    expected = (draws["prep"] + np.where(t == "PCI", draws["device"], 0.0)
                + np.where(t == "CABG", draws["surgery_prep"], 0.0) + draws["closure"])
    assert np.allclose(v["service"].to_numpy(), expected, rtol=1e-12, atol=1e-9)
    everything = draws["prep"] + draws["device"] + draws["surgery_prep"] + draws["closure"]
    assert np.allclose(plain["service"].to_numpy(), everything, rtol=1e-12, atol=1e-9)
    # nobody has both device and surgery_prep, so nobody's service equals the plain one; the unconditional
    # steps (prep and closure) still take the same numbers: what the PCI patients lose is the surgery prep
    pci = t == "PCI"
    assert np.allclose(plain["service"].to_numpy()[pci] - v["service"].to_numpy()[pci], draws["surgery_prep"][pci])


def test_a_patient_with_every_step_gets_the_very_duration_of_the_model_without_conditions():
    """Bit for bit: a condition that holds for everyone changes no visit's service."""
    always = lab_model(conditional=False)
    lab = always.microsystems[0]
    steps = [Step(s.name, s.duration, when='treatment != "none"' if s.name == "device" else None) for s in lab.steps]
    model = js.Model([js.Microsystem("Lab", service=steps)],
                     classes=[js.PatientClass("STEMI", entry="Lab", rate=0.05,
                                              attributes={"treatment": {**SHARES, "none": 0.0}})])
    _, v = frames(model, seed=2, horizon=20_000.0)
    _, plain = frames(always, seed=2, horizon=20_000.0)
    assert v["service"].tolist() == plain["service"].tolist()


def test_the_offered_load_weights_each_conditional_step_by_its_probability():
    """Against a hand computation, with routing that reads the same attribute (visits and steps go together)."""
    rate = 1 / 60
    model = js.Model(
        [js.Microsystem("ED", capacity=4, service=js.Exponential(30.0)),
         js.Microsystem("Lab", capacity=2, service=[Step("prep", js.Exponential(20.0)),
                                                     Step("device", js.Exponential(40.0), when='treatment == "PCI"'),
                                                     Step("frail", js.Fixed(15.0), when="age >= 75")])],
        [js.Handoff("ED", "Lab", when='treatment != "medical"')],
        classes=[js.PatientClass("STEMI", entry="ED", rate=rate,
                                 attributes={"treatment": SHARES, "age": js.Uniform(40.0, 90.0)})])
    # only PCI and CABG patients (0.9) go to the lab; 0.6 of all have the device step there; P(age >= 75) = 0.3
    p_age = 0.3
    expected = rate * (0.9 * 20.0 + 0.6 * 40.0 + 0.9 * p_age * 15.0)
    load = offered_load(model)["Lab"]
    # the numeric attribute's share is estimated from 2**15 draws: SE sqrt(.3 * .7 / 2**15) = 0.0025
    assert load.erlangs == pytest.approx(expected, abs=rate * 0.9 * 15.0 * 4 * 0.0025)
    assert load.hold_minutes == pytest.approx(expected / (0.9 * rate), rel=0.01)
    # averaging the lab's service over the class first would give 0.9 * (20 + 0.6 * 40 + ...): wrong here
    assert abs(load.erlangs - rate * 0.9 * (20.0 + 0.6 * 40.0 + p_age * 15.0)) > 0.01
    assert mean_service(model, "Lab", "STEMI") == pytest.approx(20.0 + 0.6 * 40.0 + p_age * 15.0, abs=0.2)


def test_the_offered_load_without_routing_by_state():
    """Categorical shares are exact: a_Lab = lambda (20 + 0.6 * 40 + 0.3 * 30 + 10)."""
    model = lab_model(capacity=3, rate=1 / 30)
    load = offered_load(model)["Lab"]
    assert load.erlangs == pytest.approx((20 + 0.6 * 40 + 0.3 * 30 + 10) / 30, rel=1e-12)


def test_simulated_utilisation_matches_the_offered_load():
    """The busy servers measured against the weighted offered load (4 standard errors over replications)."""
    model = lab_model(capacity=4, rate=1 / 30)
    expected = offered_load(model)["Lab"].load
    result = js.simulate(model, horizon=60 * 1440.0, replications=4, seed=3)
    u = result.summary().to_dict()["microsystems"]["Lab"]["utilisation"]
    half = (u["ci95"][1] - u["ci95"][0]) / 2
    assert abs(u["mean"] - expected) < max(2 * half, 0.02), (u, expected)


def test_a_model_without_step_conditions_keeps_its_samplers_and_start():
    """No Selective sampler and no selection at the start of any visit where no step has a condition."""
    kernel = Kernel(plan(lab_model(conditional=False)), 1000.0, 0.0, 1, 0, True, 1000)
    visits = [v for node in kernel.nodes for v in node.visits]
    assert not any(isinstance(v.draw_service, Selective) for v in visits)
    assert all(v.work is None or v.work.select is None for v in visits)
    kernel = Kernel(plan(lab_model()), 1000.0, 0.0, 1, 0, True, 1000)
    assert all(isinstance(v.draw_service, Selective) and v.work is not None and v.work.select is not None
               for node in kernel.nodes for v in node.visits)


def test_a_patient_with_no_step_has_a_visit_of_no_work():
    """Every step excluded for some state is allowed: the visit lasts 0 (here 1 - 0.25 of the patients)."""
    model = js.Model([js.Microsystem("Lab", service=[Step("device", js.Fixed(40.0), when="pci")])],
                     classes=[js.PatientClass("k", entry="Lab", rate=0.01, attributes={"pci": js.Bernoulli(0.25)})])
    _, v = frames(model, seed=1, horizon=20_000.0, attribute="pci")
    assert 0 < v["pci"].mean() < 0.5
    assert (v["service"] == 40.0 * v["pci"]).all()
    assert offered_load(model)["Lab"].erlangs == pytest.approx(0.01 * 0.25 * 40.0)


SCENARIO = """
[scenario]
name = "steps"
horizon_days = 10
[[classes]]
name = "STEMI"
entry = "Lab"
rate_per_day = 10
attributes = { treatment = { PCI = 0.8, CABG = 0.2 }, age = { dist = "uniform", low = 40, high = 90 } }
[[classes]]
name = "other"
entry = "Clinic"
rate_per_day = 5
[[microsystems]]
name = "Lab"
steps = [
  { name = "prep", dist = "exponential", mean = 20 },
  { name = "device", dist = "exponential", mean = 40, when = 'treatment == "PCI"' },
]
[[microsystems]]
name = "Clinic"
service = { dist = "exponential", mean = 10 }
[[standards]]
name = "to_device"
from = "arrive:Lab"
to = "Lab.device"
within = 90
classes = ["STEMI"]
"""


def test_steps_when_in_the_scenario_file():
    """``when`` on a step read from TOML; a class that never visits the lab needs no attribute."""
    sc = loads_scenario(SCENARIO)
    assert sc.model.microsystem("Lab").steps[1].when.text == 'treatment == "PCI"'
    assert sc.model.microsystem("Lab").steps[0].when is None
    result = js.simulate(sc.model, horizon=10 * 1440.0, replications=1, seed=1)
    j = result.journeys()
    st = result.summary().to_dict()["standards"]["to_device"]
    assert st["applies"] == int((j["class"] == "STEMI").sum())


@pytest.mark.parametrize(("change", "path", "message"), [
    ('when = "risk == 1"', "microsystems[0] (Lab).steps[1].when", "unknown name 'risk'"),
    ('when = "treatment > 3"', "microsystems[0] (Lab).steps[1].when", "'treatment' holds one of"),
    ('when = "age == \\"old\\""', "microsystems[0] (Lab).steps[1].when", "'age'"),
    ('when = "hour >= 8"', "microsystems[0] (Lab).steps[1].when", "hour and weekday cannot be used here"),
    ('when = \'activated("Lab")\'', "microsystems[0] (Lab).steps[1].when", "activated(...) cannot be used here"),
    ('when = "treatment =="', "microsystems[0] (Lab).steps[1].when", "column"),
])
def test_bad_step_conditions_name_their_key_path(change, path, message):
    text = SCENARIO.replace("when = 'treatment == \"PCI\"'", change)
    with pytest.raises(ValidationError) as err:
        loads_scenario(text)
    assert any(p.path == path and message in p.message for p in err.value.problems), err.value.problems


def test_a_class_that_visits_without_the_attribute_is_an_error():
    text = SCENARIO.replace('entry = "Clinic"', 'entry = { Lab = 0.5, Clinic = 0.5 }')
    with pytest.raises(ValidationError) as err:
        loads_scenario(text)
    assert any(p.path == "microsystems[0] (Lab).steps[1].when" and "class 'other' has no attribute 'treatment'"
               in p.message for p in err.value.problems), err.value.problems


def test_a_class_with_its_own_steps_is_judged_on_them():
    """steps_by_class: a class with its own steps needs no attribute for the default steps' conditions,
    and its own steps' conditions are named by their key path."""
    text = SCENARIO.replace('entry = "Clinic"', 'entry = { Lab = 0.5, Clinic = 0.5 }').replace(
        '[[microsystems]]\nname = "Clinic"',
        'steps_by_class = { other = [{ name = "prep", dist = "fixed", value = 5 }] }\n[[microsystems]]\nname = "Clinic"')
    sc = loads_scenario(text)
    assert sc.model.microsystem("Lab").steps_for("other")[0].when is None
    bad = text.replace('value = 5 }', 'value = 5, when = "age >= 75" }')
    with pytest.raises(ValidationError) as err:
        loads_scenario(bad)
    assert any(p.path == "microsystems[0] (Lab).steps_by_class.other[0].when" and "class 'other' has no attribute"
               in p.message for p in err.value.problems), err.value.problems


def test_a_support_microsystems_steps_cannot_have_conditions():
    with pytest.raises(ValidationError) as err:
        js.Microsystem("Lab", kind="support", service=[Step("run", js.Fixed(5.0), when="urgent")])
    assert [p.path for p in err.value.problems] == ["steps[0].when"]


def test_an_activation_at_a_conditional_steps_end_is_made_for_its_patients_only():
    """The cath team is called at the end of the device step (10 minutes before the patient leaves the lab)
    for patients who have it; the others call it on arrival: team waits of 30 - 10 and 30 minutes, exactly."""
    lab = js.Microsystem("Lab", service=[Step("prep", js.Fixed(20.0)), Step("device", js.Fixed(40.0), when="pci"),
                                         Step("closure", js.Fixed(10.0))])
    cath = js.Microsystem("Cath", service=js.Fixed(30.0), team_ready=js.Fixed(30.0),
                          activation=[js.Activation("Lab.device")])
    model = js.Model([lab, cath], [js.Handoff("Lab", "Cath")],
                     classes=[js.PatientClass("k", entry="Lab", rate=0.01, attributes={"pci": js.Bernoulli(0.5)})])
    rec = run_replication(model, horizon=20_000.0, seed=1)
    a = rec.activations.to_frame().merge(rec.journeys.to_frame()[["journey", "pci"]], on="journey")
    assert 0 < a["pci"].mean() < 1
    assert np.allclose(a["team_wait"], np.where(a["pci"] == 1.0, 20.0, 30.0), rtol=0, atol=1e-9)
    assert np.allclose(a["ahead"], np.where(a["pci"] == 1.0, 10.0, 0.0), rtol=0, atol=1e-9)


def test_the_report_and_stress_inputs_show_the_conditions():
    """The inputs table's mean service is that of the steps everyone has, then each conditional step."""
    from journeysim.outputs.report import _mean_service
    from journeysim.outputs.stress import _step_names

    lab = lab_model().microsystem("Lab")
    assert _mean_service(lab) == ('30.0 min; device 40.0 min when treatment == "PCI"; '
                                  'surgery_prep 30.0 min when treatment == "CABG"')
    assert _step_names(lab)[1] == 'device (when treatment == "PCI")'
    assert _mean_service(lab_model(conditional=False).microsystem("Lab")) == "100.0 min"
