"""The ``journeysim`` command line: ``validate``, ``run``, ``report``, ``analyze``, ``compare``, ``sweep``, ``warmup``,
``fit``, ``log-info``, ``discover``, ``fidelity``, ``examples``, ``app``.

Bad input never gives a traceback: every problem is printed on its own line
(file, line, key path, what is wrong) and the command exits with status 2. Output
paths are checked before anything runs, and a command's output files are written
all or none (see :class:`_Outputs`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .data import FALSE_WORDS, TRUE_WORDS
from .errors import JourneySimError, JourneySimWarning, Problem, ValidationError, warning_lines
from .model.clock import DEFAULT_START
from .run.files import folder_problems, is_stream, new_file_beside, output_problems

if TYPE_CHECKING:
    from .model.scenario import Scenario

# Each command imports what it uses when it runs: `--version`, `--help` and `validate` load
# neither scipy.stats nor pandas nor matplotlib (benchmarks/startup.py measures it).

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


def _probability_open(text: str) -> float:
    """An argparse type: a probability strictly between 0 and 1 (e.g. ``--pcs 0.95``)."""
    value = _number(float, 0.0, strict=True, what="a probability between 0 and 1")(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}")
    return float(value)


def _address(text: str) -> str:
    """An argparse type: a Dask scheduler address (checked further when connecting)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a scheduler address such as tcp://host:8786, got ''")
    return text


def _start_date(text: str) -> str:
    """An argparse type: a date ``YYYY-MM-DD`` that an event log's timestamps can hold."""
    from datetime import datetime

    import pandas as pd

    from .outputs.eventlog import calendar_start

    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None
    try:
        calendar_start(text)
    except JourneySimError:
        raise argparse.ArgumentTypeError(
            f"expected a date between {pd.Timestamp.min + pd.Timedelta(days=1):%Y-%m-%d} and "
            f"{pd.Timestamp.max:%Y-%m-%d} "
            f"(the range of the event log's timestamps), got {text!r}") from None
    return text


def _days_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--horizon-days", type=_horizon_days, help="days of arrivals per replication")
    p.add_argument("--warmup-days", type=_days, help="days left out of the statistics")
    p.add_argument("--end", choices=("drain", "stop"),
                   help="drain: follow every journey to its end; stop: end the simulation at the horizon, "
                   "leaving journeys in progress (default: the file's)")


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replications", type=_positive_int, help="number of replications (default: the file's)")
    p.add_argument("--seed", type=_nonnegative_int, help="root seed (default: the file's)")
    p.add_argument("--workers", type=_positive_int, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", type=_address, metavar="ADDRESS",
                   help="run on a Dask cluster (needs journeysim[dask])")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--max-memory", type=_size, metavar="SIZE",
                   help="memory the run may use, e.g. 16G or 'none' (default: half of this machine's memory); "
                   "a larger run is refused before it starts")


