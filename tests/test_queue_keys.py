"""The queue rules' keys (queue_limit, when_full, full_is_defect, patience, renege_to, balking): reading
them from a scenario file, and every bad value reported at once by its key path."""

from __future__ import annotations

import pytest

import journeysim as js
from conftest import write
from journeysim.model.queues import Divert

GOOD = """\
    [scenario]
    horizon_days = 2
    [[classes]]
    name = "walk"
    entry = "ED"
    rate_per_hour = 4
    [[classes]]
    name = "ems"
    entry = "ED"
    rate_per_hour = 1
    [[microsystems]]
    name = "ED"
    capacity = 2
    service = { dist = "exponential", mean = 30 }
    queue_limit = 5
    queue_limit_by_class = { ems = 8 }
    when_full = "reject"
    when_full_by_class = { ems = { divert = "OtherED", delay = { dist = "fixed", value = 20 } } }
    full_is_defect = ["diverted"]
    patience = { dist = "exponential", mean = 2, unit = "hours" }
    patience_by_class = { ems = { dist = "exponential", mean = 600 } }
    renege_to = "GP"
    balk_probabilities = [0, 0.1, 0.5]
    [[microsystems]]
    name = "OtherED"
    capacity = 2
    service = 30
    [[microsystems]]
    name = "GP"
    service = 10
    """


def problems(tmp_path, text: str) -> dict[str, str]:
    with pytest.raises(js.ValidationError) as exc:
        js.load_scenario(write(tmp_path, text))
    return {p.path: p.message for p in exc.value.problems}


def test_every_key_is_read_into_the_model(tmp_path):
    """Each key of a microsystem's queue rules reaches the Microsystem, in minutes."""
    m = js.load_scenario(write(tmp_path, GOOD)).model.microsystem("ED")
    assert (m.queue_limit, m.queue_limit_for("ems"), m.queue_limit_for("walk")) == (5, 8, 5)
    assert m.when_full_for("walk") == "reject"
    assert m.when_full_for("ems") == Divert("OtherED", js.Fixed(20.0))
    assert m.full_is_defect == ("diverted",)
    assert m.patience_for("walk").mean == 120.0 and m.patience_for("ems").mean == 600.0
    assert m.renege_to == "GP" and m.balk_probabilities == (0.0, 0.1, 0.5) and m.balk_at is None


def test_a_scenario_with_queue_rules_runs_and_reports_them(tmp_path):
    """The file's rules run; the JSON names rejected, diverted, balked and reneged under the microsystem."""
    s = js.load_scenario(write(tmp_path, GOOD))
    d = js.summarize(js.simulate(s, replications=2, seed=1)).to_dict()
    ed = d["microsystems"]["ED"]
    assert {"rejected", "diverted", "balked", "reneged"} <= set(ed)
    assert set(ed["reneged"]) == {"count", "share", "wait_minutes"} and set(ed["balked"]) == {"count", "share"}
    assert "rejected" not in d["microsystems"]["GP"]


def test_every_bad_key_is_listed_at_once(tmp_path):
    """Bad values of every element-level key are reported together, each by its key path."""
    text = GOOD.replace("queue_limit = 5", "queue_limit = -1").replace(
        "queue_limit_by_class = { ems = 8 }", "queue_limit_by_class = { ems = 2.5 }").replace(
        'full_is_defect = ["diverted"]', 'full_is_defect = ["lost"]').replace(
        "balk_probabilities = [0, 0.1, 0.5]", "balk_probabilities = [0, 1.2, -0.1]").replace(
        'when_full = "reject"', 'when_full = "drop"')
    found = problems(tmp_path, text)
    ed = "microsystems[0] (ED)"
    assert set(found) >= {f"{ed}.queue_limit", f"{ed}.queue_limit_by_class.ems", f"{ed}.full_is_defect",
                          f"{ed}.balk_probabilities[1]", f"{ed}.balk_probabilities[2]", f"{ed}.when_full"}
    assert "whole number >= 0" in found[f"{ed}.queue_limit"]


def test_patience_without_dist_and_a_divert_without_target(tmp_path):
    """A patience table without ``dist`` and a when_full table without ``divert`` are named by their keys."""
    text = GOOD.replace('patience = { dist = "exponential", mean = 2, unit = "hours" }', "patience = { mean = 2 }")
    text = text.replace('{ ems = { divert = "OtherED", delay = { dist = "fixed", value = 20 } } }',
                        "{ ems = { delay = 5 } }")
    found = problems(tmp_path, text)
    assert "microsystems[0] (ED).patience.dist" in found
    assert "microsystems[0] (ED).when_full_by_class.ems.divert" in found


