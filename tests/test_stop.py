"""Runs that stop at the horizon (``end = "stop"``): theory, a hand-computed case, counts, records and commands."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import journeysim as js
from journeysim import plot
from journeysim.cli import main
from journeysim.engine.kernel import run_replication
from journeysim.errors import ValidationError
from journeysim.outputs.eventlog import calendar_start
from test_degenerate import _NAN, COMMANDS, MODELS, run_command, strict_json

# -- theory ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("t", [10.0, 20.0, 60.0])
def test_infinite_server_occupancy_at_the_horizon_follows_the_transient(t):
    """M/M/inf from empty: patients in service at the horizon t average lambda E[S] (1 - exp(-t / E[S]))."""
    lam, mean_s, reps = 0.5, 20.0, 400
    model = js.Model([js.Microsystem("A", capacity=None, service=js.Exponential(mean_s))],
                     classes=[js.PatientClass("p", entry="A", rate=lam)])
    s = js.simulate(model, horizon=t, replications=reps, seed=11, end="stop", records="summary").summary()
    expected = lam * mean_s * (1.0 - math.exp(-t / mean_s))
    se = math.sqrt(expected / reps)  # N(t) is Poisson: its variance is its mean
    a = s.microsystems["A"]
    assert a.in_service is not None and a.waiting is not None and s.journeys.in_progress is not None
    assert a.in_service.mean == pytest.approx(expected, abs=4 * se)
    assert a.waiting.mean == 0.0  # infinite servers: nobody waits
    assert s.journeys.in_progress.estimate.mean == a.in_service.mean  # every journey in progress is in service


def test_single_server_utilisation_in_a_stopped_run_is_rho():
    """M/M/1 stopped at the horizon: busy time inside the window over its length is rho = lambda / mu."""
    model = js.Model([js.Microsystem("A", capacity=1, service=js.Exponential(10.0))],
                     classes=[js.PatientClass("p", entry="A", rate=0.07)])
    s = js.simulate(model, horizon=60_000, warmup=5_000, replications=8, seed=3, end="stop").summary()
    # one replication's utilisation has a standard deviation of about 0.013 (measured), so the mean of 8 is
    # within about 0.005 of rho: 0.02 is four standard errors
    assert s.microsystems["A"].utilisation.mean == pytest.approx(0.7, abs=0.02)


# -- counts ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ami_stopped() -> tuple[js.SimulationResult, js.SimulationResult, js.SimulationResult]:
    """The AMI pathway over 12 days (boarding, requests, teams, standards): stopped, summary mode, drained."""
    sc = js.load_scenario(Path(__file__).parent.parent / "scenarios" / "ami.toml")
    sc = sc.with_settings(horizon=12 * 1440.0, warmup=2 * 1440.0, replications=3, end="stop")
    stopped = js.simulate(sc, seed=5)
    summary = js.simulate(sc, seed=5, records="summary")
    drained = js.simulate(sc.with_settings(end="drain"), seed=5)
    return stopped, summary, drained


def test_every_arrival_is_completed_or_in_progress(ami_stopped):
    """arrived = completed + in progress, and the same journeys arrive as in the run that drains."""
    stopped, _, drained = ami_stopped
    j = stopped.summary().journeys
    assert j.in_progress is not None and j.in_progress.total > 0 and j.completed > 0
    assert j.arrived == j.completed + j.in_progress.total
    # the arrivals are the same random numbers whatever the end: the drained run completes them all
    assert j.arrived == drained.summary().journeys.arrived
    for name, c in j.by_class.items():
        assert c.in_progress is not None
        assert c.completed + c.in_progress.total == drained.summary().journeys.by_class[name].completed
    # in the records, the journeys in progress are those with no end, and each has its place
    for rec in stopped.records:
        ongoing = np.isnan(rec.journeys["end"])
        assert (rec.journeys["journey"] == np.arange(len(rec.journeys))).all()
        assert not rec.journeys["defect_free"][ongoing].any()
        assert (rec.journeys.to_frame()["exit"].isna() == ongoing).all()
        assert np.nanmax(rec.visits["end"]) < rec.horizon and np.nanmax(rec.handoffs["arrive"]) < rec.horizon
        assert np.nanmax(rec.requests["returned"]) < rec.horizon


def test_summary_mode_gives_the_figures_of_full_records(ami_stopped):
    """Reducing the rows in chunks gives every figure of the full records but the histogram percentiles."""
    stopped, summary, _ = ami_stopped

    def figures(result: js.SimulationResult) -> dict:
        d = result.summary().to_dict()
        for key in ("provenance", "records", "six_sigma"):  # six_sigma needs full records
            d.pop(key)
        d["quality"].pop("leverage")  # so does simulated leverage
        return json.loads(json.dumps(d), parse_float=lambda x: round(float(x), 9))

    def without_percentiles(x: object) -> object:
        if isinstance(x, dict):
            return {k: without_percentiles(v) for k, v in x.items() if k not in ("p25", "p50", "p75", "p90")}
        return x

    assert without_percentiles(figures(stopped)) == without_percentiles(figures(summary))


def test_stopped_json_is_strict_and_names_the_end(ami_stopped):
    """The JSON says the run stopped and gives the census of every microsystem and the open standards."""
    d = ami_stopped[0].summary().to_dict()
    strict_json(json.dumps(d, allow_nan=False))
    assert d["end"] == "stop"
    assert set(d["journeys"]["in_progress"]) == {"mean", "ci95", "total"}
    for m in d["microsystems"].values():
        assert {"in_service", "waiting"} <= set(m)
    for st in d["standards"].values():
        assert set(st["not_yet_reached"]) == {"count", "share"}
    drained = ami_stopped[2].summary().to_dict()
    assert "end" not in drained and "in_progress" not in drained["journeys"]
    assert "in_service" not in drained["microsystems"]["ED"]


# -- a case computed by hand ----------------------------------------------------------------------------

H, SERVICE, TARGET = 200.0, 30.0, 60.0


@pytest.fixture(scope="module")
def clinic() -> tuple[js.SimulationResult, np.ndarray]:
    """One server, a fixed 30-minute service, stopped at 200 minutes, with a 60-minute standard."""
    model = js.Model([js.Microsystem("A", capacity=1, service=js.Fixed(SERVICE))],
                     classes=[js.PatientClass("p", entry="A", rate=1 / 15)],
                     standards=[js.Standard("seen_and_out", start="start", end="depart:A", within=TARGET)])
    result = js.simulate(model, horizon=H, replications=1, seed=1, end="stop")
    arrivals = np.asarray(result.records[0].journeys["arrival"], dtype=float)
    return result, np.sort(arrivals)


def _by_hand(arrivals: np.ndarray) -> dict[str, float]:
    """First come, first served on one server, each visit 30 minutes, nothing after the horizon."""
    starts, ends, free = [], [], 0.0
    for a in arrivals:
        start = max(a, free)
        starts.append(start)
        free = start + SERVICE
        ends.append(free)
    start, end = np.array(starts), np.array(ends)
    started, ended = start < H, end < H
    open_ = ~ended & ((H - arrivals) <= TARGET)
    judged = ended | ~open_
    return {
        "wait": float(np.mean((start - arrivals)[started])),
        "busy": float(np.sum(np.clip(np.minimum(end, H) - start, 0.0, None)) / H),
        "time_in_system": float(np.mean((end - arrivals)[ended])),
        "completed": int(ended.sum()),
        "in_progress": int((~ended).sum()),
        "in_service": int((started & ~ended).sum()),
        "waiting": int((~started).sum()),
        "applies": int(judged.sum()),
        "met": float(np.mean((ended & (end - arrivals <= TARGET))[judged])),
        "not_yet_reached": int(open_.sum()),
    }


def test_each_definition_matches_the_case_computed_by_hand(clinic):
    """Wait, utilisation, time in system, in progress, in service, waiting and standards, by hand."""
    result, arrivals = clinic
    want = _by_hand(arrivals)
    # the case must exercise each state: done, in service, waiting, an open standard and a certain miss
    assert want["completed"] and want["in_service"] == 1 and want["waiting"] >= 2 and want["not_yet_reached"]
    assert want["applies"] > want["completed"]
    s = result.summary()
    a = s.microsystems["A"]
    assert a.wait_minutes.mean == pytest.approx(want["wait"])
    assert a.utilisation.mean == pytest.approx(want["busy"])
    assert s.journeys.time_in_system.estimate.mean == pytest.approx(want["time_in_system"])
    assert s.journeys.completed == want["completed"]
    assert s.journeys.in_progress is not None and s.journeys.in_progress.total == want["in_progress"]
    assert a.in_service is not None and a.in_service.mean == want["in_service"]
    assert a.waiting is not None and a.waiting.mean == want["waiting"]
    st = s.standards["seen_and_out"].overall
    assert st.applies == want["applies"]
    assert st.met.mean == pytest.approx(want["met"])
    assert st.not_yet_reached == want["not_yet_reached"]
    assert st.not_yet_reached_share == pytest.approx(want["not_yet_reached"] / (want["applies"] + want["not_yet_reached"]))


def test_the_records_show_what_was_unfinished(clinic):
    """Visits in service have no end, visits waiting no start; the open standards are flagged; no later event."""
    result, arrivals = clinic
    rec = result.records[0]
    v = rec.visits.to_frame()
    assert rec.end == "stop"
    assert v["end"].isna().sum() == len(arrivals) - int((v["end"] < H).sum())
    assert (v["start"].isna() == v["wait"].isna()).all() and v["sojourn"].isna().sum() == v["end"].isna().sum()
    in_service = v[v["start"].notna() & v["end"].isna()]
    assert len(in_service) == 1 and in_service["service"].iloc[0] == SERVICE
    s = rec.standards.to_frame()
    assert (s["open"] == (s["end"].isna() & (H - s["start"] <= TARGET))).all()
    assert not (s["met"] & s["open"]).any()
    log = js.event_log(result)
    times = (log["time:timestamp"] - calendar_start("2026-01-05")).dt.total_seconds() / 60
    assert times.max() < H
    assert log["case:concept:name"].nunique() == len(arrivals)
    complete = log[log["lifecycle:transition"] == "complete"]
    assert len(complete) == int((v["end"] < H).sum())


def test_a_run_that_drains_is_unchanged_by_the_option():
    """end="drain" is the default: the same records as before the option existed."""
    model = js.Model([js.Microsystem("A", capacity=1, service=js.Exponential(8))],
                     classes=[js.PatientClass("p", entry="A", rate=0.1)])
    a = run_replication(model, horizon=2_000, seed=1)
    b = run_replication(model, horizon=2_000, seed=1, end="drain")
    assert a.end == b.end == "drain"
    assert a.visits.to_frame().equals(b.visits.to_frame())
    assert not np.isnan(a.journeys["end"]).any() and not a.standards["open"].any()


# -- validation ------------------------------------------------------------------------------------------


def _clinic_file(end: str, extra: str = "") -> str:
    return textwrap.dedent(f"""\
        [scenario]
        name = "day"
        horizon_hours = 10
        end = {end}
        {extra}

        [[classes]]
        name = "p"
        entry = "Clinic"
        rate_per_hour = 4

        [[microsystems]]
        name = "Clinic"
        capacity = 1
        service = {{ dist = "exponential", mean = 12 }}
        """)


@pytest.mark.parametrize("end", ['"halt"', "1", '["stop"]'])
def test_an_unknown_end_names_its_key(end):
    """`end` other than "drain" or "stop" is an error at scenario.end, listed with the other problems."""
    with pytest.raises(ValidationError) as err:
        js.loads_scenario(_clinic_file(end).replace("capacity = 1", "capacity = -1"))
    paths = [p.path for p in err.value.problems]
    assert "scenario.end" in paths and any(p.startswith("microsystems[0]") for p in paths)
    assert "must be 'drain' or 'stop'" in str(err.value)


def test_end_in_python_is_validated():
    """Scenario(..., end=...) and simulate(..., end=...) refuse an unknown value, naming `end`."""
    model = js.Model([js.Microsystem("A", capacity=1, service=js.Exponential(8))],
                     classes=[js.PatientClass("p", entry="A", rate=0.1)])
    with pytest.raises(ValidationError, match="end: must be 'drain' or 'stop'"):
        js.Scenario(model, horizon=100, end="Stop")
    with pytest.raises(ValidationError, match="end"):
        js.simulate(model, horizon=100, end="halt")
    assert js.loads_scenario(_clinic_file('"stop"')).end == "stop"
    assert js.loads_scenario(_clinic_file('"drain"')).end == "drain"


# -- every command, on models that stop at the horizon ------------------------------------------------------

STOPPED = {name: MODELS[name].replace("[scenario]\n", '[scenario]\nend = "stop"\n', 1)
           for name in ("no_defects", "one_replication", "unlimited_capacity", "horizon_shorter_than_service",
                        "no_arrivals")}


@pytest.fixture(scope="module")
def stopped_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stopped")
    out = {}
    for name, text in STOPPED.items():
        path = folder / f"{name}.toml"
        path.write_text(textwrap.dedent(text))
        (folder / f"{name}_copy.toml").write_text(textwrap.dedent(text))
        out[name] = path
    return out


@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
@pytest.mark.parametrize("model", list(STOPPED), ids=list(STOPPED))
def test_every_command_runs_a_stopped_model(stopped_files, tmp_path, capsys, model, command):
    """Each command exits 0 on a model that stops at the horizon, and writes strict JSON."""
    f = stopped_files[model]
    _, out = run_command(f, f.with_name(f.stem + "_copy.toml"), tmp_path, capsys, command)
    if command == "run --json -":
        assert strict_json(out)["end"] == "stop"  # type: ignore[index]


def test_end_on_the_command_line_overrides_the_file(stopped_files, capsys):
    """`run --end drain` runs a stopped file to its end, and `--end stop` stops a drained one."""
    f = stopped_files["no_defects"]
    assert main(["run", str(f), "--end", "drain", "--json", "-", "--quiet"]) == 0
    assert "end" not in strict_json(capsys.readouterr().out)  # type: ignore[operator]
    drained = Path(str(f).replace(".toml", "_drained.toml"))
    drained.write_text(f.read_text().replace('end = "stop"\n', ""))
    assert main(["run", str(drained), "--end", "stop", "--json", "-", "--quiet"]) == 0
    assert strict_json(capsys.readouterr().out)["end"] == "stop"  # type: ignore[index]


def test_python_outputs_of_a_stopped_model(stopped_files, tmp_path):
    """The text, tables, plots, report and event log of a stopped run show no NaN and draw."""
    result = js.simulate(js.load_scenario(stopped_files["one_replication"]), workers=1)
    summary = result.summary()
    text = summary.to_text()
    assert not _NAN.search(text) and "still in progress" in text and "at the horizon" in text
    for table in (summary.quality_table(), summary.microsystem_table(), summary.standards_table()):
        assert table is not None
    axes = [plot.pathway(result, summary=summary), plot.cascade(result), plot.journey_times(result),
            plot.utilisation(result), plot.queue_length(result), plot.leverage(result, summary=summary)]
    for ax in axes:
        ax.figure.canvas.draw()
    plt.close("all")
    html = js.report_html(result, summary=summary)
    assert "NaN" not in html
    js.write_event_log(result, tmp_path / "e.xes")
