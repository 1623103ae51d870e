"""Queue limits, diversion and balking: who may join a microsystem's queue.

A microsystem with a queue limit (:class:`~journeysim.engine.plan.QueuePlan`) checks each
arrival that finds every server busy: if the queue already holds the class's limit, the
patient is *full*: rejected (the journey ends there) or diverted to another microsystem
(after the diversion's travel time, where its own rules apply). Otherwise, where patients
balk, a patient who finds the queue at or above ``balk_at`` (or who draws it, with the
probability for the queue length found) never joins: it leaves unseen, to ``renege_to``
or out of the pathway, with a ``left_unseen`` defect. Each of these is an ``unserved``
row; none is a visit.

The queue counted is the patients waiting there and those on their way to a place held
for them, not the boarding patients who still hold a bed elsewhere. A boarding handoff
into a limited microsystem keeps the bed behind only while the queue is full: a patient
who finds a place leaves its bed, and one who boarded moves up (:meth:`QueueLimits.room`)
as soon as a place frees.

Streams: ``divert/{node}`` (``[class]`` for a class's own rule) and ``balk/{node}``.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.engine.kernel import run_replication
>>> model = Model([Microsystem("A", capacity=1, service=Exponential(10.0), queue_limit=0)],
...               classes=[PatientClass("p", entry="A", rate=0.1)])
>>> rec = run_replication(model, horizon=20_000, seed=1)
>>> rejected = len(rec.unserved) / len(rec.journeys)   # Erlang B(1, 1.0) = 0.5
>>> 0.45 < rejected < 0.55
True
"""

from __future__ import annotations

from collections import deque

from ..errors import SimulationError
from ..model.queues import UNSERVED, balk_probability
from .boarding import Blocked, Boarding
from .events import NORMAL, Callbacks
from .plan import Plan, QueuePlan
from .state import Host, Node, Patient
from .streams import Duration, Sampler, Samplers

__all__ = ["QueueLimits", "REJECTED", "DIVERTED", "BALKED", "RENEGED", "LEFT"]

#: codes of how an arrival ended without service (:data:`journeysim.model.queues.UNSERVED`)
REJECTED, DIVERTED, BALKED, RENEGED = (UNSERVED.index(x) for x in ("rejected", "diverted", "balked", "reneged"))
#: the ``to`` of an unserved row whose patient left the pathway
LEFT = -1


