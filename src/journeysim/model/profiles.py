"""Arrival-rate profiles over the day and the week.

A class's arrival rate can follow the clock: ``rate(t) = rate * h(hour of t) * d(day of t)``,
where the hour factors ``h`` and the day factors ``d`` each average 1, so ``rate``
stays the class's mean rate. Time 0 is Monday 00:00, and times are minutes.

Published figures usually give *shares* of arrivals per block of hours (e.g.
23.6% / 45.3% / 31.0% in 00-08 / 08-16 / 16-24); :meth:`ArrivalProfile.from_blocks`
turns those into hour factors.

Arrivals are generated exactly by thinning (Lewis & Shedler 1979): candidates
come at the maximum rate and each is kept with probability ``rate(t) / max``
judged at the candidate's own time, so the expected number of arrivals in every
hour matches the profile, rising hours included.

Examples
--------
>>> p = ArrivalProfile.from_blocks([(0, 8, 0.236), (8, 16, 0.453), (16, 24, 0.310)])
>>> round(p.factor(9 * 60.0), 3), round(p.factor(2 * 60.0), 3)
(1.36, 0.709)
>>> round(p.peak, 3)
1.36
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ._problems import Collector, is_number

__all__ = ["MAX_MINUTES", "ArrivalProfile", "MINUTES_PER_DAY", "MINUTES_PER_WEEK"]

MINUTES_PER_DAY = 1440.0
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
#: The longest time (mean duration, horizon) the simulation clock accepts: 10^9 minutes, about 1,900 years.
#: A float keeps a time this large to a millionth of a minute; at 10^20 minutes it cannot tell a day from the
#: next, so a run would go wrong or never end.
MAX_MINUTES = 1e9


def _normalised(c: Collector, path: str, values: Sequence[float], n: int) -> tuple[float, ...]:
    if len(values) != n:
        c.add(path, f"needs {n} values, got {len(values)}")
        return (1.0,) * n
    bad = [i for i, v in enumerate(values) if not is_number(v) or v < 0]
    for i in bad:
        c.add(f"{path}[{i}]", f"must be a non-negative number, got {values[i]!r}")
    if bad:
        return (1.0,) * n
    mean = sum(values) / n
    if not (math.isfinite(mean) and mean > 0) and max(values) > 0:
        # huge weights overflow the sum, tiny ones underflow the mean: scale by the largest first
        top = max(values)
        values = [v / top for v in values]
        mean = sum(values) / n
    if mean <= 0:
        c.add(path, "needs at least one positive value")
        return (1.0,) * n
    return tuple(float(v) / mean for v in values)


@dataclass(frozen=True, slots=True)
class ArrivalProfile:
    """Relative arrival rate by hour of day and by day of week (each normalised to mean 1).

    Parameters
    ----------
    hours : sequence of 24 non-negative numbers
        Relative rate in each hour, 00-01 first.
    days : sequence of 7 non-negative numbers
        Relative rate on each day, Monday first.
    """

    hours: tuple[float, ...] = (1.0,) * 24
    days: tuple[float, ...] = (1.0,) * 7

    def __post_init__(self) -> None:
        c = Collector()
        object.__setattr__(self, "hours", _normalised(c, "hours", tuple(self.hours), 24))
        object.__setattr__(self, "days", _normalised(c, "days", tuple(self.days), 7))
        c.raise_if_any()

    @classmethod
    def from_blocks(
        cls, blocks: Sequence[tuple[float, float, float]], days: Sequence[float] = (1.0,) * 7
    ) -> ArrivalProfile:
        """A profile from ``(start hour, end hour, share of the day's arrivals)`` blocks.

        The blocks must cover the 24 hours once, on whole hours; the shares are
        normalised to sum to 1.
        """
        c = Collector()
        hours: list[float | None] = [None] * 24
        for i, block in enumerate(blocks):
            if len(block) != 3 or not all(is_number(x) for x in block):
                c.add(f"blocks[{i}]", f"must be (start hour, end hour, share), got {block!r}")
                continue
            start, end, share = block
            if not (0 <= start < end <= 24) or start != int(start) or end != int(end) or share < 0:
                c.add(f"blocks[{i}]", f"needs whole hours 0 <= start < end <= 24 and share >= 0, got {block!r}")
                continue
            for h in range(int(start), int(end)):
                if hours[h] is not None:
                    c.add(f"blocks[{i}]", f"hour {h} is already covered by another block")
                hours[h] = share / (end - start)
        missing = [h for h, v in enumerate(hours) if v is None]
        if missing and not c.problems:
            c.add("blocks", f"the blocks do not cover hours {missing}")
        c.raise_if_any()
        return cls(hours=tuple(h for h in hours if h is not None), days=tuple(days))  # every hour covered (checked)

    def factor(self, t: float) -> float:
        """The rate multiplier at time ``t`` (minutes from Monday 00:00)."""
        week = t % MINUTES_PER_WEEK
        return self.hours[int(week % MINUTES_PER_DAY // 60.0)] * self.days[int(week // MINUTES_PER_DAY)]

    @property
    def peak(self) -> float:
        """The largest multiplier: candidates are drawn at ``rate * peak``."""
        return max(self.hours) * max(self.days)

    @property
    def is_flat(self) -> bool:
        """True when the rate does not depend on the clock."""
        return all(h == 1.0 for h in self.hours) and all(d == 1.0 for d in self.days)
