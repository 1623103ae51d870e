"""How big a run will be, from the traffic equations, before any of it is simulated.

A run's memory with full records grows with the rows it records (journeys,
visits, handoffs, requests, defects, judged standards), and its time with the
visits it simulates. Both follow from the arrival rates, the horizon and the
expected visits per journey (:func:`journeysim.model.traffic.expected_visits`), so a
run that would exhaust the machine is refused before it starts, with the way
out, and one that would take hours is announced.

The costs per row and per visit were measured on the tandem and flagship
scenarios (about 230-250 bytes per recorded row at the peak, 3-5 µs per visit)
and are rounded up here: the estimate is meant to be safe, not exact.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.model.scenario import Scenario
>>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8), defect=0.1)],
...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
>>> e = estimate_run(Scenario(model, horizon=10_000.0, replications=2))
>>> e.journeys, e.visits, e.rows
(2000.0, 2000.0, 4200.0)
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

from ..engine.aggregate import ReplicationStats
from ..errors import JourneySimError, JourneySimWarning
from ..model.elements import PatientClass
from ..model.mesosystem import Model
from ..model.scenario import Scenario
from ..model.traffic import expected_visits, offered_load

__all__ = ["RunEstimate", "RunTooLarge", "estimate_run", "check_run", "memory_budget", "parse_size", "format_size",
           "LONG_RUN"]

#: Bytes per recorded row at the peak of a replication (measured 230-250, rounded up).
BYTES_PER_ROW = 320.0
#: Bytes per patient waiting in a queue that grows without bound (an overloaded microsystem).
BYTES_PER_WAITING = 600.0
#: Seconds per simulated visit or service request, one core (measured 3-5 µs, rounded up).
SECONDS_PER_VISIT = 6e-6


class RunTooLarge(JourneySimError):
    """The run would need more memory than allowed.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> try:   # a year of journeys with full records, in at most 1 MB of memory
    ...     js.simulate(model, horizon=365 * 1440, replications=2, max_memory=1e6)
    ... except js.RunTooLarge as err:
    ...     print(type(err).__name__)
    RunTooLarge
    """


@dataclass(frozen=True, slots=True)
class RunEstimate:
    """Expected size of a run, every replication together.

    Attributes
    ----------
    journeys, visits : float
        Journeys that arrive before the horizon, and their clinical visits and
        service requests.
    rows : float
        Rows of the record tables (journeys, visits, handoffs, requests,
        defects, judged standards).
    record_bytes : float
        Memory of those records, kept for every replication.
    stats_bytes : float
        Memory of the running statistics kept for every replication, in both
        modes (their histograms make them 10 kB to 400 kB each).
    queue_bytes : float
        Memory of the queues of overloaded microsystems at the horizon, in one
        replication (0 when every microsystem is stable).
    seconds : float
        Run time on one core.
    """

    journeys: float
    visits: float
    rows: float
    record_bytes: float
    stats_bytes: float
    queue_bytes: float
    seconds: float

    def memory(self, records: str) -> float:
        """Peak memory of the run in ``"full"`` or ``"summary"`` mode, in bytes."""
        return self.stats_bytes + self.queue_bytes + (self.record_bytes if records == "full" else 0.0)


def estimate_run(scenario: Scenario) -> RunEstimate:
    """Estimate the size of running ``scenario`` (its horizon and replications)."""
    model = scenario.model
    visits_of = expected_visits(model)
    horizon, reps = scenario.horizon, scenario.replications
    journeys = visits = rows = 0.0
    for k in model.classes:
        n = k.rate * horizon * reps
        v = visits_of[k.name]
        clinical = sum(v.values())
        transfers = sum(v.get(h.source, 0.0) * h.probability.get(k.name) for h in model.handoffs)
        requests = sum(v.get(r.source, 0.0) * r.probability.get(k.name) for r in model.requests)
        defects = sum(v.get(m.name, 0.0) * sum(d.probability.get(k.name) for d in m.defects)
                      for m in model.microsystems)
        defects += sum(v.get(h.source, 0.0) * h.probability.get(k.name)
                       * sum(p.get(k.name) for _, p in h.defects.items())
                       for h in model.handoffs)
        journeys += n
        visits += n * (clinical + requests)
        rows += n * (1.0 + clinical + transfers + requests + defects + _standards_judged(model, k))
    queue = 0.0
    for load in offered_load(model).values():
        if load.unstable and load.hold_minutes and load.servers is not None:
            excess = (load.erlangs - load.servers) / load.hold_minutes  # arrivals per minute beyond service
            queue += excess * horizon
    stats = ReplicationStats.empty(
        n_classes=len(model.classes), n_nodes=len(model.microsystems), n_edges=len(model.handoffs),
        n_requests=len(model.requests), keep_values=False, n_standards=len(model.standards),
        n_cells=1 + sum(len(g.labels) for g in model.groups), n_outcomes=len(model.outcomes))
    stats_bytes = sum(a.nbytes for a in stats.to_arrays().values()) * reps
    return RunEstimate(journeys=journeys, visits=visits, rows=rows, record_bytes=rows * BYTES_PER_ROW,
                       stats_bytes=stats_bytes, queue_bytes=queue * BYTES_PER_WAITING,
                       seconds=visits * SECONDS_PER_VISIT)


#: Runs expected to take longer than this (seconds) are announced with a warning.
LONG_RUN = 300.0


def check_run(scenario: Scenario, records: str = "full", max_memory: float | None = None,
              workers: int = 1) -> RunEstimate:
    """Refuse a run that would exhaust memory; announce one that will take long.

    Parameters
    ----------
    scenario : Scenario
        With the horizon and the replications of the run.
    records : {"full", "summary"}
    max_memory : float, optional
        Bytes the run may use; default :func:`memory_budget`.
    workers : int
        Processes the replications are shared between.

    Returns
    -------
    RunEstimate

    Raises
    ------
    RunTooLarge
        When the estimated memory is more than ``max_memory``.

    Warns
    -----
    JourneySimWarning
        When the run is expected to take more than :data:`LONG_RUN` seconds.
    """
    estimate = estimate_run(scenario)
    budget = memory_budget() if max_memory is None else max_memory
    need = estimate.memory(records)
    if need > budget:
        parts = []
        if records == "full":
            parts.append(f"{_amount(estimate.record_bytes)}records: {estimate.rows:.3g} rows for "
                         f"{estimate.journeys:.3g} journeys over {scenario.replications} replication(s)")
        if estimate.stats_bytes > need / 10:
            parts.append(f"{_amount(estimate.stats_bytes)}statistics for {scenario.replications} replications")
        if estimate.queue_bytes:
            parts.append(f"{_amount(estimate.queue_bytes)}queues that grow without bound at overloaded microsystems")
        limit = "half this machine's memory" if max_memory is None else "the given limit"
        ways = ["run fewer replications or a shorter horizon", "allow more memory (--max-memory, max_memory=)"]
        if records == "full":
            ways.insert(0, "keep only running statistics (--records summary, records='summary')")
        raise RunTooLarge(
            f"this run would need {'about ' + format_size(need) if math.isfinite(need) else 'unbounded memory'} "
            f"({'; '.join(parts)}), more than the "
            f"{format_size(budget)} it may use ({limit}). To run it: {', or '.join(ways)}."
        )
    seconds = estimate.seconds / max(1, min(workers, scenario.replications))
    if seconds > LONG_RUN:
        warnings.warn(f"this run simulates about {estimate.visits:.3g} visits and service requests: expect about "
                      f"{_duration(seconds)} (Ctrl-C stops it; with --checkpoint, finished replications are kept)",
                      JourneySimWarning, stacklevel=3)
    return estimate


def _amount(n: float) -> str:
    """``"1.5 GiB of "``, or nothing for an unbounded amount."""
    return f"{format_size(n)} of " if math.isfinite(n) else ""


def _duration(seconds: float) -> str:
    """``"43 hours"``, ``"3.2e+08 years"``."""
    if seconds >= 2 * 365.25 * 86400.0:
        return f"{seconds / (365.25 * 86400.0):.3g} years"
    for unit, size in (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds:.0f} seconds"


def _standards_judged(model: Model, k: PatientClass) -> float:
    """Standards judged per journey of class ``k``, at most: those of its class and entry."""
    total = 0.0
    for st in model.standards:
        if k.name in (st.classes if st.classes is not None else model.pathway_classes):
            total += sum(p for node, p in k.entries if st.entries is None or node in st.entries)
    return total


def memory_budget() -> float:
    """The default memory budget of a run: half of this machine's physical memory, in bytes."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2.0
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 4.0 * 2**30


_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str) -> float:
    """Bytes from ``"500M"``, ``"16G"``, ``"2.5G"`` or a plain number; ``"none"`` means no limit.

    Examples
    --------
    >>> parse_size("16G") == 16 * 2**30, parse_size("none")
    (True, inf)
    """
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    if t == "NONE":
        return float("inf")
    unit = t[-1:] if t[-1:] in _UNITS else ""
    try:
        value = float(t[: len(t) - len(unit)])
    except ValueError:
        raise ValueError(f"expected a size such as 500M or 16G, or 'none', got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"expected a positive size such as 500M or 16G, or 'none', got {text!r}")
    return value * _UNITS[unit]


def format_size(n: float) -> str:
    """Bytes as ``"1.5 GiB"``.

    Examples
    --------
    >>> format_size(1.5 * 2**30), format_size(3e300)
    ('1.5 GiB', '2.73e+288 TiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}" if n >= 1e4 else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover
