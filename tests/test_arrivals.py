"""Time-varying arrivals: an exact non-homogeneous Poisson process by thinning."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import journeysim as js
from conftest import write
from journeysim.model.profiles import ArrivalProfile

# a sharp rise at 08:00 and a fall at 18:00: generators that use the rate at the start of
# a gap under-count the first high hours (the bias the issue warns about)
HOURS = [0.2] * 8 + [3.0] * 10 + [0.6] * 6
DAYS = [1.2, 1.2, 1.2, 1.2, 1.2, 0.5, 0.5]


def model(profile, rate=js.per_hour(4.0)):
    return js.Model([js.Microsystem("ED", capacity=None, service=js.Fixed(1.0))],
                    classes=[js.PatientClass("p", entry="ED", rate=rate, profile=profile)])


def arrivals(profile, weeks=60, seed=1):
    res = js.simulate(model(profile), horizon=weeks * 7 * 1440.0, seed=seed, records="full")
    return res.records[0].journeys["arrival"]


def test_arrivals_per_hour_match_the_profile():
    """Counts per hour of day and per weekday match the profile (chi-square, and hour by hour)."""
    profile = ArrivalProfile(hours=tuple(HOURS), days=tuple(DAYS))
    weeks = 60
    t = arrivals(profile, weeks)
    rate_per_min = 4.0 / 60.0
    # expected count in each (weekday, hour) cell: rate * factor * 60 minutes * weeks
    expected = np.array([[rate_per_min * profile.hours[h] * profile.days[d] * 60.0 * weeks for h in range(24)]
                         for d in range(7)])
    day = (t % (7 * 1440) // 1440).astype(int)
    hour = (t % 1440 // 60).astype(int)
    observed = np.zeros((7, 24))
    np.add.at(observed, (day, hour), 1)
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert stats.chi2.sf(chi2, df=7 * 24 - 1) > 0.001, chi2
    # the first high hour (08-09) on weekdays, where biased generators fall short
    first_high = observed[:5, 8].sum()
    exp_first = expected[:5, 8].sum()
    assert abs(first_high - exp_first) < 4 * np.sqrt(exp_first)
    # the mean rate is the class's rate
    assert len(t) == pytest.approx(rate_per_min * weeks * 7 * 1440, rel=0.03)


def test_within_hour_times_are_uniform():
    """Inside an hour of constant rate, arrival times are uniform (no drift towards either end)."""
    t = arrivals(ArrivalProfile(hours=tuple(HOURS)), weeks=30, seed=2)
    minute = t % 60.0
    assert stats.kstest(minute / 60.0, "uniform").pvalue > 0.001


def test_flat_profile_changes_nothing():
    """A flat profile gives the same arrivals as no profile (same streams, no thinning draws)."""
    a = arrivals(None, weeks=2)
    b = arrivals(ArrivalProfile(), weeks=2)
    np.testing.assert_array_equal(a, b)


def test_blocks_from_published_shares():
    """DOMAIN.md's 8-hour shares (23.6/45.3/31.0%) become hour factors with those shares of arrivals."""
    profile = ArrivalProfile.from_blocks([(0, 8, 0.236), (8, 16, 0.453), (16, 24, 0.310)])
    t = arrivals(profile, weeks=40, seed=3)
    block = (t % 1440 // 480).astype(int)
    shares = np.bincount(block, minlength=3) / len(t)
    np.testing.assert_allclose(shares, np.array([0.236, 0.453, 0.310]) / 0.999, atol=0.01)


PROFILE_TOML = """\
[scenario]
horizon_days = 14
[[classes]]
name = "STEMI"
entry = "ED"
rate_per_day = 10
profile = {profile}
[[microsystems]]
name = "ED"
service = 30
"""


def test_profile_in_scenario_file(tmp_path):
    """A scenario file gives a profile as blocks of shares, with weekday factors."""
    text = PROFILE_TOML.format(profile='{ blocks = [ { from = 0, to = 8, share = 0.236 }, '
                               '{ from = 8, to = 16, share = 0.453 }, { from = 16, to = 24, share = 0.310 } ], '
                               'days = [1, 1, 1, 1, 1, 1, 1] }')
    s = js.load_scenario(write(tmp_path, text))
    assert s.model.classes[0].profile.factor(9 * 60.0) == pytest.approx(0.453 / 8 / (0.999 / 24))


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ("{ hours = [1, 2] }", "classes[0] (STEMI).profile.hours: needs 24 values, got 2"),
        ("{ blocks = [ { from = 0, to = 8, share = 0.5 } ] }", "classes[0] (STEMI).profile.blocks: the blocks do not cover hours"),
        ("{ hours = [1], blocks = [] }", "give either hours"),
        ("{ hourz = [1] }", "classes[0] (STEMI).profile.hourz: unknown key; did you mean 'hours'?"),
        ("{ hours = [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,-1] }", "profile.hours[23]: must be a non-negative number"),
    ],
)
def test_bad_profiles_are_clear_errors(tmp_path, profile, message):
    """Bad profiles give validation errors naming the key path."""
    with pytest.raises(js.ValidationError) as exc:
        js.load_scenario(write(tmp_path, PROFILE_TOML.format(profile=profile)))
    assert message in str(exc.value)
