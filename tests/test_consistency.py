"""One number, one name: the flagship's text, JSON and HTML report show the same figures, rounded as shown.

System quality, each standard's share met (table and histogram title), cost per journey, and both
visit counts per microsystem ("visits by counted journeys", "all visits in the window") are read
from each output and compared with the JSON's, which hold them unrounded.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

import journeysim as js
from journeysim.outputs.report import report_html

SCENARIOS = Path(__file__).parent.parent / "scenarios"


class _Tables(HTMLParser):
    """The report's tables by section (header cells, body rows) and every text node (figure titles too)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.section = ""
        self.tables: list[dict] = []
        self.text: list[str] = []
        self._head = self._caption = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.section = dict(attrs).get("id") or ""
        elif tag == "table":
            self.tables.append({"section": self.section, "caption": "", "header": [], "rows": []})
        elif tag == "caption":
            self._caption = True
        elif tag == "thead":
            self._head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "thead":
            self._head = False
        elif tag == "caption":
            self._caption = False
        elif tag == "tr" and self._row is not None and self.tables:
            if self._head:
                self.tables[-1]["header"] = self._row
            else:
                self.tables[-1]["rows"].append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._caption and self.tables:
            self.tables[-1]["caption"] += data
        if self._cell is not None:
            self._cell.append(data)

    def table(self, section: str, first_header: str | None = None, with_header: str | None = None) -> dict:
        for t in self.tables:
            if t["section"] == section and (first_header is None or t["header"][:1] == [first_header]) and (
                    with_header is None or with_header in t["header"]):
                return t
        raise AssertionError(f"no table in section {section!r} headed {first_header or with_header!r}")

    def column(self, table: dict, header: str) -> dict[str, str]:
        i = table["header"].index(header)
        return {row[0]: row[i] for row in table["rows"]}

    def value(self, section: str, label: str) -> str:
        for t in self.tables:
            if t["section"] == section:
                for row in t["rows"]:
                    if row[0] == label:
                        return row[1]
        raise AssertionError(f"no row {label!r} in section {section!r}")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


@pytest.fixture(scope="module")
def flagship():
    scenario = js.load_scenario(SCENARIOS / "ami.toml").with_settings(
        horizon=60 * 1440.0, warmup=10 * 1440.0, replications=3)
    result = js.simulate(scenario, seed=5)
    summary = result.summary()
    return {"json": summary.to_dict(), "text": summary.to_text(),
            "html": _Tables(report_html(result, summary=summary))}


def test_system_quality_is_one_number(flagship):
    q = flagship["json"]["quality"]["system"]["simulated"]["mean"]
    assert re.search(rf"^  pathway\s+{re.escape(_pct(q))} \[", flagship["text"], re.M)
    page = flagship["html"]
    shown = page.column(page.table("quality", "class"), "simulated (95% CI)")["all"]
    assert shown.startswith(_pct(q) + " ")
    assert any(t.strip().startswith(f"{_pct(q)} of") for t in page.text)  # the first screen's headline


def test_each_standards_share_met_is_one_number_in_tables_and_titles(flagship):
    page = flagship["html"]
    table = page.column(page.table("standards", "standard", "met (95% CI)"), "met (95% CI)")
    standards = flagship["json"]["standards"]
    assert standards
    for name, st in standards.items():
        met = _pct(st["met"]["mean"])
        assert re.search(rf"^  {name}\s+<=.*met {re.escape(met)} \[", flagship["text"], re.M), name
        assert table[name].startswith(met + " "), (name, table[name], met)
        assert any(t.strip().startswith(f"{name}: {met} met (") for t in page.text), (name, met)  # plot title


def test_cost_per_journey_is_one_number(flagship):
    cost = flagship["json"]["cost"]
    shown = f"{cost['per_journey']['mean']:,.0f}"
    assert re.search(rf"^  per journey\s+{re.escape(shown)} \[", flagship["text"], re.M)
    assert flagship["html"].value("cost", "cost per journey").startswith(f"{cost['currency']} {shown} ")


def test_visits_per_microsystem_are_labelled_and_agree(flagship):
    d = flagship["json"]
    page = flagship["html"]
    flow = page.table("flow", "microsystem", "counted visits")
    counted, window = page.column(flow, "counted visits"), page.column(flow, "all visits")
    assert "counted visits: visits by counted journeys" in flow["caption"]
    assert "all visits: all visits in the window" in flow["caption"]
    text_rows = {m.group(1): int(m.group(2)) for m in re.finditer(
        r"^  (\w+)\s+(?:clinical|support)\s+\S+\s+(\d+) ", flagship["text"], re.M)}
    assert "visits by counted journeys" in flagship["text"]
    differ = 0
    for name, m in d["microsystems"].items():
        by_journeys = d["quality"]["microsystems"][name]["visits"]
        assert text_rows[name] == by_journeys, name
        assert counted[name] == f"{by_journeys:,}", name
        assert window[name] == f"{m['visits']:,}", name
        differ += by_journeys != m["visits"]
    assert differ  # the two figures do differ on the flagship, which is why both are labelled
