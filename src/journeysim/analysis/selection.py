"""Ranking and selection: which of several scenarios is best, with a stated probability.

The procedure is **KN** (Kim & Nelson 2001, "A fully sequential procedure for
indifference-zone selection in simulation", ACM TOMACS 11(3):251-273). It exploits
common random numbers: it works with the variance of the *paired* differences
``X_i - X_l`` of replications that share their seeds, which CRN makes small. With
``k`` alternatives, first-stage size ``n0``, ``1 - alpha`` and indifference zone
``delta``:

* ``eta = ((2 alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1) / 2`` and ``h² = 2 eta (n0 - 1)``;
* ``S²_il`` is the sample variance of ``X_ij - X_lj`` over the first ``n0`` replications;
* after ``r`` replications, alternative ``i`` is eliminated if
  ``mean_i(r) < mean_l(r) - W_il(r)`` for a surviving ``l``, with
  ``W_il(r) = max(0, (delta / (2 r)) (h² S²_il / delta² - r))``;
* the survivors get more replications (the same seeds for each: CRN) until one is
  left. ``W_il`` is zero beyond ``r = h² S²_il / delta²``, so the procedure ends by
  itself; ``max_replications`` may stop it first, and then it says so.

If the best mean exceeds every other by at least ``delta``, the one selected is the
best with probability at least ``1 - alpha``. The constants follow Kim & Nelson (2001)
and match sim-tools' ``KN`` (T. Monks, ``sim_tools/ovs/indifference_zone.py``).

Examples
--------
>>> rng = np.random.default_rng(1)
>>> means = np.array([0.0, 0.5, 1.0])         # the third is best by 0.5
>>> def more(alive, start, stop):
...     common = rng.normal(size=stop - start)  # a shared (CRN) part
...     return means[alive, None] + common + rng.normal(scale=0.5, size=(len(alive), stop - start))
>>> out = kim_nelson(more(list(range(3)), 0, 10), more, alpha=0.05, delta=0.5)
>>> out.survivors, out.reason
([2], 'one survivor')
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import JourneySimError, Problem, ValidationError, renamed_key
from ..model.scenario import Scenario
from ..run.stats import mean_ci
from .figures import replication_metrics
from .keymetrics import Direction, Display, decimals_for, direction, display, format_number
from .result import SimulationResult, simulate

__all__ = ["KNOutcome", "Selection", "kim_nelson", "kn_constants", "pcs_text", "select_best", "zone_text"]

Floats = NDArray[np.float64]
#: ``more(alive, start, stop)``: values of replications ``start .. stop - 1`` of each alternative in ``alive``,
#: as an array ``[len(alive), stop - start]`` (larger is better)
Sampler = Callable[[list[int], int, int], Floats]


def kn_constants(k: int, n0: int, alpha: float) -> tuple[float, float]:
    """KN's ``eta`` and ``h²`` for ``k`` alternatives, first stage ``n0`` and ``1 - alpha``.

    Examples
    --------
    >>> eta, h2 = kn_constants(4, 10, 0.05)
    >>> round(eta, 4), round(h2, 3)
    (0.5647, 10.164)
    """
    eta = 0.5 * ((2 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0)
    return eta, 2.0 * eta * (n0 - 1)


@dataclass(frozen=True, slots=True)
class KNOutcome:
    """What KN did, by alternative index.

    Attributes
    ----------
    survivors : list of int
        One alternative when the procedure could name the best; several when
        ``max_replications`` stopped it first, or when they are identical.
    eliminated : dict
        Alternative -> the number of replications after which it was eliminated.
    replications : list of int
        Replications run of each alternative.
    means : list of float
        Each alternative's mean over its replications (as given: larger is better).
    reason : str
        ``"one survivor"``, ``"identical"`` (survivors equal in every replication), ``"tie"``
        (the continuation region closed with the survivors' means equal, though replications differ)
        or ``"maximum"``.
    eta, h2 : float
        The constants of the continuation region.
    ci95 : list of (float, float)
        Each alternative's Student-t 95% CI of its mean over its replications (``nan`` with one).
    """

    survivors: list[int]
    eliminated: dict[int, int]
    replications: list[int]
    means: list[float]
    reason: str
    eta: float
    h2: float
    ci95: list[tuple[float, float]] = field(default_factory=list)


def kim_nelson(
    first: Floats,
    more: Sampler,
    *,
    alpha: float,
    delta: float,
    max_replications: int = 1000,
    batch: int = 1,
) -> KNOutcome:
    """Run KN from a first stage ``first[alternative, replication]`` (larger is better).

    ``more`` is asked for further replications of the survivors, ``batch`` at a time;
    screening after each batch looks at the same continuation region as KN, only
    less often (``batch=1`` is KN exactly). See the module's description.
    """
    data = np.array(first, dtype=float)
    k, n0 = data.shape
    if k < 2 or n0 < 2:
        raise JourneySimError("ranking and selection needs at least 2 alternatives and 2 replications, "
                              f"got {k} and {n0}")
    if not np.all(np.isfinite(data)):
        raise JourneySimError("ranking and selection needs a value in every replication of every alternative")
    eta, h2 = kn_constants(k, n0, alpha)
    s2 = (data[:, None, :] - data[None, :, :]).var(axis=2, ddof=1)
    alive, eliminated, r = list(range(k)), {}, n0
    counts = [n0] * k
    while True:
        means = data[:, :r].mean(axis=1)
        with np.errstate(over="ignore"):
            w = np.maximum(0.0, delta / (2 * r) * (h2 * s2 / delta**2 - r))
        old = alive
        alive = [i for i in old if all(means[i] >= means[m] - w[i, m] for m in old if m != i)]
        for i in old:
            if i not in alive:
                eliminated[i] = r
        if len(alive) == 1:
            reason = "one survivor"
            break
        if all(w[i, m] == 0.0 for i in alive for m in alive if m != i):
            # the region has closed and the survivors' means are equal: alike in every replication, or a tie
            reason = "identical" if np.all(data[alive, :r] == data[alive[0], :r]) else "tie"
            break
        if r >= max_replications:
            reason = "maximum"
            break
        step = min(batch, max_replications - r)
        new = np.asarray(more(list(alive), r, r + step), dtype=float)
        if new.shape != (len(alive), step) or not np.all(np.isfinite(new)):
            raise JourneySimError("ranking and selection needs a value in every replication of every alternative")
        grown = np.full((k, r + step), np.nan)
        grown[:, :r] = data[:, :r]
        grown[alive, r:] = new
        data, r = grown, r + step
        for i in alive:
            counts[i] = r
    final = [float(np.mean(data[i, :counts[i]])) for i in range(k)]
    intervals = [mean_ci(data[i, :counts[i]]).ci95 for i in range(k)]
    return KNOutcome(alive, eliminated, counts, final, reason, eta, h2, intervals)


def zone_text(metric: str, delta: float, currency: str = "") -> str:
    """The indifference zone ``delta`` (raw units) in the unit it is given in on the command line: points for a
    share, minutes for a time, whatever the size of the metric's values.

    Examples
    --------
    >>> zone_text("time_in_system_minutes", 2.0), zone_text("quality.system", 0.005), zone_text("quality.system", 0.01)
    ('2 min', '0.5 points', '1 point')
    """
    d = display(metric, 0.0, currency)
    value = format_number(delta * d.scale, 3).rstrip("0").rstrip(".")
    if d.difference_unit == "pts":
        return f"{value} point{'' if value == '1' else 's'}"
    return f"{value} {d.difference_unit}".rstrip()


def pcs_text(pcs: float) -> str:
    """A probability of correct selection as a percentage, never rounded up: 0.999 is 99.9%, not 100%.

    Examples
    --------
    >>> pcs_text(0.95), pcs_text(0.999), pcs_text(0.9995), pcs_text(0.99999999)
    ('95%', '99.9%', '99.95%', '99.9999%')
    """
    percent = 100.0 * pcs
    for places in range(5):
        if abs(round(percent, places) - percent) <= 1e-9:
            return f"{percent:.{places}f}%"
    return f"{math.floor(percent * 10_000) / 10_000:.4f}%"


def _zero(x: float) -> float:
    """``x`` without a negative zero (``-0.0 + 0.0`` is ``0.0``)."""
    return x + 0.0


@dataclass(frozen=True, slots=True)
class Selection:
    """The result of :func:`select_best`: the best scenario by one metric, or why none was named.

    Means and ``delta`` are in the metric's own units (fractions for shares, minutes for times).

    Examples
    --------
    >>> s = Selection(metric="quality.system", direction="higher", delta=0.01, pcs=0.95, first_stage=10,
    ...               max_replications=1000, seed=1, names=("a", "b", "c"), best="b", survivors=("b",),
    ...               eliminated={"a": 10, "c": 14}, replications={"a": 10, "b": 14, "c": 14},
    ...               means={"a": 0.80, "b": 0.85, "c": 0.83}, reason="one survivor", h2=10.16)
    >>> s.statement()[:70]
    'Best by system quality (%) (higher is better): b, with probability of '
    """

    metric: str
    direction: Direction
    delta: float
    pcs: float
    first_stage: int
    max_replications: int
    seed: int
    names: tuple[str, ...]
    best: str | None
    survivors: tuple[str, ...]
    eliminated: Mapping[str, int]
    replications: Mapping[str, int]
    means: Mapping[str, float]
    reason: str
    h2: float
    currency: str = ""
    #: each scenario's 95% CI of its mean over its replications (metric units; empty when not given)
    ci95: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def statement(self) -> str:
        """One plain sentence: the best, or why the procedure could not name one."""
        d = self.shown()[0]
        zone = zone_text(self.metric, self.delta, self.currency)
        better = "higher" if self.direction == "higher" else "lower"
        if self.best is not None:
            return (f"Best by {d.label} ({better} is better): {self.best}, with probability of correct selection "
                    f"at least {pcs_text(self.pcs)} if it is better than every other by {zone} or more "
                    f"(KN, {sum(self.replications.values())} replications in all).")
        if self.reason == "identical":
            return (f"No single best by {d.label}: {', '.join(self.survivors)} give the same value in every "
                    "replication.")
        if self.reason == "tie":
            n = max(self.replications[name] for name in self.survivors)
            return (f"No single best by {d.label}: {', '.join(self.survivors)} have the same mean over {n} "
                    "replications and the procedure could not separate them (their replications differ; "
                    "accept any of them as equivalent, or choose by another metric).")
        return (f"No best named by {d.label}: the procedure stopped at {self.max_replications} replications "
                f"each before it could tell {', '.join(self.survivors)} apart at probability {pcs_text(self.pcs)} "
                f"with an indifference zone of {zone} (raise --max-replications or --delta, or choose among "
                "them by another metric).")

    def shown(self) -> tuple[Display, int]:
        """How the means are shown (the CLI's table and the report's): the unit and the decimals.

        At least 2 decimals, and enough to tell the means apart and to resolve the indifference
        zone; a time in hours or days that would need more than 2 is shown in minutes.
        """
        means = [v for v in self.means.values() if math.isfinite(v)]
        magnitude = max((abs(v) for v in means), default=0.0)
        d = display(self.metric, magnitude, self.currency)
        places = self._places(d, means)
        if d.unit in ("h", "d") and places > 2:
            d = display(self.metric, 0.0, self.currency)  # minutes
            places = self._places(d, means)
        return d, places

    def _places(self, d: Display, means: Sequence[float]) -> int:
        shown = sorted({round(v * d.scale, 12) for v in means})
        gaps = [b - a for a, b in itertools.pairwise(shown) if b - a > 0]
        needs = [2, decimals_for(shown)]
        needs += [-math.floor(math.log10(x) + 1e-9) for x in (min(gaps, default=0.0), self.delta * d.scale)
                  if x > 0 and math.isfinite(x)]
        return max(0, min(4, max(needs)))

    def to_text(self) -> str:
        """The statement and a line per scenario: its mean, replications and when it was eliminated."""
        d, places = self.shown()
        lines = [self.statement(), f"  {'scenario':<44} {d.label:>28}  replications  status"]
        for name in self.names:
            status = ("best" if name == self.best else
                      f"eliminated after {self.eliminated[name]}" if name in self.eliminated else "not separated")
            lines.append(f"  {name:<44} {format_number(self.means[name] * d.scale, places):>28}  "
                         f"{self.replications[name]:>12}  {status}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the procedure's settings and outcome (means and delta in the metric's units)."""
        return {
            "procedure": "KN (Kim & Nelson 2001), common random numbers",
            "metric": self.metric,
            "direction": self.direction,
            "delta": self.delta,
            "pcs": self.pcs,
            "first_stage": self.first_stage,
            "max_replications": self.max_replications,
            "seed": self.seed,
            "h2": self.h2,
            "best": self.best,
            "survivors": list(self.survivors),
            "reason": self.reason,
            "statement": self.statement(),
            "alternatives": [{"name": n, "mean": _zero(self.means[n]), "ci95": _plain_ci(self.ci95.get(n)),
                              "replications": self.replications[n],
                              "eliminated_after": self.eliminated.get(n)} for n in self.names],
        }


def _plain_ci(ci: tuple[float, float] | None) -> list[float | None]:
    """A CI for JSON: ``[low, high]`` with ``None`` where it is missing (one replication)."""
    if ci is None:
        return [None, None]
    return [_zero(float(x)) if math.isfinite(x) else None for x in ci]


def _check(metric: str, available: Sequence[str], delta: float, pcs: float, way: str | None,
           k: int, n0: int, max_replications: int) -> Direction:
    problems = []
    if metric not in available:
        problems.append(Problem("metric", f"{metric!r} is not a metric of these scenarios; valid keys: "
                                + ", ".join(sorted(available))))
    if not (isinstance(delta, (int, float)) and math.isfinite(delta) and delta > 0):
        problems.append(Problem("delta", f"the indifference zone must be a positive number, got {delta!r}"))
    if not (isinstance(pcs, (int, float)) and 1.0 / k < pcs < 1):
        problems.append(Problem("pcs", f"must be between 1/k = {1 / k:.3g} and 1, got {pcs!r}"))
    if k < 3:
        problems.append(Problem("scenarios", f"selection needs three or more alternatives, got {k}"))
    if n0 < 2:
        problems.append(Problem("replications", f"the first stage needs at least 2 replications, got {n0}"))
    if max_replications < n0:
        problems.append(Problem("max_replications", f"must be at least the first stage ({n0}), got {max_replications}"))
    chosen = way if way is not None else direction(metric)
    if chosen not in ("higher", "lower") and metric in available:  # an unknown metric is problem enough
        problems.append(Problem("direction", f"say whether higher or lower {metric} is better "
                                "(direction='higher' or 'lower'; --direction on the command line)"))
    if problems:
        raise ValidationError(problems)
    return "higher" if chosen == "higher" else "lower"


def select_best(
    scenarios: Sequence[Scenario] | Any,
    metric: str,
    *,
    delta: float,
    pcs: float = 0.95,
    direction: str | None = None,
    replications: int | None = None,
    seed: int | None = None,
    max_replications: int = 1000,
    batch: int = 1,
    **options: Any,
) -> Selection:
    """Select the best of three or more scenarios by ``metric`` with KN and common random numbers.

    **``delta`` is in the metric's own units, as the Python results hold them: a share is a fraction.** For
    ``quality.system``, ``delta=0.005`` is half a point, the command line's ``--delta 0.5``; ``delta=0.5``
    here would be 50 points, and every scenario would be "indifferent". A time is in minutes, as on the
    command line (``delta=5`` is 5 minutes).

    Parameters
    ----------
    scenarios : sequence of Scenario, or a Comparison
        The alternatives; every one is a candidate (a comparison's base too).
        A :class:`~journeysim.analysis.comparison.Comparison`'s runs are the first stage.
    metric : str
        A key of :func:`~journeysim.analysis.figures.replication_metrics`, e.g. ``"quality.system"``.
    delta : float
        Indifference zone in the metric's units (a fraction for a share: 0.01 is one point, where the
        command line's ``--delta`` takes points; minutes for a time): differences smaller than this do
        not matter.
    pcs : float
        Probability of correct selection to guarantee (``1 - alpha``).
    direction : {"higher", "lower"}, optional
        Which is better (default: by the metric; needed for utilisation and outcomes).
    replications : int, optional
        First-stage size ``n0`` (default: the first scenario's replications; at least 2, 10 or more
        keeps the continuation region narrow).
    seed : int, optional
        Root seed shared by every scenario (default: the first scenario's).
    max_replications : int
        At most this many replications of any scenario (first stage included).
    batch : int
        Replications added to each survivor between screenings (1: KN exactly; more suits many workers).
    **options
        Passed to :func:`journeysim.simulate` (``workers``, ``executor``...).

    Returns
    -------
    Selection

    Examples
    --------
    >>> import journeysim as js
    >>> def clinic(defect):
    ...     model = js.Model([js.Microsystem("Clinic", capacity=1, service=js.Exponential(5), defect=defect)],
    ...                      classes=[js.PatientClass("p", entry="Clinic", rate=0.1)])
    ...     return js.Scenario(model, name=f"defect {defect}", horizon=3_000, replications=10, seed=3)
    >>> s = select_best([clinic(0.3), clinic(0.1), clinic(0.2)], "quality.system", delta=0.05)  # 5 points
    >>> s.best, s.reason
    ('defect 0.1', 'one survivor')
    >>> s.delta  # a fraction: `journeysim compare ... --select quality.system --delta 5` is the same
    0.05
    """
    from .comparison import Comparison

    metric = renamed_key(metric)
    if isinstance(scenarios, Comparison):
        results: list[SimulationResult] = list(scenarios.results)
        alternatives = [r.scenario for r in results]
        root: int | None = results[0].provenance.seed
    else:
        alternatives = list(scenarios)
        given = [s.name for s in alternatives]
        if len(set(given)) != len(given):
            raise JourneySimError(f"scenario names must differ to be compared, got {given}")
        results = []
        root = seed if seed is not None else (alternatives[0].seed if alternatives else None)
    k = len(alternatives)
    n0 = len(results[0].stats) if results else (replications if replications is not None
                                                 else (alternatives[0].replications if alternatives else 0))
    if not results:
        first = simulate(alternatives[0], replications=max(n0, 1), seed=root, **options) if k else None
        if first is not None:
            root = first.provenance.seed
            results = [first] + [simulate(s, replications=n0, seed=root, **options) for s in alternatives[1:]]
    available = sorted(set.intersection(*(set(replication_metrics(r)) for r in results))) if results else []
    way = _check(metric, available, delta, pcs, direction, k, n0, max_replications)
    sign = 1.0 if way == "higher" else -1.0
    first_stage = sign * np.array([replication_metrics(r)[metric] for r in results])
    extra = {**options, "records": "summary"}

    def more(alive: list[int], start: int, stop: int) -> Floats:
        runs = [simulate(alternatives[i], replications=stop - start, seed=root, first_replication=start, **extra)
                for i in alive]
        return sign * np.array([replication_metrics(r)[metric] for r in runs])

    try:
        out = kim_nelson(first_stage, more, alpha=1.0 - pcs, delta=delta, max_replications=max_replications,
                         batch=batch)
    except JourneySimError as err:
        raise JourneySimError(f"{err} ({metric} is undefined in some replication: choose another metric)") from None
    names = tuple(s.name for s in alternatives)
    return Selection(
        metric=metric, direction=way, delta=float(delta), pcs=float(pcs), first_stage=n0,
        max_replications=max_replications, seed=int(root) if root is not None else 0, names=names,
        best=names[out.survivors[0]] if len(out.survivors) == 1 else None,
        survivors=tuple(names[i] for i in out.survivors),
        eliminated={names[i]: r for i, r in out.eliminated.items()},
        replications=dict(zip(names, out.replications)),
        means={n: _zero(sign * m) for n, m in zip(names, out.means)},
        reason=out.reason, h2=out.h2, currency=alternatives[0].model.currency if alternatives else "",
        ci95={n: (_zero(min(sign * lo, sign * hi)), _zero(max(sign * lo, sign * hi)))
              for n, (lo, hi) in zip(names, out.ci95)},
    )
