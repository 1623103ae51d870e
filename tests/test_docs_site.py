"""The documentation site (mkdocs.yml, docs/site_hooks.py) builds with warnings as errors, and every public name
of journeysim has a doctested Examples section.

The site needs the ``docs`` extra (``pip install -e ".[docs]"``; ``make test`` installs it). Without it the
build tests are skipped, except under CI, where a missing extra is an error. The Examples check needs nothing
but journeysim: pytest's ``--doctest-modules`` (pyproject.toml) runs the examples it finds.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import journeysim as js

ROOT = Path(__file__).resolve().parent.parent

#: constants: their docs are the comments beside them and the API pages, not a docstring of their own type
DATA = {"__version__", "FIELDS", "HANDOFF_KINDS"}

# numpydoc: a section title, then a line of dashes
_SECTION = re.compile(r"^[ \t]*([A-Z][A-Za-z ]*)\n[ \t]*-{3,}[ \t]*$", re.M)


def examples_section(doc: str | None) -> str | None:
    """The text of a numpydoc docstring's Examples section, or None when it has none.

    >>> examples_section('''Add.
    ...
    ... Examples
    ... --------
    ... >>> 1 + 1
    ... 2
    ... ''').strip()
    '>>> 1 + 1\\n2'
    >>> examples_section("No examples.") is None
    True
    """
    if not doc:
        return None
    doc = inspect.cleandoc(doc)
    sections = list(_SECTION.finditer(doc))
    for i, section in enumerate(sections):
        if section.group(1).strip() == "Examples":
            end = sections[i + 1].start() if i + 1 < len(sections) else len(doc)
            return doc[section.end():end]
    return None


def documented_objects() -> dict[str, object]:
    """Each public name of ``journeysim.__all__`` -> its object; a module's public functions and classes by
    ``module.name`` instead of the module itself."""
    found: dict[str, object] = {}
    for name in js.__all__:
        if name in DATA:
            continue
        value = getattr(js, name)
        if inspect.ismodule(value):
            for member in value.__all__:
                found[f"{name}.{member}"] = getattr(value, member)
        else:
            found[name] = value
    return found


#: names whose docstrings live in files another change owns at the moment (issue 17: src/journeysim/data,
#: analysis/fidelity.py); their examples come when it has merged. The test fails if one gains an example
#: (remove it here) or if any other name lacks one.
PENDING: set[str] = set()


def test_every_public_name_has_a_doctested_examples_section():
    missing = {name for name, value in documented_objects().items()
               if ">>>" not in (examples_section(value.__doc__) or "")}
    assert not missing - PENDING, f"public names without an Examples section with a >>> line: {missing - PENDING}"
    assert not PENDING - missing, f"these have examples now: remove them from PENDING: {PENDING - missing}"


def test_the_examples_are_collected_as_doctests():
    """pytest runs the docstrings of src/journeysim as doctests (pyproject.toml), so an example that stops
    being true fails the suite."""
    import tomllib

    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in options["addopts"]
    assert "src/journeysim" in options["testpaths"]
    for name, value in documented_objects().items():
        module = inspect.getmodule(value)
        assert module is not None and module.__name__.startswith("journeysim"), name


def test_the_examples_check_can_fail():
    def bare():
        """No Examples section here.

        Notes
        -----
        >>> 1
        1
        """

    def prose():
        """Examples
        --------
        Call it.
        """

    assert ">>>" not in (examples_section(bare.__doc__) or "")
    assert ">>>" not in (examples_section(prose.__doc__) or "")


# ---------------------------------------------------------------- the site

@pytest.fixture(scope="module")
def site(tmp_path_factory, request):
    """The site built by ``mkdocs build --strict`` into a temporary folder. Its tutorials are the notebooks as
    run once for this test session (tests/conftest.py), handed to docs/site_hooks.py so it need not run them."""
    if importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("CI"):
            raise RuntimeError("mkdocs is missing: `make test` installs the docs extra (pip install -e '.[docs]')")
        pytest.skip("the docs extra is not installed (pip install -e '.[docs]'; make test installs it)")
    notebooks, _ = request.getfixturevalue("executed_notebooks")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "JOURNEYSIM_EXECUTED_NOTEBOOKS": str(notebooks)}
    # not -q: it silences the warnings before --strict counts them (mkdocs 1.6), so a page missing from the nav
    # would pass here and fail `make docs`
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(out / "site")], cwd=out, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out / "site"


@pytest.mark.parametrize("page", [
    "index.html", "getting-started.html",
    "tutorials/quickstart.html", "tutorials/ami_walkthrough.html",
    "tutorials/discover_sepsis.html",
    "howto/redesign-a-handoff.html", "howto/compare-and-select.html", "howto/dask.html",
    "howto/fit-and-discover.html",
    "scenarios.html", "results.html", "records.html", "cli.html", "api/index.html",
])
def test_key_pages_exist(site, page):
    assert (site / page).is_file()


def test_the_notebooks_are_rendered(site):
    import json

    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        page = (site / "tutorials" / f"{notebook.stem}.html").read_text()
        first = next(c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code")
        line = next(x for x in first["source"] if x.strip() and "(" in x).strip()
        assert "jupyter-wrapper" in page, notebook.name
        # the first code cell is on the page (highlighted, so compare its identifiers)
        assert all(word in page for word in re.findall(r"[A-Za-z_]{4,}", line)), (notebook.name, line)


#: a figure, printed text and a table each tutorial page must show (outputs of the run at build time)
TUTORIAL_OUTPUTS = {
    "quickstart": ("AMI pathway: mid-size 24/7 PCI centre - 13 microsystems", "gain in system quality"),
    "ami_walkthrough": ("Journeys free of element defects:", "System quality by class"),
    "discover_sepsis": ("antibiotics_1h:", "<b>Fidelity</b>"),
}


@pytest.mark.parametrize("name", sorted(TUTORIAL_OUTPUTS))
def test_the_tutorials_show_their_outputs(site, name):
    """Each tutorial page shows the notebook as run when the site was built: printed text, tables and (where
    the notebook plots) figures as embedded PNG images; no standard-error output (warnings, progress bars)."""
    page = (site / "tutorials" / f"{name}.html").read_text()
    for text in TUTORIAL_OUTPUTS[name]:
        assert text in page, (name, text)
    assert "<table" in page and "jp-OutputArea-output" in page, name
    if name != "quickstart":  # the quick start draws no figure
        assert len(re.findall(r"<img [^>]*src=\"data:image/png;base64,", page)) >= 3, name
    assert not re.search(r'<div [^>]*data-mime-type="application/vnd.jupyter.stderr"', page), name
    assert "Kernel is running" not in page, name
    assert "run when this site was built" in page and f"journeysim {js.__version__}" in page, name
    assert ("It ran on the " in page) == (name == "discover_sepsis"), name  # which sepsis log (whole or subset)


def test_the_cli_page_is_every_commands_help(site):
    from journeysim.cli import _parser

    page = (site / "cli.html").read_text()
    sub = next(a for a in _parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, command in sub.choices.items():
        assert f"journeysim {name}" in page, name
        for action in command._actions:
            for option in action.option_strings:
                assert option in page, (name, option)
    assert "<!-- journeysim-cli -->" not in page


def test_every_public_name_is_on_an_api_page(site):
    pages = "".join(p.read_text() for p in (site / "api").glob("*.html"))
    where = {name: f"journeysim.{module}" for module, names in js._LAZY.items() for name in names}
    for name in js.__all__:
        if name == "__version__":
            continue
        module = where.get(name) or ("journeysim.examples" if name == "examples" else getattr(js, name).__module__)
        anchor = module if name == "examples" else f"{module}.{name}"
        assert f'id="{anchor}"' in pages, anchor


def test_links_out_of_docs_point_to_the_repository(site):
    """docs/discovery.md links ../notebooks/discover_sepsis.ipynb (right on GitHub): on the site, the tutorial."""
    page = (site / "discovery.html").read_text()
    assert "../notebooks/" not in page
    assert 'href="tutorials/discover_sepsis.html' in page


def _hooks():
    pytest.importorskip("mkdocs")
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        spec = importlib.util.spec_from_file_location("site_hooks_for_test", ROOT / "docs" / "site_hooks.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "docs"))
    return module


def test_the_sepsis_tutorial_says_which_log_it_ran_on(tmp_path):
    """Without ../shared/data/sepsis.csv the notebook runs on the 60-case subset: its page says so plainly."""
    hooks = _hooks()
    run = sys.modules["run_notebooks"]
    assert run.log_used("discover_sepsis.ipynb", None) == "tests/data/sepsis_60.csv"
    assert run.log_used("discover_sepsis.ipynb", tmp_path) == "tests/data/sepsis_60.csv"  # no sepsis.csv in it
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sepsis.csv").write_text("x")
    assert run.log_used("discover_sepsis.ipynb", tmp_path) == "../shared/data/sepsis.csv"
    assert run.log_used("quickstart.ipynb", tmp_path) is None
    subset = hooks.notebook_note("discover_sepsis.ipynb", "1.0", "tests/data/sepsis_60.csv")
    assert "ran on the 60-case subset <code>tests/data/sepsis_60.csv</code>" in subset
    assert "<code>../shared/data/sepsis.csv</code> was absent" in subset and "numbers below differ" in subset
    whole = hooks.notebook_note("discover_sepsis.ipynb", "1.0", "../shared/data/sepsis.csv")
    assert "whole sepsis log, <code>../shared/data/sepsis.csv</code> (1,050 cases)" in whole
    assert "subset" not in whole
    plain = hooks.notebook_note("quickstart.ipynb", "1.0")
    assert "sepsis" not in plain and "run when this site was built" in plain and "journeysim 1.0" in plain

    class Page:  # the executed notebook's metadata is what the page reads
        class file:
            abs_src_path = str(tmp_path / "nb.ipynb")

    (tmp_path / "nb.ipynb").write_text('{"cells": [], "metadata": {"journeysim_log": "tests/data/sepsis_60.csv"}}')
    assert hooks._log_of(Page) == "tests/data/sepsis_60.csv"
    (tmp_path / "nb.ipynb").write_text('{"cells": [], "metadata": {}}')
    assert hooks._log_of(Page) is None


def _local_links(page: Path) -> list[str]:
    """The links of a page that stay on the site (no scheme, no bare anchor)."""
    hrefs = re.findall(r'<a [^>]*href="([^"]*)"', page.read_text(encoding="utf-8"))
    return [h.split("#")[0] for h in hrefs if h and not h.startswith(("#", "mailto:")) and "://" not in h]


def test_every_link_opens_a_file_from_disk(site):
    """README says to open site/index.html: over file:// a link to ``getting-started/`` shows a folder listing
    (no web server serves its index.html), so every link between pages must name an .html file that exists
    (mkdocs.yml: use_directory_urls: false)."""
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")  # the 404 page is for servers only
    assert len(pages) > 20
    broken = []
    for page in pages:
        for href in _local_links(page):
            if not href:
                continue
            target = (page.parent / href).resolve()
            if not target.is_file():
                broken.append(f"{page.relative_to(site)} -> {href}")
    assert not broken, f"links that do not open a file from disk: {broken[:10]}"
    index = site / "index.html"
    assert "getting-started.html" in _local_links(index)


def test_select_best_says_first_that_delta_is_a_fraction_where_the_cli_takes_points():
    """`js.select_best(..., delta=0.5)` is 50 points of a share, where `--delta 0.5` is half a point: the docstring
    says so before its parameters, with the two spelled side by side."""
    doc = inspect.getdoc(js.select_best) or ""
    first = doc.split("Parameters")[0]
    assert "a share is a fraction" in first and "delta=0.005" in first and "--delta 0.5" in first
    assert ">>> s.delta" in doc


def test_the_readme_fit_example_prints_the_line_the_readme_shows(tmp_path, monkeypatch, capsys):
    """The README's `journeysim fit` line, run as written on a column of lognormal stays, prints the scenario line
    the README quotes (its key was `service` without `--key exit_delay`)."""
    import shlex

    import numpy as np

    from journeysim.cli import main

    readme = (ROOT / "README.md").read_text()
    command = next(line for line in readme.splitlines() if line.startswith("journeysim fit "))
    shown = re.search(r"`(\w+) = \{ dist = ", readme[readme.index("`journeysim fit` fits"):])
    assert shown is not None
    rng = np.random.default_rng(1)
    rows = [f"{x:.3f},{'yes' if c else 'no'}" for x, c in zip(rng.lognormal(1.06, 0.79, 300), rng.random(300) < 0.1)]
    (tmp_path / "stays.csv").write_text("ward_hours,still_in\n" + "\n".join(rows) + "\n")
    monkeypatch.chdir(tmp_path)
    assert main(shlex.split(command.split("#")[0])[1:]) == 0
    assert re.search(rf"^{shown.group(1)} = \{{ dist = ", capsys.readouterr().out, re.M)


def test_the_readme_names_only_output_options_that_run_has():
    """The README's output-files paragraph: every option it names is `run`'s, or `-o` (report, discover, ...), or
    says whose it is (`sweep`'s `--csv`: it read as if `run` had a --csv)."""
    from journeysim.cli import _parser

    readme = (ROOT / "README.md").read_text()
    paragraph = readme[readme.index("Output files ("):]
    paragraph = paragraph[:paragraph.index(")")]
    sub = next(a for a in _parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    run = {option for action in sub.choices["run"]._actions for option in action.option_strings}
    for option in re.findall(r"`(-[\w-]+)`", paragraph):
        whose = [name for name, command in sub.choices.items()
                 if option in {o for action in command._actions for o in action.option_strings}]
        assert whose, option
        assert option in run or option == "-o" or any(f"`{name}`'s `{option}`" in paragraph for name in whose), option
