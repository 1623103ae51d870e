"""The kinds of handoff defect: their names, their order, their bits, and which a service request can carry.

The clinical-microsystem literature names three things a handoff passes on: the
patient, information about the patient, and services for the patient. This is
the one place that knows them; every table, array shape, bit mask and report
column is made from :data:`HANDOFF_KINDS`, so a fourth kind is one edit here.

Examples
--------
>>> HANDOFF_KINDS, REQUEST_KINDS
(('patient', 'information', 'services'), ('information', 'services'))
>>> code("information"), bit("information"), CAUGHT_BIT
(1, 2, 8)
>>> kinds_of(0b101)
('patient', 'services')
"""

from __future__ import annotations

__all__ = ["HANDOFF_KINDS", "REQUEST_KINDS", "INFORMATION", "CAUGHT_BIT", "code", "bit", "kinds_of"]

#: Every kind of handoff defect, in the order of their codes and bits.
HANDOFF_KINDS: tuple[str, ...] = ("patient", "information", "services")

#: The kind that a receiving microsystem can catch (a recovery) and that can propagate to its visit.
INFORMATION = "information"

#: What the request/result handoff of a service request can carry: no patient moves.
REQUEST_KINDS: tuple[str, ...] = tuple(kind for kind in HANDOFF_KINDS if kind != "patient")

#: The bit after the kinds' bits: a handoff whose information defect the receiver caught.
CAUGHT_BIT = 1 << len(HANDOFF_KINDS)


def code(kind: str) -> int:
    """The kind's code: its index in :data:`HANDOFF_KINDS`."""
    return HANDOFF_KINDS.index(kind)


def bit(kind: str) -> int:
    """The kind's bit in a handoff's defect mask."""
    return 1 << code(kind)


def kinds_of(mask: int) -> tuple[str, ...]:
    """The kinds whose bits are set in ``mask``."""
    return tuple(kind for b, kind in enumerate(HANDOFF_KINDS) if mask & (1 << b))
