"""The result of an experiment as data: the records of every replication and their provenance.

The analysis layer's :class:`~journeysim.analysis.result.SimulationResult`
(what :func:`journeysim.simulate` returns) adds the summary and the exact quality.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.run.experiment import run_experiment
>>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8))],
...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
>>> res = run_experiment(model, horizon=2_000, replications=2, seed=3)
>>> res.visits().columns[:4].tolist()
['replication', 'journey', 'class', 'node']
>>> res.provenance.seed
3
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from ..engine.aggregate import ReplicationStats
from ..engine.records import Records
from ..errors import JourneySimError
from ..model.scenario import Scenario
from .stats import proportion_ci

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Provenance", "RunResult"]


@dataclass(frozen=True, slots=True)
class Provenance:
    """What is needed to reproduce a result.

    Attributes
    ----------
    journeysim_version : str
    seed : int
        Entropy of the root :class:`numpy.random.SeedSequence`; passing it as
        ``seed=`` reproduces every number.
    replications : int
    scenario : str
        Scenario name.
    source : str or None
        Scenario file, when there was one.
    horizon, warmup : float
        Minutes.
    started : str
        ISO 8601 time the run started (UTC).
    wall_seconds : float
        Wall-clock run time.
    platform : str
        Python, numpy and simpy versions and the machine.
    workers : int
        Local worker processes (0 when an external executor ran the replications).
    executor : str
        ``"serial"``, ``"processes"`` or the executor's class name.
    records : str
        ``"full"`` or ``"summary"``.
    precision : Precision or None
        How a precision target was met, when one was given.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> result = js.simulate(model, horizon=1440, replications=2, seed=1)
    >>> p = result.provenance
    >>> p.seed, p.replications, p.horizon   # passing seed=p.seed again reproduces every number
    (1, 2, 1440)
    """

    journeysim_version: str
    seed: int
    replications: int
    scenario: str
    source: str | None
    horizon: float
    warmup: float
    started: str
    wall_seconds: float
    platform: str
    workers: int = 1
    executor: str = "serial"
    records: str = "full"
    precision: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        out = {name: getattr(self, name) for name in self.__slots__}
        if self.precision is not None:
            p = self.precision
            out["precision"] = {"target": p.target, "half_width": p.half_width,
                                "replications": p.replications, "reached": p.reached}
        return out


@dataclass(frozen=True, slots=True)
class RunResult:
    """Records of every replication of a scenario, with provenance (data only).

    Use the table methods (:meth:`journeys`, :meth:`visits`, :meth:`handoffs`,
    :meth:`requests`, :meth:`defects`, :meth:`standards`, :meth:`activations`) for pandas DataFrames of all
    replications. In summary mode ``records`` is empty and only the additive
    statistics (``stats``, one per replication) are kept.
    """

    scenario: Scenario
    records: tuple[Records, ...]
    provenance: Provenance
    stats: tuple[ReplicationStats, ...] = ()

    def __repr__(self) -> str:
        p = self.provenance
        pathway = [not k.background for k in self.scenario.model.classes]
        done = [s.class_done[pathway].sum() for s in self.stats]
        quality = proportion_ci([s.class_good[pathway].sum() for s in self.stats], done).mean
        share = f"; system quality {100 * quality:.1f}%" if sum(done) else ""
        return (f"<{type(self).__name__} {self.scenario.name!r}: {p.replications} replication(s) of "
                f"{p.horizon / 1440:g} days (warm-up {p.warmup / 1440:g} days), seed {p.seed}, {p.records} records; "
                f"{int(sum(done)):,} journeys counted{share}. .summary() for the statistics>")

    def table(self, name: str) -> pd.DataFrame:
        """One table of every replication as a DataFrame with a ``replication`` column."""
        import pandas as pd  # imported when a table is asked for: a run needs no pandas

        if not self.records:
            raise JourneySimError(
                "this result kept no records (summary mode); run with records='full' to get tables"
            )
        frames = []
        for rec in self.records:
            frame = getattr(rec, name).to_frame()
            frame.insert(0, "replication", rec.replication)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def journeys(self) -> pd.DataFrame:
        """One row per journey (see :data:`journeysim.engine.records.FIELDS`)."""
        return self.table("journeys")

    def visits(self) -> pd.DataFrame:
        """One row per visit to a clinical microsystem."""
        return self.table("visits")

    def handoffs(self) -> pd.DataFrame:
        """One row per handoff between clinical microsystems."""
        return self.table("handoffs")

    def requests(self) -> pd.DataFrame:
        """One row per service request to a support microsystem."""
        return self.table("requests")

    def defects(self) -> pd.DataFrame:
        """One row per defect."""
        return self.table("defects")

    def standards(self) -> pd.DataFrame:
        """One row per timeliness standard judged for a journey."""
        return self.table("standards")

    def activations(self) -> pd.DataFrame:
        """One row per visit that waited on a team's activation (e.g. the cath lab)."""
        return self.table("activations")

    def unserved(self) -> pd.DataFrame:
        """One row per arrival that ended without a visit: rejected, diverted, balked or reneged."""
        return self.table("unserved")

    def _repr_html_(self) -> str:
        """What was run, and how much was recorded (Jupyter)."""
        p = self.provenance
        rows = {"scenario": p.scenario, "source": p.source or "built in Python", "seed": p.seed,
                "replications": p.replications, "horizon (days)": f"{p.horizon / 1440:g}",
                "warm-up (days)": f"{p.warmup / 1440:g}", "records": p.records,
                "journeys recorded": sum(len(r.journeys) for r in self.records) if self.records else "n/a",
                "run time (s)": f"{p.wall_seconds:.2f}", "journeysim": p.journeysim_version}
        body = "".join(f"<tr><th style='text-align:left'>{escape(k)}</th><td style='text-align:left'>"
                       f"{escape(str(v))}</td></tr>" for k, v in rows.items())
        return (f"<div><b>{type(self).__name__}</b> (<code>.summary()</code> for the statistics)"
                f"<table>{body}</table></div>")
