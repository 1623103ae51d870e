"""The module paths of journeysim 0.1, when the package was flat, kept working for one release.

``journeysim.metrics`` is now ``journeysim.analysis.metrics``, and so on: an old
path still imports, as a module whose names are looked up in the new one with a
:class:`DeprecationWarning` naming the new path (the way networkx moves a name).
``journeysim.model`` and ``journeysim.engine`` are packages now and keep their
old names; ``journeysim.plot`` is the public name of the plotting module.

Examples
--------
>>> import warnings
>>> import journeysim.metrics as old
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     summarize = old.summarize
>>> summarize.__module__, caught[0].category.__name__
('journeysim.analysis.metrics', 'DeprecationWarning')
"""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType
from typing import Any

__all__ = ["MOVED", "MOVED_NAMES", "install"]

#: Old module below ``journeysim`` -> its new place.
MOVED: dict[str, str] = {
    "_frozen": "model._frozen", "_problems": "model._problems", "distributions": "model.distributions",
    "clock": "model.clock", "profiles": "model.profiles", "elements": "model.elements",
    "milestones": "model.milestones", "frailty": "model.frailty", "scenario": "model.scenario",
    "scenario_io": "io.scenario_file", "overrides": "io.overrides",
    "plan": "engine.plan", "streams": "engine.streams", "records": "engine.records", "aggregate": "engine.aggregate",
    "experiment": "run.experiment", "workers": "run.workers", "checkpoint": "run.checkpoint",
    "results": "run.results", "stats": "run.stats",
    "analytic": "analysis.exact", "metrics": "analysis.metrics", "leverage": "analysis.leverage",
    "cascade": "analysis.cascade", "sixsigma": "analysis.sixsigma", "dependence": "analysis.dependence",
    "costs": "analysis.costs", "comparison": "analysis.comparison", "warmup": "analysis.warmup",
    "_repr": "analysis.views", "summary_text": "analysis.text",
    "report": "outputs.report", "eventlog": "outputs.eventlog", "_html": "outputs.html", "_stress": "outputs.stress",
}


#: Names that moved to another module than the rest of their old one.
MOVED_NAMES: dict[tuple[str, str], str] = {
    ("experiment", "simulate"): "analysis.result",
    ("results", "SimulationResult"): "analysis.result",
}


class _MovedModule(ModuleType):
    """Stands at an old path; each name is the new module's, with a warning."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__(f"journeysim.{old}", f"Moved to journeysim.{new}.")
        self._old = old
        self._new = f"journeysim.{new}"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        new = f"journeysim.{MOVED_NAMES[self._old, name]}" if (self._old, name) in MOVED_NAMES else self._new
        warnings.warn(f"{self.__name__}.{name} has moved to {new}; the old path works until journeysim 0.3",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(new), name)

    def __dir__(self) -> list[str]:
        return dir(importlib.import_module(self._new))


def install() -> None:
    """Make every old path importable (``import journeysim.metrics``, ``from journeysim.metrics import x``)."""
    for old, new in MOVED.items():
        sys.modules.setdefault(f"journeysim.{old}", _MovedModule(old, new))