def _size(text: str) -> float:
    from .run.runsize import parse_size

    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _executor_options(args: argparse.Namespace) -> dict[str, Any]:
    """``simulate`` keyword arguments for workers, a Dask scheduler, the progress bar and the memory limit."""
    options: dict[str, Any] = {"workers": args.workers, "progress": False if args.quiet else None,
                               "max_memory": getattr(args, "max_memory", None)}
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

    p = sub.add_parser("compare", help="compare scenarios with common random numbers; select the best")
    p.add_argument("files", nargs="+", metavar="FILE", help="the base scenario first, then the others")
    _run_options(p)
    _days_options(p)
    p.add_argument("--json", metavar="PATH", help="write the results as JSON ('-' for standard output)")
    p.add_argument("--report", metavar="PATH",
                   help="write this comparison (and the selection, with --select) as a self-contained HTML report")
    p.add_argument("--title", help="title of the --report (default: the base scenario's name)")
    p.add_argument("--metric", action="append", metavar="KEY",
                   help="show this metric instead of the key metrics (repeat for several; e.g. CCU.utilisation)")
    p.add_argument("--select", metavar="METRIC",
                   help="with 3 or more scenarios (the base among them), select the best by METRIC "
                   "with the KN procedure (adds replications)")
    p.add_argument("--delta", type=_positive_float, metavar="D",
                   help="indifference zone of --select in the metric's shown unit: points for percentages, "
                   "minutes for times, money for costs")
    p.add_argument("--pcs", type=_probability_open, metavar="P",
                   help="probability of correct selection of --select (default 0.95)")
    p.add_argument("--direction", choices=("higher", "lower"),
                   help="whether higher or lower METRIC is better (default: by the metric)")
    p.add_argument("--max-replications", type=_positive_int,
                   help="at most this many replications of a scenario with --select (default 1000)")
    p.add_argument("--batch", type=_positive_int,
                   help="replications added to each survivor between screenings of --select (default 1)")

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

    p = sub.add_parser("examples", help="copy the example scenarios that ship with journeysim into a folder")
    p.add_argument("folder", nargs="?", metavar="DIR", help="the folder to copy them into (made if missing)")
    p.add_argument("--force", action="store_true", help="overwrite example files already in DIR")
    p.add_argument("--list", action="store_true", help="print the examples' names and where they are installed")

    p = sub.add_parser("app", help="open a what-if app of a scenario in the browser (needs journeysim[app])")
    p.add_argument("file", metavar="FILE", help="the base scenario")
    p.add_argument("--port", type=_number(int, 1, strict=False, what="a port number from 1 to 65535"), default=8050,
                   help="the port to serve on (default 8050)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to serve on (default 127.0.0.1: this machine only)")

    p = sub.add_parser("fit", help="fit duration distributions to a CSV column and print the line to paste")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--column", required=True, metavar="C", help="the column of durations (by its header name)")
    p.add_argument("--censored-column", metavar="D",
                   help="a column that is true (true/yes/1) where the duration is right-censored (still running)")
    p.add_argument("--families", nargs="+", metavar="NAME",
                   help="families to try (default: exponential lognormal gamma weibull normal; also uniform)")
    p.add_argument("--unit", choices=("minutes", "hours", "days"), default="minutes",
                   help="unit of the values (default minutes); the line to paste carries it")
    p.add_argument("--key", default="service", help="the key of the printed scenario-file line (default service)")
    p.add_argument("--bootstrap", type=_nonnegative_int, default=200,
                   help="parametric-bootstrap samples for the p-values (default 200; 0: none)")
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="seed of the bootstrap (default 0)")
    p.add_argument("--json", metavar="PATH", help="write the fits as JSON ('-' for standard output)")
    p.add_argument("--plot", metavar="PATH", help="draw the fits and a QQ plot of the best (.png, .svg, .pdf)")
    p = sub.add_parser("log-info", help="read an event log (CSV or XES) and summarise it, to check the column options")
    p.add_argument("log", metavar="LOG", help="a .csv or .xes file (gzipped too)")
    _log_options(p)
    p.add_argument("--json", metavar="PATH", help="write the summary as JSON ('-' for standard output)")

    p = sub.add_parser("discover", help="discover a scenario (units, classes, routing, services, arrivals, "
                                        "capacities, defects, standards) from an event log")
    p.add_argument("log", metavar="LOG", help="a .csv or .xes file (gzipped too)")
    p.add_argument("-o", "--output", dest="scenario_out", required=True, metavar="SCENARIO.toml",
                   help="the scenario file to write")
    p.add_argument("--classes-from", metavar="COLUMN",
                   help="an attribute column (given with --attribute) naming each case's class "
                        "(default: the class column, else one class)")
    p.add_argument("--capacity-quantile", type=float, default=0.99, metavar="Q",
                   help="quantile of the number in service taken as a unit's capacity (default 0.99)")
    p.add_argument("--name", help="the scenario's name (default: from the log's file name)")
    p.add_argument("--defect", dest="defects", action="append", default=[], metavar="COLUMN",
                   help="a true/false column whose true values are defects (repeatable; read as an attribute): "
                        "an event column gives each unit's defect rate, a case:... column flags the case at its "
                        "entry unit")
    p.add_argument("--defect-activity", dest="defect_activities", action="append", default=[], metavar="ACTIVITY",
                   help="an activity whose occurrence is a defect, e.g. \"Return ER\" (repeatable)")
    p.add_argument("--standard", dest="standards", action="append", default=[], metavar="SPEC",
                   help="a timeliness standard, \"NAME: A -> B <= 60 min\" (units min, h, d; repeatable): from the "
                        "first time a case reaches activity A to the first time it reaches B")
    p.add_argument("--holdout", type=float, metavar="SHARE",
                   help="discover from the cases before the last SHARE by start (held out for journeysim fidelity "
                        "--holdout SHARE; default: every case)")
    p.add_argument("--support", default="auto", metavar="auto|none|A,B",
                   help="support units: found by the nesting rule (auto, the default), none, or exactly the "
                        "activities named (comma-separated)")
    p.add_argument("--utc-offset", type=_utc_offset, metavar="+HH:MM",
                   help="the local time of the arrival profile, e.g. +02:00 (default: the offset the timestamps "
                        "carry, the most frequent when several; timestamps without one are taken as written)")
    p.add_argument("--json", metavar="PATH", help="write the discovery report as JSON ('-' for standard output)")
    _log_options(p)

    p = sub.add_parser("fidelity", help="measure a scenario against an event log's held-out cases, beside a "
                                        "real-vs-real baseline")
    p.add_argument("log", metavar="LOG", help="the real event log, a .csv or .xes file (gzipped too)")
    p.add_argument("scenario", metavar="SCENARIO", help="the scenario file (.toml) to simulate")
    p.add_argument("--holdout", type=float, default=0.2, help="share of cases, the last by start, held out "
                                                               "(default 0.2)")
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="seed of the split and the simulation "
                                                                   "(default 0)")
    p.add_argument("--splits", type=_positive_int, default=5, help="random splits of the held-out cases into two "
                                                                 "halves to average the baseline over (default 5)")
    p.add_argument("--standard", dest="standards", action="append", default=[], metavar="'NAME: A -> B <= 60 min'",
                   help="a timeliness standard to compare (repeat for several)")
    p.add_argument("--defect-activity", dest="defect_activities", action="append", default=[], metavar="ACTIVITY",
                   help="cases with this activity count as a defect (repeat for several)")
    p.add_argument("--json", metavar="PATH", help="write the fidelity report as JSON ('-' for standard output)")
    _log_options(p)
    return parser


