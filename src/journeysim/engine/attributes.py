"""Patient attributes drawn on arrival, and routing by state (handoffs with ``when`` conditions).

**Attributes.** Where the model declares attributes or conditions, each journey
carries an attribute vector ``pt.attrs`` (one float per attribute of the model:
a category's code, 1.0/0.0 for yes/no, the number itself; NaN for an attribute
its class does not declare). It is drawn when the journey begins
(:meth:`Attributes.draw`), each attribute from its own stream
``attribute/{class}/{name}``, and kept for the journeys table
(``recorder.attrs_of``, a side table merged when the rows become columns).

**Routing by state.** At a microsystem whose handoffs carry conditions, the visit
has no ``edge`` or ``choice`` but a :class:`ConditionalChoice` (``Visit.route``),
which the kernel asks only when the other two gave no handoff: it draws one
uniform from the microsystem's routing stream ``route/{node}`` and walks the
handoffs whose condition holds, adding their probabilities; the first whose
running total exceeds the draw is taken, and if none, the patient leaves.

Nothing here is made for a model without attributes and conditions: its
classes' ``attributes`` plan is ``None`` and no visit has a ``route``.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass, Handoff
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.engine.kernel import run_replication
>>> m = Model([Microsystem("A", service=Exponential(1)), Microsystem("B", service=Exponential(1))],
...           [Handoff("A", "B", when='risk == "high"')],
...           classes=[PatientClass("k", entry="A", rate=0.5, attributes={"risk": {"high": 0.25, "low": 0.75}})])
>>> rec = run_replication(m, horizon=10_000, seed=1)
>>> j = rec.journeys.to_frame()
>>> bool(((j["risk"] == "high") == (j["visits"] == 2)).all())   # exactly the high-risk patients go on to B
True
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence

from ..model.conditions import Holds
from .plan import AttributePlan, Plan
from .state import Host, Patient, Transfer
from .streams import Sampler, Samplers

__all__ = ["Attributes", "ConditionalChoice"]

_NAN = math.nan


class ConditionalChoice:
    """A choice among the handoffs out of a microsystem, given the patient's state (see the module docstring)."""

    __slots__ = ("edges", "draw")

    def __init__(self, edges: tuple[tuple[Transfer, float, Holds | None], ...], draw: Sampler) -> None:
        self.edges = edges
        self.draw = draw

    def pick(self, pt: Patient, t: float) -> Transfer | None:
        """The handoff ``pt`` takes on leaving at ``t``, or None: it leaves the pathway."""
        u = self.draw()
        total = 0.0
        attrs, ready = pt.attrs, pt.ready
        for edge, p, holds in self.edges:
            if holds is None or holds(attrs, ready, t):
                total += p
                if u < total:
                    return edge
        return None


class _ClassDraw:
    """The attribute draws of one class: each attribute from its own stream."""

    __slots__ = ("size", "parts")

    def __init__(self, size: int, plans: Sequence[AttributePlan], samplers: Samplers) -> None:
        self.size = size
        self.parts: list[Callable[[list[float]], None]] = [self.part(a, samplers) for a in plans]

    @staticmethod
    def part(a: AttributePlan, samplers: Samplers) -> Callable[[list[float]], None]:
        i = a.slot
        if a.kind == "number" and a.distribution is not None:
            value = samplers.values(a.stream, a.distribution)

            def number(attrs: list[float]) -> None:
                attrs[i] = value()

            return number
        u = samplers.uniform(a.stream)
        if a.kind == "bool":
            p = a.probability

            def flag(attrs: list[float]) -> None:
                attrs[i] = 1.0 if u() < p else 0.0

            return flag
        codes, cumulative, last = a.codes, a.cumulative, len(a.codes) - 1

        def category(attrs: list[float]) -> None:
            attrs[i] = float(codes[min(bisect_right(cumulative, u()), last)])

        return category

    def __call__(self) -> list[float]:
        attrs = [_NAN] * self.size
        for part in self.parts:
            part(attrs)
        return attrs


class Attributes:
    """The attribute draws and conditional routing of one replication."""

    __slots__ = ("host", "draws", "attrs_of")

    def __init__(self, host: Host, p: Plan, samplers: Samplers) -> None:
        self.host = host
        size = len(p.attributes)
        #: per class: None (the model has no state), or its draw
        self.draws: list[_ClassDraw | None] = [
            None if cp.attributes is None else _ClassDraw(size, cp.attributes, samplers) for cp in p.classes]
        self.attrs_of = host.recorder.attrs_of

    def draw(self, pt: Patient) -> None:
        """Give ``pt`` its attributes (the journey begins); called only where the class has a draw."""
        draw = self.draws[pt.k]
        assert draw is not None  # the source calls it only then
        pt.attrs = attrs = draw()
        self.attrs_of.append(attrs)

    def wire(self, p: Plan, samplers: Samplers, transfers: list[list[Transfer]]) -> None:
        """Give each visit that routes by state its :class:`ConditionalChoice`."""
        slots = p.slots or {}
        nodes = {n.name: i for i, n in enumerate(p.nodes)}
        for node, np_ in zip(self.host.nodes, p.nodes):
            for k, (v, vp) in enumerate(zip(node.visits, np_.by_class)):
                if vp.conditional is None:
                    continue
                edges = tuple((transfers[c.edge][k], c.probability,
                               None if c.when is None else c.when.compile(slots, nodes)) for c in vp.conditional)
                v.route = ConditionalChoice(edges, samplers.uniform(f"route/{np_.name}"))
