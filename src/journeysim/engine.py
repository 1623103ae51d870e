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

import bisect
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np
import simpy

from .distributions import Distribution, Exponential, Fixed
from .elements import HANDOFF_KINDS
from .model import Model
from .records import Records, Table
from .streams import SeedLike, StreamFactory

__all__ = ["Plan", "plan", "run_replication"]

_BLOCK = 512
_NORMAL = 1  # simpy's priority of ordinary events
_NAN = float("nan")
_UNLIMITED = 1 << 62


@dataclass(frozen=True, slots=True)
class Plan:
    """The model compiled to integer-indexed tables (no random state).

    Built once per experiment by :func:`plan` and shared by all replications.
    """

    model: Model
    node_names: tuple[str, ...]
    clinical: tuple[bool, ...]
    capacity: tuple[int, ...]
    # [node][class] -> (stream prefix, ((step name, distribution), ...))
    steps: tuple[tuple[tuple[str, tuple[tuple[str, Distribution], ...]], ...], ...]
    # [node][class] -> ((defect code, stream name, p), ...)
    node_defects: tuple[tuple[tuple[tuple[int, str, float], ...], ...], ...]
    # [node][class] -> (edge codes, cumulative probabilities) or None (everyone leaves)
    routes: tuple[tuple[tuple[tuple[int, ...], tuple[float, ...]] | None, ...], ...]
    # [node][class] -> ((request code, p), ...)
    node_requests: tuple[tuple[tuple[int, float], ...], ...]
    edge_labels: tuple[str, ...]
    edge_ends: tuple[tuple[int, int], ...]
    # [edge][class] -> (stream name, distribution)
    edge_delays: tuple[tuple[tuple[str, Distribution], ...], ...]
    # [edge][class] -> ((kind bit, defect code, stream name, p), ...)
    edge_defects: tuple[tuple[tuple[tuple[int, int, str, float], ...], ...], ...]
    request_labels: tuple[str, ...]
    request_ends: tuple[tuple[int, int], ...]
    request_delays: tuple[tuple[tuple[str, Distribution], ...], ...]
    request_defects: tuple[tuple[tuple[tuple[int, int, str, float], ...], ...], ...]
    class_names: tuple[str, ...]
    rates: tuple[float, ...]
    ranks: tuple[int, ...]
    n_ranks: int
    entries: tuple[tuple[tuple[int, ...], tuple[float, ...]], ...]
    defect_names: tuple[str, ...]


