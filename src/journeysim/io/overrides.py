"""Overrides of scenario values from the command line, for parameter sweeps.

``journeysim sweep FILE --set PATH=V1,V2,...`` runs a scenario once for every
point of a grid: each ``--set`` names one value of the scenario document and
the values to try, and several ``--set`` make the cartesian product. This
module parses the expressions, applies them to the plain document of a
:class:`~journeysim.io.scenario_file.ScenarioSpec`, and leaves validation to
:func:`~journeysim.io.scenario_file.build_scenario`, which sees an overridden
document exactly as if the file had said so.

A ``PATH`` follows the keys of ``docs/scenarios.md``: dotted bare keys
(``scenario.horizon_days``) or quoted keys (``["..."]``). An entry of an array
of tables is chosen by its name (``classes["STEMI"]``, ``microsystems["ED"]``,
or ``microsystems.ED``), a handoff by ``"FROM->TO"`` and a request by
``"FROM=>TO"``; ``[N]`` picks the entry at index ``N`` of any array. Each value
is read as a TOML value (numbers, booleans, quoted strings, inline tables and
arrays); a single bare word that is not TOML, like ``unlimited``, is taken as a
string. Nothing is ever evaluated.

Examples
--------
>>> ov = parse_override('handoffs["EMS->ED"].defects.information=0.43,0.3')
>>> ov.parts, ov.values
(('handoffs', 'EMS->ED', 'defects', 'information'), (0.43, 0.3))
>>> doc = {"handoffs": [{"from": "EMS", "to": "ED", "defects": {"information": 0.43}}]}
>>> apply_overrides(doc, [(ov, 0.3)])["handoffs"][0]["defects"]
{'information': 0.3}
>>> doc["handoffs"][0]["defects"]  # the document itself is left alone
{'information': 0.43}
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeAlias

from ..errors import Problem, ValidationError
from .scenario_file import MAX_NESTING, ScenarioSpec, _depth

__all__ = ["PathPart", "Override", "parse_override", "apply_overrides", "grid", "sweep_specs"]

#: One step of an override path: a key or entry name (``str``) or an array index (``int``).
PathPart: TypeAlias = str | int

_ARRAYS = ("classes", "microsystems", "handoffs", "requests", "standards", "exits")
_LINKS = {"handoffs": "->", "requests": "=>"}
_WHAT = {"classes": "class", "microsystems": "microsystem", "handoffs": "handoff", "requests": "request",
         "standards": "standard", "exits": "exit"}
# documented default of a key whose absence is not 0 (docs/scenarios.md, handoffs and requests)
_LINK_PROBABILITY_DEFAULT = 1.0
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_ARROW = re.compile(r"\s*(->|=>)\s*")


@dataclass(frozen=True, slots=True)
class Override:
    """One ``--set PATH=V1,V2,...`` expression, parsed.

    Parameters
    ----------
    path : str
        The path as written, e.g. ``handoffs["EMS->ED"].defects.information``;
        it names the override in grid points and error messages.
    parts : tuple of str or int
        The path's steps: keys, entry names (``"EMS->ED"``) and array indices.
    values : tuple
        The values to try, in the order given, as TOML values.

    Examples
    --------
    >>> Override("scenario.replications", ("scenario", "replications"), (5, 10)).values
    (5, 10)
    """

    path: str
    parts: tuple[PathPart, ...]
    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(self.parts))
        object.__setattr__(self, "values", tuple(self.values))
        if not self.parts:
            raise ValidationError([Problem(f"--set {self.path}", "the path is empty")])
        if not self.values:
            raise ValidationError([Problem(f"--set {self.path}", "no values given")])
        if self.parts[0] == "extends":
            # the base file is read and merged before any override applies
            raise ValidationError([Problem(f"--set {self.path}", "extends cannot be set with --set; write a "
                                           "scenario file that extends the other one")])


# -- parsing ---------------------------------------------------------------------------
def _syntax(text: str, message: str) -> NoReturn:
    raise ValidationError([Problem(f"--set {text!r}", message)])


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _quoted(text: str, i: int) -> tuple[str, int]:
    """The TOML string starting at ``text[i]`` (a quote) and the index after it."""
    quote, j = text[i], i + 1
    while j < len(text) and text[j] != quote:
        j += 2 if quote == '"' and text[j] == "\\" else 1
    if j >= len(text):
        _syntax(text, f"unterminated quoted name starting at character {i + 1}")
    try:
        name = tomllib.loads(f"k = {text[i:j + 1]}")["k"]
    except tomllib.TOMLDecodeError:
        _syntax(text, f"{text[i:j + 1]} (character {i + 1}) is not a valid quoted name")
    return _ARROW.sub(r"\1", name), j + 1


def _parse_path(text: str) -> tuple[tuple[PathPart, ...], int]:
    """The parts of the path at the start of ``text`` and the index where it ends."""
    parts: list[PathPart] = []
    i = _skip_space(text, 0)
    while True:
        if i < len(text) and text[i] == "[":
            j = _skip_space(text, i + 1)
            digits = re.compile(r"\d+").match(text, j)
            part: PathPart
            if j < len(text) and text[j] in "\"'":
                part, j = _quoted(text, j)
            elif digits and parts:
                part, j = int(digits.group()), digits.end()
            else:
                _syntax(text, f"expected a quoted name like [\"ED\"] or an index after '[' at character {i + 1}")
            j = _skip_space(text, j)
            if j >= len(text) or text[j] != "]":
                _syntax(text, f"expected ']' at character {j + 1}")
            parts.append(part)
            i = j + 1
        elif not parts or (i < len(text) and text[i] == "."):
            j = _skip_space(text, i + 1 if parts else i)
            bare = _BARE.match(text, j)
            if not bare:
                _syntax(text, f"expected a key at character {j + 1}")
            parts.append(bare.group())
            i = bare.end()
        else:
            return tuple(parts), i
        i = _skip_space(text, i)


def _split_values(text: str, values: str) -> list[str]:
    """Split at commas outside quotes, brackets and braces."""
    items, start, depth, quote, i = [], 0, 0, "", 0
    while i < len(values):
        ch = values[i]
        if quote:
            if quote == '"' and ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(values[start:i].strip())
            start = i + 1
        i += 1
    if quote:
        _syntax(text, f"unterminated quoted value: {values[start:].strip()}")
    items.append(values[start:].strip())
    return items


def _value(item: str) -> tuple[Any, str | None]:
    """The TOML value of ``item``, or ``(None, why not)``."""
    if not item:
        return None, "empty value (two commas in a row, or a comma at the end?)"
    try:
        doc = tomllib.loads(f"v = {item}")
    except RecursionError:
        return None, f"arrays or inline tables are nested more than {MAX_NESTING} levels deep"
    except ValueError:  # a TOMLDecodeError, or an integer of more than 4300 digits
        if _WORD.fullmatch(item):
            if item.lower() in ("true", "false", "inf", "nan"):
                return None, f"{item!r}: TOML spells it {item.lower()}"
            return item, None
        return None, f"{item!r} is not a TOML value; quote a string that is not one bare word: '\"...\"'"
    if set(doc) != {"v"}:
        return None, f"{item!r} is not a single TOML value"
    if _depth(doc["v"]) > MAX_NESTING:
        return None, f"arrays or inline tables are nested more than {MAX_NESTING} levels deep"
    return doc["v"], None


def parse_override(text: str) -> Override:
    """Parse one ``--set`` expression ``PATH=V1,V2,...``.

    Parameters
    ----------
    text : str
        E.g. ``'handoffs["EMS->ED"].defects.information=0.43,0.3,0.2'``. Commas
        inside quotes, ``[...]`` or ``{...}`` do not separate values.

    Returns
    -------
    Override

    Raises
    ------
    ValidationError
        If the expression cannot be parsed; the message quotes it and says where.

    Examples
    --------
    >>> parse_override('requests["ED=>Lab"].defects.services = 0, 0.05').parts
    ('requests', 'ED=>Lab', 'defects', 'services')
    >>> parse_override('microsystems.ED.capacity=20,unlimited').values
    (20, 'unlimited')
    >>> parse_override('scenario.name="a, b","c"').values
    ('a, b', 'c')
    >>> parse_override("classes[STEMI].rate_per_day=1")
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: --set 'classes[STEMI].rate_per_day=1': expected a quoted name like ["ED"]
    or an index after '[' at character 8
    """
    parts, end = _parse_path(text)
    if end >= len(text) or text[end] != "=":
        found = f"found {text[end]!r}" if end < len(text) else "found the end"
        hint = "; quote names with '->' or '=>', e.g. handoffs[\"EMS->ED\"]" if text[end:end + 1] == ">" else ""
        _syntax(text, f"expected '=' after the path at character {end + 1}, {found}{hint}")
    rest = text[end + 1:]
    if rest.lstrip().startswith(">"):
        _syntax(text, "quote names with '->' or '=>', e.g. requests[\"ED=>Lab\"]")
    values, problems = [], []
    for item in _split_values(text, rest):
        value, why = _value(item)
        if why is not None:
            problems.append(Problem(f"--set {text!r}", why))
        values.append(value)
    if problems:
        raise ValidationError(problems)
    return Override(text[:end].strip(), parts, tuple(values))


# -- applying ---------------------------------------------------------------------------
def _thaw(value: Any) -> Any:
    """A copy with every mapping a new dict and every sequence a new list."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _key_text(part: PathPart) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    return f".{part}" if _BARE.fullmatch(part) else f'["{part}"]'


