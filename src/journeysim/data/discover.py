"""Discover a scenario from an event log: units, classes, routing, services, handoffs, arrivals, capacities.

:func:`discover` reads an :class:`~journeysim.data.logs.EventLog` and returns the
:class:`~journeysim.model.scenario.Scenario` it implies, with a :class:`DiscoveryReport`
saying what was found for each element, from how many values, and how it was fitted.
The scenario file it writes (``DiscoveryReport.toml``) carries the same provenance as
a comment after every discovered number. See ``docs/discovery.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import JourneySimError, Problem, ValidationError
from ..io.scenario_file import loads_scenario
from ..io.scenario_writer import Commented, Table, dumps_scenario
from .arrivals import profile as _profile
from .capacity import CAPACITY_RULE, WAITED, offered_load
from .capacity import capacity as _capacity
from .defects import Defects, activity_defects, column_defects
from .exits import OUTCOME, exit_tables
from .fit import SMALL_SAMPLE
from .logs import EventLog, Labelled
from .replications import end_to_end
from .report import NOT_DISCOVERED, DiscoveryReport, Finding, ObservedDefect, ObservedStandard
from .rows import Rows, case_rows, class_codes
from .standards import StatedStandard, observe, parse_standards, standard_keys
from .support import SUPPORT_RULE, Nesting, find_support, mark_support, pathway_rows, support_tables
from .timing import delay as _delay
from .timing import service as _service

if TYPE_CHECKING:
    from ..model.scenario import Scenario

__all__ = ["discover", "DiscoveryReport", "Finding", "NOT_DISCOVERED"]


def _floor4(p: float) -> float:
    return math.floor(p * 1e4 + 1e-9) / 1e4


def _shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Shares rounded to 4 decimals, summing to exactly 1 (the largest takes the remainder)."""
    total = sum(counts.values())
    out = {k: round(v / total, 4) for k, v in counts.items() if v > 0}
    big = max(out, key=lambda k: out[k])
    out[big] = round(1.0 - sum(v for k, v in out.items() if k != big), 4)
    return out


def _span(log: EventLog, rows: Rows) -> tuple[float, float]:
    """The first and last time in the log (minutes)."""
    times = np.concatenate([rows.first, rows.end[np.isfinite(rows.end)], rows.start[np.isfinite(rows.start)]])
    return float(times.min()), float(times.max())


