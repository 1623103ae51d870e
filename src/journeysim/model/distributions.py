"""Probability distributions for durations (in minutes).

Distributions are stateless, frozen parameter objects: ``sample(rng, size=None)``
draws from the :class:`numpy.random.Generator` passed in and ``mean`` gives the
expected value. They never hold random state of their own, so the engine decides
which named stream feeds which distribution.

Clinical papers usually report medians with an interquartile range, so
:class:`LogNormal` can be built from a median and log-sd as well as from a mean
and standard deviation.

Every distribution checks when it is made that its mean and its second moment
``E[X**2]`` (``second_moment``) are finite floating-point numbers: the engine adds
means of steps, and every analysis squares durations for variances and
confidence intervals. So a lognormal with ``log_sd = 300`` or a duration of
``1e200`` minutes is refused at once, naming the parameters, rather than turning
into ``inf`` or ``nan`` in the results.

Examples
--------
>>> import numpy as np
>>> d = LogNormal.from_median(median=30, log_sd=0.3)
>>> round(d.mean, 3)
31.381
>>> d.sample(np.random.default_rng(1), size=3).shape
(3,)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ..errors import Problem, ValidationError
from ._problems import Collector, is_number
from .profiles import MAX_MINUTES

__all__ = [
    "Distribution",
    "Fixed",
    "Exponential",
    "LogNormal",
    "Gamma",
    "Triangular",
    "Uniform",
    "Empirical",
    "Normal",
    "Weibull",
    "Pert",
    "Mixture",
    "Form",
    "FORMS",
]


@runtime_checkable
class Distribution(Protocol):
    """What the engine needs of a duration distribution.

    Examples
    --------
    >>> import numpy as np
    >>> import journeysim as js
    >>> service = js.LogNormal.from_median(30, 0.5)
    >>> isinstance(service, js.Distribution)
    True
    >>> sample = service.sample(np.random.default_rng(1), 20_000)
    >>> bool(abs(sample.mean() / service.mean - 1) < 0.02)
    True
    """

    @property
    def mean(self) -> float:
        """Expected value, in minutes."""
        ...

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | NDArray[np.float64]:
        """Draw one value (``size=None``) or an array of ``size`` values."""
        ...


def _check_nonnegative(c: Collector, name: str, value: object, *, positive: bool = False) -> None:
    if not isinstance(value, int | float) or not is_number(value) or value < 0 or (positive and value == 0):
        c.add(name, f"must be a {'positive' if positive else 'non-negative'} number, got {value!r}")


def _check_shape_scale(dist: Gamma | Weibull) -> None:
    """A shape-and-scale family (gamma, Weibull): both positive, and finite moments."""
    c = Collector()
    _check_nonnegative(c, "shape", dist.shape, positive=True)
    _check_nonnegative(c, "scale", dist.scale, positive=True)
    _check_moments(c, dist, positive=True)
    c.raise_if_any()


def _check_moments(c: Collector, dist: Any, *, positive: bool = False) -> None:
    """Record a problem unless the mean and ``E[X**2]`` are finite (and the mean > 0 when it must be).

    Only checked once the parameters themselves are valid.
    """
    if c.problems:
        return
    mean, second = dist.mean, dist.second_moment
    if not (math.isfinite(mean) and math.isfinite(second)):
        c.add("", f"is too large for floating point: mean {mean:.3g} minutes, second moment E[X^2] {second:.3g} "
              "minutes^2 (both must be finite; keep durations well below 1e150 minutes)")
    elif positive and mean <= 0.0:
        c.add("", f"is too small for floating point: its mean rounds to {mean!r} minutes")
    elif mean > MAX_MINUTES:
        c.add("", f"has a mean of {mean:.3g} minutes, longer than the {MAX_MINUTES:.0e} minutes (about 1,900 years) "
              "the simulation clock keeps to the minute")


def _overflow_to_inf(f: Callable[[], float]) -> float:
    """``f()``, or ``inf`` where float arithmetic (``**``, ``math.exp``) raises OverflowError."""
    try:
        return f()
    except OverflowError:
        return math.inf


def _derived(cls: type, given: str, **params: float) -> Any:
    """``cls(**params)`` for parameters derived from others; a problem names the ones ``given``."""
    try:
        return cls(**params)
    except ValidationError as err:
        kind = getattr(cls, "kind", cls.__name__)
        raise ValidationError([
            Problem("", f"{given} give a {kind} {'whose ' + p.path if p.path else 'that'} {p.message}")
            for p in err.problems
        ]) from None


@dataclass(frozen=True, slots=True)
class Fixed:
    """Always the same duration.

    Examples
    --------
    >>> Fixed(5).sample(None)
    5.0
    """

    value: float
    kind: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        c = Collector()
        _check_nonnegative(c, "value", self.value)
        _check_moments(c, self)
        c.raise_if_any()

    @property
    def mean(self) -> float:
        """The fixed value."""
        return float(self.value)

    @property
    def second_moment(self) -> float:
        """``value**2``."""
        return float(self.value) * float(self.value)

    def sample(self, rng: np.random.Generator | None, size: int | None = None) -> float | NDArray[np.float64]:
        """Return the value (``rng`` is not used)."""
        if size is None:
            return float(self.value)
        return np.full(size, float(self.value))


@dataclass(frozen=True, slots=True)
class Exponential:
    """Exponential duration with the given mean (rate ``1/mean``).

    Examples
    --------
    >>> Exponential(mean=4.0).mean
    4.0
    """

    mean: float
    kind: ClassVar[str] = "exponential"

    def __post_init__(self) -> None:
        c = Collector()
        _check_nonnegative(c, "mean", self.mean, positive=True)
        _check_moments(c, self, positive=True)
        c.raise_if_any()

    @property
    def second_moment(self) -> float:
        """``2 * mean**2``."""
        return 2.0 * float(self.mean) * float(self.mean)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | NDArray[np.float64]:
        """Draw from the exponential distribution."""
        return rng.exponential(self.mean, size)


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Lognormal duration: ``exp(N(log(median), log_sd**2))``.

    Build it from a published median and log-sd (:meth:`from_median`) or from
    a mean and standard deviation (:meth:`from_mean_sd`).

    Examples
    --------
    >>> round(LogNormal.from_mean_sd(10, 5).sd, 9)
    5.0
    >>> LogNormal(median=9, log_sd=0.4).median
    9
    >>> LogNormal.from_median(30, 300)
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: is too large for floating point: mean inf minutes, second moment E[X^2] inf
    minutes^2 (both must be finite; keep durations well below 1e150 minutes)
    """

    median: float
    log_sd: float
    kind: ClassVar[str] = "lognormal"

    def __post_init__(self) -> None:
        c = Collector()
        _check_nonnegative(c, "median", self.median, positive=True)
        _check_nonnegative(c, "log_sd", self.log_sd)
        _check_moments(c, self, positive=True)
        c.raise_if_any()

    @classmethod
    def from_median(cls, median: float, log_sd: float) -> LogNormal:
        """Lognormal with the given median and standard deviation of the log."""
        return cls(median=median, log_sd=log_sd)

    @classmethod
    def from_mean_sd(cls, mean: float, sd: float) -> LogNormal:
        """Lognormal with the given mean and standard deviation (both > 0)."""
        c = Collector()
        _check_nonnegative(c, "mean", mean, positive=True)
        _check_nonnegative(c, "sd", sd)
        c.raise_if_any()
        cv2 = _overflow_to_inf(lambda: (sd / mean) ** 2)
        return _derived(cls, f"mean {mean!r} and sd {sd!r}", median=mean / math.sqrt(1.0 + cv2),
                        log_sd=math.sqrt(math.log1p(cv2)))

    @property
    def mean(self) -> float:
        """``median * exp(log_sd**2 / 2)``."""
        return self.median * _overflow_to_inf(lambda: math.exp(self.log_sd**2 / 2.0))

    @property
    def second_moment(self) -> float:
        """``median**2 * exp(2 log_sd**2)``."""
        return _overflow_to_inf(lambda: math.exp(2.0 * math.log(self.median) + 2.0 * self.log_sd**2))

    @property
    def sd(self) -> float:
        """Standard deviation."""
        return self.mean * math.sqrt(_overflow_to_inf(lambda: math.expm1(self.log_sd**2)))

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | NDArray[np.float64]:
        """Draw from the lognormal distribution."""
        return rng.lognormal(math.log(self.median), self.log_sd, size)


