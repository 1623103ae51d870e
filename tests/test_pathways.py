"""Schedules, activation ahead of the patient, milestones and standards, and boarding (issue 5).

Each test compares the engine with a result worked out independently: a closed
form, or a recurrence applied to the simulated arrival and service times.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from journeysim import simulate
from journeysim.engine.kernel import run_replication
from journeysim.errors import SimulationError, ValidationError
from journeysim.io.scenario_file import loads_scenario
from journeysim.model.clock import Window
from journeysim.model.distributions import Exponential, Fixed
from journeysim.model.elements import Activation, Handoff, Microsystem, PatientClass, Shift, Step
from journeysim.model.mesosystem import Model
from journeysim.model.milestones import Group, Standard

DAY = 1440.0


# -- schedules ----------------------------------------------------------------------------
def test_closed_at_night_waits_half_the_night():
    """Open 08-20 with no limit, closed (capacity 0) 20-08: a uniform arrival waits 0 by day and
    U(0, 720) at night, so the mean wait is 0.5 x 360 = 180 min; and nobody starts while closed."""
    clinic = Microsystem("Clinic", capacity=None, service=Fixed(1.0),
                         schedule=[Shift(Window("all", "20:00", "08:00"), capacity=0)])
    model = Model([clinic], classes=[PatientClass("all", entry="Clinic", rate=0.05)])
    waits, night = [], 0
    for rep in range(4):
        v = run_replication(model, horizon=28 * DAY, seed=11, replication=rep).visits.to_frame()
        waits.append(v["wait"].to_numpy())
        minute = np.mod(v["start"].to_numpy(), DAY)
        night += int(np.sum((minute >= 20 * 60) | (minute < 8 * 60)))
    w = np.concatenate(waits)
    se = w.std(ddof=1) / math.sqrt(w.size)
    assert abs(w.mean() - 180.0) < 4 * se, (w.mean(), se)
    assert night == 0


def test_capacity_changes_conserve_patients():
    """Capacity 3 on weekdays 08-17 and 1 otherwise, with a queue that builds each evening:
    every patient is served exactly once and leaves, and no visit starts while the servers in
    use are at the capacity of that moment (patients in service when it drops finish)."""
    ward = Microsystem("Ward", capacity=1, service=Exponential(50.0),
                       schedule=[Shift(Window("Mon-Fri", "08:00", "17:00"), capacity=3)])
    model = Model([ward], classes=[PatientClass("all", entry="Ward", rate=1 / 30)])
    for rep in range(3):
        rec = run_replication(model, horizon=21 * DAY, seed=5, replication=rep)
        j, v = rec.journeys.to_frame(), rec.visits.to_frame()
        assert len(v) == len(j) and v["journey"].is_unique and j["journey"].is_unique
        assert (j["end"] >= j["arrival"]).all() and np.isfinite(j["end"]).all()
        assert (v["wait"] > 60).any()  # a queue built up, so capacity changes met waiting patients
        start, end = v["start"].to_numpy(), v["end"].to_numpy()
        in_service = ((start[None, :] <= start[:, None]) & (start[:, None] < end[None, :])).sum(axis=1)
        cap = np.array([ward.capacity_at(t) for t in start])
        assert (in_service <= cap).all()
        # and the extra servers were used: some start happened with 2 or 3 in service
        assert in_service.max() == 3


def test_scheduled_utilisation_uses_the_mean_capacity():
    """Utilisation divides the busy servers by the capacity averaged over the week."""
    ward = Microsystem("Ward", capacity=1, service=Exponential(20.0),
                       schedule=[Shift(Window("Mon-Fri", "08:00", "17:00"), capacity=3)])
    assert ward.mean_capacity == pytest.approx(1 + 2 * 5 * 9 / (7 * 24))


# -- activation and pre-activation ------------------------------------------------------------
def _cath(preactivate: float) -> Model:
    return Model(
        [Microsystem("EMS", service=Fixed(10.0)),
         Microsystem("Cath", service=[Step("device", Fixed(5.0)), Step("rest", Fixed(20.0))],
                     team_ready=Exponential(30.0))],
        handoffs=[Handoff("EMS", "Cath", delay=Fixed(20.0), preactivate={"Cath": preactivate})],
        classes=[PatientClass("STEMI", entry="EMS", rate=1 / 60)],
        standards=[Standard("fmc_to_device", start="start", end="Cath.device", within=90)],
    )


@pytest.mark.parametrize("p", [1.0, 0.5])
def test_preactivation_shortens_by_the_overlap(p):
    """Team ready R ~ Exp(30) after activation; transport takes 20 min. Activated on arrival,
    FMC-to-device is 10 + 20 + R + 5; activated as the patient leaves EMS, the team's preparation
    overlaps the transport, so the interval shrinks by E[min(R, 20)] = 30 (1 - e^(-2/3)) = 14.60
    min, times the share pre-activated."""
    gain = p * 30.0 * (1.0 - math.exp(-20.0 / 30.0))
    base, pre = [], []
    for rep in range(5):
        for model, out in ((_cath(0.0), base), (_cath(p), pre)):
            s = run_replication(model, horizon=60 * DAY, seed=3, replication=rep).standards.to_frame()
            out.append(s["minutes"].to_numpy())
    b, a = np.concatenate(base), np.concatenate(pre)
    assert b.mean() == pytest.approx(35.0 + 30.0, abs=4 * b.std() / math.sqrt(b.size))
    diff = b.mean() - a.mean()
    se = math.sqrt(b.var() / b.size + a.var() / a.size)
    assert abs(diff - gain) < 4 * se, (diff, gain, se)


def test_activation_records_how_far_ahead_the_call_came():
    """The activations table: called 20 min ahead (the transport), waits max(0, R - 20)."""
    rec = run_replication(_cath(1.0), horizon=30 * DAY, seed=4)
    a = rec.activations.to_frame().sort_values("journey")
    assert np.allclose(a["ahead"], 20.0)
    assert np.allclose(a["team_wait"], np.clip(a["ready"] - a["arrival"], 0, None))
    v = rec.visits.to_frame()
    cath = v[v["node"] == "Cath"].sort_values("journey")
    assert np.array_equal(cath["journey"].to_numpy(), a["journey"].to_numpy())
    assert np.allclose(cath["start"].to_numpy(), np.maximum(a["ready"].to_numpy(), a["arrival"].to_numpy()))


def test_on_call_team_ready_follows_the_clock():
    """In house weekdays 08-17 (team ready in 15 min), on call otherwise (25 min): with no
    pre-activation the wait for the team is exactly the schedule's time at the arrival."""
    cath = Microsystem("Cath", service=Fixed(30.0), team_ready=Fixed(25.0),
                       schedule=[Shift(Window("Mon-Fri", "08:00", "17:00"), team_ready=Fixed(15.0))])
    model = Model([cath], classes=[PatientClass("STEMI", entry="Cath", rate=1 / 90)])
    a = run_replication(model, horizon=28 * DAY, seed=8).activations.to_frame()
    inside = Window("Mon-Fri", "08:00", "17:00")
    expected = np.array([15.0 if inside.contains(t) else 25.0 for t in a["arrival"]])
    assert np.allclose(a["team_wait"], expected)
    assert 0.1 < (expected == 15.0).mean() < 0.5


