"""A scenario: a model plus the settings of the experiment that runs it.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8))],
...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
>>> s = Scenario(model, name="clinic", horizon=10_000, warmup=1_000, replications=5, seed=1)
>>> s.with_settings(replications=10).replications
10
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from typing import Any

from ._problems import Collector, is_number
from .mesosystem import Model
from .profiles import MAX_MINUTES

__all__ = ["Scenario", "MAX_REPLICATIONS", "END_MODES"]

#: The most replications a run may have: each keeps its statistics in memory.
MAX_REPLICATIONS = 1_000_000

#: How a replication ends: ``"drain"`` follows every journey that arrived before the horizon to its
#: end; ``"stop"`` ends the simulation at the horizon, leaving journeys in progress (``docs/results.md``).
END_MODES = ("drain", "stop")


@dataclass(frozen=True, slots=True)
class Scenario:
    """A model and how to run it.

    Parameters
    ----------
    model : Model
    name : str
    horizon : float
        Length of each replication, in minutes. Arrivals stop at the horizon.
    warmup : float
        Journeys that arrive before this time (minutes) are simulated but left
        out of every statistic.
    replications : int
        Number of independent replications, at most :data:`MAX_REPLICATIONS`.
    seed : int or None
        Root seed; ``None`` draws fresh entropy (recorded in the results).
    source : str or None
        Path of the scenario file, when it came from one.
    description : str
        Free text shown in reports.
    end : {"drain", "stop"}
        ``"drain"`` (the default): every journey that arrived before the horizon is
        followed to its end. ``"stop"``: the simulation ends at the horizon (a clinic
        day at closing time); journeys still in the pathway are left unfinished, and
        waits, utilisation and time in system are those inside the window
        (``docs/results.md``, "Runs that stop at the horizon").

    Examples
    --------
    >>> from journeysim.model.distributions import Exponential
    >>> from journeysim.model.elements import Microsystem, PatientClass
    >>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8))],
    ...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
    >>> Scenario(model, horizon=600, end="stop").end
    'stop'
    """

    model: Model
    name: str = "scenario"
    horizon: float = 525_600.0
    warmup: float = 0.0
    replications: int = 1
    seed: int | None = None
    source: str | None = None
    description: str = ""
    end: str = "drain"

    def __post_init__(self) -> None:
        c = Collector()
        if not isinstance(self.model, Model):
            c.add("model", f"must be a Model, got {type(self.model).__name__}")
        if not isinstance(self.name, str):
            c.add("name", f"must be a string, got {self.name!r}")
        elif any(unicodedata.category(ch)[0] == "C" for ch in self.name):  # the event log's XML cannot hold them
            c.add("name", f"{self.name!r} may not contain control characters")
        if not is_number(self.horizon) or self.horizon <= 0:
            c.add("horizon", f"must be a positive number of minutes, got {self.horizon!r}")
        elif self.horizon > MAX_MINUTES:
            c.add("horizon", f"{self.horizon:.3g} minutes is longer than the {MAX_MINUTES:.0e} minutes (about 1,900 "
                  "years) the simulation clock keeps to the minute")
        if not is_number(self.warmup) or self.warmup < 0:
            c.add("warmup", f"must be a non-negative number of minutes, got {self.warmup!r}")
        elif is_number(self.horizon) and self.warmup >= self.horizon:
            c.add("warmup", f"must be shorter than the horizon ({self.warmup:g} >= {self.horizon:g} minutes)")
        if (isinstance(self.replications, bool) or not isinstance(self.replications, int)
                or not 1 <= self.replications <= MAX_REPLICATIONS):
            c.add("replications", f"must be a positive integer up to {MAX_REPLICATIONS:,}, got {self.replications!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0):
            c.add("seed", f"must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.end, str) or self.end not in END_MODES:
            c.add("end", f"must be 'drain' or 'stop', got {self.end!r}")
        c.raise_if_any()

    def __repr__(self) -> str:
        m = self.model
        return (f"<Scenario {self.name!r}: {len(m.microsystems)} microsystems, {len(m.handoffs)} handoffs, "
                f"{len(m.requests)} requests, {len(m.classes)} classes; {self.horizon / 1440:g} days (warm-up "
                f"{self.warmup / 1440:g} days){'' if self.end == 'drain' else ', stops at the horizon'}, "
                f"{self.replications} replication(s), seed {self.seed}>")

    def with_settings(self, **changes: Any) -> Scenario:
        """A copy with some settings changed (``dataclasses.replace``), validated again."""
        return dataclasses.replace(self, **changes)
