"""Names from a log made valid journeysim names, deterministically and without collisions.

A log's activities and classes may be named what journeysim cannot use: a unit name
may not contain ``:`` (milestones are ``NODE.STEP``), ``->`` (handoff labels) or ``=>``
(request labels); a class may not be called ``default`` or ``system``; no name may be
empty, hold control characters or start or end with whitespace. :func:`valid_names`
rewrites such a name: ``->`` and ``=>`` become ``to``, ``:`` becomes `` -``, control
characters a space, runs of spaces one; a reserved class name gets ``_class`` after it.
A new name that another name (kept or new) already has gets ``_2``, ``_3``... after it,
so distinct names stay distinct. The original is kept in the scenario file's comment
and in the report.

>>> names, why = valid_names(["Lab: Blood", "A -> B", "A to B", "X => Y"], "unit")
>>> names, sorted(why)
(['Lab - Blood', 'A to B_2', 'A to B', 'X to Y'], [0, 1, 3])
>>> why[0]
"'Lab: Blood' may not contain ':': a milestone 'NODE.STEP' cannot have ':' in NODE"
>>> valid_names(["system", "default", "adult"], "class")[0]
['system_class', 'default_class', 'adult']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from ..model._problems import name_problem
from ..model.elements import _CLASS_NAME, _NODE_NAME

__all__ = ["valid_names"]

_RULES = {"unit": ({**_NODE_NAME}, {}), "class": ({}, {**_CLASS_NAME})}


def _rewrite(name: str, kind: str) -> str:
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in name)
    if kind == "unit":
        text = text.replace("->", " to ").replace("=>", " to ").replace(":", " -")
    text = re.sub(r"\s+", " ", text).strip() or kind
    forbid, reserved = _RULES[kind]
    if text in reserved:
        text = f"{text}_class"
    return text if name_problem(text, forbid=forbid, reserved=reserved) is None else kind


def valid_names(names: Sequence[str], kind: str) -> tuple[list[str], dict[int, str]]:
    """The names made valid (``kind``: ``"unit"`` or ``"class"``) and, for each one renamed, why.

    Names already valid are kept as they are and take precedence; a rewritten name that
    collides gets the first free suffix ``_2``, ``_3``...
    """
    forbid, reserved = _RULES[kind]
    why: dict[int, str] = {}
    for i, name in enumerate(names):
        problem = name_problem(name, forbid=forbid, reserved=reserved)
        if problem is not None:
            why[i] = problem
    taken = {n for i, n in enumerate(names) if i not in why}
    out = list(names)
    for i in sorted(why):
        base = _rewrite(str(names[i]), kind)
        new, k = base, 1
        while new in taken:
            k += 1
            new = f"{base}_{k}"
        taken.add(new)
        out[i] = new
    return out, why
