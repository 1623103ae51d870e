"""Routing by state: which handoffs a patient may take, given its attributes, the clock and activations.

At a microsystem whose handoffs carry conditions (``when``), the handoffs whose
condition holds when the patient leaves are the *candidates*; each candidate is
taken with its probability, and what remains leaves the pathway. A handoff
without a condition is always a candidate. For every state a patient can be in,
the candidates' probabilities must add up to at most 1.

The states are finite for what the checks need: a categorical attribute has its
values, a yes/no attribute two, a number (an attribute or ``hour``) the pieces
its thresholds cut the line into (a point for each threshold, one value between
each two, and one beyond each end), ``weekday`` seven days, and each
``activated(...)`` true or false. :func:`states` lists them, with their
probabilities where they are known:

* a categorical or yes/no attribute: its declared shares (exact);
* a numeric attribute: the probability of each piece, estimated from
  :data:`SAMPLES` draws of a fixed stream (an estimate);
* the clock (``hour``, ``weekday``): the share of the week each piece covers, as
  if patients left at any moment of the week alike (an assumption);
* ``activated(...)``: taken as false (an assumption: no team is called ahead).

:func:`routing_variants` turns them into the routing of each class: exact (one
routing table per combination of the discrete attributes, with its probability, and
the attribute values, on which defect multipliers are judged) when the conditions of
routing and of defect multipliers read only categorical and yes/no attributes; otherwise the
traffic equations use the estimates and assumptions above, and the exact quality
is not available (:func:`exact_unavailable` says why).

Examples
--------
>>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> m = Model([Microsystem("A"), Microsystem("B"), Microsystem("C")],
...           [Handoff("A", "B", when='risk == "high"'), Handoff("A", "C", probability=0.5, when='risk == "low"')],
...           classes=[PatientClass("all", entry="A", rate=0.1, attributes={"risk": {"high": 0.2, "low": 0.8}})])
>>> [(round(v.weight, 2), v.routing) for v in routing_variants(m)["all"]]
[(0.2, (1.0, 0.0)), (0.8, (0.0, 0.5))]
>>> exact_unavailable(m) is None
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .attributes import Attribute, Bernoulli, Categorical, Numeric
from .clock import DAY_NAMES
from .conditions import BUILTIN_NAMES, Condition, Holds, NameType, Slot

__all__ = ["attribute_types", "attribute_slots", "State", "states", "Variant", "routing_variants",
           "exact_unavailable", "conditions_of", "multiplier_conditions", "step_conditions", "SAMPLES", "MAX_STATES"]

#: Draws of a numeric attribute used to estimate the probability of each piece of its range.
SAMPLES = 1 << 15
#: The most states a check enumerates at one microsystem; more is a validation problem.
MAX_STATES = 100_000
_TOLERANCE = 1e-9


def attribute_types(classes: Iterable[object]) -> tuple[dict[str, NameType], list[tuple[int, str, str]]]:
    """The attributes the classes declare, model-wide, and the conflicts ``(class index, name, problem)``.

    The same name in several classes must be of the same kind; a categorical
    attribute's values are the union of the classes' values, in order of appearance.
    """
    types: dict[str, NameType] = {}
    problems: list[tuple[int, str, str]] = []
    for i, k in enumerate(classes):
        for name, a in getattr(k, "attributes", {}).items():
            kind = _kind(a)
            values = a.values if isinstance(a, Categorical) else ()
            old = types.get(name)
            if old is None:
                types[name] = NameType(kind, values)
            elif old.kind != kind:
                problems.append((i, name, f"is {kind} here but {old.kind} in another class; "
                                 "an attribute has one kind in the whole model"))
            elif kind == "category":
                types[name] = NameType(kind, old.values + tuple(v for v in values if v not in old.values))
    return types, problems


def _kind(a: Attribute) -> Literal["category", "number", "bool"]:
    if isinstance(a, Categorical):
        return "category"
    return "number" if isinstance(a, Numeric) else "bool"


def attribute_slots(types: Mapping[str, NameType]) -> dict[str, Slot]:
    """Each attribute's place in a patient's attribute vector, and its values' codes."""
    return {name: Slot(i, t.kind, {v: j for j, v in enumerate(t.values)}) for i, (name, t) in enumerate(types.items())}


