"""The discrete-event engine: the only module that imports simpy.

Design
------
Every activity (an arrival, the end of a microsystem's own work, the end of a
support service, the end of a transfer) is **one** event scheduled on simpy's
:class:`simpy.Environment`, carrying a callback that changes the state. There
are no generator processes and no ``simpy.Resource`` objects: a process per
patient costs about three events per visit (request, grant, timeout) where this
costs one, and waiting lines are plain deques, one per priority level.

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
from array import array
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import simpy

from ..errors import SimulationError
from ..model.clock import Window
from ..model.distributions import Distribution, Exponential, Fixed
from ..model.kinds import CAUGHT_BIT, HANDOFF_KINDS, INFORMATION, REQUEST_KINDS, bit, code
from ..model.mesosystem import Model
from ..model.profiles import MINUTES_PER_WEEK
from .aggregate import ReplicationStats
from .plan import UNLIMITED, DefectCheck, Hook, Plan, defect_check, plan
from .records import Records
from .streams import SeedLike, StreamFactory

__all__ = ["run_replication", "simulate_replication"]

_BLOCK = 512
_NORMAL = 1  # simpy's priority of ordinary events
_VISIT_FIELDS = 9  # numbers per visit row in the flat list


# -- random streams in blocks --------------------------------------------------------
def _blocks(draw: Callable[[int], np.ndarray]) -> Iterator[float]:
    while True:
        yield from draw(_BLOCK).tolist()


def _summed(dists: list[Distribution], gens: list[np.random.Generator]) -> Iterator[float]:
    while True:
        total = dists[0].sample(gens[0], _BLOCK)
        for d, g in zip(dists[1:], gens[1:]):
            total = total + d.sample(g, _BLOCK)
        yield from total.tolist()


class _Streams:
    """Block samplers of the named streams of one replication, made on first use."""

    __slots__ = ("factory", "_cache")

    def __init__(self, factory: StreamFactory) -> None:
        self.factory = factory
        self._cache: dict[str, Callable[[], float]] = {}

    def uniform(self, name: str) -> Callable[[], float]:
        """Sampler of U(0, 1) numbers of stream ``name``."""
        if name not in self._cache:
            self._cache[name] = _blocks(self.factory.generator(name).random).__next__
        return self._cache[name]

    def duration(self, name: str, steps: tuple[tuple[str, Distribution], ...]) -> Callable[[], float] | float:
        """Sampler of a duration made of steps; a float when it is fixed.

        Classes that share a distribution share its stream (and its sampler).
        """
        if all(isinstance(d, Fixed) for _, d in steps):
            return float(sum(d.mean for _, d in steps))
        if name not in self._cache:
            gens = [self.factory.generator(f"{name}/{s}") for s, _ in steps]
            self._cache[name] = _summed([d for _, d in steps], gens).__next__
        return self._cache[name]

    def defects(self, name: str, check: DefectCheck) -> tuple[Any, ...] | None:
        """``(p_any, draw_any, ((code, p), ...), draw_which)`` for one element and class."""
        if check is None:
            return None
        p_any, pairs = check
        return (p_any, self.uniform(f"defect/{name}"), pairs, self.uniform(f"defect/{name}/which"))


def _which(triples: tuple[tuple[int, float, float], ...], draw: Callable[[], float]) -> list[int]:
    """Codes of the defects that occurred, given that at least one did (see :mod:`journeysim.engine.plan`)."""
    if len(triples) == 1:
        return [triples[0][0]]
    hit: list[int] = []
    for code, p, p_first in triples:
        if draw() < (p if hit else p_first):
            hit.append(code)
    return hit


# -- the simulation -------------------------------------------------------------------
class _Patient:
    """A patient; it is also its own pending simpy event (one at a time)."""

    __slots__ = ("callbacks", "_ok", "_value", "jid", "k", "rank", "node", "arr", "start", "svc",
                 "own_end", "pending", "entry", "t0", "ndef", "work_end", "vdef", "free_at",
                 "edge", "ms", "ready", "reserved", "blocked_at", "occ", "z", "prop", "rework")


class _Request:
    """A support request; also its own pending simpy event."""

    __slots__ = ("callbacks", "_ok", "_value", "patient", "r", "rank", "t_req", "t_start", "t_end", "sdef")


class _Blocked:
    """A place in a queue held by a patient who is still in the previous microsystem's bed."""

    __slots__ = ("patient",)

    def __init__(self, patient: _Patient) -> None:
        self.patient = patient


class _Tick:
    """A change of a microsystem's capacity; its own pending simpy event."""

    __slots__ = ("callbacks", "_ok", "_value", "node", "piece", "week")


class _Stepwise:
    """Sampler of a visit's steps that also keeps the steps' end times (for milestones)."""

    __slots__ = ("it", "ends")

    def __init__(self, dists: list[Distribution], gens: list[np.random.Generator]) -> None:
        self.it = self._draw(dists, gens)
        self.ends: tuple[float, ...] = ()

    @staticmethod
    def _draw(dists: list[Distribution], gens: list[np.random.Generator]) -> Iterator[tuple[float, ...]]:
        while True:
            # the same draws, summed in the same order, as the plain sampler of these steps
            cols = [d.sample(g, _BLOCK) for d, g in zip(dists, gens)]
            yield from zip(*np.cumsum(np.vstack(cols), axis=0).tolist())

    def __call__(self) -> float:
        self.ends = ends = next(self.it)
        return ends[-1]


