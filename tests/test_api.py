"""The public API: curated exports, distributions, validation in Python."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import journeysim as js


def test_public_api_is_curated():
    """`journeysim.__all__` is exactly the documented public API, and every name exists."""
    assert sorted(js.__all__) == sorted([
        "__version__", "ArrivalProfile", "ByClass", "Comparison", "compare", "sweep", "suggest_warmup", "Defect", "Distribution", "Empirical", "ExactQuality", "Exponential",
        "Exit", "FIELDS", "Fixed", "Gamma", "HANDOFF_KINDS", "Handoff", "HandoffDefects", "JourneySimError", "JourneySimWarning", "OfferedLoad", "RunTooLarge", "offered_load",
        "LogNormal", "Microsystem", "Model", "PatientClass", "Problem", "Provenance", "Records", "Scenario",
        "ServiceRequest", "SimulationError", "SimulationResult", "Step", "Summary", "Table", "Triangular",
        "Uniform", "ValidationError", "exact_quality", "load_scenario", "loads_scenario", "per_day",
        "per_hour", "simulate", "summarize", "Activation", "Group", "Shift", "Standard", "Window",
        "Cost", "Frailty", "Recovery", "event_log", "write_event_log", "EventLog", "read_log",
        "discover", "DiscoveryReport", "Selection", "select_best",
        "report_html", "write_report", "headline", "Headline", "Normal", "Weibull", "Pert", "Mixture",
        "Divert",
        "Bernoulli", "Categorical", "Numeric", "Condition", "DefectMultiplier",
        "fit", "FitResult",
        "fidelity", "FidelityReport", "log_distances",
        "training_part",
        "examples",
    ])
    for name in js.__all__:
        assert hasattr(js, name)


DISTS = [
    (js.Fixed(3.0), 3.0, 0.0),
    (js.Exponential(5.0), 5.0, 5.0),
    (js.LogNormal.from_median(9, 0.4), 9 * np.exp(0.08), None),
    (js.LogNormal.from_mean_sd(20, 10), 20.0, 10.0),
    (js.Gamma.from_mean_sd(12, 4), 12.0, 4.0),
    (js.Triangular(1, 2, 6), 3.0, None),
    (js.Uniform(2, 4), 3.0, 2 / np.sqrt(12)),
    (js.Empirical((1.0, 2.0, 9.0)), 4.0, None),
]


@pytest.mark.parametrize(("d", "mean", "sd"), DISTS, ids=[type(d[0]).__name__ for d in DISTS])
def test_distribution_samples_match_moments(d, mean, sd):
    """Each distribution's samples have its documented mean (and sd), and `mean` says so."""
    x = d.sample(np.random.default_rng(0), size=200_000)
    assert d.mean == pytest.approx(mean)
    assert x.mean() == pytest.approx(mean, rel=0.01, abs=1e-9)
    if sd is not None:
        assert x.std() == pytest.approx(sd, rel=0.02, abs=1e-9)
    assert (x >= 0).all()
    assert isinstance(d.sample(np.random.default_rng(0)), float)
    assert isinstance(d, js.Distribution)


def test_lognormal_median_is_the_median():
    """LogNormal.from_median gives samples whose median is the given median."""
    x = js.LogNormal.from_median(39, 0.32).sample(np.random.default_rng(1), size=100_000)
    assert np.median(x) == pytest.approx(39, rel=0.01)


@pytest.mark.parametrize(
    "make",
    [lambda: js.Exponential(-1), lambda: js.LogNormal(0, 1), lambda: js.Triangular(5, 1, 2),
     lambda: js.Uniform(3, 1), lambda: js.Empirical(()), lambda: js.Gamma(1, float("nan"))],
)
def test_bad_distribution_parameters_raise(make):
    """Invalid distribution parameters raise ValidationError."""
    with pytest.raises(js.ValidationError):
        make()


def test_model_validation_lists_every_problem():
    """A model with several problems raises one ValidationError that lists them all, by path."""
    with pytest.raises(js.ValidationError) as exc:
        js.Model(
            [js.Microsystem("A", capacity=1, service=js.Fixed(1)),
             js.Microsystem("Lab", kind="support", capacity=1, service=js.Fixed(1))],
            [js.Handoff("A", "B"), js.Handoff("A", "Lab")],
            [js.ServiceRequest("A", "A")],
            [js.PatientClass("p", entry="Lab", rate=1.0)],
        )
    paths = [p.path for p in exc.value.problems]
    assert "handoffs[0] (A -> B).to" in paths
    assert "handoffs[1] (A -> Lab).to" in paths
    assert "requests[0] (A => A).to" in paths
    assert "classes[0] (p).entry" in paths
    assert isinstance(exc.value, js.JourneySimError)


def test_element_validation():
    """Elements reject bad values with paths relative to themselves."""
    with pytest.raises(js.ValidationError) as exc:
        js.Microsystem("ED", capacity=0, service=js.Fixed(1), defects={"x": 1.5})
    assert {p.path for p in exc.value.problems} == {"capacity", "defects.x"}
    with pytest.raises(js.ValidationError):
        js.PatientClass("p", entry={"A": 0.5, "B": 0.4}, rate=1.0)


def test_models_and_results_pickle():
    """Models and scenarios pickle (needed to send them to worker processes)."""
    model = js.Model(
        [js.Microsystem("A", capacity=2, service=js.LogNormal(5, 0.5), service_by_class={"p": js.Fixed(2)})],
        classes=[js.PatientClass("p", entry="A", rate=0.1)],
    )
    assert pickle.loads(pickle.dumps(model)) == model
    res = js.simulate(model, horizon=500, seed=1)
    assert pickle.loads(pickle.dumps(res.records[0])).journeys.to_frame().equals(res.records[0].journeys.to_frame())


def test_simulate_needs_horizon_for_a_model():
    """Simulating a bare model without a horizon is a clear TypeError."""
    model = js.Model([js.Microsystem("A", service=js.Fixed(1))], classes=[js.PatientClass("p", entry="A", rate=1)])
    with pytest.raises(TypeError, match="horizon"):
        js.simulate(model)


def test_graph_is_read_only():
    """The mesosystem graph can be read but not changed."""
    model = js.Model(
        [js.Microsystem("A", service=js.Fixed(1)), js.Microsystem("B", service=js.Fixed(1))],
        [js.Handoff("A", "B", probability=0.5)],
        classes=[js.PatientClass("p", entry="A", rate=1)],
    )
    g = model.graph
    assert g.edges["A", "B"]["kind"] == "handoff"
    import networkx as nx

    with pytest.raises(nx.NetworkXError, match="Frozen"):
        g.add_node("C")


def test_records_doc_lists_every_field():
    """docs/records.md documents every field of every table (it is generated from FIELDS)."""
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "records.md").read_text()
    for table, fields in js.FIELDS.items():
        assert f"## `{table}`" in text
        for name in fields:
            assert f"| `{name}` |" in text, f"{table}.{name}: run python docs/gen_records.py"


def test_simulate_given_a_file_name_says_to_load_it():
    """A path is not a model: the error names the file and the function that loads it (not 'needs horizon=')."""
    import journeysim as js

    with pytest.raises(TypeError, match="load_scenario"):
        js.simulate(js.examples.path("tandem"))
