"""Property-based tests: random valid scenarios run through every command, random corruptions are clean errors.

Whatever the scenario file, a command exits 0 or 2, never with a traceback, and
every JSON it writes is strict. ``make test`` runs a bounded number of examples
(the ``ci`` Hypothesis profile); ``make fuzz`` runs many more (``fuzz``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeysim.cli import main

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("fuzz", max_examples=1_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

NAMES = ["ED", "Ward", "Clinic B", "Salle d'attente", "Unit_7", "Rehab-2", "ICU", "Théâtre"]


def _toml(value: Any) -> str:
    """A TOML value (what the generator needs: numbers, strings, booleans, lists and inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def _table(header: str, entries: dict[str, Any]) -> str:
    return f"\n{header}\n" + "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in entries.items())


minutes = st.floats(min_value=0.5, max_value=90.0, allow_nan=False).map(lambda x: round(x, 3))
spread = st.floats(min_value=0.05, max_value=1.5).map(lambda x: round(x, 3))
probability = st.one_of(st.just(0.0), st.just(1.0), st.floats(min_value=0.0, max_value=1.0).map(lambda x: round(x, 4)))


@st.composite
def durations(draw: st.DrawFn, *, zero: bool = False) -> Any:
    """A duration as the scenario format writes it: a number of minutes or a distribution table."""
    kind = draw(st.sampled_from(["number", "fixed", "exponential", "lognormal", "lognormal_mean", "gamma",
                                 "triangular", "uniform", "empirical"]))
    m = draw(minutes)
    if kind == "number":
        return 0 if zero and draw(st.booleans()) else m
    if kind == "fixed":
        return {"dist": "fixed", "value": m}
    if kind == "exponential":
        return {"dist": "exponential", "mean": m}
    if kind == "lognormal":
        return {"dist": "lognormal", "median": m, "log_sd": draw(spread)}
    if kind == "lognormal_mean":
        return {"dist": "lognormal", "mean": m, "sd": round(m * draw(spread), 3)}
    if kind == "gamma":
        return {"dist": "gamma", "shape": round(draw(spread) * 4, 3), "scale": round(m / 4, 3),
                **({"unit": "hours"} if draw(st.booleans()) and m < 10 else {})}
    if kind == "triangular":
        return {"dist": "triangular", "low": round(m / 2, 3), "mode": m, "high": round(m * 2, 3)}
    if kind == "uniform":
        return {"dist": "uniform", "low": round(m / 2, 3), "high": m}
    return {"dist": "empirical", "values": draw(st.lists(minutes, min_size=1, max_size=5))}


@st.composite
def scenarios(draw: st.DrawFn) -> str:
    """A random valid scenario file: a graph with loops, classes, requests, schedules, defects or none, standards."""
    n = draw(st.integers(1, 5))
    nodes = NAMES[:n]
    supports = [f"Lab{i}" for i in range(draw(st.integers(0, 2)))]
    defects = draw(st.booleans())
    hours = draw(st.integers(1, 72))
    text = _table("[scenario]", {"name": "fuzzed", "horizon_hours": hours,
                                 "warmup_hours": draw(st.integers(0, hours - 1)),
                                 "replications": draw(st.integers(1, 3)), "seed": draw(st.integers(0, 2**32))})
    if draw(st.booleans()):
        text += _table("[frailty]", {"correlation": draw(st.sampled_from([0.0, 0.05, 0.3, 0.9]))})
    n_classes = draw(st.integers(1, 3))
    for k in range(n_classes):
        entries = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=2, unique=True))
        if k == 0 and nodes[0] not in entries:  # the first node is an entry: every node is wired
            entries = [nodes[0], *entries[:1]]
        entry: Any = entries[0] if len(entries) == 1 else {entries[0]: 0.25, entries[1]: 0.75}
        rate = draw(st.sampled_from([0.0, 0.2, 1.0, 3.0])) if k else draw(st.sampled_from([0.2, 1.0, 3.0]))
        text += _table("[[classes]]", {"name": f"class{k}", "entry": entry, "rate_per_hour": rate,
                                       "priority": draw(st.integers(0, 2)),
                                       **({"background": True} if k and draw(st.booleans()) else {})})
    for name in nodes + supports:
        node: dict[str, Any] = {"name": name, "service": draw(durations())}
        if name in supports:
            node["kind"] = "support"
        capacity = draw(st.sampled_from([1, 2, 5, "unlimited"]))
        node["capacity"] = capacity
        if defects and draw(st.booleans()):
            node["defects"] = {"missed": draw(probability), "late": draw(probability)}
        if capacity != "unlimited" and draw(st.integers(0, 4)) == 0:
            node["schedule"] = [{"days": "Mon-Fri", "hours": "08:00-17:00", "capacity": capacity + 1}]
        if name not in supports and draw(st.integers(0, 3)) == 0:
            node["exit_delay"] = draw(durations(zero=True))
        if draw(st.integers(0, 4)) == 0:
            node["cost"] = {"per_visit": draw(st.integers(0, 500)), "per_minute": 1.5}
        text += _table("[[microsystems]]", node)
    for i, name in enumerate(nodes):
        targets = draw(st.lists(st.sampled_from(nodes), max_size=3, unique=True))
        if i + 1 < n and nodes[i + 1] not in targets:  # every node is wired to the one before it
            targets.append(nodes[i + 1])
        weights = [draw(st.integers(0, 10)) for _ in targets]
        total = sum(weights) or 1
        leave = draw(st.sampled_from([0.05, 0.3, 1.0]))  # patients can always leave: no trap
        for target, w in zip(targets, weights):
            handoff: dict[str, Any] = {"from": name, "to": target, "probability": round((1 - leave) * w / total, 4)}
            if defects and draw(st.booleans()):
                handoff["defects"] = {"information": draw(probability), "patient": draw(probability)}
            if draw(st.integers(0, 3)) == 0:
                handoff["delay"] = draw(durations(zero=True))
            text += _table("[[handoffs]]", handoff)
    for s in supports:
        text += _table("[[requests]]", {"from": draw(st.sampled_from(nodes)), "to": s, "probability": draw(probability),
                                        **({"defects": {"services": draw(probability)}} if defects else {})})
    if draw(st.booleans()):
        a, b = draw(st.sampled_from(nodes)), draw(st.sampled_from(nodes))
        text += _table("[[standards]]", {"name": "in_time", "from": f"arrive:{a}", "to": f"depart:{b}",
                                         "within": draw(minutes), "reached_only": draw(st.booleans())})
    return text


