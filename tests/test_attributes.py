"""Patient attributes: drawn per journey with the declared shares and moments, recorded, streams kept apart."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import journeysim as js
from conftest import write
from journeysim.engine.kernel import run_replication
from journeysim.errors import ValidationError
from journeysim.io.scenario_file import loads_scenario

HORIZON = 40_000.0  # minutes; at rate 1/min about 40,000 journeys


def _model(attributes, *, classes=None):
    nodes = [js.Microsystem("A", service=js.Exponential(1.0)), js.Microsystem("B", service=js.Exponential(1.0))]
    classes = classes or [js.PatientClass("k", entry="A", rate=1.0, attributes=attributes)]
    return js.Model(nodes, [js.Handoff("A", "B", probability=0.5)], classes=classes)


def test_categorical_and_bernoulli_shares_match_the_declared_ones():
    """Each value's share of journeys is its declared probability, within 4 standard errors."""
    shares = {"PCI": 0.92, "CABG": 0.06, "medical": 0.02}
    rec = run_replication(_model({"treatment": shares, "diabetic": js.Bernoulli(0.3)}), horizon=HORIZON, seed=11)
    j = rec.journeys.to_frame()
    n = len(j)
    assert n > 30_000
    for value, p in shares.items():
        got = float((j["treatment"] == value).mean())
        assert abs(got - p) < 4 * math.sqrt(p * (1 - p) / n), (value, got, p)
    got = float(j["diabetic"].mean())
    assert abs(got - 0.3) < 4 * math.sqrt(0.3 * 0.7 / n)
    assert set(np.unique(j["diabetic"])) == {0.0, 1.0}


@pytest.mark.parametrize(("dist", "mean", "var"), [
    (js.Uniform(18, 98), 58.0, 80.0 ** 2 / 12),
    (js.Gamma(16.0, 4.0), 64.0, 16.0 * 4.0 ** 2),
    (js.LogNormal.from_mean_sd(64.0, 13.0), 64.0, 13.0 ** 2),
])
def test_numeric_attribute_moments_match_the_distribution(dist, mean, var):
    """The mean and variance of a numeric attribute are the distribution's, within 4 standard errors."""
    rec = run_replication(_model({"age": dist}), horizon=HORIZON, seed=5)
    age = rec.journeys["age"]
    n = len(age)
    assert abs(age.mean() - mean) < 4 * math.sqrt(var / n)
    # the sample variance's standard error is about var * sqrt(2 / n) for near-normal data; 6 of them for skew
    assert abs(age.var() - var) < 6 * var * math.sqrt(2 / n)


def test_attributes_shift_no_other_stream():
    """Adding attributes leaves every visit, handoff and journey time of the model as it was (own streams)."""
    plain = run_replication(_model({}), horizon=2_000.0, seed=3)
    with_attrs = run_replication(_model({"risk": {"hi": 0.5, "lo": 0.5}, "age": js.Uniform(20, 90)}),
                                 horizon=2_000.0, seed=3)
    for table in ("visits", "journeys"):
        a, b = getattr(plain, table), getattr(with_attrs, table)
        for col in a:
            assert np.array_equal(a[col], b[col]), (table, col)
    assert "risk" not in plain.journeys.columns and "risk" in with_attrs.journeys.columns


def test_same_attribute_in_two_scenarios_draws_the_same_values():
    """Common random numbers: a class's attribute draws do not depend on the other attributes declared."""
    one = run_replication(_model({"age": js.Uniform(20, 90)}), horizon=2_000.0, seed=3)
    two = run_replication(_model({"sex": {"f": 0.5, "m": 0.5}, "age": js.Uniform(20, 90)}), horizon=2_000.0, seed=3)
    assert np.array_equal(one.journeys["age"], two.journeys["age"])


def test_classes_without_an_attribute_record_missing_values():
    """A journey whose class does not declare an attribute has NaN (numbers, yes/no) or no category."""
    classes = [js.PatientClass("a", entry="A", rate=0.5, attributes={"risk": {"hi": 0.5, "lo": 0.5},
                                                                     "age": js.Uniform(20, 90)}),
               js.PatientClass("b", entry="A", rate=0.5)]
    rec = run_replication(_model({}, classes=classes), horizon=2_000.0, seed=3)
    j = rec.journeys.to_frame()
    b = j[j["class"] == "b"]
    assert len(b) > 0 and b["risk"].isna().all() and b["age"].isna().all()
    a = j[j["class"] == "a"]
    assert a["risk"].notna().all() and list(j["risk"].cat.categories) == ["hi", "lo"]


def test_event_log_has_case_attributes_only_when_declared():
    """Attributes are case attributes of the event log (``case:NAME``); a model without them has none."""
    res = js.simulate(_model({"risk": {"hi": 0.5, "lo": 0.5}, "age": js.Uniform(20, 90)}), horizon=300.0, seed=1)
    log = js.event_log(res)
    assert {"case:risk", "case:age"} <= set(log.columns)
    j = res.journeys()
    first = log.groupby("case:journey").first()
    assert first["case:risk"].tolist() == j.sort_values("journey")["risk"].astype(str).tolist()
    plain = js.event_log(js.simulate(_model({}), horizon=300.0, seed=1))
    assert not any(c in plain.columns for c in ("case:risk", "case:age"))


