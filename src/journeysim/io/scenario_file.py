"""Scenario files: the only module that knows the TOML format.

A scenario file is data. It is read with :mod:`tomllib` (never evaluated),
may start from another file with ``extends = "base.toml"``, and is turned into
a validated :class:`~journeysim.model.scenario.Scenario`. Every problem in the file is
reported at once, each with the file, the line of the entry where TOML lets us
know it, and the key path, e.g.::

    ami.toml:88: handoffs[3] (ED -> CathLab).defects.information: 1.4 is not a probability in [0, 1]

The format is documented key by key in ``docs/scenarios.md``.

Examples
--------
>>> text = '''
... [scenario]
... name = "clinic"
... horizon_days = 10
... [[classes]]
... name = "all"
... entry = "Clinic"
... rate_per_hour = 6
... [[microsystems]]
... name = "Clinic"
... capacity = 1
... service = { dist = "exponential", mean = 8 }
... '''
>>> s = loads_scenario(text)
>>> s.horizon, s.model.microsystem("Clinic").capacity
(14400.0, 1)
"""

from __future__ import annotations

import copy
import difflib
import errno
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem, ValidationError
from ..model._problems import Collector, is_number
from ..model.attributes import Attribute, Bernoulli, Categorical, Numeric
from ..model.clock import Window
from ..model.distributions import FORMS, Distribution, Fixed
from ..model.elements import Activation, Handoff, Microsystem, PatientClass, ServiceRequest, Shift, Step
from ..model.exits import Exit
from ..model.frailty import Frailty
from ..model.mesosystem import Model
from ..model.milestones import Group, Standard
from ..model.profiles import ArrivalProfile, check_period_days
from ..model.queues import Divert
from ..model.scenario import END_MODES, Scenario

__all__ = ["ScenarioSpec", "read_spec", "load_scenario", "loads_scenario", "build_scenario", "parse_distribution",
           "locate_problems", "MAX_FILE_BYTES", "MAX_NESTING"]

#: The largest scenario file read, in bytes (20 MB): a larger one is refused from its size, unread.
MAX_FILE_BYTES = 20_000_000
#: The deepest nesting of arrays and inline tables in a scenario file (the format needs about 6).
MAX_NESTING = 32

_UNITS = {"minutes": 1.0, "hours": 60.0, "days": 1440.0}
_ARRAYS = ("classes", "microsystems", "handoffs", "requests", "standards", "exits")
_TABLES = ("milestones", "groups", "frailty")  # merged key by key under ``extends``
_TOP_KEYS = ("extends", "scenario", *_ARRAYS, *_TABLES)
_SCENARIO_KEYS = (
    "name", "description", "horizon_days", "horizon_hours", "horizon_minutes",
    "warmup_days", "warmup_hours", "warmup_minutes", "replications", "seed", "currency", "end",
)
_CLASS_KEYS = (
    "name", "entry", "rate_per_day", "rate_per_hour", "rate_per_minute", "priority", "background", "profile",
    "reference", "remove", "attributes",
)
_PROFILE_KEYS = ("hours", "blocks", "days", "rates_per_hour", "period_days")
_NODE_KEYS = (
    "name", "kind", "capacity", "service", "steps", "service_by_class", "steps_by_class",
    "defect", "defects", "defect_per_wait_hour", "defect_per_occupant", "exit_delay", "schedule", "team_ready",
    "activated_for", "activation", "cost",
    "period_days",
    "queue_limit", "queue_limit_by_class", "when_full", "when_full_by_class", "full_is_defect",
    "patience", "patience_by_class", "renege_to", "balk_at", "balk_probabilities",
    "reference", "remove", "defect_multipliers",
)
_DIVERT_KEYS = ("divert", "delay")
_SHIFT_KEYS = ("days", "hours", "capacity", "team_ready")
_ACTIVATION_KEYS = ("at", "probability", "lag", "when")
_REQUEST_KEYS = ("from", "to", "probability", "delay", "delay_by_class", "defects", "cost", "reference", "remove")
_HANDOFF_KEYS = (*_REQUEST_KEYS, "boarding", "preactivate", "recovery", "propagation", "when", "defect_multipliers")
_STANDARD_KEYS = ("name", "from", "to", "within", "unit", "classes", "entries", "reached_only", "cost", "reference",
                  "remove", "when")
_FRAILTY_KEYS = ("correlation", "reference")
_EXIT_KEYS = ("from", "name", "probability", "delay", "delay_by_class", "reference", "remove")
_GROUP_KEYS = ("entry", "class", "clock", "inside", "outside", "attribute", "cuts")


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """The plain data of a scenario file after ``extends`` is resolved.

    Attributes
    ----------
    data : dict
        The merged TOML document.
    file : str
        The file that was read (the last of an ``extends`` chain).
    origins : dict
        ``(array name, index) -> (file, line, {key: line})`` of each entry of
        ``classes``, ``microsystems``, ``handoffs``, ``requests``, ``standards`` and ``exits``
        (and of each ``[table]``, e.g. ``scenario`` or ``groups.channel``, under
        ``(dotted name, 0)``), for error messages.
    """

    data: Mapping[str, Any]
    file: str
    origins: Mapping[tuple[str, int], tuple[str, int | None, Mapping[str, int]]] = field(default_factory=dict)


# -- reading and merging -----------------------------------------------------------
_KEY_LINE = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")
_ANY_HEADER = re.compile(r"^\s*\[")
_HEADER_KEY = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_HEADER = re.compile(r"^\s*(\[\[?)\s*(" + _HEADER_KEY + r"(?:\s*\.\s*" + _HEADER_KEY + r")*)\s*\]\]?\s*(?:#.*)?$")


def _sections(text: str) -> list[tuple[str, str, int, dict[str, int]]]:
    """Every ``[table]`` and ``[[array]]`` header: its brackets, dotted name, line, and the line of each key under it.

    One pass over the lines, so a file with many entries is read in linear time.
    """
    sections: list[tuple[str, str, int, dict[str, int]]] = []
    keys: dict[str, int] | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            keys = {}
            sections.append((header.group(1), re.sub(r"\s*\.\s*", ".", header.group(2)), n, keys))
        elif keys is not None:
            key = _KEY_LINE.match(line)
            if key:
                keys.setdefault(key.group(1), n)
    return sections


