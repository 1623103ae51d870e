"""Every modelling feature of issue 16 in one model, through every command and output.

Each feature is tested against theory in its own file; this one checks that they work
together: an urgent-care day that stops at closing time, with a waiting-room limit and
diversion, patients who leave unseen, attributes that route, a named exit, a 14-day rota
and the new distributions. Summary mode must agree with full records, every command must
exit 0 with strict JSON, and the records must hold what happened.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

import journeysim as js
from journeysim.cli import main
from test_degenerate import COMMANDS, run_command, strict_json

SCENARIO = """
[scenario]
name = "Everything together"
horizon_days = 6
warmup_days = 1
replications = 2
seed = 11
end = "{end}"

[[classes]]
name = "walk_in"
entry = "Clinic"
profile = {{ rates_per_hour = [1, 1, 1, 1, 1, 1, 1, 1, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 4, 4, 4, 2, 2, 1] }}
attributes = {{ acuity = {{ high = 0.3, low = 0.7 }}, age = {{ dist = "normal", mean = 50, sd = 20, min = 18 }}, frail = {{ bernoulli = 0.2 }} }}

[[microsystems]]
name = "Clinic"
capacity = 2
service = {{ dist = "weibull", mean = 15, sd = 8 }}
queue_limit = 2
when_full = {{ divert = "Overflow", delay = {{ dist = "pert", min = 5, mode = 10, max = 30 }} }}
full_is_defect = "diverted"
patience = {{ dist = "exponential", mean = 60 }}
defects = {{ missed_allergy = 0.02 }}
schedule = [{{ days = [1, 2, 3, 4, 5], hours = "08:00-18:00", capacity = 3 }}]
period_days = 14

[[microsystems]]
name = "Overflow"
capacity = 1
service = {{ dist = "mixture", components = [{{ dist = "exponential", mean = 10 }}, {{ dist = "fixed", value = 30 }}], weights = [3, 1] }}

[[microsystems]]
name = "Imaging"
capacity = 1
service = {{ dist = "normal", mean = 20, sd = 5 }}

[[microsystems]]
name = "Ward"
capacity = 4
service = {{ dist = "lognormal", median = 120, log_sd = 0.5 }}

[[handoffs]]
from = "Clinic"
to = "Imaging"
when = 'acuity == "high" or age >= 70'
probability = 0.8
defects = {{ information = 0.1 }}

[[handoffs]]
from = "Imaging"
to = "Ward"
probability = 0.5

[[exits]]
from = "Ward"
name = "transfer_out"
probability = 0.2
delay = {{ dist = "fixed", value = 30 }}
"""


@pytest.fixture(scope="module", params=["stop", "drain"])
def files(request, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp(f"together-{request.param}")
    f = folder / "together.toml"
    f.write_text(textwrap.dedent(SCENARIO.format(end=request.param)))
    g = folder / "together_copy.toml"
    g.write_text(f.read_text())
    return f, g


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "sweep"], ids=[c for c in COMMANDS if c != "sweep"])
def test_every_command_runs_the_model_with_every_feature(files, tmp_path, capsys, command):
    f, g = files
    run_command(f, g, tmp_path, capsys, command)


def test_a_sweep_of_the_model_with_every_feature(files, tmp_path, capsys):
    f, _ = files
    assert main(["sweep", str(f), "--set", 'microsystems["Clinic"].queue_limit=2,6', "--json",
                 str(tmp_path / "s.json"), "--quiet"]) == 0, capsys.readouterr().err
    strict_json((tmp_path / "s.json").read_text())


def test_summary_mode_agrees_with_full_records(files):
    f, _ = files
    scenario = js.load_scenario(f)
    full = js.simulate(scenario, workers=1).summary().to_dict()
    summary = js.simulate(scenario, workers=1, records="summary").summary().to_dict()
    for key in ("journeys", "microsystems"):
        assert _flat(full[key]) == pytest.approx(_flat(summary[key])), key
    assert _flat(full["quality"]["system"]) == pytest.approx(_flat(summary["quality"]["system"]))


def _flat(d: object, path: str = "") -> dict[str, object]:
    """The numbers of a nested result as ``{path: value}``, without the pooled percentiles (exact with full
    records, from histograms in summary mode)."""
    if isinstance(d, dict):
        return {k: v for key, x in d.items() if key not in ("p50", "p90") for k, v in _flat(x, f"{path}.{key}").items()}
    if isinstance(d, list):
        return {k: v for i, x in enumerate(d) for k, v in _flat(x, f"{path}[{i}]").items()}
    return {path: d}


def test_the_records_hold_what_happened(files):
    f, _ = files
    result = js.simulate(js.load_scenario(f), workers=1)
    journeys, visits, unserved = result.journeys(), result.visits(), result.unserved()
    ended = journeys["end"].notna()
    # every outcome the model can give, and only those; journeys in progress have none
    assert set(journeys.loc[ended, "outcome"]) <= {"discharged", "transfer_out", "left_unseen"}
    assert journeys.loc[~ended, "outcome"].isna().all()
    # attributes recorded per journey; the routing condition holds for every journey that reached Imaging
    imaged = visits.loc[visits["node"] == "Imaging", ["replication", "journey"]].drop_duplicates()
    rows = journeys.merge(imaged, on=["replication", "journey"])
    assert len(rows) > 0
    assert ((rows["acuity"] == "high") | (rows["age"] >= 70)).all()
    assert journeys["age"].min() >= 18
    # the queue rules acted, and a diverted patient arrives at the overflow clinic
    assert {"diverted", "reneged"} <= set(unserved["ended"])
    assert (visits["node"] == "Overflow").any()
    if result.scenario.end == "stop":
        assert (~ended).any()
        assert np.nanmax(visits["end"]) < result.records[0].horizon
