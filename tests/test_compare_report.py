"""`journeysim compare ... --report PATH`: the comparison just computed (and its selection) as the HTML report.

The report's *what it did* holds the numbers the command line's table prints (read back with
``html.parser``); with ``--select`` the first screen names the alternative selected, its probability
of correct selection, and each alternative's replications and elimination, as the JSON does; bad
input leaves no file.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

import journeysim as js
from journeysim.cli import main

TANDEM = (Path(__file__).parent.parent / "scenarios" / "tandem.toml").resolve()
FAST = ["--replications", "4", "--horizon-days", "4", "--warmup-days", "0.5", "--workers", "1", "--quiet"]


def _variant(folder: Path, capacity: int) -> Path:
    """tandem.toml with ``capacity`` servers at Treatment (the base has 3)."""
    path = folder / f"treatment_{capacity}.toml"
    path.write_text(f'extends = "{TANDEM.as_posix()}"\n[scenario]\nname = "Treatment x{capacity}"\n'
                    f'[[microsystems]]\nname = "Treatment"\ncapacity = {capacity}\n', encoding="utf-8")
    return path


class _Rows(HTMLParser):
    """Every table row of the page: its attributes and its cells (text, attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[dict[str, str | None], list[tuple[str, dict[str, str | None]]]]] = []
        self._cell: list[str] | None = None
        self._attrs: dict[str, str | None] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append((dict(attrs), []))
        elif tag in ("td", "th"):
            self._cell, self._attrs = [], dict(attrs)
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1][1].append(("".join(self._cell).strip(), self._attrs))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _read(path: Path) -> _Rows:
    parser = _Rows()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _report_cells(page: _Rows) -> dict[tuple[str, str], tuple[str, str, str, str, str]]:
    """``(scenario, key) -> (label, base, value, difference, CI)`` from the *what it did* table."""
    out = {}
    for attrs, cells in page.rows:
        if "data-key" in attrs:  # one redesign: a row per metric
            label, base, value, diff, ci = (c for c, _ in cells)
            out[(attrs["data-scenario"], attrs["data-key"])] = (label, base, value, diff, ci)
        for text, a in cells:
            if "data-key" in a:  # several redesigns: a cell per redesign
                top, ci = text.split("\n")
                value, diff = top.split(" ", 1)
                out[(a["data-scenario"], a["data-key"])] = (cells[0][0], cells[1][0], value, diff.strip(), ci.strip())
    return out


def _cli_rows(stdout: str) -> dict[tuple[str, str], str]:
    """``(scenario, label) -> line`` of the command line's table."""
    out, scenario = {}, None
    for line in stdout.splitlines():
        if " minus base: " in line:
            scenario = line.split(" minus base: ")[0]
        elif line.startswith("  ") and scenario is not None and not line.strip().startswith("metric"):
            out[(scenario, line[2:42].strip())] = line
    return out


def _agree(cells: dict, cli: dict) -> int:
    checked = 0
    for (scenario, _), (label, base, value, diff, ci) in cells.items():
        line = cli[(scenario, label)]
        rest = line[42:].split()
        assert rest[1] == value, (line, value)
        # the base as printed, or (several redesigns: one base cell) the same figure with more decimals
        places = len(rest[0].partition(".")[2])
        assert rest[0] == f"{float(base.replace(',', '')):,.{places}f}", (line, base)
        assert " ".join(rest[2:2 + len(diff.split())]) == diff, (line, diff)
        if " to " in ci:
            low, high = ci.split(" to ")
            assert f"[{low}, {high.split(' ')[0]}]" in line, (line, ci)
        else:
            assert ("equal in every replication" in ci) == ("(equal in every replication)" in line)
        checked += 1
    return checked


@pytest.mark.parametrize("capacities", [(4,), (2, 4)], ids=["one redesign", "two redesigns"])
def test_the_report_holds_the_numbers_the_command_line_prints(tmp_path, capsys, capacities):
    files = [str(TANDEM)] + [str(_variant(tmp_path, c)) for c in capacities]
    report = tmp_path / "cmp.html"
    assert main(["compare", *files, *FAST, "--report", str(report)]) == 0
    stdout = capsys.readouterr().out
    assert f"Report written to {report.resolve()}" in stdout
    page = _read(report)
    cells = _report_cells(page)
    assert {s for s, _ in cells} == {f"Treatment x{c}" for c in capacities}
    assert _agree(cells, _cli_rows(stdout)) == len(cells) >= 4 * len(capacities)
    text = "".join(page.text)
    assert "What changed" in text and "What it did: the key metrics" in text
    if len(capacities) > 1:  # one column per redesign in both tables
        assert "as base" not in text or "Treatment x2" in text
        header = next(cells_ for attrs, cells_ in page.rows if cells_ and cells_[0][0] == "metric")
        assert [c for c, _ in header] == ["metric", "base", "Treatment x2", "Treatment x4"]


def test_metric_chooses_the_rows_of_what_it_did(tmp_path, capsys):
    files = [str(TANDEM), str(_variant(tmp_path, 2)), str(_variant(tmp_path, 4))]
    report = tmp_path / "cmp.html"
    assert main(["compare", *files, *FAST, "--metric", "Treatment.utilisation", "--metric", "Treatment.wait_minutes",
                 "--report", str(report)]) == 0
    stdout = capsys.readouterr().out
    page = _read(report)
    cells = _report_cells(page)
    assert {k for _, k in cells} == {"Treatment.utilisation", "Treatment.wait_minutes"}
    assert _agree(cells, _cli_rows(stdout)) == 4
    text = "".join(page.text)
    assert "What it did: the metrics chosen" in text
    assert "raised system quality" in text or "system quality" in text  # the sentence still leads with quality