@dataclass(frozen=True, slots=True)
class Gamma:
    """Gamma duration with ``shape`` k and ``scale`` theta (mean ``k * theta``).

    Examples
    --------
    >>> Gamma.from_mean_sd(10, 5).shape
    4.0
    """

    shape: float
    scale: float
    kind: ClassVar[str] = "gamma"

    def __post_init__(self) -> None:
        _check_shape_scale(self)

    @classmethod
    def from_mean_sd(cls, mean: float, sd: float) -> Gamma:
        """Gamma with the given mean and standard deviation (both > 0)."""
        c = Collector()
        _check_nonnegative(c, "mean", mean, positive=True)
        _check_nonnegative(c, "sd", sd, positive=True)
        c.raise_if_any()
        return _derived(cls, f"mean {mean!r} and sd {sd!r}", shape=_overflow_to_inf(lambda: (mean / sd) ** 2),
                        scale=_overflow_to_inf(lambda: sd**2 / mean))

    @property
    def mean(self) -> float:
        """``shape * scale``."""
        return self.shape * self.scale

    @property
    def second_moment(self) -> float:
        """``shape * (shape + 1) * scale**2``, i.e. ``mean * (mean + scale)``."""
        return self.mean * (self.mean + self.scale)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | NDArray[np.float64]:
        """Draw from the gamma distribution."""
        return rng.gamma(self.shape, self.scale, size)


