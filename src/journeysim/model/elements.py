"""The building blocks of a mesosystem: microsystems, handoffs, service
requests and patient classes.

Each element is a frozen dataclass that checks its own values when it is made
and raises :class:`~journeysim.errors.ValidationError` listing every problem.
Checks that need the whole model (unknown node names, routing that sums over
1, unreachable nodes) are made by :class:`~journeysim.model.mesosystem.Model`.

Probabilities that may differ per patient class are given either as one number
or as a mapping ``{class name: probability}``, optionally with a ``"default"``
entry for the classes not named (without it they get 0).

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> ed = Microsystem("ED", capacity=30, service=Exponential(180), defect=0.02)
>>> ed.quality_for("STEMI")
0.98
>>> Handoff("EMS", "ED", probability={"STEMI": 0.9, "default": 0.4}).probability.get("NSTEMI")
0.4
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias, TypeVar, cast

from ..errors import ValidationError
from ._frozen import FrozenMap
from ._problems import Collector, check_name, is_number
from .attributes import Attribute, check_attributes
from .clock import Window
from .conditions import Condition, ConditionError
from .distributions import Distribution, Exponential, Fixed
from .kinds import HANDOFF_KINDS, REQUEST_KINDS, code
from .multipliers import DefectMultiplier, multipliers_of
from .profiles import ArrivalProfile, check_period_days
from .queues import (
    Divert,
    WhenFull,
    check_balk_probabilities,
    check_by_class,
    check_full_is_defect,
    check_limit,
    check_patience,
    check_when_full,
)

__all__ = [
    "ByClass",
    "ProbabilityLike",
    "Step",
    "Defect",
    "Microsystem",
    "Shift",
    "Activation",
    "Cost",
    "Recovery",
    "HandoffDefects",
    "Handoff",
    "ServiceRequest",
    "PatientClass",
    "HANDOFF_KINDS",
    "per_day",
    "per_hour",
]


# What names may not contain or be, and why (docs/scenarios.md, "Names"). Every name is
# also non-empty, without control characters and without whitespace at either end.
_set = object.__setattr__  # frozen dataclasses set their normalised fields once, in __init__
#: No time at all: the default delay, exit delay, rework and activation lag.
NO_TIME: Distribution = Fixed(0.0)
_T = TypeVar("_T")

_LABEL_ARROWS = {"->": "handoffs are labelled 'FROM->TO'", "=>": "requests are labelled 'FROM=>TO'"}
_NODE_NAME = {**_LABEL_ARROWS, ":": "a milestone 'NODE.STEP' cannot have ':' in NODE"}
_STEP_NAME = {".": "a milestone 'NODE.STEP' could not name the step",
              ":": "a milestone 'NODE.STEP' could not name the step"}
_CLASS_NAME = {"default": "in a per-class table it is the value of the classes not named",
               "system": "results name the whole pathway's quality 'quality.system'"}


def per_day(rate: float) -> float:
    """Convert a rate per day to the engine's rate per minute.

    Examples
    --------
    >>> per_day(1440)
    1.0
    """
    return rate / 1440.0


def per_hour(rate: float) -> float:
    """Convert a rate per hour to the engine's rate per minute.

    Examples
    --------
    >>> per_hour(60)
    1.0
    """
    return rate / 60.0


@dataclass(frozen=True, slots=True)
class ByClass:
    """A probability that may differ per patient class.

    Parameters
    ----------
    default : float
        Value for classes not listed in ``values``.
    values : tuple of (str, float)
        Per-class values.

    Examples
    --------
    >>> p = ByClass.of({"STEMI": 0.9})
    >>> p.get("STEMI"), p.get("NSTEMI")
    (0.9, 0.0)
    >>> ByClass.of(0.3).get("anyone")
    0.3
    """

    default: float = 0.0
    values: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(cls, value: ProbabilityLike, *, path: str = "") -> ByClass:
        """Normalise a number, a mapping or a ByClass; raise on non-probabilities."""
        if isinstance(value, ByClass):
            return value
        c = Collector(path)
        if isinstance(value, Mapping):
            default = value.get("default", 0.0)
            pairs = tuple((str(k), v) for k, v in value.items() if k != "default")
            if "default" in value:
                c.probability("default", default)
            for k, v in pairs:
                c.probability(k, v)
            c.raise_if_any()
            return cls(float(default), tuple((k, float(v)) for k, v in pairs))
        c.probability("", value)
        c.raise_if_any()
        return cls(float(value))

    def get(self, class_name: str) -> float:
        """The value for ``class_name``."""
        for k, v in self.values:
            if k == class_name:
                return v
        return self.default

    def class_names(self) -> tuple[str, ...]:
        """The classes listed explicitly."""
        return tuple(k for k, _ in self.values)

    def is_zero(self) -> bool:
        """True when the value is 0 for every class."""
        return self.default == 0.0 and all(v == 0.0 for _, v in self.values)

    def to_plain(self) -> float | dict[str, float]:
        """A number, or a mapping with a ``default`` entry, for JSON output."""
        if not self.values:
            return self.default
        return {**dict(self.values), "default": self.default}


ProbabilityLike: TypeAlias = "float | Mapping[str, float] | ByClass"


def _by_class(c: Collector, path: str, value: object) -> ByClass:
    try:
        return ByClass.of(value)  # type: ignore[arg-type]  # any value: ByClass.of checks it and says what is wrong
    except ValidationError as err:
        c.absorb(err, path)
        return ByClass()


def _check_distribution(c: Collector, path: str, value: object) -> None:
    if not isinstance(value, Distribution):
        c.add(path, f"must be a distribution (Fixed, Exponential, LogNormal, ...), got {value!r}")
    elif not is_number(value.mean) or value.mean < 0:  # the built-in ones check more (distributions.py)
        c.add(path, f"must have a finite, non-negative mean, got {value.mean!r}")


def _service(c: Collector, path: str, service: object) -> Distribution | tuple[Step, ...]:
    if isinstance(service, Sequence) and not isinstance(service, str):
        steps = tuple(service)
        if not steps:
            c.add(path, "needs at least one step")
        names = [s.name for s in steps if isinstance(s, Step)]
        for i, s in enumerate(steps):
            if not isinstance(s, Step):
                c.add(f"{path}[{i}]", f"must be a Step, got {s!r}")
        for dup in sorted({n for n in names if names.count(n) > 1}):
            c.add(path, f"step name {dup!r} is used more than once")
        return steps
    _check_distribution(c, path, service)
    return cast(Distribution, service)  # checked above; a problem was recorded if it is not one


def _as_steps(service: Distribution | tuple[Step, ...]) -> tuple[Step, ...]:
    if isinstance(service, tuple):
        return service
    return (Step("service", service),)


def _step_lists(service: object, by_class: Mapping[str, object]) -> list[tuple[str, tuple[Step, ...]]]:
    """``(key path, steps)`` of the default steps and of each class's own, where they are steps."""
    out = [("steps", service)] + [(f"steps_by_class.{k}", v) for k, v in by_class.items()]
    return [(path, tuple(x for x in v if isinstance(x, Step))) for path, v in out if isinstance(v, tuple)]