def plan(model: Model) -> Plan:
    """Compile ``model`` for the engine.

    Examples
    --------
    >>> from journeysim.distributions import Exponential
    >>> from journeysim.elements import Microsystem, PatientClass
    >>> p = plan(Model([Microsystem("A", capacity=2, service=Exponential(1))],
    ...                classes=[PatientClass("all", entry="A", rate=0.5)]))
    >>> p.capacity
    (2,)
    """
    nodes = model.microsystems
    index = {m.name: i for i, m in enumerate(nodes)}
    classes = model.classes
    defect_names: list[str] = list(HANDOFF_KINDS)

    def code(name: str) -> int:
        if name not in defect_names:
            defect_names.append(name)
        return defect_names.index(name)

    node_defects = tuple(
        tuple(
            tuple(
                (code(d.name), f"defect/{m.name}/{d.name}", p)
                for d in m.defects
                if (p := d.probability.get(k.name)) > 0
            )
            for k in classes
        )
        for m in nodes
    )
    routes = []
    for m in nodes:
        per_class = []
        for k in classes:
            out = [(e, h.probability.get(k.name)) for e, h in enumerate(model.handoffs) if h.source == m.name]  # type: ignore[union-attr]
            out = [(e, p) for e, p in out if p > 0]
            if not out:
                per_class.append(None)
            else:
                per_class.append((tuple(e for e, _ in out), tuple(accumulate(p for _, p in out))))
        routes.append(tuple(per_class))
    node_requests = tuple(
        tuple(
            tuple(
                (r, p)
                for r, req in enumerate(model.requests)
                if req.source == m.name and (p := req.probability.get(k.name)) > 0  # type: ignore[union-attr]
            )
            for k in classes
        )
        for m in nodes
    )

    def link_defects(label: str, defects: Any, kinds: tuple[str, ...]) -> tuple[Any, ...]:
        return tuple(
            tuple(
                (1 << HANDOFF_KINDS.index(kind), HANDOFF_KINDS.index(kind), f"handoff/{label}/{kind}", p)
                for kind in kinds
                if (p := defects.get(kind).get(k.name)) > 0
            )
            for k in classes
        )

    priorities = sorted({k.priority for k in classes}, reverse=True)
    return Plan(
        model=model,
        node_names=tuple(m.name for m in nodes),
        clinical=tuple(m.kind == "clinical" for m in nodes),
        capacity=tuple(_UNLIMITED if m.capacity is None else m.capacity for m in nodes),
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
        node_defects=node_defects,
        routes=tuple(routes),
        node_requests=node_requests,
        edge_labels=tuple(h.label for h in model.handoffs),
        edge_ends=tuple((index[h.source], index[h.target]) for h in model.handoffs),
        edge_delays=tuple(
            tuple(
                (f"delay/{h.label}" + (f"[{k.name}]" if k.name in h.delay_by_class else ""), h.delay_for(k.name))
                for k in classes
            )
            for h in model.handoffs
        ),
        edge_defects=tuple(link_defects(h.label, h.defects, HANDOFF_KINDS) for h in model.handoffs),
        request_labels=tuple(r.label for r in model.requests),
        request_ends=tuple((index[r.source], index[r.target]) for r in model.requests),
        request_delays=tuple(
            tuple(
                (f"delay/{r.label}" + (f"[{k.name}]" if k.name in r.delay_by_class else ""), r.delay_for(k.name))
                for k in classes
            )
            for r in model.requests
        ),
        request_defects=tuple(
            link_defects(r.label, r.defects, ("information", "services")) for r in model.requests
        ),
        class_names=tuple(k.name for k in classes),
        rates=tuple(k.rate for k in classes),
        ranks=tuple(priorities.index(k.priority) for k in classes),
        n_ranks=len(priorities),
        entries=tuple(
            (tuple(index[n] for n, _ in k.entries), tuple(accumulate(p for _, p in k.entries)))
            for k in classes
        ),
        defect_names=tuple(defect_names),
    )


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
    """Block iterators of the named streams of one replication, made on first use."""

    __slots__ = ("factory", "_cache")

    def __init__(self, factory: StreamFactory) -> None:
        self.factory = factory
        self._cache: dict[str, Callable[[], float]] = {}

    def uniform(self, name: str) -> Callable[[], float]:
        if name not in self._cache:
            gen = self.factory.generator(name)
            self._cache[name] = _blocks(gen.random).__next__
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


# -- the simulation -------------------------------------------------------------------
class _Patient:
    __slots__ = ("jid", "k", "rank", "node", "arr", "start", "svc", "own_end", "pending", "ndef", "nvis")


class _Request:
    __slots__ = ("patient", "r", "rank", "t_req", "t_start", "t_end", "sdef")


