"""Milestones and timeliness standards.

A journey reaches milestones (its start, arrival at or departure from a
microsystem, the end of a step it has, a handoff): at each, a :class:`~journeysim.engine.state.HookRun`
records the time in the patient's milestone slots (the earliest counts) and makes
the activations attached to it (:class:`~journeysim.engine.schedules.Activation`).
When the journey ends, each standard of its class is judged from the slots: met
when the end milestone came within the target of the start one. A miss is a
defect of the journey (code ``not_met``, element ``n_nodes + n_edges +
n_requests + standard``); every judged standard is a ``standards`` row.

A standard with a condition (``when``) is judged only on the journeys whose
attributes satisfy it (``pt.attrs``, drawn on arrival). Standards' results are
also counted per group cell (by entry, class, clock window of the start, or an
attribute of the journey), see :func:`standard_cells`.

Examples
--------
>>> import numpy as np
>>> from journeysim.model.clock import Window
>>> in_window(Window("Mon-Fri", "08:00", "17:00"), np.array([600.0, 1200.0]))
array([ True, False])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from itertools import accumulate

import numpy as np
from numpy.typing import NDArray

from ..model.clock import Window
from ..model.conditions import Holds
from ..model.profiles import MINUTES_PER_WEEK
from .plan import GroupPlan, Hook, Plan, StandardPlan
from .schedules import Activation
from .state import HookRun, Host, Node, Patient, StartWork, Transfer
from .streams import Selective, Stepwise

__all__ = ["Timeliness", "n_cells", "standard_cells", "in_window"]

_INF = math.inf


class Timeliness:
    """Milestones and standards of one replication."""

    __slots__ = ("host", "activation", "n_slots", "class_standards", "not_met", "n_elements", "add_defect",
                 "add_standard", "start_hooks", "names")

    def __init__(self, host: Host, p: Plan, activation: Activation) -> None:
        self.host = host
        self.activation = activation
        self.n_slots = len(p.milestone_atoms)
        # the standards of each class, with their codes
        #: what conditions are compiled against: attribute slots and node indices
        self.names = slots, nodes = p.slots or {}, {n.name: i for i, n in enumerate(p.nodes)}
        holds = [None if sp.when is None else sp.when.compile(slots, nodes) for sp in p.standards]
        self.class_standards: list[tuple[tuple[int, StandardPlan, Holds | None], ...]] = [
            tuple((s, sp, holds[s]) for s, sp in enumerate(p.standards) if sp.classes[k])
            for k in range(len(p.classes))
        ]
        self.not_met = p.defect_names.index("not_met") if p.standards else -1
        self.n_elements = len(p.nodes) + len(p.edges) + len(p.requests)
        self.add_defect = host.recorder.add_defect
        self.add_standard = host.recorder.add_standard
        #: per class: the hook at the journey's start
        self.start_hooks = [self.hook(k.on_start) for k in p.classes]

    # -- wiring
    def hook(self, h: Hook | None) -> HookRun | None:
        """A plan's hook with the streams of its activations."""
        if h is None:
            return None
        return HookRun(h.recorded, tuple(self.activation.trigger(a, *self.names) for a in h.activations))

    def wire(self, p: Plan, transfers: Sequence[Sequence[Transfer]]) -> None:
        """Hooks on arrival, at step ends and on departure; hooks of handoffs."""
        for node, np_ in zip(self.host.nodes, p.nodes):
            for v, vp in zip(node.visits, np_.by_class):
                on_arrive = self.hook(vp.on_arrive)
                if on_arrive is not None:
                    v.add_arrival_handler(partial(self.on_arrival, on_arrive))
                if vp.at_steps:
                    work = v.start_work()
                    work.at_steps = tuple((h.step, run) for h in vp.at_steps if (run := self.hook(h.hook)) is not None)
                    # the step sampler keeps the ends of the steps it drew; fixed steps end at fixed times
                    work.steps = v.draw_service if isinstance(v.draw_service, Stepwise | Selective) else tuple(
                        accumulate(s.duration.mean for s in vp.steps.steps))
                v.depart = self.hook(vp.on_depart)
        for ep, per_class in zip(p.edges, transfers):
            for tr, cp in zip(per_class, ep.by_class):
                tr.hook = self.hook(cp.hook)

    # -- milestones
    def milestones(self) -> list[float] | None:
        """A new journey's milestone slots, none reached yet (None when nothing is tracked)."""
        return [_INF] * self.n_slots if self.n_slots else None

    def reach(self, pt: Patient, hook: HookRun, t: float) -> None:
        """``pt`` reaches a milestone at ``t``: record it (the earliest counts), make its activations."""
        ms = pt.ms
        if hook.recorded and ms is not None:
            for s in hook.recorded:
                if t < ms[s]:
                    ms[s] = t
        if hook.triggers:
            self.activation.fire(pt, hook.triggers, t)

    def on_arrival(self, hook: HookRun, pt: Patient, node: Node, t: float) -> bool:
        """Arrival handler (with its hook bound): the milestone of arriving here."""
        self.reach(pt, hook, t)
        return False

    def at_steps(self, pt: Patient, work: StartWork, t: float) -> None:
        """Milestones at the ends of the visit's steps, the visit's work starting at ``t``."""
        steps = work.steps
        ends = steps if isinstance(steps, tuple) else steps.ends
        for s, hook in work.at_steps:
            end = ends[s]
            if end < _INF:  # inf: a step the patient does not have (its condition does not hold)
                self.reach(pt, hook, t + end)

    # -- standards
    def judged(self, k: int) -> bool:
        """Whether journeys of class ``k`` have standards to judge."""
        return bool(self.class_standards[k])

    def judge(self, pt: Patient, t: float) -> int:
        """Judge the journey's standards as it ends at ``t``; a miss is a defect of the journey. Returns the misses."""
        ms = pt.ms if pt.ms is not None else []
        missed = 0

        def when(slots: tuple[int, ...]) -> float:
            return min(pt.t0 if s == -1 else t if s == -2 else ms[s] for s in slots)

        for s, sp, holds in self.class_standards[pt.k]:
            if sp.entries is not None and pt.entry not in sp.entries:
                continue
            if holds is not None and not holds(pt.attrs, None, t):
                continue
            a = when(sp.start)
            if a == _INF:
                continue
            b = when(sp.end)
            if b == _INF:
                if sp.reached_only:
                    continue
                met = False
            else:
                met = b - a <= sp.within
            self.add_standard((pt.jid, s, pt.k, pt.entry, a, b, met, False))
            if not met:
                self.add_defect((pt.jid, t, self.n_elements + s, self.not_met))
                pt.ndef += 1
                missed += 1
        return missed

    def judge_open(self, pt: Patient, horizon: float) -> None:
        """Judge the standards of a journey still in progress at the horizon (a run that stops there).

        A standard whose second milestone was reached is met or missed as at the end of a
        journey. One not reached yet is *open* (not yet reached: neither met nor missed)
        while its target could still be met, and missed once the target has run out at the
        horizon, unless it is judged only on journeys that reach it (``reached_only``).
        No ``not_met`` defect is written: a journey's misses become defects when it ends.
        """
        ms = pt.ms if pt.ms is not None else []

        def when(slots: tuple[int, ...]) -> float:
            # the journey's own end (-2) has not come; a step's end planned after the horizon has not either
            t = min(pt.t0 if s == -1 else _INF if s == -2 else ms[s] for s in slots)
            return t if t < horizon else _INF

        for s, sp, holds in self.class_standards[pt.k]:
            if sp.entries is not None and pt.entry not in sp.entries:
                continue
            if holds is not None and not holds(pt.attrs, None, horizon):
                continue
            a = when(sp.start)
            if a == _INF:
                continue
            b = when(sp.end)
            still_open = b == _INF and (sp.reached_only or horizon - a <= sp.within)
            met = b != _INF and b - a <= sp.within
            self.add_standard((pt.jid, s, pt.k, pt.entry, a, b, met, still_open))


