"""Named exits and outcomes: shares against the absorbing Markov chain, the bed held during an exit's delay,
the default exit's remainder, validation, and every command on a model with exits."""

from __future__ import annotations

import json
import math
import shutil
import textwrap

import numpy as np
import pytest

import journeysim as js
from conftest import write
from journeysim.analysis.outcomes import exact_outcomes
from journeysim.cli import main
from test_degenerate import COMMANDS, strict_json

NODES = ("A", "B", "C")
#: handoffs (source, target, probability) of the three-node model, with feedback B -> A and C -> A
ROUTES = (("A", "B", 0.6), ("A", "C", 0.2), ("B", "A", 0.3), ("B", "C", 0.4), ("C", "A", 0.1))
#: named exits (source, name, probability per class)
EXITS = (("A", "death", {"x": 0.05, "y": 0.05, "bg": 0.0}), ("B", "transfer", {"x": 0.1, "y": 0.2, "bg": 0.25}),
         ("C", "death", {"x": 0.3, "y": 0.1, "bg": 0.9}), ("C", "transfer", {"x": 0.2, "y": 0.2, "bg": 0.0}))
RATES = {"x": 0.2, "y": 0.1}


def feedback_model(delay: js.Distribution = js.Fixed(0.0)) -> js.Model:
    """Three microsystems with feedback, two named exits (death from A and C, transfer from B and C),
    two pathway classes of different rates and exits, and a busy background class entering at C."""
    return js.Model(
        [js.Microsystem(n, capacity=None, service=js.Exponential(1.0)) for n in NODES],
        [js.Handoff(a, b, probability=p) for a, b, p in ROUTES],
        classes=[js.PatientClass("x", entry="A", rate=RATES["x"]),
                 js.PatientClass("y", entry={"A": 0.5, "B": 0.5}, rate=RATES["y"]),
                 js.PatientClass("bg", entry="C", rate=0.3, background=True)],
        exits=[js.Exit(src, name, probability=p, delay=delay) for src, name, p in EXITS],
    )


def hand_absorption(class_name: str, entry: dict[str, float]) -> dict[str, float]:
    """Absorption probabilities by the fundamental matrix: B = (I - Q)^-1 R, then alpha B."""
    idx = {n: i for i, n in enumerate(NODES)}
    q = np.zeros((3, 3))
    for a, b, p in ROUTES:
        q[idx[a], idx[b]] += p
    outcomes = ["discharged", "death", "transfer"]
    r = np.zeros((3, 3))
    for src, name, p in EXITS:
        r[idx[src], outcomes.index(name)] += p[class_name]
    r[:, 0] = 1.0 - q.sum(axis=1) - r[:, 1:].sum(axis=1)  # the default exit: what is left
    n = np.linalg.inv(np.eye(3) - q)
    alpha = np.array([entry.get(node, 0.0) for node in NODES])
    return dict(zip(outcomes, alpha @ n @ r))


def test_exact_outcome_shares_are_the_absorption_probabilities():
    """The exact shares equal alpha (I - Q)^-1 R per class, and the rate-weighted mean of the pathway classes."""
    model = feedback_model()
    exact = exact_outcomes(model)
    by_hand = {"x": hand_absorption("x", {"A": 1.0}), "y": hand_absorption("y", {"A": 0.5, "B": 0.5}),
               "bg": hand_absorption("bg", {"C": 1.0})}
    for k, shares in by_hand.items():
        assert sum(shares.values()) == pytest.approx(1.0)
        for name, value in shares.items():
            assert exact.by_class[k][name] == pytest.approx(value, abs=1e-12), (k, name)
    total = sum(RATES.values())
    for name in ("discharged", "death", "transfer"):
        pooled = sum(RATES[k] * by_hand[k][name] for k in RATES) / total  # the background class is left out
        assert exact.pathway[name] == pytest.approx(pooled, abs=1e-12)
    assert list(exact.pathway) == ["discharged", "death", "transfer"]


