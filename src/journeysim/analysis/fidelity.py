"""How faithful a model is to a hospital's event log: each measure beside a real-vs-real baseline.

:func:`fidelity` splits the real log by case start: the last ``holdout`` share of
cases is the test part (the model was discovered, or may have been, from the rest). It
splits the test part at random into halves A and B, simulates the scenario over the
test part's calendar window, and draws from the simulated cases a log S with as many
cases as A. Each measure d is reported as the model's ``d(S, B)`` beside the
baseline ``d(A, B)``: two samples of the same reality, of the same sizes, differ by
about the baseline, so a model within about twice it is about as close to B as
reality itself is. The measures are :mod:`journeysim.data.distances` (the standard
ones) and :mod:`journeysim.data.pathway` (journeysim's own).

The simulated window: simulated time 0 is a Monday 00:00 (the scenario's week), the
one at least ``warmup_days`` before the test part's first case start; the simulation
stops (``end="stop"``) at the real log's last time, and the simulated cases kept are
those that start in the test part's window (so the real and simulated cases have the
same calendar, both are cut off at the end of the extract, and the system is not
empty when the window opens). Where the real log has completion times only, so is the
simulated log read (:func:`~journeysim.data.logsplit.completion_only`), each visit at its
arrival: a model discovered from such a log begins a visit at the unit's event.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data import distances as dist
from ..data import pathway
from ..data.logs import EventLog
from ..data.logsplit import case_starts, completion_only, select_cases
from ..errors import JourneySimError
from ..model.scenario import Scenario
from ..run.results import RunResult
from .result import simulate
from .simlog import simulated_log

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FidelityReport", "Measure", "RateCheck", "fidelity"]

#: The aim of issue 17: each measure within this multiple of its baseline.
AIM = 2.0


@dataclass(frozen=True, slots=True)
class Measure:
    """One distance: the model's (simulated S against real B) and the baseline (real A against real B)."""

    key: str
    label: str
    unit: str
    model: float
    baseline: float
    detail: str = ""

    @property
    def ratio(self) -> float | None:
        """model / baseline (None where the baseline is 0)."""
        return self.model / self.baseline if self.baseline > 0 else None

    @property
    def within(self) -> bool:
        """The model is within :data:`AIM` times the baseline (or both are 0)."""
        return self.model <= AIM * self.baseline if self.baseline > 0 else self.model == 0

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "unit": self.unit, "model": _finite(self.model),
                "baseline": _finite(self.baseline), "ratio": _finite(self.ratio), "within_2x": self.within,
                "detail": self.detail}


@dataclass(frozen=True, slots=True)
class RateCheck:
    """A standard's or defect's rate: cases (k of n) in real A, real B and simulated S, with Wilson 95% intervals."""

    name: str
    kind: str  # "standard" or "defect"
    real_a: tuple[int, int]
    real_b: tuple[int, int]
    simulated: tuple[int, int]

    @staticmethod
    def rate(kn: tuple[int, int]) -> float | None:
        return kn[0] / kn[1] if kn[1] else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        for key, kn in (("real_a", self.real_a), ("real_b", self.real_b), ("simulated", self.simulated)):
            out[key] = {"cases": kn[0], "of": kn[1], "rate": self.rate(kn), "ci95": list(pathway.wilson(*kn))}
        return out


