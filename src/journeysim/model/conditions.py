"""Conditions on a patient's state, as written in ``when = "..."``.

A condition is a small expression, read by the tokenizer and recursive-descent
parser of this module (never by ``eval``): it can only compare names with
literals, combine comparisons, and ask whether a team was activated.

Grammar (lowest precedence first)::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := operand [ ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
                          | ["not"] "in" list ]
    operand    := NAME | NUMBER | STRING | "true" | "false"
                | "activated" "(" STRING ")" | "(" or ")"
    list       := "[" [ literal ("," literal)* [","] ] "]"

Names are a patient's attributes (:mod:`journeysim.model.attributes`) and two
built-in names of the clock at the moment the condition is judged: ``hour``, the
hour of the day as a number (``8.5`` is 08:30; ``0 <= hour < 24``), and ``weekday``,
the day of the week (``"Mon"`` ... ``"Sun"``; simulated time 0 is a Monday).
``activated("CathLab")`` holds when the team of ``CathLab`` was called for this
journey at or before that moment and the patient has not reached ``CathLab``
since. A comparison has a name on one side and a literal on the other
(``age >= 75`` or ``75 <= age``); a yes/no attribute can stand alone
(``diabetic``). Comparisons do not chain (``8 <= hour < 17`` is an error: write
``hour >= 8 and hour < 17``). Strings are in double or single quotes, without
escapes.

What is checked, against the names the model declares (:meth:`Condition.check`):
unknown names, unknown category values (``treatment == "PTCA"``), type mismatches
(``age == "PCI"``, ``treatment > 3``), and the microsystem of ``activated``.

A condition compiles (:meth:`Condition.compile`) into a closure
``holds(attrs, ready, t) -> bool`` over the patient's attribute vector, its
activations ``{node index: (called, ready)}`` and the time.

Examples
--------
>>> c = Condition.parse('treatment == "PCI" and not (age >= 75 or diabetic)')
>>> c.names()
('age', 'diabetic', 'treatment')
>>> Condition.parse("age >= ").text
Traceback (most recent call last):
...
journeysim.model.conditions.ConditionError: column 8: expected a name, a number, a string, true, false, \
activated(...) or '(', got the end of the condition
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from .clock import DAY_NAMES

__all__ = ["Condition", "ConditionError", "NameType", "Slot", "Holds", "MAX_LENGTH", "MAX_DEPTH", "BUILTIN_NAMES",
           "Or", "And", "Not", "Compare", "Member", "Flag", "Activated", "Const", "Node"]

#: The longest condition accepted, in characters.
MAX_LENGTH = 2000
#: The deepest nesting of parentheses and ``not`` accepted.
MAX_DEPTH = 32
#: Names every condition may use: the clock at the moment it is judged.
BUILTIN_NAMES = ("hour", "weekday")

_KEYWORDS = ("and", "or", "not", "in", "true", "false")
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"[^"\\\n]*"|'[^'\\\n]*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\[\],])
""", re.VERBOSE)
_OPS: Mapping[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_HINTS = {"=": "use '==' to compare", "&": "use 'and'", "|": "use 'or'", "!": "use 'not' or '!='",
          ".": "attributes have no fields, and numbers need a digit before '.'",
          "\\": "strings have no escapes"}


class ConditionError(ValueError):
    """A condition that cannot be read: the message names the column (1 is the first character)."""

    def __init__(self, column: int, message: str) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column
        self.message = message


# -- the tree ------------------------------------------------------------------------------------------
Literal_: TypeAlias = "str | float | bool"


@dataclass(frozen=True, slots=True)
class Or:
    """Any of ``items`` holds."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class And:
    """Every one of ``items`` holds."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """``item`` does not hold."""

    item: Node


@dataclass(frozen=True, slots=True)
class Compare:
    """``name op value`` (a literal on the left is moved to the right, the operator flipped)."""

    name: str
    op: str
    value: Literal_
    column: int


@dataclass(frozen=True, slots=True)
class Member:
    """``name in [values]`` (``negated``: ``not in``)."""

    name: str
    values: tuple[Literal_, ...]
    negated: bool
    column: int


@dataclass(frozen=True, slots=True)
class Flag:
    """A yes/no attribute standing alone."""

    name: str
    column: int


@dataclass(frozen=True, slots=True)
class Activated:
    """``activated("node")``."""

    node: str
    column: int


@dataclass(frozen=True, slots=True)
class Const:
    """``true`` or ``false``."""

    value: bool
    column: int


Node: TypeAlias = "Or | And | Not | Compare | Member | Flag | Activated | Const"


# -- reading -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["number", "string", "name", "op", "punct", "end"]
    text: str
    column: int

    def describe(self) -> str:
        return "the end of the condition" if self.kind == "end" else repr(self.text)


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch in "\"'":
                raise ConditionError(pos + 1, "a string is not closed (or holds a backslash or a line break)")
            hint = _HINTS.get(ch, "")
            raise ConditionError(pos + 1, f"unexpected character {ch!r}" + (f": {hint}" if hint else ""))
        kind = m.lastgroup
        if kind != "space":
            out.append(_Token(kind, m.group(), pos + 1))  # type: ignore[arg-type]  # the groups are the kinds
        pos = m.end()
    out.append(_Token("end", "", len(text) + 1))
    return out


class _Parser:
    """Recursive descent over the tokens; each method reads one rule of the grammar."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0

    @property
    def at(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        return self.at.kind == "name" and self.at.text == word

    def expect(self, text: str) -> _Token:
        if self.at.text != text or self.at.kind in ("string", "end"):
            raise ConditionError(self.at.column, f"expected {text!r}, got {self.at.describe()}")
        return self.take()

    def nested(self, column: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(column, f"nested more than {MAX_DEPTH} levels deep")

    def condition(self) -> Node:
        node = self.or_()
        if self.at.kind != "end":
            raise ConditionError(self.at.column, f"expected 'and', 'or' or the end, got {self.at.describe()}")
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.is_word("or"):
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while self.is_word("and"):
            self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_(self) -> Node:
        if self.is_word("not"):
            tok = self.take()
            self.nested(tok.column)
            node = Not(self.not_())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        tok = self.at
        if tok.kind == "op":
            self.take()
            right = self.operand()
            if self.at.kind == "op":
                raise ConditionError(self.at.column, "comparisons do not chain: write 'x >= a and x < b'")
            return self.compare(left, tok, right)
        negated = False
        if self.is_word("not") and self.tokens[self.i + 1].kind == "name" and self.tokens[self.i + 1].text == "in":
            self.take()
            negated = True
        if self.is_word("in"):
            self.take()
            values = self.list_()
            name = self.name_of(left, tok)
            return Member(name, values, negated, _column(left))
        if isinstance(left, tuple):
            if left[0] == "name":
                return Flag(str(left[1]), left[2])
            if isinstance(left[1], bool):
                return Const(left[1], left[2])
            shown = f"{left[1]:g}" if isinstance(left[1], float) else repr(left[1])
            raise ConditionError(left[2], f"{shown} alone is not a condition; compare it with a name")
        return left

    def compare(self, left: _Operand, op: _Token, right: _Operand) -> Node:
        if isinstance(left, tuple) and left[0] == "name" and isinstance(right, tuple) and right[0] == "literal":
            return Compare(str(left[1]), op.text, right[1], left[2])
        if isinstance(left, tuple) and left[0] == "literal" and isinstance(right, tuple) and right[0] == "name":
            return Compare(str(right[1]), _FLIP[op.text], left[1], right[2])
        raise ConditionError(op.column, f"{op.text!r} compares a name with a number, a string, true or false")

    def name_of(self, operand: _Operand, at: _Token) -> str:
        if isinstance(operand, tuple) and operand[0] == "name":
            return str(operand[1])
        raise ConditionError(at.column, "'in' needs a name on its left, e.g. treatment in [\"PCI\", \"CABG\"]")

    def operand(self) -> _Operand:
        tok = self.take()
        if tok.kind == "number":
            value = float(tok.text)
            if not math.isfinite(value):
                raise ConditionError(tok.column, f"{tok.text} is not a finite number")
            return ("literal", value, tok.column)
        if tok.kind == "string":
            return ("literal", tok.text[1:-1], tok.column)
        if tok.kind == "name":
            return self.word(tok)
        if tok.text == "(":
            self.nested(tok.column)
            node = self.or_()
            self.expect(")")
            self.depth -= 1
            return node
        raise ConditionError(tok.column, "expected a name, a number, a string, true, false, activated(...) or '(', "
                             f"got {tok.describe()}")

    def word(self, tok: _Token) -> _Operand:
        if tok.text in ("true", "false"):
            return ("literal", tok.text == "true", tok.column)
        if tok.text in _KEYWORDS:
            raise ConditionError(tok.column, f"expected a name or a value, got the keyword {tok.text!r}")
        if tok.text.startswith("_"):
            raise ConditionError(tok.column, f"{tok.text!r}: names may not start with '_'")
        if self.at.text == "(" and self.at.kind == "punct":
            if tok.text != "activated":
                raise ConditionError(tok.column, f"{tok.text!r} cannot be called: the only function is "
                                     "activated(\"MICROSYSTEM\")")
            self.take()
            arg = self.take()
            if arg.kind != "string":
                raise ConditionError(arg.column, "activated(...) takes a microsystem's name in quotes, "
                                     f"got {arg.describe()}")
            self.expect(")")
            return Activated(arg.text[1:-1], tok.column)
        if tok.text == "activated":
            raise ConditionError(tok.column, "activated needs a microsystem: activated(\"CathLab\")")
        return ("name", tok.text, tok.column)

    def list_(self) -> tuple[Literal_, ...]:
        self.expect("[")
        values: list[Literal_] = []
        while not (self.at.kind == "punct" and self.at.text == "]"):
            item = self.operand()
            if not (isinstance(item, tuple) and item[0] == "literal"):
                raise ConditionError(_column(item), "a list holds numbers, strings, true or false only")
            values.append(item[1])
            if self.at.text == ",":
                self.take()
            elif self.at.text != "]":
                raise ConditionError(self.at.column, f"expected ',' or ']', got {self.at.describe()}")
        end = self.take()
        if not values:
            raise ConditionError(end.column, "the list is empty")
        return tuple(values)


#: what :meth:`_Parser.operand` reads: a sub-condition, or ``("name" | "literal", value, column)``
_Operand: TypeAlias = "Node | tuple[str, Literal_, int]"


def _column(x: object) -> int:
    if isinstance(x, tuple):
        return int(x[2])
    return int(getattr(x, "column", 1))


def _walk(node: Node) -> Iterator[Node]:
    stack: list[Node] = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, Or | And):
            stack.extend(reversed(n.items))
        elif isinstance(n, Not):
            stack.append(n.item)


# -- types, and compiling ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NameType:
    """What a name holds: ``category`` (with its values), ``number`` or ``bool``."""

    kind: Literal["category", "number", "bool"]
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Slot:
    """Where an attribute sits in a patient's attribute vector, and the codes of its values."""

    index: int
    kind: Literal["category", "number", "bool"]
    codes: Mapping[str, int]


#: ``holds(attrs, ready, t)``: the attribute vector, activations ``{node: (called, ready)}`` (or None), the time
Holds = Callable[[Sequence[float], "Mapping[int, tuple[float, float]] | None", float], bool]

_CLOCK: Mapping[str, NameType] = {"hour": NameType("number"), "weekday": NameType("category", DAY_NAMES)}


def _kind_of(value: Literal_) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, str):
        return "a string"
    return "a number"


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed ``when`` condition (see the module docstring for the grammar).

    Examples
    --------
    >>> c = Condition.parse("hour >= 8 and hour < 17 and weekday in ['Mon', 'Tue']")
    >>> holds = c.compile({}, {})
    >>> holds((), None, 9 * 60.0), holds((), None, 2 * 1440 + 9 * 60.0)   # Monday 09:00, Wednesday 09:00
    (True, False)
    """

    text: str
    tree: Node

    @classmethod
    def parse(cls, text: object) -> Condition:
        """Read ``text``; raise :class:`ConditionError` (naming the column) when it is not a condition."""
        if isinstance(text, Condition):
            return text
        if not isinstance(text, str):
            raise ConditionError(1, f"a condition must be a string, got {text!r}")
        if len(text) > MAX_LENGTH:
            raise ConditionError(MAX_LENGTH + 1, f"a condition may have at most {MAX_LENGTH} characters, "
                                 f"got {len(text)}")
        if not text.strip():
            raise ConditionError(1, "the condition is empty")
        return cls(text, _Parser(text).condition())

    def __str__(self) -> str:
        return self.text

    def names(self) -> tuple[str, ...]:
        """The names it reads (attributes and clock names), sorted."""
        return tuple(sorted({n.name for n in _walk(self.tree) if isinstance(n, Compare | Member | Flag)}))

    def activations(self) -> tuple[str, ...]:
        """The microsystems of its ``activated(...)``, sorted."""
        return tuple(sorted({n.node for n in _walk(self.tree) if isinstance(n, Activated)}))

    @property
    def uses_clock(self) -> bool:
        """Whether it reads ``hour`` or ``weekday``."""
        return any(n in _CLOCK for n in self.names())

    def thresholds(self, name: str) -> tuple[float, ...]:
        """The numbers ``name`` is compared with, sorted (they cut its range into the pieces that matter)."""
        out: set[float] = set()
        for n in _walk(self.tree):
            if isinstance(n, Compare) and n.name == name and isinstance(n.value, float):
                out.add(n.value)
            elif isinstance(n, Member) and n.name == name:
                out.update(v for v in n.values if isinstance(v, float))
        return tuple(sorted(out))

    def check(self, names: Mapping[str, NameType], microsystems: Sequence[str]) -> list[str]:
        """What is wrong with it against the declared ``names`` (the clock's are added) and ``microsystems``."""
        known = {**_CLOCK, **names}
        problems: list[str] = []
        for n in _walk(self.tree):
            if isinstance(n, Activated):
                if n.node not in microsystems:
                    problems.append(f"column {n.column}: activated({n.node!r}): unknown microsystem"
                                    f"{_hint(n.node, microsystems)}")
                continue
            if not isinstance(n, Compare | Member | Flag):
                continue
            t = known.get(n.name)
            if t is None:
                problems.append(f"column {n.column}: unknown name {n.name!r}{_hint(n.name, known)}; "
                                f"known: {', '.join(sorted(known))}")
                continue
            problems.extend(f"column {n.column}: {p}" for p in _type_problems(n, t))
        return problems

    def compile(self, slots: Mapping[str, Slot], nodes: Mapping[str, int]) -> Holds:
        """The closure ``holds(attrs, ready, t)``; names and microsystems must have been checked."""
        return _compile(self.tree, slots, nodes)


def _hint(name: str, known: object) -> str:
    import difflib

    match = difflib.get_close_matches(name, [str(k) for k in known], n=1)  # type: ignore[attr-defined]
    return f" (did you mean {match[0]!r}?)" if match else ""


def _type_problems(n: Compare | Member | Flag, t: NameType) -> list[str]:
    if isinstance(n, Flag):
        return [] if t.kind == "bool" else [f"{n.name!r} is not a yes/no attribute; compare it with a value"]
    values = (n.value,) if isinstance(n, Compare) else n.values
    out = []
    for v in values:
        if t.kind == "category":
            if not isinstance(v, str):
                out.append(f"{n.name!r} holds one of {', '.join(map(repr, t.values))}; it cannot be compared with "
                           f"{_kind_of(v)} ({v!r})")
            elif v not in t.values:
                out.append(f"{v!r} is not a value of {n.name!r}{_hint(v, t.values)}; "
                           f"its values: {', '.join(map(repr, t.values))}")
        elif t.kind == "number" and (isinstance(v, bool) or not isinstance(v, float)):
            out.append(f"{n.name!r} is a number; it cannot be compared with {_kind_of(v)} ({v!r})")
        elif t.kind == "bool" and not isinstance(v, bool):
            out.append(f"{n.name!r} is true or false; it cannot be compared with {_kind_of(v)} ({v!r})")
    if isinstance(n, Compare) and t.kind in ("category", "bool") and n.op not in ("==", "!="):
        out.append(f"{n.name!r} can only be compared with '==' or '!=' (or 'in'), not {n.op!r}")
    return out


def _value_of(name: str, slots: Mapping[str, Slot]) -> Callable[[Sequence[float], float], float]:
    """The value of ``name`` as a number: an attribute's (a category's code, a flag's 0/1), or the clock's."""
    if name == "hour":
        return lambda attrs, t: (t % 1440.0) / 60.0
    if name == "weekday":
        return lambda attrs, t: float(int(t // 1440.0) % 7)
    i = slots[name].index
    return lambda attrs, t: attrs[i]


def _coded(name: str, value: Literal_, slots: Mapping[str, Slot]) -> float:
    if name == "weekday":
        return float(DAY_NAMES.index(str(value)))
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        return float(slots[name].codes[value])
    return float(value)


def _compile(node: Node, slots: Mapping[str, Slot], nodes: Mapping[str, int]) -> Holds:
    if isinstance(node, Or | And):
        parts = tuple(_compile(x, slots, nodes) for x in node.items)
        if isinstance(node, Or):
            return lambda a, r, t: any(f(a, r, t) for f in parts)
        return lambda a, r, t: all(f(a, r, t) for f in parts)
    if isinstance(node, Not):
        inner = _compile(node.item, slots, nodes)
        return lambda a, r, t: not inner(a, r, t)
    if isinstance(node, Const):
        const = node.value
        return lambda a, r, t: const
    if isinstance(node, Activated):
        i = nodes[node.node]

        def activated(a: Sequence[float], r: Mapping[int, tuple[float, float]] | None, t: float) -> bool:
            call = None if r is None else r.get(i)
            return call is not None and call[0] <= t

        return activated
    get = _value_of(node.name, slots)
    if isinstance(node, Flag):
        return lambda a, r, t: get(a, t) == 1.0
    if isinstance(node, Member):
        members = frozenset(_coded(node.name, v, slots) for v in node.values)
        if node.negated:
            return lambda a, r, t: get(a, t) not in members
        return lambda a, r, t: get(a, t) in members
    op, value = _OPS[node.op], _coded(node.name, node.value, slots)
    return lambda a, r, t: op(get(a, t), value)
