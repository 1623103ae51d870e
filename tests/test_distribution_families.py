"""The truncated normal, Weibull, PERT and mixture distributions against theory.

Means and second moments against their closed forms (scipy.stats where it has the
family), draws from the engine's named streams against the CDF (Kolmogorov-Smirnov,
fixed seeds), and a validation error for each bad parameter, by key path.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import journeysim as js
from journeysim.engine.streams import Samplers, StreamFactory
from journeysim.io.scenario_file import parse_distribution
from journeysim.model._problems import Collector

# -- means and moments against the closed forms ------------------------------------------------

NORMALS = [(64.0, 13.0, 18.0), (0.0, 1.0, 0.0), (10.0, 4.0, 0.0), (5.0, 2.0, 11.0), (-40.0, 10.0, 0.0),
           (1e4, 1.0, 0.0), (2.0, 1.0, 30.0)]


@pytest.mark.parametrize(("mu", "sigma", "low"), NORMALS)
def test_normal_mean_and_sd_are_the_truncated_normals(mu, sigma, low):
    """The mean and sd are scipy's truncnorm(a=(min-loc)/scale, b=inf, loc, scale), not the parent's."""
    d = js.Normal(mean=mu, sd=sigma, min=low)
    ref = stats.truncnorm((low - mu) / sigma, np.inf, loc=mu, scale=sigma)
    assert d.mean == pytest.approx(ref.mean(), rel=1e-9)
    assert d.sd == pytest.approx(ref.std(), rel=1e-6)
    assert d.second_moment == pytest.approx(ref.moment(2), rel=1e-9)


def test_normal_mean_is_not_the_parents():
    """Truncating at 0 a normal of mean 1, sd 1 raises the mean to 1 + phi(1) / Phi(1) = 1.2876."""
    assert js.Normal(mean=1, sd=1).mean == pytest.approx(1 + stats.norm.pdf(1) / stats.norm.cdf(1), rel=1e-12)
    assert js.Normal(mean=1, sd=1).mean == pytest.approx(1.287600, abs=1e-6)


@pytest.mark.parametrize(("shape", "scale"), [(0.5, 10.0), (1.0, 30.0), (1.5, 20.0), (3.6, 100.0), (40.0, 5.0)])
def test_weibull_moments_are_scipys_weibull_min(shape, scale):
    """Weibull(shape, scale) has the moments of scipy's weibull_min(c=shape, scale=scale)."""
    d = js.Weibull(shape=shape, scale=scale)
    ref = stats.weibull_min(shape, scale=scale)
    assert d.mean == pytest.approx(ref.mean(), rel=1e-12)
    assert d.second_moment == pytest.approx(ref.moment(2), rel=1e-10)
    assert d.mean == pytest.approx(scale * math.gamma(1 + 1 / shape), rel=1e-12)


@pytest.mark.parametrize("cv", [0.01, 0.2, 0.5, 1.0, 2.0, 8.0])
def test_weibull_from_mean_sd_solves_the_shape(cv):
    """from_mean_sd finds the shape whose weibull_min has that mean and sd (cv = 1 is the exponential, shape 1)."""
    d = js.Weibull.from_mean_sd(mean=45.0, sd=45.0 * cv)
    ref = stats.weibull_min(d.shape, scale=d.scale)
    assert ref.mean() == pytest.approx(45.0, rel=1e-9)
    assert ref.std() == pytest.approx(45.0 * cv, rel=1e-8)
    if cv == 1.0:
        assert d.shape == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize(("low", "mode", "high", "lam"), [(10, 20, 60, 4), (0, 0, 5, 4), (2, 9, 9, 4), (1, 3, 10, 2.5)])