def test_simulated_outcome_shares_agree_with_the_exact_ones():
    """Pooled over 2 replications, each outcome's share (pathway and per class) is within 4 standard errors of
    the absorption probability; the summary reports the same shares and the exact values beside them."""
    model = feedback_model()
    res = js.simulate(model, horizon=60_000.0, replications=2, seed=11)
    j = res.journeys()
    exact = exact_outcomes(model)
    summary = res.summary().to_dict()["journeys"]
    groups = {"pathway": j[j["class"] != "bg"], "x": j[j["class"] == "x"], "y": j[j["class"] == "y"]}
    for group, rows in groups.items():
        n = len(rows)
        assert n > 3000
        for name in ("discharged", "death", "transfer"):
            p = exact.pathway[name] if group == "pathway" else exact.by_class[group][name]
            share = float((rows["outcome"] == name).mean())
            assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n), (group, name, share, p)
            reported = summary["outcomes"][name] if group == "pathway" else summary["by_class"][group]["outcomes"][name]
            assert reported["exact"] == pytest.approx(p)
            per_rep = rows.groupby("replication")["outcome"].apply(lambda s, o=name: (s == o).mean())
            assert reported["share"]["mean"] == pytest.approx(per_rep.mean())
            counts = rows.groupby("replication")["outcome"].apply(lambda s, o=name: (s == o).sum())
            assert reported["count"]["mean"] == pytest.approx(counts.mean())
    assert sum(o["count"]["mean"] for o in summary["outcomes"].values()) == pytest.approx(summary["completed"] / 2)
    # only the journeys that leave from an exit's microsystem end there: deaths leave from A or C
    assert set(j.loc[j["outcome"] == "death", "exit"]) == {"A", "C"}
    assert set(j.loc[j["outcome"] == "transfer", "exit"]) == {"B", "C"}


@pytest.mark.parametrize(("share", "exit_delay"), [(1.0, 100.0), (0.4, 5.0)])
def test_the_bed_is_held_during_a_named_exit_delay(share, exit_delay):
    """Utilisation is lambda * (E[S] + p * d + (1 - p) * exit_delay) / c: the named exit's fixed delay d holds the bed
    (with p = 1 the microsystem's exit_delay is never used); each visit's hold is its exit's delay."""
    rate, service, delay, servers = 0.05, 10.0, 15.0, 2
    model = js.Model([js.Microsystem("Ward", capacity=servers, service=js.Exponential(service),
                                     exit_delay=js.Fixed(exit_delay))],
                     classes=[js.PatientClass("p", entry="Ward", rate=rate)],
                     exits=[js.Exit("Ward", "death", probability=share, delay=js.Fixed(delay))])
    expected = rate * (service + share * delay + (1 - share) * exit_delay) / servers
    assert js.offered_load(model)["Ward"].load == pytest.approx(expected)
    res = js.simulate(model, horizon=200_000.0, warmup=1_000.0, replications=4, seed=5)
    util = res.summary().microsystems["Ward"].utilisation
    low, high = util.ci95
    assert low <= expected <= high or abs(util.mean - expected) < 0.01, (util, expected)
    assert abs(util.mean - expected) < 0.02
    v = res.visits().merge(res.journeys()[["replication", "journey", "outcome"]], on=["replication", "journey"])
    np.testing.assert_allclose(v.loc[v["outcome"] == "death", "hold"], delay)
    np.testing.assert_allclose(v.loc[v["outcome"] == "discharged", "hold"], exit_delay)
    np.testing.assert_allclose(v["end"] - v["start"], v["service"] + v["hold"])


def test_the_default_exit_gets_what_is_left():
    """Where handoffs and named exits take everything, nobody leaves by the default exit there; elsewhere
    the default exit gets 1 - handoffs - named exits, with the microsystem's exit_delay."""
    model = js.Model(
        [js.Microsystem("A", capacity=None, service=js.Fixed(1.0), exit_delay=js.Fixed(50.0)),
         js.Microsystem("B", capacity=None, service=js.Fixed(1.0), exit_delay=js.Fixed(7.0))],
        [js.Handoff("A", "B", probability=0.7)],
        classes=[js.PatientClass("p", entry="A", rate=0.5)],
        exits=[js.Exit("A", "death", probability=0.3, delay=js.Fixed(2.0)),
               js.Exit("B", "home_care", probability=0.25)],
    )
    assert exact_outcomes(model).pathway == pytest.approx({"discharged": 0.7 * 0.75, "death": 0.3,
                                                           "home_care": 0.7 * 0.25})
    res = js.simulate(model, horizon=40_000.0, seed=2)
    j = res.journeys()
    assert (j.loc[j["exit"] == "A", "outcome"] == "death").all()
    assert set(j.loc[j["exit"] == "B", "outcome"]) == {"discharged", "home_care"}
    n = len(j)
    for name, p in (("death", 0.3), ("home_care", 0.175), ("discharged", 0.525)):
        assert abs((j["outcome"] == name).mean() - p) < 4 * math.sqrt(p * (1 - p) / n)
    v = res.visits()
    assert set(v.loc[v["node"] == "A", "hold"].round(6)) == {0.0, 2.0}  # never A's exit_delay of 50
    assert set(v.loc[v["node"] == "B", "hold"].round(6)) == {0.0, 7.0}  # home_care has no delay; discharged waits 7


