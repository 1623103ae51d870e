"""Outputs of the command line: checked before the run, written all-or-nothing, readable as the umask says."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from journeysim.cli import main

ROOT = Path(__file__).parent.parent
TANDEM = ROOT / "scenarios" / "tandem.toml"
RUN = ("--replications", "2", "--seed", "5", "--workers", "1", "--quiet")
SHORT = ("--horizon-days", "2", "--warmup-days", "0", *RUN)


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def left_in(folder: Path) -> list[str]:
    """Every name in ``folder``, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir())


# every command-line option that names an output, with a command that writes it
OUTPUTS = {
    "run --json": ("run", TANDEM, *SHORT, "--json"),
    "run --report": ("run", TANDEM, *SHORT, "--report"),
    "run --events": ("run", TANDEM, *SHORT, "--events"),
    "run --checkpoint": ("run", TANDEM, *SHORT, "--checkpoint"),
    "report -o": ("report", TANDEM, *SHORT, "-o"),
    "compare --json": ("compare", TANDEM, TANDEM, *RUN, "--json"),
    "sweep --csv": ("sweep", TANDEM, "--set", "microsystems.Treatment.capacity=2,3", *RUN, "--csv"),
    "sweep --json": ("sweep", TANDEM, "--set", "microsystems.Treatment.capacity=2,3", *RUN, "--json"),
    "analyze --json": ("analyze", TANDEM, "--json"),
}


def file_name(option: str) -> str:
    return {"--events": "out.csv", "--checkpoint": "ck", "--report": "out.html", "-o": "out.html",
            "--csv": "out.csv"}.get(option.split()[-1], "out.json")


@pytest.mark.parametrize("option", list(OUTPUTS))
def test_missing_directory_is_a_clear_error_for_every_output(tmp_path, capsys, option):
    """Every output option given a path in a directory that does not exist exits 2 with one line naming it, before any run."""
    target = tmp_path / "no" / "such" / file_name(option)
    if option.endswith("--checkpoint"):  # a checkpoint folder is made with its parents: its parent is a file here
        (tmp_path / "no").write_text("a file")
    code, out, err = run_cli(capsys, *OUTPUTS[option], target)
    assert code == 2 and "Traceback" not in err
    assert out == ""  # no summary: nothing was simulated
    assert err.count("\n") == 1 and str(target) in err and "cannot " in err
    assert left_in(tmp_path) == (["no"] if option.endswith("--checkpoint") else [])


@pytest.mark.parametrize("option", [o for o in OUTPUTS if not o.endswith("--checkpoint")])
def test_a_directory_as_output_file_is_a_clear_error(tmp_path, capsys, option):
    """An output file path that is an existing directory exits 2 before the run, saying it is a directory."""
    target = tmp_path / file_name(option)
    target.mkdir()
    code, out, err = run_cli(capsys, *OUTPUTS[option], target)
    assert code == 2 and out == "" and "Traceback" not in err
    assert f"{target}: cannot write" in err and "it is a directory" in err
    assert left_in(target) == []


def test_a_file_as_checkpoint_folder_is_a_clear_error(tmp_path, capsys):
    """--checkpoint naming a regular file exits 2 before the run and leaves the file as it was."""
    target = tmp_path / "results.json"
    target.write_text("{}")
    code, out, err = run_cli(capsys, *OUTPUTS["run --checkpoint"], target)
    assert code == 2 and out == "" and "Traceback" not in err
    assert f"{target}: cannot use it for the checkpoint: it is a file, not a folder" in err
    assert target.read_text() == "{}"


def test_every_output_problem_is_listed_at_once(tmp_path, capsys):
    """Several bad outputs give one line each, all in one go, and exit 2 before the run."""
    (tmp_path / "dir.html").mkdir()
    (tmp_path / "ck").write_text("")
    code, out, err = run_cli(capsys, "run", TANDEM, *SHORT, "--json", tmp_path / "no" / "r.json",
                             "--report", tmp_path / "dir.html", "--events", tmp_path / "e.parquet",
                             "--checkpoint", tmp_path / "ck")
    lines = err.splitlines()
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(lines) == 4 and all(line.startswith("journeysim: ") for line in lines)
    assert [p for p in ("r.json", "dir.html", "e.parquet", "ck") if any(p in line for line in lines)] == \
        ["r.json", "dir.html", "e.parquet", "ck"]


