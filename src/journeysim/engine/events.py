"""What the engine relies on in simpy beyond its documented interface, in one place.

The engine schedules no :class:`simpy.events.Event`: a patient, a support request
and a capacity tick is each *its own* pending event, scheduled again and again. This
saves an allocation per activity, and it relies on four facts about
:meth:`simpy.Environment.step` (simpy 4), pinned by ``tests/test_engine_events.py``:

1. ``Environment.schedule(event, priority, delay)`` pushes ``(now + delay, priority,
   eid, event)`` on a heap and ``step`` pops it: any object will do as the event.
2. ``step`` sets ``now`` to the event's time, takes ``event.callbacks``, sets it to
   ``None``, and calls each callback once with the event. So an :class:`OwnEvent` is
   ready to be scheduled again as soon as its callbacks run; it must be given its
   callbacks again before each scheduling.
3. After the callbacks, ``step`` reads ``event._ok``: ``True`` means the event
   succeeded and nothing is raised (``_value`` is read only on failure). An
   :class:`OwnEvent` holds both as class attributes, so no instance sets them.
4. Events at equal times run by priority, then in the order they were scheduled
   (``eid``). The engine schedules everything at :data:`NORMAL`, so equal times run
   first scheduled, first run; the same seed gives the same records only because
   the engine schedules in the same order.

Examples
--------
>>> class Bell(OwnEvent):
...     __slots__ = ("rang",)
>>> env, schedule = environment()
>>> bell = Bell()
>>> bell.callbacks = (lambda ev: print("ring at", env.now),)
>>> schedule(bell, NORMAL, 2.5)
>>> env.run()
ring at 2.5
>>> bell.callbacks is None
True
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any, Protocol

import simpy
import simpy.events

__all__ = ["NORMAL", "Callbacks", "Clock", "OwnEvent", "Schedule", "environment", "pending"]

#: simpy's priority of ordinary events (``simpy.events.NORMAL``); every engine event has it
NORMAL: int = simpy.events.NORMAL

#: what simpy calls when an event is processed, each with the event
Callbacks = tuple[Callable[[Any], None], ...]

#: ``schedule(event, priority, delay)``: ``Environment.schedule`` typed for an :class:`OwnEvent`
Schedule = Callable[["OwnEvent", int, float], None]


class Clock(Protocol):
    """What the engine reads of the environment while it runs: the time (``simpy.Environment.now``)."""

    @property
    def now(self) -> float:
        """The time of the event being processed."""


class OwnEvent:
    """An object that is its own pending simpy event (fact 2 and 3 of the module docstring).

    Subclasses add ``__slots__`` for their own state. Set :attr:`callbacks` and pass
    the object to the :data:`Schedule` of :func:`environment`; once simpy has run the
    callbacks, the object may be scheduled again.
    """

    __slots__ = ("callbacks",)

    #: simpy reads these after running the callbacks: the event succeeded, with no value
    _ok = True
    _value = None

    callbacks: Callbacks | None


def environment() -> tuple[simpy.Environment, Schedule]:
    """A new simpy environment and its ``schedule``, typed to take an :class:`OwnEvent`.

    The ``schedule`` is :meth:`simpy.Environment.schedule` with the environment's heap,
    counter and ``heappush`` bound once (fact 1: it pushes the same entry); the hot path
    schedules every event through it, and the method's three attribute lookups per call
    were a measurable part of the engine's time.
    """
    env = simpy.Environment()
    # simpy types the heap's entries as holding an Event; an OwnEvent has all that step() uses of one
    queue: list[tuple[float, int, int, Any]] = env._queue  # type: ignore[assignment]
    eid = env._eid.__next__

    def schedule(event: OwnEvent, priority: int, delay: float) -> None:
        heappush(queue, (env._now + delay, priority, eid(), event))

    return env, schedule


def pending(env: simpy.Environment) -> list[OwnEvent]:
    """The engine's events still scheduled in ``env`` (fact 1: the heap's entries hold them), in heap order.

    A run that stops at the horizon reads them to find what was under way there.
    """
    entries: list[tuple[float, int, int, Any]] = env._queue  # type: ignore[assignment]  # as in environment()
    return [entry[3] for entry in entries if isinstance(entry[3], OwnEvent)]
