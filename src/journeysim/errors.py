"""Exceptions raised by journeysim.

Every error the library raises on purpose is a :class:`JourneySimError`, so a
caller can catch one class. Problems with a scenario or a model are gathered
and raised together as one :class:`ValidationError` that carries every problem
with the key path where it was found.
"""

from __future__ import annotations

import unicodedata
import warnings as _warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["JourneySimError", "JourneySimWarning", "Problem", "ValidationError", "SimulationError", "warning_lines",
           "renamed", "renamed_attribute", "renamed_key"]


class JourneySimError(Exception):
    """Root of every error that journeysim raises on purpose.

    Examples
    --------
    >>> import journeysim as js
    >>> try:
    ...     js.loads_scenario("[scenario]")
    ... except js.JourneySimError as err:   # every error journeysim raises on purpose
    ...     print(type(err).__name__)
    ValidationError
    """


class JourneySimWarning(UserWarning):
    """Something a user should know about a model or a run that does not stop it (the command line prints it).

    Examples
    --------
    A program that wants them quiet (or as errors) filters this one class:

    >>> import warnings
    >>> import journeysim as js
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("Clinic is offered more work than its servers can do", js.JourneySimWarning)
    ...     warnings.simplefilter("ignore", js.JourneySimWarning)
    ...     warnings.warn("not shown", js.JourneySimWarning)
    >>> [str(w.message) for w in caught]
    ['Clinic is offered more work than its servers can do']
    """


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a scenario or model.

    The text is always one line: control characters in a name (a newline in a
    key path, say) are shown escaped.

    Parameters
    ----------
    path : str
        Key path of the offending value, e.g. ``handoffs[3] (ED -> CathLab).defects.information``.
        Empty for problems of the whole document.
    message : str
        What is wrong, in words a scenario author can act on.
    file : str or None
        The scenario file, when the problem came from one.
    line : int or None
        Line in ``file`` where the offending entry starts, when known.

    Examples
    --------
    >>> str(Problem("capacity", "must be a positive integer or 'unlimited', got 0", "ed.toml", 4))
    "ed.toml:4: capacity: must be a positive integer or 'unlimited', got 0"
    >>> print(Problem("microsystems[0] (E" + chr(10) + "D).name", "is wrong"))
    microsystems[0] (E\\nD).name: is wrong
    """

    path: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file + (f":{self.line}" if self.line is not None else "") + ": "
        return _one_line(where + (f"{self.path}: " if self.path else "") + self.message)


def _one_line(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\t``, ``\\x1b``), so it prints as one line."""
    if all(unicodedata.category(ch)[0] != "C" for ch in text):
        return text
    return "".join(ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch)[0] == "C" else ch
                   for ch in text)


class ValidationError(JourneySimError, ValueError):
    """A scenario or model has one or more problems.

    Parameters
    ----------
    problems : iterable of Problem
        Every problem found; the message lists them one per line.

    Examples
    --------
    >>> err = ValidationError([Problem("capacity", "must be positive")])
    >>> err.problems[0].path
    'capacity'
    >>> import pickle   # as when it comes back from a worker process
    >>> pickle.loads(pickle.dumps(err)).problems == err.problems
    True
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickling calls cls(*self.args), which would pass the joined
        # message as the problems; rebuild from the problems instead
        return (type(self), (self.problems,), self.__dict__ or None)


class SimulationError(JourneySimError, RuntimeError):
    """The simulation could not be carried out as specified.

    Examples
    --------
    >>> import journeysim as js
    >>> issubclass(js.SimulationError, js.JourneySimError)
    True
    """


def warning_lines(warnings: Iterable[Problem]) -> list[str]:
    """Warnings as text lines under a heading, for a summary or ``journeysim analyze`` (none if there are none).

    Examples
    --------
    >>> warning_lines([Problem("microsystems.Ward", "offered load 1.2 is above its capacity")])
    ['Warnings:', '  microsystems.Ward: offered load 1.2 is above its capacity', '']
    >>> warning_lines([])
    []
    """
    lines = [f"  {w.path + ': ' if w.path else ''}{w.message}" for w in warnings]
    return ["Warnings:", *lines, ""] if lines else []


#: The release in which the deprecated spellings kept by :func:`renamed` stop working.
RENAMED_UNTIL = "0.3"

#: Old metric-key endings and their new ones (``CCU.utilization`` is ``CCU.utilisation``).
RENAMED_KEY_ENDINGS: dict[str, str] = {".utilization": ".utilisation"}


def renamed(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn, with a :class:`DeprecationWarning` naming the new name, that ``old`` is now ``new``.

    The one place where journeysim's renamed names (attributes, methods, keyword
    arguments, metric keys) say so; each old name works for one more release.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed("utilization", "utilisation")
    >>> caught[0].category.__name__, str(caught[0].message)
    ('DeprecationWarning', 'utilization is now utilisation; the old name works until journeysim 0.3')
    """
    _warnings.warn(f"{old} is now {new}; the old name works until journeysim {RENAMED_UNTIL}",
                   DeprecationWarning, stacklevel=stacklevel)


def renamed_attribute(old: str, new: str) -> Any:
    """A read-only property ``old`` that warns (:func:`renamed`) and returns attribute ``new``.

    Examples
    --------
    >>> import warnings
    >>> class Flow:
    ...     utilisation = 0.7
    ...     utilization = renamed_attribute("utilization", "utilisation")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     Flow().utilization
    0.7
    >>> caught[0].category.__name__
    'DeprecationWarning'
    """
    def get(self: Any) -> Any:
        renamed(f"{type(self).__name__}.{old}", f"{type(self).__name__}.{new}")
        return getattr(self, new)
    return property(get, doc=f"Deprecated: use ``{new}`` (this name works until journeysim {RENAMED_UNTIL}).")


def renamed_key(key: str) -> str:
    """A metric key in its current spelling, warning (:func:`renamed`) when it was spelled the old way.

    Examples
    --------
    >>> import warnings
    >>> renamed_key("CCU.wait_minutes")
    'CCU.wait_minutes'
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     renamed_key("CCU.utilization")
    'CCU.utilisation'
    """
    for old, new in RENAMED_KEY_ENDINGS.items():
        if key.endswith(old):
            now = key[: -len(old)] + new
            renamed(key, now, stacklevel=4)
            return now
    return key
