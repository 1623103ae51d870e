"""A log of several replications (journeysim's own export, ``case:replication``), as a user makes one with
``journeysim run SCENARIO --events LOG``: read from CSV and XES alike, laid end to end by discover and by
fidelity alike, so the true model passes its fidelity check (issue 18, the new user's README walk-through)."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import journeysim as js
from journeysim.cli import main
from journeysim.data.logsplit import held_out, training_part
from journeysim.errors import JourneySimWarning

ROOT = Path(__file__).resolve().parents[1]
REPLICATIONS = 4


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """The tandem scenario (not the flagship), 4 replications of 20 days, exported as CSV and as XES by the CLI."""
    folder = tmp_path_factory.mktemp("reps")
    for name in ("t.csv", "t.xes"):
        assert main(["run", str(ROOT / "scenarios" / "tandem.toml"), "--replications", str(REPLICATIONS),
                     "--horizon-days", "20", "--events", str(folder / name)]) == 0
    return folder


def read(path: Path) -> js.EventLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JourneySimWarning)
        return js.read_log(path)


def test_the_replication_attribute_is_read_from_xes_as_from_csv(export):
    """The XES trace attribute ``replication`` is read as ``case:replication`` without asking, as the CSV column
    is: the same values for the same cases."""
    csv, xes = read(export / "t.csv"), read(export / "t.xes")
    assert csv.replications == xes.replications == REPLICATIONS
    assert "case:replication" in xes.attributes
    by_case = dict(zip(xes.case_labels[xes.case].tolist(), xes.attributes["case:replication"].tolist()))
    assert all(by_case[c] == r for c, r in zip(csv.case_labels[csv.case].tolist(),
                                               csv.attributes["case:replication"].tolist()))


def test_log_info_shows_the_replications(export, capsys):
    for name in ("t.csv", "t.xes"):
        assert main(["log-info", str(export / name)]) == 0
        out = capsys.readouterr().out
        assert f"{REPLICATIONS} replications (case:replication)" in out, out


def test_discover_finds_the_same_model_from_xes_as_from_csv(export, capsys):
    """Rates, capacities and services discovered from the XES export equal those from the CSV export of the same
    run (before, the XES log was read as one period: rates and capacities 4x too high)."""
    texts = {}
    for name in ("t.csv", "t.xes"):
        out = export / f"found-{name}.toml"
        assert main(["discover", str(export / name), "-o", str(out)]) == 0
        texts[name] = out.read_text().replace(name, "LOG")
    capsys.readouterr()
    assert texts["t.csv"] == texts["t.xes"]
    found = js.load_scenario(export / "found-t.xes.toml")
    # the true rate is 4 an hour = 96 a day; one period would read 4 x 96
    rate = found.model.classes[0].rate * 1440
    assert abs(rate - 96) < 5 * math.sqrt(96 / (REPLICATIONS * 20)), rate
    assert [m.capacity for m in found.model.microsystems] == [1, 3, 2]


def test_the_held_out_part_is_the_last_replications(export):
    """Laid end to end, the last 20% of the cases by start are the last replication's (20% of 4 replications),
    not the last 20% of clock time across all four."""
    log = read(export / "t.csv")
    rep = np.zeros(log.n_cases)
    rep[log.case] = log.attributes["case:replication"]
    test = held_out(log, 0.2)
    assert set(rep[test].tolist()) == {REPLICATIONS - 1}
    assert training_part(log, 0.2).n_cases == log.n_cases - len(test)


def test_the_true_model_passes_fidelity_against_its_multi_replication_export(export):
    """fidelity lays the replications end to end as discover does: the test part is the last part of that
    timeline, and the simulation covers the same window (as many cases, within 4 Poisson standard errors;
    before: 338 to 379 simulated against 1,531 real). The true model is within 2x the larger of its two baselines
    on every measure, each distance a mean over 3 seeds (one realisation of this congested pathway, rho 0.8 at
    Treatment, can itself reach 2x: 2.04 measured at seed 1). Measured after: 1.45x at most (time since case
    start); before: the 3-gram distance 563x the real-vs-real baseline and 25x the larger, the cases in progress
    11x and 6.2x."""
    scenario = js.load_scenario(ROOT / "scenarios" / "tandem.toml")
    log = read(export / "t.csv")
    reports = [js.fidelity(log, scenario, seed=seed, splits=2) for seed in range(3)]
    for report in reports:
        real, simulated = report.cases["test"], report.cases["simulated"]
        assert abs(simulated - real) < 4 * math.sqrt(real), report.to_text()
        assert report.cases["s"] == report.cases["a"]
        assert any("laid end to end" in n for n in report.notes)

    def mean(i: int, what: str) -> float:
        return float(np.mean([getattr(r.measures[i], what) or 0.0 for r in reports]))

    for i, m in enumerate(reports[0].measures):
        noise = max(mean(i, "baseline"), mean(i, "simulated_baseline"))
        assert mean(i, "model") <= 2 * noise + 1e-12, (m.key, [r.to_text() for r in reports])


# --- discovery's messages (issue 18, item 3) -------------------------------------------------------------------


def test_a_unit_whose_every_service_is_0_says_so():
    """The flagship's CardiacSurgery (every visit 0 minutes): 'all 545 values are 0: fixed 0', not 'no family
    fitted: the sample is empty'."""
    from journeysim.data.timing import duration

    table, how, thin = duration(np.zeros(545), np.zeros(545, bool), "start to end", seed=0)
    assert table == {"dist": "fixed", "value": 0} and not thin
    assert "all 545 values are 0: fixed 0" in how and "empty" not in how, how


def test_a_truncated_normal_states_its_median_and_mean_after_truncation():
    """A normal fitted with a negative mean (the parent normal's, legitimately: journeysim truncates at 0) states
    the median and mean of the distribution it stands for; they match the sample's within 4 standard errors."""
    from journeysim.data.timing import duration

    rng = np.random.default_rng(4)
    x = rng.normal(-68.1, 310.6, 40_000)
    x = x[x >= 0][:5000]
    table, how, _ = duration(x, np.zeros(x.size, bool), "start to end", seed=0)
    assert table["dist"] == "normal" and table["mean"] < 0, (table, how)
    said = re.search(r"truncated at 0 \(.*\): median ([0-9.]+), mean ([0-9.]+)", how)
    assert said, how
    se = x.std() / math.sqrt(x.size)  # of the mean; the median's is about 1.25 times it here
    assert abs(float(said[2]) - x.mean()) < 4 * se, how
    assert abs(float(said[1]) - np.median(x)) < 4 * 1.25 * se, how
