"""The what-if app without a browser: its controls, their checking, the redesign file, and the server's routes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest

from journeysim.analysis.result import simulate
from journeysim.app.jobs import Busy, Runner
from journeysim.cli import main
from journeysim.io.scenario_file import ScenarioSpec, build_scenario, load_scenario, read_spec
from journeysim.io.whatif import check, controls, redesign_toml
from journeysim.outputs.firstscreen import input_changes

ROOT = Path(__file__).parent.parent
AMI = ROOT / "scenarios" / "ami.toml"

starlette = pytest.importorskip("starlette")  # the app extra (in the test extra too)
from starlette.testclient import TestClient

from journeysim.app.server import create_app


@pytest.fixture(scope="module")
def ami():
    spec = read_spec(AMI)
    return spec, build_scenario(spec)


@pytest.fixture(scope="module")
def panel(ami):
    return {c.path: c for c in controls(*ami)}


def test_controls_come_from_the_scenario(ami, panel):
    """Every handoff has one control per defect kind at its value; capacities, shifts, pre-activation, targets, run."""
    spec, scenario = ami
    links = [c for c in panel.values() if c.group == "handoffs"]
    assert len(links) == 3 * len(scenario.model.handoffs)
    ems_ed = panel["handoffs.0.defects.information"]
    assert (ems_ed.element, ems_ed.value) == ("EMS -> ED", 0.43)
    assert panel["handoffs.0.defects.patient"].value == 0.0
    assert panel["microsystems.3.capacity"].value == 1 and panel["microsystems.3.schedule.0.capacity"].value == 2
    assert panel["microsystems.3.schedule.0.hours"].value == "08:00-17:00"
    assert "microsystems.0.capacity" not in panel  # EMS is unlimited: nothing to change
    alert = panel["classes.0.attributes.stemi_alert.bernoulli"]
    assert alert.value == 0.5 and "pre-activates CathLab" in alert.note
    assert [panel[f"standards.{i}.within"].value for i in range(6)] == [10, 90, 90, 30, 7, 30]
    assert panel["standards.4.within"].note == "days"
    assert (panel["scenario.replications"].value, panel["scenario.seed"].value) == (20, 2026)


def test_out_of_range_inputs_are_the_librarys_messages_on_their_controls(ami, panel):
    """A probability above 1, a capacity of 0, a word and a bad shift each get the library's message; no scenario."""
    edit = check(ami[0], list(panel.values()), {
        "handoffs.0.defects.information": "1.4", "microsystems.3.capacity": "0", "handoffs.1.defects.patient": "lots",
        "microsystems.3.schedule.0.days": "Mon-Fro", "scenario.replications": "2.5"})
    assert not edit.ok and edit.scenario is None and edit.general == []
    assert edit.problems == {
        "handoffs.0.defects.information": ["1.4 is not a probability in [0, 1]"],
        "microsystems.3.capacity": ["must be a positive integer or 'unlimited', got 0"],
        "handoffs.1.defects.patient": ["'lots' is not a probability in [0, 1]"],
        "microsystems.3.schedule.0.days": ["unknown day 'Fro'; use Mon, Tue, Wed, Thu, Fri, Sat, Sun"],
        "scenario.replications": ["must be a positive integer up to 1,000,000, got 2.5"],
    }


def test_an_unchanged_form_changes_nothing(ami, panel):
    """Submitting every base value (as the page does) changes no input."""
    edit = check(ami[0], list(panel.values()), {p: str(c.value) for p, c in panel.items()})
    assert edit.ok and edit.changed == {}


@pytest.fixture
def saved(tmp_path):
    """A folder with the base scenario, where a redesign can be saved beside it."""
    (tmp_path / "ami.toml").write_text(AMI.read_text())
    return tmp_path


