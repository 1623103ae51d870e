"""The model compiled to integer-indexed tables for the engine (internal).

A :class:`Plan` holds no random state and no simulation state: it is built once
per experiment and shared by every replication (and every worker).

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
>>> p.capacity
(2,)
>>> round(p.node_defects[0][0][0], 2)   # 1 - 0.9 * 0.8
0.28
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..model.clock import Window
from ..model.distributions import Distribution, Fixed
from ..model.elements import ByClass
from ..model.kinds import HANDOFF_KINDS, REQUEST_KINDS
from ..model.mesosystem import Model
from ..model.milestones import Atom
from ..model.profiles import ArrivalProfile

__all__ = ["Plan", "plan", "UNLIMITED", "DefectCheck", "Hook", "StandardPlan", "CostTables", "defect_check"]

UNLIMITED = 1 << 62

#: ``(p_any, ((defect code, p, p if none yet), ...))`` or ``None`` when no defect is possible.
DefectCheck = tuple[float, tuple[tuple[int, float, float], ...]] | None

#: What happens at a milestone of one class: ``(milestone slots to record, activations)``;
#: an activation is ``(target node, probability, stream name, lag distribution)``.
Hook = tuple[tuple[int, ...], tuple[tuple[int, float, str, Distribution], ...]] | None


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


def defect_check(pairs: list[tuple[int, float]]) -> DefectCheck:
    """The :data:`DefectCheck` of independent defects ``(code, probability)``."""
    return _check(pairs)


def _any(probabilities: Iterable[float]) -> float:
    """``1 - prod(1 - p)``, accurate when the ``p`` are tiny (a frailty near 0 makes them so)."""
    ps = list(probabilities)
    return 1.0 if max(ps) >= 1.0 else -math.expm1(math.fsum(math.log1p(-p) for p in ps))


def _check(pairs: list[tuple[int, float]]) -> DefectCheck:
    pairs = [(code, p) for code, p in pairs if p > 0]
    if not pairs:
        return None
    triples = []
    for i, (code, p) in enumerate(pairs):
        triples.append((code, p, min(1.0, p / _any(q for _, q in pairs[i:]))))
    return (_any(p for _, p in pairs), tuple(triples))


@dataclass(frozen=True, slots=True)
class Plan:
    """Integer-indexed tables of a model; ``[node][class]`` style nesting throughout."""

    model: Model
    node_names: tuple[str, ...]
    clinical: tuple[bool, ...]
    capacity: tuple[int, ...]
    #: [node][class] -> (stream prefix, ((step name, distribution), ...))
    steps: tuple[tuple[tuple[str, tuple[tuple[str, Distribution], ...]], ...], ...]
    #: [node] -> (stream name, exit delay)
    exit_delays: tuple[tuple[str, Distribution], ...]
    #: [node][class] -> DefectCheck over the node's named defects
    node_defects: tuple[tuple[DefectCheck, ...], ...]
    #: [node][class] -> (edge codes, cumulative probabilities) or None (everyone leaves)
    routes: tuple[tuple[tuple[tuple[int, ...], tuple[float, ...]] | None, ...], ...]
    #: [node][class] -> ((request code, p), ...)
    node_requests: tuple[tuple[tuple[tuple[int, float], ...], ...], ...]
    edge_labels: tuple[str, ...]
    edge_ends: tuple[tuple[int, int], ...]
    #: [edge][class] -> (stream name, distribution)
    edge_delays: tuple[tuple[tuple[str, Distribution], ...], ...]
    #: [edge][class] -> DefectCheck over the kinds (codes index HANDOFF_KINDS)
    edge_defects: tuple[tuple[DefectCheck, ...], ...]
    request_labels: tuple[str, ...]
    request_ends: tuple[tuple[int, int], ...]
    request_delays: tuple[tuple[tuple[str, Distribution], ...], ...]
    request_defects: tuple[tuple[DefectCheck, ...], ...]
    class_names: tuple[str, ...]
    rates: tuple[float, ...]
    #: [class] -> arrival profile, or None for a constant rate
    profiles: tuple[ArrivalProfile | None, ...]
    ranks: tuple[int, ...]
    n_ranks: int
    entries: tuple[tuple[tuple[int, ...], tuple[float, ...]], ...]
    #: names of defect codes: the three handoff kinds first, then microsystem defect names
    defect_names: tuple[str, ...]
    #: [node] -> ((week minute, capacity), ...) when the capacity follows a schedule, else None
    capacity_schedule: tuple[tuple[tuple[float, int], ...] | None, ...] = ()
    #: [node] -> ((week minute, (stream name, distribution)), ...) of the team-ready time, or None
    team_ready: tuple[tuple[tuple[float, tuple[str, Distribution]], ...] | None, ...] = ()
    #: [node][class] -> whether the visit waits for activation and team ready
    needs_team: tuple[tuple[bool, ...], ...] = ()
    #: [edge][class] -> boarding (blocking after service) on this handoff
    boarding: tuple[tuple[bool, ...], ...] = ()
    #: tracked milestones, one slot each
    milestone_atoms: tuple[Atom, ...] = ()
    #: hooks per site: [class] at the journey's start; [node][class] on arrival and on
    #: departure; [node][class] -> ((step index, hook), ...) at step ends; [edge][class]
    hook_start: tuple[Hook, ...] = ()
    hook_arrive: tuple[tuple[Hook, ...], ...] = ()
    hook_depart: tuple[tuple[Hook, ...], ...] = ()
    hook_steps: tuple[tuple[tuple[tuple[int, Hook], ...], ...], ...] = ()
    hook_edge: tuple[tuple[Hook, ...], ...] = ()
    standards: tuple[StandardPlan, ...] = ()
    #: [node][class] -> None, or ((defect code, p), ...), per wait hour, per occupant) for load-dependent defects
    load_defects: tuple[tuple[Any, ...], ...] = ()
    #: (name, by, {code: label index}, labels, window) per group; codes are entry nodes or classes
    groups: tuple[tuple[str, str, dict[int, int], tuple[str, ...], Window | None], ...] = ()
    #: [edge][class] -> None, or (((kind code, p), ...), probability that the receiving microsystem
    #: catches an information defect, (stream name, rework time), propagation factor)
    edge_special: tuple[tuple[Any, ...], ...] = ()
    #: [node] -> True if a caught information defect of an incoming handoff adds rework here
    rework_nodes: tuple[bool, ...] = ()
    #: costs by element, see :class:`CostTables` (None: the model has no costs)
    costs: CostTables | None = None

    def labels(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Labels of the coded columns of each record table."""
        nodes = self.node_names
        return {
            "journeys": {"class": self.class_names, "entry": nodes, "exit": nodes},
            "visits": {"class": self.class_names, "node": nodes},
            "handoffs": {"class": self.class_names, "handoff": self.edge_labels, "source": nodes, "target": nodes},
            "requests": {"class": self.class_names, "request": self.request_labels, "source": nodes,
                         "target": nodes},
            "defects": {
                "class": self.class_names,
                "element": nodes + self.edge_labels + self.request_labels + tuple(s.name for s in self.standards),
                "element_type": ("microsystem", "handoff", "request", "standard"),
                "defect": self.defect_names,
            },
            "standards": {"standard": tuple(s.name for s in self.standards), "class": self.class_names,
                          "entry": nodes},
            "activations": {"node": nodes},
        }


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


