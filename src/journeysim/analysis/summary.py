"""The parts of a summary: typed, frozen results, each with ``to_dict()`` for JSON.

:func:`journeysim.analysis.metrics.summarize` makes them; the text summary, the
Jupyter HTML, the plots and the report read their attributes. ``to_dict()`` gives
the ``--json`` output of ``journeysim run`` (``docs/results.md`` documents every
field). A figure that cannot be formed is ``None`` here and ``null`` in JSON,
except in an :class:`~journeysim.run.stats.Estimate` (a mean with its 95% CI),
which holds ``nan`` and writes ``null``.

:class:`SummaryData` is the whole summary as data; :class:`~journeysim.analysis.metrics.Summary`
adds its views (text, tables, HTML).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import Problem, renamed_attribute
from ..run.results import Provenance
from ..run.stats import Estimate
from .costs import CostResult
from .dependence import DependenceResult
from .leverage import LeverageRow
from .sixsigma import SixSigmaResult

__all__ = [
    "Interval", "TimeInSystem", "OutcomeResult", "InProgress", "ClassJourneys", "JourneysResult", "SystemQuality",
    "ClassQuality",
    "ElementQuality", "RecoveryResult", "LinkQuality", "QualityResult", "Percentiles", "StandardCell", "StandardResult",
    "Boarding", "Activation", "ScheduleSegment", "MicrosystemResult", "SummaryData", "Unserved",
]

#: A 95% confidence interval, ``None`` at an end that cannot be formed.
Interval = tuple[float | None, float | None]


def _capacity(cap: int | None) -> int | str:
    return "unlimited" if cap is None else cap


# -- journeys ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeInSystem:
    """Minutes from arrival to leaving: the mean of the replications' means with its CI (``estimate``),
    and the median and 90th percentile of the pooled journeys."""

    estimate: Estimate
    p50: float | None
    p90: float | None

    def to_dict(self) -> dict[str, Any]:
        """``{mean, ci95, p50, p90}``."""
        return {**self.estimate.to_dict(), "p50": self.p50, "p90": self.p90}


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    """How many counted journeys ended in one outcome (an exit): their share, their number, the exact share."""

    #: share of the counted journeys, mean across replications with its 95% CI
    share: Estimate
    #: journeys per replication, mean with its 95% CI
    count: Estimate
    #: absorption probability of the routing chain (None where the graph cannot give it)
    exact: float | None

    def to_dict(self) -> dict[str, Any]:
        """``{share, count, exact}``."""
        return {"share": self.share.to_dict(), "count": self.count.to_dict(), "exact": self.exact}


def _outcomes_dict(outcomes: Mapping[str, OutcomeResult] | None) -> dict[str, Any]:
    """``{"outcomes": {...}}`` where outcomes are reported (the model has named exits), else nothing."""
    return {} if outcomes is None else {"outcomes": {name: o.to_dict() for name, o in outcomes.items()}}


@dataclass(frozen=True, slots=True)
class InProgress:
    """Counted journeys still in the pathway at the horizon of a run that stops there:
    per replication (``estimate``, the mean with its CI) and in all replications (``total``)."""

    estimate: Estimate
    total: int

    def to_dict(self) -> dict[str, Any]:
        """``{mean, ci95, total}``."""
        return {**self.estimate.to_dict(), "total": self.total}


@dataclass(frozen=True, slots=True)
class ClassJourneys:
    """The counted journeys of one patient class (and, where runs stop at the horizon, those in progress)."""

    background: bool
    completed: int
    time_in_system: TimeInSystem
    #: by outcome, when a journey can end in more than one way (None otherwise)
    outcomes: Mapping[str, OutcomeResult] | None = None
    in_progress: InProgress | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{background, completed, time_in_system_minutes}``; ``in_progress`` where runs stop at the horizon,
        ``outcomes`` where journeys end in more than one way."""
        out: dict[str, Any] = {"background": self.background, "completed": self.completed}
        if self.in_progress is not None:
            out["in_progress"] = self.in_progress.to_dict()
        out["time_in_system_minutes"] = self.time_in_system.to_dict()
        out.update(_outcomes_dict(self.outcomes))
        return out


