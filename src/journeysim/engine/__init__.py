"""The discrete-event engine: the only code that imports simpy (layer 3).

:mod:`~journeysim.engine.plan` compiles a model into integer-indexed tables,
:mod:`~journeysim.engine.kernel` runs one replication, and the replication's
output is its :mod:`~journeysim.engine.records` and running statistics
(:mod:`~journeysim.engine.aggregate`). Random numbers come from the named
streams of :mod:`~journeysim.engine.streams`.
"""

from .kernel import run_replication, simulate_replication

__all__ = ["run_replication", "simulate_replication"]
