"""Finite queues, diversion, balking and reneging against queueing theory.

Each figure is compared with its exact value (Erlang B, the M/M/1/K closed forms, and the
birth-death chain of M/M/c+M solved here with numpy) through a 99% interval of the
replications' values, so a wrong rule (an off-by-one in the limit, patience drawn for
everyone, the wrong denominator) falls outside it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import journeysim as js
from conftest import ci99
from journeysim.engine.kernel import run_replication
from journeysim.model.queues import Divert

HORIZON = 100_000.0
WARMUP = 1_000.0


# -- theory, computed here --------------------------------------------------------------------------


def erlang_b(c: int, a: float) -> float:
    """Erlang's loss formula by its recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def birth_death(births, deaths) -> np.ndarray:
    """The stationary law of a birth-death chain on 0..N (``births[n]``: n -> n+1, ``deaths[n]``: n -> n-1)."""
    weights = [1.0]
    for n in range(1, len(births) + 1):
        weights.append(weights[-1] * births[n - 1] / deaths[n])
    p = np.array(weights)
    return p / p.sum()


def mm1k(lam: float, mu: float, k: int) -> tuple[float, float]:
    """M/M/1/K (K in the system): the blocking probability and the mean queue, from the closed forms."""
    rho = lam / mu
    p_k = (1 - rho) * rho**k / (1 - rho ** (k + 1))
    mean_n = rho / (1 - rho) - (k + 1) * rho ** (k + 1) / (1 - rho ** (k + 1))
    p_0 = (1 - rho) / (1 - rho ** (k + 1))
    return p_k, mean_n - (1 - p_0)


def test_theory_helpers_match_textbook_values():
    """The helpers reproduce textbook numbers: B(3, 2) = 0.2105; M/M/1/K agrees with its birth-death chain."""
    assert erlang_b(3, 2.0) == pytest.approx(0.21053, abs=1e-5)
    lam, mu, k = 0.9, 1.0, 4
    p = birth_death([lam] * k, [0.0] + [mu] * k)
    p_k, lq = mm1k(lam, mu, k)
    assert p_k == pytest.approx(p[-1])
    assert lq == pytest.approx(sum((n - 1) * p[n] for n in range(1, k + 1)))


# -- helpers ----------------------------------------------------------------------------------------


def one_node(capacity: int, mean_service: float, rate: float, **queue) -> js.Model:
    return js.Model([js.Microsystem("A", capacity=capacity, service=js.Exponential(mean_service), **queue)],
                    classes=[js.PatientClass("p", entry="A", rate=rate)])


def shares(result, how: str, node: str = "A") -> list[float]:
    """The share of arrivals at ``node`` in the flow window that ended ``how``, per replication (from the records)."""
    code = result.scenario.model.node_names.index(node)
    out = []
    for rec in result.records:
        u, v = rec.unserved, rec.visits
        mine = (u["node"] == code) & (u["arrival"] >= rec.warmup) & (u["arrival"] < rec.horizon)
        visits = (v["node"] == code) & (v["arrival"] >= rec.warmup) & (v["arrival"] < rec.horizon)
        ended = u.labels["ended"].index(how)
        out.append(float((u["ended"][mine] == ended).sum() / (mine.sum() + visits.sum())))
    return out


def inside(values, exact: float) -> None:
    low, high = ci99(values)
    assert low <= exact <= high, (exact, low, high)


# -- loss systems and finite queues ------------------------------------------------------------------


@pytest.mark.parametrize("servers", [1, 3])
def test_no_waiting_room_rejects_the_erlang_loss_share(servers):
    """With ``queue_limit = 0`` the share rejected is Erlang B of the offered load, in the summary too."""
    a = 0.8 * servers
    res = js.simulate(one_node(servers, 10.0, a / 10.0, queue_limit=0), horizon=HORIZON, warmup=WARMUP,
                      replications=8, seed=11 + servers)
    per_replication = shares(res, "rejected")
    inside(per_replication, erlang_b(servers, a))
    rejected = js.summarize(res).microsystems["A"].rejected  # the summary's figure is the same share
    assert rejected is not None and rejected.share.mean == pytest.approx(np.mean(per_replication))
    assert all(len(rec.unserved) + len(rec.visits) == len(rec.journeys) for rec in res.records)