@dataclass(frozen=True, slots=True)
class JourneysResult:
    """The counted journeys of the pathway classes (totals over the replications), and per class.

    Where runs stop at the horizon, ``arrived = completed + in_progress.total``.
    """

    arrived: int
    completed: int
    time_in_system: TimeInSystem
    by_class: Mapping[str, ClassJourneys]
    #: the pathway's journeys by outcome, when a journey can end in more than one way (None otherwise)
    outcomes: Mapping[str, OutcomeResult] | None = None
    in_progress: InProgress | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{arrived, completed, time_in_system_minutes, by_class}``; ``in_progress`` where runs stop,
        ``outcomes`` where journeys end in more than one way."""
        out: dict[str, Any] = {"arrived": self.arrived, "completed": self.completed}
        if self.in_progress is not None:
            out["in_progress"] = self.in_progress.to_dict()
        out["time_in_system_minutes"] = self.time_in_system.to_dict()
        out.update(_outcomes_dict(self.outcomes))
        out["by_class"] = {name: c.to_dict() for name, c in self.by_class.items()}
        return out


# -- quality ------------------------------------------------------------------------------------------
def _finite(x: float | None) -> float | None:
    """``x``, or None (JSON null) where it is NaN: an exact value that is not available."""
    return None if x is None or not math.isfinite(x) else x



@dataclass(frozen=True, slots=True)
class SystemQuality:
    """The share of pathway journeys with no defect: simulated, and exact from the graph."""

    simulated: Estimate
    analytic: float
    #: what the exact value cannot see (``("standards",)`` when the model has standards)
    analytic_excludes: tuple[str, ...]
    #: why there is no exact value (routing by the clock, activation or numbers), or None
    analytic_unavailable: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{simulated, analytic, analytic_excludes}``, and ``analytic_unavailable`` when it is (``analytic``
        is then null)."""
        out: dict[str, Any] = {"simulated": self.simulated.to_dict(), "analytic": _finite(self.analytic),
               "analytic_excludes": list(self.analytic_excludes)}
        if self.analytic_unavailable is not None:
            out["analytic_unavailable"] = self.analytic_unavailable
        return out


@dataclass(frozen=True, slots=True)
class ClassQuality:
    """The share of one class's journeys with no defect: simulated, and exact."""

    simulated: Estimate
    analytic: float
    background: bool

    def to_dict(self) -> dict[str, Any]:
        """``{simulated, analytic, background}``."""
        return {"simulated": self.simulated.to_dict(), "analytic": _finite(self.analytic),
                "background": self.background}


@dataclass(frozen=True, slots=True)
class ElementQuality:
    """A microsystem's visits by counted journeys and the share without a defect (pooled), with its CI."""

    visits: int
    quality: float | None
    ci95: Interval

    def to_dict(self) -> dict[str, Any]:
        """``{visits, quality, ci95}``."""
        return {"visits": self.visits, "quality": self.quality, "ci95": list(self.ci95)}


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    """Information defects of a handoff that the receiving microsystem caught, and their share."""

    caught: int
    caught_share: Estimate

    def to_dict(self) -> dict[str, Any]:
        """``{caught, caught_share}``."""
        return {"caught": self.caught, "caught_share": self.caught_share.to_dict()}


