"""What-if edits of a scenario: the inputs a person may change, checking them, and the redesign file.

The what-if app (``journeysim app``) shows one control per input a leader may want to
change, generated from a validated scenario: each handoff's (and support request's)
defect probability by kind, the capacity of each microsystem with limited capacity
and its shifts, the yes/no attributes of each patient class (the pre-activation of the
flagship's cath lab is the STEMI attribute ``stemi_alert``), each standard's target,
and the replications and seed. A control is named by its **path** in the scenario
file's data, e.g. ``handoffs.0.defects.information``.

Edited values are written into a copy of the scenario file's data and checked by the
library's own validation (:func:`~journeysim.io.scenario_file.build_scenario`), so the
messages are those ``journeysim validate`` prints; each problem is attached to the
control it is about. The redesign is written as a scenario file that ``extends`` the
base and holds only what changed (:func:`redesign_toml`).

Examples
--------
>>> from journeysim.io.scenario_file import ScenarioSpec, build_scenario
>>> spec = ScenarioSpec({"scenario": {"horizon_days": 1, "seed": 3},
...                      "classes": [{"name": "p", "entry": "A", "rate_per_day": 10}],
...                      "microsystems": [{"name": "A", "capacity": 2, "service": 5}, {"name": "B", "service": 1}],
...                      "handoffs": [{"from": "A", "to": "B", "defects": {"information": 0.4}}]}, "base.toml")
>>> panel = controls(spec, build_scenario(spec))
>>> [(c.path, c.value) for c in panel][:2]
[('handoffs.0.defects.patient', 0.0), ('handoffs.0.defects.information', 0.4)]
>>> edit = check(spec, panel, {"handoffs.0.defects.information": "1.4", "microsystems.0.capacity": "3"})
>>> edit.problems["handoffs.0.defects.information"]
['1.4 is not a probability in [0, 1]']
>>> edit = check(spec, panel, {"handoffs.0.defects.information": "0.2"})
>>> edit.changed, edit.scenario is not None
({'handoffs.0.defects.information': 0.2}, True)
>>> print(redesign_toml(spec, edit.changed, name="what-if"))  # doctest: +ELLIPSIS
# What-if redesign of base.toml, made by journeysim app: only what changed.
# Save it beside base.toml, which it extends.
<BLANKLINE>
extends = "base.toml"
<BLANKLINE>
[scenario]
name = "what-if"
<BLANKLINE>
[[handoffs]]
from = "A"
to = "B"
defects = { information = 0.2 }  # information base: 0.4
<BLANKLINE>
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import Problem, ValidationError
from ..model._problems import is_number
from ..model.attributes import Bernoulli
from ..model.distributions import FORMS
from ..model.kinds import HANDOFF_KINDS
from ..model.scenario import Scenario
from .scenario_file import ScenarioSpec, build_scenario
from .scenario_writer import Commented, Table, dumps_scenario, toml_value

__all__ = ["Control", "Edit", "controls", "check", "parse_input", "shown", "differs", "redesign_toml", "problem_path",
           "scaled", "is_scale"]

Group = Literal["handoffs", "requests", "capacity", "service", "routing", "classes", "costs", "standards", "run"]


@dataclass(frozen=True, slots=True)
class Control:
    """One input of the scenario that the what-if app lets a person change.

    Attributes
    ----------
    path : str
        Where the value lives in the scenario file's data, dotted, list indices as
        numbers: ``handoffs.0.defects.information``, ``microsystems.3.schedule.0.hours``.
    group : str
        Which panel shows it: ``handoffs``, ``requests``, ``capacity``, ``service``,
        ``routing``, ``classes``, ``costs``, ``standards`` or ``run``.
    element : str
        The element it belongs to, as people read it: ``EMS -> ED``, ``CathLab``.
    label : str
        What the value is: ``information``, ``capacity``, ``Mon-Fri 08:00-17:00 capacity``.
    value : float, int or str
        The base scenario's value.
    kind : str
        ``probability``, ``count``, ``number``, ``text`` or ``factor``: how the input
        is drawn. A ``factor`` (service times) multiplies the durations found at
        ``path``; its base value is 1 (see :func:`scaled`).
    note : str
        A hint shown beside it (a unit, or where an attribute is used).
    section : str
        The microsystem a service time, routing choice or cost is listed under.
    """

    path: str
    group: Group
    element: str
    label: str
    value: float | int | str
    kind: Literal["probability", "count", "number", "text", "factor"]
    note: str = ""
    section: str = ""


@dataclass(frozen=True, slots=True)
class Edit:
    """The result of checking edited inputs (:func:`check`).

    Attributes
    ----------
    changed : dict
        ``path -> value`` of every control whose value differs from the base.
    problems : dict
        ``path -> [message, ...]``: each problem the library found, on its control.
    general : list of str
        Problems not about one control (shown above the form).
    scenario : Scenario or None
        The redesign, when there is no problem.
    """

    changed: dict[str, Any]
    problems: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    scenario: Scenario | None = None

    @property
    def ok(self) -> bool:
        """Whether the redesign is valid (and so may run)."""
        return self.scenario is not None


def _index(entries: Any, ident: Any, key: Any) -> int | None:
    """Index of the entry of an array of the file's data whose ``key(entry)`` is ``ident``."""
    if not isinstance(entries, list):
        return None
    return next((i for i, t in enumerate(entries) if isinstance(t, Mapping) and key(t) == ident), None)