def test_redesign_file_holds_only_the_changes_and_loads_to_the_same_model(ami, panel, saved):
    """The written redesign extends the base, names only what changed, and loads to the model the app ran."""
    form = {"handoffs.0.defects.information": "0.1", "handoffs.9.defects.services": "0.2",
            "microsystems.3.schedule.0.capacity": "3", "microsystems.5.capacity": "10",
            "classes.0.attributes.stemi_alert.bernoulli": "0.8", "standards.1.within": "60",
            "scenario.replications": "4"}
    edit = check(ami[0], list(panel.values()), form)
    assert edit.ok and edit.scenario is not None
    text = redesign_toml(ami[0], edit.changed, name="what-if")
    assert 'extends = "ami.toml"' in text and "OtherCardiac" not in text and "ReferringHospital" not in text
    path = saved / "ami_whatif.toml"
    path.write_text(text)
    loaded = load_scenario(path)
    assert input_changes(edit.scenario.model, loaded.model) == []
    assert loaded.replications == 4 and loaded.seed == 2026
    changes = {(e, f): (a, b) for e, f, a, b in input_changes(ami[1].model, loaded.model)}
    assert changes[("handoff EMS->ED", "defects.information")] == ("0.43", "0.1")
    assert len(changes) == 6, changes  # the six model inputs; replications is a run setting


def test_per_class_defects_are_written_whole():
    """A defect given per class is one control per class, and is written back as the whole per-class table."""
    spec = ScenarioSpec({"scenario": {"horizon_days": 1, "seed": 3},
                         "classes": [{"name": "a", "entry": "A", "rate_per_day": 5},
                                     {"name": "b", "entry": "A", "rate_per_day": 5}],
                         "microsystems": [{"name": "A", "service": 5}, {"name": "B", "service": 5}],
                         "handoffs": [{"from": "A", "to": "B", "defects": {"information": {"a": 0.1, "b": 0.3}}}]},
                        "base.toml")
    panel = controls(spec, build_scenario(spec))
    assert [c.path for c in panel if c.label.startswith("information")] == [
        "handoffs.0.defects.information.a", "handoffs.0.defects.information.b", "handoffs.0.defects.information.default"]
    edit = check(spec, panel, {"handoffs.0.defects.information.b": "0.05"})
    text = redesign_toml(spec, edit.changed, name="x")
    assert "defects = { information = { a = 0.1, b = 0.05 } }" in text


def _two_step(service, probability=0.3, cost=None):
    """A pathway A -> B (probability ``probability``), B unlimited; A's service is ``service``."""
    a = {"name": "A", "service": service, **({"cost": cost} if cost else {})}
    return ScenarioSpec({"scenario": {"horizon_days": 20, "seed": 11, "replications": 10},
                         "classes": [{"name": "p", "entry": "A", "rate_per_day": 40}],
                         "microsystems": [a, {"name": "B", "service": 30}],
                         "handoffs": [{"from": "A", "to": "B", "probability": probability}]}, "base.toml")


@pytest.mark.parametrize("service", [{"dist": "exponential", "mean": 12}, 12,
                                     {"dist": "lognormal", "median": 9, "log_sd": 0.7, "unit": "minutes"}])
def test_a_service_factor_scales_the_simulated_service_time(service):
    """Known truth: × 2 on an unlimited microsystem's service doubles its mean time there (sojourn = service),
    for a fixed, an exponential and a lognormal time; the control says the base mean."""
    spec = _two_step(service)
    base = build_scenario(spec)
    panel = controls(spec, base)
    factor = next(c for c in panel if c.path == "microsystems.0.service")
    assert (factor.kind, factor.value, factor.group) == ("factor", 1.0, "service")
    assert factor.note == ("mean 12 min" if service != {"dist": "lognormal", "median": 9, "log_sd": 0.7,
                                                          "unit": "minutes"} else "mean 11.5 min")
    edit = check(spec, panel, {"microsystems.0.service": "2"})
    assert edit.ok and edit.scenario is not None
    assert edit.scenario.model.microsystems[0].service.mean == pytest.approx(2 * base.model.microsystems[0].service.mean)
    results = [simulate(s) for s in (base, edit.scenario)]
    means = [r.summary().microsystems["A"].sojourn_minutes for r in results]
    assert means[1].mean / means[0].mean == pytest.approx(2.0, rel=1e-9)  # common random numbers: the same draws × 2
    truth = 2 * base.model.microsystems[0].service.mean
    assert abs(means[1].mean - truth) < 4 * means[1].half_width + 1e-9, (means[1], truth)