@dataclass(frozen=True, slots=True)
class LinkQuality:
    """A handoff's transfers (or a request's requests) and their quality, overall and by kind of defect."""

    transfers: int
    quality: float | None
    ci95: Interval
    #: share without a defect of each kind the link can carry
    by_kind: Mapping[str, float | None]
    recovery: RecoveryResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{transfers, quality, ci95, by_kind}``, and ``recovery`` when the handoff has one."""
        out = {"transfers": self.transfers, "quality": self.quality, "ci95": list(self.ci95),
               "by_kind": dict(self.by_kind)}
        if self.recovery is not None:
            out["recovery"] = self.recovery.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class QualityResult:
    """System quality, quality per class and per element, and the leverage of each element."""

    system: SystemQuality
    by_class: Mapping[str, ClassQuality]
    microsystems: Mapping[str, ElementQuality]
    handoffs: Mapping[str, LinkQuality]
    requests: Mapping[str, LinkQuality]
    leverage: tuple[LeverageRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """``{system, by_class, microsystems, handoffs, requests, leverage}``."""
        return {"system": self.system.to_dict(),
                "by_class": {name: c.to_dict() for name, c in self.by_class.items()},
                "microsystems": {name: m.to_dict() for name, m in self.microsystems.items()},
                "handoffs": {label: h.to_dict() for label, h in self.handoffs.items()},
                "requests": {label: r.to_dict() for label, r in self.requests.items()},
                "leverage": [row.to_dict() for row in self.leverage]}


# -- standards ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Percentiles of a standard's interval, in minutes (``None`` where no journey reached its end)."""

    p25: float | None
    p50: float | None
    p75: float | None
    p90: float | None

    def to_dict(self) -> dict[str, Any]:
        """``{p25, p50, p75, p90}``."""
        return {"p25": self.p25, "p50": self.p50, "p75": self.p75, "p90": self.p90}


@dataclass(frozen=True, slots=True)
class StandardCell:
    """A standard judged on some journeys: how many, the share met, the share that reached its end.

    Where runs stop at the horizon, ``not_yet_reached`` counts the journeys whose standard
    was still open there (neither met nor missed, so not in ``applies``), and
    ``not_yet_reached_share`` their share of ``applies + not_yet_reached``.
    """

    applies: int
    met: Estimate
    reached: float | None
    minutes: Percentiles
    not_yet_reached: int | None = None
    not_yet_reached_share: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{applies, met, reached, minutes}``, and ``not_yet_reached.{count, share}`` where runs stop."""
        out: dict[str, Any] = {"applies": self.applies, "met": self.met.to_dict(), "reached": self.reached,
                               "minutes": self.minutes.to_dict()}
        if self.not_yet_reached is not None:
            out["not_yet_reached"] = {"count": self.not_yet_reached, "share": self.not_yet_reached_share}
        return out


@dataclass(frozen=True, slots=True)
class StandardResult:
    """A timeliness standard: its definition, the figures of every journey it applies to, and by subgroup.

    Attributes
    ----------
    target_minutes : float
    start, end : tuple of str
        The milestones it runs from and to (``from`` and ``to`` in JSON).
    classes : tuple of str
    entries : tuple of str or None
    overall : StandardCell
    by_group : mapping
        ``by_group[group][label]``: the figures of the journeys in one subgroup.
    when : str or None
        The condition on the journey's attributes that restricts it (``when`` in JSON, only when given).
    """

    target_minutes: float
    start: tuple[str, ...]
    end: tuple[str, ...]
    classes: tuple[str, ...]
    entries: tuple[str, ...] | None
    overall: StandardCell
    by_group: Mapping[str, Mapping[str, StandardCell]]
    when: str | None = None

    @property
    def applies(self) -> int:
        """Journeys judged."""
        return self.overall.applies

    @property
    def met(self) -> Estimate:
        """Share met, with its 95% CI."""
        return self.overall.met

    def to_dict(self) -> dict[str, Any]:
        """``{target_minutes, from, to, classes, entries, [when], applies, met, reached, minutes, by_group}``."""
        return {"target_minutes": self.target_minutes, "from": list(self.start), "to": list(self.end),
                "classes": list(self.classes), "entries": None if self.entries is None else list(self.entries),
                **({} if self.when is None else {"when": self.when}),
                **self.overall.to_dict(),
                "by_group": {g: {label: c.to_dict() for label, c in cells.items()}
                             for g, cells in self.by_group.items()}}


# -- microsystems ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Boarding:
    """Patients who kept their bed here while waiting for the next microsystem."""

    boarded: int
    share_of_visits: float | None
    minutes_per_visit: Estimate

    def to_dict(self) -> dict[str, Any]:
        """``{boarded, share_of_visits, minutes_per_visit}``."""
        return {"boarded": self.boarded, "share_of_visits": self.share_of_visits,
                "minutes_per_visit": self.minutes_per_visit.to_dict()}


@dataclass(frozen=True, slots=True)
class Activation:
    """Team activation at a microsystem: how often ahead of the patient, and the wait for the team."""

    activations: int
    ahead_share: Estimate
    ahead_minutes: Estimate
    team_wait_minutes: Estimate

    def to_dict(self) -> dict[str, Any]:
        """``{activations, ahead_share, ahead_minutes, team_wait_minutes}``."""
        return {"activations": self.activations, "ahead_share": self.ahead_share.to_dict(),
                "ahead_minutes": self.ahead_minutes.to_dict(), "team_wait_minutes": self.team_wait_minutes.to_dict()}


@dataclass(frozen=True, slots=True)
class Unserved:
    """Arrivals at a microsystem that ended one way without a visit (rejected, diverted, balked or reneged).

    Attributes
    ----------
    count : int
        Such arrivals in the flow window, every replication.
    share : Estimate
        Their share of every arrival at the microsystem (visits and those not served).
    wait_minutes : Estimate or None
        For ``reneged``: the mean time waited before leaving the queue.
    """

    count: int
    share: Estimate
    wait_minutes: Estimate | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{count, share}``, and ``wait_minutes`` for those who reneged."""
        out: dict[str, Any] = {"count": self.count, "share": self.share.to_dict()}
        if self.wait_minutes is not None:
            out["wait_minutes"] = self.wait_minutes.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class ScheduleSegment:
    """A piece of the weekly schedule: from this minute of the week, this capacity (``None``: unlimited).

    A schedule that repeats over another number of days (``period_days``) counts the
    minute from the start of its period instead.
    """

    from_minute_of_week: float
    capacity: int | None
    period_days: int = 7

    def to_dict(self) -> dict[str, Any]:
        """``{from_minute_of_week, capacity}`` (``"unlimited"`` for no limit); with a period other than a week,
        ``{from_minute_of_period, capacity, period_days}``."""
        if self.period_days != 7:
            return {"from_minute_of_period": self.from_minute_of_week, "capacity": _capacity(self.capacity),
                    "period_days": self.period_days}
        return {"from_minute_of_week": self.from_minute_of_week, "capacity": _capacity(self.capacity)}


