"""Write scenario files: the subset of keys a program produces (discovery), with comments.

A document is a list of tables; each table is a header (``scenario``, or an array
name such as ``microsystems`` written as ``[[microsystems]]``) and its keys. A value
may carry a comment (:class:`Commented`), written after it on its line, so every
discovered number can say where it came from.

>>> doc = [Table("scenario", {"name": "found", "horizon_days": 30}),
...        Table("microsystems", {"name": "ED", "capacity": Commented(3, "n=120")}, array=True)]
>>> print(dumps_scenario(doc, header="made by discovery"))
# made by discovery
<BLANKLINE>
[scenario]
name = "found"
horizon_days = 30
<BLANKLINE>
[[microsystems]]
name = "ED"
capacity = 3  # n=120
<BLANKLINE>
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Commented", "Table", "dumps_scenario", "toml_value"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class Commented:
    """A value with a comment written after it (on the line of its key)."""

    value: Any
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Table:
    """One ``[name]`` table, or one ``[[name]]`` entry of an array of tables when ``array``."""

    name: str
    keys: Mapping[str, Any]
    array: bool = False
    comments: Sequence[str] = field(default=())


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _string(name)


def _string(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(ch if ch >= " " or ch == "\t" else f"\\u{ord(ch):04x}" for ch in out)
    return f'"{out}"'


def _number(x: float, exact: bool = False) -> str:
    if not math.isfinite(x):
        raise ValueError(f"a scenario file cannot hold {x!r}")
    text = repr(x if exact else float(f"{x:.6g}"))
    return text[:-2] if text.endswith(".0") and abs(x) < 1e15 else text


def toml_value(value: Any, *, exact: bool = False) -> str:
    """A value as TOML text: strings, booleans, numbers, lists and inline tables.

    Numbers are written to 6 significant digits, or, when ``exact``, with all the
    digits that read back to the same number.

    >>> toml_value({"dist": "lognormal", "median": 182.4, "log_sd": 0.81})
    '{ dist = "lognormal", median = 182.4, log_sd = 0.81 }'
    >>> toml_value(["a b", 2, 0.5])
    '["a b", 2, 0.5]'
    >>> toml_value(0.1234567), toml_value(0.1234567, exact=True), toml_value(1234567.0, exact=True)
    ('0.123457', '0.1234567', '1234567')
    """
    if isinstance(value, Commented):
        return toml_value(value.value, exact=exact)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value, exact)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(str(k))} = {toml_value(v, exact=exact)}" for k, v in value.items())
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v, exact=exact) for v in value) + "]"
    if hasattr(value, "item"):  # a numpy scalar
        return toml_value(value.item(), exact=exact)
    raise TypeError(f"cannot write {type(value).__name__} to a scenario file")


def _comment(text: str) -> str:
    return " ".join(text.split())


def dumps_scenario(tables: Sequence[Table], *, header: str = "", exact: bool = False) -> str:
    """The TOML text of ``tables``, each value's comment after it, ``header`` as leading comment lines.

    Numbers are written to 6 significant digits, or in full when ``exact`` (:func:`toml_value`).
    """
    lines = [f"# {_comment(h)}" if h.strip() else "#" for h in header.splitlines()]
    if lines:
        lines.append("")
    for t in tables:
        lines.extend(f"# {_comment(c)}" for c in t.comments)
        lines.append(f"[[{_key(t.name)}]]" if t.array else f"[{_key(t.name)}]")
        for k, v in t.keys.items():
            line = f"{_key(k)} = {toml_value(v, exact=exact)}"
            if isinstance(v, Commented) and v.comment:
                line += f"  # {_comment(v.comment)}"
            lines.append(line)
        lines.append("")
    return "\n".join(lines)
