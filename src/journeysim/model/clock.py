"""The simulation clock: weekly time windows such as "weekdays 08:00-17:00".

Simulated time is in minutes and time 0 is Monday 00:00 (as for arrival
profiles, :mod:`journeysim.model.profiles`). A :class:`Window` is a set of days and a
daily period; it repeats every week. A period may run past midnight
(``22:00-06:00``): it then belongs to the day it starts on.

Examples
--------
>>> w = Window(days="Mon-Fri", start="08:00", end="17:00")
>>> w.contains(9 * 60.0), w.contains(5 * 1440 + 9 * 60.0)   # Monday 09:00, Saturday 09:00
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
from .profiles import MINUTES_PER_DAY, MINUTES_PER_WEEK

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


def _hhmm(minutes: float) -> str:
    return f"{int(minutes // 60):02d}:{int(minutes % 60):02d}"


@dataclass(frozen=True, slots=True, init=False)
class Window:
    """A weekly time window: the same period of the day on some days of the week.

    Parameters
    ----------
    days : str or sequence of str
        ``"Mon-Fri"``, ``"all"``, or day names such as ``["Sat", "Sun"]``.
    start, end : str or float
        Times of day, ``"HH:MM"`` or hours. When ``end <= start`` the period runs
        past midnight into the next day (``end == start`` means 24 hours).
    """

    days: tuple[int, ...]
    start: float
    end: float

    def __init__(self, days: tuple[int, ...] | str | Sequence[str] = "all", start: float | str = 0.0,
                 end: float | str = 24.0) -> None:
        c = Collector()
        if isinstance(days, tuple) and days and all(isinstance(d, int) and 0 <= d < 7 for d in days):
            day_numbers: tuple[int, ...] | None = tuple(sorted({int(d) for d in days}))
        else:
            day_numbers = parse_days(c, "days", days)
        opens = parse_clock_time(c, "start", start)
        closes = parse_clock_time(c, "end", end)
        c.raise_if_any()
        object.__setattr__(self, "days", day_numbers)
        object.__setattr__(self, "start", opens)
        object.__setattr__(self, "end", closes)

    @classmethod
    def parse(cls, c: Collector, path: str, value: object) -> Window | None:
        """A window from a scenario table ``{days = "Mon-Fri", hours = "08:00-17:00"}``."""
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
        days = parse_days(c, "days", value.get("days", "all"))
        s = parse_clock_time(c, "hours", start)
        e = parse_clock_time(c, "hours", end)
        if len(c.problems) > before or s is None or e is None:
            return None
        return cls(days=days, start=start, end=end)

    @property
    def length(self) -> float:
        """Minutes of the daily period."""
        span = self.end - self.start
        return span if span > 0 else span + MINUTES_PER_DAY

    def intervals(self) -> tuple[tuple[float, float], ...]:
        """The window's ``[start, end)`` intervals within one week, in minutes from Monday 00:00.

        A period that runs past Sunday midnight is split in two.
        """
        out: list[tuple[float, float]] = []
        for d in self.days:
            a = d * MINUTES_PER_DAY + self.start
            b = a + self.length
            if b <= MINUTES_PER_WEEK:
                out.append((a, b))
            else:
                out.extend([(a, MINUTES_PER_WEEK), (0.0, b - MINUTES_PER_WEEK)])
        return tuple(sorted(out))

    def boundaries(self) -> tuple[float, ...]:
        """Times within the week where the window opens or closes."""
        return tuple(sorted({x % MINUTES_PER_WEEK for iv in self.intervals() for x in iv}))

    def contains(self, t: float) -> bool:
        """Whether time ``t`` (minutes from Monday 00:00) falls in the window."""
        week = t % MINUTES_PER_WEEK
        return any(a <= week < b for a, b in self.intervals())

    def describe(self) -> str:
        """``"Mon-Fri 08:00-17:00"`` style text."""
        days = [DAY_NAMES[d] for d in self.days]
        idx = list(self.days)
        if len(idx) == 7:
            text = "every day"
        elif idx == list(range(idx[0], idx[-1] + 1)) and len(idx) > 2:
            text = f"{days[0]}-{days[-1]}"
        else:
            text = ",".join(days)
        return f"{text} {_hhmm(self.start)}-{_hhmm(self.end)}"
