"""Per-replication statistics as additive aggregates.

A :class:`ReplicationStats` holds counts and sums (and, when records are kept,
the raw times in system) for one replication. It is computed from a
replication's tables by :meth:`ReplicationStats.add_tables`; because everything
in it adds up, the engine's bounded-memory *summary* mode feeds it the tables in
chunks and keeps nothing else. :mod:`journeysim.analysis.metrics` turns the aggregates of
all replications into means and confidence intervals.

Which rows count (see ``docs/results.md``): a journey counts when it arrived at
or after the warm-up (journeys are numbered in arrival order, so that is
``journey >= first_counted``); element quality uses the visits, transfers and
requests of counted journeys; flow uses the visits that arrived at the
microsystem in ``[warmup, horizon)`` and the busy time inside that window.

In a run that stops at the horizon, a counted journey must also have ended
before it (journeys in progress are counted apart, per class); a wait counts when
the visit started before the horizon, a sojourn when it ended; busy time runs up
to the horizon; and the visits and requests unfinished there give each
microsystem's census (in service, waiting). A standard is judged on every counted
journey, ended or not, unless it is still open (not yet reached).

Examples
--------
>>> s = ReplicationStats.empty(n_classes=1, n_nodes=1, n_edges=0, n_requests=0, keep_values=True)
>>> s.class_done.tolist()
[0.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..model.kinds import HANDOFF_KINDS, REQUEST_KINDS, code
from ..model.queues import UNSERVED
from .plan import CostTables

__all__ = ["ReplicationStats", "TIS_BINS", "COST_COMPONENTS"]

#: What the cost of a journey is made of: visits (per visit and per minute holding a server,
#: support visits included), handoffs, service requests, defects, and missed standards.
COST_COMPONENTS: tuple[str, ...] = ("visits", "handoffs", "requests", "defects", "misses")

#: Bin edges (minutes) of the time-in-system histograms: log-spaced, about 2% wide.
TIS_BINS: NDArray[np.float64] = np.concatenate([[0.0], np.logspace(-3, 8, 1201)])


@dataclass(slots=True)
class ReplicationStats:
    """Additive statistics of one replication (see the module docstring)."""

    def __repr__(self) -> str:
        return (f"<ReplicationStats of replication {self.replication}: {int(self.class_done.sum()):,} journeys "
                f"counted, {int(self.class_good.sum()):,} defect-free>")

    replication: int
    horizon: float
    warmup: float
    # counted journeys, per class
    class_done: NDArray[np.float64]
    class_good: NDArray[np.float64]
    # counted journeys with no defect of a microsystem, handoff or request (standards aside)
    class_good_elements: NDArray[np.float64]
    class_tis_sum: NDArray[np.float64]
    class_tis_hist: NDArray[np.float64]  # (classes, bins)
    # element quality (rows of counted journeys)
    node_visits: NDArray[np.float64]
    node_bad: NDArray[np.float64]
    edge_n: NDArray[np.float64]
    edge_bad: NDArray[np.float64]
    edge_kind_bad: NDArray[np.float64]  # (edges, kinds)
    req_n: NDArray[np.float64]
    req_bad: NDArray[np.float64]
    req_kind_bad: NDArray[np.float64]  # (requests, kinds): the columns of kinds a request cannot carry stay 0
    edge_caught: NDArray[np.float64]  # information defects caught by the receiving microsystem
    # flow in the window [warmup, horizon)
    flow_count: NDArray[np.float64]
    wait_sum: NDArray[np.float64]
    sojourn_sum: NDArray[np.float64]
    support_wait_sum: NDArray[np.float64]
    hold_sum: NDArray[np.float64]
    busy_time: NDArray[np.float64]
    # boarding per handoff (counted journeys): transfers that boarded, minutes boarded
    edge_blocked_n: NDArray[np.float64]
    edge_blocked_sum: NDArray[np.float64]
    # activation per node (counted journeys): visits, called ahead, minutes ahead, minutes waiting for the team
    act_n: NDArray[np.float64]
    act_ahead_n: NDArray[np.float64]
    act_ahead_sum: NDArray[np.float64]
    act_wait_sum: NDArray[np.float64]
    # standards, per [standard, cell] (cell 0: everyone; then each label of each group)
    std_n: NDArray[np.float64]
    std_met: NDArray[np.float64]
    std_reached: NDArray[np.float64]
    std_hist: NDArray[np.float64]  # (standards, cells, bins) of the minutes
    # cost of counted journeys per [class, component] (see COST_COMPONENTS)
    class_cost: NDArray[np.float64]
    # counted journeys per [class, outcome] (Plan.outcome_names: the default exit first)
    class_outcome: NDArray[np.float64]
    # raw times in system per class, when records are kept (exact percentiles)
    class_tis_values: tuple[NDArray[np.float64], ...] | None = None
    # raw minutes per standard and cell (index standard * cells + cell), when records are kept
    std_values: tuple[NDArray[np.float64], ...] | None = None
    journeys_total: int = 0
    # arrivals in the flow window that ended without a visit, per [node, how] (UNSERVED), and the
    # minutes those who reneged had waited, per node
    unserved_n: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, len(UNSERVED))))
    unserved_wait_sum: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    # a run that stops at the horizon (the arrays stay empty in a run that drains)
    stopped: bool = False
    # counted journeys still in the pathway at the horizon, per class
    class_open: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    # flow-window visits that started, and that ended, before the horizon (the denominators of waits and sojourns)
    flow_started: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    flow_left: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    # the census at the horizon: visits (and requests) in service, and waiting, per node
    node_in_service: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    node_waiting: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    # standards still open (not yet reached) at the horizon, per [standard, cell]
    std_open: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def empty(
        cls, *, n_classes: int, n_nodes: int, n_edges: int, n_requests: int, keep_values: bool,
        replication: int = 0, horizon: float = 0.0, warmup: float = 0.0, n_standards: int = 0, n_cells: int = 1,
        n_outcomes: int = 1,
        stopped: bool = False,
    ) -> ReplicationStats:
        """All-zero statistics of the given shape (with the census of a stopped run's horizon if ``stopped``)."""
        z = np.zeros
        sc = (n_standards, n_cells)
        stop: dict[str, Any] = {} if not stopped else dict(
            stopped=True, class_open=z(n_classes), flow_started=z(n_nodes), flow_left=z(n_nodes),
            node_in_service=z(n_nodes), node_waiting=z(n_nodes), std_open=z(sc))
        return cls(
            replication=replication, horizon=horizon, warmup=warmup,
            class_done=z(n_classes), class_good=z(n_classes), class_good_elements=z(n_classes),
            class_tis_sum=z(n_classes), class_tis_hist=z((n_classes, TIS_BINS.size - 1)),
            node_visits=z(n_nodes), node_bad=z(n_nodes),
            edge_n=z(n_edges), edge_bad=z(n_edges), edge_kind_bad=z((n_edges, len(HANDOFF_KINDS))),
            req_n=z(n_requests), req_bad=z(n_requests), req_kind_bad=z((n_requests, len(HANDOFF_KINDS))),
            edge_caught=z(n_edges),
            flow_count=z(n_nodes), wait_sum=z(n_nodes), sojourn_sum=z(n_nodes),
            support_wait_sum=z(n_nodes), hold_sum=z(n_nodes), busy_time=z(n_nodes),
            edge_blocked_n=z(n_edges), edge_blocked_sum=z(n_edges),
            act_n=z(n_nodes), act_ahead_n=z(n_nodes), act_ahead_sum=z(n_nodes), act_wait_sum=z(n_nodes),
            std_n=z(sc), std_met=z(sc), std_reached=z(sc), std_hist=z((*sc, TIS_BINS.size - 1)),
            class_cost=z((n_classes, len(COST_COMPONENTS))),
            class_outcome=z((n_classes, n_outcomes)),
            class_tis_values=tuple(np.empty(0) for _ in range(n_classes)) if keep_values else None,
            std_values=tuple(np.empty(0) for _ in range(n_standards * n_cells)) if keep_values else None,
            unserved_n=z((n_nodes, len(UNSERVED))), unserved_wait_sum=z(n_nodes),
            **stop,
        )

    def add_tables(
        self,
        tables: Mapping[str, Mapping[str, NDArray]],
        first_counted: int,
        cells: NDArray[np.int64] | None = None,
        costs: CostTables | None = None,
        in_progress: NDArray[np.int64] | None = None,
    ) -> None:
        """Add the rows of (a chunk of) a replication's tables.

        ``tables`` maps table names to columns (:data:`journeysim.engine.records.FIELDS`);
        its journeys are finished journeys only, except at the end of a run that
        stops at the horizon, where ``in_progress`` lists the journeys still in the
        pathway (sorted ids) and the tables hold what was unfinished. ``first_counted``
        is the id of the first journey that arrived at or after the warm-up. ``cells``
        gives each standards row its cell in every group (-1: in none); ``costs`` the
        costs of the elements, if any.
        """
        nc, nn = self.class_done.size, self.node_visits.size
        ne, nr = self.edge_n.size, self.req_n.size
        j = tables["journeys"]
        visits, handoffs, requests = tables["visits"], tables["handoffs"], tables["requests"]
        self.journeys_total += len(j["journey"])

        def counted(table: Mapping[str, NDArray]) -> NDArray[np.bool_]:
            """The rows of counted journeys (that ended, at the end of a stopped run)."""
            mine = table["journey"] >= first_counted
            if in_progress is not None:
                mine &= ~np.isin(table["journey"], in_progress)
            return mine

        keep = counted(j)
        if in_progress is not None:
            ongoing = (j["journey"] >= first_counted) & ~keep
            self.class_open += np.bincount(j["class"][ongoing], minlength=nc)
        cls = j["class"][keep]
        good = j["defects"][keep] == 0
        tis = (j["end"] - j["arrival"])[keep]
        self.class_done += np.bincount(cls, minlength=nc)
        self.class_good += np.bincount(cls[good], minlength=nc)
        self.class_good_elements += np.bincount(cls[(j["defects"] - j["missed"])[keep] == 0], minlength=nc)
        self.class_tis_sum += np.bincount(cls, weights=tis, minlength=nc)
        n_out = self.class_outcome.shape[1]
        self.class_outcome += np.bincount(cls * n_out + j["outcome"][keep], minlength=nc * n_out).reshape(nc, n_out)
        bins = np.clip(np.searchsorted(TIS_BINS, tis, side="right") - 1, 0, TIS_BINS.size - 2)
        np.add.at(self.class_tis_hist, (cls, bins), 1.0)
        if self.class_tis_values is not None:
            self.class_tis_values = tuple(
                np.concatenate([old, tis[cls == k]]) for k, old in enumerate(self.class_tis_values)
            )

        v, q, h = visits, requests, handoffs
        in_v = counted(v)
        self.node_visits += np.bincount(v["node"][in_v], minlength=nn)
        self.node_bad += np.bincount(v["node"][in_v & (v["defects"] > 0)], minlength=nn)
        in_q = counted(q)
        self.node_visits += np.bincount(q["target"][in_q], minlength=nn)
        self.node_bad += np.bincount(q["target"][in_q & (q["support_defects"] > 0)], minlength=nn)
        self.req_n += np.bincount(q["request"][in_q], minlength=nr)
        self.req_bad += np.bincount(q["request"][in_q & np.logical_or.reduce([q[k] for k in REQUEST_KINDS])],
                                    minlength=nr)
        for kind in REQUEST_KINDS:
            self.req_kind_bad[:, code(kind)] += np.bincount(q["request"][in_q & q[kind]], minlength=nr)
        in_h = counted(h)
        self.edge_n += np.bincount(h["handoff"][in_h], minlength=ne)
        any_bad = np.logical_or.reduce([h[kind] for kind in HANDOFF_KINDS])
        self.edge_bad += np.bincount(h["handoff"][in_h & any_bad], minlength=ne)
        for b, kind in enumerate(HANDOFF_KINDS):
            self.edge_kind_bad[:, b] += np.bincount(h["handoff"][in_h & h[kind]], minlength=ne)
        self.edge_caught += np.bincount(h["handoff"][in_h & h["caught"]], minlength=ne)
        if costs is not None:
            self._add_costs(tables, counted, costs)
        self._add_flow(v, q, at_horizon=in_progress is not None)

        boarded = in_h & (h["blocked"] > 0)
        self.edge_blocked_n += np.bincount(h["handoff"][boarded], minlength=ne)
        self.edge_blocked_sum += np.bincount(h["handoff"][in_h], weights=h["blocked"][in_h], minlength=ne)
        a = tables["activations"]
        in_a = counted(a)
        an = a["node"][in_a]
        ahead = a["ahead"][in_a]
        self.act_n += np.bincount(an, minlength=nn)
        self.act_ahead_n += np.bincount(an[ahead > 0], minlength=nn)
        self.act_ahead_sum += np.bincount(an, weights=ahead, minlength=nn)
        self.act_wait_sum += np.bincount(an, weights=a["team_wait"][in_a], minlength=nn)
        self._add_standards(tables["standards"], first_counted, cells)
        if "unserved" in tables:
            self._add_unserved(tables["unserved"])

    def _add_unserved(self, u: Mapping[str, NDArray]) -> None:
        """Arrivals in the flow window that ended without a visit, by microsystem and how."""
        if len(u["node"]) == 0:
            return
        nn = self.node_visits.size
        inside = (u["arrival"] >= self.warmup) & (u["arrival"] < self.horizon)
        node, how = u["node"][inside], u["ended"][inside]
        self.unserved_n += np.bincount(node * len(UNSERVED) + how, minlength=nn * len(UNSERVED)).reshape(
            nn, len(UNSERVED))
        self.unserved_wait_sum += np.bincount(node, weights=u["wait"][inside], minlength=nn)

    def _add_flow(self, v: Mapping[str, NDArray], q: Mapping[str, NDArray], at_horizon: bool) -> None:
        """Flow in the window: the visits (and requests served) that arrived in it, and the busy time inside it.

        ``at_horizon``: the rows hold what was unfinished at the horizon of a stopped run
        (``NaN`` start or end): a wait counts for a visit that started, a sojourn for one that
        ended, busy time runs up to the horizon, and the unfinished rows are the census.
        """
        nn = self.node_visits.size
        warmup, horizon = self.warmup, self.horizon
        node = np.concatenate([v["node"], q["target"]])
        arr = np.concatenate([v["arrival"], q["requested"]])
        start = np.concatenate([v["start"], q["start"]])
        end = np.concatenate([v["end"], q["end"]])
        swait = np.concatenate([v["support_wait"], np.zeros(len(q["target"]))])
        hold = np.concatenate([v["hold"], np.zeros(len(q["target"]))])
        inside = (arr >= warmup) & (arr < horizon)
        n_in = node[inside]
        counts = np.bincount(n_in, minlength=nn)
        self.flow_count += counts
        # fmin is minimum where nothing is NaN; a visit unfinished at the horizon is busy up to it
        overlap = np.clip(np.fmin(end, horizon) - np.maximum(start, warmup), 0.0, None)
        if at_horizon:
            started, ended = np.isfinite(start), np.isfinite(end)
            self.node_in_service += np.bincount(node[started & ~ended], minlength=nn)
            self.node_waiting += np.bincount(node[~started], minlength=nn)
            overlap[~started] = 0.0
            s_in, e_in = inside & started, inside & ended
            self.flow_started += np.bincount(node[s_in], minlength=nn)
            self.flow_left += np.bincount(node[e_in], minlength=nn)
            self.wait_sum += np.bincount(node[s_in], weights=(start - arr)[s_in], minlength=nn)
            self.sojourn_sum += np.bincount(node[e_in], weights=(end - arr)[e_in], minlength=nn)
            self.support_wait_sum += np.bincount(node[e_in], weights=swait[e_in], minlength=nn)
            self.hold_sum += np.bincount(node[e_in], weights=hold[e_in], minlength=nn)
        else:
            if self.stopped:  # before the end of a stopped run, every row is of a finished visit
                self.flow_started += counts
                self.flow_left += counts
            self.wait_sum += np.bincount(n_in, weights=(start - arr)[inside], minlength=nn)
            self.sojourn_sum += np.bincount(n_in, weights=(end - arr)[inside], minlength=nn)
            self.support_wait_sum += np.bincount(n_in, weights=swait[inside], minlength=nn)
            self.hold_sum += np.bincount(n_in, weights=hold[inside], minlength=nn)
        self.busy_time += np.bincount(node, weights=overlap, minlength=nn)

    def _add_costs(self, tables: Mapping[str, Mapping[str, NDArray]],
                   counted: Callable[[Mapping[str, NDArray]], NDArray[np.bool_]], costs: CostTables) -> None:
        """Add the cost of each row of counted journeys (``counted(table)``) to its class and component."""
        nc = self.class_done.size
        v, h, q, d = tables["visits"], tables["handoffs"], tables["requests"], tables["defects"]

        def add(component: str, table: Mapping[str, NDArray], amount: NDArray) -> None:
            keep = counted(table)
            self.class_cost[:, COST_COMPONENTS.index(component)] += np.bincount(
                table["class"][keep], weights=amount[keep], minlength=nc)

        add("visits", v, costs.node_visit[v["node"]] + costs.node_minute[v["node"]] * (v["end"] - v["start"]))
        add("visits", q, costs.node_visit[q["target"]] + costs.node_minute[q["target"]] * (q["end"] - q["start"]))
        add("handoffs", h, costs.edge_visit[h["handoff"]] + costs.edge_minute[h["handoff"]] * h["delay"])
        add("requests", q, costs.request_visit[q["request"]]
            + costs.request_minute[q["request"]] * (q["returned"] - q["end"]))
        per_defect = costs.defect[d["element"], d["defect"]]
        standard = d["element_type"] == 3
        add("defects", d, np.where(standard, 0.0, per_defect))
        add("misses", d, np.where(standard, per_defect, 0.0))

    def _add_standards(self, s: Mapping[str, NDArray], first_counted: int, cells: NDArray[np.int64] | None) -> None:
        n_std, n_cells = self.std_n.shape
        if n_std == 0 or len(s["journey"]) == 0:
            return
        assert cells is not None
        keep = s["journey"] >= first_counted
        if self.stopped:  # a standard still open at the horizon is neither met nor missed: counted apart
            still_open = keep & s["open"]
            if still_open.any():
                self._add_open(s["standard"][still_open], cells[still_open])
                keep &= ~s["open"]
        std, met, reached = s["standard"][keep], s["met"][keep], s["reached"][keep]
        minutes = s["minutes"][keep]
        cells = cells[keep]
        bins = np.clip(np.searchsorted(TIS_BINS, np.nan_to_num(minutes), side="right") - 1, 0, TIS_BINS.size - 2)
        for g in range(cells.shape[1]):
            c = cells[:, g]
            ok = c >= 0
            flat = std[ok] * n_cells + c[ok]
            size = n_std * n_cells
            self.std_n += np.bincount(flat, minlength=size).reshape(n_std, n_cells)
            self.std_met += np.bincount(flat[met[ok]], minlength=size).reshape(n_std, n_cells)
            r = reached[ok]
            self.std_reached += np.bincount(flat[r], minlength=size).reshape(n_std, n_cells)
            np.add.at(self.std_hist, (std[ok][r], c[ok][r], bins[ok][r]), 1.0)
            if self.std_values is not None:
                values = list(self.std_values)
                m = minutes[ok][r]
                for idx in np.unique(flat[r]):
                    values[idx] = np.concatenate([values[idx], m[flat[r] == idx]])
                self.std_values = tuple(values)

    def _add_open(self, std: NDArray[np.int64], cells: NDArray[np.int64]) -> None:
        """Count standards still open at the horizon, per [standard, cell]."""
        n_std, n_cells = self.std_open.shape
        for g in range(cells.shape[1]):
            ok = cells[:, g] >= 0
            flat = std[ok] * n_cells + cells[ok, g]
            self.std_open += np.bincount(flat, minlength=n_std * n_cells).reshape(n_std, n_cells)

    def to_arrays(self) -> dict[str, NDArray]:
        """Every aggregate as a named array (for checkpoints, which never pickle)."""
        out: dict[str, NDArray] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("class_tis_values", "std_values"):
                if value is not None:
                    for k, arr in enumerate(value):
                        out[f"{f.name}/{k}"] = arr
            else:
                out[f.name] = np.asarray(value)
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray]) -> ReplicationStats:
        """Rebuild from :meth:`to_arrays`."""
        scalars = {"replication": int, "horizon": float, "warmup": float, "journeys_total": int, "stopped": bool}
        # a field's type depends on its name: a tuple of arrays, a scalar, or an array
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in ("class_tis_values", "std_values"):
                keys = sorted((k for k in arrays if k.startswith(f.name + "/")), key=lambda k: int(k.split("/")[1]))
                kwargs[f.name] = tuple(np.asarray(arrays[k]) for k in keys) if keys else None
            elif f.name in scalars:
                kwargs[f.name] = scalars[f.name](arrays[f.name])
            elif f.name.startswith("unserved") and f.name not in arrays:  # written before queue rules existed
                n = np.asarray(arrays["node_visits"]).size
                kwargs[f.name] = np.zeros((n, len(UNSERVED)) if f.name == "unserved_n" else n)
            else:
                kwargs[f.name] = np.asarray(arrays[f.name], dtype=float)
        return cls(**kwargs)
