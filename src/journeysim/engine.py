"""The discrete-event engine: the only module that imports simpy.

Design
------
Every activity (an arrival, the end of a microsystem's own work, the end of a
support service, the end of a transfer) is **one** event scheduled on simpy's
:class:`simpy.Environment`, carrying a callback that changes the state. There
are no generator processes and no ``simpy.Resource`` objects: a process per
patient costs about three events per visit (request, grant, timeout) where this
costs one, and waiting lines are plain deques, one per priority level.

Random numbers come from named streams (:mod:`journeysim.streams`) drawn in
numpy blocks, so that a draw in the hot loop is one call of a list iterator.

The engine reads the :class:`~journeysim.model.Model` and never writes into it;
each replication builds fresh state and returns :class:`~journeysim.records.Records`.

Examples
--------
>>> from journeysim.distributions import Exponential
>>> from journeysim.elements import Microsystem, PatientClass
>>> from journeysim.model import Model
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
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import simpy

from .aggregate import ReplicationStats
from .distributions import Distribution, Exponential, Fixed
from .elements import HANDOFF_KINDS
from .model import Model
from .plan import DefectCheck, Plan, plan
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
    """Codes of the defects that occurred, given that at least one did (see :mod:`journeysim.plan`)."""
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
                 "own_end", "pending", "entry", "t0", "ndef", "work_end", "vdef", "free_at")


class _Request:
    """A support request; also its own pending simpy event."""

    __slots__ = ("callbacks", "_ok", "_value", "patient", "r", "rank", "t_req", "t_start", "t_end", "sdef")


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

    # per-node state and samplers
    busy = [0] * n_nodes
    cap = list(p.capacity)
    nwait = [0] * n_nodes
    queues = [[deque() for _ in range(p.n_ranks)] for _ in range(n_nodes)]
    service = [[streams.duration(prefix, steps) for prefix, steps in per_node] for per_node in p.steps]
    node_defects = [
        [streams.defects(name, check) for check in per_node] for name, per_node in zip(p.node_names, p.node_defects)
    ]
    # what happens when a visit ends, per [node][class]: (defect check, certain handoff or
    # None, random choice of handoffs or None); a handoff is (code, defect check, delay, target)
    edge_info = [
        [
            (e, streams.defects(f"handoff/{label}", check), streams.duration(name, (("delay", d),)), dst)
            for check, (name, d) in zip(checks, delays)
        ]
        for e, (label, checks, delays, (_, dst)) in enumerate(
            zip(p.edge_labels, p.edge_defects, p.edge_delays, p.edge_ends)
        )
    ]
    after: list[list[tuple[Any, Any, Any]]] = []
    for i, (name, per_node) in enumerate(zip(p.node_names, p.routes)):
        draw = streams.uniform(f"route/{name}")
        row = []
        for k, r in enumerate(per_node):
            if r is None:
                row.append((node_defects[i][k], None, None))
            elif len(r[0]) == 1 and r[1][0] >= 1.0:
                row.append((node_defects[i][k], edge_info[r[0][0]][k], None))
            else:
                row.append((node_defects[i][k], None, (tuple(edge_info[e][k] for e in r[0]), r[1], draw)))
        after.append(row)
    node_requests = [
        [tuple((r, prob, streams.uniform(f"request/{p.request_labels[r]}")) for r, prob in pc) for pc in pn]
        for pn in p.node_requests
    ]
    exit_delay = [streams.duration(name, (("delay", d),)) for name, d in p.exit_delays]
    req_target = [dst for _, dst in p.request_ends]
    req_delay = [[streams.duration(name, (("delay", d),)) for name, d in pr] for pr in p.request_delays]
    req_defects = [
        [streams.defects(f"handoff/{label}", check) for check in pr]
        for label, pr in zip(p.request_labels, p.request_defects)
    ]

    # records: one tuple per row, turned into columns at the end (or per chunk)
    journeys: list[float] = []
    visits: list[float] = []
    handoffs: list[float] = []
    requests: list[tuple[Any, ...]] = []
    defects: list[tuple[int, float, int, int]] = []
    # visits and handoffs, the two largest tables, are kept as flat lists of numbers:
    # extending a flat list and converting it with np.fromiter is faster overall
    add_visit = visits.extend
    add_handoff = handoffs.extend
    add_defect = defects.append
    stats = ReplicationStats.empty(
        n_classes=len(p.class_names), n_nodes=n_nodes, n_edges=n_edges, n_requests=len(p.request_labels),
        keep_values=keep_records, replication=replication, horizon=horizon, warmup=warmup,
    )
    flush_at = _VISIT_FIELDS * chunk_rows if not keep_records else -1
    # journeys are numbered in arrival order: those numbered below this arrived before the warm-up
    before_warmup = [0]
    next_jid = itertools.count().__next__

    def flush() -> None:
        tables = _tables(p, journeys, visits, handoffs, requests, defects)
        stats.add_tables(tables["journeys"], tables["visits"], tables["handoffs"], tables["requests"],
                         first_counted=before_warmup[0])
        for rows in (journeys, visits, handoffs, requests, defects):
            rows.clear()

    def arrive(pt: _Patient, i: int, t: float) -> None:
        pt.node = i
        pt.arr = t
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
        if node_requests[i][pt.k]:
            request_all(pt, i, t)
            pt.callbacks = OWN_DONE
        else:
            pt.own_end = t + svc
            pt.callbacks = FINISH
        schedule(pt, _NORMAL, svc)

    def start(pt: _Patient, i: int, t: float) -> None:
        busy[i] += 1
        pt.start = t
        svc = service[i][pt.k]
        if svc.__class__ is not float:
            svc = svc()
        pt.svc = svc
        if node_requests[i][pt.k]:
            request_all(pt, i, t)
            pt.callbacks = OWN_DONE
        else:
            pt.own_end = t + svc
            pt.callbacks = FINISH
        schedule(pt, _NORMAL, svc)

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
        check, edge, choice = after[i][pt.k]
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
        # free(pt, i, t, t, nd), inlined on the hottest path: measured 7% of the tandem
        # benchmark (2.09 vs 2.27 µs per visit, interleaved runs); keep the two in step
        busy[i] -= 1
        add_visit((pt.jid, i, pt.arr, pt.start, t, pt.svc, t - pt.own_end, nd, 0.0))
        if nwait[i]:
            nwait[i] -= 1
            for q in queues[i]:
                if q:
                    start(q.popleft(), i, t)
                    break
        if edge is None:
            leave(pt, t)
            return
        e, check, d, target = edge
        kinds = 0
        if check is not None and check[1]() < check[0]:
            for c in _which(check[2], check[3]):
                kinds |= 1 << c
                add_defect((pt.jid, t, n_nodes + e, c))
                pt.ndef += 1
        if d.__class__ is not float:
            d = d()
        add_handoff((pt.jid, e, t, t + d, kinds))
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
        if nwait[i]:
            nwait[i] -= 1
            for q in queues[i]:
                if q:
                    start(q.popleft(), i, t)
                    break

    def held(pt: _Patient) -> None:
        free(pt, pt.node, pt.work_end, pt.free_at, pt.vdef)
        leave(pt, pt.free_at)

    HELD = (held,)

    def transferred(pt: _Patient) -> None:
        arrive(pt, pt.node, pt.arr)

    TRANSFERRED = (transferred,)

    def leave(pt: _Patient, t: float) -> None:
        journeys.extend((pt.jid, pt.k, pt.entry, pt.t0, t, pt.node, pt.ndef))
        if flush_at > 0 and len(visits) + _VISIT_FIELDS * len(requests) > flush_at:
            flush()

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
        check = node_defects[s][pt.k]
        if check is not None and check[1]() < check[0]:
            for c in _which(check[2], check[3]):
                nd += 1
                add_defect((pt.jid, t, s, c))
            pt.ndef += nd
        rq.sdef = nd
        rq.t_end = t
        if nwait[s]:
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
        check = req_defects[r][pt.k]
        if check is not None and check[1]() < check[0]:
            for c in _which(check[2], check[3]):
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
            pt.callbacks = ARRIVED
            schedule(pt, _NORMAL, at - env.now)

        def arrived(pt: _Patient) -> None:
            t = env.now
            pt.jid = next_jid()
            if t < warmup:
                before_warmup[0] += 1
            pt.t0 = t
            pt.ndef = 0
            pt.entry = entry = nodes_k[0] if choose is None else nodes_k[min(bisect_right(cum_k, choose()), last)]
            new_patient(next_arrival(t))
            arrive(pt, entry, t)

        ARRIVED = (arrived,)
        new_patient(next_arrival(0.0))

    for k, rate in enumerate(p.rates):
        if rate > 0:
            make_source(k)

    env.run()
    # Flushing also empties the large lists: the callbacks above refer to one another
    # through closure cells, a cycle that only the cyclic collector frees, and what
    # waits for it should be a few small objects rather than a replication's raw records.
    if not keep_records:
        flush()
        return None, stats
    tables = _tables(p, journeys, visits, handoffs, requests, defects)
    for rows in (journeys, visits, handoffs, requests, defects):
        rows.clear()
    stats.add_tables(tables["journeys"], tables["visits"], tables["handoffs"], tables["requests"],
                     first_counted=before_warmup[0])
    records = Records.from_columns(replication, horizon, warmup, tables, p.labels())
    return records, stats


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
) -> dict[str, dict[str, np.ndarray]]:
    """Turn the row lists into the columns of :data:`journeysim.records.FIELDS`."""
    i8, f8 = np.int64, np.float64
    j = _flat_columns(journeys, (("journey", i8), ("class", i8), ("entry", i8), ("arrival", f8), ("end", f8),
                                 ("exit", i8), ("defects", i8)))
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
        "defect_free": j["defects"] == 0,
        "time_in_system": j["end"] - j["arrival"],
    }
    v["wait"] = v["start"] - v["arrival"]
    v["sojourn"] = v["end"] - v["arrival"]
    h = _flat_columns(handoffs, (("journey", i8), ("handoff", i8), ("depart", f8), ("arrive", f8), ("kinds", i8)))
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
        "delay": h["arrive"] - h["depart"],
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
        "information": (rkinds & 2) != 0,
        "services": (rkinds & 4) != 0,
        "wait": r["start"] - r["requested"],
        "turnaround": r["returned"] - r["requested"],
    }
    n_nodes, n_edges = len(p.node_names), len(p.edge_labels)
    etype = np.where(d["element"] < n_nodes, 0, np.where(d["element"] < n_nodes + n_edges, 1, 2))
    d = {"journey": d["journey"], "time": d["time"], "element": d["element"], "element_type": etype, "defect": d["defect"]}
    return {"journeys": journeys_cols, "visits": v, "handoffs": h, "requests": r, "defects": d}
