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
  dense systems, ``numpy.linalg.solve`` over a ``(batch, n, n)`` array;
* **middle-sized graphs** (up to :data:`~journeysim.model.traffic.DIRECT_MAX`): many
  systems at once as the blocks of one block-diagonal sparse matrix, one sparse LU;
* **large graphs**: one system at a time by :func:`journeysim.model.traffic.solve`
  (a sparse LU or BiCGSTAB with a checked residual).

The batch is taken in chunks of at most about :data:`CHUNK_FLOATS` numbers, so that
memory stays bounded however many scalings are asked for.

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

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from ..model.elements import ByClass, Handoff, Microsystem
from ..model.frailty import Frailty
from ..model.kinds import HANDOFF_KINDS, INFORMATION, REQUEST_KINDS, code
from ..model.mesosystem import Model
from ..model.routing import exact_unavailable, routing_variants
from ..model.traffic import DIRECT_MAX
from ..model.traffic import solve as sparse_solve
from .built import caught_of, defects_of, kinds_of, probability_of

__all__ = ["CompiledModel", "Solution", "Scale", "DENSE_MAX", "BLOCK_ROWS", "CHUNK_FLOATS"]

#: Scale factors of defect probabilities, by element: ``("microsystem", name)``,
#: ``("handoff", "A->B", kind)`` or ``("request", "A=>B")``; 0 makes the element perfect.
Scale = Mapping[tuple[str, ...], float]

#: Up to this many clinical microsystems the systems are solved dense and stacked. Beyond about
#: 100, numpy's LAPACK (OpenBLAS) factorises with several threads, which on a busy machine made
#: one 100 x 100 solve take 90 ms instead of 0.1 ms; a sparse LU is single-threaded.
DENSE_MAX = 64

#: At most this many rows in one block-diagonal sparse system (many small systems solved at once).
BLOCK_ROWS = 1 << 15

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


def _columns(microsystems: int, handoffs: int, requests: int) -> int:
    """How many columns the multipliers have (see :meth:`CompiledModel.column`)."""
    return microsystems + (len(HANDOFF_KINDS) + 1) * handoffs + (len(REQUEST_KINDS) + 1) * requests + 1


def _scaled_by(owners: Ints, microsystems: int, handoffs: int, requests: int) -> Ints:
    """``[f, 2]``: the columns whose product scales each factor. A defect of microsystem ``m``
    answers to its column and the last (1); a handoff's or request's kind to its own column
    and to its link's ``("request", label)`` (see :meth:`CompiledModel.column`)."""
    kinds = len(HANDOFF_KINDS) * handoffs + len(REQUEST_KINDS) * requests
    links = np.r_[np.repeat(np.arange(handoffs), len(HANDOFF_KINDS)),
                  handoffs + np.repeat(np.arange(requests), len(REQUEST_KINDS))]
    first = np.r_[owners, microsystems + np.arange(kinds)]
    second = np.r_[np.full(len(owners), _columns(microsystems, handoffs, requests) - 1), microsystems + kinds + links]
    return np.stack([first, second], axis=1).astype(np.intp)


def _factors(model: Model) -> tuple[Floats, Floats, Ints]:
    """``probability[k, f]`` and ``kept[k, f]`` of every factor, and the microsystem of each named defect.

    The factors are the microsystems' named defects, then each handoff's kinds, then each
    request's; ``kept`` is ``1 - caught`` for a handoff's information kind under a recovery.
    """
    names = model.class_names
    defects = [(i, d.probability) for i, m in enumerate(model.microsystems) for d in defects_of(m)]
    kinds = [p for h in model.handoffs for _, p in kinds_of(h).items()]
    kinds += [kinds_of(r).get(kind) for r in model.requests for kind in REQUEST_KINDS]
    probability = _by_class_table(names, [p for _, p in defects] + kinds)
    kept = np.ones_like(probability)
    for e, h in enumerate(model.handoffs):
        caught = caught_of(h)
        if caught is not None:
            kept[:, len(defects) + len(HANDOFF_KINDS) * e + code(INFORMATION)] = [1.0 - caught.get(k) for k in names]
    return probability, kept, np.array([i for i, _ in defects], dtype=np.intp)