def _label(array: PathPart | None, entry: Any) -> str | None:
    """The name that selects ``entry`` in ``array``: ``"FROM->TO"``, ``"FROM=>TO"``, ``"FROM:NAME"`` (an exit)
    or its name."""
    if not isinstance(entry, Mapping):
        return None
    if array == "exits" and "from" in entry and "name" in entry:
        return f"{entry['from']}:{entry['name']}"
    if array in _LINKS and "from" in entry and "to" in entry:
        return f"{entry['from']}{_LINKS[array]}{entry['to']}"
    return str(entry["name"]) if "name" in entry else None


class _Walk:
    """Applies one override to a thawed document, naming the ``--set`` path in errors."""

    def __init__(self, override: Override) -> None:
        self.override = override
        self.keys: list[PathPart] = []  # parts walked so far, entry names included
        self.shown = ""  # the same, written as a path

    def fail(self, message: str) -> NoReturn:
        raise ValidationError([Problem(f"--set {self.override.path}", message)])

    def step(self, part: PathPart, text: str) -> None:
        self.keys.append(part)
        self.shown += text if self.shown else text.lstrip(".")

    def select(self, entries: list[Any], part: PathPart) -> int:
        if isinstance(part, int):
            if 0 <= part < len(entries):
                return part
            self.fail(f"{self.shown} has {len(entries)} entries, so there is no [{part}]")
        array = self.keys[-1] if self.keys else None
        top = len(self.keys) == 1
        labels = [_label(array if top else None, e) for e in entries]
        found = [i for i, label in enumerate(labels) if label == part]
        if len(found) == 1:
            return found[0]
        if found:
            self.fail(f"{self.shown} has {len(found)} entries named {part!r}; give an index instead, like [{found[0]}]")
        known = [label for label in labels if label is not None]
        what = _WHAT.get(str(array), "entry") if top else "entry"
        close = difflib.get_close_matches(part, known, n=1)
        if close:
            hint = f'; did you mean {self.shown}["{close[0]}"]?'
        elif known:
            hint = "; there are " + ", ".join(f'"{label}"' for label in known)
        else:
            hint = f"; {self.shown} has no named entries"
        self.fail(f'no {what} "{part}" in {self.shown}{hint}')

    def apply(self, doc: dict[str, Any], value: Any) -> None:
        parts = self.override.parts
        node: Any = doc
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            if isinstance(node, dict):
                if isinstance(part, int):
                    self.fail(f"{self.shown} is a table: give a key, not the index [{part}]")
                if last:
                    node[part] = _thaw(value)
                    return
                if part not in node:
                    node[part] = self._missing(part)
                child = node[part]
                self.step(part, _key_text(part))
                if _is_number(child) and n == len(parts) - 2 and isinstance(parts[-1], str) and self._per_class():
                    child = node[part] = {"default": child}
                node = child
            elif isinstance(node, list):
                index = self.select(node, part)
                if last:
                    node[index] = _thaw(value)
                    return
                self.step(part, _key_text(part) if isinstance(part, int) else f'["{part}"]')
                node = node[index]
            else:
                self.fail(f"{self.shown} is {node!r}, not a table, so it has no {_key_text(part).lstrip('.')!r}")

    def _missing(self, part: str) -> Any:
        """What a missing key becomes on the way down: the value it stood for, as a table."""
        if not self.keys and part in _ARRAYS:
            return []  # so that selecting an entry reports "no such entry"
        if part == "probability" and len(self.keys) == 2 and self.keys[0] in (*_LINKS, "exits"):
            return {"default": _LINK_PROBABILITY_DEFAULT}
        return {}

    def _per_class(self) -> bool:
        """The walked keys name a probability that may be a per-class table (docs/scenarios.md)."""
        k = self.keys
        if not k or k[0] not in ("microsystems", "handoffs", "requests", "exits"):
            return False
        if k[0] == "exits":
            return len(k) == 3 and k[2] == "probability"
        if len(k) == 3:
            return (k[2], k[0] in _LINKS) in (("probability", True), ("defect", False))
        return len(k) == 4 and k[2] == "defects"