def test_pert_moments_are_the_scaled_betas(low, mode, high, lam):
    """PERT(min, mode, max, lam) has the moments of scipy's beta(1 + lam (mode-min)/(max-min), ..., loc, scale)."""
    d = js.Pert(min=low, mode=mode, max=high, lam=lam)
    a = 1 + lam * (mode - low) / (high - low)
    b = 1 + lam * (high - mode) / (high - low)
    ref = stats.beta(a, b, loc=low, scale=high - low)
    assert d.mean == pytest.approx(ref.mean(), rel=1e-12)
    assert d.mean == pytest.approx((low + lam * mode + high) / (lam + 2), rel=1e-12)
    assert d.second_moment == pytest.approx(ref.moment(2), rel=1e-12)


def test_mixture_moments_are_the_weighted_moments():
    """A mixture's mean and E[X^2] are the weighted sums of its components' (weights normalised)."""
    parts = [js.Exponential(10.0), js.Weibull(2.0, 50.0), js.Fixed(120.0)]
    m = js.Mixture(parts, weights=[50, 30, 20])
    assert m.weights == pytest.approx((0.5, 0.3, 0.2))
    assert m.mean == pytest.approx(0.5 * 10 + 0.3 * 50 * math.gamma(1.5) + 0.2 * 120, rel=1e-12)
    assert m.second_moment == pytest.approx(0.5 * 200 + 0.3 * 2500 * math.gamma(2.0) + 0.2 * 14400, rel=1e-12)


# -- draws from the engine's named streams against the CDF ------------------------------------------

def _engine_draws(d: js.Distribution, n: int, seed: int = 2026) -> np.ndarray:
    """``n`` draws of ``d`` as the engine makes them: the block sampler of a named stream."""
    duration = Samplers(StreamFactory(seed, replication=3)).timed("service/X", "service", d)
    return np.array([duration.sample() for _ in range(n)])


def _mixture_cdf(x: np.ndarray) -> np.ndarray:
    return 0.6 * stats.expon(scale=10.0).cdf(x) + 0.4 * stats.weibull_min(3.0, scale=60.0).cdf(x)


KS = [
    (js.Normal(mean=20, sd=13, min=10), stats.truncnorm((10 - 20) / 13, np.inf, loc=20, scale=13).cdf,
     stats.truncnorm((9 - 20) / 13, np.inf, loc=20, scale=13).cdf),
    (js.Normal(mean=5, sd=2, min=9), stats.truncnorm(2.0, np.inf, loc=5, scale=2).cdf, stats.norm(5, 2).cdf),
    (js.Weibull(shape=1.7, scale=40.0), stats.weibull_min(1.7, scale=40.0).cdf, stats.weibull_min(1.55, scale=40.0).cdf),
    (js.Weibull.from_mean_sd(30, 12), stats.weibull_min(js.Weibull.from_mean_sd(30, 12).shape,
                                                         scale=js.Weibull.from_mean_sd(30, 12).scale).cdf,
     stats.weibull_min(1.1 * js.Weibull.from_mean_sd(30, 12).shape, scale=js.Weibull.from_mean_sd(30, 12).scale).cdf),
    (js.Pert(min=10, mode=20, max=60), stats.beta(1 + 4 * 10 / 50, 1 + 4 * 40 / 50, loc=10, scale=50).cdf,
     stats.triang(10 / 50, loc=10, scale=50).cdf),
    (js.Mixture([js.Exponential(10.0), js.Weibull(3.0, 60.0)], weights=[0.6, 0.4]), _mixture_cdf,
     lambda x: 0.5 * stats.expon(scale=10.0).cdf(x) + 0.5 * stats.weibull_min(3.0, scale=60.0).cdf(x)),
]


@pytest.mark.parametrize(("d", "cdf", "wrong"), KS, ids=[f"{type(k[0]).__name__}{i}" for i, k in enumerate(KS)])
def test_engine_draws_follow_the_cdf(d, cdf, wrong):
    """20,000 draws from a named stream pass a KS test against the family's CDF and fail one against a near miss.

    The near miss (the untruncated normal, another shape, a triangular with the same range,
    other mixture weights) shows the test has the power to catch a wrong sampler.
    """
    x = _engine_draws(d, 20_000)
    assert stats.kstest(x, cdf).pvalue > 0.001
    assert stats.kstest(x, wrong).pvalue < 1e-6
    assert x.mean() == pytest.approx(d.mean, rel=0.02)


