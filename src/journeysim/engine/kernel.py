"""The kernel of the discrete-event engine: a replication's state and its hot path.

Design
------
Every activity (an arrival, the end of a microsystem's own work, the end of a
support service, the end of a transfer) is **one** event scheduled on simpy's
:class:`simpy.Environment`, carrying a callback that changes the state. There
are no generator processes and no ``simpy.Resource`` objects: a process per
patient costs about three events per visit (request, grant, timeout) where this
costs one, and waiting lines are plain deques, one per priority level. A patient
is its own event (:mod:`journeysim.engine.events`).

The kernel does what every model does: patients arrive (:class:`Source`), take a
server or queue (:meth:`Kernel.arrive`, :meth:`Kernel.start`), finish their visit
(:meth:`Kernel.finish`), and are handed off (:meth:`Kernel.depart`) or leave
(:meth:`Kernel.leave`). What only some models do belongs to a **concern**, one
module each: :mod:`~journeysim.engine.defects`, :mod:`~journeysim.engine.support`,
:mod:`~journeysim.engine.schedules` (capacity schedules, activation),
:mod:`~journeysim.engine.timeliness` (milestones, standards),
:mod:`~journeysim.engine.boarding`, :mod:`~journeysim.engine.limits` (queue limits,
diversion, balking) and :mod:`~journeysim.engine.patience` (reneging). A concern fills fields of the per-visit and
per-handoff records (:mod:`journeysim.engine.state`) at wiring time; the kernel
calls it only where such a field is not ``None``. ``docs/architecture.md`` ("The
engine: a kernel and its concerns") is the contract for adding one.

Random numbers come from named streams (:mod:`journeysim.engine.streams`) drawn in
numpy blocks, so that a draw in the hot loop is one call of a list iterator.

The engine reads the :class:`~journeysim.model.mesosystem.Model` and never writes into it;
each replication builds fresh state and returns :class:`~journeysim.engine.records.Records`.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> model = Model([Microsystem("Clinic", capacity=1, service=Exponential(8))],
...               classes=[PatientClass("all", entry="Clinic", rate=0.1)])
>>> rec = run_replication(model, horizon=1000, seed=1)
>>> len(rec.journeys) == len(rec.visits)
True
"""

from __future__ import annotations

import gc
import itertools
from bisect import bisect_right

from ..errors import SimulationError
from ..model.distributions import Exponential
from ..model.mesosystem import Model
from .aggregate import ReplicationStats
from .attributes import Attributes
from .boarding import Boarding
from .defects import Defects
from .events import NORMAL, Callbacks, environment, pending
from .exits import Exits
from .horizon import Stop
from .limits import QueueLimits
from .patience import Patience
from .plan import ClassPlan, Plan, plan
from .recorder import VISIT_FIELDS, Columns, Recorder
from .records import Records
from .schedules import Activation, CapacitySchedules
from .state import ArrivalHandler, Choice, Node, Patient, StartWork, Transfer, Visit
from .steps import wire_steps
from .streams import Samplers, SeedLike, StreamFactory
from .support import Support
from .timeliness import Timeliness, n_cells, standard_cells

__all__ = ["run_replication", "simulate_replication", "Kernel", "Source"]


def run_replication(
    model: Model | Plan,
    *,
    horizon: float,
    warmup: float = 0.0,
    seed: SeedLike = None,
    replication: int = 0,
    end: str = "drain",
) -> Records:
    """Simulate one replication of ``model`` and return its records.

    Patients arrive until ``horizon`` (minutes); every journey that arrived
    before the horizon is followed until it leaves the pathway, so no journey
    is cut short, unless ``end="stop"``. ``warmup`` is recorded in the result
    for the statistics.

    Parameters
    ----------
    model : Model or Plan
    horizon : float
        Arrivals stop at this time (minutes).
    warmup : float
        Stored in the records; statistics leave out journeys that arrived before it.
    seed : int, SeedSequence, Generator or None
        Root seed of the experiment.
    replication : int
        Replication index: with the root seed and the stream names, it fixes
        every random number of the replication.
    end : {"drain", "stop"}
        ``"stop"`` ends the simulation at the horizon; what was unfinished there
        is ``NaN`` in the records (:mod:`~journeysim.engine.horizon`).

    Returns
    -------
    Records

    Raises
    ------
    SimulationError
        When patients deadlock (every bed of some microsystems held by patients
        boarding for a bed in another of them).
    """
    p = model if isinstance(model, Plan) else plan(model)
    records, _ = simulate_replication(p, horizon=horizon, warmup=warmup, seed=seed, replication=replication,
                                      end=end)
    if records is None:
        raise SimulationError("a replication kept its records and returned none")
    return records