@dataclass(frozen=True, slots=True)
class State:
    """A state that conditions can tell apart: what a condition is judged on, and how likely it is.

    ``journey`` is the probability of the journey's attribute values (per journey),
    ``moment`` that of the clock and activations (per routing, given the attributes).
    """

    attrs: tuple[float, ...]
    ready: Mapping[int, tuple[float, float]] | None
    t: float
    journey: float
    moment: float


def _points(thresholds: Sequence[float], low: float = -math.inf, high: float = math.inf) -> list[float]:
    """A value in every piece the thresholds cut ``[low, high)`` into: each threshold and one value between."""
    cuts = sorted({c for c in thresholds if low < c < high})
    if not cuts:
        return [0.0 if low == -math.inf else (low + min(high, low + 48.0)) / 2.0]
    bounds = [low if low > -math.inf else cuts[0] - 1.0 - abs(cuts[0]), *cuts,
              high if high < math.inf else cuts[-1] + 1.0 + abs(cuts[-1])]
    out = [(bounds[0] + bounds[1]) / 2.0]
    for c, nxt in zip(cuts, bounds[2:]):
        out.extend([c, (c + nxt) / 2.0])
    return out


def _piece_shares(points: Sequence[float], thresholds: Sequence[float], draws: np.ndarray) -> list[float]:
    """The share of ``draws`` in the piece of each point (points as :func:`_points` makes them)."""
    cuts = sorted(set(thresholds))
    xs = np.sort(draws)
    n = len(xs)
    out = []
    for x in points:
        if x in cuts:
            out.append(float(np.searchsorted(xs, x, "right") - np.searchsorted(xs, x, "left")) / n)
        else:
            below = max((c for c in cuts if c < x), default=-math.inf)
            above = min((c for c in cuts if c > x), default=math.inf)
            out.append(float(np.searchsorted(xs, above, "left") - np.searchsorted(xs, below, "right")) / n)
    return out


def _values_of(name: str, a: Attribute, slot: Slot, thresholds: Sequence[float], weighted: bool
               ) -> list[tuple[float, float]]:
    """``(coded value, probability)`` of each piece of an attribute's values that conditions can tell apart."""
    if isinstance(a, Categorical):
        return [(float(slot.codes[v]), p) for v, p in a.shares]
    if isinstance(a, Bernoulli):
        return [(1.0, a.probability), (0.0, 1.0 - a.probability)]
    points = _points(thresholds)
    if not weighted:
        return [(x, 0.0) for x in points]
    draws = np.asarray(a.distribution.sample(np.random.default_rng(_seed(name)), SAMPLES), dtype=float)
    return list(zip(points, _piece_shares(points, thresholds, draws)))


def _seed(name: str) -> int:
    return sum((i + 1) * ord(ch) for i, ch in enumerate(name)) + 20260105


def _thresholds(conditions: Sequence[Condition], name: str) -> tuple[float, ...]:
    return tuple(sorted({x for c in conditions for x in c.thresholds(name)}))


def states(klass: object, conditions: Sequence[Condition], slots: Mapping[str, Slot], nodes: Mapping[str, int], *,
           weighted: bool = True, activations: bool = False) -> list[State]:
    """The states that ``conditions`` can tell apart for a patient of ``klass``.

    Attributes the conditions do not read are left NaN. With ``activations``, each
    ``activated(...)`` is both true and false; otherwise false. Raises ``ValueError``
    when there would be more than :data:`MAX_STATES`.
    """
    declared: Mapping[str, Attribute] = getattr(klass, "attributes", {})
    names = sorted({n for c in conditions for n in c.names()})
    journey_axes: list[list[tuple[int, float, float]]] = []
    for name in names:
        if name in BUILTIN_NAMES or name not in declared:
            continue
        slot = slots[name]
        values = _values_of(name, declared[name], slot, _thresholds(conditions, name), weighted)
        journey_axes.append([(slot.index, x, p) for x, p in values])
    clock: list[tuple[float, float]] = [(0.0, 1.0)]
    if any(c.uses_clock for c in conditions):
        days = range(7) if "weekday" in names else [0]
        hours = _points(_thresholds(conditions, "hour"), 0.0, 24.0) if "hour" in names else [12.0]
        cuts = sorted({0.0, 24.0, *(c for c in _thresholds(conditions, "hour") if 0.0 < c < 24.0)})
        clock = [(d * 1440.0 + h * 60.0, (_hour_share(h, cuts) if "hour" in names else 1.0) / len(days))
                 for d in days for h in hours]
    called = sorted({nodes[n] for c in conditions for n in c.activations()})
    n_ready = 2 ** len(called) if activations and called else 1
    # the size first: 2**n activation sets are counted, not built, before the limit is checked
    size = math.prod(len(a) for a in journey_axes) * len(clock) * n_ready
    if size > MAX_STATES:
        raise ValueError(f"the conditions tell apart {size:,} states, more than the {MAX_STATES:,} that are checked; "
                         "use fewer attributes or thresholds in one microsystem's conditions")
    ready_sets: list[tuple[tuple[int, ...], float]] = [((), 1.0)]
    if activations and called:
        ready_sets = [(tuple(i for i, on in zip(called, mask) if on), 1.0)
                      for mask in itertools.product((False, True), repeat=len(called))]
    n_attrs = len(slots)
    out = []
    for combo in itertools.product(*journey_axes):
        attrs = [math.nan] * n_attrs
        weight = 1.0
        for index, x, p in combo:
            attrs[index] = x
            weight *= p
        for t, share in clock:
            for on, _ in ready_sets:
                ready = dict.fromkeys(on, (-math.inf, -math.inf)) or None
                out.append(State(tuple(attrs), ready, t, weight, share))
    return out


