"""journeysim's benchmark suite: speed against peers, measured in one run on one machine.

Run with ``make bench`` (or ``python benchmarks/run.py [--quick]`` from the repository
root). Writes ``benchmarks/results/latest.json`` and ``benchmarks/results/latest.md``.

Sections
--------
1. Tandem network, peers side by side: journeysim (records and quality on), Ciw,
   idiomatic SimPy, callback SimPy and a bare heapq loop; patients completed per
   second (median, min, max of the repeats, peers interleaved so that machine
   drift hits all alike), the ratio of each to journeysim, and the mean time in
   system against the exact Jackson value; plus a long journeysim run for accuracy.
2. Network size: cost per visit of journeysim and Ciw on tandems of 1 to 28 nodes.
3. Flagship: ``scenarios/ami.toml`` journeys per second with full records.
4. Exact quality: time to solve the exact system quality of random graphs of
   10 to 10,000 microsystems.
5. Workers and 6. memory (see ``benchmarks/README.md``).
7. What users wait for: each command on the flagship end to end, and the steps of a
   run in one process, as ratios to the simulation (``endtoend.py``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import endtoend  # noqa: E402
from endtoend import timed as _timed  # noqa: E402
from peers import DEFAULT_SERVERS, exact_tandem_sojourn  # noqa: E402

import journeysim as js  # noqa: E402

PEER_ORDER = ("journeysim_peer", "ciw_peer", "simpy_process", "simpy_callback", "heapq_loop")
LABELS = {
    "journeysim_peer": "journeysim (records + quality)",
    "ciw_peer": "Ciw 3.2.7",
    "simpy_process": "SimPy, process per patient",
    "simpy_callback": "SimPy, callbacks",
    "heapq_loop": "bare heapq loop",
}


def tandem_peers(n_patients: int, repeats: int) -> dict[str, Any]:
    """Section 1: every peer on the default 7-node tandem, interleaved repeats."""
    modules = {name: importlib.import_module(f"peers.{name}") for name in PEER_ORDER}
    rates: dict[str, list[float]] = {name: [] for name in PEER_ORDER}
    tis: dict[str, list[float]] = {name: [] for name in PEER_ORDER}
    for rep in range(repeats):
        for name, mod in modules.items():
            elapsed, res = _timed(lambda: mod.run(DEFAULT_SERVERS, n_patients, seed=rep + 1))
            rates[name].append(res.completed / elapsed)
            tis[name].append(res.mean_time_in_system)
    exact = exact_tandem_sojourn(DEFAULT_SERVERS)
    base = statistics.median(rates["journeysim_peer"])
    rows = {}
    for name in PEER_ORDER:
        med = statistics.median(rates[name])
        rows[name] = {
            "label": LABELS[name],
            "patients_per_second": {"median": med, "min": min(rates[name]), "max": max(rates[name])},
            "ratio_to_journeysim": med / base,
            "mean_time_in_system": statistics.fmean(tis[name]),
            "error_vs_exact": statistics.fmean(tis[name]) / exact - 1.0,
        }
    return {"n_patients": n_patients, "repeats": repeats, "servers": list(DEFAULT_SERVERS),
            "exact_time_in_system": exact, "peers": rows,
            "journeysim_vs_heapq": base / statistics.median(rates["heapq_loop"]),
            "journeysim_vs_ciw": base / statistics.median(rates["ciw_peer"])}


def long_run_accuracy(horizon: float, replications: int) -> dict[str, Any]:
    """Section 1b: journeysim's mean time in system on a long run, with a 95% CI."""
    from peers.journeysim_peer import tandem

    result = js.simulate(tandem(DEFAULT_SERVERS), horizon=horizon, warmup=1000.0, replications=replications, seed=99)
    t = result.summary().to_dict()["journeys"]["time_in_system_minutes"]
    exact = exact_tandem_sojourn(DEFAULT_SERVERS)
    return {"horizon_minutes": horizon, "replications": replications, "patients": result.summary().to_dict()["journeys"]["completed"],
            "mean": t["mean"], "ci95": t["ci95"], "exact": exact, "error_vs_exact": t["mean"] / exact - 1.0}