def apply_overrides(data: Mapping[str, Any], assignments: Iterable[tuple[Override, Any]]) -> dict[str, Any]:
    """A copy of a scenario document with each override set to its value.

    Parameters
    ----------
    data : mapping
        The scenario document (``ScenarioSpec.data``); it is not changed.
    assignments : iterable of (Override, value)
        Applied in order.

    Returns
    -------
    dict
        A deep copy of ``data`` with the values set. Keys missing on the way
        are added (``defects`` of a handoff that has none), and a key missing at
        the end is created, so a new defect kind or a per-class key can be set;
        :func:`~journeysim.io.scenario_file.build_scenario` then reports any key the
        format does not know.

    Notes
    -----
    Setting one class of a probability that is a single number ``p`` (e.g.
    ``probability.STEMI`` or ``defects.information.STEMI``) turns it into the
    table ``{default = p, STEMI = value}``: classes not named keep the old value.
    A handoff or request without ``probability`` counts as ``1.0`` there.

    Raises
    ------
    ValidationError
        Naming the ``--set`` path, when an entry does not exist (with the
        closest existing one) or the path goes into a value that is not a table.

    Examples
    --------
    >>> doc = {"requests": [{"from": "CathLab", "to": "Pharmacy", "probability": 0.9}]}
    >>> ov = parse_override('requests["CathLab=>Pharmacy"].probability.STEMI=1.0')
    >>> apply_overrides(doc, [(ov, 1.0)])["requests"][0]["probability"]
    {'default': 0.9, 'STEMI': 1.0}
    >>> apply_overrides(doc, [(parse_override('requests["CathLab=>Pharmacie"].probability=1'), 1)])
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: --set requests["CathLab=>Pharmacie"].probability:
    no request "CathLab=>Pharmacie" in requests; did you mean requests["CathLab=>Pharmacy"]?
    """
    doc: dict[str, Any] = _thaw(data)
    for override, value in assignments:
        _Walk(override).apply(doc, value)
    return doc


