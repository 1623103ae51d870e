"""journeysim's stop mode against treat-sim 3.0.0, KPI by KPI (a correctness comparison, not a timing).

treat-sim (Monks; PyPI ``treat-sim``, ``treat_sim/model.py``) is a published SimPy model of
an urgent treatment centre (Nelson 2013, exercise 13) that runs 19 hours from 06:00 and
reports what happened by then. ``peers/treat_sim_19h.toml`` writes the same centre in
journeysim with ``end = "stop"``. Both are run for many replications and each of treat-sim's
KPIs is computed **with treat-sim's definition** from journeysim's records (per replication,
then across replications), so the two columns estimate the same quantity; the difference has
a 95% Welch interval. Utilisation is also compared with journeysim's definition (busy time
inside the window), worked out from treat-sim's patients.

Run from the repository root (the ``bench`` extra installs treat-sim)::

    python benchmarks/treatsim.py                      # 1000 replications each, about 75 s
    python benchmarks/treatsim.py --replications 200 --markdown out.md

treat-sim's definitions (``SimulationSummary``):

* waits: the mean over the patients whose service *started* (``get_mean_metric`` keeps
  the waits recorded when the resource was granted);
* utilisation: the sum of the sampled durations of every service that started, over
  run length x resources (``get_resource_util``): a service that straddles the end counts
  in full, so the figure can exceed the busy share of the window (and 1);
* total time and throughput: of the patients who completed (``total_time > -inf``);
* arrivals: every patient who arrived before the end.

A second treat-sim column ("exact arrivals") runs treat-sim with its thinning corrected:
its generator reads the rate of the hour of the previous arrival for every candidate, so its
arrivals lag the profile (about 2.7 fewer a day than the profile's 229.5). journeysim thins at
each candidate's own time. The corrected generator uses the same random streams.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

import journeysim as js

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "peers" / "treat_sim_19h.toml"
TREAT_SIM_VERSION = "3.0.0"
RUN_MINUTES = 19 * 60  # treat-sim's DEFAULT_RESULTS_COLLECTION_PERIOD

#: journeysim's microsystem for each of treat-sim's activities: (name, capacity,
#: treat-sim's attribute prefix, which patients, the KPI keys of its wait and utilisation)
ACTIVITIES = (
    ("Triage", 1, "triage", "all", "01a_triage_wait", "01b_triage_util"),
    ("Registration", 1, "reg", "non_trauma", "02a_registration_wait", "02b_registration_util"),
    ("Examination", 3, "exam", "non_trauma", "03a_examination_wait", "03b_examination_util"),
    ("NonTraumaTreatment", 1, "treat", "non_trauma", "04a_treatment_wait(non_trauma)",
     "04b_treatment_util(non_trauma)"),
    ("Stabilisation", 2, "trauma", "trauma", "06a_trauma_wait", "06b_trauma_util"),
    ("TraumaTreatment", 1, "treat", "trauma", "07a_treatment_wait(trauma)", "07b_treatment_util(trauma)"),
)

#: the order of each pathway's activities in treat-sim (attribute prefixes), to rebuild start times
PATHWAYS = {"trauma": ("triage", "trauma", "treat"), "non_trauma": ("triage", "reg", "exam", "treat")}
_ACTIVITY_KEYS = tuple((kind, prefix) for kind, prefixes in PATHWAYS.items() for prefix in prefixes)

#: (KPI key, label, how treat-sim defines it, how journeysim's own figure differs)
KPIS = (
    ("00_arrivals", "arrivals", "patients who arrived", "same (`journeys.arrived`)"),
    ("01a_triage_wait", "triage wait (min)", "mean over services started", "same (`wait_minutes`)"),
    ("02a_registration_wait", "registration wait", "mean over services started", "same"),
    ("03a_examination_wait", "examination wait", "mean over services started", "same"),
    ("04a_treatment_wait(non_trauma)", "non-trauma cubicle wait", "mean over services started", "same"),
    ("06a_trauma_wait", "stabilisation wait", "mean over services started", "same"),
    ("07a_treatment_wait(trauma)", "trauma cubicle wait", "mean over services started", "same"),
    ("01b_triage_util", "triage utilisation", "sampled durations of services started / (T c)",
     "differs: busy time inside the window"),
    ("02b_registration_util", "registration utilisation", "the same", "differs"),
    ("03b_examination_util", "examination utilisation", "the same", "differs"),
    ("04b_treatment_util(non_trauma)", "non-trauma cubicle utilisation", "the same", "differs"),
    ("06b_trauma_util", "stabilisation utilisation", "the same", "differs"),
    ("07b_treatment_util(trauma)", "trauma cubicle utilisation", "the same", "differs"),
    ("05_total_time(non-trauma)", "total time, non-trauma", "mean over patients who completed",
     "same (per class: from the records)"),
    ("08_total_time(trauma)", "total time, trauma", "mean over patients who completed", "same"),
    ("09_throughput", "throughput", "patients who completed", "same (`journeys.completed`)"),
)

#: utilisation as journeysim defines it (busy time inside the window / (T c)), both tools
WINDOW_KPIS = tuple((f"{util}[window]", f"{name} utilisation, busy time in window", "", "")
                    for name, _, _, _, _, util in ACTIVITIES)


# -- treat-sim
def treat_sim_replications(replications: int, exact_arrivals: bool = False) -> pd.DataFrame:
    """treat-sim's KPIs per replication (its ``single_run``), plus utilisation inside the window.

    Parameters
    ----------
    replications : int
        Replications ``0 .. replications - 1`` (treat-sim's ``random_no_set``, as
        ``multiple_replications`` numbers them).
    exact_arrivals : bool, optional
        Thin each candidate arrival at its own time instead of treat-sim's lagged rate.

    Returns
    -------
    pandas.DataFrame
        One row per replication, treat-sim's ``RESULT_FIELDS`` and the ``*[window]`` columns.
    """
    from treat_sim import model as ts

    model_type = _exact_arrivals_model(ts) if exact_arrivals else ts.TreatmentCentreModel
    rows = []
    for rep in range(replications):
        scenario = ts.Scenario()
        scenario.set_random_no_set(rep)
        model = model_type(scenario)
        model.run(results_collection_period=RUN_MINUTES)
        summary = ts.SimulationSummary(model)
        summary.process_run_results()
        row = dict(summary.results)
        row.update(_treat_sim_window_utilisation(model))
        rows.append(row)
    return pd.DataFrame(rows)


def _exact_arrivals_model(ts: Any) -> type:
    """treat-sim's model with arrivals thinned at each candidate's own time (same streams)."""
    base = ts.TreatmentCentreModel

    class ExactArrivals(base):
        def arrivals_generator(self):
            args = self.args
            rates = args.arrivals["arrival_rate"].to_numpy()
            for patient_count in itertools.count():
                t = self.env.now
                while True:  # thinning: a candidate at t is kept with probability rate(t) / max
                    t += args.arrival_dist.sample()
                    if args.thinning_rng.sample() < rates[int(t // 60) % len(rates)] / args.lambda_max:
                        break
                yield self.env.timeout(t - self.env.now)
                pathway, cohort = ((ts.TraumaPathway, self.trauma_patients)
                                   if args.p_trauma_dist.sample()
                                   else (ts.NonTraumaPathway, self.non_trauma_patients))
                patient = pathway(patient_count, self.env, args)
                cohort.append(patient)
                self.env.process(patient.execute())

    return ExactArrivals


def _treat_sim_window_utilisation(model: Any) -> dict[str, float]:
    """Busy time inside ``[0, T)`` over ``T x capacity``, rebuilt from treat-sim's patients.

    A patient's start at each activity is the end of the previous one plus the wait there
    (treat-sim records arrival, waits and sampled durations, not start times).
    """
    busy = dict.fromkeys(_ACTIVITY_KEYS, 0.0)
    for kind, cohort in (("trauma", model.trauma_patients), ("non_trauma", model.non_trauma_patients)):
        for patient in cohort:
            ready = patient.arrival
            for prefix in PATHWAYS[kind]:
                wait = getattr(patient, _wait_attribute(prefix))
                if wait == -math.inf:  # never started (or, non-trauma, needed no treatment)
                    break
                start = ready + wait
                duration = getattr(patient, f"{prefix}_duration")
                busy[(kind, prefix)] += min(start + duration, RUN_MINUTES) - start
                ready = start + duration
    out = {}
    for _name, capacity, prefix, who, _wait, util in ACTIVITIES:
        kinds = ("trauma", "non_trauma") if who == "all" else (who,)
        out[f"{util}[window]"] = sum(busy[(k, prefix)] for k in kinds) / (RUN_MINUTES * capacity)
    return out


def _wait_attribute(prefix: str) -> str:
    """treat-sim's name of the wait before an activity (``wait_triage``, ``wait_treat``...)."""
    return {"triage": "wait_triage", "reg": "wait_reg", "exam": "wait_exam", "trauma": "wait_trauma",
            "treat": "wait_treat"}[prefix]