def _utc_offset(text: str) -> float:
    """Minutes east of UTC from ``+02:00``, ``-05:30`` or hours (``2``, ``-5.5``)."""
    t = text.strip()
    try:
        if ":" in t:
            sign = -1 if t.startswith("-") else 1
            hours, minutes = t.lstrip("+-").split(":")
            value = sign * (int(hours) * 60 + int(minutes))
        else:
            value = round(float(t) * 60)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an offset like +02:00 or -5, got {text!r}") from None
    if not -18 * 60 <= value <= 18 * 60:
        raise argparse.ArgumentTypeError(f"an offset from UTC is within 18 hours, got {text!r}")
    return float(value)


def _log_options(p: argparse.ArgumentParser) -> None:
    """The options naming an event log's columns (``journeysim.data.logs.read_log``'s arguments)."""
    g = p.add_argument_group("event log columns (default: pm4py's standard names, as journeysim run --events writes)")
    g.add_argument("--case", metavar="COLUMN", help="case id (default case:concept:name)")
    g.add_argument("--activity", metavar="COLUMN", help="activity or unit (default concept:name)")
    g.add_argument("--timestamp", metavar="COLUMN", help="one time per event (default time:timestamp)")
    g.add_argument("--start", metavar="COLUMN", help="start time, with --end: one row per activity instance")
    g.add_argument("--end", metavar="COLUMN", help="end time, with --start")
    g.add_argument("--lifecycle", metavar="COLUMN",
                   help="start/complete (schedule, withdraw) transition (default lifecycle:transition if present)")
    g.add_argument("--class", dest="class_", metavar="COLUMN", help="patient class (default case:class if present)")
    g.add_argument("--resource", metavar="COLUMN", help="who did the work (default org:resource if present)")
    g.add_argument("--instance", metavar="COLUMN", help="activity-instance id pairing start and complete events")
    g.add_argument("--attribute", dest="attributes", action="append", default=[], metavar="COLUMN",
                   help="another column to keep (repeat for several)")
    g.add_argument("--time-format", metavar="FORMAT",
                   help="strptime pattern of the timestamps, e.g. '%%Y/%%m/%%d %%H:%%M:%%S.%%f' (default ISO 8601)")
    g.add_argument("--sep", metavar="CHAR", help="CSV delimiter (default: found from the header; 'tab' for a tab)")


def _log_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """``read_log``'s keyword arguments from the options of :func:`_log_options`."""
    names = ("case", "activity", "timestamp", "start", "end", "lifecycle", "class_", "resource", "instance",
             "attributes", "time_format", "sep")
    return {name: getattr(args, name) for name in names}


#: Options that name an output: destination -> (option, what it holds). All but the checkpoint are files.
_OUTPUTS = {"json": ("--json", "the JSON"), "csv": ("--csv", "the CSV"), "report": ("--report", "the report"),
            "output": ("-o", "the report"), "scenario_out": ("-o", "the scenario file"),
            "events": ("--events", "the event log"), "checkpoint": ("--checkpoint", "the checkpoint"),
            "plot": ("--plot", "the plot")}


def _check_outputs(args: argparse.Namespace) -> None:
    """Fail before any simulation when an output could not be written, listing every problem.

    Each file's directory must exist and be writable and the file must not be a
    directory; an event log's name must end in a known format; a checkpoint must
    be (or be creatable as) a writable folder; no path may be given twice.
    """
    problems: list[str] = []
    seen: dict[str, str] = {}
    for dest, (option, what) in _OUTPUTS.items():
        path = getattr(args, dest, None)
        if path is None or (path == "-" and dest in ("json", "csv")):
            continue
        if not str(path).strip():
            problems.append(f"{option}: the path is empty; give the file {what} goes to")
            continue
        if dest == "checkpoint":
            problems += folder_problems(path, what)
        elif dest == "events":
            from .outputs.eventlog import check_event_log_path

            try:
                check_event_log_path(path)
            except JourneySimError as err:
                problems += str(err).splitlines()
        else:
            problems += output_problems(path, what)
        key = os.path.realpath(path)
        if key in seen and not is_stream(key):
            problems.append(f"{path}: given to both {seen[key]} and {option}; give each output its own path")
        seen.setdefault(key, option)
    if getattr(args, "events", None) is not None and getattr(args, "records", None) == "summary":
        problems.append("--events needs every record of the run; it cannot be used with --records summary")
    if problems:
        raise JourneySimError("\n".join(problems))