def test_the_same_path_for_two_outputs_is_refused(tmp_path, capsys):
    """One path given to two outputs exits 2 before the run (one would overwrite the other)."""
    target = tmp_path / "out.json"
    code, out, err = run_cli(capsys, "run", TANDEM, *SHORT, "--json", target, "--report", target)
    assert code == 2 and out == "" and "given to both --json and --report" in err
    assert left_in(tmp_path) == []


@pytest.fixture
def unprivileged(tmp_path, capsys):
    """Run the command line as someone who cannot write in a 0o555 folder: this user, or nobody when root."""
    if os.geteuid() != 0:
        return tmp_path, lambda *args: run_cli(capsys, *args)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: root may write in any folder")
    # pytest's folders are private to root: use one that nobody can reach
    shared = Path(tempfile.mkdtemp())
    shared.chmod(0o755)

    def run(*args):
        done = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                               "journeysim.cli", *map(str, args)], capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout, done.stderr

    yield shared, run
    shutil.rmtree(shared)


def test_a_directory_without_write_permission_is_reported_before_the_run(unprivileged):
    """An output whose directory cannot be written in exits 2 before the run, one line per output."""
    folder, run = unprivileged
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    code, out, err = run("run", TANDEM, *SHORT, "--json", locked / "r.json", "--events", locked / "e.xes",
                         "--checkpoint", locked / "ck")
    assert code == 2 and out == "" and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 3 and all(f"no permission to write in directory {locked}" in line for line in lines)
    assert left_in(locked) == []


LONG_STAYS = """\
[scenario]
name = "long stays"
horizon_days = 1
replications = 1
seed = 1

[[classes]]
name = "inpatient"
entry = "Ward"
rate_per_hour = 1

[[microsystems]]
name = "Ward"
service = 2000
"""


def test_a_late_failure_leaves_no_output_behind(tmp_path, capsys):
    """When the event log fails after the run, neither the JSON nor the report is written, nor any temporary file."""
    # the horizon ends on 11 April 2262, which pandas can hold; the stays that drain after it run past its last
    # date (23:47 that day), which is only known once the run is done
    scenario = tmp_path / "in" / "long.toml"
    scenario.parent.mkdir()
    scenario.write_text(LONG_STAYS)
    late = ("--events", tmp_path / "e.csv", "--start-date", "2262-04-10", "--report", tmp_path / "r.html")
    code, out, err = run_cli(capsys, "run", scenario, *RUN, "--json", tmp_path / "r.json", *late)
    assert code == 2 and "past the year 2262" in err and "Traceback" not in err
    assert left_in(tmp_path) == ["in"]
    # an earlier result at a target is kept as it was
    (tmp_path / "r.json").write_text("earlier")
    code, out, err = run_cli(capsys, "run", scenario, *RUN, "--json", tmp_path / "r.json", *late)
    assert code == 2 and left_in(tmp_path) == ["in", "r.json"] and (tmp_path / "r.json").read_text() == "earlier"
    # nor does JSON reach standard output
    code, out, err = run_cli(capsys, "run", scenario, *RUN, "--json", "-", *late)
    assert code == 2 and out == ""


def test_outputs_have_the_permissions_the_umask_gives(tmp_path, capsys, umask):
    """JSON, CSV, report and event log files get mode 0o666 less the umask, like any file the user makes."""
    file_mode, _ = umask
    assert run_cli(capsys, "run", TANDEM, *SHORT, "--json", tmp_path / "r.json", "--report", tmp_path / "r.html",
                   "--events", tmp_path / "e.xes.gz")[0] == 0
    assert run_cli(capsys, *OUTPUTS["sweep --csv"], tmp_path / "s.csv", "--json", tmp_path / "s.json")[0] == 0
    assert run_cli(capsys, "report", TANDEM, *SHORT, "-o", tmp_path / "report.html")[0] == 0
    written = left_in(tmp_path)
    assert written == ["e.xes.gz", "r.html", "r.json", "report.html", "s.csv", "s.json"]
    assert {name: stat.S_IMODE((tmp_path / name).stat().st_mode) for name in written} == \
        dict.fromkeys(written, file_mode)


def test_an_output_to_a_named_pipe_is_written_into_it(tmp_path, capsys):
    """A named pipe (like /dev/null or /dev/stdout) is written into, never replaced by a regular file."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    try:
        code, out, err = run_cli(capsys, "analyze", TANDEM, "--json", pipe)
        data = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert code == 0 and stat.S_ISFIFO(pipe.stat().st_mode)
    assert json.loads(data)["scenario"] == "Three-step tandem pathway"