# -- journeysim
def journeysim_replications(replications: int, seed: int | None = None) -> tuple[pd.DataFrame, js.SimulationResult]:
    """treat-sim's KPIs computed from journeysim's records, one row per replication.

    Returns
    -------
    (pandas.DataFrame, SimulationResult)
        The KPIs with treat-sim's definitions and the ``*[window]`` utilisations, and the
        run itself (its summary gives journeysim's own figures).
    """
    scenario = js.load_scenario(SCENARIO)
    result = js.simulate(scenario, replications=replications, seed=seed)
    journeys, visits = result.journeys(), result.visits()
    rows = []
    for rep in range(replications):
        rows.append(_journeysim_kpis(journeys[journeys.replication == rep], visits[visits.replication == rep]))
    return pd.DataFrame(rows), result


def _journeysim_kpis(journeys: pd.DataFrame, visits: pd.DataFrame) -> dict[str, float]:
    """One replication's KPIs, each with treat-sim's definition, from journeysim's records."""
    done = journeys[journeys.end.notna()]
    row: dict[str, float] = {
        "00_arrivals": len(journeys),
        "05_total_time(non-trauma)": _mean(done.time_in_system[done.trauma == 0]),
        "08_total_time(trauma)": _mean(done.time_in_system[done.trauma == 1]),
        "09_throughput": len(done),
    }
    for name, capacity, _prefix, _who, wait_key, util_key in ACTIVITIES:
        started = visits[(visits.node == name) & visits.start.notna()]
        row[wait_key] = _mean(started.wait)
        row[util_key] = started.service.sum() / (RUN_MINUTES * capacity)  # full sampled durations
        busy = started.end.fillna(RUN_MINUTES).clip(upper=RUN_MINUTES) - started.start
        row[f"{util_key}[window]"] = busy.sum() / (RUN_MINUTES * capacity)
    return row


