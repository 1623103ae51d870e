"""Discovery's later parts against known truth: completion-only gaps, defects, stated standards,
the hour x weekday profile, the offered-load check and the command-line options."""

from __future__ import annotations

import json
import math
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import journeysim as js
from journeysim.cli import main
from journeysim.data.report import wilson
from journeysim.data.standards import parse_standard, parse_standards

ORIGIN = datetime(2026, 1, 5)  # a Monday


def _stamp(minutes: float) -> str:
    return (ORIGIN + timedelta(minutes=float(minutes))).isoformat(timespec="seconds")


def _write(path: Path, events: list[tuple[str, str, float, dict[str, str]]], extra: tuple[str, ...] = ()) -> Path:
    """A completion-only CSV with pm4py's column names (and ``extra`` attribute columns)."""
    lines = [",".join(("case:concept:name", "concept:name", "time:timestamp", *extra))]
    lines += [",".join((c, a, _stamp(t), *(attrs.get(k, "") for k in extra))) for c, a, t, attrs in events]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read(path: Path, **kw: object) -> js.EventLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", js.JourneySimWarning)
        return js.read_log(path, **kw)  # type: ignore[arg-type]


def _within(k: int, n: int, p: float, z: float = 3.0) -> bool:
    return abs(k / n - p) <= z * math.sqrt(p * (1 - p) / n)


# ---- completion-only logs: the gap to the next event ----

def _gap_log(tmp_path: Path, n: int = 600, seed: int = 2) -> Path:
    """Reg -> Lab (lognormal gap, median 30, log_sd 0.5) -> Ward (exponential 60, zero in 30% of cases)."""
    rng = np.random.default_rng(seed)
    events: list[tuple[str, str, float, dict[str, str]]] = []
    for i in range(n):
        t0 = i * 97.0
        t1 = t0 + rng.lognormal(math.log(30.0), 0.5)
        t2 = t1 + (0.0 if rng.random() < 0.3 else rng.exponential(60.0))
        events += [(f"c{i}", "Reg", t0, {}), (f"c{i}", "Lab", t1, {}), (f"c{i}", "Ward", t2, {})]
    return _write(tmp_path / "gaps.csv", events)


def test_completion_only_gaps_are_recovered(tmp_path: Path) -> None:
    scenario, report = js.discover(_read(_gap_log(tmp_path)))
    micro = {m.name: m for m in scenario.model.microsystems}
    reg = micro["Reg"].service
    assert isinstance(reg, js.LogNormal) and abs(reg.median / 30.0 - 1) <= 0.10, reg
    lab = micro["Lab"].service
    assert isinstance(lab, js.Mixture), lab  # 30% zero gaps: a fixed 0 and a fitted family
    weights = np.asarray(lab.weights, dtype=float)
    zero_share = weights[0] / weights.sum()
    assert _within(round(zero_share * 600), 600, 0.3), zero_share
    positive = lab.components[1]
    assert abs(positive.mean / 60.0 - 1) <= 0.15, positive
    ward = micro["Ward"].service
    assert isinstance(ward, js.Fixed) and ward.mean == 0  # the case's last event: the patient leaves
    how = next(f.how for f in report.findings if f.element == "microsystem Lab" and f.key == "service")
    assert "gap to the next event" in how and "zero" in how
    assert not any(f.key == "delay" for f in report.findings)  # handoff delays are 0
    assert any("completion times only" in n for n in report.notes)


def test_completion_only_model_time_in_system_matches_the_log(tmp_path: Path) -> None:
    log = _read(_gap_log(tmp_path))
    scenario, _ = js.discover(log)
    c, t = log.case, log.end
    first, last = np.r_[True, c[1:] != c[:-1]], np.r_[c[1:] != c[:-1], True]
    real = float(np.mean(t[last] - t[first]))  # 30 e^(0.125) + 0.7 x 60, about 76 minutes
    result = js.simulate(scenario, replications=1, seed=4)
    sim = result.summary().journeys.time_in_system.estimate.mean
    assert abs(sim / real - 1) <= 0.12, (sim, real)


# ---- defects ----