def _delays(c: Collector, value: object) -> Mapping[str, Distribution]:
    if not isinstance(value, Mapping):
        c.add("delay_by_class", "must be a mapping of class name to distribution")
        return FrozenMap({})
    for k, v in value.items():
        _check_distribution(c, f"delay_by_class.{k}", v)
    return FrozenMap(dict(value))


@dataclass(frozen=True, slots=True, init=False)
class Step:
    """A named step of a visit (e.g. ``door_to_ecg``); the visit lasts the sum of its steps.

    Parameters
    ----------
    name : str
        The step's name (a milestone ``NODE.STEP`` is its end).
    duration : Distribution
        Its duration, in minutes, drawn from stream ``service/{node}/{name}``.
    when : str or Condition, optional
        A condition on the patient's attributes: only the patients for whom it holds
        have the step (the others' visits skip it, and never reach its end). Its
        duration is drawn for every visit all the same, so the other steps' random
        numbers do not depend on it.

    Examples
    --------
    >>> Step("device", Fixed(30)).duration.mean
    30.0
    >>> Step("device", Fixed(30), when='treatment == "PCI"').when.names()
    ('treatment',)
    """

    name: str
    duration: Distribution
    when: Condition | None

    def __init__(self, name: str, duration: Distribution, when: str | Condition | None = None) -> None:
        c = Collector()
        _set(self, "name", name)
        _set(self, "duration", duration)
        check_name(c, "name", name, forbid=_STEP_NAME)
        _check_distribution(c, "duration", duration)
        _set(self, "when", condition_of(c, "when", when))
        c.raise_if_any()


@dataclass(frozen=True, slots=True, init=False)
class Defect:
    """A named way a visit can go wrong, with its probability per visit.

    Examples
    --------
    >>> Defect("aspirin_missed", ByClass.of({"STEMI": 0.015, "NSTEMI": 0.021})).probability.get("NSTEMI")
    0.021
    """

    name: str
    probability: ByClass

    def __init__(self, name: str, probability: ProbabilityLike) -> None:
        c = Collector()
        check_name(c, "name", name)
        _set(self, "name", name)
        _set(self, "probability", _by_class(c, "probability", probability))
        c.raise_if_any()


@dataclass(frozen=True, slots=True, init=False)
class Cost:
    """What an element costs: per use, per minute, and per defect.

    Parameters
    ----------
    per_visit : float
        Cost of each visit to a microsystem, each transfer of a handoff, or each
        service request.
    per_minute : float
        Cost of each minute: at a microsystem, the minutes the patient holds a
        server (service, waits for support results, boarding and exit delay); on
        a handoff or request, the minutes of its delay.
    defects : mapping of str to float
        Cost of each defect, by name: a microsystem's named defects, or a
        handoff's kinds (``patient``, ``information``, ``services``).
    reference : str
        Where the numbers come from, shown in reports.

    Examples
    --------
    >>> Cost(per_visit=1200, per_minute=2.5, defects={"information": 300}).defects["information"]
    300.0
    """

    per_visit: float
    per_minute: float
    defects: Mapping[str, float]
    reference: str

    def __init__(self, per_visit: float = 0.0, per_minute: float = 0.0, defects: Mapping[str, float] | None = None,
                 reference: str = "") -> None:
        c = Collector()
        for name, value in (("per_visit", per_visit), ("per_minute", per_minute)):
            if not is_number(value) or not 0 <= value < math.inf:
                c.add(name, f"must be a finite number >= 0, got {value!r}")
            _set(self, name, float(value) if is_number(value) else 0.0)
        costs: dict[str, float] = {}
        if defects is not None and not isinstance(defects, Mapping):
            c.add("defects", f"must be a mapping of defect name to cost, got {defects!r}")
        else:
            for k, v in (defects or {}).items():
                if not is_number(v) or not 0 <= v < math.inf:
                    c.add(f"defects.{k}", f"must be a finite number >= 0, got {v!r}")
                else:
                    costs[str(k)] = float(v)
        _set(self, "defects", FrozenMap(costs))
        _set(self, "reference", reference)
        c.raise_if_any()

    def check_defects(self, c: Collector, path: str, known: Sequence[str]) -> None:
        """Report defect names that the element does not have."""
        for name in self.defects:
            if name not in known:
                c.add(f"{path}.defects.{name}", f"unknown defect; expected one of {', '.join(known) or '(none)'}")


def _recovery(c: Collector, value: object) -> Recovery | None:
    if value is None or isinstance(value, Recovery):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"probability", "rework"}
        if unknown or "probability" not in value:
            c.add("recovery", f"must have probability and optionally rework, got keys {sorted(value)}")
            return None
        try:
            return Recovery(**value)
        except ValidationError as err:
            c.absorb(err, "recovery")
            return None
    c.add("recovery", f"must be a Recovery or a mapping, got {value!r}")
    return None


def _cost(c: Collector, value: object, known: Sequence[str]) -> Cost | None:
    if value is None or isinstance(value, Cost):
        if value is not None:
            value.check_defects(c, "cost", known)
        return value
    if isinstance(value, Mapping):
        try:
            cost = Cost(**value)
        except TypeError:
            c.add("cost", f"unknown keys; expected per_visit, per_minute, defects, reference, got {sorted(value)}")
            return None
        except ValidationError as err:
            c.absorb(err, "cost")
            return None
        cost.check_defects(c, "cost", known)
        return cost
    c.add("cost", f"must be a Cost or a mapping, got {value!r}")
    return None


@dataclass(frozen=True, slots=True, init=False)
class Recovery:
    """The receiving microsystem catches a handoff's information defect, at a time cost.

    When the handoff's information defect happens, the receiving team catches it
    with ``probability`` (per class if a mapping). A caught defect is recovered:
    it is recorded as caught, not as a defect of the journey, and it does not
    propagate; the ``rework`` time is added to the start of the next visit,
    which holds the server for it.

    Examples
    --------
    >>> Recovery(0.6, Fixed(10)).probability.get("any")
    0.6
    """

    probability: ByClass
    rework: Distribution

    def __init__(self, probability: ProbabilityLike, rework: Distribution = NO_TIME) -> None:
        c = Collector()
        _set(self, "probability", _by_class(c, "probability", probability))
        _check_distribution(c, "rework", rework)
        _set(self, "rework", rework)
        c.raise_if_any()


@dataclass(frozen=True, slots=True)
class Shift:
    """A weekly period when a microsystem runs differently, e.g. the cath-lab team in house.

    Outside its shifts a microsystem has its own ``capacity`` and ``team_ready``;
    during a shift, the values given here replace them. Shifts of one
    microsystem may not overlap.

    Parameters
    ----------
    window : Window
        When the shift applies, e.g. ``Window("Mon-Fri", "08:00", "17:00")``.
    capacity : int, "unlimited" or None
        Servers during the shift; ``None`` keeps the microsystem's capacity.
    team_ready : Distribution or None
        Time from activation to team ready for activations made during the
        shift; ``None`` keeps the microsystem's.

    Examples
    --------
    >>> from journeysim.model.distributions import LogNormal
    >>> day = Shift(Window("Mon-Fri", "08:00", "17:00"), capacity=2, team_ready=LogNormal(15, 0.45))
    >>> day.window.describe()
    'Mon-Fri 08:00-17:00'
    """

    window: Window
    capacity: int | Literal["unlimited"] | None = None
    team_ready: Distribution | None = None

    def __post_init__(self) -> None:
        c = Collector()
        if not isinstance(self.window, Window):
            c.add("window", f"must be a Window, got {self.window!r}")
        cap = self.capacity
        if cap is not None and cap != "unlimited" and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
            c.add("capacity", f"must be a non-negative integer or 'unlimited', got {cap!r}")
        if self.team_ready is not None:
            _check_distribution(c, "team_ready", self.team_ready)
        c.raise_if_any()


