"""The figures of a run, replication by replication: one definition of each.

A figure (system quality, a microsystem's wait or utilisation, a standard's share
met, the cost per journey...) is defined here once, as its value in each
replication or as the counts it is a share of. Both users read the same
definition: :func:`journeysim.analysis.metrics.summarize` estimates each figure
across the replications with its interval, and :func:`replication_metrics` hands
the values per replication to paired comparisons and sweeps
(:mod:`journeysim.analysis.comparison`).

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.analysis.result import simulate
>>> model = Model([Microsystem("A", capacity=2, service=Exponential(5), defect=0.1)],
...               classes=[PatientClass("p", entry="A", rate=0.1)])
>>> reps = Replications.of(simulate(model, horizon=5_000, replications=2, seed=1))
>>> reps.quality(reps.pathway).per_replication().shape, reps.utilisation().shape
((2,), (2, 1))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..engine.aggregate import ReplicationStats
from ..errors import renamed
from ..model.kinds import HANDOFF_KINDS, INFORMATION, code
from ..model.mesosystem import Model
from ..model.queues import UNSERVED
from ..run.results import RunResult
from ..run.stats import Estimate, proportion_ci

__all__ = ["Share", "Quality", "Replications", "replication_metrics", "plain", "as_floats", "as_ints"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def plain(x: float | None) -> float | None:
    """``x`` as a float, or ``None`` where it is missing or not finite (the JSON form of a number)."""
    return None if x is None or not math.isfinite(x) else float(x)


def as_floats(column: NDArray[np.generic]) -> Floats:
    """A record column of times or amounts as the float array it is (no copy)."""
    return np.asarray(column, dtype=np.float64)


def as_ints(column: NDArray[np.generic]) -> Ints:
    """A record column of codes or identifiers as an int64 array (no copy when it is one)."""
    return np.asarray(column, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Share:
    """Successes out of trials, per replication (journeys defect-free, standards met...)."""

    successes: Floats
    trials: Floats

    def per_replication(self) -> Floats:
        """The share in each replication (``nan`` where there was no trial)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.successes / self.trials

    def estimate(self) -> Estimate:
        """The share across replications with its 95% CI (:func:`~journeysim.run.stats.proportion_ci`)."""
        return proportion_ci(self.successes, self.trials)


