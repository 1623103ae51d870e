"""Reneging: a waiting patient whose patience runs out leaves the queue, unseen.

A patient who joins the queue of a microsystem with a patience for its class draws its
patience on arrival, and a :class:`Renege` event is scheduled that far ahead. If the
patient is still in that queue then, it leaves it (``node.queues`` and ``node.nwait``, as
the kernel keeps them): an ``unserved`` row ``reneged``, a ``left_unseen`` defect of the
microsystem, and then ``renege_to`` or out of the pathway
(:meth:`~journeysim.engine.limits.QueueLimits.leave_unseen`). If its visit started
first, the event does nothing. A patient served at once draws no patience.

Streams: ``patience/{node}`` (``[class]`` for a class's own patience).

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.engine.kernel import run_replication
>>> model = Model([Microsystem("A", capacity=1, service=Exponential(10.0), patience=Exponential(5.0))],
...               classes=[PatientClass("p", entry="A", rate=0.2)])
>>> rec = run_replication(model, horizon=5_000, seed=1)
>>> bool((rec.unserved.to_frame()["ended"] == "reneged").all()), len(rec.unserved) > 0
(True, True)
"""

from __future__ import annotations

from .events import NORMAL, Callbacks, OwnEvent
from .limits import RENEGED, QueueLimits
from .plan import Plan
from .state import Host, Node, Patient
from .streams import Duration, Samplers

__all__ = ["Renege", "Patience"]


class Renege(OwnEvent):
    """The moment a waiting patient's patience runs out; its own pending simpy event."""

    __slots__ = ("patient", "node", "arr")

    def __init__(self, patient: Patient, node: Node, arr: float, callbacks: Callbacks) -> None:
        self.patient = patient
        self.node = node
        self.arr = arr
        self.callbacks = callbacks


class Patience:
    """The patience of waiting patients in one replication."""

    __slots__ = ("host", "env", "schedule", "limits", "draws", "fired")

    def __init__(self, host: Host, p: Plan, samplers: Samplers, limits: QueueLimits) -> None:
        self.host = host
        self.env = host.env
        self.schedule = host.schedule
        self.limits = limits
        #: [node][class] -> the patience draw, or None; None where no class has one
        self.draws: list[tuple[Duration | None, ...] | None] = [
            None if q is None or all(d is None for d in q.patience) else tuple(
                None if d is None else samplers.timed(d.stream, "patience", d.distribution) for d in q.patience)
            for q in (np_.queue for np_ in p.nodes)]
        self.fired: Callbacks = (self.renege,)

    def wire(self) -> None:
        """Draw a patience for those who queue, where their class has one (the last arrival handler)."""
        for node, per_class in zip(self.host.nodes, self.draws):
            if per_class is None:
                continue
            for v, d in zip(node.visits, per_class):
                if d is not None:
                    v.add_arrival_handler(self.on_arrival)

    def on_arrival(self, pt: Patient, node: Node, t: float) -> bool:
        """Arrival handler: a patient who will queue draws its patience (never takes the patient)."""
        if pt.reserved or node.busy < node.cap:
            return False
        per_class = self.draws[node.index]
        assert per_class is not None
        draw = per_class[pt.k]
        assert draw is not None
        self.schedule(Renege(pt, node, t, self.fired), NORMAL, draw.sample())
        return False

    def renege(self, ev: Renege) -> None:
        """The patience is over: the patient leaves the queue, if still in it."""
        pt, node = ev.patient, ev.node
        if pt.node is not node or pt.arr != ev.arr:
            return  # it has moved on, and may be back in this queue on a later visit
        try:
            node.queues[pt.rank].remove(pt)
        except ValueError:
            return  # its visit started
        node.nwait -= 1
        t = self.env.now
        self.limits.leave_unseen(pt, node, ev.arr, t, RENEGED)
        if node.room is not None:  # a place in a limited queue freed
            node.room(node, t)
