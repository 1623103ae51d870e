"""What ``journeysim compare ... --report/--select`` says: decimals, probabilities, signs and verbs.

Each test states a reading a person takes from the words and checks the words against the numbers:
the selection table resolves the means and the indifference zone, a probability of 0.999 is not
"100%", KN is said to add replications only when it did, no "-0.0", a difference that is the same in
every replication reads as such (no absurd variance reduction), the stop at the maximum gives the
statement's advice, and "raised" is said only when the CI excludes 0.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from journeysim.analysis.comparison import _text_row, paired_difference
from journeysim.analysis.keymetrics import format_number, key_cells
from journeysim.analysis.selection import Selection, pcs_text, zone_text
from journeysim.outputs.firstscreen import _comparison_sentences, _key_cells, selection_screen, selection_text

DOCS = Path(__file__).parent.parent / "docs"


def _selection(metric: str, delta: float, means: dict[str, float], *, reason: str = "one survivor",
               replications: dict[str, int] | None = None, pcs: float = 0.95, half: float = 0.05,
               direction: str = "lower") -> Selection:
    names = tuple(means)
    best = (min(means, key=means.__getitem__) if direction == "lower" else max(means, key=means.__getitem__)) \
        if reason == "one survivor" else None
    return Selection(metric=metric, direction=direction, delta=delta, pcs=pcs, first_stage=10,  # type: ignore[arg-type]
                     max_replications=1000, seed=1, names=names, best=best,
                     survivors=(best,) if best else names, eliminated={n: 10 for n in names if n != best},
                     replications=replications or dict.fromkeys(names, 10), means=means, reason=reason, h2=10.0,
                     ci95={n: (m - half * abs(m), m + half * abs(m)) for n, m in means.items()})


def _cells(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td class=num>(.*?)</td>", page)]


def test_the_selection_table_separates_the_means_and_resolves_the_zone():
    """Means of 2.48, 2.42 and 2.37 h with a zone of 2 min (0.033 h): the report shows them as the CLI does, not
    as 2.5, 2.4, 2.4 h (two alternatives that read alike, and a zone finer than the last digit)."""
    s = _selection("time_in_system_minutes", 2.0, {"base": 148.8, "a": 145.2, "b": 142.2})
    cells = _cells(selection_screen(s))
    assert ["2.48 h", "2.42 h", "2.37 h"] == [c for c in cells if c.endswith(" h") and " to " not in c]
    assert all(c == format_number(v / 60, 2) for c, v in zip(re.findall(r"(\d+\.\d+)\s+\d+\s+(?:best|elim)",
                                                                         s.to_text()), (148.8, 145.2, 142.2)))
    shown = {c for c in cells if c.endswith(" h") and " to " not in c}
    assert len(shown) == 3  # every mean reads apart from the others


def test_a_zone_finer_than_hours_can_show_is_shown_in_minutes():
    """A zone of 0.01 min on means of 2.5 h would need 0.0002 h: the means are shown in minutes instead."""
    s = _selection("time_in_system_minutes", 0.01, {"base": 148.94, "a": 148.93, "b": 118.51}, reason="maximum")
    d, places = s.shown()
    assert d.unit == "min" and places == 2
    page = selection_screen(s)
    assert "148.94 min" in page and "148.93 min" in page and " h<" not in page
    assert "(min)" in s.to_text().splitlines()[1]


def test_a_probability_of_correct_selection_is_never_rounded_up():
    """--pcs 0.999 is 99.9%, not "≥ 100%" (a certainty KN does not give)."""
    s = _selection("quality.system", 0.01, {"base": 0.80, "a": 0.85, "b": 0.87}, pcs=0.999, direction="higher")
    assert "≥ 99.9%" in selection_text(s) and "100%" not in selection_text(s)
    assert "at least 99.9%" in s.statement() and "100%" not in s.statement()
    for p in (0.95, 0.99, 0.999, 0.9995, 0.99999, 0.999999999):
        shown = float(pcs_text(p).rstrip("%")) / 100
        assert shown <= p + 1e-12 and p - shown < 1e-4
    stopped = _selection("quality.system", 0.01, {"base": 0.80, "a": 0.85, "b": 0.87}, pcs=0.999,
                         reason="maximum", direction="higher")
    assert "99.9%" in stopped.statement() and "99.9%" in selection_text(stopped)


def test_kn_is_said_to_add_replications_only_when_it_did():
    """Every alternative decided on the first stage: no "KN added more"; one that got more: it is said."""
    means = {"base": 148.8, "a": 145.2, "b": 142.2}
    none = selection_screen(_selection("time_in_system_minutes", 2.0, means))
    assert "added" not in none and "KN needed no more" in none
    grown = selection_screen(_selection("time_in_system_minutes", 2.0, means,
                                        replications={"base": 10, "a": 14, "b": 14}))
    assert "KN added more to those still in" in grown


def test_no_negative_zero_for_a_metric_that_is_zero_everywhere():
    """A lower-is-better wait of 0 everywhere: KN negates it; the JSON, the CLI and the report show 0, not -0."""
    s = _selection("Clinic.wait_minutes", 1.0, {"a": -0.0, "b": -0.0, "c": -0.0}, reason="identical")
    text = json.dumps(s.to_dict())
    assert "-0.0" not in text and '"mean": 0.0' in text
    assert "-0" not in s.to_text() and "-0" not in selection_screen(s)
    assert format_number(-0.0, 2) == "0.00" and format_number(-0.0001, 2, sign=True) == "+0.00"


def test_a_constant_difference_reads_the_same_in_every_replication():
    """A visit 20 EUR cheaper, no other change: the difference is -20 in every replication (up to rounding); no
    CI of width 1e-14 and no variance reduction of 1e27."""
    rng = np.random.default_rng(4)
    base = rng.uniform(200, 300, size=6)
    d = paired_difference(base, base * 0.92 + (base * 0.08 - 20.0))  # -20 but for the rounding of the sums
    assert d["variance_reduction"] is None and d["ci95"][0] == d["ci95"][1] == d["mean"]
    assert math.isclose(d["mean"], -20.0)
    row = {"scenario": "b", "key": "cost.per_journey", "label": "cost per journey (EUR)", "unit": "EUR",
           "difference_unit": "EUR", "base": 250.3, "value": 230.3, "difference": d["mean"], "ci95": d["ci95"],
           "excludes_zero": True, "variance_reduction": d["variance_reduction"], "replications": 6, "decimals": 0}
    c = key_cells(row)
    assert c.same and not c.equal and c.difference == "-20 EUR"
    line = _text_row(row)
    assert "-20 EUR" in line and "(the same in every replication)" in line and " x" not in line
    assert _key_cells(row)[3] == "the same in every replication"
    noisy = paired_difference(base, base - 20.0 + rng.normal(scale=0.1, size=6))
    assert noisy["variance_reduction"] is not None and noisy["ci95"][0] < noisy["ci95"][1]


def test_a_stop_at_the_maximum_gives_the_statement_s_advice():
    """The survivors are not shown to be within the zone of each other: no "accept any of them as equivalent"."""
    s = _selection("quality.system", 0.01, {"base": 0.80, "a": 0.85, "b": 0.85}, reason="maximum",
                   direction="higher")
    for text in (selection_text(s), s.statement()):
        assert "raise --max-replications or --delta, or choose among them by another metric" in text
        assert "equivalent" not in text
    doc = (DOCS / "reports.md").read_text(encoding="utf-8")
    assert "accept them as equivalent" not in doc and "for that redesign; the base with the most" not in doc


def _row(name: str, key: str, diff: float, lo: float, hi: float) -> dict:
    label = {"quality.system": "system quality (%)", "elements.quality": "quality of elements only (%)"}[key]
    return {"scenario": name, "key": key, "label": label, "unit": "%", "difference_unit": "pts", "base": 76.2,
            "value": 76.2 + diff, "difference": diff, "ci95": [lo, hi], "excludes_zero": lo > 0 or hi < 0,
            "variance_reduction": 4.0, "replications": 10, "decimals": 1}


def test_the_headline_says_raised_only_beyond_chance_and_lists_every_metric_that_changed():
    comp = SimpleNamespace(differences={"B": {}, "A": {}}, metric_keys=lambda: ["quality.system"])
    rows = [_row("B", "quality.system", 0.061, -0.088, 0.210), _row("B", "elements.quality", 0.5, 0.1, 0.9),
            _row("A", "quality.system", 6.89, 6.55, 7.23), _row("A", "elements.quality", 6.89, 6.55, 7.23)]
    b, a = _comparison_sentences(comp, rows)  # type: ignore[arg-type]
    assert "raised" not in b and "changed system quality by +0.061 pts against the base, within chance" in b
    assert "1 of 2 key metrics changed beyond chance: quality of elements only +0.50 pts" in b
    assert a.startswith("A raised system quality by 6.89 pts (95% CI +6.55 to +7.23 pts)")
    assert "2 of 2 key metrics changed beyond chance: system quality +6.89 pts, quality of elements only" in a
    one = _comparison_sentences(SimpleNamespace(differences={"B": {}}, metric_keys=lambda: []),  # type: ignore[arg-type]
                                [_row("B", "elements.quality", 0.5, -0.1, 0.9)], chosen=True)[0]
    assert "none of the 1" not in one and "the 1 metric shown did not change beyond chance" in one


def test_the_zone_reads_in_points():
    assert zone_text("quality.system", 0.01) == "1 point" and zone_text("quality.system", 0.005) == "0.5 points"


def test_the_report_says_kn_added_replications_only_when_it_did(tmp_path):
    """Three clinics far apart (defects 0.3, 0.1, 0.2) and a wide zone: KN decides on the first stage, and the
    report's lede says no replications were added."""
    import journeysim as js

    def clinic(defect: float) -> js.Scenario:
        model = js.Model([js.Microsystem("Clinic", capacity=1, service=js.Exponential(5), defect=defect)],
                         classes=[js.PatientClass("p", entry="Clinic", rate=0.1)])
        return js.Scenario(model, name=f"defect {defect}", horizon=3_000, replications=10, seed=3)

    comparison = js.compare([clinic(0.3), clinic(0.1), clinic(0.2)])
    selection = js.select_best(comparison, "quality.system", delta=0.05)
    assert set(selection.replications.values()) == {10}
    page = js.report_html(comparison, selection=selection)
    assert "added replications" not in page and "no replications were added" in page


def test_an_empty_output_path_is_named_as_such(tmp_path, capsys):
    from journeysim.cli import main

    tandem = str(Path(__file__).parent.parent / "scenarios" / "tandem.toml")
    assert main(["compare", tandem, tandem, "--report", "", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--report: the path is empty" in err and ": : cannot write" not in err