def network_size(sizes: Sequence[int], n_patients: int, repeats: int) -> dict[str, Any]:
    """Section 2: cost per visit of journeysim and Ciw as the tandem grows."""
    mods = {name: importlib.import_module(f"peers.{name}") for name in ("journeysim_peer", "ciw_peer")}
    out: dict[str, Any] = {"n_patients": n_patients, "repeats": repeats, "sizes": list(sizes), "us_per_visit": {}}
    for name, mod in mods.items():
        costs = []
        for k in sizes:
            servers = [DEFAULT_SERVERS[i % len(DEFAULT_SERVERS)] for i in range(k)]
            per = []
            for rep in range(repeats):
                elapsed, res = _timed(lambda: mod.run(servers, n_patients, seed=rep + 1))
                per.append(elapsed / res.visits * 1e6)
            costs.append(statistics.median(per))
        out["us_per_visit"][name] = costs
        out.setdefault("spread", {})[name] = max(costs) / min(costs)
    return out


def flagship(replications: int) -> dict[str, Any]:
    """Section 3: the AMI scenario with full records."""
    scenario = js.load_scenario(HERE.parent / "scenarios" / "ami.toml")
    elapsed, result = _timed(lambda: js.simulate(scenario, replications=replications, seed=1))
    s_elapsed, summary = _timed(result.summary)
    journeys = sum(len(r.journeys) for r in result.records)
    visits = sum(len(r.visits) + len(r.requests) for r in result.records)
    return {"replications": replications, "horizon_days": scenario.horizon / 1440, "journeys": journeys,
            "visits_and_requests": visits, "seconds": elapsed, "journeys_per_second": journeys / elapsed,
            "summary_seconds": s_elapsed}


def scaling(replications: int, years: float, worker_counts: Sequence[int], repeats: int) -> dict[str, Any]:
    """Issue 4: throughput of the flagship with 1 and 2 worker processes, both record modes.

    The worker counts are interleaved and repeated, and medians compared, because
    this shared machine's serial speed alone drifts by a quarter between runs.
    """
    scenario = js.load_scenario(HERE.parent / "scenarios" / "ami.toml").with_settings(
        horizon=years * 525_600.0, warmup=30 * 1440.0, replications=replications)
    out: dict[str, Any] = {"replications": replications, "years_per_replication": years, "repeats": repeats,
                           "modes": {}}
    for mode in ("full", "summary"):
        rates: dict[int, list[float]] = {w: [] for w in worker_counts}
        for _ in range(repeats):
            for w in worker_counts:
                elapsed, result = _timed(lambda: js.simulate(scenario, seed=1, workers=w, records=mode))
                rates[w].append(sum(s.journeys_total for s in result.stats) / elapsed)
        base = statistics.median(rates[worker_counts[0]])
        out["modes"][mode] = {
            str(w): {"journeys_per_second": statistics.median(r), "min": min(r), "max": max(r),
                     "speedup": statistics.median(r) / base}
            for w, r in rates.items()
        }
    return out


# Peak memory is read from /proc/self/status (VmHWM, the high-water mark of this process's
# own address space): getrusage's ru_maxrss in a child also counts the parent's resident set
# at fork time, which made every row read the benchmark process's own size.
_HWM = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"

_MEMORY_SCRIPT = """
import sys, journeysim as js
from journeysim.engine.kernel import simulate_replication
from journeysim.engine.plan import plan
s = js.load_scenario(sys.argv[1])
years, keep = float(sys.argv[2]), sys.argv[3] == "full"
rec, st = simulate_replication(plan(s.model), horizon=years * 525600.0, warmup=0.0, seed=1, replication=0,
                               keep_records=keep)
print(st.journeys_total, """ + _HWM + """)
"""


