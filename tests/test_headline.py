"""The report answers first: the headline's wording in every case, its numbers, and the comparison's first screen."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

import journeysim as js
from journeysim.analysis.headline import headline, percent, percent_ci, points
from journeysim.outputs.firstscreen import input_changes
from journeysim.outputs.report import report_html

sys.path.insert(0, str(Path(__file__).parent))
from test_degenerate import MODELS

SCENARIOS = Path(__file__).parent.parent / "scenarios"


@pytest.fixture(scope="module")
def flagship():
    scenario = js.load_scenario(SCENARIOS / "ami.toml").with_settings(
        horizon=60 * 1440.0, warmup=10 * 1440.0, replications=3)
    return js.simulate(scenario, seed=5)


@pytest.fixture(scope="module")
def degenerate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("headline")
    out = {}
    for name, text in MODELS.items():
        path = folder / f"{name}.toml"
        path.write_text(textwrap.dedent(text))
        out[name] = js.simulate(js.load_scenario(path))
    return out


def test_flagship_headline_states_quality_ci_and_the_largest_lever(flagship):
    """The headline's numbers are the summary's: system quality, its CI with % signs, and the top lever's gain."""
    d = flagship.summary()
    h = headline(flagship, d)
    q = d.quality.system.simulated
    assert h.text.startswith(f"{percent(q.mean)} of journeys were free of any defect ({percent_ci(q)})")
    assert percent_ci(q).endswith("%") and "–" in percent_ci(q)
    top = max((r for r in d.quality.leverage if r.method == "simulated"), key=lambda r: r.if_perfect)
    assert h.levers[0].element == top.element and h.levers[0].gain == top.if_perfect
    assert f"({points(top.if_perfect)} " in h.text
    assert len(h.levers) == 3 and [lv.gain for lv in h.levers] == sorted((lv.gain for lv in h.levers), reverse=True)
    assert [s.name for s in h.standards] == list(d.standards)


def test_flagship_first_screen_comes_before_the_sections(flagship):
    """The headline, levers, standards and cards come before section 1; every CI on them carries its % sign."""
    page = report_html(flagship)
    h = headline(flagship)
    first = page[:page.index('<section id="simulated"')]
    assert "class=headline" in first and h.levers[0].name in first and "Standards met" in first
    assert "(95% CI" not in first.replace(percent_ci(h.quality), "")  # the only CI in a sentence is the headline's
    assert " to " not in first.split("class=cards")[1].split("</div></div>")[0]  # cards: "a–b%", not "a to b"


@pytest.mark.parametrize("model", list(MODELS))
def test_degenerate_headlines_read_as_sentences(degenerate, model):
    """Every degenerate model gets a headline in words: no nan, no empty CI, no 'n/a' in the sentence."""
    h = headline(degenerate[model])
    assert h.text and h.text.endswith(".")
    assert "nan" not in h.text.lower() and "n/a" not in h.text and "()" not in h.text and "CI –" not in h.text
    page = report_html(degenerate[model])
    assert "class=headline" in page


def test_degenerate_wording_cases(degenerate):
    """The documented wording of each case (docs/reports.md)."""
    assert headline(degenerate["no_defects"]).text == (
        f"Every one of the {degenerate['no_defects'].summary().journeys.completed:,} journeys counted was free of "
        "any defect (100%). No element can fail and no standard is set, so there is no lever to pull.")
    assert headline(degenerate["no_arrivals"]).text.startswith("No journey was counted")
    assert headline(degenerate["every_journey_defective"]).text.startswith("Not one of the ")
    assert "+100.0 points if it never failed" in headline(degenerate["every_journey_defective"]).text
    one = headline(degenerate["one_replication"])
    assert all(lv.ci_text == "" for lv in one.levers)  # one replication: no interval for a lever
    never = headline(degenerate["standard_never_reached"])
    assert not never.standards[0].reached


