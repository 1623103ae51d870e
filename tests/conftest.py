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
SHARED_RUN = {"test_notebooks.py", "test_docs_site.py"}
_WIDER = {"module", "class", "package"}


def _group(item: pytest.Item) -> str | None:
    """The pytest-xdist group of a test: one for the notebooks and the site, its file's for a test that uses a
    module-scoped fixture of its file (so the fixture is computed once, on one worker), else none."""
    path = item.path
    if path.name in SHARED_RUN:
        return "notebooks-and-site"
    info = getattr(item, "_fixtureinfo", None)
    if info is None:  # a doctest
        return None
    for name in info.names_closure:
        for fixturedef in info.name2fixturedefs.get(name, ()):
            if fixturedef.scope in _WIDER and fixturedef.baseid == item.nodeid.split("::")[0]:
                return path.name
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``make test``: ``-n auto --dist loadgroup``), keep each shared expensive run on one
    worker; without xdist (``pytest tests/test_x.py``, ``-p no:xdist``) nothing changes."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        group = _group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


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
