"""The families :func:`journeysim.data.fit.fit` tries, each as a maximum-likelihood fit.

One :class:`Family` per journeysim distribution that maximum likelihood suits. A family
works in an unconstrained parameter vector ``theta`` (logs of the positive parameters),
so a numerical Hessian of the negative log-likelihood gives standard errors, and its
journeysim parameters are each a monotone function of one component of ``theta``.

Location is fixed at 0 (durations start at 0). scipy.stats is imported inside the
functions that use it.

Examples
--------
>>> import numpy as np
>>> fam = FAMILIES["exponential"]
>>> theta = fam.estimate(np.array([1.0, 2.0, 3.0]), np.zeros(3, dtype=bool))
>>> fam.params(theta)
{'mean': 2.0}
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Family", "FAMILIES", "DEFAULT_FAMILIES", "neg_loglik"]

Floats = NDArray[np.float64]
Mask = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Family:
    """One candidate family.

    Parameters
    ----------
    name : str
        journeysim's ``dist`` name.
    names : tuple of str
        journeysim's parameter names (scenario file), one per component of ``theta``.
    logged : tuple of bool
        Whether each parameter is ``exp(theta[i])`` (else ``theta[i]`` itself).
    frozen : callable
        ``theta -> scipy.stats`` frozen distribution.
    start : callable
        ``(values, censored) -> theta``: the maximum-likelihood estimate from scipy.stats'
        ``fit`` (with ``CensoredData`` when some values are censored), or a starting point.
    note : str
        How the fit is made, shown beside it.
    """

    name: str
    names: tuple[str, ...]
    logged: tuple[bool, ...]
    frozen: Callable[[Floats], Any]
    start: Callable[[Floats, Mask], Floats]
    note: str = ""
    nll: Callable[[Floats, Floats, Mask], float] | None = None

    @property
    def k(self) -> int:
        """Number of estimated parameters."""
        return len(self.names)

    def params(self, theta: Floats) -> dict[str, float]:
        """journeysim's parameters from ``theta``."""
        return {n: float(math.exp(t) if lg else t) for n, t, lg in zip(self.names, theta, self.logged, strict=True)}

    def theta(self, params: dict[str, float]) -> Floats:
        """``theta`` from journeysim's parameters (the inverse of :meth:`params`)."""
        pairs = zip(self.names, self.logged, strict=True)
        return np.array([math.log(params[n]) if lg else params[n] for n, lg in pairs])

    def estimate(self, values: Floats, censored: Mask) -> Floats:
        """The maximum-likelihood ``theta``: scipy's fit, polished by BFGS on the full likelihood."""
        from scipy.optimize import minimize

        theta0 = np.asarray(self.start(values, censored), dtype=float)
        if not censored.any() and self.name not in _POLISH:
            return theta0
        res = minimize(neg_loglik, theta0, args=(self, values, censored), method="BFGS")
        better = bool(np.isfinite(res.fun)) and res.fun <= neg_loglik(theta0, self, values, censored)
        return np.asarray(res.x if better else theta0, dtype=float)


def neg_loglik(theta: Floats, family: Family, values: Floats, censored: Mask) -> float:
    """Minus the log-likelihood: densities of the observed values, survival of the censored ones."""
    if family.nll is not None:
        return family.nll(np.asarray(theta, dtype=float), values, censored)
    d = family.frozen(np.asarray(theta, dtype=float))
    with np.errstate(all="ignore"):
        ll = float(np.sum(d.logpdf(values[~censored]))) + float(np.sum(d.logsf(values[censored])))
    return -ll if math.isfinite(ll) else math.inf


def _censored_data(values: Floats, censored: Mask) -> Any:
    from scipy import stats

    if not censored.any():
        return values
    return stats.CensoredData(uncensored=values[~censored], right=values[censored])


def _scipy_start(dist_name: str, order: Callable[[tuple[float, ...]], list[float]]) -> Callable[[Floats, Mask], Floats]:
    """A start that calls ``scipy.stats.<dist_name>.fit(data, floc=0)`` and maps its result to ``theta``."""

    def start(values: Floats, censored: Mask) -> Floats:
        from scipy import stats

        fitted = getattr(stats, dist_name).fit(_censored_data(values, censored), floc=0)
        return np.log(np.asarray(order(tuple(float(v) for v in fitted)), dtype=float))

    return start


