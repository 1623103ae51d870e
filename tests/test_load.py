"""Offered load from the traffic equations, warnings about unstable or idle microsystems, and the run-size guard."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import journeysim as js
from conftest import ci99, single_node, write
from journeysim.analysis.metrics import replication_metrics
from journeysim.cli import main
from journeysim.model.diagnostics import model_warnings
from journeysim.model.traffic import expected_visits, offered_load
from journeysim.run.runsize import RunTooLarge, check_run, estimate_run, parse_size

ROOT = Path(__file__).parent.parent

OVERLOADED = """\
[scenario]
name = "overloaded ward"
horizon_days = 30
replications = 2
seed = 1

[[classes]]
name = "emergency"
entry = "ED"
rate_per_day = 40

[[microsystems]]
name = "ED"
capacity = 30
service = { dist = "lognormal", median = 180, log_sd = 0.8 }

[[microsystems]]
name = "Ward"
capacity = 24
service = { dist = "lognormal", median = 2880, log_sd = 0.6 }

[[handoffs]]
from = "ED"
to = "Ward"
probability = 0.6
"""


def test_offered_load_of_an_mmc_queue_is_lambda_over_c_mu():
    """One M/M/c node: rho = lambda E[S] / c, and the simulated utilisation agrees within its 99% CI."""
    model = single_node(capacity=3, mean_service=15.0, rate=10 / 60)
    load = offered_load(model)["Clinic"]
    assert load.load == pytest.approx(10 / 60 * 15 / 3)
    assert load.erlangs == pytest.approx(2.5) and load.servers == 3 and load.arrivals_per_day == pytest.approx(240)
    result = js.simulate(model, horizon=40 * 1440.0, warmup=1440.0, replications=8, seed=3)
    util = replication_metrics(result)["Clinic.utilisation"]
    low, high = ci99(util)
    assert low < load.load < high


def test_visit_ratios_of_a_jackson_network_with_feedback():
    """Expected visits solve v = e + R^T v: with feedback B->A of 0.2 after A->B of 0.5, v_A = 1/0.9, v_B = 0.5/0.9."""
    model = js.Model([js.Microsystem("A", capacity=2, service=js.Exponential(30)),
                      js.Microsystem("B", capacity=1, service=js.Exponential(20))],
                     [js.Handoff("A", "B", probability=0.5), js.Handoff("B", "A", probability=0.2)],
                     classes=[js.PatientClass("all", entry="A", rate=1 / 60)])
    v = expected_visits(model)["all"]
    assert v["A"] == pytest.approx(1 / 0.9) and v["B"] == pytest.approx(0.5 / 0.9)
    load = offered_load(model)
    assert load["A"].load == pytest.approx(1 / 60 / 0.9 * 30 / 2)
    assert load["B"].load == pytest.approx(1 / 60 * 0.5 / 0.9 * 20)


def test_offered_load_counts_requests_exit_delays_and_the_week_averaged_capacity():
    """Support nodes are offered the requests; an exit delay holds the bed; a schedule's capacity is averaged."""
    day = js.Window("Mon-Fri", "08:00", "17:00")
    model = js.Model(
        [js.Microsystem("ED", capacity=4, service=js.Fixed(60), exit_delay=js.Fixed(30),
                        schedule=[js.Shift(day, capacity=8)]),
         js.Microsystem("Lab", kind="support", capacity=1, service=js.Fixed(10))],
        requests=[js.ServiceRequest("ED", "Lab", probability=0.5)],
        classes=[js.PatientClass("all", entry="ED", rate=1 / 30)])
    load = offered_load(model)
    servers = 4 + 4 * (5 * 9 * 60) / (7 * 1440)  # 4 all week, 8 during 45 of the week's 168 hours
    assert load["ED"].servers == pytest.approx(servers)
    assert load["ED"].erlangs == pytest.approx((60 + 30) / 30)
    assert load["Lab"].erlangs == pytest.approx(0.5 * 10 / 30) and load["Lab"].arrivals_per_day == pytest.approx(24)


def test_unlimited_capacity_has_no_offered_load_per_server():
    """An infinite-server node is never unstable: its offered load is null, its Erlangs are lambda E[S]."""
    model = single_node(capacity=None, mean_service=30.0, rate=1.0)
    load = offered_load(model)["Clinic"]
    assert load.load is None and not load.unstable and load.erlangs == pytest.approx(30.0)
    assert model_warnings(model) == []


