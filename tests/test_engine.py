"""Engine behaviour: reproducibility, conservation, immutability, streams, extreme values."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest

import journeysim as js
from conftest import single_node, tandem_model
from journeysim.engine.kernel import run_replication
from journeysim.engine.streams import StreamFactory


def rich_model():
    """Branching, a loop, requests, per-class routing and durations, priorities."""
    return js.Model(
        [
            js.Microsystem("ED", capacity=3, service=js.LogNormal(30, 0.5),
                           service_by_class={"b": [js.Step("triage", js.Fixed(5)), js.Step("treat", js.Exponential(20))]},
                           defects={"x": 0.05, "y": {"a": 0.1}}),
            js.Microsystem("Ward", capacity=5, service=js.Gamma.from_mean_sd(200, 80), defect=0.03),
            js.Microsystem("Clinic", capacity=1, service=js.Triangular(5, 10, 30), defect=0.02),
            js.Microsystem("Lab", kind="support", capacity=1, service=js.Uniform(5, 15), defect=0.01),
        ],
        [
            js.Handoff("ED", "Ward", probability={"a": 0.7, "b": 0.4}, delay=js.Exponential(10),
                       delay_by_class={"b": js.Fixed(3)}, defects={"information": 0.2}),
            js.Handoff("Ward", "Clinic", probability=0.8, delay=js.Empirical((60.0, 120.0, 600.0))),
            js.Handoff("Clinic", "ED", probability=0.1, defects={"patient": 0.05}),
        ],
        [js.ServiceRequest("ED", "Lab", probability=0.8, delay=js.Fixed(2), defects={"services": 0.02})],
        classes=[js.PatientClass("a", entry="ED", rate=0.05, priority=1),
                 js.PatientClass("b", entry={"ED": 0.5, "Ward": 0.5}, rate=0.03)],
    )


def frames(result):
    return {name: result.table(name) for name in ("journeys", "visits", "handoffs", "requests", "defects")}


def test_same_seed_gives_identical_records():
    """Two runs with the same seed produce identical tables, bit for bit."""
    a = frames(js.simulate(rich_model(), horizon=20_000, replications=2, seed=123))
    b = frames(js.simulate(rich_model(), horizon=20_000, replications=2, seed=123))
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])


def test_different_seed_gives_different_records():
    """A different seed changes the records."""
    a = js.simulate(rich_model(), horizon=20_000, seed=1).visits()
    b = js.simulate(rich_model(), horizon=20_000, seed=2).visits()
    assert len(a) != len(b) or not np.allclose(a["end"], b["end"])


def test_replications_differ_and_do_not_depend_on_count():
    """Replication i is the same whether 2 or 3 replications are run, and replications differ."""
    two = js.simulate(rich_model(), horizon=10_000, replications=2, seed=5)
    three = js.simulate(rich_model(), horizon=10_000, replications=3, seed=5)
    pd.testing.assert_frame_equal(two.records[1].visits.to_frame(), three.records[1].visits.to_frame())
    assert len(three.records[0].visits) != len(three.records[1].visits) or not np.allclose(
        three.records[0].visits["end"], three.records[1].visits["end"]
    )


def test_model_unchanged_after_run():
    """Simulating never writes into the model."""
    model = rich_model()
    before = copy.deepcopy(model)
    js.simulate(model, horizon=5_000, replications=2, seed=1)
    assert model == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.name = "changed"  # type: ignore[misc]


def test_patients_conserved():
    """Every journey that arrived ends, every visit but the last hands off, and node flows balance."""
    res = js.simulate(rich_model(), horizon=30_000, seed=7)
    rec = res.records[0]
    j, v, h, r = rec.journeys, rec.visits, rec.handoffs, rec.requests
    assert np.isfinite(j["end"]).all()  # runs drain: arrived = completed + 0 still in system
    assert (j["arrival"] < rec.horizon).all()
    # visits per journey = handoffs per journey + 1
    visits = np.bincount(v["journey"], minlength=len(j))
    transfers = np.bincount(h["journey"], minlength=len(j))
    assert (visits == transfers + 1).all()
    assert (visits == j["visits"]).all()
    # every handoff's arrival is a visit arrival at its target
    arrivals = {(int(a), int(b), round(float(c), 9)) for a, b, c in zip(v["journey"], v["node"], v["arrival"])}
    for jid, tgt, t in zip(h["journey"], h["target"], h["arrive"]):
        assert (int(jid), int(tgt), round(float(t), 9)) in arrivals
    # in the system at any time t = arrived before t - ended before t, never negative
    for t in np.linspace(0, rec.horizon, 7):
        inside = ((j["arrival"] <= t) & (j["end"] > t)).sum()
        assert inside == (j["arrival"] <= t).sum() - (j["end"] <= t).sum()
    # requests: every visit end waits for its requests
    ends = dict(zip(zip(r["journey"], r["source"]), r["returned"]))
    assert all(np.isfinite(x) for x in ends.values())
    assert (r["returned"] >= r["end"]).all() and (r["end"] >= r["start"]).all() and (r["start"] >= r["requested"]).all()


def test_visits_wait_for_support_results():
    """A visit never ends before the results of its requests are back."""
    res = js.simulate(rich_model(), horizon=20_000, seed=3)
    v = res.visits()
    r = res.requests()
    merged = r.merge(v, left_on=["replication", "journey", "requested"], right_on=["replication", "journey", "start"])
    assert len(merged) == len(r)
    assert (merged["end_y"] >= merged["returned"] - 1e-9).all()
    assert (v["support_wait"] >= -1e-9).all()
    np.testing.assert_allclose(v["end"] - v["start"], v["service"] + v["support_wait"], atol=1e-9)


def test_capacity_is_never_exceeded():
    """At no time are more visits in service at a node than its capacity."""
    res = js.simulate(rich_model(), horizon=20_000, seed=11)
    v = res.visits()
    caps = {"ED": 3, "Ward": 5, "Clinic": 1}
    for node, cap in caps.items():
        sel = v[v["node"] == node]
        events = np.concatenate([np.stack([sel["start"], np.ones(len(sel))], 1),
                                 np.stack([sel["end"], -np.ones(len(sel))], 1)])
        order = np.lexsort((events[:, 1], events[:, 0]))  # ends before starts at equal times
        assert np.cumsum(events[order, 1]).max() <= cap


def test_fifo_within_a_priority():
    """With one class and one server, patients start in the order they arrived."""
    res = js.simulate(single_node(1, 0.9, 1.0), horizon=5_000, seed=1)
    v = res.visits().sort_values("arrival")
    assert v["start"].is_monotonic_increasing


def test_streams_are_keyed_by_name_not_position():
    """Adding an unrelated node leaves the arrival and service draws of the others unchanged."""
    base = tandem_model((1, 1), rate=0.2)
    bigger = js.Model(
        base.microsystems + (js.Microsystem("Other", capacity=1, service=js.Exponential(3.0)),),
        base.handoffs,
        classes=base.classes + (js.PatientClass("other", entry="Other", rate=0.1),),
    )
    a = js.simulate(base, horizon=3_000, seed=9).visits()
    b = js.simulate(bigger, horizon=3_000, seed=9).visits()
    b = b[b["node"] != "Other"].reset_index(drop=True)
    np.testing.assert_array_equal(a["service"].to_numpy(), b["service"].to_numpy())
    np.testing.assert_array_equal(a["arrival"].to_numpy(), b["arrival"].to_numpy())


def test_stream_factory_names_and_replications():
    """Different names or replications give different generators; the same give the same."""
    f0, f1 = StreamFactory(1, 0), StreamFactory(1, 1)
    x = f0.generator("service/ED").random(3)
    assert np.array_equal(x, StreamFactory(1, 0).generator("service/ED").random(3))
    assert not np.array_equal(x, f0.generator("service/Ward").random(3))
    assert not np.array_equal(x, f1.generator("service/ED").random(3))


def test_zero_rate_class_and_capacity_extremes():
    """A class with rate 0 never arrives; capacity 1 serialises; huge capacity never queues."""
    model = js.Model(
        [js.Microsystem("A", capacity=1, service=js.Exponential(1.0)),
         js.Microsystem("B", capacity=10_000, service=js.Exponential(50.0))],
        [js.Handoff("A", "B")],
        classes=[js.PatientClass("on", entry="A", rate=0.5), js.PatientClass("off", entry="A", rate=0.0)],
    )
    res = js.simulate(model, horizon=10_000, seed=1)
    j = res.journeys()
    assert set(j["class"].astype(str)) == {"on"}
    v = res.visits()
    assert (v[v["node"] == "B"]["wait"] == 0).all()
    a = v[v["node"] == "A"].sort_values("start")
    assert (a["start"].to_numpy()[1:] >= a["end"].to_numpy()[:-1] - 1e-9).all()


def test_run_replication_accepts_model_directly():
    """The engine entry point runs a model and returns records whose tables convert to DataFrames."""
    rec = run_replication(tandem_model((1,), rate=0.5), horizon=1_000, seed=1)
    for name, table in rec.tables().items():
        df = table.to_frame()
        assert list(df.columns) == list(js.FIELDS[name]), name


def test_warmup_excludes_early_journeys():
    """Journeys arriving before the warm-up are left out of the counts."""
    model = single_node(None, 1.0, 1.0)
    res = js.simulate(model, horizon=1_000, warmup=400, seed=1)
    j = res.journeys()
    s = res.summary().to_dict()
    assert s["journeys"]["arrived"] == int((j["arrival"] >= 400).sum())
    assert s["journeys"]["arrived"] < len(j)


def test_a_capacity_schedule_wakes_with_the_capacity_of_its_hour():
    """After the horizon a schedule stops ticking while nobody waits, and wakes with the capacity of the hour
    of the week when someone comes: patients reaching the clinic at night ten weeks later find its 2 night
    beds, exactly as if it had 2 beds all week (ticking every boundary of a long drain cost one event per piece
    of every week, for ever with a stay of 10^20 minutes)."""
    night = js.Window("Mon-Sun", "00:00", "06:00")
    stay = js.Fixed(10 * 10080.0 + 180.0)  # ten weeks and three hours at the ward
    def model(clinic):
        return js.Model([js.Microsystem("Ward", service=stay), clinic], [js.Handoff("Ward", "Clinic")],
                        classes=[js.PatientClass("all", entry="Ward", rate=1 / 10)])
    scheduled = model(js.Microsystem("Clinic", capacity=1, service=js.Fixed(30.0),
                                     schedule=[js.Shift(night, capacity=2)]))
    constant = model(js.Microsystem("Clinic", capacity=2, service=js.Fixed(30.0)))
    a = run_replication(scheduled, horizon=60.0, seed=4).visits.to_frame()
    b = run_replication(constant, horizon=60.0, seed=4).visits.to_frame()
    clinic = a["node"] == "Clinic"
    assert clinic.sum() >= 5 and (a.loc[clinic, "wait"] > 0).any()  # the night's 2 beds are full at times
    assert a["end"].max() < 10 * 10080.0 + 360.0  # every clinic visit ends before 06:00, ten weeks on
    pd.testing.assert_frame_equal(a, b)
