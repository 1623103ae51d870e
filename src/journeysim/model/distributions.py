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
from collections.abc import Callable, Mapping
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
    "Form",
    "FORMS",
]


@runtime_checkable
class Distribution(Protocol):
    """What the engine needs of a duration distribution."""

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


def _check_moments(c: Collector, dist: Fixed | Exponential | LogNormal | Gamma | Triangular | Uniform | Empirical,
                   *, positive: bool = False) -> None:
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
        c = Collector()
        _check_nonnegative(c, "shape", self.shape, positive=True)
        _check_nonnegative(c, "scale", self.scale, positive=True)
        _check_moments(c, self, positive=True)
        c.raise_if_any()

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
    """

    params: tuple[str, ...]
    make: Callable[..., Distribution]
    unitless: frozenset[str] = frozenset()


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
})
