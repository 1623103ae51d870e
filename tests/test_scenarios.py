"""Scenario files: every shipped file validates and runs; `extends` merges as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

import journeysim as js
from conftest import write
from journeysim.io.scenario_file import read_spec

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.toml"))


def test_there_are_scenarios():
    """The flagship, its redesign and the teaching scenarios are shipped."""
    names = {p.name for p in SCENARIOS}
    assert {"ami.toml", "ami_handoff_redesign.toml", "clinic_mmc.toml", "tandem.toml"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario_validates_and_runs(path):
    """Each shipped scenario validates and runs a short experiment with sensible output."""
    scenario = js.load_scenario(path)
    short = scenario.with_settings(horizon=min(scenario.horizon, 60 * 1440.0), warmup=0.0, replications=2)
    summary = js.simulate(short, seed=1).summary().to_dict()
    assert summary["journeys"]["completed"] > 0
    assert 0.0 <= summary["quality"]["system"]["analytic"] <= 1.0
    assert 0.0 <= summary["quality"]["system"]["simulated"]["mean"] <= 1.0


BASE = """\
[scenario]
name = "base"
horizon_days = 3
seed = 1

[[classes]]
name = "A"
entry = "X"
rate_per_hour = 1

[[microsystems]]
name = "X"
capacity = 2
service = { dist = "exponential", mean = 20 }
defect = 0.1

[[microsystems]]
name = "Y"
service = 30

[[handoffs]]
from = "X"
to = "Y"
delay = { dist = "uniform", low = 1, high = 2 }
defects = { information = 0.4, services = 0.05 }
"""


def test_extends_changes_only_what_differs(tmp_path):
    """An extending file changes one handoff kind and keeps the rest of the base."""
    write(tmp_path, BASE, "base.toml")
    child = write(tmp_path, """\
        extends = "base.toml"
        [scenario]
        name = "child"
        [[handoffs]]
        from = "X"
        to = "Y"
        defects = { information = 0.1 }
        [[microsystems]]
        name = "X"
        capacity = 4
        """, "child.toml")
    s = js.load_scenario(child)
    assert s.name == "child" and s.horizon == 3 * 1440 and s.seed == 1
    h = s.model.handoffs[0]
    assert h.defects.information.get("A") == 0.1
    assert h.defects.services.get("A") == 0.05
    assert h.delay == js.Uniform(1, 2)
    x = s.model.microsystem("X")
    assert x.capacity == 4 and x.quality_for("A") == pytest.approx(0.9)


def test_extends_add_and_remove(tmp_path):
    """Entries can be added, and removed with remove = true."""
    write(tmp_path, BASE, "base.toml")
    child = write(tmp_path, """\
        extends = "base.toml"
        [[handoffs]]
        from = "X"
        to = "Y"
        remove = true
        [[microsystems]]
        name = "Y"
        remove = true
        [[microsystems]]
        name = "Z"
        service = 5
        [[handoffs]]
        from = "X"
        to = "Z"
        """, "child.toml")
    s = js.load_scenario(child)
    assert s.model.node_names == ("X", "Z")
    assert [h.label for h in s.model.handoffs] == ["X->Z"]


def test_extends_errors_name_the_extending_file(tmp_path):
    """A problem introduced by the extending file is reported against that file and line."""
    write(tmp_path, BASE, "base.toml")
    child = write(tmp_path, """\
        extends = "base.toml"
        [[handoffs]]
        from = "X"
        to = "Y"
        defects = { information = 7 }
        """, "child.toml")
    with pytest.raises(js.ValidationError) as exc:
        js.load_scenario(child)
    (problem,) = exc.value.problems
    assert problem.file.endswith("child.toml") and problem.line == 5
    assert problem.path == "handoffs[0] (X -> Y).defects.information"


def test_extends_loop_is_refused(tmp_path):
    """A file that extends itself through another is an error, not a hang."""
    write(tmp_path, 'extends = "b.toml"\n', "a.toml")
    write(tmp_path, 'extends = "a.toml"\n', "b.toml")
    with pytest.raises(js.ValidationError, match="extends itself"):
        read_spec(tmp_path / "a.toml")


def test_scenario_file_is_data_not_code(tmp_path):
    """Python in a string value stays a string: nothing in the file is evaluated."""
    text = BASE.replace('name = "base"', 'name = "__import__(\'os\').system(\'false\')"')
    s = js.load_scenario(write(tmp_path, text, "s.toml"))
    assert s.name.startswith("__import__")


def test_loads_scenario_matches_file(tmp_path):
    """Loading from text and from a file give the same model."""
    assert js.loads_scenario(BASE).model == js.load_scenario(write(tmp_path, BASE, "b.toml")).model


def test_flagship_numbers_match_domain_sources():
    """The flagship uses DOMAIN.md's published inputs (spot checks on the parsed model)."""
    s = js.load_scenario(Path(__file__).parent.parent / "scenarios" / "ami.toml")
    m = s.model
    ems_ed = next(h for h in m.handoffs if h.source == "EMS" and h.target == "ED")
    assert ems_ed.defects.information.get("STEMI") == pytest.approx(0.43)  # Talbot 2007; Goldberg 2017
    rates = {k.name: k.rate * 1440 * 365 for k in m.classes}
    share = rates["STEMI"] / (rates["STEMI"] + rates["NSTEMI"])
    assert share == pytest.approx(0.39, abs=0.02)  # Gandhi 2022
    assert rates["STEMI"] + rates["NSTEMI"] == pytest.approx(300, rel=0.1)
    assert m.microsystem("CCU").capacity == 8 and m.microsystem("Telemetry").capacity == 24


