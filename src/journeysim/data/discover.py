"""Discover a scenario from an event log: units, classes, routing, services, handoffs, arrivals, capacities.

:func:`discover` reads an :class:`~journeysim.data.logs.EventLog` and returns the
:class:`~journeysim.model.scenario.Scenario` it implies, with a :class:`DiscoveryReport`
saying what was found for each element, from how many values, and how it was fitted.
The scenario file it writes (``DiscoveryReport.toml``) carries the same provenance as
a comment after every discovered number. See ``docs/discovery.md``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..errors import JourneySimError, Problem, ValidationError
from ..io.scenario_file import loads_scenario
from ..io.scenario_writer import Commented, Table, dumps_scenario
from .exits import OUTCOME, exit_tables
from .fit import SMALL_SAMPLE, FitResult, fit
from .logs import EventLog, Labelled
from .replications import end_to_end
from .support import SUPPORT_RULE, Nesting, find_support, mark_support, pathway_rows, support_tables

if TYPE_CHECKING:
    from ..model.scenario import Scenario

__all__ = ["discover", "DiscoveryReport", "Finding", "NOT_DISCOVERED"]

#: what this first cut does not discover (listed in every report)
NOT_DISCOVERED = (
    "service times of completion-only logs (the gap to the next event is a later step)",
    "defect rates, timeliness standards, priorities, background classes",
    "request result delays (the return of a support result is not an event of the log)",
    "service times by class, time-varying capacity (shifts), queue rules",
    "routing beyond first order (each move depends only on the current unit and the class)",
)
_CAPACITY_RULE = ("the time-weighted {q:g}th percentile of the number in service at once; "
                  "'unlimited' when fewer than {lim:.0%} of the instances waited (started after their schedule time); "
                  "not checked against the arrival rate")
_WAITED = 0.01


@dataclass(frozen=True, slots=True)
class Finding:
    """One discovered number: ``element`` (e.g. ``microsystem ED``), its scenario-file ``key``,
    the ``value`` as written, the number of observations ``n``, and ``how`` it was found."""

    element: str
    key: str
    value: str
    n: int
    how: str
    thin: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"element": self.element, "key": self.key, "value": self.value, "n": self.n, "how": self.how,
                "thin": self.thin}


@dataclass(frozen=True, slots=True)
class DiscoveryReport:
    """What :func:`discover` found, element by element, and the scenario file it wrote (``toml``)."""

    source: str
    n_cases: int
    n_instances: int
    span_days: float
    units: tuple[str, ...]
    classes: tuple[str, ...]
    findings: tuple[Finding, ...]
    toml: str = field(repr=False)
    notes: tuple[str, ...] = ()
    not_discovered: tuple[str, ...] = NOT_DISCOVERED

    def __repr__(self) -> str:
        thin = sum(f.thin for f in self.findings)
        return (f"DiscoveryReport({self.source}: {len(self.units)} units, {len(self.classes)} classes, "
                f"{len(self.findings)} findings, {thin} on thin data)")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (no NaN)."""
        return {"source": self.source, "n_cases": self.n_cases, "n_instances": self.n_instances,
                "span_days": round(self.span_days, 4), "units": list(self.units), "classes": list(self.classes),
                "findings": [f.to_dict() for f in self.findings], "notes": list(self.notes),
                "not_discovered": list(self.not_discovered), "toml": self.toml}

    def to_text(self) -> str:
        """The report as lines of text: one per finding, grouped by element."""
        out = [f"Discovered from {self.source}: {self.n_cases:,} cases, {self.n_instances:,} activity instances "
               f"over {self.span_days:.1f} days",
               f"  units: {', '.join(self.units)}", f"  classes: {', '.join(self.classes)}"]
        element = ""
        for f in self.findings:
            if f.element != element:
                element = f.element
                out.append(element)
            mark = "  [thin data]" if f.thin else ""
            out.append(f"  {f.key} = {f.value}  ({f.how}){mark}")
        out += ["Notes:", *(f"  - {n}" for n in self.notes)] if self.notes else []
        out += ["Not discovered yet:", *(f"  - {n}" for n in self.not_discovered)]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(f.element)}</td><td>{html.escape(f.key)}</td><td><code>{html.escape(f.value)}"
            f"</code></td><td>{f.n:,}</td><td>{html.escape(f.how)}{' <b>thin data</b>' if f.thin else ''}</td></tr>"
            for f in self.findings)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in (*self.notes, *self.not_discovered))
        return (f"<p><b>Discovered from {html.escape(self.source)}</b>: {self.n_cases:,} cases, "
                f"{self.n_instances:,} activity instances over {self.span_days:.1f} days</p>"
                "<table><tr><th>element</th><th>key</th><th>value</th><th>n</th><th>how</th></tr>"
                f"{rows}</table><p>Notes and what is not discovered yet:</p><ul>{notes}</ul>")