@dataclass(frozen=True, slots=True, init=False)
class Activation:
    """A milestone at which a microsystem is told that a patient is on the way.

    The team's preparation (``Microsystem.team_ready``) starts at the first
    activation a journey triggers; if none fires before the patient arrives,
    the team is activated on arrival. With a prehospital ECG transmitted from
    the scene, the cath-lab team gets ready during transport and the ED visit.

    Parameters
    ----------
    at : str
        A milestone (see :mod:`journeysim.model.milestones`), e.g. ``"ED.ecg_to_activation"``
        or ``"handoff:EMS->ED"``.
    probability : float or mapping
        Probability (per class if a mapping) that the activation is made.
    lag : Distribution
        Time from the milestone to the call, in minutes.
    when : str or Condition, optional
        A condition on the patient's attributes: the activation is made (with its
        ``probability``) only for patients for whom it holds, e.g. ``"stemi_alert"``.
        It may not read the clock or ``activated(...)``.

    Examples
    --------
    >>> Activation("EMS.response", probability={"STEMI": 0.5}).probability.get("STEMI")
    0.5
    >>> Activation("EMS.ecg", when="stemi_alert").when.names()
    ('stemi_alert',)
    """

    at: str
    probability: ByClass
    lag: Distribution
    when: Condition | None

    def __init__(self, at: str, probability: ProbabilityLike = 1.0, lag: Distribution = NO_TIME,
                 when: str | Condition | None = None) -> None:
        c = Collector()
        if not isinstance(at, str) or not at.strip():
            c.add("at", f"must be a milestone such as 'ED.ecg' or 'arrive:ED', got {at!r}")
        _set(self, "at", at)
        _set(self, "probability", _by_class(c, "probability", probability))
        _check_distribution(c, "lag", lag)
        _set(self, "lag", lag)
        _set(self, "when", condition_of(c, "when", when))
        c.raise_if_any()


def _class_flag(c: Collector, path: str, value: object) -> ByClass:
    """``True``/``False`` or a list of class names, as a 0/1 :class:`ByClass`."""
    if isinstance(value, bool):
        return ByClass(1.0 if value else 0.0)
    if isinstance(value, ByClass):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str) and all(isinstance(x, str) for x in value):
        return ByClass(0.0, tuple((str(x), 1.0) for x in value))
    c.add(path, f"must be true, false or a list of class names, got {value!r}")
    return ByClass()


