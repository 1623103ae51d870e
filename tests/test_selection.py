"""Ranking and selection (KN with common random numbers) and the key-metric table of `compare`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import journeysim as js
from journeysim.analysis.figures import replication_metrics
from journeysim.analysis.keymetrics import display
from journeysim.analysis.selection import kim_nelson, kn_constants, select_best
from journeysim.cli import main
from journeysim.errors import ValidationError

SCENARIOS = Path(__file__).parent.parent / "scenarios"


def binomial_floor(p: float, n: int) -> float:
    """The lowest observed rate consistent (3 standard errors) with a true rate of at least ``p`` in ``n`` trials."""
    return p - 3 * math.sqrt(p * (1 - p) / n)


def test_kn_constants_match_kim_nelson():
    """eta and h² as in Kim & Nelson (2001) (and sim-tools' KN): k=4, n0=10, alpha=0.05."""
    eta, h2 = kn_constants(4, 10, 0.05)
    assert eta == pytest.approx(0.5 * ((0.1 / 3) ** (-2 / 9) - 1))
    assert h2 == pytest.approx(2 * eta * 9)
    assert eta == pytest.approx(0.56468, abs=1e-5)


@pytest.mark.parametrize("batch", [1, 5])
def test_kn_probability_of_correct_selection_in_the_slippage_configuration(batch):
    """k=4 normal alternatives, the best ahead of the other three by exactly delta (the least favourable
    configuration), with a shared (CRN) noise part: the best is selected in at least 95% of 1,000 runs."""
    delta, macro = 0.5, 1000
    means = np.array([0.0, 0.0, delta, 0.0])
    rng = np.random.default_rng(2026 + batch)

    def more(alive, start, stop):
        n = stop - start
        return means[alive, None] + rng.normal(size=n) + rng.normal(size=(len(alive), n))

    correct = 0
    for _ in range(macro):
        out = kim_nelson(more(list(range(4)), 0, 10), more, alpha=0.05, delta=delta, batch=batch)
        assert out.reason in ("one survivor", "identical", "tie") and out.survivors
        correct += out.survivors == [2]
    assert correct / macro >= binomial_floor(0.95, macro)


def test_kn_stops_at_the_maximum_and_says_so():
    """Two identical-mean alternatives with noise cannot be separated: the maximum stops KN, several survive."""
    rng = np.random.default_rng(1)

    def more(alive, start, stop):
        return rng.normal(size=(len(alive), stop - start))

    out = kim_nelson(more([0, 1, 2], 0, 5), more, alpha=0.05, delta=0.01, max_replications=30)
    assert out.reason == "maximum" and len(out.survivors) >= 2
    assert max(out.replications) == 30


def tandem(name: str, defects: dict[str, float], seed: int, replications: int = 5) -> js.Scenario:
    """Three unlimited microsystems in a row; quality = prod(1 - defect) exactly."""
    nodes = [js.Microsystem(n, capacity=None, service=js.Exponential(5), defect=defects.get(n, 0.0)) for n in "ABC"]
    model = js.Model(nodes, [js.Handoff("A", "B"), js.Handoff("B", "C")],
                     classes=[js.PatientClass("p", entry="A", rate=0.1)])
    return js.Scenario(model, name=name, horizon=3000, replications=replications, seed=seed)


def test_select_best_probability_of_correct_selection_on_a_simulated_pathway():
    """k=4 pathways whose true system quality is 0.90 (best) or 0.87 (three others, defects at different
    microsystems, so some pairs share no defect stream): with delta = 3 points the best is selected in
    at least 95% of 100 independent macro-replications, minus the binomial margin.

    Observed when written: 100/100 (KN is conservative; the bound is for the least favourable case)."""
    macro, correct = 100, 0
    for m in range(macro):
        alternatives = [tandem("B worse", {"B": 0.13}, m), tandem("best", {"A": 0.10}, m),
                        tandem("A worse", {"A": 0.13}, m), tandem("C worse", {"C": 0.13}, m)]
        s = select_best(alternatives, "quality.system", delta=0.03, records="summary", batch=2)
        assert s.reason in ("one survivor", "identical", "tie")
        correct += s.best == "best"
    assert correct / macro >= binomial_floor(0.95, macro)


def test_select_best_extends_the_same_streams():
    """Replications added by selection are those a longer run would have: replication i is the same (CRN)."""
    s = tandem("x", {"B": 0.2}, seed=7, replications=6)
    whole = replication_metrics(js.simulate(s, records="summary"))["quality.system"]
    head = replication_metrics(js.simulate(s, replications=2, records="summary"))["quality.system"]
    tail = replication_metrics(js.simulate(s, replications=4, first_replication=2, records="summary"))
    np.testing.assert_array_equal(np.concatenate([head, tail["quality.system"]]), whole)


def test_crn_paired_variance_is_smaller_than_independent():
    """Paired (same seeds) differences vary less than differences of independently seeded runs."""
    a, b = tandem("a", {"A": 0.10}, 3, 30), tandem("b", {"A": 0.13}, 3, 30)
    xa = replication_metrics(js.simulate(a))["quality.system"]
    xb = replication_metrics(js.simulate(b))["quality.system"]
    xb_independent = replication_metrics(js.simulate(b, seed=99))["quality.system"]
    assert np.var(xa - xb, ddof=1) < np.var(xa - xb_independent, ddof=1) / 3


def test_select_best_checks_its_input():
    """Every problem at once: two alternatives, a metric that is not one, a zone of zero."""
    with pytest.raises(ValidationError) as err:
        select_best([tandem("a", {}, 1), tandem("b", {"A": 0.1}, 1)], "quality.sytem", delta=0)
    text = str(err.value)
    assert "three or more" in text and "quality.sytem" in text and "valid keys" in text and "indifference" in text
    from journeysim.analysis.selection import _check

    with pytest.raises(ValidationError, match="higher or lower"):  # a metric with no better way, e.g. utilisation
        _check("A.utilisation", ["A.utilisation"], 1.0, 0.95, None, 3, 5, 100)


def test_display_units():
    """Percentages in points, times in a unit chosen by size (with the unit in the label), money."""
    assert display("quality.system", 0.05).difference_unit == "pts"
    assert display("time_in_system_minutes", 30).unit == "min"
    assert display("time_in_system_minutes", 600).unit == "h"
    assert display("time_in_system_minutes", 100_000).label == "time in system (d)"
    assert display("cost.per_journey", 10.0, "EUR").label == "cost per journey (EUR)"


def strict(text: str) -> dict:
    def refuse(name: str) -> None:
        raise ValueError(f"not strict JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_cli_compare_table_units_metric_and_json(tmp_path, capsys):
    """The table shows elements-only quality, points, a sensible time unit (never '+0.00 d'); --metric
    chooses others; the JSON's table holds the same numbers, in strict JSON."""
    out = tmp_path / "c.json"
    files = [str(SCENARIOS / "ami.toml"), str(SCENARIOS / "ami_handoff_redesign.toml")]
    assert main(["compare", *files, "--quiet", "--replications", "3", "--workers", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "quality of elements only (%)" in text and " pts " in text
    assert "+0.00 d" not in text and "time in system (d)" in text  # a year-long pathway: days
    assert "wait at CathLab (min)" in text
    data = strict(out.read_text())
    row = next(r for r in data["table"] if r["key"] == "elements.quality")
    raw = data["differences"]["AMI pathway: structured handovers"]["elements.quality"]["mean"]
    assert row["difference"] == pytest.approx(100 * raw) and row["difference"] > 5
    assert f"{row['difference']:+.2f} pts" in text or f"{row['difference']:+.1f} pts" in text
    assert main(["compare", *files, "--quiet", "--replications", "2", "--workers", "1",
                 "--metric", "CCU.utilisation", "--metric", "time_in_system_minutes"]) == 0
    text = capsys.readouterr().out
    assert "utilisation of CCU (%)" in text and "system quality" not in text


def test_cli_compare_bad_metric_and_select_need(tmp_path, capsys):
    """A --metric that is not a key lists the valid ones (status 2, no file); --select needs 3 scenarios and --delta."""
    out = tmp_path / "c.json"
    files = [str(SCENARIOS / "tandem.toml"), str(SCENARIOS / "clinic_mmc.toml")]
    assert main(["compare", *files, "--quiet", "--replications", "2", "--workers", "1", "--metric", "nope",
                 "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'nope' is not a metric" in err and "quality.system" in err
    assert not out.exists()
    assert main(["compare", *files, "--quiet", "--select", "quality.system"]) == 2
    err = capsys.readouterr().err
    assert "three or more" in err and "--delta" in err
    for extra in (["--pcs", "0.9"], ["--max-replications", "50"], ["--batch", "2"]):
        assert main(["compare", *files, "--quiet", "--replications", "2", "--json", str(out), *extra]) == 2
        err = capsys.readouterr().err
        assert f"{extra[0]} applies to --select METRIC" in err and "Traceback" not in err
        assert not out.exists()


def test_an_unknown_select_metric_is_the_only_problem():
    """An unknown metric is not also asked whether higher or lower is better."""
    from journeysim.analysis.selection import _check

    with pytest.raises(js.ValidationError) as err:
        _check("nope", ["quality.system"], 0.01, 0.95, None, 3, 5, 100)
    assert "'nope' is not a metric" in str(err.value) and "higher or lower" not in str(err.value)


def test_cli_compare_select(tmp_path, capsys):
    """`compare A B C --select quality.system --delta 5` names the best (the pathway with no defect at all)."""
    for name, p in (("b", 0.2), ("c", 0.3)):
        (tmp_path / f"{name}.toml").write_text(
            f'extends = "{(SCENARIOS / "tandem.toml").as_posix()}"\n[scenario]\nname = "{name}"\n'
            f'[[handoffs]]\nfrom = "Triage"\nto = "Treatment"\ndefects = {{ information = {p} }}\n')
    out = tmp_path / "s.json"
    args = ["compare", str(SCENARIOS / "tandem.toml"), str(tmp_path / "b.toml"), str(tmp_path / "c.toml"),
            "--quiet", "--replications", "5", "--workers", "1", "--select", "quality.system", "--delta", "5",
            "--json", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    sel = strict(out.read_text())["selection"]
    base = js.load_scenario(SCENARIOS / "tandem.toml").name
    assert sel["best"] == base and sel["delta"] == pytest.approx(0.05)
    assert "Best by system quality" in text and base in text
    assert "indifference zone 5 points," in text  # the zone in the unit it was given in


def _selection(metric: str, delta: float, means: dict, reason: str, replications: int = 10):
    from journeysim.analysis.selection import Selection

    names = tuple(means)
    best = names[0] if reason == "one survivor" else None
    survivors = (best,) if best else names[:2]
    return Selection(metric, "lower", delta, 0.95, 10, 1000, 1, names, best, survivors, {},
                     dict.fromkeys(names, replications), means, reason, 10.0)


def test_the_zone_is_stated_in_the_unit_it_was_given_in():
    """--select time_in_system_minutes --delta 2 on means of hours: the zone reads 2 min, not 0.033 h."""
    s = _selection("time_in_system_minutes", 2.0, {"a": 300.0, "b": 320.0, "c": 330.0}, "one survivor")
    assert "by 2 min or more" in s.statement() and "0.033" not in s.statement()
    s = _selection("time_in_system_minutes", 2.0, {"a": 300.0, "b": 300.0, "c": 330.0}, "maximum")
    assert "indifference zone of 2 min" in s.statement()


def test_a_tie_with_varying_replications_is_not_called_identical():
    """KN's region closes with the survivors' means equal: 'identical' only when every replication is the same."""
    first = np.array([[1.0, 3.0], [3.0, 1.0], [0.0, 0.0]])  # a and b: means 2 and 2, paired differences -2, +2

    def more(alive, start, stop):
        raise AssertionError("the region is closed after the first stage")

    out = kim_nelson(first, more, alpha=0.05, delta=1e6)
    assert sorted(out.survivors) == [0, 1] and out.reason == "tie"
    same = kim_nelson(np.array([[1.0, 3.0], [1.0, 3.0], [0.0, 0.0]]), more, alpha=0.05, delta=1e6)
    assert sorted(same.survivors) == [0, 1] and same.reason == "identical"
    text = _selection("quality.system", 0.01, {"a": 0.5, "b": 0.5, "c": 0.4}, "tie", 2).statement()
    assert "the same mean over 2 replications" in text and "could not separate" in text
    assert "same value in every replication" not in text
    assert "same value in every replication" in _selection("quality.system", 0.01, {"a": 0.5, "b": 0.5, "c": 0.4},
                                                            "identical").statement()