def test_a_factor_that_is_not_positive_is_shown_on_its_control_and_runs_nothing():
    spec = _two_step({"dist": "exponential", "mean": 12})
    panel = controls(spec, build_scenario(spec))
    for text in ("0", "-1", "fast", "inf"):
        edit = check(spec, panel, {"microsystems.0.service": text, "handoffs.0.defects.information": "0.2"})
        assert not edit.ok and list(edit.problems) == ["microsystems.0.service"], text
        assert "is not a factor from 1e-06 to 1e+06" in edit.problems["microsystems.0.service"][0]


CLINIC = """
[scenario]
name = "clinic"
horizon_days = 5
replications = 2
seed = 3

[[classes]]
name = "walkin"
entry = "A"
rate_per_day = 20

[[classes]]
name = "referral"
entry = "A"
rate_per_day = 10

[[microsystems]]
name = "A"
capacity = 2
service = { dist = "exponential", mean = 12.3456789 }
cost = { per_visit = 100 }

[[microsystems]]
name = "B"
service = 30

[[microsystems]]
name = "C"
service = 5

[[handoffs]]
from = "A"
to = "B"
probability = { walkin = 0.3, referral = 0.6 }

[[handoffs]]
from = "B"
to = "C"

[[exits]]
from = "A"
name = "admitted"
probability = 0.1
"""


@pytest.fixture()
def clinic(tmp_path):
    """A clinic whose A has per-class handoffs and a named exit, B -> C at its default probability."""
    (tmp_path / "clinic.toml").write_text(CLINIC)
    spec = read_spec(tmp_path / "clinic.toml")
    return spec, controls(spec, build_scenario(spec))


def test_a_sum_with_named_exits_is_shown_on_the_routing_control_that_changed(clinic):
    """The library names A's first exit when handoffs and exits out of A exceed 1: the message goes to the
    changed control(s) among A's routing controls, not to the untouched exit."""
    spec, panel = clinic
    edit = check(spec, panel, {"handoffs.0.probability.walkin": "0.95"})
    assert not edit.ok and edit.general == []
    assert list(edit.problems) == ["handoffs.0.probability.walkin"]
    assert "add up to 1.05 > 1 for class 'walkin'" in edit.problems["handoffs.0.probability.walkin"][0]
    edit = check(spec, panel, {"handoffs.0.probability.walkin": "0.85", "exits.0.probability": "0.2"})
    assert sorted(edit.problems) == ["exits.0.probability", "handoffs.0.probability.walkin"]
    edit = check(spec, panel, {"exits.0.probability": "0.5"})  # referral: 0.6 + 0.5
    assert list(edit.problems) == ["exits.0.probability"] and "for class 'referral'" in \
        edit.problems["exits.0.probability"][0]


def test_every_problem_is_shown_at_once_with_an_invalid_factor(clinic):
    """A factor out of range does not hide the library's messages on the other controls."""
    spec, panel = clinic
    edit = check(spec, panel, {"microsystems.0.service": "0", "exits.0.probability": "1.5",
                               "microsystems.0.cost.per_visit": "-1"})
    assert not edit.ok and edit.scenario is None
    assert sorted(edit.problems) == ["exits.0.probability", "microsystems.0.cost.per_visit", "microsystems.0.service"]
    assert edit.problems["exits.0.probability"] == ["1.5 is not a probability in [0, 1]"]