def _capacity(c: Collector, value: object) -> int | None:
    """A capacity: a positive integer, or ``None`` for unlimited (``"unlimited"``, ``inf``)."""
    if value is None or value == "unlimited" or (isinstance(value, float) and math.isinf(value) and value > 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        c.add("capacity", f"must be a positive integer or 'unlimited', got {value!r}")
        return None
    return value


def _defects(c: Collector, defect: object, defects: object) -> tuple[Defect, ...]:
    """The named defects of a microsystem: ``defect`` is shorthand for one named ``"defect"``."""
    out: list[Defect] = []
    if defect is not None:
        out.append(Defect("defect", _by_class(c, "defect", defect)))
    if isinstance(defects, Mapping):
        items: Iterable[tuple[object, object]] = defects.items()
    elif isinstance(defects, Sequence) and not isinstance(defects, str):
        items = ((getattr(d, "name", i), d) for i, d in enumerate(defects))
    else:
        c.add("defects", f"must be a mapping of defect name to probability, got {defects!r}")
        items = ()
    for name, value in items:
        if isinstance(value, Defect):
            out.append(value)
            continue
        try:
            out.append(Defect(str(name), _by_class(c, f"defects.{name}", value)))
        except ValidationError as err:
            c.absorb(err, f"defects.{name}")
    seen = [d.name for d in out]
    for dup in sorted({n for n in seen if seen.count(n) > 1}):
        c.add("defects", f"defect name {dup!r} is used more than once")
    return tuple(out)


def _items(c: Collector, path: str, value: object, cls: type[_T]) -> tuple[_T, ...]:
    """A sequence of ``cls`` instances as a tuple; anything else is a problem at ``path``."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        c.add(path, f"must be a sequence of {cls.__name__}, got {value!r}")
        return ()
    for i, item in enumerate(value):
        if not isinstance(item, cls):
            c.add(f"{path}[{i}]", f"must be a {cls.__name__}, got {item!r}")
    return tuple(x for x in value if isinstance(x, cls))


def _overlap(a: Window, b: Window, period_days: int = 7) -> bool:
    return any(x0 < y1 and y0 < x1 for x0, x1 in a.intervals(period_days) for y0, y1 in b.intervals(period_days))


@dataclass(frozen=True, slots=True, init=False)
class Microsystem:
    """A clinical or support microsystem: a process node of the mesosystem.

    Parameters
    ----------
    name : str
        Unique name, e.g. ``"ED"``.
    kind : {"clinical", "support"}
        Clinical microsystems receive patients by handoff; support microsystems
        (lab, radiology, pharmacy) serve requests from clinical ones.
    capacity : int or None
        Number of servers (beds, teams); ``None`` (or ``"unlimited"``) for no limit.
    service : Distribution or sequence of Step
        Duration of the visit's own work, in minutes. With steps, the visit
        lasts the sum of the steps, drawn independently.
    defect : float or mapping, optional
        Shorthand for a single defect named ``"defect"``.
    defects : mapping of str to probability, optional
        Named, independent defects; the visit is defective if any occurs.
    reference : str
        Where the numbers come from (a citation), shown in reports.
    service_by_class : mapping of str to Distribution or sequence of Step
        Service of the classes that differ from ``service``.
    exit_delay : Distribution
        When a patient leaves the pathway from here (discharge, transfer out,
        death), the bed stays occupied this long after the visit's work
        (discharge paperwork, waiting for transport). Recorded as the visit's ``hold``.
    schedule : sequence of Shift
        Weekly periods with another capacity or team-ready time (in house vs on
        call). Capacity changes never interrupt a visit: when it drops, patients
        in service finish and the next start waits for a free server.
    team_ready : Distribution or None
        Time from activation to team ready (outside the shifts). A patient's
        work here cannot start before the team is ready; the wait is the visit's
        ``team_wait``. ``None``: no activation is needed.
    activated_for : sequence of str or None
        The classes that need activation (``None``: every class).
    activation : sequence of Activation
        Milestones that activate the team before the patient arrives.
    defect_per_wait_hour, defect_per_occupant : float
        Defects that depend on load and time: each named defect's probability
        for a visit is ``min(1, p + defect_per_wait_hour * W + defect_per_occupant * N)``,
        with ``W`` the hours the patient waited here for a server and ``N`` the
        number of patients here (in service or waiting) when it arrived. The
        exact (graph) quality uses ``p`` alone.
    cost : Cost or mapping, optional
        Cost per visit, per minute holding a server, and per named defect.
    period_days : int, default 7
        The schedule repeats every this many days (a 14-day rota: 14), from
        Monday 00:00. Shifts given by day names apply in every week of the period
        (which must then be whole weeks); shifts given by day numbers
        (``Window(days=(0, 1, 8), weekly=False)``) on those days of the period.
    queue_limit : int or None
        Patients who may wait here, not counting those in service (``None``: no
        limit; ``0``: a loss system). A patient who arrives while every server is
        busy and the queue is full is handled by ``when_full``. A boarding handoff
        into this microsystem keeps the bed behind only while its queue is full.
    queue_limit_by_class : mapping of str to int
        The limit seen by the classes that differ from ``queue_limit``.
    when_full : "reject" or Divert
        ``"reject"``: the patient leaves the pathway here (recorded ``rejected``);
        a :class:`~journeysim.model.queues.Divert`: the patient goes to another
        microsystem (recorded ``diverted``).
    when_full_by_class : mapping of str to "reject" or Divert
        ``when_full`` of the classes that differ.
    full_is_defect : bool, str or sequence of str
        Which of ``"rejected"`` and ``"diverted"`` is a defect of the journey (of
        this microsystem, named so); ``True`` for both.
    patience : Distribution or None
        How long a patient will wait for a server here; one who has waited that
        long leaves the queue (recorded ``reneged``, a journey defect named
        ``left_unseen`` of this microsystem).
    patience_by_class : mapping of str to Distribution
        Patience of the classes that differ from ``patience``.
    renege_to : str or None
        Where those who renege or balk go: a clinical microsystem, or ``None`` to
        leave the pathway.
    balk_at : int or None
        A patient who must wait and finds this many or more waiting never joins
        (recorded ``balked``, a ``left_unseen`` defect).
    balk_probabilities : sequence of float
        Instead of ``balk_at``: the probability of balking on finding 0, 1, 2...
        waiting (the last value holds for longer queues).
    defect_multipliers : sequence of DefectMultiplier or mapping
        Factors on the defects' probabilities for the patients whose attributes
        satisfy a condition (:mod:`journeysim.model.multipliers`), e.g.
        ``[{"when": "age >= 75", "factor": 2.0, "defects": ["fall"]}]``.

    Examples
    --------
    >>> from journeysim.model.distributions import LogNormal
    >>> cath = Microsystem("CathLab", capacity=2, service=[Step("to_device", LogNormal(30, 0.3)),
    ...                    Step("closure", LogNormal(30, 0.3))], defects={"bleed": 0.01})
    >>> round(cath.service_mean, 2)
    62.76

    A waiting room of 20, ambulances diverted when it is full, and patients who leave unseen:

    >>> from journeysim.model.queues import Divert
    >>> ed = Microsystem("ED", capacity=8, service=LogNormal(150, 0.8), queue_limit=20,
    ...                  when_full_by_class={"ambulance": Divert("OtherED", delay=Fixed(15))},
    ...                  patience=Exponential(240))
    >>> ed.when_full_for("walk_in"), ed.when_full_for("ambulance").to, ed.queue_bounded
    ('reject', 'OtherED', True)
    """

    name: str
    kind: Literal["clinical", "support"]
    capacity: int | None
    service: Distribution | tuple[Step, ...]
    defect: None
    defects: tuple[Defect, ...]
    reference: str
    service_by_class: Mapping[str, Distribution | tuple[Step, ...]]
    exit_delay: Distribution
    schedule: tuple[Shift, ...]
    team_ready: Distribution | None
    activated_for: tuple[str, ...] | None
    activation: tuple[Activation, ...]
    defect_per_wait_hour: float
    defect_per_occupant: float
    cost: Cost | None
    period_days: int
    queue_limit: int | None
    queue_limit_by_class: Mapping[str, int]
    when_full: WhenFull
    when_full_by_class: Mapping[str, WhenFull]
    full_is_defect: tuple[str, ...]
    patience: Distribution | None
    patience_by_class: Mapping[str, Distribution]
    renege_to: str | None
    balk_at: int | None
    balk_probabilities: tuple[float, ...]
    defect_multipliers: tuple[DefectMultiplier, ...]

    def __init__(
        self,
        name: str,
        kind: Literal["clinical", "support"] = "clinical",
        capacity: int | Literal["unlimited"] | None = None,
        service: Distribution | Sequence[Step] = NO_TIME,
        defect: ProbabilityLike | None = None,
        defects: Sequence[Defect] | Mapping[str, ProbabilityLike] = (),
        reference: str = "",
        service_by_class: Mapping[str, Distribution | Sequence[Step]] | None = None,
        exit_delay: Distribution = NO_TIME,
        schedule: Sequence[Shift] = (),
        team_ready: Distribution | None = None,
        activated_for: Sequence[str] | None = None,
        activation: Sequence[Activation] = (),
        defect_per_wait_hour: float = 0.0,
        defect_per_occupant: float = 0.0,
        cost: Cost | Mapping[str, object] | None = None,
        period_days: int = 7,
        queue_limit: int | None = None,
        queue_limit_by_class: Mapping[str, int] | None = None,
        when_full: WhenFull = "reject",
        when_full_by_class: Mapping[str, WhenFull] | None = None,
        full_is_defect: bool | str | Sequence[str] = False,
        patience: Distribution | None = None,
        patience_by_class: Mapping[str, Distribution] | None = None,
        renege_to: str | None = None,
        balk_at: int | None = None,
        balk_probabilities: Sequence[float] = (),
        defect_multipliers: Sequence[DefectMultiplier | Mapping[str, object]] = (),
    ) -> None:
        c = Collector()
        check_name(c, "name", name, forbid=_NODE_NAME)
        _set(self, "period_days", check_period_days(c, "period_days", period_days))
        if kind not in ("clinical", "support"):
            c.add("kind", f"must be 'clinical' or 'support', got {kind!r}")
        for key, value in (("name", name), ("kind", kind), ("reference", reference), ("team_ready", team_ready),
                           ("exit_delay", exit_delay), ("defect", None)):
            _set(self, key, value)
        _set(self, "capacity", _capacity(c, capacity))
        _set(self, "service", _service(c, "service", service))
        _check_distribution(c, "exit_delay", exit_delay)
        if service_by_class is not None and not isinstance(service_by_class, Mapping):
            c.add("service_by_class", "must be a mapping of class name to service")
            service_by_class = None
        _set(self, "service_by_class", FrozenMap(
            {str(k): _service(c, f"service_by_class.{k}", v) for k, v in (service_by_class or {}).items()}))
        if kind == "support":
            for path, steps in _step_lists(self.service, self.service_by_class):
                for j, st in enumerate(steps):
                    if st.when is not None:
                        c.add(f"{path}[{j}].when", "a support microsystem's steps cannot have conditions "
                              "(its service is a request's, not a patient's visit)")
        named = _defects(c, defect, defects)
        _set(self, "defects", named)
        _set(self, "defect_multipliers", _multipliers(c, defect_multipliers, [d.name for d in named]))
        _set(self, "cost", _cost(c, cost, [d.name for d in named]))
        _set(self, "schedule", _items(c, "schedule", schedule, Shift))
        _set(self, "activation", _items(c, "activation", activation, Activation))
        for key, rate in (("defect_per_wait_hour", defect_per_wait_hour), ("defect_per_occupant", defect_per_occupant)):
            if not is_number(rate) or rate < 0:
                c.add(key, f"must be a non-negative number (added probability), got {rate!r}")
            _set(self, key, float(rate) if is_number(rate) else 0.0)
        if activated_for is not None and (isinstance(activated_for, str) or not isinstance(activated_for, Sequence)):
            c.add("activated_for", f"must be a list of class names, got {activated_for!r}")
            activated_for = None
        _set(self, "activated_for", None if activated_for is None else tuple(str(x) for x in activated_for))
        self._check_activation(c)
        self._set_queue(c, queue_limit, queue_limit_by_class, when_full, when_full_by_class, full_is_defect,
                        patience, patience_by_class, renege_to, balk_at, balk_probabilities)
        c.raise_if_any()

    def _set_queue(self, c: Collector, queue_limit: object, queue_limit_by_class: object, when_full: object,
                   when_full_by_class: object, full_is_defect: object, patience: object, patience_by_class: object,
                   renege_to: object, balk_at: object, balk_probabilities: object) -> None:
        """The queue rules (:mod:`journeysim.model.queues`), checked; every problem named by its key."""
        _set(self, "queue_limit", check_limit(c, "queue_limit", queue_limit))
        _set(self, "queue_limit_by_class", FrozenMap({
            k: n for k, v in check_by_class(c, "queue_limit_by_class", queue_limit_by_class).items()
            if (n := check_limit(c, f"queue_limit_by_class.{k}", v)) is not None}))
        _set(self, "when_full", check_when_full(c, "when_full", when_full))
        _set(self, "when_full_by_class", FrozenMap({
            k: check_when_full(c, f"when_full_by_class.{k}", v)
            for k, v in check_by_class(c, "when_full_by_class", when_full_by_class).items()}))
        _set(self, "full_is_defect", check_full_is_defect(c, full_is_defect))
        _set(self, "patience", check_patience(c, "patience", patience))
        by_class = {k: check_patience(c, f"patience_by_class.{k}", v)
                    for k, v in check_by_class(c, "patience_by_class", patience_by_class).items()}
        _set(self, "patience_by_class", FrozenMap({k: v for k, v in by_class.items() if v is not None}))
        if renege_to is not None and (not isinstance(renege_to, str) or not renege_to):
            c.add("renege_to", f"must name a clinical microsystem, got {renege_to!r}")
            renege_to = None
        _set(self, "renege_to", renege_to)
        _set(self, "balk_at", check_limit(c, "balk_at", balk_at))
        _set(self, "balk_probabilities", check_balk_probabilities(c, balk_probabilities))
        limited = self.queue_limit is not None or bool(self.queue_limit_by_class)
        if not limited:
            if self.when_full != "reject" or self.when_full_by_class:
                c.add("when_full", "says what a full queue does, but the microsystem has no queue_limit")
            if self.full_is_defect:
                c.add("full_is_defect", "needs a queue_limit: without one the queue is never full")
        if balk_at is not None and balk_probabilities:
            c.add("balk_probabilities", "give either balk_at (a threshold) or balk_probabilities, not both")
        if renege_to is not None and not self.has_patience and not self.balks:
            c.add("renege_to", "says where those who leave the queue go, but the microsystem has no patience "
                  "or balking")
        if self.kind == "support" and (limited or self.has_patience or self.balks):
            c.add("kind", "queue_limit, patience and balking are for clinical microsystems; a support one "
                  "serves every request")

    @property
    def has_queue_limit(self) -> bool:
        """Whether some class finds the queue limited here."""
        return self.queue_limit is not None or bool(self.queue_limit_by_class)

    def queue_limit_for(self, class_name: str) -> int | None:
        """The queue limit seen by ``class_name`` (``None``: no limit)."""
        return self.queue_limit_by_class.get(class_name, self.queue_limit)

    def when_full_for(self, class_name: str) -> WhenFull:
        """What a full queue does to ``class_name``: ``"reject"`` or a :class:`~journeysim.model.queues.Divert`."""
        return self.when_full_by_class.get(class_name, self.when_full)

    @property
    def has_patience(self) -> bool:
        """Whether some class may renege here."""
        return self.patience is not None or bool(self.patience_by_class)

    def patience_for(self, class_name: str) -> Distribution | None:
        """The patience of ``class_name`` here (``None``: waits as long as it takes)."""
        return self.patience_by_class.get(class_name, self.patience)

    @property
    def balks(self) -> bool:
        """Whether patients may balk here."""
        return self.balk_at is not None or bool(self.balk_probabilities)

    @property
    def diversions(self) -> tuple[Divert, ...]:
        """The diversions of every class, each once."""
        rules = [self.when_full, *self.when_full_by_class.values()]
        return tuple(dict.fromkeys(r for r in rules if isinstance(r, Divert)))

    @property
    def queue_bounded(self) -> bool:
        """Whether the queue cannot grow without bound whatever the load (a limit, balking
        by a threshold or with certainty, or patience, for every class)."""
        return (self.queue_limit is not None or self.balk_at is not None or self.patience is not None
                or (bool(self.balk_probabilities) and self.balk_probabilities[-1] == 1.0))

    def _check_activation(self, c: Collector) -> None:
        if self.team_ready is not None:
            _check_distribution(c, "team_ready", self.team_ready)
        needs_team = self.team_ready is not None or any(s.team_ready is not None for s in self.schedule)
        if self.activation and not needs_team:
            c.add("activation", "activation needs a team_ready time (the time from activation to team ready)")
        if self.team_ready is None and needs_team:
            c.add("team_ready", "is needed outside the shifts when a shift sets team_ready")
        period = self.period_days
        shifts = [s for s in self.schedule if isinstance(s.window, Window)]
        for i, s in enumerate(self.schedule):
            problem = s.window.period_problem(period) if isinstance(s.window, Window) else None
            if problem is not None:
                c.add(f"schedule[{i}].days", problem)
        if c.problems:
            return
        for a in range(len(shifts)):
            for b in range(a + 1, len(shifts)):
                if _overlap(shifts[a].window, shifts[b].window, period):
                    c.add(f"schedule[{b}]", f"overlaps schedule[{a}] ({shifts[a].window.describe()})")
        if shifts and len(shifts) == len(self.schedule) and not c.problems:
            if all(cap == 0 for _, cap, _ in self.segments()):
                c.add("schedule", f"capacity is 0 all {'week' if period == 7 else f'{period}-day period'}: "
                      "no patient could ever be served")

    def capacity_at(self, t: float) -> int | None:
        """Capacity at time ``t`` (minutes from Monday 00:00, the start of the period); ``None`` for unlimited."""
        for s in self.schedule:
            if s.window.contains(t, self.period_days):
                if s.capacity is None:
                    break
                return None if s.capacity == "unlimited" else s.capacity
        return self.capacity

    def segments(self) -> tuple[tuple[float, int | None, Distribution | None], ...]:
        """The schedule of one period as ``(start minute, capacity, team_ready)`` pieces, from Monday 00:00.

        Examples
        --------
        >>> from journeysim.model.distributions import Fixed
        >>> m = Microsystem("Lab", capacity=1, team_ready=Fixed(30),
        ...                 schedule=[Shift(Window("Mon", "08:00", "17:00"), capacity=2, team_ready=Fixed(10))])
        >>> [(t, cap) for t, cap, _ in m.segments()]
        [(0.0, 1), (480.0, 2), (1020.0, 1)]
        """
        cuts = sorted({0.0} | {b for s in self.schedule for b in s.window.boundaries(self.period_days)})
        pieces: list[tuple[float, int | None, Distribution | None]] = []
        for t in cuts:
            piece = (t, self.capacity_at(t), self.team_ready_at(t))
            if not pieces or pieces[-1][1:] != piece[1:]:
                pieces.append(piece)
        return tuple(pieces)

    @property
    def mean_capacity(self) -> float | None:
        """Capacity averaged over the schedule's period (a week unless ``period_days``); ``None`` if ever unlimited.

        Examples
        --------
        >>> rota = Microsystem("Ward", capacity=2, period_days=14,
        ...                    schedule=[Shift(Window(days=tuple(range(7)), weekly=False), capacity=4)])
        >>> rota.mean_capacity    # 4 beds in the first week, 2 in the second
        3.0
        """
        pieces = self.segments()
        caps = [cap for _, cap, _ in pieces]
        if None in caps:
            return None
        span = self.period_days * 1440.0
        starts = [t for t, _, _ in pieces]
        ends = [*starts[1:], span]
        return sum((b - t) * (cap or 0) for t, cap, b in zip(starts, caps, ends)) / span

    def team_ready_at(self, t: float) -> Distribution | None:
        """Time from activation to team ready for an activation at time ``t``."""
        for s in self.schedule:
            if s.window.contains(t, self.period_days) and s.team_ready is not None:
                return s.team_ready
        return self.team_ready

    @property
    def load_dependent(self) -> bool:
        """Whether its defect probabilities rise with the wait or the occupancy."""
        return bool(self.defect_per_wait_hour or self.defect_per_occupant) and bool(self.defects)

    @property
    def needs_team_somewhere(self) -> bool:
        """Whether some visits here wait for a team to be activated (it has a ``team_ready`` time)."""
        return self.team_ready is not None

    def needs_activation(self, class_name: str) -> bool:
        """Whether visits of ``class_name`` wait for the team to be activated and ready."""
        has_team = self.team_ready is not None
        return has_team and (self.activated_for is None or class_name in self.activated_for)

    @property
    def steps(self) -> tuple[Step, ...]:
        """The visit's steps; a single distribution is one step named ``"service"``."""
        return _as_steps(self.service)

    def steps_for(self, class_name: str) -> tuple[Step, ...]:
        """The steps of a visit by ``class_name`` (its own service if it has one)."""
        return _as_steps(self.service_by_class.get(class_name, self.service))

    @property
    def service_mean(self) -> float:
        """Mean duration of the visit's own work, in minutes (the default service)."""
        return sum(s.duration.mean for s in self.steps)

    @property
    def has_step_conditions(self) -> bool:
        """Whether some step of some class's visits here is for some patients only (its ``when``)."""
        return any(s.when is not None for service in (self.service, *self.service_by_class.values())
                   for s in _as_steps(service))

    def step_lists(self) -> list[tuple[str, tuple[Step, ...]]]:
        """``(key path, steps)`` of the default steps (``"steps"``) and each class's own
        (``"steps_by_class.NAME"``), where the service is made of steps."""
        return _step_lists(self.service, self.service_by_class)

    def step_names(self) -> set[str]:
        """Names of the steps of every class's visits here."""
        names = {s.name for s in self.steps}
        for service in self.service_by_class.values():
            names |= {s.name for s in _as_steps(service)}
        return names

    def quality_for(self, class_name: str) -> float:
        """Probability that a visit of ``class_name`` has none of this node's own defects."""
        q = 1.0
        for d in self.defects:
            q *= 1.0 - d.probability.get(class_name)
        return q


class HandoffDefects:
    """Defect probabilities of a handoff, one per kind (:data:`~journeysim.model.kinds.HANDOFF_KINDS`).

    Parameters
    ----------
    **by_kind : float, mapping or ByClass
        The probability of each kind (per class where a mapping); kinds not
        given are 0.

    Examples
    --------
    >>> HandoffDefects(information=0.43).quality_for("STEMI")
    0.5700000000000001
    >>> HandoffDefects(information=0.43).patient.get("STEMI")
    0.0
    """

    __slots__ = ("_by_kind",)

    def __init__(self, **by_kind: ProbabilityLike) -> None:
        c = Collector()
        for kind in by_kind:
            if kind not in HANDOFF_KINDS:
                c.add(kind, f"unknown defect kind; expected one of {', '.join(HANDOFF_KINDS)}")
        self._by_kind = tuple(_by_class(c, kind, by_kind.get(kind, 0.0)) for kind in HANDOFF_KINDS)
        c.raise_if_any()

    def get(self, kind: str) -> ByClass:
        """The probability table of one kind."""
        return self._by_kind[code(kind)]

    def __getattr__(self, kind: str) -> ByClass:
        """``defects.information`` is ``defects.get("information")``, for every kind."""
        if kind in HANDOFF_KINDS:
            return self.get(kind)
        raise AttributeError(f"'HandoffDefects' object has no attribute {kind!r}")

    def items(self) -> tuple[tuple[str, ByClass], ...]:
        """``(kind, probability table)`` of every kind, in the order of :data:`HANDOFF_KINDS`."""
        return tuple(zip(HANDOFF_KINDS, self._by_kind))

    def quality_for(self, class_name: str) -> float:
        """Probability that the handoff has no defect of any kind."""
        q = 1.0
        for p in self._by_kind:
            q *= 1.0 - p.get(class_name)
        return q

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HandoffDefects) and self._by_kind == other._by_kind

    def __hash__(self) -> int:
        return hash(self._by_kind)

    def __repr__(self) -> str:
        given = ", ".join(f"{kind}={p!r}" for kind, p in self.items() if not p.is_zero())
        return f"HandoffDefects({given})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_handoff_defects_of, (self.items(),))


