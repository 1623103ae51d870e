"""The command line: validate, run, analyze; every kind of bad input gives its message and status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write
from journeysim.cli import main

GOOD = """\
[scenario]
name = "two-step"
horizon_days = 5
replications = 2
seed = 3

[[classes]]
name = "A"
entry = "ED"
rate_per_hour = 2

[[microsystems]]
name = "ED"
capacity = 3
service = { dist = "exponential", mean = 30 }
defect = 0.05

[[microsystems]]
name = "Ward"
capacity = 10
service = { dist = "lognormal", median = 2, log_sd = 0.5, unit = "hours" }

[[handoffs]]
from = "ED"
to = "Ward"
probability = 0.5
defects = { information = 0.2 }
"""


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_good_file(tmp_path, capsys):
    """A valid file validates with status 0."""
    code, out, _ = run_cli(capsys, "validate", write(tmp_path, GOOD))
    assert code == 0 and "ok" in out


BAD_CASES = {
    "syntax": (GOOD.replace('name = "two-step"', 'name = "two-step'), ["TOML syntax error", "s.toml:2"]),
    "unknown key": (GOOD.replace("capacity = 3", "capcity = 3"),
                    ["microsystems[0] (ED).capcity: unknown key; did you mean 'capacity'?", "s.toml:14"]),
    "wrong type": (GOOD.replace("capacity = 10", 'capacity = "ten"'),
                   ["microsystems[1] (Ward).capacity: must be a positive integer or 'unlimited'"]),
    "out of range": (GOOD.replace("information = 0.2", "information = 1.4"),
                     ["handoffs[0] (ED -> Ward).defects.information: 1.4 is not a probability in [0, 1]", "s.toml:27"]),
    "missing key": (GOOD.replace('entry = "ED"\n', ""), ["classes[0] (A).entry: is required"]),
    "unknown node": (GOOD.replace('to = "Ward"', 'to = "Wrad"'),
                     ["handoffs[0] (ED -> Wrad).to: unknown microsystem 'Wrad' (did you mean 'Ward'?)"]),
    "routing over 1": (GOOD + '\n[[handoffs]]\nfrom = "ED"\nto = "ED"\nprobability = 0.7\n',
                       ["microsystems[0] (ED): handoff probabilities out of 'ED' add up to 1.2 > 1 for class 'A'"]),
    "unreachable": (GOOD + '\n[[microsystems]]\nname = "Rehab"\nservice = 10\n',
                    ["microsystems[2] (Rehab): no patient can reach this microsystem"]),
    "cannot leave": (GOOD + '\n[[handoffs]]\nfrom = "Ward"\nto = "Ward"\nprobability = 1.0\n',
                     ["microsystems[1] (Ward): patients of class 'A' who reach 'Ward' can never leave the pathway"]),
    "capacity zero": (GOOD.replace("capacity = 3", "capacity = 0"),
                      ["microsystems[0] (ED).capacity: must be a positive integer or 'unlimited', got 0"]),
    "bad distribution": (GOOD.replace('dist = "exponential", mean = 30', 'dist = "exponential", mena = 30'),
                         ["microsystems[0] (ED).service.mena: unknown parameter of exponential; did you mean 'mean'?"]),
    "unknown class": (GOOD.replace("probability = 0.5", "probability = { B = 0.5 }"),
                      ["handoffs[0] (ED -> Ward).probability.B: unknown patient class 'B'"]),
}


@pytest.mark.parametrize("case", list(BAD_CASES), ids=list(BAD_CASES))
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_input_message_and_status_2(tmp_path, capsys, case, command):
    """Each kind of bad input names file and key path, exits 2, prints no traceback, writes no output."""
    text, expected = BAD_CASES[case]
    path = write(tmp_path, text)
    out_json = tmp_path / "out.json"
    args = [command, path] + (["--json", out_json] if command == "run" else [])
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert "Traceback" not in err
    for fragment in expected:
        assert fragment in err, (fragment, err)
    assert str(path) in err
    assert not out_json.exists()
    assert not list(tmp_path.glob(".journeysim-*"))


def test_every_problem_listed_at_once(tmp_path, capsys):
    """Several problems in one file are all reported, one line each."""
    text = GOOD.replace("capacity = 3", "capacity = -1").replace("information = 0.2", "information = 2").replace(
        'to = "Ward"', 'to = "Nowhere"'
    ).replace("horizon_days = 5", "horizon_days = -5")
    code, _, err = run_cli(capsys, "validate", write(tmp_path, text))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 3, err  # capacity, information (on the handoff to Nowhere), horizon
    # the ED that could not be built is reported once, not again by the class that enters there
    assert not any("unknown microsystem 'ED'" in x for x in lines), err
    assert any("capacity" in x for x in lines)
    assert any("information" in x for x in lines)
    assert any("Nowhere" in x for x in lines)
    assert any("horizon_days" in x for x in lines)


def test_missing_file(tmp_path, capsys):
    """A file that does not exist is a clear error with status 2."""
    code, _, err = run_cli(capsys, "run", tmp_path / "nope.toml")
    assert code == 2 and "cannot read the file" in err


def test_bad_command_line_value_is_status_2(capsys):
    """A bad option value is rejected by argparse with status 2."""
    with pytest.raises(SystemExit) as exc:
        main(["run", "x.toml", "--replications", "0"])
    assert exc.value.code == 2


def test_run_json_has_the_documented_keys(tmp_path, capsys):
    """`run --json` writes the keys the issue and docs/results.md promise."""
    path = write(tmp_path, GOOD)
    out = tmp_path / "r.json"
    code, text, _ = run_cli(capsys, "run", path, "--json", out, "--replications", "3", "--seed", "9")
    assert code == 0 and "Quality of the health system" in text
    d = json.loads(out.read_text())
    assert d["scenario"] == "two-step" and d["seed"] == 9 and d["replications"] == 3
    assert d["journeysim_version"]
    assert d["journeys"]["arrived"] == d["journeys"]["completed"] > 0
    for key in ("mean", "ci95", "p50", "p90"):
        assert key in d["journeys"]["time_in_system_minutes"]
    sysq = d["quality"]["system"]
    assert 0 <= sysq["simulated"]["mean"] <= 1 and len(sysq["simulated"]["ci95"]) == 2
    assert sysq["analytic"] == pytest.approx(0.95 * (0.5 + 0.5 * 0.8))
    assert set(d["quality"]["by_class"]["A"]) >= {"simulated", "analytic"}
    assert set(d["quality"]["microsystems"]["ED"]) >= {"visits", "quality"}
    h = d["quality"]["handoffs"]["ED->Ward"]
    assert set(h) >= {"transfers", "quality", "by_kind"} and set(h["by_kind"]) == {"patient", "information", "services"}
    m = d["microsystems"]["Ward"]
    for key in ("wait_minutes", "sojourn_minutes", "utilisation"):
        assert set(m[key]) == {"mean", "ci95"}
    assert m["visits"] > 0


def test_json_to_stdout_is_pure_json(tmp_path, capsys):
    """`--json -` writes only JSON to standard output."""
    code, out, _ = run_cli(capsys, "run", write(tmp_path, GOOD), "--json", "-", "--replications", "1")
    assert code == 0
    assert json.loads(out)["replications"] == 1


def test_overrides_change_the_run(tmp_path, capsys):
    """--horizon-days and --warmup-days override the file."""
    out = tmp_path / "r.json"
    run_cli(capsys, "run", write(tmp_path, GOOD), "--horizon-days", "2", "--warmup-days", "1", "--json", out)
    d = json.loads(out.read_text())
    assert d["horizon_minutes"] == 2880 and d["warmup_minutes"] == 1440


def test_analyze(tmp_path, capsys):
    """`analyze` prints the exact quality without simulating."""
    out = tmp_path / "a.json"
    code, text, _ = run_cli(capsys, "analyze", write(tmp_path, GOOD), "--json", out)
    assert code == 0 and "Exact quality" in text
    assert json.loads(out.read_text())["quality"]["system"]["analytic"] == pytest.approx(0.95 * 0.9)


def test_console_script_installed(tmp_path):
    """The installed `journeysim` command runs and exits 2 on bad input without a traceback."""
    exe = Path(sys.executable).with_name("journeysim")
    assert exe.exists()
    bad = write(tmp_path, GOOD.replace("capacity = 3", "capacity = 0"))
    proc = subprocess.run([str(exe), "validate", str(bad)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 2
    assert "capacity" in proc.stderr and "Traceback" not in proc.stderr


def test_flagship_json_has_every_standard_by_group(tmp_path, capsys):
    """`run --json` on the flagship: standards.<name>.met / .minutes and the same per group value."""
    out = tmp_path / "ami.json"
    ami = Path(__file__).parent.parent / "scenarios" / "ami.toml"
    code, text, _ = run_cli(capsys, "run", ami, "--json", out, "--replications", "2", "--workers", "1",
                            "--horizon-days", "120", "--warmup-days", "0", "--quiet")
    assert code == 0 and "door_to_balloon" in text
    d = json.loads(out.read_text())
    names = ("door_to_ecg", "door_to_balloon", "fmc_to_device", "door_in_door_out", "follow_up_7d", "rehab_intake_30d")
    assert set(d["standards"]) == set(names)
    for name in names:
        st = d["standards"][name]
        cells = [st] + [st["by_group"][g][v] for g, values in (("channel", ("ems", "self", "transfer")),
                                                                ("hours", ("on", "off"))) for v in values]
        for cell in cells:
            assert set(cell["met"]) == {"mean", "ci95"} and set(cell["minutes"]) == {"p25", "p50", "p75", "p90"}
        assert 0 < st["met"]["mean"] < 1 and st["minutes"]["p25"] <= st["minutes"]["p50"] <= st["minutes"]["p90"]
        hours = st["by_group"]["hours"]
        assert hours["on"]["applies"] + hours["off"]["applies"] == st["applies"]
    # transfers are the only channel of door-in-door-out; direct presenters of door-to-balloon
    assert d["standards"]["door_in_door_out"]["by_group"]["channel"]["ems"]["applies"] == 0
    assert d["standards"]["door_to_balloon"]["by_group"]["channel"]["transfer"]["applies"] == 0
    assert d["quality"]["system"]["analytic_excludes"] == ["standards"]
    assert d["microsystems"]["CathLab"]["activation"]["ahead_share"]["mean"] > 0.2