def _mean(values: pd.Series) -> float:
    """Mean, NaN when there is nothing to average (as treat-sim's ``np.array([]).mean()``)."""
    return float(values.mean()) if len(values) else math.nan


# -- the comparison
@dataclass(frozen=True, slots=True)
class Difference:
    """journeysim minus treat-sim for one KPI, with its 95% Welch interval."""

    treat_sim: float
    journeysim: float
    difference: float
    low: float
    high: float

    @property
    def within(self) -> bool:
        """True when the interval contains 0."""
        return self.low <= 0.0 <= self.high


def welch(a: Sequence[float], b: Sequence[float]) -> Difference:
    """Mean of ``b`` minus mean of ``a`` with the 95% Welch interval (NaNs dropped).

    >>> d = welch([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    >>> d.difference, round(d.low, 3), round(d.high, 3)
    (1.0, -0.852, 2.852)
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1)) if se > 0 else math.inf
    half = float(stats.t.ppf(0.975, df)) * se
    diff = float(y.mean() - x.mean())
    return Difference(float(x.mean()), float(y.mean()), diff, diff - half, diff + half)


def table(treat_sim: pd.DataFrame, journeysim: pd.DataFrame, exact: pd.DataFrame | None,
          rows: Sequence[tuple[str, str, str, str]], definitions: bool = True) -> str:
    """A markdown table: each KPI, both means, the difference and its interval."""
    head = "| KPI | treat-sim | journeysim | journeysim − treat-sim [95% CI] | 0 in CI |"
    rule = "|---|---:|---:|---|:-:|"
    if exact is not None:
        head += " treat-sim, exact arrivals | journeysim − that [95% CI] | 0 in CI |"
        rule += "---:|---|:-:|"
    if definitions:
        head += " treat-sim's definition | journeysim's own figure |"
        rule += "---|---|"
    lines = [head, rule]
    for key, label, defined, own in rows:
        d = welch(treat_sim[key], journeysim[key])
        line = f"| {label} | {_fmt(d.treat_sim)} | {_fmt(d.journeysim)} | {_interval(d)} | {_yes(d)} |"
        if exact is not None:
            e = welch(exact[key], journeysim[key])
            line += f" {_fmt(e.treat_sim)} | {_interval(e)} | {_yes(e)} |"
        if definitions:
            line += f" {defined} | {own} |"
        lines.append(line)
    return "\n".join(lines)


def _fmt(x: float) -> str:
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.3f}"


def _interval(d: Difference) -> str:
    return f"{d.difference:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"


def _yes(d: Difference) -> str:
    return "yes" if d.within else "**no**"


def arrivals_check(published: pd.DataFrame, exact: pd.DataFrame, journeysim: pd.DataFrame,
                   result: js.SimulationResult) -> str:
    """Each column's mean arrivals against the profile's expectation over the run (z: in standard errors)."""
    (patients,) = js.load_scenario(SCENARIO).model.classes
    expected = patients.rate * 24 * 60  # the profile is 0 after the 19 hours
    parts = []
    for label, frame in (("treat-sim", published), ("treat-sim, exact arrivals", exact), ("journeysim", journeysim)):
        n = frame["00_arrivals"]
        z = (n.mean() - expected) / (n.std(ddof=1) / math.sqrt(len(n)))
        parts.append(f"{label} {n.mean():.2f} (z = {z:+.1f})")
    return f"Arrivals expected from the profile over the 19 hours: {expected:.2f}; " + ", ".join(parts) + "."


def own_figures_check(journeysim: pd.DataFrame, result: js.SimulationResult) -> list[str]:
    """journeysim's own summary against the same figures from its records (they must agree)."""
    summary = result.summary()
    lines = []
    for name, _c, _p, _w, wait_key, util_key in ACTIVITIES:
        micro = summary.microsystems[name]
        lines.append(f"| {name} | {micro.utilization.mean:.4f} | {journeysim[f'{util_key}[window]'].mean():.4f} "
                     f"| {micro.wait_minutes.mean:.3f} | {journeysim[wait_key].mean():.3f} |")
    return ["| microsystem | `utilization` (summary) | busy in window (records) "
            "| `wait_minutes` (summary) | per-replication mean wait (records) |",
            "|---|---:|---:|---:|---:|", *lines]


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> None:
    """Run both models and print the comparison tables (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None, help="journeysim's root seed (default: the scenario's)")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the tables to this file")
    args = parser.parse_args(argv)
    try:
        import treat_sim  # noqa: F401
    except ImportError:
        sys.exit(f"treat-sim is not installed: pip install treat-sim=={TREAT_SIM_VERSION} (the bench extra)")

    published = treat_sim_replications(args.replications)
    exact = treat_sim_replications(args.replications, exact_arrivals=True)
    ours, result = journeysim_replications(args.replications, args.seed)
    text = "\n".join([
        f"treat-sim {TREAT_SIM_VERSION} (random_no_set 0..{args.replications - 1}) against journeysim "
        f"(`{SCENARIO.relative_to(HERE.parent)}`, seed {result.provenance.seed}), "
        f"{args.replications} replications each, {RUN_MINUTES} minutes from 06:00.",
        "",
        "Each KPI with treat-sim's definition, journeysim's computed from its records:",
        "",
        table(published, ours, exact, KPIS),
        "",
        arrivals_check(published, exact, ours, result),
        "",
        "Utilisation with journeysim's definition (busy time inside the window / (T c)); treat-sim's "
        "rebuilt from its patients' arrival, waits and sampled durations:",
        "",
        table(published, ours, exact, WINDOW_KPIS, definitions=False),
        "",
        "journeysim's own summary figures (means of the replications' values) against the same "
        "figures from its records:",
        "",
        *own_figures_check(ours, result),
    ])
    out(text)
    if args.markdown is not None:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
