"""The fields of a built model's elements in the one form they take once built.

A :class:`~journeysim.model.elements.Microsystem`, :class:`~journeysim.model.elements.Handoff`
or :class:`~journeysim.model.elements.ServiceRequest` accepts several forms for some
fields (a probability as a number, a mapping by class or a ``ByClass``; defects as
a mapping or as ``Defect`` objects) and normalises them when it is made. Their
annotations name every accepted form, so a reader of a built model gets each
field here with the type it has after normalisation.

Examples
--------
>>> from journeysim.model.elements import Handoff, Microsystem
>>> [d.name for d in defects_of(Microsystem("A", defects={"x": 0.1}))]
['x']
>>> probability_of(Handoff("A", "B", probability=0.3)).get("anyone")
0.3
"""

from __future__ import annotations

from typing import TypeVar

from ..model.elements import ByClass, Defect, Handoff, HandoffDefects, Microsystem, Recovery, ServiceRequest

__all__ = ["defects_of", "kinds_of", "probability_of", "caught_of", "boarding_of"]

_T = TypeVar("_T")


def _built(value: object, kind: type[_T], what: str) -> _T:
    if not isinstance(value, kind):  # only an element changed after it was made can get here
        raise TypeError(f"{what} is {value!r}, not the {kind.__name__} a built model holds")
    return value


def defects_of(m: Microsystem) -> tuple[Defect, ...]:
    """The named defects of a microsystem."""
    return _built(m.defects, tuple, f"{m.name}.defects")


def kinds_of(link: Handoff | ServiceRequest) -> HandoffDefects:
    """The defect probabilities of a handoff or request, by kind."""
    return _built(link.defects, HandoffDefects, f"{link.label}.defects")


def probability_of(link: Handoff | ServiceRequest) -> ByClass:
    """The probability of taking a handoff (or making a request), by class."""
    return _built(link.probability, ByClass, f"{link.label}.probability")


def caught_of(h: Handoff) -> ByClass | None:
    """The probability that the receiving microsystem catches the handoff's information defect, by
    class; ``None`` without a recovery."""
    if h.recovery is None:
        return None
    recovery = _built(h.recovery, Recovery, f"{h.label}.recovery")
    return _built(recovery.probability, ByClass, f"{h.label}.recovery.probability")


def boarding_of(h: Handoff) -> ByClass:
    """Whether a patient boards (keeps the bed) while waiting for the handoff's target, by class (0 or 1)."""
    return _built(h.boarding, ByClass, f"{h.label}.boarding")