@dataclass(frozen=True, slots=True)
class Triangular:
    """Triangular duration on ``[low, high]`` with peak at ``mode``.

    Examples
    --------
    >>> Triangular(1, 2, 6).mean
    3.0
    """

    low: float
    mode: float
    high: float
    kind: ClassVar[str] = "triangular"

    def __post_init__(self) -> None:
        c = Collector()
        for name in ("low", "mode", "high"):
            _check_nonnegative(c, name, getattr(self, name))
        if not c.problems and not (self.low <= self.mode <= self.high and self.low < self.high):
            c.add("", f"needs low <= mode <= high and low < high, got {self.low}, {self.mode}, {self.high}")
        _check_moments(c, self)
        c.raise_if_any()

    @property
    def mean(self) -> float:
        """``(low + mode + high) / 3``."""
        return (self.low + self.mode + self.high) / 3.0

    @property
    def second_moment(self) -> float:
        """``(a**2 + b**2 + c**2 + ab + ac + bc) / 6`` for ``a, b, c = low, mode, high``."""
        a, b, m = float(self.low), float(self.high), float(self.mode)
        return (a * a + b * b + m * m + a * b + a * m + b * m) / 6.0

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | NDArray[np.float64]:
        """Draw from the triangular distribution."""
        return rng.triangular(self.low, self.mode, self.high, size)


@dataclass(frozen=True, slots=True)
class Uniform:
    """Uniform duration on ``[low, high]``.

    Examples
    --------
    >>> Uniform(2, 4).mean
    3.0
    """

    low: float
    high: float
    kind: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        c = Collector()
        _check_nonnegative(c, "low", self.low)
        _check_nonnegative(c, "high", self.high)
        if not c.problems and self.high < self.low:
            c.add("", f"needs low <= high, got {self.low} > {self.high}")
        _check_moments(c, self)
        c.raise_if_any()

    @property
    def mean(self) -> float:
        """``(low + high) / 2``."""
        return (self.low + self.high) / 2.0

    @property
    def second_moment(self) -> float:
        """``(low**2 + low * high + high**2) / 3``."""
        a, b = float(self.low), float(self.high)
        return (a * a + a * b + b * b) / 3.0

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | NDArray[np.float64]:
        """Draw from the uniform distribution."""
        return rng.uniform(self.low, self.high, size)


@dataclass(frozen=True, slots=True)
class Empirical:
    """Resample observed durations with replacement, each equally likely.

    Examples
    --------
    >>> Empirical((1.0, 2.0, 6.0)).mean
    3.0
    """

    values: tuple[float, ...]
    kind: ClassVar[str] = "empirical"

    def __post_init__(self) -> None:
        c = Collector()
        if not isinstance(self.values, tuple) or not self.values:
            c.add("values", "must be a non-empty tuple of durations")
        else:
            for i, v in enumerate(self.values):
                _check_nonnegative(c, f"values[{i}]", v)
        _check_moments(c, self)
        c.raise_if_any()

    @property
    def mean(self) -> float:
        """Mean of the observed values."""
        with np.errstate(over="ignore"):
            return float(np.mean(self.values))

    @property
    def second_moment(self) -> float:
        """Mean of the squared observed values."""
        with np.errstate(over="ignore"):
            return float(np.mean(np.square(np.asarray(self.values, dtype=float))))

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | NDArray[np.float64]:
        """Draw observed values uniformly at random, with replacement."""
        arr = np.asarray(self.values, dtype=float)
        if size is None:
            return float(arr[rng.integers(arr.size)])
        return arr[rng.integers(arr.size, size=size)]