@dataclass(frozen=True, slots=True)
class _Rows:
    """The log's non-withdrawn instances in case and time order, with each row's class and next row."""

    unit: NDArray[np.int64]
    case: NDArray[np.int64]
    cls: NDArray[np.int64]
    first: NDArray[np.float64]      # scheduled, else start, else end
    arrive: NDArray[np.float64]     # scheduled, else start
    start: NDArray[np.float64]
    end: NDArray[np.float64]
    scheduled: NDArray[np.float64]
    has_next: NDArray[np.bool_]     # the next row is the same case's


def _class_codes(log: EventLog, classes_from: str | None) -> tuple[NDArray[np.int64], tuple[str, ...]]:
    """Each instance's class code (its case's first value) and the class names."""
    if classes_from is None or classes_from in ("class", "case:class"):
        codes, labels = log.class_.astype(np.int64), [str(x) for x in log.class_labels]
    elif classes_from in log.attributes:
        col = log.attributes[classes_from]
        if isinstance(col, Labelled):
            codes, labels = col.codes.astype(np.int64), [str(x) for x in col.labels]
        else:
            names = np.array([("" if math.isnan(v) else f"{v:g}") for v in col], dtype=object)
            uniq = sorted({n for n in names if n})
            index = {n: i for i, n in enumerate(uniq)}
            codes, labels = np.array([index.get(n, -1) for n in names], dtype=np.int64), uniq
    else:
        raise ValidationError([Problem("classes_from", f"no column {classes_from!r} in the log; its attributes are "
                                                       f"{', '.join(log.attributes) or 'none'}", log.source)])
    if not labels or (codes < 0).all():
        return np.zeros(len(log), dtype=np.int64), ("patient",)
    if (codes < 0).any():
        labels = [*labels, "unclassified"]
        codes = np.where(codes < 0, len(labels) - 1, codes)
    return codes, tuple(labels)


def _rows(log: EventLog, codes: NDArray[np.int64]) -> _Rows:
    first = np.fmin(log.scheduled, np.fmin(log.start, log.end))
    keep = ~log.withdrawn & np.isfinite(first)
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((first[idx], log.case[idx]))]
    case = log.case[idx].astype(np.int64)
    # a case takes the class of its first instance
    firsts = np.r_[True, case[1:] != case[:-1]]
    cls = codes[idx][firsts][np.cumsum(firsts) - 1]
    return _Rows(unit=log.activity[idx].astype(np.int64), case=case, cls=cls, first=first[idx],
                 arrive=np.where(np.isfinite(log.scheduled[idx]), log.scheduled[idx], log.start[idx]),
                 start=log.start[idx], end=log.end[idx], scheduled=log.scheduled[idx],
                 has_next=np.r_[case[1:] == case[:-1], False])


def _floor4(p: float) -> float:
    return math.floor(p * 1e4 + 1e-9) / 1e4