# -- milestones and standards ---------------------------------------------------------------
def _two_step(route: float = 1.0, reached_only: bool = False) -> Model:
    return Model(
        [Microsystem("X", service=Fixed(10.0)), Microsystem("Y", service=Fixed(1.0))],
        handoffs=[Handoff("X", "Y", probability=route, delay=Exponential(20.0))],
        classes=[PatientClass("p", entry="X", rate=0.05)],
        standards=[Standard("x_to_y", start="arrive:X", end="arrive:Y", within=30, reached_only=reached_only)],
        groups=[Group.by_clock("hours", Window("Mon-Fri", "08:00", "17:00"))],
    )


def test_standard_share_met_matches_fixed_plus_exponential():
    """X takes 10 min, the transfer Exp(20): P(interval <= 30) = 1 - e^-1, median 10 + 20 ln 2,
    90th percentile 10 + 20 ln 10. A miss is the journey's only possible defect, so system
    quality equals the share met, and the exact product (which cannot see time) is 1."""
    result = simulate(_two_step(), horizon=40 * DAY, replications=4, seed=21)
    d = result.summary().to_dict()
    st = d["standards"]["x_to_y"]
    p = 1.0 - math.exp(-1.0)
    n = st["applies"]
    assert abs(st["met"]["mean"] - p) < 4 * math.sqrt(p * (1 - p) / n)
    m = st["minutes"]
    assert m["p50"] == pytest.approx(10 + 20 * math.log(2), rel=0.05)
    assert m["p90"] == pytest.approx(10 + 20 * math.log(10), rel=0.06)
    assert m["p25"] == pytest.approx(10 + 20 * math.log(4 / 3), rel=0.08)
    assert d["quality"]["system"]["simulated"]["mean"] == pytest.approx(st["met"]["mean"], abs=1e-12)
    assert d["quality"]["system"]["analytic"] == 1.0
    assert d["quality"]["system"]["analytic_excludes"] == ["standards"]
    groups = st["by_group"]["hours"]
    assert groups["on"]["applies"] + groups["off"]["applies"] == n
    # the interval does not depend on the clock here: both groups match the same share
    for g in groups.values():
        assert abs(g["met"]["mean"] - p) < 5 * math.sqrt(p * (1 - p) / g["applies"])
    defects = result.defects()
    assert set(defects["element"].astype(str)) == {"x_to_y"} and set(defects["defect"].astype(str)) == {"not_met"}