def _link_controls(data: Mapping[str, Any], scenario: Scenario,
                   array: Literal["handoffs", "requests"]) -> list[Control]:
    links = scenario.model.handoffs if array == "handoffs" else scenario.model.requests
    arrow = "->" if array == "handoffs" else "=>"
    out = []
    for link in links:
        i = _index(data.get(array), (link.source, link.target), lambda t: (t.get("from"), t.get("to")))
        if i is None:
            continue
        for kind in HANDOFF_KINDS:
            p = link.defects.get(kind)
            element = f"{link.source} {arrow} {link.target}"
            if not p.values:
                out.append(Control(f"{array}.{i}.defects.{kind}", array, element, kind, p.default, "probability"))
                continue
            for cls, v in (*p.values, ("default", p.default)):
                out.append(Control(f"{array}.{i}.defects.{kind}.{cls}", array, element, f"{kind} ({cls})", v,
                                   "probability"))
    return out


def _capacity_controls(data: Mapping[str, Any], scenario: Scenario) -> list[Control]:
    out = []
    for m in scenario.model.microsystems:
        i = _index(data.get("microsystems"), m.name, lambda t: t.get("name"))
        if i is None or (m.capacity is None and not m.schedule):
            continue
        if m.capacity is not None:
            out.append(Control(f"microsystems.{i}.capacity", "capacity", m.name, "capacity", m.capacity, "count",
                               "outside its shifts" if m.schedule else ""))
        for k, shift in enumerate(m.schedule):
            raw = data["microsystems"][i]["schedule"][k]
            when = shift.window.describe()
            out.append(Control(f"microsystems.{i}.schedule.{k}.days", "capacity", m.name, f"shift {k + 1} days",
                               str(raw.get("days", "")), "text", when))
            out.append(Control(f"microsystems.{i}.schedule.{k}.hours", "capacity", m.name, f"shift {k + 1} hours",
                               str(raw.get("hours", "")), "text"))
            if isinstance(shift.capacity, int):
                out.append(Control(f"microsystems.{i}.schedule.{k}.capacity", "capacity", m.name,
                                   f"shift {k + 1} capacity", shift.capacity, "count", "0 closes it"))
    return out


def _uses(scenario: Scenario, attribute: str) -> str:
    """Where a yes/no attribute is read: the activations and handoffs whose ``when`` names it."""
    words = re.compile(rf"\b{re.escape(attribute)}\b")
    places = [f"pre-activates {m.name} (at {a.at})" for m in scenario.model.microsystems for a in m.activation
              if a.when is not None and words.search(a.when.text)]
    places += [f"routes {h.source} -> {h.target}" for h in scenario.model.handoffs
               if h.when is not None and words.search(h.when.text)]
    return "; ".join(places)


def _class_controls(data: Mapping[str, Any], scenario: Scenario) -> list[Control]:
    out = []
    for k in scenario.model.classes:
        i = _index(data.get("classes"), k.name, lambda t: t.get("name"))
        if i is None:
            continue
        for name, a in k.attributes.items():
            raw = data["classes"][i].get("attributes", {}).get(name)
            if isinstance(a, Bernoulli) and isinstance(raw, Mapping) and "bernoulli" in raw:
                out.append(Control(f"classes.{i}.attributes.{name}.bernoulli", "classes", k.name,
                                   f"share with {name}", a.probability, "probability", _uses(scenario, name)))
    return out


