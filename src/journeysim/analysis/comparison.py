"""Comparing scenarios with common random numbers, and parameter sweeps.

Replication ``i`` of every scenario draws from the same named streams (root
seed, ``i``, stream name), so arrivals, service times and defect draws match
wherever the scenarios do not differ. The difference between two scenarios is
then estimated from *paired* replication differences ``d_i = x_i(redesign) -
x_i(base)``, whose variance is far smaller than that of two independent runs
when the scenarios are alike. The **variance reduction** reported for each
metric is ``(s²_base + s²_redesign) / s²_d``: how many times more replications
independent sampling would need for the same precision.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.model.scenario import Scenario
>>> def make(info):
...     return Scenario(Model([Microsystem("A", capacity=1, service=Exponential(5)),
...                            Microsystem("B", capacity=1, service=Exponential(5))],
...                           [Handoff("A", "B", defects={"information": info})],
...                           classes=[PatientClass("p", entry="A", rate=0.1)]),
...                     name=f"info {info}", horizon=5_000, replications=5, seed=1)
>>> c = compare([make(0.4), make(0.2)])
>>> d = c.differences["info 0.2"]["quality.system"]
>>> d["mean"] > 0.1, d["variance_reduction"] > 1
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import JourneySimError, Problem, ValidationError, renamed_key
from ..io.overrides import Override, parse_override, sweep_specs
from ..io.scenario_file import ScenarioSpec, build_scenario, read_spec
from ..model.scenario import Scenario
from ..run.stats import mean_ci
from .figures import replication_metrics
from .keymetrics import decimals_for, display, key_cells, key_metrics
from .result import SimulationResult, simulate
from .views import comparison_html

__all__ = ["Comparison", "compare", "paired_difference", "sweep"]


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def paired_difference(base: np.ndarray, other: np.ndarray) -> dict[str, Any]:
    """Mean paired difference with its 95% CI, and the variance reduction over independent sampling.

    Examples
    --------
    >>> d = paired_difference(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.4, 3.6]))
    >>> round(d["mean"], 3), d["variance_reduction"] > 10
    (0.5, True)

    A difference that is the same in every replication has a CI of no width and no variance reduction:

    >>> d = paired_difference(np.array([100.1, 70.3, 90.7]), np.array([80.1, 50.3, 70.7]))
    >>> d["mean"], d["ci95"], d["variance_reduction"]
    (-20.0, [-20.0, -20.0], None)
    """
    keep = np.isfinite(base) & np.isfinite(other)
    b, o = base[keep], other[keep]
    d = o - b
    est = mean_ci(d)
    mean, ci = _num(est.mean), [_num(est.ci95[0]), _num(est.ci95[1])]
    reduction = math.nan
    if d.size >= 2 and _constant(d, b, o):
        # the same difference in every replication (up to rounding): a CI of no width, no variance reduction
        mean = _num(float(d[0]))
        ci = [mean, mean]
    elif d.size >= 2:
        var_d = float(np.var(d, ddof=1))
        var_ind = float(np.var(b, ddof=1) + np.var(o, ddof=1))
        if var_d > 0:
            reduction = var_ind / var_d
    return {
        "mean": mean,
        "ci95": ci,
        "base": _num(float(np.mean(b))) if b.size else None,
        "value": _num(float(np.mean(o))) if o.size else None,
        "variance_reduction": None if not math.isfinite(reduction) else reduction,
        "replications": int(d.size),
    }


def _constant(d: np.ndarray, b: np.ndarray, o: np.ndarray) -> bool:
    """Whether the paired differences ``d = o - b`` are equal but for the rounding of the subtraction."""
    size = max(float(np.max(np.abs(b))), float(np.max(np.abs(o))), 1e-300)
    return bool(float(np.ptp(d)) <= 64 * float(np.finfo(float).eps) * size)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Several scenarios run with common random numbers, and their differences from the first.

    Attributes
    ----------
    results : tuple of SimulationResult
        The base first.
    differences : mapping
        ``differences[scenario name][metric]`` -> ``{mean, ci95, base, value,
        variance_reduction, replications}`` for every metric both scenarios have.

    Examples
    --------
    >>> import journeysim as js
    >>> def clinic(name, defect):
    ...     model = js.Model(
    ...         microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=defect)],
    ...         classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ...     )
    ...     return js.Scenario(model, name=name, horizon=2 * 1440, replications=3, seed=1)
    >>> comparison = js.compare([clinic("base", 0.10), clinic("checklist", 0.05)])
    >>> [r.scenario.name for r in comparison.results]
    ['base', 'checklist']
    >>> diff = comparison.differences["checklist"]["quality.system"]
    >>> diff["mean"] > 0   # fewer defects: higher system quality, paired by common random numbers
    True
    """

    results: tuple[SimulationResult, ...]
    differences: Mapping[str, Mapping[str, Mapping[str, Any]]]

    def __repr__(self) -> str:
        base = self.results[0]
        lines = [f"<Comparison with common random numbers: base {base.scenario.name!r}, "
                 f"{len(base.stats)} replication(s), seed {base.provenance.seed}"]
        for name, metrics in self.differences.items():
            d = metrics.get("quality.system") or {}
            mean, (low, high) = d.get("mean"), d.get("ci95", (None, None))
            diff = "n/a" if mean is None else f"{100 * mean:+.2f} pts"
            ci = "" if low is None or high is None else f" [{100 * low:+.2f}, {100 * high:+.2f}]"
            lines.append(f"  {name!r} minus base: system quality {diff}{ci}")
        return "\n".join(lines) + "\n  .table() for every metric>"

    def table(self) -> pd.DataFrame:
        """The differences as a tidy DataFrame: one row per scenario and metric.

        Values are in the metric's raw unit: shares (quality, standards met, utilisation) as
        fractions (0.044, not 4.4%), times in minutes, costs in the scenario's currency;
        :meth:`key_rows` gives them in the units shown (percent, points).
        """
        rows = []
        for name, metrics in self.differences.items():
            for metric, d in metrics.items():
                rows.append({"scenario": name, "metric": metric, "base": d["base"], "value": d["value"],
                             "difference": d["mean"], "ci95_low": d["ci95"][0], "ci95_high": d["ci95"][1],
                             "variance_reduction": d["variance_reduction"]})
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        return comparison_html(self.table(), self.results[0].scenario.name)

    def metric_keys(self) -> list[str]:
        """Every metric key that all the scenarios have (for ``metrics=`` and ``--metric``)."""
        keys = [set(m) for m in self.differences.values()]
        return sorted(set.intersection(*keys)) if keys else []

    def key_rows(self, metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The key metrics (or ``metrics``) of every scenario against the base, in the units they are shown in.

        One row per scenario and metric: ``scenario``, ``key``, ``label`` (with the unit),
        ``unit``, ``difference_unit`` (``pts`` for percentages), and ``base``, ``value``,
        ``difference``, ``ci95`` and ``variance_reduction`` with values scaled to the unit
        (percent, minutes/hours/days by magnitude, money), ``excludes_zero`` where the CI does,
        and ``decimals``: the places every scenario's value of the metric is shown with (one per
        metric, so the base reads the same beside every redesign). Key metrics: system quality,
        elements only, each standard, cost per journey, time in system, the waits (those not zero
        in every scenario).

        Raises
        ------
        ValidationError
            When a metric is not one of :meth:`metric_keys` (the message lists them).
        """
        valid = self.metric_keys()
        if metrics:
            metrics = [renamed_key(m) for m in metrics]
            bad = [m for m in metrics if m not in valid]
            if bad:
                raise ValidationError([Problem("metric", f"{m!r} is not a metric of these scenarios") for m in bad]
                                      + [Problem("metric", "valid keys: " + ", ".join(valid))])
            keys = list(dict.fromkeys(metrics))
        else:
            keys = [k for k in key_metrics(valid) if not self._zero_wait(k)]
        currency = self.results[0].scenario.model.currency
        rows: list[dict[str, Any]] = []
        for key in keys:
            first = next(iter(self.differences.values()))[key]
            shown = display(key, abs(first["base"] or 0.0), currency)
            mine = len(rows)
            for name, metrics_of in self.differences.items():
                d = metrics_of[key]
                scale = shown.scale
                lo, hi = d["ci95"]
                rows.append({
                    "scenario": name, "key": key, "label": shown.label, "unit": shown.unit,
                    "difference_unit": shown.difference_unit,
                    "base": _scaled(d["base"], scale), "value": _scaled(d["value"], scale),
                    "difference": _scaled(d["mean"], scale), "ci95": [_scaled(lo, scale), _scaled(hi, scale)],
                    "excludes_zero": lo is not None and hi is not None and (lo > 0 or hi < 0),
                    "variance_reduction": d["variance_reduction"], "replications": d["replications"],
                })
            places = decimals_for([v for r in rows[mine:] for v in (r["base"], r["value"])])
            for r in rows[mine:]:
                r["decimals"] = max(places, 1) if shown.unit == "%" else places
        return rows

    def _zero_wait(self, key: str) -> bool:
        """A wait that is zero in every scenario (an unlimited microsystem): not worth a row."""
        if not key.endswith(".wait_minutes"):
            return False
        return all(d[key]["base"] == 0 and d[key]["value"] == 0 for d in self.differences.values())

    def to_text(self, metrics: Sequence[str] | None = None) -> str:
        """The key metrics (or ``metrics``) of each scenario against the base, as a table for the terminal."""
        base = self.results[0]
        n = len(base.stats)
        lines = [f"Base: {base.scenario.name}  ({n} replication{'s' if n != 1 else ''}, seed {base.provenance.seed}, "
                 "common random numbers)",
                 "Quality of elements only: journeys free of element defects, standards aside. "
                 "Other metrics: --metric KEY (metrics= in Python)."]
        rows = self.key_rows(metrics)
        for name in self.differences:
            mine = [r for r in rows if r["scenario"] == name]
            lines += ["", f"{name} minus base: paired differences with 95% CI (* the CI excludes 0; "
                      "xN: variance reduction vs independent runs)",
                      f"  {'metric':<40} {'base':>9} {'this':>9} {'difference':>16}  {'95% CI':<30} var.red."]
            for r in mine:
                lines.append(_text_row(r))
        return "\n".join(lines)

    def to_dict(self, metrics: Sequence[str] | None = None) -> dict[str, Any]:
        """The summaries of every scenario, the ``differences`` section (raw units: fractions, minutes) and
        the ``table`` of key metrics (or ``metrics``) as shown, in display units (JSON-ready)."""
        return {
            "base": self.results[0].scenario.name,
            "seed": self.results[0].provenance.seed,
            "replications": len(self.results[0].stats),
            "table": self.key_rows(metrics),
            "scenarios": [r.summary().to_dict() for r in self.results],
            "differences": {k: dict(v) for k, v in self.differences.items()},
        }


def _scaled(x: float | None, scale: float) -> float | None:
    return None if x is None else x * scale


def _text_row(r: Mapping[str, Any]) -> str:
    """One metric of one scenario: base, value, difference with its unit, CI and variance reduction."""
    c = key_cells(r)
    if c.equal:
        ci = "(equal in every replication)"
    elif c.same:
        ci = "(the same in every replication)"
    else:
        ci = "" if c.low is None else f"[{c.low}, {c.high}]"
        ci += " *" if r["excludes_zero"] else ""
    vr = r["variance_reduction"]
    vr_text = "" if vr is None or c.same else f"x{vr:.1f}"
    return f"  {r['label']:<40} {c.base:>9} {c.value:>9} {c.difference:>16}  {ci:<30} {vr_text}".rstrip()


def compare(
    scenarios: Sequence[Scenario],
    *,
    replications: int | None = None,
    seed: int | None = None,
    **options: Any,
) -> Comparison:
    """Run scenarios with common random numbers and estimate their differences from the first.

    Parameters
    ----------
    scenarios : sequence of Scenario
        The base first. Names must differ.
    replications, seed : optional
        Default: the base scenario's. Every scenario uses the same.
    **options
        Passed to :func:`journeysim.simulate` (``workers``,
        ``executor``, ``records``, ``progress``...).

    Returns
    -------
    Comparison

    Examples
    --------
    >>> import journeysim as js
    >>> def clinic(name, defect):
    ...     model = js.Model(
    ...         microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=defect)],
    ...         classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ...     )
    ...     return js.Scenario(model, name=name, horizon=2 * 1440, replications=3, seed=1)
    >>> comparison = js.compare([clinic("base", 0.10), clinic("checklist", 0.05)], replications=3, seed=7)
    >>> row = comparison.key_rows(["quality.system"])[0]
    >>> row["scenario"], row["excludes_zero"]   # the paired 95% CI of the difference excludes zero
    ('checklist', True)
    """
    if len(scenarios) < 2:
        raise JourneySimError("compare needs a base scenario and at least one other")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise JourneySimError(f"scenario names must differ to be compared, got {names}")
    base = scenarios[0]
    reps = replications if replications is not None else base.replications
    root = seed if seed is not None else base.seed
    first = simulate(base, replications=reps, seed=root, **options)
    results = [first] + [simulate(s, replications=reps, seed=first.provenance.seed, **options) for s in scenarios[1:]]
    base_m = replication_metrics(first)
    differences = {}
    for res in results[1:]:
        other = replication_metrics(res)
        differences[res.scenario.name] = {
            metric: paired_difference(base_m[metric], other[metric]) for metric in base_m if metric in other
        }
    return Comparison(tuple(results), differences)


def sweep(
    spec: ScenarioSpec | str,
    overrides: Sequence[Override | str],
    *,
    replications: int | None = None,
    seed: int | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Run every point of a grid of ``--set`` overrides with common random numbers.

    Parameters
    ----------
    spec : ScenarioSpec or path
        The base scenario (see :func:`journeysim.io.scenario_file.read_spec`).
    overrides : sequence of Override or str
        E.g. ``'handoffs["EMS->ED"].defects.information=0.43,0.3,0.2'``;
        several make a grid.
    replications, seed, **options
        As for :func:`compare`.

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per grid point and metric, with a column per override,
        ``metric``, ``mean``, ``ci95_low``, ``ci95_high`` and the paired
        ``difference`` from the first point with its CI and variance reduction, in the
        metric's raw unit: shares as fractions (0.044, not 4.4%), times in minutes.

    Examples
    --------
    >>> import journeysim as js
    >>> table = js.sweep(str(js.examples.path("tandem")),
    ...                  ['microsystems["Treatment"].defect=0.05,0.01', "scenario.horizon_days=2"], replications=2)
    >>> len(table) > 0
    True
    """
    if isinstance(spec, str):
        spec = read_spec(spec)
    parsed = [o if isinstance(o, Override) else parse_override(o) for o in overrides]
    points = sweep_specs(spec, parsed)
    scenarios = _build_points(points)
    first = scenarios[0]
    reps = replications if replications is not None else first.replications
    root = seed if seed is not None else first.seed
    results: list[SimulationResult] = []
    for scenario in scenarios:
        root = results[0].provenance.seed if results else root
        results.append(simulate(scenario, replications=reps, seed=root, **options))
    base_m = replication_metrics(results[0])
    rows = []
    for (values, _), res in zip(points, results):
        metrics = replication_metrics(res)
        for metric, x in metrics.items():
            est = mean_ci(x)
            d = paired_difference(base_m[metric], x) if metric in base_m else None
            rows.append({
                **values,
                "metric": metric,
                "mean": est.mean,
                "ci95_low": est.ci95[0],
                "ci95_high": est.ci95[1],
                "difference": None if d is None else d["mean"],
                "difference_ci95_low": None if d is None else d["ci95"][0],
                "difference_ci95_high": None if d is None else d["ci95"][1],
                "variance_reduction": None if d is None else d["variance_reduction"],
            })
    return pd.DataFrame(rows)


