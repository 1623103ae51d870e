"""The example scenarios shipped in the package: found by name, copied to a folder, loaded from either place."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import journeysim as js
from journeysim import examples
from journeysim.cli import main
from test_startup import HEAVY, PROBE

ROOT = Path(__file__).parent.parent
PACKAGE_FOLDER = ROOT / "src" / "journeysim" / "scenarios"


def test_the_repository_scenarios_folder_is_the_package_folder():
    """`scenarios/` in a clone is a link to the shipped folder, so docs, tests and the Makefile read the same files."""
    assert (ROOT / "scenarios").resolve() == PACKAGE_FOLDER.resolve()
    assert examples.names() == sorted(p.stem for p in PACKAGE_FOLDER.glob("*.toml"))
    assert {"ami", "ami_handoff_redesign", "urgent_care_day"} <= set(examples.names())


@pytest.mark.parametrize("name", examples.names())
def test_every_example_loads_from_the_package_and_from_a_copy(name, tmp_path):
    """Each example validates where it is installed and, copied, beside the files it ``extends``."""
    installed = js.load_scenario(examples.path(name))
    examples.copy(tmp_path)
    copied = js.load_scenario(tmp_path / f"{name}.toml")
    assert copied.name == installed.name
    assert js.exact_quality(copied.model).system == js.exact_quality(installed.model).system


def test_path_accepts_the_file_name_and_names_the_examples_for_an_unknown_one():
    assert examples.path("tandem.toml") == examples.path("tandem") == PACKAGE_FOLDER / "tandem.toml"
    with pytest.raises(js.ValidationError) as err:
        examples.path("tandm")
    message = str(err.value)
    assert "'tandm'" in message and "did you mean 'tandem'" in message
    assert all(n in message for n in examples.names())
    with pytest.raises(js.ValidationError, match="the examples are: ami, "):
        examples.path("zzz")


def test_copy_refuses_to_overwrite_and_names_every_clash(tmp_path):
    (tmp_path / "ami.toml").write_text("# mine\n")
    (tmp_path / "tandem.toml").write_text("# mine too\n")
    with pytest.raises(js.ValidationError) as err:
        examples.copy(tmp_path)
    assert [p.file for p in err.value.problems] == [str(tmp_path / "ami.toml"), str(tmp_path / "tandem.toml")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ami.toml", "tandem.toml"]  # nothing copied
    assert (tmp_path / "ami.toml").read_text() == "# mine\n"
    written = examples.copy(tmp_path, force=True)
    assert [p.name for p in written] == [f"{n}.toml" for n in examples.names()]
    assert (tmp_path / "ami.toml").read_bytes() == examples.path("ami").read_bytes()


def test_copy_makes_missing_folders_and_refuses_a_file(tmp_path):
    assert len(examples.copy(tmp_path / "a" / "b")) == len(examples.names())
    (tmp_path / "file").write_text("")
    with pytest.raises(js.ValidationError, match="is not a folder"):
        examples.copy(tmp_path / "file")


def test_from_a_zip_archive_copy_works_and_path_says_to_copy(tmp_path, monkeypatch):
    """Where the package is not on disk (a zip), ``path`` cannot give a file: it says to copy, and copy works."""
    archive = tmp_path / "journeysim.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in ("ami", "ami_handoff_redesign"):
            z.writestr(f"journeysim/scenarios/{name}.toml", examples.path(name).read_bytes())
    monkeypatch.setattr(examples, "_folder", lambda: zipfile.Path(archive, "journeysim/scenarios/"))
    assert examples.names() == ["ami", "ami_handoff_redesign"]
    with pytest.raises(js.JourneySimError, match="copy them"):
        examples.path("ami")
    written = examples.copy(tmp_path / "out")
    assert js.load_scenario(written[1]).name == "AMI pathway: structured handovers"


def test_cli_copies_lists_and_refuses(tmp_path, capsys):
    folder = tmp_path / "my-examples"
    assert main(["examples", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"copied {len(examples.names())} example scenarios into {folder}" in out
    assert all(str(folder / f"{n}.toml") in out for n in examples.names())
    assert f"journeysim run {folder / 'ami.toml'}" in out

    assert main(["examples", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("exists already; --force") == len(examples.names()) and "Traceback" not in err

    (folder / "ami.toml").write_text("# edited\n")
    assert main(["examples", str(folder), "--force"]) == 0
    assert (folder / "ami.toml").read_bytes() == examples.path("ami").read_bytes()

    assert main(["examples", str(folder / "ami.toml")]) == 2
    assert "it is a file, not a folder" in capsys.readouterr().err

    assert main(["examples"]) == 2
    assert "give the folder" in capsys.readouterr().err

    assert main(["examples", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == examples.names()
    assert lines[0].split()[1] == str(examples.path("ami"))


def test_version_is_written_once():
    """pyproject.toml reads the version from _version.py (``journeysim --version`` imports no metadata)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "journeysim._version.__version__"}


def test_the_command_loads_no_heavy_library(tmp_path):
    """`journeysim examples` is a quick command: it imports neither scipy.stats, pandas, matplotlib nor simpy."""
    for command in (["examples", "--list"], ["examples", str(tmp_path / "copies")]):
        out = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *command],
                             capture_output=True, text=True, check=True)
        assert json.loads(out.stdout.splitlines()[-1]) == []
    assert len(list((tmp_path / "copies").glob("*.toml"))) == len(examples.names())


#: examples whose load warnings are intended, each said so in its header and in docs/examples.md
INTENDED_OVERLOAD = {"urgent_care_day": {"NonTraumaTreatment"}}


@pytest.mark.parametrize("name", examples.names())
def test_the_examples_are_stable_but_where_the_overload_is_the_point(name):
    """readmission_loop's Ward once had 24 beds for 64 busy on average (load 2.68, waits of months): a teaching
    model has every offered load below 1, or says why not (urgent_care_day's one cubicle, for a day that stops)."""
    from journeysim.model.diagnostics import model_warnings

    model = js.load_scenario(examples.path(name)).model
    overloaded = {p.path.split("(")[1].rstrip(")") for p in model_warnings(model) if "offered load" in p.message}
    assert overloaded == INTENDED_OVERLOAD.get(name, set())
    for intended in INTENDED_OVERLOAD.get(name, ()):
        text = examples.path(name).read_text()
        assert f"{intended} is offered more work than it can do" in " ".join(text.replace("#", " ").split())
        assert "intended" in text
    docs = (Path(__file__).resolve().parents[1] / "docs" / "examples.md").read_text()
    assert (f"`{name}` warns, on purpose" in docs) == (name in INTENDED_OVERLOAD)