def _standard_controls(data: Mapping[str, Any], scenario: Scenario) -> list[Control]:
    out = []
    for s in scenario.model.standards:
        i = _index(data.get("standards"), s.name, lambda t: t.get("name"))
        if i is None:
            continue
        raw = data["standards"][i]
        out.append(Control(f"standards.{i}.within", "standards", s.name, "within", raw.get("within", s.within),
                           "number", str(raw.get("unit", "minutes"))))
    return out


_SCALED = re.compile(r"^microsystems\.\d+\.(service|steps|(service|steps)_by_class\.[^.]+)$")


def is_scale(path: str) -> bool:
    """Whether a control's ``path`` holds a service time, whose control is a factor (:func:`scaled`).

    Examples
    --------
    >>> is_scale("microsystems.3.steps"), is_scale("microsystems.5.service_by_class.NSTEMI")
    (True, True)
    >>> is_scale("microsystems.3.capacity"), is_scale("handoffs.0.delay")
    (False, False)
    """
    return _SCALED.match(path) is not None


def _round(x: float) -> float | int:
    """A scaled number to 12 significant digits: 0.8 × 30 is 24, not 24.000000000000004; the app runs it as rounded."""
    y = float(f"{x:.12g}")
    return int(y) if isinstance(x, int) and y.is_integer() else y


def scaled(value: Any, factor: float) -> Any:
    """A service time of the scenario file's data with every duration multiplied by ``factor``.

    ``value`` is what the file holds: a number of minutes, a distribution table, or a
    list of steps. Only the duration parameters are scaled: those a time ``unit``
    scales too (not ``log_sd``, a gamma's or Weibull's ``shape``, a PERT's ``lambda``
    or a mixture's ``weights``), so the result is the distribution of ``factor × X``,
    exactly, for every distribution: its mean, median and every quantile are
    multiplied by ``factor`` and its shape is kept. Numbers are rounded to 12
    significant digits, which drops the noise of binary arithmetic (0.8 × 30 is 24)
    and keeps what a person typed; the app runs the rounded numbers, and the
    redesign file holds them exactly.

    Examples
    --------
    >>> scaled({"dist": "lognormal", "median": 70, "log_sd": 0.45}, 0.8)
    {'dist': 'lognormal', 'median': 56.0, 'log_sd': 0.45}
    >>> scaled([{"name": "a", "dist": "exponential", "mean": 10, "unit": "hours"}, 5], 2)
    [{'name': 'a', 'dist': 'exponential', 'mean': 20, 'unit': 'hours'}, 10]
    >>> gamma = {"dist": "gamma", "shape": 2, "scale": 3}
    >>> scaled({"dist": "mixture", "weights": [8, 2], "components": [1, gamma]}, 1.5)
    {'dist': 'mixture', 'weights': [8, 2], 'components': [1.5, {'dist': 'gamma', 'shape': 2, 'scale': 4.5}]}
    """
    if is_number(value):
        return _round(value * factor)
    if isinstance(value, list):
        return [scaled(v, factor) for v in value]
    if not isinstance(value, Mapping):
        return value
    params = {k for k in value if k not in ("dist", "unit", "name", "when")}
    form = next((f for f in FORMS.get(str(value.get("dist")), ()) if set(f.params) == params), None)
    if form is None:  # not a valid distribution: left for the library's validation to describe
        return dict(value)
    out = dict(value)
    for key in params:
        if key in form.nested:
            out[key] = [scaled(v, factor) for v in value[key]]
        elif key not in form.unitless:
            out[key] = scaled(value[key], factor)
    return out


def _minutes(x: float) -> str:
    if x >= 2 * 1440:
        return f"{x / 1440:.3g} days"
    if x >= 120:
        return f"{x / 60:.3g} h"
    return f"{x:.3g} min"


def _service_note(service: Any) -> str:
    """The base mean of a service time, or its steps' names and mean sum."""
    if isinstance(service, tuple):
        names = " + ".join(st.name for st in service)
        conditional = any(st.when is not None for st in service)
        total = sum(st.duration.mean for st in service)
        return f"steps {names}" + ("" if conditional else f"; mean {_minutes(total)}")
    return f"mean {_minutes(service.mean)}"