def test_flagship_time_and_beds_inputs():
    """Issue 5's inputs in the flagship: profile, pre-activation, on-call team, boarding, standards."""
    m = js.load_scenario(Path(__file__).parent.parent / "scenarios" / "ami.toml").model
    stemi = next(k for k in m.classes if k.name == "STEMI")
    hours = stemi.profile.hours
    shares = [sum(hours[a:b]) / 24 for a, b in ((0, 8), (8, 16), (16, 24))]
    assert shares == pytest.approx([0.236, 0.453, 0.310], abs=0.002)  # Rathore, BMJ 2009
    cath = m.microsystem("CathLab")
    monday_9, monday_20 = 9 * 60.0, 20 * 60.0
    assert cath.team_ready_at(monday_9).median == 15 and cath.team_ready_at(monday_20).median == 25
    assert cath.capacity_at(monday_9) == 2 and cath.capacity_at(5 * 1440 + monday_9) == 1  # Saturday: on call
    pre = next(a for a in cath.activation if a.at == "EMS.response")
    # half of EMS STEMI transmit the ECG and pre-activate (Mission: Lifeline): the journeys whose stemi_alert is true
    assert str(pre.when) == "stemi_alert" and pre.probability.get("STEMI") == 1.0
    alert = {k.name: k.attributes["stemi_alert"].probability for k in m.classes if k.attributes}
    assert alert == {"STEMI": 0.5, "NSTEMI": 0.0}
    transfer = next(h for h in m.handoffs if h.source == "ReferringHospital")
    assert transfer.preactivate["CathLab"].get("STEMI") == 1.0
    ed_cath = next(h for h in m.handoffs if h.source == "ED" and h.target == "CathLab")
    assert ed_cath.boarding.get("STEMI") == 1.0 and ed_cath.boarding.get("NSTEMI") == 0.0
    targets = {st.name: st.within for st in m.standards}
    assert targets == {"door_to_ecg": 10, "door_to_balloon": 90, "fmc_to_device": 90, "door_in_door_out": 30,
                       "follow_up_7d": 7 * 1440, "rehab_intake_30d": 30 * 1440}
    assert {g.name: g.labels for g in m.groups} == {"channel": ("ems", "self", "transfer"), "hours": ("on", "off")}
    assert all(st.reference for st in m.standards)