def test_mixture_draws_choose_first_then_draw_each_component_in_order():
    """A block of n mixture draws takes n uniforms for the choices, then each component's draws in listed order."""
    m = js.Mixture([js.Exponential(10.0), js.Fixed(5.0), js.Uniform(100.0, 200.0)], weights=[0.5, 0.2, 0.3])
    got = m.sample(np.random.default_rng(11), size=64)
    rng = np.random.default_rng(11)
    which = np.searchsorted(np.cumsum(m.weights), rng.random(64), side="right")
    want = np.empty(64)
    want[which == 0] = rng.exponential(10.0, int((which == 0).sum()))
    want[which == 1] = 5.0
    want[which == 2] = rng.uniform(100.0, 200.0, int((which == 2).sum()))
    np.testing.assert_array_equal(got, want)


def test_mixture_draws_do_not_depend_on_the_workers():
    """A model with a mixture service gives identical records with 1 worker and with 2."""
    service = js.Mixture([js.Exponential(10.0), js.Normal(mean=60, sd=20, min=30)], weights=[3, 1])
    model = js.Model([js.Microsystem("A", capacity=2, service=service)],
                     classes=[js.PatientClass("p", entry="A", rate=js.per_hour(4))])
    one = js.simulate(model, horizon=2 * 1440, replications=2, seed=5, workers=1)
    two = js.simulate(model, horizon=2 * 1440, replications=2, seed=5, workers=2)
    assert one.visits().equals(two.visits())


def test_simulated_service_times_have_the_distribution_means():
    """With unlimited servers, the mean visit length of each new family is its `mean` (M/G/inf, 5 standard errors)."""
    dists = {"N": js.Normal(mean=20, sd=10, min=15), "W": js.Weibull.from_mean_sd(30, 20),
             "P": js.Pert(min=5, mode=10, max=40), "M": js.Mixture([js.Fixed(5.0), js.Exponential(50.0)], [1, 1])}
    model = js.Model([js.Microsystem(n, service=d) for n, d in dists.items()],
                     classes=[js.PatientClass(f"c{n}", entry=n, rate=js.per_hour(6)) for n in dists])
    visits = js.simulate(model, horizon=10 * 1440, replications=1, seed=3).visits()
    for n, d in dists.items():
        length = (visits["end"] - visits["start"])[visits["node"] == n].to_numpy()
        assert abs(length.mean() - d.mean) < 5 * math.sqrt(d.second_moment - d.mean**2) / math.sqrt(len(length))


# -- the scenario file --------------------------------------------------------------------------

def _parse(table: dict) -> tuple[object, list[str]]:
    c = Collector()
    d = parse_distribution(table, c, "service")
    return d, [str(p) for p in c.problems]


def test_scenario_forms_and_units():
    """Each family's scenario form builds the class; time keys are scaled by `unit`, shape and lambda are not."""
    assert _parse({"dist": "normal", "mean": 2, "sd": 0.5, "min": 1, "unit": "hours"})[0] == js.Normal(120, 30, 60)
    assert _parse({"dist": "normal", "mean": 2, "sd": 0.5})[0] == js.Normal(2, 0.5, 0)
    assert _parse({"dist": "weibull", "shape": 2, "scale": 3, "unit": "hours"})[0] == js.Weibull(2, 180)
    w = _parse({"dist": "weibull", "mean": 1, "sd": 0.5, "unit": "days"})[0]
    assert w.mean == pytest.approx(1440.0) and w.sd == pytest.approx(720.0)
    assert _parse({"dist": "pert", "min": 1, "mode": 2, "max": 4, "unit": "hours"})[0] == js.Pert(60, 120, 240)
    assert _parse({"dist": "pert", "min": 1, "mode": 2, "max": 4, "lambda": 3})[0] == js.Pert(1, 2, 4, lam=3)
    m, problems = _parse({"dist": "mixture", "unit": "hours", "weights": [2, 1, 1], "components": [
        {"dist": "exponential", "mean": 1}, {"dist": "fixed", "value": 30, "unit": "minutes"}, 2]})
    assert problems == []
    assert m == js.Mixture([js.Exponential(60.0), js.Fixed(30.0), js.Fixed(120.0)], [0.5, 0.25, 0.25])