class QueueLimits:
    """The queue limits, diversions and balking of one replication, and the ways out of a queue."""

    __slots__ = ("host", "schedule", "plans", "limits", "divert", "draw_balk", "boarders", "incoming", "lines",
                 "held", "add_unserved", "add_defect", "travelled", "boarding", "outcome_codes")

    def __init__(self, host: Host, p: Plan, samplers: Samplers) -> None:
        self.host = host
        self.schedule = host.schedule
        nodes = host.nodes
        self.plans: list[QueuePlan | None] = [np_.queue for np_ in p.nodes]
        #: outcome name -> its code in the journeys' records (only the queue outcomes the model can give)
        self.outcome_codes = {name: code for code, name in enumerate(p.outcome_names)}
        #: [node][class] -> the limit (None: the class has none); None where no class has one
        self.limits: list[tuple[int | None, ...] | None] = [
            q.limits if q is not None and q.limited else None for q in self.plans]
        self.divert: list[tuple[tuple[Node, Duration] | None, ...] | None] = [
            None if q is None else tuple(
                None if d is None else (nodes[d[0]], samplers.timed(d[1].stream, "delay", d[1].distribution))
                for d in q.divert)
            for q in self.plans]
        self.draw_balk: list[Sampler | None] = [
            samplers.uniform(f"balk/{np_.name}") if np_.queue is not None and np_.queue.balk_probabilities else None
            for np_ in p.nodes]
        n = len(nodes)
        #: per node: boarding entries in its queue (patients holding a bed elsewhere), and places held
        #: for patients on their way; the boarding entries in the order they joined
        self.boarders = [0] * n
        self.incoming = [0] * n
        self.lines: list[deque[Blocked]] = [deque() for _ in range(n)]
        self.held: set[Patient] = set()
        self.add_unserved = host.recorder.add_unserved
        self.add_defect = host.recorder.add_defect
        self.travelled: Callbacks = (self.travel_done,)
        self.boarding: Boarding | None = None

    def wire(self, p: Plan, boarding: Boarding) -> None:
        """Check arrivals where a queue is limited or patients balk; let boarding patients move up into a place."""
        self.boarding = boarding
        boarded_into = {ep.target for ep in p.edges if any(cp.boarding for cp in ep.by_class)}
        for node, q in zip(self.host.nodes, self.plans):
            if q is None or not (q.limited or q.balks):
                continue
            for v in node.visits:
                v.add_arrival_handler(self.on_arrival)
            if q.limited and node.index in boarded_into:
                node.room = self.room

    # -- arrivals
    def on_arrival(self, pt: Patient, node: Node, t: float) -> bool:
        """Arrival handler: turn ``pt`` away if the queue is full, or let it balk (True: it did not join)."""
        i = node.index
        if pt.reserved:  # a bed is held for it (boarding)
            return False
        if pt in self.held:  # a place was held for it on its way here
            self.held.discard(pt)
            self.incoming[i] -= 1
            return False
        if node.busy < node.cap:
            return False
        waiting = self.waiting(node)
        limits = self.limits[i]
        if limits is not None and (limit := limits[pt.k]) is not None and waiting >= limit:
            self.full(pt, node, t)
            return True
        q = self.plans[i]
        assert q is not None  # the handler is wired only where there are rules
        if q.balk_at is not None:
            balks = waiting >= q.balk_at
        elif q.balk_probabilities:
            draw = self.draw_balk[i]
            assert draw is not None
            balks = draw() < balk_probability(q.balk_probabilities, waiting)
        else:
            return False
        if balks:
            self.leave_unseen(pt, node, t, t, BALKED)
        return balks

    def waiting(self, node: Node) -> int:
        """The queue a newcomer counts: patients waiting, and places held for those on their way."""
        i = node.index
        return node.nwait - self.boarders[i] + self.incoming[i]

    def full(self, pt: Patient, node: Node, t: float) -> None:
        """The queue is full for ``pt``: it is rejected, or diverted."""
        i = node.index
        q = self.plans[i]
        rules = self.divert[i]
        assert q is not None and rules is not None
        rule = rules[pt.k]
        if rule is None:
            self.add_unserved((pt.jid, i, t, t, REJECTED, LEFT))
            if q.rejected_defect is not None:
                self.defect(pt, i, t, q.rejected_defect)
            self.end_journey(pt, t, "rejected")
            return
        target, delay = rule
        self.add_unserved((pt.jid, i, t, t, DIVERTED, target.index))
        if q.diverted_defect is not None:
            self.defect(pt, i, t, q.diverted_defect)
        self.send(pt, target, t, delay.sample())

    def leave_unseen(self, pt: Patient, node: Node, arrived: float, t: float, how: int) -> None:
        """``pt`` left ``node``'s queue unseen at ``t`` (balked or reneged): a ``left_unseen`` defect, then
        ``renege_to`` or out of the pathway."""
        i = node.index
        q = self.plans[i]
        assert q is not None
        self.add_unserved((pt.jid, i, arrived, t, how, LEFT if q.renege_to is None else q.renege_to))
        self.defect(pt, i, t, q.left_unseen)
        if q.renege_to is None:
            self.end_journey(pt, t, "left_unseen")
        else:
            self.host.arrive(pt, self.host.nodes[q.renege_to], t)

    def defect(self, pt: Patient, i: int, t: float, code: int) -> None:
        """A defect ``code`` of microsystem ``i`` in ``pt``'s journey."""
        self.add_defect((pt.jid, t, i, code))
        pt.ndef += 1

    def end_journey(self, pt: Patient, t: float, outcome: str) -> None:
        """``pt`` leaves the pathway at the microsystem it could not join; ``outcome`` says why
        (``"rejected"`` or ``"left_unseen"``).

        Every journey the queue rules end ends here, with its outcome (``Model.outcomes``).
        """
        pt.outcome = self.outcome_codes[outcome]
        self.host.leave(pt, t)

    def send(self, pt: Patient, target: Node, t: float, d: float) -> None:
        """``pt`` goes to ``target``, arriving ``d`` minutes after ``t`` (no handoff: a diversion or a move up)."""
        if d > 0.0:
            pt.node = target
            pt.arr = t + d  # the event time, as simpy computes it
            pt.callbacks = self.travelled
            self.schedule(pt, NORMAL, d)
        else:
            self.host.arrive(pt, target, t)

    def travel_done(self, pt: Patient) -> None:
        self.host.arrive(pt, pt.node, pt.arr)

    # -- boarding into a limited queue
    def take_place(self, pt: Patient, target: Node) -> bool:
        """True, and a place is held for ``pt`` on its way, if ``target``'s queue has room for it."""
        limits = self.limits[target.index]
        limit = None if limits is None else limits[pt.k]
        if limit is not None and self.waiting(target) >= limit:
            return False
        self.hold_place(pt, target)
        return True

    def hold_place(self, pt: Patient, target: Node) -> None:
        self.incoming[target.index] += 1
        self.held.add(pt)

    def boarded(self, entry: Blocked, target: Node) -> None:
        """A boarding patient's entry joined ``target``'s full queue: it moves up when a place frees."""
        self.boarders[target.index] += 1
        self.lines[target.index].append(entry)

    def unboarded(self, pt: Patient, target: Node) -> None:
        """A boarding patient's entry reached a free bed at ``target`` before a place freed."""
        i = target.index
        if self.limits[i] is None:
            return
        line = self.lines[i]
        for entry in line:
            if entry.patient is pt:
                line.remove(entry)
                self.boarders[i] -= 1
                return

    def room(self, node: Node, t: float) -> None:
        """A queued patient started at ``node``: the first boarding patients move up into the free places."""
        i = node.index
        line = self.lines[i]
        limits = self.limits[i]
        boarding = self.boarding
        if limits is None or boarding is None:
            raise SimulationError(f"{node.name}: a place freed in a queue without a limit")
        while line:
            entry = line[0]
            pt = entry.patient
            limit = limits[pt.k]
            if node.busy >= node.cap and limit is not None and self.waiting(node) >= limit:
                return
            line.popleft()
            node.queues[pt.rank].remove(entry)
            node.nwait -= 1
            self.boarders[i] -= 1
            self.hold_place(pt, node)  # before the bed behind is freed: what that sets off cannot take the place
            self.send(pt, node, t, boarding.move_up(pt, node, t))

