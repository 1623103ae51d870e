"""Discovery against known truth at the edges: replications laid end to end, the arrival window, withdrawn
instances, names journeysim cannot use, local time, envelopes, and the command line's bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import journeysim as js
from journeysim.cli import main
from journeysim.data.capacity import offered_load, pct
from journeysim.errors import JourneySimError, ValidationError

ROOT = Path(__file__).resolve().parents[1]


def _capacities(scenario: js.Scenario) -> dict[str, int | None]:
    return {m.name: m.capacity for m in scenario.model.microsystems}


def _rate(scenario: js.Scenario, name: str) -> float:
    return next(c.rate for c in scenario.model.classes if c.name == name) * 1440


def _export(tmp_path: Path, name: str, replications: int, seed: int = 3) -> js.EventLog:
    result = js.simulate(js.load_scenario(ROOT / "scenarios" / f"{name}.toml"), replications=replications, seed=seed)
    return js.read_log(js.write_event_log(result, tmp_path / f"{name}.csv"))


def test_replications_of_a_run_that_stops_recover_the_capacities(tmp_path: Path) -> None:
    """urgent_care_day stops at midnight with patients still in service: each replication's open instances are
    censored at its own end (not the last replication's), so the capacities come out as from one replication."""
    truth = js.load_scenario(ROOT / "scenarios" / "urgent_care_day.toml")
    found, report = js.discover(_export(tmp_path, "urgent_care_day", 3))
    assert _capacities(found) == _capacities(truth)
    assert "horizon_days = 1  #" in report.toml and "replications = 3  #" in report.toml


def test_concurrency_is_not_added_across_replications_and_the_load_uses_the_arrival_window(tmp_path: Path) -> None:
    """readmission_loop with its Ward cut from 80 beds to 24 is overloaded (offered load 2.7): its drain after each
    replication is long. The counts of replications do not add up (24, not 3 x 24), and the offered load over the
    arrival window flags it."""
    text = (ROOT / "scenarios" / "readmission_loop.toml").read_text()
    assert "capacity = 80  #" in text
    variant = tmp_path / "overloaded.toml"
    variant.write_text(text.replace("capacity = 80  #", "capacity = 24  #", 1))
    truth = js.load_scenario(variant)
    result = js.simulate(truth, replications=3, seed=3)
    found, report = js.discover(js.read_log(js.write_event_log(result, tmp_path / "overloaded.csv")))
    got, want = _capacities(found), _capacities(truth)
    assert got["Ward"] == want["Ward"] and got["Lab"] == want["Lab"] and got["ED"] == want["ED"]
    assert any(f.startswith("Ward:") and "UNSTABLE" in f for f in report.flags)


def test_a_one_day_log_has_a_rate_per_whole_day(tmp_path: Path) -> None:
    """One replication of urgent_care_day (arrivals 06:00-24:00): the rate is the cases over the one day, not over
    the 18 hours from the first case to the last (which would be a third too high)."""
    log = _export(tmp_path, "urgent_care_day", 1, seed=11)
    n = log.n_cases
    found, report = js.discover(log)
    assert _rate(found, "patients") == pytest.approx(n, rel=1e-5)
    assert "horizon_days = 1  #" in report.toml
    assert not report.flags


def _csv(path: Path, rows: list[str], header: str = "case:concept:name,concept:name,time:timestamp,"
                                                  "lifecycle:transition,case:class") -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_cases_starting_at_one_instant_get_a_flag_not_an_absurd_rate(tmp_path: Path) -> None:
    rows = []
    for i in range(30):
        rows += [f"c{i},A,2024-01-01T08:00:00,start,x", f"c{i},A,2024-01-01T08:10:00,complete,x"]
    found, report = js.discover(js.read_log(_csv(tmp_path / "instant.csv", rows)))
    assert _rate(found, "x") == pytest.approx(30.0)
    assert any("one instant" in f for f in report.flags)
    assert next(f for f in report.findings if f.key == "rate_per_day").thin


def test_one_case_is_one_a_day_and_not_unstable(tmp_path: Path) -> None:
    path = _csv(tmp_path / "one.csv", ["c0,A,2024-01-01T08:00:00,start,x", "c0,A,2024-01-01T08:10:00,complete,x"])
    found, report = js.discover(js.read_log(path))
    assert _rate(found, "x") == pytest.approx(1.0)
    assert not any("UNSTABLE" in f for f in report.flags)


def test_a_log_of_withdrawn_instances_only_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = []
    for i in range(5):
        rows += [f"c{i},A,2024-01-01T00:0{i}:00,schedule,x", f"c{i},A,2024-01-01T00:0{i + 1}:00,withdraw,x"]
    path = _csv(tmp_path / "withdrawn.csv", rows)
    with pytest.raises(JourneySimError, match="withdrawn"):
        js.discover(js.read_log(path))
    assert main(["discover", str(path), "-o", str(tmp_path / "out.toml")]) == 2
    err = capsys.readouterr().err
    assert "withdrawn" in err and "Traceback" not in err
    assert not (tmp_path / "out.toml").exists()


def test_cases_turned_away_count_as_arrivals(tmp_path: Path) -> None:
    """ed_crowding turns patients away (waiting-room limit, left unseen): they arrived, so the rates count them."""
    truth = js.load_scenario(ROOT / "scenarios" / "ed_crowding.toml")
    found, report = js.discover(_export(tmp_path, "ed_crowding", 1, seed=5))
    for c in truth.model.classes:
        assert _rate(found, c.name) == pytest.approx(c.rate * 1440, rel=0.05)
    assert any("turned away" in n and "rejected" in n for n in report.notes)
    assert any(f.key == "withdrawn" for f in report.findings)


def test_names_journeysim_cannot_use_are_renamed_distinctly(tmp_path: Path) -> None:
    rows = []
    acts = ["Lab: Blood", "A -> B", "A to B", "X => Y"]
    for i in range(25):
        cls = ["default", "system", "adult"][i % 3]
        for j, a in enumerate(acts):
            rows += [f"c{i},{a},2024-01-01T{i % 20:02d}:{10 * j:02d}:00,start,{cls}",
                     f"c{i},{a},2024-01-01T{i % 20:02d}:{10 * j + 5:02d}:00,complete,{cls}"]
    found, report = js.discover(js.read_log(_csv(tmp_path / "names.csv", rows)))
    names = [m.name for m in found.model.microsystems]
    assert sorted(names) == sorted(["Lab - Blood", "A to B_2", "A to B", "X to Y"])
    assert sorted(c.name for c in found.model.classes) == ["adult", "default_class", "system_class"]
    assert "renamed from 'Lab: Blood'" in report.toml and "renamed from 'system'" in report.toml
    assert sum(f.key == "name" for f in report.findings) == 5


def test_a_real_class_called_unclassified_stays_apart_from_the_fallback(tmp_path: Path) -> None:
    rows = []
    for i in range(4):
        cls = "unclassified" if i % 2 else ""
        rows += [f"c{i},A,2024-01-01T0{i}:00:00,start,{cls}", f"c{i},A,2024-01-01T0{i}:05:00,complete,{cls}"]
    _, report = js.discover(js.read_log(_csv(tmp_path / "u.csv", rows)))
    assert len(set(report.classes)) == 2 and "unclassified" in report.classes


def test_the_hour_profile_is_in_the_logs_local_time(tmp_path: Path) -> None:
    """All 300 cases start between 08:00 and 09:00 at +02:00 (06:00-07:00 UTC): the profile's hour is 8."""
    rng = np.random.default_rng(2)
    rows = []
    for i in range(300):
        day, minute, sec = 1 + i % 20, int(rng.integers(0, 50)), rng.uniform(0, 59)
        rows += [f"c{i},A,2024-01-{day:02d}T08:{minute:02d}:{sec:09.6f}+02:00,start,x",
                 f"c{i},A,2024-01-{day:02d}T08:{minute + 5:02d}:{sec:09.6f}+02:00,complete,x"]
    log = js.read_log(_csv(tmp_path / "tz.csv", rows))
    found, _ = js.discover(log)
    hours = next(c for c in found.model.classes).profile
    assert hours is not None
    _, report = js.discover(log)
    text = report.toml
    profile_line = next(x for x in text.splitlines() if x.startswith("profile"))
    values = [float(v) for v in profile_line.split("[")[1].split("]")[0].split(",")]
    assert int(np.argmax(values)) == 8
    _, utc = js.discover(log, utc_offset=0)
    line = next(x for x in utc.toml.splitlines() if x.startswith("profile"))
    assert int(np.argmax([float(v) for v in line.split("[")[1].split("]")[0].split(",")])) == 6


def _encounter_rows(n: int = 30) -> list[str]:
    rows = []
    for i in range(n):
        h = i % 20
        rows += [f"c{i},Encounter,2024-01-01T{h:02d}:00:00,start,x", f"c{i},ED,2024-01-01T{h:02d}:00:00,start,x",
                 f"c{i},Lab,2024-01-01T{h:02d}:05:00,start,x", f"c{i},Lab,2024-01-01T{h:02d}:10:00,complete,x",
                 f"c{i},ED,2024-01-01T{h:02d}:20:00,complete,x", f"c{i},Ward,2024-01-01T{h:02d}:30:00,start,x",
                 f"c{i},Ward,2024-01-01T{h:02d}:50:00,complete,x", f"c{i},Encounter,2024-01-01T{h:02d}:50:00,complete,x"]
    return rows


def test_an_encounter_around_the_pathway_does_not_make_its_units_support(tmp_path: Path) -> None:
    """An Encounter instance spans ED then Ward: it is an envelope, so ED and Ward stay pathway units; the Lab
    test inside ED (not one after another with anything) is still support."""
    log = js.read_log(_csv(tmp_path / "enc.csv", _encounter_rows()))
    found, report = js.discover(log)
    kinds = {m.name: m.kind for m in found.model.microsystems}
    assert kinds["ED"] != "support" and kinds["Ward"] != "support" and kinds["Lab"] == "support"
    assert any(f.key == "envelope" and f.element == "microsystem Encounter" for f in report.findings)
    none, _ = js.discover(log, support="none")
    assert all(m.kind != "support" for m in none.model.microsystems)
    named, _ = js.discover(log, support=["Ward"])
    assert {m.name for m in named.model.microsystems if m.kind == "support"} == {"Ward"}
    with pytest.raises(ValidationError, match="no activity 'Nope'"):
        js.discover(log, support=["Nope"])


def test_the_command_line_reports_a_bad_standard_with_the_logs_problems(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "bad.csv"
    log.write_text("case,activity,when\nc0,A,2024-01-01T00:00:00\n")
    code = main(["discover", str(log), "-o", str(tmp_path / "o.toml"), "--standard", "nonsense"])
    err = capsys.readouterr().err
    assert code == 2 and "nonsense" in err and "columns" in err


def test_the_command_line_takes_support_and_utc_offset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(tmp_path / "enc.csv", _encounter_rows())
    out = tmp_path / "o.toml"
    assert main(["discover", str(path), "-o", str(out), "--support", "none", "--utc-offset", "+02:00"]) == 0
    assert 'kind = "support"' not in out.read_text()
    assert "UTC+02:00" in capsys.readouterr().out


def test_two_defects_of_one_name_are_an_error(tmp_path: Path) -> None:
    rows = ["c0,A,2024-01-01T00:00:00,start,x,true,false", "c0,A,2024-01-01T00:05:00,complete,x,true,false"]
    path = _csv(tmp_path / "d.csv", rows, header="case:concept:name,concept:name,time:timestamp,"
                                                 "lifecycle:transition,case:class,late,case:late")
    log = js.read_log(path, attributes=["late", "case:late"])
    with pytest.raises(ValidationError, match="both be the defect 'late'"):
        js.discover(log, defects=["late", "case:late"])


def test_an_empty_window_names_the_unit() -> None:
    with pytest.raises(JourneySimError, match="^Ward: the arrival window is empty"):
        offered_load(3, 0.0, {"dist": "fixed", "value": 3}, 2, "Ward")
    assert pct(0.995) == "99.5%"