@pytest.mark.parametrize("reached_only, expected", [(False, 0.5 * (1 - math.exp(-1))), (True, 1 - math.exp(-1))])
def test_reached_only_judges_only_journeys_that_got_there(reached_only, expected):
    """Half the patients leave after X: they miss the standard unless it judges only journeys
    that reached Y."""
    d = simulate(_two_step(0.5, reached_only), horizon=40 * DAY, replications=4, seed=22).summary().to_dict()
    st = d["standards"]["x_to_y"]
    assert abs(st["met"]["mean"] - expected) < 4 * math.sqrt(expected * (1 - expected) / st["applies"])
    assert (st["reached"] == 1.0) == reached_only


def test_summary_mode_gives_the_same_standards():
    """Bounded-memory summary mode: the same counts, percentiles within the histogram's 2% bins."""
    full = simulate(_two_step(), horizon=20 * DAY, replications=2, seed=9).summary().to_dict()["standards"]
    summ = simulate(_two_step(), horizon=20 * DAY, replications=2, seed=9, records="summary")
    s = summ.summary().to_dict()["standards"]
    assert s["x_to_y"]["met"] == full["x_to_y"]["met"]
    assert s["x_to_y"]["by_group"]["hours"]["on"]["applies"] == full["x_to_y"]["by_group"]["hours"]["on"]["applies"]
    for q in ("p25", "p50", "p75", "p90"):
        assert s["x_to_y"]["minutes"][q] == pytest.approx(full["x_to_y"]["minutes"][q], rel=0.03)


def test_standards_only_observe():
    """Adding a standard changes no time of any journey (it draws no random numbers)."""
    plain = Model(_two_step().microsystems, handoffs=_two_step().handoffs, classes=_two_step().classes)
    a = run_replication(plain, horizon=10 * DAY, seed=2).visits.to_frame()
    b = run_replication(_two_step(), horizon=10 * DAY, seed=2).visits.to_frame()
    assert np.array_equal(a["end"].to_numpy(), b["end"].to_numpy())


def test_step_end_milestone_and_entry_group():
    """A step-end milestone is the visit start plus the steps before and including it; entry
    groups and the entries filter split journeys by arrival channel."""
    model = Model(
        [Microsystem("EMS", service=Fixed(5.0)),
         Microsystem("ED", capacity=1, service=[Step("triage", Exponential(3.0)), Step("ecg", Exponential(6.0)),
                                                 Step("rest", Fixed(30.0))])],
        handoffs=[Handoff("EMS", "ED")],
        classes=[PatientClass("chest_pain", entry={"EMS": 0.4, "ED": 0.6}, rate=0.02)],
        milestones={"door": "arrive:ED"},
        standards=[Standard("door_to_ecg", start="door", end="ED.ecg", within=10),
                   Standard("ems_only", start="fmc", end="ED.ecg", within=20, entries=["EMS"])],
        groups=[Group.by_entry("channel", {"ems": "EMS", "self": "ED"})],
    )
    rec = run_replication(model, horizon=20 * DAY, seed=6)
    s, v = rec.standards.to_frame(), rec.visits.to_frame()
    d2e = s[s["standard"] == "door_to_ecg"].set_index("journey")
    ed = v[v["node"] == "ED"].set_index("journey")
    # minutes = wait + triage + ecg; the visit's service is triage + ecg + 30
    assert np.allclose(d2e["minutes"], ed.loc[d2e.index, "wait"] + ed.loc[d2e.index, "service"] - 30.0)
    ems = s[s["standard"] == "ems_only"]
    assert set(ems["entry"].astype(str)) == {"EMS"}
    result = simulate(model, horizon=20 * DAY, replications=2, seed=6)
    by = result.summary().to_dict()["standards"]["door_to_ecg"]["by_group"]["channel"]
    assert by["ems"]["applies"] > 0 and by["self"]["applies"] > by["ems"]["applies"]


