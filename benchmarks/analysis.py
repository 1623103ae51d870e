"""The cost of the exact analysis and of the summary, against the simulation they describe.

Run from the repository root::

    python benchmarks/analysis.py                 # the flagship, 20 replications x 365 days, 3 repeats
    python benchmarks/analysis.py --repeat 1 --json out.json

Everything is measured in one process, after start-up (imports and the first load
of the scenario are outside the timings), each figure the median of ``--repeat``
runs:

* ``journeysim analyze`` in process (``cli.main(["analyze", FILE])``, its printing
  discarded), and its parts: the exact quality, the independent product, exact
  leverage, the offered load and warnings;
* the other exact figures of a summary: Six Sigma's exact measures and the exact
  column of the cascade (given the exact solution, as the report gives it);
* ``js.simulate(scenario, replications=20, seed=1)`` and, on its fresh result,
  ``result.summary()``; their ratio (the goal is at most 0.25);
* ``write_report(result, path, summary=summary)``, the HTML report given the summary.

Whichever ``journeysim`` is imported is measured (set ``PYTHONPATH`` to compare two
trees; run them interleaved, since the machine's load drifts). A markdown table goes
to standard output.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import journeysim as js
from journeysim import cli
from journeysim.analysis.cascade import cascade
from journeysim.analysis.exact import exact_quality
from journeysim.analysis.leverage import exact_leverage_rows
from journeysim.analysis.sixsigma import exact_six_sigma_result
from journeysim.model.diagnostics import model_warnings
from journeysim.model.traffic import offered_load

ROOT = Path(__file__).resolve().parent.parent


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds that ``work()`` takes, and what it returns."""
    start = time.perf_counter()
    out = work()
    return time.perf_counter() - start, out


def analyze_in_process(path: Path) -> None:
    """``journeysim analyze FILE``, in this process, its printing discarded."""
    with contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(["analyze", str(path)])
    if status != 0:
        raise RuntimeError(f"journeysim analyze {path} exited with {status}")


def one_round(path: Path, replications: int, seed: int) -> dict[str, float]:
    """Every measurement once (seconds)."""
    t: dict[str, float] = {}
    t["load_scenario"], scenario = timed(lambda: js.load_scenario(path))
    model = scenario.model
    t["analyze (in process)"], _ = timed(lambda: analyze_in_process(path))
    t["exact_quality"], exact = timed(lambda: exact_quality(model))
    t["exact_quality, independent"], _ = timed(lambda: exact_quality(model, independent=True))
    t["exact leverage"], _ = timed(lambda: exact_leverage_rows(model, exact))
    t["offered load + warnings"], _ = timed(lambda: model_warnings(model, offered_load(model)))
    t["exact Six Sigma"], _ = timed(lambda: exact_six_sigma_result(model, exact))
    t["simulate"], result = timed(lambda: js.simulate(scenario, replications=replications, seed=seed))
    t["summary()"], summary = timed(result.summary)
    t["summary() / simulate"] = t["summary()"] / t["simulate"]
    t["cascade (exact given)"], _ = timed(lambda: cascade(result, exact=result.exact()))
    with tempfile.TemporaryDirectory() as folder:
        t["write_report (summary given)"], _ = timed(
            lambda: js.write_report(result, Path(folder) / "report.html", summary=summary))
    return t


def table(rows: dict[str, list[float]]) -> str:
    """Median, min and max of each measurement, as a markdown table."""
    lines = ["| measurement | median | min | max |", "|---|---:|---:|---:|"]
    for name, values in rows.items():
        unit, scale = ("", 1.0) if name.endswith("/ simulate") else (" ms", 1000.0)
        cells = [f"{scale * v:,.{3 if not unit else 1}f}{unit}"
                 for v in (statistics.median(values), min(values), max(values))]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "ami.toml")
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    args = parser.parse_args(argv)
    js.load_scenario(args.scenario)  # start-up: the first load warms imports and caches
    rounds = [one_round(args.scenario, args.replications, args.seed) for _ in range(args.repeat)]
    rows = {name: [r[name] for r in rounds] for name in rounds[0]}
    where = Path(js.__file__).resolve().parent
    print(f"journeysim {js.__version__} from {where}; {args.scenario.name}, {args.replications} replications, "
          f"seed {args.seed}; {args.repeat} repeat(s); Python {platform.python_version()}, {os.cpu_count()} cores\n")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"journeysim": str(where), "scenario": str(args.scenario),
                                         "replications": args.replications, "seconds": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
