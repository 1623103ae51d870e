"""Defects that cluster (patient frailty) and propagate, and their recovery (issue 6, parts 5 and 6).

The checks are against closed forms: beta moments for the frailty, the beta-binomial for
p = 1/2, and the mixtures that propagation and recovery make of each element's rate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import beta as beta_fn

import journeysim as js
from journeysim.analysis.dependence import dependence
from journeysim.analysis.exact import exact_quality
from journeysim.errors import ValidationError
from journeysim.model.distributions import Exponential, Fixed
from journeysim.model.elements import Handoff, Microsystem, PatientClass, Recovery
from journeysim.model.frailty import Frailty
from journeysim.model.mesosystem import Model


def chain(rho: float, p: float = 0.2, n: int = 4, **handoff: object) -> Model:
    """``n`` microsystems in a row, one defect ``p`` each; the first handoff may carry more."""
    names = [f"M{i}" for i in range(n)]
    hs = [Handoff(a, b, **(handoff if i == 0 else {})) for i, (a, b) in enumerate(zip(names, names[1:]))]
    return Model([Microsystem(x, service=Fixed(1.0), defect=p) for x in names], hs,
                 classes=[PatientClass("p", entry="M0", rate=1.0)], frailty=Frailty(rho))


def beta_moment_free(p: float, n: int, rho: float) -> float:
    """E[(1 - p Z)^n] for Z = 2F, F ~ Beta(a, a), a = (1 - rho) / (2 rho), p <= 1/2: the
    binomial expansion over the moments E[F^k] = prod_{r<k} (a + r) / (2a + r)."""
    a = (1 - rho) / (2 * rho)
    total = 0.0
    for k in range(n + 1):
        moment = math.prod((a + r) / (2 * a + r) for r in range(k))
        total += math.comb(n, k) * (-2 * p) ** k * moment
    return total


def test_exact_quality_with_frailty_matches_beta_moments():
    """The quadrature gives E[prod (1 - p_i(Z))] exactly on a straight pathway."""
    for rho in (0.05, 0.3, 0.8):
        assert exact_quality(chain(rho)).system == pytest.approx(beta_moment_free(0.2, 4, rho), abs=1e-12)
    # p = 1/2: the patient's probability is F itself, so no defect in n is the beta-binomial's P(0)
    rho = 0.3
    a = (1 - rho) / (2 * rho)
    assert exact_quality(chain(rho, p=0.5, n=5)).system == pytest.approx(beta_fn(a, a + 5) / beta_fn(a, a), abs=1e-12)
    # and without the frailty, the product
    assert exact_quality(chain(0.3), independent=True).system == pytest.approx(0.8 ** 4, abs=1e-15)


def test_clustering_raises_the_defect_free_share_above_the_product():
    """With correlation 0.3 the simulated share of defect-free journeys matches the pinned value
    0.4560 (not the product 0.4096), while each element keeps its own rate 0.2."""
    rho = 0.3
    expected = beta_moment_free(0.2, 4, rho)
    assert expected == pytest.approx(0.455950, abs=1e-6)
    res = js.simulate(chain(rho), horizon=40_000, replications=4, seed=11)
    j = res.journeys()
    n = len(j)
    share = j["defect_free"].mean()
    se = math.sqrt(expected * (1 - expected) / n)
    assert abs(share - expected) < 4 * se
    assert share - 0.8 ** 4 > 10 * se
    v = res.visits()
    rate = (v["defects"] > 0).mean()
    assert abs(rate - 0.2) < 4 * math.sqrt(0.2 * 0.8 / len(v))
    # two defects of the same patient are correlated: Cov = min(p, 1-p)^2 rho = 0.012
    first = v[v["node"] == "M0"].set_index(["replication", "journey"])["defects"] > 0
    last = v[v["node"] == "M3"].set_index(["replication", "journey"])["defects"] > 0
    cov = np.cov(first.astype(float), last.loc[first.index].astype(float))[0, 1]
    assert cov == pytest.approx(0.04 * rho, abs=4 * 0.16 / math.sqrt(len(first)))
    d = dependence(res)
    assert d["independent_product"] == pytest.approx(0.8 ** 4)
    assert d["exact"] == pytest.approx(expected)
    assert d["difference"]["ci95"][0] > 0


def branching(rho: float = 0.0, **edge: object) -> Model:
    return Model(
        [Microsystem("A", service=Exponential(1.0), defects={"x": 0.1, "y": 0.05}),
         Microsystem("B", service=Exponential(2.0), defect=0.2),
         Microsystem("C", service=Exponential(1.0), defect=0.15)],
        [Handoff("A", "B", probability=0.6, defects={"information": 0.3}, **edge),
         Handoff("A", "C", probability=0.3, defects={"patient": 0.05}),
         Handoff("B", "A", probability=0.2, defects={"services": 0.1})],
        classes=[PatientClass("p", entry="A", rate=0.5)], frailty=Frailty(rho),
    )


def test_independent_defects_agree_with_the_product_on_a_branching_graph():
    """Correlation 0 and no propagation: the simulated share and the product agree (the
    difference's interval holds 0); with a frailty on the same graph it does not."""
    res = js.simulate(branching(), horizon=30_000, replications=6, seed=5)
    d = dependence(res)
    lo, hi = d["difference"]["ci95"]
    assert lo < 0 < hi
    assert d["exact"] == pytest.approx(d["independent_product"])
    frail = dependence(js.simulate(branching(0.5), horizon=30_000, replications=6, seed=5))
    assert frail["exact"] > frail["independent_product"]
    lo, hi = frail["simulated"]["ci95"]
    assert lo < frail["exact"] < hi
    assert frail["difference"]["ci95"][0] > 0


def test_special_handoff_path_draws_the_same_numbers():
    """A recovery that never catches takes the engine's slower handoff path; it must draw the
    same defects from the same streams, so the records are identical."""
    plain = js.simulate(branching(), horizon=3_000, replications=1, seed=2)
    special = js.simulate(branching(recovery=Recovery(0.0)), horizon=3_000, replications=1, seed=2)
    for table in ("journeys", "visits", "handoffs", "defects"):
        a, b = getattr(plain, table)(), getattr(special, table)()
        assert a.equals(b), table


def test_propagation_raises_the_receiving_rate_but_not_system_quality():
    """An information defect (0.3) triples the next microsystem's defect (0.2 -> 0.6): that
    microsystem's rate becomes 0.7 * 0.2 + 0.3 * 0.6 = 0.32, while system quality stays the
    product, since the journey was already defective."""
    model = chain(0.0, defects={"information": 0.3}, propagation=3.0)
    res = js.simulate(model, horizon=30_000, replications=4, seed=8)
    v = res.visits()
    m1 = v[v["node"] == "M1"]
    rate = (m1["defects"] > 0).mean()
    assert abs(rate - 0.32) < 4 * math.sqrt(0.32 * 0.68 / len(m1))
    others = v[v["node"] == "M2"]
    assert abs((others["defects"] > 0).mean() - 0.2) < 4 * math.sqrt(0.16 / len(others))
    q = 0.8 ** 4 * 0.7
    assert exact_quality(model).system == pytest.approx(q)
    j = res.journeys()
    assert abs(j["defect_free"].mean() - q) < 4 * math.sqrt(q * (1 - q) / len(j))
    # the exact defects per journey count the rise: 4 * 0.2 + 0.3 + 0.3 * (0.6 - 0.2)
    six = js.summarize(res).data["six_sigma"]
    assert six["exact"]["defects_per_journey"] == pytest.approx(1.22)
    lo, hi = six["simulated"]["defects_per_journey"]["ci95"]
    assert lo < 1.22 < hi


def test_recovery_lowers_the_defects_by_the_caught_fraction():
    """The receiving microsystem catches 60% of an information defect of 0.3: 0.12 remain as
    defects, 0.18 are recorded as caught, each adding 10 minutes of rework to the next visit."""
    model = chain(0.0, defects={"information": 0.3}, recovery=Recovery(0.6, Fixed(10.0)))
    base = chain(0.0, defects={"information": 0.3})
    res = js.simulate(model, horizon=30_000, replications=4, seed=9)
    h = res.handoffs()
    first = h[h["handoff"] == "M0->M1"]
    n = len(first)
    for column, p in (("information", 0.12), ("caught", 0.18)):
        assert abs(first[column].mean() - p) < 4 * math.sqrt(p * (1 - p) / n), column
    assert not (first["information"] & first["caught"]).any()
    # defects per journey drop by 0.3 * 0.6 = 0.18, from 4 * 0.2 + 0.3 = 1.1
    j = res.journeys()
    assert abs(j["defects"].mean() - 0.92) < 4 * j["defects"].std() / math.sqrt(len(j))
    v = res.visits()
    m1 = v[v["node"] == "M1"]
    assert abs(m1["service"].mean() - (1 + 0.18 * 10)) < 4 * 10 * math.sqrt(0.18 * 0.82 / len(m1))
    assert set(np.round(m1["service"], 9)) == {1.0, 11.0}
    q = 0.8 ** 4 * (1 - 0.12)
    assert exact_quality(model).system == pytest.approx(q)
    assert exact_quality(base).system == pytest.approx(0.8 ** 4 * 0.7)
    s = js.summarize(res).data
    rec = s["quality"]["handoffs"]["M0->M1"]["recovery"]
    assert rec["caught"] == int(first["caught"].sum())
    lo, hi = rec["caught_share"]["ci95"]
    assert lo < 0.6 < hi
    assert s["quality"]["system"]["simulated"]["ci95"][0] < q < s["quality"]["system"]["simulated"]["ci95"][1]


def test_summary_mode_and_workers_give_the_same_numbers():
    model = branching(0.4, recovery=Recovery(0.5, Exponential(5.0)), propagation=2.0)
    full = js.simulate(model, horizon=5_000, replications=2, seed=4)
    summary = js.simulate(model, horizon=5_000, replications=2, seed=4, records="summary", workers=2)
    a, b = js.summarize(full).data, js.summarize(summary).data
    assert a["quality"]["system"] == b["quality"]["system"]
    assert a["dependence"] == b["dependence"]
    assert a["quality"]["handoffs"] == b["quality"]["handoffs"]


def test_bad_dependence_inputs_are_reported_together():
    with pytest.raises(ValidationError) as err:
        Handoff("A", "B", recovery={"rework": Fixed(1.0)}, propagation=-1)
    text = str(err.value)
    assert "recovery" in text and "propagation" in text
    with pytest.raises(ValidationError, match="correlation"):
        Frailty(1.0)
    toml = """
[scenario]
horizon_days = 1
[frailty]
correlation = 1.5
[[classes]]
name = "p"
entry = "A"
rate_per_day = 1
[[microsystems]]
name = "A"
service = 1
[[microsystems]]
name = "B"
service = 1
[[handoffs]]
from = "A"
to = "B"
recovery = { probability = 2 }
propagation = "x"
"""
    with pytest.raises(ValidationError) as err:
        js.loads_scenario(toml)
    paths = [p.path for p in err.value.problems]
    assert any(p.startswith("frailty") for p in paths)
    assert any("recovery" in p for p in paths) and any("propagation" in p for p in paths)


def test_strong_clustering_with_near_zero_personal_probabilities_runs():
    """With correlation 0.9 many patients have frailty near 0, so personal probabilities underflow toward 0:
    the draw of which defect happened stays a probability (it divided by 0 when 1 - prod(1 - p) rounded to 0)."""
    from journeysim.engine.plan import defect_check

    any_defect, ((_, _, first), (_, _, second)) = defect_check([(0, 1e-18), (1, 2e-19)])
    assert any_defect == pytest.approx(1.2e-18) and first == pytest.approx(5 / 6) and second == 1.0
    model = js.Model([js.Microsystem("A", capacity=2, service=js.Exponential(1), defects={"x": 0.1, "y": 0.1}),
                      js.Microsystem("Lab", kind="support", capacity=1, service=js.Exponential(1))],
                     requests=[js.ServiceRequest("A", "Lab", defects={"services": 0.1, "information": 0.05})],
                     classes=[js.PatientClass("p", entry="A", rate=0.2)], frailty=js.Frailty(0.9))
    result = js.simulate(model, horizon=20_000.0, replications=2, seed=11)
    assert result.summary().to_dict()["quality"]["system"]["simulated"]["mean"] > 0