def test_select_leads_the_report_and_agrees_with_the_json(tmp_path, capsys):
    files = [str(TANDEM), str(_variant(tmp_path, 2)), str(_variant(tmp_path, 4))]
    report, data = tmp_path / "select.html", tmp_path / "select.json"
    assert main(["compare", *files, *FAST, "--replications", "10", "--select", "time_in_system_minutes",
                 "--delta", "30", "--max-replications", "40", "--report", str(report), "--json", str(data)]) == 0
    capsys.readouterr()
    sel = json.loads(data.read_text())["selection"]
    assert sel["best"] == "Treatment x4"  # the most servers: the shortest time in the pathway
    page = _read(report)
    text = " ".join("".join(page.text).split())
    total = sum(a["replications"] for a in sel["alternatives"])
    assert (f"Selected: {sel['best']}, the best by time in system (lower is better) with probability ≥ "
            f"{sel['pcs']:.0%} of correct selection within an indifference zone of 30 min, after {total:,} "
            "replications in all") in text
    assert text.index("Selected:") < text.index("What changed") < text.index("What it did")
    table = {cells[0][0].removesuffix(" (base)").strip(): [c for c, _ in cells]
             for attrs, cells in page.rows if len(cells) == 5 and cells[0][0] != "alternative"
             and cells[4][0].startswith(("selected", "eliminated", "not separated"))}
    assert set(table) == {a["name"] for a in sel["alternatives"]}
    for a in sel["alternatives"]:
        name, mean, ci, reps, outcome = table[a["name"]]
        assert reps == f"{a['replications']:,}"
        assert outcome == ("selected" if a["name"] == sel["best"] else
                           f"eliminated after {a['eliminated_after']:,} replications")
        low, high = a["ci95"]
        assert low <= a["mean"] <= high
        unit = mean.split(" ")[1]  # min or h, by the size of the means
        scale = {"min": 1.0, "h": 1 / 60, "d": 1 / 1440}[unit]
        places = len(mean.split(" ")[0].split(".")[1]) if "." in mean else 0
        assert mean == f"{a['mean'] * scale:,.{places}f} {unit}"


def test_a_stop_at_the_maximum_says_so_with_the_survivors(tmp_path, capsys):
    """An overloaded Treatment (2 servers) varies so much from one replication to the next that KN, with a
    zone of 5 min, cannot part it from 4 servers in 12 replications: the report says so and names both."""
    files = [str(TANDEM), str(_variant(tmp_path, 2)), str(_variant(tmp_path, 4))]
    report, data = tmp_path / "max.html", tmp_path / "max.json"
    assert main(["compare", *files, *FAST, "--select", "time_in_system_minutes", "--delta", "5",
                 "--max-replications", "12", "--report", str(report), "--json", str(data)]) == 0
    capsys.readouterr()
    sel = json.loads(data.read_text())["selection"]
    assert sel["reason"] == "maximum" and sel["best"] is None
    text = " ".join("".join(_read(report).text).split())
    assert ("No alternative selected: the procedure stopped at the maximum of 12 replications each "
            f"({sum(a['replications'] for a in sel['alternatives'])} in all) before it could tell which of "
            f"{', '.join(sel['survivors'])} is the best") in text
    assert text.count("not separated: still in at the maximum") == len(sel["survivors"]) == 2


@pytest.mark.parametrize("extra, message", [
    (["--metric", "no_such_metric"], "no_such_metric"),
    (["--select", "quality.system"], "--delta"),
    (["--title", "T"], "--title"),
])
def test_bad_input_leaves_no_report(tmp_path, capsys, extra, message):
    files = [str(TANDEM), str(_variant(tmp_path, 4))]
    report = tmp_path / "bad.html"
    args = ["compare", *files, *FAST, *extra] + ([] if extra[0] == "--title" else ["--report", str(report)])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(tmp_path.glob("bad*")) == [] and [p.name for p in tmp_path.iterdir()] == ["treatment_4.toml"]


def test_a_selection_of_other_scenarios_is_refused(tmp_path):
    base = js.load_scenario(TANDEM).with_settings(horizon=2 * 1440.0, warmup=0.0)
    variants = [base] + [js.load_scenario(_variant(tmp_path, c)).with_settings(horizon=2 * 1440.0, warmup=0.0)
                         for c in (2, 4)]
    comparison = js.compare(variants, replications=3, workers=1, progress=False)
    selection = js.select_best(comparison, "time_in_system_minutes", delta=5.0, max_replications=3)
    other = js.compare(variants[:2], replications=3, workers=1, progress=False)
    with pytest.raises(js.JourneySimError, match="the selection is of"):
        js.report_html(other, selection=selection)
    with pytest.raises(js.JourneySimError, match="not with one result"):
        js.report_html(comparison.results[0], selection=selection)
    path = js.write_report(comparison, tmp_path / "ok.html", selection=selection)
    assert "Selected: " in path.read_text(encoding="utf-8") or "No alternative selected" in path.read_text()
