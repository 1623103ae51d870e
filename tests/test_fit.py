"""Fitting distributions to samples: recovery of known parameters, censoring, ranking, the line to paste, the CLI."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

import journeysim as js
from journeysim.cli import main
from journeysim.data.fit import fit, kaplan_meier
from journeysim.errors import ValidationError
from journeysim.io.scenario_file import parse_distribution
from journeysim.model._problems import Collector

N = 2000
SEEDS = range(5)

#: (family, the journeysim distribution samples are drawn from, its true parameters in fit's names)
TRUTH = [
    ("exponential", js.Exponential(30.0), {"mean": 30.0}),
    ("lognormal", js.LogNormal(median=180.0, log_sd=0.8), {"median": 180.0, "log_sd": 0.8}),
    ("gamma", js.Gamma(shape=3.0, scale=20.0), {"shape": 3.0, "scale": 20.0}),
    ("weibull", js.Weibull(shape=1.5, scale=60.0), {"shape": 1.5, "scale": 60.0}),
    # truncated hard at 0: a normal with mean 30 and sd 40 before truncation
    ("normal", js.Normal(mean=30.0, sd=40.0), {"mean": 30.0, "sd": 40.0}),
]


def _strict(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(("family", "dist", "truth"), TRUTH, ids=[t[0] for t in TRUTH])
def test_recovers_known_parameters_and_ranks_the_family_first(family, dist, truth):
    """On n = 2,000 draws from journeysim's own distribution, each parameter is within 4 standard errors
    of the truth, the 95% interval holds the truth in most samples, and the family is first by AIC in most."""
    first = covered = 0
    for seed in SEEDS:
        x = dist.sample(np.random.default_rng(seed), N)
        r = fit(x, bootstrap=0)
        got = next(f for f in r.fits if f.family == family)
        for name, true in truth.items():
            assert abs(got.params[name] - true) < 4 * got.se[name], (seed, name, got.params, got.se)
            lo, hi = got.ci[name]
            covered += lo <= true <= hi
        first += r.best.family == family
        assert r.best.weight == max(f.weight for f in r.fits)
    assert first >= 4, f"{family} first in {first} of {len(SEEDS)} samples"
    assert covered >= 0.8 * len(SEEDS) * len(truth)


def test_uniform_when_asked_for():
    """A uniform sample, with uniform among the families, is fitted by its range and ranked first."""
    x = js.Uniform(10.0, 50.0).sample(np.random.default_rng(1), N)
    r = fit(x, families=["uniform", "normal", "gamma", "weibull"], bootstrap=0)
    assert r.best.family == "uniform"
    assert r.best.params["low"] == pytest.approx(10.0, abs=0.2)
    assert r.best.params["high"] == pytest.approx(50.0, abs=0.2)


@pytest.mark.parametrize(("family", "dist", "truth"), [TRUTH[1], TRUTH[3]], ids=["lognormal", "weibull"])
def test_right_censoring_recovers_the_parameters_and_the_naive_fit_is_biased(family, dist, truth):
    """Censored at a fixed time with 30% still running, the censored fit recovers the parameters within 4 SE;
    the naive fit on the same numbers (treating the censoring time as the duration) misses by far more."""
    x = dist.sample(np.random.default_rng(7), N)
    cut = float(np.quantile(x, 0.7))
    seen, running = np.minimum(x, cut), x > cut
    assert running.mean() == pytest.approx(0.3, abs=0.01)
    cens = next(f for f in fit(seen, running, [family]).fits if f.family == family)
    naive = fit(seen, None, [family], bootstrap=0).best
    for name, true in truth.items():
        assert abs(cens.params[name] - true) < 4 * cens.se[name], (name, cens.params)
    worst = max(abs(naive.params[k] - v) / naive.se[k] for k, v in truth.items())
    assert worst > 8, naive.params
    scale = "median" if family == "lognormal" else "scale"
    assert naive.params[scale] < truth[scale] * 0.9  # durations read as ended too early


def test_censored_result_has_km_distance_and_no_p_value():
    """With censored values the goodness of fit is the Kaplan-Meier distance (small for the true family) and
    no bootstrap p-value is claimed."""
    x = js.Gamma(3.0, 20.0).sample(np.random.default_rng(2), 1000)
    r = fit(np.minimum(x, 70.0), x > 70.0)
    assert r.n_censored == int((x > 70).sum())
    assert all(f.p_value is None for f in r.fits)
    assert next(f for f in r.fits if f.family == "gamma").gof < 0.03
    assert next(f for f in r.fits if f.family == "exponential").gof > 0.1
    assert "Kaplan-Meier" in r.gof_method


def test_kaplan_meier_without_censoring_is_the_ecdf():
    """The Kaplan-Meier CDF of uncensored values is the empirical CDF."""
    x = np.array([3.0, 1.0, 2.0, 5.0])
    t, cdf = kaplan_meier(x, np.zeros(4, dtype=bool))
    assert t.tolist() == [1.0, 2.0, 3.0, 5.0]
    assert cdf == pytest.approx([0.25, 0.5, 0.75, 1.0])


def test_akaike_weights_sum_to_one_and_follow_aic():
    """Akaike weights sum to 1, fall with AIC, and BIC adds k log n instead of 2k."""
    x = js.Gamma(2.0, 10.0).sample(np.random.default_rng(3), 300)
    r = fit(x, bootstrap=0)
    assert sum(f.weight for f in r.fits) == pytest.approx(1.0)
    aics = [f.aic for f in r.fits]
    assert aics == sorted(aics)
    assert [f.weight for f in r.fits] == sorted((f.weight for f in r.fits), reverse=True)
    d = r.fits[1].aic - r.fits[0].aic
    assert r.fits[1].weight / r.fits[0].weight == pytest.approx(np.exp(-d / 2))
    for f in r.fits:
        k = len(f.params)
        assert f.bic - f.aic == pytest.approx(k * np.log(300) - 2 * k)


def test_bootstrap_p_values_tell_a_wrong_family():
    """The bootstrap KS p-value is not small for the true family and small for a clearly wrong one."""
    x = js.Normal(mean=100.0, sd=15.0).sample(np.random.default_rng(4), 200)
    r = fit(x, families=["normal", "exponential"], bootstrap=60, seed=1)
    by = {f.family: f for f in r.fits}
    assert by["normal"].p_value > 0.05
    assert by["exponential"].p_value < 0.05
    again = fit(x, families=["normal", "exponential"], bootstrap=60, seed=1)
    assert again.fits[0].p_value == by["normal"].p_value  # a fixed seed: the same p-values


@pytest.mark.parametrize("unit", ["minutes", "hours"])
def test_toml_line_parses_back_to_the_fitted_distribution(unit):
    """Each fit's scenario-file line parses (tomllib, then the scenario reader) to its `distribution`."""
    x = js.LogNormal(3.0, 0.6).sample(np.random.default_rng(5), 500)
    r = fit(x, unit=unit, bootstrap=0)
    for f in r.fits:
        line = f.toml("service")
        table = tomllib.loads(line)["service"]
        c = Collector()
        assert parse_distribution(table, c, "service") == f.distribution, line
        assert not c.problems
        for name, value in f.params.items():
            assert table[name] == pytest.approx(value, rel=1e-3)
    scale = 60.0 if unit == "hours" else 1.0
    assert r.best.distribution.median == pytest.approx(r.best.params["median"] * scale, rel=1e-3)
    assert ('unit = "hours"' in r.best.toml()) == (unit == "hours")