class _Outputs:
    """The files a command writes: all of them, or none.

    Each output is written when added, to a temporary file beside its target
    (with the user's umask). Leaving the ``with`` block normally renames every
    one into place and then writes what goes to standard output (``-``) or to a
    device; leaving it with an error (or Ctrl-C) removes every temporary file, so
    no output of the run is left behind.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []  # (temporary, target)
        self._streams: list[Callable[[], object]] = []

    def __enter__(self) -> _Outputs:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self._commit()
        else:
            self._discard()

    def add(self, path: str, write: Callable[[Path], object]) -> None:
        """Write the output ``path`` by calling ``write`` with the path of its temporary file."""
        target = Path(path)
        if is_stream(target):
            self._streams.append(lambda: write(target))
            return
        try:
            fd, tmp = new_file_beside(target)
            os.close(fd)
            self._staged.append((tmp, target))
            write(tmp)
        except OSError as err:
            raise JourneySimError(f"{path}: cannot write it ({err.strerror or err})") from err

    def add_text(self, path: str, text: str) -> None:
        """Write ``text`` to ``path`` (UTF-8), or to standard output if ``path`` is ``-``."""
        if path == "-":
            self._streams.append(lambda: sys.stdout.write(text))
        else:
            self.add(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def add_json(self, path: str, payload: dict[str, Any]) -> None:
        """Write ``payload`` as JSON (no NaN) to ``path``, or to standard output if ``path`` is ``-``."""
        self.add_text(path, json.dumps(payload, indent=2, allow_nan=False) + "\n")

    def _commit(self) -> None:
        placed: list[Path] = []
        try:
            for tmp, target in self._staged:
                os.replace(tmp, target)
                placed.append(target)
        except BaseException as err:
            for target in placed:
                target.unlink(missing_ok=True)
            self._discard()
            if isinstance(err, OSError):
                raise JourneySimError(f"cannot put the outputs in place ({err}); none was kept") from err
            raise
        self._staged = []
        for write in self._streams:
            write()

    def _discard(self) -> None:
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged = []


def _validate(args: argparse.Namespace) -> int:
    from .io.scenario_file import build_scenario, locate_problems, read_spec
    from .model.diagnostics import model_warnings

    failed = False
    for f in args.files:
        try:
            spec = read_spec(f)
            s = build_scenario(spec)
        except ValidationError as err:
            failed = True
            print(str(err), file=sys.stderr)
        else:
            print(f"{f}: ok ({len(s.model.microsystems)} microsystems, {len(s.model.handoffs)} handoffs, "
                  f"{len(s.model.requests)} requests, {len(s.model.classes)} classes)")
            for w in locate_problems(spec, model_warnings(s.model)):
                print(f"{w.file}{'' if w.line is None else f':{w.line}'}: warning: {w.path}: {w.message}",
                      file=sys.stderr)
    return 2 if failed else 0


def _run(args: argparse.Namespace) -> int:
    from .analysis.result import simulate
    from .io.scenario_file import load_scenario

    scenario = _with_days(load_scenario(args.file), args)
    if args.events is not None:
        _check_event_span(args.start_date, scenario.horizon)
    options = _executor_options(args)
    try:
        result = simulate(scenario, replications=args.replications, seed=args.seed, records=args.records,
                          checkpoint=args.checkpoint, precision=args.precision,
                          max_replications=args.max_replications, **options)
    finally:
        _close(options)
    summary = result.summary()
    # with the JSON on standard output, the other messages go to standard error
    say = sys.stderr if args.json == "-" else sys.stdout
    if args.json != "-":
        print(summary.to_text())
        p = result.provenance.precision
        if p is not None:
            state = "reached" if p.reached else "NOT reached (--max-replications)"
            print(f"\nPrecision target {p.target:g}: {state} after {p.replications} replications "
                  f"(half-width {p.half_width:.4f})")
    with _Outputs() as out:
        if args.json:
            out.add_json(args.json, summary.to_dict())
        if args.events is not None:
            from .outputs.eventlog import write_event_log

            out.add(args.events, lambda tmp: write_event_log(result, tmp, start=args.start_date))
        if args.report:
            from .outputs.report import write_report

            out.add(args.report, lambda tmp: write_report(result, tmp, summary=summary))
    if args.events is not None:
        print(f"\nEvent log written to {Path(args.events).resolve()}", file=say)
    if args.report:
        print(f"\nReport written to {Path(args.report).resolve()}", file=say)
    return 0


def _check_event_span(start: str, horizon: float) -> None:
    """Fail before the run when the event log's timestamps would leave the range pandas can hold."""
    import pandas as pd

    from .outputs.eventlog import calendar_start

    try:
        calendar_start(start) + pd.Timedelta(minutes=horizon)
    except (ValueError, OverflowError):  # pandas' OutOfBounds errors are ValueErrors
        raise JourneySimError(
            f"--start-date {start}: with the {horizon / 1440:g}-day horizon the event log would run past "
            f"{pd.Timestamp.max:%Y-%m-%d}, the last date its timestamps can hold; give an earlier start") from None