def test_per_class_delay_and_summary_mode_agree():
    """delay_by_class gives a class its own delay; summary mode reports the same outcomes as full records."""
    model = js.Model([js.Microsystem("W", capacity=3, service=js.Exponential(20.0))],
                     classes=[js.PatientClass("a", entry="W", rate=0.05), js.PatientClass("b", entry="W", rate=0.05)],
                     exits=[js.Exit("W", "death", probability={"a": 0.2, "b": 0.1}, delay=js.Fixed(30.0),
                                    delay_by_class={"b": js.Fixed(90.0)})])
    full = js.simulate(model, horizon=20_000.0, replications=2, seed=4)
    v = full.visits().merge(full.journeys()[["replication", "journey", "outcome"]], on=["replication", "journey"])
    dead = v[v["outcome"] == "death"]
    np.testing.assert_allclose(dead.loc[dead["class"] == "a", "hold"], 30.0)
    np.testing.assert_allclose(dead.loc[dead["class"] == "b", "hold"], 90.0)
    assert (dead["class"] == "b").any() and (dead["class"] == "a").any()
    summary = js.simulate(model, horizon=20_000.0, replications=2, seed=4, records="summary")
    a, b = summary.summary().to_dict()["journeys"], full.summary().to_dict()["journeys"]
    assert a["outcomes"] == b["outcomes"]  # percentiles of time in system differ: histograms in summary mode
    assert all(a["by_class"][k]["outcomes"] == b["by_class"][k]["outcomes"] for k in ("a", "b"))


def test_named_exits_change_nothing_but_the_outcome():
    """Exits without delays leave every routing draw and record as it was (common random numbers): the model
    without them gives the same visits, handoffs and journeys, every journey's outcome then 'discharged'."""
    plain = js.Model(
        [js.Microsystem(n, capacity=2, service=js.Exponential(1.0)) for n in NODES],
        [js.Handoff(a, b, probability=p) for a, b, p in ROUTES],
        classes=[js.PatientClass("x", entry="A", rate=0.3)],
    )
    with_exits = js.Model(plain.microsystems, plain.handoffs, classes=plain.classes,
                          exits=[js.Exit("C", "death", 0.5), js.Exit("A", "transfer", 0.1)])
    a = js.simulate(plain, horizon=5_000.0, seed=3)
    b = js.simulate(with_exits, horizon=5_000.0, seed=3)
    assert a.visits().equals(b.visits()) and a.handoffs().equals(b.handoffs())
    ja, jb = a.journeys(), b.journeys()
    assert ja.drop(columns="outcome").equals(jb.drop(columns="outcome"))
    assert set(ja["outcome"]) == {"discharged"} and set(jb["outcome"]) == {"discharged", "death", "transfer"}
    assert "outcomes" not in a.summary().to_dict()["journeys"]
    assert "case:outcome" not in js.event_log(a).columns
    log = js.event_log(b)
    cases = log.drop_duplicates("case:concept:name")
    assert cases["case:outcome"].tolist() == jb.sort_values(["replication", "journey"])["outcome"].tolist()


# -- validation ----------------------------------------------------------------------------------------------

_FILE = """\
[scenario]
horizon_days = 5
[[classes]]
name = "STEMI"
entry = "ED"
rate_per_day = 4
[[microsystems]]
name = "ED"
service = 60
[[microsystems]]
name = "Lab"
kind = "support"
service = 10
[[microsystems]]
name = "Telemetry"
service = 600
[[handoffs]]
from = "ED"
to = "Telemetry"
probability = 0.9
[[requests]]
from = "ED"
to = "Lab"
[[exits]]
from = "ED"
name = "death"
probability = {{ STEMI = 0.05 }}
{extra}
"""


