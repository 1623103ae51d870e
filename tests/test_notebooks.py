"""Notebooks in notebooks/ run from top to bottom in a Jupyter kernel (nbclient), and show what they claim."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# discover_sepsis.ipynb reads ../shared/data/sepsis.csv beside the checkout, else tests/data's 60-case subset

# Checks appended as a last cell: they run in the notebook's own namespace, after every cell. A notebook without
# an entry here runs without checks (and test_notebook_runs_top_to_bottom fails for it).
CHECKS = {
    "quickstart.ipynb": """
table = summary.quality_table()
assert {"STEMI", "NSTEMI"} <= set(table.index)
assert ((table["exact"] > 0) & (table["exact"] < 1)).all()
# the redesign removes information defects, so exact quality must rise for every AMI class
after_exact = js.exact_quality(redesign.model).by_class
before_exact = js.exact_quality(scenario.model).by_class
assert after_exact["STEMI"] > before_exact["STEMI"] and after_exact["NSTEMI"] > before_exact["NSTEMI"]
""",
    "ami_walkthrough.ipynb": """
# the redesign removes handoff defects: the exact quality rises, and the paired simulated gain is positive
assert js.exact_quality(redesign.model).system > js.exact_quality(scenario.model).system
assert gain["mean"] > 0 and gain["ci95"][0] > 0, gain
# common random numbers: the redesign changes no times, so waits are identical
assert comparison.differences[redesign.name]["CathLab.wait_minutes"]["mean"] == 0
# one case per recorded journey in the event log
assert log["case:concept:name"].nunique() == len(result.journeys())
assert "Scenario differences" in Path(path).read_text()
""",
    "discover_sepsis.ipynb": """
# discovered from the first 80%, measured on the last 20%, the standard and Return ER compared
assert log.n_cases in (60, 1050) and train.n_cases == log.n_cases - math.ceil(0.2 * log.n_cases)
assert fid.cases["training"] == train.n_cases and [r.name for r in fid.rates] == ["antibiotics_1h", "Return ER"]
assert {"cfld", "ngram", "relative", "stay", "routing"} <= set(table.index)
assert r.best.family in ("lognormal", "gamma", "weibull", "exponential", "normal") and len(door_to_needle) >= 20
assert summary.journeys.completed > 0
if log.n_cases == 1050:  # the whole log: the figures of docs/discovery.md ("The sepsis log"), seed 0
    assert abs(table.loc["cfld", "ratio"] - 1.55) < 0.005 and table.loc["cfld", "within_2x"]
    assert table["within_2x"].all()  # seed 0: every measure within 2x (docs/discovery.md, "The sepsis log")
""",
}


@pytest.fixture(scope="module")
def executed(executed_notebooks):
    """The notebook of that name as executed, with its checks cell: every notebook runs once per test session
    (tests/conftest.py, docs/run_notebooks.py), in a folder laid out as a checkout, and the site build
    (tests/test_docs_site.py) renders the same run."""
    _folder, notebooks = executed_notebooks
    return notebooks.__getitem__


def _outputs(nb: nbformat.NotebookNode, mime: str) -> int:
    return sum(mime in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, executed):
    """Every cell runs in order in a kernel, with no error output, and the appended checks hold."""
    assert path.name in CHECKS, f"add the checks of {path.name} to CHECKS"
    nb = executed(path.name)
    errors = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
              if out.output_type == "error"]
    assert errors == []
    assert nb.cells[-1].source == CHECKS[path.name] and nb.cells[-1].execution_count, "the checks ran last"


def test_the_sites_copies_are_the_same_run_without_the_checks(executed_notebooks):
    """The tutorial pages show each notebook as run for these tests: its outputs, without the checks cell, without
    standard-error output, and without the temporary folder it ran in."""
    folder, notebooks = executed_notebooks
    for path in NOTEBOOKS:
        run, shown = notebooks[path.name], nbformat.read(folder / path.name, as_version=4)
        committed = nbformat.read(path, as_version=4)
        assert [c.source for c in shown.cells] == [c.source for c in committed.cells], path.name
        ran = [c for c in run.cells if c.cell_type == "code"][:-1]  # without the checks
        for c_run, c_shown in zip(ran, [c for c in shown.cells if c.cell_type == "code"], strict=True):
            kept = [out for out in c_run.outputs if out.get("name") != "stderr"]
            assert [out.output_type for out in c_shown.outputs] == [out.output_type for out in kept], path.name
            assert [out.get("data", {}).get("image/png") for out in c_shown.outputs] == \
                [out.get("data", {}).get("image/png") for out in kept], path.name
        assert sum(len(c.outputs) for c in shown.cells if c.cell_type == "code") >= 5, path.name
        text = nbformat.writes(shown)
        assert str(folder) not in text and '"name": "stderr"' not in text, path.name
    assert "../shared/data/sepsis.csv" in nbformat.writes(nbformat.read(folder / "discover_sepsis.ipynb", 4)) \
        or not (folder / "shared").exists()


def test_committed_notebooks_have_no_outputs():
    """The notebooks are committed without outputs (small diffs, never a stale figure): the site shows them run."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code"), path.name


def test_walkthrough_shows_html_tables_and_plots(executed):
    """Results display as HTML tables (``_repr_html_``) and every plot cell draws a figure."""
    nb = executed("ami_walkthrough.ipynb")
    html = [out["data"]["text/html"] for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
            if "text/html" in out.get("data", {})]
    assert any("<b>Exact quality</b>" in h for h in html)
    assert any("<b>SimulationResult</b>" in h for h in html)
    assert any("System quality by class" in h and "<table" in h for h in html)
    assert any("<b>Comparison</b>" in h for h in html)
    plot_cells = sum("plot." in "".join(cell.source) for cell in nb.cells if cell.cell_type == "code")
    assert _outputs(nb, "image/png") >= plot_cells >= 6


def test_executed_walkthrough_stays_small(executed):
    """Results show a few lines as plain text, so the executed walkthrough saves as a small file (was 17.6 MB)."""
    nb = executed("ami_walkthrough.ipynb")
    plain = [out["data"]["text/plain"] for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
             if "text/plain" in out.get("data", {})]
    assert max(len(text) for text in plain) < 2_000
    assert len(nbformat.writes(nb)) < 3_000_000


def test_sepsis_notebook_draws_its_figures(executed):
    """The sepsis notebook draws its three figures (the fit, time in system, the fidelity ratios) and shows the
    discovery and fidelity reports as HTML."""
    nb = executed("discover_sepsis.ipynb")
    assert _outputs(nb, "image/png") >= 3
    html = [out["data"]["text/html"] for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
            if "text/html" in out.get("data", {})]
    assert any("<b>Fidelity</b>" in h for h in html)


def test_walkthrough_standards_table_reads_without_scientific_notation(executed):
    """The standards table showed its targets and medians as 1.01e+04 and 9.35e+04 minutes: they read in minutes,
    hours or days, and the shares in percent."""
    nb = executed("ami_walkthrough.ipynb")
    cell = next(c for c in nb.cells if c.cell_type == "code" and "standards_table()" in c.source)
    html = next(out["data"]["text/html"] for out in cell.outputs if "text/html" in out.get("data", {}))
    assert "e+0" not in html and "7.0 d" in html and "30.0 d" in html and "met %" in html
