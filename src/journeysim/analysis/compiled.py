"""The exact quality of a model compiled into arrays, solved for a batch of what-ifs at once.

:func:`~journeysim.analysis.exact.exact_quality` solves, for every patient class
and every frailty node ``z``, the linear system of the recursion::

    q(n) = Qm(n) * ( p_exit(n) + sum_j p(n, j) * Qh(n, j) * q(j) )

Leverage asks the same again with each element's defect probabilities scaled
(0 for "if perfect", 1/2 for "if halved"). Such a what-if changes only a few
numbers: the qualities of one microsystem, handoff kind or request, hence a few
rows of the system. So the model is compiled once, by :meth:`CompiledModel.of`,
into arrays of its defect probabilities (one *factor* per defect of a
microsystem and per kind of a handoff or request), of the factors each element
multiplies, and of its routing; :meth:`CompiledModel.solve` then evaluates every
factor for a batch of scalings times frailty nodes times classes in a few array
operations and solves all the systems together:

* **small graphs** (at most :data:`DENSE_MAX` clinical microsystems): stacked
  dense systems, ``numpy.linalg.solve`` over a ``(batch, n, n)`` array, in chunks
  of at most :data:`CHUNK_FLOATS` numbers so that memory stays bounded;
* **large graphs**: one sparse solve each (:func:`journeysim.model.traffic.solve`,
  a sparse LU or BiCGSTAB), since ``batch * n**2`` floats would not fit.

Results are averaged over the frailty with its quadrature weights. Only the
system and class qualities are kept for every scaling; the per-node values (``q``,
visit and handoff qualities) on request (``detail=True``), for the plain solve.

Examples
--------
>>> from journeysim.model.elements import Microsystem, Handoff, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> m = Model([Microsystem("A", defect=0.1), Microsystem("B", defect=0.2)],
...           [Handoff("A", "B", defects={"information": 0.5})],
...           classes=[PatientClass("all", entry="A", rate=0.1)])
>>> c = CompiledModel.of(m)
>>> s = c.solve(c.multipliers([{}, {("microsystem", "B"): 0.0}]))
>>> s.system.round(6).tolist()   # 0.9 * 0.5 * 0.8, then with B perfect
[0.36, 0.45]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..model.elements import ByClass
from ..model.frailty import Frailty
from ..model.kinds import HANDOFF_KINDS, INFORMATION, REQUEST_KINDS
from ..model.mesosystem import Model
from ..model.traffic import solve as sparse_solve
from .built import caught_of, defects_of, kinds_of, probability_of

__all__ = ["CompiledModel", "Solution", "Scale", "DENSE_MAX", "CHUNK_FLOATS"]

#: Scale factors of defect probabilities, by element: ``("microsystem", name)``,
#: ``("handoff", "A->B", kind)`` or ``("request", "A=>B")``; 0 makes the element perfect.
Scale = Mapping[tuple[str, ...], float]

#: Up to this many clinical microsystems the systems are solved dense and stacked.
DENSE_MAX = 200

#: About how many numbers one chunk of the batch may hold at once (32 MiB of floats).
CHUNK_FLOATS = 1 << 22

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Solution:
    """The exact quality of a batch of scalings, averaged over the frailty.

    Attributes
    ----------
    system : array ``[scaling]``
        Probability that a journey is defect-free, pathway classes weighted by arrival rate.
    by_class : array ``[scaling, class]``
    from_node, visit : arrays ``[scaling, class, clinical node]`` or None
        ``q(n)`` and ``Qm(n)`` of the recursion (with ``detail=True`` only).
    handoff : array ``[scaling, class, handoff]`` or None
        ``Qh``, the quality of one transfer (with ``detail=True`` only).
    """

    system: Floats
    by_class: Floats
    from_node: Floats | None = None
    visit: Floats | None = None
    handoff: Floats | None = None


def _by_class_table(classes: Sequence[str], tables: Sequence[ByClass]) -> Floats:
    """``[class, element]``: each element's value for each class."""
    return np.array([[t.get(k) for t in tables] for k in classes], dtype=float).reshape(len(classes), len(tables))


def _padded(groups: Sequence[Sequence[int]], fill: int) -> Ints:
    """Ragged lists of indices as one ``[group, longest]`` array, short rows filled with ``fill``."""
    width = max((len(g) for g in groups), default=0)
    out = np.full((len(groups), width), fill, dtype=np.intp)
    for i, g in enumerate(groups):
        out[i, : len(g)] = g
    return out