@dataclass(frozen=True, slots=True)
class MicrosystemResult:
    """Flow at a microsystem in the window ``[warmup, horizon)``: arrivals, waits, utilisation, load.

    Attributes
    ----------
    kind : {"clinical", "support"}
    capacity : int or None
        Servers (``None``: unlimited).
    visits : int
    arrivals_per_day, wait_minutes, sojourn_minutes, support_wait_minutes, hold_minutes : Estimate
    busy_servers : Estimate
    utilisation : Estimate
        Busy servers over the capacity averaged over the week, a fraction (``nan`` if ever unlimited).
        ``utilization`` is a deprecated alias until journeysim 0.3.
    offered_load : float or None
        Work offered per server, from the traffic equations (``None`` if unlimited).
    offered_erlangs : float
    boarding, activation : optional
        Where patients board here, or a team is activated.
    schedule : tuple of ScheduleSegment
        The weekly capacities, when there is a schedule.
    rejected, diverted, balked, reneged : Unserved or None
        Arrivals turned away by a full queue, that balked or that reneged, where the
        microsystem's queue rules make them possible (``None`` elsewhere).
    in_service, waiting : Estimate or None
        Where runs stop at the horizon: visits (and requests served) in service, and
        waiting for a server or the team, at the horizon (mean across replications).
    """

    kind: Literal["clinical", "support"]
    capacity: int | None
    visits: int
    arrivals_per_day: Estimate
    wait_minutes: Estimate
    sojourn_minutes: Estimate
    support_wait_minutes: Estimate
    hold_minutes: Estimate
    busy_servers: Estimate
    utilisation: Estimate
    offered_load: float | None
    offered_erlangs: float
    boarding: Boarding | None = None
    activation: Activation | None = None
    schedule: tuple[ScheduleSegment, ...] = ()
    rejected: Unserved | None = None
    diverted: Unserved | None = None
    balked: Unserved | None = None
    reneged: Unserved | None = None
    in_service: Estimate | None = None
    waiting: Estimate | None = None

    utilization = renamed_attribute("utilization", "utilisation")

    @property
    def unserved(self) -> dict[str, Unserved]:
        """The ways arrivals here could end without a visit, by name (empty without queue rules)."""
        ways = (("rejected", self.rejected), ("diverted", self.diverted), ("balked", self.balked),
                ("reneged", self.reneged))
        return {name: u for name, u in ways if u is not None}

    def to_dict(self) -> dict[str, Any]:
        """The figures by name; ``boarding``, ``activation``, ``schedule``, the queue rules', ``in_service`` and
        ``waiting`` only where they apply."""
        out: dict[str, Any] = {
            "kind": self.kind, "capacity": _capacity(self.capacity), "visits": self.visits,
            "arrivals_per_day": self.arrivals_per_day.to_dict(), "wait_minutes": self.wait_minutes.to_dict(),
            "sojourn_minutes": self.sojourn_minutes.to_dict(),
            "support_wait_minutes": self.support_wait_minutes.to_dict(), "hold_minutes": self.hold_minutes.to_dict(),
            "busy_servers": self.busy_servers.to_dict(), "utilisation": self.utilisation.to_dict(),
            "utilization": self.utilisation.to_dict(),  # the old key, for one release (docs/results.md)
            "offered_load": self.offered_load, "offered_erlangs": self.offered_erlangs,
        }
        if self.boarding is not None:
            out["boarding"] = self.boarding.to_dict()
        if self.activation is not None:
            out["activation"] = self.activation.to_dict()
        if self.schedule:
            out["schedule"] = [s.to_dict() for s in self.schedule]
        for name, u in self.unserved.items():
            out[name] = u.to_dict()
        if self.in_service is not None:
            out["in_service"] = self.in_service.to_dict()
        if self.waiting is not None:
            out["waiting"] = self.waiting.to_dict()
        return out


