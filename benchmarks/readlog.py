"""Time and memory of reading a 10^6-event log with ``journeysim.data.logs.read_log``.

Writes a synthetic log in journeysim's own export format (the columns and layout of
``journeysim run --events``, written by the same writer, ``journeysim.outputs.logformats``):
100,000 cases of 5 activity instances each, a ``start`` and a ``complete`` event per
instance, so 10^6 events. Then reads it back, as CSV and as XES, each in a fresh
process, and reports the wall time and the peak resident memory (``ru_maxrss``) of
that process (``VmHWM``), and the same for the bare import (the baseline).

    python benchmarks/readlog.py                 # 10^6 events, CSV and XES
    python benchmarks/readlog.py --events 100000 --formats csv

The numbers are quoted in docs/discovery.md ("Reading event logs"). Timing is never
asserted in the tests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from journeysim.outputs.logformats import Coded, write_csv, write_xes  # noqa: E402

ACTIVITIES = np.array(["ED", "CathLab", "CCU", "Telemetry", "Lab", "Radiology", "Pharmacy", "Ward"], dtype=object)
PER_CASE = 5


def synthetic_columns(n_events: int, seed: int = 1) -> dict[str, object]:
    """A log of ``n_events`` events in the export format: cases of 5 start/complete pairs, one after another."""
    rng = np.random.default_rng(seed)
    n_cases = n_events // (2 * PER_CASE)
    arrival = np.cumsum(rng.exponential(10.0, n_cases))  # minutes
    durations = rng.lognormal(np.log(60.0), 0.8, (n_cases, PER_CASE))
    gaps = rng.exponential(20.0, (n_cases, PER_CASE))
    begin = arrival[:, None] + np.cumsum(gaps + durations, axis=1) - durations
    end = begin + durations
    minutes = np.stack([begin, end], axis=2).reshape(-1)  # per case: s1 e1 s2 e2 ...
    case = np.repeat(np.arange(n_cases), 2 * PER_CASE)
    activity = np.repeat(rng.integers(0, len(ACTIVITIES), (n_cases, PER_CASE)).reshape(-1), 2)
    lifecycle = np.tile([0, 1], n_cases * PER_CASE)
    origin = np.datetime64("2026-01-05T00:00:00", "ms")
    stamps = origin + np.rint(minutes * 60_000).astype(np.int64).astype("timedelta64[ms]")
    ids = np.array([f"r0-j{i}" for i in range(n_cases)], dtype=object)
    classes = np.array(["STEMI", "NSTEMI", "Other"], dtype=object)
    return {
        "case:concept:name": Coded(ids, case),
        "concept:name": Coded(ACTIVITIES, activity),
        "time:timestamp": stamps.astype("datetime64[ns]"),
        "lifecycle:transition": Coded(np.array(["start", "complete"], dtype=object), lifecycle),
        "org:resource": Coded(ACTIVITIES, activity),
        "defects": np.zeros(len(case), dtype=np.int64),
        "case:class": Coded(classes, rng.integers(0, 3, n_cases)[case]),
        "case:journey": case.astype(np.int64),
    }


MEASURE = """
import json, sys, time, warnings
sys.path.insert(0, {src!r})
from journeysim.data.logs import read_log
warnings.simplefilter("ignore")
t = time.perf_counter()
log = read_log({path!r}) if {path!r} else None
wall = time.perf_counter() - t
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would count the parent's memory
hwm = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:"))
print(json.dumps({{"seconds": wall, "peak_mb": hwm / 1024,
                  "rows": len(log) if log is not None else 0, "events": log.n_events if log is not None else 0}}))
"""


def measure(path: str) -> dict[str, float]:
    """Wall time and peak memory of reading ``path`` in a fresh process ('' for the import alone)."""
    out = subprocess.run([sys.executable, "-c", MEASURE.format(src=str(ROOT / "src"), path=path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--formats", nargs="+", default=["csv", "xes"], choices=["csv", "xes", "xes.gz"])
    args = ap.parse_args()
    columns = synthetic_columns(args.events)
    results = {"baseline (import only)": measure("")}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats:
            path = Path(tmp) / f"log.{fmt}"
            if fmt == "csv":
                with path.open("wb") as fh:
                    write_csv(columns, fh)  # type: ignore[arg-type]
            else:
                import gzip

                with (gzip.open(path, "wb") if fmt.endswith(".gz") else path.open("wb")) as fh:
                    write_xes(columns, fh, [("string", "concept:name", "synthetic")])  # type: ignore[arg-type]
            size = path.stat().st_size / 2**20
            row = measure(str(path))
            results[f"{fmt} ({size:,.0f} MB)"] = row
    for name, row in results.items():
        print(f"{name:<24} {row['seconds']:7.2f} s  peak {row['peak_mb']:7.0f} MB  "
              f"{row['events']:>10,} events -> {row['rows']:>9,} activity instances")


if __name__ == "__main__":
    main()
