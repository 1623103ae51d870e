"""The simulation clock: weekly time windows such as "weekdays 08:00-17:00".

Simulated time is in minutes and time 0 is Monday 00:00 (as for arrival
profiles, :mod:`journeysim.model.profiles`). A :class:`Window` is a set of days and a
daily period; it repeats every week. A period may run past midnight
(``22:00-06:00``): it then belongs to the day it starts on. A microsystem's
schedule may repeat over another whole number of days (``period_days``): a window
given by day names then applies in every week of that period (which must be whole
weeks), and one given by day numbers (``weekly=False``) on those days of the period only.

Examples
--------
>>> w = Window(days="Mon-Fri", start="08:00", end="17:00")
>>> w.contains(9 * 60.0), w.contains(5 * 1440 + 9 * 60.0)   # Monday 09:00, Saturday 09:00
(True, False)
>>> rota = Window(days=(7, 8), start="08:00", end="17:00", weekly=False)   # days 8 and 9 of a 14-day period
>>> rota.contains(7 * 1440 + 9 * 60.0, period_days=14), rota.contains(9 * 60.0, period_days=14)
(True, False)
>>> w.boundaries()[:2]
(480.0, 1020.0)
>>> Window(days=["Sat", "Sun"], start="20:00", end="08:00").contains(7 * 1440 + 60.0)   # Monday 01:00
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._problems import Collector, is_number
from .profiles import MINUTES_PER_DAY

__all__ = ["Window", "DAY_NAMES", "DEFAULT_START", "parse_days", "parse_clock_time"]

#: Calendar date of simulated time 0 by default (in event logs): a Monday, as the scenario's week starts on one.
DEFAULT_START = "2026-01-05"

#: Day names, Monday first, as scenario files spell them.
DAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def parse_days(c: Collector, path: str, value: object) -> tuple[int, ...]:
    """Day numbers (Monday = 0) from ``"Mon-Fri"``, ``"Sat"``, ``"all"`` or a list of names."""
    lower = [d.lower() for d in DAY_NAMES]

    def one(name: object) -> int | None:
        if isinstance(name, str) and name.strip().lower()[:3] in lower and len(name.strip()) >= 3:
            return lower.index(name.strip().lower()[:3])
        c.add(path, f"unknown day {name!r}; use Mon, Tue, Wed, Thu, Fri, Sat, Sun")
        return None

    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("all", "every day", "daily"):
            return tuple(range(7))
        if "-" in text:
            first, last = (one(x) for x in text.split("-", 1))
            if first is None or last is None:
                return ()
            return tuple((first + i) % 7 for i in range((last - first) % 7 + 1))
        d = one(text)
        return () if d is None else (d,)
    if isinstance(value, Sequence) and value:
        days = [one(x) for x in value]
        if len(set(days)) != len(days):
            c.add(path, "a day is listed twice")
        return tuple(sorted(d for d in set(days) if d is not None))
    c.add(path, f"must be day names such as 'Mon-Fri' or ['Sat', 'Sun'], got {value!r}")
    return ()


def parse_clock_time(c: Collector, path: str, value: object) -> float | None:
    """Minutes after midnight from ``"08:30"`` or a number of hours (``8.5``); 24:00 is allowed."""
    if is_number(value) and not isinstance(value, bool):
        minutes = float(value) * 60.0  # type: ignore[arg-type]  # is_number checked it is a real number
    elif isinstance(value, str) and ":" in value:
        hh, _, mm = value.strip().partition(":")
        if not (hh.isdigit() and mm.isdigit() and len(mm) == 2):
            c.add(path, f"must be a time of day 'HH:MM', got {value!r}")
            return None
        minutes = int(hh) * 60.0 + int(mm)
    else:
        c.add(path, f"must be a time of day 'HH:MM' or a number of hours, got {value!r}")
        return None
    if not 0.0 <= minutes <= MINUTES_PER_DAY:
        c.add(path, f"must be between 00:00 and 24:00, got {value!r}")
        return None
    return minutes


def _day_numbers(c: Collector, given: list[int]) -> tuple[int, ...]:
    """Days of the period, counted from 0, from the file's ``[1, 2, 9]`` (counted from 1)."""
    for d in given:
        if d < 1:
            c.add("days", f"day numbers count from 1 (the first day of the period), got {d!r}")
    if len(set(given)) != len(given):
        c.add("days", "a day is listed twice")
    return tuple(sorted({d - 1 for d in given if d >= 1}))


def _hhmm(minutes: float) -> str:
    return f"{int(minutes // 60):02d}:{int(minutes % 60):02d}"