def _service_controls(data: Mapping[str, Any], scenario: Scenario) -> list[Control]:
    out = []
    for m in scenario.model.microsystems:
        i = _index(data.get("microsystems"), m.name, lambda t: t.get("name"))
        if i is None:
            continue
        raw = data["microsystems"][i]
        keys = [("steps" if "steps" in raw else "service", "", m.service)]
        keys += [(f"{key}.{cls}", f" ({cls})", m.service_by_class[cls])
                 for key in ("service_by_class", "steps_by_class")
                 for cls in (raw.get(key) or {}) if cls in m.service_by_class]
        for key, who, service in keys:
            if _service_note(service) == "mean 0 min":  # a zero-time boundary: nothing to scale
                continue
            label = ("steps" if key.startswith("steps") else "service time") + f" ×{who}"
            out.append(Control(f"microsystems.{i}.{key}", "service", m.name, label, 1.0, "factor",
                               _service_note(service), m.name))
    return out


def _probability_controls(path: str, element: str, p: Any, section: str, note: str = "", *,
                          stated: bool = False) -> list[Control]:
    """One control for a probability given for all classes, or one per class (and the default, if stated).

    The label is the class (``all classes`` for one number); the note is shown on the first only.
    """
    if not p.values:
        return [Control(path, "routing", element, "all classes", p.default, "probability", note, section)]
    default = (("default", p.default),) if stated else ()
    return [Control(f"{path}.{cls}", "routing", element, str(cls), v, "probability", note if k == 0 else "", section)
            for k, (cls, v) in enumerate((*p.values, *default))]


def _default(data: Mapping[str, Any], array: str, i: int) -> bool:
    """Whether entry ``i`` of ``array`` states a ``default`` in its per-class ``probability`` table."""
    p = data[array][i].get("probability")
    return isinstance(p, Mapping) and "default" in p


def _routing_controls(data: Mapping[str, Any], scenario: Scenario) -> list[Control]:
    model = scenario.model
    out = []
    for m in model.microsystems:
        for h in (h for h in model.handoffs if h.source == m.name):
            i = _index(data.get("handoffs"), (h.source, h.target), lambda t: (t.get("from"), t.get("to")))
            if i is not None:
                when = f"when {h.when.text}" if h.when is not None else ""
                out += _probability_controls(f"handoffs.{i}.probability", f"{h.source} -> {h.target}",
                                             h.probability, m.name, when, stated=_default(data, "handoffs", i))
        for x in (x for x in model.exits if x.source == m.name):
            i = _index(data.get("exits"), (x.source, x.name), lambda t: (t.get("from"), t.get("name")))
            if i is not None:
                out += _probability_controls(f"exits.{i}.probability", f"{x.source}: exit {x.name}", x.probability,
                                             m.name, stated=_default(data, "exits", i))
        for r in (r for r in model.requests if r.source == m.name):
            i = _index(data.get("requests"), (r.source, r.target), lambda t: (t.get("from"), t.get("to")))
            if i is not None:
                out += _probability_controls(f"requests.{i}.probability", f"{r.source} => {r.target}",
                                             r.probability, m.name, "share of visits making the request",
                                             stated=_default(data, "requests", i))
    return out


def _cost_controls(data: Mapping[str, Any], scenario: Scenario) -> list[Control]:
    unit = scenario.model.currency or "cost"
    out = []
    for array, name in (("microsystems", lambda t: str(t.get("name"))),
                        ("handoffs", lambda t: f"{t.get('from')} -> {t.get('to')}"),
                        ("requests", lambda t: f"{t.get('from')} => {t.get('to')}")):
        for i, t in enumerate(data.get(array) or []):
            cost = t.get("cost") if isinstance(t, Mapping) else None
            if not isinstance(cost, Mapping):
                continue
            section = str(t.get("name") if array == "microsystems" else t.get("from"))
            use = {"microsystems": "visit", "handoffs": "transfer", "requests": "request"}[array]
            for key, note in (("per_visit", f"{unit} per {use}"), ("per_minute", f"{unit} per minute")):
                if key in cost:
                    out.append(Control(f"{array}.{i}.cost.{key}", "costs", name(t), key.replace("_", " "),
                                       cost[key], "number", note, section))
            for defect, v in (cost.get("defects") or {}).items():
                out.append(Control(f"{array}.{i}.cost.defects.{defect}", "costs", name(t), f"defect {defect}", v,
                                   "number", f"{unit} per defect", section))
    for i, t in enumerate(data.get("standards") or []):
        if isinstance(t, Mapping) and "cost" in t:
            out.append(Control(f"standards.{i}.cost", "costs", str(t.get("name")), "per miss", t["cost"], "number",
                               f"{unit} per journey that misses it", "standards"))
    return out


