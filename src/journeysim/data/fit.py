"""Fit journeysim's duration distributions to a sample by maximum likelihood, and rank them.

:func:`fit` tries each family (:mod:`journeysim.data.families`), ranks them by AIC with
Akaike weights (and gives BIC), measures each fit's Kolmogorov-Smirnov distance with a
parametric-bootstrap p-value, and gives 95% confidence intervals of the parameters. The
best fit converts to a journeysim distribution and to the line to paste into a scenario
file. Right-censored values (a stay still running when the data were extracted) enter the
likelihood through their survival probability (``scipy.stats.CensoredData``).

Examples
--------
>>> import numpy as np
>>> x = np.random.default_rng(1).lognormal(np.log(180), 0.8, 400)
>>> result = fit(x, bootstrap=0)
>>> result.best.family
'lognormal'
>>> result.best.toml("service")
'service = { dist = "lognormal", median = 168.6, log_sd = 0.7281 }'
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import JourneySimError, Problem, ValidationError
from ..model._problems import Collector
from ..model.distributions import Distribution
from .families import DEFAULT_FAMILIES, FAMILIES, Family, neg_loglik

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["fit", "FitResult", "FamilyFit", "kaplan_meier", "SMALL_SAMPLE", "UNITS"]

#: below this many values the result warns and recommends the empirical distribution
SMALL_SAMPLE = 20
#: the units a sample may be in, with their length in minutes (as in the scenario file)
UNITS = {"minutes": 1.0, "hours": 60.0, "days": 1440.0}
_Z95 = 1.959963984540054
_CI_METHOD = ("Wald intervals from the observed information (numerical Hessian of the log-likelihood), on the log "
              "scale for positive parameters")
_GOF_METHOD = ("Kolmogorov-Smirnov distance; p-value by parametric bootstrap ({b} samples from the fitted "
               "distribution, parameters re-estimated on each, seed {seed})")
_GOF_CENSORED = ("Kolmogorov-Smirnov distance between the Kaplan-Meier estimate and the fitted CDF, up to the "
                 "largest value; no p-value: a bootstrap would need a model of the censoring times")


def _sig(value: float, digits: int = 4) -> float:
    """``value`` rounded to ``digits`` significant figures."""
    return float(f"{value:.{digits}g}")


def _toml_number(value: float) -> str:
    text = repr(_sig(value))
    return text[:-2] if text.endswith(".0") and abs(value) < 1e15 else text


@dataclass(frozen=True, slots=True)
class FamilyFit:
    """One family fitted to the sample.

    ``params`` are the maximum-likelihood estimates in journeysim's scenario-file names,
    in the sample's ``unit``; ``se`` their standard errors and ``ci`` their 95% intervals
    (empty where the likelihood is not smooth at its maximum). ``loglik``, ``aic``,
    ``bic`` and ``weight`` (the Akaike weight) are ``None`` for ``fixed``, whose
    likelihood is degenerate. ``gof`` is the Kolmogorov-Smirnov distance and ``p_value``
    its bootstrap p-value (``None`` when not computed). The scenario-file line and
    :attr:`distribution` use the parameters rounded to 4 significant figures.
    """

    family: str
    params: Mapping[str, float]
    unit: str = "minutes"
    se: Mapping[str, float] = field(default_factory=dict)
    ci: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    loglik: float | None = None
    aic: float | None = None
    bic: float | None = None
    weight: float | None = None
    gof: float | None = None
    p_value: float | None = None
    note: str = ""

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={_sig(v):g}" for k, v in self.params.items())
        w = "" if self.weight is None else f", weight={self.weight:.3f}"
        return f"FamilyFit({self.family}: {ps} {self.unit}{w})"

    def table_entry(self) -> dict[str, Any]:
        """The family's scenario-file table, e.g. ``{"dist": "lognormal", "median": 182.4, "log_sd": 0.81}``."""
        entry: dict[str, Any] = {"dist": self.family, **{k: _sig(v) for k, v in self.params.items()}}
        if self.unit != "minutes":
            entry["unit"] = self.unit
        return entry

    def toml(self, key: str = "service") -> str:
        """The line to paste into a scenario file, e.g. ``service = { dist = "lognormal", median = 182.4, ... }``."""
        parts = [f"{k} = {_toml_number(v) if isinstance(v, float) else chr(34) + v + chr(34)}"
                 for k, v in self.table_entry().items()]
        return f"{key} = {{ {', '.join(parts)} }}"

    @property
    def distribution(self) -> Distribution:
        """The journeysim distribution of :meth:`toml` (in minutes), built as the scenario file builds it."""
        from ..io.scenario_file import parse_distribution

        c = Collector()
        d = parse_distribution(self.table_entry(), c, self.family)
        if d is None:
            raise ValidationError(c.problems)
        return d

    def frozen(self) -> Any:
        """The fitted scipy.stats distribution, in the sample's unit (``None`` for ``fixed``)."""
        if self.family not in FAMILIES:
            return None
        fam = FAMILIES[self.family]
        return fam.frozen(fam.theta(dict(self.params)))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (no NaN)."""
        return {"family": self.family, "unit": self.unit, "params": dict(self.params), "se": dict(self.se),
                "ci95": {k: list(v) for k, v in self.ci.items()}, "loglik": self.loglik, "aic": self.aic,
                "bic": self.bic, "akaike_weight": self.weight, "ks": self.gof, "p_value": self.p_value,
                "note": self.note, "toml": self.table_entry()}


@dataclass(frozen=True, slots=True)
class FitResult:
    """Families fitted to one sample, best first (lowest AIC).

    Examples
    --------
    >>> import numpy as np
    >>> r = fit(np.random.default_rng(2).exponential(30, 200), families=["exponential", "gamma"], bootstrap=0)
    >>> r
    FitResult(n=200, minutes; by AIC weight: exponential 0.73, gamma 0.27)
    >>> r.best.toml()
    'service = { dist = "exponential", mean = 29.65 }'

    Attributes
    ----------
    fits : tuple of FamilyFit
        The families that could be fitted, by AIC (``fixed`` alone when all values are equal).
    failed : mapping
        Families that could not be fitted, with the reason.
    n, n_censored : int
        Values, and how many of them are right-censored.
    unit : str
        Unit of the values and of every parameter.
    values : tuple of float
        The sample (for plots and the empirical line).
    censored : tuple of bool
        Which values are right-censored.
    warnings : tuple of str
        What the user should know (a small sample, ...).
    gof_method, ci_method : str
        How the p-values and the intervals were computed.
    """

    fits: tuple[FamilyFit, ...]
    failed: Mapping[str, str]
    n: int
    n_censored: int
    unit: str
    values: tuple[float, ...]
    censored: tuple[bool, ...]
    warnings: tuple[str, ...] = ()
    gof_method: str = ""
    ci_method: str = _CI_METHOD

    def __repr__(self) -> str:
        ranked = ", ".join(f"{f.family} {f.weight:.2f}" if f.weight is not None else f.family for f in self.fits)
        cens = f", {self.n_censored} censored" if self.n_censored else ""
        return f"FitResult(n={self.n}{cens}, {self.unit}; by AIC weight: {ranked})"

    @property
    def best(self) -> FamilyFit:
        """The fit with the lowest AIC."""
        return self.fits[0]

    def empirical_toml(self, key: str = "service") -> str:
        """The empirical distribution of the uncensored values, as a scenario-file line."""
        vals = ", ".join(_toml_number(v) for v, c in zip(self.values, self.censored, strict=True) if not c)
        unit = "" if self.unit == "minutes" else f', unit = "{self.unit}"'
        return f'{key} = {{ dist = "empirical", values = [{vals}]{unit} }}'

    def table(self) -> pd.DataFrame:
        """One row per family: parameters, log-likelihood, AIC, BIC, Akaike weight, KS distance, p-value."""
        import pandas as pd

        rows = [{"family": f.family,
                 "parameters": ", ".join(f"{k}={_sig(v):g}" for k, v in f.params.items()),
                 "loglik": f.loglik, "aic": f.aic, "bic": f.bic, "weight": f.weight, "ks": f.gof,
                 "p_value": f.p_value} for f in self.fits]
        return pd.DataFrame(rows, columns=["family", "parameters", "loglik", "aic", "bic", "weight", "ks", "p_value"])

    def to_dict(self) -> dict[str, Any]:
        """Plain data for strict JSON (no NaN, no infinities)."""
        return {"n": self.n, "n_censored": self.n_censored, "unit": self.unit,
                "best": self.best.family, "toml": self.best.toml(), "fits": [f.to_dict() for f in self.fits],
                "failed": dict(self.failed), "warnings": list(self.warnings), "gof_method": self.gof_method,
                "ci_method": self.ci_method}

    def _rows(self) -> list[list[str]]:
        def num(v: float | None, fmt: str) -> str:
            return "-" if v is None else format(v, fmt)

        return [[f.family, ", ".join(f"{k}={_sig(v):g}" + _ci_text(f, k) for k, v in f.params.items()),
                 num(f.loglik, ".1f"), num(f.aic, ".1f"), num(f.bic, ".1f"), num(f.weight, ".3f"),
                 num(f.gof, ".4f"), num(f.p_value, ".3f")] for f in self.fits]

    def to_text(self, key: str = "service") -> str:
        """The ranked table, the notes and the line to paste."""
        head = ["family", f"parameters ({self.unit}; 95% CI)", "loglik", "AIC", "BIC", "weight", "KS", "p"]
        rows = [head, *self._rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = [f"{self.n} values" + (f", {self.n_censored} right-censored" if self.n_censored else "")
                 + f", in {self.unit}; ranked by AIC"]
        lines += ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                  for r in rows]
        lines += [f"not fitted: {k}: {why}" for k, why in self.failed.items()]
        lines += [f"goodness of fit: {self.gof_method}", f"intervals: {self.ci_method}"]
        lines += [f"warning: {w}" for w in self.warnings]
        lines += ["", "best fit, to paste into the scenario file:", self.best.toml(key)]
        if self.n < SMALL_SAMPLE and self.n > self.n_censored:
            lines += ["or, with so few values, the values themselves:", self.empirical_toml(key)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = ["family", f"parameters ({self.unit}; 95% CI)", "log-lik", "AIC", "BIC", "Akaike weight", "KS", "p"]
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self._rows())
        notes = "".join(f"<p><b>warning:</b> {html.escape(w)}</p>" for w in self.warnings)
        return (f"<div><p>{self.n} values ({self.n_censored} censored), {html.escape(self.unit)}</p>"
                f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>{notes}"
                f"<p>Best fit: <code>{html.escape(self.best.toml())}</code></p></div>")


def _ci_text(f: FamilyFit, name: str) -> str:
    if name not in f.ci:
        return ""
    lo, hi = f.ci[name]
    return f" [{_sig(lo):g}, {_sig(hi):g}]"


def _hessian(fun: Any, theta: NDArray[np.float64]) -> NDArray[np.float64]:
    """Central-difference Hessian of ``fun`` at ``theta``."""
    k = theta.size
    h = 1e-4 * np.maximum(np.abs(theta), 1.0)
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            val = (fun(theta + ei + ej) - fun(theta + ei - ej) - fun(theta - ei + ej) + fun(theta - ei - ej))
            hess[i, j] = hess[j, i] = val / (4.0 * h[i] * h[j])
    return hess


def _intervals(fam: Family, theta: NDArray[np.float64], values: NDArray[np.float64],
               censored: NDArray[np.bool_]) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Standard errors (delta method) and 95% Wald intervals of journeysim's parameters."""
    if fam.name == "uniform":
        return {}, {}
    hess = _hessian(lambda t: neg_loglik(t, fam, values, censored), theta)
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return {}, {}
    var = np.diag(cov)
    if not np.all(np.isfinite(var)) or np.any(var <= 0):  # not a maximum the Hessian can describe
        return {}, {}
    se_t = np.sqrt(var)
    se: dict[str, float] = {}
    ci: dict[str, tuple[float, float]] = {}
    for name, t, s, logged in zip(fam.names, theta, se_t, fam.logged, strict=True):
        if logged:
            se[name] = float(math.exp(t) * s)
            ci[name] = (float(math.exp(t - _Z95 * s)), float(math.exp(t + _Z95 * s)))
        else:
            se[name] = float(s)
            ci[name] = (float(t - _Z95 * s), float(t + _Z95 * s))
    return se, ci


