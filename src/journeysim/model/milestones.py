"""Milestones of a journey, timeliness standards, and the groups they are reported by.

A **milestone** is a moment of a journey, written as text:

===========================  ==================================================
``start``                    the journey's first moment (arrival at its entry)
``fmc``                      first medical contact: ``start`` unless the model
                             names its own ``fmc`` milestone
``end``                      the journey leaves the pathway
``arrive:NODE``              arrival at microsystem ``NODE``
``depart:NODE``              departure from ``NODE`` (after any hold)
``NODE.STEP``                end of step ``STEP`` of a visit to ``NODE``
``handoff:SOURCE->TARGET``   departure on that handoff
===========================  ==================================================

Each is its **first** occurrence in the journey. A model can name milestones
(``door = ["arrive:ED", "arrive:CathLab"]``): a list means the earliest of them.

A :class:`Standard` says "from milestone A to milestone B within T minutes" for
some classes and entry channels. A journey it applies to (right class and
channel, and A reached) *meets* it when B is reached within T of A; with
``reached_only`` only journeys that reached B are judged, otherwise a journey
that never reaches B misses it. A miss is a defect of the journey, attributed
to the standard.

A standard may carry a condition on the patient's attributes (``when``,
:mod:`journeysim.model.conditions`): it then judges only the journeys for which
the condition holds (e.g. door-to-balloon on primary-PCI patients only).

A :class:`Group` splits a standard's results: by arrival channel (entry
microsystem), by class, by the clock at milestone A (e.g. on-hours), or by a
patient attribute (one subgroup per value, or per range of a number).

Examples
--------
>>> parse_milestone("CathLab.device")
('step', 'CathLab', 'device')
>>> parse_milestone("arrive:ED")
('arrive', 'ED')
>>> s = Standard("door_to_ecg", start="arrive:ED", end="ED.ecg", within=10, classes=["STEMI"])
>>> s.within
10.0
>>> Group.by_entry("channel", {"ems": "EMS", "self": "ED"}).labels
('ems', 'self')
>>> Standard("door_to_balloon", start="door", end="CathLab.device", within=90, when='treatment == "PCI"').when.text
'treatment == "PCI"'
>>> Group.by_attribute("age_band", "age", cuts=[65, 75]).labels
('<65', '65-75', '>=75')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

from ._frozen import FrozenMap
from ._problems import Collector, check_name, is_number
from .clock import Window
from .conditions import Condition, ConditionError

__all__ = ["parse_milestone", "Standard", "Group", "Atom", "BUILTIN_MILESTONES", "cut_labels"]

#: A parsed milestone: ``("start",)``, ``("arrive", node)``, ``("step", node, step)``, ...
Atom = tuple[str, ...]

#: Milestones every journey has.
BUILTIN_MILESTONES: tuple[str, ...] = ("start", "fmc", "end")


def parse_milestone(text: str) -> Atom:
    """The parts of a milestone expression (no check that the names exist).

    Raises
    ------
    ValueError
        When the text has none of the milestone forms.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a milestone must be a non-empty string, got {text!r}")
    t = text.strip()
    if t in ("start", "end"):
        return (t,)
    for prefix in ("arrive", "depart", "handoff"):
        if t.startswith(prefix + ":"):
            rest = t[len(prefix) + 1:].strip()
            if not rest or (prefix == "handoff" and "->" not in rest):
                break
            return (prefix, rest)
    else:
        if "." in t and ":" not in t:
            node, _, step = t.rpartition(".")
            if node and step:
                return ("step", node, step)
        if ":" not in t and "." not in t:
            return ("named", t)
    raise ValueError(
        f"{text!r} is not a milestone; use start, end, fmc, arrive:NODE, depart:NODE, NODE.STEP, "
        "handoff:SOURCE->TARGET or a named milestone"
    )


def _names(c: Collector, path: str, value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and value and all(isinstance(x, str) for x in value):
        return tuple(value)
    c.add(path, f"must be a list of names, got {value!r}")
    return None


def _milestone_list(c: Collector, path: str, value: object) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, Sequence) or not items or not all(isinstance(x, str) for x in items):
        c.add(path, f"must be a milestone or a list of milestones (the earliest counts), got {value!r}")
        return ()
    out = []
    for x in items:
        try:
            parse_milestone(x)
            out.append(x.strip())
        except ValueError as err:
            c.add(path, str(err))
    return tuple(out)


_UNITS = {"minutes": 1.0, "hours": 60.0, "days": 1440.0}
# results name a standard's share met "standards.NAME.met"
_STANDARD_NAME = {" ": "results name it 'standards.NAME.met'", ".": "results name it 'standards.NAME.met'",
                  ":": "results name it 'standards.NAME.met'"}


