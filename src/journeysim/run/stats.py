"""Confidence intervals for estimates across replications.

Examples
--------
>>> est = mean_ci([1.0, 2.0, 3.0])
>>> est.mean, [round(x, 3) for x in est.ci95]
(2.0, [-0.484, 4.484])
>>> mean_ci([5.0]).ci95
(nan, nan)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Estimate", "mean_ci", "proportion_ci"]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean with its 95% confidence interval (``nan`` where it cannot be formed)."""

    mean: float
    ci95: tuple[float, float]
    n: int

    def to_dict(self) -> dict[str, object]:
        """``{"mean": ..., "ci95": [low, high]}`` with ``None`` for missing values (JSON-ready)."""
        return {"mean": _plain(self.mean), "ci95": [_plain(self.ci95[0]), _plain(self.ci95[1])]}

    def within(self, low: float = -math.inf, high: float = math.inf) -> Estimate:
        """The same estimate with its interval cut to ``[low, high]``, the range the quantity can take.

        Examples
        --------
        >>> Estimate(0.98, (0.95, 1.01), 2).within(0.0, 1.0).ci95
        (0.95, 1.0)
        """
        lo, hi = self.ci95
        return Estimate(self.mean, (max(low, lo), min(high, hi)) if math.isfinite(lo) else self.ci95, self.n)

    @property
    def half_width(self) -> float:
        """Half the width of the interval."""
        return (self.ci95[1] - self.ci95[0]) / 2.0


def _plain(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95) -> Estimate:
    """Mean of replication values with a Student-t interval; ``nan`` values are dropped."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return Estimate(math.nan, (math.nan, math.nan), 0)
    m = float(x.mean())
    if n < 2:
        return Estimate(m, (math.nan, math.nan), n)
    from scipy.stats import t  # imported here: scipy.stats takes half a second to import

    half = float(t.ppf(0.5 + level / 2.0, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Estimate(m, (m - half, m + half), n)


def proportion_ci(
    successes: Sequence[int] | np.ndarray, trials: Sequence[int] | np.ndarray, level: float = 0.95
) -> Estimate:
    """A proportion estimated from several replications.

    With two or more replications that have trials, the interval is the
    Student-t interval of the replication proportions (honest when replications
    differ); with one, it is the Wilson score interval of the pooled counts.

    Examples
    --------
    >>> est = proportion_ci([90], [100])
    >>> round(est.mean, 2), [round(x, 3) for x in est.ci95]
    (0.9, [0.826, 0.945])
    """
    s = np.asarray(successes, dtype=float)
    t = np.asarray(trials, dtype=float)
    keep = t > 0
    if keep.sum() >= 2:
        # a share lies in [0, 1]: the t interval is cut there (rare events, few replications)
        return mean_ci(s[keep] / t[keep], level).within(0.0, 1.0)
    total = float(t.sum())
    if total == 0:
        return Estimate(math.nan, (math.nan, math.nan), 0)
    p = float(s.sum()) / total
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2.0))
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return Estimate(p, (centre - half, centre + half), int(keep.sum()))