def _link(link: Handoff | ServiceRequest, c: Collector, source: str, target: str, probability: ProbabilityLike,
          delay: Distribution, defects: object, reference: str, delay_by_class: object, cost: object,
          kinds: tuple[str, ...]) -> None:
    """Set what handoffs and service requests share: their ends, probability, delay, defects and cost."""
    check_name(c, "from", source)
    check_name(c, "to", target)
    _check_distribution(c, "delay", delay)
    for key, value in (("source", source), ("target", target), ("delay", delay), ("reference", reference)):
        _set(link, key, value)
    _set(link, "probability", _by_class(c, "probability", probability))
    _set(link, "delay_by_class", _delays(c, {} if delay_by_class is None else delay_by_class))
    _set(link, "defects", _handoff_defects(c, {} if defects is None else defects, kinds))
    _set(link, "cost", _cost(c, cost, kinds))


def _multipliers(c: Collector, value: object, names: Sequence[str]) -> tuple[DefectMultiplier, ...]:
    """Defect multipliers, each naming only defects of the element (``names``)."""
    out = multipliers_of(c, "defect_multipliers", value)
    for i, m in enumerate(out):
        for d in m.defects or ():
            if d not in names:
                c.add(f"defect_multipliers[{i}].defects", f"unknown defect {d!r}; the element's defects: "
                      f"{', '.join(names) if names else 'none'}")
    return out


