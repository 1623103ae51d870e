"""Journeys the queue rules end have their own outcomes: ``rejected`` and ``left_unseen``.

A loss system's rejected share is Erlang B, and it is the share of journeys whose outcome
is ``rejected``; a patient who reneges with nowhere to go ends ``left_unseen``. The exact
outcome shares see the routing alone, so they are not given where queue rules end journeys.
"""

from __future__ import annotations

import numpy as np
import pytest

import journeysim as js
from journeysim.errors import ValidationError
from journeysim.model.queues import Divert
from test_queue_limits import erlang_b


def _loss(**node) -> js.Model:
    return js.Model([js.Microsystem("A", capacity=2, service=js.Exponential(10.0), **node),
                     js.Microsystem("B", capacity="unlimited", service=js.Exponential(5.0))],
                    [js.Handoff("A", "B", probability=0.5)],
                    classes=[js.PatientClass("p", entry="A", rate=0.2)],
                    exits=[js.Exit("B", "death", 0.1)])


def test_model_outcomes_name_the_queue_outcomes_it_can_give():
    assert _loss().outcomes == ("discharged", "death")
    assert _loss(queue_limit=0).outcomes == ("discharged", "death", "rejected")
    assert _loss(patience=js.Exponential(5.0)).outcomes == ("discharged", "death", "left_unseen")
    # those who renege elsewhere, or are diverted, do not leave the pathway there
    assert _loss(patience=js.Exponential(5.0), renege_to="B").outcomes == ("discharged", "death")
    assert _loss(queue_limit=0, when_full=Divert("B")).outcomes == ("discharged", "death")


def test_rejected_journeys_end_rejected_in_the_erlang_b_share():
    """Of the journeys of an M/M/2/2 entry, the share ending ``rejected`` is Erlang B of the offered load."""
    result = js.simulate(_loss(queue_limit=0), horizon=200_000.0, warmup=1_000.0, replications=4, seed=5)
    journeys = result.journeys()
    share = float(np.mean(journeys["outcome"] == "rejected"))
    assert share == pytest.approx(erlang_b(2, 2.0), abs=0.01)  # B(2, 2) = 0.4; sd of the share ~0.002
    outcomes = result.summary().to_dict()["journeys"]["outcomes"]
    assert outcomes["rejected"]["share"]["mean"] == pytest.approx(share, abs=0.005)
    assert all(o["exact"] is None for o in outcomes.values())  # the routing alone cannot see a full queue
    # the rest end as the routing says: half go to B, of whom 10% die
    served = 1 - share
    assert float(np.mean(journeys["outcome"] == "death")) == pytest.approx(served * 0.05, abs=0.005)


def test_patients_who_renege_with_nowhere_to_go_end_left_unseen():
    result = js.simulate(_loss(patience=js.Exponential(5.0)),
                         horizon=50_000.0, replications=2, seed=3)
    journeys = result.journeys()
    unserved = result.unserved()
    reneged = int((unserved["ended"] == "reneged").sum())
    assert reneged > 0
    assert int((journeys["outcome"] == "left_unseen").sum()) == reneged


@pytest.mark.parametrize("name", ["rejected", "left_unseen", "discharged"])
def test_an_exit_may_not_take_a_reserved_outcome_name(name):
    with pytest.raises(ValidationError, match="name"):
        js.Exit("A", name, 0.1)


def test_reneging_with_no_patience_back_into_a_diversion_loop_is_refused():
    """A full A diverts to B at once, and B's patients with no patience renege back to A: at one instant a
    patient would go round forever. The model is refused, naming the loop (it used to hang the run)."""
    with pytest.raises(ValidationError, match="go round forever"):
        js.Model([js.Microsystem("A", capacity=1, queue_limit=0, when_full=Divert("B")),
                  js.Microsystem("B", capacity=1, patience=js.Fixed(0.0), renege_to="A")],
                 classes=[js.PatientClass("p", entry="A", rate=0.1)])
    # with some patience, a patient waits at B before going back: allowed
    js.Model([js.Microsystem("A", capacity=1, queue_limit=0, when_full=Divert("B")),
              js.Microsystem("B", capacity=1, patience=js.Exponential(5.0), renege_to="A")],
             classes=[js.PatientClass("p", entry="A", rate=0.1)])
