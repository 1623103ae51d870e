"""Reproduce the sepsis figures of docs/discovery.md ("The sepsis log") from the real log, in one command.

    python docs/sepsis/reproduce.py [--log ../shared/data/sepsis.csv] [--out .]

(`make sepsis` runs it.) It

1. discovers a model from the 840 cases before the last 20% by start (``journeysim discover
   --holdout 0.2``, the column options of the sepsis log, the antibiotics standard and Return ER
   as a defect) and writes it, with the log's citation in its header, to
   ``scenarios/sepsis_discovered.toml``;
2. measures it against the held-out 20% (``journeysim fidelity``, seed 0) and writes the report to
   ``docs/sepsis/fidelity.txt`` and ``docs/sepsis/fidelity.json``;
3. repeats the fidelity check with seeds 1 to 4 (other random halves A and B, other simulations)
   and writes the table of docs/discovery.md, seed 0 and the means over the 5 seeds, to
   ``docs/sepsis/fidelity.md``.

The log: F. Mannhardt, Sepsis Cases - Event Log, 4TU.ResearchData (2016),
doi:10.4121/uuid:915d2bfb-7e84-49ad-a286-dc35f063a460 (as copied into eventdataR 0.3.0).
Everything is seeded: the same log gives the same files.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT.parent / "shared" / "data" / "sepsis.csv"
COLUMNS = ["--case", "Case ID", "--activity", "Activity", "--timestamp", "Complete Timestamp",
           "--time-format", "%Y/%m/%d %H:%M:%S.%f"]
READ = dict(case="Case ID", activity="Activity", timestamp="Complete Timestamp", time_format="%Y/%m/%d %H:%M:%S.%f")
STANDARD = "antibiotics_1h: ER Registration -> IV Antibiotics <= 60 min"
DEFECT = "Return ER"
HOLDOUT = 0.2
SEEDS = range(5)
NAME = "Sepsis cases (discovered)"
CITATION = """\
# The sepsis log: F. Mannhardt, Sepsis Cases - Event Log, 4TU.ResearchData (2016),
# doi:10.4121/uuid:915d2bfb-7e84-49ad-a286-dc35f063a460 (1,050 patients of a Dutch hospital; copied unchanged
# into the MIT-licensed R package eventdataR 0.3.0); see also Mannhardt & Blinde, Analyzing the Trajectories of
# Patients with Sepsis using Process Mining, CEUR-WS Vol-1859 (2017).
# Timestamps were randomised per case for anonymity (the times between a case's events are real), so the
# arrival rate and profile below describe that randomisation, not the hospital's arrivals.
# Written by docs/sepsis/reproduce.py (make sepsis); fidelity in docs/discovery.md, "The sepsis log".
"""


def discover_command(log: Path, out: Path) -> list[str]:
    """The ``journeysim discover`` command line (without the program name)."""
    return ["discover", str(log), "-o", str(out), "--holdout", str(HOLDOUT), "--name", NAME,
            "--standard", STANDARD, "--defect-activity", DEFECT, *COLUMNS]


def fidelity_command(log: Path, scenario: Path, json_out: Path, seed: int = 0) -> list[str]:
    """The ``journeysim fidelity`` command line (without the program name)."""
    return ["fidelity", str(log), str(scenario), "--holdout", str(HOLDOUT), "--seed", str(seed),
            "--standard", STANDARD, "--defect-activity", DEFECT, "--json", str(json_out), *COLUMNS]


def table(reports: Sequence[dict]) -> str:
    """The markdown table: each measure's baseline, model and ratio for seed 0, and the means over the seeds."""
    first = reports[0]["measures"]
    lines = ["| measure | baseline d(A,B) | model d(S,B) | ratio | within 2x? | "
             f"mean baseline ({len(reports)} seeds) | mean model | ratio of means | within 2x? |",
             "|---|---:|---:|---:|:-:|---:|---:|---:|:-:|"]
    for i, m in enumerate(first):
        base = [r["measures"][i]["baseline"] for r in reports]
        model = [r["measures"][i]["model"] for r in reports]
        mb, mm = sum(base) / len(base), sum(model) / len(model)
        ratio = "-" if m["ratio"] is None else f"{m['ratio']:.2f}"
        mratio = f"{mm / mb:.2f}" if mb > 0 else "-"
        lines.append(f"| {m['label']} ({m['unit']}) | {m['baseline']:.4g} | {m['model']:.4g} | {ratio} | "
                     f"{'yes' if m['within_2x'] else '**no**'} | {mb:.4g} | {mm:.4g} | {mratio} | "
                     f"{'yes' if mm <= 2 * mb else '**no**'} |")
    return "\n".join(lines) + "\n"


def reproduce(log: Path = LOG, out: Path = ROOT, seeds: Sequence[int] = SEEDS) -> list[dict]:
    """Write the scenario and the fidelity files under ``out``; return the fidelity reports (dicts), one a seed."""
    from journeysim.cli import main

    scenario = out.resolve() / "scenarios" / "sepsis_discovered.toml"
    docs = out.resolve() / "docs" / "sepsis"
    scenario.parent.mkdir(parents=True, exist_ok=True)
    docs.mkdir(parents=True, exist_ok=True)
    with contextlib.chdir(log.parent):  # the log by its name only: the files say sepsis.csv, not this machine's path
        if main(discover_command(Path(log.name), scenario)) != 0:
            raise SystemExit("journeysim discover failed")
    scenario.write_text(CITATION + scenario.read_text())
    reports = []
    for seed in seeds:
        json_out = docs / ("fidelity.json" if seed == 0 else f"fidelity_seed{seed}.json")
        with contextlib.chdir(log.parent):
            if main(fidelity_command(Path(log.name), scenario, json_out, seed)) != 0:
                raise SystemExit("journeysim fidelity failed")
        report = json.loads(json_out.read_text())
        reports.append(report)
        if seed != 0:
            json_out.unlink()
    return reports


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log", type=Path, default=LOG, help=f"the sepsis log (default {LOG})")
    parser.add_argument("--out", type=Path, default=ROOT, help="where scenarios/ and docs/sepsis/ are written "
                                                               "(default: the repository)")
    args = parser.parse_args(argv)
    if not args.log.is_file():
        print(f"reproduce: no sepsis log at {args.log} (give --log)", file=sys.stderr)
        return 2
    import io

    docs = args.out / "docs" / "sepsis"
    text = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(text):
        warnings.simplefilter("ignore")
        reports = reproduce(args.log, args.out)
    runs = text.getvalue().split("Fidelity of ")
    (docs / "fidelity.txt").write_text("Fidelity of " + runs[1].rstrip() + "\n")
    (docs / "fidelity.md").write_text(table(reports))
    print(table(reports))
    print(f"written: {args.out / 'scenarios' / 'sepsis_discovered.toml'}, {docs / 'fidelity.txt'}, "
          f"{docs / 'fidelity.json'}, {docs / 'fidelity.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