def test_factor_bounds_and_a_factor_that_changes_nothing(clinic):
    """A factor is a number from 1e-6 to 1e6; one whose scaled times round back to the base (12 digits) is no
    change; a small one that moves them is, and the app runs what it wrote."""
    spec, panel = clinic
    for text in ("1e-320", "1e-7", "1e7", "nan"):
        edit = check(spec, panel, {"microsystems.0.service": text})
        assert not edit.ok and list(edit.problems) == ["microsystems.0.service"], text
    for text in ("1e-6", "1e6"):
        assert check(spec, panel, {"microsystems.0.service": text}).ok, text
    edit = check(spec, panel, {"microsystems.0.service": "1.0000000000001", "microsystems.1.service": "1.00000000000001"})
    assert edit.ok and edit.changed == {}
    edit = check(spec, panel, {"microsystems.0.service": "1.0000001"})
    assert edit.ok and edit.scenario is not None and edit.changed == {"microsystems.0.service": 1.0000001}
    assert edit.scenario.model.microsystems[0].service.mean == pytest.approx(12.3456789 * 1.0000001, rel=1e-11)


def test_the_redesign_file_holds_typed_values_exactly_and_reloads_to_the_model_that_ran(clinic, tmp_path):
    """Typed values are written in full (not to 6 digits); a routing probability left at its default says so."""
    spec, panel = clinic
    edit = check(spec, panel, {"microsystems.0.cost.per_visit": "1234567.89",
                               "handoffs.0.probability.walkin": "0.1234567", "handoffs.1.probability": "0.987654321",
                               "microsystems.0.service": "0.8"})
    assert edit.ok and edit.scenario is not None
    text = redesign_toml(spec, edit.changed, name="what-if")
    assert "per_visit = 1234567.89" in text and "walkin = 0.1234567" in text
    assert "probability = 0.987654321  # base: 1 (default)" in text and "not set" not in text
    assert "mean = 9.87654312 }" in text and "× 0.8 of the base" in text  # a scaled time, as the app ran it
    (tmp_path / "what-if.toml").write_text(text)
    loaded = load_scenario(tmp_path / "what-if.toml")
    assert loaded.model == dataclasses.replace(edit.scenario.model, name=loaded.model.name)
    assert (loaded.replications, loaded.seed) == (edit.scenario.replications, edit.scenario.seed)


def test_steps_and_per_class_services_are_scaled_whole_and_written_as_an_ordinary_scenario(ami, panel, saved):
    """CathLab's room time 20% shorter: each step's median × 0.8 (log_sd kept); the file is plain TOML that validates."""
    edit = check(ami[0], list(panel.values()), {"microsystems.3.steps": "0.8",
                                                 "microsystems.5.service_by_class.OtherCardiac": "1.5"})
    assert edit.ok and edit.scenario is not None
    lab = edit.scenario.model.microsystems[3]
    base_lab = ami[1].model.microsystems[3]
    for new, old in zip(lab.service, base_lab.service, strict=True):
        assert new.duration.mean == pytest.approx(0.8 * old.duration.mean) and new.when == old.when
    assert panel["microsystems.3.steps"].note.startswith("steps arrival_to_device")
    text = redesign_toml(ami[0], edit.changed, name="what-if")
    assert "median = 24, log_sd = 0.3" in text and "× 0.8 of the base" in text
    assert 'OtherCardiac = { dist = "lognormal", median = 3, log_sd = 0.7, unit = "days" }' in text
    assert "per_visit" not in text and "[[handoffs]]" not in text
    (saved / "ami_whatif.toml").write_text(text)
    loaded = load_scenario(saved / "ami_whatif.toml")
    assert input_changes(edit.scenario.model, loaded.model) == []
    changed = {f for _, f, _, _ in input_changes(ami[1].model, loaded.model)}
    assert changed and all("service" in f or "step" in f for f in changed), changed