def _with_days(scenario: Any, args: argparse.Namespace) -> Any:
    """The scenario with the horizon, warm-up and end given on the command line, if any."""
    if args.horizon_days is None and args.warmup_days is None and args.end is None:
        return scenario
    try:
        return scenario.with_settings(
            horizon=scenario.horizon if args.horizon_days is None else args.horizon_days * 1440.0,
            warmup=scenario.warmup if args.warmup_days is None else args.warmup_days * 1440.0,
            end=scenario.end if args.end is None else args.end,
        )
    except ValidationError as err:
        given = {"horizon": "--horizon-days" if args.horizon_days is not None else None,
                 "warmup": "--warmup-days" if args.warmup_days is not None else None}
        raise ValidationError([Problem(given.get(p.path) or p.path, p.message) for p in err.problems]) from None


def _report(args: argparse.Namespace) -> int:
    from .analysis.comparison import compare
    from .analysis.result import simulate
    from .outputs.report import write_report

    scenarios = [_with_days(s, args) for s in _load_all(args.files)]
    options = _executor_options(args)
    try:
        if len(scenarios) == 1:
            source: Any = simulate(scenarios[0], replications=args.replications, seed=args.seed, **options)
        else:
            source = compare(scenarios, replications=args.replications, seed=args.seed, **options)
    finally:
        _close(options)
    with _Outputs() as out:
        out.add(args.output, lambda tmp: write_report(source, tmp, title=args.title))
    print(f"\nReport written to {Path(args.output).resolve()}")
    return 0


def _close(options: dict[str, Any]) -> None:
    executor = options.get("executor")
    if executor is not None:
        executor.close()


def _compare(args: argparse.Namespace) -> int:
    from .analysis.comparison import compare
    from .analysis.selection import pcs_text, zone_text

    scenarios = [_with_days(s, args) for s in _load_all(args.files)]
    _check_select(args, len(scenarios))
    if args.title is not None and not args.report:
        raise ValidationError([Problem("--title", "applies to --report PATH; give it")])
    options = _executor_options(args)
    selection = None
    try:
        comparison = compare(scenarios, replications=args.replications, seed=args.seed, **options)
        comparison.key_rows(args.metric)  # a --metric that is not a key fails before selection runs
        if args.select:
            selection = _select(comparison, args, options)
    finally:
        _close(options)
    with _Outputs() as out:
        if args.json:
            payload = comparison.to_dict(args.metric)
            if selection is not None:
                payload["selection"] = selection.to_dict()
            out.add_json(args.json, payload)
        if args.report:
            from .outputs.report import write_report

            out.add(args.report, lambda tmp: write_report(comparison, tmp, title=args.title, metrics=args.metric,
                                                          selection=selection))
    if args.json != "-":
        print(comparison.to_text(args.metric))
        if selection is not None:
            print(f"\nRanking and selection (KN, common random numbers; indifference zone "
                  f"{zone_text(args.select, selection.delta, selection.currency)}, "
                  f"P(correct selection) ≥ {pcs_text(selection.pcs)})")
            print(selection.to_text())
        if args.report:
            print(f"\nReport written to {Path(args.report).resolve()}")
    return 0


def _check_select(args: argparse.Namespace, k: int) -> None:
    """``--select`` needs three or more scenarios and ``--delta``; the other options need ``--select``."""
    problems = []
    if args.select:
        if k < 3:
            problems.append(Problem("--select", f"needs three or more scenarios (the base among them), got {k}"))
        if args.delta is None:
            problems.append(Problem("--delta", "--select needs an indifference zone, e.g. --delta 1 "
                                    "(points for a percentage, minutes for a time)"))
    else:
        given = [f"--{name.replace('_', '-')}" for name in ("delta", "direction", "pcs", "max_replications", "batch")
                 if getattr(args, name) is not None]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            problems.append(Problem("--select", f"{', '.join(given)} {verb} to --select METRIC; give it"))
    if problems:
        raise ValidationError(problems)
    args.pcs = 0.95 if args.pcs is None else args.pcs  # the defaults the help states
    args.max_replications = 1000 if args.max_replications is None else args.max_replications
    args.batch = 1 if args.batch is None else args.batch


def _select(comparison: Any, args: argparse.Namespace, options: dict[str, Any]) -> Any:
    from .analysis.keymetrics import display
    from .analysis.selection import select_best

    raw_delta = args.delta / display(args.select, 0.0).scale  # points -> fraction; minutes stay minutes
    return select_best(comparison, args.select, delta=raw_delta, pcs=args.pcs, direction=args.direction,
                       max_replications=args.max_replications, batch=args.batch, **options)


def _load_all(files: Sequence[str]) -> list[Scenario]:
    """The scenarios of ``files``, named apart by their file names where two share a name."""
    from .io.scenario_file import load_scenario

    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    for f in files:
        try:
            scenarios.append(load_scenario(f))
        except ValidationError as err:
            problems.extend(err.problems)
    if problems:
        raise ValidationError(problems)
    names = [s.name for s in scenarios]
    given: set[str] = set()
    for i, (s, f) in enumerate(zip(scenarios, files)):
        shown = s.name
        if names.count(s.name) > 1:
            shown = f"{s.name} ({Path(f).name})"
        if shown in given or (shown != s.name and shown in names):
            shown = f"{shown} #{i + 1}"
        given.add(shown)
        if shown != s.name:
            scenarios[i] = s.with_settings(name=shown)
    return scenarios