def discover(log: EventLog, *, classes_from: str | None = None, capacity_quantile: float = 0.99,
             name: str | None = None, seed: int = 0, defects: Sequence[str] = (),
             defect_activities: Sequence[str] = (),
             standards: Sequence[str | StatedStandard] = ()) -> tuple[Scenario, DiscoveryReport]:
    """Discover a scenario from an event log.

    Parameters
    ----------
    log : EventLog
        As :func:`~journeysim.data.logs.read_log` reads it.
    classes_from : str, optional
        An attribute column naming each case's class (its first instance's value);
        default the log's class column (``case:class``), else one class ``patient``.
    capacity_quantile : float
        The quantile of the number in service at once taken as a unit's capacity.
    name : str, optional
        The scenario's name (default: from the log's file).
    seed : int
        The scenario's seed (and the seed of the subsamples that large samples are fitted on).
    defects : sequence of str
        Boolean attribute columns whose true values are defects: an event column gives
        each unit's defect rate among its visits, a ``case:`` column flags the case (at
        its entry unit). See :mod:`journeysim.data.defects`.
    defect_activities : sequence of str
        Activities whose occurrence is a defect (the sepsis log's ``"Return ER"``).
    standards : sequence of str
        Timeliness standards, ``"NAME: A -> B <= 60 min"`` (units min, h, d): from the
        first time a case reaches activity A to the first time it reaches B.

    Returns
    -------
    (Scenario, DiscoveryReport)
        The validated scenario, and the report with the scenario file's text (``toml``).

    Raises
    ------
    ValidationError
        Every bad standard, unknown activity or column, and non-boolean defect column at once.

    Examples
    --------
    >>> import journeysim as js  # doctest: +SKIP
    >>> scenario, report = js.discover(js.read_log("ami.csv"))  # doctest: +SKIP
    """
    if len(log) == 0:
        raise JourneySimError(f"{log.source}: the log has no activity instances")
    log, laid = end_to_end(log)  # several replications of a simulation: one after another (data/replications.py)
    units = [str(x) for x in log.activity_labels]
    stated = _check_requests(log, units, defects, defect_activities, standards)
    codes, class_names = class_codes(log, classes_from)
    rows = case_rows(log, codes)
    first_t, last_t = _span(log, rows)
    span_days = max((last_t - first_t) / 1440.0, 1e-9)
    findings: list[Finding] = []
    notes: list[str] = [laid] if laid else []
    flags: list[str] = []
    unit_defects, observed_defects = _defects(log, rows, units, defects, defect_activities)
    # support units (activities nested in other activities' instances) leave the pathway: data/support.py
    nest = find_support(rows.case, rows.unit, rows.first, rows.start, rows.end, units)
    path = pathway_rows(rows, ~nest.is_support(rows.unit))
    classes = _classes(log, path, units, class_names, span_days, findings, notes)
    micro = mark_support(_microsystems(rows, units, last_t, capacity_quantile, seed, unit_defects, last_t - first_t,
                                       findings, flags), [units[u] for u in nest.units])
    handoffs = _handoffs(path, units, class_names, seed, findings)
    extra = _support_and_exits(log, rows, path, nest, units, class_names, findings, notes)
    observed_standards, standard_tables = _standards(stated, rows, units, findings)
    case_starts = path.first[path.case_first]
    horizon = max(1, math.ceil(float(case_starts.max() - case_starts.min()) / 1440.0))
    doc = [Table("scenario", {"name": name or f"Discovered from {log.source}", "horizon_days": horizon,
                              "warmup_days": 0, "replications": 10, "seed": seed}),
           *classes, *micro, *handoffs, *extra, *standard_tables]
    if rows.completion_only:
        notes.append("completion times only: a service time is the gap to the case's next event (a case's last "
                     "event: 0, the patient leaves); handoff delays are 0; capacities are not in the log "
                     "('unlimited')")
    header = (f"Discovered by journeysim from {log.source}: {len(np.unique(rows.case)):,} cases, {len(rows.unit):,} "
              f"activity instances, {span_days:.1f} days.\nEvery discovered number carries its provenance; "
              f"'thin data' marks n < {SMALL_SAMPLE}.\nCapacity: " +
              CAPACITY_RULE.format(q=100 * capacity_quantile, lim=WAITED) +
              "".join(f"\n{x}" for x in notes if x.startswith("completion")) +
              "".join(f"\nFLAG: {x}" for x in flags))
    text = dumps_scenario(doc, header=header)
    scenario = loads_scenario(text, name=f"discovered from {log.source}")
    report = DiscoveryReport(source=log.source, n_cases=len(np.unique(rows.case)), n_instances=len(rows.unit),
                             span_days=span_days, units=tuple(units), classes=class_names,
                             findings=tuple(findings), toml=text, notes=tuple(notes), standards=observed_standards,
                             defects=tuple(observed_defects), flags=tuple(flags))
    return scenario, report


def _check_requests(log: EventLog, units: list[str], defects: Sequence[str], defect_activities: Sequence[str],
                    standards: Sequence[str | StatedStandard]) -> list[StatedStandard]:
    """The stated standards, checked with the defect columns and activities: every problem at once."""
    problems: list[Problem] = []
    try:
        stated = parse_standards(standards, units, log.source)
    except ValidationError as err:
        problems += err.problems
        stated = []
    for column in defects:
        if column not in log.attributes:
            problems.append(Problem("defects", f"no column {column!r} in the log; its attributes are "
                                               f"{', '.join(log.attributes) or 'none'} (read it with --attribute)",
                                    log.source))
    for a in defect_activities:
        if a not in units:
            problems.append(Problem("defect_activities", f"no activity {a!r} in the log; the activities are "
                                                         f"{', '.join(units)}", log.source))
    if problems:
        raise ValidationError(problems)
    return stated


def _defects(log: EventLog, rows: Rows, units: list[str], columns: Sequence[str],
             activities: Sequence[str]) -> tuple[Defects, list[ObservedDefect]]:
    """Each unit's named defects (probability and provenance) and the observed rates."""
    out, observed = column_defects(log, rows, units, columns)
    more, seen = activity_defects(rows, units, activities, log.source)
    for u, named in more.items():
        out.setdefault(u, {}).update(named)
    return out, observed + seen