def test_unknown_microsystems_and_classes_are_named(tmp_path):
    """A divert or renege_to to an unknown microsystem, and per-class keys naming unknown classes, are errors."""
    text = GOOD.replace('divert = "OtherED"', 'divert = "OtherEd"').replace('renege_to = "GP"', 'renege_to = "Home"')
    text = text.replace("queue_limit_by_class = { ems = 8 }", "queue_limit_by_class = { EMS = 8 }")
    text = text.replace("patience_by_class = { ems =", "patience_by_class = { amb =")
    found = problems(tmp_path, text)
    ed = "microsystems[0] (ED)"
    assert "did you mean 'OtherED'" in found[f"{ed}.when_full_by_class.ems.divert"]
    assert "unknown microsystem 'Home'" in found[f"{ed}.renege_to"]
    assert "unknown patient class 'EMS'" in found[f"{ed}.queue_limit_by_class.EMS"]
    assert "unknown patient class 'amb'" in found[f"{ed}.patience_by_class.amb"]


@pytest.mark.parametrize(("kwargs", "path", "message"), [
    ({"queue_limit": -1}, "queue_limit", "whole number >= 0"),
    ({"queue_limit": True}, "queue_limit", "whole number >= 0"),
    ({"when_full": Divert("B")}, "when_full", "has no queue_limit"),
    ({"full_is_defect": True}, "full_is_defect", "needs a queue_limit"),
    ({"queue_limit": 1, "full_is_defect": "lost"}, "full_is_defect", "unknown outcome"),
    ({"patience": 30}, "patience", "must be a distribution"),
    ({"renege_to": "B"}, "renege_to", "no patience or balking"),
    ({"balk_at": -2}, "balk_at", "whole number >= 0"),
    ({"balk_probabilities": [0.5, 2.0]}, "balk_probabilities[1]", "not a probability"),
    ({"balk_at": 1, "balk_probabilities": [0.5]}, "balk_probabilities", "not both"),
    ({"kind": "support", "queue_limit": 3}, "kind", "clinical"),
    ({"patience_by_class": {"p": "soon"}}, "patience_by_class.p", "must be a distribution"),
])
def test_microsystem_keyword_problems(kwargs, path, message):
    """Each queue keyword of Microsystem rejects a bad value with its own path."""
    with pytest.raises(js.ValidationError) as exc:
        js.Microsystem("A", capacity=1, service=js.Exponential(5.0), **kwargs)
    found = {p.path: p.message for p in exc.value.problems}
    assert path in found and message in found[path], found


def test_model_level_problems():
    """Diverting to itself, to a support microsystem, renege_to itself, and a zero-delay diversion loop are errors."""
    classes = [js.PatientClass("p", entry="A", rate=0.1)]
    with pytest.raises(js.ValidationError) as exc:
        js.Model([js.Microsystem("A", capacity=1, queue_limit=0, when_full=Divert("A"), patience=js.Fixed(5),
                                 renege_to="A"),
                  js.Microsystem("B", capacity=1, queue_limit=0, when_full=Divert("Lab")),
                  js.Microsystem("Lab", kind="support", capacity=1)], classes=classes)
    found = {p.path: p.message for p in exc.value.problems}
    assert "itself" in found["microsystems[0] (A).when_full.divert"]
    assert "cannot rejoin" in found["microsystems[0] (A).renege_to"]
    assert "expected a clinical one" in found["microsystems[1] (B).when_full.divert"]
    with pytest.raises(js.ValidationError, match="lead back here with no delay"):
        js.Model([js.Microsystem("A", capacity=1, queue_limit=0, when_full=Divert("B")),
                  js.Microsystem("B", capacity=1, queue_limit=0, when_full=Divert("A"))], classes=classes)


def test_a_microsystem_reached_only_by_diversion_is_wired():
    """A microsystem that only diversions lead to is part of the pathway (no 'no patient can reach' error)."""
    model = js.Model([js.Microsystem("A", capacity=1, queue_limit=0, when_full=Divert("B", js.Fixed(5))),
                      js.Microsystem("B", capacity=1)], classes=[js.PatientClass("p", entry="A", rate=0.1)])
    assert model.idle_microsystems() == ()


def test_the_scenario_docs_python_example_runs():
    """The Python example of docs/scenarios.md's queue rules runs as shown (a doctest of the page)."""
    import doctest
    from pathlib import Path

    path = Path(__file__).parent.parent / "docs" / "scenarios.md"
    result = doctest.testfile(str(path), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0
