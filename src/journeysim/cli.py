"""The ``journeysim`` command line: ``validate``, ``run``, ``report``, ``analyze``, ``compare``, ``sweep``, ``warmup``.

Bad input never gives a traceback: every problem is printed on its own line
(file, line, key path, what is wrong) and the command exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._version import __version__
from .analytic import exact_quality
from .errors import JourneySimError, Problem, ValidationError
from .leverage import exact_leverage
from .eventlog import DEFAULT_START, calendar_start
from .experiment import simulate
from .scenario_io import load_scenario

__all__ = ["main"]


def _number(kind: type, minimum: float, *, strict: bool, what: str, scale: float = 1.0) -> Any:
    """An argparse type: a finite ``kind`` (int or float) >= ``minimum`` (> if ``strict``).

    With ``scale``, ``value * scale`` (the value in the library's units) must be finite too.
    """

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        if not math.isfinite(value * scale):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}, which is too large")
        return value

    return parse


_positive_int = _number(int, 1, strict=False, what="a positive integer")
_nonnegative_int = _number(int, 0, strict=False, what="a non-negative integer")
_horizon_days = _number(float, 0.0, strict=True, what="a positive number of days", scale=1440.0)
_days = _number(float, 0.0, strict=False, what="a non-negative number of days", scale=1440.0)
_positive_float = _number(float, 0.0, strict=True, what="a positive number")


def _address(text: str) -> str:
    """An argparse type: a Dask scheduler address (checked further when connecting)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a scheduler address such as tcp://host:8786, got ''")
    return text


def _start_date(text: str) -> str:
    """An argparse type: a date ``YYYY-MM-DD`` that an event log's timestamps can hold."""
    from datetime import datetime

    import pandas as pd

    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None
    try:
        calendar_start(text)
    except JourneySimError:
        raise argparse.ArgumentTypeError(
            f"expected a date between {pd.Timestamp.min + pd.Timedelta(days=1):%Y-%m-%d} and {pd.Timestamp.max:%Y-%m-%d} "
            f"(the range of the event log's timestamps), got {text!r}") from None
    return text


def _days_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--horizon-days", type=_horizon_days, help="days of arrivals per replication")
    p.add_argument("--warmup-days", type=_days, help="days left out of the statistics")


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replications", type=_positive_int, help="number of replications (default: the file's)")
    p.add_argument("--seed", type=_nonnegative_int, help="root seed (default: the file's)")
    p.add_argument("--workers", type=_positive_int, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", type=_address, metavar="ADDRESS", help="run on a Dask cluster (needs journeysim[dask])")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _executor_options(args: argparse.Namespace) -> dict[str, Any]:
    """``simulate`` keyword arguments for workers, a Dask scheduler and the progress bar."""
    options: dict[str, Any] = {"workers": args.workers, "progress": False if args.quiet else None}
    if getattr(args, "scheduler", None) is not None:
        try:
            from distributed import Client
        except ImportError:
            raise JourneySimError("--scheduler needs Dask: pip install 'journeysim[dask]'") from None
        try:
            _probe_scheduler(args.scheduler)
            options["executor"] = Client(args.scheduler, timeout="10s")
        except (ValueError, TypeError, OverflowError, OSError) as err:  # OSError covers timeouts
            raise JourneySimError(f"--scheduler: cannot use the Dask scheduler at {args.scheduler!r}: {err}") from None
    return options


def _probe_scheduler(address: str) -> None:
    """Fail at once when nothing listens at a TCP scheduler address.

    Dask's Client retries a refused connection until its timeout; one plain
    connection attempt tells a refused port or an unknown host straight away.
    """
    from distributed.comm import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme in ("tcp", "tls", "ws", "wss"):
        host, port = parse_host_port(location)
        with socket.create_connection((host, port), timeout=5):
            pass


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
    _run_options(p)
    _days_options(p)
    p.add_argument("--checkpoint", metavar="DIR", help="store each finished replication here; rerun to resume")
    p.add_argument("--precision", type=_positive_float, metavar="H",
                   help="run batches until the 95%% CI half-width of system quality is at most H")
    p.add_argument("--max-replications", type=_positive_int, default=1000,
                   help="upper bound with --precision (default 1000)")
    p.add_argument("--records", choices=("full", "summary"), default="full",
                   help="keep every record (full) or only running aggregates (summary: bounded memory)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON ('-' for standard output)")
    p.add_argument("--events", metavar="PATH",
                   help="write every journey as a process-mining event log: .csv or .xes (.xes.gz gzipped)")
    p.add_argument("--start-date", type=_start_date, default=DEFAULT_START, metavar="YYYY-MM-DD",
                   help=f"calendar date of simulated time 0 in the event log (default {DEFAULT_START}; "
                   "simulated time 0 is a Monday 00:00, so give a Monday)")
    p.add_argument("--report", metavar="PATH", help="write a self-contained HTML report")

    p = sub.add_parser("report", help="simulate scenarios and write a self-contained HTML report")
    p.add_argument("files", nargs="+", metavar="FILE", help="one scenario, or the base first and then the others")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="the HTML file to write")
    _run_options(p)
    _days_options(p)
    p.add_argument("--title", help="title of the report (default: the base scenario's name)")

    p = sub.add_parser("compare", help="compare scenarios with common random numbers")
    p.add_argument("files", nargs="+", metavar="FILE", help="the base scenario first, then the others")
    _run_options(p)
    p.add_argument("--json", metavar="PATH", help="write the results as JSON ('-' for standard output)")

    p = sub.add_parser("sweep", help="run a grid of parameter values with common random numbers")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--set", dest="sets", action="append", required=True, metavar="PATH=V1,V2,...",
                   help='e.g. \'handoffs["EMS->ED"].defects.information=0.43,0.3\'; several make a grid')
    _run_options(p)
    p.add_argument("--json", metavar="PATH", help="write the table as JSON records ('-' for standard output)")
    p.add_argument("--csv", metavar="PATH", help="write the table as CSV")

    p = sub.add_parser("warmup", help="suggest a warm-up period from a pilot run (MSER-5)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--replications", type=_positive_int, default=5, help="pilot replications (default 5)")
    p.add_argument("--seed", type=_nonnegative_int, help="root seed (default: the file's)")
    p.add_argument("--node", metavar="NAME", help="use the waits at this microsystem instead of time in system")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _days_options(p)

    p = sub.add_parser("analyze", help="exact system quality from the graph, no simulation")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON ('-' for standard output)")
    return parser


def _write_json(path: str, payload: dict[str, Any]) -> None:
    _write_text(path, json.dumps(payload, indent=2, allow_nan=False) + "\n")


def _write_text(path: str, text: str) -> None:
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
    if args.events is not None:  # checked before the run, which may be long
        from .eventlog import check_event_log_path

        if args.records == "summary":
            raise JourneySimError("--events needs every record of the run; it cannot be used with --records summary")
        check_event_log_path(args.events)
    scenario = _with_days(load_scenario(args.file), args)
    if args.events is not None:
        _check_event_span(args.start_date, scenario.horizon)
    if args.report:
        _check_output(args.report)
    options = _executor_options(args)
    try:
        result = simulate(scenario, replications=args.replications, seed=args.seed, records=args.records,
                          checkpoint=args.checkpoint, precision=args.precision,
                          max_replications=args.max_replications, **options)
    finally:
        _close(options)
    summary = result.summary()
    if args.json:
        _write_json(args.json, summary.to_dict())
    # with the JSON on standard output, the other messages go to standard error
    say = sys.stderr if args.json == "-" else sys.stdout
    if args.json != "-":
        print(summary.to_text())
        p = result.provenance.precision
        if p is not None:
            state = "reached" if p.reached else "NOT reached (--max-replications)"
            print(f"\nPrecision target {p.target:g}: {state} after {p.replications} replications "
                  f"(half-width {p.half_width:.4f})")
    if args.events is not None:
        from .eventlog import write_event_log

        written = write_event_log(result, args.events, start=args.start_date)
        print(f"\nEvent log written to {Path(written).resolve()}", file=say)
    if args.report:
        _write_report(result, args.report, summary=summary, file=say)
    return 0


def _check_output(path: str) -> None:
    """Fail before any simulation when an output file could not be written."""
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise JourneySimError(f"{path}: cannot write the report (no directory {parent})")


def _write_report(source: Any, path: str, *, file: Any = None, **options: Any) -> None:
    from .report import write_report

    write_report(source, path, **options)
    print(f"\nReport written to {Path(path).resolve()}", file=file or sys.stdout)


def _check_event_span(start: str, horizon: float) -> None:
    """Fail before the run when the event log's timestamps would leave the range pandas can hold."""
    import pandas as pd

    try:
        calendar_start(start) + pd.Timedelta(minutes=horizon)
    except (ValueError, OverflowError):  # pandas' OutOfBounds errors are ValueErrors
        raise JourneySimError(
            f"--start-date {start}: with the {horizon / 1440:g}-day horizon the event log would run past "
            f"{pd.Timestamp.max:%Y-%m-%d}, the last date its timestamps can hold; give an earlier start") from None


def _with_days(scenario: Any, args: argparse.Namespace) -> Any:
    """The scenario with the horizon and warm-up given on the command line, if any."""
    if args.horizon_days is None and args.warmup_days is None:
        return scenario
    try:
        return scenario.with_settings(
            horizon=scenario.horizon if args.horizon_days is None else args.horizon_days * 1440.0,
            warmup=scenario.warmup if args.warmup_days is None else args.warmup_days * 1440.0,
        )
    except ValidationError as err:
        given = {"horizon": "--horizon-days" if args.horizon_days is not None else None,
                 "warmup": "--warmup-days" if args.warmup_days is not None else None}
        raise ValidationError([Problem(given.get(p.path) or p.path, p.message) for p in err.problems]) from None


def _report(args: argparse.Namespace) -> int:
    from .comparison import compare

    _check_output(args.output)
    scenarios = [_with_days(s, args) for s in _load_all(args.files)]
    options = _executor_options(args)
    try:
        if len(scenarios) == 1:
            source: Any = simulate(scenarios[0], replications=args.replications, seed=args.seed, **options)
        else:
            source = compare(scenarios, replications=args.replications, seed=args.seed, **options)
    finally:
        _close(options)
    _write_report(source, args.output, title=args.title)
    return 0


def _close(options: dict[str, Any]) -> None:
    executor = options.get("executor")
    if executor is not None:
        executor.close()


def _compare(args: argparse.Namespace) -> int:
    from .comparison import compare

    scenarios = _load_all(args.files)
    options = _executor_options(args)
    try:
        comparison = compare(scenarios, replications=args.replications, seed=args.seed, **options)
    finally:
        _close(options)
    if args.json:
        _write_json(args.json, comparison.to_dict())
    if args.json != "-":
        print(_comparison_text(comparison))
    return 0


def _load_all(files: Sequence[str]) -> list[Any]:
    scenarios, problems = [], []
    for f in files:
        try:
            scenarios.append(load_scenario(f))
        except ValidationError as err:
            problems.extend(err.problems)
    if problems:
        raise ValidationError(problems)
    return scenarios


def _comparison_text(comparison: Any) -> str:
    base = comparison.results[0]
    lines = [f"Base: {base.scenario.name}  ({len(base.stats)} replications, seed {base.provenance.seed}, "
             "common random numbers)", ""]
    for name, metrics in comparison.differences.items():
        lines.append(f"{name} minus base (paired 95% CI; variance reduction vs independent runs)")
        keys = [k for k in metrics if k.startswith("quality.")] + ["time_in_system_minutes"]
        for key in keys:
            d = metrics.get(key)
            if d is None or d["mean"] is None:
                continue
            scale, unit = (100.0, " pts") if key.startswith("quality.") else (1.0 / 1440.0, " d")
            lo, hi = d["ci95"]
            ci = "" if lo is None else f" [{lo * scale:+.2f}, {hi * scale:+.2f}]"
            vr = d["variance_reduction"]
            vr_text = "" if vr is None else f"   x{vr:.1f}"
            lines.append(f"  {key:<34} {d['mean'] * scale:+.2f}{unit}{ci}{vr_text}")
        lines.append("")
    return "\n".join(lines).rstrip()


def _sweep(args: argparse.Namespace) -> int:
    from .comparison import sweep
    from .overrides import parse_override
    from .scenario_io import read_spec

    spec = read_spec(args.file)
    overrides = [parse_override(text) for text in args.sets]
    options = _executor_options(args)
    try:
        table = sweep(spec, overrides, replications=args.replications, seed=args.seed, **options)
    finally:
        _close(options)
    if args.csv:
        _write_text(args.csv, table.to_csv(index=False))
    if args.json:
        _write_json(args.json, {"scenario": args.file, "journeysim_version": __version__,
                                "points": json.loads(table.to_json(orient="records"))})
    if args.json != "-":
        keys = [o.path for o in overrides]
        shown = table[table["metric"].str.startswith("quality.")]
        print(shown.to_string(index=False, columns=keys + ["metric", "mean", "ci95_low", "ci95_high", "difference"],
                              float_format=lambda x: f"{x:.4f}"))
    return 0


def _warmup(args: argparse.Namespace) -> int:
    from .warmup import suggest_warmup

    scenario = _with_days(load_scenario(args.file), args)
    if args.node is not None and args.node not in scenario.model.node_names:
        raise JourneySimError(f"--node: unknown microsystem {args.node!r}; one of {', '.join(scenario.model.node_names)}")
    # the pilot keeps every journey, so MSER-5 sees the start-up transient the warm-up is to remove
    pilot = simulate(scenario.with_settings(warmup=0.0), replications=args.replications, seed=args.seed,
                     progress=False if args.quiet else None)
    s = suggest_warmup(pilot, node=args.node)
    what = f"waits at {args.node}" if args.node else "time in system"
    print(f"MSER-5 on the replication-averaged {what} ({args.replications} pilot replications of "
          f"{scenario.horizon / 1440:g} days, bins of {s.bin_minutes / 60:g} h):")
    print(f"  suggested warm-up: {s.warmup_minutes / 1440:.2f} days ({s.warmup_minutes:.0f} minutes)")
    print(f"  current warm-up:   {scenario.warmup / 1440:.2f} days")
    if not s.reliable:
        print("  not reliable: the minimum lies in the second half of the run; use a longer pilot horizon")
    return 0


def _analyze(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.file)
    exact = exact_quality(scenario.model)
    payload = {
        "scenario": scenario.name,
        "journeysim_version": __version__,
        "quality": {
            "system": {"analytic": exact.system,
                       "independent": exact_quality(scenario.model, independent=True).system,
                       "analytic_excludes": ["standards"] if scenario.model.standards else []},
            "by_class": {k: {"analytic": v} for k, v in exact.by_class.items()},
        },
        "expected_visits": {k: dict(v) for k, v in exact.expected_visits.items()},
    }
    payload["quality"]["leverage"] = exact_leverage(scenario.model)
    if args.json:
        _write_json(args.json, payload)
    if args.json != "-":
        frailty = scenario.model.frailty
        how = ("independent defects" if frailty.is_independent
               else f"defects clustered by a patient frailty, correlation {frailty.correlation:g}")
        print(f"Exact quality of the health system ({how}): {scenario.name}")
        print(f"  all classes   {100 * exact.system:5.1f}%")
        for k, v in exact.by_class.items():
            print(f"  {k:<13} {100 * v:5.1f}%")
        if not frailty.is_independent:
            print(f"  independent product (frailty left out): {100 * payload['quality']['system']['independent']:.1f}%")
        print("Where to work next (exact): gain in system quality if perfect / if halved")
        for row in payload["quality"]["leverage"]:
            print(f"  {row['element']:<44} +{100 * row['if_perfect']:5.2f} pts / +{100 * row['if_halved']:5.2f} pts")
        if scenario.model.standards:
            names = ", ".join(st.name for st in scenario.model.standards)
            print(f"  Timeliness standards ({names}) are left out: a graph cannot see time. "
                  "`journeysim run` includes them.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (2 for bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    handlers = {"validate": _validate, "run": _run, "analyze": _analyze, "compare": _compare,
                "sweep": _sweep, "warmup": _warmup, "report": _report}
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
