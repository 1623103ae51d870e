"""What is simulated: the validated mesosystem and its parts (no simpy, no file formats).

Layer 1 of the one-way flow (see ``docs/architecture.md``): elements,
distributions, the weekly clock, arrival profiles, milestones and standards,
the frailty, the validated :class:`Model`, the :class:`Scenario` that says how
to run it, and what follows from the graph alone (traffic equations, warnings).
It imports only :mod:`journeysim.errors`.
"""

from .mesosystem import Model

__all__ = ["Model"]
