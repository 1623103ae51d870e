"""Discover a scenario from an event log: units, classes, routing, services, handoffs, arrivals, capacities.

:func:`discover` reads an :class:`~journeysim.data.logs.EventLog` and returns the
:class:`~journeysim.model.scenario.Scenario` it implies, with a :class:`DiscoveryReport`
saying what was found for each element, from how many values, and how it was fitted.
The scenario file it writes (``DiscoveryReport.toml``) carries the same provenance as
a comment after every discovered number. See ``docs/discovery.md``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
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
from .names import valid_names
from .replications import Laid, end_to_end
from .report import NOT_DISCOVERED, DiscoveryReport, Finding, ObservedDefect, ObservedStandard
from .report import floor4 as _floor4
from .rows import Arrivals, Rows, arrivals, case_rows, class_codes
from .standards import StatedStandard, observe, parse_standards, standard_keys
from .support import SUPPORT_RULE, Nesting, find_support, mark_support, pathway_rows, support_tables
from .timing import delay as _delay
from .timing import service as _service

if TYPE_CHECKING:
    from ..model.scenario import Scenario

__all__ = ["discover", "DiscoveryReport", "Finding", "NOT_DISCOVERED"]


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
             standards: Sequence[str | StatedStandard] = (), support: str | Sequence[str] = "auto",
             utc_offset: float | None = None) -> tuple[Scenario, DiscoveryReport]:
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
    support : "auto", "none" or sequence of str
        Support units: found by the rule of :mod:`journeysim.data.support` (``"auto"``),
        none, or exactly the activities named.
    utc_offset : float, optional
        Minutes east of UTC of the local time the arrival profile is in (default: the
        offset the log's timestamps carry, the most frequent when several; timestamps
        without an offset are taken as written).

    Returns
    -------
    (Scenario, DiscoveryReport)
        The validated scenario, and the report with the scenario file's text (``toml``).

    Raises
    ------
    ValidationError
        Every bad standard, unknown activity or column, and non-boolean defect column at once.
    JourneySimError
        An empty log, or one whose every instance was withdrawn.

    Examples
    --------
    >>> import journeysim as js  # doctest: +SKIP
    >>> scenario, report = js.discover(js.read_log("ami.csv"))  # doctest: +SKIP
    """
    if len(log) == 0:
        raise JourneySimError(f"{log.source}: the log has no activity instances")
    laid = end_to_end(log)  # several replications of a simulation: one after another (data/replications.py)
    log = laid.log
    originals = [str(x) for x in log.activity_labels]
    stated = _check_requests(log, originals, defects, defect_activities, standards, support)
    units, renamed = valid_names(originals, "unit")
    new = dict(zip(originals, units))
    stated = [replace(x, source=new[x.source], target=new[x.target]) for x in stated]
    codes, raw_classes = class_codes(log, classes_from)
    class_list, renamed_classes = valid_names(list(raw_classes), "class")
    class_names = tuple(class_list)
    rows = case_rows(log, codes, laid.replication)
    came = arrivals(log, codes)
    first_t, last_t = _span(log, rows)
    span_days = (last_t - first_t) / 1440.0
    findings: list[Finding] = _renamings(originals, units, renamed, "microsystem")
    findings += _renamings(list(raw_classes), class_list, renamed_classes, "class")
    notes: list[str] = [laid.note] if laid.note else []
    flags: list[str] = []
    local, clock_note = _local_origin(log, utc_offset)
    if clock_note:
        notes.append(clock_note)
    window = _Window.of(came.time, laid, local)
    notes.append(window.note)
    if window.one_instant:
        flags.append(window.flag)
    unit_defects, observed_defects = _defects(log, rows, units, defects, [new[a] for a in defect_activities])
    # support units (activities nested in other activities' instances) leave the pathway: data/support.py
    chosen = support if isinstance(support, str) else [new[x] for x in support]
    nest = find_support(rows.case, rows.unit, rows.first, rows.start, rows.end, units, chosen)
    path = pathway_rows(rows, ~nest.is_support(rows.unit))
    classes = _classes(log, came, units, class_names, window, local, findings, notes)
    micro = mark_support(_microsystems(rows, units, capacity_quantile, seed, unit_defects, window.minutes,
                                       findings, flags), [units[u] for u in nest.units])
    micro = _name_comments(micro, "microsystems", units, originals, renamed)
    classes = _name_comments(classes, "classes", class_list, list(raw_classes), renamed_classes)
    _withdrawn(log, came, units, findings, notes)
    handoffs = _handoffs(path, units, class_names, seed, findings)
    extra = _support_and_exits(log, rows, path, nest, units, class_names, findings, notes, support)
    observed_standards, standard_tables = _standards(stated, rows, units, findings)
    runs = ({"horizon_days": Commented(int(laid.period // 1440), "the period of one replication of the log"),
             "warmup_days": 0, "replications": Commented(laid.count, "as many as the log holds")}
            if laid.period is not None else
            {"horizon_days": Commented(window.days, "the days covering the log's case starts"), "warmup_days": 0,
             "replications": 10})
    doc = [Table("scenario", {"name": name or f"Discovered from {log.source}", **runs, "seed": seed}),
           *classes, *micro, *handoffs, *extra, *standard_tables]
    if rows.completion_only:
        notes.append("completion times only: a service time is the gap to the case's next event (a case's last "
                     "event: 0, the patient leaves); handoff delays are 0; capacities are not in the log "
                     "('unlimited')")
    n_cases = int(came.case.size)
    header = (f"Discovered by journeysim from {log.source}: {n_cases:,} cases, {len(rows.unit):,} "
              f"activity instances, {span_days:.1f} days.\nEvery discovered number carries its provenance; "
              f"'thin data' marks n < {SMALL_SAMPLE}.\nCapacity: " +
              CAPACITY_RULE.format(q=100 * capacity_quantile, lim=WAITED) +
              "".join(f"\n{x}" for x in notes if x.startswith("completion")) +
              "".join(f"\nFLAG: {x}" for x in flags))
    text = dumps_scenario(doc, header=header)
    scenario = loads_scenario(text, name=f"discovered from {log.source}")
    report = DiscoveryReport(source=log.source, n_cases=n_cases, n_instances=len(rows.unit),
                             span_days=span_days, units=tuple(units), classes=class_names,
                             findings=tuple(findings), toml=text, notes=tuple(notes), standards=observed_standards,
                             defects=tuple(observed_defects), flags=tuple(flags))
    return scenario, report


def _renamings(originals: list[str], names: list[str], why: Mapping[int, str], kind: str) -> list[Finding]:
    return [Finding(f"{kind} {names[i]}", "name", names[i], 0, f"renamed from {originals[i]!r}: {why[i]}")
            for i in sorted(why)]


def _name_comments(tables: list[Table], kind: str, names: list[str], originals: list[str],
                   why: Mapping[int, str]) -> list[Table]:
    """The tables with the original name in a comment after each renamed one."""
    renamed = {names[i]: f"renamed from {originals[i]!r} ({why[i]})" for i in why}
    out = []
    for t in tables:
        name = t.keys.get("name")
        if t.name == kind and isinstance(name, str) and name in renamed:
            t = replace(t, keys={**t.keys, "name": Commented(name, renamed[name])})
        out.append(t)
    return out


def _local_origin(log: EventLog, utc_offset: float | None) -> tuple[dt.datetime, str | None]:
    """The log's first timestamp in local wall-clock time (naive), and a note saying which."""
    origin = log.origin
    if utc_offset is not None:
        base = origin.replace(tzinfo=None) if origin.tzinfo is None else origin.astimezone(dt.UTC).replace(tzinfo=None)
        return base + dt.timedelta(minutes=utc_offset), (
            f"local time: UTC{_hhmm(utc_offset)} (utc_offset); the hour and weekday profile is in it")
    if origin.tzinfo is None or not log.utc_offsets:
        return origin, None
    minutes = log.utc_offsets[0][0]
    local = origin.astimezone(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=minutes)
    if len(log.utc_offsets) == 1:
        return local, f"local time: the timestamps carry one UTC offset, {_hhmm(minutes)}: the profile is in it"
    others = ", ".join(_hhmm(m) for m, _ in log.utc_offsets[1:])
    return local, (f"local time: the timestamps carry several UTC offsets ({_hhmm(minutes)}, the most frequent, and "
                   f"{others}; daylight saving time?): the profile is in {_hhmm(minutes)}, so the hours of the "
                   "other offsets' periods are shifted by the difference (smeared across neighbouring hours); give "
                   "utc_offset (--utc-offset) to choose")


def _hhmm(minutes: float) -> str:
    """``+02:00`` from 120.

    >>> _hhmm(120), _hhmm(-330)
    ('+02:00', '-05:30')
    """
    sign = "-" if minutes < 0 else "+"
    m = round(abs(minutes))
    return f"{sign}{m // 60:02d}:{m % 60:02d}"


class _Window:
    """The arrival window: the whole local days covering the case starts (for replications laid end to end,
    the period times their number)."""

    def __init__(self, minutes: float, days: int, note: str, one_instant: bool, flag: str = "") -> None:
        self.minutes, self.days, self.note, self.one_instant, self.flag = minutes, days, note, one_instant, flag

    @classmethod
    def of(cls, starts: Any, laid: Laid, local: dt.datetime) -> _Window:
        if laid.window is not None and laid.period is not None:
            days = round(laid.window / 1440)
            return cls(laid.window, days, f"arrival rates: cases per day over {laid.count} replications x "
                                          f"{laid.period / 1440:g} days = {days} days", False)
        offset = _minutes_after_midnight(local)
        d0, d1 = (math.floor((float(x) + offset) / 1440.0) for x in (starts.min(), starts.max()))
        days = int(d1 - d0 + 1)
        one = bool(starts.max() - starts.min() <= 0.0)
        note = (f"arrival rates: cases per day over the {days} whole day{'s' if days > 1 else ''} (local midnight "
                "to midnight) covering the case starts")
        flag = ""
        if one:
            flag = (f"every case ({starts.size}) starts at one instant: the arrival window cannot be estimated from "
                    "the log; the rate is the cases over the one day they fall in (thin data: give a log whose "
                    "cases start over some time)")
        return cls(days * 1440.0, days, note, one, flag)


def _minutes_after_midnight(t: dt.datetime) -> float:
    return t.hour * 60 + t.minute + t.second / 60 + t.microsecond / 6e7


def _check_requests(log: EventLog, units: list[str], defects: Sequence[str], defect_activities: Sequence[str],
                    standards: Sequence[str | StatedStandard],
                    support: str | Sequence[str] = "auto") -> list[StatedStandard]:
    """The stated standards, checked with the defect columns, activities and support units: every problem at once."""
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
    problems += _support_problems(support, units, log.source)
    problems += _defect_name_problems(defects, defect_activities, log.source)
    if problems:
        raise ValidationError(problems)
    return stated


def _support_problems(support: str | Sequence[str], units: list[str], source: str) -> list[Problem]:
    if isinstance(support, str):
        if support in ("auto", "none"):
            return []
        return [Problem("support", f"expected 'auto', 'none' or a list of activities, got {support!r}", source)]
    return [Problem("support", f"no activity {x!r} in the log; the activities are {', '.join(units)}", source)
            for x in support if x not in units]


def _defect_name_problems(defects: Sequence[str], activities: Sequence[str], source: str) -> list[Problem]:
    """Two requested defects that would get one name (``late`` and ``case:late``)."""
    from .defects import defect_name

    seen: dict[str, str] = {}
    out = []
    for what in (*defects, *activities):
        key = defect_name(what)
        if key in seen and seen[key] != what:
            out.append(Problem("defects", f"{seen[key]!r} and {what!r} would both be the defect {key!r}: "
                                          "name one of them only", source))
        seen.setdefault(key, what)
    return out


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
                       class_names: tuple[str, ...], findings: list[Finding], notes: list[str],
                       support: str | Sequence[str] = "auto") -> list[Table]:
    """The ``[[requests]]`` of the support units (data/support.py) and the named ``[[exits]]`` from the
    log's outcome column (data/exits.py)."""
    tables, found = support_tables(nest, rows.unit, rows.cls, rows.start, rows.end, units, class_names)
    for u, (share, n) in sorted(nest.shares.items()):
        if share > 0.5 or u in nest.units:
            findings.append(Finding(f"microsystem {units[u]}", "kind", "support" if u in nest.units else "clinical",
                                    n, f"{share:.1%} of {n} finished instances lie within another unit's"))
    for u in nest.envelopes:
        findings.append(Finding(f"microsystem {units[u]}", "envelope", "yes", nest.shares.get(u, (0.0, 0))[1],
                                "most of its instances holding others hold two or more one after another from its "
                                "start to its end (an encounter around the pathway): what it holds stays in the "
                                "pathway"))
    notes.append("support units: " + (SUPPORT_RULE if support == "auto" else "none (support='none')"
                                      if support == "none" else "the activities named (support=...)"))
    column = log.attributes.get(OUTCOME)
    if isinstance(column, Labelled):
        more, exits_found = exit_tables(column, log.case.astype(np.int64), path.case, path.unit, path.end,
                                        path.has_next, units, class_names, path.cls)
        tables += more
        found += exits_found
    findings.extend(Finding(*f, thin=f[3] < SMALL_SAMPLE) for f in found)
    return tables


def _classes(log: EventLog, came: Arrivals, units: list[str], class_names: tuple[str, ...], window: _Window,
             local: dt.datetime, findings: list[Finding], notes: list[str]) -> list[Table]:
    """One ``[[classes]]`` table per class: entry, rate and profile, from every case's arrival (those turned
    away included)."""
    offset = _minutes_after_midnight(local)
    days = window.minutes / 1440.0
    tables = []
    for k, cname in enumerate(class_names):
        mine = came.cls == k
        n = int(mine.sum())
        if n == 0:
            continue
        entry_counts = {units[u]: int(c) for u, c in enumerate(np.bincount(came.unit[mine], minlength=len(units)))}
        shares = _shares(entry_counts)
        entry: Any = next(iter(shares)) if len(shares) == 1 else shares
        element = f"class {cname}"
        rate = n / days
        half = 1.96 * math.sqrt(n) / days  # Poisson count: variance n
        away = int((mine & came.turned_away).sum())
        turned = f", {away} of them turned away (every instance withdrawn)" if away else ""
        thin = n < SMALL_SAMPLE or window.one_instant
        rate_how = f"n={n} cases{turned} over {days:g} days" + (
            " (thin data: every case starts at one instant, the window is not in the log)" if window.one_instant
            else f" (thin data: n < {SMALL_SAMPLE})" if n < SMALL_SAMPLE
            else f", 95% CI [{max(rate - half, 0):.4g}, {rate + half:.4g}]")
        findings.append(Finding(element, "entry", str(entry), n, f"n={n} first instances{turned}", n < SMALL_SAMPLE))
        findings.append(Finding(element, "rate_per_day", f"{rate:.4g}", n, rate_how, thin))
        keys: dict[str, Any] = {"name": cname, "entry": Commented(entry, f"n={n} cases' first units"),
                                "rate_per_day": Commented(float(f"{rate:.6g}"), rate_how)}
        profile, how, kind = _profile(came.time[mine], offset, local.weekday(), days)
        findings.append(Finding(element, "profile", kind, n, how))
        if profile:
            keys["profile"] = Commented(profile, how)
        tables.append(Table("classes", keys, array=True))
    return tables


def _outcomes(log: EventLog, rows: Any) -> list[str]:
    """The outcome of each given log row (``case:outcome``, else ``withdrawn``)."""
    column = log.attributes.get(OUTCOME)
    if not isinstance(column, Labelled):
        return ["withdrawn"] * len(rows)
    labels = [str(x) for x in column.labels]
    return [labels[c] if c >= 0 else "withdrawn" for c in column.codes[rows].tolist()]


def _withdrawn(log: EventLog, came: Arrivals, units: list[str], findings: list[Finding], notes: list[str]) -> None:
    """Findings on the withdrawn instances (rejected, left unseen) per unit, and a note on the cases turned away."""
    away = came.row[came.turned_away]
    if away.size:
        counts: dict[str, int] = {}
        for o in _outcomes(log, away):
            counts[o] = counts.get(o, 0) + 1
        by = ", ".join(f"{o} {c:,}" for o, c in sorted(counts.items()))
        notes.append(f"{away.size:,} cases were turned away (every instance withdrawn: {by}); they count as "
                     "arrivals at the unit that turned them away (entry shares and rates include them), and the "
                     "discovered model, which has no queue rule, serves them")
    gone = np.flatnonzero(log.withdrawn)
    if not gone.size:
        return
    kept = np.zeros(log.n_cases, dtype=bool)
    kept[log.case[~log.withdrawn]] = True
    outcomes = np.where(kept[log.case[gone]], "went on to another unit", np.array(_outcomes(log, gone), dtype=object))
    for u in sorted(set(log.activity[gone].tolist())):
        mine = log.activity[gone] == u
        total = int((log.activity == u).sum())
        k = int(mine.sum())
        kinds = ", ".join(f"{o} {int((outcomes[mine] == o).sum()):,}" for o in sorted(set(outcomes[mine].tolist())))
        findings.append(Finding(f"microsystem {units[u]}", "withdrawn", f"{k / total:.2%}", total,
                                f"{k:,} of {total:,} instances withdrawn ({kinds}): a queue rule (a limit, "
                                "reneging) that is not discovered; the discovered unit serves everyone"))


def _microsystems(rows: Rows, units: list[str], q: float, seed: int, unit_defects: Defects,
                  window: float, findings: list[Finding], flags: list[str]) -> list[Table]:
    tables = []
    for u, uname in enumerate(units):
        visits = int((rows.unit == u).sum())
        if not visits:
            continue
        service, how, thin, n_service = _service(rows, u, seed)
        cap, cap_how, n_cap = _capacity(rows, u, q)
        element = f"microsystem {uname}"
        findings.append(Finding(element, "capacity", str(cap), n_cap, cap_how, False))
        findings.append(Finding(element, "service", _short(service), n_service, how, thin))
        keys: dict[str, Any] = {"name": uname, "capacity": Commented(cap, cap_how),
                                "service": Commented(service, how + ("; thin data" if thin else ""))}
        if cap != "unlimited":
            load, load_how, unstable = offered_load(visits, window, service, cap, uname)
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