def test_no_lever_reason_is_the_headlines_and_the_first_screens(tmp_path):
    """Nothing can fail but a standard that is always met: the first screen gives the same reason as the headline,
    not "no element can fail and no standard is set"."""
    path = tmp_path / "std_met.toml"
    path.write_text(textwrap.dedent("""\
        [scenario]
        name = "one unit, standard always met"
        horizon_days = 5
        replications = 3
        seed = 1
        [[classes]]
        name = "p"
        entry = "Clinic"
        rate_per_hour = 1
        [[microsystems]]
        name = "Clinic"
        capacity = 5
        service = { dist = "exponential", mean = 10 }
        defect = 0
        [[standards]]
        name = "week"
        from = "start"
        to = "end"
        within = 1000
        """))
    result = js.simulate(js.load_scenario(path))
    h = headline(result)
    assert not h.levers and h.no_lever_reason.startswith("Every journey counted was free of any defect")
    page = report_html(result)
    assert h.no_lever_reason in page and "no element can fail" not in page.lower()


def test_no_lever_reason_without_elements_matches_the_sentence(degenerate):
    """With nothing that can fail, the reason and the headline's sentence are the same words."""
    h = headline(degenerate["no_defects"])
    assert h.no_lever_reason and h.no_lever_reason in h.text and h.no_lever_reason in report_html(
        degenerate["no_defects"])


def test_a_zero_width_interval_over_many_replications_is_not_one_replication():
    """A lever or card whose interval has zero width over 5 replications says so; one replication says no CI."""
    from journeysim.analysis.headline import Lever
    from journeysim.outputs.firstscreen import _estimate_detail, _lever_item
    from journeysim.run.stats import Estimate

    lever = Lever("A", "care in A", "simulated", 0.1, (0.1, 0.1))
    assert "the same in every replication" in _lever_item(lever, 0.1, 5)
    assert "one replication: no CI" in _lever_item(Lever("A", "care in A", "simulated", 0.1, None), 0.1, 1)
    assert _estimate_detail(Estimate(1.0, (1.0, 1.0), 5), 5) == "the same in every replication"
    assert _estimate_detail(Estimate(float("nan"), (float("nan"), float("nan")), 5), 5) == "no CI"


def test_one_replication_labels_the_quality_interval_as_wilson(degenerate):
    """With one replication system quality's interval is a Wilson interval over journeys (the levers have none):
    the headline sentence and the cards say so."""
    from journeysim.outputs.firstscreen import _estimate_detail

    result = degenerate["one_replication"]
    h = headline(result)
    assert h.replications == 1 and percent_ci(h.quality)
    assert f"({percent_ci(h.quality)}, Wilson interval over journeys; one replication)" in h.text
    assert _estimate_detail(h.quality, 1).endswith("Wilson interval over journeys; one replication")
    assert "Wilson interval over journeys; one replication" in report_html(result).split('<section id="simulated"')[0]


def test_input_changes_show_values_before_and_after():
    """The comparison's 'what changed' names each changed input with both values; sources are left out."""
    base = js.load_scenario(SCENARIOS / "ami.toml").model
    other = js.load_scenario(SCENARIOS / "ami_handoff_redesign.toml").model
    rows = input_changes(base, other)
    assert ("handoff EMS->ED", "defects.information", "0.43", "0.25") in rows
    assert all("reference" not in field for _, field, _, _ in rows)
    assert input_changes(base, base) == []


def test_comparison_report_opens_with_changes_and_key_metrics():
    """The comparison report's first screen: what changed, then every key metric of Comparison.key_rows."""
    base = js.load_scenario(SCENARIOS / "ami.toml").with_settings(horizon=45 * 1440.0, warmup=5 * 1440.0,
                                                                  replications=3)
    other = js.load_scenario(SCENARIOS / "ami_handoff_redesign.toml").with_settings(
        horizon=45 * 1440.0, warmup=5 * 1440.0, replications=3)
    comp = js.compare([base, other], seed=2)
    page = report_html(comp)
    first = page[:page.index('<section id="simulated"')]
    assert first.index("What changed") < first.index("What it did") < first.index("The base scenario")
    rows = comp.key_rows()
    for r in rows:
        assert r["label"].replace("(", "").split(" ")[0] in first
    sure = sum(r["excludes_zero"] for r in rows)
    assert first.count("<tr class=sure ") == sure
    assert f"{sure} of {len(rows)} key metrics changed beyond chance" in first


def test_report_sources_do_not_point_at_a_private_file(flagship):
    """No source in the flagship's report points at DOMAIN.md, a file users do not have."""
    assert "DOMAIN" not in report_html(flagship)
    for f in SCENARIOS.glob("*.toml"):
        assert "DOMAIN" not in f.read_text(), f.name
