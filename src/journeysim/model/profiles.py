"""Arrival-rate profiles over the day and the week.

A class's arrival rate can follow the clock: ``rate(t) = rate * h(hour of t) * d(day of t)``,
where the hour factors ``h`` and the day factors ``d`` each average 1, so ``rate``
stays the class's mean rate. Time 0 is Monday 00:00, and times are minutes.

A profile may repeat over any whole number of days (``period_days``, default 7):
``days`` then has one factor per day of the period, and ``hours`` either 24 values
(the same every day) or one per hour of the period. Time 0 is the start of the
period (a Monday). Absolute rates, ``ArrivalProfile.from_rates(rates_per_hour)``,
keep their mean as the profile's :attr:`~ArrivalProfile.rate`, from which a class
takes its mean rate.

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
>>> q = ArrivalProfile.from_rates([2.0] * 8 + [6.0] * 8 + [4.0] * 8)
>>> q.rate * 60, q.factor(9 * 60.0)     # mean rate 4 per hour; 6 per hour at 09:00
(4.0, 1.5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ._problems import Collector, is_number

__all__ = ["MAX_MINUTES", "ArrivalProfile", "MINUTES_PER_DAY", "MINUTES_PER_WEEK", "check_period_days"]

MINUTES_PER_DAY = 1440.0
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
#: The longest time (mean duration, horizon) the simulation clock accepts: 10^9 minutes, about 1,900 years.
#: A float keeps a time this large to a millionth of a minute; at 10^20 minutes it cannot tell a day from the
#: next, so a run would go wrong or never end.
MAX_MINUTES = 1e9


def _normalised(c: Collector, path: str, values: Sequence[float], n: int | tuple[int, ...],
                what: str = "") -> tuple[float, ...]:
    sizes = (n,) if isinstance(n, int) else n
    if len(values) not in sizes:
        c.add(path, f"needs {sizes[0]} values, got {len(values)}{what}")
        return (1.0,) * sizes[0]
    n = len(values)
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


def check_period_days(c: Collector, path: str, value: object) -> int:
    """``value`` as a whole number of days >= 1 (an integral float is accepted); 7 after a problem."""
    if not isinstance(value, int | float) or not is_number(value) or value != int(value) or value < 1:
        c.add(path, f"must be a whole number of days >= 1, got {value!r}")
        return 7
    if value > MAX_MINUTES / MINUTES_PER_DAY:
        c.add(path, f"must be at most {MAX_MINUTES / MINUTES_PER_DAY:.0f} days, got {value!r}")
        return 7
    return int(value)


@dataclass(frozen=True, slots=True)
class ArrivalProfile:
    """Relative arrival rate by hour of day and by day of the period (each normalised to mean 1).

    Parameters
    ----------
    hours : sequence of non-negative numbers
        Relative rate in each hour, 00-01 first: 24 values (the same every day), or
        ``24 * period_days`` values, one per hour of the period (then ``days`` must
        be left out).
    days : sequence of non-negative numbers, optional
        Relative rate on each day of the period, Monday (its first day) first;
        ``period_days`` values. Empty (the default): every day alike.
    period_days : int, default 7
        The profile repeats every this many days.
    rate : float or None
        The mean arrival rate per minute when the profile was made from absolute
        rates (:meth:`from_rates`); a class with this profile takes it as its rate.
        ``None`` for relative factors.

    Examples
    --------
    >>> p = ArrivalProfile(hours=[1.0] * 24, days=[2.0] * 7 + [1.0] * 7, period_days=14)
    >>> round(p.factor(0.0), 4), round(p.factor(8 * 1440.0), 4), round(p.factor(14 * 1440.0), 4)
    (1.3333, 0.6667, 1.3333)
    """

    hours: tuple[float, ...] = (1.0,) * 24
    days: tuple[float, ...] = ()
    period_days: int = 7
    rate: float | None = None
    #: minutes of the period, and whether ``hours`` has one value per hour of it (set from the above)
    _span: float = field(init=False, repr=False, compare=False)
    _by_hour_of_period: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        c = Collector()
        period = check_period_days(c, "period_days", self.period_days)
        hours = tuple(self.hours)
        days = tuple(self.days) or (1.0,) * period
        long = 24 * period
        object.__setattr__(self, "period_days", period)
        object.__setattr__(self, "hours", _normalised(
            c, "hours", hours, (24, long), f" (or {long}, one per hour of the {period}-day period)" if period > 1
            else ""))
        object.__setattr__(self, "days", _normalised(c, "days", days, period))
        by_period = len(self.hours) == long and period > 1
        if by_period and any(d != 1.0 for d in self.days):
            c.add("days", "give day factors only with 24 hour values: hours already has one per hour of the period")
        if self.rate is not None and (not is_number(self.rate) or self.rate <= 0):
            c.add("rate", f"must be a positive number of arrivals per minute, got {self.rate!r}")
        object.__setattr__(self, "_span", period * MINUTES_PER_DAY)
        object.__setattr__(self, "_by_hour_of_period", by_period)
        c.raise_if_any()

    @classmethod
    def from_rates(cls, rates_per_hour: Sequence[float], days: Sequence[float] = (),
                   period_days: int = 7) -> ArrivalProfile:
        """A profile from absolute arrival rates per hour; its :attr:`rate` is their mean, per minute.

        ``rates_per_hour`` has 24 values (the same every day, scaled by the ``days``
        factors, which average 1) or one per hour of the period.

        Examples
        --------
        >>> p = ArrivalProfile.from_rates([0.0] * 8 + [3.0] * 16, period_days=1)
        >>> p.rate * 1440, p.hours[8]
        (48.0, 1.5)
        >>> ArrivalProfile.from_rates([0.0] * 24)
        Traceback (most recent call last):
        ...
        journeysim.errors.ValidationError: hours: needs at least one positive value
        """
        values = tuple(rates_per_hour)
        mean = math.fsum(values) / len(values) / 60.0 if values and all(is_number(v) for v in values) else None
        # bad values (negative, all zero, a wrong count) are named by the profile's own checks of ``hours``
        return cls(hours=values, days=tuple(days), period_days=period_days,
                   rate=mean if mean is not None and 0 < mean < math.inf else None)

    @classmethod
    def from_blocks(
        cls, blocks: Sequence[tuple[float, float, float]], days: Sequence[float] = (), period_days: int = 7
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
        return cls(hours=tuple(h for h in hours if h is not None), days=tuple(days),  # every hour covered (checked)
                   period_days=period_days)

    def factor(self, t: float) -> float:
        """The rate multiplier at time ``t`` (minutes from the start of the period, a Monday 00:00)."""
        week = t % self._span
        if self._by_hour_of_period:
            return self.hours[int(week // 60.0)]
        return self.hours[int(week % MINUTES_PER_DAY // 60.0)] * self.days[int(week // MINUTES_PER_DAY)]

    @property
    def peak(self) -> float:
        """The largest multiplier: candidates are drawn at ``rate * peak``."""
        return max(self.hours) * max(self.days)

    @property
    def is_flat(self) -> bool:
        """True when the rate does not depend on the clock."""
        return all(h == 1.0 for h in self.hours) and all(d == 1.0 for d in self.days)
