"""Patient attributes: values drawn for each journey when it arrives (age, treatment, diabetic).

A patient class may declare attributes, each drawn once per journey, on arrival,
from its own named random stream ``attribute/{class}/{name}`` (so two scenarios
that share a class's attribute share its draws: common random numbers, and a new
attribute shifts no other stream). There are three kinds:

* :class:`Categorical`: one of several named values with given shares, e.g.
  ``treatment = {PCI: 0.92, CABG: 0.06, medical: 0.02}`` (the shares sum to 1);
* :class:`Numeric`: a number drawn from a distribution (any of
  :mod:`journeysim.model.distributions`), e.g. ``age``;
* :class:`Bernoulli`: true with a probability, e.g. ``diabetic``.

Attributes are recorded in the journeys table (one column each) and in event
logs, and conditions (:mod:`journeysim.model.conditions`) test them.

Examples
--------
>>> from journeysim.model.distributions import Uniform
>>> Categorical({"PCI": 0.92, "CABG": 0.06, "medical": 0.02}).values
('PCI', 'CABG', 'medical')
>>> Numeric(Uniform(40, 90)).mean
65.0
>>> Bernoulli(0.3).probability
0.3
>>> attribute_of({"low": 0.5, "high": 0.5}).kind
'categorical'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from ..errors import ValidationError
from ._problems import Collector, check_name, is_number, is_probability
from .distributions import Distribution

__all__ = ["Categorical", "Numeric", "Bernoulli", "Attribute", "attribute_of", "attribute_name_problem",
           "RESERVED_NAMES", "JOURNEY_COLUMNS"]

#: Words of the condition grammar and built-in names of the clock, which an attribute may not be called.
RESERVED_NAMES = frozenset({"and", "or", "not", "in", "true", "false", "hour", "weekday", "activated"})
#: The journeys table's own columns: an attribute's column may not take one of their names.
JOURNEY_COLUMNS = frozenset({"journey", "class", "entry", "arrival", "end", "exit", "visits", "defects", "missed",
                             "defect_free", "time_in_system", "outcome"})
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_TOLERANCE = 1e-9


def attribute_name_problem(name: object) -> str | None:
    """Why ``name`` cannot name an attribute, or ``None`` when it can.

    An attribute's name is written bare in conditions (``age >= 75``), so it is a
    letter followed by letters, digits and ``_``, and not a word of the grammar.

    Examples
    --------
    >>> attribute_name_problem("age") is None
    True
    >>> attribute_name_problem("__class__")
    "'__class__' must start with a letter and hold only letters, digits and '_' (it is written bare in conditions)"
    """
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        return (f"{name!r} must start with a letter and hold only letters, digits and '_' "
                "(it is written bare in conditions)")
    if name in RESERVED_NAMES:
        return f"{name!r} is reserved: it is a word of the condition grammar or a built-in name"
    if name in JOURNEY_COLUMNS:
        return f"{name!r} is reserved: it is a column of the journeys table"
    return None


@dataclass(frozen=True, slots=True, init=False)
class Categorical:
    """One of several named values, drawn with the given shares (they sum to 1).

    Parameters
    ----------
    shares : mapping of str to float
        Each value's probability, in the order the values are coded in records.

    Examples
    --------
    >>> Categorical({"PCI": 0.92, "CABG": 0.08}).share("CABG")
    0.08
    """

    shares: tuple[tuple[str, float], ...]
    kind: ClassVar[str] = "categorical"

    def __init__(self, shares: Mapping[str, float]) -> None:
        c = Collector()
        if not isinstance(shares, Mapping) or not shares:
            c.add("", f"must be a non-empty table of value = share, got {shares!r}")
            c.raise_if_any()
        for value, share in shares.items():
            check_name(c, str(value), value)
            c.probability(str(value), share)
        total = sum(v for v in shares.values() if is_number(v))
        if not c.problems and abs(total - 1.0) > _TOLERANCE:
            c.add("", f"the shares must sum to 1, got {total:g}")
        c.raise_if_any()
        object.__setattr__(self, "shares", tuple((str(k), float(v)) for k, v in shares.items()))

    @property
    def values(self) -> tuple[str, ...]:
        """The values, in order."""
        return tuple(k for k, _ in self.shares)

    def share(self, value: str) -> float:
        """The probability of ``value`` (0 for a value not listed)."""
        return dict(self.shares).get(value, 0.0)

    def to_plain(self) -> dict[str, float]:
        """``{value: share}``."""
        return dict(self.shares)


@dataclass(frozen=True, slots=True)
class Numeric:
    """A number drawn from ``distribution`` (for example an age).

    Examples
    --------
    >>> from journeysim.model.distributions import Gamma
    >>> Numeric(Gamma(4, 16)).mean
    64
    """

    distribution: Distribution
    kind: ClassVar[str] = "numeric"

    def __post_init__(self) -> None:
        c = Collector()
        if not isinstance(self.distribution, Distribution):
            c.add("", f"must be a distribution (Uniform, Gamma, LogNormal, ...), got {self.distribution!r}")
        elif not is_number(self.distribution.mean):
            c.add("", f"must have a finite mean, got {self.distribution.mean!r}")
        c.raise_if_any()

    @property
    def mean(self) -> float:
        """The distribution's mean."""
        return self.distribution.mean

    def to_plain(self) -> dict[str, object]:
        """``{dist, ...}`` as far as it is known (the distribution's repr)."""
        return {"numeric": repr(self.distribution)}


@dataclass(frozen=True, slots=True)
class Bernoulli:
    """True with ``probability``, else false.

    Examples
    --------
    >>> Bernoulli(1.5)
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: probability: 1.5 is not a probability in [0, 1]
    """

    probability: float
    kind: ClassVar[str] = "bernoulli"

    def __post_init__(self) -> None:
        c = Collector()
        if not is_probability(self.probability):
            c.add("probability", f"{self.probability!r} is not a probability in [0, 1]")
        c.raise_if_any()
        object.__setattr__(self, "probability", float(self.probability))

    def to_plain(self) -> dict[str, float]:
        """``{bernoulli: p}``."""
        return {"bernoulli": self.probability}


Attribute: TypeAlias = "Categorical | Numeric | Bernoulli"


def attribute_of(value: object) -> Attribute:
    """An attribute from its Python forms: an attribute, a mapping of value -> share, or a distribution.

    Raises
    ------
    ValidationError
        When ``value`` is none of these, or is not valid.
    """
    if isinstance(value, Categorical | Numeric | Bernoulli):
        return value
    if isinstance(value, Mapping):
        return Categorical(value)
    if isinstance(value, Distribution):
        return Numeric(value)
    c = Collector()
    c.add("", "must be a Categorical (a table of value = share), a Numeric (a distribution) or a Bernoulli, "
          f"got {value!r}")
    c.raise_if_any()
    raise AssertionError("unreachable")  # pragma: no cover


def check_attributes(c: Collector, path: str, value: object) -> dict[str, Attribute]:
    """The attributes of a class, by name; problems (bad names, bad values) go to ``c`` under ``path``."""
    if not isinstance(value, Mapping):
        c.add(path, f"must be a mapping of attribute name to attribute, got {value!r}")
        return {}
    out: dict[str, Attribute] = {}
    for name, spec in value.items():
        problem = attribute_name_problem(name)
        if problem is not None:
            c.add(f"{path}.{name}", problem)
            continue
        try:
            out[name] = attribute_of(spec)
        except ValidationError as err:
            c.absorb(err, f"{path}.{name}")
    return out