def test_unknown_milestone_or_step_is_a_clear_validation_error():
    text = """
[scenario]
horizon_days = 1
[milestones]
door = "arrive:ED"
[[classes]]
name = "p"
entry = "ED"
rate_per_day = 1
[[microsystems]]
name = "ED"
steps = [{ name = "ecg", dist = "fixed", value = 5 }]
[[standards]]
name = "late"
from = "dor"
to = "ED.ekg"
within = 10
[[standards]]
name = "nowhere"
from = "arrive:Lab"
to = "handoff:ED->Lab"
within = 10
"""
    with pytest.raises(ValidationError) as exc:
        loads_scenario(text)
    msgs = [f"{p.path}: {p.message}" for p in exc.value.problems]
    assert any("standards[0] (late).from" in m and "unknown milestone 'dor'" in m and "'door'" in m for m in msgs)
    assert any("standards[0] (late).to" in m and "has no step 'ekg'" in m and "ecg" in m for m in msgs)
    assert any("standards[1] (nowhere).from" in m and "unknown clinical microsystem 'Lab'" in m for m in msgs)
    assert any("standards[1] (nowhere).to" in m and "unknown handoff 'ED->Lab'" in m for m in msgs)
    assert all(p.line is not None for p in exc.value.problems)


# -- boarding --------------------------------------------------------------------------------
def _tandem(boarding: bool) -> Model:
    return Model(
        [Microsystem("A", capacity=1, service=Exponential(8.0)), Microsystem("B", capacity=1, service=Exponential(9.0))],
        handoffs=[Handoff("A", "B", boarding=boarding)],
        classes=[PatientClass("p", entry="A", rate=1 / 12)],
    )


def test_blocking_matches_the_tandem_recurrence():
    """Two single beds, A boards for B: with arrival a_n and service times S1_n, S2_n,
    start1 = max(a_n, leave1_{n-1}), done1 = start1 + S1_n, leave1 = max(done1, leave2_{n-1}),
    leave2 = leave1 + S2_n. The recorded times, holds and blocked times match exactly."""
    rec = run_replication(_tandem(True), horizon=5 * DAY, seed=12)
    j, v, h = rec.journeys.to_frame(), rec.visits.to_frame(), rec.handoffs.to_frame()
    a = j.sort_values("journey")["arrival"].to_numpy()
    va = v[v["node"] == "A"].set_index("journey").sort_index()
    vb = v[v["node"] == "B"].set_index("journey").sort_index()
    s1, s2 = va["service"].to_numpy(), vb["service"].to_numpy()
    leave1 = leave2 = 0.0
    exp_start1, exp_leave1, exp_hold, exp_leave2 = [], [], [], []
    for n in range(len(a)):
        start1 = max(a[n], leave1)
        done1 = start1 + s1[n]
        leave1 = max(done1, leave2)
        leave2 = leave1 + s2[n]
        exp_start1.append(start1), exp_leave1.append(leave1), exp_hold.append(leave1 - done1)
        exp_leave2.append(leave2)
    assert np.allclose(va["start"], exp_start1) and np.allclose(va["end"], exp_leave1)
    assert np.allclose(va["hold"], exp_hold) and np.allclose(vb["end"], exp_leave2)
    assert np.allclose(h.sort_values("journey")["blocked"], exp_hold)
    assert (np.asarray(exp_hold) > 0).mean() > 0.2  # the case is not trivial
    assert np.allclose(vb["wait"], 0.0)  # the bed was held for the boarding patient


def test_blocking_reported_per_microsystem():
    d = simulate(_tandem(True), horizon=10 * DAY, replications=2, seed=1).summary().to_dict()
    b = d["microsystems"]["A"]["boarding"]
    assert b["boarded"] > 0 and b["minutes_per_visit"]["mean"] > 0
    assert "boarding" not in simulate(_tandem(False), horizon=DAY, seed=1).summary().to_dict()["microsystems"]["A"]


def test_deadlock_is_reported_not_hung():
    """A and B (one bed each) board for each other: once the patient in A waits for B while
    the one in B waits for A, nobody can move. The engine says so, naming both."""
    model = Model(
        [Microsystem("A", capacity=1, service=Exponential(10.0)), Microsystem("B", capacity=1, service=Exponential(10.0))],
        handoffs=[Handoff("A", "B", boarding=True), Handoff("B", "A", probability=0.5, boarding=True)],
        classes=[PatientClass("p", entry="A", rate=0.2)],
    )
    with pytest.raises(SimulationError, match=r"deadlock.*every bed of A, B") as exc:
        run_replication(model, horizon=30 * DAY, seed=1)
    assert "A: 1 bed(s), all held by patients waiting for B (1)" in str(exc.value)