def _shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Shares rounded to 4 decimals, summing to exactly 1 (the largest takes the remainder)."""
    total = sum(counts.values())
    out = {k: round(v / total, 4) for k, v in counts.items() if v > 0}
    big = max(out, key=lambda k: out[k])
    out[big] = round(1.0 - sum(v for k, v in out.items() if k != big), 4)
    return out


def _fit_text(r: FitResult) -> str:
    b = r.best
    name = "median" if "median" in b.ci else next(iter(b.ci), "")
    ci = f", 95% CI of {name} [{b.ci[name][0]:.4g}, {b.ci[name][1]:.4g}]" if name else ""
    weight = "" if b.weight is None else f" (AIC weight {b.weight:.2f})"
    cens = f" ({r.n_censored} censored)" if r.n_censored else ""
    return f"n={r.n}{cens}, {b.family}{weight}{ci}"


def _duration(values: NDArray[np.float64], censored: NDArray[np.bool_], what: str,
              seed: int) -> tuple[Any, str, bool]:
    """A fitted distribution table (best by AIC), or the empirical values below 20, with provenance."""
    n = int(values.size)
    if n < SMALL_SAMPLE:
        vals = [float(f"{v:.4g}") for v in values[~censored]] or [0.0]
        return ({"dist": "empirical", "values": vals}, f"n={n} {what}, empirical (thin data: n < {SMALL_SAMPLE})",
                True)
    try:
        r = fit(values, censored, bootstrap=0, seed=seed)
    except (JourneySimError, ValidationError) as err:
        mean = float(np.mean(values))
        return {"dist": "fixed", "value": float(f"{mean:.4g}")}, f"n={n} {what}, mean (no family fitted: {err})", False
    return r.best.table_entry(), f"{_fit_text(r)}; {what}", False


def _span(log: EventLog, rows: _Rows) -> tuple[float, float]:
    """The first and last time in the log (minutes)."""
    times = np.concatenate([rows.first, rows.end[np.isfinite(rows.end)], rows.start[np.isfinite(rows.start)]])
    return float(times.min()), float(times.max())


def _service(rows: _Rows, u: int, last: float, seed: int) -> tuple[Any, str, bool]:
    mine = rows.unit == u
    s, e = rows.start[mine], rows.end[mine]
    done = np.isfinite(s) & np.isfinite(e)
    open_ = np.isfinite(s) & ~np.isfinite(e)
    if not done.any():
        why = ("completion times only: the service time is not in the log (the gap to the next event is a "
               "later step); a placeholder of 0") if not np.isfinite(s).any() else "no finished instance"
        return {"dist": "fixed", "value": 0}, why, True
    values = np.concatenate([np.maximum(e[done] - s[done], 0.0), np.maximum(last - s[open_], 0.0)])
    censored = np.r_[np.zeros(int(done.sum()), bool), np.ones(int(open_.sum()), bool)]
    return _duration(values, censored, "start to end", seed)


def _capacity(rows: _Rows, u: int, last: float, q: float) -> tuple[Any, str, int]:
    mine = (rows.unit == u) & np.isfinite(rows.start)
    s = rows.start[mine]
    e = np.where(np.isfinite(rows.end[mine]), rows.end[mine], last)
    if s.size == 0:
        return "unlimited", "no start times: capacity not in the log", 0
    times = np.r_[s, e]
    step = np.r_[np.ones(s.size), -np.ones(e.size)]
    order = np.lexsort((step, times))
    count = np.cumsum(step[order])[:-1]
    dur = np.diff(times[order])
    by = np.argsort(count, kind="stable")
    cum = np.cumsum(dur[by])
    level = int(count[by][min(int(np.searchsorted(cum, q * cum[-1])), count.size - 1)]) if cum[-1] > 0 else 1
    level = max(level, 1)
    sched = rows.scheduled[mine]
    known = np.isfinite(sched)
    n = int(s.size)
    top = int(count.max()) if count.size else 1
    if known.sum() >= max(1, n // 2):
        waited = float(np.mean(s[known] - sched[known] > 1e-6))
        if waited < _WAITED:
            return "unlimited", f"n={n}, {waited:.1%} waited: no ceiling in the data (at most {top} at once)", n
        return level, f"n={n}, {waited:.1%} waited; {q:.0%} quantile of the number in service (max {top})", n
    return level, f"n={n}, {q:.0%} quantile of the number in service (max {top}); FLAG: no schedule times, " \
                  "so whether this is a ceiling is not checked", n


def _profile(start_min: NDArray[np.float64], origin_offset: float, origin_weekday: int,
             span_days: float) -> tuple[dict[str, Any] | None, str]:
    """A 24-hour profile (and weekdays with enough data) when the hours differ beyond chance (p < 0.001)."""
    from scipy import stats

    n = start_min.size
    if n < 240:
        return None, f"n={n}: too few cases for an hour-of-day profile (240 needed)"
    t = start_min + origin_offset
    hours = np.bincount(((t // 60) % 24).astype(int), minlength=24).astype(float)
    p_hours = float(stats.chisquare(hours).pvalue)
    out: dict[str, Any] = {}
    how = []
    if p_hours < 1e-3:
        out["hours"] = [round(float(h), 3) for h in hours / hours.mean()]
        how.append(f"hours: chi-square p={p_hours:.2g}")
    if n >= 7 * 100 and span_days >= 28:
        day = ((t // 1440).astype(int) + origin_weekday) % 7
        counts = np.bincount(day, minlength=7).astype(float)
        seen = np.arange(int(t.min() // 1440), int(t.max() // 1440) + 1)  # the days the window covers
        exposure = np.bincount((seen + origin_weekday) % 7, minlength=7).astype(float)
        rel = counts / np.maximum(exposure, 1)
        # expected counts under a constant rate follow how many of each weekday the window holds
        p_days = float(stats.chisquare(counts, counts.sum() * exposure / exposure.sum()).pvalue)
        if p_days < 1e-3:
            out["days"] = [round(float(d), 3) for d in rel / rel.mean()]
            out.setdefault("hours", [1.0] * 24)
            how.append(f"weekdays: chi-square p={p_days:.2g}")
    if not out:
        return None, f"n={n}: no hour-of-day effect (chi-square p={p_hours:.2g}); constant rate"
    return out, f"n={n}, shares of case starts; " + ", ".join(how)


def discover(log: EventLog, *, classes_from: str | None = None, capacity_quantile: float = 0.99,
             name: str | None = None, seed: int = 0) -> tuple[Scenario, DiscoveryReport]:
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
        The scenario's seed.

    Returns
    -------
    (Scenario, DiscoveryReport)
        The validated scenario, and the report with the scenario file's text (``toml``).

    Examples
    --------
    >>> import journeysim as js  # doctest: +SKIP
    >>> scenario, report = js.discover(js.read_log("ami.csv"))  # doctest: +SKIP
    """
    if len(log) == 0:
        raise JourneySimError(f"{log.source}: the log has no activity instances")
    log, laid = end_to_end(log)  # several replications of a simulation: one after another (data/replications.py)
    codes, class_names = _class_codes(log, classes_from)
    rows = _rows(log, codes)
    units = [str(x) for x in log.activity_labels]
    first_t, last_t = _span(log, rows)
    span_days = max((last_t - first_t) / 1440.0, 1e-9)
    findings: list[Finding] = []
    notes: list[str] = [laid] if laid else []
    # support units (activities nested in other activities' instances) leave the pathway: data/support.py
    nest = find_support(rows.case, rows.unit, rows.first, rows.start, rows.end, units)
    path = pathway_rows(rows, ~nest.is_support(rows.unit))
    classes = _classes(log, path, units, class_names, span_days, findings, notes)
    micro = mark_support(_microsystems(rows, units, last_t, capacity_quantile, seed, findings),
                         [units[u] for u in nest.units])
    handoffs = _handoffs(path, units, class_names, seed, findings)
    extra = _support_and_exits(log, rows, path, nest, units, class_names, findings, notes)
    case_starts = path.first[np.r_[True, path.case[1:] != path.case[:-1]]]
    horizon = max(1, math.ceil(float(case_starts.max() - case_starts.min()) / 1440.0))
    doc = [Table("scenario", {"name": name or f"Discovered from {log.source}", "horizon_days": horizon,
                              "warmup_days": 0, "replications": 10, "seed": seed}),
           *classes, *micro, *handoffs, *extra]
    header = (f"Discovered by journeysim from {log.source}: {len(np.unique(rows.case)):,} cases, {len(rows.unit):,} "
              f"activity instances, {span_days:.1f} days.\nEvery discovered number carries its provenance; "
              f"'thin data' marks n < {SMALL_SAMPLE}.\nCapacity: " +
              _CAPACITY_RULE.format(q=100 * capacity_quantile, lim=_WAITED))
    text = dumps_scenario(doc, header=header)
    scenario = loads_scenario(text, name=f"discovered from {log.source}")
    report = DiscoveryReport(source=log.source, n_cases=len(np.unique(rows.case)), n_instances=len(rows.unit),
                             span_days=span_days, units=tuple(units), classes=class_names,
                             findings=tuple(findings), toml=text, notes=tuple(notes))
    return scenario, report