def _ks(cdf: Any, values: NDArray[np.float64]) -> float:
    """Kolmogorov-Smirnov distance between the sample's ECDF and ``cdf``."""
    x = np.sort(values)
    n = x.size
    f = cdf(x)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - f), np.max(f - (i - 1) / n)))


def kaplan_meier(values: NDArray[np.float64], censored: NDArray[np.bool_]) -> tuple[NDArray[np.float64],
                                                                                      NDArray[np.float64]]:
    """Event times and the Kaplan-Meier CDF just after each (ties: events before censorings).

    Examples
    --------
    >>> t, cdf = kaplan_meier(np.array([1.0, 2.0, 3.0, 4.0]), np.array([False, True, False, False]))
    >>> t.tolist(), cdf.round(3).tolist()
    ([1.0, 3.0, 4.0], [0.25, 0.625, 1.0])
    """
    order = np.lexsort((censored, values))
    x, c = values[order], censored[order]
    at_risk = x.size - np.arange(x.size)
    factors = np.where(c, 1.0, 1.0 - 1.0 / at_risk)
    surv = np.cumprod(factors)
    return x[~c], np.asarray(1.0 - surv[~c], dtype=np.float64)


def _ks_censored(cdf: Any, values: NDArray[np.float64], censored: NDArray[np.bool_]) -> float:
    """Largest distance between the Kaplan-Meier CDF and ``cdf`` at the event times (both sides of each step)."""
    times, km = kaplan_meier(values, censored)
    if times.size == 0:
        return 0.0
    before = np.concatenate([[0.0], km[:-1]])
    f = cdf(times)
    return float(max(np.max(np.abs(km - f)), np.max(np.abs(before - f))))


