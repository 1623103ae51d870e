"""The condition grammar: precedence, evaluation, errors with their column, and hostile text."""

from __future__ import annotations

import itertools

import pytest

from journeysim.model.conditions import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Compare,
    Condition,
    ConditionError,
    Flag,
    Member,
    NameType,
    Not,
    Or,
    Slot,
)

SLOTS = {"a": Slot(0, "bool", {}), "b": Slot(1, "bool", {}), "c": Slot(2, "bool", {}),
         "age": Slot(3, "number", {}), "treatment": Slot(4, "category", {"PCI": 0, "CABG": 1, "medical": 2})}
TYPES = {"a": NameType("bool"), "b": NameType("bool"), "c": NameType("bool"), "age": NameType("number"),
         "treatment": NameType("category", ("PCI", "CABG", "medical"))}


def holds(text: str, a=0.0, b=0.0, c=0.0, age=50.0, treatment="PCI", t=0.0, ready=None) -> bool:
    cond = Condition.parse(text)
    assert cond.check(TYPES, ["CathLab", "ED"]) == []
    f = cond.compile(SLOTS, {"CathLab": 0, "ED": 1})
    return f((a, b, c, age, float(SLOTS["treatment"].codes[treatment])), ready, t)


def test_and_binds_tighter_than_or_and_not_tighter_than_and():
    """``a or b and c`` is ``a or (b and c)``; ``not a and b`` is ``(not a) and b``."""
    assert Condition.parse("a or b and c").tree == Or((Flag("a", 1), And((Flag("b", 6), Flag("c", 12)))))
    assert Condition.parse("not a and b").tree == And((Not(Flag("a", 5)), Flag("b", 11)))
    assert Condition.parse("(a or b) and c").tree == And((Or((Flag("a", 2), Flag("b", 7))), Flag("c", 14)))


@pytest.mark.parametrize("a,b,c", list(itertools.product([0.0, 1.0], repeat=3)))
def test_evaluation_follows_boolean_logic(a, b, c):
    """Every combination of three flags gives what Python's own operators give."""
    A, B, C = a == 1.0, b == 1.0, c == 1.0
    assert holds("a or b and c", a, b, c) == (A or (B and C))
    assert holds("not a and b", a, b, c) == ((not A) and B)
    assert holds("not (a or b) or c", a, b, c) == ((not (A or B)) or C)
    assert holds("a == true and b != true", a, b, c) == (A and not B)


@pytest.mark.parametrize("text,age,expected", [
    ("age >= 75", 75.0, True), ("age >= 75", 74.9, False), ("age > 75", 75.0, False), ("75 <= age", 75.0, True),
    ("75 > age", 74.0, True), ("age == 75", 75.0, True), ("age != 75", 75.0, False), ("age < 1e2", 99.0, True),
    ("age in [50, 60]", 60.0, True), ("age not in [50, 60]", 60.0, False), ("age <= .5", 0.5, True),
])
def test_numeric_comparisons(text, age, expected):
    """Numbers compare as written; a literal on the left flips the operator."""
    assert holds(text, age=age) is expected


def test_categories_and_membership():
    """A category compares with its values by ``==``, ``!=``, ``in`` and ``not in``."""
    assert holds('treatment == "CABG"', treatment="CABG")
    assert not holds("treatment == 'CABG'", treatment="PCI")
    assert holds('treatment in ["CABG", "medical"]', treatment="medical")
    assert holds('treatment not in ["CABG", "medical"]', treatment="PCI")
    assert Condition.parse('treatment in ["PCI"]').tree == Member("treatment", ("PCI",), False, 1)


def test_clock_names_read_the_time():
    """``hour`` is the hour of the day (fractions included) and ``weekday`` the day, Monday at time 0."""
    text = 'hour >= 8 and hour < 17.5 and weekday in ["Mon", "Fri"]'
    monday_0800, monday_1730 = 8 * 60.0, 17.5 * 60.0
    friday_1000, tuesday_1000, next_monday_0900 = 4 * 1440 + 600.0, 1440 + 600.0, 7 * 1440 + 540.0
    assert holds(text, t=monday_0800) and not holds(text, t=monday_1730)
    assert holds(text, t=friday_1000) and not holds(text, t=tuesday_1000) and holds(text, t=next_monday_0900)