@dataclass(frozen=True, slots=True)
class Quality:
    """Occurrences of an element (visits, transfers, requests) and the defective ones, per replication."""

    occurrences: Floats
    defective: Floats

    def per_replication(self) -> Floats:
        """``1 - defective / occurrences`` in each replication (``nan`` where there was none)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1.0 - self.defective / self.occurrences

    def pooled(self) -> float | None:
        """``1 - defective / occurrences`` over all replications together (``None`` if there was none)."""
        total = float(self.occurrences.sum())
        return plain(1.0 - self.defective.sum() / total) if total else None

    def estimate(self) -> Estimate:
        """The share without a defect with its 95% CI (:func:`~journeysim.run.stats.proportion_ci`)."""
        return proportion_ci(self.occurrences - self.defective, self.occurrences)


@dataclass(frozen=True, slots=True)
class Replications:
    """The additive statistics of every replication of a run, and the figures made from them.

    Arrays are indexed by replication first. Journey figures take the classes to
    pool (``pathway`` for the overall figure, ``[k]`` for class ``k``).
    """

    model: Model
    stats: tuple[ReplicationStats, ...]
    #: minutes of the flow window ``[warmup, horizon)``
    span: float
    _stacks: dict[str, Floats] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, result: RunResult) -> Replications:
        """The replications of ``result``."""
        scenario = result.scenario
        return cls(scenario.model, tuple(result.stats), scenario.horizon - scenario.warmup)

    def stack(self, name: str) -> Floats:
        """One statistic of every replication, stacked: ``stack("class_done")[replication, class]``.

        Stacked once and kept (read-only), since the figures of every element read it.
        """
        if name not in self._stacks:
            stacked = np.array([getattr(s, name) for s in self.stats])
            stacked.setflags(write=False)
            self._stacks[name] = stacked
        return self._stacks[name]

    def links(self, name: str) -> Floats:
        """A statistic of handoffs or requests as ``[replication, link]`` (also with no link at all)."""
        return self.stack(name).reshape(len(self.stats), -1)

    @property
    def pathway(self) -> list[int]:
        """Indices of the pathway (not background) classes."""
        return [k for k, c in enumerate(self.model.classes) if not c.background]

    @property
    def stopped(self) -> bool:
        """Whether the runs stopped at the horizon (``end = "stop"``), leaving journeys in progress."""
        return bool(self.stats) and all(s.stopped for s in self.stats)

    # -- journeys --------------------------------------------------------------------------

    def journeys(self, classes: Sequence[int]) -> Floats:
        """Counted journeys of ``classes`` in each replication (that ended, in a run that stops at the horizon)."""
        return self.stack("class_done")[:, list(classes)].sum(axis=1)

    def in_progress(self, classes: Sequence[int]) -> Floats:
        """Counted journeys of ``classes`` still in the pathway at the horizon, per replication (0 if runs drain)."""
        if not self.stopped:
            return np.zeros(len(self.stats))
        return self.stack("class_open")[:, list(classes)].sum(axis=1)

    def quality(self, classes: Sequence[int]) -> Share:
        """System quality: the counted journeys of ``classes`` with no defect at all."""
        return Share(self.stack("class_good")[:, list(classes)].sum(axis=1), self.journeys(classes))

    def element_quality(self, classes: Sequence[int]) -> Share:
        """Journeys free of the defects of microsystems, handoffs and requests (standards aside)."""
        return Share(self.stack("class_good_elements")[:, list(classes)].sum(axis=1), self.journeys(classes))

    def time_in_system(self, classes: Sequence[int]) -> Floats:
        """Mean minutes from arrival to leaving of the counted journeys, per replication."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.stack("class_tis_sum")[:, list(classes)].sum(axis=1) / self.journeys(classes)

    def outcomes(self, classes: Sequence[int]) -> Floats:
        """Counted journeys of ``classes`` by outcome (``Model.outcomes``), as ``[replication, outcome]``."""
        return self.stack("class_outcome")[:, list(classes)].sum(axis=1)

    def outcome_share(self, classes: Sequence[int], o: int) -> Share:
        """The counted journeys of ``classes`` that ended in outcome ``o``."""
        return Share(self.outcomes(classes)[:, o], self.journeys(classes))

    # -- costs ----------------------------------------------------------------------------

    def cost(self, classes: Sequence[int]) -> Floats:
        """Cost of the counted journeys of ``classes`` as ``[replication, component]`` (COST_COMPONENTS)."""
        return self.stack("class_cost")[:, list(classes)].sum(axis=1)

    def cost_per_journey(self, classes: Sequence[int]) -> Floats:
        """Total cost over journeys, per replication."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.cost(classes).sum(axis=1) / self.journeys(classes)

    def cost_per_defect_free_journey(self, classes: Sequence[int]) -> Floats:
        """Total cost over defect-free journeys, per replication."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.cost(classes).sum(axis=1) / self.quality(classes).successes

    # -- microsystems -----------------------------------------------------------------------

    def per_visit(self, name: str) -> Floats:
        """A flow sum (``wait_sum``, ``sojourn_sum``...) per visit in the flow window: ``[replication, node]``.

        In a run that stops at the horizon, a wait is per visit that started before the
        horizon, and the other sums per visit that ended before it.
        """
        visits = "flow_count"
        if self.stopped:
            visits = "flow_started" if name == "wait_sum" else "flow_left"
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.stack(name) / self.stack(visits)

    def visits(self) -> Floats:
        """Visits that arrived at each microsystem in the flow window (requests served, at a support one)."""
        return self.stack("flow_count")

    def arrivals_per_day(self) -> Floats:
        """Visits in the flow window per day, per replication and microsystem."""
        return self.visits() / self.span * 1440.0

    def wait_minutes(self) -> Floats:
        """Mean wait for a server, per replication and microsystem."""
        return self.per_visit("wait_sum")

    def busy_servers(self) -> Floats:
        """Mean number of busy servers in the flow window, per replication and microsystem."""
        return self.stack("busy_time") / self.span

    def utilisation(self) -> Floats:
        """Busy servers over the capacity averaged over the schedule's period (``nan`` where it is ever unlimited)."""
        busy = self.busy_servers()
        caps = [m.mean_capacity for m in self.model.microsystems]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.stack([busy[:, i] / cap if cap is not None else np.full(len(self.stats), math.nan)
                             for i, cap in enumerate(caps)], axis=1)

    def utilization(self) -> Floats:
        """Deprecated: :meth:`utilisation` (this name works until journeysim 0.3)."""
        renamed("Replications.utilization", "Replications.utilisation")
        return self.utilisation()

    def in_service(self) -> Floats:
        """Visits (and requests served) in service at the horizon of a stopped run: ``[replication, node]``."""
        return self.stack("node_in_service")

    def waiting(self) -> Floats:
        """Visits (and requests) waiting for a server or a team at the horizon of a stopped run."""
        return self.stack("node_waiting")

    def microsystem_quality(self, i: int) -> Quality:
        """Visits of counted journeys to microsystem ``i`` and the defective ones."""
        return Quality(self.stack("node_visits")[:, i], self.stack("node_bad")[:, i])

    def boarded(self, i: int) -> Floats:
        """Transfers out of microsystem ``i`` whose patient boarded (kept the bed while waiting), per replication."""
        return self.links("edge_blocked_n")[:, self._out_edges(i)].sum(axis=1)

    def board_minutes(self, i: int) -> Floats:
        """Minutes boarded at microsystem ``i`` per visit of counted journeys, per replication."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.links("edge_blocked_sum")[:, self._out_edges(i)].sum(axis=1) / self.stack("node_visits")[:, i]

    def unserved(self, i: int, how: str) -> Share:
        """Arrivals at microsystem ``i`` in the flow window that ended ``how`` (``"rejected"``, ``"diverted"``,
        ``"balked"`` or ``"reneged"``), out of every arrival there (visits and those not served)."""
        counts = self.stack("unserved_n")[:, i, :]
        return Share(counts[:, UNSERVED.index(how)], self.visits()[:, i] + counts.sum(axis=1))

    def unserved_ways(self, i: int) -> tuple[str, ...]:
        """How arrivals at microsystem ``i`` can end without a visit, where its queue rules allow it:
        ``"rejected"``, ``"diverted"``, ``"balked"``, ``"reneged"`` (none without queue rules)."""
        m = self.model.microsystems[i]
        ways = {"rejected": self.model.rejects(m),
                "diverted": bool(m.diversions), "balked": m.balks, "reneged": m.has_patience}
        return tuple(how for how, possible in ways.items() if possible)

    def renege_wait_minutes(self, i: int) -> Floats:
        """Mean minutes waited before reneging at microsystem ``i``, per replication (``nan`` if none reneged)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.stack("unserved_wait_sum")[:, i] / self.stack("unserved_n")[:, i, UNSERVED.index("reneged")]

    def _out_edges(self, i: int) -> list[int]:
        name = self.model.microsystems[i].name
        return [e for e, h in enumerate(self.model.handoffs) if h.source == name]

    def activations(self, i: int) -> Floats:
        """Visits to microsystem ``i`` that activated its team, per replication."""
        return self.stack("act_n")[:, i]

    def activated_ahead(self, i: int) -> Share:
        """Activations made before the patient arrived, out of all activations."""
        return Share(self.stack("act_ahead_n")[:, i], self.activations(i))

    def per_activation(self, name: str, i: int) -> Floats:
        """An activation sum (``act_ahead_sum``, ``act_wait_sum``) per activation, per replication."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.stack(name)[:, i] / self.activations(i)

    # -- handoffs and requests ----------------------------------------------------------------

    def handoff_quality(self, e: int) -> Quality:
        """Transfers on handoff ``e`` and the defective ones."""
        return Quality(self.links("edge_n")[:, e], self.links("edge_bad")[:, e])

    def request_quality(self, e: int) -> Quality:
        """Requests ``e`` made and the defective ones."""
        return Quality(self.links("req_n")[:, e], self.links("req_bad")[:, e])

    def handoff_kind_quality(self, e: int, kind: str) -> Quality:
        """Transfers on handoff ``e`` and those with a defect of ``kind``."""
        return Quality(self.links("edge_n")[:, e], self._by_kind("edge_kind_bad")[:, e, code(kind)])

    def request_kind_quality(self, e: int, kind: str) -> Quality:
        """Requests ``e`` made and those with a defect of ``kind``."""
        return Quality(self.links("req_n")[:, e], self._by_kind("req_kind_bad")[:, e, code(kind)])

    def _by_kind(self, name: str) -> Floats:
        return self.stack(name).reshape(len(self.stats), -1, len(HANDOFF_KINDS))

    def caught(self, e: int) -> Share:
        """Information defects of handoff ``e`` that the receiving microsystem caught, out of all that happened."""
        caught = self.links("edge_caught")[:, e]
        return Share(caught, caught + self._by_kind("edge_kind_bad")[:, e, code(INFORMATION)])

    # -- standards -------------------------------------------------------------------------------

    def standard_met(self, j: int, cell: int = 0) -> Share:
        """Journeys that met standard ``j`` out of those it applied to (cell 0: everyone; then each group label)."""
        return Share(self.stack("std_met")[:, j, cell], self.stack("std_n")[:, j, cell])

    def standard_open(self, j: int, cell: int = 0) -> Floats:
        """Journeys whose standard ``j`` was still open (not yet reached) at the horizon, per replication."""
        return self.stack("std_open")[:, j, cell]


def replication_metrics(result: RunResult) -> dict[str, Floats]:
    """Per-replication values of the main metrics, for paired comparisons.

    Keys: ``quality.system``, ``quality.<class>``, ``time_in_system_minutes``,
    ``<node>.wait_minutes``, ``<node>.utilisation`` (finite capacity only),
    ``<handoff>.quality``, ``<request>.quality``, ``standards.<name>.met``, ``elements.quality`` (the
    share of journeys free of element defects, standards aside), with costs ``cost.per_journey`` and
    ``cost.per_defect_free_journey``, with named exits ``outcomes.<name>.share``, with queue rules
    ``<node>.rejected_share`` (and ``diverted``, ``balked``, ``reneged``) where each can happen, and where
    runs stop at the horizon, ``journeys.in_progress``, ``<node>.in_service`` and ``<node>.waiting``. Values
    are arrays with one entry per replication (``nan`` where a replication had nothing to measure), by the
    definitions of :class:`Replications` that the summary uses too.

    Examples
    --------
    >>> from journeysim.model.distributions import Exponential
    >>> from journeysim.model.elements import Microsystem, PatientClass
    >>> from journeysim.model.mesosystem import Model
    >>> from journeysim.analysis.result import simulate
    >>> model = Model([Microsystem("A", capacity=1, service=Exponential(5), defect=0.1)],
    ...               classes=[PatientClass("p", entry="A", rate=0.1)])
    >>> m = replication_metrics(simulate(model, horizon=5_000, replications=2, seed=1))
    >>> sorted(m)[:3], m["quality.system"].shape
    (['A.utilisation', 'A.wait_minutes', 'elements.quality'], (2,))
    """
    reps = Replications.of(result)
    model = reps.model
    pathway = reps.pathway
    out: dict[str, Floats] = {
        "quality.system": reps.quality(pathway).per_replication(),
        "elements.quality": reps.element_quality(pathway).per_replication(),
    }
    if model.has_costs:
        out["cost.per_journey"] = reps.cost_per_journey(pathway)
        out["cost.per_defect_free_journey"] = reps.cost_per_defect_free_journey(pathway)
    for k, name in enumerate(model.class_names):
        out[f"quality.{name}"] = reps.quality([k]).per_replication()
    out["time_in_system_minutes"] = reps.time_in_system(pathway)
    waits, utilisation = reps.wait_minutes(), reps.utilisation()
    for i, m in enumerate(model.microsystems):
        out[f"{m.name}.wait_minutes"] = waits[:, i]
        if m.mean_capacity is not None:
            out[f"{m.name}.utilisation"] = utilisation[:, i]
    for e, h in enumerate(model.handoffs):
        out[f"{h.label}.quality"] = reps.handoff_quality(e).per_replication()
    for e, r in enumerate(model.requests):
        out[f"{r.label}.quality"] = reps.request_quality(e).per_replication()
    for j, st in enumerate(model.standards):
        out[f"standards.{st.name}.met"] = reps.standard_met(j).per_replication()
    if len(model.outcomes) > 1:
        for o, name in enumerate(model.outcomes):
            out[f"outcomes.{name}.share"] = reps.outcome_share(pathway, o).per_replication()
    for i, m in enumerate(model.microsystems):  # the queue rules' shares, where they act
        for how in reps.unserved_ways(i):
            out[f"{m.name}.{how}_share"] = reps.unserved(i, how).per_replication()
    if reps.stopped:  # the census at the horizon, only where runs stop there
        out["journeys.in_progress"] = reps.in_progress(pathway)
        in_service, waiting = reps.in_service(), reps.waiting()
        for i, m in enumerate(model.microsystems):
            out[f"{m.name}.in_service"] = in_service[:, i]
            out[f"{m.name}.waiting"] = waiting[:, i]
    return out