def _defect_log(tmp_path: Path, n: int = 3000, seed: int = 5) -> Path:
    """In -> Out; Out's visits flagged late with p = 0.1; the case flag with p = 0.2; Return after Out in 25%."""
    rng = np.random.default_rng(seed)
    events: list[tuple[str, str, float, dict[str, str]]] = []
    for i in range(n):
        t0 = i * 30.0
        case_flag = "yes" if rng.random() < 0.2 else "no"
        events.append((f"c{i}", "In", t0, {"case:frail": case_flag, "late": ""}))
        events.append((f"c{i}", "Out", t0 + 10, {"case:frail": case_flag,
                                                 "late": "true" if rng.random() < 0.1 else "false"}))
        if rng.random() < 0.25:
            events.append((f"c{i}", "Return", t0 + 20, {"case:frail": case_flag, "late": ""}))
    return _write(tmp_path / "defects.csv", events, extra=("case:frail", "late"))


def test_defect_rates_from_columns_and_an_activity(tmp_path: Path) -> None:
    log = _read(_defect_log(tmp_path), attributes=["late", "case:frail"])
    scenario, report = js.discover(log, defects=["late", "case:frail"], defect_activities=["Return"])
    seen = {(d.name, d.element): d for d in report.defects}
    late = seen[("late", "Out")]
    assert late.n == 3000 and late.per == "visit"
    lo, hi = late.ci95
    assert lo <= 0.1 <= hi and ("late", "In") not in seen  # no value recorded at In
    frail = seen[("frail", "In")]
    assert frail.per == "case" and frail.n == 3000 and frail.ci95[0] <= 0.2 <= frail.ci95[1]
    ret = seen[("return", "Return")]
    assert ret.per == "case" and _within(ret.k, ret.n, 0.25)
    micro = {m.name: m for m in js.loads_scenario(report.toml).model.microsystems}  # the file validates
    (ret_defect,) = micro["Return"].defects
    assert ret_defect.name == "return" and ret_defect.probability.get("patient") == 1.0
    (late_defect,) = micro["Out"].defects
    assert math.isclose(late_defect.probability.get("patient"), late.rate, abs_tol=1e-6)
    # simulated: the defect rates of the visits match the observed within sampling error
    result = js.simulate(scenario, replications=1, horizon=60 * 1440, seed=9)
    q = result.summary().quality
    out = q.microsystems["Out"]
    assert out.quality is not None and _within(round((1 - out.quality) * out.visits), out.visits, late.rate, z=4)
    n_journeys = result.summary().journeys.completed
    simulated_returns = q.microsystems["Return"].visits
    assert _within(simulated_returns, n_journeys, ret.rate, z=4)  # every Return visit is a defect
    text = report.to_text()
    assert "defect late at Out" in text and "Observed in the log" in text
    d = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert {x["name"] for x in d["defects"]} == {"late", "frail", "return"}
    assert "Observed in the log" in report._repr_html_()


def test_a_column_that_is_not_boolean_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.csv", [("c1", "A", 0, {"x": "maybe"}), ("c1", "B", 5, {"x": "true"})],
                  extra=("x",))
    with pytest.raises(js.ValidationError, match="not a true/false column"):
        js.discover(_read(path, attributes=["x"]), defects=["x"])
    with pytest.raises(js.ValidationError) as err:
        js.discover(_read(path, attributes=["x"]), defects=["y"], defect_activities=["Nowhere"],
                    standards=["s: A -> Z <= 1 h", "broken"])
    text = str(err.value)  # every problem at once
    assert "no column 'y'" in text and "no activity 'Nowhere'" in text and "no activity 'Z'" in text
    assert "cannot read 'broken'" in text


# ---- stated standards ----

def _standard_log(tmp_path: Path, n: int = 2000, seed: int = 7) -> Path:
    """Reg, then Abx after an exponential 45 minutes in 80% of cases (truth: 0.8 (1 - e^(-60/45)) met)."""
    rng = np.random.default_rng(seed)
    events: list[tuple[str, str, float, dict[str, str]]] = []
    for i in range(n):
        t0 = i * 60.0
        events.append((f"c{i}", "Reg", t0, {}))
        if rng.random() < 0.8:
            events.append((f"c{i}", "Abx", t0 + rng.exponential(45.0), {}))
        else:
            events.append((f"c{i}", "Home", t0 + 30.0, {}))
    return _write(tmp_path / "standard.csv", events)


TRUTH = 0.8 * (1 - math.exp(-60 / 45))


