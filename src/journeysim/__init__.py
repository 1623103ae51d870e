"""journeysim: simulate patient journeys through clinical microsystems and measure system quality.

The data flow is one way: scenario file -> spec -> validated model -> engine ->
records -> metrics. Start with :func:`load_scenario` and :func:`simulate`:

>>> import journeysim as js
>>> model = js.Model(
...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
... )
>>> result = js.simulate(model, horizon=7 * 1440, replications=2, seed=1)
>>> js.exact_quality(model).system
0.95
"""

from ._version import __version__
from .analytic import ExactQuality, exact_quality
from .comparison import Comparison, compare, sweep
from .distributions import Distribution, Empirical, Exponential, Fixed, Gamma, LogNormal, Triangular, Uniform
from .clock import Window
from .elements import (
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
from .frailty import Frailty
from .errors import JourneySimError, JourneySimWarning, Problem, SimulationError, ValidationError
from .eventlog import event_log, write_event_log
from .report import report_html, write_report
from .experiment import simulate
from .metrics import Summary, summarize
from .milestones import Group, Standard
from .model import Model
from .profiles import ArrivalProfile
from .records import FIELDS, Records, Table
from .results import Provenance, SimulationResult
from .runsize import RunTooLarge
from .scenario import Scenario
from .scenario_io import load_scenario, loads_scenario
from .traffic import OfferedLoad, offered_load
from .warmup import suggest_warmup

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
    "Distribution",
    "Empirical",
    "ExactQuality",
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
    "Model",
    "PatientClass",
    "Problem",
    "Provenance",
    "OfferedLoad",
    "Records",
    "RunTooLarge",
    "Scenario",
    "ServiceRequest",
    "Shift",
    "SimulationError",
    "SimulationResult",
    "Standard",
    "Step",
    "Summary",
    "Table",
    "Triangular",
    "Uniform",
    "ValidationError",
    "Window",
    "compare",
    "event_log",
    "exact_quality",
    "load_scenario",
    "loads_scenario",
    "offered_load",
    "per_day",
    "per_hour",
    "simulate",
    "suggest_warmup",
    "summarize",
    "sweep",
    "write_event_log",
    "report_html",
    "write_report",
]