def condition_of(c: Collector, path: str, value: object) -> Condition | None:
    """A condition from its text (or ``None``); a syntax error is a problem at ``path``, naming the column."""
    if value is None:
        return None
    try:
        return Condition.parse(value)
    except ConditionError as err:
        c.add(path, str(err))
        return None


def _handoff_defects_of(items: tuple[tuple[str, ByClass], ...]) -> HandoffDefects:
    """Rebuild pickled :class:`HandoffDefects` (kinds by name, so the order may change between versions)."""
    return HandoffDefects(**dict(items))


def _handoff_defects(c: Collector, value: object, kinds: tuple[str, ...]) -> HandoffDefects:
    if isinstance(value, HandoffDefects):
        return value
    if isinstance(value, Mapping):
        for key in value:
            if key not in kinds:
                c.add(f"defects.{key}", f"unknown defect kind; expected one of {', '.join(kinds)}")
        try:
            return HandoffDefects(**{k: value[k] for k in kinds if k in value})
        except ValidationError as err:
            c.absorb(err, "defects")
            return HandoffDefects()
    c.add("defects", f"must be a mapping of kind to probability, got {value!r}")
    return HandoffDefects()


@dataclass(frozen=True, slots=True, init=False)
class Handoff:
    """A handoff of a patient from one clinical microsystem to another.

    Parameters
    ----------
    source, target : str
        Names of the sending and receiving microsystems.
    probability : float or mapping
        Probability that a patient leaving ``source`` goes to ``target``
        (per class if a mapping). What remains below 1 at ``source`` leaves
        the pathway (discharge, transfer out or death).
    delay : Distribution
        Transfer time, in minutes.
    defects : HandoffDefects or mapping
        Probability of a defect of each kind: ``patient``, ``information``, ``services``.
    reference : str
        Where the numbers come from (a citation), shown in reports.
    delay_by_class : mapping of str to Distribution
        Transfer time of the classes that differ from ``delay``.
    boarding : bool or sequence of str
        Blocking after service (for every class, or for the classes listed): when
        ``target`` has no free server, the patient stays at ``source``, keeping
        its bed, until one frees; that bed is then held for the patient during the
        transfer. The time is the source visit's ``hold``.
    preactivate : mapping of str to probability
        Information sent ahead with this handoff: when the patient leaves
        ``source`` on it, each named microsystem is activated with the given
        probability (per class if a mapping), as a prehospital ECG activates the
        cath lab. Same as an :class:`Activation` at ``"handoff:SOURCE->TARGET"``.
    recovery : Recovery or mapping, optional
        The receiving microsystem catches this handoff's information defect with
        a probability, at a rework time (``{probability, rework}``).
    propagation : float
        An information defect of this handoff that is not caught multiplies the
        probability of each of the receiving microsystem's defects at the next
        visit by this factor (capped at 1). 1 means no propagation.
    cost : Cost or mapping, optional
        Cost per transfer, per minute of transfer, and per defect kind.
    when : str or Condition, optional
        A condition on the patient's state (:mod:`journeysim.model.conditions`):
        the handoff is a candidate only for patients for whom it holds when they
        leave ``source``. Among the candidates, each is taken with its
        ``probability``; what remains leaves the pathway. For every state the
        candidates' probabilities must add up to at most 1.
    defect_multipliers : sequence of DefectMultiplier or mapping
        Factors on the kinds' probabilities for the patients whose attributes
        satisfy a condition (:mod:`journeysim.model.multipliers`).

    Examples
    --------
    >>> h = Handoff("EMS", "ED", defects={"information": 0.43})
    >>> h.label
    'EMS->ED'
    >>> Handoff("CathLab", "CCU", when='treatment == "PCI" and age >= 75').when.names()
    ('age', 'treatment')
    """

    source: str
    target: str
    probability: ByClass
    delay: Distribution
    defects: HandoffDefects
    reference: str
    delay_by_class: Mapping[str, Distribution]
    boarding: ByClass
    preactivate: Mapping[str, ByClass]
    recovery: Recovery | None
    propagation: float
    cost: Cost | None
    when: Condition | None
    defect_multipliers: tuple[DefectMultiplier, ...]

    def __init__(
        self,
        source: str,
        target: str,
        probability: ProbabilityLike = 1.0,
        delay: Distribution = NO_TIME,
        defects: HandoffDefects | Mapping[str, ProbabilityLike] | None = None,
        reference: str = "",
        delay_by_class: Mapping[str, Distribution] | None = None,
        boarding: bool | Sequence[str] | ByClass = False,
        preactivate: Mapping[str, ProbabilityLike] | None = None,
        recovery: Recovery | Mapping[str, object] | None = None,
        propagation: float = 1.0,
        cost: Cost | Mapping[str, object] | None = None,
        when: str | Condition | None = None,
        defect_multipliers: Sequence[DefectMultiplier | Mapping[str, object]] = (),
    ) -> None:
        c = Collector()
        _link(self, c, source, target, probability, delay, defects, reference, delay_by_class, cost, HANDOFF_KINDS)
        _set(self, "boarding", _class_flag(c, "boarding", boarding))
        if preactivate is not None and not isinstance(preactivate, Mapping):
            c.add("preactivate", f"must be a mapping of microsystem name to probability, got {preactivate!r}")
            preactivate = None
        _set(self, "preactivate", FrozenMap(
            {str(k): _by_class(c, f"preactivate.{k}", v) for k, v in (preactivate or {}).items()}))
        _set(self, "recovery", _recovery(c, recovery))
        if not is_number(propagation) or not 0 <= propagation < math.inf:
            c.add("propagation", f"must be a finite number >= 0, got {propagation!r}")
        _set(self, "propagation", float(propagation) if is_number(propagation) else 1.0)
        _set(self, "when", condition_of(c, "when", when))
        _set(self, "defect_multipliers", _multipliers(c, defect_multipliers, HANDOFF_KINDS))
        c.raise_if_any()

    def delay_for(self, class_name: str) -> Distribution:
        """Transfer time of ``class_name``."""
        return self.delay_by_class.get(class_name, self.delay)

    @property
    def label(self) -> str:
        """``"source->target"``, the handoff's name in results."""
        return f"{self.source}->{self.target}"