def _multiplied(model: Model, probability: Floats, attrs: Sequence[tuple[float, ...]]) -> Floats:
    """``probability[row, f]`` with the defect multipliers that hold for each row's attribute values
    (capped at 1); the factors are ordered as :func:`_factors` makes them (requests have no multipliers)."""
    slots = model.attribute_slots()
    nodes = {m.name: i for i, m in enumerate(model.microsystems)}
    owners: list[tuple[Microsystem | Handoff, str]] = [(m, d.name) for m in model.microsystems
                                                       for d in defects_of(m)]
    owners += [(h, kind) for h in model.handoffs for kind, _ in kinds_of(h).items()]
    out = probability.copy()
    for f, (element, name) in enumerate(owners):
        mults = [x for x in element.defect_multipliers if x.applies_to(name)]
        if not mults:
            continue
        compiled = [(x.when.compile(slots, nodes), x.factor) for x in mults]
        for r, a in enumerate(attrs):
            factor = math.prod(k for holds, k in compiled if a and holds(a, None, 0.0))
            out[r, f] = min(1.0, out[r, f] * factor)
    return out


def _grouped(owner: Ints, groups: int, fill: int) -> Ints:
    """``[group, longest]``: the indices of the items each group owns, in order, short rows filled with ``fill``."""
    order = np.argsort(owner, kind="stable")
    counts = np.bincount(owner, minlength=groups)
    out = np.full((groups, int(counts.max(initial=0))), fill, dtype=np.intp)
    starts = np.cumsum(counts) - counts
    out[owner[order], np.arange(len(owner)) - starts[owner[order]]] = order
    return out


