"""Experiments: workers and executors give identical numbers; checkpoints resume; precision; summary mode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import journeysim as js
from journeysim.engine.kernel import simulate_replication
from journeysim.engine.plan import plan
from journeysim.run.checkpoint import CheckpointError

ROOT = Path(__file__).parent.parent


def model():
    """A small pathway with branching, a support request and defects."""
    return js.Model(
        [js.Microsystem("ED", capacity=2, service=js.Exponential(20.0), defects={"a": 0.05, "b": 0.1}),
         js.Microsystem("Ward", capacity=4, service=js.LogNormal(120, 0.5), defect=0.03),
         js.Microsystem("Lab", kind="support", capacity=1, service=js.Exponential(5.0), defect=0.02)],
        [js.Handoff("ED", "Ward", probability=0.6, delay=js.Exponential(10.0), defects={"information": 0.25})],
        [js.ServiceRequest("ED", "Lab", probability=0.7, defects={"services": 0.05})],
        classes=[js.PatientClass("p", entry="ED", rate=0.05)],
    )


def comparable(result):
    """Everything but provenance timing: the summary and every record table."""
    s = result.summary().to_dict()
    s.pop("provenance")
    tables = {name: result.table(name) for name in ("journeys", "visits", "handoffs", "requests", "defects")}
    return s, tables


def assert_same(a, b):
    sa, ta = a
    sb, tb = b
    assert json.dumps(sa, sort_keys=True) == json.dumps(sb, sort_keys=True)
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name])


def test_workers_and_executors_give_identical_results():
    """Serial, 2 local processes, a thread pool and a local Dask cluster give bit-identical numbers."""
    kw = dict(horizon=20_000.0, warmup=1_000.0, replications=4, seed=77)
    serial = comparable(js.simulate(model(), workers=1, **kw))
    assert_same(serial, comparable(js.simulate(model(), workers=2, **kw)))
    with ThreadPoolExecutor(3) as pool:
        assert_same(serial, comparable(js.simulate(model(), executor=pool, **kw)))
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        result = js.simulate(model(), executor=client, **kw)
    assert_same(serial, comparable(result))
    assert result.provenance.executor == "Client"


class CtrlCAfter:
    """An ``on_replication`` callback that presses Ctrl-C once ``k`` replications have finished (listed in ``seen``)."""

    def __init__(self, k):
        self.k, self.seen = k, []

    def __call__(self, stats):
        self.seen.append(stats.replication)
        if len(self.seen) == self.k:
            raise KeyboardInterrupt


def test_interrupted_run_resumes_to_identical_results(tmp_path):
    """A run interrupted after two replications resumes from its checkpoint and equals an uninterrupted run."""
    kw = dict(horizon=20_000.0, replications=5, seed=5)
    full = comparable(js.simulate(model(), **kw))
    with pytest.raises(KeyboardInterrupt):
        js.simulate(model(), checkpoint=tmp_path / "ck", on_replication=CtrlCAfter(2), **kw)
    assert len(list((tmp_path / "ck").glob("rep-*.npz"))) == 2
    recomputed = []
    resumed = js.simulate(model(), checkpoint=tmp_path / "ck", on_replication=lambda s: recomputed.append(s), **kw)
    assert len(recomputed) == 3  # only the missing replications were computed
    assert_same(full, comparable(resumed))


SCRIPT = textwrap.dedent("""
    import sys, journeysim as js
    sys.path.insert(0, {tests!r})
    from test_experiment import model
    js.simulate(model(), horizon=200_000.0, replications=12, seed=5, checkpoint={ck!r}, workers=1)