def _one(fam: Family, values: NDArray[np.float64], censored: NDArray[np.bool_]) -> tuple[NDArray[np.float64], float]:
    """``theta`` and the log-likelihood, or an error saying why the family does not fit."""
    if fam.name == "uniform" and censored.any():
        raise JourneySimError("not fitted to censored values (the uniform's upper bound is not identified)")
    with np.errstate(all="ignore"):
        theta = fam.estimate(values, censored)
    nll = neg_loglik(theta, fam, values, censored)
    if not np.all(np.isfinite(theta)) or not math.isfinite(nll):
        zeros = int((values == 0).sum())
        why = f" ({zeros} values are 0)" if zeros and fam.name in ("lognormal", "gamma", "weibull") else ""
        raise JourneySimError(f"no finite maximum of the likelihood{why}")
    fam.params(theta)  # overflow surfaces here
    return theta, -nll


def _not_simulable(fam: Family, theta: NDArray[np.float64], unit: str) -> str:
    """Why the fitted parameters (rounded as printed) make no journeysim distribution, or ``""``."""
    try:
        _ = FamilyFit(fam.name, fam.params(theta), unit).distribution
    except ValidationError as err:
        return "the fitted parameters make no journeysim distribution: " + "; ".join(str(p) for p in err.problems)
    return ""


