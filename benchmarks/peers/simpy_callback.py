"""Callback-driven SimPy peer of the tandem network benchmark.

No generator processes: :class:`simpy.Environment` is used purely as an
event loop.  Every activity (an external arrival, or a service completion
at node ``i``) is exactly one already-triggered SimPy event scheduled at its
occurrence time, carrying the patient (its arrival time at node 0) as the
event value, and whose single callback performs the state change:

* arrival callback: schedule the next arrival, then let the patient join
  node 0;
* completion callback of node ``i``: start the next queued patient at node
  ``i`` (or free the server), then move the finished patient straight on to
  node ``i + 1`` (joining is instantaneous, so it is done inline rather than
  through another event) or, after the last node, record its time in system.

Node state is a busy-server counter and a :class:`collections.deque` of
waiting patients per node.  Random numbers are standard exponentials drawn
from :func:`numpy.random.default_rng` in blocks of ``BLOCK`` (see
:func:`peers.exponential_stream`) and scaled by the mean.  The run stops
when the ``n_patients``-th patient leaves the last node, via an event passed
to :meth:`simpy.Environment.run`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import simpy
from simpy.events import NORMAL, Event

from . import ARRIVAL_RATE, PeerResult, exponential_stream, mean_service_times, validate_args

__all__ = ["run"]


class _Activity(Event):
    """A triggered event that fires ``callback`` after ``delay``.

    Equivalent to ``env.timeout(delay, value)`` followed by
    ``callbacks.append(callback)``, in one constructor call.
    """

    def __init__(
        self,
        env: simpy.Environment,
        delay: float,
        value: Any,
        callback: Callable[[Event], None],
    ) -> None:
        self.env = env
        self.callbacks = [callback]
        self._value = value
        self._ok = True
        env.schedule(self, NORMAL, delay)


def run(servers: Sequence[int], n_patients: int, seed: int) -> PeerResult:
    """Simulate the tandem network with SimPy event callbacks until ``n_patients`` complete.

    Parameters
    ----------
    servers : Sequence[int]
        Number of servers at each node.
    n_patients : int
        Number of patients that must depart from the last node.
    seed : int
        Seed of the numpy random generator.

    Returns
    -------
    PeerResult
        Completed patients, their mean time in system and the number of
        completed node visits.

    Raises
    ------
    ValueError
        If ``servers`` is empty or invalid, or ``n_patients < 1``.
    """
    validate_args(servers, n_patients)
    env = simpy.Environment()
    draw = exponential_stream(seed).__next__
    k = len(servers)
    last = k - 1
    capacity = list(servers)
    means = mean_service_times(servers)
    busy = [0] * k
    queues: list[deque[float]] = [deque() for _ in range(k)]
    mean_interarrival = 1.0 / ARRIVAL_RATE
    done = env.event()
    completed = 0
    total_time = 0.0
    visits = 0

    def make_completion(i: int) -> Callable[[Event], None]:
        queue = queues[i]
        mean = means[i]
        if i < last:
            next_queue = queues[i + 1]
            next_capacity = capacity[i + 1]
            next_mean = means[i + 1]

            def on_completion(event: Event) -> None:
                nonlocal visits
                visits += 1
                if queue:
                    _Activity(env, draw() * mean, queue.popleft(), on_completion)
                else:
                    busy[i] -= 1
                if busy[i + 1] < next_capacity:
                    busy[i + 1] += 1
                    _Activity(env, draw() * next_mean, event._value, completions[i + 1])
                else:
                    next_queue.append(event._value)

        else:

            def on_completion(event: Event) -> None:
                nonlocal visits, completed, total_time
                visits += 1
                if queue:
                    _Activity(env, draw() * mean, queue.popleft(), on_completion)
                else:
                    busy[i] -= 1
                completed += 1
                total_time += env.now - event._value
                if completed == n_patients:
                    done.succeed()

        return on_completion

    completions = [make_completion(i) for i in range(k)]
    first_queue = queues[0]
    first_capacity = capacity[0]
    first_mean = means[0]
    first_completion = completions[0]

    def on_arrival(event: Event) -> None:
        _Activity(env, draw() * mean_interarrival, None, on_arrival)
        now = env.now
        if busy[0] < first_capacity:
            busy[0] += 1
            _Activity(env, draw() * first_mean, now, first_completion)
        else:
            first_queue.append(now)

    _Activity(env, draw() * mean_interarrival, None, on_arrival)
    env.run(until=done)
    return PeerResult(
        completed=completed,
        mean_time_in_system=total_time / completed,
        visits=visits,
    )