BAD = [
    ({"dist": "normal", "mean": 5, "sd": -1}, "service.sd: must be a positive number, got -1"),
    ({"dist": "normal", "mean": 5, "sd": 0}, "service.sd: must be a positive number, got 0"),
    ({"dist": "normal", "mean": 5, "sd": 1, "min": -2}, "service.min: must be a non-negative number, got -2"),
    ({"dist": "normal", "mean": 5, "sd": 1, "min": 100}, "service.min: is 95 sd above the mean 5"),
    ({"dist": "normal", "mean": 5, "sd": 1, "max": 9}, "service.max: unknown parameter of normal"),
    ({"dist": "weibull", "shape": 0, "scale": 3}, "service.shape: must be a positive number, got 0"),
    ({"dist": "weibull", "shape": 2, "scale": -3}, "service.scale: must be a positive number, got -3"),
    ({"dist": "weibull", "mean": 2, "sd": 0}, "service.sd: must be a positive number, got 0"),
    ({"dist": "weibull", "mean": 1, "sd": 1e60}, "service: mean 1 and sd 1e+60 (sd/mean = 1e+60) give no Weibull"),
    ({"dist": "pert", "min": 5, "mode": 5, "max": 5}, "service.max: must be above min, got min 5 and max 5"),
    ({"dist": "pert", "min": 9, "mode": 5, "max": 3}, "service.max: must be above min"),
    ({"dist": "pert", "min": 1, "mode": 5, "max": 3}, "service.mode: must lie in [min, max] = [1, 3], got 5"),
    ({"dist": "pert", "min": -1, "mode": 5, "max": 9}, "service.min: must be a non-negative number, got -1"),
    ({"dist": "pert", "min": 1, "mode": 2, "max": 3, "lambda": 0}, "service.lam: must be a positive number, got 0"),
    ({"dist": "mixture", "components": [1, 2], "weights": [1, -1]},
     "service.weights[1]: must be a non-negative number, got -1"),
    ({"dist": "mixture", "components": [1, 2], "weights": [1]}, "service.weights: needs one weight per component (2), got 1"),
    ({"dist": "mixture", "components": [1, 2], "weights": [0, 0]}, "service.weights: needs at least one positive weight"),
    ({"dist": "mixture", "components": [], "weights": []}, "service.components: must be a non-empty list of distributions"),
    ({"dist": "mixture", "components": [1, {"dist": "gamma", "shape": -1, "scale": 1}], "weights": [1, 1]},
     "service.components[1].shape: must be a positive number, got -1"),
    ({"dist": "mixture", "weights": [1, 1], "components": [
        1, {"dist": "mixture", "components": [1, 2], "weights": [1, 1]}]},
     "service.components[1]: is a mixture: a mixture's components may not be mixtures"),
]


@pytest.mark.parametrize(("table", "message"), BAD, ids=[f"{t['dist']}-{i}" for i, (t, _) in enumerate(BAD)])
def test_bad_parameters_are_named_by_key_path(table, message):
    """Each bad parameter of the new families is refused with a message naming its key path."""
    d, problems = _parse(table)
    assert d is None
    assert any(p.startswith(message) for p in problems), problems


@pytest.mark.parametrize("make", [
    lambda: js.Normal(mean=float("nan"), sd=1), lambda: js.Weibull(float("inf"), 1), lambda: js.Pert(3, 2, 1),
    lambda: js.Mixture([js.Fixed(1), "x"], [1, 1]), lambda: js.Mixture(js.Fixed(1), [1]),
    lambda: js.Weibull(1e-3, 1.0),
])
def test_bad_python_parameters_raise(make):
    """The Python constructors refuse the same bad parameters (and a Weibull too heavy-tailed for floats)."""
    with pytest.raises(js.ValidationError):
        make()