def run_replication(
    model: Model | Plan,
    *,
    horizon: float,
    warmup: float = 0.0,
    seed: SeedLike = None,
    replication: int = 0,
) -> Records:
    """Simulate one replication of ``model`` and return its records.

    Patients arrive until ``horizon`` (minutes); every journey that arrived
    before the horizon is followed until it leaves the pathway, so no journey
    is cut short. ``warmup`` is recorded in the result for the statistics.

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
    records, _ = simulate_replication(p, horizon=horizon, warmup=warmup, seed=seed, replication=replication)
    assert records is not None
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
) -> tuple[Records | None, ReplicationStats]:
    """Simulate one replication; return its records (or ``None``) and its statistics.

    With ``keep_records=False`` (summary mode) the rows are reduced into the
    statistics whenever about ``chunk_rows`` visits and requests have piled up,
    and then dropped, so memory stays bounded however many journeys the
    replication has.
    """
    # The engine makes no reference cycles per event, so the cyclic collector would
    # only rescan the growing record lists (10-15% of the run time); it is paused
    # for the replication and restored as it was, as the standard library's timeit does.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _simulate(p, horizon, warmup, seed, replication, keep_records, chunk_rows)
    finally:
        if collecting:
            gc.enable()


def _simulate(
    p: Plan, horizon: float, warmup: float, seed: SeedLike, replication: int, keep_records: bool, chunk_rows: int
) -> tuple[Records | None, ReplicationStats]:
    streams = _Streams(StreamFactory(seed, replication))
    env = simpy.Environment()
    schedule = env.schedule
    n_nodes = len(p.node_names)
    n_edges = len(p.edge_labels)
    n_classes = len(p.class_names)
    n_elements = n_nodes + n_edges + len(p.request_labels)

    # per-node state and samplers
    busy = [0] * n_nodes
    cap = [UNLIMITED if c is None else c for c in p.capacity]
    for i, pieces in enumerate(p.capacity_schedule):
        if pieces is not None:
            cap[i] = pieces[0][1]  # the piece at Monday 00:00
    nwait = [0] * n_nodes
    queues = [[deque() for _ in range(p.n_ranks)] for _ in range(n_nodes)]

    # the steps' end times are needed where a milestone or an activation is a step end; every
    # class that shares those steps' streams must then share one sampler of them
    stepwise = {p.steps[i][k][0] for i in range(n_nodes) for k in range(n_classes) if p.hook_steps[i][k]}

    def sampler(i: int, k: int) -> Any:
        prefix, steps = p.steps[i][k]
        if prefix not in stepwise or all(isinstance(d, Fixed) for _, d in steps):
            return streams.duration(prefix, steps)
        key = f"{prefix}#steps"
        if key not in streams._cache:  # classes that share the steps share the sampler
            gens = [streams.factory.generator(f"{prefix}/{s}") for s, _ in steps]
            streams._cache[key] = _Stepwise([d for _, d in steps], gens)  # type: ignore[assignment]
        return streams._cache[key]

    service = [[sampler(i, k) for k in range(n_classes)] for i in range(n_nodes)]
    node_defects = [
        [streams.defects(name, check) for check in per_node] for name, per_node in zip(p.node_names, p.node_defects)
    ]
    frail = not p.model.frailty.is_independent
    draw_z = p.model.frailty.sampler(streams.factory.generator("frailty")) if frail else None

    def special_edge(label: str, spec: Any) -> Any:
        """(pairs, the two defect streams, catch probability, its stream, rework time, propagation)."""
        if spec is None:
            return None
        pairs, catch, (name, rework), prop = spec
        return (pairs, streams.uniform(f"defect/handoff/{label}"), streams.uniform(f"defect/handoff/{label}/which"),
                catch, streams.uniform(f"catch/{label}") if catch > 0 else None,
                streams.duration(name, (("rework", rework),)), prop)

    # a handoff, per class: (code, defect check, delay, target, hook at departure, boarding,
    # None or what defect draws need beyond the check: frailty, recovery, propagation)
    edge_info = [
        [
            (e, streams.defects(f"handoff/{label}", check), streams.duration(name, (("delay", d),)), dst,
             _hook(streams, p.hook_edge[e][k]), p.boarding[e][k], special_edge(label, p.edge_special[e][k]))
            for k, (check, (name, d)) in enumerate(zip(checks, delays))
        ]
        for e, (label, checks, delays, (_, dst)) in enumerate(
            zip(p.edge_labels, p.edge_defects, p.edge_delays, p.edge_ends)
        )
    ]
    # defects that rise with the wait and the occupancy: (pairs, per wait hour, per occupant,
    # the node's two defect streams), per [node][class]
    load = [
        [None if ld is None else (*ld, streams.uniform(f"defect/{name}"), streams.uniform(f"defect/{name}/which"))
         for ld in per_node]
        for name, per_node in zip(p.node_names, p.load_defects or [[None] * n_classes] * n_nodes)
    ]
    # what happens when a visit ends, per [node][class]: (defect check, certain handoff or
    # None, random choice of handoffs or None, hook at departure, any boarding handoff,
    # load-dependent defects or None)
    after: list[list[tuple[Any, ...]]] = []
    for i, (name, per_node) in enumerate(zip(p.node_names, p.routes)):
        draw = streams.uniform(f"route/{name}")
        row = []
        for k, r in enumerate(per_node):
            depart = _hook(streams, p.hook_depart[i][k])
            if r is None:
                row.append((node_defects[i][k], None, None, depart, False, load[i][k]))
            elif len(r[0]) == 1 and r[1][0] >= 1.0:
                row.append((node_defects[i][k], edge_info[r[0][0]][k], None, depart, p.boarding[r[0][0]][k],
                            load[i][k]))
            else:
                row.append((node_defects[i][k], None, (tuple(edge_info[e][k] for e in r[0]), r[1], draw), depart,
                            any(p.boarding[e][k] for e in r[0]), load[i][k]))
        after.append(row)
    node_requests = [
        [tuple((r, prob, streams.uniform(f"request/{p.request_labels[r]}")) for r, prob in pc) for pc in pn]
        for pn in p.node_requests
    ]
    # the rarer work at the start of a visit, per [node][class]: None, or
    # (requests, hooks at step ends, step sampler or the fixed step ends, rework may come first)
    extra = [
        [
            None if not node_requests[i][k] and not p.hook_steps[i][k] and not p.rework_nodes[i] else (
                node_requests[i][k],
                tuple((s, _hook(streams, h)) for s, h in p.hook_steps[i][k]),
                service[i][k] if isinstance(service[i][k], _Stepwise)
                else tuple(itertools.accumulate(d.mean for _, d in p.steps[i][k][1])),
                p.rework_nodes[i],
            )
            for k in range(n_classes)
        ]
        for i in range(n_nodes)
    ]
    # on arrival, per [node][class]: None, or (hook, team-ready pieces if the visit waits for the team)
    team = [
        None if pieces is None else (
            [t for t, _ in pieces], [streams.duration(name, (("ready", d),)) for _, (name, d) in pieces]
        )
        for pieces in p.team_ready
    ]
    counts_occupancy = [
        [load[i][k] is not None and load[i][k][2] > 0 for k in range(n_classes)] for i in range(n_nodes)
    ]
    scheduled = [pieces is not None for pieces in p.capacity_schedule]
    on_arrive = [
        [
            None if (p.hook_arrive[i][k] is None and not p.needs_team[i][k] and not counts_occupancy[i][k]
                     and not scheduled[i]) else (
                _hook(streams, p.hook_arrive[i][k]), team[i] if p.needs_team[i][k] else None, counts_occupancy[i][k],
                scheduled[i],
            )
            for k in range(n_classes)
        ]
        for i in range(n_nodes)
    ]
    exit_delay = [streams.duration(name, (("delay", d),)) for name, d in p.exit_delays]
    req_target = [dst for _, dst in p.request_ends]
    req_delay = [[streams.duration(name, (("delay", d),)) for name, d in pr] for pr in p.request_delays]
    req_defects = [
        [streams.defects(f"handoff/{label}", check) for check in pr]
        for label, pr in zip(p.request_labels, p.request_defects)
    ]
    n_slots = len(p.milestone_atoms)
    start_hooks = [_hook(streams, h) for h in p.hook_start]
    not_met = p.defect_names.index("not_met") if p.standards else -1
    # the standards of each class: (code, start slots, end slots, target, entries, reached only)
    class_standards = [
        tuple((s, sp.start, sp.end, sp.within, sp.entries, sp.reached_only)
              for s, sp in enumerate(p.standards) if sp.classes[k])
        for k in range(n_classes)
    ]
    # the most servers a microsystem ever has, for deadlock detection
    max_cap = [cap[i] if pieces is None else max(c for _, c in pieces) for i, pieces in enumerate(p.capacity_schedule)]

    # records: one tuple per row, turned into columns at the end (or per chunk)
    journeys: list[float] = []
    visits: list[float] = []
    handoffs: list[float] = []
    requests: list[tuple[Any, ...]] = []
    defects: list[tuple[int, float, int, int]] = []
    standards: list[tuple[Any, ...]] = []
    activations: list[tuple[Any, ...]] = []
    # visits and handoffs, the two largest tables, are kept as flat lists of numbers:
    # extending a flat list and converting it with np.fromiter is faster overall
    add_visit = visits.extend
    add_handoff = handoffs.extend
    add_defect = defects.append
    stats = ReplicationStats.empty(
        n_classes=n_classes, n_nodes=n_nodes, n_edges=n_edges, n_requests=len(p.request_labels),
        keep_values=keep_records, replication=replication, horizon=horizon, warmup=warmup,
        n_standards=len(p.standards), n_cells=n_cells(p),
    )
    flush_at = _VISIT_FIELDS * chunk_rows if not keep_records else -1
    # journeys are numbered in arrival order: those numbered below this arrived before the warm-up
    before_warmup = [0]
    next_jid = itertools.count().__next__
    class_of = array("H")  # the class of each journey, by id
    in_system = [0]
    # boarding: blocked[i] patients hold a bed at i; waits_for[i][j] of them wait for j
    blocked = [0] * n_nodes
    waits_for: list[dict[int, int]] = [{} for _ in range(n_nodes)]

    def flush() -> None:
        tables = _tables(p, journeys, visits, handoffs, requests, defects, standards, activations, class_of)
        stats.add_tables(tables, first_counted=before_warmup[0], cells=standard_cells(p, tables["standards"]),
                         costs=p.costs)
        for rows in (journeys, visits, handoffs, requests, defects, standards, activations):
            rows.clear()

    # -- milestones and activation
    def run_hook(pt: _Patient, hook: Any, t: float) -> None:
        recorded, acts = hook
        if recorded:
            ms = pt.ms
            for s in recorded:
                if t < ms[s]:
                    ms[s] = t
        for target, prob, draw, lag in acts:
            if draw() < prob:
                if lag.__class__ is not float:
                    lag = lag()
                activate(pt, target, t + lag)

    def activate(pt: _Patient, i: int, t: float) -> None:
        """The team of ``i`` is called for ``pt`` at ``t``; the earliest call counts."""
        if pt.ready is None:
            pt.ready = {}
        elif i in pt.ready and pt.ready[i][0] <= t:
            return
        starts, samplers = team[i]  # type: ignore[misc]
        d = samplers[bisect_right(starts, t % MINUTES_PER_WEEK) - 1]
        if d.__class__ is not float:
            d = d()
        pt.ready[i] = (t, t + d)

    def team_ready(pt: _Patient) -> None:
        i = pt.node
        t = env.now
        if pt.reserved:
            pt.reserved = False
            busy[i] -= 1  # start() takes the bed again
            start(pt, i, t)
        else:
            enter(pt, i, t)

    TEAM_READY = (team_ready,)

    def special_arrival(pt: _Patient, i: int, t: float, how: Any) -> bool:
        """Milestones on arrival, the occupancy found, and the wait for the team; True if the patient waits."""
        hook, pieces, occupancy, follows_schedule = how
        if follows_schedule and dormant[i] is not None:
            wake(i, t)
        if occupancy:
            pt.occ = busy[i] + nwait[i]
        if hook is not None:
            run_hook(pt, hook, t)
        if pieces is None:
            return False
        called = pt.ready.pop(i, None) if pt.ready else None
        if called is None or called[0] > t:  # no call has come yet: the arrival activates the team
            activate(pt, i, t)
            called = pt.ready.pop(i)
        t_call, t_ready = called
        activations.append((pt.jid, i, t_call, t_ready, t))
        if t_ready > t:
            pt.callbacks = TEAM_READY
            schedule(pt, _NORMAL, t_ready - t)
            return True
        return False

    def arrive(pt: _Patient, i: int, t: float) -> None:
        pt.node = i
        pt.arr = t
        how = on_arrive[i][pt.k]
        if how is not None and special_arrival(pt, i, t, how):
            return
        if busy[i] >= cap[i]:
            queues[i][pt.rank].append(pt)
            nwait[i] += 1
            return
        # start(), inlined on the hottest path: one call less per visit is ~4% of the
        # tandem benchmark (benchmarks/README.md); keep the two in step
        busy[i] += 1
        pt.start = t
        svc = service[i][pt.k]
        if svc.__class__ is not float:
            svc = svc()
        pt.svc = svc
        more = extra[i][pt.k]
        if more is None:
            pt.own_end = t + svc
            pt.callbacks = FINISH
        else:
            svc = special_start(pt, i, t, svc, more)
        schedule(pt, _NORMAL, svc)

    def enter(pt: _Patient, i: int, t: float) -> None:
        """Queue for a server of ``i``, or start at once (arrival after the team is ready)."""
        if dormant[i] is not None:
            wake(i, t)
        if busy[i] >= cap[i]:
            queues[i][pt.rank].append(pt)
            nwait[i] += 1
        else:
            start(pt, i, t)

    def start(pt: _Patient, i: int, t: float) -> None:
        busy[i] += 1
        pt.start = t
        svc = service[i][pt.k]
        if svc.__class__ is not float:
            svc = svc()
        pt.svc = svc
        more = extra[i][pt.k]
        if more is None:
            pt.own_end = t + svc
            pt.callbacks = FINISH
        else:
            svc = special_start(pt, i, t, svc, more)
        schedule(pt, _NORMAL, svc)

    def special_start(pt: _Patient, i: int, t: float, svc: float, more: Any) -> float:
        """Rework of a caught defect, milestones at the ends of the visit's steps, and support
        requests; returns the visit's own work time."""
        reqs, step_hooks, steps, reworks = more
        shift = 0.0
        if reworks and pt.rework:
            shift = pt.rework  # the rework comes first and holds the server
            pt.rework = 0.0
            svc += shift
            pt.svc = svc
        if step_hooks:
            ends = steps.ends if steps.__class__ is _Stepwise else steps
            for s, hook in step_hooks:
                run_hook(pt, hook, t + shift + ends[s])
        if reqs:
            request_all(pt, i, t)
            pt.callbacks = OWN_DONE
        else:
            pt.own_end = t + svc
            pt.callbacks = FINISH
        return svc

    def serve_next(i: int, t: float) -> None:
        """Give a free server of ``i`` to the first in line (highest priority, then first come)."""
        nwait[i] -= 1
        for q in queues[i]:
            if q:
                grant(q.popleft(), i, t)
                return

    def grant(x: Any, i: int, t: float) -> None:
        """Give a free server of ``i`` to the first in its queue."""
        if x.__class__ is _Patient:
            start(x, i, t)
        elif x.__class__ is _Request:
            request_start(x, i, t)
        else:
            unblock(x.patient, i, t)

    def request_all(pt: _Patient, i: int, t: float) -> None:
        pending = 1
        for r, prob, draw in node_requests[i][pt.k]:
            if draw() < prob:
                pending += 1
                send_request(pt, r, t)
        pt.pending = pending

    def own_done(pt: _Patient) -> None:
        t = env.now
        pt.own_end = t
        pt.pending -= 1
        if not pt.pending:
            finish(pt, t)

    OWN_DONE = (own_done,)

    def finish_now(pt: _Patient) -> None:
        # own_end was computed as now + service, the same sum simpy used for the event time
        finish(pt, pt.own_end)

    FINISH = (finish_now,)

    def finish(pt: _Patient, t: float) -> None:
        i = pt.node
        check, edge, choice, depart, boards, loaded = after[i][pt.k]
        if loaded is not None:
            check = visit_check(pt, loaded)
        nd = 0
        if check is not None and check[1]() < check[0]:
            for c in _which(check[2], check[3]):
                nd += 1
                add_defect((pt.jid, t, i, c))
            pt.ndef += nd
        if edge is None and choice is not None:
            edges, cum, draw = choice
            j = bisect_right(cum, draw())
            if j < len(edges):
                edge = edges[j]
        if edge is None:  # leaving the pathway: the bed may be kept for the exit delay
            hold = exit_delay[i]
            if hold.__class__ is not float:
                hold = hold()
            if hold > 0.0:
                pt.work_end = t
                pt.vdef = nd
                pt.free_at = t + hold  # the event time, as simpy computes it
                pt.callbacks = HELD
                schedule(pt, _NORMAL, hold)
                return
        elif boards and edge[5] and (dormant[edge[3]] is None or wake(edge[3], t)) and busy[edge[3]] >= cap[edge[3]]:
            block(pt, i, t, nd, edge)
            return
        # free(pt, i, t, t, nd), inlined on the hottest path: measured 7% of the tandem
        # benchmark (2.09 vs 2.27 µs per visit, interleaved runs); keep the two in step
        busy[i] -= 1
        add_visit((pt.jid, i, pt.arr, pt.start, t, pt.svc, t - pt.own_end, nd, 0.0))
        if nwait[i] and busy[i] < cap[i]:
            nwait[i] -= 1
            for q in queues[i]:
                if q:
                    nxt = q.popleft()
                    if nxt.__class__ is _Patient:
                        start(nxt, i, t)
                    else:
                        grant(nxt, i, t)
                    break
        if depart is not None:
            run_hook(pt, depart, t)
        if edge is None:
            leave(pt, t)
            return
        e, check, d, target, hook, _, special = edge
        if hook is not None:
            run_hook(pt, hook, t)
        kinds = 0
        if special is not None:
            kinds = special_handoff(pt, e, t, special)
        elif check is not None and check[1]() < check[0]:
            for c in _which(check[2], check[3]):
                kinds |= 1 << c
                add_defect((pt.jid, t, n_nodes + e, c))
                pt.ndef += 1
        if d.__class__ is not float:
            d = d()
        add_handoff((pt.jid, e, t, t + d, kinds, 0.0))
        if d > 0.0:
            pt.node = target
            pt.arr = t + d  # the event time, as simpy computes it
            pt.callbacks = TRANSFERRED
            schedule(pt, _NORMAL, d)
        else:
            arrive(pt, target, t)

    def free(pt: _Patient, i: int, work_end: float, t: float, nd: int) -> None:
        """Record the visit and give the bed to the next patient in line."""
        busy[i] -= 1
        add_visit((pt.jid, i, pt.arr, pt.start, t, pt.svc, work_end - pt.own_end, nd, t - work_end))
        if nwait[i] and busy[i] < cap[i]:
            serve_next(i, t)
        depart = after[i][pt.k][3]
        if depart is not None:
            run_hook(pt, depart, t)

    def visit_check(pt: _Patient, loaded: Any) -> Any:
        """This visit's defect check: each probability ``p`` becomes ``min(1, f p + a W + b N)``
        (``f`` the propagation factor of an information defect on the way in, ``W`` the hours
        waited, ``N`` the occupancy on arrival), then the patient's frailty is applied."""
        pairs, per_hour, per_occupant, draw_any, draw_which = loaded
        extra = per_hour * (pt.start - pt.arr) / 60.0 + (per_occupant * pt.occ if per_occupant else 0.0)
        f = pt.prop
        pt.prop = 1.0
        check = defect_check(personal(pt, pairs, f, extra))
        return None if check is None else (check[0], draw_any, check[1], draw_which)

    def personal(pt: _Patient, pairs: Any, f: float = 1.0, extra: float = 0.0) -> list[tuple[int, float]]:
        """The patient's own probabilities of defects ``(code, p)`` (see :mod:`journeysim.model.frailty`)."""
        z = pt.z
        out = []
        for code, q in pairs:
            q = q * f + extra
            if q > 1.0:
                q = 1.0
            if z != 1.0:  # Frailty.probability, inlined: this runs for every element of a frail patient
                q += (q if q < 0.5 else 1.0 - q) * (z - 1.0)
            out.append((code, q))
        return out

    def drawn(pt: _Patient, check: Any) -> Any:
        """Codes of the defects of a static check; the patient's frailty applies."""
        if check is None:
            return ()
        if frail:
            c = defect_check(personal(pt, [(code, q) for code, q, _ in check[2]]))
            return () if c is None or check[1]() >= c[0] else _which(c[1], check[3])
        return _which(check[2], check[3]) if check[1]() < check[0] else ()

    def special_handoff(pt: _Patient, e: int, t: float, special: Any) -> int:
        """Defects of a transfer with frailty, recovery or propagation; returns the kinds' bits."""
        pairs, draw_any, draw_which, catch, draw_catch, rework, prop = special
        kinds = 0
        check = defect_check(personal(pt, pairs))
        if check is None or draw_any() >= check[0]:
            return 0
        for c in _which(check[1], draw_which):
            if c == _INFORMATION and catch and draw_catch() < catch:
                kinds |= _CAUGHT
                pt.rework += rework if rework.__class__ is float else rework()
                continue
            kinds |= 1 << c
            add_defect((pt.jid, t, n_nodes + e, c))
            pt.ndef += 1
            if c == _INFORMATION:
                pt.prop = prop
        return kinds

    def held(pt: _Patient) -> None:
        free(pt, pt.node, pt.work_end, pt.free_at, pt.vdef)
        leave(pt, pt.free_at)

    HELD = (held,)

    def transferred(pt: _Patient) -> None:
        arrive(pt, pt.node, pt.arr)

    TRANSFERRED = (transferred,)

    # -- boarding (blocking after service)
    def block(pt: _Patient, i: int, t: float, nd: int, edge: Any) -> None:
        """``pt`` keeps its bed at ``i`` and queues for a bed at the handoff's target."""
        j = edge[3]
        pt.work_end = t
        pt.vdef = nd
        pt.edge = edge
        pt.blocked_at = t
        queues[j][pt.rank].append(_Blocked(pt))
        nwait[j] += 1
        blocked[i] += 1
        waits_for[i][j] = waits_for[i].get(j, 0) + 1
        check_deadlock(t)

    def unblock(pt: _Patient, j: int, t: float) -> None:
        """A bed at ``j`` is free for a boarding patient: it is held for them during the transfer."""
        i = pt.node
        busy[j] += 1
        blocked[i] -= 1
        waits_for[i][j] -= 1
        free(pt, i, pt.work_end, t, pt.vdef)
        # the departure below is finish()'s, kept there inline for speed: keep the two in step
        e, check, d, target, hook, _, special = pt.edge
        pt.edge = None
        if hook is not None:
            run_hook(pt, hook, t)
        kinds = 0
        if special is not None:
            kinds = special_handoff(pt, e, t, special)
        elif check is not None and check[1]() < check[0]:
            for c in _which(check[2], check[3]):
                kinds |= 1 << c
                add_defect((pt.jid, t, n_nodes + e, c))
                pt.ndef += 1
        if d.__class__ is not float:
            d = d()
        add_handoff((pt.jid, e, t, t + d, kinds, t - pt.blocked_at))
        pt.node = target
        pt.arr = t + d
        pt.reserved = True
        if d > 0.0:
            pt.callbacks = RESERVED
            schedule(pt, _NORMAL, d)
        else:
            arrive_reserved(pt, target, t)

    def arrive_reserved(pt: _Patient, j: int, t: float) -> None:
        how = on_arrive[j][pt.k]
        if how is not None and special_arrival(pt, j, t, how):
            return  # waits for the team, keeping the bed held for it
        pt.reserved = False
        busy[j] -= 1  # start() takes the held bed
        start(pt, j, t)

    def reserved_arrival(pt: _Patient) -> None:
        arrive_reserved(pt, pt.node, pt.arr)

    RESERVED = (reserved_arrival,)

    def check_deadlock(t: float) -> None:
        """Raise if some microsystems' beds are all held by patients boarding for one another."""
        stuck = {i for i in range(n_nodes) if blocked[i] and blocked[i] >= max_cap[i]}
        changed = True
        while changed and stuck:
            changed = False
            for i in list(stuck):
                if any(n and j not in stuck for j, n in waits_for[i].items()):
                    stuck.discard(i)
                    changed = True
        if stuck:
            names = [p.node_names[i] for i in sorted(stuck)]
            detail = "; ".join(
                f"{p.node_names[i]}: {blocked[i]} bed(s), all held by patients waiting for "
                + ", ".join(f"{p.node_names[j]} ({n})" for j, n in sorted(waits_for[i].items()) if n)
                for i in sorted(stuck)
            )
            raise SimulationError(
                f"deadlock at t = {t:.1f} min (replication {replication}): every bed of "
                f"{', '.join(names)} is held by a patient boarding for a bed in another of them, so none "
                f"can ever move. {detail}. Add capacity, or remove boarding on a handoff of this cycle."
            )

    # -- capacity that follows a schedule
    def tick(ev: _Tick) -> None:
        i = ev.node
        pieces = p.capacity_schedule[i]
        t = env.now
        cap[i] = pieces[ev.piece][1]  # type: ignore[index]
        while nwait[i] and busy[i] < cap[i]:
            serve_next(i, t)
        if t < horizon or nwait[i]:
            next_tick(ev)
        else:
            # After the horizon with nobody waiting, the capacity matters again only when someone
            # comes: ticking every boundary until the last journey ends would cost one event per
            # piece of every week the drain lasts (forever, with a stay of 10^20 minutes).
            dormant[i] = ev

    TICK = (tick,)

    def wake(i: int, t: float) -> bool:
        """Bring a dormant capacity schedule up to ``t`` and tick again from there (returns True)."""
        ev = dormant[i]
        dormant[i] = None
        pieces = p.capacity_schedule[i]
        ev.week = int(t // MINUTES_PER_WEEK)  # type: ignore[union-attr]
        ev.piece = bisect_right([start for start, _ in pieces], t - ev.week * MINUTES_PER_WEEK) - 1  # type: ignore[union-attr, misc]
        cap[i] = pieces[ev.piece][1]  # type: ignore[index, union-attr]
        next_tick(ev)  # type: ignore[arg-type]
        return True

    def next_tick(ev: _Tick) -> None:
        pieces = p.capacity_schedule[ev.node]
        ev.callbacks = TICK  # simpy clears an event's callbacks once it has run them
        ev.piece += 1
        if ev.piece == len(pieces):  # type: ignore[arg-type]
            ev.piece = 0
            ev.week += 1
        at = ev.week * MINUTES_PER_WEEK + pieces[ev.piece][0]  # type: ignore[index]
        schedule(ev, _NORMAL, at - env.now)

    dormant: list[_Tick | None] = [None] * n_nodes
    for i, pieces in enumerate(p.capacity_schedule):
        if pieces is not None:
            ev = _Tick()
            ev._ok = True
            ev._value = None
            ev.node, ev.piece, ev.week = i, 0, 0
            next_tick(ev)

    def leave(pt: _Patient, t: float) -> None:
        missed = judge(pt, t) if class_standards[pt.k] else 0
        journeys.extend((pt.jid, pt.k, pt.entry, pt.t0, t, pt.node, pt.ndef, missed))
        in_system[0] -= 1
        if flush_at > 0 and len(visits) + _VISIT_FIELDS * len(requests) > flush_at:
            flush()

    def judge(pt: _Patient, t: float) -> int:
        """Judge the journey's standards; a miss is a defect of the journey. Returns the misses."""
        ms = pt.ms
        missed = 0

        def when(slots: tuple[int, ...]) -> float:
            return min(pt.t0 if s == -1 else t if s == -2 else ms[s] for s in slots)

        for s, first, last, within, entries, reached_only in class_standards[pt.k]:
            if entries is not None and pt.entry not in entries:
                continue
            a = when(first)
            if a == _INF:
                continue
            b = when(last)
            if b == _INF:
                if reached_only:
                    continue
                met = False
            else:
                met = b - a <= within
            standards.append((pt.jid, s, pt.k, pt.entry, a, b, met))
            if not met:
                add_defect((pt.jid, t, n_elements + s, not_met))
                pt.ndef += 1
                missed += 1
        return missed

    # support requests
    def send_request(pt: _Patient, r: int, t: float) -> None:
        rq = _Request()
        rq._ok = True
        rq._value = None
        rq.patient = pt
        rq.r = r
        rq.rank = pt.rank
        rq.t_req = t
        s = req_target[r]
        if dormant[s] is not None:
            wake(s, t)
        if busy[s] < cap[s]:
            request_start(rq, s, t)
        else:
            queues[s][rq.rank].append(rq)
            nwait[s] += 1

    def request_start(rq: _Request, s: int, t: float) -> None:
        busy[s] += 1
        rq.t_start = t
        svc = service[s][rq.patient.k]
        if svc.__class__ is not float:
            svc = svc()
        rq.callbacks = REQUEST_DONE
        schedule(rq, _NORMAL, svc)

    def request_done(rq: _Request) -> None:
        t = env.now
        r = rq.r
        s = req_target[r]
        busy[s] -= 1
        pt = rq.patient
        nd = 0
        for c in drawn(pt, node_defects[s][pt.k]):
            nd += 1
            add_defect((pt.jid, t, s, c))
        pt.ndef += nd
        rq.sdef = nd
        rq.t_end = t
        if nwait[s] and busy[s] < cap[s]:
            nwait[s] -= 1
            for q in queues[s]:
                if q:
                    request_start(q.popleft(), s, t)
                    break
        d = req_delay[r][pt.k]
        if d.__class__ is not float:
            d = d()
        if d > 0.0:
            rq.callbacks = REQUEST_BACK
            schedule(rq, _NORMAL, d)
        else:
            returned(rq, t)

    REQUEST_DONE = (request_done,)

    def request_back(rq: _Request) -> None:
        returned(rq, env.now)

    REQUEST_BACK = (request_back,)

    def returned(rq: _Request, t: float) -> None:
        pt = rq.patient
        r = rq.r
        kinds = 0
        for c in drawn(pt, req_defects[r][pt.k]):
            kinds |= 1 << c
            add_defect((pt.jid, t, n_nodes + n_edges + r, c))
            pt.ndef += 1
        requests.append((pt.jid, r, rq.t_req, rq.t_start, rq.t_end, t, rq.sdef, kinds))
        pt.pending -= 1
        if not pt.pending:
            finish(pt, t)

    # arrivals: each class schedules its next patient as an event of its own
    def make_source(k: int) -> None:
        name = p.class_names[k]
        profile = p.profiles[k]
        # with a profile, candidates come at the peak rate and each is kept with probability
        # rate(t) / peak judged at its own time (thinning): an exact non-homogeneous process
        peak = 1.0 if profile is None else profile.peak
        gap = streams.duration(f"arrivals/{name}", (("gap", Exponential(1.0 / (p.rates[k] * peak))),))
        thin = None if profile is None else streams.uniform(f"arrivals/{name}/thin")
        nodes_k, cum_k = p.entries[k]
        choose = streams.uniform(f"entry/{name}") if len(nodes_k) > 1 else None
        last = len(nodes_k) - 1
        rank = p.ranks[k]
        first_hook = start_hooks[k]

        def next_arrival(t: float) -> float:
            t += gap()  # type: ignore[operator]
            if thin is not None:
                while t < horizon and thin() * peak >= profile.factor(t):  # type: ignore[union-attr]
                    t += gap()  # type: ignore[operator]
            return t

        def new_patient(at: float) -> None:
            if at >= horizon:
                return
            pt = _Patient()
            pt._ok = True
            pt._value = None
            pt.k = k
            pt.rank = rank
            pt.ms = [_INF] * n_slots if n_slots else None
            pt.ready = None
            pt.reserved = False
            pt.callbacks = ARRIVED
            schedule(pt, _NORMAL, at - env.now)

        def arrived(pt: _Patient) -> None:
            t = env.now
            pt.jid = next_jid()
            in_system[0] += 1
            if t < warmup:
                before_warmup[0] += 1
            pt.t0 = t
            pt.ndef = 0
            pt.z = draw_z() if draw_z is not None else 1.0
            pt.prop = 1.0
            pt.rework = 0.0
            class_of.append(pt.k)
            pt.entry = entry = nodes_k[0] if choose is None else nodes_k[min(bisect_right(cum_k, choose()), last)]
            new_patient(next_arrival(t))
            if first_hook is not None:
                run_hook(pt, first_hook, t)
            arrive(pt, entry, t)

        ARRIVED = (arrived,)
        new_patient(next_arrival(0.0))

    for k, rate in enumerate(p.rates):
        if rate > 0:
            make_source(k)

    env.run()
    if in_system[0]:  # every event is done, yet patients remain: a bug, never a silent wrong answer
        raise SimulationError(f"{in_system[0]} patients never left the pathway in replication {replication}")
    # Flushing also empties the large lists: the callbacks above refer to one another
    # through closure cells, a cycle that only the cyclic collector frees, and what
    # waits for it should be a few small objects rather than a replication's raw records.
    if not keep_records:
        flush()
        return None, stats
    tables = _tables(p, journeys, visits, handoffs, requests, defects, standards, activations, class_of)
    for rows in (journeys, visits, handoffs, requests, defects, standards, activations):
        rows.clear()
    stats.add_tables(tables, first_counted=before_warmup[0], cells=standard_cells(p, tables["standards"]),
                     costs=p.costs)
    records = Records.from_columns(replication, horizon, warmup, tables, p.labels())
    return records, stats


_INF = float("inf")
_INFORMATION = code(INFORMATION)
#: bit of a handoff's kinds: its information defect was caught by the receiving microsystem
_CAUGHT = CAUGHT_BIT


def _hook(streams: _Streams, hook: Hook) -> Any:
    """A plan's hook with the random streams of its activations."""
    if hook is None:
        return None
    recorded, acts = hook
    return (
        recorded,
        tuple(
            (target, prob, streams.uniform(stream), streams.duration(f"{stream}/lag", (("lag", lag),)))
            for target, prob, stream, lag in acts
        ),
    )


def n_cells(p: Plan) -> int:
    """Cells of a standard's results: everyone, then each label of each group."""
    return 1 + sum(len(g[3]) for g in p.groups)


def standard_cells(p: Plan, table: dict[str, np.ndarray]) -> np.ndarray:
    """For each row of the standards table, its cell in each group (-1: in none); column 0 is everyone."""
    n = len(table["journey"])
    out = np.full((n, 1 + len(p.groups)), -1, dtype=np.int64)
    out[:, 0] = 0
    offset = 1
    for g, (_, by, codes, labels, window) in enumerate(p.groups):
        if by == "clock":
            inside = _in_window(window, table["start"])  # type: ignore[arg-type]
            out[:, g + 1] = offset + np.where(inside, 0, 1)
        else:
            key = table["entry"] if by == "entry" else table["class"]
            lut = np.full(max([len(p.node_names), len(p.class_names)]) + 1, -1, dtype=np.int64)
            for code, li in codes.items():
                lut[code] = offset + li
            out[:, g + 1] = lut[key]
        offset += len(labels)
    return out


def _in_window(window: Window, t: np.ndarray) -> np.ndarray:
    week = np.mod(t, MINUTES_PER_WEEK)
    inside = np.zeros(len(t), dtype=bool)
    for a, b in window.intervals():
        inside |= (week >= a) & (week < b)
    return inside


def _flat_columns(flat: list[float], fields: tuple[tuple[str, Any], ...]) -> dict[str, np.ndarray]:
    # every value is an int below 2**53 or a float, so float64 holds each exactly
    table = np.fromiter(flat, dtype=np.float64, count=len(flat)).reshape(-1, len(fields))
    return {name: np.ascontiguousarray(table[:, c].astype(dtype)) for c, (name, dtype) in enumerate(fields)}


def _columns(rows: list[Any], fields: tuple[tuple[str, Any], ...]) -> dict[str, np.ndarray]:
    # a structured array converts a list of row tuples about five times faster than zip(*rows)
    table = np.array(rows, dtype=np.dtype(list(fields))) if rows else np.empty(0, dtype=np.dtype(list(fields)))
    return {name: np.ascontiguousarray(table[name]) for name, _ in fields}


def _tables(
    p: Plan,
    journeys: list[float],
    visits: list[float],
    handoffs: list[float],
    requests: list[tuple[Any, ...]],
    defects: list[tuple[int, float, int, int]],
    standards: list[tuple[Any, ...]],
    activations: list[tuple[Any, ...]],
    class_of: array,
) -> dict[str, dict[str, np.ndarray]]:
    """Turn the row lists into the columns of :data:`journeysim.engine.records.FIELDS`."""
    i8, f8 = np.int64, np.float64
    j = _flat_columns(journeys, (("journey", i8), ("class", i8), ("entry", i8), ("arrival", f8), ("end", f8),
                                 ("exit", i8), ("defects", i8), ("missed", i8)))
    order = np.argsort(j["journey"], kind="stable")
    j = {name: col[order] for name, col in j.items()}
    v = _flat_columns(visits, (("journey", i8), ("node", i8), ("arrival", f8), ("start", f8), ("end", f8),
                               ("service", f8), ("support_wait", f8), ("defects", i8), ("hold", f8)))
    d = _columns(defects, (("journey", i8), ("time", f8), ("element", i8), ("defect", i8)))
    n_journeys = len(j["journey"])
    # visits per journey, derived in bulk rather than counted on the hot path (a chunk in
    # summary mode counts only its own visits of each journey)
    pos = np.searchsorted(j["journey"], v["journey"])
    mine = pos < n_journeys
    mine[mine] = j["journey"][pos[mine]] == v["journey"][mine]
    visit_counts = np.bincount(pos[mine], minlength=n_journeys).astype(i8)
    journeys_cols = {
        "journey": j["journey"],
        "class": j["class"],
        "entry": j["entry"],
        "arrival": j["arrival"],
        "end": j["end"],
        "exit": j["exit"],
        "visits": visit_counts,
        "defects": j["defects"],
        "missed": j["missed"],
        "defect_free": j["defects"] == 0,
        "time_in_system": j["end"] - j["arrival"],
    }
    v["wait"] = v["start"] - v["arrival"]
    v["sojourn"] = v["end"] - v["arrival"]
    h = _flat_columns(handoffs, (("journey", i8), ("handoff", i8), ("depart", f8), ("arrive", f8), ("kinds", i8),
                                 ("blocked", f8)))
    ends = np.asarray(p.edge_ends, dtype=i8).reshape(-1, 2)
    kinds = h.pop("kinds")
    h = {
        "journey": h["journey"],
        "handoff": h["handoff"],
        "source": ends[h["handoff"], 0],
        "target": ends[h["handoff"], 1],
        "depart": h["depart"],
        "arrive": h["arrive"],
        **{kind: (kinds & (1 << b)) != 0 for b, kind in enumerate(HANDOFF_KINDS)},
        "caught": (kinds & _CAUGHT) != 0,
        "delay": h["arrive"] - h["depart"],
        "blocked": h["blocked"],
    }
    r = _columns(requests, (("journey", i8), ("request", i8), ("requested", f8), ("start", f8), ("end", f8),
                            ("returned", f8), ("support_defects", i8), ("kinds", i8)))
    rends = np.asarray(p.request_ends, dtype=i8).reshape(-1, 2)
    rkinds = r.pop("kinds")
    r = {
        "journey": r["journey"],
        "request": r["request"],
        "source": rends[r["request"], 0],
        "target": rends[r["request"], 1],
        **{k: r[k] for k in ("requested", "start", "end", "returned", "support_defects")},
        **{kind: (rkinds & bit(kind)) != 0 for kind in REQUEST_KINDS},
        "wait": r["start"] - r["requested"],
        "turnaround": r["returned"] - r["requested"],
    }
    n_nodes, n_edges = len(p.node_names), len(p.edge_labels)
    n_links = n_nodes + n_edges + len(p.request_labels)
    etype = np.select([d["element"] < n_nodes, d["element"] < n_nodes + n_edges, d["element"] < n_links], [0, 1, 2], 3)
    d = {"journey": d["journey"], "time": d["time"], "element": d["element"], "element_type": etype, "defect": d["defect"]}
    s = _columns(standards, (("journey", i8), ("standard", i8), ("class", i8), ("entry", i8), ("start", f8),
                             ("end", f8), ("met", np.bool_)))
    reached = np.isfinite(s["end"])
    s["end"] = np.where(reached, s["end"], np.nan)
    s["minutes"] = s["end"] - s["start"]
    s["reached"] = reached
    a = _columns(activations, (("journey", i8), ("node", i8), ("activated", f8), ("ready", f8), ("arrival", f8)))
    a["ahead"] = a["arrival"] - a["activated"]
    a["team_wait"] = np.clip(a["ready"] - a["arrival"], 0.0, None)
    klass = np.frombuffer(class_of, dtype=np.uint16)
    v, h, r, d = (_with_class(t, klass) for t in (v, h, r, d))
    del klass  # release the buffer: the engine appends to ``class_of`` again
    return {"journeys": journeys_cols, "visits": v, "handoffs": h, "requests": r, "defects": d, "standards": s,
            "activations": a}


def _with_class(table: dict[str, np.ndarray], klass: np.ndarray) -> dict[str, np.ndarray]:
    """``table`` with the class of each row's journey as its second column."""
    journey = table.pop("journey")
    return {"journey": journey, "class": klass[journey].astype(np.int64), **table}