class _Factors:
    """The defect probabilities of a model as factors ``1 - p(z) * kept``, gathered while compiling.

    Each factor has a probability per class, one or two scale keys that multiply it
    (the kinds of a handoff or request answer to ``("handoff", label, kind)`` and to
    ``("request", label)``) and the share of its defects that count (``1 - caught`` for
    a handoff's information kind under a recovery, else 1).
    """

    def __init__(self, classes: Sequence[str]) -> None:
        self.classes = tuple(classes)
        self.keys: dict[tuple[str, ...], int] = {}
        self.probability: list[list[float]] = []
        self.kept: list[list[float]] = []
        self.scaled_by: list[list[int]] = []

    def add(self, probability: ByClass, keys: Sequence[tuple[str, ...]], caught: ByClass | None = None) -> int:
        """A new factor; returns its index."""
        columns = [self.keys.setdefault(key, len(self.keys)) for key in keys]
        self.scaled_by.append(columns + [-1] * (2 - len(columns)))  # -1: the multipliers' last column, always 1
        self.probability.append([probability.get(k) for k in self.classes])
        self.kept.append([1.0 - caught.get(k) if caught is not None else 1.0 for k in self.classes])
        return len(self.probability) - 1

    def arrays(self) -> tuple[Floats, Floats, Ints]:
        """``probability[k, f]``, ``kept[k, f]`` and ``scaled_by[f, 2]`` (columns of the multipliers)."""
        shape = (len(self.probability), len(self.classes))
        scaled_by = np.array(self.scaled_by, dtype=np.intp).reshape(shape[0], 2)
        return (np.array(self.probability, dtype=float).reshape(shape).T.copy(),
                np.array(self.kept, dtype=float).reshape(shape).T.copy(),
                np.where(scaled_by < 0, len(self.keys), scaled_by))