def test_an_overloaded_microsystem_is_warned_about_everywhere(tmp_path, capsys):
    """rho >= 1 is a warning in validate (with file and line), analyze, run's text and JSON, and the report."""
    path = write(tmp_path, OVERLOADED)
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert re.search(rf"{re.escape(str(path))}:\d+: warning: microsystems\[1\] \(Ward\): offered load 2\.39 >= 1", err)
    assert main(["analyze", str(path), "--json", str(tmp_path / "a.json")]) == 0
    out = capsys.readouterr().out
    assert "Warnings:" in out and "239.4%" in out
    analyzed = json.loads((tmp_path / "a.json").read_text())
    assert analyzed["microsystems"]["Ward"]["offered_load"] == pytest.approx(2.394, abs=1e-3)
    assert [w["path"] for w in analyzed["warnings"]] == ["microsystems[1] (Ward)"]
    assert main(["run", str(path), "--quiet", "--json", str(tmp_path / "r.json"), "--report",
                 str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    assert out.index("Warnings:") < out.index("Quality of the health system")
    ran = json.loads((tmp_path / "r.json").read_text())
    assert ran["microsystems"]["Ward"]["offered_load"] == analyzed["microsystems"]["Ward"]["offered_load"]
    assert "offered load 2.39" in ran["warnings"][0]["message"]
    assert "class=warnings" in (tmp_path / "r.html").read_text()


def test_a_stable_model_has_no_warnings_and_its_utilisation_matches_the_offered_load():
    """The README's Python example is stable (it was a 24-bed ward offered about 57 beds of work)."""
    text = (ROOT / "README.md").read_text()
    code = text[text.index("model = js.Model("):]
    code = code[:code.index("\njs.simulate(")]
    namespace: dict[str, object] = {"js": js}
    exec(compile(code, "README.md", "exec"), namespace)  # the README's own code, from this repository
    model = namespace["model"]
    assert model_warnings(model) == []
    assert all(x.load < 0.9 for x in offered_load(model).values())


def test_idle_microsystems_are_valid_and_named():
    """A microsystem every route to which has probability 0 is valid, with a warning; one wired to nothing is an error."""
    idle = js.Model([js.Microsystem("A"), js.Microsystem("B")], [js.Handoff("A", "B", probability=0.0)],
                    classes=[js.PatientClass("all", entry="A", rate=0.1)])
    assert idle.idle_microsystems() == ("B",)
    assert "no patient will visit" in str(model_warnings(idle)[0])
    with pytest.raises(js.ValidationError, match=r"microsystems\[1\] \(B\): no patient can reach"):
        js.Model([js.Microsystem("A"), js.Microsystem("B")], classes=[js.PatientClass("all", entry="A", rate=0.1)])
    rate0 = js.Model([js.Microsystem("A"), js.Microsystem("B")],
                     classes=[js.PatientClass("all", entry="A", rate=0.1), js.PatientClass("none", entry="B", rate=0)])
    assert rate0.idle_microsystems() == ("B",)


def test_the_run_size_estimate_follows_the_traffic_equations():
    """Estimated journeys and visits match a flagship run within 5%: rate x horizon x replications x visits."""
    scenario = js.load_scenario(ROOT / "scenarios" / "ami.toml").with_settings(horizon=200 * 1440.0, warmup=0.0,
                                                                                replications=3)
    estimate = estimate_run(scenario)
    result = js.simulate(scenario, seed=2)
    journeys = sum(len(r.journeys) for r in result.records)
    visits = sum(len(r.visits) + len(r.requests) for r in result.records)
    assert journeys == pytest.approx(estimate.journeys, rel=0.05)
    assert visits == pytest.approx(estimate.visits, rel=0.05)
    rows = sum(len(t) for r in result.records for t in r.tables().values())
    assert rows == pytest.approx(estimate.rows, rel=0.15)


HUGE = """\
[scenario]
name = "a billion a day"
horizon_days = 365
replications = 2
seed = 1

[[classes]]
name = "walkin"
entry = "Clinic"
rate_per_day = 1e9

[[microsystems]]
name = "Clinic"
service = { dist = "exponential", mean = 20 }
"""


def test_a_run_too_large_for_memory_is_refused_before_it_starts(tmp_path):
    """rate_per_day = 1e9 with full records: status 2 at once, the estimate and the ways out, no output file."""
    path = write(tmp_path, HUGE)
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-m", "journeysim.cli", "run", str(path), "--json", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in ("this run would need about", "TiB", "--records summary", "--max-memory"):
        assert fragment in proc.stderr
    assert not out.exists()


def test_max_memory_sets_the_budget():
    """A run that fits the default budget is refused under a smaller max_memory, and 'none' lifts the limit."""
    model = single_node(capacity=1, mean_service=5.0, rate=0.1)
    with pytest.raises(RunTooLarge, match="the given limit"):
        js.simulate(model, horizon=10_000.0, seed=1, max_memory=1000)
    assert js.simulate(model, horizon=10_000.0, seed=1, max_memory=parse_size("none")).stats
    assert parse_size("16G") == 16 * 2**30 and parse_size("500MiB") == 500 * 2**20
    with pytest.raises(ValueError):
        parse_size("lots")
    with pytest.raises(ValueError):
        parse_size("-1G")


def test_a_long_run_is_announced_with_its_expected_time(tmp_path):
    """A run estimated to take hours warns with the estimate in summary mode, and fits in memory there."""
    scenario = js.load_scenario(write(tmp_path, HUGE))
    with pytest.warns(js.JourneySimWarning, match=r"expect about [\d,]+ days"):
        estimate = check_run(scenario, records="summary")
    assert estimate.memory("summary") < 1e6 and estimate.memory("full") > 1e12
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_run(scenario.with_settings(horizon=1.0), records="summary")


def test_statistics_of_many_replications_count_in_summary_mode():
    """Each replication keeps its statistics (histograms): 10^6 replications are refused, with no advice to use summary."""
    scenario = js.load_scenario(ROOT / "scenarios" / "ami.toml").with_settings(replications=10**6)
    with pytest.raises(RunTooLarge, match="of statistics for 1000000 replications") as err:
        check_run(scenario, records="summary")
    assert "--records summary" not in str(err.value) and "fewer replications" in str(err.value)


def test_queues_of_an_overloaded_microsystem_count_in_summary_mode(tmp_path):
    """An unstable queue grows without bound even without records: the estimate includes it."""
    scenario = js.load_scenario(write(tmp_path, OVERLOADED))
    estimate = estimate_run(scenario)
    excess = offered_load(scenario.model)["Ward"]
    growth = (excess.erlangs - excess.servers) / excess.hold_minutes * scenario.horizon
    assert estimate.queue_bytes > 0 and math.isclose(estimate.queue_bytes / growth, 600.0)
    with pytest.raises(RunTooLarge, match="queues that grow without bound"):
        check_run(scenario, records="summary", max_memory=estimate.queue_bytes / 2)
    assert np.isfinite(estimate.seconds)