#: A normal truncated more than this many standard deviations above its mean has (in
#: floating point) no probability left above ``min``: ``1 - Phi(37)`` is about ``6e-300``.
_MAX_TRUNCATION_SDS = 37.0
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _upper_tail(a: float) -> float:
    """``P(Z > a)`` for a standard normal ``Z``, accurate far into the upper tail."""
    return 0.5 * math.erfc(a / math.sqrt(2.0))


@dataclass(frozen=True, slots=True, init=False)
class Normal:
    """Normal duration truncated below at ``min``: ``N(mean, sd**2)`` given ``X >= min``.

    ``mean`` and ``sd`` are those of the normal *before* truncation (scipy's ``loc``
    and ``scale``, kept as the fields :attr:`loc` and :attr:`scale`); the property
    :attr:`mean` is the mean of the truncated distribution,
    ``loc + scale * phi(a) / (1 - Phi(a))`` with ``a = (min - loc) / scale``.
    In scipy this is ``scipy.stats.truncnorm(a=(min - loc) / scale, b=inf, loc=loc, scale=scale)``.

    Parameters
    ----------
    mean : float
        Mean of the normal before truncation (may be below ``min``).
    sd : float
        Its standard deviation, > 0.
    min : float, default 0
        Lower truncation point, >= 0 (a duration is never negative).

    Notes
    -----
    Drawn by inversion, one uniform number per draw: ``loc + scale * z`` with
    ``z = -ndtri(u * (1 - Phi(a)))`` and ``u`` uniform on ``(0, 1]``, which stays
    accurate when ``min`` lies far in the upper tail.

    Examples
    --------
    >>> d = Normal(mean=64, sd=13, min=18)
    >>> round(d.mean, 3)    # the truncated mean, a little above the parent's 64
    64.01
    >>> round(Normal(mean=0, sd=1).mean, 6)    # half-normal: sqrt(2 / pi)
    0.797885
    >>> Normal(mean=5, sd=-1)
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: sd: must be a positive number, got -1
    """

    loc: float
    scale: float
    min: float
    kind: ClassVar[str] = "normal"

    def __init__(self, mean: float, sd: float, min: float = 0.0) -> None:
        c = Collector()
        if not is_number(mean):
            c.add("mean", f"must be a finite number, got {mean!r}")
        _check_nonnegative(c, "sd", sd, positive=True)
        _check_nonnegative(c, "min", min)
        for name, value in (("loc", mean), ("scale", sd), ("min", min)):
            object.__setattr__(self, name, float(value) if is_number(value) else value)
        if not c.problems and self.truncation > _MAX_TRUNCATION_SDS:
            c.add("min", f"is {self.truncation:.3g} sd above the mean {mean!r}: the normal has no probability "
                  f"left above it (at most {_MAX_TRUNCATION_SDS:g} sd)")
        _check_moments(c, self, positive=True)
        c.raise_if_any()

    def __repr__(self) -> str:
        return f"Normal(mean={self.loc!r}, sd={self.scale!r}, min={self.min!r})"

    @property
    def truncation(self) -> float:
        """``a = (min - loc) / scale``: where the truncation falls, in standard deviations from ``loc``."""
        return _overflow_to_inf(lambda: (self.min - self.loc) / self.scale)

    def _mills(self) -> float:
        """``phi(a) / (1 - Phi(a))``: how far the truncation moves the mean, in standard deviations."""
        a = self.truncation
        return math.exp(-0.5 * a * a) / _SQRT_2PI / _upper_tail(a)

    @property
    def mean(self) -> float:
        """Mean of the truncated normal, ``loc + scale * phi(a) / (1 - Phi(a))``."""
        return _overflow_to_inf(lambda: self.loc + self.scale * self._mills())

    @property
    def sd(self) -> float:
        """Standard deviation of the truncated normal, ``scale * sqrt(1 + a*lam - lam**2)``."""
        a, lam = self.truncation, self._mills()
        return _overflow_to_inf(lambda: self.scale * math.sqrt(max(1.0 + a * lam - lam * lam, 0.0)))

    @property
    def second_moment(self) -> float:
        """``sd**2 + mean**2`` of the truncated normal."""
        return _overflow_to_inf(lambda: self.sd * self.sd + self.mean * self.mean)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | NDArray[np.float64]:
        """Draw by inversion of the truncated normal's CDF (one uniform number per draw)."""
        from scipy.special import ndtri

        tail = _upper_tail(self.truncation)
        u = 1.0 - rng.random(size)  # in (0, 1]: u = 1 gives min itself
        x = np.maximum(self.loc - self.scale * ndtri(u * tail), self.min)
        return float(x) if size is None else np.asarray(x, dtype=float)