def test_all_equal_values_are_a_fixed_duration():
    """When every value is equal the only fit is the fixed duration."""
    r = fit([12.0] * 30, families=["fixed", "gamma"])
    assert [f.family for f in r.fits] == ["fixed"]
    assert r.best.toml("delay") == 'delay = { dist = "fixed", value = 12 }'
    assert r.best.distribution == js.Fixed(12.0)
    assert "fixed" in fit([1.0, 2.0, 3.0] * 10, families=["fixed", "gamma"], bootstrap=0).failed


def test_small_sample_warns_and_offers_the_empirical_line():
    """Fewer than 20 values give a warning and the empirical line, which parses to those values."""
    x = [4.0, 7.5, 3.0, 9.0, 5.5, 6.0, 12.0, 4.5]
    r = fit(x, bootstrap=0)
    assert r.warnings and "empirical" in r.warnings[0]
    line = r.empirical_toml("service")
    c = Collector()
    assert parse_distribution(tomllib.loads(line)["service"], c, "s") == js.Empirical(tuple(x))
    assert "empirical" in r.to_text()
    assert not fit(js.Exponential(5).sample(np.random.default_rng(0), 20), bootstrap=0).warnings


def test_bad_samples_are_refused_with_every_problem():
    """Negative, non-finite or empty samples and unknown families are refused, naming each problem."""
    with pytest.raises(ValidationError) as err:
        fit([1.0, -2.0, float("nan"), 3.0])
    assert [p.path for p in err.value.problems] == ["values[1]", "values[2]"]
    with pytest.raises(ValidationError, match="empty"):
        fit([])
    with pytest.raises(ValidationError, match="unknown family 'beta'"):
        fit([1.0, 2.0], families=["beta"])
    with pytest.raises(ValidationError, match="every value is censored"):
        fit([1.0, 2.0], [True, True])
    with pytest.raises(ValidationError, match="one flag per value"):
        fit([1.0, 2.0], [True])


