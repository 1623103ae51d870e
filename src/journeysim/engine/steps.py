"""Service steps selected by attribute: a step with a ``when`` condition is had only by some patients.

Where some step of a visit carries a condition on the patient's attributes, the
visit's sampler is a :class:`~journeysim.engine.streams.Selective`: at the start of
the visit (``Kernel.start``) every step is drawn from its own stream, whoever has
it, so the numbers of each step's stream stay aligned across patients and
scenarios (common random numbers). The start's rarer work
(``Kernel.start_work``) then asks the visit's :class:`StepChoice`: the visit lasts
the sum of the steps whose condition holds for the patient (``pt.attrs``, drawn on
arrival), in order, and the milestones at the ends of the steps it skips are not
reached (:meth:`~journeysim.engine.timeliness.Timeliness.at_steps`).

Nothing here is made for a visit whose steps have no condition: its sampler and its
start are as before.

Examples
--------
>>> import journeysim as js
>>> from journeysim.model.elements import Step
>>> from journeysim.engine.kernel import run_replication
>>> lab = js.Microsystem("Lab", service=[Step("prep", js.Fixed(20)), Step("device", js.Fixed(40), when="pci")])
>>> m = js.Model([lab], classes=[js.PatientClass("STEMI", entry="Lab", rate=0.01,
...                                              attributes={"pci": js.Bernoulli(0.75)})])
>>> rec = run_replication(m, horizon=20_000, seed=1)
>>> both = rec.visits.to_frame().merge(rec.journeys.to_frame(), on="journey")
>>> bool((both["service"] == 20 + 40 * both["pci"]).all())   # 60 minutes with the device step, else 20
True
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model.conditions import Holds
from .plan import Plan
from .state import Node, Patient
from .streams import Selective

__all__ = ["StepChoice", "wire_steps"]


class StepChoice:
    """The steps a patient has at one visit (of one class to one microsystem)."""

    __slots__ = ("holds", "sampler")

    def __init__(self, holds: tuple[Holds | None, ...], sampler: Selective) -> None:
        #: each step's condition, compiled (None: every patient has the step)
        self.holds = holds
        self.sampler = sampler

    def __call__(self, pt: Patient) -> float:
        """The length of ``pt``'s visit, whose steps were just drawn; the sampler keeps its steps' ends."""
        attrs = pt.attrs
        return self.sampler.select([h is None or h(attrs, None, 0.0) for h in self.holds])


def wire_steps(nodes: Sequence[Node], p: Plan) -> None:
    """Give each visit with steps selected by attribute its :class:`StepChoice` (at the start of its work)."""
    slots = p.slots or {}
    index = {n.name: i for i, n in enumerate(p.nodes)}
    for node, np_ in zip(nodes, p.nodes):
        for v, vp in zip(node.visits, np_.by_class):
            conditions = vp.steps.conditions
            if conditions is None:
                continue
            assert isinstance(v.draw_service, Selective)  # build_nodes gives such a visit this sampler
            holds = tuple(None if c is None else c.compile(slots, index) for c in conditions)
            v.start_work().select = StepChoice(holds, v.draw_service)
