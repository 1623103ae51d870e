"""Collecting validation problems with their key paths (internal)."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from typing import Any

from ..errors import Problem, ValidationError

__all__ = ["Collector", "is_probability", "is_number", "check_name", "name_problem"]


def is_number(value: Any) -> bool:
    """True for a finite int or float that is not a bool (an int too large for a float is not).

    Examples
    --------
    >>> is_number(3), is_number(float("inf")), is_number(True), is_number(10**400)
    (True, False, False, False)
    """
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the float range (TOML integers have no limit)
        return False


def is_probability(value: Any) -> bool:
    """True for a number in [0, 1]."""
    return is_number(value) and 0.0 <= value <= 1.0


def name_problem(value: Any, *, forbid: Mapping[str, str] | None = None,
                 reserved: Mapping[str, str] | None = None) -> str | None:
    """Why ``value`` cannot be a name, or ``None`` when it can.

    Every name is a non-empty string without control characters (XML, so an XES
    event log, cannot hold them) and without whitespace at either end (milestones
    and ``--set`` paths strip it, so the name could not be referred to).

    Parameters
    ----------
    value : object
        The name to check.
    forbid : mapping of str to str, optional
        Text the name may not contain, each with what it would break.
    reserved : mapping of str to str, optional
        Names that mean something else, each with what.

    Examples
    --------
    >>> name_problem("age>65") is None
    True
    >>> print(name_problem("ED" + chr(9) + "A"))
    'ED\\tA' contains the control character '\\t'
    >>> name_problem("A->B", forbid={"->": "handoff labels are 'FROM->TO'"})
    "'A->B' may not contain '->': handoff labels are 'FROM->TO'"
    """
    if not isinstance(value, str) or not value.strip():
        return f"must be a non-empty string, got {value!r}"
    control = sorted({ch for ch in value if unicodedata.category(ch)[0] == "C"})
    if control:
        which = ", ".join(repr(ch) for ch in control)
        return f"{value!r} contains the control character{'s' if len(control) > 1 else ''} {which}"
    if value != value.strip():
        return f"{value!r} may not start or end with whitespace"
    for text, why in (forbid or {}).items():
        if text in value:
            return f"{value!r} may not contain {text!r}: {why}"
    if reserved and value in reserved:
        return f"{value!r} is reserved: {reserved[value]}"
    return None


def check_name(c: Collector, path: str, value: Any, *, forbid: Mapping[str, str] | None = None,
               reserved: Mapping[str, str] | None = None) -> None:
    """Record a problem at ``path`` when ``value`` is not a valid name (see :func:`name_problem`)."""
    problem = name_problem(value, forbid=forbid, reserved=reserved)
    if problem is not None:
        c.add(path, problem)


class Collector:
    """Gathers problems so that all of them are reported at once.

    ``prefix`` is prepended to every path added through this collector, and
    :meth:`child` gives a collector for a nested key that shares the same list.
    """

    __slots__ = ("problems", "prefix")

    def __init__(self, prefix: str = "", problems: list[Problem] | None = None) -> None:
        self.problems: list[Problem] = [] if problems is None else problems
        self.prefix = prefix

    def _join(self, path: str) -> str:
        if not self.prefix:
            return path
        if not path:
            return self.prefix
        return self.prefix + ("" if path.startswith("[") else ".") + path

    def add(self, path: str, message: str) -> None:
        """Record that the value at ``path`` (relative to the prefix) is wrong."""
        self.problems.append(Problem(self._join(path), message))

    def child(self, path: str) -> Collector:
        """A collector for the key ``path`` below this one, sharing the problem list."""
        return Collector(self._join(path), self.problems)

    def absorb(self, error: ValidationError, path: str = "") -> None:
        """Add the problems of ``error``, re-rooted below ``path``."""
        for p in error.problems:
            self.problems.append(Problem(self.child(path)._join(p.path), p.message, p.file, p.line))

    def raise_if_any(self) -> None:
        """Raise :class:`ValidationError` if any problem was recorded."""
        if self.problems:
            raise ValidationError(self.problems)

    def converted(self, path: str, value: float, result: float, unit: str, target: str = "minutes") -> float | None:
        """``result``, the ``value`` given in ``unit`` converted to ``target``, if it survived the conversion.

        A finite value must stay finite, and a non-zero one non-zero; otherwise
        a problem names ``path``, the key the value was written under, and the
        result is ``None``.

        Examples
        --------
        >>> c = Collector()
        >>> c.converted("horizon_days", 1e308, 1e308 * 1440.0, "days"), str(c.problems[0])
        (None, 'horizon_days: 1e+308 days is too large: it is not a finite number when converted to minutes')
        """
        if not math.isfinite(result):
            self.add(path, f"{value!r} {unit} is too large: it is not a finite number when converted to {target}")
            return None
        if result == 0.0 and value != 0:
            self.add(path, f"{value!r} {unit} is too small: it rounds to 0 when converted to {target}")
            return None
        return result

    def probability(self, path: str, value: Any) -> None:
        """Check that ``value`` is a probability."""
        if not is_probability(value):
            self.add(path, f"{value!r} is not a probability in [0, 1]")

    def probability_table(self, path: str, value: Any) -> None:
        """Check a probability, or a per-class table of them."""
        if isinstance(value, Mapping):
            for key, v in value.items():
                self.probability(f"{path}.{key}", v)
        else:
            self.probability(path, value)
