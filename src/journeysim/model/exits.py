"""Named exits: the outcomes a journey can end in (death, transfer out, nursing home...).

A patient who finishes a visit to a clinical microsystem is handed off to another
with each handoff's probability; what is left leaves the pathway. An
:class:`Exit` names a part of what is left, per class, with its own delay (the
bed stays occupied during it, as during the microsystem's ``exit_delay``). The
rest is the **default exit**, :data:`DEFAULT_EXIT` (``"discharged"``), whose
delay is the microsystem's ``exit_delay``. At a microsystem, for every class::

    default exit = 1 - sum of handoff probabilities - sum of named exit probabilities  (>= 0)

Each journey ends in one **outcome**: the name of the exit it took. The outcomes
of a model are :func:`outcome_names`: the default exit first, then each named
exit's name in the order first declared (two microsystems may share one, e.g.
``death`` from the CCU and from telemetry).

Examples
--------
>>> from journeysim.model.distributions import Fixed
>>> death = Exit("Telemetry", "death", probability={"STEMI": 0.05, "NSTEMI": 0.035}, delay=Fixed(120))
>>> death.probability.get("NSTEMI"), death.delay_for("STEMI").mean
(0.035, 120.0)
>>> death.label
'Telemetry:death'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ._frozen import FrozenMap
from ._problems import Collector, check_name
from .distributions import Distribution
from .elements import NO_TIME, ByClass, ProbabilityLike, _by_class, _check_distribution, _delays

__all__ = ["Exit", "DEFAULT_EXIT", "QUEUE_OUTCOMES", "outcome_names", "exit_probabilities"]

#: The name of the default exit: what is left of the routing at a microsystem once its
#: handoffs and named exits are taken. No named exit may have this name.
DEFAULT_EXIT = "discharged"

#: The outcomes of journeys the queue rules end (:mod:`journeysim.model.queues`): turned away by a
#: full queue, and left without being seen (reneged or balked) with nowhere to go.
QUEUE_OUTCOMES: tuple[str, ...] = ("rejected", "left_unseen")

_EXIT_NAME = {DEFAULT_EXIT: "it is the default exit (what is left of the routing), whose delay is the "
                            "microsystem's exit_delay",
              **dict.fromkeys(QUEUE_OUTCOMES, "it is the outcome of a journey a queue rule ends")}
_set = object.__setattr__


@dataclass(frozen=True, slots=True, init=False)
class Exit:
    """A named way to leave the pathway from a clinical microsystem: an outcome such as death.

    Parameters
    ----------
    source : str
        The clinical microsystem the patient leaves from.
    name : str
        The outcome, e.g. ``"death"`` or ``"transfer_out"``; not :data:`DEFAULT_EXIT`.
        Several microsystems may have an exit of the same name: one outcome.
    probability : float or mapping
        Probability (per class if a mapping; classes not named get the
        ``"default"`` entry, else 0) that a visit to ``source`` ends the journey
        here in this outcome. With the handoffs and the other exits out of
        ``source`` it may not exceed 1 for any class; the rest is the default exit.
    delay : Distribution
        Time the patient keeps the bed before leaving (e.g. certifying a death),
        in minutes; recorded as the visit's ``hold``.
    reference : str
        Where the numbers come from (a citation), shown in reports.
    delay_by_class : mapping of str to Distribution
        Delay of the classes that differ from ``delay``.

    Examples
    --------
    >>> Exit("CCU", "transfer_out", probability=0.02).probability.get("anyone")
    0.02
    >>> Exit("CCU", "discharged")
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: name: 'discharged' is reserved: it is the default exit ...
    """

    source: str
    name: str
    probability: ByClass
    delay: Distribution
    reference: str
    delay_by_class: Mapping[str, Distribution]

    def __init__(self, source: str, name: str, probability: ProbabilityLike = 1.0, delay: Distribution = NO_TIME,
                 reference: str = "", delay_by_class: Mapping[str, Distribution] | None = None) -> None:
        c = Collector()
        check_name(c, "from", source)
        check_name(c, "name", name, reserved=_EXIT_NAME)
        _check_distribution(c, "delay", delay)
        for key, value in (("source", source), ("name", name), ("delay", delay), ("reference", reference)):
            _set(self, key, value)
        _set(self, "probability", _by_class(c, "probability", probability))
        _set(self, "delay_by_class", _delays(c, {} if delay_by_class is None else delay_by_class))
        c.raise_if_any()

    def delay_for(self, class_name: str) -> Distribution:
        """The delay of ``class_name``."""
        return self.delay_by_class.get(class_name, self.delay)

    @property
    def label(self) -> str:
        """``"source:name"``, the exit's name in messages."""
        return f"{self.source}:{self.name}"


def outcome_names(exits: Iterable[Exit], queue_outcomes: Iterable[str] = ()) -> tuple[str, ...]:
    """The outcomes of a model with these exits: the default exit first, then each name once, in order,
    then those of :data:`QUEUE_OUTCOMES` its queue rules can give.

    Examples
    --------
    >>> outcome_names([Exit("A", "death", 0.1), Exit("B", "home", 0.2), Exit("B", "death", 0.1)])
    ('discharged', 'death', 'home')
    >>> outcome_names([], ["left_unseen"])
    ('discharged', 'left_unseen')
    """
    names = [DEFAULT_EXIT]
    for x in exits:
        if x.name not in names:
            names.append(x.name)
    return (*names, *(o for o in QUEUE_OUTCOMES if o in set(queue_outcomes)))


def exit_probabilities(exits: Iterable[Exit], source: str, class_name: str) -> FrozenMap[str, float]:
    """``{outcome: probability}`` of the named exits out of ``source`` for ``class_name`` (positive ones only).

    Examples
    --------
    >>> dict(exit_probabilities([Exit("A", "death", {"x": 0.1})], "A", "x"))
    {'death': 0.1}
    """
    out: dict[str, float] = {}
    for x in exits:
        p = x.probability.get(class_name)
        if x.source == source and p > 0:
            out[x.name] = out.get(x.name, 0.0) + p
    return FrozenMap(out)
