"""The key metrics of a comparison: which they are, their names, units and better direction.

A metric key (``quality.system``, ``time_in_system_minutes``, ``ED.wait_minutes``...,
see :func:`journeysim.analysis.figures.replication_metrics`) holds a fraction, minutes,
money or a count in every replication. Shown to a person, a fraction becomes a
percent and its difference **points**; minutes become minutes, hours or days by the
size of the figure, with the unit in the label; money carries the model's currency.

Examples
--------
>>> d = display("time_in_system_minutes", 300.0)
>>> d.label, d.unit, d.scale
('time in system (h)', 'h', 0.016666666666666666)
>>> display("quality.system", 0.044).label, direction("quality.system"), direction("cost.per_journey")
('system quality (%)', 'higher', 'lower')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Display", "display", "direction", "key_metrics", "format_number", "Direction", "KeyCells", "key_cells"]

Direction = Literal["higher", "lower"]

_QUEUE_SHARES = ("rejected_share", "diverted_share", "balked_share", "reneged_share")


@dataclass(frozen=True, slots=True)
class Display:
    """How one metric is shown: its label (with the unit), the unit of values and differences, the scale.

    A shown value is ``raw * scale``; ``difference_unit`` is ``"pts"`` for percentages.
    """

    key: str
    label: str
    unit: str
    difference_unit: str
    scale: float


def _is_share(key: str) -> bool:
    return (key.startswith("quality.") or key.endswith(".quality") or key.endswith(".met")
            or key.endswith("_share") or key.endswith(".share") or key.endswith(".utilisation"))


def _time_unit(magnitude: float) -> tuple[str, float]:
    """Minutes below two hours, hours below two days, days beyond (by the size of the figure in minutes)."""
    if not math.isfinite(magnitude) or magnitude < 120:
        return "min", 1.0
    if magnitude < 2 * 1440:
        return "h", 1 / 60
    return "d", 1 / 1440


def _name(key: str) -> str:
    """A plain name for a metric key."""
    if key == "quality.system":
        return "system quality"
    if key == "elements.quality":
        return "quality of elements only"
    if key.startswith("quality."):
        return f"quality of class {key[len('quality.'):]}"
    if key.startswith("standards.") and key.endswith(".met"):
        return f"standard {key[len('standards.'):-len('.met')]} met"
    if key == "time_in_system_minutes":
        return "time in system"
    if key.endswith(".wait_minutes"):
        return f"wait at {key[:-len('.wait_minutes')]}"
    if key.endswith(".utilisation"):
        return f"utilisation of {key[:-len('.utilisation')]}"
    if key == "cost.per_journey":
        return "cost per journey"
    if key == "cost.per_defect_free_journey":
        return "cost per defect-free journey"
    if key.startswith("outcomes.") and key.endswith(".share"):
        return f"outcome {key[len('outcomes.'):-len('.share')]}"
    if key.endswith(".quality"):
        return f"{key[:-len('.quality')]} quality"
    for how in _QUEUE_SHARES:
        if key.endswith("." + how):
            return f"{how.split('_')[0]} at {key[:-len(how) - 1]}"
    return key


def display(key: str, magnitude: float, currency: str = "") -> Display:
    """How to show metric ``key`` whose values are about ``magnitude`` (raw units: fraction, minutes...).

    Examples
    --------
    >>> display("ED.wait_minutes", 45.0).label
    'wait at ED (min)'
    >>> display("cost.per_journey", 9000.0, "USD").label
    'cost per journey (USD)'
    >>> display("standards.door_to_balloon.met", 0.78).difference_unit
    'pts'
    """
    name = _name(key)
    if _is_share(key):
        return Display(key, f"{name} (%)", "%", "pts", 100.0)
    if key.endswith("_minutes"):
        unit, scale = _time_unit(abs(magnitude))
        return Display(key, f"{name} ({unit})", unit, unit, scale)
    if key.startswith("cost."):
        unit = currency or "money"
        return Display(key, f"{name} ({unit})", unit, unit, 1.0)
    return Display(key, name, "", "", 1.0)


def direction(key: str) -> Direction | None:
    """Which way is better for metric ``key``: ``"higher"`` (quality, standards met), ``"lower"``
    (times, waits, costs, patients turned away or left waiting), or ``None`` where it depends
    (utilisation, named outcomes), for the user to say.

    Examples
    --------
    >>> direction("CCU.wait_minutes"), direction("CCU.utilisation")
    ('lower', None)
    """
    if key.startswith("quality.") or key.endswith(".quality") or key.endswith(".met"):
        return "higher"
    if (key.endswith("_minutes") or key.startswith("cost.") or key.endswith(_QUEUE_SHARES)
            or key in ("journeys.in_progress",) or key.endswith(".waiting")):
        return "lower"
    return None


def key_metrics(available: Iterable[str]) -> list[str]:
    """The key metrics of a comparison, in order, among the ``available`` keys.

    System quality, elements only, each standard, cost per journey, time in
    system and the waits at each microsystem.

    Examples
    --------
    >>> key_metrics(["A.wait_minutes", "time_in_system_minutes", "elements.quality", "quality.system",
    ...              "quality.p", "standards.s.met", "A.utilisation"])
    ['quality.system', 'elements.quality', 'standards.s.met', 'time_in_system_minutes', 'A.wait_minutes']
    """
    keys = list(available)
    head = [k for k in ("quality.system", "elements.quality") if k in keys]
    standards = [k for k in keys if k.startswith("standards.") and k.endswith(".met")]
    cost = [k for k in ("cost.per_journey",) if k in keys]
    time = [k for k in ("time_in_system_minutes",) if k in keys]
    waits = [k for k in keys if k.endswith(".wait_minutes")]
    return head + standards + cost + time + waits


def format_number(x: float | None, decimals: int, sign: bool = False) -> str:
    """``x`` with ``decimals`` decimals and thousands separators (``n/a`` where missing).

    Examples
    --------
    >>> format_number(1234.5, 1), format_number(0.25, 2, sign=True), format_number(None, 1)
    ('1,234.5', '+0.25', 'n/a')
    >>> format_number(-0.0, 2), format_number(-0.001, 2)   # no negative zero
    ('0.00', '0.00')
    """
    if x is None or not math.isfinite(x):
        return "n/a"
    if round(x, decimals) == 0:
        x = 0.0  # -0.0, or a small negative that rounds to zero: "0.00", not "-0.00"
    return f"{x:+,.{decimals}f}" if sign else f"{x:,.{decimals}f}"


def decimals_for(values: Sequence[float | None]) -> int:
    """Decimals that show the smallest non-zero of ``values`` with two significant digits (0 to 4).

    Examples
    --------
    >>> decimals_for([0.013, 2.5]), decimals_for([340.0]), decimals_for([0.0])
    (3, 0, 1)
    """
    finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not finite:
        return 1
    return max(0, min(4, 1 - math.floor(math.log10(min(finite)))))


@dataclass(frozen=True, slots=True)
class KeyCells:
    """A key row's numbers as ``journeysim compare`` prints them: ``base`` and ``value`` in the row's
    unit, the signed ``difference`` with its unit, the CI's ends (``None`` without a CI), and
    whether the two scenarios were ``equal`` in every replication (common random numbers), and
    whether the difference was the ``same`` in every replication (zero or not: a CI of no width,
    so no CI and no variance reduction is shown)."""

    base: str
    value: str
    difference: str
    low: str | None
    high: str | None
    unit: str
    equal: bool
    same: bool = False


def key_cells(row: Mapping[str, Any]) -> KeyCells:
    """The decimals and signs of one row of :meth:`Comparison.key_rows`, shared by every output.

    Examples
    --------
    >>> row = {"base": 5.04, "value": 6.03, "difference": 0.99, "ci95": (0.71, 1.26), "unit": "%",
    ...        "difference_unit": "pts"}
    >>> key_cells(row)
    KeyCells(base='5.0', value='6.0', difference='+0.99 pts', low='+0.71', high='+1.26', unit=' pts', equal=False,
             same=False)
    >>> key_cells({**row, "difference": -20.0, "ci95": (-20.0, -20.0)}).difference   # the same in every replication
    '-20 pts'
    """
    lo, hi = row["ci95"]
    diff = row["difference"]
    places = row.get("decimals")  # one per metric across the scenarios, from Comparison.key_rows
    if places is None:
        places = decimals_for([row["base"], row["value"]])
        places = max(places, 1) if row["unit"] == "%" else places
    dplaces = decimals_for([diff, lo, hi, None if lo is None or hi is None else (hi - lo) / 2])
    unit = f" {row['difference_unit']}" if row["difference_unit"] else ""
    # CRN: the change leaves this metric untouched (a zero-width CI at 0, or one replication's difference of 0)
    equal = diff == 0 and ((lo == 0 and hi == 0) or (lo is None and hi is None))
    # a CI of no width: the difference is the same in every replication (a constant cost per journey...)
    same = diff is not None and lo is not None and lo == hi
    if same and diff != 0:
        dplaces = _exact_places(diff)
    shown = "0" + unit if equal else format_number(diff, dplaces, sign=True) + unit
    no_ci = lo is None or hi is None
    return KeyCells(format_number(row["base"], places), format_number(row["value"], places), shown,
                    None if no_ci else format_number(lo, dplaces, sign=True),
                    None if no_ci else format_number(hi, dplaces, sign=True), unit, equal, same)


def _exact_places(x: float) -> int:
    """The fewest decimals (0 to 4) that show ``x`` exactly, or 4."""
    return next((p for p in range(4) if abs(round(x, p) - x) <= 1e-9 * max(1.0, abs(x))), 4)