def test_a_routing_change_moves_the_visit_share():
    """Known truth: A -> B at 0.3, then 0.6: the share of A's patients that visit B follows (binomial CI)."""
    spec = _two_step(5, probability=0.3)
    base = build_scenario(spec)
    panel = controls(spec, base)
    assert [(c.path, c.value, c.section) for c in panel if c.group == "routing"] == [
        ("handoffs.0.probability", 0.3, "A")]
    edit = check(spec, panel, {"handoffs.0.probability": "0.6"})
    assert edit.ok and edit.scenario is not None
    for scenario, p in ((base, 0.3), (edit.scenario, 0.6)):
        flows = simulate(scenario).summary().microsystems
        share = flows["B"].visits / flows["A"].visits
        n = flows["A"].visits
        assert abs(share - p) < 4 * (p * (1 - p) / n) ** 0.5, (share, p, n)
    assert "probability = 0.6  # base: 0.3" in redesign_toml(spec, edit.changed, name="x")


def test_a_routing_sum_over_one_is_shown_next_to_the_changed_controls_and_runs_nothing(ami, panel):
    """CathLab -> CCU raised for STEMI makes CCU + Telemetry exceed 1: the library's message is on that control."""
    edit = check(ami[0], list(panel.values()), {"handoffs.4.probability.STEMI": "0.95"})
    assert not edit.ok and edit.scenario is None and edit.general == []
    assert list(edit.problems) == ["handoffs.4.probability.STEMI"]
    assert "add up to 1.0777 > 1 for class 'STEMI'" in edit.problems["handoffs.4.probability.STEMI"][0]
    edit = check(ami[0], list(panel.values()), {"handoffs.9.probability.NSTEMI": "1.2"})
    assert edit.problems == {"handoffs.9.probability.NSTEMI": ["1.2 is not a probability in [0, 1]"]}
    edit = check(ami[0], list(panel.values()), {"exits.0.probability.STEMI": "0.2"})  # death + CCU -> Telemetry
    assert list(edit.problems) == ["exits.0.probability.STEMI"] and "add up to 1.139 > 1" in \
        edit.problems["exits.0.probability.STEMI"][0]


def test_costs_are_the_ones_the_file_states_and_change_the_cost_per_journey():
    """Known truth: A's only cost is per visit and every journey visits A once: cost per journey = that cost."""
    spec = _two_step(5, cost={"per_visit": 100})
    base = build_scenario(spec)
    panel = controls(spec, base)
    assert [(c.path, c.value) for c in panel if c.group == "costs"] == [("microsystems.0.cost.per_visit", 100)]
    edit = check(spec, panel, {"microsystems.0.cost.per_visit": "250"})
    assert edit.ok and edit.scenario is not None
    cost = simulate(edit.scenario).summary().cost
    assert cost is not None and cost.pathway.per_journey.mean == pytest.approx(250.0)
    text = redesign_toml(spec, edit.changed, name="x")
    assert "cost = { per_visit = 250 }  # per_visit base: 100" in text
    edit = check(spec, panel, {"microsystems.0.cost.per_visit": "-5"})
    assert list(edit.problems) == ["microsystems.0.cost.per_visit"]


def test_flagship_new_controls(panel):
    """The flagship's service times, routing and costs: per microsystem, per class where the file sets them."""
    assert panel["microsystems.3.steps"].label == "steps ×"
    assert panel["microsystems.5.service_by_class.OtherCardiac"].label == "service time × (OtherCardiac)"
    assert "microsystems.4.service" not in panel  # CardiacSurgery takes no time: nothing to scale
    assert panel["handoffs.11.probability.STEMI"].value == 0.845
    assert panel["handoffs.1.probability.STEMI"].note == "when stemi_alert"
    assert (panel["handoffs.4.probability.NSTEMI"].label, panel["handoffs.4.probability.NSTEMI"].note) == ("NSTEMI", "")
    assert panel["exits.0.probability.NSTEMI"].element == "CCU: exit death"
    assert panel["microsystems.3.cost.per_visit"].note == "USD per visit"
    assert "handoffs.0.probability.default" not in panel  # the file states no default