def controls(spec: ScenarioSpec, scenario: Scenario) -> list[Control]:
    """The controls of a scenario: every input the what-if app shows, with its base value.

    Parameters
    ----------
    spec : ScenarioSpec
        The scenario file's data (``extends`` resolved), where each control's ``path`` points.
    scenario : Scenario
        The same scenario, validated (:func:`~journeysim.io.scenario_file.build_scenario`).

    Returns
    -------
    list of Control
        Handoff and request defects by kind, capacities and shifts, service times
        (a factor per microsystem, and per class where the file sets them per class),
        routing probabilities (handoffs, named exits and requests, per class where
        given), yes/no class attributes (pre-activation), the costs the file states,
        standard targets, then replications and seed.
    """
    data = spec.data
    run = [Control("scenario.replications", "run", "run", "replications", scenario.replications, "count"),
           Control("scenario.seed", "run", "run", "seed", scenario.seed if scenario.seed is not None else 0, "count",
                   "the same seed for both: common random numbers")]
    return (_link_controls(data, scenario, "handoffs") + _link_controls(data, scenario, "requests")
            + _capacity_controls(data, scenario) + _service_controls(data, scenario)
            + _routing_controls(data, scenario) + _class_controls(data, scenario) + _cost_controls(data, scenario)
            + _standard_controls(data, scenario) + run)


def parse_input(text: str) -> Any:
    """A form's text as the value a scenario file would hold: an integer, a number, else the text itself.

    The text is left as it is when it is not a number, so that the library's validation
    says what is wrong with it in its own words.

    Examples
    --------
    >>> parse_input(" 3 "), parse_input("0.25"), parse_input("1e-2"), parse_input("a lot")
    (3, 0.25, 0.01, 'a lot')
    """
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def shown(value: Any) -> str:
    """A control's value as the form shows it: ``0`` rather than ``0.0``, ``0.43`` as written.

    Examples
    --------
    >>> shown(0.0), shown(0.43), shown(30), shown("Mon-Fri"), shown(1e-05)
    ('0', '0.43', '30', 'Mon-Fri', '1e-05')
    """
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def differs(text: str, value: Any) -> bool:
    """Whether a form's ``text`` means another value than ``value`` (``"0.10"`` does not differ from ``0.1``).

    Examples
    --------
    >>> differs("0.10", 0.1), differs("0", 0.0), differs("0.2", 0.1), differs("x", 0.1)
    (False, False, True, True)
    """
    return not _same(parse_input(text), value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=1e-12) if math.isfinite(float(b)) else False
    return bool(a == b)


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted ``path`` of the file's data, making the tables on the way."""
    parts = path.split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    node[parts[-1]] = value


def problem_path(path: str) -> str:
    """A problem's key path in the dotted form of a control's path.

    Examples
    --------
    >>> problem_path("microsystems[3] (CathLab).schedule[0].capacity")
    'microsystems.3.schedule.0.capacity'
    >>> problem_path("handoffs[0] (EMS -> ED).defects.information")
    'handoffs.0.defects.information'
    """
    path = re.sub(r"^(\w+)\[(\d+)\] \([^)]*\)", r"\1[\2]", path)
    return re.sub(r"\[(\d+)\]", r".\1", path)


def _owner(path: str, paths: Sequence[str]) -> str | None:
    """The control a problem at ``path`` is about: the same path, one inside it, or one it contains."""
    for p in paths:
        if path == p or path.startswith(p + ".") or p.startswith(path + "."):
            return p
    return None