def memory(journey_targets: Sequence[int]) -> dict[str, Any]:
    """Issue 4: peak resident memory of one AMI replication, full records vs summary mode."""
    import subprocess

    path = str(HERE.parent / "scenarios" / "ami.toml")
    scenario = js.load_scenario(path)
    per_year = sum(k.rate for k in scenario.model.classes) * 525_600.0
    out: dict[str, Any] = {"rows": []}
    baseline = subprocess.run([sys.executable, "-c", f"import journeysim; print({_HWM})"],
                              capture_output=True, text=True, check=True)
    out["import_only_mib"] = int(baseline.stdout.split()[-1]) / 1024
    for target in journey_targets:
        for mode in ("summary", "full"):
            if mode == "full" and target > 200_000:
                continue  # several GiB: extrapolate from the smaller runs instead
            years = target / per_year
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, path, str(years), mode],
                                  capture_output=True, text=True, check=True)
            journeys, kib = (int(x) for x in proc.stdout.split())
            out["rows"].append({"mode": mode, "journeys": journeys, "peak_mib": kib / 1024,
                                "seconds": time.perf_counter() - start})
    return out


def random_model(n: int, seed: int) -> js.Model:
    """A random mesosystem of ``n`` clinical microsystems: a chain plus random jumps (loops included)."""
    rng = np.random.default_rng(seed)
    nodes = [js.Microsystem(f"M{i}", capacity=1, service=js.Fixed(1.0), defect=float(rng.uniform(0, 0.05)))
             for i in range(n)]
    handoffs = []
    for i in range(n - 1):
        targets = {i + 1} | {int(j) for j in rng.integers(0, n, size=2) if j != i}
        share = 0.8 / len(targets)
        handoffs += [js.Handoff(f"M{i}", f"M{j}", probability=share,
                                defects={"information": float(rng.uniform(0, 0.1))}) for j in sorted(targets)]
    return js.Model(nodes, handoffs, classes=[js.PatientClass("p", entry="M0", rate=1.0)])


def exact_quality_scaling(sizes: Sequence[int], repeats: int) -> dict[str, Any]:
    """Section 4: time to solve the exact quality of random graphs."""
    out: dict[str, Any] = {"sizes": list(sizes), "solve_seconds": [], "build_seconds": [], "quality": []}
    for n in sizes:
        build, model = _timed(lambda: random_model(n, seed=n))
        times = []
        for _ in range(repeats):
            elapsed, exact = _timed(lambda: js.exact_quality(model))
            times.append(elapsed)
        out["solve_seconds"].append(statistics.median(times))
        out["build_seconds"].append(build)
        out["quality"].append(exact.system)
    return out


