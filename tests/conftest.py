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
