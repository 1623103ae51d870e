"""Boarding (blocking after service) and deadlock.

On a boarding handoff a patient whose visit is over keeps the bed while the
target has no free bed: a :class:`Blocked` place joins the target's queue (by the
patient's priority). When a bed is free for it, that bed is held for the patient,
the old bed is freed (the visit's ``hold`` is the time boarded, as is the
handoff's ``blocked``), and the patient travels to the held bed.

If every bed of some microsystems is held by patients boarding for one another,
nobody can ever move: the replication stops with a :class:`~journeysim.errors.SimulationError`
naming them, rather than hang or return wrong numbers.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Handoff, Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.engine.kernel import run_replication
>>> model = Model([Microsystem("A", capacity=1, service=Exponential(10.0)),
...                Microsystem("B", capacity=1, service=Exponential(10.0))],
...               handoffs=[Handoff("A", "B", boarding=True)],
...               classes=[PatientClass("p", entry="A", rate=0.08)])
>>> rec = run_replication(model, horizon=5_000, seed=1)
>>> bool((rec.handoffs["blocked"] > 0).any())
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..errors import SimulationError
from .events import NORMAL, Callbacks
from .plan import Plan
from .state import Host, Node, Patient, Transfer

__all__ = ["Blocked", "Boarding", "Places"]


class Places(Protocol):
    """What boarding asks of the queue limits (:class:`~journeysim.engine.limits.QueueLimits`)."""

    #: [node] -> the limits per class, or None where the queue has none
    limits: list[tuple[int | None, ...] | None]

    def take_place(self, pt: Patient, target: Node) -> bool:
        """True, and a place is held for ``pt``, if ``target``'s limited queue has room."""

    def boarded(self, entry: Blocked, target: Node) -> None:
        """``entry`` joined ``target``'s full queue and moves up when a place frees."""

    def unboarded(self, pt: Patient, target: Node) -> None:
        """``pt``'s entry got a free bed at ``target``."""


class Blocked:
    """A place in a queue held by a patient who is still in the previous microsystem's bed."""

    __slots__ = ("owner", "patient")

    def __init__(self, owner: Boarding, patient: Patient) -> None:
        self.owner = owner
        self.patient = patient

    def granted(self, node: Node, t: float) -> None:
        """A bed of ``node`` is free for the boarding patient."""
        self.owner.unblock(self.patient, node, t)


