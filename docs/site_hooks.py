"""MkDocs hooks for journeysim's documentation site (mkdocs.yml ``hooks:``); not part of the package.

Three things are made at build time, so that they cannot drift from the code:

* the tutorials: ``notebooks/*.ipynb`` (committed without outputs) are run against this checkout's code
  by docs/run_notebooks.py, and the executed copies become ``tutorials/NAME.ipynb`` pages with their
  tables, printed text and figures (mkdocs-jupyter renders them with ``execute: false``). When
  ``JOURNEYSIM_EXECUTED_NOTEBOOKS`` names a folder of executed notebooks (``make test`` runs them once,
  for tests/test_notebooks.py, and hands them over), those are rendered instead of running them again;
* the command line: the ``<!-- journeysim-cli -->`` marker in ``docs/cli.md`` becomes the ``--help``
  of ``journeysim`` and of every subcommand, taken from the argparse parser itself;
* the Python API: ``api/*.md``, one page per layer, with a mkdocstrings block for each name in
  ``journeysim.__all__``, documented where it is defined (``journeysim._LAZY`` says where), so the
  lazy imports of ``journeysim/__init__.py`` need no special handling.

A link in ``docs/*.md`` to a file outside ``docs/`` (``../scenarios/ami.toml``) works on GitHub; on
the site it becomes a link to the file in the repository, or to the tutorial page for a notebook.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

# docs/ is on sys.path while mkdocs loads this file
from run_notebooks import ENV as EXECUTED_ENV
from run_notebooks import METADATA, SEPSIS_LOG, SEPSIS_SUBSET, execute_all

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CLI_MARKER = "<!-- journeysim-cli -->"
HELP_WIDTH = "100"
log = logging.getLogger("mkdocs.plugins.journeysim")
_TUTORIALS: tempfile.TemporaryDirectory[str] | None = None

#: API pages: (file, title, what it holds, the top-level modules whose public names it documents)
API_PAGES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("model", "Model elements", "What is simulated: microsystems, handoffs, classes, distributions, the clock.",
     ("model",)),
    ("scenario-files", "Scenario files", "Reading scenario files (TOML) into a `Scenario`.", ("io",)),
    ("running", "Running and results", "Simulating, the records of every journey, provenance and the run-size guard.",
     ("engine", "run", "analysis.result")),
    ("analysis", "Analysis", "What the runs mean: summaries, exact quality, comparisons, selection, warm-up.",
     ("analysis",)),
    ("data", "Data: fitting and discovery", "From a hospital's own data: fitting distributions, reading event logs, "
     "discovering a model, measuring its fidelity.", ("data", "analysis.fidelity")),
    ("outputs", "Outputs", "The HTML report, event logs and the headline.", ("outputs", "analysis.headline")),
    ("examples", "Example scenarios", "The scenarios that ship with journeysim.", ("examples",)),
    ("errors", "Errors and warnings", "What journeysim raises.", ("errors",)),
)


def _sys_path() -> None:
    src = str(ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)


# ---------------------------------------------------------------- the Python API pages

def public_names() -> dict[str, str]:
    """Each public name of ``journeysim.__all__`` -> the module that defines it (``journeysim.model.elements``)."""
    _sys_path()
    import journeysim

    where = {name: f"journeysim.{module}" for module, names in journeysim._LAZY.items() for name in names}
    found: dict[str, str] = {}
    for name in journeysim.__all__:
        if name == "__version__":
            continue
        if name in where:
            found[name] = where[name]
        elif name == "examples":  # a module: documented whole
            found[name] = "journeysim.examples"
        else:  # imported eagerly in journeysim/__init__.py (the errors)
            found[name] = getattr(journeysim, name).__module__
    return found


def _page_of(module: str) -> str:
    """The API page whose module prefixes match ``module`` best (the longest prefix wins)."""
    short = module.removeprefix("journeysim.")
    best, length = "", -1
    for page, _title, _about, prefixes in API_PAGES:
        for prefix in prefixes:
            if (short == prefix or short.startswith(prefix + ".")) and len(prefix) > length:
                best, length = page, len(prefix)
    if not best:
        raise ValueError(f"no API page for {module}: add its layer to API_PAGES in docs/site_hooks.py")
    return best


def api_pages() -> dict[str, str]:
    """``api/PAGE.md`` -> its Markdown, and ``api/index.md`` listing every public name."""
    names = public_names()
    by_page: dict[str, list[tuple[str, str]]] = {page: [] for page, *_ in API_PAGES}
    for name, module in names.items():
        by_page[_page_of(module)].append((name, module))
    pages: dict[str, str] = {}
    index = ["# Python API", "",
             "Everything below is importable from the top level (`import journeysim as js`; `js.Model`, "
             "`js.simulate`), and documented where it is defined. These pages are made from "
             "`journeysim.__all__` and the docstrings when the site is built.", ""]
    for page, title, about, _ in API_PAGES:
        entries = by_page[page]
        if not entries:
            continue
        index += [f"## [{title}]({page}.md)", "", about, "",
                  ", ".join(f"[`{name}`][{_target(name, module)}]" for name, module in entries), ""]
        body = [f"# {title}", "", about, ""]
        for name, module in entries:
            if module == f"journeysim.{name}":  # a module: js.examples
                body += [f"::: {module}", "    options:", "      show_root_heading: true", "      heading_level: 2",
                         "      members: true", ""]
            else:
                body += [f"::: {module}.{name}", ""]
        pages[f"api/{page}.md"] = "\n".join(body)
    pages["api/index.md"] = "\n".join(index)
    return pages


def _target(name: str, module: str) -> str:
    return module if module == f"journeysim.{name}" else f"{module}.{name}"


# ---------------------------------------------------------------- the command-line page

@contextlib.contextmanager
def _columns(width: str) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def cli_markdown() -> str:
    """``journeysim --help`` and ``journeysim COMMAND --help`` for every command, as Markdown."""
    _sys_path()
    from journeysim.cli import _parser

    with _columns(HELP_WIDTH):
        parser = _parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        out = ["## `journeysim`", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name, command in sub.choices.items():
            out += [f"## `journeysim {name}`", "", "```text", command.format_help().rstrip(), "```", ""]
    return "\n".join(out)


# ---------------------------------------------------------------- links out of docs/

_LINK = re.compile(r"(\]\()(\.\./[^)\s#]+)(#[^)\s]*)?(\))")


def _outside_link(page_src: str, repo_url: str) -> Any:
    page_dir = (Path("docs") / page_src).parent

    def replace(match: re.Match[str]) -> str:
        target = os.path.normpath(page_dir / match.group(2))
        anchor = match.group(3) or ""
        if target.startswith("docs" + os.sep) or target == "docs":
            return match.group(0)
        path = Path(target)
        if path.parent == Path("notebooks") and path.suffix == ".ipynb":
            new = os.path.relpath(Path("docs/tutorials") / path.name, page_dir)
        else:
            kind = "tree" if (ROOT / path).is_dir() else "blob"
            new = f"{repo_url.rstrip('/')}/{kind}/main/{path.as_posix()}"
        return f"{match.group(1)}{Path(new).as_posix() if '://' not in new else new}{anchor}{match.group(4)}"

    return replace


# ---------------------------------------------------------------- the hooks

def _executed_notebooks(run_in: Path) -> Path:
    """The folder of the executed notebooks: ``$JOURNEYSIM_EXECUTED_NOTEBOOKS``, else run them now into ``run_in``."""
    given = os.environ.get(EXECUTED_ENV)
    if given:
        folder = Path(given)
        missing = [p.name for p in NOTEBOOKS.glob("*.ipynb") if not (folder / p.name).is_file()]
        if missing:
            raise FileNotFoundError(f"{EXECUTED_ENV}={given} lacks the executed {', '.join(missing)}")
        return folder
    log.info("Running the notebooks for the tutorials (docs/run_notebooks.py)")
    execute_all(run_in)
    return run_in


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into notebook pages
def on_files(files: Files, config: Any) -> Files:
    # mkdocs-jupyter wraps each notebook's File and reads it from src_dir / src_uri, so the notebooks are
    # copied into a temporary folder laid out as the site wants them (tutorials/NAME.ipynb)
    global _TUTORIALS
    _TUTORIALS = tempfile.TemporaryDirectory(prefix="journeysim-docs-")
    (Path(_TUTORIALS.name) / "tutorials").mkdir()
    executed = _executed_notebooks(Path(_TUTORIALS.name) / "run")
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        shutil.copyfile(executed / notebook.name, Path(_TUTORIALS.name) / "tutorials" / notebook.name)
        files.append(File(f"tutorials/{notebook.name}", _TUTORIALS.name, config["site_dir"],
                          config["use_directory_urls"]))
    for path, text in api_pages().items():
        files.append(File.generated(config, path, content=text))
    return files


_ROLE = re.compile(r":(?:mod|func|class|meth|data|attr|exc|obj):(?=<code>|<a )")
_NOTEBOOK_NOTE = (
    '<div class="admonition note"><p class="admonition-title">A notebook, run when this site was built</p>'
    "<p>The tables, printed text and figures below come from running <code>notebooks/{name}</code> with "
    "journeysim {version} when this site was built. To run it yourself: <code>pip install jupyterlab "
    "journeysim</code>, then open <code>notebooks/{name}</code> from a clone of the repository.</p>{data}</div>"
)
_DATA_NOTE = {
    SEPSIS_LOG: f"<p>It ran on the whole sepsis log, <code>{SEPSIS_LOG}</code> (1,050 cases).</p>",
    SEPSIS_SUBSET: f"<p><strong>It ran on the 60-case subset <code>{SEPSIS_SUBSET}</code>, because "
                   f"<code>{SEPSIS_LOG}</code> was absent when this site was built: the numbers below differ from "
                   "the text, which describes the whole log of 1,050 cases.</strong></p>",
}


def notebook_note(name: str, version: str, log: str | None = None) -> str:
    """The note above a tutorial page: run when the site was built, with which journeysim, and on which log
    (``log``: run_notebooks.SEPSIS_LOG or SEPSIS_SUBSET, from the executed notebook's metadata; None: no log)."""
    return _NOTEBOOK_NOTE.format(name=name, version=version, data=_DATA_NOTE.get(log or "", ""))


def _log_of(page: Any) -> str | None:
    """The log the page's executed notebook says it ran on (run_notebooks.METADATA), if any."""
    import json

    try:
        meta = json.loads(Path(page.file.abs_src_path).read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, TypeError):
        return None
    return meta.get(METADATA) if isinstance(meta.get(METADATA), str) else None


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    """Sphinx roles in docstrings (:func:`x`) read as plain code; notebook pages say where their outputs come from."""
    html = _ROLE.sub("", html)
    if page.file.src_uri.startswith("tutorials/") and page.file.src_uri.endswith(".ipynb"):
        _sys_path()
        from journeysim import __version__

        html = notebook_note(Path(page.file.src_uri).name, __version__, _log_of(page)) + html
    return html


def on_post_build(config: Any) -> None:
    if _TUTORIALS is not None:
        _TUTORIALS.cleanup()


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_markdown())
    return _LINK.sub(_outside_link(page.file.src_uri, config["repo_url"]), markdown)
