"""Checkpoints cannot mix runs: copied, foreign, damaged or orphaned files are recomputed or refused, never used."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import journeysim as js
from journeysim.cli import main
from journeysim.engine.plan import plan
from journeysim.run.checkpoint import CheckpointError, CheckpointStore, fingerprint
from test_experiment import CtrlCAfter, assert_same, comparable, model

ROOT = Path(__file__).parent.parent
TANDEM = ROOT / "scenarios" / "tandem.toml"
KW = dict(horizon=10_000.0, replications=4, seed=5)


@pytest.fixture(scope="module")
def uninterrupted():
    """The run every resumed run must equal."""
    return js.simulate(model(), **KW)


def assert_identical(a, b):
    """Same summary, same record tables and the same statistics of every replication, to the bit."""
    assert_same(comparable(a), comparable(b))
    assert len(a.stats) == len(b.stats)
    for sa, sb in zip(a.stats, b.stats):
        arrays_b = sb.to_arrays()
        assert sa.to_arrays().keys() == arrays_b.keys()
        for key, values in sa.to_arrays().items():
            np.testing.assert_array_equal(values, arrays_b[key], err_msg=key)


def resume(folder, **kw):
    """Run again on a checkpoint; give the result and the replications that were computed (not loaded)."""
    computed = []
    result = js.simulate(model(), checkpoint=folder, on_replication=lambda s: computed.append(s.replication),
                         **{**KW, **kw})
    return result, sorted(computed)


def rep(folder, i):
    return Path(folder) / f"rep-{i:06d}.npz"


def test_a_file_copied_over_another_replication_is_recomputed(tmp_path, uninterrupted):
    """rep-000003.npz copied over rep-000001.npz is recomputed, and the run equals an uninterrupted one exactly."""
    js.simulate(model(), checkpoint=tmp_path, **KW)
    shutil.copyfile(rep(tmp_path, 3), rep(tmp_path, 1))
    result, computed = resume(tmp_path)
    assert computed == [1]
    assert_identical(result, uninterrupted)
    assert resume(tmp_path)[1] == []  # the file was rewritten as replication 1


@pytest.mark.parametrize("other", [dict(seed=6), dict(horizon=12_000.0), dict(records="summary")],
                         ids=["other seed", "other scenario", "summary records"])
def test_a_file_from_another_run_is_refused(tmp_path, other):
    """A replication file written by another run makes the folder refused before anything runs, naming the file."""
    js.simulate(model(), checkpoint=tmp_path / "this", **KW)
    js.simulate(model(), checkpoint=tmp_path / "other", **{**KW, **other})
    shutil.copyfile(rep(tmp_path / "other", 2), rep(tmp_path / "this", 2))
    with pytest.raises(CheckpointError, match=r"mixes runs: rep-000002\.npz was written by another run"):
        resume(tmp_path / "this")


def test_replication_files_without_a_manifest_resume_only_their_own_run(tmp_path, uninterrupted):
    """Without manifest.json, another run is refused over the files; the run that wrote them resumes."""
    js.simulate(model(), checkpoint=tmp_path, **KW)
    (tmp_path / "manifest.json").unlink()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for other in (dict(seed=6), dict(horizon=12_000.0)):
        with pytest.raises(CheckpointError, match="has replication files but no manifest.json") as err:
            resume(tmp_path, **other)
        assert str(tmp_path) in str(err.value) and "delete the rep-*.npz files" in str(err.value)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing touched
    result, computed = resume(tmp_path)
    assert computed == [] and (tmp_path / "manifest.json").exists()
    assert_identical(result, uninterrupted)


MANIFESTS = {
    "not JSON": b"checkpoint of Tuesday",
    "truncated": b'{"format": 2, "fingerprint": "ab',
    "a list": b"[1, 2, 3]",
    "null": b"null",
    "not UTF-8": b'{"seed": "\xff\xfe"}',
    "wrong types": b'{"format": [2], "fingerprint": 7, "seed": {"a": 1}, "records": null, "journeysim_version": 1}',
}


@pytest.mark.parametrize("content", list(MANIFESTS.values()), ids=list(MANIFESTS))
def test_a_malformed_manifest_is_a_clear_error(tmp_path, capsys, content):
    """A manifest that is not a journeysim manifest is a CheckpointError from Python and exit 2 from the CLI."""
    (tmp_path / "manifest.json").write_bytes(content)
    with pytest.raises(CheckpointError, match=str(tmp_path)):
        resume(tmp_path)
    code = main(["run", str(TANDEM), "--horizon-days", "1", "--warmup-days", "0", "--replications", "1", "--quiet",
                 "--checkpoint", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("journeysim: ") and "Traceback" not in err and str(tmp_path) in err


def _without(path: Path, prefix: str) -> None:
    """Rewrite a replication file without the arrays whose names start with ``prefix``."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if not k.startswith(prefix)}
    np.savez(path, **arrays)


