"""Defect multipliers: a microsystem's or handoff's defect probabilities, multiplied for some patients.

A :class:`DefectMultiplier` multiplies the probability of an element's defects
(all of them, or those named in ``defects``) by ``factor`` for the patients whose
attributes satisfy ``when``, e.g. falls twice as likely at 75 and over::

    defects = { fall = 0.02 }
    defect_multipliers = [{ when = "age >= 75", factor = 2.0, defects = ["fall"] }]

Several multipliers that hold for a patient multiply together. A probability that
a factor takes above 1 is taken as 1 (certain); where that can happen for some
declared attribute values (a categorical or yes/no value, or a range of a number
that the conditions tell apart), the model refuses it with a validation error.
The frailty (:mod:`journeysim.model.frailty`), the load and propagation apply after
the factor.

The exact (graph) quality stays exact where the multipliers read categorical and
yes/no attributes (it sums over their values, as for routing by state); where a
multiplier reads a numeric attribute it is marked as not available, with the reason.

Examples
--------
>>> m = DefectMultiplier("age >= 75", 2.0, defects=["fall"])
>>> m.factor, m.defects, m.when.names()
(2.0, ('fall',), ('age',))
>>> DefectMultiplier("age >= 75", -1.0)
Traceback (most recent call last):
...
journeysim.errors.ValidationError: factor: must be a finite number >= 0, got -1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import ValidationError
from ._problems import Collector, is_number
from .conditions import Condition, ConditionError

__all__ = ["DefectMultiplier", "multipliers_of"]


@dataclass(frozen=True, slots=True, init=False)
class DefectMultiplier:
    """Multiply an element's defect probabilities by ``factor`` for patients for whom ``when`` holds.

    Parameters
    ----------
    when : str or Condition
        A condition on the patient's attributes (no clock, no ``activated``).
    factor : float
        The factor, ``>= 0`` (0 makes the defects impossible for those patients).
    defects : sequence of str or None
        The defects it multiplies: a microsystem's defect names, a handoff's kinds
        (``information``, ...); ``None``: all of the element's.

    Examples
    --------
    >>> import journeysim as js
    >>> older = js.DefectMultiplier("age >= 75", 2.0)   # twice the defects for patients aged 75 or more
    >>> older.factor, older.when.text, older.defects
    (2.0, 'age >= 75', None)
    >>> js.DefectMultiplier("age >= 75", -1.0)
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: factor: must be a finite number >= 0, got -1.0
    """

    when: Condition
    factor: float
    defects: tuple[str, ...] | None

    def __init__(self, when: str | Condition, factor: float, defects: Sequence[str] | None = None) -> None:
        c = Collector()
        try:
            object.__setattr__(self, "when", Condition.parse(when))
        except ConditionError as err:
            c.add("when", str(err))
        if not is_number(factor) or not 0 <= factor < math.inf:
            c.add("factor", f"must be a finite number >= 0, got {factor!r}")
        object.__setattr__(self, "factor", float(factor) if is_number(factor) else 1.0)
        if defects is not None and (isinstance(defects, str) or not isinstance(defects, Sequence)
                                    or not defects or not all(isinstance(x, str) for x in defects)):
            c.add("defects", f"must be a non-empty list of defect names, got {defects!r}")
            defects = None
        object.__setattr__(self, "defects", None if defects is None else tuple(defects))
        c.raise_if_any()

    def applies_to(self, defect: str) -> bool:
        """Whether it multiplies ``defect``."""
        return self.defects is None or defect in self.defects


def multipliers_of(c: Collector, path: str, value: object) -> tuple[DefectMultiplier, ...]:
    """Multipliers from their Python forms (a multiplier, or a mapping ``{when, factor, defects}``);
    problems go to ``c`` under ``path[i]``."""
    if value is None:
        return ()
    if isinstance(value, Mapping) or isinstance(value, str) or not isinstance(value, Sequence):
        c.add(path, f"must be a list of {{ when = ..., factor = ... }} tables, got {value!r}")
        return ()
    out = []
    for i, x in enumerate(value):
        if isinstance(x, DefectMultiplier):
            out.append(x)
            continue
        if not isinstance(x, Mapping) or "when" not in x or "factor" not in x:
            c.add(f"{path}[{i}]", f"must be a table with when and factor (and optional defects), got {x!r}")
            continue
        unknown = sorted(set(x) - {"when", "factor", "defects"})
        if unknown:
            c.add(f"{path}[{i}]", f"unknown key(s) {', '.join(map(repr, unknown))}; known: when, factor, defects")
            continue
        try:
            out.append(DefectMultiplier(x["when"], x["factor"], x.get("defects")))
        except ValidationError as err:
            c.absorb(err, f"{path}[{i}]")
    return tuple(out)
