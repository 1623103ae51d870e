"""Shared fixtures: small models whose behaviour theory predicts."""

from __future__ import annotations

import os

import numpy as np
import pytest

import journeysim as js


def tandem_model(servers=(2, 3, 1), rate=1.0, utilisation=0.7, defect=0.0, handoff_defects=None) -> js.Model:
    """Nodes in series with exponential service at the given utilisation."""
    nodes = [
        js.Microsystem(f"N{i}", capacity=c, service=js.Exponential(utilisation * c / rate), defect=defect)
        for i, c in enumerate(servers)
    ]
    handoffs = [
        js.Handoff(f"N{i}", f"N{i + 1}", defects=handoff_defects or {}) for i in range(len(servers) - 1)
    ]
    return js.Model(nodes, handoffs, classes=[js.PatientClass("all", entry="N0", rate=rate)])


def single_node(capacity, mean_service, rate, defect=0.0) -> js.Model:
    return js.Model(
        [js.Microsystem("Clinic", capacity=capacity, service=js.Exponential(mean_service), defect=defect)],
        classes=[js.PatientClass("all", entry="Clinic", rate=rate)],
    )


def write(tmp_path, text: str, name: str = "s.toml"):
    """Write a (dedented) scenario file into ``tmp_path`` and return its path."""
    import textwrap

    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def ci99(values) -> tuple[float, float]:
    """Student-t 99% interval of replication values (computed here, not by the library)."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.995, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return x.mean() - half, x.mean() + half


#: test files that share one expensive run through a session-scoped fixture (the notebooks, executed once,
#: and the documentation site built from the executed copies): under pytest-xdist they run on one worker
SHARED_RUN = ("test_notebooks.py", "test_docs_site.py")


def scope_of(nodeid: str) -> str:
    """The unit of work of a test under ``make test`` (pytest-xdist, ``--dist loadscope``): its file, so a file's
    module-scoped fixtures are computed once, on one worker; the notebooks and the site share one.

    >>> scope_of("tests/test_docs_site.py::test_key_pages_exist[index.html]")
    'notebooks and site'
    >>> scope_of("tests/test_roundtrip.py::test_service_medians_within_10_percent[EMS]")
    'tests/test_roundtrip.py'
    """
    path = nodeid.split("::", 1)[0]
    return "notebooks and site" if path.endswith(SHARED_RUN) else path


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: without it installed, never called
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadscope`` with the scopes of :func:`scope_of` (pytest-xdist's ``xdist_group`` marks do not reach
    the test ids under pytest 9, so the grouping is done here). Only called when xdist distributes."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return FileScheduling(config, log)


@pytest.fixture
def tandem():
    return tandem_model()


@pytest.fixture(params=[(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)], ids=["umask022", "umask077"])
def umask(request):
    """Run a test under a umask; give the modes it means for a new file and a new folder."""
    mask, file_mode, folder_mode = request.param
    old = os.umask(mask)
    yield file_mode, folder_mode
    os.umask(old)


@pytest.fixture(scope="session")
def executed_notebooks(tmp_path_factory):
    """The notebooks of notebooks/, each run once per test session by docs/run_notebooks.py, with the checks of
    tests/test_notebooks.py appended: ``(folder, {name: executed notebook})``. tests/test_notebooks.py reads the
    notebooks; tests/test_docs_site.py renders the folder's copies (without the checks) on the tutorial pages."""
    import importlib.util
    from pathlib import Path

    from test_notebooks import CHECKS  # tests/ is on sys.path (pytest's rootdir conftest)

    spec = importlib.util.spec_from_file_location(
        "run_notebooks", Path(__file__).resolve().parent.parent / "docs" / "run_notebooks.py")
    assert spec is not None and spec.loader is not None
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    folder = tmp_path_factory.mktemp("notebooks")
    return folder, runner.execute_all(folder, checks=CHECKS)
