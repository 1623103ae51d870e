"""Hostile input: every bad file, number, name or option is a clean error.

The contract: exit status 2, one line per problem naming the file, the line and
the key path, every problem at once, no traceback, no hang and no output file.
Each case runs through the real command line (``journeysim.cli.main``), and some
through the installed ``journeysim`` program in a subprocess.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import journeysim as js
from journeysim.cli import main
from journeysim.errors import JourneySimError, Problem, SimulationError, ValidationError
from journeysim.io.scenario_file import MAX_FILE_BYTES, MAX_NESTING
from journeysim.model.milestones import Standard
from journeysim.run.checkpoint import CheckpointError
from journeysim.run.workers import WorkerLost

JOURNEYSIM = Path(sys.executable).with_name("journeysim")

# a small valid scenario; line numbers matter to the tests below
BASE = """\
[scenario]
name = "clinic"
horizon_days = 2
seed = 1

[[classes]]
name = "all"
entry = "Clinic"
rate_per_hour = 2

[[microsystems]]
name = "Clinic"
capacity = 1
service = { dist = "exponential", mean = 8 }
defect = 0.1

[[microsystems]]
name = "Ward"
service = { dist = "exponential", mean = 30 }

[[handoffs]]
from = "Clinic"
to = "Ward"
probability = 0.5
delay = 5
"""


def _write(tmp_path: Path, text: str | bytes, name: str = "s.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _status(argv: list[str]) -> int:
    """``main(argv)``, with argparse's exit turned into its status."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


def _refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]) -> list[str]:
    """Run ``argv`` with ``--json``; check status 2, no traceback, no JSON; return the error lines."""
    out = tmp_path / "out.json"
    status = _status([*argv, "--json", str(out)])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    assert not out.exists()
    return err.strip().splitlines()


