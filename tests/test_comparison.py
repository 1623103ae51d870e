"""Scenario comparison with common random numbers, sweeps, and their commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import journeysim as js
from conftest import ci99
from journeysim.analysis.comparison import compare, paired_difference, sweep
from journeysim.analysis.metrics import replication_metrics
from journeysim.cli import main

SCENARIOS = Path(__file__).parent.parent / "scenarios"


def without_standards(scenario: js.Scenario) -> js.Scenario:
    """The scenario with its timeliness standards removed: what the exact graph product describes."""
    m = scenario.model
    return scenario.with_settings(model=js.Model(m.microsystems, m.handoffs, m.requests, m.classes, name=m.name,
                                                 milestones=m.milestones, groups=m.groups))


def test_crn_variance_reduction_on_the_ami_redesign():
    """On the AMI handoff redesign, paired CRN differences have less variance than independent runs.

    The exact product leaves out timeliness standards, so the check against it runs
    the flagship without them (a missed standard would hide part of the gain)."""
    base = without_standards(js.load_scenario(SCENARIOS / "ami.toml"))
    redesign = without_standards(js.load_scenario(SCENARIOS / "ami_handoff_redesign.toml"))
    c = compare([base, redesign], replications=10, seed=11, records="summary")
    d = c.differences[redesign.name]["quality.system"]
    assert d["variance_reduction"] > 1.0
    assert d["mean"] > 0
    # the exact gain lies in the 99% CI of the paired replication differences
    diffs = replication_metrics(c.results[1])["quality.system"] - replication_metrics(c.results[0])["quality.system"]
    exact_gain = js.exact_quality(redesign.model).system - js.exact_quality(base.model).system
    low, high = ci99(diffs)
    assert low <= exact_gain <= high
    # flow is untouched by a change of defect probabilities: CRN makes the difference exactly zero
    assert c.differences[redesign.name]["CCU.wait_minutes"]["mean"] == 0.0


def test_crn_streams_match_where_scenarios_agree():
    """Replication i of two scenarios that differ only in a defect probability has identical arrivals."""
    base = js.load_scenario(SCENARIOS / "tandem.toml").with_settings(replications=2)
    model = base.model
    changed = js.Model(model.microsystems,
                       (js.Handoff("Triage", "Treatment", defects={"information": 0.5}),) + model.handoffs[1:],
                       classes=model.classes)
    a = js.simulate(base, seed=4)
    b = js.simulate(base.with_settings(model=changed, name="changed"), seed=4)
    np.testing.assert_array_equal(a.journeys()["arrival"], b.journeys()["arrival"])
    np.testing.assert_array_equal(a.visits()["end"], b.visits()["end"])


def test_paired_difference_of_identical_runs_is_zero():
    """Comparing a scenario with a renamed copy of itself gives exactly zero differences."""
    s = js.load_scenario(SCENARIOS / "clinic_mmc.toml").with_settings(horizon=5 * 1440.0, warmup=0.0)
    c = compare([s, s.with_settings(name="copy")], replications=3)
    for metric, d in c.differences["copy"].items():
        assert d["mean"] == 0.0, metric
    table = c.table()
    assert set(table.columns) >= {"scenario", "metric", "difference", "ci95_low", "variance_reduction"}


def test_paired_difference_ci_covers_true_shift():
    """The paired CI of a known shift covers it; independent noise is removed by pairing."""
    rng = np.random.default_rng(0)
    base = rng.normal(10, 3, size=50)
    other = base + 1.0 + rng.normal(0, 0.1, size=50)
    d = paired_difference(base, other)
    assert d["ci95"][0] <= 1.0 <= d["ci95"][1]
    assert d["variance_reduction"] > 100


def test_sweep_grid_is_tidy_and_monotone():
    """A sweep over an information-defect probability returns one row per point and metric, quality falling with it."""
    table = sweep(str(SCENARIOS / "tandem.toml"),
                  ['handoffs["Triage->Treatment"].defects.information=0.0,0.2,0.4'], replications=3, seed=2)
    q = table[table["metric"] == "quality.system"]
    assert len(q) == 3
    assert q["mean"].is_monotonic_decreasing
    assert q.iloc[0]["difference"] == 0.0
    # the exact effect: quality scales with (1 - p), so the paired difference matches it closely
    base_q = q.iloc[0]["mean"]
    assert q.iloc[2]["difference"] == pytest.approx(-0.4 * base_q, abs=0.03)


def test_cli_compare_json_has_differences(tmp_path, capsys):
    """`journeysim compare --json` writes both summaries and a differences section."""
    out = tmp_path / "c.json"
    code = main(["compare", str(SCENARIOS / "tandem.toml"), str(SCENARIOS / "tandem.toml"), "--quiet",
                 "--replications", "2", "--workers", "1", "--json", str(out)])
    assert code == 0  # the same file twice: named apart by file name and position
    names = [s["name"] if isinstance(s, dict) and "name" in s else s for s in json.loads(out.read_text())["scenarios"]]
    assert len(set(map(str, names))) == 2
    code = main(["compare", str(SCENARIOS / "ami.toml"), str(SCENARIOS / "ami_handoff_redesign.toml"),
                 "--quiet", "--replications", "3", "--workers", "1", "--json", str(out)])
    assert code == 0
    d = json.loads(out.read_text())
    assert len(d["scenarios"]) == 2
    diff = d["differences"]["AMI pathway: structured handovers"]["quality.system"]
    assert set(diff) >= {"mean", "ci95", "variance_reduction"}


def test_load_all_names_apart_same_file_twice():
    """Two files with the same scenario name and file name get distinct names (" #2" on the second)."""
    from journeysim.cli import _load_all

    path = str(SCENARIOS / "tandem.toml")
    names = [s.name for s in _load_all([path, path, path])]
    assert len(set(names)) == 3
    assert names[0].endswith("(tandem.toml)")
    assert names[1].endswith("(tandem.toml) #2") and names[2].endswith("(tandem.toml) #3")


def test_cli_sweep_and_bad_set(tmp_path, capsys):
    """`journeysim sweep` writes CSV; a bad --set path is a clear error with status 2."""
    out = tmp_path / "s.csv"
    code = main(["sweep", str(SCENARIOS / "tandem.toml"), "--set", "microsystems.Treatment.capacity=3,4",
                 "--replications", "2", "--workers", "1", "--quiet", "--csv", str(out)])
    assert code == 0
    assert out.read_text().splitlines()[0].startswith("microsystems.Treatment.capacity,metric,mean")
    code = main(["sweep", str(SCENARIOS / "tandem.toml"), "--set", "microsystems.Treatmnt.capacity=3"])
    assert code == 2
    assert "did you mean" in capsys.readouterr().err


def test_cli_run_with_workers_checkpoint_and_precision(tmp_path, capsys):
    """`run` accepts --workers, --checkpoint, --precision and --records summary; the JSON records them."""
    out = tmp_path / "r.json"
    args = ["run", str(SCENARIOS / "tandem.toml"), "--workers", "2", "--quiet", "--checkpoint", str(tmp_path / "ck"),
            "--precision", "0.05", "--replications", "2", "--records", "summary", "--json", str(out)]
    assert main(args) == 0
    first = json.loads(out.read_text())
    p = first["provenance"]["precision"]
    assert p["reached"] and p["half_width"] <= 0.05
    assert first["records"] == "summary" and first["provenance"]["workers"] == 2
    assert main(args) == 0  # resumed from the checkpoint: same numbers
    again = json.loads(out.read_text())
    assert again["quality"] == first["quality"]
    code = main(["run", str(SCENARIOS / "tandem.toml"), "--quiet", "--seed", "99", "--checkpoint", str(tmp_path / "ck"),
                 "--records", "summary"])
    assert code == 2
    assert "belongs to another run" in capsys.readouterr().err


def test_cli_warmup(capsys):
    """`journeysim warmup` prints a suggested warm-up from a pilot run."""
    assert main(["warmup", str(SCENARIOS / "clinic_mmc.toml"), "--replications", "2", "--quiet"]) == 0
    assert "suggested warm-up" in capsys.readouterr().out
    assert main(["warmup", str(SCENARIOS / "clinic_mmc.toml"), "--node", "Nope", "--quiet"]) == 2


def test_an_unchanged_metric_with_one_replication_reads_zero_not_plus_zero():
    """One replication (no CI) and a difference of exactly 0: the row is equal ("0 h"), not "+0.0 h"; a zero-width
    CI at 0 is equal too, and a nonzero difference without a CI is not."""
    from journeysim.analysis.keymetrics import key_cells

    row = {"base": 5.04, "value": 5.04, "difference": 0.0, "ci95": [None, None], "unit": "h", "difference_unit": "h"}
    cells = key_cells(row)
    assert cells.equal and cells.difference == "0 h" and cells.low is None
    assert key_cells({**row, "ci95": [0.0, 0.0]}).equal
    moved = key_cells({**row, "value": 5.1, "difference": 0.06})
    assert not moved.equal and moved.difference.startswith("+0.06")
    assert not key_cells({**row, "ci95": [-0.1, 0.1]}).equal  # a mean of 0 over replications that differ