def _bootstrap_p(fam: Family, theta: NDArray[np.float64], stat: float, n: int, b: int,
                 rng: np.random.Generator) -> float | None:
    """Share of parametric-bootstrap KS distances at least ``stat`` (with the +1 correction)."""
    d = fam.frozen(theta)
    no_cens = np.zeros(n, dtype=bool)
    hits = done = 0
    for _ in range(b):
        sample = np.asarray(d.rvs(size=n, random_state=rng), dtype=float)
        try:
            with np.errstate(all="ignore"):
                t = fam.estimate(sample, no_cens)
            s = _ks(fam.frozen(t).cdf, sample)
        except (ValueError, FloatingPointError, OverflowError, ZeroDivisionError):
            continue
        done += 1
        hits += s >= stat
    return (hits + 1) / (done + 1) if done else None


def _prepare(values: ArrayLike, censored: ArrayLike | None) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The sample and its censoring mask as arrays, or a ValidationError naming every bad value."""
    x = np.asarray(values, dtype=float).ravel()
    problems: list[Problem] = []
    if x.size == 0:
        problems.append(Problem("values", "the sample is empty"))
    bad = np.flatnonzero(~np.isfinite(x) | (x < 0))
    problems += [Problem(f"values[{i}]", f"must be a finite non-negative duration, got {x[i]!r}") for i in bad[:20]]
    if bad.size > 20:
        problems.append(Problem("values", f"... and {bad.size - 20} more values that are negative or not finite"))
    cens = np.zeros(x.size, dtype=bool) if censored is None else np.asarray(censored, dtype=bool).ravel()
    if cens.size != x.size:
        problems.append(Problem("censored", f"needs one flag per value ({x.size}), got {cens.size}"))
    elif x.size and cens.all():
        problems.append(Problem("censored", "every value is censored: there is nothing to fit"))
    if problems:
        raise ValidationError(problems)
    return x, cens


def _families(families: Sequence[str] | None) -> list[str]:
    names = list(DEFAULT_FAMILIES if families is None else families)
    unknown = [f for f in names if f not in FAMILIES and f != "fixed"]
    if unknown or not names:
        raise ValidationError([Problem("families", f"unknown famil{'ies' if len(unknown) > 1 else 'y'} "
                                       f"{', '.join(map(repr, unknown))}; choose from fixed, {', '.join(FAMILIES)}"
                                       if unknown else "give at least one family")])
    return names


def _warnings(n: int) -> tuple[str, ...]:
    if n >= SMALL_SAMPLE:
        return ()
    return (f"only {n} values (fewer than {SMALL_SAMPLE}): the families cannot be told apart reliably; "
            "consider the empirical distribution of the values themselves (FitResult.empirical_toml())",)


def fit(values: ArrayLike, censored: ArrayLike | None = None, families: Sequence[str] | None = None, *,
        unit: str = "minutes", bootstrap: int = 200, seed: int = 0) -> FitResult:
    """Fit journeysim's duration distributions to a sample by maximum likelihood and rank them.

    Parameters
    ----------
    values : array_like
        Durations, non-negative, in ``unit``.
    censored : array_like of bool, optional
        ``True`` where a value is right-censored: the duration is at least that long (a
        stay still running when the data were extracted).
    families : sequence of str, optional
        Families to try; default exponential, lognormal, gamma, weibull and normal
        (truncated at 0, as journeysim's); ``uniform`` may be asked for. ``fixed`` is
        the only fit when every value is equal.
    unit : {"minutes", "hours", "days"}
        Unit of the values; the parameters and the scenario-file line are in it.
    bootstrap : int
        Parametric-bootstrap samples for each KS p-value (0: no p-values).
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    FitResult
        The fits by AIC, with Akaike weights, BIC, KS distances, p-values and 95% intervals.

    Examples
    --------
    >>> r = fit([12.0, 12.0, 12.0])
    >>> r.best.toml("delay"), r.warnings[0][:14]
    ('delay = { dist = "fixed", value = 12 }', 'only 3 values ')
    >>> fit([5.0, -1.0])
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: values[1]: must be a finite non-negative duration, got np.float64(-1.0)
    """
    if unit not in UNITS:
        raise ValidationError([Problem("unit", f"must be one of {', '.join(UNITS)}, got {unit!r}")])
    x, cens = _prepare(values, censored)
    names = _families(families)
    warn = _warnings(int(x.size))
    common: dict[str, Any] = {"n": int(x.size), "n_censored": int(cens.sum()), "unit": unit,
                              "values": tuple(float(v) for v in x), "censored": tuple(bool(c) for c in cens),
                              "warnings": warn}
    if not cens.any() and np.all(x == x[0]):
        only = FamilyFit("fixed", {"value": float(x[0])}, unit, weight=1.0, gof=0.0,
                         note="every value is equal")
        return FitResult((only,), {}, gof_method="every value is equal: a fixed duration", **common)
    fits, failed = _fit_all([n for n in names if n != "fixed"], x, cens, unit, bootstrap, seed)
    if "fixed" in names:
        failed["fixed"] = "the values are not all equal"
    if not fits:
        raise JourneySimError("no family could be fitted: " + "; ".join(f"{k}: {v}" for k, v in failed.items()))
    method = (_GOF_CENSORED if cens.any() else _GOF_METHOD.format(b=bootstrap, seed=seed) if bootstrap > 0
              else "Kolmogorov-Smirnov distance; no p-values (no bootstrap asked for)")
    return FitResult(tuple(fits), failed, gof_method=method, **common)


def _fit_all(names: list[str], x: NDArray[np.float64], cens: NDArray[np.bool_], unit: str, bootstrap: int,
             seed: int) -> tuple[list[FamilyFit], dict[str, str]]:
    """Each family's fit, by AIC with Akaike weights, and the families that failed."""
    fitted: list[tuple[Family, NDArray[np.float64], float]] = []
    failed: dict[str, str] = {}
    for name in names:
        fam = FAMILIES[name]
        try:
            theta, ll = _one(fam, x, cens)
        except (JourneySimError, ValueError, OverflowError, FloatingPointError) as err:
            failed[name] = str(err)
            continue
        problem = _not_simulable(fam, theta, unit)
        if problem:
            failed[name] = problem
            continue
        fitted.append((fam, theta, ll))
    n = x.size
    aics = np.array([2 * fam.k - 2 * ll for fam, _, ll in fitted])
    weights = np.exp(-(aics - aics.min()) / 2) if fitted else aics
    weights = weights / weights.sum() if fitted else weights
    seeds = np.random.SeedSequence(seed).spawn(len(fitted))
    out = []
    for (fam, theta, ll), aic, w, ss in zip(fitted, aics, weights, seeds, strict=True):
        se, ci = _intervals(fam, theta, x, cens)
        cdf = fam.frozen(theta).cdf
        if cens.any():
            stat, p = _ks_censored(cdf, x, cens), None
        else:
            stat = _ks(cdf, x)
            p = _bootstrap_p(fam, theta, stat, n, bootstrap, np.random.default_rng(ss)) if bootstrap > 0 else None
        out.append(FamilyFit(fam.name, fam.params(theta), unit, se, ci, float(ll), float(aic),
                             float(fam.k * math.log(n) - 2 * ll), float(w), stat, p, fam.note))
    out.sort(key=lambda f: (f.aic if f.aic is not None else math.inf, f.family))
    return out, failed
