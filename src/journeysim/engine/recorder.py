"""The rows a replication writes, and their conversion to the columns of :data:`~journeysim.engine.records.FIELDS`.

Visits, handoffs and journeys, the largest tables, are kept as flat lists of
numbers (extending a flat list and converting it with :func:`numpy.fromiter` is
faster overall); the other tables as lists of row tuples, converted through a
structured array.

Examples
--------
>>> rec = Recorder()
>>> rec.add_visit((0, 1, 0.0, 0.5, 5.0, 4.5, 0.0, 0, 0.0))   # journey 0 at node 1
>>> rec.pending()
9
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ..model.kinds import CAUGHT_BIT, HANDOFF_KINDS, REQUEST_KINDS, bit
from .plan import Plan

__all__ = ["Recorder", "VISIT_FIELDS", "Columns"]

#: numbers per visit row in the flat list
VISIT_FIELDS = 9

Columns = dict[str, NDArray[Any]]
Fields = tuple[tuple[str, DTypeLike], ...]

_I8, _F8 = np.int64, np.float64
_JOURNEY: Fields = (("journey", _I8), ("class", _I8), ("entry", _I8), ("arrival", _F8), ("end", _F8),
                    ("exit", _I8), ("defects", _I8), ("missed", _I8), ("outcome", _I8))
_VISIT: Fields = (("journey", _I8), ("node", _I8), ("arrival", _F8), ("start", _F8), ("end", _F8),
                  ("service", _F8), ("support_wait", _F8), ("defects", _I8), ("hold", _F8))
_HANDOFF: Fields = (("journey", _I8), ("handoff", _I8), ("depart", _F8), ("arrive", _F8), ("kinds", _I8),
                    ("blocked", _F8))
_REQUEST: Fields = (("journey", _I8), ("request", _I8), ("requested", _F8), ("start", _F8), ("end", _F8),
                    ("returned", _F8), ("support_defects", _I8), ("kinds", _I8))
_DEFECT: Fields = (("journey", _I8), ("time", _F8), ("element", _I8), ("defect", _I8))
_STANDARD: Fields = (("journey", _I8), ("standard", _I8), ("class", _I8), ("entry", _I8), ("start", _F8),
                     ("end", _F8), ("met", np.bool_), ("open", np.bool_))
_ACTIVATION: Fields = (("journey", _I8), ("node", _I8), ("activated", _F8), ("ready", _F8), ("arrival", _F8))
_UNSERVED: Fields = (("journey", _I8), ("node", _I8), ("arrival", _F8), ("end", _F8), ("ended", _I8), ("to", _I8))


class Recorder:
    """The row lists of one replication (or of the chunk not yet reduced, in summary mode)."""

    __slots__ = ("journeys", "visits", "handoffs", "requests", "defects", "standards", "activations", "class_of",
                 "attrs_of", "add_journey", "add_visit", "add_handoff", "add_request", "add_defect", "add_standard",
                 "add_activation", "unserved", "add_unserved")

    def __init__(self) -> None:
        self.journeys: list[float] = []
        self.visits: list[float] = []
        self.handoffs: list[float] = []
        self.requests: list[tuple[Any, ...]] = []
        self.defects: list[tuple[int, float, int, int]] = []
        self.standards: list[tuple[Any, ...]] = []
        self.activations: list[tuple[Any, ...]] = []
        #: the class of each journey, by id (never cleared: later chunks refer to earlier journeys)
        self.class_of = array("H")
        #: the attribute vector of each journey, by id, where the model has attributes (never cleared)
        self.attrs_of: list[list[float]] = []
        # bound once: the hot path calls these for every row
        self.add_journey = self.journeys.extend
        self.add_visit = self.visits.extend
        self.add_handoff = self.handoffs.extend
        self.add_request = self.requests.append
        self.add_defect = self.defects.append
        self.add_standard = self.standards.append
        self.add_activation = self.activations.append
        #: arrivals that ended without service (queue limits, balking, reneging)
        self.unserved: list[tuple[int, int, float, float, int, int]] = []
        self.add_unserved = self.unserved.append

    def pending(self) -> int:
        """Numbers held in the visit and request rows: summary mode reduces the rows past a threshold of it."""
        return len(self.visits) + VISIT_FIELDS * len(self.requests)

    def clear(self) -> None:
        """Drop the rows (not the classes of the journeys)."""
        for rows in (self.journeys, self.visits, self.handoffs, self.requests, self.defects, self.standards,
                     self.activations, self.unserved):
            rows.clear()

    def tables(self, p: Plan) -> dict[str, Columns]:
        """The rows as the columns of :data:`journeysim.engine.records.FIELDS`."""
        visits = _flat_columns(self.visits, _VISIT)
        journeys = _journeys(_flat_columns(self.journeys, _JOURNEY), visits["journey"])
        visits["wait"] = visits["start"] - visits["arrival"]
        visits["sojourn"] = visits["end"] - visits["arrival"]
        handoffs = _handoffs(p, _flat_columns(self.handoffs, _HANDOFF))
        requests = _requests(p, _columns(self.requests, _REQUEST))
        defects = _defects(p, _columns(self.defects, _DEFECT))
        standards = _standards(_columns(self.standards, _STANDARD))
        a = _columns(self.activations, _ACTIVATION)
        a["ahead"] = a["arrival"] - a["activated"]
        a["team_wait"] = np.clip(a["ready"] - a["arrival"], 0.0, None)
        u = _columns(self.unserved, _UNSERVED)
        u["wait"] = u["end"] - u["arrival"]
        klass = np.frombuffer(self.class_of, dtype=np.uint16)
        visits, handoffs, requests, defects, u = (_with_class(t, klass)
                                                  for t in (visits, handoffs, requests, defects, u))
        del klass  # release the buffer: the engine appends to ``class_of`` again
        if p.attributes:
            journeys.update(_attribute_columns(p, self.attrs_of, journeys["journey"]))
        return {"journeys": journeys, "visits": visits, "handoffs": handoffs, "requests": requests,
                "defects": defects, "standards": standards, "activations": a, "unserved": u}


def _attribute_columns(p: Plan, attrs_of: list[list[float]], ids: NDArray[np.int64]) -> Columns:
    """One column per attribute for the journeys ``ids``: a category's codes (-1 where the class has none),
    numbers and yes/no (1.0/0.0) as floats (NaN where the class has none)."""
    table = np.array(attrs_of, dtype=np.float64).reshape(-1, len(p.attributes))[ids] if len(ids) else \
        np.empty((0, len(p.attributes)))
    out: Columns = {}
    for c, a in enumerate(p.attributes):
        col = table[:, c]
        out[a.name] = np.where(np.isnan(col), -1, col).astype(_I8) if a.kind == "category" else col.copy()
    return out


def _flat_columns(flat: list[float], fields: Fields) -> Columns:
    # every value is an int below 2**53 or a float, so float64 holds each exactly
    table = np.fromiter(flat, dtype=np.float64, count=len(flat)).reshape(-1, len(fields))
    return {name: np.ascontiguousarray(table[:, c].astype(dtype)) for c, (name, dtype) in enumerate(fields)}


def _columns(rows: list[Any], fields: Fields) -> Columns:
    # a structured array converts a list of row tuples about five times faster than zip(*rows)
    dtype = np.dtype(list(fields))
    table = np.array(rows, dtype=dtype) if rows else np.empty(0, dtype=dtype)
    return {name: np.ascontiguousarray(table[name]) for name, _ in fields}


def _journeys(j: Columns, visit_journeys: NDArray[np.int64]) -> Columns:
    order = np.argsort(j["journey"], kind="stable")
    j = {name: col[order] for name, col in j.items()}
    n_journeys = len(j["journey"])
    # visits per journey, derived in bulk rather than counted on the hot path (a chunk in
    # summary mode counts only its own visits of each journey)
    ids = j["journey"]
    if n_journeys and ids[-1] - ids[0] == n_journeys - 1:
        # the ids are consecutive (always so with full records): a journey's position is its id less
        # the first, found without a binary search per visit
        pos = visit_journeys - ids[0]
        mine = (pos >= 0) & (pos < n_journeys)
    else:
        pos = np.searchsorted(ids, visit_journeys)
        mine = pos < n_journeys
        mine[mine] = ids[pos[mine]] == visit_journeys[mine]
    visit_counts = np.bincount(pos[mine], minlength=n_journeys).astype(_I8)
    return {
        "journey": j["journey"],
        "class": j["class"],
        "entry": j["entry"],
        "arrival": j["arrival"],
        "end": j["end"],
        "exit": j["exit"],
        "visits": visit_counts,
        "defects": j["defects"],
        "missed": j["missed"],
        "defect_free": (j["defects"] == 0) & ~np.isnan(j["end"]),  # a journey in progress is not judged
        "time_in_system": j["end"] - j["arrival"],
        "outcome": j["outcome"],
    }


def _handoffs(p: Plan, h: Columns) -> Columns:
    ends = np.asarray([(e.source, e.target) for e in p.edges], dtype=_I8).reshape(-1, 2)
    kinds = h.pop("kinds")
    return {
        "journey": h["journey"],
        "handoff": h["handoff"],
        "source": ends[h["handoff"], 0],
        "target": ends[h["handoff"], 1],
        "depart": h["depart"],
        "arrive": h["arrive"],
        **{kind: (kinds & (1 << b)) != 0 for b, kind in enumerate(HANDOFF_KINDS)},
        "caught": (kinds & CAUGHT_BIT) != 0,
        "delay": h["arrive"] - h["depart"],
        "blocked": h["blocked"],
    }


def _requests(p: Plan, r: Columns) -> Columns:
    ends = np.asarray([(q.source, q.target) for q in p.requests], dtype=_I8).reshape(-1, 2)
    kinds = r.pop("kinds")
    return {
        "journey": r["journey"],
        "request": r["request"],
        "source": ends[r["request"], 0],
        "target": ends[r["request"], 1],
        **{k: r[k] for k in ("requested", "start", "end", "returned", "support_defects")},
        **{kind: (kinds & bit(kind)) != 0 for kind in REQUEST_KINDS},
        "wait": r["start"] - r["requested"],
        "turnaround": r["returned"] - r["requested"],
    }


def _defects(p: Plan, d: Columns) -> Columns:
    n_nodes, n_edges = len(p.nodes), len(p.edges)
    n_links = n_nodes + n_edges + len(p.requests)
    element = d["element"]
    etype = np.select([element < n_nodes, element < n_nodes + n_edges, element < n_links], [0, 1, 2], 3)
    return {"journey": d["journey"], "time": d["time"], "element": element, "element_type": etype,
            "defect": d["defect"]}


def _standards(s: Columns) -> Columns:
    reached = np.isfinite(s["end"])
    s["end"] = np.where(reached, s["end"], np.nan)
    s["minutes"] = s["end"] - s["start"]
    s["reached"] = reached
    s["open"] = s.pop("open")  # last, as in FIELDS
    return s


def _with_class(table: Columns, klass: NDArray[np.uint16]) -> Columns:
    """``table`` with the class of each row's journey as its second column."""
    journey = table.pop("journey")
    return {"journey": journey, "class": klass[journey].astype(np.int64), **table}
