"""Degenerate but valid models go through every command and output: exit 0, strict JSON, n/a for what is undefined."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

import journeysim as js
from journeysim import plot
from journeysim.cli import main

_HEAD = """\
[scenario]
name = "{name}"
{horizon}
replications = {replications}
seed = 4
"""

_CLINIC = """
[[classes]]
name = "walkin"
entry = "Clinic"
rate_per_hour = {rate}

[[microsystems]]
name = "Clinic"
{capacity}
service = {service}
{defect}
{clinic_extra}
"""

_WARD = """
[[microsystems]]
name = "Ward"
{capacity}
service = {{ dist = "lognormal", median = 3, log_sd = 0.5, unit = "hours" }}

[[handoffs]]
from = "Clinic"
to = "Ward"
probability = {to_ward}
{handoff_defects}
"""

_LAB = """
[[microsystems]]
name = "Lab"
kind = "support"
{capacity}
service = {{ dist = "exponential", mean = 20 }}

[[requests]]
from = "Clinic"
to = "Lab"
probability = 0.5
"""

_STANDARD = """
[[standards]]
name = "{name}"
from = "{start}"
to = "{end}"
within = 30
"""


def _scenario(name: str, *, horizon: str = "horizon_days = 6\nwarmup_days = 1", replications: int = 2,
              rate: float = 2.0, capacity: str = "capacity = 2", service: str = '{ dist = "exponential", mean = 20 }',
              defect: str = "", clinic_extra: str = "", to_ward: float = 0.3, handoff_defects: str = "", extra: str = "") -> str:
    text = _HEAD.format(name=name, horizon=horizon, replications=replications)
    text += _CLINIC.format(rate=rate, capacity=capacity, service=service, defect=defect,
                           clinic_extra=clinic_extra)
    text += _WARD.format(capacity=capacity.replace("2", "8"), to_ward=to_ward, handoff_defects=handoff_defects)
    text += _LAB.format(capacity=capacity)
    return text + extra


_DEFECTS = dict(defect="defect = 0.05", handoff_defects="defects = { information = 0.2 }")
_WAIT_STANDARD = _STANDARD.format(name="seen_in_time", start="arrive:Clinic", end="Clinic.service")

#: Each model is valid and must run everywhere; each is degenerate in one way.
MODELS = {
    "no_defects": _scenario("no defects"),
    "no_arrivals": _scenario("no arrivals", rate=0.0001, horizon="horizon_hours = 2", **_DEFECTS,
                             extra=_WAIT_STANDARD),
    "one_replication": _scenario("one replication", replications=1, **_DEFECTS, extra=_WAIT_STANDARD,
                                 clinic_extra="cost = { per_visit = 100, per_minute = 1.5 }"),
    "class_with_rate_0": _scenario("a class with rate 0", **_DEFECTS, extra="""