def test_no_deadlock_while_a_bed_can_still_free():
    """The same cycle with a B that always has a bed never deadlocks, though A is often blocked."""
    model = Model(
        [Microsystem("A", capacity=1, service=Exponential(10.0)), Microsystem("B", capacity=None, service=Exponential(10.0))],
        handoffs=[Handoff("A", "B", boarding=True), Handoff("B", "A", probability=0.3, boarding=True)],
        classes=[PatientClass("p", entry="A", rate=0.03)],
    )
    rec = run_replication(model, horizon=10 * DAY, seed=1)
    assert len(rec.journeys) > 100


def test_every_feature_is_the_same_on_any_number_of_workers():
    model = Model(
        [Microsystem("EMS", service=[Step("response", Exponential(9.0)), Step("transport", Exponential(30.0))]),
         Microsystem("Cath", capacity=1, service=[Step("device", Exponential(30.0)), Step("rest", Exponential(30.0))],
                     team_ready=Exponential(25.0), activation=[Activation("EMS.response", probability=0.5)],
                     schedule=[Shift(Window("Mon-Fri", "08:00", "17:00"), capacity=2, team_ready=Exponential(15.0))]),
         Microsystem("CCU", capacity=3, service=Exponential(600.0))],
        handoffs=[Handoff("EMS", "Cath"), Handoff("Cath", "CCU", boarding=True)],
        classes=[PatientClass("STEMI", entry="EMS", rate=1 / 300)],
        standards=[Standard("fmc_to_device", start="EMS.response", end="Cath.device", within=90)],
    )
    one = simulate(model, horizon=30 * DAY, replications=2, seed=3, workers=1).summary().to_dict()
    two = simulate(model, horizon=30 * DAY, replications=2, seed=3, workers=2).summary().to_dict()
    for key in ("standards", "quality"):
        assert one[key] == two[key]
    assert one["microsystems"]["Cath"]["activation"] == two["microsystems"]["Cath"]["activation"]


def test_window_parsing_and_midnight():
    w = Window(["Sat", "Sun"], "22:00", "06:00")
    assert w.contains(5 * DAY + 23 * 60) and w.contains(6 * DAY + 5 * 60) and w.contains(7 * DAY + 60)
    assert not w.contains(7 * DAY + 7 * 60) and not w.contains(4 * DAY + 23 * 60)
    with pytest.raises(ValidationError, match="unknown day"):
        Window("Mon-Fro", "08:00", "17:00")
    with pytest.raises(ValidationError, match="overlaps"):
        Microsystem("X", capacity=1, schedule=[Shift(Window("Mon", "08:00", "12:00"), capacity=2),
                                               Shift(Window("Mon", "11:00", "13:00"), capacity=3)])



def test_shifts_covering_the_week_set_the_capacity():
    """Two shifts that cover the whole week with capacity 2 replace a base capacity of 1."""
    ward = Microsystem("Ward", capacity=1, service=Exponential(50.0),
                       schedule=[Shift(Window("all", "00:00", "12:00"), capacity=2),
                                 Shift(Window("all", "12:00", "24:00"), capacity=2)])
    model = Model([ward], classes=[PatientClass("all", entry="Ward", rate=1 / 30)])
    v = run_replication(model, horizon=10 * DAY, seed=2).visits.to_frame()
    start, end = v["start"].to_numpy(), v["end"].to_numpy()
    in_service = ((start[None, :] <= start[:, None]) & (start[:, None] < end[None, :])).sum(axis=1)
    assert in_service.max() == 2 and ward.mean_capacity == 2


def test_a_call_due_after_the_patient_arrives_is_overtaken_by_the_arrival():
    """A pre-activation whose call would come after the patient (lag 60 min > 20 min transport)
    does not delay the team: the arrival activates it, so the team wait is the full team-ready time."""
    model = Model(
        [Microsystem("EMS", service=Fixed(10.0)),
         Microsystem("Cath", service=Fixed(30.0), team_ready=Fixed(25.0),
                     activation=[Activation("handoff:EMS->Cath", lag=Fixed(60.0))])],
        handoffs=[Handoff("EMS", "Cath", delay=Fixed(20.0))],
        classes=[PatientClass("STEMI", entry="EMS", rate=1 / 600)],
    )
    a = run_replication(model, horizon=10 * DAY, seed=1).activations.to_frame()
    assert len(a) > 5 and np.allclose(a["ahead"], 0.0) and np.allclose(a["team_wait"], 25.0)