def test_mm1k_blocking_and_mean_queue_match_the_closed_forms():
    """M/M/1/K (queue_limit K-1): the blocking probability, the mean queue, and by Little's law the mean wait
    of those admitted match the closed forms."""
    lam, mean_service, k = 0.09, 10.0, 5
    p_k, lq = mm1k(lam, 1 / mean_service, k)
    res = js.simulate(one_node(1, mean_service, lam, queue_limit=k - 1), horizon=HORIZON, warmup=WARMUP,
                      replications=8, seed=5)
    inside(shares(res, "rejected"), p_k)
    inside([float(np.mean(rec.visits["wait"][rec.visits["arrival"] >= WARMUP])) for rec in res.records],
           lq / (lam * (1 - p_k)))
    # the mean queue over time: each admitted patient's wait is its time in the queue
    span = HORIZON - WARMUP
    queue = []
    for rec in res.records:
        v = rec.visits
        overlap = np.clip(np.minimum(v["start"], HORIZON) - np.maximum(v["arrival"], WARMUP), 0, None)
        queue.append(float(overlap.sum() / span))
    inside(queue, lq)


def test_the_limit_is_never_exceeded_and_counts_only_those_waiting():
    """The queue never holds more than the limit, and with two servers a limit of 1 allows 3 in the system."""
    rec = run_replication(one_node(2, 10.0, 0.5, queue_limit=1), horizon=5_000, seed=2)
    v = rec.visits
    times = np.sort(v["arrival"])
    waiting = [int(((v["arrival"] <= t) & (v["start"] > t)).sum()) for t in times]
    in_system = [int(((v["arrival"] <= t) & (v["end"] > t)).sum()) for t in times]
    assert max(waiting) == 1 and max(in_system) == 3


def test_a_limit_per_class_applies_to_that_class_only():
    """``queue_limit_by_class``: a class with limit 0 is rejected whenever the servers are busy, the other never."""
    model = js.Model([js.Microsystem("A", capacity=1, service=js.Exponential(10.0), queue_limit_by_class={"b": 0})],
                     classes=[js.PatientClass("a", entry="A", rate=0.03), js.PatientClass("b", entry="A", rate=0.03)])
    res = js.simulate(model, horizon=HORIZON, warmup=WARMUP, replications=6, seed=9)
    rec = res.records[0]
    assert set(rec.unserved.to_frame()["class"]) == {"b"}
    # a b patient is rejected when the server is busy (PASTA); b joins only an idle server, so the number in
    # the system is a birth-death chain with births lam_a + lam_b at 0 and lam_a above
    lam_a, lam_b, mu = 0.03, 0.03, 0.1
    n_max = 200
    p = birth_death([lam_a + lam_b] + [lam_a] * (n_max - 1), [0.0] + [mu] * n_max)
    inside(shares(res, "rejected"), lam_b / (lam_a + lam_b) * (1 - p[0]))  # of every arrival, a and b


def test_balking_at_a_threshold_is_the_mm1k_loss():
    """``balk_at = K-1`` on one server is M/M/1/K: the balked share is its blocking probability, and the records
    equal those of ``queue_limit = K-1`` (the same random numbers, the same decisions)."""
    lam, mean_service, k = 0.09, 10.0, 4
    p_k, _ = mm1k(lam, 1 / mean_service, k)
    balk = js.simulate(one_node(1, mean_service, lam, balk_at=k - 1), horizon=HORIZON, warmup=WARMUP,
                       replications=8, seed=21)
    limit = js.simulate(one_node(1, mean_service, lam, queue_limit=k - 1), horizon=HORIZON, warmup=WARMUP,
                        replications=8, seed=21)
    inside(shares(balk, "balked"), p_k)
    for a, b in zip(balk.records, limit.records):
        assert np.array_equal(a.visits["start"], b.visits["start"])
        assert np.array_equal(a.unserved["arrival"], b.unserved["arrival"])
    assert set(balk.records[0].unserved.to_frame()["ended"]) == {"balked"}