def _support_and_exits(log: EventLog, rows: _Rows, path: _Rows, nest: Nesting, units: list[str],
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


def _classes(log: EventLog, rows: _Rows, units: list[str], class_names: tuple[str, ...], span_days: float,
             findings: list[Finding], notes: list[str]) -> list[Table]:
    starts = np.r_[True, rows.case[1:] != rows.case[:-1]]
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
        profile, how = _profile(rows.first[mine], offset, log.origin.weekday(), span_days)
        findings.append(Finding(element, "profile", "hours" if profile else "constant", n, how))
        if profile:
            keys["profile"] = Commented(profile, how)
        tables.append(Table("classes", keys, array=True))
    return tables


def _microsystems(rows: _Rows, units: list[str], last: float, q: float, seed: int,
                  findings: list[Finding]) -> list[Table]:
    tables = []
    for u, uname in enumerate(units):
        if not (rows.unit == u).any():
            continue
        service, how, thin = _service(rows, u, last, seed)
        cap, cap_how, n_cap = _capacity(rows, u, last, q)
        element = f"microsystem {uname}"
        n_service = int(how.split(",")[0].split()[0][2:]) if how.startswith("n=") else 0
        findings.append(Finding(element, "capacity", str(cap), n_cap, cap_how, False))
        findings.append(Finding(element, "service", _short(service), n_service, how, thin))
        tables.append(Table("microsystems", {"name": uname, "capacity": Commented(cap, cap_how),
                                             "service": Commented(service, how + ("; thin data" if thin else ""))},
                            array=True))
    return tables


def _short(table: Mapping[str, Any]) -> str:
    if table.get("dist") == "empirical":
        return f"empirical ({len(table['values'])} values)"
    return ", ".join(f"{k}={v}" for k, v in table.items())


def _handoffs(rows: _Rows, units: list[str], class_names: tuple[str, ...], seed: int,
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
            delay = _delay(gap, seed)
            if delay is not None:
                table, dhow, dthin = delay
                findings.append(Finding(element, "delay", _short(table), int(gap.size), dhow, dthin))
                keys["delay"] = Commented(table, dhow + ("; thin data" if dthin else ""))
            tables.append(Table("handoffs", keys, array=True))
    return tables


def _delay(gap: NDArray[np.float64], seed: int) -> tuple[Any, str, bool] | None:
    """The handoff delay (end of one instance to the schedule or start of the next), or None when always 0."""
    if gap.size == 0 or float(gap.max()) < 1e-6:
        return None
    if gap.size < SMALL_SAMPLE:
        mean = float(np.mean(gap))
        return ({"dist": "fixed", "value": float(f"{mean:.4g}")},
                f"n={gap.size} end to next arrival, the mean (thin data: n < {SMALL_SAMPLE})", True)
    return _duration(gap, np.zeros(gap.size, bool), "end to next arrival", seed)