def check(spec: ScenarioSpec, panel: Sequence[Control], form: Mapping[str, str]) -> Edit:
    """Apply a form's values (``path -> text``) to the scenario and validate it with the library.

    Controls missing from ``form`` keep their base value. Every problem is attached
    to its control; only when none is (an edit may upset other entries, e.g. a class
    that fails makes every reference to it fail) are the others shown as general ones.

    Returns
    -------
    Edit
    """
    changed, factors = _read(spec, panel, form)
    paths = [c.path for c in panel]
    problems = _problems(spec, changed)
    if not problems and not factors:
        return Edit(changed, scenario=build_scenario(_edited(spec, changed)))
    by_control, general = _located(problems, paths, _routes(spec, panel, changed))
    # The library stops at the first problem of an entry and checks the run settings only once the
    # model is valid: a change it has not spoken about yet is checked alone, so each gets its message.
    for path, value in changed.items():
        if path not in by_control and problems:
            alone, _ = _located(_problems(spec, {path: value}), paths, _routes(spec, panel, {path: value}))
            for owner, messages in alone.items():
                by_control.setdefault(owner, []).extend(m for m in messages if m not in by_control.get(owner, []))
    for path, messages in factors.items():  # a factor the library cannot judge: it never reaches the file's data
        by_control.setdefault(path, []).extend(messages)
    return Edit(changed, by_control, [] if by_control else general)


#: The factors a service time may be multiplied by: positive, and neither so small nor so large that
#: the durations leave the range of numbers a scenario file and the clock of a run hold meaningfully.
FACTOR_RANGE = (1e-6, 1e6)


def _read(spec: ScenarioSpec, panel: Sequence[Control],
          form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The form's values that differ from the base (``path -> value``), and the factors out of range.

    A factor that leaves the scenario's data as it is (1.0000001 on 70 minutes, which a
    scenario file writes as 70) is no change.
    """
    changed: dict[str, Any] = {}
    factors: dict[str, list[str]] = {}
    low, high = FACTOR_RANGE
    for c in panel:
        if c.path not in form:
            continue
        value = parse_input(form[c.path])
        if c.kind == "factor":
            if not (is_number(value) and low <= value <= high):
                factors[c.path] = [f"{value!r} is not a factor from {low:g} to {high:g} "
                                   "(1 keeps the base; 0.8 is 20% shorter)"]
            elif _moves(spec, c.path, value):
                changed[c.path] = value
        elif not _same(value, c.value):
            changed[c.path] = value
    return changed, factors


def _moves(spec: ScenarioSpec, path: str, factor: float) -> bool:
    """Whether multiplying the service time at ``path`` by ``factor`` changes what the file holds."""
    before = _value_at(spec.data, path.split("."))
    return bool(scaled(before, factor) != before)


def _edited(spec: ScenarioSpec, changed: Mapping[str, Any]) -> ScenarioSpec:
    data: dict[str, Any] = copy.deepcopy(dict(spec.data))
    for path, value in changed.items():
        _set(data, path, scaled(_value_at(data, path.split(".")), value) if is_scale(path) else value)
    return ScenarioSpec(data, spec.file, spec.origins)


def _problems(spec: ScenarioSpec, changed: Mapping[str, Any]) -> list[Problem]:
    try:
        build_scenario(_edited(spec, changed))
    except ValidationError as err:
        return list(err.problems)
    return []


def _routes(spec: ScenarioSpec, panel: Sequence[Control], changed: Mapping[str, Any]) -> dict[str, list[str]]:
    """``path -> [path, ...]``: the routing controls out of a microsystem that a sum problem at ``path`` is shown on.

    The library names the microsystem (``microsystems.I``) when the handoffs out of it
    add up to more than 1, and the first named exit out of it (``exits.J.probability``)
    when the handoffs and named exits together do. Either message goes to the routing
    controls out of that microsystem that changed (to all of them when none did).
    """
    names = {str(t.get("name")): f"microsystems.{i}" for i, t in enumerate(spec.data.get("microsystems") or [])
             if isinstance(t, Mapping)}
    out: dict[str, list[str]] = {}
    for c in panel:
        if c.group == "routing" and c.section in names and not c.path.startswith("requests."):
            out.setdefault(names[c.section], []).append(c.path)
    routes = {node: [p for p in paths if p in changed] or paths for node, paths in out.items()}
    for j, x in enumerate(spec.data.get("exits") or []):
        node = names.get(str(x.get("from"))) if isinstance(x, Mapping) else None
        if node in routes:
            routes[f"exits.{j}.probability"] = routes[node]
    return routes


def _located(problems: Sequence[Problem], paths: Sequence[str],
             routes: Mapping[str, Sequence[str]] | None = None) -> tuple[dict[str, list[str]], list[str]]:
    by_control: dict[str, list[str]] = {}
    general = []
    for p in problems:
        where = problem_path(p.path)
        sums = "add up to" in p.message  # probabilities out of a microsystem
        owners = list((routes or {}).get(where, [])) if sums else []
        owner = _owner(where, paths)
        for o in owners or ([] if owner is None else [owner]):
            by_control.setdefault(o, []).append(p.message)
        if not owners and owner is None:
            general.append(f"{p.path}: {p.message}" if p.path else p.message)
    return by_control, general


def _value_at(data: Any, parts: Sequence[str]) -> Any:
    for part in parts:
        data = data[int(part)] if isinstance(data, list) else data.get(part) if isinstance(data, Mapping) else None
    return data


def _identity(array: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The keys that name an entry of an array, so that ``extends`` merges the change into it."""
    keys = ("from", "to") if array in ("handoffs", "requests") else ("from", "name") if array == "exits" else ("name",)
    return {k: entry[k] for k in keys}


