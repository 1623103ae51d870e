"""The simpy behaviour the engine relies on beyond simpy's documented interface (journeysim/engine/events.py).

Each test pins one fact listed in the docstring of :mod:`journeysim.engine.events`. If a
simpy upgrade changes one of them, the test fails here, by name, rather than the engine
giving different numbers. The last tests check that no other module of the package
relies on simpy's internals.
"""

from __future__ import annotations

import ast
import random
import re
from pathlib import Path

import pytest
import simpy
import simpy.events

from journeysim.engine.events import NORMAL, OwnEvent, environment

SRC = Path(__file__).parent.parent / "src" / "journeysim"
EVENTS = SRC / "engine" / "events.py"


class Mark(OwnEvent):
    """A test event that notes when it ran."""

    __slots__ = ("name",)

    def __init__(self, name: str = "") -> None:
        self.name = name


def test_normal_is_simpys_priority_of_ordinary_events():
    """The engine's NORMAL is simpy's, an int, and an URGENT event comes before it at equal times."""
    assert NORMAL == simpy.events.NORMAL == 1
    assert isinstance(NORMAL, int)
    assert simpy.events.URGENT < NORMAL


def test_environment_schedule_takes_any_object_as_the_event():
    """Fact 1: ``schedule(event, priority, delay)`` accepts an object that is not a simpy Event, and ``run``
    processes it at ``now + delay``."""
    env, schedule = environment()
    assert isinstance(env, simpy.Environment)
    seen = []
    ev = Mark()
    ev.callbacks = (lambda e: seen.append((e, env.now)),)
    schedule(ev, NORMAL, 2.5)
    assert env.run() is None
    assert seen == [(ev, 2.5)]


def test_the_bound_schedule_pushes_the_entry_simpys_schedule_pushes():
    """Fact 1: the ``schedule`` of :func:`environment` binds the environment's own heap and counter, so
    it pushes ``(now + delay, priority, eid, event)`` exactly as ``Environment.schedule`` does, and the
    two may be mixed (one counter, one heap)."""
    env, schedule = environment()
    a, b, c = Mark("a"), Mark("b"), Mark("c")
    env._now = 1.25
    schedule(a, NORMAL, 2.5)
    env.schedule(b, NORMAL, 2.5)  # type: ignore[arg-type]
    schedule(c, simpy.events.URGENT, 0.5)
    mine = simpy.Environment(initial_time=1.25)
    mine.schedule(a, NORMAL, 2.5)  # type: ignore[arg-type]
    mine.schedule(b, NORMAL, 2.5)  # type: ignore[arg-type]
    mine.schedule(c, simpy.events.URGENT, 0.5)  # type: ignore[arg-type]
    assert env._queue == mine._queue
    assert sorted(env._queue) == [(1.75, simpy.events.URGENT, 2, c), (3.75, NORMAL, 0, a), (3.75, NORMAL, 1, b)]


def test_the_event_time_is_now_plus_delay_as_python_adds_them():
    """Fact 1: the clock at an event equals ``t + d`` computed in Python, bit for bit (the engine stores
    ``t + d`` as the time of a transfer's arrival or a bed's release instead of reading the clock)."""
    rng = random.Random(1)
    env, schedule = environment()
    expected = []
    got = []

    def again(ev: Mark) -> None:
        got.append(env.now)
        if len(got) < 200:
            d = rng.expovariate(1 / 7.3)
            expected.append(env.now + d)
            ev.callbacks = (again,)
            schedule(ev, NORMAL, d)

    first = Mark()
    first.callbacks = (again,)
    d0 = rng.expovariate(1 / 7.3)
    expected.append(0.0 + d0)
    schedule(first, NORMAL, d0)
    env.run()
    assert got == expected


def test_step_clears_the_callbacks_before_calling_them_once_each():
    """Fact 2: ``step`` sets the event's callbacks to None, then calls each once with the event."""
    env, schedule = environment()
    calls = []
    ev = Mark()

    def first(e: Mark) -> None:
        calls.append(("first", e.callbacks))

    def second(e: Mark) -> None:
        calls.append(("second", e.callbacks))

    ev.callbacks = (first, second)
    schedule(ev, NORMAL, 1.0)
    env.run()
    assert calls == [("first", None), ("second", None)]
    assert ev.callbacks is None