def markdown(results: dict[str, Any]) -> str:
    """The results as markdown tables (shown in the README)."""
    t = results["tandem"]
    lines = [
        f"Machine: {results['machine']}; {results['date']}.",
        "",
        f"**Tandem network** (7 nodes, c = {t['servers']}, utilisation 0.7, ~{t['n_patients']:,} patients, "
        f"median of {t['repeats']} interleaved runs; exact mean time in system {t['exact_time_in_system']:.2f} min)",
        "",
        "| implementation | patients/s (median) | min - max | ratio to journeysim | mean time in system | vs exact |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in t["peers"].values():
        r = row["patients_per_second"]
        lines.append(
            f"| {row['label']} | {r['median']:,.0f} | {r['min']:,.0f} - {r['max']:,.0f} | "
            f"{row['ratio_to_journeysim']:.2f} | {row['mean_time_in_system']:.2f} | {100 * row['error_vs_exact']:+.1f}% |"
        )
    a = results["accuracy"]
    lines += [
        "",
        f"journeysim is **{t['journeysim_vs_ciw']:.1f}x Ciw** and **{t['journeysim_vs_heapq']:.2f}x the bare heapq loop**. "
        f"Long run ({a['replications']} replications, {a['patients']:,} patients): mean time in system "
        f"{a['mean']:.3f} min, 95% CI [{a['ci95'][0]:.3f}, {a['ci95'][1]:.3f}], exact {a['exact']:.3f} "
        f"({100 * a['error_vs_exact']:+.2f}%).",
        "",
        "**Network size**: microseconds per visit",
        "",
        "| nodes | " + " | ".join(str(k) for k in results["size"]["sizes"]) + " | max/min |",
        "|---|" + "---:|" * (len(results["size"]["sizes"]) + 1),
    ]
    for name, costs in results["size"]["us_per_visit"].items():
        lines.append(f"| {LABELS[name]} | " + " | ".join(f"{c:.2f}" for c in costs)
                     + f" | {results['size']['spread'][name]:.2f} |")
    f = results["flagship"]
    lines += [
        "",
        f"**Flagship** `scenarios/ami.toml`: {f['replications']} replications of {f['horizon_days']:.0f} days, "
        f"{f['journeys']:,} journeys with full records in {f['seconds']:.2f} s = **{f['journeys_per_second']:,.0f} journeys/s** "
        f"(summary statistics: {f['summary_seconds']:.2f} s).",
        "",
        "**Exact quality** of random graphs (sparse solve)",
        "",
        "| microsystems | " + " | ".join(f"{n:,}" for n in results["exact"]["sizes"]) + " |",
        "|---|" + "---:|" * len(results["exact"]["sizes"]),
        "| solve (ms) | " + " | ".join(f"{1e3 * s:.1f}" for s in results["exact"]["solve_seconds"]) + " |",
        "| build and validate model (ms) | " + " | ".join(f"{1e3 * s:.0f}" for s in results["exact"]["build_seconds"]) + " |",
    ]
    sc = results["scaling"]
    lines += [
        "",
        f"**Workers** on the flagship ({sc['replications']} replications of {sc['years_per_replication']:g} years; "
        f"median of {sc['repeats']} interleaved runs)",
        "",
        "| records | workers | journeys/s | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for mode, rows in sc["modes"].items():
        for w, row in rows.items():
            lines.append(f"| {mode} | {w} | {row['journeys_per_second']:,.0f} | {row['speedup']:.2f}x |")
    m = results["memory"]
    lines += [
        "",
        f"**Peak memory** of one AMI replication (resident set; importing journeysim alone: {m['import_only_mib']:.0f} MiB)",
        "",
        "| records | journeys | peak MiB | seconds |",
        "|---|---:|---:|---:|",
    ]
    for row in m["rows"]:
        lines.append(f"| {row['mode']} | {row['journeys']:,} | {row['peak_mib']:.0f} | {row['seconds']:.1f} |")
    lines += ["", "**What users wait for** on the flagship", "", endtoend.markdown(results["endtoend"])]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--out", default=str(HERE / "results"), help="output folder")
    parser.add_argument("--only", nargs="+",
                        choices=("tandem", "accuracy", "size", "flagship", "exact", "scaling", "memory", "endtoend"),
                        help="run only these sections (printed, not written to results/)")
    args = parser.parse_args(argv)
    q = args.quick
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "journeysim_version": js.__version__,
        "quick": q,
    }
    steps = [
        ("tandem", lambda: tandem_peers(2_000 if q else 20_000, 2 if q else 5)),
        ("accuracy", lambda: long_run_accuracy(20_000.0 if q else 200_000.0, 3 if q else 10)),
        ("size", lambda: network_size((1, 4, 7, 14, 28), 500 if q else 5_000, 1 if q else 3)),
        ("flagship", lambda: flagship(2 if q else 20)),
        ("exact", lambda: exact_quality_scaling((10, 100, 1_000) if q else (10, 100, 1_000, 10_000), 3)),
        ("scaling", lambda: scaling(4 if q else 16, 2.0 if q else 10.0, (1, 2), 1 if q else 3)),
        ("memory", lambda: memory((10_000, 50_000) if q else (100_000, 1_000_000))),
        ("endtoend", lambda: endtoend.endtoend(2 if q else 20, 1 if q else 3)),
    ]
    if args.only:
        for key, step in steps:
            if key in args.only:
                print(json.dumps({key: step()}, indent=2))
        return 0
    for key, step in steps:
        print(f"running {key} ...", file=sys.stderr, flush=True)
        results[key] = step()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "quick" if q else "latest"
    (out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / f"{name}.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
