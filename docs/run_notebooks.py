"""Run the notebooks of notebooks/ once, for the documentation site and the tests; not part of the package.

The notebooks are committed without outputs (small diffs, no stale figures). The site shows them with
their outputs, so they are run against the current code whenever the site is built:

* ``make docs`` / ``mkdocs build``: docs/site_hooks.py calls :func:`execute_all` into a temporary folder;
* ``make test``: one session fixture (tests/conftest.py, ``executed_notebooks``) calls it once, with the
  checks of tests/test_notebooks.py appended to each notebook, and hands the folder to the site build
  (tests/test_docs_site.py) through the ``JOURNEYSIM_EXECUTED_NOTEBOOKS`` environment variable, so no
  notebook runs twice in a test session.

Each notebook runs in ``OUT/repo/`` beside links to ``scenarios/`` and ``tests/`` (and ``OUT/shared`` to
``../shared`` when it exists), as in a checkout. The copy written for the site, ``OUT/NAME.ipynb``, has no
checks cell and no standard-error output (warnings, progress bars), and the paths in its outputs are
relative to the notebook's folder rather than to a temporary one.

Run it alone: ``python docs/run_notebooks.py OUT`` writes ``OUT/*.ipynb``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
#: the folder of already executed notebooks (OUT of execute_all) that the site build uses instead of running them
ENV = "JOURNEYSIM_EXECUTED_NOTEBOOKS"
TIMEOUT = 600  # seconds per cell


#: The whole sepsis log (1,050 cases), read from beside the checkout, and the 60-case subset shipped with the
#: tests that the notebooks reading it fall back to; the site's copy of such a notebook says which it ran on
#: in its metadata (``METADATA``), and docs/site_hooks.py writes that on the page.
SEPSIS_LOG = "../shared/data/sepsis.csv"
SEPSIS_SUBSET = "tests/data/sepsis_60.csv"
READS_SEPSIS = ("discover_sepsis.ipynb",)
METADATA = "journeysim_log"


def log_used(name: str, shared: Path | None) -> str | None:
    """The sepsis log notebook ``name`` runs on (``SEPSIS_LOG`` when ``shared`` holds it, else ``SEPSIS_SUBSET``),
    or None for a notebook that reads none."""
    if name not in READS_SEPSIS:
        return None
    return SEPSIS_LOG if shared is not None and (shared / "data" / "sepsis.csv").is_file() else SEPSIS_SUBSET


def shared_folder() -> Path | None:
    """``../shared`` beside the checkout (the whole sepsis log); in a worktree of the project, /work/shared."""
    for shared in (ROOT.parent / "shared", Path("/work/shared")):
        if (shared / "data" / "sepsis.csv").is_file():
            return shared
    return None


def _workdir(out: Path) -> Path:
    """``out/repo``, laid out as a checkout: scenarios/ and tests/ inside, ../shared beside it."""
    repo = out / "repo"
    repo.mkdir(parents=True, exist_ok=True)
    shared = shared_folder()
    if shared is not None and not (out / "shared").exists():
        (out / "shared").symlink_to(shared, target_is_directory=True)
    for name in ("scenarios", "tests"):
        if not (repo / name).exists():
            (repo / name).symlink_to(ROOT / name, target_is_directory=True)
    return repo


def for_the_site(nb: Any, checks: bool, out: Path) -> Any:
    """A copy of an executed notebook without the appended checks cell and without stderr output, whose
    paths into ``out`` read as from the notebook's folder (``../shared/data/sepsis.csv``)."""
    import copy

    nb = copy.deepcopy(nb)
    if checks:
        nb.cells = nb.cells[:-1]
    relative = ((f"{out / 'repo'}{os.sep}", ""), (f"{out}{os.sep}", f"..{os.sep}"))

    def local(text: str) -> str:
        for path, short in relative:
            text = text.replace(path, short)
        return text

    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [output for output in cell.outputs
                        if not (output.output_type == "stream" and output.name == "stderr")]
        for output in cell.outputs:
            if output.output_type == "stream":
                output.text = local(output.text)
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in output.get("data", {}):
                    output.data[mime] = local(output.data[mime])
    return nb


def _kernel_env() -> dict[str, str]:
    """The environment of the kernels: this checkout's ``src/`` first on the path, whatever journeysim is installed."""
    path = [str(ROOT / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


async def _execute(path: Path, repo: Path, checks: str | None) -> Any:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    if checks is not None:
        nb.cells.append(nbformat.v4.new_code_cell(checks))
    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(repo)}})
    # the kernel's own log ("Kernel is running over TCP without encryption") is not the notebook's output
    await client.async_execute(env=_kernel_env(), stderr=subprocess.DEVNULL)
    return nb


def execute_all(out: Path, checks: Mapping[str, str] | None = None,
                notebooks: list[Path] | None = None) -> dict[str, Any]:
    """Run every notebook once (all at a time, each in its own kernel) and write the site's copies to ``out``.

    Parameters
    ----------
    out : Path
        The folder for ``NAME.ipynb`` (the site's copies) and ``repo/`` (where the notebooks run).
    checks : mapping of str to str, optional
        Code appended as a last cell to the notebook of that name (tests/test_notebooks.py's CHECKS); it runs in
        the notebook's namespace and is left out of the site's copy.
    notebooks : list of Path, optional
        The notebooks; by default every ``notebooks/*.ipynb``.

    Returns
    -------
    dict of str to nbformat.NotebookNode
        Each notebook's name -> the notebook as executed, with its checks cell. A cell that fails raises
        RuntimeError (from nbclient's ``CellExecutionError``, which shows the cell and the traceback).
    """
    import nbformat

    checks = checks or {}
    paths = notebooks if notebooks is not None else sorted(NOTEBOOKS.glob("*.ipynb"))
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    repo = _workdir(out)

    async def run() -> list[Any]:
        return await asyncio.gather(*(_execute(path, repo, checks.get(path.name)) for path in paths),
                                    return_exceptions=True)  # every kernel ends before an error is raised

    done = dict(zip([p.name for p in paths], asyncio.run(run()), strict=True))
    for name, nb in done.items():
        if isinstance(nb, BaseException):
            raise RuntimeError(f"notebooks/{name} failed") from nb
    executed: dict[str, Any] = done
    shared = shared_folder()
    for name, nb in executed.items():
        site = for_the_site(nb, name in checks, out)
        used = log_used(name, shared)
        if used is not None:
            site.metadata[METADATA] = used
        nbformat.write(site, out / name)
    return executed


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python docs/run_notebooks.py OUT")
    execute_all(Path(sys.argv[1]))
