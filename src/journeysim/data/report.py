"""What discovery found: :class:`Finding` per discovered number, and the :class:`DiscoveryReport`.

The report renders as text (:meth:`DiscoveryReport.to_text`), as HTML in Jupyter
and as strict JSON (:meth:`DiscoveryReport.to_dict`). Observed figures that a
fidelity check compares with a simulation (each stated standard's attainment, each
defect rate) are also kept as typed records: :class:`ObservedStandard`,
:class:`ObservedDefect`.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Finding", "DiscoveryReport", "ObservedStandard", "ObservedDefect", "NOT_DISCOVERED", "floor4"]

#: what discovery does not discover (listed in every report)
NOT_DISCOVERED = (
    "priorities, background classes, patient attributes and routing by them",
    "request result delays (the return of a support result is not an event of the log)",
    "service times and handoff delays by class, time-varying capacity (shifts), queue rules",
    "routing beyond first order (each move depends only on the current unit and the class)",
    "capacities and support units of completion-only logs (no start times: written 'unlimited')",
)


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


def floor4(p: float) -> float:
    """A probability rounded down to 4 decimals (so that shares never add up to more than 1).

    >>> floor4(2 / 3), floor4(0.99999)
    (0.6666, 0.9999)
    """
    return math.floor(p * 1e4 + 1e-9) / 1e4


def _r(x: float) -> float:
    return round(float(x), 6)


@dataclass(frozen=True, slots=True)
class ObservedStandard:
    """A stated standard's attainment in the log: of the ``n`` cases that reached ``source``,
    ``met`` reached ``target`` within ``within`` minutes, ``never`` never reached it."""

    name: str
    source: str
    target: str
    within: float
    n: int
    met: int
    never: int
    target_first: int = 0

    @property
    def share(self) -> float:
        """The met share (NaN when no case reached the source)."""
        return self.met / self.n if self.n else float("nan")

    @property
    def ci95(self) -> tuple[float, float]:
        """Wilson 95% interval of the met share."""
        return wilson(self.met, self.n)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (no NaN)."""
        lo, hi = self.ci95
        return {"name": self.name, "from": self.source, "to": self.target, "within_minutes": _r(self.within),
                "n": self.n, "met": self.met, "never_reached": self.never, "target_first": self.target_first,
                "share_met": _r(self.share) if self.n else None, "ci95": [_r(lo), _r(hi)] if self.n else None,
                "share_never": _r(self.never / self.n) if self.n else None}