def test_runner_runs_one_job_at_a_time():
    """While a job runs, another is refused; afterwards one may start."""
    runner = Runner()
    gate = __import__("threading").Event()
    first = runner.start(lambda tick: gate.wait(10), total=1)
    with pytest.raises(Busy):
        runner.start(lambda tick: None, total=1)
    gate.set()
    assert first.wait(10).state == "finished"
    assert runner.start(lambda tick: "ok", total=1).wait(10).value == "ok"


def _finished(client, html: str) -> str:
    ident = html.split('hx-get="job/')[1].split('"')[0]
    for _ in range(600):
        page = client.get(f"/job/{ident}").text
        if "Running" not in page:
            return ident
        time.sleep(0.1)
    raise AssertionError("the run did not finish")


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(AMI))


def test_page_has_the_controls_and_loads_htmx_from_the_package(client):
    """The page lists the controls and loads HTMX from the app itself (no network)."""
    page = client.get("/").text
    assert 'aria-label="EMS -&gt; ED information"' in page and 'src="static/htmx.min.js"' in page
    htmx = client.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and htmx.text.startswith("var htmx=")


def test_bad_input_runs_nothing(client):
    """Posting an out-of-range value returns the form with the message beside the control and no run."""
    answer = client.post("/run", content="handoffs.0.defects.information=1.5&microsystems.3.capacity=x",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}).text
    assert "Nothing ran: 2 inputs are out of range" in answer
    assert "1.5 is not a probability in [0, 1]" in answer
    assert "must be a positive integer or &#x27;unlimited&#x27;, got &#x27;x&#x27;" in answer
    assert "hx-get=\"job/" not in answer