def _sweep(args: argparse.Namespace) -> int:
    from .analysis.comparison import sweep
    from .io.overrides import parse_override
    from .io.scenario_file import read_spec

    spec = read_spec(args.file)
    overrides = [parse_override(text) for text in args.sets]
    options = _executor_options(args)
    try:
        table = sweep(spec, overrides, replications=args.replications, seed=args.seed, **options)
    finally:
        _close(options)
    with _Outputs() as out:
        if args.csv:
            out.add_text(args.csv, table.to_csv(index=False))
        if args.json:
            out.add_json(args.json, {"scenario": args.file, "journeysim_version": __version__,
                                     "points": json.loads(table.to_json(orient="records"))})
    if "-" not in (args.json, args.csv):
        keys = [o.path for o in overrides]
        shown = table[table["metric"].str.startswith("quality.")]
        print("Quality as fractions, as in --csv and --json (0.0440 is 4.40%; the difference 0.0085 is "
              "+0.85 points)")
        print(shown.to_string(index=False, columns=[*keys, "metric", "mean", "ci95_low", "ci95_high", "difference"],
                              float_format=lambda x: f"{x:.4f}", na_rep="n/a"))
    return 0


def _warmup(args: argparse.Namespace) -> int:
    from .analysis.result import simulate
    from .analysis.warmup import suggest_warmup
    from .io.scenario_file import load_scenario

    scenario = _with_days(load_scenario(args.file), args)
    if args.node is not None and args.node not in scenario.model.node_names:
        raise JourneySimError(f"--node: unknown microsystem {args.node!r}; "
                              f"one of {', '.join(scenario.model.node_names)}")
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
    from .analysis.exact import exact_quality
    from .analysis.figures import plain
    from .analysis.leverage import exact_leverage_rows
    from .analysis.outcomes import exact_outcomes, outcomes_unavailable
    from .io.scenario_file import load_scenario
    from .model.diagnostics import model_warnings
    from .model.traffic import offered_load

    scenario = load_scenario(args.file)
    model = scenario.model
    exact = exact_quality(model)
    independent = exact if model.frailty.is_independent else exact_quality(model, independent=True)
    load = offered_load(model)
    problems = model_warnings(model, load)
    leverage = exact_leverage_rows(model, exact)
    payload: dict[str, Any] = {
        "scenario": scenario.name,
        "journeysim_version": __version__,
        "quality": {
            "system": {"analytic": plain(exact.system), "independent": plain(independent.system),
                       "analytic_excludes": list(model.analytic_excludes),
                       **({} if exact.unavailable is None else {"analytic_unavailable": exact.unavailable})},
            "by_class": {k: {"analytic": plain(v)} for k, v in exact.by_class.items()},
            "leverage": [row.to_dict() for row in leverage],
        },
        "expected_visits": {k: dict(v) for k, v in exact.expected_visits.items()},
        "microsystems": {name: {"offered_load": x.load, "offered_erlangs": x.erlangs,
                                "arrivals_per_day": x.arrivals_per_day, "hold_minutes": x.hold_minutes}
                         for name, x in load.items()},
        "warnings": [{"path": w.path, "message": w.message} for w in problems],
    }
    why_not = outcomes_unavailable(model)
    outcomes = exact_outcomes(model) if model.exits and why_not is None else None
    if model.exits and outcomes is None:  # only with named exits, so other models' output is as before
        payload["outcomes"] = None
        payload["outcomes_unavailable"] = why_not
    elif outcomes is not None:
        payload["outcomes"] = {"pathway": dict(outcomes.pathway),
                               "by_class": {k: dict(v) for k, v in outcomes.by_class.items()}}
    if args.json:
        with _Outputs() as out:
            out.add_json(args.json, payload)
    if args.json != "-":
        frailty = model.frailty
        how = ("independent defects" if frailty.is_independent
               else f"defects clustered by a patient frailty, correlation {frailty.correlation:g}")
        print(f"Exact quality of the health system ({how}): {scenario.name}")
        if exact.unavailable is not None:
            print(f"  n/a: {exact.unavailable}. `journeysim run` simulates it.")
        else:
            print(f"  all classes   {100 * exact.system:5.1f}%")
            for k, v in exact.by_class.items():
                print(f"  {k:<13} {100 * v:5.1f}%")
            if not frailty.is_independent:
                print(f"  independent product (frailty left out): {100 * independent.system:.1f}%")
            print("Where to work next (exact): gain in system quality if perfect / if halved")
            for row in leverage:
                print(f"  {row.element:<44} +{100 * row.if_perfect:5.2f} pts / +{100 * row.if_halved:5.2f} pts")
        if model.standards:
            names = ", ".join(st.name for st in model.standards)
            print(f"  Timeliness standards ({names}) are left out: a graph cannot see time. "
                  "`journeysim run` includes them.")
        if outcomes is not None:
            print("Outcomes (exact share of journeys ending in each exit, from the routing)")
            for name, share in outcomes.pathway.items():
                print(f"  {name:<20} {100 * share:5.1f}%")
        elif model.exits:
            print(f"Outcomes: n/a, {why_not}. `journeysim run` simulates them.")
        print("Offered load (traffic equations): visits per day, mean hold, servers busy on average / capacity")
        for name, x in load.items():
            servers = "unlimited" if x.servers is None else f"{x.servers:g}"
            rho = "" if x.load is None else f" = {100 * x.load:.1f}%"
            hold = "n/a" if x.hold_minutes is None else f"{x.hold_minutes:,.1f} min"
            print(f"  {name:<20} {x.arrivals_per_day:10,.2f}/day  {hold:>14}  {x.erlangs:8.3g} / {servers}{rho}")
        if problems:
            print("\n".join(warning_lines(problems)).rstrip())
    return 0