@dataclass(frozen=True, slots=True)
class Weibull:
    """Weibull duration with ``shape`` k and ``scale`` lambda: ``P(X > x) = exp(-(x / scale)**shape)``.

    In scipy: ``scipy.stats.weibull_min(c=shape, scale=scale)`` (``loc = 0``);
    ``weibull_min.fit(data, floc=0)`` returns ``(shape, 0, scale)``. Build it from a
    mean and standard deviation with :meth:`from_mean_sd`.

    Examples
    --------
    >>> round(Weibull(shape=2, scale=10).mean, 4)    # 10 * Gamma(1.5)
    8.8623
    >>> w = Weibull.from_mean_sd(mean=30, sd=30)     # an sd equal to the mean: the exponential, shape 1
    >>> round(w.shape, 6), round(w.scale, 6)
    (1.0, 30.0)
    """

    shape: float
    scale: float
    kind: ClassVar[str] = "weibull"

    def __post_init__(self) -> None:
        _check_shape_scale(self)

    @classmethod
    def from_mean_sd(cls, mean: float, sd: float) -> Weibull:
        """Weibull with the given mean and standard deviation (both > 0).

        The shape solves ``Gamma(1 + 2/k) / Gamma(1 + 1/k)**2 = 1 + (sd / mean)**2`` (Brent's
        method on the log of both sides); the scale is then ``mean / Gamma(1 + 1/k)``.
        """
        c = Collector()
        _check_nonnegative(c, "mean", mean, positive=True)
        _check_nonnegative(c, "sd", sd, positive=True)
        c.raise_if_any()
        target = _overflow_to_inf(lambda: math.log1p((sd / mean) ** 2))

        def excess(k: float) -> float:  # log(1 + cv(k)**2) - target, falling in k
            return math.lgamma(1.0 + 2.0 / k) - 2.0 * math.lgamma(1.0 + 1.0 / k) - target

        low, high = 0.02, 1e7
        if not (excess(low) > 0.0 > excess(high)):
            cv = sd / mean
            raise ValidationError([Problem("", f"mean {mean:g} and sd {sd:g} (sd/mean = {cv:.3g}) give no Weibull "
                                           f"with a shape between {low:g} and {high:g}")])
        from scipy.optimize import brentq

        k = float(brentq(excess, low, high, xtol=1e-14, rtol=1e-14))
        return _derived(cls, f"mean {mean!r} and sd {sd!r}", shape=k,
                        scale=_overflow_to_inf(lambda: mean / math.exp(math.lgamma(1.0 + 1.0 / k))))

    @property
    def mean(self) -> float:
        """``scale * Gamma(1 + 1/shape)``."""
        return _overflow_to_inf(lambda: self.scale * math.exp(math.lgamma(1.0 + 1.0 / self.shape)))

    @property
    def second_moment(self) -> float:
        """``scale**2 * Gamma(1 + 2/shape)``."""
        return _overflow_to_inf(lambda: math.exp(2.0 * math.log(self.scale) + math.lgamma(1.0 + 2.0 / self.shape)))

    @property
    def sd(self) -> float:
        """Standard deviation."""
        return math.sqrt(max(self.second_moment - self.mean**2, 0.0))

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | NDArray[np.float64]:
        """Draw from the Weibull distribution."""
        return self.scale * rng.weibull(self.shape, size)