@dataclass(frozen=True, slots=True)
class Standard:
    """A timeliness standard: from milestone ``start`` to ``end`` within ``within`` minutes.

    Parameters
    ----------
    name : str
        Its name in results (``door_to_balloon``).
    start, end : str or sequence of str
        Milestones; a list means the earliest of them.
    within : float
        The target, in minutes (or in ``unit``); met when ``end - start <= within``.
    classes : sequence of str or None
        Classes it applies to (``None``: every pathway class).
    entries : sequence of str or None
        Entry microsystems (arrival channels) it applies to (``None``: all).
    reached_only : bool
        Judge only journeys that reached ``end``; otherwise never reaching it is a miss.
    unit : {"minutes", "hours", "days"}
        Unit of ``within``.
    reference : str
        Where the standard comes from.
    cost : float
        Cost of each miss (e.g. a readmission penalty), in the model's currency.
    when : str or Condition, optional
        A condition on the patient's attributes (``'treatment == "PCI"'``): the
        standard judges only the journeys for which it holds. It may not read the
        clock or ``activated(...)`` (a journey's attributes are known from its start).

    Examples
    --------
    >>> Standard("follow_up_7d", start="depart:Telemetry", end="arrive:Clinic", within=7, unit="days").within
    10080.0
    """

    name: str
    start: str | Sequence[str]
    end: str | Sequence[str]
    within: float
    classes: Sequence[str] | None = None
    entries: Sequence[str] | None = None
    reached_only: bool = False
    unit: Literal["minutes", "hours", "days"] = "minutes"
    reference: str = ""
    cost: float = 0.0
    when: str | Condition | None = None

    def __post_init__(self) -> None:
        c = Collector()
        check_name(c, "name", self.name, forbid=_STANDARD_NAME)
        object.__setattr__(self, "when", _condition(c, "when", self.when))
        object.__setattr__(self, "start", _milestone_list(c, "from", self.start))
        object.__setattr__(self, "end", _milestone_list(c, "to", self.end))
        if self.unit not in _UNITS:
            c.add("unit", f"must be one of {', '.join(_UNITS)}, got {self.unit!r}")
        if not is_number(self.within) or self.within < 0:
            c.add("within", f"must be a non-negative number, got {self.within!r}")
        elif self.unit in _UNITS:
            within = c.converted("within", self.within, float(self.within) * _UNITS[self.unit], self.unit)
            if within is not None:
                object.__setattr__(self, "within", within)
                object.__setattr__(self, "unit", "minutes")
        object.__setattr__(self, "classes", _names(c, "classes", self.classes))
        object.__setattr__(self, "entries", _names(c, "entries", self.entries))
        if not isinstance(self.reached_only, bool):
            c.add("reached_only", f"must be true or false, got {self.reached_only!r}")
        if not is_number(self.cost) or not 0 <= self.cost < math.inf:
            c.add("cost", f"must be a finite number >= 0, got {self.cost!r}")
        else:
            object.__setattr__(self, "cost", float(self.cost))
        c.raise_if_any()