class Boarding:
    """Boarding of one replication: who holds a bed waiting for which microsystem."""

    __slots__ = ("host", "schedule", "replication", "blocked", "waits_for", "max_cap", "reserved", "places")

    def __init__(self, host: Host, p: Plan, replication: int, places: Places | None = None) -> None:
        self.host = host
        #: the queue limits, where a model has some (a boarding patient then waits only while the queue is full)
        self.places = places
        self.schedule = host.schedule
        self.replication = replication
        n = len(p.nodes)
        #: blocked[i] patients hold a bed at i; waits_for[i][j] of them wait for j
        self.blocked = [0] * n
        self.waits_for: list[dict[int, int]] = [{} for _ in range(n)]
        #: the most servers a microsystem ever has
        self.max_cap = [np_.capacity if np_.capacity_schedule is None else max(c for _, c in np_.capacity_schedule)
                        for np_ in p.nodes]
        self.reserved: Callbacks = (self.reserved_arrival,)

    def wire(self, p: Plan, transfers: Sequence[Sequence[Transfer]]) -> None:
        """Mark the boarding handoffs."""
        for ep, per_class in zip(p.edges, transfers):
            for tr, cp in zip(per_class, ep.by_class):
                tr.boarding = cp.boarding

    def blocks(self, pt: Patient, node: Node, edge: Transfer, t: float, nd: int) -> bool:
        """True, and ``pt`` boards, if the handoff's target has no free bed."""
        target = edge.target
        if target.dormant is not None:
            self.host.wake(target, t)
        if target.busy < target.cap:
            return False
        places = self.places
        if places is not None and places.limits[target.index] is not None:
            if places.take_place(pt, target):
                return False  # a place in the target's queue is held: the patient leaves the bed for it
            places.boarded(self.block(pt, node, edge, t, nd), target)
            return True
        self.block(pt, node, edge, t, nd)
        return True

    def block(self, pt: Patient, node: Node, edge: Transfer, t: float, nd: int) -> Blocked:
        """``pt`` keeps its bed at ``node`` and queues for a bed at the handoff's target (its entry there)."""
        target = edge.target
        pt.work_end = t
        pt.vdef = nd
        pt.edge = edge
        pt.blocked_at = t
        entry = Blocked(self, pt)
        target.queues[pt.rank].append(entry)
        target.nwait += 1
        i, j = node.index, target.index
        self.blocked[i] += 1
        self.waits_for[i][j] = self.waits_for[i].get(j, 0) + 1
        self.check_deadlock(t)
        return entry

    def unblock(self, pt: Patient, target: Node, t: float) -> None:
        """A bed at ``target`` is free for a boarding patient: it is held for them during the transfer."""
        node = pt.node
        edge = pt.edge
        if edge is None:
            raise SimulationError(f"a boarding patient (journey {pt.jid}) has no handoff")
        if self.places is not None:
            self.places.unboarded(pt, target)
        target.busy += 1
        self.blocked[node.index] -= 1
        self.waits_for[node.index][target.index] -= 1
        self.host.release(pt, node, pt.work_end, t, pt.vdef)
        pt.edge = None
        d = self.host.depart(pt, edge, t, t - pt.blocked_at)
        pt.node = target
        pt.arr = t + d
        pt.reserved = True
        if d > 0.0:
            pt.callbacks = self.reserved
            self.schedule(pt, NORMAL, d)
        else:
            self.arrive_reserved(pt, target, t)

    def move_up(self, pt: Patient, target: Node, t: float) -> float:
        """``pt``, boarding for ``target``, leaves its bed for a place in ``target``'s limited queue (held by the
        caller): the bed is freed and the handoff made. Returns the handoff's delay."""
        node = pt.node
        edge = pt.edge
        if edge is None:
            raise SimulationError(f"a boarding patient (journey {pt.jid}) has no handoff")
        self.blocked[node.index] -= 1
        self.waits_for[node.index][target.index] -= 1
        self.host.release(pt, node, pt.work_end, t, pt.vdef)
        pt.edge = None
        return self.host.depart(pt, edge, t, t - pt.blocked_at)

    def arrive_reserved(self, pt: Patient, node: Node, t: float) -> None:
        """``pt`` arrives at the bed held for it (unless it waits for the team, keeping the bed held)."""
        handlers = node.visits[pt.k].on_arrive
        if handlers is not None and self.host.arrival_work(pt, node, t, handlers):
            return
        pt.reserved = False
        node.busy -= 1  # start() takes the held bed
        self.host.start(pt, node, t)

    def reserved_arrival(self, pt: Patient) -> None:
        self.arrive_reserved(pt, pt.node, pt.arr)

    def check_deadlock(self, t: float) -> None:
        """Raise if some microsystems' beds are all held by patients boarding for one another."""
        blocked, waits_for = self.blocked, self.waits_for
        stuck = {i for i in range(len(blocked)) if blocked[i] and blocked[i] >= self.max_cap[i]}
        changed = True
        while changed and stuck:
            changed = False
            for i in list(stuck):
                if any(n and j not in stuck for j, n in waits_for[i].items()):
                    stuck.discard(i)
                    changed = True
        if stuck:
            names = [self.host.nodes[i].name for i in sorted(stuck)]
            detail = "; ".join(
                f"{self.host.nodes[i].name}: {blocked[i]} bed(s), all held by patients waiting for "
                + ", ".join(f"{self.host.nodes[j].name} ({n})" for j, n in sorted(waits_for[i].items()) if n)
                for i in sorted(stuck)
            )
            raise SimulationError(
                f"deadlock at t = {t:.1f} min (replication {self.replication}): every bed of "
                f"{', '.join(names)} is held by a patient boarding for a bed in another of them, so none "
                f"can ever move. {detail}. Add capacity, or remove boarding on a handoff of this cycle."
            )
