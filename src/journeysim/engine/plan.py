"""The model compiled to integer-indexed, named records for the engine (internal).

A :class:`Plan` holds no random state and no simulation state: it is built once
per experiment and shared by every replication (and every worker). Microsystems,
handoffs, requests and classes are numbered in the model's order; each has a
record (:class:`NodePlan`, :class:`EdgePlan`, :class:`RequestPlan`,
:class:`ClassPlan`), and what differs per patient class sits in its ``by_class``
tuple (``plan.nodes[i].by_class[k]``).

Defects are checked with one uniform draw per element: the element has *some*
defect with probability ``p_any = 1 - prod(1 - p_i)``; only then are the
individual defects drawn, from their joint distribution given at least one, from
a separate stream. They are drawn in order: while none has occurred yet, defect
``i`` occurs with probability ``p_i / (1 - prod_{j >= i} (1 - p_j))``; after the
first, each occurs with its own ``p_j``. This is exact, costs one draw per
element in the common defect-free case, and keeps the main stream aligned
between scenarios that differ in one probability (common random numbers).

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> p = plan(Model([Microsystem("A", capacity=2, service=Exponential(1), defects={"x": 0.1, "y": 0.2})],
...                classes=[PatientClass("all", entry="A", rate=0.5)]))
>>> p.nodes[0].capacity
2
>>> round(p.nodes[0].by_class[0].defects.p_any, 2)   # 1 - 0.9 * 0.8
0.28
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..model.attributes import Bernoulli, Categorical, Numeric
from ..model.clock import Window
from ..model.conditions import Condition, Slot
from ..model.distributions import Distribution, Fixed
from ..model.elements import ByClass, Cost, Defect, Handoff, HandoffDefects, Microsystem, Recovery, ServiceRequest
from ..model.exits import DEFAULT_EXIT, Exit
from ..model.kinds import HANDOFF_KINDS, REQUEST_KINDS
from ..model.mesosystem import Model
from ..model.milestones import Atom
from ..model.profiles import MINUTES_PER_DAY, MINUTES_PER_WEEK, ArrivalProfile
from ..model.queues import LEFT_UNSEEN, UNSERVED, Divert

__all__ = [
    "Plan", "plan", "UNLIMITED",
    "DefectOdds", "DefectCheck", "defect_check", "defect_odds", "any_defect", "DefectChance",
    "Timed", "StepPlan", "StepsPlan", "ActivationPlan", "Hook", "StepHook",
    "Route", "ExitsPlan", "RequestChance", "Multiplier", "LoadDefects", "HandoffRisk", "CapacityPiece",
    "TeamReadyPiece",
    "NodeClassPlan", "NodePlan", "EdgeClassPlan", "EdgePlan", "RequestClassPlan", "RequestPlan",
    "Entries", "ClassPlan", "StandardPlan", "GroupPlan", "CostTables", "QueuePlan",
    "AttributeColumn", "AttributePlan", "ConditionalEdge",
]

UNLIMITED = 1 << 62


class DefectOdds(NamedTuple):
    """One defect of a check: its code, its probability, and its probability while none has occurred yet."""

    code: int
    p: float
    p_first: float


class DefectCheck(NamedTuple):
    """Independent defects of one element, drawn as the module docstring says."""

    #: probability of at least one defect
    p_any: float
    odds: tuple[DefectOdds, ...]


class DefectChance(NamedTuple):
    """A defect code and its probability (before the patient's frailty and the load are applied)."""

    code: int
    p: float


def defect_check(pairs: Iterable[tuple[int, float]]) -> DefectCheck | None:
    """The :class:`DefectCheck` of independent defects ``(code, probability)``; ``None`` if none can occur.

    Examples
    --------
    >>> defect_check([(0, 0.5), (1, 0.0)])
    DefectCheck(p_any=0.5, odds=(DefectOdds(code=0, p=0.5, p_first=1.0),))
    >>> defect_check([(0, 0.0)]) is None
    True
    """
    pairs = [(code, p) for code, p in pairs if p > 0]
    if not pairs:
        return None
    return DefectCheck(any_defect(p for _, p in pairs), defect_odds(pairs))


def defect_odds(pairs: Sequence[tuple[int, float]]) -> tuple[DefectOdds, ...]:
    """The odds of each defect ``(code, probability)`` given that at least one occurred; each probability > 0.

    Examples
    --------
    >>> [round(o.p_first, 3) for o in defect_odds([(0, 0.5), (1, 0.5)])]   # 0.5 / 0.75, then certain
    [0.667, 1.0]
    """
    return tuple(DefectOdds(code, p, min(1.0, p / any_defect(q for _, q in pairs[i:])))
                 for i, (code, p) in enumerate(pairs))


def any_defect(probabilities: Iterable[float]) -> float:
    """``1 - prod(1 - p)``, accurate when the ``p`` are tiny (a frailty near 0 makes them so)."""
    ps = list(probabilities)
    return 1.0 if max(ps) >= 1.0 else -math.expm1(math.fsum(math.log1p(-p) for p in ps))


class Timed(NamedTuple):
    """A duration and the name of its random stream."""

    stream: str
    distribution: Distribution


class StepPlan(NamedTuple):
    """One step of a visit's own work."""

    name: str
    duration: Distribution


class StepsPlan(NamedTuple):
    """The steps of a visit; each step draws from stream ``"{stream}/{step name}"``."""

    stream: str
    steps: tuple[StepPlan, ...]
    #: each step's condition on the patient's attributes (None: every patient has it); None when no step has one
    conditions: tuple[Condition | None, ...] | None = None


class ActivationPlan(NamedTuple):
    """At a milestone, the team of ``target`` is called with ``probability``, after ``lag``
    (only for patients whose attributes satisfy ``when``, where it is given)."""

    target: int
    probability: float
    stream: str
    lag: Distribution
    when: Condition | None = None


@dataclass(frozen=True, slots=True)
class Hook:
    """What happens when a journey reaches a milestone: the slots it records and the activations it makes."""

    recorded: tuple[int, ...]
    activations: tuple[ActivationPlan, ...]


class StepHook(NamedTuple):
    """A hook at the end of step ``step`` (an index into the visit's steps)."""

    step: int
    hook: Hook


class Route(NamedTuple):
    """Handoffs out of a microsystem for one class: edge codes and cumulative probabilities (the rest leave)."""

    edges: tuple[int, ...]
    cumulative: tuple[float, ...]


class ExitsPlan(NamedTuple):
    """The named exits of a visit of one class, for a patient who leaves the pathway.

    ``cumulative`` holds the cumulative probabilities *given* that the patient leaves (the
    named exits' probabilities over what the handoffs leave), drawn from stream ``stream``;
    a draw at or above the last is the default exit.
    """

    stream: str
    #: outcome codes (indices into ``Plan.outcome_names``) of the named exits
    outcomes: tuple[int, ...]
    cumulative: tuple[float, ...]
    #: each named exit's delay (the bed is held during it)
    delays: tuple[Timed, ...]


class RequestChance(NamedTuple):
    """A support request ``request`` made with ``probability`` at the start of a visit."""

    request: int
    probability: float


class Multiplier(NamedTuple):
    """A factor on the defects ``codes`` (None: all of the element's) for patients for whom ``when`` holds."""

    when: Condition
    factor: float
    codes: frozenset[int] | None


class LoadDefects(NamedTuple):
    """Defects whose probabilities change per visit (with the wait, the occupancy, frailty, propagation or
    the patient's attributes)."""

    chances: tuple[DefectChance, ...]
    per_wait_hour: float
    per_occupant: float
    multipliers: tuple[Multiplier, ...] = ()


class HandoffRisk(NamedTuple):
    """A handoff's defects drawn per patient: with frailty, recovery (a catch) or propagation."""

    chances: tuple[DefectChance, ...]
    #: probability that the receiving microsystem catches an information defect
    catch: float
    rework: Timed
    #: factor on the receiving visit's defect probabilities after an uncaught information defect
    propagation: float
    #: factors on the kinds' probabilities for patients with some attributes
    multipliers: tuple[Multiplier, ...] = ()


class CapacityPiece(NamedTuple):
    """From minute ``start`` of the week, ``capacity`` servers."""

    start: float
    capacity: int


class TeamReadyPiece(NamedTuple):
    """For activations from minute ``start`` of the week, the time until the team is ready."""

    start: float
    ready: Timed


class ConditionalEdge(NamedTuple):
    """A handoff out of a microsystem with conditions: taken with ``probability`` when ``when`` holds (or always)."""

    edge: int
    probability: float
    when: Condition | None


class AttributeColumn(NamedTuple):
    """An attribute as recorded: its name, its kind, and the labels of a category's codes."""

    name: str
    kind: str
    labels: tuple[str, ...]


class AttributePlan(NamedTuple):
    """An attribute drawn for each journey of a class, from stream ``stream``, into ``attrs[slot]``.

    A categorical one takes code ``codes[j]`` when a uniform falls below ``cumulative[j]``;
    a yes/no one is 1 when a uniform falls below ``probability``; a numeric one is a draw of ``distribution``.
    """

    slot: int
    stream: str
    kind: str
    codes: tuple[int, ...]
    cumulative: tuple[float, ...]
    probability: float
    distribution: Distribution | None


@dataclass(frozen=True, slots=True)
class NodeClassPlan:
    """A visit of one class to one microsystem."""

    steps: StepsPlan
    defects: DefectCheck | None
    #: None when everyone leaves the pathway here
    route: Route | None
    requests: tuple[RequestChance, ...]
    #: the visit waits for the team to be activated and ready
    needs_team: bool
    #: defects that change per visit, or None
    load: LoadDefects | None
    on_arrive: Hook | None
    on_depart: Hook | None
    at_steps: tuple[StepHook, ...]
    #: named exits a leaving patient may take (None: everyone who leaves takes the default exit)
    exits: ExitsPlan | None = None
    #: routing by state: every handoff out of here (``route`` is then None), or None
    conditional: tuple[ConditionalEdge, ...] | None = None


@dataclass(frozen=True, slots=True)
class QueuePlan:
    """A microsystem's queue rules (:mod:`journeysim.model.queues`), per class where they may differ."""

    #: [class] -> patients who may wait (None: no limit for the class)
    limits: tuple[int | None, ...]
    #: [class] -> where a full queue sends the class, and the travel time; None: rejected
    divert: tuple[tuple[int, Timed] | None, ...]
    #: defect codes of a rejection and of a diversion, None where it is not a defect
    rejected_defect: int | None
    diverted_defect: int | None
    #: [class] -> patience, or None (waits as long as it takes)
    patience: tuple[Timed | None, ...]
    #: where those who renege or balk go (None: out of the pathway)
    renege_to: int | None
    balk_at: int | None
    balk_probabilities: tuple[float, ...]
    #: defect code of leaving unseen (reneged or balked), or -1
    left_unseen: int

    @property
    def limited(self) -> bool:
        """Whether some class finds the queue limited."""
        return any(n is not None for n in self.limits)

    @property
    def balks(self) -> bool:
        """Whether patients may balk."""
        return self.balk_at is not None or bool(self.balk_probabilities)


@dataclass(frozen=True, slots=True)
class NodePlan:
    """A microsystem."""

    name: str
    clinical: bool
    capacity: int
    exit_delay: Timed
    #: the capacity's schedule over one period from Monday 00:00, or None when it never changes
    capacity_schedule: tuple[CapacityPiece, ...] | None
    #: the team-ready time's schedule over one period, or None when visits never wait for a team
    team_ready: tuple[TeamReadyPiece, ...] | None
    #: a caught information defect of an incoming handoff adds rework here
    rework: bool
    by_class: tuple[NodeClassPlan, ...]
    #: minutes after which the capacity and team-ready schedules repeat (a week unless ``period_days``)
    period: float = MINUTES_PER_WEEK
    #: the queue rules (limit, diversion, patience, balking), or None when it has none
    queue: QueuePlan | None = None


@dataclass(frozen=True, slots=True)
class EdgeClassPlan:
    """A handoff taken by one class."""

    delay: Timed
    #: defects over the kinds (codes index HANDOFF_KINDS)
    defects: DefectCheck | None
    #: the patient keeps the bed until one is free at the target (blocking after service)
    boarding: bool
    hook: Hook | None
    #: None, or the defects drawn per patient (frailty, recovery, propagation)
    risk: HandoffRisk | None


@dataclass(frozen=True, slots=True)
class EdgePlan:
    """A handoff."""

    label: str
    source: int
    target: int
    by_class: tuple[EdgeClassPlan, ...]


@dataclass(frozen=True, slots=True)
class RequestClassPlan:
    """A support request made by one class."""

    delay: Timed
    defects: DefectCheck | None


@dataclass(frozen=True, slots=True)
class RequestPlan:
    """A support request: ``source`` asks ``target`` and waits for the result."""

    label: str
    source: int
    target: int
    by_class: tuple[RequestClassPlan, ...]


class Entries(NamedTuple):
    """Entry microsystems of a class and their cumulative probabilities."""

    nodes: tuple[int, ...]
    cumulative: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ClassPlan:
    """A patient class."""

    name: str
    rate: float
    #: arrival profile, or None for a constant rate
    profile: ArrivalProfile | None
    #: priority rank: 0 is served first
    rank: int
    entries: Entries
    on_start: Hook | None
    #: the attributes drawn on arrival (None when the model has no attributes and no conditions)
    attributes: tuple[AttributePlan, ...] | None = None


@dataclass(frozen=True, slots=True)
class StandardPlan:
    """A standard compiled to milestone slots (internal)."""

    name: str
    #: slots whose earliest time is milestone A (B); -1 stands for the journey's start, -2 its end
    start: tuple[int, ...]
    end: tuple[int, ...]
    within: float
    #: [class] -> applies to the class
    classes: tuple[bool, ...]
    #: entry node codes it applies to, or None for all
    entries: frozenset[int] | None
    reached_only: bool
    #: judged only on journeys whose attributes satisfy it (None: on every journey)
    when: Condition | None = None


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """A grouping of standards' results: by entry node, class, clock window or attribute."""

    name: str
    by: Literal["entry", "class", "clock", "attribute"]
    #: entry node, class code or attribute code (a category's code, 1/0 for yes/no) -> label index
    #: (empty for ``clock`` and numbers)
    codes: Mapping[int, int]
    labels: tuple[str, ...]
    window: Window | None
    #: ``attribute``: the attribute's index in a patient's attribute vector, and a number's cuts
    slot: int = -1
    cuts: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class CostTables:
    """Costs by element index, for :meth:`~journeysim.engine.aggregate.ReplicationStats.add_tables`."""

    #: per node, edge, request: cost per use and per minute (nodes: minutes holding a server;
    #: handoffs and requests: minutes of their delay)
    node_visit: NDArray[np.float64]
    node_minute: NDArray[np.float64]
    edge_visit: NDArray[np.float64]
    edge_minute: NDArray[np.float64]
    request_visit: NDArray[np.float64]
    request_minute: NDArray[np.float64]
    #: [defects-table element, defect code] -> cost of that defect (standards' rows: cost of a miss)
    defect: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Plan:
    """A model as numbered records: ``nodes[i].by_class[k]`` style nesting throughout."""

    model: Model
    nodes: tuple[NodePlan, ...]
    edges: tuple[EdgePlan, ...]
    requests: tuple[RequestPlan, ...]
    classes: tuple[ClassPlan, ...]
    n_ranks: int
    #: names of defect codes: the three handoff kinds first, then microsystem defect names
    defect_names: tuple[str, ...]
    #: tracked milestones, one slot each
    milestone_atoms: tuple[Atom, ...]
    standards: tuple[StandardPlan, ...]
    groups: tuple[GroupPlan, ...]
    #: costs by element (None: the model has no costs)
    costs: CostTables | None
    #: how a journey may end, by outcome code: the default exit first (``Model.outcomes``)
    outcome_names: tuple[str, ...] = (DEFAULT_EXIT,)
    #: the attributes recorded per journey, in the order of a patient's attribute vector
    attributes: tuple[AttributeColumn, ...] = ()
    #: where each attribute sits in the vector (for compiling conditions)
    slots: Mapping[str, Slot] | None = None

    @property
    def node_names(self) -> tuple[str, ...]:
        """Names of the microsystems, by code."""
        return tuple(n.name for n in self.nodes)

    @property
    def edge_labels(self) -> tuple[str, ...]:
        """Labels of the handoffs (``"A->B"``), by code."""
        return tuple(e.label for e in self.edges)

    @property
    def request_labels(self) -> tuple[str, ...]:
        """Labels of the support requests, by code."""
        return tuple(r.label for r in self.requests)

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the patient classes, by code."""
        return tuple(k.name for k in self.classes)

    def labels(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Labels of the coded columns of each record table."""
        nodes, classes = self.node_names, self.class_names
        return {
            "journeys": {"class": classes, "entry": nodes, "exit": nodes, "outcome": self.outcome_names,
                         **{a.name: a.labels for a in self.attributes if a.kind == "category"}},
            "visits": {"class": classes, "node": nodes},
            "handoffs": {"class": classes, "handoff": self.edge_labels, "source": nodes, "target": nodes},
            "requests": {"class": classes, "request": self.request_labels, "source": nodes, "target": nodes},
            "defects": {
                "class": classes,
                "element": nodes + self.edge_labels + self.request_labels + tuple(s.name for s in self.standards),
                "element_type": ("microsystem", "handoff", "request", "standard"),
                "defect": self.defect_names,
            },
            "standards": {"standard": tuple(s.name for s in self.standards), "class": classes, "entry": nodes},
            "activations": {"node": nodes},
            "unserved": {"class": classes, "node": nodes, "ended": UNSERVED, "to": nodes},
        }


# -- the model's validated values, typed (the model normalises its inputs in __post_init__) --------
def _probability(value: object) -> ByClass:
    if not isinstance(value, ByClass):
        raise TypeError(f"{value!r} was not normalised to a ByClass by the model")
    return value


def _defects(m: Microsystem) -> tuple[Defect, ...]:
    return tuple(d for d in m.defects if isinstance(d, Defect))


def _kinds(link: Handoff | ServiceRequest) -> HandoffDefects:
    defects = link.defects
    if not isinstance(defects, HandoffDefects):
        raise TypeError(f"{link.label}: defects were not normalised by the model")
    return defects


def _recovery(h: Handoff) -> Recovery | None:
    return h.recovery if isinstance(h.recovery, Recovery) else None


def _cost(x: Microsystem | Handoff | ServiceRequest) -> Cost | None:
    return x.cost if isinstance(x.cost, Cost) else None


def _costs(model: Model, defect_names: list[str]) -> CostTables | None:
    if not model.has_costs:
        return None
    elements: tuple[Microsystem | Handoff | ServiceRequest, ...] = (*model.microsystems, *model.handoffs,
                                                                     *model.requests)

    def pair(items: Iterable[Microsystem | Handoff | ServiceRequest]) -> tuple[NDArray[np.float64],
                                                                                NDArray[np.float64]]:
        costs = [_cost(x) for x in items]
        return (np.array([0.0 if c is None else c.per_visit for c in costs]),
                np.array([0.0 if c is None else c.per_minute for c in costs]))

    defect = np.zeros((len(elements) + len(model.standards), len(defect_names)))
    for e, x in enumerate(elements):
        cost = _cost(x)
        for name, value in ({} if cost is None else cost.defects).items():
            defect[e, defect_names.index(name)] = value
    if model.standards:
        defect[len(elements):, defect_names.index("not_met")] = [s.cost for s in model.standards]
    return CostTables(*pair(model.microsystems), *pair(model.handoffs), *pair(model.requests), defect)


class _Compiler:
    """Builds a :class:`Plan`; the defect codes are numbered in the order they are first met."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.index = {m.name: i for i, m in enumerate(model.microsystems)}
        self.defect_names: list[str] = list(HANDOFF_KINDS)
        self.outcomes: tuple[str, ...] = model.outcomes
        self.hooks = _Hooks(model, self.index)
        #: whether patients carry a state (attributes, or conditions that read the clock or activations)
        self.states = bool(model.attribute_types()) or model.has_conditions or _reads_attributes(model)

    def code(self, name: str) -> int:
        if name not in self.defect_names:
            self.defect_names.append(name)
        return self.defect_names.index(name)

    def outcome(self, name: str) -> int:
        """The code of outcome ``name``: its place in ``Model.outcomes``, the one list of the ways a journey ends."""
        return self.outcomes.index(name)

    def plan(self) -> Plan:
        model = self.model
        priorities = sorted({k.priority for k in model.classes}, reverse=True)
        standards = self.hooks.standards()  # numbers the milestone slots
        if model.standards:
            self.code("not_met")
        nodes = tuple(self.node(i, m) for i, m in enumerate(model.microsystems))
        # the queue rules' defect codes come after every microsystem's own, so other models keep theirs
        nodes = tuple(n if (q := self.queue(m)) is None else replace(n, queue=q)
                      for n, m in zip(nodes, model.microsystems))
        return Plan(
            model=model,
            nodes=nodes,
            edges=tuple(self.edge(e, h) for e, h in enumerate(model.handoffs)),
            requests=tuple(self.request(r) for r in model.requests),
            classes=tuple(self.patient_class(k, cls.name, priorities) for k, cls in enumerate(model.classes)),
            n_ranks=len(priorities),
            defect_names=tuple(self.defect_names),
            milestone_atoms=tuple(self.hooks.atoms),
            standards=standards,
            groups=self.groups(),
            costs=_costs(model, self.defect_names),
            outcome_names=self.outcomes,
            attributes=tuple(AttributeColumn(name, t.kind, t.values) for name, t in model.attribute_types().items()),
            slots=model.attribute_slots() if self.states else None,
        )

    def node(self, i: int, m: Microsystem) -> NodePlan:
        model = self.model
        pieces = m.segments()
        caps = tuple(CapacityPiece(t, UNLIMITED if cap is None else cap) for t, cap, _ in pieces)
        base = UNLIMITED if m.capacity is None else m.capacity
        # shifts that cover the whole week with one capacity replace the base capacity too
        changes = len({c for _, c in caps}) > 1 or caps[0].capacity != base
        # the steps' codes first, in class order, then the load's (the same names)
        defects = tuple(
            defect_check([(self.code(d.name), d.probability.get(k.name)) for d in _defects(m)])
            for k in model.classes
        )
        # the microsystems whose defect probabilities change per visit: with the load, the
        # patient's frailty, or an information defect that propagates from the handoff in
        dynamic = (m.load_dependent or not model.frailty.is_independent or bool(m.defect_multipliers)
                   or any(h.target == m.name and h.propagation != 1.0 for h in model.handoffs))
        return NodePlan(
            name=m.name,
            clinical=m.kind == "clinical",
            capacity=base,
            exit_delay=Timed(f"exit/{m.name}", m.exit_delay),
            capacity_schedule=caps if changes else None,
            team_ready=self.team_ready(m, pieces),
            rework=any(h.target == m.name and _recovery(h) is not None for h in model.handoffs),
            by_class=tuple(self.visit(i, m, k, defects[k], dynamic) for k in range(len(model.classes))),
            period=m.period_days * MINUTES_PER_DAY,
        )

    def visit(self, i: int, m: Microsystem, k: int, defects: DefectCheck | None, dynamic: bool) -> NodeClassPlan:
        model = self.model
        name = model.classes[k].name
        out = [(e, _probability(h.probability).get(name)) for e, h in enumerate(model.handoffs) if h.source == m.name]
        out = [(e, p) for e, p in out if p > 0]
        steps = m.steps_for(name)
        leaving = 1.0 - sum(p for _, p in out)
        conditional = None
        if any(model.handoffs[e].when is not None for e, _ in out):
            conditional = tuple(ConditionalEdge(e, p, model.handoffs[e].when) for e, p in out)
            out = []
        return NodeClassPlan(
            steps=StepsPlan(f"service/{m.name}" + (f"[{name}]" if name in m.service_by_class else ""),
                            tuple(StepPlan(s.name, s.duration) for s in steps),
                            tuple(s.when for s in steps) if any(s.when is not None for s in steps) else None),
            defects=defects,
            route=Route(tuple(e for e, _ in out), tuple(accumulate(p for _, p in out))) if out else None,
            requests=tuple(
                RequestChance(r, p) for r, req in enumerate(model.requests)
                if req.source == m.name and (p := _probability(req.probability).get(name)) > 0
            ),
            needs_team=m.needs_activation(name),
            load=LoadDefects(tuple(DefectChance(self.code(d.name), d.probability.get(name)) for d in _defects(m)),
                             m.defect_per_wait_hour, m.defect_per_occupant,
                             tuple(Multiplier(x.when, x.factor, None if x.defects is None else
                                              frozenset(self.code(d) for d in x.defects))
                                   for x in m.defect_multipliers)) if dynamic else None,
            on_arrive=self.hooks.hook(("arrive", m.name), k),
            on_depart=self.hooks.hook(("depart", m.name), k),
            at_steps=tuple(StepHook(j, h) for j, s in enumerate(steps)
                           if (h := self.hooks.hook(("step", m.name, s.name), k)) is not None),
            exits=self.exits(m, name, leaving),
            conditional=conditional,
        )

    def exits(self, m: Microsystem, class_name: str, leaving: float) -> ExitsPlan | None:
        """The named exits out of ``m`` for a class of which ``leaving`` leave the pathway there."""
        named = [x for x in self.model.exits if x.source == m.name and x.probability.get(class_name) > 0]
        if not named or leaving <= 0.0:
            return None
        given = accumulate(x.probability.get(class_name) / leaving for x in named)
        return ExitsPlan(f"outcome/{m.name}", tuple(self.outcome(x.name) for x in named),
                         tuple(min(1.0, c) for c in given), tuple(_exit_delay(x, class_name) for x in named))

    def queue(self, m: Microsystem) -> QueuePlan | None:
        """The queue rules of ``m``, or None when it has none."""
        if not (m.has_queue_limit or m.has_patience or m.balks):
            return None
        classes = self.model.class_names

        def divert(k: str) -> tuple[int, Timed] | None:
            rule = m.when_full_for(k)
            if not isinstance(rule, Divert):
                return None
            own = f"[{k}]" if k in m.when_full_by_class else ""
            return self.index[rule.to], Timed(f"divert/{m.name}{own}", rule.delay)

        def patience(k: str) -> Timed | None:
            d = m.patience_for(k)
            own = f"[{k}]" if k in m.patience_by_class else ""
            return None if d is None else Timed(f"patience/{m.name}{own}", d)

        return QueuePlan(
            limits=tuple(m.queue_limit_for(k) for k in classes),
            divert=tuple(divert(k) for k in classes),
            rejected_defect=self.code("rejected") if "rejected" in m.full_is_defect else None,
            diverted_defect=self.code("diverted") if "diverted" in m.full_is_defect else None,
            patience=tuple(patience(k) for k in classes),
            renege_to=None if m.renege_to is None else self.index[m.renege_to],
            balk_at=m.balk_at,
            balk_probabilities=m.balk_probabilities,
            left_unseen=self.code(LEFT_UNSEEN) if m.has_patience or m.balks else -1,
        )

    @staticmethod
    def team_ready(m: Microsystem, pieces: tuple[tuple[float, int | None, Distribution | None], ...]
                   ) -> tuple[TeamReadyPiece, ...] | None:
        if m.team_ready is None:
            return None
        dists: list[Distribution] = []
        ready = []
        for t, _, d in pieces:
            if d is None:  # a team-ready time outside the shifts makes every piece have one
                raise TypeError(f"{m.name}: a piece of the week has no team-ready time")
            if d not in dists:
                dists.append(d)
            n = dists.index(d)
            ready.append(TeamReadyPiece(t, Timed(f"team_ready/{m.name}" + (f"/{n}" if n else ""), d)))
        return tuple(ready)

    def edge(self, e: int, h: Handoff) -> EdgePlan:
        model = self.model
        frail = not model.frailty.is_independent
        kinds = _kinds(h)
        recovery = _recovery(h)
        by_class = []
        for k, cls in enumerate(model.classes):
            special = frail or recovery is not None or h.propagation != 1.0 or bool(h.defect_multipliers)
            by_class.append(EdgeClassPlan(
                delay=_delay(h, cls.name),
                defects=defect_check([(HANDOFF_KINDS.index(kind), kinds.get(kind).get(cls.name))
                                      for kind in HANDOFF_KINDS]),
                boarding=_probability(h.boarding).get(cls.name) > 0,
                hook=self.hooks.hook(("handoff", h.label), k),
                risk=HandoffRisk(
                    tuple(DefectChance(b, kinds.get(kind).get(cls.name)) for b, kind in enumerate(HANDOFF_KINDS)),
                    0.0 if recovery is None else _probability(recovery.probability).get(cls.name),
                    Timed(f"rework/{h.label}", Fixed(0.0) if recovery is None else recovery.rework),
                    h.propagation,
                    tuple(Multiplier(x.when, x.factor, None if x.defects is None else
                                     frozenset(HANDOFF_KINDS.index(d) for d in x.defects))
                          for x in h.defect_multipliers),
                ) if special else None,
            ))
        return EdgePlan(h.label, self.index[h.source], self.index[h.target], tuple(by_class))

    def request(self, r: ServiceRequest) -> RequestPlan:
        kinds = _kinds(r)
        return RequestPlan(r.label, self.index[r.source], self.index[r.target], tuple(
            RequestClassPlan(_delay(r, cls.name),
                             defect_check([(HANDOFF_KINDS.index(kind), kinds.get(kind).get(cls.name))
                                           for kind in REQUEST_KINDS]))
            for cls in self.model.classes
        ))

    def patient_class(self, k: int, name: str, priorities: list[int]) -> ClassPlan:
        cls = self.model.classes[k]
        return ClassPlan(
            name=name,
            rate=cls.rate,
            profile=None if cls.profile is None or cls.profile.is_flat else cls.profile,
            rank=priorities.index(cls.priority),
            entries=Entries(tuple(self.index[n] for n, _ in cls.entries), tuple(accumulate(p for _, p in cls.entries))),
            on_start=self.hooks.hook(("start",), k),
            attributes=self.attributes(k) if self.states else None,
        )

    def attributes(self, k: int) -> tuple[AttributePlan, ...]:
        cls = self.model.classes[k]
        slots = self.model.attribute_slots()
        out = []
        for name, a in cls.attributes.items():
            slot = slots[name]
            stream = f"attribute/{cls.name}/{name}"
            if isinstance(a, Categorical):
                out.append(AttributePlan(slot.index, stream, "category", tuple(slot.codes[v] for v in a.values),
                                         tuple(accumulate(p for _, p in a.shares)), 0.0, None))
            elif isinstance(a, Bernoulli):
                out.append(AttributePlan(slot.index, stream, "bool", (), (), a.probability, None))
            elif isinstance(a, Numeric):
                out.append(AttributePlan(slot.index, stream, "number", (), (), 0.0, a.distribution))
        return tuple(out)

    def groups(self) -> tuple[GroupPlan, ...]:
        out = []
        for g in self.model.groups:
            if g.by == "clock":
                out.append(GroupPlan(g.name, g.by, {}, g.labels, g.window))
            elif g.by == "attribute":
                slot = self.model.attribute_slots()[g.attribute]
                codes = {**slot.codes, "true": 1, "false": 0}
                table = {codes[v]: li for li, (_, values) in enumerate(g.values.items()) for v in values}
                out.append(GroupPlan(g.name, g.by, table, g.labels, None, slot.index, tuple(g.cuts)))
            else:
                codes = self.index if g.by == "entry" else {k.name: i for i, k in enumerate(self.model.classes)}
                table = {codes[n]: li for li, (_, names) in enumerate(g.values.items()) for n in names}
                out.append(GroupPlan(g.name, g.by, table, g.labels, None))
        return tuple(out)


def _reads_attributes(model: Model) -> bool:
    """Whether some standard, activation, defect multiplier or step has a condition (patients then carry a
    state, possibly empty, to judge it on)."""
    return (any(st.when is not None for st in model.standards)
            or any(a.when is not None for m in model.microsystems for a in m.activation)
            or model.has_defect_multipliers or model.has_step_conditions)


def _exit_delay(x: Exit, class_name: str) -> Timed:
    own = f"[{class_name}]" if class_name in x.delay_by_class else ""
    return Timed(f"exit/{x.source}:{x.name}{own}", x.delay_for(class_name))


def _delay(link: Handoff | ServiceRequest, class_name: str) -> Timed:
    own = f"[{class_name}]" if class_name in link.delay_by_class else ""
    return Timed(f"delay/{link.label}{own}", link.delay_for(class_name))


class _Hooks:
    """Milestone slots (every atom a standard refers to) and the activations made at each milestone."""

    def __init__(self, model: Model, index: dict[str, int]) -> None:
        self.model = model
        self.atoms: list[Atom] = []
        n_classes = len(model.classes)
        # activations, per atom and class
        self.triggers: dict[Atom, list[list[ActivationPlan]]] = {}
        nodes = model.microsystems

        def add(atom: Atom, target: int, prob: object, stream: str, lag: Distribution,
                when: Condition | None = None) -> None:
            per_class = self.triggers.setdefault(atom, [[] for _ in range(n_classes)])
            for k, cls in enumerate(model.classes):
                p = _probability(prob).get(cls.name)
                if p > 0 and nodes[target].needs_activation(cls.name):
                    per_class[k].append(ActivationPlan(target, p, stream, lag, when))

        for t, m in enumerate(nodes):
            for j, a in enumerate(m.activation):
                for atom in model.milestone_atoms(a.at):
                    add(atom, t, a.probability, f"activation/{m.name}/{j}", a.lag, a.when)
        for h in model.handoffs:
            for name, prob in h.preactivate.items():
                add(("handoff", h.label), index[name], prob, f"preactivate/{h.label}/{name}", Fixed(0.0))
        self.index = index

    def slots(self, texts: Iterable[str]) -> tuple[int, ...]:
        out = []
        for text in texts:
            for atom in self.model.milestone_atoms(text):
                if atom == ("start",):
                    out.append(-1)
                elif atom == ("end",):
                    out.append(-2)
                else:
                    if atom not in self.atoms:
                        self.atoms.append(atom)
                    out.append(self.atoms.index(atom))
        return tuple(sorted(set(out)))

    def standards(self) -> tuple[StandardPlan, ...]:
        model = self.model
        pathway = set(model.pathway_classes)
        return tuple(
            StandardPlan(
                name=st.name, start=self.slots(st.start), end=self.slots(st.end), within=st.within,
                classes=tuple((k.name in st.classes) if st.classes is not None else (k.name in pathway)
                              for k in model.classes),
                entries=None if st.entries is None else frozenset(self.index[e] for e in st.entries),
                reached_only=st.reached_only,
                when=st.when if isinstance(st.when, Condition) else None,
            )
            for st in model.standards
        )

    def hook(self, atom: Atom, k: int) -> Hook | None:
        recorded = (self.atoms.index(atom),) if atom in self.atoms else ()
        acts = tuple(self.triggers[atom][k]) if atom in self.triggers else ()
        return Hook(recorded, acts) if recorded or acts else None


def plan(model: Model) -> Plan:
    """Compile ``model`` for the engine."""
    return _Compiler(model).plan()