_TRUE = TRUE_WORDS
_FALSE = FALSE_WORDS | {""}


def _app(args: argparse.Namespace) -> int:
    if args.port > 65535:
        raise JourneySimError(f"--port must be a port number from 1 to 65535, got {args.port}")
    try:
        import uvicorn

        from .app.server import create_app
    except ImportError as err:
        raise JourneySimError(f"journeysim app needs the app extra ({err.name} is missing): "
                              'pip install "journeysim[app]"') from None
    application = create_app(args.file)  # a scenario with problems fails here, before serving
    _check_port(args.host, args.port)
    print(f"journeysim app: {args.file} at http://{args.host}:{args.port}/ (Ctrl+C to stop)", flush=True)
    uvicorn.run(application, host=args.host, port=args.port, log_level="warning")
    return 0


def _check_port(host: str, port: int) -> None:
    """Refuse a port that is taken (or an address this machine cannot serve on) in one line, before the app's URL
    is printed: binding a socket as uvicorn will (SO_REUSEADDR) tells it at once."""
    import errno

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise JourneySimError(f"--host {host}: not an address of this machine ({err.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise JourneySimError(f"port {port} on {host} is in use: choose another with --port") from None
            raise JourneySimError(f"cannot serve on {host}:{port}: {err.strerror}") from None


def _examples(args: argparse.Namespace) -> int:
    from . import examples

    if args.list:
        for name in examples.names():
            print(f"{name:24} {examples.path(name)}")
        if args.folder is None:
            return 0
    if args.folder is None:
        raise JourneySimError("give the folder to copy the example scenarios into, e.g. "
                              "`journeysim examples my-examples` (or --list to see them)")
    problems = folder_problems(args.folder, "the example scenarios")
    if problems:
        raise JourneySimError("\n".join(problems))
    copied = examples.copy(args.folder, force=args.force)
    print(f"copied {len(copied)} example scenarios into {args.folder}:")
    for path in copied:
        print(f"  {path}")
    flagship = Path(args.folder) / "ami.toml"
    print(f"try: journeysim run {flagship} --report ami.html")
    return 0


def _read_fit_column(path: str, column: str, censored: str | None) -> tuple[list[float], list[bool]]:
    """The column's values (and censoring flags) from a CSV file; every bad cell is reported at once."""
    import csv

    problems: list[Problem] = []
    values: list[float] = []
    flags: list[bool] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in (column, censored) if c is not None and c not in header]
            if not header:
                raise ValidationError([Problem("", "the file is empty: no header row", path, 1)])
            if missing:
                raise ValidationError([Problem(c, f"no such column; the columns are {', '.join(map(repr, header))}",
                                               path, 1) for c in missing])
            for row in reader:
                line = reader.line_num
                cell = (row.get(column) or "").strip()
                try:
                    value = float(cell)
                except ValueError:
                    problems.append(Problem(column, f"not a number: {cell!r}", path, line))
                    continue
                if not math.isfinite(value) or value < 0:
                    problems.append(Problem(column, f"must be a finite non-negative duration, got {cell!r}", path,
                                            line))
                    continue
                flag = (row.get(censored) or "").strip().lower() if censored is not None else ""
                if flag not in _TRUE | _FALSE:
                    problems.append(Problem(censored or "", f"expected true or false, got {flag!r}", path, line))
                    continue
                values.append(value)
                flags.append(flag in _TRUE)
    except OSError as err:
        raise JourneySimError(f"{path}: cannot read it ({err.strerror or err})") from None
    except (UnicodeDecodeError, csv.Error) as err:
        raise JourneySimError(f"{path}: not a readable CSV file ({err})") from None
    if problems:
        raise ValidationError(problems)
    if not values:
        raise ValidationError([Problem(column, "has no values: the file has a header but no rows", path)])
    return values, flags