def _build_points(points: Sequence[tuple[dict[str, Any], ScenarioSpec]]) -> list[Scenario]:
    """The scenario of every grid point; every problem of every point is raised at once.

    A problem found at every point (the file's own) is listed once as it is; one
    found at some points names the ``--set`` value that causes it (or the points).
    """
    scenarios: list[Scenario] = []
    found: dict[Problem, list[int]] = {}  # problem -> the points where it occurs, in order
    for n, (_, spec) in enumerate(points):
        try:
            scenarios.append(build_scenario(spec))
        except ValidationError as err:
            for p in err.problems:
                found.setdefault(p, []).append(n)
    if not found:
        return scenarios
    problems = []
    for p, where in found.items():
        if len(where) < len(points):
            problems.append(Problem(p.path, f"{p.message} (with {_cause([points[n][0] for n in where], points)})",
                                    p.file, p.line))
        else:
            problems.append(p)
    raise ValidationError(problems)


def _cause(bad: list[dict[str, Any]], points: Sequence[tuple[dict[str, Any], ScenarioSpec]]) -> str:
    """``--set PATH=VALUE`` when exactly the points with that value are ``bad``, else the points."""
    for path in bad[0]:
        value = bad[0][path]
        if all(pt[path] == value for pt in bad) and sum(pt[path] == value for pt, _ in points) == len(bad):
            return f"--set {path}={value!r}"
    return "; ".join(", ".join(f"--set {k}={v!r}" for k, v in pt.items()) for pt in bad)
