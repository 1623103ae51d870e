"""Running experiments: replications on one core, all cores, or a Dask cluster.

Replication ``i`` draws every random number from streams keyed by the root seed,
``i`` and the stream names alone, so the numbers are identical whatever runs it:
serially, in local processes, or on a Dask cluster, in any order.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8))],
...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
>>> a = run_experiment(model, horizon=5_000, seed=11)
>>> b = run_experiment(model, horizon=5_000, seed=11)
>>> a.visits().equals(b.visits())
True
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._version import __version__
from ..engine.aggregate import ReplicationStats
from ..engine.kernel import simulate_replication
from ..engine.plan import Plan, plan
from ..engine.records import Records
from ..engine.streams import SeedLike, root_seed_sequence
from ..errors import Problem, SimulationError, ValidationError
from ..model._problems import is_number
from ..model.mesosystem import Model
from ..model.scenario import MAX_REPLICATIONS, Scenario
from .checkpoint import CheckpointStore, fingerprint
from .results import Provenance, RunResult
from .runsize import check_run
from .stats import proportion_ci
from .workers import WorkerPool

__all__ = ["run_experiment", "Precision", "default_workers"]

RecordsMode = Literal["full", "summary"]


@dataclass(frozen=True, slots=True)
class Precision:
    """How a precision target was met.

    Attributes
    ----------
    target : float
        Requested 95% CI half-width of system quality.
    half_width : float
        Half-width reached.
    replications : int
        Replications run.
    reached : bool
        False when the maximum number of replications stopped the run first.
    """

    target: float
    half_width: float
    replications: int
    reached: bool


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _replicate(
    compiled: Plan, horizon: float, warmup: float, root: np.random.SeedSequence, index: int, keep: bool,
    end: str = "drain",
) -> tuple[Records | None, ReplicationStats]:
    """One replication; a module-level function so that worker processes can run it."""
    return simulate_replication(compiled, horizon=horizon, warmup=warmup, seed=root, replication=index,
                                keep_records=keep, end=end)


class _Runner:
    """Submits replications to an executor and yields them as they finish."""

    def __init__(self, workers: int, executor: Any) -> None:
        self.external = executor
        self.workers = workers
        self.pool: WorkerPool | None = None

    def __enter__(self) -> _Runner:
        if self.external is None and self.workers > 1:
            self.pool = WorkerPool(self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            # on an interrupt or an error, do not wait for the replications under way
            self.pool.close(kill=exc[0] is not None)

    def run(self, tasks: list[tuple[Any, ...]]) -> Iterator[tuple[Records | None, ReplicationStats]]:
        if self.pool is not None:
            # the compiled model, horizon, warm-up and root seed are the same in every task: sent once a worker
            common = tasks[0][:4] if tasks else ()
            assert all(a is b for t in tasks for a, b in zip(t[:4], common))
            yield from self.pool.map(_replicate, [t[4:] for t in tasks], common=common)
            return
        executor = self.external
        if executor is None:
            for task in tasks:
                yield _replicate(*task)
            return
        if _is_dask(executor):
            from distributed import as_completed as dask_completed

            futures = [executor.submit(_replicate, *task, pure=False) for task in tasks]
            for fut in dask_completed(futures):
                yield fut.result()
            return
        futs = [executor.submit(_replicate, *task) for task in tasks]
        try:
            for fut in cf.as_completed(futs):
                yield fut.result()
        except BrokenProcessPool as err:  # a user's ProcessPoolExecutor noticed a lost worker
            raise SimulationError(
                "a worker process died before its replications finished; run the same command again "
                "(with a checkpoint folder, finished replications are kept and only the rest are redone)"
            ) from err


def _is_dask(executor: Any) -> bool:
    return type(executor).__module__.split(".")[0] == "distributed"


def _quality_half_width(stats: Iterable[ReplicationStats], pathway: list[int]) -> float:
    stats = list(stats)
    good = [s.class_good[pathway].sum() for s in stats]
    done = [s.class_done[pathway].sum() for s in stats]
    est = proportion_ci(good, done)
    return est.half_width if np.isfinite(est.half_width) else float("inf")


def _progress(total: int, enabled: bool | None, label: str) -> Any:
    from importlib.util import find_spec

    from tqdm.auto import tqdm
    from tqdm.std import tqdm as text_bar

    # a notebook widget needs ipywidgets; without it tqdm.auto warns "IProgress not found" on every run,
    # so the plain text bar is used instead
    bar = tqdm if find_spec("ipywidgets") is not None else text_bar
    # disable=None lets tqdm stay quiet when standard error is not a terminal
    return bar(total=total, desc=label, unit="rep", disable=None if enabled is None else not enabled,
               file=sys.stderr, leave=False)


def run_experiment(
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
) -> RunResult:
    """Run independent replications of a scenario or model: the machinery of :func:`journeysim.simulate`.

    Takes the same arguments as :func:`journeysim.simulate` (documented there)
    and returns the run as data, a :class:`~journeysim.run.results.RunResult`;
    ``journeysim.simulate`` wraps it in a result that can summarise itself.
    """
    if isinstance(target, Scenario):
        scenario = target
    elif isinstance(target, (str, os.PathLike)):
        raise TypeError(f"simulate takes a Scenario or a Model, not the file name {os.fspath(target)!r}: "
                        "load it first with journeysim.load_scenario(path)")
    elif horizon is None:
        raise TypeError("simulating a bare model needs horizon= (minutes)")
    else:
        scenario = Scenario(target, name=target.name, horizon=horizon)
    changes = {
        k: v
        for k, v in {"horizon": horizon, "warmup": warmup, "replications": replications, "end": end}.items()
        if v is not None
    }
    if changes:
        scenario = scenario.with_settings(**changes)
    problems = []
    if records not in ("full", "summary"):
        problems.append(Problem("records", f"must be 'full' or 'summary', got {records!r}"))
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        problems.append(Problem("workers", f"must be a positive integer or None, got {workers!r}"))
    if precision is not None and not (is_number(precision) and precision > 0):
        problems.append(Problem("precision", f"must be a positive number, got {precision!r}"))
    if (isinstance(max_replications, bool) or not isinstance(max_replications, int)
            or not 1 <= max_replications <= MAX_REPLICATIONS):
        problems.append(Problem("max_replications",
                                f"must be a positive integer up to {MAX_REPLICATIONS:,}, got {max_replications!r}"))
    if (isinstance(first_replication, bool) or not isinstance(first_replication, int)
            or not 0 <= first_replication < MAX_REPLICATIONS):
        problems.append(Problem("first_replication",
                                f"must be an integer from 0 to {MAX_REPLICATIONS - 1:,}, got {first_replication!r}"))
    if problems:
        raise ValidationError(problems)
    n_workers = default_workers() if workers is None else workers
    check_run(scenario if precision is None else scenario.with_settings(replications=max_replications),
                records, max_memory, n_workers)
    root = root_seed_sequence(scenario.seed if seed is None else seed)
    entropy = int(root.entropy)  # type: ignore[arg-type]  # an int here: root_seed_sequence made it from one
    keep = records == "full"
    started = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    compiled = plan(scenario.model)
    store = None
    if checkpoint is not None:
        digest = fingerprint(scenario.model, scenario.horizon, scenario.warmup, scenario.end)
        store = CheckpointStore(checkpoint, digest, seed=entropy, records=records)
    pathway = [k for k, c in enumerate(scenario.model.classes) if not c.background]
    done: dict[int, tuple[Records | None, ReplicationStats]] = {}

    def run_batch(indices: list[int], runner: _Runner, bar: Any) -> None:
        missing = []
        stored = store.finished() if store is not None else {}
        for i in indices:
            loaded = store.load(i, compiled) if store is not None and i in stored else None
            if loaded is not None:
                done[i] = loaded
                bar.update(1)
            else:
                missing.append(i)
        # the end is passed only when it is not the default, so that a drain run's tasks are as they were
        tail = () if scenario.end == "drain" else (scenario.end,)
        tasks = [(compiled, scenario.horizon, scenario.warmup, root, i, keep, *tail) for i in missing]
        for rec, st in runner.run(tasks):
            if store is not None:
                store.save(rec, st)
            done[st.replication] = (rec, st)
            if on_replication is not None:
                on_replication(st)
            bar.update(1)

    first = scenario.replications if precision is None else max(2, scenario.replications)
    total = first if precision is None else max(first, max_replications)
    reached = None
    # never more processes than replications that can run (with a precision target, later
    # batches have pool_size replications, up to max_replications in all), nor than cores:
    # the work is all computation, so more processes would only take turns on the same cores
    pool_size = min(n_workers, total, default_workers())
    with _Runner(pool_size, executor) as runner, \
            _progress(total, progress, scenario.name) as bar:
        run_batch(list(range(first_replication, first_replication + first)), runner, bar)
        if precision is not None:
            batch = max(2, pool_size)
            while True:
                width = _quality_half_width((st for _, st in done.values()), pathway)
                reached = width <= precision
                if reached or len(done) >= max_replications:
                    break
                start = first_replication + len(done)
                run_batch(list(range(start, min(start + batch, first_replication + max_replications))), runner, bar)
    ordered = [done[i] for i in sorted(done)]
    stats = tuple(st for _, st in ordered)
    kept = tuple(rec for rec, _ in ordered if rec is not None)
    precision_info = None
    if precision is not None:
        precision_info = Precision(float(precision), _quality_half_width(stats, pathway), len(stats), bool(reached))
    provenance = Provenance(
        journeysim_version=__version__,
        seed=entropy,
        replications=len(stats),
        scenario=scenario.name,
        source=scenario.source,
        horizon=scenario.horizon,
        warmup=scenario.warmup,
        started=started,
        wall_seconds=time.perf_counter() - clock,
        platform=f"Python {platform.python_version()}, numpy {np.__version__}, simpy {version('simpy')}, "
        f"{platform.machine()} {platform.system()}",
        workers=pool_size if executor is None else 0,
        executor=type(executor).__name__ if executor is not None else ("processes" if pool_size > 1 else "serial"),
        records=records,
        precision=precision_info,
    )
    final = scenario.with_settings(seed=entropy, replications=len(stats))
    return RunResult(final, kept, provenance, stats)
