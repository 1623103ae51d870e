"""The wheel, installed away from the repository, has the example scenarios and runs the flagship.

Marked ``slow`` (``pytest -m "not slow"`` leaves it out): it builds the wheel and installs it into a
new virtual environment, a few seconds where most tests take milliseconds. It needs no network: the wheel is built with this environment's setuptools
(``--no-build-isolation``), and the new environment borrows this one's installed dependencies
(numpy, simpy...) through a ``.pth`` file instead of downloading them. A path listed in a
``.pth`` file does not have its own ``.pth`` files run, so this environment's editable
install of journeysim (a ``.pth`` naming the repository's ``src``) does not come along: the
test checks that the journeysim it runs is the one inside the new environment.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent

#: What the build reads: the package, its metadata and the files the metadata names.
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "src")


def _run(args: list[str | Path], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{args} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """A new virtual environment with the built wheel installed; its ``bin`` folder, a folder outside the
    repository to work in, and the environment variables to run with."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PIP_NO_INDEX"] = "1"  # never the network
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    # build from a copy, so that the build's egg-info and build/ stay out of the working tree
    source = tmp / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", dist, source], tmp, env)
    (wheel,) = dist.glob("journeysim-*.whl")

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp, env)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp, env)
                   .stdout.strip())
    borrowed = [p for p in dict.fromkeys([*site.getsitepackages(), sysconfig.get_path("purelib")])
                if Path(p).is_dir() and not Path(p).resolve().is_relative_to((ROOT / "src").resolve())]
    (purelib / "borrowed_from_the_test_environment.pth").write_text("\n".join(borrowed) + "\n")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", wheel], tmp, env)

    work = tmp / "work"
    work.mkdir()
    return bin_dir, work, env


def test_the_installed_journeysim_is_the_wheel_not_the_repository(installed):
    bin_dir, work, env = installed
    code = ("import sys, journeysim, journeysim.examples as ex; "
            "print(journeysim.__file__); print(ex.path('ami')); print(sys.prefix); print(journeysim.__version__)")
    module, ami, prefix, version = _run([bin_dir / "python", "-c", code], work, env).stdout.split()
    venv = bin_dir.parent.resolve()
    assert Path(prefix).resolve() == venv
    assert Path(module).resolve().is_relative_to(venv), module
    assert Path(ami).resolve().is_relative_to(venv) and Path(ami).is_file()
    assert not Path(module).resolve().is_relative_to(ROOT.resolve())
    import journeysim

    assert version == journeysim.__version__


def test_examples_then_run_the_flagship(installed):
    """The user's first two commands after ``pip install journeysim``: copy the examples, run the flagship."""
    bin_dir, work, env = installed
    journeysim = bin_dir / "journeysim"
    copied = _run([journeysim, "examples", "my-examples"], work, env).stdout
    assert "copied" in copied and "my-examples/ami.toml" in copied.replace(os.sep, "/")
    files = sorted((work / "my-examples").glob("*.toml"))
    assert [f.name for f in files] == sorted(p.name for p in (ROOT / "src" / "journeysim" / "scenarios").glob("*.toml"))
    _run([journeysim, "validate", *files], work, env)  # every example, `extends` included, from the copy

    out = _run([journeysim, "run", "my-examples/ami.toml", "--replications", "2", "--workers", "1", "--quiet"],
               work, env).stdout
    assert "scenario: AMI pathway" in out and "2 replication(s)" in out
    assert "Quality of the health system" in out

    refused = subprocess.run([str(journeysim), "examples", "my-examples"], cwd=work, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "exists already" in refused.stderr and "Traceback" not in refused.stderr
