"""The package's shape: each layer imports only the layers before it, with no cycles, however it imports."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

SRC = Path(__file__).parent.parent / "src" / "journeysim"

#: The layers in the order data flows; a module may import its own layer and those before it.
LAYERS = ("errors", "model", "io", "data", "engine", "run", "analysis", "outputs", "top")
TOP_MODULES = {"journeysim", "journeysim.cli", "journeysim._moved", "journeysim.plot"}
BOTTOM_MODULES = {"journeysim.errors", "journeysim._version", "journeysim.examples"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}


def layer(module: str) -> int:
    if module in TOP_MODULES or module.startswith("journeysim.app"):  # the what-if app sits beside the CLI
        return LAYERS.index("top")
    if module in BOTTOM_MODULES:
        return LAYERS.index("errors")
    return LAYERS.index(module.split(".")[1])


def imports(module: str) -> list[tuple[str, int]]:
    """Every journeysim module that ``module`` imports, with the line: at the top, in functions,
    under ``TYPE_CHECKING``, anywhere in its syntax tree."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "journeysim"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "journeysim":
                continue
            for a in node.names:  # "from . import plot" names a module; "from .x import y" names an object
                out.append((f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base, node.lineno))
    return [(m, line) for m, line in out if m in MODULES]


def test_a_layer_never_imports_a_later_one():
    """model < io < engine < run < analysis < outputs < cli: no import reaches forward, not even lazily."""
    wrong = [f"{MODULES[m].relative_to(SRC.parent)}:{line}: {m} ({LAYERS[layer(m)]}) imports {t} ({LAYERS[layer(t)]})"
             for m in MODULES for t, line in imports(m) if layer(t) > layer(m)]
    assert wrong == [], "\n".join(wrong)


def test_there_are_no_import_cycles():
    """The module graph is acyclic, counting every import in every module."""
    graph = nx.DiGraph((m, t) for m in MODULES for t, _ in imports(m) if t != m)
    cycles = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert cycles == []


@pytest.mark.parametrize(("library", "owner"), [("simpy", "journeysim.engine"), ("tomllib", "journeysim.io"),
                                                ("matplotlib", "journeysim.outputs")])
def test_one_owner_per_library(library, owner):
    """Only the engine imports simpy, only the file format knows TOML, only the outputs draw."""
    users = set()
    for m, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if any(n.split(".")[0] == library for n in names):
                users.add(m)
    assert users and all(u.startswith(owner) for u in users), sorted(users)


@pytest.mark.parametrize("old", ["metrics", "scenario_io", "experiment", "results", "eventlog", "analytic"])
def test_old_module_paths_work_for_a_release_and_warn(old):
    """journeysim 0.1's flat paths import, and each name found there warns with its new place."""
    import importlib

    from journeysim._moved import MOVED

    module = importlib.import_module(f"journeysim.{old}")
    new = importlib.import_module(f"journeysim.{MOVED[old]}")
    name = next(n for n in getattr(new, "__all__", ()) if not n.startswith("_"))
    with pytest.warns(DeprecationWarning, match=f"journeysim.{old}.{name} has moved to journeysim"):
        assert getattr(module, name) is not None


def test_moved_names_reach_their_new_homes():
    """`from journeysim.experiment import simulate` gives the simulate that returns a summarising result."""
    import journeysim as js

    with pytest.warns(DeprecationWarning):
        from journeysim.experiment import simulate
        from journeysim.results import SimulationResult
    assert simulate is js.simulate and SimulationResult is js.SimulationResult
