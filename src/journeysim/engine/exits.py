"""Named exits: the outcome a leaving patient takes, and the bed held during its delay (a concern).

The route out of a microsystem is drawn as in every model (stream ``route/{node}``);
only a patient who leaves the pathway there, at a visit with named exits, draws
again, from stream ``outcome/{node}``, which exit: named exit ``j`` with its
probability given that the patient leaves (``p_j / (1 - sum of handoffs)``), else the
default exit. So a model without named exits draws exactly as before, and two
scenarios that differ only in their exits share every routing draw (common random
numbers). The exit's delay keeps the bed (``hold`` of the visit), as ``exit_delay``
does for the default exit, and ``Patient.outcome`` goes into the journey's row.

The kernel calls :meth:`~journeysim.engine.state.ExitDraw.choose` in ``finish`` only
where ``Visit.exits`` is not None: a model without named exits never does.

Examples
--------
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.exits import Exit
>>> from journeysim.model.mesosystem import Model
>>> from journeysim.engine.kernel import run_replication
>>> model = Model([Microsystem("Ward", capacity=None, service=Exponential(60))],
...               classes=[PatientClass("all", entry="Ward", rate=0.1)], exits=[Exit("Ward", "death", 0.5)])
>>> rec = run_replication(model, horizon=10_000, seed=1)
>>> sorted(set(rec.journeys.to_frame()["outcome"]))
['death', 'discharged']
"""

from __future__ import annotations

from .plan import Plan
from .state import ExitDraw, Host
from .streams import Duration, Samplers

__all__ = ["Exits"]


class Exits:
    """The named exits of one replication."""

    __slots__ = ("host", "p", "samplers")

    def __init__(self, host: Host, p: Plan, samplers: Samplers) -> None:
        self.host = host
        self.p = p
        self.samplers = samplers

    def wire(self) -> None:
        """Give each visit with named exits its draw (``Visit.exits``)."""
        samplers = self.samplers
        for node, np_ in zip(self.host.nodes, self.p.nodes):
            default = Duration(node.exit_delay, node.draw_exit)  # the default exit's, drawn as without exits
            for v, vp in zip(node.visits, np_.by_class):
                x = vp.exits
                if x is None:
                    continue
                certain = len(x.outcomes) == 1 and x.cumulative[0] >= 1.0
                delays = tuple(samplers.timed(d.stream, "delay", d.distribution) for d in x.delays)
                v.exits = ExitDraw(x.outcomes, x.cumulative, None if certain else samplers.uniform(x.stream),
                                   delays, default)