def n_cells(p: Plan) -> int:
    """Cells of a standard's results: everyone, then each label of each group."""
    return 1 + sum(len(g.labels) for g in p.groups)


def standard_cells(p: Plan, table: dict[str, NDArray[np.float64]],
                   attrs_of: Sequence[Sequence[float]] = ()) -> NDArray[np.int64]:
    """For each row of the standards table, its cell in each group (-1: in none); column 0 is everyone.

    ``attrs_of`` holds each journey's attribute vector, by journey id (for groups by attribute).
    """
    n = len(table["journey"])
    out = np.full((n, 1 + len(p.groups)), -1, dtype=np.int64)
    out[:, 0] = 0
    offset = 1
    for g, group in enumerate(p.groups):
        if group.window is not None:  # a clock group
            inside = in_window(group.window, table["start"])
            out[:, g + 1] = offset + np.where(inside, 0, 1)
        elif group.by == "attribute":
            out[:, g + 1] = _attribute_cells(group, table["journey"], attrs_of, offset)
        else:
            key = table["entry"] if group.by == "entry" else table["class"]
            lut = np.full(max([len(p.nodes), len(p.classes)]) + 1, -1, dtype=np.int64)
            for code, li in group.codes.items():
                lut[code] = offset + li
            out[:, g + 1] = lut[key]
        offset += len(group.labels)
    return out


def _attribute_cells(group: GroupPlan, journeys: NDArray[np.float64], attrs_of: Sequence[Sequence[float]],
                     offset: int) -> NDArray[np.int64]:
    """The cell of each row in a group by attribute: its value's label (-1 where the journey has no value)."""
    i = group.slot
    x = np.array([attrs_of[int(j)][i] for j in journeys], dtype=np.float64)
    known = ~np.isnan(x)
    out = np.full(len(x), -1, dtype=np.int64)
    if group.cuts:
        out[known] = offset + np.searchsorted(np.asarray(group.cuts), x[known], side="right")
        return out
    for code, li in group.codes.items():
        out[known & (x == code)] = offset + li
    return out


def in_window(window: Window, t: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Whether each time ``t`` falls inside the weekly ``window``."""
    week = np.mod(t, MINUTES_PER_WEEK)
    inside = np.zeros(len(t), dtype=bool)
    for a, b in window.intervals():
        inside |= (week >= a) & (week < b)
    return inside
