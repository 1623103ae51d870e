"""Cost and value (issue 6, part 7): totals reconcile with the records and with expected visits."""

from __future__ import annotations

import math

import numpy as np
import pytest

import journeysim as js
from journeysim.analysis.costs import cost_summary
from journeysim.analysis.exact import exact_quality
from journeysim.engine.aggregate import COST_COMPONENTS
from journeysim.errors import ValidationError
from journeysim.model.distributions import Exponential, Fixed
from journeysim.model.elements import Cost, Handoff, Microsystem, PatientClass, ServiceRequest
from journeysim.model.mesosystem import Model
from journeysim.model.milestones import Standard


def costed() -> Model:
    return Model(
        [Microsystem("A", capacity=2, service=Exponential(10.0), defects={"x": 0.1, "y": 0.05},
                     cost=Cost(per_visit=100, per_minute=2, defects={"x": 40})),
         Microsystem("B", capacity=1, service=Exponential(5.0), defect=0.2, cost=Cost(per_visit=50)),
         Microsystem("Lab", kind="support", capacity=1, service=Fixed(3.0), defect=0.1,
                     cost=Cost(per_visit=7, per_minute=1, defects={"defect": 3}))],
        [Handoff("A", "B", probability=0.7, delay=Fixed(4.0), defects={"information": 0.3},
                 cost=Cost(per_visit=20, per_minute=0.5, defects={"information": 60})),
         Handoff("B", "A", probability=0.1)],
        [ServiceRequest("A", "Lab", probability=0.5, delay=Fixed(2.0), defects={"services": 0.1},
                        cost=Cost(per_visit=1, per_minute=0.25, defects={"services": 11}))],
        classes=[PatientClass("a", entry="A", rate=0.02), PatientClass("b", entry="B", rate=0.01)],
        standards=[Standard("quick", start="start", end="end", within=30, cost=500)],
        currency="USD",
    )


def by_hand(res: js.SimulationResult, model: Model) -> np.ndarray:
    """Each replication's cost per [class, component], added up row by row from the records."""
    out = np.zeros((len(res.records), len(model.classes), len(COST_COMPONENTS)))
    node = {m.name: m.cost for m in model.microsystems}
    edge = {h.label: h.cost for h in model.handoffs}
    req = {r.label: r.cost for r in model.requests}
    cls = {k: c for c, k in enumerate(model.class_names)}
    std = {s.name: s.cost for s in model.standards}
    priced = {x.label if hasattr(x, "label") and not isinstance(x, Microsystem) else x.name: x.cost.defects
              for x in (*model.microsystems, *model.handoffs, *model.requests) if x.cost is not None}
    col = COST_COMPONENTS.index

    def add(row: object, component: str, amount: float) -> None:
        out[row.replication, cls[row._3], col(component)] += amount

    for row in res.visits().itertuples():
        c = node[row.node]
        add(row, "visits", c.per_visit + c.per_minute * (row.end - row.start))
    for row in res.requests().itertuples():
        lab, c = node["Lab"], req[row.request]
        add(row, "visits", lab.per_visit + lab.per_minute * (row.end - row.start))
        add(row, "requests", c.per_visit + c.per_minute * (row.returned - row.end))
    for row in res.handoffs().itertuples():
        c = edge[row.handoff]
        if c is not None:
            add(row, "handoffs", c.per_visit + c.per_minute * row.delay)
    for row in res.defects().itertuples():
        if row.element in std:
            add(row, "misses", std[row.element])
        else:
            add(row, "defects", priced.get(row.element, {}).get(row.defect, 0.0))
    return out


def test_cost_totals_reconcile_with_the_records():
    model = costed()
    res = js.simulate(model, horizon=20_000, replications=2, seed=6)
    expected = by_hand(res, model)
    got = np.array([s.class_cost for s in res.stats])
    assert got == pytest.approx(expected, rel=1e-9)
    assert got[:, :, COST_COMPONENTS.index("misses")].sum() > 0
    # the summary is the same arithmetic over the replications
    c = cost_summary(res)
    done = np.array([s.class_done for s in res.stats]).sum(axis=1)
    good = np.array([s.class_good for s in res.stats]).sum(axis=1)
    per_journey = expected.sum(axis=(1, 2)) / done
    assert c["per_journey"]["mean"] == pytest.approx(per_journey.mean())
    assert c["per_defect_free_journey"]["mean"] == pytest.approx((expected.sum(axis=(1, 2)) / good).mean())
    assert c["currency"] == "USD"
    assert c["per_defect_free_journey"]["mean"] > c["per_journey"]["mean"]


def test_cost_of_fixed_work_is_visits_times_price():
    """With fixed prices only, the visit cost per journey is the expected visits times the price:
    class a makes 1 / (1 - 0.07) visits to A and 0.7 / 0.93 to B (exact, from the graph)."""
    model = Model(
        [Microsystem("A", service=Fixed(2.0), cost=Cost(per_visit=100)),
         Microsystem("B", service=Fixed(1.0), cost=Cost(per_visit=10))],
        [Handoff("A", "B", probability=0.7, cost=Cost(per_visit=1)), Handoff("B", "A", probability=0.1)],
        classes=[PatientClass("a", entry="A", rate=0.05)],
    )
    visits = exact_quality(model).expected_visits["a"]
    assert visits["A"] == pytest.approx(1 / 0.93)
    res = js.simulate(model, horizon=200_000, replications=3, seed=2)
    v = res.visits()
    # every visit is priced once: the totals equal the counts times the prices, exactly
    total = np.array([s.class_cost.sum() for s in res.stats]).sum()
    h = res.handoffs()
    assert total == pytest.approx(100 * (v["node"] == "A").sum() + 10 * (v["node"] == "B").sum()
                                  + (h["handoff"] == "A->B").sum(), rel=1e-12)
    expected = 100 * visits["A"] + 10 * visits["B"] + 1 * visits["A"] * 0.7
    c = cost_summary(res)
    assert abs(c["per_journey"]["mean"] - expected) < 0.02 * expected
    assert c["poor_quality_share"]["mean"] == 0.0


def test_summary_mode_costs_equal_full_records():
    model = costed()
    full = js.simulate(model, horizon=10_000, replications=2, seed=3)
    summary = js.simulate(model, horizon=10_000, replications=2, seed=3, records="summary")
    assert cost_summary(full) == cost_summary(summary)
    assert js.summarize(summary).data["cost"]["by_class"]["b"]["per_journey"]["mean"] > 0


def test_no_costs_no_section():
    model = Model([Microsystem("A", service=Fixed(1.0))], classes=[PatientClass("a", entry="A", rate=0.1)])
    assert js.summarize(js.simulate(model, horizon=100, seed=1)).data["cost"] is None


def test_bad_costs_are_reported_with_their_paths():
    with pytest.raises(ValidationError) as err:
        Microsystem("A", service=Fixed(1.0), defect=0.1, cost={"per_visit": -1, "defects": {"nope": 1}})
    text = str(err.value)
    assert "cost.per_visit" in text
    with pytest.raises(ValidationError, match="cost.defects.nope"):
        Microsystem("A", service=Fixed(1.0), defect=0.1, cost={"defects": {"nope": 1}})
    with pytest.raises(ValidationError, match="per_hour"):
        Handoff("A", "B", cost={"per_hour": 1})
    with pytest.raises(ValidationError, match="cost"):
        Standard("s", start="start", end="end", within=1, cost=math.inf)
