"""The validated mesosystem model: microsystems wired by handoffs and requests.

:class:`Model` is frozen and checked as a whole when it is made: every name a
handoff, request or class refers to must exist; routing probabilities out of a
microsystem may not exceed 1 for any class; every microsystem must be wired to
the pathway (an entry, handoff or request leads to it, see
:meth:`Model.idle_microsystems` for those that no patient will visit); and every
patient must be able to leave the pathway. All
problems are reported together, each named by its key path.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, Handoff, PatientClass, per_hour
>>> m = Model(
...     microsystems=[Microsystem("A", capacity=1, service=Exponential(5)),
...                   Microsystem("B", capacity=2, service=Exponential(8))],
...     handoffs=[Handoff("A", "B")],
...     classes=[PatientClass("walk-in", entry="A", rate=per_hour(6))],
... )
>>> sorted(m.graph.nodes)
['A', 'B']
>>> m.graph.edges["A", "B"]["probability"]
1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ._frozen import FrozenMap
from ._problems import Collector, check_name
from .conditions import Condition, NameType, Slot
from .elements import (
    ByClass,
    Handoff,
    Microsystem,
    PatientClass,
    ServiceRequest,
)
from .exits import Exit, outcome_names
from .frailty import Frailty
from .kinds import HANDOFF_KINDS, REQUEST_KINDS
from .milestones import BUILTIN_MILESTONES, Atom, Group, Standard, parse_milestone
from .multipliers import DefectMultiplier
from .queues import Divert
from .routing import attribute_slots, attribute_types, check_routing, describe, states

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Model"]

_TOLERANCE = 1e-9
# a named milestone with '.' or ':' would be read as 'NODE.STEP' or 'arrive:NODE'
_MILESTONE_NAME = {".": "it would be read as a milestone 'NODE.STEP'",
                   ":": "it would be read as 'arrive:NODE' or the like"}


def _describe(kind: str, index: int, label: str) -> str:
    return f"{kind}[{index}] ({label})"


@dataclass(frozen=True, slots=True)
class Model:
    """A validated mesosystem: what the engine simulates and the analytics solve.

    Parameters
    ----------
    microsystems : sequence of Microsystem
    handoffs : sequence of Handoff
    requests : sequence of ServiceRequest
    classes : sequence of PatientClass
    name : str
        A label for results and reports.
    milestones : mapping of str to str or sequence of str
        Named milestones (see :mod:`journeysim.model.milestones`), e.g.
        ``{"door": ["arrive:ED", "arrive:CathLab"]}``; ``fmc`` redefines first
        medical contact.
    standards : sequence of Standard
        Timeliness standards; a miss is a defect of the journey.
    groups : sequence of Group
        Subgroups that standards are reported by.
    frailty : Frailty
        A patient-level risk factor that makes defects cluster in the same
        journeys (see :mod:`journeysim.model.frailty`); the default leaves them independent.
    currency : str
        The unit of the elements' costs, e.g. ``"USD 2023"``.
    exits : sequence of Exit
        Named ways to leave the pathway (outcomes such as death), each with its
        probability per class and its delay (see :mod:`journeysim.model.exits`).

    Raises
    ------
    ValidationError
        Listing every problem found, by key path.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("ED", capacity=4, service=js.Exponential(60), defect=0.02),
    ...                   js.Microsystem("Ward", capacity=20, service=js.Exponential(1440))],
    ...     handoffs=[js.Handoff("ED", "Ward", probability=0.3)],
    ...     classes=[js.PatientClass("emergency", entry="ED", rate=js.per_hour(2))],
    ... )
    >>> [m.name for m in model.microsystems]
    ['ED', 'Ward']
    >>> js.Model(microsystems=[js.Microsystem("ED", capacity=1, service=js.Exponential(5))],
    ...          classes=[js.PatientClass("walk-in", entry="Triage", rate=js.per_hour(1))])
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: classes[0] (walk-in).entry: ...
    """

    microsystems: tuple[Microsystem, ...]
    handoffs: tuple[Handoff, ...] = ()
    requests: tuple[ServiceRequest, ...] = ()
    classes: tuple[PatientClass, ...] = ()
    name: str = "model"
    milestones: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    standards: tuple[Standard, ...] = ()
    groups: tuple[Group, ...] = ()
    frailty: Frailty = field(default_factory=Frailty)
    currency: str = ""
    exits: tuple[Exit, ...] = ()
    _nodes: Mapping[str, Microsystem] = field(init=False, repr=False, compare=False)
    _graph: nx.DiGraph | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("microsystems", "handoffs", "requests", "classes", "standards", "groups", "exits"):
            value = getattr(self, name)
            object.__setattr__(self, name, tuple(value) if isinstance(value, Iterable) else value)
        if isinstance(self.milestones, Mapping):
            object.__setattr__(self, "milestones", FrozenMap(
                {str(k): (v,) if isinstance(v, str) else tuple(v) for k, v in self.milestones.items()}
            ))
        c = Collector()
        self._check_types(c)
        c.raise_if_any()
        object.__setattr__(self, "groups", tuple(self._resolved(g) for g in self.groups))
        object.__setattr__(self, "_nodes", FrozenMap({m.name: m for m in self.microsystems}))
        self.check(c, flow=True)
        c.raise_if_any()
        # the networkx graph is built when first asked for: validation and the engine need none, and
        # importing networkx is a tenth of a second of every command's start-up
        object.__setattr__(self, "_graph", None)

    @property
    def has_costs(self) -> bool:
        """True if any microsystem, handoff or request has a cost, or any standard a cost per miss."""
        elements: tuple[Microsystem | Handoff | ServiceRequest, ...] = (*self.microsystems, *self.handoffs,
                                                                        *self.requests)
        return any(x.cost is not None for x in elements) or any(s.cost for s in self.standards)

    @property
    def has_queue_rules(self) -> bool:
        """True if some microsystem has a queue limit, patience or balking (:mod:`journeysim.model.queues`):
        journeys then end or turn on the congestion, which the exact (graph) analysis cannot see."""
        return any(m.has_queue_limit or m.has_patience or m.balks for m in self.microsystems)

    @property
    def analytic_excludes(self) -> tuple[str, ...]:
        """What the exact (graph) quality leaves out: ``"standards"`` (missed standards depend on time) and
        ``"queue_rules"`` (rejections, diversions, balking and reneging depend on the queues)."""
        return (("standards",) if self.standards else ()) + (("queue_rules",) if self.has_queue_rules else ())

    def check(self, c: Collector, *, flow: bool = True) -> None:
        """Add the whole-model problems to ``c``.

        With ``flow=False`` only names and references are checked, not routing
        sums, reachability or the possibility to leave: the scenario loader uses
        this when some elements could not be built, since their absence would
        make the flow checks report problems that are not really there.
        """
        self._check_names(c)
        self._check_references(c, self._nodes)
        self._check_timeliness(c)
        if not c.problems:
            self._check_diversion_loops(c)
        self._check_conditions(c)
        if flow and not c.problems:
            self._check_routing(c)
        if flow and not c.problems:
            self._check_flow(c)

    @classmethod
    def partial(
        cls,
        microsystems: Sequence[Microsystem],
        handoffs: Sequence[Handoff],
        requests: Sequence[ServiceRequest],
        classes: Sequence[PatientClass],
        milestones: Mapping[str, Sequence[str]] | None = None,
        standards: Sequence[Standard] = (),
        groups: Sequence[Group] = (),
        exits: Sequence[Exit] = (),
    ) -> Model:
        """An unchecked model of the elements that could be built, for :meth:`check` (internal)."""
        self = object.__new__(cls)
        for name, value in (
            ("microsystems", tuple(microsystems)),
            ("handoffs", tuple(handoffs)),
            ("requests", tuple(requests)),
            ("classes", tuple(classes)),
            ("milestones", FrozenMap({k: (v,) if isinstance(v, str) else tuple(v)
                                      for k, v in (milestones or {}).items()})),
            ("standards", tuple(standards)),
            ("groups", tuple(groups)),
            ("exits", tuple(exits)),
            ("frailty", Frailty()),
            ("currency", ""),
            ("name", "partial"),
            ("_nodes", FrozenMap({m.name: m for m in microsystems})),
        ):
            object.__setattr__(self, name, value)
        return self

    # -- checks -------------------------------------------------------------
    def _check_types(self, c: Collector) -> None:
        expected = {
            "microsystems": Microsystem,
            "handoffs": Handoff,
            "requests": ServiceRequest,
            "classes": PatientClass,
            "standards": Standard,
            "groups": Group,
            "exits": Exit,
        }
        if not isinstance(self.milestones, Mapping):
            c.add("milestones", "must be a mapping of name to milestone(s)")
        if not isinstance(self.frailty, Frailty):
            c.add("frailty", f"must be a Frailty, got {type(self.frailty).__name__}")
        if not isinstance(self.currency, str):
            c.add("currency", f"must be a string, got {self.currency!r}")
        for name, cls in expected.items():
            value = getattr(self, name)
            if not isinstance(value, tuple):
                c.add(name, f"must be a sequence of {cls.__name__}")
                continue
            for i, item in enumerate(value):
                if not isinstance(item, cls):
                    c.add(f"{name}[{i}]", f"must be a {cls.__name__}, got {type(item).__name__}")
        if isinstance(self.microsystems, tuple) and not self.microsystems:
            c.add("microsystems", "a model needs at least one microsystem")
        if isinstance(self.classes, tuple) and not self.classes:
            c.add("classes", "a model needs at least one patient class")
        elif isinstance(self.classes, tuple) and all(getattr(k, "background", False) for k in self.classes):
            c.add("classes", "every class is a background class; at least one must be a pathway class")

    def _check_names(self, c: Collector) -> None:
        def dupes(kind: str, labels: Sequence[str]) -> None:
            seen: dict[str, int] = {}
            for i, label in enumerate(labels):
                if label in seen:
                    c.add(_describe(kind, i, label), f"duplicates {kind}[{seen[label]}]")
                else:
                    seen[label] = i

        dupes("microsystems", [m.name for m in self.microsystems])
        dupes("classes", [k.name for k in self.classes])
        dupes("handoffs", [h.label.replace("->", " -> ") for h in self.handoffs])
        dupes("requests", [r.label.replace("=>", " => ") for r in self.requests])
        dupes("standards", [s.name for s in self.standards])
        dupes("groups", [g.name for g in self.groups])
        dupes("exits", [_exit_label(x) for x in self.exits])
        # defect records name every element (microsystem, handoff, request, standard) in one column
        elements = {m.name: "microsystem" for m in self.microsystems}
        elements.update({link.label: kind for kind, links in (("handoff", self.handoffs), ("request", self.requests))
                         for link in links})
        for i, st in enumerate(self.standards):
            if st.name in elements:
                c.add(f"{_describe('standards', i, st.name)}.name",
                      f"{st.name!r} is also the name of a {elements[st.name]}; defect records name each element once")

    def _check_class_table(self, c: Collector, path: str, table: ByClass) -> None:
        known = {k.name for k in self.classes}
        for name in table.class_names():
            if name not in known:
                c.add(f"{path}.{name}", f"unknown patient class {name!r}{_suggest(name, known)}")

    def _check_references(self, c: Collector, nodes: Mapping[str, Microsystem]) -> None:
        def node(path: str, name: str, kind: str) -> None:
            m = nodes.get(name)
            if m is None:
                c.add(path, f"unknown microsystem {name!r}{_suggest(name, nodes)}")
            elif m.kind != kind:
                c.add(path, f"{name!r} is a {m.kind} microsystem; expected a {kind} one")

        for i, h in enumerate(self.handoffs):
            path = _describe("handoffs", i, f"{h.source} -> {h.target}")
            node(f"{path}.from", h.source, "clinical")
            node(f"{path}.to", h.target, "clinical")
            self._check_class_table(c, f"{path}.probability", h.probability)
            for kind in HANDOFF_KINDS:
                self._check_class_table(c, f"{path}.defects.{kind}", h.defects.get(kind))
        for i, r in enumerate(self.requests):
            path = _describe("requests", i, f"{r.source} => {r.target}")
            node(f"{path}.from", r.source, "clinical")
            node(f"{path}.to", r.target, "support")
            self._check_class_table(c, f"{path}.probability", r.probability)
            for kind in REQUEST_KINDS:
                self._check_class_table(c, f"{path}.defects.{kind}", r.defects.get(kind))
        for i, k in enumerate(self.classes):
            for name, _ in k.entries:
                node(f"{_describe('classes', i, k.name)}.entry", name, "clinical")
        known = set(self.class_names)
        for i, x in enumerate(self.exits):
            path = _describe("exits", i, _exit_label(x))
            node(f"{path}.from", x.source, "clinical")
            self._check_class_table(c, f"{path}.probability", x.probability)
            for name in x.delay_by_class:
                if name not in known:
                    c.add(f"{path}.delay_by_class.{name}", f"unknown patient class {name!r}{_suggest(name, known)}")
        for i, m in enumerate(self.microsystems):
            for d in m.defects:
                self._check_class_table(c, f"{_describe('microsystems', i, m.name)}.defects.{d.name}", d.probability)
            for key in ("service_by_class", "queue_limit_by_class", "when_full_by_class", "patience_by_class"):
                for name in getattr(m, key):
                    if name not in known:
                        c.add(f"{_describe('microsystems', i, m.name)}.{key}.{name}",
                              f"unknown patient class {name!r}{_suggest(name, known)}")
            self._check_queue_targets(c, i, m, node)
        groups: tuple[tuple[str, Sequence[Handoff | ServiceRequest], str], ...] = (
            ("handoffs", self.handoffs, "->"), ("requests", self.requests, "=>"))
        for kind, links, arrow in groups:
            for i, link in enumerate(links):
                for name in link.delay_by_class:
                    if name not in known:
                        c.add(f"{_describe(kind, i, f'{link.source} {arrow} {link.target}')}.delay_by_class.{name}",
                              f"unknown patient class {name!r}{_suggest(name, known)}")

    def _check_queue_targets(self, c: Collector, i: int, m: Microsystem, node: Callable[[str, str, str], None]) -> None:
        """Where a full queue diverts to and where those who renege go: other clinical microsystems."""
        path = _describe("microsystems", i, m.name)
        rules = [("when_full", m.when_full), *((f"when_full_by_class.{k}", r) for k, r in m.when_full_by_class.items())]
        for key, rule in rules:
            if isinstance(rule, Divert):
                if rule.to == m.name:
                    c.add(f"{path}.{key}.divert", "a microsystem cannot divert to itself")
                else:
                    node(f"{path}.{key}.divert", rule.to, "clinical")
        if m.renege_to is not None:
            if m.renege_to == m.name:
                c.add(f"{path}.renege_to", "those who leave the queue cannot rejoin it")
            else:
                node(f"{path}.renege_to", m.renege_to, "clinical")

    def _check_diversion_loops(self, c: Collector) -> None:
        """A loop of diversions with no travel time (or of balking to ``renege_to``, which takes none, or of
        reneging there with a patience that is always 0) could send a patient round it forever at one instant."""
        instant: dict[str, set[str]] = {}
        for m in self.microsystems:
            instant[m.name] = {d.to for d in m.diversions if d.delay.mean == 0}
            no_patience = any((d := m.patience_for(k.name)) is not None and d.mean == 0 for k in self.classes)
            if (m.balks or no_patience) and m.renege_to is not None:
                instant[m.name].add(m.renege_to)
        for i, m in enumerate(self.microsystems):
            seen, stack = set(), list(instant[m.name])
            while stack:
                n = stack.pop()
                if n == m.name:
                    c.add(f"{_describe('microsystems', i, m.name)}.when_full",
                          "diversions (or balking or reneging with no patience to renege_to) from here lead back "
                          "here with no delay: when all are full a patient would go round forever; give a "
                          "diversion a delay")
                    break
                if n not in seen:
                    seen.add(n)
                    stack.extend(instant.get(n, ()))

    def _detours(self) -> list[tuple[str, str]]:
        """``(from, to)`` of every diversion and renege_to: ways to a microsystem that are not handoffs."""
        out = [(m.name, d.to) for m in self.microsystems for d in m.diversions]
        out += [(m.name, m.renege_to) for m in self.microsystems if m.renege_to is not None]
        return out

    def _check_timeliness(self, c: Collector) -> None:
        """Schedules, activation, boarding, milestones, standards and groups."""
        known = set(self.class_names)
        nodes = self._nodes
        for i, m in enumerate(self.microsystems):
            path = _describe("microsystems", i, m.name)
            for k in m.activated_for or ():
                if k not in known:
                    c.add(f"{path}.activated_for", f"unknown patient class {k!r}{_suggest(k, known)}")
            for j, a in enumerate(m.activation):
                self._check_milestone(c, f"{path}.activation[{j}].at", a.at, trigger=True)
                self._check_class_table(c, f"{path}.activation[{j}].probability", a.probability)
            if m.kind == "support" and m.team_ready is not None:
                c.add(f"{path}.team_ready", "support microsystems take requests, not activations")
        for i, h in enumerate(self.handoffs):
            path = _describe("handoffs", i, f"{h.source} -> {h.target}")
            self._check_class_table(c, f"{path}.boarding", h.boarding)
            for name, prob in h.preactivate.items():
                target = nodes.get(name)
                if target is None:
                    c.add(f"{path}.preactivate.{name}", f"unknown microsystem {name!r}{_suggest(name, nodes)}")
                elif target.team_ready is None:
                    c.add(f"{path}.preactivate.{name}", f"{name!r} has no team_ready time, so nothing to pre-activate")
                self._check_class_table(c, f"{path}.preactivate.{name}", prob)
        for name, items in self.milestones.items():
            check_name(c, f"milestones.{name}", name, forbid=_MILESTONE_NAME)
            if name in ("start", "end"):
                c.add(f"milestones.{name}", f"{name!r} is built in and cannot be redefined")
            for x in items:
                try:
                    atom = parse_milestone(x)
                except ValueError as err:
                    c.add(f"milestones.{name}", str(err))
                    continue
                if atom[0] == "named":
                    c.add(f"milestones.{name}", f"{x!r}: a named milestone is made of milestones such as "
                          "'arrive:ED', not of other names")
                else:
                    self._check_milestone(c, f"milestones.{name}", x)
        entries = {n for k in self.classes for n, _ in k.entries}
        for i, st in enumerate(self.standards):
            path = _describe("standards", i, st.name)
            for key, items in (("from", st.start), ("to", st.end)):
                for x in items:
                    self._check_milestone(c, f"{path}.{key}", x)
            for k in st.classes or ():
                if k not in known:
                    c.add(f"{path}.classes", f"unknown patient class {k!r}{_suggest(k, known)}")
            for e in st.entries or ():
                if e not in entries:
                    c.add(f"{path}.entries", f"{e!r} is not an entry microsystem of any class{_suggest(e, entries)}")
        for i, g in enumerate(self.groups):
            path = _describe("groups", i, g.name)
            if g.by == "attribute":
                continue  # see _check_attribute_uses
            pool = entries if g.by == "entry" else known
            for label, names in g.values.items():
                for n in names:
                    if g.by != "clock" and n not in pool:
                        what = "entry microsystem" if g.by == "entry" else "patient class"
                        c.add(f"{path}.{g.by}.{label}", f"unknown {what} {n!r}{_suggest(n, pool)}")

    def _check_conditions(self, c: Collector) -> None:
        """Attributes of one kind model-wide; each ``when`` against the names and microsystems it reads."""
        types, conflicts = attribute_types(self.classes)
        for i, name, problem in conflicts:
            c.add(f"{_describe('classes', i, self.classes[i].name)}.attributes.{name}", problem)
        nodes = self.node_names
        for i, h in enumerate(self.handoffs):
            if h.when is None:
                continue
            path = f"{_describe('handoffs', i, f'{h.source} -> {h.target}')}.when"
            for problem in h.when.check(types, nodes):
                c.add(path, problem)
            for name in h.when.activations():
                if name in self._nodes and not self._nodes[name].needs_team_somewhere:
                    c.add(path, f"activated({name!r}): {name!r} has no team_ready time, so it is never activated")
            for k in self.classes:
                missing = [n for n in h.when.names() if n in types and n not in k.attributes]
                if h.probability.get(k.name) > 0 and missing:
                    c.add(path, f"class {k.name!r} takes this handoff but has no attribute "
                          f"{', '.join(map(repr, missing))}; declare it, or give the class probability 0")
        self._check_attribute_uses(c, types)
        conditional = {h.source for h in self.handoffs if h.when is not None}
        for i, x in enumerate(self.exits):
            if x.source in conditional:
                c.add(f"{_describe('exits', i, _exit_label(x))}.from",
                      f"{x.source!r} routes by state (its handoffs have 'when' conditions), where named exits are "
                      "not supported yet: give the exit its own microsystem after a conditional handoff")

    def _check_attribute_uses(self, c: Collector, types: Mapping[str, NameType]) -> None:
        """Standards' ``when`` and groups by attribute: against the attributes the classes declare."""
        pathway = self.pathway_classes
        for i, st in enumerate(self.standards):
            if isinstance(st.when, Condition):
                classes = pathway if st.classes is None else tuple(st.classes)
                self._check_attribute_condition(c, f"{_describe('standards', i, st.name)}.when", st.when, types,
                                                classes, "the standard applies to it")
        for i, m in enumerate(self.microsystems):
            for j, a in enumerate(m.activation):
                if a.when is not None:
                    classes = tuple(k.name for k in self.classes if a.probability.get(k.name) > 0
                                    and m.needs_activation(k.name))
                    self._check_attribute_condition(c, f"{_describe('microsystems', i, m.name)}.activation[{j}].when",
                                                    a.when, types, classes, "the activation is made for it")
        self._check_multipliers(c, types)
        self._check_step_conditions(c, types)
        for i, g in enumerate(self.groups):
            if g.by != "attribute" or not g.attribute:
                continue
            path = _describe("groups", i, g.name)
            t = types.get(g.attribute)
            if t is None:
                c.add(f"{path}.attribute", f"unknown attribute {g.attribute!r}{_suggest(g.attribute, types)}"
                      + (f"; known: {', '.join(sorted(types))}" if types else "; no class declares attributes"))
            elif t.kind == "number" and not g.cuts:
                c.add(f"{path}.cuts", f"{g.attribute!r} is a number: give cuts = [...] to split its range "
                      "(e.g. cuts = [65, 75] for <65, 65-75 and >=75)")
            elif t.kind != "number" and g.cuts:
                c.add(f"{path}.cuts", f"{g.attribute!r} is not a number; its subgroups are its values, without cuts")
            elif t.kind == "category":
                for label, values in g.values.items():
                    for v in values:
                        if v not in t.values:
                            c.add(f"{path}.values.{label}", f"{v!r} is not a value of {g.attribute!r}"
                                  f"{_suggest(v, t.values)}")

    def _check_step_conditions(self, c: Collector, types: Mapping[str, NameType]) -> None:
        """Steps' ``when``: attribute conditions, read by every class that can visit with those steps.

        A state in which no step holds is allowed: the visit then has no work of its own.
        """
        for i, m in enumerate(self.microsystems):
            if m.kind != "clinical" or not m.has_step_conditions:
                continue  # a support microsystem's conditional steps are refused by the microsystem itself
            visitors = self._visitors(m.name)
            for path, steps in m.step_lists():
                own = path.removeprefix("steps_by_class.") if path != "steps" else None
                classes = [k for k in visitors if k == own or (own is None and k not in m.service_by_class)]
                for j, st in enumerate(steps):
                    if st.when is not None:
                        self._check_attribute_condition(c, f"{_describe('microsystems', i, m.name)}.{path}[{j}].when",
                                                        st.when, types, classes, "it can visit with this step")

    def _visitors(self, node: str) -> tuple[str, ...]:
        """The classes (of any rate) whose routes of positive probability can lead to ``node``."""
        detours = self._detours()
        return tuple(k.name for k in self.classes
                     if node in _closure(_successors(self._class_edges(k.name) + detours),
                                         [n for n, p in k.entries if p > 0]))

    @property
    def has_step_conditions(self) -> bool:
        """True if some microsystem's step has a ``when`` condition (steps selected by attribute)."""
        return any(m.has_step_conditions for m in self.microsystems)

    def _check_multipliers(self, c: Collector, types: Mapping[str, NameType]) -> None:
        """Defect multipliers: attribute conditions, and no probability over 1 for any declared values."""
        elements: list[tuple[str, Microsystem | Handoff, dict[str, ByClass]]] = [
            (_describe("microsystems", i, m.name), m, {d.name: d.probability for d in m.defects})
            for i, m in enumerate(self.microsystems)]
        elements += [(_describe("handoffs", i, f"{h.source} -> {h.target}"), h, dict(h.defects.items()))
                     for i, h in enumerate(self.handoffs)]
        for path, x, defects in elements:
            if not x.defect_multipliers:
                continue
            for j, mult in enumerate(x.defect_multipliers):
                classes = tuple(k.name for k in self.classes
                                if any(mult.applies_to(d) and p.get(k.name) > 0 for d, p in defects.items()))
                self._check_attribute_condition(c, f"{path}.defect_multipliers[{j}].when", mult.when, types, classes,
                                                "it has the defects this multiplies")
            if not c.problems:
                self._check_multiplied(c, path, x.defect_multipliers, defects, types)

    def _check_multiplied(self, c: Collector, path: str, mults: Sequence[DefectMultiplier],
                          defects: Mapping[str, ByClass], types: Mapping[str, NameType]) -> None:
        """A factor may not take a defect's probability above 1 for any values the classes can draw."""
        slots = attribute_slots(types)
        nodes = {m.name: i for i, m in enumerate(self.microsystems)}
        compiled = [m.when.compile(slots, nodes) for m in mults]
        for k in self.classes:
            try:
                found = states(k, [m.when for m in mults], slots, nodes, weighted=False)
            except ValueError as err:
                c.add(f"{path}.defect_multipliers", f"class {k.name!r}: {err}")
                return
            for d, p in defects.items():
                base = p.get(k.name)
                if base <= 0:
                    continue
                for s in found:
                    factor = math.prod(m.factor for m, f in zip(mults, compiled)
                                       if m.applies_to(d) and f(s.attrs, None, 0.0))
                    if base * factor > 1.0 + _TOLERANCE:
                        c.add(f"{path}.defect_multipliers",
                              f"the factors take the probability of {d!r} to {base:g} x {factor:g} = "
                              f"{base * factor:g} > 1 for class {k.name!r} when "
                              f"{describe(s, slots, nodes, [m.when for m in mults])}")
                        break

    @property
    def has_defect_multipliers(self) -> bool:
        """True if some microsystem or handoff has defect multipliers (:mod:`journeysim.model.multipliers`)."""
        return any(m.defect_multipliers for m in self.microsystems) or any(h.defect_multipliers
                                                                            for h in self.handoffs)

    def _check_attribute_condition(self, c: Collector, path: str, when: Condition, types: Mapping[str, NameType],
                                   classes: Sequence[str], why: str) -> None:
        """A condition judged on the journey's attributes alone: no clock, no activation; every class in
        ``classes`` (those it is judged for, ``why``) must declare the attributes it reads."""
        for problem in when.check(types, self.node_names):
            c.add(path, problem)
        if when.activations():
            c.add(path, "activated(...) cannot be used here: only the patient's attributes (drawn on arrival) "
                  "can be, e.g. 'treatment == \"PCI\"'")
        if when.uses_clock:
            c.add(path, "hour and weekday cannot be used here: only the patient's attributes (drawn on arrival) "
                  "can be")
        by_name = {k.name: k for k in self.classes}
        for name in classes:
            k = by_name.get(name)
            missing = [] if k is None else [n for n in when.names() if n in types and n not in k.attributes]
            if missing:
                c.add(path, f"class {name!r} has no attribute {', '.join(map(repr, missing))} ({why}); "
                      "declare it, or leave the class out")

    def _resolved(self, g: Group) -> Group:
        """A group by a categorical or yes/no attribute, with its subgroups filled in (one per value)."""
        if g.by != "attribute" or g.values or g.cuts:
            return g
        t = attribute_types(self.classes)[0].get(g.attribute)
        if t is None or t.kind == "number":
            return g  # reported by _check_attribute_uses
        values = {v: (v,) for v in t.values} if t.kind == "category" else {"yes": ("true",), "no": ("false",)}
        return replace(g, values=values)

    def attribute_types(self) -> dict[str, NameType]:
        """The attributes the classes declare, by name, with their kind and (categorical) values.

        Examples
        --------
        >>> from journeysim.model.elements import Microsystem, PatientClass
        >>> m = Model([Microsystem("A")], classes=[PatientClass("k", entry="A", rate=0.1,
        ...           attributes={"risk": {"low": 0.7, "high": 0.3}})])
        >>> m.attribute_types()["risk"].values
        ('low', 'high')
        """
        return attribute_types(self.classes)[0]

    def attribute_slots(self) -> dict[str, Slot]:
        """Each attribute's index in a patient's attribute vector (model order) and its values' codes."""
        return attribute_slots(self.attribute_types())

    @property
    def has_conditions(self) -> bool:
        """True if some handoff carries a ``when`` condition."""
        return any(h.when is not None for h in self.handoffs)

    def _check_milestone(self, c: Collector, path: str, text: str, *, trigger: bool = False) -> None:
        try:
            atom = parse_milestone(text)
        except ValueError as err:
            c.add(path, str(err))
            return
        if atom[0] == "named":
            name = atom[1]
            if name not in self.milestones and name not in BUILTIN_MILESTONES:
                names = set(self.milestones) | set(BUILTIN_MILESTONES)
                c.add(path, f"unknown milestone {name!r}{_suggest(name, names)}")
            return
        if trigger and atom[0] == "end":
            c.add(path, "a journey's end cannot activate a microsystem")
        nodes = self._nodes
        clinical = [n for n, m in nodes.items() if m.kind == "clinical"]
        if atom[0] in ("arrive", "depart", "step"):
            node = atom[1]
            if node not in nodes or nodes[node].kind != "clinical":
                c.add(path, f"{text!r}: unknown clinical microsystem {node!r}{_suggest(node, clinical)}")
            elif atom[0] == "step" and atom[2] not in nodes[node].step_names():
                steps = sorted(nodes[node].step_names())
                c.add(path, f"{text!r}: {node!r} has no step {atom[2]!r}{_suggest(atom[2], steps)} "
                      f"(its steps: {', '.join(steps)})")
        elif atom[0] == "handoff":
            labels = [h.label for h in self.handoffs]
            if atom[1] not in labels:
                c.add(path, f"{text!r}: unknown handoff {atom[1]!r}{_suggest(atom[1], labels)}")

    def milestone_atoms(self, text: str) -> tuple[Atom, ...]:
        """The milestones that ``text`` stands for (several: the earliest counts).

        Examples
        --------
        >>> from journeysim.model.elements import Microsystem, PatientClass
        >>> m = Model([Microsystem("ED")], classes=[PatientClass("all", entry="ED", rate=0.1)],
        ...           milestones={"door": "arrive:ED"})
        >>> m.milestone_atoms("door"), m.milestone_atoms("fmc")
        ((('arrive', 'ED'),), (('start',),))
        """
        atom = parse_milestone(text)
        if atom[0] != "named":
            return (atom,)
        if atom[1] in self.milestones:
            return tuple(parse_milestone(x) for x in self.milestones[atom[1]])
        if atom[1] == "fmc":
            return (("start",),)
        raise KeyError(f"unknown milestone {atom[1]!r}")

    def _check_routing(self, c: Collector) -> None:
        conditional = {h.source for h in self.handoffs if h.when is not None}
        slots = self.attribute_slots() if conditional else {}
        index = {m.name: j for j, m in enumerate(self.microsystems)}
        for k in self.classes:
            for node, total in self._outflow(k.name).items():
                i = index[node]
                if node in conditional:
                    _, total, state, why = check_routing(self, k, node, slots, index)
                    if why is not None:
                        c.add(_describe("microsystems", i, node), f"class {k.name!r}: {why}")
                    elif total > 1.0 + _TOLERANCE:
                        c.add(_describe("microsystems", i, node),
                              f"the probabilities of the handoffs out of {node!r} whose conditions hold add up to "
                              f"{total:g} > 1 for class {k.name!r} when {state}")
                elif total > 1.0 + _TOLERANCE:
                    c.add(
                        _describe("microsystems", i, node),
                        f"handoff probabilities out of {node!r} add up to {total:g} > 1 for class {k.name!r}",
                    )
        if self.exits:
            self._check_exit_routing(c)

    def _check_exit_routing(self, c: Collector) -> None:
        """Handoffs and named exits out of a microsystem may not exceed 1 for any class."""
        for k in self.classes:
            handoffs = self._outflow(k.name)
            exits: dict[str, float] = {}
            for x in self.exits:
                exits[x.source] = exits.get(x.source, 0.0) + x.probability.get(k.name)
            for node, named in exits.items():
                total = handoffs.get(node, 0.0) + named
                # handoffs alone over 1 are reported above, once
                if named > 0 and total > 1.0 + _TOLERANCE and handoffs.get(node, 0.0) <= 1.0 + _TOLERANCE:
                    i = next(j for j, x in enumerate(self.exits) if x.source == node)
                    c.add(
                        f"{_describe('exits', i, _exit_label(self.exits[i]))}.probability",
                        f"handoffs ({handoffs.get(node, 0.0):g}) and named exits ({named:g}) out of {node!r} "
                        f"add up to {total:g} > 1 for class {k.name!r}",
                    )

    def _check_flow(self, c: Collector) -> None:
        # one multi-source search each way per class keeps this linear in the graph size
        row = {m.name: i for i, m in enumerate(self.microsystems)}
        for k in self.classes:  # classes with rate 0 too: their exact quality must still be solvable
            edges = self._class_edges(k.name)
            reach = _closure(_successors(edges), [n for n, p in k.entries if p > 0])
            outflow = self._least_outflow(k)
            leavers = [n for n in reach if outflow.get(n, 0.0) < 1.0 - _TOLERANCE]
            can_leave = _closure(_successors((b, a) for a, b in edges), leavers)
            for name in sorted(reach - can_leave, key=row.__getitem__):
                c.add(
                    _describe("microsystems", row[name], name),
                    f"patients of class {k.name!r} who reach {name!r} can never leave the pathway "
                    "(every route from it loops back with probability 1)",
                )
        wired = self._reached(positive=False)
        for i, m in enumerate(self.microsystems):
            if m.name not in wired:
                c.add(_describe("microsystems", i, m.name),
                      "no patient can reach this microsystem (no entry, handoff or request leads to it)")

    def _reached(self, *, positive: bool) -> set[str]:
        """Microsystems that some journey can visit.

        With ``positive`` only routes of positive probability taken by classes of
        positive rate count; otherwise every entry, handoff and request does, as
        wired, whatever its probability.
        """
        classes = [k for k in self.classes if k.rate > 0 or not positive]
        # a full queue's diversion and renege_to lead somewhere too (whether they are taken depends on the load)
        detours = list(self._detours())
        if positive:  # a class follows only its own routes
            reached: set[str] = set()
            for k in classes:
                own = _successors(self._class_edges(k.name) + detours)
                reached |= _closure(own, [n for n, p in k.entries if p > 0])
        else:
            wired = [(h.source, h.target) for h in self.handoffs]
            reached = _closure(_successors(wired + detours), [n for k in classes for n, _ in k.entries])
        for r in self.requests:
            if r.source in reached and (not positive or any(r.probability.get(k.name) > 0 for k in classes)):
                reached.add(r.target)
        return reached

    def idle_microsystems(self) -> tuple[str, ...]:
        """Microsystems that no patient will visit, in model order.

        Each is wired to the pathway, but every route to it has probability 0 or
        is taken only by classes with arrival rate 0 (e.g. in a scenario variant
        that closes a route). The model is valid; its results there are empty.

        Examples
        --------
        >>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
        >>> m = Model([Microsystem("A"), Microsystem("B")], [Handoff("A", "B", probability=0.0)],
        ...           classes=[PatientClass("all", entry="A", rate=0.1)])
        >>> m.idle_microsystems()
        ('B',)
        """
        busy = self._reached(positive=True)
        return tuple(m.name for m in self.microsystems if m.name not in busy)

    # -- queries ------------------------------------------------------------
    def _outflow(self, class_name: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for h in self.handoffs:
            out[h.source] = out.get(h.source, 0.0) + h.probability.get(class_name)
        return out

    def _least_outflow(self, k: PatientClass) -> dict[str, float]:
        """Like :meth:`_outflow`, but at microsystems with conditions the least total over the states."""
        out = self._outflow(k.name)
        conditional = {h.source for h in self.handoffs if h.when is not None}
        if conditional:
            slots = self.attribute_slots()
            index = {m.name: j for j, m in enumerate(self.microsystems)}
            for node in conditional & set(out):
                out[node] = check_routing(self, k, node, slots, index)[0]
        return out

    def class_graph(self, class_name: str) -> nx.DiGraph[str]:
        """Clinical microsystems and the handoffs that ``class_name`` takes with positive probability."""
        import networkx as nx

        g: nx.DiGraph[str] = nx.DiGraph()
        g.add_nodes_from(m.name for m in self.microsystems if m.kind == "clinical")
        g.add_edges_from(self._class_edges(class_name))
        return g

    def _class_edges(self, class_name: str) -> list[tuple[str, str]]:
        """The handoffs ``class_name`` takes with positive probability, as (source, target)."""
        return [(h.source, h.target) for h in self.handoffs if h.probability.get(class_name) > 0]

    def _build_graph(self) -> nx.DiGraph[str]:
        import networkx as nx

        g: nx.DiGraph[str] = nx.DiGraph(name=self.name)
        for m in self.microsystems:
            g.add_node(m.name, kind=m.kind, capacity=m.capacity, microsystem=m)
        for h in self.handoffs:
            g.add_edge(
                h.source, h.target, kind="handoff", probability=h.probability.to_plain(), handoff=h
            )
        for r in self.requests:
            g.add_edge(
                r.source, r.target, kind="request", probability=r.probability.to_plain(), request=r
            )
        return g

    @property
    def graph(self) -> nx.DiGraph:
        """The mesosystem as a read-only networkx DiGraph.

        Nodes carry ``kind``, ``capacity`` and the ``microsystem``; edges carry
        ``kind`` (``"handoff"`` or ``"request"``), ``probability`` and the element.
        Built on first use.
        """
        if self._graph is None:
            import networkx as nx

            object.__setattr__(self, "_graph", nx.freeze(self._build_graph()))
        assert self._graph is not None
        return self._graph

    def microsystem(self, name: str) -> Microsystem:
        """The microsystem called ``name``."""
        return self._nodes[name]

    @property
    def outcomes(self) -> tuple[str, ...]:
        """How a journey may end: the default exit, then the named exits (see :mod:`journeysim.model.exits`).

        Examples
        --------
        >>> from journeysim.model.elements import Microsystem, PatientClass
        >>> from journeysim.model.exits import Exit
        >>> Model([Microsystem("A")], classes=[PatientClass("all", entry="A", rate=0.1)],
        ...       exits=[Exit("A", "death", 0.1)]).outcomes
        ('discharged', 'death')
        """
        return outcome_names(self.exits, self.queue_outcomes)

    @property
    def queue_outcomes(self) -> tuple[str, ...]:
        """The outcomes of :data:`~journeysim.model.exits.QUEUE_OUTCOMES` the queue rules can give: ``rejected``
        where a full queue turns some class away, ``left_unseen`` where those who renege or balk leave the pathway."""
        out = []
        clinical = [m for m in self.microsystems if m.kind == "clinical"]
        if any(self.rejects(m) for m in clinical):
            out.append("rejected")
        if any((m.has_patience or m.balks) and m.renege_to is None for m in clinical):
            out.append("left_unseen")
        return tuple(out)

    def rejects(self, m: Microsystem) -> bool:
        """True if a full queue at ``m`` turns some class away (a queue limit, and ``when_full = "reject"``
        for that class rather than a diversion)."""
        return m.has_queue_limit and any(m.when_full_for(k) == "reject" for k in self.class_names)

    @property
    def pathway_classes(self) -> tuple[str, ...]:
        """Names of the classes that are not background classes."""
        return tuple(k.name for k in self.classes if not k.background)

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the patient classes, in order."""
        return tuple(k.name for k in self.classes)

    @property
    def node_names(self) -> tuple[str, ...]:
        """Names of the microsystems, in order."""
        return tuple(m.name for m in self.microsystems)


def _exit_label(x: Exit) -> str:
    return f"{x.source}: {x.name}"


def _successors(edges: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Each node's successors along ``edges``."""
    out: dict[str, list[str]] = {}
    for a, b in edges:
        out.setdefault(a, []).append(b)
    return out


def _closure(successors: Mapping[str, Sequence[str]], sources: Iterable[str]) -> set[str]:
    """The sources and every node reachable from any of them."""
    seen = set(sources)
    stack = list(seen)
    while stack:
        for nxt in successors.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _suggest(name: str, known: Iterable[str]) -> str:
    import difflib

    match = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""