DAMAGE = {
    "garbage bytes": lambda p: p.write_bytes(b"\x00garbage" * 100),
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "a stats array missing": lambda p: _without(p, "stats/class_done"),
    "every stats array missing": lambda p: _without(p, "stats/"),
    "a record column missing": lambda p: _without(p, "records/visits/start"),
    "every record missing": lambda p: _without(p, "records/"),
    "no run stamp": lambda p: _without(p, "meta/"),
}


@pytest.mark.parametrize("damage", list(DAMAGE.values()), ids=list(DAMAGE))
def test_a_damaged_replication_file_is_recomputed(tmp_path, uninterrupted, damage):
    """A replication file that cannot be read in full is recomputed, never a traceback, and the run is exact."""
    js.simulate(model(), checkpoint=tmp_path, **KW)
    damage(rep(tmp_path, 2))
    result, computed = resume(tmp_path)
    assert computed == [2]
    assert_identical(result, uninterrupted)


def test_a_checkpoint_path_that_is_a_file_is_refused(tmp_path):
    """A checkpoint path naming a regular file is a CheckpointError, and the file is left as it was."""
    target = tmp_path / "results.json"
    target.write_text("{}")
    with pytest.raises(CheckpointError, match="it is a file, not a folder"):
        resume(target)
    assert target.read_text() == "{}"


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_leaves_a_consistent_checkpoint(tmp_path, uninterrupted, workers):
    """Ctrl-C after two replications leaves only complete files of this run; rerunning gives the uninterrupted run."""
    ctrl_c = CtrlCAfter(2)
    with pytest.raises(KeyboardInterrupt):
        js.simulate(model(), checkpoint=tmp_path, workers=workers, on_replication=ctrl_c, **KW)
    seen = ctrl_c.seen
    store = CheckpointStore(tmp_path, fingerprint(model(), KW["horizon"], 0.0), seed=KW["seed"], records="full")
    assert sorted(store.finished()) == sorted(seen)
    assert all(store.load(i, plan(model())) is not None for i in seen)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", *(rep(tmp_path, i).name for i in sorted(seen))]
    result, computed = resume(tmp_path, workers=workers)
    assert computed == sorted(set(range(KW["replications"])) - set(seen))
    assert_identical(result, uninterrupted)


def test_ctrl_c_on_the_command_line_exits_130_and_the_run_resumes(tmp_path):
    """Ctrl-C (SIGINT to the whole process group) gives status 130, one line and no traceback; the rerun is exact."""
    args = [sys.executable, "-m", "journeysim.cli", "run", str(TANDEM), "--horizon-days", "500", "--replications", "6",
            "--workers", "2", "--quiet"]
    ck = tmp_path / "ck"
    # as from a terminal: Ctrl-C neither ignored nor blocked, whatever this test process inherited or a library
    # did to it (a child inherits both; then Python installs no KeyboardInterrupt and the run finishes with 0)
    terminal = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); os.execv(sys.executable, sys.argv[1:])")
    proc = subprocess.Popen([sys.executable, "-c", terminal, *args, "--checkpoint", str(ck)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.time() + 120
        # interrupt at the first finished replication: the others take seconds more (a replication of 500 days
        # takes about a second), so a loaded machine that wakes this loop late still interrupts a running command
        while time.time() < deadline and not list(ck.glob("rep-*.npz")):
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and out == ""
    assert err.splitlines() == ["journeysim: interrupted (finished replications are kept in the checkpoint: "
                                "run the same command to resume)"]
    assert 1 <= len(list(ck.glob("rep-*.npz"))) < 6
    resumed = subprocess.run([*args, "--checkpoint", str(ck), "--json", "-"], capture_output=True, text=True)
    fresh = subprocess.run([*args, "--json", "-"], capture_output=True, text=True)
    a, b = json.loads(resumed.stdout), json.loads(fresh.stdout)
    a.pop("provenance"), b.pop("provenance")
    assert a == b


def test_idle_workers_ignore_ctrl_c(capfd):
    """Worker processes leave Ctrl-C to the parent, which stops them: no traceback of theirs, no lost worker."""
    import multiprocessing

    from journeysim.run.workers import WorkerPool

    with WorkerPool(2) as pool:
        assert sorted(pool.map(abs, [(-1,), (-2,)])) == [1, 2]  # both workers are up, waiting for tasks
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGINT)
        time.sleep(0.5)
        assert sorted(pool.map(abs, [(-3,), (-4,)])) == [3, 4]
    assert "Traceback" not in capfd.readouterr().err


def test_checkpoint_files_have_the_permissions_the_umask_gives(tmp_path, umask):
    """The checkpoint folder, its manifest and its replication files get the umask's permissions, like any file."""
    file_mode, folder_mode = umask
    js.simulate(model(), checkpoint=tmp_path / "ck", **KW)
    files = sorted((tmp_path / "ck").iterdir())
    assert len(files) == 1 + KW["replications"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {file_mode}
    assert stat.S_IMODE((tmp_path / "ck").stat().st_mode) == folder_mode
