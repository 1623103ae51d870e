"""journeysim: simulate patient journeys through clinical microsystems and measure system quality.

The data flow is one way, and so are the subpackages, each importing only those
before it: :mod:`~journeysim.model` (what is simulated), :mod:`~journeysim.io`
(scenario files), :mod:`~journeysim.engine` (simpy), :mod:`~journeysim.run`
(experiments), :mod:`~journeysim.analysis` (what the runs mean) and
:mod:`~journeysim.outputs` (plots, reports, event logs); see
``docs/architecture.md``. Start with :func:`load_scenario` and :func:`simulate`:

>>> import journeysim as js
>>> model = js.Model(
...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
... )
>>> result = js.simulate(model, horizon=7 * 1440, replications=2, seed=1)
>>> js.exact_quality(model).system
0.95
"""

# Names are imported when first used (PEP 562), so `journeysim --version` and `import journeysim`
# cost little; a name's module (and scipy, pandas or matplotlib behind it) loads on first use.
import importlib
import sys
from typing import TYPE_CHECKING

from ._moved import MOVED as _MOVED
from ._moved import install as _install_moved
from ._version import __version__
from .errors import JourneySimError, JourneySimWarning, Problem, SimulationError, ValidationError

if TYPE_CHECKING:
    from . import examples as examples
    from . import plot as plot
    from .analysis.comparison import Comparison, compare, sweep
    from .analysis.exact import ExactQuality, exact_quality
    from .analysis.fidelity import FidelityReport, fidelity, log_distances
    from .analysis.headline import Headline, headline
    from .analysis.metrics import Summary, summarize
    from .analysis.result import SimulationResult, simulate
    from .analysis.selection import Selection, select_best
    from .analysis.warmup import suggest_warmup
    from .data.discover import DiscoveryReport, discover
    from .data.fit import FitResult, fit
    from .data.logs import EventLog, read_log
    from .data.logsplit import training_part
    from .engine.records import FIELDS, Records, Table
    from .io.scenario_file import load_scenario, loads_scenario
    from .model.attributes import Bernoulli, Categorical, Numeric
    from .model.clock import Window
    from .model.conditions import Condition
    from .model.distributions import (
        Distribution,
        Empirical,
        Exponential,
        Fixed,
        Gamma,
        LogNormal,
        Mixture,
        Normal,
        Pert,
        Triangular,
        Uniform,
        Weibull,
    )
    from .model.elements import (
        HANDOFF_KINDS,
        Activation,
        ByClass,
        Cost,
        Defect,
        Handoff,
        HandoffDefects,
        Microsystem,
        PatientClass,
        Recovery,
        ServiceRequest,
        Shift,
        Step,
        per_day,
        per_hour,
    )
    from .model.exits import Exit
    from .model.frailty import Frailty
    from .model.mesosystem import Model
    from .model.milestones import Group, Standard
    from .model.profiles import ArrivalProfile
    from .model.queues import Divert
    from .model.scenario import Scenario
    from .model.traffic import OfferedLoad, offered_load
    from .outputs.eventlog import event_log, write_event_log
    from .outputs.report import report_html, write_report
    from .run.results import Provenance
    from .run.runsize import RunTooLarge


