"""Support requests: a visit asks support microsystems (lab, radiology, pharmacy) and waits for the results.

At the start of a visit each possible request is made with its probability. The
visit ends when its own work is done *and* every result is back: the patient keeps
the server meanwhile (the visit's ``support_wait``). A :class:`Request` is its own
pending event; it queues at the support microsystem like a patient (by the
patient's priority), is served, drawn for the support's own defects, travels back
(the request's delay), and is drawn for the request's defects on return. Each is a
``requests`` row.

Streams: ``request/{label}`` (whether it is made), the support microsystem's
``service/...`` and ``defect/...``, ``delay/{label}`` and ``defect/handoff/{label}``.

Examples
--------
>>> Request.__slots__[:3]
('owner', 'patient', 'r')
"""

from __future__ import annotations

from collections.abc import Sequence

from .defects import Defects
from .events import NORMAL, Callbacks, OwnEvent
from .plan import Plan
from .state import DefectDraw, Host, Node, Patient, RequestDraw
from .streams import Duration, Samplers

__all__ = ["Request", "Support"]


class Request(OwnEvent):
    """A support request; its own pending simpy event, and an entry in the support microsystem's queue."""

    __slots__ = ("owner", "patient", "r", "rank", "t_req", "t_start", "t_end", "sdef")

    owner: Support
    patient: Patient
    r: int
    rank: int
    t_req: float
    t_start: float
    t_end: float
    sdef: int

    def granted(self, node: Node, t: float) -> None:
        """A server of the support microsystem is free for this request."""
        self.owner.start(self, node, t)


class Support:
    """The support requests of one replication."""

    __slots__ = ("host", "env", "schedule", "defects", "targets", "delays", "checks", "n_links", "add_request",
                 "add_defect", "own_done", "request_done", "request_back")

    def __init__(self, host: Host, p: Plan, samplers: Samplers, defects: Defects) -> None:
        self.host = host
        self.env = host.env
        self.schedule = host.schedule
        self.defects = defects
        self.targets = [host.nodes[rp.target] for rp in p.requests]
        # per request, per class: the delay back and the request's defects
        self.delays: list[list[Duration]] = [
            [samplers.timed(cp.delay.stream, "delay", cp.delay.distribution) for cp in rp.by_class]
            for rp in p.requests
        ]
        self.checks: list[list[DefectDraw | None]] = [
            [defects.draws(f"handoff/{rp.label}", cp.defects) for cp in rp.by_class] for rp in p.requests
        ]
        #: element code of request 0 in the defects table
        self.n_links = len(p.nodes) + len(p.edges)
        self.add_request = host.recorder.add_request
        self.add_defect = host.recorder.add_defect
        self.own_done: Callbacks = (self.own_work_done,)
        self.request_done: Callbacks = (self.done,)
        self.request_back: Callbacks = (self.back,)

    def wire(self, p: Plan, samplers: Samplers) -> None:
        """Give the visits that may make requests their requests."""
        for node, np_ in zip(self.host.nodes, p.nodes):
            for v, vp in zip(node.visits, np_.by_class):
                if vp.requests:
                    v.start_work().requests = tuple(
                        RequestDraw(rc.request, rc.probability,
                                    samplers.uniform(f"request/{p.requests[rc.request].label}"))
                        for rc in vp.requests
                    )

    def request_all(self, pt: Patient, requests: Sequence[RequestDraw], t: float) -> None:
        """Make the visit's requests at its start; the visit's own work counts as one more result awaited."""
        pending = 1
        for rq in requests:
            if rq.draw() < rq.probability:
                pending += 1
                self.send(pt, rq.request, t)
        pt.pending = pending

    def send(self, pt: Patient, r: int, t: float) -> None:
        rq = Request()
        rq.owner = self
        rq.patient = pt
        rq.r = r
        rq.rank = pt.rank
        rq.t_req = t
        node = self.targets[r]
        if node.dormant is not None:
            self.host.wake(node, t)
        if node.busy < node.cap:
            self.start(rq, node, t)
        else:
            node.queues[rq.rank].append(rq)
            node.nwait += 1

    def start(self, rq: Request, node: Node, t: float) -> None:
        node.busy += 1
        rq.t_start = t
        v = node.visits[rq.patient.k]
        svc = v.service if v.draw_service is None else v.draw_service()
        rq.callbacks = self.request_done
        self.schedule(rq, NORMAL, svc)

    def done(self, rq: Request) -> None:
        """The support service is done: its defects, the next request in line, the way back."""
        t = self.env.now
        r = rq.r
        node = self.targets[r]
        node.busy -= 1
        pt = rq.patient
        nd = 0
        for c in self.defects.drawn(pt, node.visits[pt.k].defects):
            nd += 1
            self.add_defect((pt.jid, t, node.index, c))
        pt.ndef += nd
        rq.sdef = nd
        rq.t_end = t
        if node.nwait and node.busy < node.cap:
            self.host.serve_next(node, t)
        d = self.delays[r][pt.k].sample()
        if d > 0.0:
            rq.callbacks = self.request_back
            self.schedule(rq, NORMAL, d)
        else:
            self.returned(rq, t)

    def back(self, rq: Request) -> None:
        self.returned(rq, self.env.now)

    def returned(self, rq: Request, t: float) -> None:
        """The result is back: the request's defects, its row; the visit ends when nothing more is awaited."""
        pt = rq.patient
        r = rq.r
        kinds = 0
        for c in self.defects.drawn(pt, self.checks[r][pt.k]):
            kinds |= 1 << c
            self.add_defect((pt.jid, t, self.n_links + r, c))
            pt.ndef += 1
        self.add_request((pt.jid, r, rq.t_req, rq.t_start, rq.t_end, t, rq.sdef, kinds))
        pt.pending -= 1
        if not pt.pending:
            pt.end = t
            self.host.finish(pt)

    def own_work_done(self, pt: Patient) -> None:
        """The visit's own work is done; it ends now if every result is back."""
        t = self.env.now
        pt.own_end = t
        pt.pending -= 1
        if not pt.pending:
            pt.end = t
            self.host.finish(pt)