@dataclass(frozen=True, slots=True)
class ObservedDefect:
    """A defect rate in the log: ``k`` of ``n`` visits (or cases, ``per``) at ``element`` were flagged."""

    name: str
    element: str
    k: int
    n: int
    per: str = "visit"
    source: str = ""

    @property
    def rate(self) -> float:
        """The flagged share."""
        return self.k / self.n if self.n else float("nan")

    @property
    def ci95(self) -> tuple[float, float]:
        """Wilson 95% interval of the rate."""
        return wilson(self.k, self.n)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (no NaN)."""
        lo, hi = self.ci95
        return {"name": self.name, "element": self.element, "k": self.k, "n": self.n, "per": self.per,
                "source": self.source, "rate": _r(self.rate) if self.n else None,
                "ci95": [_r(lo), _r(hi)] if self.n else None}


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``k / n`` (95% by default).

    >>> [round(x, 4) for x in wilson(5, 100)]
    [0.0215, 0.1118]
    >>> wilson(0, 0)
    (0.0, 1.0)
    """
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class DiscoveryReport:
    """What :func:`~journeysim.data.discover.discover` found, element by element, and the
    scenario file it wrote (``toml``), with the observed standards, defect rates and flags.

    Shows itself as a table in Jupyter; ``to_text()`` and ``to_dict()`` (strict JSON).

    Examples
    --------
    >>> import tempfile, pathlib, warnings
    >>> import journeysim as js
    >>> model = js.Model([js.Microsystem("Triage", capacity=2, service=js.Exponential(10)),
    ...                   js.Microsystem("Treat", capacity=3, service=js.Exponential(30))],
    ...                  handoffs=[js.Handoff("Triage", "Treat", probability=0.7)],
    ...                  classes=[js.PatientClass("walk-in", entry="Triage", rate=js.per_hour(4))])
    >>> run = js.simulate(model, horizon=20 * 1440, replications=1, seed=3)
    >>> with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")                  # the log's warnings: see log.warnings
    ...     log = js.read_log(js.write_event_log(run, pathlib.Path(tmp) / "clinic.csv"))
    >>> scenario, report = js.discover(log, name="clinic")
    >>> report.units, report.classes, len(report.findings) > 0
    (('Triage', 'Treat'), ('walk-in',), True)
    >>> scenario.model.handoffs[0].source, scenario.model.handoffs[0].target
    ('Triage', 'Treat')
    """

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
    standards: tuple[ObservedStandard, ...] = ()
    defects: tuple[ObservedDefect, ...] = ()
    flags: tuple[str, ...] = ()

    def __repr__(self) -> str:
        thin = sum(f.thin for f in self.findings)
        flags = f", {len(self.flags)} flagged" if self.flags else ""
        return (f"DiscoveryReport({self.source}: {len(self.units)} units, {len(self.classes)} classes, "
                f"{len(self.findings)} findings, {thin} on thin data{flags})")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (no NaN)."""
        return {"source": self.source, "n_cases": self.n_cases, "n_instances": self.n_instances,
                "span_days": round(self.span_days, 4), "units": list(self.units), "classes": list(self.classes),
                "findings": [f.to_dict() for f in self.findings],
                "standards": [s.to_dict() for s in self.standards],
                "defects": [d.to_dict() for d in self.defects], "flags": list(self.flags),
                "notes": list(self.notes), "not_discovered": list(self.not_discovered), "toml": self.toml}

    def _observed_lines(self) -> list[str]:
        out = []
        for s in self.standards:
            lo, hi = s.ci95
            out.append(f"  {s.name}: {s.source} -> {s.target} within {s.within:g} min: {s.met} of {s.n} met "
                       f"({s.share:.1%}, 95% CI [{lo:.1%}, {hi:.1%}]); {s.never} never reached {s.target}"
                       if s.n else f"  {s.name}: no case reached {s.source}")
        for d in self.defects:
            lo, hi = d.ci95
            out.append(f"  defect {d.name} at {d.element}: {d.k} of {d.n} {d.per}s ({d.rate:.2%}, "
                       f"95% CI [{lo:.2%}, {hi:.2%}]){'; ' + d.source if d.source else ''}")
        return out

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
        observed = self._observed_lines()
        out += ["Observed in the log (for comparison with a simulation):", *observed] if observed else []
        out += ["FLAGS:", *(f"  ! {x}" for x in self.flags)] if self.flags else []
        out += ["Notes:", *(f"  - {n}" for n in self.notes)] if self.notes else []
        out += ["Not discovered yet:", *(f"  - {n}" for n in self.not_discovered)]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        kinds = [("class", "Patient classes"), ("microsystem", "Microsystems"), ("standard", "Standards"),
                 ("handoff", "Handoffs")]  # the first word of each finding's element
        sections = []
        for kind, title in kinds:
            mine = [f for f in self.findings if f.element.split(" ", 1)[0] == kind]
            if mine:
                sections.append(_findings_table(title, kind, mine, folded=kind == "handoff" and len(mine) > 12))
        others = [f for f in self.findings if f.element.split(" ", 1)[0] not in {k for k, _ in kinds}]
        if others:
            sections.append(_findings_table("Other findings", "element", others, folded=False))
        observed = "".join(f"<li>{html.escape(x.strip())}</li>" for x in self._observed_lines())
        flags = "".join(f"<li><b>{html.escape(x)}</b></li>" for x in self.flags)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in (*self.notes, *self.not_discovered))
        return (f"<p><b>Discovered from {html.escape(self.source)}</b>: {self.n_cases:,} cases, "
                f"{self.n_instances:,} activity instances over {self.span_days:.1f} days</p>"
                + "".join(sections)
                + (f"<p>Observed in the log:</p><ul>{observed}</ul>" if observed else "")
                + (f"<p>Flags:</p><ul>{flags}</ul>" if flags else "")
                + f"<p>Notes and what is not discovered yet:</p><ul>{notes}</ul>")


def _how(text: str, width: int = 70) -> str:
    """How a number was found, in HTML: its first clause, and the rest folded when it is long."""
    cut = min((k for k in (text.find("; "), text.find(" (")) if k > 0), default=len(text))
    if len(text) <= width or cut >= len(text):
        return html.escape(text)
    return f"<details><summary>{html.escape(text[:cut])}</summary>{html.escape(text)}</details>"


def _findings_table(title: str, kind: str, findings: list[Finding], *, folded: bool) -> str:
    """One kind of finding as a table (element without its kind, key, value, n, how); folded when long."""
    rows = "".join(
        f"<tr><td>{html.escape(f.element.split(' ', 1)[-1])}</td><td>{html.escape(f.key)}</td>"
        f"<td><code>{html.escape(f.value)}</code></td><td>{f.n:,}</td>"
        f"<td>{_how(f.how)}{' <b>thin data</b>' if f.thin else ''}</td></tr>"
        for f in findings)
    table = (f"<table><tr><th>{html.escape(kind)}</th><th>key</th><th>value</th>"
             f"<th>n</th><th>how</th></tr>{rows}</table>")
    if folded:
        return f"<details><summary><b>{html.escape(title)}</b> ({len(findings):,})</summary>{table}</details>"
    return f"<p><b>{html.escape(title)}</b></p>{table}"
