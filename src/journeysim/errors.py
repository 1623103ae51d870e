"""Exceptions raised by journeysim.

Every error the library raises on purpose is a :class:`JourneySimError`, so a
caller can catch one class. Problems with a scenario or a model are gathered
and raised together as one :class:`ValidationError` that carries every problem
with the key path where it was found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["JourneySimError", "JourneySimWarning", "Problem", "ValidationError", "SimulationError"]


class JourneySimError(Exception):
    """Root of every error that journeysim raises on purpose."""


class JourneySimWarning(UserWarning):
    """Something a user should know about a model or a run that does not stop it (the command line prints it)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a scenario or model.

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
    """

    path: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file + (f":{self.line}" if self.line is not None else "") + ": "
        return where + (f"{self.path}: " if self.path else "") + self.message


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
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class SimulationError(JourneySimError, RuntimeError):
    """The simulation could not be carried out as specified."""