@dataclass(frozen=True, slots=True)
class FidelityReport:
    """What :func:`fidelity` found: the split, each measure beside its baseline, rates, notes."""

    source: str
    scenario: str
    holdout: float
    seed: int
    cut: dt.datetime  # the first case start of the test part
    end: dt.datetime  # the real log's last time
    cases: dict[str, int]  # training, test, a, b, simulated (in the window), s
    measures: tuple[Measure, ...]
    rates: tuple[RateCheck, ...]
    routing: tuple[tuple[str, str, str, float, float], ...]  # class, from, to, p simulated, p real B
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        ok = sum(m.within for m in self.measures)
        return (f"FidelityReport({self.scenario} against {self.source}: {self.cases['test']} test cases, "
                f"{ok} of {len(self.measures)} measures within {AIM:g}x the real-vs-real baseline)")

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON (no NaN)."""
        return {"source": self.source, "scenario": self.scenario, "holdout": self.holdout, "seed": self.seed,
                "test_window": [self.cut.isoformat(), self.end.isoformat()], "cases": dict(self.cases),
                "aim": f"model within {AIM:g}x the baseline", "measures": [m.to_dict() for m in self.measures],
                "rates": [r.to_dict() for r in self.rates],
                "routing": [{"class": k, "from": a, "to": b, "simulated": ps, "real": pr}
                            for k, a, b, ps, pr in self.routing],
                "notes": list(self.notes)}

    def to_frame(self) -> pd.DataFrame:
        """One row per measure: label, unit, model, baseline, ratio, within_2x, detail."""
        import pandas as pd

        return pd.DataFrame([m.to_dict() for m in self.measures]).set_index("key")

    def to_text(self) -> str:
        c = self.cases
        lines = [f"Fidelity of {self.scenario} against {self.source}",
                 f"  test part: the last {self.holdout:.0%} of cases by start, {c['test']:,} cases from "
                 f"{self.cut:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} ({c['training']:,} before)",
                 f"  real A {c['a']:,} and real B {c['b']:,} cases (a random split); simulated S {c['s']:,} cases "
                 f"(of {c['simulated']:,} simulated in the window; seed {self.seed})",
                 f"  model = d(S, B), baseline = d(A, B); aim: model within {AIM:g}x baseline", "",
                 f"  {'measure':<44} {'model':>10} {'baseline':>10} {'ratio':>6}  within"]
        for m in self.measures:
            ratio = "-" if m.ratio is None else f"{m.ratio:.2f}"
            lines.append(f"  {m.label + ' (' + m.unit + ')':<44} {m.model:>10.4g} {m.baseline:>10.4g} {ratio:>6}  "
                         f"{'yes' if m.within else 'NO'}{'  ' + m.detail if m.detail else ''}")
        if self.rates:
            lines += ["", f"  {'rate':<36} {'real A':>18} {'real B':>18} {'simulated':>18}"]
            for r in self.rates:
                cells = [_rate_text(kn) for kn in (r.real_a, r.real_b, r.simulated)]
                lines.append(f"  {r.kind + ' ' + r.name:<36} {cells[0]:>18} {cells[1]:>18} {cells[2]:>18}")
        if self.notes:
            lines += ["", "Notes:", *(f"  {n}" for n in self.notes)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(m.label)}</td><td>{html.escape(m.unit)}</td><td>{m.model:.4g}</td>"
            f"<td>{m.baseline:.4g}</td><td>{'-' if m.ratio is None else f'{m.ratio:.2f}'}</td>"
            f"<td>{'yes' if m.within else '<b>no</b>'}</td><td>{html.escape(m.detail)}</td></tr>"
            for m in self.measures)
        head = html.escape(f"{self.scenario} against {self.source}: {self.cases['test']:,} test cases "
                           f"from {self.cut:%Y-%m-%d} to {self.end:%Y-%m-%d}")
        return (f"<p><b>Fidelity</b> {head}</p><table><tr><th>measure</th><th>unit</th><th>model d(S,B)</th>"
                f"<th>baseline d(A,B)</th><th>ratio</th><th>within {AIM:g}x</th><th></th></tr>{rows}</table>")


def _rate_text(kn: tuple[int, int]) -> str:
    if not kn[1]:
        return "-"
    lo, hi = pathway.wilson(*kn)
    return f"{kn[0] / kn[1]:.3f} [{lo:.2f}, {hi:.2f}]"


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def fidelity(
    real_log: EventLog,
    scenario_or_result: Scenario | RunResult,
    *,
    holdout: float = 0.2,
    seed: int = 0,
    standards: Sequence[str] = (),
    defect_activities: Sequence[str] = (),
    defect_columns: Sequence[str] = (),
    warmup_days: float = 7.0,
) -> FidelityReport:
    """Measure how far a scenario's simulated log is from a real log's held-out cases.

    Parameters
    ----------
    real_log : EventLog
        The real log (:func:`journeysim.read_log`).
    scenario_or_result : Scenario or RunResult
        A scenario, simulated here over the test part's window (one replication, ``seed``);
        or a result already simulated (its replication 0; its time 0 is taken as the Monday
        00:00 at least its warm-up before the test window, so it must run past the window).
    holdout : float
        The share of cases, the last by start, in the test part (0 < holdout < 1).
    seed : int
        Seeds the split into halves, the simulation and the choice of S's cases.
    standards : sequence of str
        Timeliness standards, ``"name: A -> B <= 60 min"``.
    defect_activities, defect_columns : sequence of str
        Defects: cases with an instance of an activity (``"Return ER"``), or a true value in
        an attribute column of the log (compared where the simulated log has it too).
    warmup_days : float
        Simulated days before the window opens (at least; up to 7 more, to start on a Monday).

    Returns
    -------
    FidelityReport
    """
    if not 0 < holdout < 1:
        raise JourneySimError(f"holdout: expected a share of cases between 0 and 1, got {holdout!r}")
    specs = [pathway.parse_standard(s) for s in standards]
    rng = np.random.default_rng(seed)
    starts = case_starts(real_log)
    order = np.argsort(starts, kind="stable")
    n_test = max(2, math.ceil(holdout * real_log.n_cases))
    if real_log.n_cases < 4 or n_test >= real_log.n_cases:
        raise JourneySimError(f"fidelity needs a log of at least 4 cases and a training part; {real_log.source} "
                              f"has {real_log.n_cases} cases (holdout {holdout})")
    test = np.sort(order[-n_test:])
    cut, last = float(starts[order[-n_test]]), real_log.span
    halves = rng.permutation(test)
    real_a, real_b = select_cases(real_log, np.sort(halves[:n_test // 2])), select_cases(real_log,
                                                                                          np.sort(halves[n_test // 2:]))
    window, notes = _simulated_window(real_log, scenario_or_result, cut, last, seed, warmup_days)
    # completion-only: a discovered visit begins at its unit's event (its service is the gap to the next one)
    sim = window if real_log.has_starts else completion_only(window, at="arrival")
    n_s = min(real_a.n_cases, sim.n_cases)
    if sim.n_cases < real_a.n_cases:
        notes.append(f"the simulation has {sim.n_cases} cases in the window, fewer than real A's {real_a.n_cases}: "
                     "S is all of them")
    if n_s == 0:
        raise JourneySimError("no simulated case started in the test window: is the scenario's arrival rate 0, or "
                              "does the result's horizon end before the window?")
    sim_s = select_cases(sim, np.sort(rng.choice(sim.n_cases, n_s, replace=False)))
    measures = _measures(real_a, real_b, sim_s)
    rates = _rates(real_a, real_b, sim_s, specs, defect_activities, defect_columns, notes)
    measures += [_rate_measure(r) for r in rates if r.real_a[1] and r.real_b[1] and r.simulated[1]]
    routing = pathway.routing_error(sim_s, real_b).edges
    origin = real_log.origin
    name = scenario_or_result.name if isinstance(scenario_or_result, Scenario) else scenario_or_result.scenario.name
    return FidelityReport(
        source=real_log.source, scenario=name, holdout=holdout, seed=seed,
        cut=origin + dt.timedelta(minutes=cut), end=origin + dt.timedelta(minutes=last),
        cases={"training": real_log.n_cases - n_test, "test": n_test, "a": real_a.n_cases, "b": real_b.n_cases,
               "simulated": sim.n_cases, "s": sim_s.n_cases},
        measures=tuple(measures), rates=tuple(rates), routing=routing, notes=tuple(notes))


def _simulated_window(real: EventLog, target: Scenario | RunResult, cut: float, last: float, seed: int,
                      warmup_days: float) -> tuple[EventLog, list[str]]:
    """The simulated cases that start in the real test window, on the real calendar."""
    notes: list[str] = []
    cut_at = real.origin + dt.timedelta(minutes=cut)
    warmup = warmup_days * 1440 if isinstance(target, Scenario) else float(target.provenance.warmup)
    zero = _monday_before(cut_at - dt.timedelta(minutes=warmup))
    offset = (cut_at - zero) / dt.timedelta(minutes=1)
    horizon = offset + (last - cut)
    if isinstance(target, Scenario):
        result: RunResult = simulate(target, horizon=horizon, warmup=offset, replications=1, seed=seed, workers=1,
                                     end="stop")
    else:
        result = target
        if result.provenance.horizon < horizon:
            notes.append(f"the result's horizon ({result.provenance.horizon / 1440:.1f} days) ends before the test "
                         f"window does ({horizon / 1440:.1f} days from its time 0)")
    log = simulated_log(result, start=zero)
    starts = case_starts(log)
    keep = np.flatnonzero((starts >= offset) & (starts <= horizon))
    log = select_cases(log, keep)
    return dataclasses.replace(log, end=np.where(log.end <= horizon, log.end, np.nan)), notes


def _monday_before(when: dt.datetime) -> dt.datetime:
    day = dt.datetime(when.year, when.month, when.day, tzinfo=when.tzinfo)
    return day - dt.timedelta(days=day.weekday())


#: The standard measures: key, label, unit, function.
STANDARD: tuple[tuple[str, str, str, Callable[[Any, Any], float]], ...] = (
    ("cfld", "control-flow log distance", "0-1", dist.control_flow_log_distance),
    ("ngram", "3-gram distance", "0-1", dist.n_gram_distance),
    ("absolute", "EMD absolute event times", "hours", dist.absolute_event_distance),
    ("arrivals", "EMD case arrivals", "hours", dist.case_arrival_distance),
    ("circadian", "EMD hour of day per weekday", "hours", dist.circadian_event_distance),
    ("relative", "EMD time since case start", "hours", dist.relative_event_distance),
    ("cycle_time", "EMD cycle time", "hours", dist.cycle_time_distance),
    ("wip", "work in progress (timeline)", "0-1", dist.work_in_progress_distance),
)


def _measures(a: EventLog, b: EventLog, s: EventLog) -> list[Measure]:
    ia, ib, is_ = dist.Instants.of(a), dist.Instants.of(b), dist.Instants.of(s)
    out = [Measure(key, label, unit, f(is_, ib), f(ia, ib)) for key, label, unit, f in STANDARD]
    rs, ra = pathway.routing_error(s, b), pathway.routing_error(a, b)
    out.append(Measure("routing", "routing error (mean)", "probability", rs.mean, ra.mean,
                       f"largest {rs.largest:.3f} at {rs.worst}"))
    out.append(Measure("routing_max", "routing error (largest)", "probability", rs.largest, ra.largest))
    if np.isfinite(b.scheduled).any() and np.isfinite(b.start).any():
        out.append(_unit_measure("wait", "EMD wait per unit (mean)", a, b, s, pathway.waits))
    what = "end - start" if b.has_starts else "gap to the next event"
    out.append(_unit_measure("stay", "EMD stay per unit (mean)", a, b, s, pathway.stays, what))
    out.append(Measure("census", "EMD cases in progress", "patients", pathway.census_distance(s, b),
                       pathway.census_distance(a, b)))
    return out


def _unit_measure(key: str, label: str, a: EventLog, b: EventLog, s: EventLog,
                  values: Callable[[EventLog], np.ndarray], detail: str = "") -> Measure:
    per_s, model = pathway.unit_distances(s, values(s), b, values(b))
    _, baseline = pathway.unit_distances(a, values(a), b, values(b))
    worst = max(per_s, key=lambda u: per_s[u]) if per_s else ""
    note = "; ".join(x for x in (detail, f"largest {per_s[worst]:.4g} at {worst}" if worst else "") if x)
    return Measure(key, label, "minutes", model if model is not None else 0.0,
                   baseline if baseline is not None else 0.0, note)


def _rate_measure(r: RateCheck) -> Measure:
    pa, pb, ps = (k / n for k, n in (r.real_a, r.real_b, r.simulated))
    return Measure(f"{r.kind}:{r.name}", f"{r.kind} {r.name}: rate difference", "share", abs(ps - pb), abs(pa - pb))


def _rates(a: EventLog, b: EventLog, s: EventLog, specs: Sequence[pathway.StandardSpec],
           activities: Sequence[str], columns: Sequence[str], notes: list[str]) -> list[RateCheck]:
    out = [RateCheck(spec.name, "standard", pathway.standard_cases(a, spec), pathway.standard_cases(b, spec),
                     pathway.standard_cases(s, spec)) for spec in specs]
    for name in activities:
        got = [pathway.defect_cases(x, activity=name) or (0, x.n_cases) for x in (a, b, s)]
        out.append(RateCheck(name, "defect", got[0], got[1], got[2]))
    for name in columns:
        got_real = [pathway.defect_cases(x, column=name) for x in (a, b)]
        if got_real[0] is None or got_real[1] is None:
            raise JourneySimError(f"defect column {name!r} is not in the real log (read it with attributes=[...], "
                                  "the command line's --attribute)")
        simulated = pathway.defect_cases(s, column=name)
        if simulated is None:
            notes.append(f"defect column {name!r}: the simulated log has no such column; its rate is not compared")
            simulated = (0, 0)
        out.append(RateCheck(name, "defect", got_real[0], got_real[1], simulated))
    return out