def _hour_share(h: float, cuts: Sequence[float]) -> float:
    """The share of the day of the piece of ``cuts`` that holds hour ``h`` (0 for a cut itself)."""
    if h in cuts:
        return 0.0
    below = max(c for c in cuts if c < h)
    above = min(c for c in cuts if c > h)
    return (above - below) / 24.0


def conditions_of(model: object, node: str) -> list[Condition]:
    """The conditions on the handoffs out of ``node``."""
    return [h.when for h in getattr(model, "handoffs", ()) if h.source == node and h.when is not None]


@dataclass(frozen=True, slots=True)
class Variant:
    """A routing of one class: ``routing[h]`` is the probability of taking handoff ``h`` (model order)
    after a visit to its source, for the share ``weight`` of the class's journeys."""

    weight: float
    routing: tuple[float, ...]
    #: the attribute vector of the variant's journeys, as far as conditions read it (NaN elsewhere)
    attrs: tuple[float, ...] = ()


def _reads(model: object) -> set[str]:
    return {n for c in (*_routing_conditions(model), *multiplier_conditions(model)) for n in c.names()}


def _routing_conditions(model: object) -> list[Condition]:
    return [h.when for h in getattr(model, "handoffs", ()) if h.when is not None]


def multiplier_conditions(model: object) -> list[Condition]:
    """The conditions of the defect multipliers of every microsystem and handoff."""
    elements = (*getattr(model, "microsystems", ()), *getattr(model, "handoffs", ()))
    return [m.when for x in elements for m in getattr(x, "defect_multipliers", ())]


def step_conditions(model: object) -> list[Condition]:
    """The conditions of the service steps of every microsystem (steps selected by attribute)."""
    out = []
    for m in getattr(model, "microsystems", ()):
        for service in (m.service, *m.service_by_class.values()):
            if isinstance(service, tuple):
                out += [s.when for s in service if s.when is not None]
    return out


def exact_unavailable(model: object, *, defects: bool = True) -> str | None:
    """Why the exact quality of ``model`` cannot be solved, or ``None`` when it can.

    It can when routing and defect multipliers depend on nothing, or only on categorical
    and yes/no attributes. With ``defects=False`` only routing counts (what the exact
    outcome shares need).
    """
    reasons = []
    handoffs = [h for h in getattr(model, "handoffs", ()) if h.when is not None]
    if any(h.when.activations() for h in handoffs):
        reasons.append("activation (activated(...))")
    if any(h.when.uses_clock for h in handoffs):
        reasons.append("the clock (hour, weekday)")
    numeric = {n for k in getattr(model, "classes", ()) for n, a in k.attributes.items() if isinstance(a, Numeric)}
    routed = sorted(numeric & {n for c in _routing_conditions(model) for n in c.names()})
    if routed:
        reasons.append(f"numeric attributes ({', '.join(routed)})")
    multiplied = sorted(numeric & {n for c in multiplier_conditions(model) for n in c.names()}) if defects else []
    if not reasons and not multiplied:
        return None
    parts = []
    if reasons:
        parts.append("routing depends on " + " and ".join(reasons))
    if multiplied:
        parts.append(f"defect multipliers depend on numeric attributes ({', '.join(multiplied)})")
    return " and ".join(parts) + ", which the exact (graph) analysis does not model"