Origins = dict[tuple[str, int], tuple[str, int | None, dict[str, int]]]


#: ``classes[2] (STEMI).rate_per_day``: the array, the index and the key of a problem's path
_ENTRY_PATH = re.compile(r"^(classes|microsystems|handoffs|requests|standards|exits)\[(\d+)\]"
                         r"(?: \([^)]*\))?\.?([A-Za-z0-9_-]*)")


def _origins(text: str, shown: str, data: Mapping[str, Any]) -> Origins:
    origins: dict[tuple[str, int], tuple[str, int | None, dict[str, int]]] = {}
    sections = _sections(text)
    for array in _ARRAYS:
        headers = [(line, keys) for brackets, name, line, keys in sections if brackets == "[[" and name == array]
        entries = data.get(array)
        if isinstance(entries, list):
            for i in range(len(entries)):
                line, keys = headers[i] if i < len(headers) else (None, {})
                origins[(array, i)] = (shown, line, keys)
    for brackets, name, line, keys in sections:
        if brackets == "[":
            origins.setdefault((name, 0), (shown, line, keys))
    return origins


def _identity(array: str, entry: Mapping[str, Any]) -> Any:
    if array in ("handoffs", "requests"):
        return (entry.get("from"), entry.get("to"))
    if array == "exits":
        return (entry.get("from"), entry.get("name"))
    return entry.get("name")