@dataclass(frozen=True, slots=True, eq=False)
class CompiledModel:
    """A model's exact-quality recursion as arrays (see the module docstring).

    Build it with :meth:`of`. Classes are indexed ``k``, microsystems ``m`` (every
    kind), handoffs ``h``, requests ``r``, clinical microsystems ``n`` and factors ``f``.
    A factor is one defect probability: the microsystems' named defects come first,
    then each handoff's kinds (:data:`~journeysim.model.kinds.HANDOFF_KINDS`), then
    each request's (:data:`~journeysim.model.kinds.REQUEST_KINDS`). A visit, transfer
    or request is defect-free with the product of its factors ``1 - p(z) * kept``.

    Attributes
    ----------
    classes, microsystems, nodes, handoffs, requests : tuple of str
        Class names, microsystems (every kind), clinical microsystems (the unknowns),
        handoff and request labels, in the model's order.
    index : mapping
        ``("microsystem", name)`` to the microsystem's index; ``("handoff", label)`` and
        ``("request", label)`` to a link's: a handoff's ``h``, a request's ``H + r``.
    probability, kept : arrays ``[k, f]``
        Each factor's defect probability, and the share of its defects that count
        (``1 - caught`` for a handoff's information kind under a recovery, else 1).
    scaled_by : array ``[f, 2]``
        The two columns of :meth:`multipliers` whose product scales each factor (see :meth:`column`).
    own, handoff_factors, request_factors : arrays of factor indices
        ``[m, defect]`` (padded with ``f = F``, a factor that is always 1), ``[h, kind]``, ``[r, kind]``.
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
    exit, entry : arrays ``[k, n]``
        Probability of leaving the pathway after a visit, and of entering at each node.
    rates : array ``[pathway class]``, pathway : array ``[k]`` of bool
        What weighs the pathway classes into the system quality.
    frailty : Frailty
    mix : array ``[k, row]`` or None
        Where routing depends on categorical or yes/no attributes, the rows of
        ``probability``, ``kept``, ``request_probability``, ``routing``, ``exit`` and
        ``entry`` are the classes' routing variants
        (:func:`~journeysim.model.routing.routing_variants`), not the classes, and
        ``mix[k, row]`` is the probability of each variant of class ``k``: the
        solution is summed over them. ``None``: one row per class.
    """

    classes: tuple[str, ...]
    microsystems: tuple[str, ...]
    nodes: tuple[str, ...]
    handoffs: tuple[str, ...]
    requests: tuple[str, ...]
    index: Mapping[tuple[str, str], int]
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
    exit: Floats
    entry: Floats
    rates: Floats
    pathway: NDArray[np.bool_]
    frailty: Frailty
    mix: Floats | None = None

    @classmethod
    def of(cls, model: Model) -> CompiledModel:
        """Compile ``model`` (its elements are read once, here)."""
        names = model.class_names
        micro = {m.name: i for i, m in enumerate(model.microsystems)}
        nodes = tuple(m.name for m in model.microsystems if m.kind == "clinical")
        node = {n: i for i, n in enumerate(nodes)}
        handoffs, requests = model.handoffs, model.requests
        labels = [x.label for x in handoffs] + [x.label for x in requests]
        probability, kept, owners = _factors(model)
        n_defects, n_kinds = len(owners), len(HANDOFF_KINDS) * len(handoffs)
        source = np.array([node[x.source] for x in handoffs], dtype=np.intp)
        routing = _by_class_table(names, [probability_of(x) for x in handoffs])
        leaving = np.zeros((len(names), len(nodes)))
        np.add.at(leaving.T, source, routing.T)
        entry = np.zeros((len(names), len(nodes)))
        for c, k in enumerate(model.classes):
            for name, p in k.entries:
                entry[c, node[name]] += p
        mix = None
        if (model.has_conditions or model.has_defect_multipliers) and exact_unavailable(model) is None:
            variants = routing_variants(model)
            rows = [(c, v) for c, k in enumerate(names) for v in variants[k]]
            of = np.array([c for c, _ in rows], dtype=np.intp)
            mix = np.zeros((len(names), len(rows)))
            mix[of, np.arange(len(rows))] = [v.weight for _, v in rows]
            routing = np.array([v.routing for _, v in rows], dtype=float).reshape(len(rows), len(handoffs))
            leaving = np.zeros((len(rows), len(nodes)))
            np.add.at(leaving.T, source, routing.T)
            probability, kept, entry = probability[of], kept[of], entry[of]
            if model.has_defect_multipliers:
                probability = _multiplied(model, probability, [v.attrs for _, v in rows])
        return cls(
            classes=names, microsystems=tuple(micro), nodes=nodes,
            handoffs=tuple(labels[: len(handoffs)]), requests=tuple(labels[len(handoffs):]),
            index={**{("microsystem", x): i for x, i in micro.items()},
                   **{(kind, x): i for i, x in enumerate(labels) for kind in ("handoff", "request")}},
            probability=probability, kept=kept,
            scaled_by=_scaled_by(owners, len(micro), len(handoffs), len(requests)),
            own=_grouped(owners, len(micro), probability.shape[1]),
            handoff_factors=n_defects + np.arange(n_kinds, dtype=np.intp).reshape(-1, len(HANDOFF_KINDS)),
            request_factors=(n_defects + n_kinds + np.arange(len(REQUEST_KINDS) * len(requests), dtype=np.intp)
                             .reshape(-1, len(REQUEST_KINDS))),
            request_target=np.array([micro[x.target] for x in requests], dtype=np.intp),
            request_probability=_by_class_table(names, [probability_of(x) for x in requests])[
                slice(None) if mix is None else of],
            clinical=np.array([micro[n] for n in nodes], dtype=np.intp),
            requests_at=_grouped(np.array([node[x.source] for x in requests], dtype=np.intp), len(nodes),
                                 len(requests)),
            source=source, target=np.array([node[x.target] for x in handoffs], dtype=np.intp),
            routing=routing, exit=np.clip(1.0 - leaving, 0.0, 1.0), entry=entry,
            rates=np.array([k.rate for k in model.classes if not k.background], dtype=float),
            pathway=np.array([not k.background for k in model.classes], dtype=bool),
            frailty=model.frailty,
            mix=mix,
        )

    def row_of(self, class_name: str) -> int:
        """The first row of the arrays that belongs to ``class_name`` (its only one without :attr:`mix`)."""
        k = self.classes.index(class_name)
        return k if self.mix is None else int(np.flatnonzero(self.mix[k])[0])

    # -- the columns of the multipliers: one per scale key that names an element, and a last one of 1

    @property
    def columns(self) -> int:
        """How many columns :meth:`multipliers` has."""
        return _columns(len(self.microsystems), len(self.handoffs), len(self.requests))

    def column(self, key: tuple[str, ...]) -> int | None:
        """The column of a scale key (see :data:`Scale`), or ``None`` if it names no element of the model.

        The columns are, in order: each microsystem; each handoff's kinds; each request's
        kinds (``("handoff", "A=>Lab", kind)``); each handoff's and then each request's
        ``("request", label)``, which scales all its kinds; and a last column of 1.
        """
        link = self.index.get((key[0], key[1])) if len(key) in (2, 3) else None
        if link is None or len(key) != (3 if key[0] == "handoff" else 2):
            return None
        m, h, r = len(self.microsystems), len(self.handoffs), len(self.requests)
        if key[0] != "handoff":  # a microsystem, or all the kinds of a link
            return link if key[0] == "microsystem" else m + len(HANDOFF_KINDS) * h + len(REQUEST_KINDS) * r + link
        if link < h and key[2] in HANDOFF_KINDS:
            return m + len(HANDOFF_KINDS) * link + code(key[2])
        if link >= h and key[2] in REQUEST_KINDS:
            return m + len(HANDOFF_KINDS) * h + len(REQUEST_KINDS) * (link - h) + REQUEST_KINDS.index(key[2])
        return None

    def multipliers(self, scales: Sequence[Scale]) -> Floats:
        """``[scaling, column]``: each scaling's factor in every column (1 where not given).

        Keys that name no element of the model are ignored, as :func:`exact_quality` ignores them.
        """
        out = np.ones((len(scales), self.columns))
        for b, scale in enumerate(scales):
            for key, value in scale.items():
                column = self.column(key)
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
        good[..., self.source * n + self.target] = self.routing * handoff  # one handoff per pair (validated)
        a = -visit[..., :, None] * good.reshape(*lead, n, n)
        a[..., np.arange(n), np.arange(n)] += 1.0
        try:
            q = np.asarray(np.linalg.solve(a, (visit * self.exit)[..., None])[..., 0], dtype=np.float64)
        except np.linalg.LinAlgError:  # a singular system: the sparse solver's answer (nan), as before
            return self._solve_sparse(visit, handoff)
        return q

    def _solve_sparse(self, visit: Floats, handoff: Floats) -> Floats:
        """As :meth:`_solve_dense`, by sparse LU: up to :data:`~journeysim.model.traffic.DIRECT_MAX` clinical
        microsystems many systems at once, as the blocks of one block-diagonal matrix (at most
        :data:`BLOCK_ROWS` rows); beyond, one at a time by :func:`~journeysim.model.traffic.solve`."""
        n = len(self.nodes)
        systems = int(np.prod(visit.shape[:-1]))
        qm = visit.reshape(systems, n)
        k = np.broadcast_to(np.arange(self.routing.shape[0]), visit.shape[:-1]).reshape(systems)
        off = -qm[:, self.source] * self.routing[k] * handoff.reshape(systems, handoff.shape[-1])
        values = np.concatenate([np.ones((systems, n)), off], axis=1)
        rhs = qm * self.exit[k]
        q = np.empty_like(rhs)
        per_block = max(1, BLOCK_ROWS // n) if n <= DIRECT_MAX else 1
        for start in range(0, systems, per_block):
            part = slice(start, start + per_block)
            q[part] = self._blocks(values[part], rhs[part])
        return q.reshape(visit.shape)

    def _blocks(self, values: Floats, rhs: Floats) -> Floats:
        """Solve the systems whose matrices have ``values`` (the diagonal, then the handoffs) as one
        block-diagonal system; a singular block is solved alone, so that only its answer is ``nan``."""
        count, n = rhs.shape
        diagonal = np.arange(n)
        offsets = (n * np.arange(count))[:, None]
        rows, cols = offsets + np.r_[diagonal, self.source], offsets + np.r_[diagonal, self.target]
        matrix = sp.csr_matrix((values.ravel(), (rows.ravel(), cols.ravel())), shape=(count * n, count * n))
        if count == 1:
            return sparse_solve(matrix, rhs[0])[None, :]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", spla.MatrixRankWarning)
            q = np.asarray(spla.spsolve(matrix.tocsc(), rhs.ravel()), dtype=float).reshape(count, n)
        if not np.isfinite(q).all():
            return np.concatenate([self._blocks(values[i:i + 1], rhs[i:i + 1]) for i in range(count)])
        return q

    def _chunk(self, frailties: int, dense: bool) -> int:
        """How many scalings one chunk holds, so that it has at most about :data:`CHUNK_FLOATS` numbers."""
        n = len(self.nodes)
        per_node = 2 * n * n if dense else n
        width = 2 * len(self.scaled_by) + len(self.own) + len(self.handoffs) + len(self.request_target) + per_node
        return max(1, CHUNK_FLOATS // max(1, frailties * self.routing.shape[0] * width))

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
            Stacked dense systems, or sparse LU (block-diagonal batches up to
            :data:`~journeysim.model.traffic.DIRECT_MAX` clinical microsystems, one
            system at a time beyond); ``"auto"`` takes dense up to :data:`DENSE_MAX`.

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
        if self.mix is not None:  # the variants' solutions, weighted into their classes'
            by_class = by_class @ self.mix.T
        values = by_class[:, self.pathway]
        system = values @ self.rates / self.rates.sum() if self.rates.sum() > 0 else values.mean(axis=1)
        if not detail:
            return Solution(system, by_class)
        q, visit, handoff = (np.concatenate([p[i] for p in parts]) for i in (1, 2, 3))
        if self.mix is not None:
            q, visit, handoff = (np.einsum("kr,br...->bk...", self.mix, x) for x in (q, visit, handoff))
        return Solution(system, by_class, q, visit, handoff)