@dataclass(frozen=True, slots=True, init=False)
class ServiceRequest:
    """A request from a clinical microsystem to a support microsystem.

    During a visit to ``source`` the request is made with ``probability``; it
    waits for ``target``'s capacity, takes ``target``'s service time, and the
    result travels back after ``delay``. The visit cannot end before every
    requested result is back. The support visit has its own defects, and the
    request/result handoff its own ``information`` and ``services`` defects.

    Examples
    --------
    >>> ServiceRequest("ED", "Lab", defects={"information": 0.01}).label
    'ED=>Lab'
    """

    source: str
    target: str
    probability: ByClass
    delay: Distribution
    defects: HandoffDefects
    reference: str
    delay_by_class: Mapping[str, Distribution]
    cost: Cost | None

    def __init__(
        self,
        source: str,
        target: str,
        probability: ProbabilityLike = 1.0,
        delay: Distribution = NO_TIME,
        defects: HandoffDefects | Mapping[str, ProbabilityLike] | None = None,
        reference: str = "",
        delay_by_class: Mapping[str, Distribution] | None = None,
        cost: Cost | Mapping[str, object] | None = None,
    ) -> None:
        c = Collector()
        _link(self, c, source, target, probability, delay, defects, reference, delay_by_class, cost, REQUEST_KINDS)
        c.raise_if_any()

    def delay_for(self, class_name: str) -> Distribution:
        """Time for the result of a ``class_name`` request to come back."""
        return self.delay_by_class.get(class_name, self.delay)

    @property
    def label(self) -> str:
        """``"source=>target"``, the request's name in results."""
        return f"{self.source}=>{self.target}"