@dataclass(frozen=True, slots=True)
class Group:
    """A way to split standards' results into subgroups.

    Make one with :meth:`by_entry`, :meth:`by_class`, :meth:`by_clock` or :meth:`by_attribute`.

    Parameters
    ----------
    name : str
        The group's name in results (``channel``).
    by : {"entry", "class", "clock", "attribute"}
        What decides a journey's value.
    values : mapping of str to sequence of str
        For ``entry`` and ``class``: label -> entry microsystems or classes.
        Journeys matching no label are left out of the group. For ``attribute``,
        filled in by the model: label -> the attribute's values (a categorical
        attribute: one label per value; yes/no: ``yes`` and ``no``).
    window : Window or None
        For ``clock``: journeys whose standard starts inside the window get
        ``inside``, the others ``outside``.
    attribute : str
        For ``attribute``: the patient attribute whose value decides the subgroup.
        Journeys of a class without the attribute are in none.
    cuts : sequence of float
        For a numeric attribute: the cuts of its range, increasing; ``[65, 75]``
        makes the subgroups ``<65``, ``65-75`` (65 included, 75 not) and ``>=75``.
        A numeric attribute needs them; other kinds take none.

    Examples
    --------
    >>> import journeysim as js
    >>> channel = js.Group.by_entry("channel", {"ambulance": ["EMS"], "walk-in": ["ED"]})
    >>> channel.by, channel.values["ambulance"]
    ('entry', ('EMS',))
    """

    name: str
    by: Literal["entry", "class", "clock", "attribute"]
    values: Mapping[str, Sequence[str]] = field(default_factory=dict)
    window: Window | None = None
    inside: str = "on"
    outside: str = "off"
    attribute: str = ""
    cuts: Sequence[float] = ()

    def __post_init__(self) -> None:
        c = Collector()
        check_name(c, "name", self.name)
        if self.by not in ("entry", "class", "clock", "attribute"):
            c.add("by", f"must be 'entry', 'class', 'clock' or 'attribute', got {self.by!r}")
        if self.by == "attribute":
            self._check_attribute(c)
        elif self.by == "clock":
            if not isinstance(self.window, Window):
                c.add("clock", "a clock group needs a time window (days and hours)")
            if self.inside == self.outside:
                c.add("inside", "the inside and outside labels must differ")
            check_name(c, "inside", self.inside)
            check_name(c, "outside", self.outside)
        elif isinstance(self.values, Mapping) and self.values:
            clean = {}
            for label, names in self.values.items():
                check_name(c, f"{self.by}.{label}", label)
                got = _names(c, f"{self.by}.{label}", names)
                clean[str(label)] = got or ()
            seen: dict[str, str] = {}
            for label, names in clean.items():
                for n in names:
                    if n in seen:
                        c.add(f"{self.by}.{label}", f"{n!r} is already in {seen[n]!r}")
                    seen[n] = label
            object.__setattr__(self, "values", FrozenMap(clean))
        else:
            c.add(self.by, "needs a table of label -> names")
        c.raise_if_any()

    @classmethod
    def by_entry(cls, name: str, values: Mapping[str, str | Sequence[str]]) -> Group:
        """Group journeys by entry microsystem: ``{"ems": "EMS", "self": "ED"}``."""
        return cls(name, "entry", {k: (v,) if isinstance(v, str) else tuple(v) for k, v in values.items()})

    @classmethod
    def by_class(cls, name: str, values: Mapping[str, str | Sequence[str]]) -> Group:
        """Group journeys by class: ``{"stemi": "STEMI"}``."""
        return cls(name, "class", {k: (v,) if isinstance(v, str) else tuple(v) for k, v in values.items()})

    @classmethod
    def by_clock(cls, name: str, window: Window, inside: str = "on", outside: str = "off") -> Group:
        """Group by whether the standard's start falls in ``window`` (e.g. on-hours)."""
        return cls(name, "clock", window=window, inside=inside, outside=outside)

    @classmethod
    def by_attribute(cls, name: str, attribute: str, cuts: Sequence[float] = ()) -> Group:
        """Group journeys by a patient attribute (``cuts``: the ranges of a numeric one)."""
        return cls(name, "attribute", attribute=attribute, cuts=tuple(cuts))

    def _check_attribute(self, c: Collector) -> None:
        if not isinstance(self.attribute, str) or not self.attribute:
            c.add("attribute", f"must name a patient attribute, got {self.attribute!r}")
        cuts = self.cuts
        if not isinstance(cuts, Sequence) or isinstance(cuts, str) or not all(is_number(x) for x in cuts):
            c.add("cuts", f"must be a list of numbers, got {cuts!r}")
            return
        if any(b <= a for a, b in pairwise(cuts)):
            c.add("cuts", f"must increase, got {list(cuts)!r}")
        object.__setattr__(self, "cuts", tuple(float(x) for x in cuts))
        if isinstance(self.values, Mapping):
            object.__setattr__(self, "values", FrozenMap({str(k): tuple(str(x) for x in v)
                                                          for k, v in self.values.items()}))

    @property
    def labels(self) -> tuple[str, ...]:
        """The group's values, in order."""
        if self.by == "clock":
            return (self.inside, self.outside)
        if self.by == "attribute" and self.cuts:
            return cut_labels(self.cuts)
        return tuple(self.values)


def cut_labels(cuts: Sequence[float]) -> tuple[str, ...]:
    """The labels of the ranges that ``cuts`` make: ``<a``, ``a-b`` (``a`` included), ..., ``>=z``.

    Examples
    --------
    >>> cut_labels([75.0])
    ('<75', '>=75')
    """
    shown = [f"{x:g}" for x in cuts]
    return (f"<{shown[0]}", *(f"{a}-{b}" for a, b in pairwise(shown)), f">={shown[-1]}")


def _condition(c: Collector, path: str, value: object) -> Condition | None:
    """A condition from its text (or ``None``); a syntax error is a problem at ``path``, naming the column."""
    if value is None:
        return None
    try:
        return Condition.parse(value)
    except ConditionError as err:
        c.add(path, str(err))
        return None