def test_zeros_rule_out_the_families_on_positive_values():
    """A sample with zeros cannot be lognormal; the family is listed as not fitted, with the reason."""
    x = np.concatenate([[0.0, 0.0], js.Exponential(10.0).sample(np.random.default_rng(0), 100)])
    r = fit(x, bootstrap=0)
    assert "lognormal" in r.failed and "0" in r.failed["lognormal"]
    assert r.best.family in ("exponential", "gamma", "weibull", "normal")


def test_result_views():
    """The result has a concise repr, a table, text, HTML and strict JSON."""
    x = js.Gamma(2.0, 10.0).sample(np.random.default_rng(3), 100)
    r = fit(x, bootstrap=20)
    assert repr(r).startswith("FitResult(n=100, minutes; by AIC weight:")
    t = r.table()
    assert list(t.columns) == ["family", "parameters", "loglik", "aic", "bic", "weight", "ks", "p_value"]
    assert len(t) == len(r.fits)
    assert r.best.toml() in r.to_text() and "<table>" in r._repr_html_()
    d = _strict(json.dumps(r.to_dict(), allow_nan=False))
    assert d["best"] == r.best.family and len(d["fits"]) == len(r.fits)


# -- the command line ------------------------------------------------------------------------


def _csv(tmp_path, rows, header="id,los,running", name="x.csv"):
    path = tmp_path / name
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_cli_fits_a_column_writes_strict_json_and_a_plot(tmp_path, capsys):
    """`journeysim fit` prints the ranked table and the line to paste, and writes strict JSON and a PNG."""
    x = js.Gamma(3.0, 20.0).sample(np.random.default_rng(1), 400)
    path = _csv(tmp_path, [f"{i},{min(v, 80):.3f},{'yes' if v > 80 else 'no'}" for i, v in enumerate(x)])
    code, out, _ = run_cli(capsys, "fit", path, "--column", "los", "--censored-column", "running", "--unit", "hours",
                           "--json", tmp_path / "f.json", "--plot", tmp_path / "f.png", "--key", "stay")
    assert code == 0
    assert "right-censored" in out and 'stay = { dist = "gamma"' in out and 'unit = "hours"' in out
    d = _strict((tmp_path / "f.json").read_text())
    assert d["n_censored"] == int((x > 80).sum()) and d["unit"] == "hours"
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_small_sample_prints_the_warning(tmp_path, capsys):
    """A column of fewer than 20 values prints the warning and the empirical line."""
    path = _csv(tmp_path, [f"{i},{v}," for i, v in enumerate([3, 5, 4, 8, 6, 9, 2])])
    code, out, _ = run_cli(capsys, "fit", path, "--column", "los", "--bootstrap", "0")
    assert code == 0 and "warning: only 7 values" in out and 'dist = "empirical", values = [3, 5, 4' in out


@pytest.mark.parametrize(("rows", "args", "expected"), [
    (["1,5,no"], ["--column", "stay"], ["x.csv:1: stay: no such column; the columns are 'id', 'los', 'running'"]),
    (["1,5,no"], ["--column", "los", "--censored-column", "open"], ["x.csv:1: open: no such column"]),
    (["1,5,no", "2,abc,no", "3,7,no", "4,,no"], ["--column", "los"],
     ["x.csv:3: los: not a number: 'abc'", "x.csv:5: los: not a number: ''"]),
    (["1,5,no", "2,-3,no", "3,-1.5,no"], ["--column", "los"],
     ["x.csv:3: los: must be a finite non-negative duration, got '-3'", "x.csv:4: los: must be a finite non-negative"]),
    (["1,5,maybe"], ["--column", "los", "--censored-column", "running"],
     ["x.csv:2: running: expected true or false, got 'maybe'"]),
    ([], ["--column", "los"], ["los: has no values"]),
], ids=["missing column", "missing censored column", "non-numeric", "negative", "bad flag", "header only"])
def test_cli_bad_csv(tmp_path, capsys, rows, args, expected):
    """A bad CSV is reported with its line numbers, every problem at once, exit 2, no output left behind."""
    path = _csv(tmp_path, rows)
    out_json = tmp_path / "out.json"
    code, _, err = run_cli(capsys, "fit", path, *args, "--json", out_json)
    assert code == 2
    for text in expected:
        assert text in err
    assert not out_json.exists()


def test_cli_empty_and_missing_files(tmp_path, capsys):
    """An empty file and a missing file are reported plainly."""
    empty = tmp_path / "e.csv"
    empty.write_text("")
    code, _, err = run_cli(capsys, "fit", empty, "--column", "los")
    assert code == 2 and "the file is empty" in err
    code, _, err = run_cli(capsys, "fit", tmp_path / "nope.csv", "--column", "los")
    assert code == 2 and "cannot read it" in err