def _standards(stated: list[StatedStandard], rows: Rows, units: list[str],
               findings: list[Finding]) -> tuple[tuple[ObservedStandard, ...], list[Table]]:
    observed, tables = [], []
    for s in stated:
        obs = observe(s, rows, units)
        keys = standard_keys(s, obs)
        findings.append(Finding(f"standard {s.name}", "within", f"{s.within:g} {s.unit}", obs.n,
                                str(keys["reference"]), obs.n < SMALL_SAMPLE))
        observed.append(obs)
        tables.append(Table("standards", keys, array=True))
    return tuple(observed), tables


def _support_and_exits(log: EventLog, rows: Rows, path: Rows, nest: Nesting, units: list[str],
                       class_names: tuple[str, ...], findings: list[Finding], notes: list[str]) -> list[Table]:
    """The ``[[requests]]`` of the support units (data/support.py) and the named ``[[exits]]`` from the
    log's outcome column (data/exits.py)."""
    tables, found = support_tables(nest, rows.unit, rows.cls, rows.start, rows.end, units, class_names)
    for u, (share, n) in sorted(nest.shares.items()):
        if share > 0.5 or u in nest.units:
            findings.append(Finding(f"microsystem {units[u]}", "kind", "support" if u in nest.units else "clinical",
                                    n, f"{share:.1%} of {n} finished instances lie within another unit's"))
    notes.append("support units: " + SUPPORT_RULE)
    column = log.attributes.get(OUTCOME)
    if isinstance(column, Labelled):
        more, exits_found = exit_tables(column, log.case.astype(np.int64), path.case, path.unit, path.end,
                                        path.has_next, units, class_names, path.cls)
        tables += more
        found += exits_found
    findings.extend(Finding(*f, thin=f[3] < SMALL_SAMPLE) for f in found)
    return tables


def _classes(log: EventLog, rows: Rows, units: list[str], class_names: tuple[str, ...], span_days: float,
             findings: list[Finding], notes: list[str]) -> list[Table]:
    starts = rows.case_first
    offset = log.origin.hour * 60 + log.origin.minute + log.origin.second / 60
    window = float(rows.first[starts].max() - rows.first[starts].min()) / 1440.0 or span_days
    notes.append(f"arrival rates: cases per day over the {window:.2f} days from the first case start to the last")
    tables = []
    for k, cname in enumerate(class_names):
        mine = starts & (rows.cls == k)
        n = int(mine.sum())
        if n == 0:
            continue
        entry_counts = {units[u]: int(c) for u, c in enumerate(np.bincount(rows.unit[mine], minlength=len(units)))}
        shares = _shares(entry_counts)
        entry: Any = next(iter(shares)) if len(shares) == 1 else shares
        element = f"class {cname}"
        rate = n / window
        half = 1.96 * math.sqrt(n) / window  # Poisson count: variance n
        rate_how = f"n={n} cases over {window:.1f} days" + (
            f" (thin data: n < {SMALL_SAMPLE})" if n < SMALL_SAMPLE
            else f", 95% CI [{max(rate - half, 0):.4g}, {rate + half:.4g}]")
        findings.append(Finding(element, "entry", str(entry), n, f"n={n} first instances", n < SMALL_SAMPLE))
        findings.append(Finding(element, "rate_per_day", f"{rate:.4g}", n, rate_how, n < SMALL_SAMPLE))
        keys: dict[str, Any] = {"name": cname, "entry": Commented(entry, f"n={n} cases' first units"),
                                "rate_per_day": Commented(float(f"{rate:.6g}"), rate_how)}
        profile, how, kind = _profile(rows.first[mine], offset, log.origin.weekday(), span_days)
        findings.append(Finding(element, "profile", kind, n, how))
        if profile:
            keys["profile"] = Commented(profile, how)
        tables.append(Table("classes", keys, array=True))
    return tables