@dataclass(frozen=True, slots=True)
class Pert:
    """Beta-PERT duration on ``[min, max]`` with most likely value ``mode``.

    ``X = min + (max - min) * B`` with ``B ~ Beta(alpha, beta)``,
    ``alpha = 1 + lam * (mode - min) / (max - min)`` and
    ``beta = 1 + lam * (max - mode) / (max - min)``; the classic PERT has ``lam = 4``,
    so the mean is ``(min + 4 mode + max) / 6``. In scipy:
    ``scipy.stats.beta(alpha, beta, loc=min, scale=max - min)``.

    Examples
    --------
    >>> Pert(min=10, mode=20, max=60).mean
    25.0
    >>> Pert(10, 5, 60)
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: mode: must lie in [min, max] = [10, 60], got 5
    """

    min: float
    mode: float
    max: float
    lam: float = 4.0
    kind: ClassVar[str] = "pert"

    def __post_init__(self) -> None:
        c = Collector()
        for name in ("min", "mode", "max"):
            _check_nonnegative(c, name, getattr(self, name))
        _check_nonnegative(c, "lam", self.lam, positive=True)
        if not c.problems:
            if not self.min < self.max:
                c.add("max", f"must be above min, got min {self.min:g} and max {self.max:g}")
            elif not self.min <= self.mode <= self.max:
                c.add("mode", f"must lie in [min, max] = [{self.min:g}, {self.max:g}], got {self.mode:g}")
        _check_moments(c, self)
        c.raise_if_any()

    @property
    def alpha(self) -> float:
        """First beta shape, ``1 + lam * (mode - min) / (max - min)``."""
        return 1.0 + self.lam * (self.mode - self.min) / (self.max - self.min)

    @property
    def beta(self) -> float:
        """Second beta shape, ``1 + lam * (max - mode) / (max - min)``."""
        return 1.0 + self.lam * (self.max - self.mode) / (self.max - self.min)

    @property
    def mean(self) -> float:
        """``(min + lam * mode + max) / (lam + 2)``."""
        return (self.min + self.lam * self.mode + self.max) / (self.lam + 2.0)

    @property
    def second_moment(self) -> float:
        """``var + mean**2`` with ``var = (mean - min) * (max - mean) / (lam + 3)``."""
        m = self.mean
        return (m - self.min) * (self.max - m) / (self.lam + 3.0) + m * m

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | NDArray[np.float64]:
        """Draw from the scaled beta distribution."""
        return self.min + (self.max - self.min) * rng.beta(self.alpha, self.beta, size)


@dataclass(frozen=True, slots=True, init=False)
class Mixture:
    """A duration drawn from one of several distributions, chosen with the given weights.

    Weights are relative: they are normalised to sum to 1 (so counts of observed
    cases can be given as they are), must be non-negative, and at least one must be
    positive. A component may not be a mixture itself (list its components instead).

    Each draw takes one uniform number to choose the component and then the
    component's own draw, all from the one stream: a block of ``n`` draws chooses
    ``n`` components first, then draws each component's values in the order the
    components are listed. So the numbers depend only on the stream, never on
    which worker runs the replication.

    Parameters
    ----------
    components : sequence of Distribution
        The distributions mixed.
    weights : sequence of float
        One relative weight per component.

    Examples
    --------
    >>> m = Mixture([Exponential(10.0), Fixed(60.0)], weights=[3, 1])
    >>> m.weights, m.mean
    ((0.75, 0.25), 22.5)
    >>> Mixture([Fixed(1.0)], weights=[1, 2])
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: weights: needs one weight per component (1), got 2
    """

    components: tuple[Distribution, ...]
    weights: tuple[float, ...]
    kind: ClassVar[str] = "mixture"

    def __init__(self, components: Sequence[Distribution], weights: Sequence[float]) -> None:
        c = Collector()
        parts = _mixture_components(c, components)
        object.__setattr__(self, "components", parts)
        object.__setattr__(self, "weights", _mixture_weights(c, weights, len(parts)))
        _check_moments(c, self)
        c.raise_if_any()

    @property
    def mean(self) -> float:
        """``sum(w_i * mean_i)``."""
        return math.fsum(w * d.mean for w, d in zip(self.weights, self.components))

    @property
    def second_moment(self) -> float:
        """``sum(w_i * E_i[X**2])``."""
        return math.fsum(w * _second_moment(d) for w, d in zip(self.weights, self.components))

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | NDArray[np.float64]:
        """Choose each draw's component, then draw each component's values in the listed order."""
        cumulative = np.cumsum(self.weights)
        if size is None:
            j = min(int(np.searchsorted(cumulative, rng.random(), side="right")), len(self.components) - 1)
            return float(self.components[j].sample(rng))
        chosen = np.minimum(np.searchsorted(cumulative, rng.random(size), side="right"), len(self.components) - 1)
        out = np.empty(size, dtype=float)
        for j, d in enumerate(self.components):
            where = chosen == j
            n = int(np.count_nonzero(where))
            if n:
                out[where] = d.sample(rng, n)
        return out