# -- grids -------------------------------------------------------------------------------
def grid(overrides: Sequence[Override]) -> list[dict[str, Any]]:
    """Every combination of the overrides' values, the first override varying slowest.

    Parameters
    ----------
    overrides : sequence of Override
        No two may set the same path.

    Returns
    -------
    list of dict
        One ``{path: value}`` per point, in the order of the overrides; with no
        overrides, the single point ``{}`` (the scenario as it is).

    Raises
    ------
    ValidationError
        If two overrides set the same path.

    Examples
    --------
    >>> a = parse_override("scenario.replications=5,10")
    >>> b = parse_override("scenario.seed=1,2")
    >>> grid([a, b])
    [{'scenario.replications': 5, 'scenario.seed': 1}, {'scenario.replications': 5, 'scenario.seed': 2},
     {'scenario.replications': 10, 'scenario.seed': 1}, {'scenario.replications': 10, 'scenario.seed': 2}]
    """
    overrides = tuple(overrides)
    seen: dict[tuple[PathPart, ...], str] = {}
    for ov in overrides:
        if ov.parts in seen:
            raise ValidationError([Problem(f"--set {ov.path}", f"sets the same value as --set {seen[ov.parts]}")])
        seen[ov.parts] = ov.path
    return [
        {ov.path: value for ov, value in zip(overrides, point)}
        for point in itertools.product(*(ov.values for ov in overrides))
    ]


def sweep_specs(spec: ScenarioSpec, overrides: Sequence[Override]) -> list[tuple[dict[str, Any], ScenarioSpec]]:
    """One scenario spec per grid point, ready for :func:`~journeysim.io.scenario_file.build_scenario`.

    Parameters
    ----------
    spec : ScenarioSpec
        The base scenario, as read by :func:`~journeysim.io.scenario_file.read_spec`; unchanged.
    overrides : sequence of Override

    Returns
    -------
    list of (dict, ScenarioSpec)
        Each grid point of :func:`grid` with the spec that has its values set
        (same ``file`` and ``origins``, so problems still point into the file).

    Raises
    ------
    ValidationError
        As :func:`grid` and :func:`apply_overrides`.

    Examples
    --------
    >>> spec = ScenarioSpec({"scenario": {"horizon_days": 1}}, "s.toml")
    >>> [(p, s.data["scenario"]) for p, s in sweep_specs(spec, [parse_override("scenario.seed=1,2")])]
    [({'scenario.seed': 1}, {'horizon_days': 1, 'seed': 1}), ({'scenario.seed': 2}, {'horizon_days': 1, 'seed': 2})]
    """
    overrides = tuple(overrides)
    return [
        (point, dataclasses.replace(spec, data=apply_overrides(spec.data, [(ov, point[ov.path]) for ov in overrides])))
        for point in grid(overrides)
    ]