def _microsystems(rows: Rows, units: list[str], last: float, q: float, seed: int, unit_defects: Defects,
                  window: float, findings: list[Finding], flags: list[str]) -> list[Table]:
    tables = []
    for u, uname in enumerate(units):
        visits = int((rows.unit == u).sum())
        if not visits:
            continue
        service, how, thin, n_service = _service(rows, u, last, seed)
        cap, cap_how, n_cap = _capacity(rows, u, last, q)
        element = f"microsystem {uname}"
        findings.append(Finding(element, "capacity", str(cap), n_cap, cap_how, False))
        findings.append(Finding(element, "service", _short(service), n_service, how, thin))
        keys: dict[str, Any] = {"name": uname, "capacity": Commented(cap, cap_how),
                                "service": Commented(service, how + ("; thin data" if thin else ""))}
        if cap != "unlimited":
            load, load_how, unstable = offered_load(visits, window, service, cap)
            findings.append(Finding(element, "offered load", f"{load:.3g}", visits, load_how, False))
            if unstable:
                flags.append(f"{uname}: capacity {cap} <= offered load {load:.3g} ({load_how})")
        named = unit_defects.get(u, {})
        if named:
            few = {k: n < SMALL_SAMPLE for k, (_, _, n) in named.items()}
            why = "; ".join(h + ("; thin data" if few[k] else "") for k, (_, h, _) in named.items())
            keys["defects"] = Commented({k: p for k, (p, _, _) in named.items()}, why)
            for k, (p, h, n) in named.items():
                findings.append(Finding(element, f"defects.{k}", f"{p:.4g}", n, h, few[k]))
        tables.append(Table("microsystems", keys, array=True))
    return tables


def _short(table: Mapping[str, Any]) -> str:
    if table.get("dist") == "empirical":
        return f"empirical ({len(table['values'])} values)"
    if table.get("dist") == "mixture":
        return "mixture of " + " and ".join(str(c) if not isinstance(c, Mapping) else _short(c)
                                            for c in table["components"]) + f", weights {table['weights']}"
    return ", ".join(f"{k}={v}" for k, v in table.items())


def _handoffs(rows: Rows, units: list[str], class_names: tuple[str, ...], seed: int,
              findings: list[Finding]) -> list[Table]:
    """First-order routing per class (moves between consecutive instances; the rest leave) and handoff delays."""
    nu, nc = len(units), len(class_names)
    i = np.flatnonzero(rows.has_next)
    moves = np.zeros((nc, nu, nu), dtype=np.int64)
    np.add.at(moves, (rows.cls[i], rows.unit[i], rows.unit[i + 1]), 1)
    ends = np.flatnonzero(~rows.has_next & np.isfinite(rows.end))  # a case's last instance, finished: it left
    leaves = np.zeros((nc, nu), dtype=np.int64)
    np.add.at(leaves, (rows.cls[ends], rows.unit[ends]), 1)
    out_total = moves.sum(axis=2) + leaves
    tables = []
    for a in range(nu):
        for b in range(nu):
            n_ab = moves[:, a, b]
            if n_ab.sum() == 0:
                continue
            probs = {class_names[k]: _floor4(n_ab[k] / out_total[k, a]) for k in range(nc) if n_ab[k] > 0}
            how = "; ".join(f"{class_names[k]}: {n_ab[k]} of {out_total[k, a]} leaving {units[a]}"
                            for k in range(nc) if n_ab[k] > 0)
            element = f"handoff {units[a]} -> {units[b]}"
            thin = bool(min(out_total[k, a] for k in range(nc) if n_ab[k] > 0) < SMALL_SAMPLE)
            findings.append(Finding(element, "probability", str(probs), int(n_ab.sum()), how, thin))
            prob: Any = next(iter(probs.values())) if nc == 1 else probs
            keys: dict[str, Any] = {"from": units[a], "to": units[b],
                                    "probability": Commented(prob, "first-order routing; " + how)}
            sel = i[(rows.unit[i] == a) & (rows.unit[i + 1] == b)]
            gap = (rows.arrive[sel + 1] - rows.end[sel])
            gap = np.maximum(gap[np.isfinite(gap)], 0.0)
            delay = _delay(gap, seed, stream=nu + a * nu + b)
            if delay is not None:
                table, dhow, dthin = delay
                findings.append(Finding(element, "delay", _short(table), int(gap.size), dhow, dthin))
                keys["delay"] = Commented(table, dhow + ("; thin data" if dthin else ""))
            tables.append(Table("handoffs", keys, array=True))
    return tables
