"""One number, one name: utilisation is spelled one way, and the old spelling still works with a warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import journeysim as js
from journeysim.analysis.figures import Replications, replication_metrics


def _clinic(name: str, mean_service: float) -> js.Scenario:
    model = js.Model([js.Microsystem("A", capacity=2, service=js.Exponential(mean_service), defect=0.1)],
                     classes=[js.PatientClass("p", entry="A", rate=0.1)])
    return js.Scenario(model, name=name, horizon=3_000, replications=4, seed=5)


@pytest.fixture(scope="module")
def comparison():
    return js.compare([_clinic("base", 10), _clinic("slower", 12)])


@pytest.fixture(scope="module")
def runs(comparison):
    return comparison.results


def test_the_new_name_is_the_load_and_the_old_one_warns_with_the_same_number(runs):
    flow = runs[0].summary().microsystems["A"]
    assert flow.utilisation.mean == pytest.approx(0.5, abs=0.08)  # rho = 0.1 * 10 / 2
    with pytest.warns(DeprecationWarning, match="utilisation"):
        old = flow.utilization
    assert old == flow.utilisation


def test_the_json_carries_the_new_key_and_the_old_one_for_one_release(runs):
    d = runs[0].summary().to_dict()["microsystems"]["A"]
    assert d["utilisation"] == d["utilization"] == runs[0].summary().microsystems["A"].utilisation.to_dict()


def test_pandas_and_the_metric_keys_use_the_new_name(runs):
    table = runs[0].summary().microsystem_table()
    assert "utilisation" in table.columns and "utilization" not in table.columns
    assert table.loc["A", "utilisation"] == runs[0].summary().microsystems["A"].utilisation.mean
    keys = replication_metrics(runs[0])
    assert "A.utilisation" in keys and "A.utilization" not in keys


def test_the_old_replications_method_warns_and_agrees(runs):
    reps = Replications.of(runs[0])
    with pytest.warns(DeprecationWarning, match="Replications.utilisation"):
        old = reps.utilization()
    np.testing.assert_array_equal(old, reps.utilisation())


def test_an_old_metric_key_warns_and_selects_the_same_figure(comparison):
    new = comparison.key_rows(["A.utilisation"])
    with pytest.warns(DeprecationWarning, match="A.utilisation"):
        old = comparison.key_rows(["A.utilization"])
    assert [r["difference"] for r in old] == [r["difference"] for r in new]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        comparison.key_rows(["A.utilisation"])  # the new key does not warn