# -- the whole summary ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SummaryData:
    """Every figure of a result (see ``docs/results.md``); :class:`~journeysim.analysis.metrics.Summary`
    adds the views."""

    scenario: str
    source: str | None
    journeysim_version: str
    seed: int
    replications: int
    horizon_minutes: float
    warmup_minutes: float
    records: Literal["full", "summary"]
    journeys: JourneysResult
    quality: QualityResult
    standards: Mapping[str, StandardResult]
    six_sigma: SixSigmaResult
    dependence: DependenceResult
    cost: CostResult | None
    microsystems: Mapping[str, MicrosystemResult]
    #: the model's warnings (idle or overloaded microsystems) and the run's (nothing counted)
    warnings: tuple[Problem, ...]
    provenance: Provenance
    #: how each replication ended: "drain" or "stop" (at the horizon)
    end: str = "drain"

    def to_dict(self) -> dict[str, Any]:
        """The nested statistics (the ``--json`` output of ``journeysim run``), as a new dict.

        JSON-ready: ``None`` where a value cannot be formed.
        """
        stop = {} if self.end == "drain" else {"end": self.end}
        return {
            "scenario": self.scenario,
            "source": self.source,
            "journeysim_version": self.journeysim_version,
            "seed": self.seed,
            "replications": self.replications,
            "horizon_minutes": self.horizon_minutes,
            "warmup_minutes": self.warmup_minutes,
            **stop,
            "records": self.records,
            "journeys": self.journeys.to_dict(),
            "quality": self.quality.to_dict(),
            "standards": {name: s.to_dict() for name, s in self.standards.items()},
            "six_sigma": self.six_sigma.to_dict(),
            "dependence": self.dependence.to_dict(),
            "cost": None if self.cost is None else self.cost.to_dict(),
            "microsystems": {name: m.to_dict() for name, m in self.microsystems.items()},
            "warnings": [{"path": w.path, "message": w.message} for w in self.warnings],
            "provenance": self.provenance.to_dict(),
        }
