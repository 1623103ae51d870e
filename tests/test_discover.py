"""Discovery: a known model simulated, exported, read back and discovered gives back its parameters."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import journeysim as js
from journeysim.cli import main
from journeysim.data.discover import DiscoveryReport
from journeysim.io.scenario_writer import Commented, Table, dumps_scenario

ROOT = Path(__file__).resolve().parents[1]

# Three units, a branch (Triage -> Treat or Ward), a loop (Treat -> Treat), a handoff delay,
# two classes (B enters at Triage or Treat; A with a time-of-day profile), lognormal services,
# Treat: capacity 2 at ~87% load (over 100% in A's busy hours).
KNOWN = """
[scenario]
name = "known"
horizon_days = 180
warmup_days = 0
replications = 1
seed = 3

[[classes]]
name = "A"
entry = "Triage"
rate_per_hour = 2
profile = { blocks = [{ from = 0, to = 8, share = 0.2 }, { from = 8, to = 16, share = 0.5 }, { from = 16, to = 24, share = 0.3 }] }

[[classes]]
name = "B"
entry = { Triage = 0.5, Treat = 0.5 }
rate_per_hour = 2

[[microsystems]]
name = "Triage"
capacity = "unlimited"
service = { dist = "lognormal", median = 10, log_sd = 0.5 }

[[microsystems]]
name = "Treat"
capacity = 2
service = { dist = "lognormal", median = 25, log_sd = 0.4 }

[[microsystems]]
name = "Ward"
capacity = "unlimited"
service = { dist = "lognormal", median = 120, log_sd = 0.6 }

[[handoffs]]
from = "Triage"
to = "Treat"
probability = 0.7

[[handoffs]]
from = "Triage"
to = "Ward"
probability = 0.2

[[handoffs]]
from = "Treat"
to = "Treat"
probability = 0.2