class _Due:
    """A scheduled activity: what simpy's event loop needs of an event, and a payload."""

    __slots__ = ("callbacks", "_ok", "_value", "obj")

    def __init__(self, callback: Callable[["_Due"], None], obj: Any) -> None:
        self.callbacks = [callback]
        self._ok = True
        self._value = None
        self.obj = obj


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
    streams = _Streams(StreamFactory(seed, replication))
    env = simpy.Environment()
    schedule = env.schedule
    n_nodes = len(p.node_names)

    # per-node state and samplers
    busy = [0] * n_nodes
    cap = list(p.capacity)
    nwait = [0] * n_nodes
    queues = [[deque() for _ in range(p.n_ranks)] for _ in range(n_nodes)]
    service = [[streams.duration(prefix, steps) for prefix, steps in per_node] for per_node in p.steps]
    node_defects = [
        [tuple((c, streams.uniform(s), prob) for c, s, prob in per_class) for per_class in per_node]
        for per_node in p.node_defects
    ]
    route_draw = [streams.uniform(f"route/{name}") for name in p.node_names]
    routes = p.routes
    node_requests = [
        [tuple((r, prob, streams.uniform(f"request/{p.request_labels[r]}")) for r, prob in pc) for pc in pn]
        for pn in p.node_requests
    ]
    edge_target = [dst for _, dst in p.edge_ends]
    edge_delay = [[streams.duration(name, (("delay", d),)) for name, d in pe] for pe in p.edge_delays]
    edge_defects = [
        [tuple((bit, c, streams.uniform(s), prob) for bit, c, s, prob in pc) for pc in pe] for pe in p.edge_defects
    ]
    req_target = [dst for _, dst in p.request_ends]
    req_delay = [[streams.duration(name, (("delay", d),)) for name, d in pr] for pr in p.request_delays]
    req_defects = [
        [tuple((bit, c, streams.uniform(s), prob) for bit, c, s, prob in pc) for pc in pr] for pr in p.request_defects
    ]
    n_edges = len(p.edge_labels)

    # records: one tuple per row, turned into columns at the end
    journeys: list[list[Any]] = []
    visits: list[tuple[Any, ...]] = []
    handoffs: list[tuple[Any, ...]] = []
    requests: list[tuple[Any, ...]] = []
    defects: list[tuple[int, float, int, int]] = []
    add_visit = visits.append
    add_handoff = handoffs.append
    add_defect = defects.append
    bisect_right = bisect.bisect_right

    def arrive(pt: _Patient, i: int, t: float) -> None:
        pt.node = i
        pt.arr = t
        pt.nvis += 1
        if busy[i] < cap[i]:
            start(pt, i, t)
        else:
            queues[i][pt.rank].append(pt)
            nwait[i] += 1

    def start(pt: _Patient, i: int, t: float) -> None:
        busy[i] += 1
        pt.start = t
        svc = service[i][pt.k]
        svc = svc if svc.__class__ is float else svc()
        pt.svc = svc
        reqs = node_requests[i][pt.k]
        pending = 1
        for r, prob, draw in reqs:
            if draw() < prob:
                pending += 1
                send_request(pt, r, t)
        pt.pending = pending
        schedule(_Due(own_done, pt), _NORMAL, svc)

    def own_done(ev: _Due) -> None:
        pt = ev.obj
        t = env.now
        pt.own_end = t
        pt.pending -= 1
        if not pt.pending:
            finish(pt, t)

    def finish(pt: _Patient, t: float) -> None:
        i = pt.node
        busy[i] -= 1
        nd = 0
        for c, draw, prob in node_defects[i][pt.k]:
            if draw() < prob:
                nd += 1
                add_defect((pt.jid, t, i, c))
        pt.ndef += nd
        add_visit((pt.jid, i, pt.arr, pt.start, t, pt.svc, t - pt.own_end, nd))
        if nwait[i]:
            nwait[i] -= 1
            for q in queues[i]:
                if q:
                    start(q.popleft(), i, t)
                    break
        plan_i = routes[i][pt.k]
        if plan_i is not None:
            edges, cum = plan_i
            u = route_draw[i]()
            j = bisect_right(cum, u)
            if j < len(edges):
                transfer(pt, edges[j], t)
                return
        leave(pt, t)

    def transfer(pt: _Patient, e: int, t: float) -> None:
        kinds = 0
        for bit, c, draw, prob in edge_defects[e][pt.k]:
            if draw() < prob:
                kinds |= bit
                add_defect((pt.jid, t, n_nodes + e, c))
                pt.ndef += 1
        d = edge_delay[e][pt.k]
        d = d if d.__class__ is float else d()
        add_handoff((pt.jid, e, t, t + d, kinds))
        if d > 0.0:
            pt.node = edge_target[e]
            schedule(_Due(transferred, pt), _NORMAL, d)
        else:
            arrive(pt, edge_target[e], t)

    def transferred(ev: _Due) -> None:
        pt = ev.obj
        arrive(pt, pt.node, env.now)

    def leave(pt: _Patient, t: float) -> None:
        row = journeys[pt.jid]
        row[3] = t
        row[4] = pt.node
        row[5] = pt.nvis
        row[6] = pt.ndef

    # support requests
    def send_request(pt: _Patient, r: int, t: float) -> None:
        rq = _Request()
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
        svc = svc if svc.__class__ is float else svc()
        schedule(_Due(request_done, rq), _NORMAL, svc)

    def request_done(ev: _Due) -> None:
        rq = ev.obj
        t = env.now
        r = rq.r
        s = req_target[r]
        busy[s] -= 1
        pt = rq.patient
        nd = 0
        for c, draw, prob in node_defects[s][pt.k]:
            if draw() < prob:
                nd += 1
                add_defect((pt.jid, t, s, c))
        rq.sdef = nd
        pt.ndef += nd
        rq.t_end = t
        if nwait[s]:
            nwait[s] -= 1
            for q in queues[s]:
                if q:
                    request_start(q.popleft(), s, t)
                    break
        d = req_delay[r][pt.k]
        d = d if d.__class__ is float else d()
        if d > 0.0:
            schedule(_Due(request_back, rq), _NORMAL, d)
        else:
            returned(rq, t)

    def request_back(ev: _Due) -> None:
        returned(ev.obj, env.now)

    def returned(rq: _Request, t: float) -> None:
        pt = rq.patient
        r = rq.r
        kinds = 0
        for bit, c, draw, prob in req_defects[r][pt.k]:
            if draw() < prob:
                kinds |= bit
                add_defect((pt.jid, t, n_nodes + n_edges + r, c))
                pt.ndef += 1
        requests.append((pt.jid, r, rq.t_req, rq.t_start, rq.t_end, t, rq.sdef, kinds))
        pt.pending -= 1
        if not pt.pending:
            finish(pt, t)

    # arrivals: one chain of events per class
    def make_source(k: int) -> None:
        name = p.class_names[k]
        gap = streams.duration(f"arrivals/{name}", (("gap", Exponential(1.0 / p.rates[k])),))
        nodes_k, cum_k = p.entries[k]
        choose = streams.uniform(f"entry/{name}") if len(nodes_k) > 1 else None
        rank = p.ranks[k]

        def arrival(ev: _Due) -> None:
            t = env.now
            pt = _Patient()
            pt.jid = jid = len(journeys)
            pt.k = k
            pt.rank = rank
            pt.ndef = 0
            pt.nvis = 0
            entry = nodes_k[0] if choose is None else nodes_k[min(bisect_right(cum_k, choose()), len(nodes_k) - 1)]
            journeys.append([k, entry, t, _NAN, -1, 0, 0])
            nxt = t + gap()  # type: ignore[operator]
            if nxt < horizon:
                schedule(_Due(arrival, None), _NORMAL, nxt - t)
            arrive(pt, entry, t)

        first = gap()  # type: ignore[operator]
        if first < horizon:
            schedule(_Due(arrival, None), _NORMAL, first)

    for k, rate in enumerate(p.rates):
        if rate > 0:
            make_source(k)

    env.run()
    return _finalise(p, replication, horizon, warmup, journeys, visits, handoffs, requests, defects)