def test_attributes_in_the_scenario_file(tmp_path):
    """``[classes.attributes]`` takes categorical, numeric and Bernoulli attributes; the run records them."""
    path = write(tmp_path, """
        [scenario]
        name = "attrs"
        horizon_days = 1
        [[classes]]
        name = "all"
        entry = "A"
        rate_per_hour = 30
        [classes.attributes]
        treatment = { PCI = 0.92, CABG = 0.06, medical = 0.02 }
        age = { dist = "gamma", mean = 64, sd = 13 }
        diabetic = { bernoulli = 0.3 }
        [[microsystems]]
        name = "A"
        service = 1
    """)
    s = js.load_scenario(path)
    attrs = s.model.classes[0].attributes
    assert isinstance(attrs["treatment"], js.Categorical) and attrs["treatment"].share("CABG") == 0.06
    assert isinstance(attrs["age"], js.Numeric) and attrs["age"].mean == pytest.approx(64.0)
    assert attrs["diabetic"] == js.Bernoulli(0.3)
    res = js.simulate(s.model, horizon=s.horizon, seed=1)
    assert {"treatment", "age", "diabetic"} <= set(res.journeys().columns)
    json.dumps(res.summary().to_dict(), allow_nan=False)


_BASE = """
[scenario]
name = "v"
horizon_days = 1
[[microsystems]]
name = "A"
service = 1
[[classes]]
name = "all"
entry = "A"
rate_per_hour = 1
"""


@pytest.mark.parametrize(("attributes", "path", "message"), [
    ("attributes = 3", "classes[0] (all).attributes", "must be a table"),
    ("attributes = { t = 3 }", "classes[0] (all).attributes.t", "must be a table"),
    ("attributes = { t = { a = 0.5, b = 0.4 } }", "classes[0] (all).attributes.t", "must sum to 1"),
    ("attributes = { t = { a = 1.5, b = -0.5 } }", "classes[0] (all).attributes.t.a", "not a probability"),
    ("attributes = { d = { bernoulli = 2 } }", "classes[0] (all).attributes.d.bernoulli", "not a probability"),
    ("attributes = { d = { bernoulli = 0.2, p = 1 } }", "classes[0] (all).attributes.d.p", "unknown key"),
    ("attributes = { age = { dist = \"nope\", mean = 3 } }", "classes[0] (all).attributes.age.dist",
     "unknown distribution"),
    ("attributes = { age = { dist = \"uniform\", low = 3 } }", "classes[0] (all).attributes.age", "needs parameters"),
    ("attributes = { __class__ = { bernoulli = 0.5 } }", "classes[0] (all).attributes.__class__", "must start with a letter"),
    ("attributes = { hour = { bernoulli = 0.5 } }", "classes[0] (all).attributes.hour", "reserved"),
    ("attributes = { arrival = { bernoulli = 0.5 } }", "classes[0] (all).attributes.arrival", "reserved"),
    ("attributes = { \"a b\" = { bernoulli = 0.5 } }", "classes[0] (all).attributes.a b", "must start with a letter"),
])
def test_bad_attributes_are_reported_with_their_key_path(attributes, path, message):
    """Every problem of an attribute names its key path."""
    with pytest.raises(ValidationError) as err:
        loads_scenario(_BASE + attributes + "\n")
    assert any(p.path == path and message in p.message for p in err.value.problems), err.value.problems


def test_an_attribute_has_one_kind_in_the_model():
    """The same attribute name declared as a number in one class and a category in another is refused."""
    with pytest.raises(ValidationError, match=r"classes\[1\] \(b\)\.attributes\.x: is number here but category"):
        js.Model([js.Microsystem("A")], classes=[
            js.PatientClass("a", entry="A", rate=0.1, attributes={"x": {"u": 1.0}}),
            js.PatientClass("b", entry="A", rate=0.1, attributes={"x": js.Uniform(0, 1)})])


def test_python_api_rejects_what_is_not_an_attribute():
    """A value that is not an attribute, a mapping of shares or a distribution is a problem named by its path."""
    with pytest.raises(ValidationError, match=r"attributes\.x: must be a Categorical"):
        js.PatientClass("k", entry="A", rate=0.1, attributes={"x": 0.3})


def test_an_attribute_may_not_be_named_after_a_journeys_column():
    """Every column of the journeys table, ``outcome`` included, is refused as an attribute name: its column
    would replace the engine's (it once silently replaced the outcomes)."""
    from journeysim.engine.records import FIELDS
    from journeysim.model.attributes import JOURNEY_COLUMNS

    assert set(FIELDS["journeys"]) <= JOURNEY_COLUMNS
    with pytest.raises(js.ValidationError, match="outcome"):
        js.PatientClass("k", entry="A", rate=0.1, attributes={"outcome": {"x": 0.5, "y": 0.5}})