def test_a_stated_standard_is_observed_written_and_simulated(tmp_path: Path) -> None:
    scenario, report = js.discover(_read(_standard_log(tmp_path)), standards=["abx_1h: Reg -> Abx <= 1 h"])
    (obs,) = report.standards
    assert obs.n == 2000 and _within(obs.met, obs.n, TRUTH) and obs.ci95[0] <= TRUTH <= obs.ci95[1]
    assert _within(obs.never, obs.n, 0.2)
    (std,) = scenario.model.standards
    assert std.name == "abx_1h" and std.within == 60.0 and not std.reached_only
    assert 'from = "arrive:Reg"' in report.toml and 'to = "arrive:Abx"' in report.toml
    assert "within = 1" in report.toml and 'unit = "hours"' in report.toml
    result = js.simulate(scenario, replications=1, seed=3)
    cell = result.summary().standards["abx_1h"].overall
    assert abs(cell.met.mean - TRUTH) <= 0.05, (cell.met.mean, TRUTH)
    d = report.to_dict()["standards"][0]
    assert d["n"] == 2000 and d["share_met"] == pytest.approx(obs.met / 2000, abs=1e-6)


@pytest.mark.parametrize("spec, message", [
    ("abx: Reg -> Abx < 60 min", "cannot read"),
    ("abx: Reg -> Abx <= 60 weeks", "unknown unit 'weeks'"),
    ("a b: Reg -> Abx <= 60 min", "may not hold spaces"),
    ("Reg -> Abx <= 60 min", "cannot read"),
])
def test_bad_standard_specs(spec: str, message: str) -> None:
    with pytest.raises(js.ValidationError, match=message):
        parse_standards([spec])


def test_standard_units_and_unknown_activity() -> None:
    s = parse_standard("x: A -> B <= 2 d")
    assert not isinstance(s, js.errors.Problem) and s.minutes == 2880
    with pytest.raises(js.ValidationError, match="did you mean 'Abx'"):
        parse_standards(["x: Reg -> Abxx <= 1 h"], ["Reg", "Abx"])


# ---- the arrival profile ----

def _arrivals(tmp_path: Path, rates: np.ndarray, weeks: int = 10, seed: int = 11) -> Path:
    """One-event cases arriving by a Poisson process with rates[d, h] an hour (Monday 0)."""
    rng = np.random.default_rng(seed)
    events: list[tuple[str, str, float, dict[str, str]]] = []
    for w in range(weeks):
        for d in range(7):
            for h in range(24):
                for u in np.sort(rng.random(rng.poisson(rates[d, h]))):
                    t = ((w * 7 + d) * 24 + h + u) * 60.0
                    events.append((f"c{len(events)}", "Clinic", t, {}))
    return _write(tmp_path / "arrivals.csv", events)


def test_full_hour_by_weekday_table_when_the_day_changes_shape(tmp_path: Path) -> None:
    rates = np.full((7, 24), 4.0)
    rates[:5, 8:18] = 12.0   # weekdays: a daytime peak
    rates[5:, 18:24] = 12.0  # weekends: an evening peak
    scenario, report = js.discover(_read(_arrivals(tmp_path, rates)))
    profile = scenario.model.classes[0].profile
    assert profile is not None
    found = next(f for f in report.findings if f.key == "profile")
    assert found.value == "hour x weekday" and "independence" in found.how
    assert "period_days = 7" in report.toml
    written = js.loads_scenario(report.toml).model.classes[0].profile
    assert written is not None
    rel = np.asarray(written.hours, dtype=float).reshape(7, 24)
    want = rates / rates.mean()
    assert np.abs(rel[:, :].mean(axis=1) - want.mean(axis=1)).max() <= 0.08
    assert abs(rel[0, 8:18].mean() - want[0, 8:18].mean()) <= 0.15
    assert abs(rel[6, 18:24].mean() - want[6, 18:24].mean()) <= 0.2


def test_separate_factors_when_hour_and_weekday_do_not_interact(tmp_path: Path) -> None:
    hours = np.where((np.arange(24) >= 8) & (np.arange(24) < 18), 3.0, 1.0)
    days = np.array([1.5, 1.5, 1.5, 1.5, 1.5, 0.5, 0.5])
    scenario, report = js.discover(_read(_arrivals(tmp_path, 4.0 * days[:, None] * hours[None, :] / 1.7)))
    found = next(f for f in report.findings if f.key == "profile")
    assert found.value == "hours and weekdays" and "interaction not significant" in found.how


# ---- the offered load ----