@dataclass(frozen=True, slots=True, init=False)
class PatientClass:
    """A population of patients with the same pathway rules (e.g. STEMI).

    Parameters
    ----------
    name : str
        Unique name.
    entry : str or mapping of str to float
        Microsystem where journeys start, or probabilities over several entry
        microsystems (arrival channels) that sum to 1.
    rate : float or None
        Poisson arrival rate, per minute (see :func:`per_day`, :func:`per_hour`).
        ``None`` (the default) when the ``profile`` gives absolute rates
        (:meth:`ArrivalProfile.from_rates`): the class's rate is then their mean.
        Giving both is an error.
    priority : int
        Waiting patients of higher priority are served first; FIFO within a priority.
    reference : str
        Where the numbers come from (a citation), shown in reports.
    background : bool
        Background patients (e.g. other cardiac patients sharing the CCU) compete
        for capacity and are reported per class, but are left out of the
        pathway's overall journey statistics and system quality.
    profile : ArrivalProfile, optional
        How the arrival rate varies over the week.
    attributes : mapping of str to attribute, optional
        Values drawn for each journey on arrival (:mod:`journeysim.model.attributes`):
        a :class:`~journeysim.model.attributes.Categorical` (or a mapping of value to
        share), a :class:`~journeysim.model.attributes.Numeric` (or a distribution),
        or a :class:`~journeysim.model.attributes.Bernoulli`.

    Examples
    --------
    >>> stemi = PatientClass("STEMI", entry={"EMS": 0.49, "ED": 0.51}, rate=per_day(0.3), priority=1)
    >>> stemi.entries
    (('EMS', 0.49), ('ED', 0.51))
    >>> walk_in = PatientClass("walk-in", entry="ED", profile=ArrivalProfile.from_rates([1.0] * 8 + [5.0] * 16))
    >>> round(walk_in.rate * 60, 6)    # the mean of the hourly rates, per hour
    3.666667
    >>> from journeysim.model.attributes import Bernoulli
    >>> k = PatientClass("STEMI", entry="ED", rate=0.001,
    ...                  attributes={"treatment": {"PCI": 0.92, "CABG": 0.08}, "diabetic": Bernoulli(0.3)})
    >>> sorted(k.attributes)
    ['diabetic', 'treatment']
    """

    name: str
    entry: tuple[tuple[str, float], ...]
    rate: float
    priority: int
    reference: str
    background: bool
    profile: ArrivalProfile | None
    attributes: Mapping[str, Attribute]

    def __init__(self, name: str, entry: str | Mapping[str, float] | Sequence[tuple[str, float]],
                 rate: float | None = None, priority: int = 0, reference: str = "", background: bool = False,
                 profile: ArrivalProfile | None = None, attributes: Mapping[str, object] | None = None) -> None:
        c = Collector()
        check_name(c, "name", name, reserved=_CLASS_NAME)
        rate = _class_rate(c, rate, profile)
        for key, value in (("name", name), ("rate", rate), ("priority", priority), ("reference", reference),
                           ("background", background), ("profile", profile)):
            _set(self, key, value)
        _set(self, "entry", _entries(c, entry))
        if not is_number(rate) or rate < 0:
            c.add("rate", f"must be a non-negative number of arrivals per minute, got {rate!r}")
        elif rate > 0:
            # the engine draws the time to the next candidate arrival from this distribution
            peak = profile.peak if isinstance(profile, ArrivalProfile) else 1.0
            try:
                Exponential(1.0 / (rate * peak))
            except ValidationError as err:
                c.add("rate", f"{rate!r} arrivals per minute is out of range: the mean time between "
                      f"arrivals, 1/rate, {err.problems[0].message}")
        if isinstance(priority, bool) or not isinstance(priority, int):
            c.add("priority", f"must be an integer, got {priority!r}")
        if not isinstance(background, bool):
            c.add("background", f"must be true or false, got {background!r}")
        if profile is not None and not isinstance(profile, ArrivalProfile):
            c.add("profile", f"must be an ArrivalProfile, got {profile!r}")
        _set(self, "attributes", FrozenMap(check_attributes(c, "attributes", {} if attributes is None else attributes)))
        c.raise_if_any()

    @property
    def entries(self) -> tuple[tuple[str, float], ...]:
        """``(microsystem, probability)`` pairs of the arrival channels."""
        return self.entry


def _class_rate(c: Collector, rate: float | None, profile: object) -> float:
    """The class's rate: the one given, or the mean of its profile's absolute rates (not both)."""
    absolute = profile.rate if isinstance(profile, ArrivalProfile) else None
    if rate is None:
        if absolute is None:
            c.add("rate", "is required (or a profile of absolute rates, ArrivalProfile.from_rates)")
            return 0.0
        return absolute
    if absolute is not None:
        c.add("rate", "give either a rate or a profile of absolute rates (profile.rates_per_hour), not both")
    return rate


def _entries(c: Collector, entry: object) -> tuple[tuple[str, float], ...]:
    """A class's entry microsystems as ``(name, probability)`` pairs that sum to 1."""
    if isinstance(entry, str):
        check_name(c, "entry", entry)
        return ((entry, 1.0),)
    if not isinstance(entry, Mapping | tuple | list):
        c.add("entry", f"must be a microsystem name or a mapping of names to probabilities, got {entry!r}")
        return ()
    pairs = list(entry.items()) if isinstance(entry, Mapping) else list(entry)
    if not pairs:
        c.add("entry", "needs at least one entry microsystem")
    for k, v in pairs:
        c.probability(f"entry.{k}", v)
    total = sum(v for _, v in pairs if is_number(v))
    if pairs and abs(total - 1.0) > 1e-9:
        c.add("entry", f"entry probabilities must sum to 1, got {total:g}")
    return tuple((str(k), float(v)) for k, v in pairs if is_number(v))
