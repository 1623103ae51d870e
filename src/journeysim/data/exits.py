"""Named exits from an event log's outcome column: how journeys ended, per unit and class.

journeysim's export carries each case's outcome in ``case:outcome`` (the named exit it
took, or ``discharged``, the default exit); other logs may have such a column too.
:func:`exit_tables` reads it: a case that **ended** (its last pathway instance
finished) left by its outcome from the unit of that last instance. The probability of
exit *o* from unit *a* for class *k* is the number of class-*k* cases that ended at
*a* with outcome *o*, over the class's instances at *a* that went on or ended (the
same denominator as the routing, so handoffs and exits out of a unit add up to at
most 1). The default outcome (``discharged`` where present, else the most frequent)
is what the handoffs and exits leave, and is not written; ``rejected`` and
``left_unseen`` are the outcomes of queue rules, not exits, and are left out too.

>>> import numpy as np
>>> from journeysim.data.logs import Labelled
>>> out = Labelled(np.array([0, 1, 0], dtype=np.int32), ("discharged", "death"))
>>> tables, found = exit_tables(out, np.array([0, 1, 2]), np.array([0, 1, 2]), np.array([0, 0, 0]),
...                             np.array([5.0, 7.0, 9.0]), np.array([False, False, False]), ["CCU"], ["all"])
>>> tables[0].keys["name"], tables[0].keys["probability"].value
('death', 0.3333)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..io.scenario_writer import Commented, Table
from .logs import Labelled
from .report import floor4 as _floor4

__all__ = ["OUTCOME", "exit_tables"]

#: the outcome column of journeysim's export (``journeysim.outputs.eventlog.OUTCOME_COLUMN``)
OUTCOME = "case:outcome"
_DEFAULT = "discharged"
_NOT_EXITS = ("rejected", "left_unseen")

Found = tuple[str, str, str, int, str]


def exit_tables(outcome: Labelled, case_of_row: NDArray[np.int64], case: NDArray[np.int64], unit: NDArray[np.int64],
                end: NDArray[np.float64], has_next: NDArray[np.bool_], units: Sequence[str],
                class_names: Sequence[str], cls: NDArray[np.int64] | None = None) -> tuple[list[Table], list[Found]]:
    """``[[exits]]`` tables and findings ``(element, key, value, n, how)`` from an outcome column.

    Parameters
    ----------
    outcome : Labelled
        The log's outcome column, one value per log row.
    case_of_row : ndarray of int
        The case of each log row (``EventLog.case``).
    case, unit, end, has_next : ndarray
        The pathway instances (support units' instances left out), sorted by case and time:
        case, unit, end time, whether the case's next instance follows.
    units, class_names : sequence of str
        Names of the unit and class codes.
    cls : ndarray of int, optional
        Each pathway instance's class code (default: one class).
    """
    cls = np.zeros(case.size, dtype=np.int64) if cls is None else cls
    by_case = np.full(int(max(case_of_row.max(initial=0), case.max(initial=0))) + 1, -1, dtype=np.int64)
    by_case[case_of_row] = outcome.codes
    labels = [str(x) for x in outcome.labels]
    valid = [c for c in range(len(labels)) if (by_case == c).any()]
    if not valid:
        return [], []
    default = labels.index(_DEFAULT) if _DEFAULT in labels else max(valid, key=lambda c: int((by_case == c).sum()))
    went_on = has_next | np.isfinite(end)
    ended = ~has_next & np.isfinite(end)
    code = by_case[case]
    nc, nu = len(class_names), len(units)
    total = np.zeros((nc, nu), dtype=np.int64)
    np.add.at(total, (cls[went_on], unit[went_on]), 1)
    tables: list[Table] = []
    found: list[Found] = []
    for o in valid:
        if o == default or labels[o] in _NOT_EXITS:
            continue
        hits = np.zeros((nc, nu), dtype=np.int64)
        sel = ended & (code == o)
        np.add.at(hits, (cls[sel], unit[sel]), 1)
        for a in range(nu):
            if hits[:, a].sum() == 0:
                continue
            probs = {class_names[k]: _floor4(hits[k, a] / total[k, a]) for k in range(nc) if hits[k, a] > 0}
            how = "; ".join(f"{class_names[k]}: {hits[k, a]} of {total[k, a]} leaving {units[a]}"
                            for k in range(nc) if hits[k, a] > 0)
            how = f"cases ending at {units[a]} with outcome {labels[o]!r}; {how}"
            value: Any = next(iter(probs.values())) if nc == 1 else probs
            found.append((f"exit {units[a]} -> {labels[o]}", "probability", str(value), int(hits[:, a].sum()), how))
            tables.append(Table("exits", {"from": units[a], "name": labels[o], "probability": Commented(value, how)},
                                array=True))
    return tables, found