def _second_moment(d: Distribution) -> float:
    """``E[X**2]`` of a distribution; one without the attribute is taken as fixed at its mean."""
    return float(getattr(d, "second_moment", d.mean * d.mean))


def _mixture_components(c: Collector, components: object) -> tuple[Distribution, ...]:
    if isinstance(components, str) or not isinstance(components, Sequence) or not components:
        c.add("components", f"must be a non-empty list of distributions, got {components!r}")
        return ()
    for i, d in enumerate(components):
        if isinstance(d, Mixture):
            c.add(f"components[{i}]", "is a mixture: a mixture's components may not be mixtures "
                  "(list the inner mixture's components here, with their weights multiplied)")
        elif not isinstance(d, Distribution):
            c.add(f"components[{i}]", f"must be a distribution, got {d!r}")
    return tuple(components)


def _mixture_weights(c: Collector, weights: object, n: int) -> tuple[float, ...]:
    if isinstance(weights, str) or not isinstance(weights, Sequence):
        c.add("weights", f"must be a list of non-negative numbers, got {weights!r}")
        return ()
    if n and len(weights) != n:
        c.add("weights", f"needs one weight per component ({n}), got {len(weights)}")
        return ()
    bad = [i for i, w in enumerate(weights) if not is_number(w) or w < 0]
    for i in bad:
        c.add(f"weights[{i}]", f"must be a non-negative number, got {weights[i]!r}")
    if bad or not n:
        return ()
    top = max(float(w) for w in weights)
    if top <= 0:
        c.add("weights", "needs at least one positive weight")
        return ()
    scaled = [float(w) / top for w in weights]  # scaled first: huge weights would overflow the sum
    total = math.fsum(scaled)
    return tuple(w / total for w in scaled)


@dataclass(frozen=True, slots=True)
class Form:
    """One way to give a distribution by its parameters, as a scenario file does.

    Attributes
    ----------
    params : tuple of str
        The parameter names of this form, e.g. ``("median", "log_sd")``.
    make : callable
        Builds the distribution from those parameters, as keywords.
    unitless : frozenset of str
        Parameters that are not durations, which a time unit does not scale.
    nested : frozenset of str
        Parameters that are lists of distributions (a mixture's ``components``), each
        given as a scenario file gives a distribution; the form's ``unit`` is their default.
    """

    params: tuple[str, ...]
    make: Callable[..., Distribution]
    unitless: frozenset[str] = frozenset()
    nested: frozenset[str] = frozenset()


def _pert(**params: float) -> Pert:
    """A PERT from the scenario file's keys (``lambda`` is a Python keyword)."""
    return Pert(params["min"], params["mode"], params["max"], params.get("lambda", 4.0))


#: Every distribution a scenario file can name (``dist = "lognormal"``), with the forms of its parameters.
#: Adding a distribution is its class above and its line here.
FORMS: Mapping[str, tuple[Form, ...]] = MappingProxyType({
    Fixed.kind: (Form(("value",), Fixed),),
    Exponential.kind: (Form(("mean",), Exponential),),
    LogNormal.kind: (Form(("median", "log_sd"), LogNormal, frozenset({"log_sd"})),
                     Form(("mean", "sd"), LogNormal.from_mean_sd)),
    Gamma.kind: (Form(("shape", "scale"), Gamma, frozenset({"shape"})), Form(("mean", "sd"), Gamma.from_mean_sd)),
    Triangular.kind: (Form(("low", "mode", "high"), Triangular),),
    Uniform.kind: (Form(("low", "high"), Uniform),),
    Empirical.kind: (Form(("values",), Empirical),),
    Normal.kind: (Form(("mean", "sd"), Normal), Form(("mean", "sd", "min"), Normal)),
    Weibull.kind: (Form(("shape", "scale"), Weibull, frozenset({"shape"})), Form(("mean", "sd"), Weibull.from_mean_sd)),
    Pert.kind: (Form(("min", "mode", "max"), _pert),
                Form(("min", "mode", "max", "lambda"), _pert, frozenset({"lambda"}))),
    Mixture.kind: (Form(("components", "weights"), Mixture, frozenset({"weights"}), frozenset({"components"})),),
})