""")


def test_killed_run_resumes_to_identical_results(tmp_path):
    """A run killed with SIGKILL mid-way resumes from the same command and equals an uninterrupted run."""
    ck = tmp_path / "ck"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(tests=str(Path(__file__).parent), ck=str(ck))])
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(list(ck.glob("rep-*.npz"))) < 2:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    kept = len(list(ck.glob("rep-*.npz")))
    assert 2 <= kept < 12
    kw = dict(horizon=200_000.0, replications=12, seed=5)
    resumed = js.simulate(model(), checkpoint=ck, **kw)
    assert_same(comparable(js.simulate(model(), **kw)), comparable(resumed))


def test_mismatched_checkpoint_is_refused(tmp_path):
    """A checkpoint written for another seed or another scenario is refused with a clear error."""
    js.simulate(model(), horizon=5_000.0, replications=2, seed=1, checkpoint=tmp_path)
    with pytest.raises(CheckpointError, match="seed 1"):
        js.simulate(model(), horizon=5_000.0, replications=2, seed=2, checkpoint=tmp_path)
    other = js.Model(model().microsystems, model().handoffs, model().requests,
                     classes=[js.PatientClass("p", entry="ED", rate=0.06)])
    with pytest.raises(CheckpointError, match="different scenario"):
        js.simulate(other, horizon=5_000.0, replications=2, seed=1, checkpoint=tmp_path)
    with pytest.raises(CheckpointError, match="records") as exc:
        js.simulate(model(), horizon=5_000.0, replications=2, seed=1, checkpoint=tmp_path, records="summary")
    assert "different scenario" not in str(exc.value)
    assert isinstance(CheckpointError("x"), js.JourneySimError)


def test_precision_target_stops_when_reached():
    """Batches run until the CI half-width of system quality is at most the target, and no longer."""
    res = js.simulate(model(), horizon=5_000.0, replications=3, seed=3, precision=0.02, workers=1)
    p = res.provenance.precision
    assert p.reached and p.half_width <= 0.02
    assert p.replications == len(res.stats) > 3
    # one batch (of 2) fewer would not have reached it
    fewer = js.simulate(model(), horizon=5_000.0, replications=p.replications - 2, seed=3)
    assert fewer.summary().to_dict()["quality"]["system"]["simulated"]["ci95"][1] - \
        fewer.summary().to_dict()["quality"]["system"]["simulated"]["mean"] > 0.02
    capped = js.simulate(model(), horizon=5_000.0, replications=2, seed=3, precision=1e-6, max_replications=6)
    assert not capped.provenance.precision.reached and len(capped.stats) == 6


def test_summary_mode_matches_full_mode():
    """Summary mode gives the same statistics as full records (percentiles within a histogram bin)."""
    kw = dict(horizon=30_000.0, warmup=2_000.0, replications=3, seed=9)
    full = js.simulate(model(), **kw).summary().to_dict()
    summ = js.simulate(model(), records="summary", **kw)
    assert summ.records == ()
    with pytest.raises(js.JourneySimError, match="summary mode"):
        summ.visits()
    s = summ.summary().to_dict()
    # simulated leverage needs the journeys' records: summary mode has the exact rows only
    lev_full, lev_summ = full["quality"].pop("leverage"), s["quality"].pop("leverage")
    assert lev_summ == [r for r in lev_full if r["method"] == "exact"] and len(lev_full) > len(lev_summ)
    assert s["quality"] == full["quality"]
    assert s["journeys"]["completed"] == full["journeys"]["completed"]
    for node in full["microsystems"]:
        for key in ("wait_minutes", "sojourn_minutes", "utilisation"):
            assert s["microsystems"][node][key]["mean"] == pytest.approx(full["microsystems"][node][key]["mean"], rel=1e-9)
    tis_s, tis_f = s["journeys"]["time_in_system_minutes"], full["journeys"]["time_in_system_minutes"]
    assert tis_s["mean"] == pytest.approx(tis_f["mean"], rel=1e-9)
    assert tis_s["p50"] == pytest.approx(tis_f["p50"], rel=0.03)
    assert tis_s["p90"] == pytest.approx(tis_f["p90"], rel=0.03)


def test_summary_mode_memory_is_bounded():
    """In summary mode peak memory does not grow with the number of journeys; with records it does."""
    compiled = plan(model())

    def peak(horizon, keep):
        tracemalloc.start()
        simulate_replication(compiled, horizon=horizon, warmup=0.0, seed=1, replication=0,
                             keep_records=keep, chunk_rows=2_000)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(40_000.0, False), peak(160_000.0, False)
    assert large < 1.5 * small
    assert peak(160_000.0, True) > 3 * peak(40_000.0, True)


def test_checkpoint_files_are_data(tmp_path):
    """Checkpoint files load without pickle (numpy arrays and JSON only)."""
    js.simulate(model(), horizon=3_000.0, replications=1, seed=1, checkpoint=tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 1 and manifest["records"] == "full"
    with np.load(next(tmp_path.glob("rep-*.npz")), allow_pickle=False) as data:
        assert "stats/class_done" in data.files and "records/visits/journey" in data.files


def test_progress_bar_on_request_and_quiet_otherwise(capsys):
    """progress=True draws a bar on standard error; the default and None (not a terminal) stay quiet."""
    js.simulate(model(), horizon=2_000.0, replications=3, seed=1, progress=True)
    err = capsys.readouterr().err
    assert "/3 [" in err and "rep" in err  # a tqdm bar counting the 3 replications
    js.simulate(model(), horizon=2_000.0, replications=3, seed=1, progress=None)
    js.simulate(model(), horizon=2_000.0, replications=3, seed=1)
    assert capsys.readouterr().err == ""


def test_lost_worker_is_a_clear_error_and_the_run_resumes(tmp_path):
    """Worker processes killed mid-run give a SimulationError saying how to resume; rerunning completes."""
    import multiprocessing

    def kill_workers(stats):
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)

    kw = dict(horizon=20_000.0, replications=8, seed=3, workers=2, checkpoint=tmp_path)
    with pytest.raises(js.SimulationError, match="run the same command again"):
        js.simulate(model(), on_replication=kill_workers, **kw)
    kept = len(list(tmp_path.glob("rep-*.npz")))
    assert 1 <= kept < 8
    resumed = js.simulate(model(), **kw)
    assert_same(comparable(js.simulate(model(), horizon=20_000.0, replications=8, seed=3)), comparable(resumed))