def _columns(rows: list[Any], names: tuple[str, ...], dtypes: tuple[Any, ...]) -> dict[str, np.ndarray]:
    if not rows:
        return {n: np.empty(0, dtype=d) for n, d in zip(names, dtypes)}
    cols = list(zip(*rows))
    return {n: np.asarray(c, dtype=d) for n, c, d in zip(names, cols, dtypes)}


def _finalise(
    p: Plan,
    replication: int,
    horizon: float,
    warmup: float,
    journeys: list[list[Any]],
    visits: list[tuple[Any, ...]],
    handoffs: list[tuple[Any, ...]],
    requests: list[tuple[Any, ...]],
    defects: list[tuple[int, float, int, int]],
) -> Records:
    i8, f8 = np.int64, np.float64
    nodes = p.node_names
    j = _columns(journeys, ("class", "entry", "arrival", "end", "exit", "visits", "defects"), (i8, i8, f8, f8, i8, i8, i8))
    j = {"journey": np.arange(len(journeys), dtype=i8), **j}
    j["defect_free"] = j["defects"] == 0
    j["time_in_system"] = j["end"] - j["arrival"]
    v = _columns(
        visits,
        ("journey", "node", "arrival", "start", "end", "service", "support_wait", "defects"),
        (i8, i8, f8, f8, f8, f8, f8, i8),
    )
    v["wait"] = v["start"] - v["arrival"]
    v["sojourn"] = v["end"] - v["arrival"]
    h = _columns(handoffs, ("journey", "handoff", "depart", "arrive", "kinds"), (i8, i8, f8, f8, i8))
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
    r = _columns(
        requests,
        ("journey", "request", "requested", "start", "end", "returned", "support_defects", "kinds"),
        (i8, i8, f8, f8, f8, f8, i8, i8),
    )
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
    d = _columns(defects, ("journey", "time", "element", "defect"), (i8, f8, i8, i8))
    n_nodes, n_edges = len(nodes), len(p.edge_labels)
    etype = np.where(d["element"] < n_nodes, 0, np.where(d["element"] < n_nodes + n_edges, 1, 2))
    d = {"journey": d["journey"], "time": d["time"], "element": d["element"], "element_type": etype, "defect": d["defect"]}
    elements = nodes + p.edge_labels + p.request_labels
    # journeys still running (none, since runs drain) would carry exit -1: map them to a label
    exit_labels = nodes + ("(in system)",)
    j["exit"] = np.where(j["exit"] < 0, len(nodes), j["exit"])
    return Records(
        replication=replication,
        horizon=horizon,
        warmup=warmup,
        journeys=Table("journeys", j, {"class": p.class_names, "entry": nodes, "exit": exit_labels}),
        visits=Table("visits", v, {"node": nodes}),
        handoffs=Table("handoffs", h, {"handoff": p.edge_labels, "source": nodes, "target": nodes}),
        requests=Table("requests", r, {"request": p.request_labels, "source": nodes, "target": nodes}),
        defects=Table(
            "defects",
            d,
            {"element": elements, "element_type": ("microsystem", "handoff", "request"), "defect": p.defect_names},
        ),
    )
