"""Notebooks in notebooks/ run from top to bottom."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    """Every code cell of the notebook runs, in order, in one namespace, from the notebooks folder."""
    monkeypatch.chdir(path.parent)
    namespace: dict[str, object] = {"__name__": "__main__"}
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    assert cells
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        exec(compile(source, f"{path.name}[{i}]", "exec"), namespace)  # noqa: S102 - our own notebook
    assert os.getcwd() == str(path.parent)
    if path.name == "quickstart.ipynb":
        table = namespace["summary"].quality_table()
        assert {"STEMI", "NSTEMI"} <= set(table.index)
        assert ((table["exact"] > 0) & (table["exact"] < 1)).all()
        # the redesign removes information defects, so exact quality must rise for every AMI class
        redesign = namespace["js"].exact_quality(namespace["redesign"].model).by_class
        base = namespace["js"].exact_quality(namespace["scenario"].model).by_class
        assert redesign["STEMI"] > base["STEMI"] and redesign["NSTEMI"] > base["NSTEMI"]
