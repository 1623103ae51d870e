"""The discrete-event engine: the only code that imports simpy (layer 3).

:mod:`~journeysim.engine.plan` compiles a model into integer-indexed tables,
:mod:`~journeysim.engine.kernel` runs one replication, and the replication's
output is its :mod:`~journeysim.engine.records` and running statistics
(:mod:`~journeysim.engine.aggregate`). Random numbers come from the named
streams of :mod:`~journeysim.engine.streams`.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .kernel import run_replication, simulate_replication

__all__ = ["run_replication", "simulate_replication"]


def __getattr__(name: str) -> Any:
    """The kernel's entry points, imported on first use (so reading records needs no simpy)."""
    if name in __all__:
        from . import kernel

        return getattr(kernel, name)
    raise AttributeError(f"module 'journeysim.engine' has no attribute {name!r}")