def test_an_event_scheduled_again_in_its_own_callback_runs_again_later():
    """Fact 2: once its callbacks run, the same object may be given callbacks and scheduled again, and
    the new callbacks run at the new time only."""
    env, schedule = environment()
    runs = []
    ev = Mark()

    def later(e: Mark) -> None:
        runs.append(("later", env.now))

    def sooner(e: Mark) -> None:
        runs.append(("sooner", env.now))
        e.callbacks = (later,)
        schedule(e, NORMAL, 3.0)

    ev.callbacks = (sooner,)
    schedule(ev, NORMAL, 1.0)
    env.run()
    assert runs == [("sooner", 1.0), ("later", 4.0)]


def test_ok_and_value_are_read_from_the_class_after_the_callbacks():
    """Fact 3: an OwnEvent sets no ``_ok`` or ``_value`` of its own; simpy reads the class's ``_ok = True``
    and raises nothing."""
    ev = Mark()
    with pytest.raises(AttributeError):
        ev._ok = False  # with __slots__, no instance may set it
    assert Mark._ok is True and Mark._value is None
    env, schedule = environment()
    ev.callbacks = ()
    schedule(ev, NORMAL, 0.0)
    env.run()


def test_simpy_does_read_ok_after_the_callbacks():
    """Fact 3: simpy reads ``_ok`` (and then ``_value``) of a processed event: a failed one crashes the run,
    so the names the engine sets are the names simpy reads."""

    class Failed(OwnEvent):
        __slots__ = ()
        _ok = False
        _value = ValueError("the event failed")

    env, schedule = environment()
    ev = Failed()
    ev.callbacks = ()
    schedule(ev, NORMAL, 1.0)
    with pytest.raises(ValueError, match="the event failed"):
        env.run()


def test_equal_times_run_by_priority_then_in_scheduling_order():
    """Fact 4: events at the same time run by priority, then first scheduled, first run; the events
    themselves are never compared (an OwnEvent has no ordering)."""
    env, schedule = environment()
    order = []
    events = [Mark(name) for name in "abcde"]
    for ev in events:
        ev.callbacks = (lambda e: order.append(e.name),)
    for ev in events[:3]:
        schedule(ev, NORMAL, 5.0)
    schedule(events[3], simpy.events.URGENT, 5.0)
    schedule(events[4], NORMAL, 4.0)
    env.run()
    assert order == ["e", "d", "a", "b", "c"]


def test_run_without_until_runs_until_no_event_is_left():
    """``env.run()`` returns when the schedule is empty, at the time of the last event."""
    env, schedule = environment()
    ev = Mark()
    ev.callbacks = ()
    schedule(ev, NORMAL, 12.0)
    env.run()
    assert env.now == 12.0
    assert env.peek() == float("inf")


def _python_sources() -> dict[Path, str]:
    return {path: path.read_text() for path in SRC.rglob("*.py")}


def test_only_engine_events_imports_simpy():
    """Every other module of the package reaches simpy through journeysim.engine.events."""
    users = set()
    for path, text in _python_sources().items():
        for node in ast.walk(ast.parse(text)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if any(n.split(".")[0] == "simpy" for n in names):
                users.add(path)
    assert users == {EVENTS}


def test_only_engine_events_touches_simpy_internals():
    """No other module names an event's ``_ok`` or ``_value``, simpy's queue or event ids, or an
    environment's ``schedule`` (the engine schedules through the function events.environment returns)."""
    internals = re.compile(r"\._ok\b|\b_ok\s*=|\._value\b|\b_value\s*=|\._queue\b|\._eid\b|\._now\b|env\.schedule\b")
    found = [f"{path.relative_to(SRC.parent)}:{n}: {line.strip()}"
             for path, text in _python_sources().items() if path != EVENTS
             for n, line in enumerate(text.splitlines(), 1) if internals.search(line)]
    assert found == [], "\n".join(found)
