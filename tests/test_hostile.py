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
from journeysim.checkpoint import CheckpointError
from journeysim.cli import main
from journeysim.errors import JourneySimError, Problem, SimulationError, ValidationError
from journeysim.workers import WorkerLost

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