def test_activated_needs_a_call_at_or_before_the_moment():
    """``activated("CathLab")`` holds once the call's time has come, not before and not for another team."""
    assert holds('activated("CathLab")', ready={0: (5.0, 20.0)}, t=5.0)
    assert not holds('activated("CathLab")', ready={0: (5.0, 20.0)}, t=4.0)
    assert not holds('activated("CathLab")', ready={1: (0.0, 1.0)}, t=4.0)
    assert not holds('activated("CathLab")', ready=None, t=4.0)


@pytest.mark.parametrize("text,column,message", [
    ("age >= ", 8, "expected a name, a number"),
    ("age = 3", 5, "use '=='"),
    ("age >= 3 &&", 10, "use 'and'"),
    ("a || b", 3, "use 'or'"),
    ("x.y == 1", 2, "unexpected character '.'"),
    ("a < b < c", 7, "do not chain"),
    ("(a and b", 9, "expected ')'"),
    ("a b", 3, "expected 'and', 'or' or the end"),
    ("'open", 1, "not closed"),
    ('"a\\"b"', 1, "not closed"),
    ("age in [1, ", 12, "expected a name, a number"),
    ("age in []", 9, "the list is empty"),
    ("age in [x]", 9, "a list holds numbers"),
    ("3", 1, "alone is not a condition"),
    ("", 1, "empty"),
    ("   ", 1, "empty"),
    ("and", 1, "keyword 'and'"),
    ("age >= 1e999", 8, "not a finite number"),
    ("activated(CathLab)", 11, "in quotes"),
    ("activated", 1, "activated needs a microsystem"),
])
def test_syntax_errors_name_the_column(text, column, message):
    """Every syntax error says where (1 is the first character) and what."""
    with pytest.raises(ConditionError) as err:
        Condition.parse(text)
    assert err.value.column == column, str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize("text", [
    "__import__('os')",
    "__import__('os').system('rm -rf /')",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "a.__class__",
    "1 if x else 2",
    "lambda: 1",
    "lambda x: x",
    "[x for x in y]",
    "open('/etc/passwd')",
    "eval('1')",
    "exec('1')",
    "getattr(a, 'b')",
    "a[0]",
    "{'a': 1}",
    "a + 1 > 2",
    "-age > 2",
    "f'{a}'",
    "a; b",
    "a\nb",
    "_hidden",
    "globals()",
])
def test_hostile_text_is_a_syntax_error_and_never_run(text):
    """No attribute access, no calls but activated, no dunder names, no Python expressions: just an error."""
    with pytest.raises(ConditionError):
        Condition.parse(text)


def test_very_long_and_deeply_nested_text_is_refused_quickly():
    """Text over the length limit, and nesting over the depth limit, are errors (no recursion blow-up)."""
    with pytest.raises(ConditionError, match="at most"):
        Condition.parse("a or " * (MAX_LENGTH // 5) + "a")
    with pytest.raises(ConditionError, match="nested more than"):
        Condition.parse("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(ConditionError, match="nested more than"):
        Condition.parse("not " * (MAX_DEPTH + 1) + "a")
    long_ok = " and ".join(["a"] * 300)
    assert len(Condition.parse(long_ok).names()) == 1


@pytest.mark.parametrize("text,message", [
    ("agee >= 3", "unknown name 'agee' (did you mean 'age'?)"),
    ('treatment == "PTCA"', "'PTCA' is not a value of 'treatment'"),
    ('age == "PCI"', "'age' is a number; it cannot be compared with a string"),
    ("treatment > 3", "cannot be compared with a number"),
    ('treatment > "PCI"', "only be compared with '==' or '!='"),
    ("a == 3", "'a' is true or false"),
    ("age", "'age' is not a yes/no attribute"),
    ('weekday == "Monday"', "'Monday' is not a value of 'weekday'"),
    ("hour == true", "'hour' is a number"),
    ('activated("Cath")', "activated('Cath'): unknown microsystem"),
])
def test_checks_against_the_declared_names(text, message):
    """Unknown names, unknown values, type mismatches and unknown microsystems are problems with their column."""
    problems = Condition.parse(text).check(TYPES, ["CathLab", "ED"])
    assert any(message in p for p in problems), problems
    assert all(p.startswith("column ") for p in problems)


def test_compare_moves_the_literal_to_the_right():
    """``75 <= age`` reads as ``age >= 75``."""
    assert Condition.parse("75 <= age").tree == Compare("age", ">=", 75.0, 7)
