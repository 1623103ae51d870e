"""Bare-``heapq`` peer of the tandem network benchmark ("speed of light").

A hand-written discrete-event loop in plain Python: the future event list
is a :mod:`heapq` of tuples ``(time, seq, kind, node, patient)`` where
``kind`` is ``ARRIVAL`` (external arrival at node 0) or ``COMPLETION``
(service completion at ``node``), ``seq`` breaks ties in scheduling order
and ``patient`` is the patient's arrival time at node 0.  Node state is a
busy-server counter and a :class:`collections.deque` of waiting patients
per node.  A completion starts the next queued patient (or frees the
server) and moves the patient straight on to the next node, since joining
a node is instantaneous; completions at the last node record the time in
system.  Random numbers are standard exponentials drawn from
:func:`numpy.random.default_rng` in blocks (see
:func:`peers.exponential_stream`) and scaled by the mean.  Everything the
loop touches is a local variable; no simulation framework is involved.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from heapq import heappop, heappush

from . import ARRIVAL_RATE, PeerResult, exponential_stream, mean_service_times, validate_args

__all__ = ["ARRIVAL", "COMPLETION", "run"]

#: Event kind: external arrival at node 0.
ARRIVAL: int = 0
#: Event kind: service completion at a node.
COMPLETION: int = 1


def run(servers: Sequence[int], n_patients: int, seed: int) -> PeerResult:
    """Simulate the tandem network with a heapq event loop until ``n_patients`` complete.

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
    draw = exponential_stream(seed).__next__
    push = heappush
    pop = heappop
    k = len(servers)
    last = k - 1
    capacity = list(servers)
    means = mean_service_times(servers)
    busy = [0] * k
    queues: list[deque[float]] = [deque() for _ in range(k)]
    mean_interarrival = 1.0 / ARRIVAL_RATE
    arrival_kind = ARRIVAL
    completion_kind = COMPLETION

    completed = 0
    total_time = 0.0
    visits = 0
    seq = 0
    events: list[tuple[float, int, int, int, float]] = [
        (draw() * mean_interarrival, seq, arrival_kind, 0, 0.0)
    ]

    while True:
        now, _, kind, node, patient = pop(events)
        if kind == completion_kind:
            visits += 1
            queue = queues[node]
            if queue:
                seq += 1
                start_next = queue.popleft()
                push(events, (now + draw() * means[node], seq, completion_kind, node, start_next))
            else:
                busy[node] -= 1
            if node == last:
                completed += 1
                total_time += now - patient
                if completed == n_patients:
                    break
                continue
            node += 1
        else:
            seq += 1
            push(events, (now + draw() * mean_interarrival, seq, arrival_kind, 0, 0.0))
            patient = now
        # The patient joins ``node`` at time ``now``.
        if busy[node] < capacity[node]:
            busy[node] += 1
            seq += 1
            push(events, (now + draw() * means[node], seq, completion_kind, node, patient))
        else:
            queues[node].append(patient)

    return PeerResult(
        completed=completed,
        mean_time_in_system=total_time / completed,
        visits=visits,
    )