@pytest.mark.parametrize(("extra", "message"), [
    ('[[exits]]\nfrom = "ED"\nname = "transfer_out"\nprobability = { STEMI = 0.1 }',
     r":27: exits\[0\] \(ED: death\).probability: handoffs \(0.9\) and named exits \(0.15\) out of 'ED' "
     r"add up to 1.05 > 1 for class 'STEMI'"),
    ('[[exits]]\nfrom = "Ward"\nname = "death"', r"exits\[1\] \(Ward: death\).from: unknown microsystem 'Ward'"),
    ('[[exits]]\nfrom = "Lab"\nname = "lost"', r"exits\[1\] \(Lab: lost\).from: 'Lab' is a support microsystem"),
    ('[[exits]]\nfrom = "Telemetry"\nname = "death"\nprobability = { STEMY = 0.1 }',
     r"exits\[1\] \(Telemetry: death\).probability.STEMY: unknown patient class 'STEMY' \(did you mean 'STEMI'\?\)"),
    ('[[exits]]\nfrom = "Telemetry"\nname = "death"\ndelay = 5\ndelay_by_class = { NSTEMI = 10 }',
     r"exits\[1\] \(Telemetry: death\).delay_by_class.NSTEMI: unknown patient class 'NSTEMI'"),
    ('[[exits]]\nfrom = "ED"\nname = "death"\nprobability = 0.01',
     r"exits\[1\] \(ED: death\): duplicates exits\[0\]"),
    ('[[exits]]\nfrom = "Telemetry"\nname = "discharged"',
     r"exits\[1\] \(Telemetry: discharged\).name: 'discharged' is reserved: it is the default exit"),
    ('[[exits]]\nfrom = "Telemetry"\nname = "death"\nprobability = 1.5',
     r"exits\[1\] \(Telemetry: death\).probability: 1.5 is not a probability"),
    ('[[exits]]\nfrom = "Telemetry"\nname = "death"\ndelay = { dist = "exponential" }',
     r"exits\[1\] \(Telemetry: death\).delay: exponential needs parameters"),
    ('[[exits]]\nfrom = "Telemetry"\nname = "death"\nchance = 0.1',
     r"exits\[1\] \(Telemetry: death\).chance: unknown key"),
    ('[[exits]]\nfrom = "Telemetry"', r"exits\[1\] \(Telemetry: \?\).name: is required"),
])
def test_exit_validation_names_the_key(tmp_path, extra, message):
    """Each bad [[exits]] entry is a ValidationError naming the file, the entry and the key."""
    with pytest.raises(js.ValidationError, match=message):
        js.load_scenario(write(tmp_path, _FILE.format(extra=extra)))


def test_exit_file_builds_the_model(tmp_path):
    """A valid [[exits]] entry becomes a js.Exit with its per-class probability, delay and reference."""
    extra = ('[[exits]]\nfrom = "Telemetry"\nname = "death"\nprobability = { STEMI = 0.05 }\n'
             'delay = { dist = "fixed", value = 2, unit = "hours" }\nreference = "DOMAIN.md [E]"')
    model = js.load_scenario(write(tmp_path, _FILE.format(extra=extra))).model
    x = model.exits[1]
    assert (x.source, x.name, x.probability.get("STEMI"), x.delay.mean, x.reference) == (
        "Telemetry", "death", 0.05, 120.0, "DOMAIN.md [E]")
    assert model.outcomes == ("discharged", "death")


def test_python_api_validation():
    """js.Exit and js.Model report every problem at once, each by its path."""
    with pytest.raises(js.ValidationError) as err:
        js.Exit("", "discharged", probability=-0.1, delay="soon")  # type: ignore[arg-type]
    text = str(err.value)
    for path in ("from:", "name: 'discharged' is reserved", "delay: must be a distribution", "probability:"):
        assert path in text
    nodes = [js.Microsystem("A"), js.Microsystem("B")]
    classes = [js.PatientClass("p", entry="A", rate=0.1), js.PatientClass("q", entry="A", rate=0.1)]
    with pytest.raises(js.ValidationError, match=r"exits\[0\] \(A: death\).probability: handoffs \(0.8\) and named "
                                                 r"exits \(0.3\) out of 'A' add up to 1.1 > 1 for class 'q'"):
        js.Model(nodes, [js.Handoff("A", "B", 0.8)], classes=classes,
                 exits=[js.Exit("A", "death", {"p": 0.1, "q": 0.3})])
    with pytest.raises(js.ValidationError, match=r"exits\[0\]: must be a Exit"):
        js.Model(nodes, [js.Handoff("A", "B")], classes=classes, exits=["death"])  # type: ignore[list-item]


# -- every command -------------------------------------------------------------------------------------------

