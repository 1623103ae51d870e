"""What users wait for on the flagship: each command end to end, and where its time goes.

Every command runs in a fresh process, as a user runs it (``journeysim ...``, one
worker so that the numbers do not depend on the cores), interleaved round by round
so that drift hits every row alike; each row is the median of the rounds. Beside
it, the same steps in one process: simulate, summarise, analyse and write. Each row
is also given as a ratio to the simulation time, the work users asked for.

Run from the repository root: ``python benchmarks/endtoend.py [--quick]``, or as
a section of ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parent / "scenarios"
FLAGSHIP = SCENARIOS / "ami.toml"
REDESIGN = SCENARIOS / "ami_handoff_redesign.toml"


def commands(replications: int, out: Path) -> dict[str, list[str]]:
    """The command lines timed, by label (``{out}`` files are written to a scratch folder)."""
    run = ["run", str(FLAGSHIP), "--replications", str(replications), "--workers", "1", "--quiet"]
    return {
        "python -c 'import numpy'": [],
        "--version": ["--version"],
        "validate": ["validate", str(FLAGSHIP)],
        "analyze": ["analyze", str(FLAGSHIP)],
        "run": run,
        "run --json": [*run, "--json", str(out / "ami.json")],
        "run --report": [*run, "--report", str(out / "ami.html")],
        "run --events x.xes": [*run, "--events", str(out / "ami.xes")],
        "run --events x.csv": [*run, "--events", str(out / "ami.csv")],
        "compare (with the redesign)": ["compare", str(FLAGSHIP), str(REDESIGN), "--replications",
                                        str(replications), "--workers", "1", "--quiet"],
    }


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def command_times(replications: int, rounds: int) -> dict[str, float]:
    """Median wall time of each command, in fresh processes, the rounds interleaved."""
    exe = str(Path(sys.executable).parent / "journeysim")
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for label, args in commands(replications, Path(tmp)).items():
                argv = [sys.executable, "-c", "import numpy"] if not args else [exe, *args]
                times.setdefault(label, []).append(_wall(argv))
    return {label: statistics.median(t) for label, t in times.items()}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``fn()`` took, and what it returned."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def step_times(replications: int) -> dict[str, float]:
    """The steps of ``run --report --events`` in one process (after the imports): seconds each."""
    import journeysim as js
    from journeysim.analysis.exact import exact_quality
    from journeysim.analysis.leverage import exact_leverage_rows

    scenario = js.load_scenario(FLAGSHIP)
    steps: dict[str, float] = {}
    steps["simulate"], result = timed(lambda: js.simulate(scenario, replications=replications, seed=1))
    steps["summary()"], summary = timed(result.summary)
    steps["JSON (to_dict + dumps)"], _ = timed(lambda: json.dumps(summary.to_dict(), allow_nan=False))
    steps["text (to_text)"], _ = timed(summary.to_text)
    steps["analyze (exact quality + leverage)"], _ = timed(
        lambda: exact_leverage_rows(scenario.model, exact_quality(scenario.model)))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        steps["write_report (given the summary)"], _ = timed(
            lambda: js.write_report(result, out / "r.html", summary=summary))
        steps["event log, XES"], _ = timed(lambda: js.write_event_log(result, out / "x.xes"))
        steps["event log, CSV"], _ = timed(lambda: js.write_event_log(result, out / "x.csv"))
    return steps


def endtoend(replications: int = 20, rounds: int = 3) -> dict[str, Any]:
    """Both tables, with the simulation time they are measured against."""
    steps = step_times(replications)
    return {"replications": replications, "rounds": rounds, "steps": steps,
            "commands": command_times(replications, rounds)}


def markdown(r: dict[str, Any]) -> str:
    """The two tables, as in ``benchmarks/results/latest.md``."""
    sim = r["steps"]["simulate"]
    cmd = r["commands"]
    numpy_s, startup = cmd["python -c 'import numpy'"], cmd["--version"]
    lines = [f"Flagship (`scenarios/ami.toml`, {r['replications']} replications of 365 days, one worker). "
             f"Simulation in one process: {sim:.2f} s.", "",
             "| step, in one process | seconds | × simulation |", "|---|---:|---:|"]
    lines += [f"| {k} | {v:.3f} | {v / sim:.2f} |" for k, v in r["steps"].items()]
    lines += ["", f"Commands in a fresh process (median of {r['rounds']}, interleaved); start-up is "
              f"`--version`, {startup:.2f} s = {startup / numpy_s:.1f}× `import numpy` ({numpy_s:.2f} s).", "",
              "| command | seconds | after start-up | × simulation |", "|---|---:|---:|---:|"]
    for k, v in cmd.items():
        after = max(v - startup, 0.0)
        lines.append(f"| `{k}` | {v:.2f} | {after:.2f} | {after / sim:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 replications, one round")
    args = parser.parse_args(argv)
    r = endtoend(2, 1) if args.quick else endtoend()
    print(markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