def test_a_capacity_below_the_offered_load_is_flagged(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    lines = ["case,unit,start,end"]
    t = 0.0
    for i in range(2000):  # 1 an hour on average, 5 hours each: 5 in service on average
        t += rng.exponential(60.0)
        lines.append(f"c{i},Ward,{_stamp(t)},{_stamp(t + rng.exponential(300.0))}")
    path = tmp_path / "load.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log = _read(path, case="case", activity="unit", start="start", end="end")
    _, report = js.discover(log, capacity_quantile=0.3)
    load = next(f for f in report.findings if f.key == "offered load")
    assert 4.0 <= float(load.value) <= 6.0 and "UNSTABLE" in load.how
    assert report.flags and "Ward: capacity" in report.flags[0] and "FLAGS:" in report.to_text()
    assert "FLAG: Ward" in report.toml
    _, fine = js.discover(log)  # the 99th percentile is above the load
    assert not fine.flags


def test_wilson_interval_covers_known_values() -> None:
    lo, hi = wilson(50, 100)
    assert lo < 0.5 < hi and math.isclose(lo + hi, 1.0)


# ---- the command line ----

def test_cli_defects_and_standards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _defect_log(tmp_path, n=300)
    out = tmp_path / "found.toml"
    assert main(["discover", str(path), "-o", str(out), "--defect", "late", "--defect-activity", "Return",
                 "--standard", "quick: In -> Out <= 15 min", "--json", str(tmp_path / "r.json")]) == 0
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["standards"][0]["name"] == "quick" and d["standards"][0]["share_met"] == 1.0
    assert {x["name"] for x in d["defects"]} == {"late", "return"}
    assert main(["validate", str(out)]) == 0
    capsys.readouterr()
    for extra, message in [(["--standard", "quick: In -> Out < 15"], "cannot read"),
                           (["--standard", "quick: In -> Nowhere <= 15 min"], "no activity 'Nowhere'"),
                           (["--defect-activity", "Nowhere"], "no activity 'Nowhere'"),
                           (["--defect", "case:concept:name"], "not a true/false column"),
                           (["--defect", "missing"], "missing")]:
        bad = tmp_path / "bad.toml"
        assert main(["discover", str(path), "-o", str(bad), *extra]) == 2, extra
        assert not bad.exists()
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (extra, err)


# ---- the sepsis log (completion times only) ----

DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not SHARED.is_dir():  # a worktree of the project
    SHARED = Path("/work/shared/data")
SEPSIS = dict(case="Case ID", activity="Activity", timestamp="Complete Timestamp", time_format="%Y/%m/%d %H:%M:%S.%f")
SEPSIS_STANDARD = "antibiotics_1h: ER Registration -> IV Antibiotics <= 60 min"


def test_sepsis_subset_discovers_with_a_standard_and_return_er(tmp_path: Path) -> None:
    log = _read(DATA / "sepsis_60.csv", **SEPSIS, attributes=["InfectionSuspected"])
    scenario, report = js.discover(log, standards=[SEPSIS_STANDARD], defect_activities=["Return ER"],
                                   defects=["InfectionSuspected"])
    js.loads_scenario(report.toml)
    (obs,) = report.standards
    assert obs.n == 60 and 0 < obs.met < obs.n
    assert any(d.name == "return_er" and d.element == "Return ER" for d in report.defects)
    assert js.simulate(scenario, replications=1, horizon=30 * 1440, seed=1).summary().journeys.completed > 0


@pytest.mark.skipif(not (SHARED / "sepsis.csv").is_file(), reason="../shared/data is not here")
def test_sepsis_time_in_system_is_of_the_order_of_the_log() -> None:
    """The services add up to the case durations: the simulated mean stay is within 25% of the log's."""
    log = _read(SHARED / "sepsis.csv", **SEPSIS)
    scenario, report = js.discover(log, standards=[SEPSIS_STANDARD], defect_activities=["Return ER"])
    c, t = log.case, log.end
    first, last = np.r_[True, c[1:] != c[:-1]], np.r_[c[1:] != c[:-1], True]
    real = float(np.mean(t[last] - t[first]))  # about 28.5 days
    sim = js.simulate(scenario, replications=2, seed=1).summary().journeys.time_in_system.estimate.mean
    assert abs(sim / real - 1) <= 0.25, (sim / 1440, real / 1440)
    ret = next(d for d in report.defects if d.name == "return_er")
    assert (ret.k, ret.n) == (294, 1050)
