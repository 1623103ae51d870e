"""Statistics of a simulation result: journeys, quality, and flow at each microsystem.

Definitions (all documented in ``docs/results.md``):

* A **journey** counts when it arrived at or after the warm-up. Runs drain (every
  journey that arrived before the horizon is followed to its end), so completed
  equals arrived; both are reported as totals over the replications. A run that
  stops at the horizon (``end = "stop"``) counts the journeys that completed
  before it, and reports those still in progress apart (``docs/results.md``). Overall
  journey statistics and system quality cover the pathway classes; background
  classes are reported under ``by_class`` only.
* **System quality** is the share of those journeys that were defect-free; its
  interval is the Student-t interval of the replication shares (Wilson's
  interval when there is a single replication).
* **Microsystem quality** is ``1 - defective visits / visits`` over the visits
  of counted journeys; a support microsystem's visits are the requests it served.
  **Handoff quality** is the share of transfers with no defect of any kind, and
  ``by_kind`` gives the same per kind.
* **Flow** at a microsystem (waits, sojourn, utilisation) uses the visits that
  arrived in ``[warmup, horizon)`` and the busy time inside that window, so it
  describes the steady state that queueing theory predicts.
* **Percentiles** of time in system are exact when records are kept; in summary
  mode they come from log-spaced histograms (bins about 2% wide, interpolated).

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.analysis.result import simulate
>>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8), defect=0.1)],
...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
>>> s = simulate(model, horizon=20_000, replications=3, seed=5).summary()
>>> 0.85 < s.quality.system.simulated.mean < 0.95
True
>>> s.quality.system.analytic
0.9
>>> s.to_dict()["quality"]["system"]["analytic"]
0.9
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..engine.aggregate import TIS_BINS, ReplicationStats
from ..errors import Problem
from ..model.diagnostics import model_warnings
from ..model.kinds import HANDOFF_KINDS, REQUEST_KINDS
from ..model.mesosystem import Model
from ..model.traffic import OfferedLoad, offered_load
from ..run.results import RunResult
from ..run.stats import mean_ci
from .built import boarding_of
from .costs import cost_result
from .dependence import dependence_result
from .exact import ExactQuality, exact_quality
from .figures import Floats, Quality, Replications, plain, replication_metrics
from .leverage import leverage_rows
from .outcomes import exact_outcomes, outcomes_unavailable
from .sixsigma import six_sigma_result
from .summary import (
    Activation,
    Boarding,
    ClassJourneys,
    ClassQuality,
    ElementQuality,
    InProgress,
    JourneysResult,
    LinkQuality,
    MicrosystemResult,
    OutcomeResult,
    Percentiles,
    QualityResult,
    RecoveryResult,
    ScheduleSegment,
    StandardCell,
    StandardResult,
    SummaryData,
    SystemQuality,
    TimeInSystem,
    Unserved,
)
from .text import render
from .views import summary_html

__all__ = ["Summary", "summarize", "replication_metrics"]


@dataclass(frozen=True, slots=True, repr=False)
class Summary(SummaryData):
    """Statistics of a result, with 95% confidence intervals (the figures of :class:`SummaryData`).

    ``to_dict()`` is the ``--json`` output of ``journeysim run``; ``to_text()`` the
    text summary; the ``*_table()`` methods give DataFrames.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> result = js.simulate(model, horizon=1440, replications=2, seed=1)
    >>> summary = js.summarize(result)
    >>> summary.quality.system.analytic, summary.quality.system.simulated.n
    (0.95, 2)
    >>> print(summary.to_text())  # doctest: +SKIP
    """

    def __repr__(self) -> str:
        q = self.quality.system
        sim, (low, high) = plain(q.simulated.mean), q.simulated.ci95
        share = "n/a" if sim is None else f"{100 * sim:.1f}%"
        ci = "" if plain(low) is None or plain(high) is None else f" [{100 * low:.1f}, {100 * high:.1f}]"
        warn = f"; {len(self.warnings)} warning(s)" if self.warnings else ""
        return (f"<Summary {self.scenario!r}: {self.replications} replication(s), {self.journeys.completed:,} "
                f"journeys; system quality {share}{ci} (exact {100 * q.analytic:.1f}%){warn}. "
                ".to_text() or .to_dict() for everything>")

    @property
    def data(self) -> dict[str, Any]:
        """The nested statistics, as :meth:`to_dict` gives them (a new dict each time)."""
        return self.to_dict()

    def quality_table(self) -> pd.DataFrame:
        """System quality per class, simulated and exact, as fractions (0.044, not 4.4%)."""
        q = self.quality
        rows: list[tuple[str, SystemQuality | ClassQuality]] = [("all", q.system), *q.by_class.items()]
        return pd.DataFrame(
            [
                {
                    "class": name,
                    "simulated": plain(v.simulated.mean),
                    "ci95_low": plain(v.simulated.ci95[0]),
                    "ci95_high": plain(v.simulated.ci95[1]),
                    "exact": v.analytic,
                }
                for name, v in rows
            ]
        ).set_index("class")

    def microsystem_table(self) -> pd.DataFrame:
        """Visits, quality, waits, sojourn and utilisation per microsystem.

        ``visits`` are all visits that arrived in the window ``[warmup, horizon)``, whichever journey
        (JSON ``microsystems.<node>.visits``, the report's "all visits in the window");
        ``visits_by_counted_journeys`` those of the counted journeys (JSON
        ``quality.microsystems.<node>.visits``, the command line's ``visits``), whose ``quality`` this
        is. Shares (``quality``, ``utilisation``, ``*_share``) are fractions, not percent.
        """
        rows = []
        for name, m in self.microsystems.items():
            rows.append(
                {
                    "microsystem": name,
                    "kind": m.kind,
                    "capacity": "unlimited" if m.capacity is None else m.capacity,
                    "visits": m.visits,
                    "visits_by_counted_journeys": self.quality.microsystems[name].visits,
                    "quality": self.quality.microsystems[name].quality,
                    "wait_min": plain(m.wait_minutes.mean),
                    "sojourn_min": plain(m.sojourn_minutes.mean),
                    "utilisation": plain(m.utilisation.mean),
                    # the shares turned away or lost, only where a microsystem can lose patients
                    **{f"{how}_share": plain(u.share.mean) for how, u in m.unserved.items()},
                }
            )
        return pd.DataFrame(rows).set_index("microsystem")

    def handoff_table(self) -> pd.DataFrame:
        """Transfers and quality per handoff and kind (requests included, as ``A=>B``), as fractions."""
        rows = []
        for links in (self.quality.handoffs, self.quality.requests):
            for label, h in links.items():
                rows.append(
                    {"handoff": label, "transfers": h.transfers, "quality": h.quality,
                     **{kind: h.by_kind.get(kind) for kind in HANDOFF_KINDS}}
                )
        return pd.DataFrame(rows).set_index("handoff") if rows else pd.DataFrame()

    def standards_table(self) -> pd.DataFrame:
        """Each timeliness standard: target, journeys it applied to, share met (a fraction) with its CI, median
        interval."""
        rows = [
            {"standard": name, "target_min": s.target_minutes, "applies": s.applies,
             "met": plain(s.met.mean), "ci95_low": plain(s.met.ci95[0]), "ci95_high": plain(s.met.ci95[1]),
             "median_min": s.overall.minutes.p50}
            for name, s in self.standards.items()
        ]
        return pd.DataFrame(rows).set_index("standard") if rows else pd.DataFrame()

    def _repr_html_(self) -> str:
        return summary_html(self, self.quality_table(), self.standards_table())

    def to_text(self) -> str:
        """A readable report of the main numbers."""
        return render(self)


# -- pieces of the summary ------------------------------------------------------------------------


def _percentiles(stats: Sequence[ReplicationStats], classes: Sequence[int], qs: Sequence[float]) -> list[float | None]:
    """Pooled percentiles of time in system: exact from the values, else from the histograms."""
    kept = [v for s in stats if (v := s.class_tis_values) is not None]
    values = [v[k] for v in kept for k in classes] if len(kept) == len(stats) else None
    hist = np.zeros(TIS_BINS.size - 1)
    for s in stats:
        hist = hist + s.class_tis_hist[list(classes)].sum(axis=0)
    return _pooled_percentiles(values, hist, qs)


def _pooled_percentiles(values: list[Floats] | None, hist: Floats, qs: Sequence[float]) -> list[float | None]:
    """Percentiles from raw values when kept, else interpolated in a TIS_BINS histogram."""
    if values is not None:
        x = np.concatenate(values) if values else np.empty(0)
        return [plain(float(np.percentile(x, q))) if x.size else None for q in qs]
    total = float(np.sum(hist))
    if total == 0:
        return [None for _ in qs]
    cum = np.concatenate([[0.0], np.cumsum(hist)]) / total
    # linear interpolation inside the bin that crosses the quantile
    return [plain(float(np.interp(q / 100.0, cum, TIS_BINS))) for q in qs]


def _journeys(reps: Replications) -> JourneysResult:
    """Counted journeys and their time in system (and outcomes, with named exits), of the pathway and each class."""
    pathway = reps.pathway
    model = reps.model
    # outcomes are reported where a journey can end in more than one way (named exits, queue rules); their
    # exact shares see the routing alone, so not where queue rules end journeys or send them elsewhere
    reported = len(model.outcomes) > 1
    exact = exact_outcomes(model) if reported and outcomes_unavailable(model) is None else None

    def times(classes: Sequence[int]) -> TimeInSystem:
        p50, p90 = _percentiles(reps.stats, classes, (50, 90))
        return TimeInSystem(mean_ci(reps.time_in_system(classes)), p50, p90)

    def outcomes(classes: Sequence[int], shares: Mapping[str, float]) -> dict[str, OutcomeResult] | None:
        if not reported:
            return None
        counts = reps.outcomes(classes)
        return {name: OutcomeResult(reps.outcome_share(classes, o).estimate(), mean_ci(counts[:, o]),
                                    shares.get(name))
                for o, name in enumerate(model.outcomes)}

    def in_progress(classes: Sequence[int]) -> InProgress | None:
        if not reps.stopped:
            return None
        n = reps.in_progress(classes)
        return InProgress(mean_ci(n).within(0.0), int(n.sum()))

    by_class = {name: ClassJourneys(k not in pathway, int(reps.journeys([k]).sum()), times([k]),
                                    outcomes=outcomes([k], exact.by_class[name] if exact else {}),
                                    in_progress=in_progress([k]))
                for k, name in enumerate(model.class_names)}
    counted = int(reps.journeys(pathway).sum())
    ongoing = in_progress(pathway)
    arrived = counted + (ongoing.total if ongoing is not None else 0)
    return JourneysResult(arrived, counted, times(pathway), by_class,
                          outcomes=outcomes(pathway, exact.pathway if exact else {}), in_progress=ongoing)


def _element(q: Quality) -> tuple[float | None, tuple[float | None, float | None]]:
    """The pooled quality of an element and the CI of its share."""
    low, high = q.estimate().ci95
    return q.pooled(), (plain(low), plain(high))


def _visits(q: Quality) -> ElementQuality:
    return ElementQuality(int(q.occurrences.sum()), *_element(q))


def _handoffs(reps: Replications) -> dict[str, LinkQuality]:
    """Transfers and quality of every handoff, by kind too, and what the receiving microsystem caught."""
    out = {}
    for e, h in enumerate(reps.model.handoffs):
        q = reps.handoff_quality(e)
        by_kind = {kind: reps.handoff_kind_quality(e, kind).pooled() for kind in HANDOFF_KINDS}
        recovery = None
        if h.recovery is not None:
            caught = reps.caught(e)
            recovery = RecoveryResult(int(caught.successes.sum()), caught.estimate())
        out[h.label] = LinkQuality(int(q.occurrences.sum()), *_element(q), by_kind, recovery)
    return out


def _requests(reps: Replications) -> dict[str, LinkQuality]:
    """Requests made and their quality, for every service request, by kind too."""
    out = {}
    for e, r in enumerate(reps.model.requests):
        q = reps.request_quality(e)
        by_kind = {kind: reps.request_kind_quality(e, kind).pooled() for kind in REQUEST_KINDS}
        out[r.label] = LinkQuality(int(q.occurrences.sum()), *_element(q), by_kind)
    return out


def _quality(result: RunResult, reps: Replications, exact: ExactQuality) -> QualityResult:
    """System quality, quality per class and per element, and leverage."""
    model = reps.model
    pathway = reps.pathway
    return QualityResult(
        # the graph's product of qualities cannot see time or queues: missed standards and the queue
        # rules' defects are simulated only; routing by the clock, activation or numbers leaves no exact value
        system=SystemQuality(reps.quality(pathway).estimate(), exact.system,  # NaN where unavailable
                             model.analytic_excludes, exact.unavailable),
        by_class={name: ClassQuality(reps.quality([k]).estimate(), exact.by_class[name], k not in pathway)
                  for k, name in enumerate(model.class_names)},
        microsystems={m.name: _visits(reps.microsystem_quality(i)) for i, m in enumerate(model.microsystems)},
        handoffs=_handoffs(reps),
        requests=_requests(reps),
        leverage=leverage_rows(result, exact),
    )


def _standards(reps: Replications) -> dict[str, StandardResult]:
    """Share met, interval percentiles and subgroups of each standard."""
    model, stats = reps.model, reps.stats
    if not model.standards:
        return {}
    reached = reps.stack("std_reached")  # (replications, standards, cells)
    hist = reps.stack("std_hist").sum(axis=0)
    n_cells = reached.shape[2]
    keep = all(s.std_values is not None for s in stats)

    def cell(j: int, c: int) -> StandardCell:
        values = [v[j * n_cells + c] for s in stats if (v := s.std_values) is not None] if keep else None
        p25, p50, p75, p90 = _pooled_percentiles(values, hist[j, c], (25, 50, 75, 90))
        met = reps.standard_met(j, c)
        total = int(met.trials.sum())
        still_open = still_open_share = None
        if reps.stopped:
            still_open = int(reps.standard_open(j, c).sum())
            still_open_share = plain(still_open / (total + still_open)) if total + still_open else None
        return StandardCell(total, met.estimate(), plain(float(reached[:, j, c].sum()) / total) if total else None,
                            Percentiles(p25, p50, p75, p90), still_open, still_open_share)

    out = {}
    for j, st in enumerate(model.standards):
        by_group, offset = {}, 1
        for g in model.groups:
            by_group[g.name] = {label: cell(j, offset + li) for li, label in enumerate(g.labels)}
            offset += len(g.labels)
        out[st.name] = StandardResult(
            st.within, tuple(st.start), tuple(st.end),
            tuple(st.classes) if st.classes is not None else tuple(model.pathway_classes),
            tuple(st.entries) if st.entries is not None else None, cell(j, 0), by_group,
            None if st.when is None else str(st.when))
    return out


def _microsystems(reps: Replications, load: dict[str, OfferedLoad]) -> dict[str, MicrosystemResult]:
    """Flow at each microsystem: arrivals, waits, utilisation, offered load, boarding, activation."""
    visits, arrivals, waits = reps.visits(), reps.arrivals_per_day(), reps.wait_minutes()
    sojourns, support_waits = reps.per_visit("sojourn_sum"), reps.per_visit("support_wait_sum")
    holds, busy, utilisation = reps.per_visit("hold_sum"), reps.busy_servers(), reps.utilisation()
    stopped = reps.stopped
    in_service, waiting = (reps.in_service(), reps.waiting()) if stopped else (None, None)
    out = {}
    for i, m in enumerate(reps.model.microsystems):
        out[m.name] = MicrosystemResult(
            kind=m.kind,
            capacity=m.capacity,
            visits=int(visits[:, i].sum()),
            arrivals_per_day=mean_ci(arrivals[:, i]),
            wait_minutes=mean_ci(waits[:, i]),
            sojourn_minutes=mean_ci(sojourns[:, i]),
            support_wait_minutes=mean_ci(support_waits[:, i]),
            hold_minutes=mean_ci(holds[:, i]),
            busy_servers=mean_ci(busy[:, i]),
            utilisation=mean_ci(utilisation[:, i]),
            offered_load=load[m.name].load,
            offered_erlangs=load[m.name].erlangs,
            boarding=_boarding(reps, i),
            activation=_activation(reps, i),
            schedule=tuple(ScheduleSegment(t, cap, m.period_days) for t, cap, _ in m.segments()) if m.schedule else (),
            **_unserved(reps, i),
            in_service=None if in_service is None else mean_ci(in_service[:, i]).within(0.0),
            waiting=None if waiting is None else mean_ci(waiting[:, i]).within(0.0),
        )
    return out


def _unserved(reps: Replications, i: int) -> dict[str, Unserved]:
    """Arrivals at microsystem ``i`` turned away, balked or reneged, where its queue rules allow each."""
    out = {}
    for how in reps.unserved_ways(i):
        share = reps.unserved(i, how)
        wait = mean_ci(reps.renege_wait_minutes(i)) if how == "reneged" else None
        out[how] = Unserved(int(share.successes.sum()), share.estimate(), wait)
    return out


def _boarding(reps: Replications, i: int) -> Boarding | None:
    """Patients who boarded at microsystem ``i``, where a handoff out of it lets them board."""
    model = reps.model
    name = model.microsystems[i].name
    if all(boarding_of(h).is_zero() for h in model.handoffs if h.source == name):
        return None
    boarded, visits = reps.boarded(i), reps.stack("node_visits")[:, i]
    return Boarding(int(boarded.sum()), plain(float(boarded.sum() / visits.sum())) if visits.sum() else None,
                    mean_ci(reps.board_minutes(i)))


def _activation(reps: Replications, i: int) -> Activation | None:
    """Team activations at microsystem ``i``, where it has a team to activate."""
    if reps.model.microsystems[i].team_ready is None:
        return None
    return Activation(int(reps.activations(i).sum()), reps.activated_ahead(i).estimate(),
                      mean_ci(reps.per_activation("act_ahead_sum", i)),
                      mean_ci(reps.per_activation("act_wait_sum", i)))


def _warnings(model: Model, load: dict[str, OfferedLoad], journeys: JourneysResult) -> tuple[Problem, ...]:
    """The model's warnings (idle or overloaded microsystems) and the run's (nothing counted)."""
    out = list(model_warnings(model, load))
    if journeys.completed == 0 and journeys.arrived > 0:  # only where runs stop at the horizon
        out.append(Problem("", f"no journey completed before the horizon ({journeys.arrived} still in progress): "
                               "quality and time in system are n/a (a longer horizon, or end = 'drain', "
                               "follows them to their end)"))
    elif journeys.completed == 0:
        out.append(Problem("", "no journey was counted after the warm-up: every simulated figure is "
                               "n/a (check the arrival rates, the horizon and the warm-up)"))
    return tuple(out)


def summarize(result: RunResult, exact: ExactQuality | None = None) -> Summary:
    """Compute the statistics of ``result`` (see the module docstring for definitions).

    ``exact`` is the exact quality of the result's model
    (:func:`~journeysim.analysis.exact.exact_quality`), solved here when not given.
    It is solved once per summary and shared by system quality, leverage, Six
    Sigma and dependence.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> result = js.simulate(model, horizon=1440, replications=2, seed=1)
    >>> summary = js.summarize(result)
    >>> 0 <= summary.quality.system.simulated.mean <= 1
    True
    """
    scenario = result.scenario
    model = scenario.model
    exact = exact if exact is not None else exact_quality(model)
    reps = Replications.of(result)
    load = offered_load(model)
    journeys = _journeys(reps)
    prov = result.provenance
    return Summary(
        scenario=scenario.name,
        source=scenario.source,
        journeysim_version=prov.journeysim_version,
        seed=prov.seed,
        replications=len(reps.stats),
        horizon_minutes=scenario.horizon,
        warmup_minutes=scenario.warmup,
        records="full" if result.records else "summary",
        journeys=journeys,
        quality=_quality(result, reps, exact),
        standards=_standards(reps),
        six_sigma=six_sigma_result(result, exact),
        dependence=dependence_result(result, exact),
        cost=cost_result(result),
        microsystems=_microsystems(reps, load),
        warnings=_warnings(model, load, journeys),
        provenance=prov,
        end=scenario.end,
    )