[[classes]]
name = "transfer"
entry = "Ward"
rate_per_day = 0
"""),
    "all_leave_at_first": _scenario("every patient leaves at the first node", to_ward=0.0, **_DEFECTS),
    "unlimited_capacity": _scenario("unlimited capacity", capacity='capacity = "unlimited"', **_DEFECTS),
    "no_costs": _scenario("no costs", **_DEFECTS),
    "standard_never_reached": _scenario(
        "a standard no journey reaches", to_ward=0.0, **_DEFECTS,
        extra=_STANDARD.format(name="ward_in_time", start="arrive:Ward", end="depart:Ward")),
    "every_journey_defective": _scenario("every journey defective", defect="defect = 1.0",
                                         clinic_extra="cost = { per_visit = 100 }"),
    "horizon_shorter_than_service": _scenario(
        "a horizon shorter than one service", horizon="horizon_minutes = 30", service="600", **_DEFECTS,
        extra=_WAIT_STANDARD),
}

#: Each command line, with {f} the scenario, {g} a copy of it and {o} an output folder.
COMMANDS = {
    "validate": ["validate", "{f}"],
    "run": ["run", "{f}"],
    "run --json": ["run", "{f}", "--json", "{o}/out.json"],
    "run --json -": ["run", "{f}", "--json", "-"],
    "run --records summary": ["run", "{f}", "--records", "summary", "--json", "{o}/out.json"],
    "run --report --events": ["run", "{f}", "--report", "{o}/r.html", "--events", "{o}/e.xes"],
    "run --records summary --report": ["run", "{f}", "--records", "summary", "--report", "{o}/r.html"],
    "run --events csv": ["run", "{f}", "--events", "{o}/e.csv"],
    "run --checkpoint": ["run", "{f}", "--checkpoint", "{o}/ck", "--json", "{o}/out.json"],
    "analyze": ["analyze", "{f}", "--json", "{o}/out.json"],
    "analyze text": ["analyze", "{f}"],
    "compare": ["compare", "{f}", "{g}", "--json", "{o}/out.json"],
    "compare text": ["compare", "{f}", "{g}"],
    "sweep": ["sweep", "{f}", "--set", "microsystems[\"Clinic\"].capacity=1,3", "--json", "{o}/out.json",
              "--csv", "{o}/out.csv"],
    "warmup": ["warmup", "{f}", "--replications", "2"],
    "report": ["report", "{f}", "-o", "{o}/r.html"],
    "report two": ["report", "{f}", "{g}", "-o", "{o}/r.html"],
}


_NAN = re.compile(r"\b(?i:nan|inf)\b|\bNone\b")


def strict_json(text: str) -> object:
    """Parse JSON as a strict reader would: NaN and Infinity are errors."""

    def refuse(constant: str) -> object:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("degenerate")
    out = {}
    for name, text in MODELS.items():
        path = folder / f"{name}.toml"
        path.write_text(textwrap.dedent(text))
        shutil.copy(path, folder / f"{name}_copy.toml")
        out[name] = path
    return out


@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
@pytest.mark.parametrize("model", list(MODELS), ids=list(MODELS))
def test_every_command_runs_every_degenerate_model(files, tmp_path, capsys, model, command):
    """The command exits 0 with no traceback, and every JSON it writes is strict JSON."""
    f = files[model]
    args, _ = run_command(f, f.with_name(f.stem + "_copy.toml"), tmp_path, capsys, command)
    if command == "run --checkpoint":  # a second run resumes from the checkpoint and agrees
        first = (tmp_path / "out.json").read_text()
        assert main(args) == 0
        capsys.readouterr()
        assert _without_timing(strict_json(first)) == _without_timing(strict_json((tmp_path / "out.json").read_text()))


def run_command(f: Path, g: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                command: str) -> tuple[list[str], str]:
    """Run one of :data:`COMMANDS` on files ``f`` (and ``g``): it must exit 0 with no traceback, print no NaN
    and write strict JSON (``run --json -`` prints it). Returns the arguments it ran and what it printed."""
    args = [a.format(f=f, g=g, o=tmp_path) for a in COMMANDS[command]]
    args += ["--quiet"] if args[0] not in ("validate", "analyze") else []
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    if command == "run --json -":
        strict_json(out)
    else:
        assert not _NAN.search(out), out
    for written in tmp_path.glob("*.json"):
        strict_json(written.read_text())
    return args, out


def _without_timing(payload: object) -> object:
    assert isinstance(payload, dict)
    return {k: v for k, v in payload.items() if k not in ("provenance", "wall_seconds")}


@pytest.fixture(scope="module", params=list(MODELS), ids=list(MODELS))
def result(request, files) -> js.SimulationResult:
    return js.simulate(js.load_scenario(files[request.param]), workers=1)


def test_python_outputs_of_a_degenerate_model(result, tmp_path):
    """summary(), to_dict(), to_text(), the tables, every plot, the report and the event log all work."""
    summary = result.summary()
    strict_json(json.dumps(summary.to_dict(), allow_nan=False))
    text = summary.to_text()
    assert not _NAN.search(text), text
    for table in (summary.quality_table(), summary.microsystem_table(), summary.handoff_table(),
                  summary.standards_table()):
        assert table is not None
    repr(result), repr(summary)
    axes = [plot.pathway(result, summary=summary), plot.cascade(result),
            plot.leverage(result, summary=summary), plot.journey_times(result), plot.utilisation(result),
            plot.queue_length(result)]
    axes += [plot.standard(result, st.name) for st in result.scenario.model.standards]
    for ax in axes:
        ax.figure.canvas.draw()
    plt.close("all")
    html = js.report_html(result, summary=summary)
    assert not _NAN.search(re.sub(r"<[^>]*>", " ", html)), "NaN shown in the report"
    js.write_report(result, tmp_path / "r.html", summary=summary)
    log = js.event_log(result)
    assert log["case:concept:name"].nunique() == len(result.journeys())
    js.write_event_log(result, tmp_path / "e.xes")


def test_python_comparison_of_a_degenerate_model(files, tmp_path):
    """A comparison of a degenerate model with itself gives zero differences and draws its forest plot."""
    scenario = js.load_scenario(files["no_defects"])
    comparison = js.compare([scenario, scenario.with_settings(name="again")], replications=2, seed=1)
    strict_json(json.dumps(comparison.to_dict(), allow_nan=False))
    plot.comparison(comparison).figure.canvas.draw()
    plt.close("all")
    js.write_report(comparison, tmp_path / "c.html")


def test_result_objects_show_a_few_lines(files):
    """repr of a result, its records, stats, summary, scenario and comparison is a few lines, not the data."""
    scenario = js.load_scenario(files["no_costs"]).with_settings(horizon=200 * 1440.0)
    result = js.simulate(scenario, seed=1)
    comparison = js.compare([scenario, scenario.with_settings(name="again")], replications=2, seed=1)
    shown = [result, result.records[0], result.records[0].visits, result.stats[0], result.summary(), scenario,
             comparison, result.exact()]
    for obj in shown:
        text = repr(obj)
        assert len(text) < 600 and text.count("\n") < 5, text
    assert "system quality" in repr(result) and "journeys counted" in repr(result)