_COMMAND_MODEL = """\
[scenario]
name = "with exits"
horizon_days = 6
warmup_days = 1
replications = 2
seed = 4
[[classes]]
name = "STEMI"
entry = "ED"
rate_per_hour = 1
[[classes]]
name = "other"
entry = "Ward"
rate_per_hour = 0.5
background = true
[[microsystems]]
name = "ED"
capacity = 3
service = { dist = "exponential", mean = 40 }
defect = 0.05
[[microsystems]]
name = "Ward"
capacity = 12
service = { dist = "lognormal", median = 5, log_sd = 0.5, unit = "hours" }
exit_delay = 30
[[handoffs]]
from = "ED"
to = "Ward"
probability = 0.8
[[handoffs]]
from = "Ward"
to = "ED"
probability = 0.05
[[exits]]
from = "Ward"
name = "death"
probability = { STEMI = 0.05, other = 0.1 }
delay = { dist = "fixed", value = 2, unit = "hours" }
reference = "DOMAIN.md: STEMI in-hospital mortality about 5%"
[[exits]]
from = "ED"
name = "transfer_out"
probability = 0.1
delay = 20
"""


@pytest.fixture(scope="module")
def exits_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exits")
    path = folder / "exits.toml"
    path.write_text(textwrap.dedent(_COMMAND_MODEL))
    shutil.copy(path, folder / "exits_copy.toml")
    return path


@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
def test_every_command_runs_a_model_with_exits(exits_file, tmp_path, capsys, command):
    """Every command exits 0 on a model with named exits, and its JSON is strict and carries the outcomes."""
    f = exits_file
    args = [a.format(f=f, g=f.with_name("exits_copy.toml"), o=tmp_path).replace('"Clinic"', '"ED"')
            for a in COMMANDS[command]]
    args += ["--quiet"] if args[0] not in ("validate", "analyze") else []
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    payload = strict_json(out) if command == "run --json -" else None
    written = tmp_path / "out.json"
    if payload is None and written.exists():
        payload = strict_json(written.read_text())
    if command.startswith("run --json") or command in ("run --records summary", "run --checkpoint"):
        assert isinstance(payload, dict)
        outcomes = payload["journeys"]["outcomes"]
        assert list(outcomes) == ["discharged", "death", "transfer_out"]
        assert outcomes["death"]["exact"] == pytest.approx(0.8 * 0.05 / 0.96)  # 0.8 reach the ward; feedback
    if command == "analyze":
        assert isinstance(payload, dict)
        assert payload["outcomes"]["pathway"]["transfer_out"] == pytest.approx(0.1 / 0.96)
    if command == "analyze text":
        assert "transfer_out" in out
    if command == "run":
        assert "Outcomes" in out and "death" in out
    if command in ("compare", "sweep"):
        assert "outcomes.death.share" in json.dumps(payload)
    if command == "run --report --events":
        assert "Outcomes" in (tmp_path / "r.html").read_text()
        assert '<string key="outcome" value="' in (tmp_path / "e.xes").read_text()
    if command == "run --events csv":
        assert "case:outcome" in (tmp_path / "e.csv").read_text().splitlines()[0]


def test_sweep_sets_an_exit_probability(exits_file, tmp_path, capsys):
    """--set exits["FROM:NAME"].probability.CLASS sweeps a named exit; a wrong name is an error with a hint."""
    code = main(["sweep", str(exits_file), "--set", 'exits["Ward:death"].probability.STEMI=0.0,0.2',
                 "--json", str(tmp_path / "s.json"), "--quiet", "--replications", "1"])
    capsys.readouterr()
    assert code == 0
    points = strict_json((tmp_path / "s.json").read_text())["points"]
    death = [p["mean"] for p in points if p["metric"] == "outcomes.death.share"]
    assert death[0] == 0.0 and 0.05 < death[1] < 0.5  # exact 0.8 * 0.2 / 0.96 = 0.167
    code = main(["sweep", str(exits_file), "--set", 'exits["Ward:dead"].probability=0.1', "--quiet"])
    assert code == 2 and 'did you mean exits["Ward:death"]' in capsys.readouterr().err


def test_extends_changes_an_exit_by_from_and_name(tmp_path):
    """In an extends file an exit is matched by from and name: changed, removed, or added."""
    extra = '[[exits]]\nfrom = "Telemetry"\nname = "death"\nprobability = 0.05'
    write(tmp_path, _FILE.format(extra=extra), "base.toml")
    child = write(tmp_path, """\
    extends = "base.toml"
    [[exits]]
    from = "Telemetry"
    name = "death"
    probability = 0.08
    [[exits]]
    from = "ED"
    name = "death"
    remove = true
    [[exits]]
    from = "Telemetry"
    name = "nursing_home"
    probability = 0.1
    """, "child.toml")
    exits = js.load_scenario(child).model.exits
    assert [(x.source, x.name, x.probability.get("STEMI")) for x in exits] == [
        ("Telemetry", "death", 0.08), ("Telemetry", "nursing_home", 0.1)]