def test_a_run_shows_the_comparison_and_its_downloads_reproduce_it(client, saved, capsys):
    """A standard's target alone: its share met rises, elements-only quality is equal in every replication (CRN),
    and the downloaded redesign gives the same table from `journeysim compare`."""
    answer = client.post("/run", content="standards.0.within=30&scenario.replications=2&scenario.seed=5",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}).text
    ident = _finished(client, answer)
    shown = client.get(f"/job/{ident}").text
    assert "door_to_ecg" in shown and "<svg" in shown and "30 min" in shown
    assert "quality of elements only (%)</td><td class=num>" in shown
    row = shown.split("quality of elements only (%)")[1].split("</tr>")[0]
    assert "equal in every replication" in row
    toml = client.get(f"/job/{ident}/redesign.toml")
    assert toml.headers["content-disposition"] == 'attachment; filename="ami_whatif.toml"'
    (saved / "ami_whatif.toml").write_text(toml.text)
    report = client.get(f"/job/{ident}/report.html").text
    assert report.startswith("<!DOCTYPE html>") and "door_to_ecg" in report
    assert main(["compare", str(saved / "ami.toml"), str(saved / "ami_whatif.toml"), "--replications", "2",
                 "--seed", "5", "--workers", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    for label in ("system quality (%)", "standard door_to_ecg met (%)"):
        line = next(t for t in printed.splitlines() if t.strip().startswith(label))
        difference = line[len(line.split(" pts")[0].rsplit(" ", 1)[0]):].split(" pts")[0].strip() + " pts"
        assert f"<b>{difference}</b>" in shown.split(label)[1].split("</tr>")[0], (label, difference)


def test_app_needs_the_extra_and_says_how_to_install_it(tmp_path):
    """Without Starlette or uvicorn, `journeysim app` says `pip install "journeysim[app]"` and exits with 2."""
    code = ("import sys; sys.modules['uvicorn'] = None; from journeysim.cli import main; "
            f"sys.exit(main(['app', {str(AMI)!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 2 and 'pip install "journeysim[app]"' in out.stderr and "Traceback" not in out.stderr


def test_app_refuses_a_bad_scenario_and_a_bad_port(tmp_path, capsys):
    """A scenario with a problem and a port out of range are status 2 with the message, before serving."""
    bad = tmp_path / "bad.toml"
    bad.write_text(AMI.read_text().replace("capacity = 8", "capacity = 0", 1))
    assert main(["app", str(bad)]) == 2
    assert "must be a positive integer or 'unlimited', got 0" in capsys.readouterr().err
    assert main(["app", str(AMI), "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err


def test_app_on_a_port_in_use_says_so_in_one_line_before_the_url(capsys):
    """A taken port: one clear line and status 2, not the URL followed by uvicorn's raw Errno 98 and status 3."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["app", str(AMI), "--port", str(port)]) == 2
    out = capsys.readouterr()
    assert out.err.strip() == f"journeysim: port {port} on 127.0.0.1 is in use: choose another with --port"
    assert "http://" not in out.out and "Errno" not in out.err


def test_help_and_version_do_not_load_the_app():
    """`journeysim --help` and `--version` import neither Starlette nor uvicorn."""
    code = ("import contextlib, io, sys; from journeysim.cli import main\n"
            "for argv in (['--help'], ['--version'], ['app', '--help']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        try: main(argv)\n"
            "        except SystemExit: pass\n"
            "print(sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_service_routing_and_cost_controls_run_and_reproduce_on_another_scenario(tmp_path, capsys):
    """readmission_loop: the lab 20% faster and more ED patients admitted; the page lists the new groups,
    the downloaded redesign holds only those changes, validates, and `journeysim compare` prints the app's numbers."""
    source = ROOT / "scenarios" / "readmission_loop.toml"
    (tmp_path / source.name).write_text(source.read_text())
    client = TestClient(create_app(tmp_path / source.name))
    page = client.get("/").text
    for group in ("group-service", "group-routing"):
        assert f'<details id="{group}">' in page  # collapsed until something in it changes
    answer = client.post("/run", content="microsystems.3.service=0.8&handoffs.0.probability=0.72&"
                                         "scenario.replications=2&scenario.seed=7",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}).text
    ident = _finished(client, answer)
    shown = client.get(f"/job/{ident}").text
    toml = client.get(f"/job/{ident}/redesign.toml").text
    assert "median = 40, log_sd = 0.4" in toml and "probability = 0.72  # base: 0.6" in toml
    assert toml.count("[[") == 2 and "Clinic" not in toml
    (tmp_path / "readmission_loop_whatif.toml").write_text(toml)
    assert main(["validate", str(tmp_path / "readmission_loop_whatif.toml")]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / source.name), str(tmp_path / "readmission_loop_whatif.toml"),
                 "--replications", "2", "--seed", "7", "--workers", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    for label in ("system quality (%)", "time in system (d)"):
        line = next(t for t in printed.splitlines() if t.strip().startswith(label))
        difference = line.split()[len(label.split()) + 2]
        assert f"<b>{difference}" in shown.split(label)[1].split("</tr>")[0], (label, difference, line)


def test_an_invalid_routing_sum_posted_to_the_app_runs_nothing(client):
    """The sum over 1 comes back next to the routing control that made it, in its collapsed group opened."""
    answer = client.post("/run", content="handoffs.4.probability.STEMI=0.95",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}).text
    assert "Nothing ran: 1 input is out of range" in answer and 'hx-get="job/' not in answer
    assert '<details open id="group-routing">' in answer
    field = answer.split('name="handoffs.4.probability.STEMI"')[1].split("</td>")[0]
    assert 'aria-invalid="true"' in field and "add up to 1.0777 &gt; 1 for class &#x27;STEMI&#x27;" in field