def test_balking_by_probability_follows_its_birth_death_chain():
    """Balking with probability b(n) on finding n waiting: the balked share is that of the chain with births
    lam (1 - b(n - c)) when all servers are busy."""
    lam, mu, c, probs = 0.25, 0.1, 2, (0.0, 0.3, 0.6, 1.0)
    res = js.simulate(one_node(c, 1 / mu, lam, balk_probabilities=probs), horizon=HORIZON, warmup=WARMUP,
                      replications=8, seed=4)
    n_max = c + len(probs)
    births = [lam if n < c else lam * (1 - probs[min(n - c, len(probs) - 1)]) for n in range(n_max)]
    p = birth_death(births, [0.0] + [min(n, c) * mu for n in range(1, n_max + 1)])
    balked = sum(p[n] * probs[min(n - c, len(probs) - 1)] for n in range(c, n_max + 1))
    inside(shares(res, "balked"), balked)


# -- reneging -----------------------------------------------------------------------------------------


def test_mmc_with_exponential_patience_matches_its_birth_death_chain():
    """M/M/c+M: the share who abandon and the mean wait of every arrival match the birth-death chain (deaths
    min(n, c) mu + (n - c)+ theta), solved exactly; the load (1.25 per server) would be unstable without it."""
    lam, mu, theta, c = 0.25, 0.1, 0.05, 2
    res = js.simulate(one_node(c, 1 / mu, lam, patience=js.Exponential(1 / theta)), horizon=HORIZON,
                      warmup=WARMUP, replications=8, seed=7)
    n_max = 300
    p = birth_death([lam] * n_max, [0.0] + [min(n, c) * mu + max(n - c, 0) * theta for n in range(1, n_max + 1)])
    lq = sum(max(n - c, 0) * p[n] for n in range(n_max + 1))
    inside(shares(res, "reneged"), theta * lq / lam)
    waits = []
    for rec in res.records:
        v, u = rec.visits, rec.unserved
        vin, uin = v["arrival"] >= WARMUP, u["arrival"] >= WARMUP
        waits.append(float((v["wait"][vin].sum() + u["wait"][uin].sum()) / (vin.sum() + uin.sum())))
    inside(waits, lq / lam)  # Little's law on the queue, abandoners' waits included
    s = js.summarize(res)
    assert s.microsystems["A"].reneged is not None and s.microsystems["A"].reneged.count > 0
    assert not any("offered load" in w.message for w in s.warnings)  # bounded by patience: no instability warning


def test_renege_is_a_left_unseen_defect_and_goes_to_renege_to():
    """Each reneged patient has a ``left_unseen`` defect of the microsystem and visits ``renege_to`` next."""
    model = js.Model([js.Microsystem("ED", capacity=1, service=js.Exponential(10.0), patience=js.Exponential(5.0),
                                     renege_to="GP"),
                      js.Microsystem("GP", capacity=None, service=js.Exponential(5.0))],
                     classes=[js.PatientClass("p", entry="ED", rate=0.08)])
    rec = run_replication(model, horizon=20_000, seed=3)
    u = rec.unserved.to_frame()
    d = rec.defects.to_frame()
    assert len(u) > 100 and set(u["ended"]) == {"reneged"} and set(u["to"]) == {"GP"}
    unseen = d[d["defect"] == "left_unseen"]
    assert sorted(unseen["journey"]) == sorted(u["journey"]) and set(unseen["element"]) == {"ED"}
    gp = rec.visits.to_frame().query("node == 'GP'")
    assert sorted(gp["journey"]) == sorted(u["journey"])  # only those who reneged go to the GP
    assert np.allclose(np.sort(gp["arrival"]), np.sort(u["end"]))
    assert (u["wait"] > 0).all()


def test_patience_only_for_those_who_wait():
    """A patient served at once never reneges, however short its patience."""
    rec = run_replication(one_node(50, 10.0, 0.1, patience=js.Fixed(0.0)), horizon=5_000, seed=1)
    assert len(rec.unserved) == 0


# -- diversion ----------------------------------------------------------------------------------------


