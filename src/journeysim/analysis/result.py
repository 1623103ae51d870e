"""What :func:`journeysim.simulate` returns: a run that can summarise itself.

:class:`SimulationResult` is the run layer's data (:class:`~journeysim.run.results.RunResult`:
records, statistics, provenance) with two computed views: :meth:`~SimulationResult.summary`,
the statistics with their intervals, and :meth:`~SimulationResult.exact`, the
exact quality of the model. Each is computed on first use and kept, so asking
again costs nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engine.aggregate import ReplicationStats
from ..engine.streams import SeedLike
from ..model.mesosystem import Model
from ..model.scenario import Scenario
from ..run.experiment import RecordsMode, run_experiment
from ..run.results import RunResult
from .exact import ExactQuality, exact_quality
from .metrics import Summary, summarize

__all__ = ["SimulationResult", "simulate"]


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class SimulationResult(RunResult):
    """A simulation's records and statistics (see :class:`~journeysim.run.results.RunResult`),
    with its summary and the exact quality of its model, each computed once.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> result = js.simulate(model, horizon=1440, replications=2, seed=1)
    >>> type(result).__name__, result.provenance.replications
    ('SimulationResult', 2)
    >>> summary = result.summary()   # computed once, then kept
    >>> summary is result.summary()
    True
    >>> result.exact().system
    0.95
    """

    _summary: Summary | None = dataclasses.field(default=None, init=False, repr=False, compare=False)
    _exact: ExactQuality | None = dataclasses.field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, run: RunResult) -> SimulationResult:
        """The same run, able to summarise itself."""
        if isinstance(run, cls):
            return run
        return cls(**{f.name: getattr(run, f.name) for f in dataclasses.fields(RunResult)})

    def summary(self) -> Summary:
        """Statistics across replications, with 95% confidence intervals (computed once, from :meth:`exact`)."""
        if self._summary is None:
            object.__setattr__(self, "_summary", summarize(self, self.exact()))
        assert self._summary is not None
        return self._summary

    def exact(self) -> ExactQuality:
        """The exact system quality of the model, from the graph (computed once)."""
        if self._exact is None:
            object.__setattr__(self, "_exact", exact_quality(self.scenario.model))
        assert self._exact is not None
        return self._exact


def simulate(
    target: Scenario | Model,
    *,
    horizon: float | None = None,
    warmup: float | None = None,
    replications: int | None = None,
    seed: SeedLike = None,
    workers: int | None = 1,
    executor: Any = None,
    records: RecordsMode = "full",
    checkpoint: str | Path | None = None,
    precision: float | None = None,
    max_replications: int = 1000,
    progress: bool | None = False,
    on_replication: Callable[[ReplicationStats], None] | None = None,
    max_memory: float | None = None,
    end: str | None = None,
    first_replication: int = 0,
) -> SimulationResult:
    """Simulate independent replications of a scenario or model.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model([js.Microsystem("Clinic", capacity=1, service=js.Exponential(8), defect=0.1)],
    ...                  classes=[js.PatientClass("all", entry="Clinic", rate=0.1)])
    >>> result = js.simulate(model, horizon=5_000, replications=2, seed=11)
    >>> result.summary() is result.summary()   # computed once
    True

    A clinic day that stops at closing time (10 hours), leaving journeys in progress:

    >>> day = js.simulate(model, horizon=600, replications=3, seed=11, end="stop").summary()
    >>> day.journeys.arrived == day.journeys.completed + day.journeys.in_progress.total
    True

    Parameters
    ----------
    target : Scenario or Model
        What to simulate. A scenario supplies defaults for every other argument.
    horizon : float, optional
        Arrivals stop at this time (minutes); every journey that arrived before
        it is followed to its end (unless ``end="stop"``). Required for a bare model.
    warmup : float, optional
        Journeys arriving before this time (minutes) are left out of the statistics.
    replications : int, optional
        Number of replications (default: the scenario's, or 1). With
        ``precision``, the size of the first batch.
    seed : int, SeedSequence, Generator or None
        Root seed (default: the scenario's; if neither is given, fresh entropy
        that is recorded in ``result.provenance.seed``). Replication ``i`` draws
        from streams keyed by the root seed, ``i`` and the stream names only, so
        results are identical for any ``workers`` or ``executor``.
    workers : int or None
        Local worker processes (``None``: every core). 1 runs in this process.
        No more processes are started than this machine has cores, nor than
        replications can run at once (with ``precision``, ``max_replications``);
        ``result.provenance.workers`` says how many were.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Where to run the replications instead of local processes.
    records : {"full", "summary"}
        ``"full"`` keeps every record; ``"summary"`` keeps only additive
        statistics, in memory bounded however long the replication.
    checkpoint : str or Path, optional
        Folder where each finished replication is stored as it completes; a run
        given the same folder again resumes, recomputing only what is missing
        (and any file that cannot be read in full). A folder written by another
        run, or holding files of another run, raises
        :class:`~journeysim.run.checkpoint.CheckpointError` before anything runs.
    precision : float, optional
        Run batches of replications until the 95% CI half-width of system
        quality is at most this (or ``max_replications`` is reached).
    max_replications : int
        Upper bound with ``precision`` (at most :data:`~journeysim.model.scenario.MAX_REPLICATIONS`).
    progress : bool or None
        Show a progress bar (``None``: only when standard error is a terminal).
    on_replication : callable, optional
        Called with each replication's statistics as it finishes (in finishing order).
    max_memory : float, optional
        Bytes the run may use (default: half of this machine's memory; ``math.inf``
        for no limit). The size of the run is estimated from the traffic
        equations before it starts (:func:`journeysim.run.runsize.check_run`).
    end : {"drain", "stop"}, optional
        How each replication ends (default: the scenario's, or ``"drain"``).
        ``"stop"`` ends the simulation at the horizon, leaving journeys in
        progress; see :class:`~journeysim.model.scenario.Scenario`.
    first_replication : int
        Index of the first replication (default 0): replications
        ``first_replication, first_replication + 1, ...`` are run, so a later
        call extends an earlier run with more replications of the same streams
        (as ranking and selection does, :func:`journeysim.select_best`).

    Warns
    -----
    JourneySimWarning
        When the run is expected to take more than five minutes.

    Returns
    -------
    SimulationResult
        The records and statistics of every replication; ``provenance``
        records the seed, workers and, with ``precision``, how it was met.

    Raises
    ------
    RunTooLarge
        When the estimated memory exceeds ``max_memory``; nothing has run.
    ValidationError
        When an argument is out of range (the scenario's own settings included).
    SimulationError
        When a replication cannot be carried out (e.g. a deadlock), in this
        process or in a worker.
    """
    run = run_experiment(target, horizon=horizon, warmup=warmup, replications=replications, seed=seed,
                         workers=workers, executor=executor, records=records, checkpoint=checkpoint,
                         precision=precision, max_replications=max_replications, progress=progress,
                         on_replication=on_replication, max_memory=max_memory, end=end,
                         first_replication=first_replication)
    return SimulationResult.of(run)
