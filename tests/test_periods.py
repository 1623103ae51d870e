"""Absolute arrival rates (``rates_per_hour``) and calendars that repeat over any whole number of days.

Against theory: arrivals per hour match the written rates (chi-square), a 14-day rota
serves what was written on each of its days, and its mean capacity is the hand
computation; plus a validation error for each bad key.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import journeysim as js
from journeysim.model.profiles import ArrivalProfile

RATES = [2.0] * 8 + [8.0] * 10 + [4.0] * 6  # arrivals per hour; mean 5.0


def _toml(profile: str, rate: str = "", extra: str = "") -> str:
    return f"""
[scenario]
horizon_days = 28
seed = 3
[[classes]]
name = "walk_in"
entry = "UTC"
{rate}
profile = {profile}
[[microsystems]]
name = "UTC"
service = {{ dist = "exponential", mean = 20 }}
{extra}
"""


def _arrivals(scenario: js.Scenario, seed: int = 3, horizon_days: float = 28) -> np.ndarray:
    res = js.simulate(scenario.model, horizon=horizon_days * 1440.0, replications=1, seed=seed)
    return res.records[0].journeys["arrival"]


# -- rates_per_hour -------------------------------------------------------------------------------

def test_rates_per_hour_are_the_factor_profile_with_their_mean_rate():
    """`rates_per_hour` gives the same arrivals, seed for seed, as `hours` with the class rate their mean."""
    absolute = js.loads_scenario(_toml(f"{{ rates_per_hour = {RATES} }}"))
    relative = js.loads_scenario(_toml(f"{{ hours = {RATES} }}", rate="rate_per_hour = 5.0"))
    assert absolute.model.classes[0].rate == relative.model.classes[0].rate == 5.0 / 60
    a, b = _arrivals(absolute), _arrivals(relative)
    assert len(a) > 2000
    np.testing.assert_array_equal(a, b)


def test_rates_per_hour_with_a_14_day_period_match_day_factors():
    """336 hourly rates over 14 days (week 2 at half the rate) equal 24 rates with 14 day factors, seed for seed."""
    days = [2.0] * 7 + [1.0] * 7
    long = [r * d for d in days for r in RATES]
    absolute = js.loads_scenario(_toml(f"{{ rates_per_hour = {long}, period_days = 14 }}"))
    factors = js.loads_scenario(_toml(f"{{ hours = {RATES}, days = {days}, period_days = 14 }}",
                                      rate=f"rate_per_hour = {sum(long) / len(long)!r}"))
    assert absolute.model.classes[0].rate == pytest.approx(5.0 * 1.5 / 60, rel=1e-15)
    a, b = _arrivals(absolute), _arrivals(factors)
    assert len(a) == len(b) and np.allclose(a, b, rtol=0, atol=1e-9)


def test_counts_per_hour_of_the_period_match_the_rates():
    """Arrivals per hour of day and per day of a 14-day period match the written rates (chi-square, 336 cells).

    The same counts are far from a flat rate and from the 7-day reading of the day factors,
    so the test can fail.
    """
    days = [1.0] * 5 + [0.5] * 2 + [1.5] * 5 + [0.5] * 2
    scenario = js.loads_scenario(_toml(f"{{ rates_per_hour = {RATES}, days = {days}, period_days = 14 }}"))
    periods = 20
    t = _arrivals(scenario, seed=8, horizon_days=14 * periods)
    factor = np.array(days) / np.mean(days)
    expected = np.outer(factor, RATES) * periods  # arrivals in each (day of period, hour) cell
    cell = ((t % (14 * 1440)) // 1440).astype(int), (t % 1440 // 60).astype(int)
    observed = np.zeros((14, 24))
    np.add.at(observed, cell, 1)
    # independent Poisson counts with known means: sum((O - E)^2 / E) is chi-square with 336 degrees of freedom
    def pvalue(mean: np.ndarray) -> float:
        return float(stats.chi2.sf(((observed - mean) ** 2 / mean).sum(), df=observed.size))

    assert pvalue(expected) > 0.001
    assert pvalue(np.outer(np.tile(factor[:7] / factor[:7].mean(), 2), RATES) * periods) < 1e-6  # a weekly reading
    assert pvalue(np.full((14, 24), expected.mean())) < 1e-6  # a flat rate


# -- 14-day rotas -----------------------------------------------------------------------------------

ROTA = """
period_days = 14
capacity = 1
schedule = [
  { days = [1, 2, 3, 4, 5], hours = "08:00-20:00", capacity = 3 },
  { days = [8, 9], capacity = 2 },
  { days = "Sat-Sun", hours = "08:00-12:00", capacity = 0 },
]
"""


def _rota() -> js.Microsystem:
    return js.loads_scenario(_toml(f"{{ rates_per_hour = {RATES} }}", extra=ROTA)).model.microsystem("UTC")


def test_a_14_day_rota_has_the_capacity_written_on_each_day():
    """At 10:00 and 22:00 on each of the 14 days, and 14 days later, the capacity is the one written for that day."""
    m = _rota()
    at_ten = [3, 3, 3, 3, 3, 0, 0, 2, 2, 1, 1, 1, 0, 0]
    at_ten_pm = [1, 1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1]
    for day in range(14):
        for later in (0, 14):
            assert m.capacity_at((day + later) * 1440 + 600) == at_ten[day], day
            assert m.capacity_at((day + later) * 1440 + 1320) == at_ten_pm[day], day


def test_mean_capacity_of_a_14_day_period_is_the_hand_computation():
    """Mean capacity = (1 x 20160 + 2 x 5 x 720 + 1 x 2 x 1440 - 1 x 4 x 240) / 20160 server-minutes per minute."""
    hand = (1 * 20160 + 2 * 5 * 720 + 1 * 2 * 1440 - 1 * 4 * 240) / 20160
    m = _rota()
    assert m.mean_capacity == pytest.approx(hand, rel=1e-12)
    model = js.Model([m], classes=[js.PatientClass("p", entry="UTC", rate=js.per_hour(2))])
    assert js.offered_load(model)["UTC"].servers == pytest.approx(hand, rel=1e-12)
    assert js.offered_load(model)["UTC"].load == pytest.approx(2 / 60 * 20 / hand, rel=1e-12)


def test_the_engine_serves_the_rota_day_by_day():
    """Under a queue that never empties, service starts per day are 24 x that day's mean capacity (fixed 1-hour work)."""
    rota = js.Microsystem("W", capacity=1, service=js.Fixed(60.0), period_days=14, schedule=[
        js.Shift(js.Window(days=tuple(range(5)), weekly=False), capacity=3),
        js.Shift(js.Window(days=(7, 8), weekly=False), capacity=2)])
    model = js.Model([rota], classes=[js.PatientClass("p", entry="W", rate=js.per_hour(4))])
    res = js.simulate(model, horizon=28 * 1440.0, replications=1, seed=2)
    starts = res.records[0].visits["start"]
    per_day = np.bincount((starts // 1440).astype(int), minlength=28)[:28]
    written = np.array([3, 3, 3, 3, 3, 1, 1, 2, 2, 1, 1, 1, 1, 1] * 2) * 24
    # a server busy across midnight starts its first patient of the day up to an hour late
    assert np.all(np.abs(per_day[1:] - written[1:]) <= 3), per_day


def test_a_14_day_schedule_is_reported_by_period():
    """The summary gives the schedule's pieces as minutes of the period, with its length."""
    m = js.Microsystem("W", capacity=1, service=js.Fixed(1.0), period_days=14,
                       schedule=[js.Shift(js.Window(days=(8,), start="08:00", end="17:00", weekly=False), capacity=2)])
    res = js.simulate(js.Model([m], classes=[js.PatientClass("p", entry="W", rate=js.per_hour(1))]),
                      horizon=14 * 1440.0, replications=2, seed=1)
    pieces = res.summary().to_dict()["microsystems"]["W"]["schedule"]
    assert pieces[1] == {"from_minute_of_period": 8 * 1440 + 480.0, "capacity": 2, "period_days": 14}


# -- validation ---------------------------------------------------------------------------------

PATH = "classes[0] (walk_in).profile."
BAD = [
    (_toml("{ rates_per_hour = [1, 2, -3] }"), PATH + "rates_per_hour: needs 24 values, got 3"),
    (_toml(f"{{ rates_per_hour = {[1.0] * 23 + [-2.0]} }}"), PATH + "rates_per_hour[23]: must be a non-negative number"),
    (_toml(f"{{ rates_per_hour = {[0] * 24} }}"), PATH + "rates_per_hour: needs at least one positive value"),
    (_toml(f"{{ rates_per_hour = {[1] * 24} }}", rate="rate_per_day = 24"),
     "classes[0] (walk_in).rate_per_day: give either rate_per_day or profile.rates_per_hour"),
    (_toml(f"{{ rates_per_hour = {[1] * 24}, hours = {[1] * 24} }}"), "profile: give either hours"),
    (_toml(f"{{ hours = {[1] * 24} }}"), "classes[0] (walk_in).rate_per_day: is required"),
    (_toml(f"{{ rates_per_hour = {[1] * 24}, period_days = 0 }}"), PATH + "period_days: must be a whole number of days >= 1, got 0"),
    (_toml(f"{{ rates_per_hour = {[1] * 24}, period_days = 2.5 }}"), PATH + "period_days: must be a whole number of days >= 1, got 2.5"),
    (_toml(f"{{ rates_per_hour = {[1] * 24}, period_days = true }}"), PATH + "period_days: must be a whole number"),
    (_toml(f"{{ rates_per_hour = {[1] * 24}, period_days = 14, days = {[1] * 7} }}"), PATH + "days: needs 14 values, got 7"),
    (_toml(f"{{ rates_per_hour = {[1] * 48}, period_days = 2, days = [1, 2] }}"), PATH + "days: give day factors only with 24 hour values"),
    (_toml(f"{{ rates_per_hour = {[1] * 25} }}"), PATH + "rates_per_hour: needs 24 values, got 25 (or 168, one per hour of the 7-day period)"),
    (_toml(f"{{ rates_per_hour = {[1] * 24} }}", extra="period_days = -14"), "microsystems[0] (UTC).period_days: must be a whole number of days >= 1, got -14"),
    (_toml(f"{{ rates_per_hour = {[1] * 24} }}", extra="period_days = 14\nschedule = [{ days = [15], capacity = 2 }]"),
     "microsystems[0] (UTC).schedule[0].days: day 15 is beyond the period of 14 days"),
    (_toml(f"{{ rates_per_hour = {[1] * 24} }}", extra="period_days = 10\nschedule = [{ days = 'Mon-Fri', capacity = 2 }]"),
     "microsystems[0] (UTC).schedule[0].days: day names repeat every week, but the period of 10 days is not whole weeks"),
    (_toml(f"{{ rates_per_hour = {[1] * 24} }}", extra="period_days = 14\nschedule = [{ days = [0, 1], capacity = 2 }]"),
     "microsystems[0] (UTC).schedule[0].days: day numbers count from 1"),
    (_toml(f"{{ rates_per_hour = {[1] * 24} }}", extra="period_days = 14\nschedule = [{ days = [2, 3], capacity = 2 }, { days = 'Tue', hours = '10:00-11:00', capacity = 1 }]"),
     "microsystems[0] (UTC).schedule[1]: overlaps schedule[0]"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_rates_and_periods_are_named_by_key_path(text, message):
    """Each bad rates_per_hour, period_days or rota key is a validation error naming its key path."""
    with pytest.raises(js.ValidationError) as exc:
        js.loads_scenario(text)
    assert message in str(exc.value)


def test_python_api_rate_and_absolute_profile_conflict():
    """PatientClass refuses a rate together with a profile of absolute rates, and needs one of them."""
    profile = ArrivalProfile.from_rates(RATES)
    assert js.PatientClass("p", entry="A", profile=profile).rate == pytest.approx(5.0 / 60)
    with pytest.raises(js.ValidationError, match="rate: give either a rate or a profile of absolute rates"):
        js.PatientClass("p", entry="A", rate=0.1, profile=profile)
    with pytest.raises(js.ValidationError, match="rate: is required"):
        js.PatientClass("p", entry="A")


def test_weekly_syntax_is_unchanged():
    """Day names in a 7-day schedule and 7 day factors keep their meaning (period_days defaults to 7)."""
    m = js.Microsystem("A", capacity=1, schedule=[js.Shift(js.Window("Mon-Fri", "08:00", "17:00"), capacity=2)])
    assert m.period_days == 7 and m.capacity_at(600.0) == 2 and m.capacity_at(7 * 1440 + 600.0) == 2
    assert m.mean_capacity == pytest.approx(1 + 5 * 540 / 10080)
    p = ArrivalProfile(hours=[1.0] * 24, days=[2, 1, 1, 1, 1, 1, 1])
    assert p.period_days == 7 and p.factor(7 * 1440.0) == p.factor(0.0) == pytest.approx(2 * 7 / 8)
