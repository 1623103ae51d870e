"""The sepsis log end to end (issue 17, item 6): discover from the first 80% of cases, measure fidelity on the rest.

``docs/sepsis/reproduce.py`` (``make sepsis``) is the one command behind the figures of
docs/discovery.md ("The sepsis log"). On the real log (``../shared/data/sepsis.csv``; skipped
when it is not there) these tests run it and check that it writes exactly the committed scenario
and fidelity figures, and check the log's own numbers independently of discovery. On the subset
``tests/data/sepsis_60.csv`` (always) they run the same commands and check the pipeline's shape.
"""

from __future__ import annotations

import importlib.util
import json
import math
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import journeysim as js
from journeysim.data.logsplit import case_starts, held_out, training_part

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED.is_dir():  # a worktree of the project
    SHARED = Path("/work/shared/data")
needs_sepsis = pytest.mark.skipif(not (SHARED / "sepsis.csv").is_file(),
                                  reason="the real sepsis log (../shared/data/sepsis.csv) is not here")


def _reproduce_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sepsis_reproduce", ROOT / "docs" / "sepsis" / "reproduce.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


R = _reproduce_module()


def _read(path: Path) -> js.EventLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", js.JourneySimWarning)
        return js.read_log(path, **R.READ)


def _run(log: Path, out: Path, seeds: tuple[int, ...]) -> list[dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return R.reproduce(log, out, seeds)  # type: ignore[no-any-return]


def _observed(log: js.EventLog) -> tuple[int, int, int, int]:
    """Counted here from the log itself: cases whose first IV Antibiotics is within 60 minutes after their first
    ER Registration, cases whose first IV Antibiotics came before it, cases with a Return ER, and cases."""
    labels = list(log.activity_labels)
    reg, abx, ret = (labels.index(a) for a in ("ER Registration", "IV Antibiotics", "Return ER"))
    met = before = returned = 0
    for c in range(log.n_cases):
        rows = log.case == c
        act, t = log.activity[rows], log.end[rows]
        returned += bool((act == ret).any())
        if (act == reg).any() and (act == abx).any():
            gap = t[act == abx].min() - t[act == reg].min()
            met += bool(0 <= gap <= 60)
            before += bool(gap < 0)
    return met, before, returned, log.n_cases


def test_subset_runs_the_whole_pipeline(tmp_path: Path) -> None:
    """On the 60-case subset the one command writes a scenario that validates and runs, and a fidelity report
    of the 12 held-out cases with every measure finite."""
    reports = _run(DATA / "sepsis_60.csv", tmp_path, (0, 1))
    scenario = js.load_scenario(tmp_path / "scenarios" / "sepsis_discovered.toml")
    text = (tmp_path / "scenarios" / "sepsis_discovered.toml").read_text()
    assert text.startswith(R.CITATION) and "doi:10.4121/uuid:915d2bfb-7e84-49ad-a286-dc35f063a460" in text
    assert "from sepsis_60.csv (the 48 cases before the last 20%): 48 cases" in text
    assert js.simulate(scenario.with_settings(replications=1, horizon=30 * 1440.0), seed=1).summary().journeys.completed
    first = reports[0]
    assert first["cases"]["training"] == 48 and first["cases"]["test"] == 12
    assert {"cfld", "ngram", "relative", "cycle_time", "routing", "stay"} <= {m["key"] for m in first["measures"]}
    assert all(math.isfinite(m["model"]) and math.isfinite(m["baseline"]) for m in first["measures"])
    assert [r["name"] for r in first["rates"]] == ["antibiotics_1h", "Return ER"]
    assert (tmp_path / "docs" / "sepsis" / "fidelity.json").is_file()
    assert reports[1]["seed"] == 1 and not (tmp_path / "docs" / "sepsis" / "fidelity_seed1.json").exists()


def test_training_part_is_what_fidelity_holds_out() -> None:
    """``training_part`` keeps exactly the cases before fidelity's test part: every training case starts no later
    than the first held-out one, and fidelity counts the same cases."""
    log = _read(DATA / "sepsis_60.csv")
    test = held_out(log, 0.2)
    train = training_part(log, 0.2)
    starts = case_starts(log)
    assert len(test) == 12 and train.n_cases == 48
    assert starts[np.setdiff1d(np.arange(log.n_cases), test)].max() <= starts[test].min()
    assert set(train.case_labels) == set(log.case_labels) - set(log.case_labels[test])
    scenario, _ = js.discover(train)
    report = js.fidelity(log, scenario)
    assert report.cases["training"] == train.n_cases and report.cases["test"] == len(test)


@pytest.mark.parametrize("holdout", [0.0, 1.0, -0.1, 1.5])
def test_discover_holdout_must_be_a_share(tmp_path: Path, holdout: float, capsys: pytest.CaptureFixture[str]) -> None:
    """``journeysim discover --holdout`` outside (0, 1) is an error with status 2 and no file written."""
    from journeysim.cli import main

    out = tmp_path / "x.toml"
    assert main(["discover", str(DATA / "sepsis_60.csv"), "-o", str(out), "--holdout", str(holdout),
                 *R.COLUMNS]) == 2
    assert not out.exists() and "--holdout" in capsys.readouterr().err


@needs_sepsis
def test_sepsis_figures_are_reproduced(tmp_path: Path) -> None:
    """The one command reproduces the committed scenario file, the seed-0 fidelity report and the table of
    docs/discovery.md (seeded: the same log gives the same numbers)."""
    reports = _run(SHARED / "sepsis.csv", tmp_path, tuple(R.SEEDS))
    written = (tmp_path / "scenarios" / "sepsis_discovered.toml").read_text()
    assert written == (ROOT / "scenarios" / "sepsis_discovered.toml").read_text()
    committed = json.loads((ROOT / "docs" / "sepsis" / "fidelity.json").read_text())
    got = reports[0]
    assert got["cases"] == committed["cases"] == {"training": 840, "test": 210, "a": 105, "b": 105,
                                                  "simulated": got["cases"]["simulated"], "s": 105, "s2": 105}
    for mine, theirs in zip(got["measures"], committed["measures"], strict=True):
        assert mine["key"] == theirs["key"]
        assert mine["model"] == pytest.approx(theirs["model"], rel=1e-6), mine["key"]
        assert mine["baseline"] == pytest.approx(theirs["baseline"], rel=1e-6), mine["key"]
    assert got["rates"] == committed["rates"]
    table = R.table(reports)
    assert table == (ROOT / "docs" / "sepsis" / "fidelity.md").read_text()
    docs = (ROOT / "docs" / "discovery.md").read_text()
    missing = [line for line in table.splitlines()[2:] if line not in docs]
    assert missing == [], "docs/discovery.md's sepsis table is out of date (python docs/sepsis/reproduce.py)"


@needs_sepsis
def test_sepsis_log_facts() -> None:
    """The log's own numbers, counted here: 1,050 cases; 282 got IV Antibiotics within the hour after ER
    Registration and 2 before it (discovery counts both as met: the first B within 60 minutes of the first A,
    284 = 27.0%); 294 returned (28.0%); and the committed model was discovered from the first 840 cases."""
    log = _read(SHARED / "sepsis.csv")
    assert _observed(log) == (282, 2, 294, 1050)
    _, report = js.discover(log, standards=[R.STANDARD], defect_activities=[R.DEFECT])
    (standard,) = report.standards
    assert (standard.met, standard.n, standard.never, standard.target_first) == (284, 1050, 227, 2)
    (defect,) = [d for d in report.defects if d.element == "Return ER"]
    assert (defect.k, defect.n) == (294, 1050)
    train = training_part(log, R.HOLDOUT)
    met, before, returned, n = _observed(train)
    text = (ROOT / "scenarios" / "sepsis_discovered.toml").read_text()
    assert n == 840 and f"observed: {met + before} of {n} cases" in text
    assert f"{returned} of {n} cases reached it" in text