def redesign_toml(spec: ScenarioSpec, changed: Mapping[str, Any], *, name: str, description: str = "") -> str:
    """A scenario file that ``extends`` the base and holds only the ``changed`` inputs.

    Each changed value carries its base value in a comment. A defect kind is
    written alone (``extends`` merges a handoff's ``defects`` by kind); another key
    is written whole (a microsystem's ``schedule``, a class's ``attributes``).
    Saved beside the base file, it loads with :func:`~journeysim.io.scenario_file.load_scenario`
    and gives the app's numbers from ``journeysim compare BASE THIS --replications N --seed S``.

    Parameters
    ----------
    spec : ScenarioSpec
        The base scenario file's data; ``spec.file`` is the file extended.
    changed : mapping
        ``path -> value``, from :attr:`Edit.changed`.
    name, description : str
        The redesign's scenario name (it must differ from the base's to be compared) and description.
    """
    base = Path(spec.file).name
    data = _edited(spec, changed).data
    scenario_keys: dict[str, Any] = {"name": name}
    if description:
        scenario_keys["description"] = description
    entries: dict[tuple[str, int], dict[str, Any]] = {}
    notes: dict[tuple[str, int, str], list[str]] = {}
    defaults = _defaults(spec, changed)
    for path in sorted(changed, key=_order):
        parts = path.split(".")
        before = _value_at(spec.data, parts)
        if parts[0] == "scenario":
            scenario_keys[parts[1]] = Commented(changed[path], f"base: {_short(before, defaults.get(path))}")
            continue
        array, i, key = parts[0], int(parts[1]), parts[2]
        entry = entries.setdefault((array, i), _identity(array, data[array][i]))
        inner = ".".join(parts[3:])
        said = notes.setdefault((array, i, key), [])
        if is_scale(path):
            was = "" if isinstance(before, list) else f": {toml_value(before, exact=True)}"
            said.append(f"{inner + ' ' if inner else ''}× {shown(changed[path])} of the base{was}")
        else:
            base_value = _short(before, defaults.get(path))
            said.append(f"{inner} base: {base_value}" if inner else f"base: {base_value}")
        if key == "defects":  # extends merges defects kind by kind: write only the kinds that changed
            kinds = dict(entry["defects"].value) if "defects" in entry else {}
            kinds[parts[3]] = data[array][i]["defects"][parts[3]]
            written: Any = kinds
        else:
            written = data[array][i][key]
        entry[key] = Commented(written, "; ".join(said))
    tables = [Table("scenario", scenario_keys)]
    tables += [Table(array, keys, array=True) for (array, _), keys in entries.items()]
    header = (f"# What-if redesign of {base}, made by journeysim app: only what changed.\n"
              f"# Save it beside {base}, which it extends.\n\n")
    return header + f"extends = {toml_value(base)}\n\n" + dumps_scenario(tables, exact=True)


def _defaults(spec: ScenarioSpec, changed: Mapping[str, Any]) -> dict[str, Any]:
    """``path -> value`` the base runs with, for the changed inputs the file leaves at their default.

    A seed the file does not set has no default value (each run draws its own), so it is left out.
    """
    unset = {p for p in changed if p != "scenario.seed" and _value_at(spec.data, p.split(".")) is None}
    if not unset:
        return {}
    return {c.path: c.value for c in controls(spec, build_scenario(spec)) if c.path in unset}


def _short(value: Any, default: Any = None) -> str:
    """A base value for a comment: as the file gives it, else the default the base runs with."""
    if value is not None:
        return str(value)
    return "not set" if default is None else f"{shown(default)} (default)"


def _order(path: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in path.split("."))
