"""Time and memory of discovering a model from a 10^6-event log with ``journeysim.data.discover``.

Writes the synthetic log of ``benchmarks/readlog.py`` (100,000 cases of 5 activity
instances, a ``start`` and a ``complete`` event each: 10^6 events, 8 units, 64
handoffs) as CSV in journeysim's export format, then, in a fresh process, reads it
with ``read_log`` and discovers a model with ``discover``, reporting the wall time of
each step and the peak resident memory of the process (``VmHWM``, the imports
included). The issue's goal: under one minute and under 2 GB.

    python benchmarks/discover.py                 # 10^6 events
    python benchmarks/discover.py --events 100000

The numbers are quoted in docs/discovery.md ("Discovering a model"). Timing is never
asserted in the tests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from readlog import synthetic_columns  # noqa: E402

from journeysim.outputs.logformats import write_csv  # noqa: E402

MEASURE = """
import json, sys, time, warnings
sys.path.insert(0, {src!r})
from journeysim.data.logs import read_log
from journeysim.data.discover import discover
warnings.simplefilter("ignore")
t0 = time.perf_counter()
log = read_log({path!r})
t1 = time.perf_counter()
scenario, report = discover(log)
t2 = time.perf_counter()
hwm = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:"))
print(json.dumps({{"read_s": t1 - t0, "discover_s": t2 - t1, "peak_mb": hwm / 1024, "events": log.n_events,
                  "instances": len(log), "units": len(report.units), "findings": len(report.findings),
                  "handoffs": len(scenario.model.handoffs)}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        with path.open("wb") as fh:
            write_csv(synthetic_columns(args.events), fh)  # type: ignore[arg-type]
        out = subprocess.run([sys.executable, "-c", MEASURE.format(src=str(ROOT / "src"), path=str(path))],
                             capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    print(f"{r['events']:,} events, {r['instances']:,} activity instances, {r['units']} units, "
          f"{r['handoffs']} handoffs, {r['findings']} findings")
    print(f"read {r['read_s']:.1f} s + discover {r['discover_s']:.1f} s = {r['read_s'] + r['discover_s']:.1f} s; "
          f"peak memory {r['peak_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