@dataclass(frozen=True, slots=True, init=False)
class Window:
    """A weekly time window: the same period of the day on some days of the week.

    Parameters
    ----------
    days : str or sequence of str, or tuple of int
        ``"Mon-Fri"``, ``"all"``, or day names such as ``["Sat", "Sun"]``; or day
        numbers counted from 0 (Monday, the first day of the period).
    start, end : str or float
        Times of day, ``"HH:MM"`` or hours. When ``end <= start`` the period runs
        past midnight into the next day (``end == start`` means 24 hours).
    weekly : bool, default True
        True: the days are days of the week (0-6), repeated in every week of a
        longer period. False: they are days of the period (0 to ``period_days - 1``),
        for a rota over more than a week.

    Examples
    --------
    >>> import journeysim as js
    >>> office_hours = js.Window("Mon-Fri", "08:00", "17:00")
    >>> office_hours.days, office_hours.start, office_hours.end   # minutes after midnight
    ((0, 1, 2, 3, 4), 480.0, 1020.0)
    >>> night = js.Window("all", "22:00", "06:00")                 # past midnight
    >>> night.start, night.end
    (1320.0, 360.0)
    """

    days: tuple[int, ...]
    start: float
    end: float
    weekly: bool

    def __init__(self, days: tuple[int, ...] | str | Sequence[str] = "all", start: float | str = 0.0,
                 end: float | str = 24.0, weekly: bool = True) -> None:
        c = Collector()
        if not isinstance(weekly, bool):
            c.add("weekly", f"must be true or false, got {weekly!r}")
            weekly = True
        last = 7 if weekly else None
        if isinstance(days, tuple) and days and all(
                isinstance(d, int) and not isinstance(d, bool) and 0 <= d and (last is None or d < last)
                for d in days):
            day_numbers: tuple[int, ...] | None = tuple(sorted({int(d) for d in days}))
        elif not weekly:
            c.add("days", f"must be day numbers of the period (0 for its first day), got {days!r}")
            day_numbers = ()
        else:
            day_numbers = parse_days(c, "days", days)
        opens = parse_clock_time(c, "start", start)
        closes = parse_clock_time(c, "end", end)
        c.raise_if_any()
        object.__setattr__(self, "days", day_numbers)
        object.__setattr__(self, "start", opens)
        object.__setattr__(self, "end", closes)
        object.__setattr__(self, "weekly", weekly)

    @classmethod
    def parse(cls, c: Collector, path: str, value: object, *, day_numbers: bool = False) -> Window | None:
        """A window from a scenario table ``{days = "Mon-Fri", hours = "08:00-17:00"}``.

        With ``day_numbers``, ``days`` may also be a list of day numbers of the period,
        ``[1, 2, 9]`` (1 is its first day, a Monday): a window of a longer rota.
        """
        c = c.child(path)
        if not isinstance(value, dict):
            c.add("", f"must be a table with 'days' and 'hours' (e.g. hours = '08:00-17:00'), got {value!r}")
            return None
        for key in sorted(set(value) - {"days", "hours"}):
            c.add(key, "unknown key; a time window has 'days' and 'hours'")
        hours = value.get("hours", "00:00-24:00")
        if not isinstance(hours, str) or hours.count("-") != 1:
            c.add("hours", f"must be 'HH:MM-HH:MM', got {hours!r}")
            return None
        start, end = hours.split("-")
        before = len(c.problems)
        given = value.get("days", "all")
        numbered = day_numbers and isinstance(given, list) and bool(given) and all(
            isinstance(d, int) and not isinstance(d, bool) for d in given)
        days = _day_numbers(c, given) if numbered else parse_days(c, "days", given)
        s = parse_clock_time(c, "hours", start)
        e = parse_clock_time(c, "hours", end)
        if len(c.problems) > before or s is None or e is None:
            return None
        return cls(days=days, start=start, end=end, weekly=not numbered)

    @property
    def length(self) -> float:
        """Minutes of the daily period."""
        span = self.end - self.start
        return span if span > 0 else span + MINUTES_PER_DAY

    def period_days_of_day(self, period_days: int = 7) -> tuple[int, ...]:
        """The window's days as days of a ``period_days`` period: each weekday in every week, or the days given."""
        if not self.weekly:
            return self.days
        return tuple(sorted(d + 7 * w for w in range(max(period_days // 7, 1)) for d in self.days))

    def intervals(self, period_days: int = 7) -> tuple[tuple[float, float], ...]:
        """The window's ``[start, end)`` intervals within one period, in minutes from its start (Monday 00:00).

        A period that runs past the end of the period is split in two.
        """
        span = period_days * MINUTES_PER_DAY
        out: list[tuple[float, float]] = []
        for d in self.period_days_of_day(period_days):
            a = d * MINUTES_PER_DAY + self.start
            b = a + self.length
            if b <= span:
                out.append((a, b))
            else:
                out.extend([(a, span), (0.0, b - span)])
        return tuple(sorted(out))

    def boundaries(self, period_days: int = 7) -> tuple[float, ...]:
        """Times within the period where the window opens or closes."""
        span = period_days * MINUTES_PER_DAY
        return tuple(sorted({x % span for iv in self.intervals(period_days) for x in iv}))

    def contains(self, t: float, period_days: int = 7) -> bool:
        """Whether time ``t`` (minutes from Monday 00:00, the period's start) falls in the window."""
        week = t % (period_days * MINUTES_PER_DAY)
        return any(a <= week < b for a, b in self.intervals(period_days))

    def period_problem(self, period_days: int) -> str | None:
        """Why the window does not fit a ``period_days`` period (``None`` when it does)."""
        if self.weekly and period_days % 7:
            return (f"day names repeat every week, but the period of {period_days} days is not whole weeks: "
                    f"give day numbers 1 to {period_days}")
        beyond = [d + 1 for d in self.days if d >= period_days]
        if not self.weekly and beyond:
            return f"day {beyond[0]} is beyond the period of {period_days} days"
        return None

    def describe(self) -> str:
        """``"Mon-Fri 08:00-17:00"`` style text."""
        if not self.weekly:
            return f"days {','.join(str(d + 1) for d in self.days)} {_hhmm(self.start)}-{_hhmm(self.end)}"
        days = [DAY_NAMES[d] for d in self.days]
        idx = list(self.days)
        if len(idx) == 7:
            text = "every day"
        elif idx == list(range(idx[0], idx[-1] + 1)) and len(idx) > 2:
            text = f"{days[0]}-{days[-1]}"
        else:
            text = ",".join(days)
        return f"{text} {_hhmm(self.start)}-{_hhmm(self.end)}"
