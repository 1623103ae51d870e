"""Start-up: the quick commands load only what they use (the issue's target is measured in benchmarks/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
HEAVY = ("scipy.stats", "pandas", "matplotlib", "simpy")

PROBE = """
import contextlib, io, json, sys
from journeysim.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)))
"""


@pytest.mark.parametrize("command", [["--version"], ["--help"], ["run", "--help"],
                                     ["validate", str(ROOT / "scenarios" / "ami.toml")]])
def test_quick_commands_do_not_load_the_heavy_libraries(command):
    """`--version`, `--help` and `validate` import neither scipy.stats, pandas, matplotlib nor simpy."""
    out = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *command],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_import_journeysim_loads_names_on_first_use():
    """``import journeysim`` is cheap; a public name loads its module when first used, and every name resolves."""
    code = ("import sys, journeysim as js; before = 'pandas' in sys.modules or 'simpy' in sys.modules; "
            "missing = [n for n in js.__all__ if getattr(js, n, None) is None]; "
            "print(before, missing, js.plot.__name__, js.plot.pathway.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "[]", "journeysim.plot", "journeysim.outputs.plot"]