def simulate_replication(
    p: Plan,
    *,
    horizon: float,
    warmup: float,
    seed: SeedLike,
    replication: int,
    keep_records: bool = True,
    chunk_rows: int = 20_000,
    end: str = "drain",
) -> tuple[Records | None, ReplicationStats]:
    """Simulate one replication; return its records (or ``None``) and its statistics.

    With ``keep_records=False`` (summary mode) the rows are reduced into the
    statistics whenever about ``chunk_rows`` visits and requests have piled up,
    and then dropped, so memory stays bounded however many journeys the
    replication has. ``end="stop"`` ends the simulation at the horizon.
    """
    # The engine makes no reference cycles per event, so the cyclic collector would
    # only rescan the growing record lists (10-15% of the run time); it is paused
    # for the replication and restored as it was, as the standard library's timeit does.
    collecting = gc.isenabled()
    gc.disable()
    try:
        kernel = Kernel(p, horizon, warmup, seed, replication, keep_records, chunk_rows, end == "stop")
        return kernel.run()
    finally:
        if collecting:
            gc.enable()


class Kernel:
    """One replication: its clock, microsystems and records, the concerns, and the hot path."""

    __slots__ = (
        "p", "env", "schedule", "nodes", "recorder", "stats", "horizon", "warmup", "replication", "keep_records",
        "in_system", "first_counted", "flush_at", "next_jid", "add_visit", "add_handoff", "add_journey",
        "defects", "capacity", "activation", "timeliness", "support", "boarding", "sources",
        "finished", "transferred", "held", "exits", "limits", "patience", "attributes", "stop",
    )

    def __init__(self, p: Plan, horizon: float, warmup: float, seed: SeedLike, replication: int,
                 keep_records: bool, chunk_rows: int, stop: bool = False) -> None:
        self.p = p
        self.horizon = horizon
        self.warmup = warmup
        self.replication = replication
        self.keep_records = keep_records
        samplers = Samplers(StreamFactory(seed, replication))
        self.env, self.schedule = environment()
        self.recorder = rec = Recorder()
        self.add_visit = rec.add_visit
        self.add_handoff = rec.add_handoff
        self.add_journey = rec.add_journey
        self.stats = ReplicationStats.empty(
            n_classes=len(p.classes), n_nodes=len(p.nodes), n_edges=len(p.edges), n_requests=len(p.requests),
            keep_values=keep_records, replication=replication, horizon=horizon, warmup=warmup,
            n_standards=len(p.standards), n_cells=n_cells(p), n_outcomes=len(p.outcome_names), stopped=stop,
        )
        #: journeys still on the pathway; journeys numbered below ``first_counted`` arrived before the warm-up
        self.in_system = 0
        self.first_counted = 0
        self.flush_at = VISIT_FIELDS * chunk_rows if not keep_records else -1
        self.next_jid = itertools.count().__next__
        self.finished: Callbacks = (self.finish,)
        self.transferred: Callbacks = (self.transfer_done,)
        self.held: Callbacks = (self.hold_done,)
        self.nodes = self.build_nodes(p, samplers)
        transfers = self.build_transfers(p, samplers)
        self.wire(p, samplers, transfers)
        self.sources = [Source(self, cp, k, samplers) for k, cp in enumerate(p.classes) if cp.rate > 0]
        #: a run that stops at the horizon: its end (None when the run drains)
        self.stop = None if not stop else Stop(self, self.horizon, self.timeliness, self.support, self.boarding,
                                               self.activation, [s.arrived_cb for s in self.sources],
                                               travelling=[self.limits.travelled])

    # -- building a replication's state
    def build_nodes(self, p: Plan, samplers: Samplers) -> list[Node]:
        """The microsystems, each with a visit record per class (service only; the rest is wired)."""
        # the steps' end times are needed where a milestone or an activation is a step end; every
        # class that shares those steps' streams must then share one sampler of them
        stepwise = {vp.steps.stream for np_ in p.nodes for vp in np_.by_class if vp.at_steps}
        nodes = []
        for i, np_ in enumerate(p.nodes):
            node = Node(i, np_.name, np_.capacity, p.n_ranks)
            node.exit_delay, node.draw_exit = samplers.timed(np_.exit_delay.stream, "delay",
                                                             np_.exit_delay.distribution)
            for vp in np_.by_class:
                stream, steps = vp.steps.stream, vp.steps.steps
                if vp.steps.conditions is not None:  # steps selected by attribute: every step drawn (steps.py)
                    node.visits.append(Visit(0.0, samplers.selective(stream, steps)))
                    continue
                sampler = samplers.stepwise(stream, steps) if stream in stepwise else None
                if sampler is None or isinstance(sampler, tuple):
                    service = samplers.duration(stream, steps)
                    node.visits.append(Visit(service.fixed, service.draw))
                else:
                    node.visits.append(Visit(0.0, sampler))
            nodes.append(node)
        return nodes

    def build_transfers(self, p: Plan, samplers: Samplers) -> list[list[Transfer]]:
        """The handoffs, per class; and each visit's routing over them."""
        transfers: list[list[Transfer]] = []
        for e, ep in enumerate(p.edges):
            per_class = []
            for cp in ep.by_class:
                delay = samplers.timed(cp.delay.stream, "delay", cp.delay.distribution)
                per_class.append(Transfer(e, self.nodes[ep.target], delay.fixed, delay.draw))
            transfers.append(per_class)
        for node, np_ in zip(self.nodes, p.nodes):
            draw = samplers.uniform(f"route/{np_.name}")
            for k, (v, vp) in enumerate(zip(node.visits, np_.by_class)):
                r = vp.route
                if r is None:
                    continue
                if len(r.edges) == 1 and r.cumulative[0] >= 1.0:
                    v.edge = transfers[r.edges[0]][k]
                else:
                    v.choice = Choice(tuple(transfers[e][k] for e in r.edges), r.cumulative, draw)
        return transfers

    def wire(self, p: Plan, samplers: Samplers, transfers: list[list[Transfer]]) -> None:
        """Make the concerns and let each fill its fields; arrival handlers run in this order."""
        self.capacity = CapacitySchedules(self, p, self.horizon)
        self.limits = QueueLimits(self, p, samplers)
        self.defects = Defects(self, p, samplers)
        self.activation = Activation(self, p, samplers)
        self.timeliness = Timeliness(self, p, self.activation)
        self.support = Support(self, p, samplers, self.defects)
        self.exits = Exits(self, p, samplers)
        self.boarding = Boarding(self, p, self.replication,
                                 self.limits if any(np_.queue is not None for np_ in p.nodes) else None)
        self.patience = Patience(self, p, samplers, self.limits)
        self.attributes = Attributes(self, p, samplers)
        self.capacity.wire()
        self.limits.wire(p, self.boarding)  # after the capacity is brought up to date, before any other arrival work
        self.defects.wire(p, self.nodes, transfers)
        self.timeliness.wire(p, transfers)
        self.activation.wire(p)
        self.patience.wire()  # last: only a patient who will queue draws its patience
        self.support.wire(p, samplers)
        self.boarding.wire(p, transfers)
        self.exits.wire()
        self.attributes.wire(p, samplers, transfers)
        wire_steps(self.nodes, p)

    # -- running
    def run(self) -> tuple[Records | None, ReplicationStats]:
        """Run until every journey has ended (or to the horizon); the records (None in summary mode), the statistics."""
        self.capacity.begin()  # scheduled before any arrival: at equal times, capacity changes come first
        for source in self.sources:
            source.begin()
        if self.stop is not None:
            return self.run_to_horizon(self.stop)
        self.env.run()
        if self.in_system:  # every event is done, yet patients remain: a bug, never a silent wrong answer
            raise SimulationError(f"{self.in_system} patients never left the pathway in replication {self.replication}")
        tables = self.flush()
        if not self.keep_records:
            return None, self.stats
        records = Records.from_columns(self.replication, self.horizon, self.warmup, tables, self.p.labels())
        return records, self.stats

    def run_to_horizon(self, stop: Stop) -> tuple[Records | None, ReplicationStats]:
        """Run to the horizon and no further; what was unfinished there is written by ``stop``."""
        self.env.run(until=self.horizon)
        stop.census(pending(self.env), self.in_system)
        tables = self.flush(final=True)
        if not self.keep_records:
            return None, self.stats
        records = Records.from_columns(self.replication, self.horizon, self.warmup, tables, self.p.labels(),
                                       end="stop")
        return records, self.stats

    def flush(self, final: bool = False) -> dict[str, Columns]:
        """Turn the rows into columns, add them to the statistics and drop the rows; returns the columns.

        Summary mode flushes whenever enough rows have piled up; the end of a run flushes
        what is left. Dropping the rows at once keeps what the cyclic collector later
        frees small, not a replication's rows.
        """
        tables = self.recorder.tables(self.p)
        self.recorder.clear()
        in_progress = None
        if self.stop is not None:  # a run that stops at the horizon: a journey's rows are reduced together
            tables, in_progress = self.stop.settle(tables, final)
        self.stats.add_tables(tables, first_counted=self.first_counted,
                              cells=standard_cells(self.p, tables["standards"], self.recorder.attrs_of),
                              costs=self.p.costs,
                              in_progress=in_progress)
        return tables

    # -- the hot path
    def arrive(self, pt: Patient, node: Node, t: float) -> None:
        """``pt`` arrives at ``node`` at ``t``: the arrival handlers, then a server or the queue."""
        pt.node = node
        pt.arr = t
        handlers = node.visits[pt.k].on_arrive
        if handlers is not None and self.arrival_work(pt, node, t, handlers):
            return
        if node.busy >= node.cap:
            node.queues[pt.rank].append(pt)
            node.nwait += 1
            return
        self.start(pt, node, t)

    def arrival_work(self, pt: Patient, node: Node, t: float, handlers: tuple[ArrivalHandler, ...]) -> bool:
        """Run the arrival handlers in order; True when one took the patient (it waits elsewhere)."""
        for handler in handlers:
            if handler(pt, node, t):
                return True
        return False

    def enter(self, pt: Patient, node: Node, t: float) -> None:
        """``pt`` takes a server of ``node`` if one is free, else queues (its arrival was handled already)."""
        if node.dormant is not None:
            self.wake(node, t)
        if node.busy >= node.cap:
            node.queues[pt.rank].append(pt)
            node.nwait += 1
        else:
            self.start(pt, node, t)

    def wake(self, node: Node, t: float) -> None:
        """Bring ``node``'s sleeping capacity schedule up to ``t``."""
        self.capacity.wake(node, t)

    def start(self, pt: Patient, node: Node, t: float) -> None:
        """``pt`` starts its visit on a free server of ``node`` at ``t``; its end is scheduled."""
        node.busy += 1
        pt.start = t
        v = node.visits[pt.k]
        draw = v.draw_service
        svc = v.service if draw is None else draw()
        pt.svc = svc
        work = v.work
        if work is None:
            pt.own_end = pt.end = t + svc
            pt.callbacks = self.finished
        else:
            svc = self.start_work(pt, t, svc, work)
        self.schedule(pt, NORMAL, svc)

    def start_work(self, pt: Patient, t: float, svc: float, work: StartWork) -> float:
        """The rarer work at the start of a visit: rework of a caught defect first (it holds the server),
        milestones at the ends of the visit's steps, and support requests; returns the visit's own work time."""
        shift = 0.0
        if work.select is not None:  # steps selected by attribute: the visit lasts the steps the patient has
            svc = pt.svc = work.select(pt)
        if work.rework and pt.rework:
            shift = self.defects.take_rework(pt)
            svc += shift
            pt.svc = svc
        if work.at_steps:
            self.timeliness.at_steps(pt, work, t + shift)
        if work.requests:
            self.support.request_all(pt, work.requests, t)
            pt.callbacks = self.support.own_done
        else:
            pt.own_end = pt.end = t + svc
            pt.callbacks = self.finished
        return svc

    def serve_next(self, node: Node, t: float) -> None:
        """Give a free server of ``node`` to the first in line (highest priority, then first come)."""
        node.nwait -= 1
        for q in node.queues:
            if q:
                nxt = q.popleft()
                if type(nxt) is Patient:
                    self.start(nxt, node, t)
                    if node.room is not None:  # a place in a limited queue is free for a boarding patient
                        node.room(node, t)
                else:
                    nxt.granted(node, t)
                return

    def finish(self, pt: Patient) -> None:
        """The end of a visit at ``pt.end`` (its own work done, and every support result back).

        Its steps: the visit's defects; the handoff chosen (or the exit, when the patient leaves); the bed
        kept (an exit delay, or boarding for a full target) or freed (:meth:`release`); the handoff (:meth:`depart`)
        and the arrival at the next microsystem, or leaving the pathway (:meth:`leave`).
        """
        t = pt.end
        node = pt.node
        v = node.visits[pt.k]
        nd = 0
        check = v.defects
        if v.load is not None:
            nd = self.defects.visit_load(pt, node, v.load, t)
        elif check is not None and check.draw_any() < check.p_any:
            nd = self.defects.visit(pt, node, check, t)
        edge = v.edge if v.choice is None else v.choice.pick()
        if edge is None and v.route is not None:
            edge = v.route.pick(pt, t)
        if edge is None:
            if v.exits is None:
                hold = node.exit_delay if node.draw_exit is None else node.draw_exit()
            else:  # named exits: the outcome taken, and its delay
                hold = v.exits.choose(pt)
            if hold > 0.0:  # leaving the pathway, the patient keeps the bed for the exit delay
                pt.work_end = t
                pt.vdef = nd
                pt.free_at = t + hold  # the event time, as simpy computes it
                pt.callbacks = self.held
                self.schedule(pt, NORMAL, hold)
                return
        elif edge.boarding and self.boarding.blocks(pt, node, edge, t, nd):
            return
        # release(pt, node, t, t, nd), inlined on the hottest path: the call cost 3.6% of the tandem
        # benchmark's instructions (benchmarks/interleaved.py, valgrind); keep the two in step
        node.busy -= 1
        self.add_visit((pt.jid, node.index, pt.arr, pt.start, t, pt.svc, t - pt.own_end, nd, 0.0))
        if node.nwait and node.busy < node.cap:
            self.serve_next(node, t)
        if v.depart is not None:
            self.timeliness.reach(pt, v.depart, t)
        if edge is None:
            self.leave(pt, t)
            return
        d = self.depart(pt, edge, t, 0.0)
        if d > 0.0:
            pt.node = edge.target
            pt.arr = t + d  # the event time, as simpy computes it
            pt.callbacks = self.transferred
            self.schedule(pt, NORMAL, d)
        else:
            self.arrive(pt, edge.target, t)

    def release(self, pt: Patient, node: Node, work_end: float, t: float, nd: int) -> None:
        """Record the visit, give the server to the next in line, and run the departure hook."""
        node.busy -= 1
        self.add_visit((pt.jid, node.index, pt.arr, pt.start, t, pt.svc, work_end - pt.own_end, nd, t - work_end))
        if node.nwait and node.busy < node.cap:
            self.serve_next(node, t)
        depart = node.visits[pt.k].depart
        if depart is not None:
            self.timeliness.reach(pt, depart, t)

    def depart(self, pt: Patient, edge: Transfer, t: float, blocked: float) -> float:
        """``pt`` leaves over ``edge`` at ``t`` (after boarding ``blocked`` minutes): the handoff's milestone,
        its defects and its row. Returns the transfer's delay."""
        if edge.hook is not None:
            self.timeliness.reach(pt, edge.hook, t)
        kinds = 0
        check = edge.defects
        if edge.risk is not None:
            kinds = self.defects.handoff_risk(pt, edge, edge.risk, t)
        elif check is not None and check.draw_any() < check.p_any:
            kinds = self.defects.handoff(pt, edge, check, t)
        draw = edge.draw_delay
        d = edge.delay if draw is None else draw()
        self.add_handoff((pt.jid, edge.index, t, t + d, kinds, blocked))
        return d

    def transfer_done(self, pt: Patient) -> None:
        self.arrive(pt, pt.node, pt.arr)

    def hold_done(self, pt: Patient) -> None:
        """The exit delay is over: the bed is free and the patient leaves."""
        self.release(pt, pt.node, pt.work_end, pt.free_at, pt.vdef)
        self.leave(pt, pt.free_at)

    def leave(self, pt: Patient, t: float) -> None:
        """``pt`` leaves the pathway at ``t``: its standards are judged and its journey recorded."""
        missed = self.timeliness.judge(pt, t) if self.timeliness.class_standards[pt.k] else 0
        self.add_journey((pt.jid, pt.k, pt.entry, pt.t0, t, pt.node.index, pt.ndef, missed, pt.outcome))
        self.in_system -= 1
        if self.flush_at > 0 and self.recorder.pending() > self.flush_at:
            self.flush()


