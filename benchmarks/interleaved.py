"""Engine speed of two source trees, measured as interleaved runs in one session.

Compares the engine of a *before* and an *after* tree (e.g. a ``git worktree`` of an
older commit and this checkout) on the tandem benchmark and on the flagship. Each
measurement runs in a fresh Python process whose ``PYTHONPATH`` points at one tree's
``src``; the two trees alternate (before-after, then after-before, ...), so that the
drift of a shared machine hits both alike. Reports, for wall-clock and CPU time, the
median and minimum seconds of each tree, the ratio of the medians (after / before) and
the median of the per-round ratios. CPU time leaves out the time a process waited for a
core, so it is the steadier of the two on a loaded machine.

Only the engine is timed: compiling the model (``engine.plan.plan``) and
``engine.kernel.simulate_replication`` with full records, as ``journeysim run
--workers 1`` does per replication; not the summary or any output.

Usage (from the repository root)::

    git worktree add /tmp/before <commit>
    python benchmarks/interleaved.py --before /tmp/before --after . --rounds 7

Scenarios:

* ``tandem``: the benchmark's seven-node tandem with records and quality on
  (``peers/journeysim_peer.py``), 20,000 patients, replications 0-4 in each process;
* ``flagship``: ``scenarios/ami.toml`` at its own settings (20 replications of 365
  days), one worker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCENARIOS = ("tandem", "flagship")


def child(scenario: str) -> dict[str, Any]:
    """One measurement, in this process: the journeysim on ``sys.path`` is the tree under test."""
    import journeysim as js
    from journeysim.engine.kernel import simulate_replication
    from journeysim.engine.plan import plan

    if scenario == "tandem":
        sys.path.insert(0, str(HERE))
        from peers import DEFAULT_N_PATIENTS, DEFAULT_SERVERS
        from peers.journeysim_peer import tandem

        model, horizon, warmup, seed, replications = tandem(DEFAULT_SERVERS), float(DEFAULT_N_PATIENTS), 0.0, 1, 5
    else:
        sc = js.load_scenario(HERE.parent / "scenarios" / "ami.toml")
        model, horizon, warmup, seed, replications = sc.model, sc.horizon, sc.warmup, sc.seed, sc.replications
    start, cpu = time.perf_counter(), time.process_time()
    p = plan(model)
    kept = [simulate_replication(p, horizon=horizon, warmup=warmup, seed=seed, replication=r)
            for r in range(replications)]
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    journeys = sum(len(rec.journeys) for rec, _ in kept if rec is not None)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "journeys": journeys,
            "journeysim": str(Path(js.__file__).parent)}


def measure(tree: Path, scenario: str) -> dict[str, Any]:
    """One measurement of ``tree`` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONHASHSEED": "0"}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", scenario], env=env,
                         capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    expected = (tree / "src" / "journeysim").resolve()
    if Path(result["journeysim"]).resolve() != expected:
        raise RuntimeError(f"measured {result['journeysim']}, not {expected}: is journeysim installed non-editable?")
    return result


def compare(before: Path, after: Path, scenario: str, rounds: int) -> dict[str, Any]:
    """``rounds`` measurements of each tree, alternating which goes first."""
    times: dict[str, list[float]] = {"before": [], "after": []}
    cpu: dict[str, list[float]] = {"before": [], "after": []}
    journeys: dict[str, set[int]] = {"before": set(), "after": set()}
    for r in range(rounds):
        order = (("before", before), ("after", after)) if r % 2 == 0 else (("after", after), ("before", before))
        for name, tree in order:
            res = measure(tree, scenario)
            times[name].append(res["seconds"])
            cpu[name].append(res["cpu_seconds"])
            journeys[name].add(res["journeys"])
        print(f"  {scenario} round {r + 1}/{rounds}: before {times['before'][-1]:.3f} s, "
              f"after {times['after'][-1]:.3f} s", file=sys.stderr, flush=True)
    return {"scenario": scenario, "rounds": rounds, "wall": summarise(times), "cpu": summarise(cpu),
            "journeys": {name: sorted(j) for name, j in journeys.items()}}


def summarise(times: dict[str, list[float]]) -> dict[str, Any]:
    """Medians, minima and ratios (after / before) of the two trees' times."""
    med = {name: statistics.median(t) for name, t in times.items()}
    return {
        "seconds": times, "median": med, "min": {name: min(t) for name, t in times.items()},
        "ratio_of_medians": med["after"] / med["before"],
        "median_paired_ratio": statistics.median(a / b for a, b in zip(times["after"], times["before"])),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", type=Path, help="the older source tree (its src/ is imported)")
    ap.add_argument("--after", type=Path, default=HERE.parent, help="the newer source tree (default: this one)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--child", choices=SCENARIOS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    if args.before is None:
        ap.error("--before is required")
    results = [compare(args.before.resolve(), args.after.resolve(), s, args.rounds) for s in args.only]
    for res in results:
        print(f"{res['scenario']}: {res['rounds']} rounds each; journeys {res['journeys']['before']} before, "
              f"{res['journeys']['after']} after")
        for clock in ("wall", "cpu"):
            c = res[clock]
            print(f"  {clock:4}: median before {c['median']['before']:.3f} s, after {c['median']['after']:.3f} s, "
                  f"ratio {c['ratio_of_medians']:.3f} (median of paired ratios {c['median_paired_ratio']:.3f}; "
                  f"min before {c['min']['before']:.3f} s, after {c['min']['after']:.3f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