def routing_variants(model: Any, *, steps: bool = False) -> dict[str, list[Variant]]:
    """The routing of each class, as a mixture of :class:`Variant` (see the module docstring).

    A class whose handoffs carry no condition has one variant of weight 1: the
    handoffs' probabilities. With ``steps``, the variants also tell apart the states that
    the conditions of service steps read (:func:`step_conditions`), for the traffic
    equations, where the visits and the service of a variant go together.
    """
    classes, handoffs = model.classes, model.handoffs
    slots = attribute_slots(attribute_types(classes)[0])
    nodes = {m.name: i for i, m in enumerate(model.microsystems)}
    compiled = [(h, None if h.when is None else h.when.compile(slots, nodes)) for h in handoffs]
    out: dict[str, list[Variant]] = {}
    multiplied = multiplier_conditions(model) + (step_conditions(model) if steps else [])
    for k in classes:
        base = [h.probability.get(k.name) for h in handoffs]
        taken = [h.when for h, p in zip(handoffs, base) if p > 0 and h.when is not None]
        read = taken + [c for c in multiplied if all(n in k.attributes for n in c.names())]
        if not read:
            out[k.name] = [Variant(1.0, tuple(base))]
            continue
        out[k.name] = _variants(k, read, slots, nodes, base, compiled)
    return out


def _variants(klass: object, conditions: Sequence[Condition], slots: Mapping[str, Slot], nodes: Mapping[str, int],
              base: Sequence[float], compiled: Sequence[tuple[object, Holds | None]]) -> list[Variant]:
    by_journey: dict[tuple[float, ...], tuple[float, list[float]]] = {}
    for s in states(klass, conditions, slots, nodes):
        _, routing = by_journey.setdefault(s.attrs, (s.journey, [0.0] * len(base)))
        for h, (p, (_, holds)) in enumerate(zip(base, compiled)):
            if p > 0 and (holds is None or holds(s.attrs, s.ready, s.t)):
                routing[h] += s.moment * p
    return [Variant(w, tuple(r), attrs) for attrs, (w, r) in by_journey.items() if w > 0]


def check_routing(model: object, klass: object, node: str, slots: Mapping[str, Slot], nodes: Mapping[str, int]
                  ) -> tuple[float, float, str, str | None]:
    """The least and the most the handoffs out of ``node`` add up to for ``klass`` over its states, a
    description of a state where they add up to the most, and why the states were not checked (or None)."""
    handoffs = [h for h in getattr(model, "handoffs", ()) if h.source == node]
    name = getattr(klass, "name", "")
    probs = [h.probability.get(name) for h in handoffs]
    conditions = [h.when for h, p in zip(handoffs, probs) if p > 0 and h.when is not None]
    if not conditions:
        return sum(probs), sum(probs), "every state", None
    try:
        found = states(klass, conditions, slots, nodes, weighted=False, activations=True)
    except ValueError as err:
        return 0.0, 0.0, "", str(err)
    holds = [None if h.when is None else h.when.compile(slots, nodes) for h in handoffs]
    low, high, worst = math.inf, -math.inf, None
    for s in found:
        total = sum(p for p, f in zip(probs, holds) if p > 0 and (f is None or f(s.attrs, s.ready, s.t)))
        low = min(low, total)
        if total > high:
            high, worst = total, s
    return low, high, "" if worst is None else describe(worst, slots, nodes, conditions), None


def describe(s: State, slots: Mapping[str, Slot], nodes: Mapping[str, int], conditions: Sequence[Condition]) -> str:
    """The state ``s`` as the conditions read it, e.g. ``treatment = "PCI", age = 80``."""
    read = {n for c in conditions for n in c.names()}
    parts = []
    for name, slot in slots.items():
        if name not in read:
            continue
        x = s.attrs[slot.index]
        if slot.kind == "category":
            parts.append(f"{name} = {next(v for v, j in slot.codes.items() if j == x)!r}")
        elif slot.kind == "bool":
            parts.append(f"{name} = {'true' if x == 1.0 else 'false'}")
        else:
            parts.append(f"{name} = {x:g}")
    if "weekday" in read:
        parts.append(f"weekday = {DAY_NAMES[int(s.t // 1440) % 7]!r}")
    if "hour" in read:
        parts.append(f"hour = {(s.t % 1440) / 60:g}")
    for n in sorted({a for c in conditions for a in c.activations()}):
        parts.append(f"activated({n!r}) = {'true' if s.ready and nodes[n] in s.ready else 'false'}")
    return ", ".join(parts) or "every state"
