"""Typed results (issue 14, part 3): one exact solve per summary, the JSON form, one definition per figure."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from unittest import mock

import numpy as np
import pytest

import journeysim as js
from journeysim.analysis import cascade, dependence, exact, leverage, metrics, result, sixsigma
from journeysim.analysis.cascade import cascade as cascade_table
from journeysim.analysis.compiled import CompiledModel
from journeysim.analysis.figures import replication_metrics
from journeysim.model.clock import Window
from journeysim.model.distributions import Exponential, Fixed
from journeysim.model.elements import Handoff, Microsystem, PatientClass, Recovery, ServiceRequest, Shift
from journeysim.model.frailty import Frailty
from journeysim.model.mesosystem import Model
from journeysim.model.milestones import Standard

#: every module that solves the exact model or hands the solution on
SOLVERS = (metrics, leverage, sixsigma, dependence, cascade, result)


def model(correlation: float = 0.3) -> Model:
    return Model(
        [Microsystem("A", capacity=1, service=Exponential(4.0), defects={"x": 0.1, "y": 0.05},
                     schedule=[Shift(Window("Mon-Fri", "08:00", "17:00"), capacity=3)]),
         Microsystem("B", capacity=2, service=Exponential(6.0), defect=0.2),
         Microsystem("Lab", kind="support", capacity=1, service=Exponential(2.0), defect=0.1)],
        [Handoff("A", "B", defects={"information": 0.4}, recovery=Recovery(0.5, Fixed(5.0)))],
        [ServiceRequest("B", "Lab", probability=0.5, defects={"services": 0.1})],
        classes=[PatientClass("p", entry="A", rate=0.1)],
        standards=[Standard("a_to_b", start="arrive:A", end="arrive:B", within=30)],
        frailty=Frailty(correlation),
    )


@contextlib.contextmanager
def solves() -> Iterator[list[mock._Call]]:
    """Every call of ``exact_quality`` made inside the block, from any module (each one's reference is wrapped)."""
    calls: list[mock._Call] = []
    with contextlib.ExitStack() as stack:
        spies = [stack.enter_context(mock.patch.object(m, "exact_quality", wraps=exact.exact_quality))
                 for m in SOLVERS if hasattr(m, "exact_quality")]
        yield calls
        calls += [c for spy in spies for c in spy.call_args_list]


def plain_solves(calls: list[mock._Call]) -> int:
    """Solves of the model as it is: no scaled defects (leverage's what-ifs), frailty kept."""
    return sum(1 for c in calls if len(c.args) < 2 and not c.kwargs.get("scale") and not c.kwargs.get("independent"))


@pytest.fixture(scope="module")
def run() -> js.SimulationResult:
    return js.simulate(model(), horizon=20_000.0, warmup=500.0, replications=3, seed=7)


@contextlib.contextmanager
def batches() -> Iterator[list[int]]:
    """The number of scalings in each batch that :meth:`CompiledModel.solve` solves inside the block."""
    sizes: list[int] = []
    original = CompiledModel.solve

    def spy(self: CompiledModel, multipliers: np.ndarray, **kwargs: bool) -> object:
        sizes.append(multipliers.shape[0])
        return original(self, multipliers, **kwargs)

    with mock.patch.object(CompiledModel, "solve", spy):
        yield sizes


def test_one_summary_solves_the_model_once(run):
    """summarize solves the exact model (with its frailty) once and shares it with system quality, leverage,
    Six Sigma and dependence; the product without the frailty is the one other unscaled solve; leverage's
    what-ifs (every element perfect, then halved) are one more batch, not a solve per element."""
    with solves() as calls, batches() as sizes:
        summary = js.summarize(run)
    assert plain_solves(calls) == 1
    assert sum(1 for c in calls if c.kwargs.get("independent")) == 1
    assert not [c for c in calls if len(c.args) >= 2 or c.kwargs.get("scale")]
    exact_rows = [r for r in summary.quality.leverage if r.method == "exact"]
    assert sorted(sizes) == [1, 1, 2 * len(exact_rows)] and len(exact_rows) == 5


def test_without_a_frailty_the_product_is_the_same_solve():
    """Independent defects: the independent product is the exact solution itself, not solved again."""
    res = js.simulate(model(0.0), horizon=3_000.0, replications=2, seed=1)
    with solves() as calls:
        s = js.summarize(res)
    assert plain_solves(calls) == 1 and not any(c.kwargs.get("independent") for c in calls)
    assert s.dependence.pathway.independent_product == s.quality.system.analytic


def test_a_result_shares_its_exact_quality_with_its_summary_and_cascade():
    """SimulationResult.summary(), .exact() and the cascade of the report solve the model once between them."""
    res = js.simulate(model(), horizon=3_000.0, replications=2, seed=2)
    with solves() as calls:
        res.summary()
        res.exact()
        cascade_table(res, exact=res.exact())
    assert plain_solves(calls) == 1


def test_plots_read_what_the_result_holds():
    """Once a result's summary is computed, its pathway, leverage and cascade plots neither summarise nor solve
    the exact model again: they read result.summary() and result.exact(), which the result keeps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from journeysim import plot

    res = js.simulate(model(), horizon=3_000.0, replications=2, seed=4)
    res.summary()
    with solves() as calls, batches() as sizes, mock.patch.object(result, "summarize", wraps=metrics.summarize) as again:
        plot.pathway(res)
        plot.leverage(res)
        plot.cascade(res)
    plt.close("all")
    assert (calls, sizes, again.call_count) == ([], [], 0)


def test_to_dict_is_the_json_of_the_attributes(run):
    """to_dict() is JSON without NaN, .data is the same dict, and its values are the typed attributes'."""
    s = run.summary()
    d = s.to_dict()
    json.dumps(d, allow_nan=False)
    assert s.data == d and s.data is not s.data
    assert d["quality"]["system"]["simulated"]["mean"] == s.quality.system.simulated.mean
    assert d["quality"]["handoffs"]["A->B"]["recovery"]["caught"] == s.quality.handoffs["A->B"].recovery.caught
    assert d["microsystems"]["A"]["utilisation"]["ci95"] == list(s.microsystems["A"].utilisation.ci95)
    assert d["microsystems"]["A"]["schedule"][1] == {"from_minute_of_week": 480.0, "capacity": 3}
    assert d["standards"]["a_to_b"]["from"] == list(s.standards["a_to_b"].start)
    assert [r["element"] for r in d["quality"]["leverage"]] == [r.element for r in s.quality.leverage]
    assert d["dependence"]["simulated"] == s.dependence.pathway.simulated.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.scenario = "changed"


def test_comparisons_and_the_summary_share_one_utilisation(run):
    """Under a schedule, the per-replication utilisation of comparisons is the summary's: busy servers over the
    capacity averaged over the week (not over the capacity outside the shifts)."""
    a = run.scenario.model.microsystem("A")
    assert a.mean_capacity != a.capacity
    per_rep = replication_metrics(run)["A.utilisation"]
    assert np.mean(per_rep) == pytest.approx(run.summary().microsystems["A"].utilisation.mean, rel=1e-12)
    busy = np.array([s.busy_time[0] for s in run.stats]) / (run.scenario.horizon - run.scenario.warmup)
    assert per_rep == pytest.approx(busy / a.mean_capacity, rel=1e-12)


def test_cascade_counts_a_caught_defect_as_none():
    """The exact cascade multiplies the exact solution's element qualities: a handoff's information defect that
    the receiving team catches is not a defect, and on a straight path the last step is the exact quality."""
    m = model(0.0)
    c = cascade_table(js.simulate(m, horizon=3_000.0, replications=1, seed=3))
    steps = c[c["path"] == "A > B"].set_index("step_label")["exact"]
    q_a = 0.9 * 0.95
    assert steps["A"] == pytest.approx(q_a)
    assert steps["A->B"] == pytest.approx(q_a * (1 - 0.4 * 0.5))
    assert steps["B"] == pytest.approx(js.exact_quality(m).system)