def _strict(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err
    return code, out, err


@given(text=scenarios())
def test_random_valid_scenarios_run_through_every_command(tmp_path_factory, capsys, text):
    """validate, analyze and run (text, JSON, summary records) all exit 0 with strict JSON."""
    folder = tmp_path_factory.mktemp("valid")
    path = folder / "s.toml"
    path.write_text(text, encoding="utf-8")
    code, _, err = _run(capsys, "validate", str(path))
    assert code == 0, f"{err}\n{text}"
    assert _run(capsys, "analyze", str(path), "--json", str(folder / "a.json"))[0] == 0
    _strict((folder / "a.json").read_text())
    code, _, err = _run(capsys, "run", str(path), "--quiet", "--workers", "1", "--json", str(folder / "r.json"))
    assert code == 0, f"{err}\n{text}"
    _strict((folder / "r.json").read_text())
    code, out, err = _run(capsys, "run", str(path), "--quiet", "--records", "summary", "--json", "-")
    assert code == 0, err
    _strict(out)


BASE = """\
[scenario]
name = "two steps"
horizon_hours = 30
warmup_hours = 2
replications = 2
seed = 5

[[classes]]
name = "A"
entry = "ED"
rate_per_hour = 2

[[microsystems]]
name = "ED"
capacity = 2
service = { dist = "lognormal", median = 30, log_sd = 0.5 }
defects = { late = 0.1 }
cost = { per_visit = 100 }

[[microsystems]]
name = "Ward"
capacity = 4
service = { dist = "exponential", mean = 120 }
schedule = [ { days = "Mon-Fri", hours = "08:00-17:00", capacity = 6 } ]

[[handoffs]]
from = "ED"
to = "Ward"
probability = 0.5
defects = { information = 0.2 }

[[standards]]
name = "door_to_ward"
from = "arrive:ED"
to = "arrive:Ward"
within = 90
"""

GARBAGE = ["", "0", "-1", "1e308", "-1e308", "1e-320", "nan", "inf", "-inf", '"x"', '""', "true", "[]", "{}",
           "[[1]]", '{ dist = "x" }', "1.5", "99999999999999999999", '"\\u0000"', '"a->b"', "'''", "[", "}"]


@st.composite
def corruptions(draw: st.DrawFn) -> bytes:
    """A valid file with one random corruption: a line removed, doubled or swapped, a value replaced, bytes inserted."""
    lines = BASE.splitlines(keepends=True)
    i = draw(st.integers(0, len(lines) - 1))
    how = draw(st.sampled_from(["drop", "double", "swap", "value", "bytes", "truncate", "key"]))
    if how == "drop":
        del lines[i]
    elif how == "double":
        lines.insert(i, lines[i])
    elif how == "swap":
        j = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif how == "value" and "=" in lines[i]:
        key = lines[i].split("=", 1)[0]
        lines[i] = f"{key}= {draw(st.sampled_from(GARBAGE))}\n"
    elif how == "key" and "=" in lines[i]:
        lines[i] = draw(st.sampled_from(["capcity", "probablity", "extends", "from", "x y", "schedule"])) + \
            " =" + lines[i].split("=", 1)[1]
    data = "".join(lines).encode("utf-8")
    if how == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    elif how == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    return data


@given(data=corruptions())
def test_random_corruptions_are_clean_errors_or_valid(tmp_path_factory, capsys, data):
    """A corrupted file gives status 2 with no output file, or is still valid and runs: never a traceback."""
    folder = tmp_path_factory.mktemp("corrupt")
    path = folder / "s.toml"
    path.write_bytes(data)
    code, _, _ = _run(capsys, "validate", str(path))
    out = folder / "out.json"
    run_code, _, run_err = _run(capsys, "run", str(path), "--quiet", "--workers", "1", "--json", str(out))
    if code == 2:
        assert run_code == 2
    if run_code == 2:
        assert run_err.strip() and not out.exists()
        assert all(line.startswith((str(path), "journeysim: ")) for line in run_err.strip().splitlines()), run_err
    else:
        _strict(out.read_text())
    assert not [p for p in Path(folder).iterdir() if p.name.startswith(".journeysim-")]