def _program(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    if not JOURNEYSIM.exists():
        pytest.skip("the journeysim program is not installed beside this Python")
    return subprocess.run([str(JOURNEYSIM), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


# -- 1. files ------------------------------------------------------------------------
def _stray_byte(tmp_path: Path) -> Path:
    data = BASE.encode()
    at = data.index(b"rate_per_hour")
    return _write(tmp_path, data[:at] + b"\xff" + data[at:])


def _latin1(tmp_path: Path) -> Path:
    return _write(tmp_path, BASE.replace('"clinic"', '"clinïc"').encode("latin-1"))


def _deep_array(tmp_path: Path) -> Path:
    return _write(tmp_path, BASE + "x = " + "[" * 100_000 + "]" * 100_000 + "\n")


def _deep_table(tmp_path: Path) -> Path:
    return _write(tmp_path, BASE + "y = " + "{ a = " * 100_000 + "1" + " }" * 100_000 + "\n")


def _too_big(tmp_path: Path) -> Path:
    path = tmp_path / "big.toml"
    with path.open("wb") as fh:  # sparse: nothing is written
        fh.truncate(MAX_FILE_BYTES + 1)
    return path


FILES = {
    # id: (make the file, pattern of the one error line)
    "utf16-bom": (lambda t: _write(t, BASE.encode("utf-16")), r"s\.toml:1: the file is not UTF-8: .*UTF-16.*byte offset 0"),
    "latin1": (_latin1, r"s\.toml:2: the file is not UTF-8: byte 0xef at byte offset 23 "),
    "stray-byte": (_stray_byte, rf"s\.toml:9: the file is not UTF-8: byte 0xff at byte offset {BASE.index('rate_per')} "),
    "png": (lambda t: _write(t, b"\x89PNG\r\n\x1a\n" + np.random.default_rng(1).bytes(2000)),
            r"s\.toml:1: the file is not UTF-8: byte 0x89 at byte offset 0 "),
    "random-bytes": (lambda t: _write(t, np.random.default_rng(2).bytes(4096)), r"s\.toml:\d+: the file (is not UTF-8|contains a NUL)"),
    "nul-bytes": (lambda t: _write(t, BASE.replace("seed = 1", "seed = 1\0")), r"s\.toml:4: the file contains a NUL byte at byte offset 52"),
    "directory": (lambda t: t, r": cannot read the file: it is a directory$"),
    "too-big": (_too_big, r"big\.toml: cannot read the file: it is 20,000,001 bytes, more than the 20,000,000 bytes"),
    "deep-array": (_deep_array, rf"s\.toml:26: arrays or inline tables are nested more than {MAX_NESTING} levels deep"),
    "deep-inline-table": (_deep_table, rf"s\.toml:26: arrays or inline tables are nested more than {MAX_NESTING} levels"),
}


@pytest.mark.parametrize("case", FILES, ids=list(FILES))
def test_bad_files_are_refused_with_file_and_line(capsys, tmp_path, case):
    """A file that is not UTF-8, binary, a directory, too big or too deeply nested is one clean problem line."""
    make, pattern = FILES[case]
    lines = _refused(capsys, tmp_path, ["run", str(make(tmp_path)), "--quiet"])
    assert len(lines) == 1 and re.search(pattern, lines[0]), lines


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_special_files_are_refused_before_reading(tmp_path, special):
    """A FIFO or /dev/zero is refused from its status by the installed program: it never blocks or reads forever."""
    if special == "fifo":
        path = tmp_path / "pipe.toml"
        os.mkfifo(path)
        kind = "a FIFO (named pipe)"
    else:
        path = Path(special)
        if not path.exists():
            pytest.skip("no /dev/zero here")
        kind = "a character device"
    proc = _program("run", str(path), "--json", "out.json", cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{path}: cannot read the file: it is not a regular file but {kind}"
    assert not (tmp_path / "out.json").exists()


def _extends(tmp_path: Path, target: str) -> Path:
    return _write(tmp_path, f'# a redesign\nextends = "{target}"\n', "main.toml")


def _symlink_loop(tmp_path: Path) -> str:
    (tmp_path / "a.toml").symlink_to("b.toml")
    (tmp_path / "b.toml").symlink_to("a.toml")
    return "a.toml"


def _self_link(tmp_path: Path) -> str:
    (tmp_path / "self.toml").symlink_to("self.toml")
    return "self.toml"


def _fifo(tmp_path: Path) -> str:
    os.mkfifo(tmp_path / "pipe.toml")
    return "pipe.toml"


def _big_base(tmp_path: Path) -> str:
    _too_big(tmp_path)
    return "big.toml"


def _dir_base(tmp_path: Path) -> str:
    (tmp_path / "sub").mkdir()
    return "sub"


EXTENDS = {
    "symlink-loop": (_symlink_loop, "cannot read 'a.toml': it is a loop of symbolic links"),
    "symlink-to-itself": (_self_link, "cannot read 'self.toml': it is a loop of symbolic links"),
    "nul-in-path": (lambda t: "x\\u0000y", "'x\\x00y': the file name contains a NUL character"),
    "directory": (_dir_base, "cannot read 'sub': it is a directory"),
    "missing": (lambda t: "nowhere.toml", "cannot read 'nowhere.toml': no such file"),
    "fifo": (_fifo, "cannot read 'pipe.toml': it is not a regular file but a FIFO (named pipe)"),
    "too-big": (_big_base, "cannot read 'big.toml': it is 20,000,001 bytes, more than the 20,000,000 bytes"),
}


@pytest.mark.parametrize("case", EXTENDS, ids=list(EXTENDS))
def test_bad_extends_names_the_extends_line(capsys, tmp_path, case):
    """A base file that cannot be read is one problem at the file and line of ``extends``."""
    make, message = EXTENDS[case]
    main_file = _extends(tmp_path, make(tmp_path))
    lines = _refused(capsys, tmp_path, ["run", str(main_file), "--quiet"])
    assert len(lines) == 1 and lines[0].startswith(f"{main_file}:2: extends: {message}"), lines


def test_extended_file_gets_the_same_content_checks(capsys, tmp_path):
    """A base reached through ``extends`` that is not UTF-8 is refused, naming the base file and its line."""
    _latin1(tmp_path)
    main_file = _extends(tmp_path, "s.toml")
    lines = _refused(capsys, tmp_path, ["run", str(main_file), "--quiet"])
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / 's.toml'}:2: the file is not UTF-8: byte 0xef"), lines


def test_bad_files_through_the_installed_program(tmp_path):
    """The installed program refuses a UTF-16 file and a deep array with status 2, one line and no traceback."""
    for make in (FILES["utf16-bom"][0], _deep_array):
        path = make(tmp_path)
        proc = _program("run", str(path), "--json", "out.json", cwd=tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert not (tmp_path / "out.json").exists()


# -- 2. numbers that overflow after conversion ------------------------------------------
STANDARD = """
[[standards]]
name = "quick"
from = "arrive:Clinic"
to = "depart:Clinic"
within = 1e306
unit = "days"
"""
NUMBERS = {
    # id: (change to BASE, the expected start of the one problem line)
    "horizon_days": (("horizon_days = 2", "horizon_days = 1e308"), "s.toml:3: scenario.horizon_days: 1e+308 days is too large"),
    "horizon_huge_int": (("horizon_days = 2", "horizon_days = 1" + "0" * 400), "s.toml:3: scenario.horizon_days: must be"),
    "within_days": (("", STANDARD), "s.toml:31: standards[0] (quick).within: 1e+306 days is too large"),
    "rate_per_minute": (("rate_per_hour = 2", "rate_per_minute = 1e-320"),
                        "s.toml:9: classes[0] (all).rate_per_minute: 1e-320 arrivals per minute is out of range"),
    "rate_per_day": (("rate_per_hour = 2", "rate_per_day = 1e-321"), "s.toml:9: classes[0] (all).rate_per_day: "),
    "lognormal_log_sd": (('{ dist = "exponential", mean = 8 }', '{ dist = "lognormal", median = 30, log_sd = 300 }'),
                         "s.toml:14: microsystems[0] (Clinic).service: is too large for floating point"),
    "lognormal_mean": (('{ dist = "exponential", mean = 8 }', '{ dist = "lognormal", mean = 1e200, sd = 5 }'),
                       "s.toml:14: microsystems[0] (Clinic).service: mean 1e+200 and sd 5.0 give a lognormal that is too large"),
    "gamma_tiny": (('{ dist = "exponential", mean = 8 }', '{ dist = "gamma", shape = 1e-200, scale = 1e-200 }'),
                   "s.toml:14: microsystems[0] (Clinic).service: is too small for floating point"),
    "gamma_mean_sd": (('{ dist = "exponential", mean = 8 }', '{ dist = "gamma", mean = 1e-200, sd = 1 }'),
                      "s.toml:14: microsystems[0] (Clinic).service: mean 1e-200 and sd 1.0 give a gamma whose shape"),
    "standard_within_unit": (('{ dist = "exponential", mean = 8 }', '{ dist = "exponential", mean = 1e306, unit = "days" }'),
                             "s.toml:14: microsystems[0] (Clinic).service.mean: 1e+306 days is too large"),
    "frailty_correlation": (("seed = 1", "seed = 1\n\n[frailty]\ncorrelation = 1e-300"),
                            "s.toml:7: frailty.correlation: 1e-300 is too close to 0"),
    "team_ready": (("defect = 0.1", "defect = 0.1\nteam_ready = 1e200"), "s.toml:16: microsystems[0] (Clinic).team_ready: is too large"),
    "exit_delay": (("defect = 0.1", "defect = 0.1\nexit_delay = { dist = \"uniform\", low = 0, high = 1e200 }"),
                   "s.toml:16: microsystems[0] (Clinic).exit_delay: is too large"),
    "delay": (("delay = 5", "delay = { dist = \"triangular\", low = 0, mode = 1, high = 1e160 }"),
              "s.toml:25: handoffs[0] (Clinic -> Ward).delay: is too large"),
    "rework": (("delay = 5", "delay = 5\nrecovery = { probability = 0.5, rework = 1e200 }"),
               "s.toml:26: handoffs[0] (Clinic -> Ward).recovery.rework: is too large"),
    "empirical_values": (("delay = 5", 'delay = { dist = "empirical", values = [1, 1e306], unit = "days" }'),
                         "s.toml:25: handoffs[0] (Clinic -> Ward).delay.values[1]: 1e+306 days is too large"),
    "replications": (("seed = 1", "seed = 1\nreplications = 1180591620717411303424"),
                     "s.toml:5: scenario.replications: must be a positive integer up to 1,000,000"),
}


@pytest.mark.parametrize("case", NUMBERS, ids=list(NUMBERS))
def test_numbers_that_overflow_are_refused_by_their_key(capsys, tmp_path, case):
    """A valid TOML number that is not finite once converted is refused at validation, naming the key as written."""
    (old, new), expected = NUMBERS[case]
    text = BASE.replace(old, new, 1) if old else BASE + new
    path = _write(tmp_path, text)
    lines = _refused(capsys, tmp_path, ["run", str(path), "--quiet"])
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / expected}"), lines


def test_overflowing_set_value_names_the_value(capsys, tmp_path):
    """A ``--set`` value that overflows is refused before any run, naming the key, its line and the value."""
    path = _write(tmp_path, BASE)
    lines = _refused(capsys, tmp_path, ["sweep", str(path), "--set", "scenario.horizon_days=1,1e308", "--quiet"])
    assert lines == [f"{path}:3: scenario.horizon_days: 1e+308 days is too large: it is not a finite number when "
                     "converted to minutes (with --set scenario.horizon_days=1e+308)"]


@pytest.mark.parametrize("argv, message", [
    (["--horizon-days", "1e308"], "argument --horizon-days: expected a positive number of days, got '1e308', which is too large"),
    (["--warmup-days", "1e308"], "argument --warmup-days: expected a non-negative number of days, got '1e308', which is too large"),
    (["--horizon-days", "0"], "argument --horizon-days: expected a positive number of days, got '0'"),
    (["--warmup-days", "3"], "--warmup-days: must be shorter than the horizon (4320 >= 2880 minutes)"),
], ids=["horizon", "warmup", "horizon-zero", "warmup-past-horizon"])
def test_command_line_days_are_checked(capsys, tmp_path, argv, message):
    """``--horizon-days`` and ``--warmup-days`` that overflow or contradict are status 2 naming the option."""
    path = _write(tmp_path, BASE)
    lines = _refused(capsys, tmp_path, ["run", str(path), "--quiet", *argv])
    assert lines[-1].endswith(message), lines


@pytest.mark.parametrize("make", [
    lambda: js.LogNormal.from_median(30, 300),
    lambda: js.LogNormal.from_mean_sd(1e200, 1e200),
    lambda: js.Gamma(1e-200, 1e-200),
    lambda: js.Gamma.from_mean_sd(1e-200, 1.0),
    lambda: js.Fixed(1e200),
    lambda: js.Empirical((1e308, 1e308)),
    lambda: js.Frailty(1e-300),
    lambda: js.PatientClass("all", entry="A", rate=1e-320),
    lambda: Standard("s", start="start", end="end", within=1e306, unit="days"),
    lambda: js.simulate(js.Model([js.Microsystem("A", service=js.Fixed(1.0))],
                                 classes=[js.PatientClass("p", entry="A", rate=0.1)]), horizon=100.0, workers=0),
], ids=["lognormal-log-sd", "lognormal-mean-sd", "gamma-tiny", "gamma-mean-sd", "fixed", "empirical", "frailty",
        "rate", "standard", "simulate-workers"])
def test_python_callers_get_a_validation_error(make):
    """Making an overflowing element in Python raises ValidationError, not OverflowError or a silent inf."""
    with pytest.raises(ValidationError):
        make()


def test_huge_profile_weights_are_normalised_not_zero():
    """Profile weights of 1e308 (whose sum overflows) normalise to a flat profile instead of silently to 0."""
    assert js.ArrivalProfile(hours=(1e308,) * 24).is_flat


# -- 3. names ------------------------------------------------------------------------
NAMED = BASE.replace('"Clinic"', '"age>65"').replace('name = "all"', 'name = "dose=wrong"')


def test_names_the_docs_allow_run_end_to_end(capsys, tmp_path):
    """A microsystem named ``age>65`` and a class ``dose=wrong`` validate, run to JSON and take ``--set``."""
    path = _write(tmp_path, NAMED)
    out = tmp_path / "out.json"
    assert main(["run", str(path), "--quiet", "--json", str(out)]) == 0, capsys.readouterr().err
    summary = json.loads(out.read_text())
    assert "age>65" in summary["microsystems"] and "dose=wrong" in json.dumps(summary["quality"])
    sets = ['microsystems["age>65"].capacity=1,2', 'classes["dose=wrong"].rate_per_hour=1,2',
            'handoffs["age>65->Ward"].defects.information=0.3']
    argv = ["sweep", str(path), "--quiet", "--replications", "1"] + [x for s in sets for x in ("--set", s)]
    assert main(argv) == 0, capsys.readouterr().err


def _name_case(old: str, new: str, extra: str = "") -> str:
    return BASE.replace(old, new, 1) + extra


NAMES = {
    # id: (scenario text, the expected start of the problem line (after the file name))
    "node-arrow": (_name_case('name = "Ward"', 'name = "A->B"'), '18: microsystems[1] (A->B).name: \'A->B\' may not contain \'->\''),
    "node-fat-arrow": (_name_case('name = "Ward"', 'name = "A=>B"'), "18: microsystems[1] (A=>B).name: 'A=>B' may not contain '=>'"),
    "node-colon": (_name_case('name = "Ward"', 'name = "Lab:2"'), "18: microsystems[1] (Lab:2).name: 'Lab:2' may not contain ':'"),
    "node-tab": (_name_case('name = "Ward"', 'name = "Wa\\trd"'), "18: microsystems[1] (Wa\\trd).name: 'Wa\\trd' contains the control character '\\t'"),
    "node-newline": (_name_case('name = "Ward"', 'name = "Wa\\nrd"'), "18: microsystems[1] (Wa\\nrd).name: 'Wa\\nrd' contains the control character '\\n'"),
    "node-nul": (_name_case('name = "Ward"', 'name = "Wa\\u0000rd"'), "18: microsystems[1] (Wa\\x00rd).name: 'Wa\\x00rd' contains the control character '\\x00'"),
    "node-escape": (_name_case('name = "Ward"', 'name = "\\u001b[31mWard"'), "18: microsystems[1] (\\x1b[31mWard).name: '\\x1b[31mWard' contains the control character '\\x1b'"),
    "node-space-at-end": (_name_case('name = "Ward"', 'name = "Ward "'), "18: microsystems[1] (Ward ).name: 'Ward ' may not start or end with whitespace"),
    "class-default": (_name_case('name = "all"', 'name = "default"'), "7: classes[0] (default).name: 'default' is reserved"),
    "class-system": (_name_case('name = "all"', 'name = "system"'), "7: classes[0] (system).name: 'system' is reserved"),
    "class-tab": (_name_case('name = "all"', 'name = "a\\tll"'), "7: classes[0] (a\\tll).name: 'a\\tll' contains the control character"),
    "step-dot": (_name_case('service = { dist = "exponential", mean = 30 }', 'steps = [{ name = "a.b", dist = "fixed", value = 1 }]'),
                 "19: microsystems[1] (Ward).steps[0].name: 'a.b' may not contain '.'"),
    "defect-newline": (_name_case("defect = 0.1", 'defects = { "late\\n" = 0.1 }'), "15: microsystems[0] (Clinic).defects.late\\n.name: 'late\\n' contains the control character"),
    "standard-like-node": (BASE + '\n[[standards]]\nname = "Ward"\nfrom = "start"\nto = "end"\nwithin = 10\n',
                           "28: standards[0] (Ward).name: 'Ward' is also the name of a microsystem"),
    "standard-bell": (BASE + '\n[[standards]]\nname = "q\\u0007"\nfrom = "start"\nto = "end"\nwithin = 10\n',
                      "28: standards[0] (q\\x07).name: 'q\\x07' contains the control character '\\x07'"),
    "milestone-dot": (BASE + '\n[milestones]\n"door.x" = "arrive:Clinic"\n', "27: milestones.door.x: 'door.x' may not contain '.'"),
    "group-label-tab": (BASE + '\n[groups.g]\nentry = { "in\\thouse" = "Clinic" }\n', "28: groups.g.entry.in\\thouse: 'in\\thouse' contains the control character"),
    "scenario-name": (_name_case('name = "clinic"', 'name = "clinic\\u0000"'), "2: scenario.name: 'clinic\\x00' may not contain control characters"),
}


@pytest.mark.parametrize("case", NAMES, ids=list(NAMES))
def test_forbidden_names_are_refused(capsys, tmp_path, case):
    """A name with a control character, an ambiguous part or a reserved value is one problem line at its key."""
    text, expected = NAMES[case]
    path = _write(tmp_path, text)
    lines = _refused(capsys, tmp_path, ["run", str(path), "--quiet"])
    assert lines and lines[0].startswith(f"{path}:{expected}"), lines
    assert all("\t" not in line and "\x1b" not in line for line in lines)


# -- 4. the command line ---------------------------------------------------------------
def test_set_extends_is_an_error(capsys, tmp_path):
    """``--set extends=...`` is refused instead of being silently ignored."""
    path = _write(tmp_path, BASE)
    lines = _refused(capsys, tmp_path, ["sweep", str(path), "--set", 'extends="other.toml"', "--quiet"])
    assert lines == ["--set extends: extends cannot be set with --set; write a scenario file that extends the other one"]


@pytest.mark.parametrize("address, message", [
    ("not-a-url", "journeysim: --scheduler: cannot use the Dask scheduler at 'not-a-url': missing port number"),
    ("tcp://127.0.0.1:1", "journeysim: --scheduler: cannot use the Dask scheduler at 'tcp://127.0.0.1:1': "),
    ("", "argument --scheduler: expected a scheduler address such as tcp://host:8786, got ''"),
], ids=["not-a-url", "refused", "empty"])
def test_bad_scheduler_is_a_quick_clean_error(capsys, tmp_path, address, message):
    """A bad ``--scheduler`` address is status 2 within seconds, not a hang or a local run."""
    pytest.importorskip("distributed")
    path = _write(tmp_path, BASE)
    started = time.perf_counter()
    lines = _refused(capsys, tmp_path, ["run", str(path), "--quiet", "--scheduler", address])
    assert time.perf_counter() - started < 8
    assert message in lines[-1], lines


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31", "1677-01-01"])
def test_start_date_out_of_range_is_an_argument_error(capsys, tmp_path, date):
    """``--start-date`` outside the range of the event log's timestamps is an argparse error (status 2)."""
    path = _write(tmp_path, BASE)
    lines = _refused(capsys, tmp_path, ["run", str(path), "--quiet", "--events", str(tmp_path / "e.csv"),
                                        "--start-date", date])
    assert lines[-1].endswith(f"argument --start-date: expected a date between 1677-09-22 and 2262-04-11 (the range "
                              f"of the event log's timestamps), got '{date}'"), lines
    assert not (tmp_path / "e.csv").exists()


def test_start_date_plus_horizon_out_of_range_is_refused_before_the_run(capsys, tmp_path):
    """A start whose horizon runs past 2262 is refused before the simulation, with no output file."""
    path = _write(tmp_path, BASE.replace("horizon_days = 2", "horizon_days = 30"))
    lines = _refused(capsys, tmp_path, ["run", str(path), "--quiet", "--events", str(tmp_path / "e.csv"),
                                        "--start-date", "2262-04-01"])
    assert lines == ["journeysim: --start-date 2262-04-01: with the 30-day horizon the event log would run past "
                     "2262-04-11, the last date its timestamps can hold; give an earlier start"]
    assert not (tmp_path / "e.csv").exists()


def test_warmup_takes_the_days_options(capsys, tmp_path):
    """``warmup`` accepts ``--horizon-days`` (the pilot's length) and ``--warmup-days`` like ``run``."""
    path = _write(tmp_path, BASE)
    argv = ["warmup", str(path), "--quiet", "--replications", "2", "--horizon-days", "1", "--warmup-days", "0.25"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 pilot replications of 1 days" in out and "current warm-up:   0.25 days" in out


def test_warmup_days_past_the_horizon_is_refused(capsys, tmp_path):
    """``warmup --warmup-days`` longer than ``--horizon-days`` is status 2 naming the option."""
    path = _write(tmp_path, BASE)
    status = _status(["warmup", str(path), "--quiet", "--horizon-days", "1", "--warmup-days", "2"])
    assert status == 2
    assert capsys.readouterr().err.strip() == "--warmup-days: must be shorter than the horizon (2880 >= 1440 minutes)"


@pytest.mark.parametrize("argv, workers", [
    (["--workers", "50", "--precision", "0.5", "--max-replications", "3"], 3),
    (["--workers", "50", "--replications", "2"], 2),
    (["--workers", "1000", "--precision", "0.01", "--max-replications", "4"], 4),
], ids=["precision", "replications", "a thousand"])
def test_workers_are_capped_at_the_replications(capsys, tmp_path, argv, workers):
    """No more worker processes start than replications can run, nor than cores, and provenance says how many."""
    from journeysim.run.experiment import default_workers

    path = _write(tmp_path, BASE)
    out = tmp_path / "out.json"
    assert main(["run", str(path), "--quiet", "--json", str(out), *argv]) == 0
    assert json.loads(out.read_text())["provenance"]["workers"] == min(workers, default_workers())


# -- 5. errors raised in worker processes -------------------------------------------------
ERRORS = [
    ValidationError([Problem("a", "first", "f.toml", 3), Problem("b.c", "second")]),
    ValidationError([]),
    SimulationError("deadlock at t = 1.0 min"),
    JourneySimError("plain"),
    WorkerLost("a worker process died"),
    CheckpointError("another seed"),
]


@pytest.mark.parametrize("error", ERRORS, ids=[type(e).__name__ + str(i) for i, e in enumerate(ERRORS)])
def test_errors_round_trip_through_pickle(error):
    """Every journeysim error comes back from pickle (a worker process) with the same problems and message."""
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error) and back.args == error.args
    assert getattr(back, "problems", None) == getattr(error, "problems", None)


class _Refused:
    """A duration whose draws are refused, as a lazily checked user distribution would be."""

    mean = 1.0

    def sample(self, rng, size=None):
        raise ValidationError([Problem("service", "refused in the worker", "w.toml", 3), Problem("x", "second")])


def test_validation_error_in_a_worker_comes_back_whole():
    """A ValidationError raised in one of 2 worker processes is re-raised with its problems intact."""
    model = js.Model([js.Microsystem("A", service=_Refused())], classes=[js.PatientClass("p", entry="A", rate=0.1)])
    with pytest.raises(ValidationError) as caught:
        js.simulate(model, horizon=600.0, replications=2, workers=2, seed=1)
    assert caught.value.problems == (Problem("service", "refused in the worker", "w.toml", 3), Problem("x", "second"))
    assert str(caught.value) == "w.toml:3: service: refused in the worker\nx: second"


DEADLOCK = """\
[scenario]
horizon_days = 30
seed = 1
replications = 2

[[classes]]
name = "p"
entry = "A"
rate_per_minute = 0.2

[[microsystems]]
name = "A"
capacity = 1
service = { dist = "exponential", mean = 10 }

[[microsystems]]
name = "B"
capacity = 1
service = { dist = "exponential", mean = 10 }

[[handoffs]]
from = "A"
to = "B"
boarding = true

[[handoffs]]
from = "B"
to = "A"
probability = 0.5
boarding = true
"""


def test_simulation_error_in_a_worker_is_a_clean_exit(tmp_path):
    """A deadlock in a worker of a 2-worker run exits the installed program with status 2 and one line."""
    path = _write(tmp_path, DEADLOCK)
    proc = _program("run", str(path), "--workers", "2", "--json", "out.json", "--quiet", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(r"journeysim: deadlock at t = [\d.]+ min \(replication \d\): every bed of A, B", lines[0])
    assert not (tmp_path / "out.json").exists()


CLOCK = """\
[scenario]
name = "x"
horizon_days = 1

[[classes]]
name = "a"
entry = "A"
rate_per_hour = 2

[[microsystems]]
name = "A"
service = 5
schedule = [ { days = "Mon-Fri", hours = "08:00-17:00", capacity = 2 } ]
"""


@pytest.mark.parametrize(("old", "new", "key"), [("service = 5", "service = 99999999999999999999", "service"),
                                                 ("horizon_days = 1", "horizon_days = 1e7", "scenario.horizon_days")])
def test_times_beyond_the_clock_are_refused(tmp_path, capsys, old, new, key):
    """A mean duration or a horizon over 10^9 minutes is refused: at 10^20 minutes a float cannot tell one day
    from the next, and a run with a weekly schedule never ended (found by make fuzz)."""
    path = tmp_path / "s.toml"
    path.write_text(CLOCK.replace(old, new))
    code = main(["run", str(path), "--quiet", "--json", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2 and key in err and "clock" in err and not (tmp_path / "out.json").exists()