def _costs(model: Model, defect_names: list[str]) -> CostTables | None:
    if not model.has_costs:
        return None
    elements = (*model.microsystems, *model.handoffs, *model.requests)

    def pair(items: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return (np.array([0.0 if x.cost is None else x.cost.per_visit for x in items]),
                np.array([0.0 if x.cost is None else x.cost.per_minute for x in items]))

    defect = np.zeros((len(elements) + len(model.standards), len(defect_names)))
    for e, x in enumerate(elements):
        for name, value in ({} if x.cost is None else x.cost.defects).items():
            defect[e, defect_names.index(name)] = value
    if model.standards:
        defect[len(elements):, defect_names.index("not_met")] = [s.cost for s in model.standards]
    return CostTables(*pair(model.microsystems), *pair(model.handoffs), *pair(model.requests), defect)


def plan(model: Model) -> Plan:
    """Compile ``model`` for the engine."""
    nodes = model.microsystems
    index = {m.name: i for i, m in enumerate(nodes)}
    classes = model.classes
    defect_names: list[str] = list(HANDOFF_KINDS)

    def code(name: str) -> int:
        if name not in defect_names:
            defect_names.append(name)
        return defect_names.index(name)

    def links(items: Any, kinds: tuple[str, ...]) -> tuple[tuple[DefectCheck, ...], ...]:
        return tuple(
            tuple(
                _check([(HANDOFF_KINDS.index(kind), link.defects.get(kind).get(k.name)) for kind in kinds])
                for k in classes
            )
            for link in items
        )

    def delays(items: Any) -> tuple[tuple[tuple[str, Distribution], ...], ...]:
        return tuple(
            tuple(
                (f"delay/{x.label}" + (f"[{k.name}]" if k.name in x.delay_by_class else ""), x.delay_for(k.name))
                for k in classes
            )
            for x in items
        )

    routes = []
    for m in nodes:
        per_class = []
        for k in classes:
            out = [(e, h.probability.get(k.name)) for e, h in enumerate(model.handoffs) if h.source == m.name]
            out = [(e, p) for e, p in out if p > 0]
            per_class.append(
                (tuple(e for e, _ in out), tuple(accumulate(p for _, p in out))) if out else None
            )
        routes.append(tuple(per_class))

    def prob(table: ByClass, k: str) -> float:
        return table.get(k)

    # the microsystems whose defect probabilities change per visit: with the load, the
    # patient's frailty, or an information defect that propagates from the handoff in
    frail = not model.frailty.is_independent
    dynamic = {m.name for m in nodes if m.load_dependent or frail}
    dynamic |= {h.target for h in model.handoffs if h.propagation != 1.0}
    priorities = sorted({k.priority for k in classes}, reverse=True)
    timeliness = _timeliness(model, index)
    if model.standards:
        code("not_met")
    return Plan(
        model=model,
        node_names=tuple(m.name for m in nodes),
        clinical=tuple(m.kind == "clinical" for m in nodes),
        capacity=tuple(UNLIMITED if m.capacity is None else m.capacity for m in nodes),
        steps=tuple(
            tuple(
                (
                    f"service/{m.name}" + (f"[{k.name}]" if k.name in m.service_by_class else ""),
                    tuple((s.name, s.duration) for s in m.steps_for(k.name)),
                )
                for k in classes
            )
            for m in nodes
        ),
        exit_delays=tuple((f"exit/{m.name}", m.exit_delay) for m in nodes),
        node_defects=tuple(
            tuple(_check([(code(d.name), prob(d.probability, k.name)) for d in m.defects]) for k in classes)
            for m in nodes
        ),
        routes=tuple(routes),
        node_requests=tuple(
            tuple(
                tuple(
                    (r, p)
                    for r, req in enumerate(model.requests)
                    if req.source == m.name and (p := req.probability.get(k.name)) > 0
                )
                for k in classes
            )
            for m in nodes
        ),
        edge_labels=tuple(h.label for h in model.handoffs),
        edge_ends=tuple((index[h.source], index[h.target]) for h in model.handoffs),
        edge_delays=delays(model.handoffs),
        edge_defects=links(model.handoffs, HANDOFF_KINDS),
        request_labels=tuple(r.label for r in model.requests),
        request_ends=tuple((index[r.source], index[r.target]) for r in model.requests),
        request_delays=delays(model.requests),
        request_defects=links(model.requests, REQUEST_KINDS),
        class_names=tuple(k.name for k in classes),
        rates=tuple(k.rate for k in classes),
        profiles=tuple(None if k.profile is None or k.profile.is_flat else k.profile for k in classes),
        ranks=tuple(priorities.index(k.priority) for k in classes),
        n_ranks=len(priorities),
        entries=tuple(
            (tuple(index[n] for n, _ in k.entries), tuple(accumulate(p for _, p in k.entries)))
            for k in classes
        ),
        defect_names=tuple(defect_names),
        load_defects=tuple(
            tuple(
                (tuple((code(d.name), prob(d.probability, k.name)) for d in m.defects),
                 m.defect_per_wait_hour, m.defect_per_occupant) if m.name in dynamic else None
                for k in classes
            )
            for m in nodes
        ),
        edge_special=tuple(
            tuple(
                (tuple((b, h.defects.get(kind).get(k.name)) for b, kind in enumerate(HANDOFF_KINDS)),  # type: ignore[union-attr]
                 0.0 if h.recovery is None else h.recovery.probability.get(k.name),  # type: ignore[union-attr]
                 (f"rework/{h.label}", Fixed(0.0) if h.recovery is None else h.recovery.rework),
                 h.propagation) if frail or h.recovery is not None or h.propagation != 1.0 else None
                for k in classes
            )
            for h in model.handoffs
        ),
        rework_nodes=tuple(any(h.target == m.name and h.recovery is not None for h in model.handoffs) for m in nodes),
        costs=_costs(model, defect_names),
        **timeliness,
    )


def _timeliness(model: Model, index: dict[str, int]) -> dict[str, Any]:
    """Schedules, activation, boarding, milestone hooks and standards as tables."""
    nodes, classes = model.microsystems, model.classes
    n_classes = len(classes)
    capacity_schedule: list[Any] = []
    team_ready: list[Any] = []
    for m in nodes:
        pieces = m.segments()
        caps = tuple((t, UNLIMITED if cap is None else cap) for t, cap, _ in pieces)
        base = UNLIMITED if m.capacity is None else m.capacity
        # shifts that cover the whole week with one capacity replace the base capacity too
        changes = len({c for _, c in caps}) > 1 or caps[0][1] != base
        capacity_schedule.append(caps if changes else None)
        if m.team_ready is None:
            team_ready.append(None)
            continue
        dists: list[Distribution] = []
        ready = []
        for t, _, d in pieces:
            if d not in dists:
                dists.append(d)  # type: ignore[arg-type]
            ready.append((t, (f"team_ready/{m.name}" + (f"/{dists.index(d)}" if dists.index(d) else ""), d)))
        team_ready.append(tuple(ready))

    # milestone slots: every atom a standard refers to
    atoms: list[Atom] = []

    def slots(texts: Any) -> tuple[int, ...]:
        out = []
        for text in texts:
            for atom in model.milestone_atoms(text):
                if atom == ("start",):
                    out.append(-1)
                elif atom == ("end",):
                    out.append(-2)
                else:
                    if atom not in atoms:
                        atoms.append(atom)
                    out.append(atoms.index(atom))
        return tuple(sorted(set(out)))

    pathway = set(model.pathway_classes)
    standards = tuple(
        StandardPlan(
            name=st.name, start=slots(st.start), end=slots(st.end), within=st.within,
            classes=tuple((k.name in st.classes) if st.classes is not None else (k.name in pathway)
                          for k in classes),
            entries=None if st.entries is None else frozenset(index[e] for e in st.entries),
            reached_only=st.reached_only,
        )
        for st in model.standards
    )
    # activations, per atom and class: (target, probability, stream name, lag)
    triggers: dict[Atom, list[list[tuple[int, float, str, Distribution]]]] = {}

    def add_trigger(atom: Atom, target: int, prob: ByClass, stream: str, lag: Distribution) -> None:
        per_class = triggers.setdefault(atom, [[] for _ in range(n_classes)])
        for k, cls in enumerate(classes):
            p = prob.get(cls.name)
            if p > 0 and nodes[target].needs_activation(cls.name):
                per_class[k].append((target, p, stream, lag))

    for t, m in enumerate(nodes):
        for j, a in enumerate(m.activation):
            for atom in model.milestone_atoms(a.at):
                add_trigger(atom, t, a.probability, f"activation/{m.name}/{j}", a.lag)  # type: ignore[arg-type]
    for h in model.handoffs:
        for name, prob in h.preactivate.items():
            add_trigger(("handoff", h.label), index[name], prob, f"preactivate/{h.label}/{name}", Fixed(0.0))  # type: ignore[arg-type]

    def hook(atom: Atom, k: int) -> Hook:
        recorded = (atoms.index(atom),) if atom in atoms else ()
        acts = tuple(triggers.get(atom, [[]] * n_classes)[k])
        return (recorded, acts) if recorded or acts else None

    step_hooks = []
    for m in nodes:
        per_class = []
        for cls in classes:
            k = classes.index(cls)
            steps = m.steps_for(cls.name)
            per_class.append(tuple(
                (i, h) for i, s in enumerate(steps) if (h := hook(("step", m.name, s.name), k)) is not None
            ))
        step_hooks.append(tuple(per_class))
    groups = []
    for g in model.groups:
        if g.by == "clock":
            groups.append((g.name, g.by, {}, g.labels, g.window))
        else:
            codes = index if g.by == "entry" else {k.name: i for i, k in enumerate(classes)}
            table = {codes[n]: li for li, (_, names) in enumerate(g.values.items()) for n in names}
            groups.append((g.name, g.by, table, g.labels, None))
    return dict(
        capacity_schedule=tuple(capacity_schedule),
        team_ready=tuple(team_ready),
        needs_team=tuple(tuple(m.needs_activation(k.name) for k in classes) for m in nodes),
        boarding=tuple(tuple(h.boarding.get(k.name) > 0 for k in classes) for h in model.handoffs),  # type: ignore[union-attr]
        milestone_atoms=tuple(atoms),
        hook_start=tuple(hook(("start",), k) for k in range(n_classes)),
        hook_arrive=tuple(tuple(hook(("arrive", m.name), k) for k in range(n_classes)) for m in nodes),
        hook_depart=tuple(tuple(hook(("depart", m.name), k) for k in range(n_classes)) for m in nodes),
        hook_steps=tuple(step_hooks),
        hook_edge=tuple(tuple(hook(("handoff", h.label), k) for k in range(n_classes)) for h in model.handoffs),
        standards=standards,
        groups=tuple(groups),
    )