[[handoffs]]
from = "Treat"
to = "Ward"
probability = 0.5
delay = { dist = "exponential", mean = 30 }
"""
ROUTES = {("Triage", "Treat"): 0.7, ("Triage", "Ward"): 0.2, ("Treat", "Treat"): 0.2, ("Treat", "Ward"): 0.5}
MEDIANS = {"Triage": 10.0, "Treat": 25.0, "Ward": 120.0}


def _read(path: Path) -> js.EventLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", js.JourneySimWarning)  # cases with one instance: those who left at once
        return js.read_log(path)


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> tuple[js.Scenario, DiscoveryReport, Path]:
    folder = tmp_path_factory.mktemp("discover")
    result = js.simulate(js.loads_scenario(KNOWN))
    path = js.write_event_log(result, folder / "known.csv")
    scenario, report = js.discover(_read(path))
    return scenario, report, path


def test_round_trip_recovers_the_known_model(known: tuple[js.Scenario, DiscoveryReport, Path]) -> None:
    scenario, report, _ = known
    model = scenario.model
    assert {m.name for m in model.microsystems} == set(MEDIANS)
    assert sorted(c.name for c in model.classes) == ["A", "B"]
    handoffs = {(h.source, h.target): h for h in model.handoffs}
    assert set(handoffs) == set(ROUTES)
    for edge, p in ROUTES.items():
        prob = handoffs[edge].probability
        for cls in ("A", "B"):
            got = prob.get(cls) if hasattr(prob, "get") else prob
            assert abs(got - p) <= 0.02, (edge, cls, got)
    micro = {m.name: m for m in model.microsystems}
    for name, median in MEDIANS.items():
        d = micro[name].service
        assert isinstance(d, js.LogNormal), d
        assert abs(d.median / median - 1) <= 0.10, (name, d)
    assert micro["Treat"].capacity is not None and abs(micro["Treat"].capacity - 2) <= 1
    assert micro["Triage"].capacity is None and micro["Ward"].capacity is None  # no one waited: unlimited
    rates = {c.name: c.rate for c in model.classes}  # per minute
    for cls in ("A", "B"):
        assert abs(rates[cls] * 60 / 2.0 - 1) <= 0.05, (cls, rates[cls] * 60)
    shares = dict(next(c for c in model.classes if c.name == "B").entry)
    assert shares.keys() == {"Triage", "Treat"} and abs(shares["Triage"] - 0.5) <= 0.02
    profiles = {c.name: c.profile for c in model.classes}
    assert profiles["B"] is None  # a constant rate: no profile written
    hours = np.asarray(profiles["A"].hours)
    for (a, b), share in {(0, 8): 0.2, (8, 16): 0.5, (16, 24): 0.3}.items():
        assert abs(hours[a:b].sum() / hours.sum() - share) <= 0.02, (a, b, hours[a:b].sum() / hours.sum())
    delay = handoffs[("Treat", "Ward")].delay
    assert delay is not None and abs(delay.mean / 30.0 - 1) <= 0.10
    assert handoffs[("Triage", "Treat")].delay.mean == 0  # no gap in the log: no delay written


def test_written_toml_has_provenance_and_runs(known: tuple[js.Scenario, DiscoveryReport, Path]) -> None:
    _, report, _ = known
    lines = [ln for ln in report.toml.splitlines() if ln.split(" = ")[0] in ("service", "capacity", "rate_per_day",
                                                                                "probability", "delay", "entry")]
    assert lines and all("  # n=" in ln or "  # first-order routing; " in ln for ln in lines), lines
    assert any("AIC weight" in ln and "95% CI of median" in ln for ln in lines)
    again = js.loads_scenario(report.toml)
    result = js.simulate(again, horizon=3 * 1440, replications=1, seed=5)
    assert result.summary().journeys.completed > 0


def test_report_renders(known: tuple[js.Scenario, DiscoveryReport, Path]) -> None:
    _, report, _ = known
    d = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert d["classes"] == ["A", "B"] and d["n_cases"] == report.n_cases
    keys = {(f["element"], f["key"]) for f in d["findings"]}
    assert ("microsystem Treat", "capacity") in keys and ("handoff Treat -> Ward", "delay") in keys
    text = report.to_text()
    assert "microsystem Treat" in text and "Not discovered yet:" in text
    assert "<table>" in report._repr_html_()
    assert "3 units, 2 classes" in repr(report)


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_thin_data_is_marked_and_empirical(tmp_path: Path) -> None:
    rows = ["case,unit,start,end,kind"]
    for i in range(6):
        day = f"2026-01-0{1 + i % 5}"
        rows += [f"c{i},X,{day}T08:00:00,{day}T08:{10 + i:02d}:00,{'k1' if i % 2 else 'k2'}",
                 f"c{i},Y,{day}T09:00:00,{day}T09:{30 + i:02d}:00,{'k1' if i % 2 else 'k2'}"]
    log = js.read_log(_write(tmp_path / "thin.csv", rows), case="case", activity="unit", start="start", end="end",
                      attributes=["kind"])
    scenario, report = js.discover(log, classes_from="kind")
    assert sorted(c.name for c in scenario.model.classes) == ["k1", "k2"]
    service = next(f for f in report.findings if f.element == "microsystem X" and f.key == "service")
    assert service.thin and service.n == 6 and "empirical" in service.value
    assert "thin data" in report.toml
    delay = next(f for f in report.findings if f.key == "delay")
    assert delay.thin and "mean" in delay.how
    x = next(m for m in scenario.model.microsystems if m.name == "X")
    assert isinstance(x.service, js.Empirical)


def test_completion_only_log_uses_the_gap_to_the_next_event(tmp_path: Path) -> None:
    rows = ["case:concept:name,concept:name,time:timestamp"]
    for i in range(30):
        rows += [f"c{i},Reg,2026-01-01T{i % 24:02d}:00:00", f"c{i},Lab,2026-01-01T{i % 24:02d}:20:00"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", js.JourneySimWarning)
        log = js.read_log(_write(tmp_path / "completions.csv", rows))
    scenario, report = js.discover(log)
    service = next(f for f in report.findings if f.element == "microsystem Reg" and f.key == "service")
    assert "gap to the next event" in service.how and service.value == "dist=fixed, value=20.0"
    assert [c.name for c in scenario.model.classes] == ["patient"]
    lab = next(m for m in scenario.model.microsystems if m.name == "Lab")
    assert lab.service.mean == 0  # a case's last event: the patient leaves


def test_unknown_class_column_is_a_clear_error(known: tuple[js.Scenario, DiscoveryReport, Path]) -> None:
    _, _, path = known
    with pytest.raises(js.ValidationError, match="classes_from: no column 'ward_type'"):
        js.discover(_read(path), classes_from="ward_type")


def test_cli_discover(known: tuple[js.Scenario, DiscoveryReport, Path], tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    _, report, path = known
    out = tmp_path / "found.toml"
    assert main(["discover", str(path), "-o", str(out), "--json", str(tmp_path / "r.json")]) == 0
    assert out.read_text(encoding="utf-8") == report.toml
    assert json.loads((tmp_path / "r.json").read_text())["units"] == list(report.units)
    assert "Scenario written to" in capsys.readouterr().out
    assert main(["validate", str(out)]) == 0
    bad = tmp_path / "bad.toml"
    assert main(["discover", str(path), "-o", str(bad), "--classes-from", "nope"]) == 2
    assert not bad.exists()
    assert "no column 'nope'" in capsys.readouterr().err


def test_writer_round_trips_through_the_reader() -> None:
    text = dumps_scenario([
        Table("scenario", {"name": 'odd "name"\\', "horizon_days": 2}),
        Table("classes", {"name": "walk in", "entry": Commented("Unit 1", "n=3"), "rate_per_day": 12.5},
              array=True),
        Table("microsystems", {"name": "Unit 1", "capacity": Commented("unlimited", "n=3 # odd"),
                               "service": Commented({"dist": "empirical", "values": [1.0, 2.5, 4]}, "thin data")},
              array=True),
    ], header="line one\nline two")
    s = js.loads_scenario(text)
    assert s.name == 'odd "name"\\'
    assert s.model.classes[0].name == "walk in" and math.isclose(s.model.classes[0].rate * 1440, 12.5)
    assert s.model.microsystems[0].capacity is None


def test_flagship_export_discovers_a_model_that_runs(tmp_path: Path) -> None:
    flagship = js.load_scenario(ROOT / "scenarios" / "ami.toml")
    path = js.write_event_log(js.simulate(flagship, replications=1), tmp_path / "ami.csv")
    scenario, report = js.discover(_read(path))
    again = js.loads_scenario(report.toml)  # the written file validates
    assert {m.name for m in again.model.microsystems} >= {"ED", "CathLab", "CCU", "Telemetry"}
    assert sorted(report.classes) == ["NSTEMI", "OtherCardiac", "STEMI"]
    ccu = next(m for m in scenario.model.microsystems if m.name == "CCU")
    assert ccu.capacity is not None and abs(ccu.capacity - 8) <= 1  # 8 shared beds, often full
    result = js.simulate(scenario, horizon=60 * 1440, replications=1, seed=1)
    assert result.summary().journeys.completed > 0
    assert np.isfinite(report.span_days)


def test_a_constant_rate_over_a_window_of_uneven_weekdays_gets_no_weekday_profile(tmp_path):
    """60 days hold some weekdays 9 times and others 8: a constant rate must not look like a weekday effect."""
    model = js.Model([js.Microsystem("Clinic", capacity="unlimited", service=js.Exponential(5.0))],
                     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_day(240))])
    result = js.simulate(model, horizon=60 * 1440.0, replications=1, seed=3)
    path = js.write_event_log(result, tmp_path / "log.csv")
    scenario, _ = js.discover(js.read_log(path))
    assert scenario.model.classes[0].profile is None


def test_report_html_is_grouped_and_folds_long_explanations() -> None:
    """Jupyter's view: a table per kind of element, every finding in it once, long 'how' texts folded, and
    more than 12 handoffs folded under their count (the sepsis log's 109 made a page 12,000 px tall)."""
    from html.parser import HTMLParser

    from journeysim.data.report import Finding

    long_how = "n=500, gamma (AIC weight 0.9); gap to the next event (completion times only; a long explanation)"
    findings = [Finding("class walk-in", "rate_per_day", "12.0", 500, "n=500 cases over 42 days"),
                Finding("microsystem Desk", "service", "dist=gamma", 500, long_how),
                *(Finding(f"handoff Desk -> Room{i}", "probability", "{'walk-in': 0.05}", 25, f"25 of 500 to Room{i}")
                  for i in range(20))]
    report = DiscoveryReport(source="clinic.csv", n_cases=500, n_instances=1500, span_days=42.0,
                             units=("Desk",), classes=("walk-in",), findings=tuple(findings), toml="")
    page = report._repr_html_()

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows = 0

        def handle_starttag(self, tag: str, attrs: object) -> None:
            self.rows += tag == "tr"

    cells = Cells()
    cells.feed(page)
    assert cells.rows == len(findings) + 3  # a header row per table: classes, microsystems, handoffs
    assert "<summary><b>Handoffs</b> (20)</summary>" in page
    assert "<details><summary>n=500, gamma</summary>" in page and long_how.replace("'", "&#x27;") in page
    assert "<summary>n=500 cases" not in page  # a short text stays as it is