@dataclass(frozen=True, slots=True, eq=False)
class CompiledModel:
    """A model's exact-quality recursion as arrays (see the module docstring).

    Build it with :meth:`of`. Factors are indexed ``f``, classes ``k``, microsystems
    ``m`` (every kind), handoffs ``h``, requests ``r`` and clinical microsystems ``n``.

    Attributes
    ----------
    classes, nodes, handoffs : tuple of str
        Class names, clinical microsystems (the unknowns) and handoff labels, in the model's order.
    keys : mapping of scale key to int
        The column of each scale key in :meth:`multipliers`.
    probability, kept : arrays ``[k, f]``
        Each factor's defect probability, and the share of its defects that count.
    scaled_by : array ``[f, 2]``
        The columns of the multipliers that scale each factor (the last column is 1).
    own, handoff_factors, request_factors : arrays of factor indices
        ``[m, defect]`` (padded with the index of a factor that is always 1),
        ``[h, kind]``, ``[r, kind]``.
    request_target : array ``[r]``
        The support microsystem of each request.
    request_probability : array ``[k, r]``
    clinical : array ``[n]``
        The microsystem index of each clinical microsystem.
    requests_at : array ``[n, request]``
        The requests made from each clinical microsystem (padded with ``r = R``, a term that is 1).
    source, target : arrays ``[h]``
        Clinical indices of each handoff's ends.
    routing : array ``[k, h]``
        Probability of taking each handoff (0 where a class does not).
    positions, scatter : arrays ``[entry]`` and ``[h, entry]``
        The distinct entries ``source * n + target`` of the flattened ``n x n`` system, and
        which handoffs add into each (two handoffs between the same microsystems add up).
    exit, entry : arrays ``[k, n]``
        Probability of leaving the pathway after a visit, and of entering at each node.
    rates : array ``[pathway class]``, pathway : array ``[k]`` of bool
        What weighs the pathway classes into the system quality.
    frailty : Frailty
    """

    classes: tuple[str, ...]
    nodes: tuple[str, ...]
    handoffs: tuple[str, ...]
    keys: Mapping[tuple[str, ...], int]
    probability: Floats
    kept: Floats
    scaled_by: Ints
    own: Ints
    handoff_factors: Ints
    request_factors: Ints
    request_target: Ints
    request_probability: Floats
    clinical: Ints
    requests_at: Ints
    source: Ints
    target: Ints
    routing: Floats
    positions: Ints
    scatter: Floats
    exit: Floats
    entry: Floats
    rates: Floats
    pathway: NDArray[np.bool_]
    frailty: Frailty

    @classmethod
    def of(cls, model: Model) -> CompiledModel:
        """Compile ``model`` (its elements are read once, here)."""
        names = model.class_names
        factors = _Factors(names)
        own = [[factors.add(d.probability, [("microsystem", m.name)]) for d in defects_of(m)]
               for m in model.microsystems]
        handoff_factors = [[factors.add(kinds_of(h).get(kind), [("handoff", h.label, kind), ("request", h.label)],
                                        caught_of(h) if kind == INFORMATION else None) for kind in HANDOFF_KINDS]
                           for h in model.handoffs]
        request_factors = [[factors.add(kinds_of(r).get(kind), [("handoff", r.label, kind), ("request", r.label)])
                            for kind in REQUEST_KINDS] for r in model.requests]
        probability, kept, scaled_by = factors.arrays()
        micro_index = {m.name: i for i, m in enumerate(model.microsystems)}
        nodes = tuple(m.name for m in model.microsystems if m.kind == "clinical")
        node_index = {n: i for i, n in enumerate(nodes)}
        source = np.array([node_index[h.source] for h in model.handoffs], dtype=np.intp)
        target = np.array([node_index[h.target] for h in model.handoffs], dtype=np.intp)
        routing = _by_class_table(names, [probability_of(h) for h in model.handoffs])
        leaving = np.zeros((len(names), len(nodes)))
        np.add.at(leaving.T, source, routing.T)
        positions, inverse = np.unique(source * len(nodes) + target, return_inverse=True)
        entry = np.zeros((len(names), len(nodes)))
        for c, k in enumerate(model.classes):
            for node, p in k.entries:
                entry[c, node_index[node]] += p
        return cls(
            classes=tuple(names), nodes=nodes, handoffs=tuple(h.label for h in model.handoffs),
            keys=dict(factors.keys), probability=probability, kept=kept, scaled_by=scaled_by,
            own=_padded(own, probability.shape[1]),
            handoff_factors=np.array(handoff_factors, dtype=np.intp).reshape(len(model.handoffs), len(HANDOFF_KINDS)),
            request_factors=np.array(request_factors, dtype=np.intp).reshape(len(model.requests), len(REQUEST_KINDS)),
            request_target=np.array([micro_index[r.target] for r in model.requests], dtype=np.intp),
            request_probability=_by_class_table(names, [probability_of(r) for r in model.requests]),
            clinical=np.array([micro_index[n] for n in nodes], dtype=np.intp),
            requests_at=_padded([[q for q, r in enumerate(model.requests) if r.source == n] for n in nodes],
                                len(model.requests)),
            source=source, target=target, routing=routing, positions=positions.astype(np.intp),
            scatter=(inverse.reshape(-1)[:, None] == np.arange(len(positions))).astype(float),
            exit=np.clip(1.0 - leaving, 0.0, 1.0), entry=entry,
            rates=np.array([k.rate for k in model.classes if not k.background], dtype=float),
            pathway=np.array([not k.background for k in model.classes], dtype=bool),
            frailty=model.frailty,
        )

    def multipliers(self, scales: Sequence[Scale]) -> Floats:
        """``[scaling, key]``: each scaling's factor for every scale key (1 where not given), and a last column of 1.

        Keys that name no element of the model are ignored, as :func:`exact_quality` ignores them.
        """
        out = np.ones((len(scales), len(self.keys) + 1))
        for b, scale in enumerate(scales):
            for key, value in scale.items():
                column = self.keys.get(key)
                if column is not None:
                    out[b, column] = value
        return out

    def element_qualities(self, multipliers: Floats, z: Floats) -> tuple[Floats, Floats]:
        """Visit and handoff qualities ``[scaling, z, class, n]`` and ``[scaling, z, class, h]``.

        A visit's quality is its microsystem's own, times ``1 - p + p * Qs`` for each
        request it makes with probability ``p``, where ``Qs`` is the support
        microsystem's quality times the request's kinds'.
        """
        f = multipliers[:, self.scaled_by[:, 0]] * multipliers[:, self.scaled_by[:, 1]]  # [b, f]
        p = f[:, None, None, :] * self.probability[None, None, :, :]  # [b, 1, k, f]
        good = 1.0 - Frailty.probability(p, z[None, :, None, None]) * self.kept
        good = np.concatenate([good, np.ones((*good.shape[:-1], 1))], axis=-1)  # the padding's factor of 1
        own = good[..., self.own].prod(axis=-1)  # [b, z, k, m]
        handoff = good[..., self.handoff_factors].prod(axis=-1)
        link = good[..., self.request_factors].prod(axis=-1)
        term = 1.0 - self.request_probability + self.request_probability * own[..., self.request_target] * link
        term = np.concatenate([term, np.ones((*term.shape[:-1], 1))], axis=-1)
        visit = own[..., self.clinical] * term[..., self.requests_at].prod(axis=-1)
        return visit, handoff

    def _solve_dense(self, visit: Floats, handoff: Floats) -> Floats:
        """``q`` of every stacked system ``(I - diag(Qm) G) q = Qm * exit``, ``G = routing * Qh``."""
        n = len(self.nodes)
        lead = visit.shape[:-1]  # [b, z, k]
        good = np.zeros((*lead, n * n))
        good[..., self.positions] = (self.routing * handoff) @ self.scatter
        a = -visit[..., :, None] * good.reshape(*lead, n, n)
        a[..., np.arange(n), np.arange(n)] += 1.0
        try:
            q = np.asarray(np.linalg.solve(a, (visit * self.exit)[..., None])[..., 0], dtype=np.float64)
        except np.linalg.LinAlgError:  # a singular system: the sparse solver's answer (nan), as before
            return self._solve_sparse(visit, handoff)
        return q

    def _solve_sparse(self, visit: Floats, handoff: Floats) -> Floats:
        """As :meth:`_solve_dense`, one sparse system at a time (large graphs)."""
        n = len(self.nodes)
        lead = visit.shape[:-1]
        flat_visit = visit.reshape(-1, n)
        flat_handoff = handoff.reshape(flat_visit.shape[0], handoff.shape[-1])
        classes = np.broadcast_to(np.arange(len(self.classes)), lead).ravel()
        q = np.empty_like(flat_visit)
        diagonal = np.arange(n)
        rows, cols = np.r_[diagonal, self.source], np.r_[diagonal, self.target]
        for i in range(flat_visit.shape[0]):
            k, qm = classes[i], flat_visit[i]
            off = -qm[self.source] * (self.routing[k] * flat_handoff[i])
            matrix = sp.csr_matrix((np.r_[np.ones(n), off], (rows, cols)), shape=(n, n))
            q[i] = sparse_solve(matrix, qm * self.exit[k])
        return q.reshape(visit.shape)

    def _chunk(self, frailties: int, dense: bool) -> int:
        """How many scalings one chunk holds, so that it has at most about :data:`CHUNK_FLOATS` numbers."""
        n = len(self.nodes)
        per_node = 2 * n * n if dense else n
        width = 2 * len(self.scaled_by) + len(self.own) + len(self.handoffs) + len(self.request_target) + per_node
        return max(1, CHUNK_FLOATS // max(1, frailties * len(self.classes) * width))

    def solve(self, multipliers: Floats, *, independent: bool = False, detail: bool = False,
              method: Literal["auto", "dense", "sparse"] = "auto") -> Solution:
        """The exact quality of each scaling (a row of :meth:`multipliers`), averaged over the frailty.

        Parameters
        ----------
        multipliers : array ``[scaling, key]``
        independent : bool
            Leave the frailty out (solve at ``z = 1`` only).
        detail : bool
            Keep the per-node values too (``from_node``, ``visit``, ``handoff``).
        method : {"auto", "dense", "sparse"}
            Stacked dense systems or one sparse solve each; ``"auto"`` takes dense up
            to :data:`DENSE_MAX` clinical microsystems.

        Returns
        -------
        Solution
        """
        if independent or self.frailty.is_independent:
            z, w = np.ones(1), np.ones(1)
        else:
            z, w = self.frailty.nodes()
        dense = method == "dense" or (method == "auto" and len(self.nodes) <= DENSE_MAX)
        step = self._chunk(len(z), dense)
        parts: list[tuple[Floats, ...]] = []
        for start in range(0, max(multipliers.shape[0], 1), step):  # an empty batch still gives its shapes
            visit, handoff = self.element_qualities(multipliers[start:start + step], z)
            q = self._solve_dense(visit, handoff) if dense else self._solve_sparse(visit, handoff)
            by_class = np.einsum("bzkn,kn->bzk", q, self.entry)
            kept = (by_class, q, visit, handoff) if detail else (by_class,)
            parts.append(tuple(np.einsum("z,bz...->b...", w, x) for x in kept))
        by_class = np.concatenate([p[0] for p in parts])
        values = by_class[:, self.pathway]
        system = values @ self.rates / self.rates.sum() if self.rates.sum() > 0 else values.mean(axis=1)
        if not detail:
            return Solution(system, by_class)
        q, visit, handoff = (np.concatenate([p[i] for p in parts]) for i in (1, 2, 3))
        return Solution(system, by_class, q, visit, handoff)
