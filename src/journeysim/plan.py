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
>>> from journeysim.distributions import Exponential
>>> from journeysim.elements import Microsystem, PatientClass
>>> from journeysim.model import Model
>>> p = plan(Model([Microsystem("A", capacity=2, service=Exponential(1), defects={"x": 0.1, "y": 0.2})],
...                classes=[PatientClass("all", entry="A", rate=0.5)]))
>>> p.capacity
(2,)
>>> round(p.node_defects[0][0][0], 2)   # 1 - 0.9 * 0.8
0.28
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from .distributions import Distribution
from .elements import HANDOFF_KINDS, ByClass
from .model import Model
from .profiles import ArrivalProfile

__all__ = ["Plan", "plan", "UNLIMITED", "DefectCheck"]

UNLIMITED = 1 << 62

#: ``(p_any, ((defect code, p, p if none yet), ...))`` or ``None`` when no defect is possible.
DefectCheck = tuple[float, tuple[tuple[int, float, float], ...]] | None


def _check(pairs: list[tuple[int, float]]) -> DefectCheck:
    pairs = [(code, p) for code, p in pairs if p > 0]
    if not pairs:
        return None
    triples = []
    for i, (code, p) in enumerate(pairs):
        rest_any = 1.0 - math.prod(1.0 - q for _, q in pairs[i:])
        triples.append((code, p, min(1.0, p / rest_any)))
    return (1.0 - math.prod(1.0 - p for _, p in pairs), tuple(triples))


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

    def labels(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Labels of the coded columns of each record table."""
        nodes = self.node_names
        return {
            "journeys": {"class": self.class_names, "entry": nodes, "exit": nodes},
            "visits": {"node": nodes},
            "handoffs": {"handoff": self.edge_labels, "source": nodes, "target": nodes},
            "requests": {"request": self.request_labels, "source": nodes, "target": nodes},
            "defects": {
                "element": nodes + self.edge_labels + self.request_labels,
                "element_type": ("microsystem", "handoff", "request"),
                "defect": self.defect_names,
            },
        }


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

    priorities = sorted({k.priority for k in classes}, reverse=True)
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
        request_defects=links(model.requests, ("information", "services")),
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
    )
