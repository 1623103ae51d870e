"""A class's arrival profile from its case starts: hour of day, weekday, or a full hour x weekday table.

The scenario file expresses a profile as relative rates (normalised to average 1) over
a period starting Monday 00:00: ``{ hours = [24], days = [7] }`` (separate factors:
the rate at hour h of weekday d is ``hours[h] * days[d]``), or, with
``period_days = 7``, ``{ hours = [168] }``: one rate per hour of the week, which is
the full hour x weekday table. :func:`profile` writes

* the **full table** when the data support it: at least :data:`FULL_TABLE_CASES`
  cases (20 an hour of the week on average) over at least 4 weeks, and the weekday
  changes the shape of the day beyond chance (a chi-square test of independence of
  hour and weekday on the 24 x 7 table of counts, p < 0.001);
* else **separate factors**: hours when they differ from a constant rate beyond
  chance (chi-square, p < 0.001, from 240 cases), weekdays likewise (from 700 cases
  over 4 weeks, the expected counts following how many of each weekday the window
  holds);
* else a constant rate (no profile).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["profile", "FULL_TABLE_CASES", "P_VALUE"]

#: cases needed before the full hour x weekday table is considered (20 per hour of the week)
FULL_TABLE_CASES = 20 * 168
#: the chi-square p-value below which a profile is written
P_VALUE = 1e-3


def _weekday_exposure(t: NDArray[np.float64], origin_weekday: int) -> NDArray[np.float64]:
    seen = np.arange(int(t.min() // 1440), int(t.max() // 1440) + 1)  # the days the window covers
    return np.bincount((seen + origin_weekday) % 7, minlength=7).astype(float)


def _interaction_p(table: NDArray[np.float64]) -> float:
    """The chi-square test of independence of weekday (rows) and hour (columns), on the non-empty ones."""
    from scipy import stats

    t = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(t, correction=False).pvalue)


def _full_table(t: NDArray[np.float64], origin_weekday: int) -> tuple[list[float], float]:
    """The 168 relative rates (Monday 00-01 first) and the p-value of the hour x weekday interaction."""
    day = ((t // 1440).astype(np.int64) + origin_weekday) % 7
    hour = ((t // 60) % 24).astype(np.int64)
    table = np.bincount(day * 24 + hour, minlength=168).reshape(7, 24).astype(float)
    rate = table / np.maximum(_weekday_exposure(t, origin_weekday), 1)[:, None]
    rel = rate.reshape(-1) / rate.mean()
    return [round(float(x), 3) for x in rel], _interaction_p(table)


def profile(start_min: NDArray[np.float64], origin_offset: float, origin_weekday: int,
            span_days: float) -> tuple[dict[str, Any] | None, str, str]:
    """A class's profile table (or None), how it was found, and its kind (``hour x weekday``, ``hours``...).

    ``start_min`` are the case starts in minutes from the log's origin, ``origin_offset``
    the origin's minutes after midnight (local time), ``origin_weekday`` its weekday (Monday 0).

    300 cases, all between 08:00 and 09:00: an hours profile, all of it at hour 8.

    >>> t = np.random.default_rng(0).uniform(480, 540, 300) + 1440 * np.arange(300) % 20
    >>> table, how, kind = profile(t, 0.0, 0, 20.0)
    >>> kind, table["hours"][8]
    ('hours', 24.0)
    """
    from scipy import stats

    n = start_min.size
    if n < 240:
        return None, f"n={n}: too few cases for an hour-of-day profile (240 needed)", "constant"
    t = start_min + origin_offset
    weeks = span_days >= 28
    if n >= FULL_TABLE_CASES and weeks:
        rates, p_int = _full_table(t, origin_weekday)
        if p_int < P_VALUE:
            return ({"hours": rates, "period_days": 7},
                    f"n={n}, rates per hour of the week (Monday 00-01 first) relative to the mean; the weekday "
                    f"changes the shape of the day (chi-square test of independence of hour and weekday, "
                    f"p={p_int:.2g})", "hour x weekday")
        full_note = f"; hour x weekday interaction not significant (chi-square p={p_int:.2g}): separate factors"
    else:
        full_note = (f"; a full hour x weekday table needs {FULL_TABLE_CASES} cases over 4 weeks "
                     f"(here {n} over {span_days:.0f} days): separate factors")
    hours = np.bincount(((t // 60) % 24).astype(int), minlength=24).astype(float)
    p_hours = float(stats.chisquare(hours).pvalue)
    out: dict[str, Any] = {}
    how = []
    if p_hours < P_VALUE:
        out["hours"] = [round(float(h), 3) for h in hours / hours.mean()]
        how.append(f"hours: chi-square p={p_hours:.2g}")
    if n >= 7 * 100 and weeks:
        day = ((t // 1440).astype(int) + origin_weekday) % 7
        counts = np.bincount(day, minlength=7).astype(float)
        exposure = _weekday_exposure(t, origin_weekday)
        rel = counts / np.maximum(exposure, 1)
        # expected counts under a constant rate follow how many of each weekday the window holds
        p_days = float(stats.chisquare(counts, counts.sum() * exposure / exposure.sum()).pvalue)
        if p_days < P_VALUE:
            out["days"] = [round(float(d), 3) for d in rel / rel.mean()]
            out.setdefault("hours", [1.0] * 24)
            how.append(f"weekdays: chi-square p={p_days:.2g}")
    if not out:
        return None, f"n={n}: no hour-of-day effect (chi-square p={p_hours:.2g}); constant rate{full_note}", \
            "constant"
    kind = "hours and weekdays" if "days" in out else "hours"
    return out, f"n={n}, shares of case starts; " + ", ".join(how) + full_note, kind
