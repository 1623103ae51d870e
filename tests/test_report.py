"""The HTML report: self-contained, complete for one scenario and for several, written from the command line."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

import journeysim as js
from journeysim.cli import main
from journeysim.outputs.report import report_html, write_report

SCENARIOS = Path(__file__).parent.parent / "scenarios"
SHORT = ("--replications", "3", "--horizon-days", "45", "--warmup-days", "5", "--workers", "1", "--quiet")


class _Page(HTMLParser):
    """Collects what a browser would fetch (src/href) and the document's sections and figures."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches: list[str] = []
        self.sections: list[str] = []
        self.figures = 0
        self.svgs = 0
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href", "xlink:href"):
            value = attrs.get(key) or ""
            if value and not value.startswith(("#", "data:")):
                self.fetches.append(value)
        if tag == "section":
            self.sections.append(attrs["id"])
        self.figures += tag == "figure"
        self.svgs += tag == "svg"
        self.scripts += tag == "script"


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


@pytest.fixture(scope="module")
def flagship():
    scenario = js.load_scenario(SCENARIOS / "ami.toml").with_settings(
        horizon=60 * 1440.0, warmup=10 * 1440.0, replications=3)
    return js.simulate(scenario, seed=5)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def test_report_for_one_scenario_is_self_contained_and_complete(flagship):
    """One scenario: every section, a figure per plot, nothing fetched, and the summary's numbers in the page."""
    page_text = report_html(flagship)
    page = _parse(page_text)
    assert page.fetches == [] and page.scripts == 0
    assert page.sections == ["simulated", "quality", "standards", "leverage", "flow", "cost", "stress-des",
                             "provenance"]
    standards = flagship.scenario.model.standards
    assert page.figures == page.svgs == 6 + len(standards)  # pathway, cascade, leverage, times, use, queues
    d = flagship.summary().to_dict()
    assert _pct(d["quality"]["system"]["simulated"]["mean"]) in page_text
    assert _pct(d["quality"]["system"]["analytic"]) in page_text
    for name, s in d["standards"].items():
        assert name in page_text and _pct(s["met"]["mean"]) in page_text
    assert f"{d['cost']['per_journey']['mean']:,.0f}" in page_text
    for m in flagship.scenario.model.microsystems:
        assert m.name in page_text
        if m.reference:  # key inputs with their sources
            assert html.escape(m.reference) in page_text
    assert f"<code>{flagship.provenance.seed}</code>" in page_text
    assert flagship.provenance.platform in page_text


def test_report_lists_the_stress_des_items(flagship):
    """All 24 STRESS-DES items appear; the author-only ones are prompts."""
    page_text = report_html(flagship)
    stress = page_text[page_text.index('id="stress-des"'):page_text.index('id="provenance"')]
    items = re.findall(r"<td>(\d\.\d(?:\.\d)?)</td>", stress)
    assert items == ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.4", "2.5.1", "2.5.2", "2.5.3", "2.5.4", "2.5.5",
                     "3.1", "3.2", "3.3", "3.4", "4.1", "4.2", "4.3", "5.1", "5.2", "5.3", "5.4", "6.1"]
    assert page_text.count("class=prompt>Author:") == 5  # 1.1, 1.3, 3.2, 3.4, 6.1
    assert "first 10 days are a warm-up" in page_text and "60 days of arrivals" in page_text


def test_report_for_two_scenarios_shows_their_differences():
    """Two scenarios: a differences section with the forest plot and each paired difference with its CI."""
    base = js.load_scenario(SCENARIOS / "ami.toml").with_settings(horizon=45 * 1440.0, warmup=5 * 1440.0,
                                                                  replications=3)
    other = js.load_scenario(SCENARIOS / "ami_handoff_redesign.toml").with_settings(
        horizon=45 * 1440.0, warmup=5 * 1440.0, replications=3)
    comp = js.compare([base, other], seed=2)
    page_text = report_html(comp)
    page = _parse(page_text)
    assert "differences" in page.sections and page.fetches == []
    assert 'id="fig-comparison"' in page_text
    row = comp.table().set_index("metric").loc["elements.quality"]
    assert f"{100 * row['difference']:+.2f} [{100 * row['ci95_low']:+.2f}, {100 * row['ci95_high']:+.2f}]" in page_text
    # the inputs that differ are named, element by element
    assert "handoff EMS-&gt;ED: defects" in page_text


def test_cli_report_one_and_two_files_and_run_report(tmp_path, capsys):
    """`report FILE...` and `run --report` write the page, say where, and exit 0."""
    one, two, three = tmp_path / "one.html", tmp_path / "two.html", tmp_path / "run.html"
    assert main(["report", str(SCENARIOS / "ami.toml"), "-o", str(one), *SHORT]) == 0
    assert str(one) in capsys.readouterr().out
    assert main(["report", str(SCENARIOS / "ami.toml"), str(SCENARIOS / "ami_cath_boarding.toml"),
                 "-o", str(two), *SHORT]) == 0
    assert main(["run", str(SCENARIOS / "tandem.toml"), "--report", str(three), "--json", str(tmp_path / "r.json"),
                 "--replications", "2", "--quiet"]) == 0
    # one replication: no interval anywhere, and still a complete page
    assert main(["run", str(SCENARIOS / "ami.toml"), "--report", str(tmp_path / "once.html"), "--replications", "1",
                 "--horizon-days", "40", "--warmup-days", "5", "--quiet"]) == 0
    capsys.readouterr()
    assert _parse((tmp_path / "once.html").read_text()).sections[-1] == "provenance"
    assert "differences" not in _parse(one.read_text()).sections
    assert "differences" in _parse(two.read_text()).sections
    d = json.loads((tmp_path / "r.json").read_text())
    assert _pct(d["quality"]["system"]["simulated"]["mean"]) in three.read_text()


def test_cli_report_errors_exit_2(tmp_path, capsys):
    """A missing scenario file or an unwritable output is a clear message and status 2."""
    assert main(["report", str(tmp_path / "nope.toml"), "-o", str(tmp_path / "r.html")]) == 2
    assert "nope.toml" in capsys.readouterr().err
    assert main(["report", str(SCENARIOS / "tandem.toml"), "-o", str(tmp_path / "no" / "dir" / "r.html"),
                 "--replications", "1", "--quiet"]) == 2
    assert "cannot write the report" in capsys.readouterr().err


def test_write_report_rejects_other_inputs(tmp_path):
    """Only a result or a comparison can be reported."""
    with pytest.raises(js.JourneySimError, match="SimulationResult or a Comparison"):
        write_report("results.json", tmp_path / "r.html")  # type: ignore[arg-type]