def _fit(args: argparse.Namespace) -> int:
    from .data.fit import fit

    values, flags = _read_fit_column(args.file, args.column, args.censored_column)
    result = fit(values, flags, args.families, unit=args.unit, bootstrap=args.bootstrap, seed=args.seed)
    say = sys.stderr if args.json == "-" else sys.stdout
    print(result.to_text(args.key), file=say)
    with _Outputs() as out:
        if args.json:
            out.add_json(args.json, result.to_dict())
        if args.plot:
            from .outputs.plot import fit_figure

            out.add(args.plot, lambda tmp: fit_figure(result).savefig(tmp, format=Path(args.plot).suffix[1:] or "png",
                                                                      dpi=110))
    if args.plot:
        print(f"\nPlot written to {Path(args.plot).resolve()}", file=say)
    return 0


def _log_info(args: argparse.Namespace) -> int:
    from .data.logs import read_log

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JourneySimWarning)  # printed below, with the summary
        log = read_log(args.log, **_log_arguments(args))
    if args.json:
        with _Outputs() as out:
            out.add_json(args.json, {"journeysim_version": __version__, **log.to_dict()})
    if args.json != "-":
        print(log.to_text())
    return 0


def _discover(args: argparse.Namespace) -> int:
    from .data.discover import discover
    from .data.logs import read_log
    from .data.standards import parse_standards

    if not 0 < args.capacity_quantile <= 1:
        raise JourneySimError(f"--capacity-quantile must be in (0, 1], got {args.capacity_quantile}")
    if args.holdout is not None:
        from .data.logsplit import check_holdout

        check_holdout(args.holdout, "--holdout")
    form: list[Problem] = []
    try:
        parse_standards(args.standards)  # the form of each; reported with the log's problems, if any
    except ValidationError as err:
        form = list(err.problems)
    options = _log_arguments(args)
    options["attributes"] = [*(options["attributes"] or []),
                             *(c for c in args.defects if c not in (options["attributes"] or []))]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", JourneySimWarning)  # summarised by log-info; discovery states its own
            log = read_log(args.log, **options)
    except ValidationError as err:
        raise ValidationError([*form, *err.problems]) from None
    if args.holdout is not None:
        from .data.logsplit import training_part

        log = training_part(log, args.holdout)
    support = args.support if args.support in ("auto", "none") else [x.strip() for x in args.support.split(",")]
    # discover checks the standards again, against the log, with the defects and support units: every problem
    _, report = discover(log, classes_from=args.classes_from, capacity_quantile=args.capacity_quantile,
                         name=args.name, defects=args.defects, defect_activities=args.defect_activities,
                         standards=args.standards, support=support, utc_offset=args.utc_offset)
    with _Outputs() as out:
        out.add_text(args.scenario_out, report.toml)
        if args.json:
            out.add_json(args.json, {"journeysim_version": __version__, **report.to_dict()})
    if args.json != "-":
        print(report.to_text())
        print(f"\nScenario written to {Path(args.scenario_out).resolve()}")
    return 0


def _fidelity(args: argparse.Namespace) -> int:
    from .analysis.fidelity import fidelity
    from .data.logs import read_log
    from .data.logsplit import check_holdout
    from .io.scenario_file import load_scenario

    check_holdout(args.holdout, "--holdout")
    scenario = load_scenario(args.scenario)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JourneySimWarning)  # summarised by log-info
        log = read_log(args.log, **_log_arguments(args))
    if log.warnings:
        n = len(log.warnings)
        print(f"journeysim: {n} warning{'s' if n > 1 else ''} reading {args.log}; see `journeysim log-info`",
              file=sys.stderr)
    report = fidelity(log, scenario, holdout=args.holdout, seed=args.seed, standards=args.standards,
                      defect_activities=args.defect_activities, splits=args.splits)
    if args.json:
        with _Outputs() as out:
            out.add_json(args.json, {"journeysim_version": __version__, **report.to_dict()})
    if args.json != "-":
        print(report.to_text())
    return 0


def _show_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    """Warnings on standard error as one line each, without the source line Python would add."""
    label = "warning" if issubclass(category, JourneySimWarning) else category.__name__
    print(f"journeysim: {label}: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (2 for bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    handlers = {"validate": _validate, "run": _run, "analyze": _analyze, "compare": _compare,
                "sweep": _sweep, "warmup": _warmup, "report": _report, "fit": _fit, "log-info": _log_info,
                "discover": _discover, "fidelity": _fidelity, "examples": _examples,
                "app": _app}
    try:
        _check_outputs(args)
        with warnings.catch_warnings():
            warnings.simplefilter("always", JourneySimWarning)
            warnings.showwarning = _show_warning
            return handlers[args.command](args)
    except ValidationError as err:
        print(str(err), file=sys.stderr)
        return 2
    except JourneySimError as err:
        for line in str(err).splitlines():
            print(f"journeysim: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        kept = (" (finished replications are kept in the checkpoint: run the same command to resume)"
                if getattr(args, "checkpoint", None) else "")
        print(f"journeysim: interrupted{kept}", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
