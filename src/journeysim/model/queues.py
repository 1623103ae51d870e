"""Finite queues, diversion, reneging and balking: the values a microsystem's queue rules take.

A clinical :class:`~journeysim.model.elements.Microsystem` may bound its queue and say
what happens to the patients it cannot take:

* ``queue_limit = N`` (optionally per class): a patient who arrives while every server
  is busy and ``N`` patients already wait is *full*: rejected (the journey ends there)
  or diverted (:class:`Divert`) to another microsystem. ``0`` makes a loss system.
* ``patience``: a waiting patient whose wait exceeds a draw of this distribution leaves
  the queue (*reneges*, "left without being seen"), to ``renege_to`` or out of the pathway.
* ``balk_at`` or ``balk_probabilities``: a patient who finds the queue at or above a
  threshold, or who decides by the queue length found, never joins (*balks*).

This module holds the value types and their checks; :mod:`journeysim.engine.limits`
and :mod:`journeysim.engine.patience` do it.

Examples
--------
>>> from journeysim.model.distributions import Fixed
>>> Divert("OtherED", delay=Fixed(15)).delay.mean
15.0
>>> balk_probability((0.0, 0.5, 1.0), 7)   # past the list, the last value holds
1.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from ._problems import Collector, is_number
from .distributions import Distribution, Fixed

__all__ = ["Divert", "WhenFull", "FULL_OUTCOMES", "UNSERVED", "LEFT_UNSEEN", "balk_probability"]

#: What a full queue can do to a patient: the names of the outcomes ``full_is_defect`` may declare defects.
FULL_OUTCOMES: tuple[str, ...] = ("rejected", "diverted")
#: How an arrival at a microsystem can end without service, in the order of their codes in the records.
UNSERVED: tuple[str, ...] = ("rejected", "diverted", "balked", "reneged")
_NO_TIME: Distribution = Fixed(0.0)
#: The journey defect of a patient who reneged or balked at a microsystem ("left without being seen").
LEFT_UNSEEN = "left_unseen"


@dataclass(frozen=True, slots=True)
class Divert:
    """Send the patients a full microsystem cannot take to another microsystem.

    Parameters
    ----------
    to : str
        The clinical microsystem they go to (another ED, an overflow ward). Its own
        queue rules apply when they arrive.
    delay : Distribution
        Travel time to it, in minutes (default none).

    Examples
    --------
    >>> Divert("OtherED").to
    'OtherED'
    """

    to: str
    delay: Distribution = _NO_TIME

    def __post_init__(self) -> None:
        c = Collector()
        if not isinstance(self.to, str) or not self.to:
            c.add("divert", f"must name a microsystem, got {self.to!r}")
        if not isinstance(self.delay, Distribution):
            c.add("delay", f"must be a distribution, got {self.delay!r}")
        elif not is_number(self.delay.mean) or self.delay.mean < 0:
            c.add("delay", f"must have a finite, non-negative mean, got {self.delay.mean!r}")
        c.raise_if_any()


#: ``"reject"`` (the journey ends) or a :class:`Divert`.
WhenFull: TypeAlias = "Literal['reject'] | Divert"


def balk_probability(probabilities: Sequence[float], waiting: int) -> float:
    """The probability of balking on finding ``waiting`` patients in the queue (the last value past the list)."""
    return probabilities[min(waiting, len(probabilities) - 1)]


# -- checks, used by Microsystem -------------------------------------------------------------------


def check_limit(c: Collector, path: str, value: object) -> int | None:
    """A queue limit: ``None`` or a whole number >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        c.add(path, f"must be a whole number >= 0 (patients waiting, not counting those in service), got {value!r}")
        return None
    return value


def check_when_full(c: Collector, path: str, value: object) -> WhenFull:
    """``"reject"`` or a :class:`Divert`."""
    if value == "reject" or isinstance(value, Divert):
        return value
    c.add(path, f"must be 'reject' or a Divert (a table {{ divert = \"OtherED\", delay = ... }}), got {value!r}")
    return "reject"


def check_by_class(c: Collector, path: str, value: object) -> Mapping[str, object]:
    """A table of class name to value (the values are checked by the caller)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        c.add(path, f"must be a mapping of class name to value, got {value!r}")
        return {}
    return {str(k): v for k, v in value.items()}


def check_full_is_defect(c: Collector, value: object) -> tuple[str, ...]:
    """``False``, ``True`` (both), ``"rejected"``, ``"diverted"`` or a list of them, as the names declared defects."""
    if value is False:
        return ()
    if value is True:
        return FULL_OUTCOMES
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Sequence) or not all(isinstance(x, str) for x in items):
        c.add("full_is_defect", f"must be true, false, 'rejected', 'diverted' or a list of them, got {value!r}")
        return ()
    bad = [x for x in items if x not in FULL_OUTCOMES]
    if bad:
        c.add("full_is_defect", f"unknown outcome(s) {', '.join(map(repr, bad))}; expected 'rejected' or 'diverted'")
        return ()
    return tuple(x for x in FULL_OUTCOMES if x in items)


def check_patience(c: Collector, path: str, value: object) -> Distribution | None:
    """A patience distribution (minutes a patient will wait), or ``None``."""
    if value is None:
        return None
    if not isinstance(value, Distribution):
        c.add(path, f"must be a distribution (e.g. Exponential(60)), got {value!r}")
        return None
    if not is_number(value.mean) or value.mean < 0:
        c.add(path, f"must have a finite, non-negative mean, got {value.mean!r}")
        return None
    return value


def check_balk_probabilities(c: Collector, value: object) -> tuple[float, ...]:
    """Probabilities of balking on finding 0, 1, 2... patients waiting; each in [0, 1]."""
    if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence):
        c.add("balk_probabilities", f"must be a list of probabilities, got {value!r}")
        return ()
    out = []
    for n, p in enumerate(value):
        if not is_number(p) or not 0.0 <= p <= 1.0:
            c.add(f"balk_probabilities[{n}]", f"{p!r} is not a probability in [0, 1]")
        else:
            out.append(float(p))
    return tuple(out) if len(out) == len(value) else ()
