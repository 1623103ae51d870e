"""Leverage (issue 6, part 1): where to work next, exact and simulated."""

from __future__ import annotations

import json
import math

import pytest

import journeysim as js
from journeysim.analysis.leverage import exact_leverage, leverage, simulated_leverage
from journeysim.model.distributions import Exponential, Fixed
from journeysim.model.elements import Handoff, Microsystem, PatientClass, ServiceRequest
from journeysim.model.mesosystem import Model


def straight() -> Model:
    return Model(
        [Microsystem("A", service=Fixed(1.0), defect=0.1),
         Microsystem("B", service=Fixed(1.0), defects={"x": 0.2, "y": 0.05}),
         Microsystem("C", service=Fixed(1.0), defect=0.15)],
        [Handoff("A", "B", defects={"information": 0.3}), Handoff("B", "C", defects={"patient": 0.02})],
        classes=[PatientClass("p", entry="A", rate=0.05)],
    )


def test_straight_pathway_leverage_is_q_over_qi_minus_q():
    """On a straight pathway Q = prod Q_i, so perfect element i gives Q / Q_i - Q, and halving
    its defect probabilities gives Q / Q_i * Q_i' - Q with Q_i' = prod (1 - p / 2)."""
    qi = {"A": 0.9, "B": 0.8 * 0.95, "C": 0.85, "A->B:information": 0.7, "B->C:patient": 0.98}
    half = {"A": 0.95, "B": 0.9 * 0.975, "C": 0.925, "A->B:information": 0.85, "B->C:patient": 0.99}
    q = math.prod(qi.values())
    rows = {r["element"]: r for r in exact_leverage(straight())}
    assert set(rows) == set(qi)
    for name in qi:
        assert rows[name]["if_perfect"] == pytest.approx(q / qi[name] - q, abs=1e-12)
        assert rows[name]["if_halved"] == pytest.approx(q / qi[name] * half[name] - q, abs=1e-12)
    ranked = [r["if_perfect"] for r in exact_leverage(straight())]
    assert ranked == sorted(ranked, reverse=True)


def branching() -> Model:
    return Model(
        [Microsystem("A", capacity=2, service=Exponential(3.0), defect=0.05),
         Microsystem("B", capacity=1, service=Exponential(2.0), defects={"x": 0.1}),
         Microsystem("C", service=Exponential(4.0), defect=0.2),
         Microsystem("Lab", kind="support", capacity=1, service=Exponential(2.0), defect=0.03)],
        [Handoff("A", "B", probability=0.6, defects={"information": 0.15}),
         Handoff("A", "C", probability=0.4, defects={"services": 0.1}),
         Handoff("B", "A", probability=0.25, defects={"information": 0.05})],
        requests=[ServiceRequest("A", "Lab", probability=0.5, defects={"information": 0.1})],
        classes=[PatientClass("p", entry="A", rate=0.2)],
    )


def test_simulated_leverage_matches_exact_on_a_small_graph():
    """Branching, a loop and a support request: each element's simulated gain (CRN, per
    replication) has the exact gain inside its interval (widened to about 99%)."""
    model = branching()
    result = js.simulate(model, horizon=20_000.0, replications=8, seed=17)
    exact = {r["element"]: r for r in exact_leverage(model)}
    simulated = {r["element"]: r for r in simulated_leverage(result)}
    assert set(exact) == set(simulated) == {"A", "B", "C", "Lab", "A->B:information", "A->C:services",
                                            "B->A:information", "A=>Lab"}
    for name, row in simulated.items():
        for what in ("if_perfect", "if_halved"):
            low, high = row[f"ci95_{what}"]
            widen = 0.45 * (high - low)  # t(7): 95% half width 2.36 se; 99.5% is about 3.5 se
            assert low - widen <= exact[name][what] <= high + widen, (name, what, exact[name][what], low, high)