def _expon(theta: Floats) -> Any:
    from scipy import stats

    return stats.expon(scale=math.exp(theta[0]))


def _expon_start(values: Floats, censored: Mask) -> Floats:
    # the closed form: total time at risk over the number of events
    events = max(int((~censored).sum()), 1)
    return np.array([math.log(max(float(values.sum()) / events, 1e-300))])


def _lognorm(theta: Floats) -> Any:
    from scipy import stats

    return stats.lognorm(s=math.exp(theta[1]), scale=math.exp(theta[0]))


def _gamma(theta: Floats) -> Any:
    from scipy import stats

    return stats.gamma(a=math.exp(theta[0]), scale=math.exp(theta[1]))


def _weibull(theta: Floats) -> Any:
    from scipy import stats

    return stats.weibull_min(c=math.exp(theta[0]), scale=math.exp(theta[1]))


def _truncnorm(theta: Floats) -> Any:
    from scipy import stats

    loc, scale = float(theta[0]), math.exp(theta[1])
    return stats.truncnorm(a=(0.0 - loc) / scale, b=math.inf, loc=loc, scale=scale)


def _truncnorm_nll(theta: Floats, values: Floats, censored: Mask) -> float:
    """``neg_loglik`` of the normal truncated at 0, written out (a frozen truncnorm per call is slow)."""
    from scipy.special import log_ndtr

    loc, log_scale = float(theta[0]), float(theta[1])
    scale = math.exp(log_scale)
    z = (values - loc) / scale
    with np.errstate(all="ignore"):
        kept = float(log_ndtr(loc / scale))  # log P(X >= 0) of the parent normal
        dens = -0.5 * z[~censored] ** 2 - log_scale - 0.5 * math.log(2.0 * math.pi)
        ll = float(np.sum(dens)) + float(np.sum(log_ndtr(-z[censored]))) - values.size * kept
    return -ll if math.isfinite(ll) else math.inf


def _normal_start(values: Floats, censored: Mask) -> Floats:
    sd = float(np.std(values)) or 1.0
    return np.array([float(np.mean(values)), math.log(sd)])


def _uniform(theta: Floats) -> Any:
    from scipy import stats

    return stats.uniform(loc=theta[0], scale=theta[1] - theta[0])


def _uniform_start(values: Floats, censored: Mask) -> Floats:
    return np.array([float(values.min()), float(values.max())])


#: families whose scipy start is only a starting point (no closed form or scipy fit of this exact model)
_POLISH = frozenset({"normal"})

FAMILIES: dict[str, Family] = {
    "exponential": Family("exponential", ("mean",), (True,), _expon, _expon_start,
                          "closed form: total time over the number of uncensored values"),
    "lognormal": Family("lognormal", ("median", "log_sd"), (True, True), _lognorm,
                        _scipy_start("lognorm", lambda f: [f[2], f[0]]), "scipy.stats.lognorm, loc fixed at 0"),
    "gamma": Family("gamma", ("shape", "scale"), (True, True), _gamma,
                    _scipy_start("gamma", lambda f: [f[0], f[2]]), "scipy.stats.gamma, loc fixed at 0"),
    "weibull": Family("weibull", ("shape", "scale"), (True, True), _weibull,
                      _scipy_start("weibull_min", lambda f: [f[0], f[2]]), "scipy.stats.weibull_min, loc fixed at 0"),
    "normal": Family("normal", ("mean", "sd"), (False, True), _truncnorm, _normal_start,
                     "truncated below at 0 as journeysim's normal: scipy.stats.truncnorm with a = -mean/sd, "
                     "maximised over mean and sd (mean and sd are those before truncation)", _truncnorm_nll),
    "uniform": Family("uniform", ("low", "high"), (False, False), _uniform, _uniform_start,
                      "the sample range (the maximum-likelihood estimate; no standard errors: the likelihood "
                      "is not smooth at its maximum)"),
}

#: what :func:`~journeysim.data.fit.fit` tries unless told otherwise (``fixed`` joins when all values are equal)
DEFAULT_FAMILIES = ("exponential", "lognormal", "gamma", "weibull", "normal")
