"""Defects of visits, handoffs and support requests: frailty, load, propagation and recovery.

The common case costs one uniform draw per element, compared inline by the kernel
(``check.draw_any() < check.p_any``); this concern is called only when a defect
occurred, or where the model makes the probabilities the patient's own (then the
probability of any defect is worked out per patient, and the odds of each only
when some defect occurred):

* **frailty** (:mod:`journeysim.model.frailty`): each patient draws ``Z`` on arrival
  and every probability ``p`` becomes ``p + min(p, 1 - p)(Z - 1)``;
* **load**: a visit's probabilities rise with the hours waited and the occupancy
  found on arrival;
* **propagation**: an uncaught information defect of a handoff multiplies the
  receiving visit's probabilities;
* **multipliers** (:mod:`journeysim.model.multipliers`): a factor on the
  probabilities for patients whose attributes satisfy a condition (before the
  rest; a probability caps at 1);
* **recovery**: the receiving microsystem catches an information defect with some
  probability; it is recorded as caught (not a defect), and its rework time comes
  first in the next visit, holding the server.

Streams: ``defect/{element}`` (any defect) and ``defect/{element}/which``
(which ones), where a handoff's element is ``handoff/{label}``; ``catch/{label}``,
``rework/{label}/rework`` and ``frailty``.

Examples
--------
>>> from journeysim.engine.plan import defect_odds
>>> which(defect_odds([(3, 1.0)]), lambda: 0.0)   # one possible defect: no second draw
[3]
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model.kinds import CAUGHT_BIT, INFORMATION, code
from .plan import DefectCheck, DefectOdds, Multiplier, Plan, any_defect, defect_odds
from .state import DefectDraw, Host, LoadDraw, Multipliers, Node, Patient, RiskDraw, Transfer
from .streams import Sampler, Samplers

__all__ = ["Defects", "which"]

_INFORMATION = code(INFORMATION)


def which(odds: Sequence[DefectOdds], draw: Sampler) -> list[int]:
    """Codes of the defects that occurred, given that at least one did (see :mod:`journeysim.engine.plan`)."""
    if len(odds) == 1:
        return [odds[0].code]
    hit: list[int] = []
    for c, p, p_first in odds:
        if draw() < (p if hit else p_first):
            hit.append(c)
    return hit


class Defects:
    """The defects concern of one replication."""

    __slots__ = ("host", "samplers", "frail", "draw_z", "n_nodes", "add_defect")

    def __init__(self, host: Host, p: Plan, samplers: Samplers) -> None:
        self.host = host
        self.samplers = samplers
        self.frail = not p.model.frailty.is_independent
        self.draw_z = p.model.frailty.sampler(samplers.generator("frailty")) if self.frail else None
        self.n_nodes = len(p.nodes)
        self.add_defect = host.recorder.add_defect

    # -- wiring
    def draws(self, name: str, check: DefectCheck | None) -> DefectDraw | None:
        """The check of element ``name`` with its two streams; None when no defect can occur."""
        if check is None:
            return None
        return DefectDraw(check.p_any, self.samplers.uniform(f"defect/{name}"), check.odds,
                          self.samplers.uniform(f"defect/{name}/which"))

    def wire(self, p: Plan, nodes: Sequence[Node], transfers: Sequence[Sequence[Transfer]]) -> None:
        """Give each visit and handoff its checks; per-patient draws where the model needs them."""
        uniform = self.samplers.uniform
        for node, np_ in zip(nodes, p.nodes):
            for v, vp in zip(node.visits, np_.by_class):
                v.defects = self.draws(np_.name, vp.defects)
                if vp.load is not None:
                    ld = vp.load
                    v.load = LoadDraw(tuple(ld.chances), ld.per_wait_hour, ld.per_occupant,
                                      uniform(f"defect/{np_.name}"), uniform(f"defect/{np_.name}/which"),
                                      self.compiled(p, ld.multipliers))
                    if ld.per_occupant > 0:
                        v.add_arrival_handler(self.count_occupancy)
                if np_.rework:
                    v.start_work().rework = True
        for ep, per_class in zip(p.edges, transfers):
            for tr, cp in zip(per_class, ep.by_class):
                tr.defects = self.draws(f"handoff/{ep.label}", cp.defects)
                risk = cp.risk
                if risk is not None:
                    tr.risk = RiskDraw(
                        tuple(risk.chances), uniform(f"defect/handoff/{ep.label}"),
                        uniform(f"defect/handoff/{ep.label}/which"), risk.catch,
                        uniform(f"catch/{ep.label}") if risk.catch > 0 else None,
                        self.samplers.timed(risk.rework.stream, "rework", risk.rework.distribution),
                        risk.propagation,
                        self.compiled(p, risk.multipliers),
                    )

    @staticmethod
    def compiled(p: Plan, multipliers: Sequence[Multiplier]) -> Multipliers | None:
        """Defect multipliers with their conditions compiled (None when there are none)."""
        if not multipliers:
            return None
        slots, nodes = p.slots or {}, {n.name: i for i, n in enumerate(p.nodes)}
        return tuple((m.when.compile(slots, nodes), m.factor, m.codes) for m in multipliers)

    @staticmethod
    def multiplied(pt: Patient, chances: Sequence[tuple[int, float]], multipliers: Multipliers
                   ) -> list[tuple[int, float]]:
        """The chances with the factors of the multipliers that hold for ``pt`` (a probability caps at 1)."""
        out = list(chances)
        for holds, factor, codes in multipliers:
            if holds(pt.attrs, None, 0.0):
                out = [(c, min(1.0, q * factor) if codes is None or c in codes else q) for c, q in out]
        return out

    # -- arrival
    def frailty(self) -> float:
        """A new patient's frailty ``Z`` (1 when defects are independent)."""
        return self.draw_z() if self.draw_z is not None else 1.0

    def count_occupancy(self, pt: Patient, node: Node, t: float) -> bool:
        """Arrival handler: note the occupancy found, for defects that rise with it."""
        pt.occ = node.busy + node.nwait
        return False

    # -- visits
    def visit(self, pt: Patient, node: Node, check: DefectDraw, t: float) -> int:
        """Record the defects of a visit whose check found some; returns how many."""
        nd = 0
        for c in which(check.odds, check.draw_which):
            nd += 1
            self.add_defect((pt.jid, t, node.index, c))
        pt.ndef += nd
        return nd

    def visit_load(self, pt: Patient, node: Node, load: LoadDraw, t: float) -> int:
        """Draw and record the defects of a visit whose probabilities are the patient's own; returns how many.

        Each probability ``p`` becomes ``min(1, f p + a W + b N)`` (``f`` the propagation factor of
        an information defect on the way in, ``W`` the hours waited, ``N`` the occupancy on
        arrival), then the patient's frailty is applied.
        """
        extra = load.per_wait_hour * (pt.start - pt.arr) / 60.0 + (
            load.per_occupant * pt.occ if load.per_occupant else 0.0)
        f = pt.prop
        pt.prop = 1.0
        nd = 0
        chances = load.chances if load.multipliers is None else self.multiplied(pt, load.chances, load.multipliers)
        for c in self.personal_draw(pt, chances, load.draw_any, load.draw_which, f, extra):
            nd += 1
            self.add_defect((pt.jid, t, node.index, c))
        pt.ndef += nd
        return nd

    @staticmethod
    def personal(pt: Patient, chances: Sequence[tuple[int, float]], f: float = 1.0,
                 extra: float = 0.0) -> list[tuple[int, float]]:
        """The patient's own probabilities of defects ``(code, p)``, those above 0.

        See :mod:`journeysim.model.frailty` for the frailty's part.
        """
        z = pt.z
        out = []
        for c, q in chances:
            q = q * f + extra
            if q > 1.0:
                q = 1.0
            if z != 1.0:  # Frailty.probability, inlined: this runs for every element of a frail patient
                q += (q if q < 0.5 else 1.0 - q) * (z - 1.0)
            if q > 0:
                out.append((c, q))
        return out

    def personal_draw(self, pt: Patient, chances: Sequence[tuple[int, float]], draw_any: Sampler,
                      draw_which: Sampler, f: float = 1.0, extra: float = 0.0) -> list[int]:
        """Codes of the defects drawn with the patient's own probabilities (see :meth:`personal`).

        Nothing is drawn when no defect can occur; else one draw decides whether any
        occurred, and only then are the odds of each worked out and drawn.
        """
        pairs = self.personal(pt, chances, f, extra)
        if not pairs or draw_any() >= any_defect(q for _, q in pairs):
            return []
        return which(defect_odds(pairs), draw_which)

    def drawn(self, pt: Patient, check: DefectDraw | None) -> list[int] | tuple[()]:
        """Codes of the defects of a static check (a support service or request); frailty applies."""
        if check is None:
            return ()
        if self.frail:
            return self.personal_draw(pt, check.chances, check.draw_any, check.draw_which)
        return which(check.odds, check.draw_which) if check.draw_any() < check.p_any else ()

    def take_rework(self, pt: Patient) -> float:
        """The rework owed for caught defects, now done (0 when none)."""
        shift = pt.rework
        pt.rework = 0.0
        return shift

    # -- handoffs
    def handoff(self, pt: Patient, edge: Transfer, check: DefectDraw, t: float) -> int:
        """Record the defects of a handoff whose check found some; returns the kinds' bits."""
        kinds = 0
        element = self.n_nodes + edge.index
        for c in which(check.odds, check.draw_which):
            kinds |= 1 << c
            self.add_defect((pt.jid, t, element, c))
            pt.ndef += 1
        return kinds

    def handoff_risk(self, pt: Patient, edge: Transfer, risk: RiskDraw, t: float) -> int:
        """Defects of a handoff with frailty, recovery or propagation; returns the kinds' bits."""
        kinds = 0
        chances = risk.chances if risk.multipliers is None else self.multiplied(pt, risk.chances, risk.multipliers)
        for c in self.personal_draw(pt, chances, risk.draw_any, risk.draw_which):
            if c == _INFORMATION and risk.catch and risk.draw_catch is not None and risk.draw_catch() < risk.catch:
                kinds |= CAUGHT_BIT
                pt.rework += risk.rework.sample()
                continue
            kinds |= 1 << c
            self.add_defect((pt.jid, t, self.n_nodes + edge.index, c))
            pt.ndef += 1
            if c == _INFORMATION:
                pt.prop = risk.propagation
        return kinds