def test_leverage_of_standards_is_simulated_and_in_the_summary():
    model = Model(
        [Microsystem("X", service=Fixed(10.0), defect=0.1), Microsystem("Y", service=Fixed(1.0))],
        [Handoff("X", "Y", delay=Exponential(20.0))],
        classes=[PatientClass("p", entry="X", rate=0.05)],
        standards=[js.Standard("x_to_y", start="arrive:X", end="arrive:Y", within=30)],
    )
    result = js.simulate(model, horizon=10_000.0, replications=3, seed=2)
    rows = leverage(result)
    x = next(r for r in rows if r["element"] == "x_to_y")
    assert x["method"] == "simulated"
    # perfect standard: the journeys whose only defect was the miss; X's own defect is 0.1
    j = result.journeys()
    d = result.defects()
    only_miss = d.groupby(["replication", "journey"])["element"].agg(lambda e: set(e.astype(str)) == {"x_to_y"})
    per_rep = only_miss.groupby(level=0).sum() / j.groupby("replication").size()
    assert x["if_perfect"] == pytest.approx(per_rep.mean(), abs=1e-12)
    summary = result.summary().to_dict()
    values = [r["if_perfect"] for r in summary["quality"]["leverage"]]
    assert values == sorted(values, reverse=True)
    assert {r["method"] for r in summary["quality"]["leverage"]} == {"exact", "simulated"}
    json.dumps(summary)  # JSON-ready


def _where_to_work(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Where to work next"))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def test_where_to_work_next_ranks_by_the_simulated_gain_with_the_exact_one_beside_it():
    """As the report: levers ranked by the simulated gain in system quality (standards included); the exact gain in
    quality of elements only (standards aside) on its own scale beside it, never ranked in the same list. On the
    flagship, Telemetry->CardiologyPractice:information is +14 points exact but about +1 simulated."""
    from journeysim.analysis.text import render

    result = js.simulate(js.load_scenario(js.examples.path("ami")), replications=3, seed=1)
    rows = result.summary().quality.leverage
    simulated = [r for r in rows if r.method == "simulated"]
    exact = {r.element: r for r in rows if r.method == "exact"}
    block = _where_to_work(render(result.summary()))
    assert "ranked by the simulated gain in system quality" in "\n".join(block)
    assert "exact, elements only" in block[4] and "standards aside" in "\n".join(block[:4])
    table = block[5:5 + 8]
    assert [line.split()[0] for line in table] == [r.element for r in simulated[:8]]
    for line, r in zip(table, simulated):
        assert line.split()[1] == f"{100 * r.if_perfect:+.2f}"  # the simulated gain first
        if r.element in exact:  # the exact gains last
            e = exact[r.element]
            assert line.split()[-3:] == [f"{100 * e.if_perfect:+.2f}", "/", f"{100 * e.if_halved:+.2f}"]
        else:
            assert line.rstrip().endswith("n/a (a standard)")
    top_exact = next(iter(exact.values()))
    telemetry = next(line for line in table if line.split()[0] == top_exact.element)
    assert float(telemetry.split()[1]) < 100 * top_exact.if_perfect / 3  # the two scales differ a lot here


def test_where_to_work_next_without_standards_or_records():
    """A model without standards has one scale (no 'standards aside'); a run without journeys ranks the exact gains,
    and says so."""
    from journeysim.analysis.text import render

    tandem = js.simulate(js.load_scenario(js.examples.path("tandem")), replications=2, seed=1)
    block = "\n".join(_where_to_work(render(tandem.summary())))
    assert "standards" not in block and "ranked by the simulated gain" in block
    summary_only = js.simulate(js.load_scenario(js.examples.path("ami")), replications=2, seed=1, records="summary")
    block_lines = _where_to_work(render(summary_only.summary()))
    assert "exact gain in quality of elements only (standards aside)" in block_lines[1]
    top = summary_only.summary().quality.leverage[0]
    assert block_lines[2].split()[:2] == [top.element, f"{100 * top.if_perfect:+.2f}"]