class Source:
    """The arrivals of one patient class: each patient is scheduled as its own event at its arrival time."""

    __slots__ = ("kernel", "k", "rank", "gap", "thin", "peak", "profile", "entries", "cumulative", "choose",
                 "last", "first_hook", "horizon", "warmup", "n_slots", "draw_z", "class_of", "arrived_cb", "env",
                 "schedule", "draw_attrs")

    def __init__(self, kernel: Kernel, cp: ClassPlan, k: int, samplers: Samplers) -> None:
        self.kernel = kernel
        self.k = k
        self.rank = cp.rank
        self.profile = cp.profile
        # with a profile, candidates come at the peak rate and each is kept with probability
        # rate(t) / peak judged at its own time (thinning): an exact non-homogeneous process
        self.peak = 1.0 if cp.profile is None else cp.profile.peak
        self.gap = samplers.timed(f"arrivals/{cp.name}", "gap", Exponential(1.0 / (cp.rate * self.peak))).sampler()
        self.thin = None if cp.profile is None else samplers.uniform(f"arrivals/{cp.name}/thin")
        self.entries = [kernel.nodes[i] for i in cp.entries.nodes]
        self.cumulative = cp.entries.cumulative
        self.choose = samplers.uniform(f"entry/{cp.name}") if len(self.entries) > 1 else None
        self.last = len(self.entries) - 1
        self.first_hook = kernel.timeliness.start_hooks[k]
        self.horizon = kernel.horizon
        self.warmup = kernel.warmup
        self.n_slots = kernel.timeliness.n_slots
        self.draw_z = kernel.defects.draw_z
        self.class_of = kernel.recorder.class_of
        self.arrived_cb: Callbacks = (self.arrived,)
        self.env = kernel.env
        self.schedule = kernel.schedule
        #: the journey's attributes, drawn on arrival (None: the model has no attributes or conditions)
        self.draw_attrs = kernel.attributes.draw if cp.attributes is not None else None

    def begin(self) -> None:
        """Schedule the first patient."""
        self.new_patient(self.next_arrival(0.0))

    def next_arrival(self, t: float) -> float:
        """The arrival time of the next patient after one at ``t``."""
        t += self.gap()
        if self.thin is not None and self.profile is not None:
            while t < self.horizon and self.thin() * self.peak >= self.profile.factor(t):
                t += self.gap()
        return t

    def new_patient(self, at: float) -> None:
        """A patient who will arrive at ``at``, unless that is after the horizon."""
        if at >= self.horizon:
            return
        pt = Patient()
        pt.k = self.k
        pt.rank = self.rank
        pt.ms = [_INF] * self.n_slots if self.n_slots else None
        pt.ready = None
        pt.reserved = False
        pt.callbacks = self.arrived_cb
        self.schedule(pt, NORMAL, at - self.env.now)

    def arrived(self, pt: Patient) -> None:
        """The patient arrives: a journey begins; the next patient of the class is scheduled."""
        kernel = self.kernel
        t = self.env.now
        pt.jid = kernel.next_jid()
        kernel.in_system += 1
        if t < self.warmup:
            kernel.first_counted += 1
        pt.t0 = t
        pt.ndef = 0
        pt.z = self.draw_z() if self.draw_z is not None else 1.0
        pt.prop = 1.0
        pt.rework = 0.0
        pt.outcome = 0
        self.class_of.append(pt.k)
        if self.draw_attrs is not None:
            self.draw_attrs(pt)
        if self.choose is None:
            node = self.entries[0]
        else:
            node = self.entries[min(bisect_right(self.cumulative, self.choose()), self.last)]
        pt.entry = node.index
        self.new_patient(self.next_arrival(t))
        if self.first_hook is not None:
            kernel.timeliness.reach(pt, self.first_hook, t)
        kernel.arrive(pt, node, t)


_INF = float("inf")
