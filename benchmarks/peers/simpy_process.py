"""Process-based SimPy peer of the tandem network benchmark.

The textbook SimPy style: a source process creates patients with
exponential inter-arrival times, and each patient is its own generator
process that walks through the nodes in order, holding one unit of a
:class:`simpy.Resource` per node (``with res.request() as req: yield req``)
for an exponential service time (``yield env.timeout(...)``).  Random
numbers are drawn one at a time from a private :class:`random.Random`
instance, the most common SimPy idiom.  The run ends when the
``n_patients``-th patient leaves the last node, via an event passed to
:meth:`simpy.Environment.run`.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Sequence

import simpy

from . import ARRIVAL_RATE, PeerResult, mean_service_times, validate_args

__all__ = ["run"]


def run(servers: Sequence[int], n_patients: int, seed: int) -> PeerResult:
    """Simulate the tandem network with SimPy processes until ``n_patients`` complete.

    Parameters
    ----------
    servers : Sequence[int]
        Number of servers at each node.
    n_patients : int
        Number of patients that must depart from the last node.
    seed : int
        Seed of the :class:`random.Random` stream.

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
    rng = random.Random(seed)
    env = simpy.Environment()
    nodes = [simpy.Resource(env, capacity=c) for c in servers]
    service_rates = [1.0 / m for m in mean_service_times(servers)]
    route = list(zip(nodes, service_rates))
    done = env.event()
    completed = 0
    total_time = 0.0
    visits = 0

    def patient(env: simpy.Environment) -> Generator[simpy.Event, object, None]:
        nonlocal completed, total_time, visits
        arrival = env.now
        for node, rate in route:
            with node.request() as req:
                yield req
                yield env.timeout(rng.expovariate(rate))
            visits += 1
        completed += 1
        total_time += env.now - arrival
        if completed == n_patients:
            done.succeed()

    def source(env: simpy.Environment) -> Generator[simpy.Event, object, None]:
        while True:
            yield env.timeout(rng.expovariate(ARRIVAL_RATE))
            env.process(patient(env))

    env.process(source(env))
    env.run(until=done)
    return PeerResult(
        completed=completed,
        mean_time_in_system=total_time / completed,
        visits=visits,
    )
