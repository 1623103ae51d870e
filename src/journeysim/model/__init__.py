"""What is simulated: the validated mesosystem and its parts (no simpy, no file formats).

Layer 1 of the one-way flow (see ``docs/architecture.md``): elements,
distributions, the weekly clock, arrival profiles, milestones and standards,
the frailty, the validated :class:`Model`, the :class:`Scenario` that says how
to run it, and what follows from the graph alone (traffic equations, warnings).
It imports only :mod:`journeysim.errors`.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .mesosystem import Model

__all__ = ["Model"]


def __getattr__(name: str) -> object:
    """:class:`Model`, imported on first use: the clock or a distribution alone need not load the graph code."""
    if name == "Model":
        from .mesosystem import Model

        return Model
    raise AttributeError(f"module 'journeysim.model' has no attribute {name!r}")