def test_divert_sends_exactly_the_blocked_share_to_the_other_microsystem():
    """A full ED diverts each patient it cannot take to the other one, after the delay; the other sees exactly
    those, and their share is Erlang B."""
    delay = 12.0
    model = js.Model([js.Microsystem("A", capacity=2, service=js.Exponential(10.0), queue_limit=0,
                                     when_full=Divert("B", delay=js.Fixed(delay)), full_is_defect="diverted"),
                      js.Microsystem("B", capacity=None, service=js.Exponential(10.0))],
                     classes=[js.PatientClass("p", entry="A", rate=0.2)])
    res = js.simulate(model, horizon=HORIZON, warmup=WARMUP, replications=6, seed=8)
    inside(shares(res, "diverted"), erlang_b(2, 2.0))
    for rec in res.records:
        u, v = rec.unserved.to_frame(), rec.visits.to_frame()
        b = v[v["node"] == "B"]
        assert set(u["ended"]) == {"diverted"} and set(u["to"]) == {"B"}
        assert sorted(b["journey"]) == sorted(u["journey"])
        assert np.allclose(np.sort(b["arrival"].to_numpy()), np.sort(u["end"].to_numpy() + delay))
        d = rec.defects.to_frame()
        assert sorted(d.loc[d["defect"] == "diverted", "journey"]) == sorted(u["journey"])
    s = js.summarize(res)
    assert s.microsystems["A"].diverted is not None and s.microsystems["A"].rejected is None
    assert s.quality.system.analytic_excludes == ("queue_rules",)


def test_a_rejected_journey_ends_at_the_full_microsystem():
    """A rejected patient's journey ends there, at its arrival, with no visit; no defect unless declared."""
    rec = run_replication(one_node(1, 10.0, 0.2, queue_limit=0), horizon=5_000, seed=6)
    j, u = rec.journeys.to_frame().set_index("journey"), rec.unserved.to_frame()
    ends = j.loc[u["journey"]]
    assert (ends["visits"] == 0).all() and (ends["exit"] == "A").all()
    assert np.allclose(ends["end"], u["arrival"]) and (ends["defects"] == 0).all()


# -- boarding into a limited queue ------------------------------------------------------------------


def test_boarding_into_a_limited_queue_waits_only_while_it_is_full():
    """A boarding handoff into a microsystem with a queue limit keeps the bed only while that queue is full:
    patients board less than without the limit, B's queue never exceeds it, and each boarder left its bed
    at a moment when B's queue had just lost a patient."""
    def model(limit):
        return js.Model([js.Microsystem("A", capacity=3, service=js.Exponential(10.0)),
                         js.Microsystem("B", capacity=1, service=js.Exponential(12.0), queue_limit=limit)],
                        handoffs=[js.Handoff("A", "B", boarding=True)],
                        classes=[js.PatientClass("p", entry="A", rate=0.075)])

    limited = run_replication(model(2), horizon=20_000, seed=4)
    plain = run_replication(model(None), horizon=20_000, seed=4)
    assert 0 < limited.handoffs["blocked"].sum() < plain.handoffs["blocked"].sum()
    assert len(limited.unserved) == 0  # boarders are never rejected: they wait for a place
    v = limited.visits.to_frame()
    b = v[v["node"] == "B"]
    for t in b["arrival"]:
        assert ((b["arrival"] <= t) & (b["start"] > t)).sum() <= 2
    h = limited.handoffs.to_frame()
    moved = h.loc[h["blocked"] > 0, "depart"].to_numpy()
    assert np.isin(moved, b["start"].to_numpy()).all()  # a place freed when a queued patient started


def test_models_without_queue_rules_have_no_unserved_rows_and_no_new_keys():
    """Without queue rules nothing is unserved, and the summary's JSON has none of the new keys."""
    res = js.simulate(one_node(1, 5.0, 0.1), horizon=2_000, replications=2, seed=1)
    assert all(len(rec.unserved) == 0 for rec in res.records)
    d = js.summarize(res).to_dict()["microsystems"]["A"]
    assert not {"rejected", "diverted", "balked", "reneged"} & set(d)


def test_summary_mode_counts_what_full_records_count():
    """The per-microsystem counts are the same with records kept and in summary mode (rows reduced in chunks)."""
    model = one_node(1, 10.0, 0.12, queue_limit=2, patience=js.Exponential(15.0))
    full = js.summarize(js.simulate(model, horizon=20_000, replications=2, seed=3))
    summary = js.summarize(js.simulate(model, horizon=20_000, replications=2, seed=3, records="summary"))
    for how in ("rejected", "reneged"):
        a, b = getattr(full.microsystems["A"], how), getattr(summary.microsystems["A"], how)
        assert a.count == b.count > 0 and a.share.mean == b.share.mean
    assert full.microsystems["A"].to_dict()["reneged"]["wait_minutes"]["mean"] == pytest.approx(
        summary.microsystems["A"].to_dict()["reneged"]["wait_minutes"]["mean"])
    assert math.isfinite(full.microsystems["A"].reneged.wait_minutes.mean)
