"""Notebooks in notebooks/ run from top to bottom in a Jupyter kernel (nbclient), and show what they claim."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SHARED = ROOT.parent / "shared"  # discover_sepsis.ipynb reads ../shared/data/sepsis.csv, else tests/data's subset
if not (SHARED / "data" / "sepsis.csv").is_file():  # a worktree of the project
    SHARED = Path("/work/shared")

# Checks appended as a last cell: they run in the notebook's own namespace, after every cell.
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


def _run(path: Path, tmp_path: Path) -> nbformat.NotebookNode:
    """Execute a copy of the notebook in ``tmp_path/repo`` (beside links to scenarios/, tests/ and ../shared, when it
    exists), with the checks appended."""
    if SHARED.is_dir():
        (tmp_path / "shared").symlink_to(SHARED, target_is_directory=True)
    tmp_path = tmp_path / "repo"  # the notebook's folder: beside ../shared, as a checkout is
    tmp_path.mkdir()
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios", target_is_directory=True)
    (tmp_path / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CHECKS[path.name]))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Each notebook executed once, on first use."""
    cache: dict[str, nbformat.NotebookNode] = {}

    def get(name: str) -> nbformat.NotebookNode:
        if name not in cache:
            cache[name] = _run(ROOT / "notebooks" / name, tmp_path_factory.mktemp(name.split(".")[0]))
        return cache[name]

    return get


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
