"""The ``journeysim`` command line: ``validate``, ``run`` and ``analyze``.

Bad input never gives a traceback: every problem is printed on its own line
(file, line, key path, what is wrong) and the command exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._version import __version__
from .analytic import exact_quality
from .errors import JourneySimError, ValidationError
from .experiment import simulate
from .scenario_io import load_scenario

__all__ = ["main"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number of days, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="journeysim",
        description="Simulate patient journeys through clinical microsystems and measure system quality.",
    )
    parser.add_argument("--version", action="version", version=f"journeysim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check scenario files and report every problem")
    p.add_argument("files", nargs="+", metavar="FILE")

    p = sub.add_parser("run", help="simulate a scenario and print its summary")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--replications", type=_positive_int, help="number of replications (default: the file's)")
    p.add_argument("--seed", type=_nonnegative_int, help="root seed (default: the file's)")
    p.add_argument("--horizon-days", type=_days, help="days of arrivals per replication")
    p.add_argument("--warmup-days", type=_days, help="days left out of the statistics")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON ('-' for standard output)")

    p = sub.add_parser("analyze", help="exact system quality from the graph, no simulation")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON ('-' for standard output)")
    return parser


def _write_json(path: str, payload: dict[str, Any]) -> None:
    text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    target = Path(path)
    # write beside the target and rename, so a failure never leaves a partial file
    fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=".journeysim-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _validate(args: argparse.Namespace) -> int:
    failed = False
    for f in args.files:
        try:
            s = load_scenario(f)
        except ValidationError as err:
            failed = True
            print(str(err), file=sys.stderr)
        else:
            print(f"{f}: ok ({len(s.model.microsystems)} microsystems, {len(s.model.handoffs)} handoffs, "
                  f"{len(s.model.requests)} requests, {len(s.model.classes)} classes)")
    return 2 if failed else 0


def _run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.file)
    horizon = None if args.horizon_days is None else args.horizon_days * 1440.0
    warmup = None if args.warmup_days is None else args.warmup_days * 1440.0
    if horizon is not None or warmup is not None:
        scenario = scenario.with_settings(
            horizon=scenario.horizon if horizon is None else horizon,
            warmup=scenario.warmup if warmup is None else warmup,
        )
    result = simulate(scenario, replications=args.replications, seed=args.seed)
    summary = result.summary()
    if args.json:
        _write_json(args.json, summary.to_dict())
    if args.json != "-":
        print(summary.to_text())
    return 0


def _analyze(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.file)
    exact = exact_quality(scenario.model)
    payload = {
        "scenario": scenario.name,
        "journeysim_version": __version__,
        "quality": {
            "system": {"analytic": exact.system},
            "by_class": {k: {"analytic": v} for k, v in exact.by_class.items()},
        },
        "expected_visits": {k: dict(v) for k, v in exact.expected_visits.items()},
    }
    if args.json:
        _write_json(args.json, payload)
    if args.json != "-":
        print(f"Exact quality of the health system (independent defects): {scenario.name}")
        print(f"  all classes   {100 * exact.system:5.1f}%")
        for k, v in exact.by_class.items():
            print(f"  {k:<13} {100 * v:5.1f}%")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (2 for bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    handlers = {"validate": _validate, "run": _run, "analyze": _analyze}
    try:
        return handlers[args.command](args)
    except ValidationError as err:
        print(str(err), file=sys.stderr)
        return 2
    except JourneySimError as err:
        print(f"journeysim: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("journeysim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