#: module (below journeysim) -> the public names it provides
_LAZY: dict[str, tuple[str, ...]] = {
    "analysis.comparison": ("Comparison", "compare", "sweep"),
    "analysis.exact": ("ExactQuality", "exact_quality"),
    "analysis.fidelity": ("FidelityReport", "fidelity", "log_distances"),
    "analysis.metrics": ("Summary", "summarize"),
    "analysis.result": ("SimulationResult", "simulate"),
    "analysis.selection": ("Selection", "select_best"),
    "analysis.warmup": ("suggest_warmup",),
    "data.discover": ("DiscoveryReport", "discover"),
    "data.fit": ("FitResult", "fit"),
    "data.logs": ("EventLog", "read_log"),
    "data.logsplit": ("training_part",),
    "engine.records": ("FIELDS", "Records", "Table"),
    "io.scenario_file": ("load_scenario", "loads_scenario"),
    "model.attributes": ("Bernoulli", "Categorical", "Numeric"),
    "model.clock": ("Window",),
    "model.conditions": ("Condition",),
    "model.distributions": ("Distribution", "Empirical", "Exponential", "Fixed", "Gamma", "LogNormal", "Triangular",
                            "Uniform", "Normal", "Weibull", "Pert", "Mixture"),
    "model.elements": ("HANDOFF_KINDS", "Activation", "ByClass", "Cost", "Defect", "Handoff", "HandoffDefects",
                       "Microsystem", "PatientClass", "Recovery", "ServiceRequest", "Shift", "Step", "per_day",
                       "per_hour"),
    "model.exits": ("Exit",),
    "model.frailty": ("Frailty",),
    "model.mesosystem": ("Model",),
    "model.milestones": ("Group", "Standard"),
    "model.multipliers": ("DefectMultiplier",),
    "model.profiles": ("ArrivalProfile",),
    "model.queues": ("Divert",),
    "model.scenario": ("Scenario",),
    "model.traffic": ("OfferedLoad", "offered_load"),
    "outputs.eventlog": ("event_log", "write_event_log"),
    "analysis.headline": ("Headline", "headline"),
    "outputs.report": ("report_html", "write_report"),
    "run.results": ("Provenance",),
    "run.runsize": ("RunTooLarge",),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

_install_moved()  # journeysim 0.1's flat module paths, for one release


def __getattr__(name: str) -> object:
    """A public name, imported on first use; or an old module path (see :mod:`journeysim._moved`)."""
    if name in _WHERE:
        value = getattr(importlib.import_module(f"journeysim.{_WHERE[name]}"), name)
    elif name in ("plot", "examples"):
        value = importlib.import_module(f"journeysim.{name}")
    else:
        module = sys.modules.get(f"journeysim.{name}") if name in _MOVED else None
        if module is None:
            raise AttributeError(f"module 'journeysim' has no attribute {name!r}")
        return module
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "__version__",
    "Activation",
    "ArrivalProfile",
    "Cost",
    "Frailty",
    "Recovery",
    "ByClass",
    "Comparison",
    "Defect",
    "DefectMultiplier",
    "Distribution",
    "Empirical",
    "ExactQuality",
    "Exit",
    "Exponential",
    "FIELDS",
    "Fixed",
    "Gamma",
    "Group",
    "HANDOFF_KINDS",
    "Handoff",
    "HandoffDefects",
    "JourneySimError",
    "JourneySimWarning",
    "LogNormal",
    "Microsystem",
    "Mixture",
    "Model",
    "Normal",
    "PatientClass",
    "Pert",
    "Problem",
    "Provenance",
    "FitResult",
    "fit",
    "FidelityReport",
    "fidelity",
    "log_distances",
    "OfferedLoad",
    "Records",
    "RunTooLarge",
    "Scenario",
    "ServiceRequest",
    "Shift",
    "SimulationError",
    "SimulationResult",
    "Selection",
    "Standard",
    "Step",
    "Summary",
    "Table",
    "Triangular",
    "Uniform",
    "ValidationError",
    "Weibull",
    "Window",
    "compare",
    "event_log",
    "exact_quality",
    "load_scenario",
    "loads_scenario",
    "offered_load",
    "per_day",
    "per_hour",
    "select_best",
    "simulate",
    "suggest_warmup",
    "summarize",
    "sweep",
    "write_event_log",
    "EventLog",
    "read_log",
    "training_part",
    "DiscoveryReport",
    "discover",
    "report_html",
    "write_report",
    "headline",
    "Headline",
    "Divert",
    "Bernoulli",
    "Categorical",
    "Numeric",
    "Condition",
    "examples",
]