def _merge_entry(base: dict[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in change.items():
        if key == "defects" and isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _os_reason(err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "it is a loop of symbolic links"
    if err.errno == errno.ENOENT:
        return "no such file"
    return str(err.strerror or err)


def _not_regular(info: os.stat_result) -> str | None:
    """Why a file with this status cannot be a scenario file, or None."""
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        return "it is a directory"
    if not stat.S_ISREG(mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
                else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "special")
        return f"it is not a regular file but {kind}"
    if info.st_size > MAX_FILE_BYTES:
        return (f"it is {info.st_size:,} bytes, more than the {MAX_FILE_BYTES:,} bytes (20 MB) "
                "a scenario file may have")
    return None


def _read_bytes(path: Path) -> tuple[bytes, None] | tuple[None, str]:
    """The bytes of a scenario file, or why it cannot be read.

    A directory, a device, a FIFO or a file over :data:`MAX_FILE_BYTES` is
    refused from its status, before anything is read, so ``/dev/zero`` or a FIFO
    never blocks.
    """
    try:
        why = _not_regular(os.stat(path))
        if why is not None:
            return None, why
        # non-blocking: if a FIFO took the file's place since the stat, opening it does not wait
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except ValueError:  # the name has a NUL character
        return None, "the file name contains a NUL character"
    except OSError as err:
        return None, _os_reason(err)
    with os.fdopen(fd, "rb") as fh:
        why = _not_regular(os.fstat(fh.fileno()))
        if why is not None:
            return None, why
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        return None, f"it is more than the {MAX_FILE_BYTES:,} bytes (20 MB) a scenario file may have"
    return data, None


def _line_at(data: bytes | str, offset: int) -> int:
    if isinstance(data, bytes):
        return data.count(b"\n", 0, offset) + 1
    return data.count("\n", 0, offset) + 1


def _decode(data: bytes, shown: str) -> str:
    """The text of a scenario file, which must be UTF-8 (a leading byte-order mark is allowed)."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationError([Problem("", "the file is not UTF-8: it starts with a UTF-16 byte-order mark "
                                       "(byte offset 0); save it as UTF-8", shown, 1)])
    try:
        text = data[start:].decode("utf-8")
    except UnicodeDecodeError as err:
        offset = start + err.start
        raise ValidationError([Problem(
            "", f"the file is not UTF-8: byte 0x{data[offset]:02x} at byte offset {offset} cannot be decoded "
            f"({err.reason}); save it as UTF-8", shown, _line_at(data, offset))]) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ValidationError([Problem("", f"the file contains a NUL byte at byte offset {nul}: it is binary "
                                       "data, not a TOML scenario", shown, _line_at(data, nul))])
    return text


def _depth(value: Any) -> int:
    """How deeply arrays and tables nest in a parsed document (without recursion)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _deep_line(text: str, limit: int) -> int | None:
    """The line where arrays and inline tables first nest more than ``limit`` deep (strings and comments skipped)."""
    depth, line, i, n = 0, 1, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch == "#":
            i = text.find("\n", i)
            if i < 0:
                break
            continue
        elif ch in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else ch
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                if ch == '"' and text[j] == "\\":
                    j += 1
                j += 1
            line += text.count("\n", i, j)
            i = j + len(quote)
            continue
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return line
        elif ch in "]}":
            depth -= 1
        i += 1
    return None


def _parse_toml(text: str, shown: str) -> dict[str, Any]:
    """The TOML document in ``text``; any problem is a ValidationError naming ``shown`` and the line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line = getattr(err, "lineno", None)
        if line is None:
            m = re.search(r"line (\d+)", str(err))
            line = int(m.group(1)) if m else None
        raise ValidationError([Problem("", f"TOML syntax error: {err}", shown, line)]) from None
    except RecursionError:
        data = None
    except ValueError as err:  # an integer of more than 4300 digits (Python's limit for converting text)
        digits = re.search(r"[0-9_]{4301,}", text)
        raise ValidationError([Problem("", f"TOML value error: {str(err).split(';')[0]}", shown,
                                       _line_at(text, digits.start()) if digits else None)]) from None
    if data is None or _depth(data) > MAX_NESTING:
        raise ValidationError([Problem("", f"arrays or inline tables are nested more than {MAX_NESTING} levels deep",
                                       shown, _deep_line(text, MAX_NESTING))])
    return data


def _top_key_line(text: str, key: str) -> int | None:
    """Line of a key of the root table (before the first ``[header]``)."""
    for n, line in enumerate(text.splitlines(), start=1):
        if _ANY_HEADER.match(line):
            return None
        m = _KEY_LINE.match(line)
        if m and m.group(1) == key:
            return n
    return None


def read_spec(path: str | Path, *, _seen: tuple[Path, ...] = ()) -> ScenarioSpec:
    """Read a scenario file, resolving ``extends``, without validating it.

    Raises
    ------
    ValidationError
        When a file cannot be read (missing, not a regular file, over
        :data:`MAX_FILE_BYTES`, not UTF-8, binary), is not valid TOML, nests
        deeper than :data:`MAX_NESTING`, or ``extends`` loops.
    """
    path = Path(path)
    raw, why = _read_bytes(path)
    if raw is None:
        raise ValidationError([Problem("", f"cannot read the file: {why}", str(path))])
    return _read_text(path, raw, _seen)


def _base_path(path: Path, base_name: Any, seen: tuple[Path, ...], where: tuple[str, int | None]) -> tuple[Path, bytes]:
    """The file that ``extends = base_name`` in ``path`` names, and its bytes; a problem names ``where``."""
    def refuse(message: str) -> ValidationError:
        return ValidationError([Problem("extends", message, *where)])

    if not isinstance(base_name, str) or not base_name.strip():
        raise refuse(f"must be a file name, got {base_name!r}")
    if "\x00" in base_name:
        raise refuse(f"{base_name!r}: the file name contains a NUL character")
    base_path = path.parent / base_name
    raw, why = _read_bytes(base_path)
    if raw is None:
        raise refuse(f"cannot read {base_name!r}: {why}")
    resolved = base_path.resolve()
    if resolved in seen or resolved == path.resolve():
        raise refuse(f"{base_name!r} extends itself (directly or through others)")
    return base_path, raw


def _read_text(path: Path, raw: bytes, _seen: tuple[Path, ...]) -> ScenarioSpec:
    shown = str(path)
    text = _decode(raw, shown)
    data = _parse_toml(text, shown)
    origins = _origins(text, shown, data)
    base_name = data.pop("extends", None)
    if base_name is None:
        return ScenarioSpec(data, shown, origins)
    base_path, base_raw = _base_path(path, base_name, _seen, (shown, _top_key_line(text, "extends")))
    base = _read_text(base_path, base_raw, (*_seen, path.resolve()))
    merged: dict[str, Any] = copy.deepcopy(dict(base.data))
    merged_origins = dict(base.origins)
    problems: list[Problem] = []
    for key, value in data.items():
        if key in _ARRAYS and isinstance(value, list) and isinstance(merged.get(key, []), list):
            target: list[Any] = merged.setdefault(key, [])
            for i, entry in enumerate(value):
                if not isinstance(entry, Mapping):
                    target.append(entry)
                    continue
                ident = _identity(key, entry)
                match = next(
                    (j for j, old in enumerate(target) if isinstance(old, Mapping) and _identity(key, old) == ident),
                    None,
                )
                if entry.get("remove") is True:
                    if match is None:
                        problems.append(
                            Problem(f"{key}[{i}]", f"remove = true, but {base_name} has no such entry", shown,
                                    origins.get((key, i), (shown, None, {}))[1])
                        )
                    else:
                        del target[match]
                        for j in range(match, len(target)):
                            merged_origins[(key, j)] = merged_origins.get((key, j + 1), (shown, None, {}))
                    continue
                if match is None:
                    merged_origins[(key, len(target))] = origins.get((key, i), (shown, None, {}))
                    target.append(copy.deepcopy(entry))
                else:
                    target[match] = _merge_entry(target[match], entry)
                    merged_origins[(key, match)] = origins.get((key, i), (shown, None, {}))
        else:
            if key in ("scenario", *_TABLES) and isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = copy.deepcopy(value)
            # the lines of this file's [key] and [key.sub] tables replace the base's
            merged_origins.update({k: v for k, v in origins.items() if k[0] == key or k[0].startswith(key + ".")})
    if problems:
        raise ValidationError(problems)
    return ScenarioSpec(merged, shown, merged_origins)


# -- building the model --------------------------------------------------------------
def _unknown_keys(c: Collector, table: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in table:
        if key not in allowed:
            match = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {match[0]!r}?" if match else f"; expected one of {', '.join(allowed)}"
            c.add(key, f"unknown key{hint}")


def _table(c: Collector, path: str, value: Any) -> Mapping[str, Any] | None:
    if not isinstance(value, Mapping):
        c.add(path, f"must be a table, got {value!r}")
        return None
    return value


def _time(c: Collector, table: Mapping[str, Any], stem: str, *, required: bool) -> float | None:
    keys = [k for k in (f"{stem}_days", f"{stem}_hours", f"{stem}_minutes") if k in table]
    if len(keys) > 1:
        c.add(keys[1], f"give only one of {', '.join(keys)}")
        return None
    if not keys:
        if required:
            c.add(f"{stem}_days", f"is required (or {stem}_hours / {stem}_minutes)")
        return None
    key = keys[0]
    value = table[key]
    if not is_number(value) or value < 0:
        c.add(key, f"must be a non-negative number, got {value!r}")
        return None
    unit = key.rsplit("_", 1)[1]
    return c.converted(key, value, float(value) * _UNITS[unit], unit)


def parse_distribution(value: Any, c: Collector, path: str, *, unit: str = "minutes") -> Distribution | None:
    """Build a distribution from its scenario-file form; record problems in ``c``.

    A bare number is a fixed duration. A table names ``dist`` and its parameters,
    with an optional ``unit`` (``minutes``, ``hours`` or ``days``; default ``unit``,
    minutes unless the distribution is a mixture's component, which takes its mixture's).

    Examples
    --------
    >>> c = Collector()
    >>> parse_distribution({"dist": "lognormal", "median": 1.2, "log_sd": 0.5, "unit": "days"}, c, "stay")
    LogNormal(median=1728.0, log_sd=0.5)
    >>> parse_distribution({"dist": "mixture", "unit": "hours", "weights": [0.8, 0.2],
    ...                     "components": [1, {"dist": "exponential", "mean": 30, "unit": "minutes"}]}, c, "stay")
    Mixture(components=(Fixed(value=60.0), Exponential(mean=30.0)), weights=(0.8, 0.2))
    >>> parse_distribution({"dist": "beta", "mean": 3}, c, "stay") is None, str(c.problems[0])
    (True, "stay.dist: unknown distribution 'beta'; expected one of fixed, exponential, lognormal, gamma, ...")
    """
    if is_number(value):
        if value < 0:
            c.add(path, f"a duration must be non-negative, got {value!r}")
            return None
        minutes = float(value) if unit == "minutes" else c.converted(path, value, float(value) * _UNITS[unit], unit)
        if minutes is None:
            return None
        try:
            return Fixed(minutes)
        except ValidationError as err:
            c.absorb(err, path)
            return None
    sub = c.child(path)
    if not isinstance(value, Mapping):
        c.add(path, "must be a number of minutes or a distribution table like "
              f"{{ dist = \"exponential\", mean = 5 }}, got {value!r}")
        return None
    kind = value.get("dist")
    if not isinstance(kind, str) or kind not in FORMS:
        if kind is None:
            sub.add("dist", f"is required; one of {', '.join(FORMS)}")
        else:
            sub.add("dist", f"unknown distribution {kind!r}; expected one of {', '.join(FORMS)}")
        return None
    unit = value.get("unit", unit)
    if unit not in _UNITS:
        sub.add("unit", f"must be one of {', '.join(_UNITS)}, got {unit!r}")
        return None
    scale = _UNITS[unit]
    params = {k: v for k, v in value.items() if k not in ("dist", "unit")}
    forms = FORMS[kind]
    form = next((f for f in forms if set(f.params) == set(params)), None)
    if form is None:
        allowed = sorted({p for f in forms for p in f.params})
        for key in params:
            if key not in allowed:
                match = difflib.get_close_matches(key, allowed, n=1)
                sub.add(key, f"unknown parameter of {kind}" + (f"; did you mean {match[0]!r}?" if match else ""))
        wanted = " or ".join("(" + ", ".join(f.params) + ")" for f in forms)
        sub.add("", f"{kind} needs parameters {wanted}, got ({', '.join(params) or 'none'})")
        return None
    converted: dict[str, Any] = {}
    for key, given in params.items():
        times = 1.0 if key in form.unitless else scale
        if key in form.nested:  # a mixture's components, in the mixture's unit unless they say
            if not isinstance(given, list) or not given:
                sub.add(key, f"must be a non-empty list of distributions, got {given!r}")
                return None
            parts = [parse_distribution(v, sub, f"{key}[{i}]", unit=unit) for i, v in enumerate(given)]
            converted[key] = None if None in parts else tuple(parts)
        elif isinstance(given, list) and all(is_number(v) for v in given):  # e.g. empirical values
            items = [sub.converted(f"{key}[{i}]", v, float(v) * times, unit) for i, v in enumerate(given)]
            converted[key] = None if None in items else tuple(items)
        elif is_number(given):
            converted[key] = sub.converted(key, given, float(given) * times, unit)
        else:
            sub.add(key, f"must be a number{' or a list of numbers' if isinstance(given, list) else ''}, "
                         f"got {given!r}")
            return None
    if None in converted.values():
        return None
    try:
        return form.make(**converted)
    except ValidationError as err:
        c.absorb(err, path)
        return None


def _renamed(path: str, keys: Mapping[str, str]) -> str:
    """``path`` with its first key replaced by the key the file wrote it under (``rate`` -> ``rate_per_day``)."""
    head = re.split(r"[.\[]", path, maxsplit=1)[0]
    return keys[head] + path[len(head):] if head in keys else path


def _element(c: Collector, make: Callable[..., Any], *, keys: Mapping[str, str] | None = None, **kwargs: Any) -> Any:
    """``make(**kwargs)``, or None with its problems in ``c``; ``keys`` maps argument names to the file's keys."""
    try:
        return make(**kwargs)
    except ValidationError as err:
        for p in err.problems:
            c.add(_renamed(p.path, keys or {}), p.message)
        return None


def _parse_profile(c: Collector, value: Any) -> ArrivalProfile | None:
    """``{ hours = [24 weights] }``, ``{ blocks = [{ from, to, share }, ...] }`` or ``{ rates_per_hour = [...] }``,
    with optional ``days`` and ``period_days``."""
    if not isinstance(value, Mapping):
        c.add("", f"must be a table with hours, blocks or rates_per_hour (and optional days), got {value!r}")
        return None
    _unknown_keys(c, value, _PROFILE_KEYS)
    given = [k for k in ("hours", "blocks", "rates_per_hour") if k in value]
    if len(given) != 1:
        c.add("", "give either hours (24 relative rates), blocks (shares of the day's arrivals) or rates_per_hour "
              f"(arrivals per hour), exactly one; got {' and '.join(given) or 'none'}")
        return None
    before = len(c.problems)
    period = check_period_days(c, "period_days", value.get("period_days", 7))
    days = value.get("days", [])
    if not isinstance(days, list):
        c.add("days", f"must be a list of {period} relative rates, Monday first")
        return None
    if len(c.problems) > before:
        return None
    try:
        if given[0] != "blocks":
            key = given[0]
            if not isinstance(value[key], list):
                c.add(key, f"must be a list of 24 {'rates' if key == 'hours' else 'arrivals per hour'}, 00-01 first")
                return None
            if key == "hours":
                return ArrivalProfile(hours=tuple(value["hours"]), days=tuple(days), period_days=period)
            return ArrivalProfile.from_rates(value[key], days=days, period_days=period)
        blocks = value["blocks"]
        if not isinstance(blocks, list):
            c.add("blocks", "must be a list of { from = hour, to = hour, share = fraction } tables")
            return None
        triples = []
        for i, b in enumerate(blocks):
            if not isinstance(b, Mapping) or set(b) != {"from", "to", "share"}:
                c.add(f"blocks[{i}]", "must be a table { from = hour, to = hour, share = fraction }")
            else:
                triples.append((b["from"], b["to"], b["share"]))
        if len(c.problems) > before:
            return None
        return ArrivalProfile.from_blocks(triples, days=tuple(days), period_days=period)
    except ValidationError as err:
        for p in err.problems:  # the absolute rates are the profile's hours, written under their own key
            path = "rates_per_hour" + p.path[len("hours"):] if given[0] == "rates_per_hour" and (
                p.path == "hours" or p.path.startswith("hours[")) else p.path
            c.add(path, p.message)
        return None


def _build_class(c: Collector, t: Mapping[str, Any]) -> PatientClass | None:
    _unknown_keys(c, t, _CLASS_KEYS)
    missing = [k for k in ("name", "entry") if k not in t]
    for k in missing:
        c.add(k, "is required")
    rates = [k for k in ("rate_per_day", "rate_per_hour", "rate_per_minute") if k in t]
    absolute = isinstance(t.get("profile"), Mapping) and "rates_per_hour" in t["profile"]
    if absolute and rates:
        c.add(rates[0], f"give either {rates[0]} or profile.rates_per_hour (absolute rates, whose mean is the "
              "class's rate), not both")
    elif not rates and not absolute:
        c.add("rate_per_day", "is required (or rate_per_hour / rate_per_minute, or profile.rates_per_hour)")
    elif len(rates) > 1:
        c.add(rates[1], f"give only one of {', '.join(rates)}")
    if missing or len(rates) != (0 if absolute else 1):
        return None
    rate = None
    if rates:
        raw = t[rates[0]]
        if not is_number(raw) or raw < 0:
            c.add(rates[0], f"must be a non-negative number, got {raw!r}")
            return None
        per = {"rate_per_day": 1440.0, "rate_per_hour": 60.0, "rate_per_minute": 1.0}[rates[0]]
        rate = c.converted(rates[0], raw, float(raw) / per, rates[0].replace("rate_", "").replace("_", " "),
                           "per minute")
        if rate is None:
            return None
    profile = None
    if "profile" in t:
        profile = _parse_profile(c.child("profile"), t["profile"])
        if profile is None:
            return None
    attributes = _parse_attributes(c, t["attributes"]) if "attributes" in t else None
    if attributes is None and "attributes" in t:
        return None
    extra = {} if attributes is None else {"attributes": attributes}
    return _element(c, PatientClass, keys={"rate": rates[0] if rates else "profile.rates_per_hour"}, name=t["name"],
                    entry=t["entry"], rate=rate, profile=profile, priority=t.get("priority", 0),
                    reference=t.get("reference", ""), background=t.get("background", False), **extra)


def _parse_attributes(c: Collector, value: Any) -> dict[str, Attribute] | None:
    """``attributes = { treatment = { PCI = 0.92, ... }, age = { dist = ... }, diabetic = { bernoulli = 0.3 } }``."""
    if not isinstance(value, Mapping):
        c.add("attributes", f"must be a table of name = attribute, got {value!r}")
        return None
    before = len(c.problems)
    out: dict[str, Attribute] = {}
    for name, spec in value.items():
        path = f"attributes.{name}"
        if not isinstance(spec, Mapping) or not spec:
            c.add(path, "must be a table: { VALUE = share, ... }, { dist = ..., ... } or { bernoulli = probability }, "
                  f"got {spec!r}")
            continue
        try:
            if "bernoulli" in spec:
                for key in sorted(set(spec) - {"bernoulli"}):
                    c.add(f"{path}.{key}", "unknown key; a yes/no attribute has only 'bernoulli'")
                c.probability(f"{path}.bernoulli", spec["bernoulli"])
                if len(c.problems) == before:
                    out[name] = Bernoulli(spec["bernoulli"])
            elif "dist" in spec:
                dist = parse_distribution(spec, c, path)
                if dist is not None:
                    out[name] = Numeric(dist)
            else:
                out[name] = Categorical(spec)
        except ValidationError as err:
            c.absorb(err, path)
    return out if len(c.problems) == before else None


def _parse_steps(c: Collector, path: str, steps: Any) -> list[Step] | None:
    if not isinstance(steps, list) or not steps:
        c.add(path, "must be a non-empty list of { name = ..., dist = ..., ... } tables")
        return None
    built = []
    for i, st in enumerate(steps):
        if not isinstance(st, Mapping) or "name" not in st:
            c.add(f"{path}[{i}]", "must be a table with a name and a distribution")
            continue
        d = parse_distribution({k: v for k, v in st.items() if k not in ("name", "when")}, c,
                               f"{path}[{i}] ({st['name']})")
        step = None if d is None else _element(c.child(f"{path}[{i}]"), Step, name=str(st["name"]), duration=d,
                                               when=st.get("when"))
        if step is not None:
            built.append(step)
    return built if len(built) == len(steps) else None


def _by_class_table(c: Collector, t: Mapping[str, Any], key: str, parse: Callable[[Any, str], Any]) -> dict[str, Any]:
    value = t.get(key, {})
    if not isinstance(value, Mapping):
        c.add(key, f"must be a table of class name to value, got {value!r}")
        return {}
    parsed = {str(k): parse(v, f"{key}.{k}") for k, v in value.items()}
    return {k: v for k, v in parsed.items() if v is not None}


def _build_node(c: Collector, t: Mapping[str, Any]) -> Microsystem | None:
    _unknown_keys(c, t, _NODE_KEYS)
    if "name" not in t:
        c.add("name", "is required")
    service: Any = None
    if "service" in t and "steps" in t:
        c.add("steps", "give either service or steps, not both")
    elif "steps" in t:
        service = _parse_steps(c, "steps", t["steps"])
    elif "service" in t:
        service = parse_distribution(t["service"], c, "service")
    else:
        c.add("service", "is required (a distribution, or steps = [...])")
    by_class = _by_class_table(c, t, "service_by_class", lambda v, path: parse_distribution(v, c, path))
    step_tables = _by_class_table(c, t, "steps_by_class", lambda v, path: _parse_steps(c, path, v))
    for name in set(by_class) & set(step_tables):
        c.add(f"steps_by_class.{name}", "give either service_by_class or steps_by_class for a class, not both")
    defects = t.get("defects", {})
    if not isinstance(defects, Mapping):
        c.add("defects", f"must be a table of defect name to probability, got {defects!r}")
        defects = {}
    exit_delay = parse_distribution(t.get("exit_delay", 0.0), c, "exit_delay")
    before = len(c.problems)
    team_ready = parse_distribution(t["team_ready"], c, "team_ready") if "team_ready" in t else None
    schedule = [_parse_shift(c.child(f"schedule[{i}]"), x) for i, x in enumerate(_list(c, t, "schedule"))]
    period = check_period_days(c, "period_days", t.get("period_days", 7))
    activation = [_parse_activation(c.child(f"activation[{i}]"), x) for i, x in enumerate(_list(c, t, "activation"))]
    if "name" not in t or service is None or exit_delay is None or len(c.problems) > before:
        return None
    queue = _parse_queue(c, t)  # after the check above: its problems do not hide the microsystem's others
    return _element(c, Microsystem, **queue, name=t["name"], kind=t.get("kind", "clinical"),
                    capacity=t.get("capacity", "unlimited"), service=service, defect=t.get("defect"),
                    defects=dict(defects), reference=t.get("reference", ""),
                    service_by_class={**by_class, **step_tables}, exit_delay=exit_delay,
                    schedule=schedule, team_ready=team_ready, activated_for=t.get("activated_for"),
                    defect_per_wait_hour=t.get("defect_per_wait_hour", 0.0),
                    defect_per_occupant=t.get("defect_per_occupant", 0.0),
                    activation=activation, cost=t.get("cost"), period_days=period,
                    defect_multipliers=t.get("defect_multipliers", ()))


def _parse_when_full(c: Collector, path: str, value: Any) -> Any:
    """``"reject"`` or ``{ divert = "OtherED", delay = ... }``, as the model takes it (problems in ``c``)."""
    if not isinstance(value, Mapping):
        return value  # "reject", or a wrong value the model names
    sub = c.child(path)
    _unknown_keys(sub, value, _DIVERT_KEYS)
    if "divert" not in value:
        sub.add("divert", "is required: the microsystem the patients are sent to")
        return None
    delay = parse_distribution(value.get("delay", 0.0), c, f"{path}.delay")
    if delay is None or not isinstance(value["divert"], str):
        if delay is not None:
            sub.add("divert", f"must name a microsystem, got {value['divert']!r}")
        return None
    return _element(sub, Divert, to=value["divert"], delay=delay)


def _parse_queue(c: Collector, t: Mapping[str, Any]) -> dict[str, Any]:
    """The queue rules of a microsystem table, as keyword arguments of Microsystem (those given).

    A rule that cannot be read is recorded in ``c`` and stands in as a harmless value, so that
    the microsystem's other keys are still checked and every problem is listed at once.
    """
    out: dict[str, Any] = {k: t[k] for k in ("queue_limit", "queue_limit_by_class", "full_is_defect", "renege_to",
                                             "balk_at", "balk_probabilities") if k in t}
    if "when_full" in t:
        out["when_full"] = _parse_when_full(c, "when_full", t["when_full"]) or "reject"
    if "when_full_by_class" in t:
        out["when_full_by_class"] = _by_class_table(c, t, "when_full_by_class",
                                                    lambda v, path: _parse_when_full(c, path, v))
    if "patience" in t:
        out["patience"] = parse_distribution(t["patience"], c, "patience") or Fixed(0.0)
    if "patience_by_class" in t:
        out["patience_by_class"] = _by_class_table(c, t, "patience_by_class",
                                                   lambda v, path: parse_distribution(v, c, path))
    return out


def _list(c: Collector, t: Mapping[str, Any], key: str) -> list[Any]:
    value = t.get(key, [])
    if not isinstance(value, list):
        c.add(key, f"must be a list of tables, got {value!r}")
        return []
    return value


def _parse_shift(c: Collector, t: Any) -> Shift | None:
    """``{ days = "Mon-Fri", hours = "08:00-17:00", capacity = 2, team_ready = {...} }``."""
    if not isinstance(t, Mapping):
        c.add("", f"must be a table with days, hours and capacity and/or team_ready, got {t!r}")
        return None
    _unknown_keys(c, t, _SHIFT_KEYS)
    window = Window.parse(c, "", {k: v for k, v in t.items() if k in ("days", "hours")}, day_numbers=True)
    ready = parse_distribution(t["team_ready"], c, "team_ready") if "team_ready" in t else None
    if "capacity" not in t and "team_ready" not in t:
        c.add("", "a shift changes capacity and/or team_ready; give at least one")
    if window is None:
        return None
    return _element(c, Shift, window=window, capacity=t.get("capacity"), team_ready=ready)


def _parse_activation(c: Collector, t: Any) -> Activation | None:
    """``{ at = "ED.ecg", probability = 1.0, lag = {...} }``."""
    if not isinstance(t, Mapping) or "at" not in t:
        c.add("", f"must be a table with at = milestone (and optional probability, lag), got {t!r}")
        return None
    _unknown_keys(c, t, _ACTIVATION_KEYS)
    lag = parse_distribution(t.get("lag", 0.0), c, "lag")
    if lag is None:
        return None
    return _element(c, Activation, at=t["at"], probability=t.get("probability", 1.0), lag=lag, when=t.get("when"))


def _build_standard(c: Collector, t: Mapping[str, Any]) -> Standard | None:
    _unknown_keys(c, t, _STANDARD_KEYS)
    missing = [k for k in ("name", "from", "to", "within") if k not in t]
    for k in missing:
        c.add(k, "is required")
    if missing:
        return None
    return _element(c, Standard, name=t["name"], start=t["from"], end=t["to"], within=t["within"],
                    unit=t.get("unit", "minutes"), classes=t.get("classes"), entries=t.get("entries"),
                    reached_only=t.get("reached_only", False), reference=t.get("reference", ""),
                    cost=t.get("cost", 0.0), when=t.get("when"))


def _build_group(c: Collector, name: str, t: Any) -> Group | None:
    """``{ entry = { ems = "EMS" } }``, ``{ class = {...} }``, ``{ clock = { days, hours }, inside, outside }``
    or ``{ attribute = "age", cuts = [65, 75] }``."""
    if not isinstance(t, Mapping):
        c.add("", f"must be a table with entry, class, clock or attribute, got {t!r}")
        return None
    _unknown_keys(c, t, _GROUP_KEYS)
    kinds = [k for k in ("entry", "class", "clock", "attribute") if k in t]
    if len(kinds) != 1:
        c.add("", "give exactly one of entry, class, clock or attribute")
        return None
    by = kinds[0]
    if "cuts" in t and by != "attribute":
        c.add("cuts", "cuts split a numeric attribute's range: give attribute = NAME with them")
    if by == "attribute":
        return _element(c, Group, name=name, by="attribute", attribute=t["attribute"], cuts=t.get("cuts", ()))
    if by == "clock":
        window = Window.parse(c, "clock", t["clock"])
        if window is None:
            return None
        return _element(c, Group, name=name, by="clock", window=window, inside=t.get("inside", "on"),
                        outside=t.get("outside", "off"))
    values = t[by]
    if not isinstance(values, Mapping):
        c.add(by, f"must be a table of label -> names, got {values!r}")
        return None
    return _element(c, Group, name=name, by=by,
                    values={k: (v,) if isinstance(v, str) else v for k, v in values.items()})


def _build_frailty(c: Collector, t: Any) -> Frailty | None:
    """``[frailty] correlation = 0.05, reference = "..."``."""
    if not isinstance(t, Mapping):
        c.add("frailty", f"must be a table with correlation and reference, got {t!r}")
        return None
    fc = c.child("frailty")
    _unknown_keys(fc, t, _FRAILTY_KEYS)
    return _element(fc, Frailty, correlation=t.get("correlation", 0.0), reference=t.get("reference", ""))


def _build_link(c: Collector, t: Mapping[str, Any], make: type[Handoff] | type[ServiceRequest]) -> Any:
    _unknown_keys(c, t, _HANDOFF_KEYS if make is Handoff else _REQUEST_KEYS)
    for k in ("from", "to"):
        if k not in t:
            c.add(k, "is required")
    delay = parse_distribution(t.get("delay", 0.0), c, "delay")
    delays = _by_class_table(c, t, "delay_by_class", lambda v, path: parse_distribution(v, c, path))
    defects = t.get("defects", {})
    if not isinstance(defects, Mapping):
        c.add("defects", f"must be a table of kind to probability, got {defects!r}")
        return None
    if "from" not in t or "to" not in t or delay is None:
        return None
    extra: dict[str, Any] = {}
    if make is Handoff:
        recovery = t.get("recovery")
        if isinstance(recovery, Mapping) and "rework" in recovery:
            rework = parse_distribution(recovery["rework"], c, "recovery.rework")
            if rework is None:
                return None
            recovery = {**recovery, "rework": rework}
        extra = {"boarding": t.get("boarding", False), "preactivate": t.get("preactivate", {}),
                 "recovery": recovery, "propagation": t.get("propagation", 1.0)}
        if "when" in t:
            extra["when"] = t["when"]
        if "defect_multipliers" in t:
            extra["defect_multipliers"] = t["defect_multipliers"]
    return _element(c, make, source=t["from"], target=t["to"], probability=t.get("probability", 1.0),
                    delay=delay, defects=dict(defects), reference=t.get("reference", ""), delay_by_class=delays,
                    cost=t.get("cost"), **extra)


def _build_exit(c: Collector, t: Mapping[str, Any]) -> Exit | None:
    """``[[exits]] from = "Telemetry", name = "death", probability = {...}, delay = {...}``."""
    _unknown_keys(c, t, _EXIT_KEYS)
    for k in ("from", "name"):
        if k not in t:
            c.add(k, "is required")
    delay = parse_distribution(t.get("delay", 0.0), c, "delay")
    delays = _by_class_table(c, t, "delay_by_class", lambda v, path: parse_distribution(v, c, path))
    if "from" not in t or "name" not in t or delay is None:
        return None
    return _element(c, Exit, source=t["from"], name=t["name"], probability=t.get("probability", 1.0), delay=delay,
                    reference=t.get("reference", ""), delay_by_class=delays)


def _label(array: str, t: Any) -> str:
    if not isinstance(t, Mapping):
        return ""
    if array == "exits":
        return f" ({t.get('from', '?')}: {t.get('name', '?')})"
    if array in ("handoffs", "requests"):
        arrow = "->" if array == "handoffs" else "=>"
        return f" ({t.get('from', '?')} {arrow} {t.get('to', '?')})"
    return f" ({t['name']})" if "name" in t else ""


def build_scenario(spec: ScenarioSpec) -> Scenario:
    """Validate a :class:`ScenarioSpec` and build the :class:`~journeysim.model.scenario.Scenario`.

    Raises
    ------
    ValidationError
        With every problem found, each naming the file, line and key path.
    """
    data = spec.data
    c = Collector()
    _unknown_keys(c, data, _TOP_KEYS)
    sc = data.get("scenario", {})
    if not isinstance(sc, Mapping):
        c.add("scenario", "must be a table")
        sc = {}
    sc_c = c.child("scenario")
    _unknown_keys(sc_c, sc, _SCENARIO_KEYS)
    horizon = _time(sc_c, sc, "horizon", required=True)
    warmup = _time(sc_c, sc, "warmup", required=False) or 0.0
    if sc.get("end", "drain") not in END_MODES:  # checked here too, so that it is listed with every other problem
        sc_c.add("end", f"must be 'drain' or 'stop', got {sc['end']!r}")
    # the keys the file gave the horizon and warm-up under, for problems found by Scenario
    given = {stem: next((f"{stem}_{u}" for u in _UNITS if f"{stem}_{u}" in sc), stem) for stem in ("horizon", "warmup")}
    built: dict[str, list[tuple[int, Any]]] = {a: [] for a in _ARRAYS}
    makers: dict[str, Callable[[Collector, Mapping[str, Any]], Any]] = {
        "classes": _build_class,
        "microsystems": _build_node,
        "handoffs": lambda cc, t: _build_link(cc, t, Handoff),
        "requests": lambda cc, t: _build_link(cc, t, ServiceRequest),
        "standards": _build_standard,
        "exits": _build_exit,
    }
    for array in _ARRAYS:
        entries = data.get(array, [])
        if not isinstance(entries, list):
            c.add(array, f"must be an array of tables ([[{array}]])")
            continue
        for i, t in enumerate(entries):
            path = f"{array}[{i}]{_label(array, t)}"
            if not isinstance(t, Mapping):
                c.add(path, "must be a table")
                continue
            element = makers[array](c.child(path), t)
            if element is not None:
                built[array].append((i, element))
    milestones = data.get("milestones", {})
    if not isinstance(milestones, Mapping):
        c.add("milestones", "must be a table of name = milestone or [milestones]")
        milestones = {}
    groups_table = data.get("groups", {})
    groups = []
    if not isinstance(groups_table, Mapping):
        c.add("groups", "must be a table of [groups.NAME] tables")
    else:
        for name, t in groups_table.items():
            g = _build_group(c.child(f"groups.{name}"), str(name), t)
            if g is not None:
                groups.append(g)
    frailty = _build_frailty(c, data.get("frailty", {}))
    element_problems = bool(c.problems)
    parts = {a: [e for _, e in built[a]] for a in _ARRAYS}
    model: Model | None = None
    mc = Collector()
    if element_problems:
        Model.partial(parts["microsystems"], parts["handoffs"], parts["requests"], parts["classes"],
                      dict(milestones), parts["standards"], groups, parts["exits"]).check(mc, flow=False)
    else:
        try:
            model = Model(tuple(parts["microsystems"]), tuple(parts["handoffs"]), tuple(parts["requests"]),
                          tuple(parts["classes"]), name=str(sc.get("name", Path(spec.file).stem)),
                          milestones=dict(milestones), standards=tuple(parts["standards"]), groups=tuple(groups),
                          frailty=frailty or Frailty(), currency=str(sc.get("currency", "")),
                          exits=tuple(parts["exits"]))
        except ValidationError as err:
            mc.problems.extend(err.problems)
    # a microsystem that could not be built is reported once, not again by each reference to it
    made = {j for j, _ in built["microsystems"]}
    listed = data.get("microsystems")
    broken = {str(t["name"]) for i, t in enumerate(listed if isinstance(listed, list) else [])
              if isinstance(t, Mapping) and "name" in t and i not in made}
    echo = re.compile(r"unknown (?:clinical )?microsystem '([^']*)'")
    for p in mc.problems:
        path = p.path
        m = echo.search(p.message)
        if m and m.group(1) in broken:
            continue
        m = re.match(r"^(classes|microsystems|handoffs|requests|standards|exits)\[(\d+)\]", path)
        if m:
            array, idx = m.group(1), int(m.group(2))
            if idx < len(built[array]):
                path = f"{array}[{built[array][idx][0]}]" + path[m.end():]
        c.add(path, p.message)
    scenario: Scenario | None = None
    if not c.problems and model is not None and horizon is not None:
        try:
            scenario = Scenario(
                model, name=str(sc.get("name", Path(spec.file).stem)), horizon=horizon, warmup=warmup,
                replications=sc.get("replications", 1), seed=sc.get("seed"), source=spec.file,
                description=str(sc.get("description", "")), end=sc.get("end", "drain"),
            )
        except ValidationError as err:
            for p in err.problems:
                sc_c.add(_renamed(p.path, given), p.message)
    if c.problems or scenario is None:
        raise ValidationError(locate_problems(spec, c.problems))
    return scenario


def locate_problems(spec: ScenarioSpec, problems: Sequence[Problem]) -> list[Problem]:
    """Attach file and line to problems found by key path: the line of the offending key, else of its entry."""
    located = []
    for p in problems:
        file, line = spec.file, None
        m = _ENTRY_PATH.match(p.path)
        origin, key = None, ""
        if m:
            origin, key = spec.origins.get((m.group(1), int(m.group(2)))), m.group(3)
        else:  # the [table] (the deepest, e.g. [groups.channel]) that the path is in
            tables = [name for name, i in spec.origins if i == 0 and (p.path == name or p.path.startswith(name + "."))]
            if tables:
                table = max(tables, key=len)
                origin, key = spec.origins[(table, 0)], p.path[len(table) + 1:].split(".")[0]
        if origin is not None:
            file, line, keys = origin
            line = keys.get(key, line)
        located.append(Problem(p.path, p.message, file, line))
    return located


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file.

    Raises
    ------
    ValidationError
        Listing every problem, each with file, line (where known) and key path.

    Examples
    --------
    >>> import journeysim as js
    >>> scenario = js.load_scenario(js.examples.path("tandem"))
    >>> scenario.name, [m.name for m in scenario.model.microsystems]
    ('Three-step tandem pathway', ['Triage', 'Treatment', 'Discharge'])
    """
    return build_scenario(read_spec(path))


def loads_scenario(text: str, *, name: str = "<string>") -> Scenario:
    """Validate a scenario given as TOML text (``extends`` is not allowed here).

    Examples
    --------
    >>> import journeysim as js
    >>> scenario = js.loads_scenario('''
    ... [scenario]
    ... name = "Clinic"
    ... horizon_days = 1
    ...
    ... [[microsystems]]
    ... name = "Clinic"
    ... capacity = 2
    ... service = { dist = "exponential", mean = 15 }
    ... defect = 0.05
    ...
    ... [[classes]]
    ... name = "walk-in"
    ... entry = "Clinic"
    ... rate_per_hour = 6
    ... ''')
    >>> scenario.name, scenario.horizon
    ('Clinic', 1440.0)
    >>> js.loads_scenario('''
    ... [scenario]
    ... name = "Clinic"
    ... horizon = 1
    ... ''')
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: <string>:4: scenario.horizon: unknown key; did you mean 'horizon_days'?
    ...
    """
    data = _parse_toml(text, name)
    if "extends" in data:
        raise ValidationError([Problem("extends", "only scenario files can extend another file", name)])
    return build_scenario(ScenarioSpec(data, name, _origins(text, name, data)))
